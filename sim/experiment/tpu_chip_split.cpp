// One sample on every TensorCore of a chip: each split matrix layer's rows
// or columns per core (lowering/tpu/network.h, "Core split"; tpu_chip_run.h).
#include "sim/common/errors.h"
#include "sim/experiment/tpu_chip_run.h"
#include "sim/lowering/tpu/cmem_placement.h"

namespace xpu::experiment {

namespace {

using lowering::CoreShare;

// "core<c>.mxu<j>" of one core's share of a layer: its GEMMs' MACs on MXU j
// (mxu_columns of each GEMM's columns) over the array's peak for `cycles`.
void add_share_mxu_utilization(report::LayerResult& r, const tpu::MxuConfig& mxu, uint32_t core,
                               const lowering::LayerPlan& lp, uint64_t cycles) {
  if (cycles == 0) return;
  const double peak = double(mxu.rows) * mxu.cols_per_mxu() * double(cycles);
  for (uint32_t j = 0; j < mxu.count; ++j) {
    double macs = 0;
    for (const auto& g : lp.gemms) macs += double(g.m) * double(g.k) * double(mxu_columns(g.n, mxu, j));
    r.unit_utilization["core" + std::to_string(core) + ".mxu" + std::to_string(j)] = macs / peak;
  }
}

std::string share_text(const std::vector<lowering::NetworkPlan>& plans, size_t i) {
  const CoreShare& s0 = plans[0].layers[i].share;
  std::string t = s0.dim == CoreShare::Dim::cols ? "columns" : "rows";
  t += " split";
  for (size_t c = 0; c < plans.size(); ++c) {
    const CoreShare& s = plans[c].layers[i].share;
    t += (c ? " + " : " ") + std::to_string(s.hi - s.lo);
  }
  return t;
}

}  // namespace

std::vector<report::LayerResult> run_network_split(NetworkRunner& runner, const tpu::TpuConfig& chip,
                                                   const workload::Workload& w, DType dtype,
                                                   const LayerRunOptions& opts) {
  const uint32_t cores = chip.cores;
  workload::TensorValues inputs, ref;
  lowering::NetworkOptions lo = runner.prepare(w, dtype, opts, inputs, ref);
  lo.cores = cores;
  std::vector<lowering::NetworkPlan> plans;
  for (uint32_t c = 0; c < cores; ++c) {
    lo.core = c;
    plans.push_back(lowering::lower_network(runner.cfg, w, lo));
  }
  for (const auto& p : plans) {
    bool same = p.layers.size() == plans[0].layers.size();
    for (size_t i = 0; same && i < p.layers.size(); ++i)
      same = p.layers[i].name == plans[0].layers[i].name &&
             p.layers[i].share.dim == plans[0].layers[i].share.dim;
    if (!same) throw InternalError("core split: the cores' plans of '" + w.name + "' differ in their layers");
  }
  // The cores' plans place the same data (only split layers' programs differ).
  const lowering::CmemPlacement at = lowering::place_in_cmem(runner.cfg, plans[0]);
  runner.tpu.place_in_cmem(at.weights, at.dma);
  std::vector<report::LayerResult> out;
  try {
    for (size_t i = 0; i < plans[0].layers.size(); ++i) {
      const bool split = plans[0].layers[i].share.dim != CoreShare::Dim::none;
      std::vector<report::LayerResult> rows;
      // Every core's share runs before any is checked: the output is whole only then.
      for (uint32_t c = 0; c < (split ? cores : 1); ++c) rows.push_back(runner.run_layer(plans[c].layers[i], inputs, opts));
      for (uint32_t c = 0; c < rows.size(); ++c)
        runner.judge(rows[c], plans[c].layers[i], plans[c], ref, dtype, opts);
      if (split) {
        // A core's MACs: those of its shares of the layer's GEMMs.
        uint64_t sum = 0;
        for (uint32_t c = 0; c < cores; ++c) {
          rows[c].macs = 0;
          for (const auto& g : plans[c].layers[i].gemms) rows[c].macs += g.m * g.n * g.k;
          sum += rows[c].macs;
        }
        if (sum != plans[0].layers[i].macs)
          throw InternalError("core split: layer '" + plans[0].layers[i].name + "': the cores' shares hold " +
                              std::to_string(sum) + " of its " + std::to_string(plans[0].layers[i].macs) + " MACs");
      }
      std::vector<CoreRow> per_core;
      // A layer that is not split runs whole on every core: the same program, the same row.
      for (uint32_t c = 0; c < cores; ++c) per_core.push_back({&rows[split ? c : 0], c});
      report::LayerResult r = combine_cores(per_core, runner, cores);
      if (!split) {
        // Every core computed all of it: its MACs once, each core busy with all of them.
        r.macs = rows[0].macs;
        r.utilization = r.cycles ? double(r.macs) / (runner.peak_macs_per_cycle * cores * double(r.cycles)) : 0;
      }
      if (const workload::Layer* l = w.find_layer(r.name)) r.shape = l->shape();
      if (runner.cfg.mxu.count > 1 || cores > 1)
        for (uint32_t c = 0; c < cores; ++c)
          add_share_mxu_utilization(r, runner.cfg.mxu, c, plans[split ? c : 0].layers[i], r.cycles);
      if (r.verdict != report::Verdict::unchecked && r.macs > 0)
        r.verdict_detail += " (" + std::to_string(cores) + " cores, " +
                            (split ? share_text(plans, i) : std::string("whole on every core")) + ")";
      out.push_back(std::move(r));
    }
  } catch (...) {
    runner.tpu.place_in_cmem(false, false);
    throw;
  }
  runner.tpu.place_in_cmem(false, false);
  runner.read_outputs(plans[0], opts);
  return out;
}

}  // namespace xpu::experiment
