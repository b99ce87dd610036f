#include "sim/experiment/tpu_backend.h"

#include "models/tpu/tpu.h"
#include "models/tpu/tpu_energy.h"
#include "sim/config/tpu_config.h"
#include "sim/energy/energy_model.h"
#include "sim/experiment/machine_registry.h"
#include "sim/experiment/tpu_backend_plans.h"
#include "sim/experiment/tpu_chip_run.h"
#include "sim/experiment/tpu_network_run.h"
#include "sim/experiment/tpu_prelowered.h"
#include "sim/lowering/tpu/network.h"

namespace xpu::experiment {

namespace {

class TpuBackend : public Backend {
 public:
  // cfg_ is one TensorCore of the chip (tpu::core_config): what the model
  // simulates and the lowering targets; chip_ keeps the core count.
  TpuBackend(const tpu::TpuConfig& cfg, const energy::EnergyTable& table, const std::string& instance)
      : chip_(cfg), cfg_(tpu::core_config(cfg)),
        model_(energy::table_for_machine(table, cfg.energy), cfg.energy.static_power),
        terms_(tpu::tpu_energy_terms(cfg_, model_.table())),
        tpu_(std::make_unique<tpu::Tpu>(cfg_, instance.c_str())) {}

  std::string kind() const override { return "tpu"; }
  std::string name() const override { return cfg_.name; }
  double clock_mhz() const override { return cfg_.clock_mhz; }

  double peak_macs_per_cycle(DType dtype) const override {
    const auto& m = cfg_.mxu;
    // Every core: GEMMs split by rows or columns, networks by batch (tpu_chip_run.h).
    const double array = double(m.rows) * m.cols * chip_.cores;
    switch (dtype) {
      case DType::int8: return m.supports_int8 ? array / m.step_int8 : 0;
      case DType::bf16: return m.supports_bf16 ? array / m.step_bf16 : 0;
      case DType::fp16: return m.supports_fp16 ? array / m.step_fp16 : 0;
      default: return 0;
    }
  }

  double dram_gbps() const override { return chip_.dram.bandwidth_gbps; }
  InterconnectSpec interconnect() const override { return chip_.interconnect; }

  MatrixUnit matrix_unit() const override {
    return MatrixUnit{"systolic array", cfg_.mxu.rows, cfg_.mxu.cols, 1, true};
  }

  // Lowers without values (throws LoweringError naming the layer) and keeps
  // the plan for a timing run of the same workload.
  void check_workload(const workload::Workload& w, DType dtype) const override {
    const bool standalone = lowering::standalone_gemms(w);
    const tpu::TpuConfig& cfg = cfg_;
    if (prelowered(cfg, w, dtype)) return;  // lowered ahead by a sweep (tpu_prelowered.h)
    lowering::NetworkOptions lo;
    lo.dtype = dtype;
    lo.values = false;
    // A network on several cores: split by batch, each core lowers its own
    // share (the first core's is the largest), else layer by layer (core
    // 0's plan of the split); nothing kept.
    if (!standalone && chip_.cores > 1) {
      if (auto share = first_core_share(w, chip_.cores)) {
        lowering::lower_network(cfg, *share, lo);
      } else {
        lo.cores = chip_.cores;
        lowering::lower_network(cfg, w, lo);
      }
      return;
    }
    if (standalone) {  // their programs stream (lowering/tpu/gemm.h): nothing held
      kept_.keep(plan_key(w, dtype, standalone), lowering::lower_standalone_gemms(cfg, w, dtype, true, nullptr));
      return;
    }
    // A network small enough is kept for the run; a larger one is checked
    // layer by layer, and the run lowers it layer by layer (its programs are
    // never held whole): once the check knows it keeps nothing, it drops
    // every instruction as it is emitted (NetworkOptions::discard_code), so
    // only the run builds the programs. With a CMEM the run places the whole
    // plan first (tpu_network_run.cpp): always kept.
    const bool streams = cfg.cmem.capacity_bytes == 0;
    size_t held = 0;  // instructions of the finished layers
    bool dropped = false;
    if (streams) {
      lo.discard_code = &dropped;
      lo.on_code = [&](lowering::ProgramStep& st, bool) {
        dropped = dropped || held + st.program.code.size() > KeptPlans::kMaxKeptInstructions;
        return dropped;
      };
      lo.on_layer = [&](const lowering::LayerPlan& lp) {
        for (const auto& st : lp.steps) held += st.program.code.size();
        dropped = dropped || held > KeptPlans::kMaxKeptInstructions;
        return dropped;
      };
    }
    lowering::NetworkPlan plan = lowering::lower_network(cfg, w, lo);
    if (!dropped) kept_.keep(plan_key(w, dtype, standalone), std::move(plan));
  }

