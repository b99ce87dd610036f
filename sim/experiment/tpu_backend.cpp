#include "sim/experiment/tpu_backend.h"

#include <algorithm>
#include <cstring>

#include "models/tpu/tpu.h"
#include "models/tpu/tpu_energy.h"
#include "sim/config/tpu_config.h"
#include "sim/energy/energy_model.h"
#include "sim/experiment/machine_registry.h"
#include "sim/experiment/gemm_data.h"
#include "sim/lowering/tpu/gemm.h"
#include "sim/lowering/tpu/network.h"
#include "sim/experiment/tpu_network_run.h"

namespace xpu::experiment {

namespace {

// MXU stall causes, as counted under tpu.mxu.stall.
const char* const kStallCauses[] = {"weights_dram", "weights_shift", "activations", "accumulators", "drain"};

lowering::GemmSpec gemm_spec(const tpu::TpuConfig& cfg, const workload::Layer& layer, DType dtype,
                             const std::string& io) {
  lowering::GemmSpec spec;
  spec.name = layer.name;
  spec.m = layer.m;
  spec.n = layer.n;
  spec.k = layer.k;
  spec.dtype = dtype;
  // Raw accumulators come back, so results can be checked bit for bit.
  spec.out_dtype = dtype == DType::int8 ? DType::int32 : DType::fp32;
  // Resident where A and C fit the unified buffer together; otherwise they
  // go through host memory.
  spec.io = io == "resident" && lowering::fits_resident(cfg, spec) ? lowering::GemmIo::resident
                                                                     : lowering::GemmIo::host;
  return spec;
}

// A workload of standalone GEMM layers (each reads a graph input: the GEMM
// suites, SCALE-Sim GEMM files) runs layer by layer with fresh operands and a
// bit-exact check; anything else is lowered as a network (network.h).
bool standalone_gemms(const workload::Workload& w) {
  for (const auto& l : w.layers) {
    if (l.gemm_form != workload::GemmForm::gemm || l.gemm_count != 1 || l.attrs.trans_a || l.attrs.trans_b) return false;
    if (std::find(w.inputs.begin(), w.inputs.end(), l.inputs[0]) == w.inputs.end()) return false;
  }
  return true;
}

class TpuBackend : public Backend {
 public:
  TpuBackend(const tpu::TpuConfig& cfg, const energy::EnergyTable& table, const std::string& instance)
      : cfg_(cfg), model_(table), terms_(tpu::tpu_energy_terms(cfg, table)),
        tpu_(std::make_unique<tpu::Tpu>(cfg, instance.c_str())) {}

  std::string kind() const override { return "tpu"; }
  std::string name() const override { return cfg_.name; }
  double clock_mhz() const override { return cfg_.clock_mhz; }

  double peak_macs_per_cycle(DType dtype) const override {
    const auto& m = cfg_.mxu;
    const double array = double(m.rows) * m.cols;
    switch (dtype) {
      case DType::int8: return m.supports_int8 ? array / m.step_int8 : 0;
      case DType::bf16: return m.supports_bf16 ? array / m.step_bf16 : 0;
      case DType::fp16: return m.supports_fp16 ? array / m.step_fp16 : 0;
      default: return 0;
    }
  }

  double dram_gbps() const override { return cfg_.dram.bandwidth_gbps; }

  MatrixUnit matrix_unit() const override {
    return MatrixUnit{"systolic array", cfg_.mxu.rows, cfg_.mxu.cols, 1, true};
  }

  void check_layer(const workload::Layer& layer, DType dtype) const override {
    require_plain_gemm(layer, "TPU");
    lowering::lower_gemm(cfg_, gemm_spec(cfg_, layer, dtype, "host"));
  }

  void check_workload(const workload::Workload& w, DType dtype) const override {
    if (standalone_gemms(w)) return Backend::check_workload(w, dtype);
    lowering::NetworkOptions lo;
    lo.dtype = dtype;
    lowering::lower_network(cfg_, w, lo);  // throws LoweringError naming the layer
  }

  std::vector<report::LayerResult> run_workload(const workload::Workload& w, DType dtype,
                                                const LayerRunOptions& opts) override {
    if (standalone_gemms(w)) return Backend::run_workload(w, dtype, opts);
    NetworkRunner runner{cfg_, *tpu_, model_, terms_, peak_macs_per_cycle(dtype)};
    return runner.run(w, dtype, opts);
  }

  report::LayerResult run_layer(const workload::Layer& layer, DType dtype, const LayerRunOptions& opts) override {
    const auto spec = gemm_spec(cfg_, layer, dtype, opts.io);
    const auto plan = lowering::lower_gemm(cfg_, spec);
    tpu_->set_fidelity(opts.fidelity);
    const bool values = opts.fidelity != tpu::Fidelity::timing;
    GemmData data;
    if (values) {
      data = make_gemm_data(dtype, layer.m, layer.n, layer.k, opts.seed);
      if (spec.io == lowering::GemmIo::resident)
        std::memcpy(tpu_->unified_buffer().data() + plan.layout.ub_a, data.a.data(), data.a.size());
      else
        tpu_->host().write(plan.layout.host_a, data.a.data(), data.a.size());
      const auto image = lowering::pack_weights(cfg_, spec, plan.layout, data.b.data());
      tpu_->weights().write(0, image.data(), image.size());
    }
    const auto run = tpu_->run(plan.program);

    report::LayerResult r;
    r.name = layer.name;
    r.op = "gemm";
    r.shape = layer.shape();
    r.io = lowering::gemm_io_name(spec.io);
    r.macs = layer.macs();
    r.cycles = run.cycles;
    r.seconds = double(run.cycles) * cfg_.cycle_ns() * 1e-9;
    const double peak = peak_macs_per_cycle(dtype);
    r.utilization = r.cycles ? double(r.macs) / (peak * double(r.cycles)) : 0;
    r.stats = run.stats;
    double worst = 0;
    for (const char* cause : kStallCauses) {
      const double c = run.stats.get(std::string("tpu.mxu.stall.") + cause);
      r.stalls[cause] = c;
      if (c > worst) {
        worst = c;
        r.stall_cause = cause;
      }
    }
    r.energy = model_.evaluate(run.stats, terms_);
    if (!values) {
      r.verified = "skipped (timing fidelity)";
    } else if (!opts.verify) {
      r.verified = "not checked";
    } else {
      std::vector<uint32_t> got(layer.m * layer.n);
      if (spec.io == lowering::GemmIo::resident)
        std::memcpy(got.data(), tpu_->unified_buffer().data() + plan.layout.ub_c, got.size() * 4);
      else
        tpu_->host().read(plan.layout.host_c, got.data(), got.size() * 4);
      r.verified = compare_bits(got, reference_gemm(data, cfg_.mxu.rows), layer.n);
    }
    return r;
  }

 private:
  tpu::TpuConfig cfg_;
  energy::EnergyModel model_;
  std::vector<energy::EnergyTerm> terms_;
  std::unique_ptr<tpu::Tpu> tpu_;
};

}  // namespace

std::unique_ptr<Backend> make_tpu_backend(const tpu::TpuConfig& cfg, const energy::EnergyTable& table,
                                          const std::string& instance) {
  return std::make_unique<TpuBackend>(cfg, table, instance);
}

XPUSIM_REGISTER_MACHINE(tpu, config::load_tpu_config, make_tpu_backend);

}  // namespace xpu::experiment
