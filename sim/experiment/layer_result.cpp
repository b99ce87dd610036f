#include "sim/experiment/layer_result.h"

#include "sim/common/errors.h"

namespace xpu::experiment {

void fill_layer_result(report::LayerResult& r, const LayerRun& run, const MachineRates& m) {
  r.cycles = run.cycles;
  r.seconds = double(run.cycles) * m.cycle_ns * 1e-9;
  r.utilization = r.cycles && m.peak_macs_per_cycle > 0 ? double(r.macs) / (m.peak_macs_per_cycle * double(r.cycles)) : 0;
  r.stats = run.stats;
  r.stalls.clear();
  r.stall_cause.clear();
  double worst = 0;
  for (const auto& [cause, c] : run.stalls) {
    // A share above 1 would mean the machine counted more than one unit.
    if (c > double(run.cycles)) throw InternalError("layer '" + r.name + "': stall '" + cause + "' exceeds the layer's cycles");
    r.stalls[cause] = c;
    if (c > worst) {
      worst = c;
      r.stall_cause = cause;
    }
  }
  r.energy = m.model->evaluate(run.stats, *m.terms, r.seconds);
}

}  // namespace xpu::experiment