  std::vector<report::LayerResult> run_workload(const workload::Workload& w, DType dtype,
                                                const LayerRunOptions& opts) override {
    const bool standalone = lowering::standalone_gemms(w);
    NetworkRunner runner{cfg_, *tpu_, model_, terms_, peak_macs_per_cycle(dtype) / chip_.cores};
    // SCALE-Sim models one array: a chip of several cores has no such run.
    if (!opts.compat.empty() && chip_.cores > 1)
      throw lowering::LoweringError(chip_.name + ": compat '" + opts.compat + "' simulates one array, but " +
                                    (chip_.source_file.empty() ? std::string("the config") : chip_.source_file) +
                                    " has cores: " + std::to_string(chip_.cores) +
                                    " (run one core with -p cores=1)");
    // A chip run lowers each core's share of the GEMMs itself (the whole
    // workload's kept plan does not apply: dropped).
    if (standalone && chip_.cores > 1) {
      kept_.take(plan_key(w, dtype, standalone));
      return run_gemms_on_chip(runner, chip_, w, dtype, opts);
    }
    // The check lowered standalone GEMMs resident where they fit.
    std::optional<lowering::NetworkPlan> plan;
    const bool resident = opts.io == "resident" || !opts.compat.empty();
    if (!standalone || resident) plan = kept_.take(plan_key(w, dtype, standalone));
    if (plan && opts.fidelity == Fidelity::timing) runner.lowered = &*plan;
    // A network on a chip of several cores: split by batch, else layer by layer (tpu_chip_run.h).
    if (chip_.cores > 1) return run_network_on_chip(runner, chip_, w, dtype, opts);
    if (!opts.compat.empty()) {
      LayerRunOptions o = opts;
      o.io = "resident";  // SCALE-Sim's operands sit in its SRAMs
      return runner.run_gemms(w, dtype, o);  // the runner passes the GEMM view
    }
    std::vector<report::LayerResult> rows = standalone ? runner.run_gemms(w, dtype, opts) : runner.run(w, dtype, opts);
    if (cfg_.mxu.count > 1)
      for (auto& r : rows) add_layer_mxu_utilization(r, cfg_.mxu, 0, w, r.macs);
    return rows;
  }

 private:
  tpu::TpuConfig chip_;
  tpu::TpuConfig cfg_;
  energy::EnergyModel model_;
  std::vector<energy::EnergyTerm> terms_;
  std::unique_ptr<tpu::Tpu> tpu_;
  mutable KeptPlans kept_;  // check_workload's plans (the check is const to the runner)
};

}  // namespace

std::unique_ptr<Backend> make_tpu_backend(const tpu::TpuConfig& cfg, const energy::EnergyTable& table,
                                          const std::string& instance) {
  return std::make_unique<TpuBackend>(cfg, table, instance);
}

XPUSIM_REGISTER_MACHINE_PRELOWERING(tpu, config::load_tpu_config, make_tpu_backend,
                                    (Prelowering<tpu::TpuConfig>{tpu_lowering_key, prelower_tpu}));

}  // namespace xpu::experiment
