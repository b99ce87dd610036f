#include "sim/experiment/gpu_backend.h"

#include <cstring>
#include <random>

#include "models/gpu/gpu.h"
#include "models/gpu/gpu_energy.h"
#include "sim/energy/energy_model.h"
#include "sim/experiment/gemm_data.h"
#include "sim/lowering/gpu/gemm_simt.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/tc_reference.h"
#include "sim/lowering/lowering_error.h"

namespace xpu::experiment {

namespace {

using lowering::gpu::GpuGemmPlan;
using lowering::gpu::GpuGemmSpec;

GpuGemmSpec gemm_spec(const workload::Layer& layer, DType dtype) {
  GpuGemmSpec s;
  s.name = layer.name;
  s.m = layer.m;
  s.n = layer.n;
  s.k = layer.k;
  s.in = dtype;
  // Raw fp32/int32 accumulators come back so results can be checked bit for bit.
  s.acc = dtype == DType::int8 ? gpu::AccType::s32 : gpu::AccType::f32;
  return s;
}

class GpuBackend : public Backend {
 public:
  GpuBackend(const gpu::GpuConfig& cfg, const energy::EnergyTable& table, const std::string& instance)
      : cfg_(cfg), model_(table), terms_(gpu::gpu_energy_terms(cfg, table)),
        gpu_(std::make_unique<gpu::Gpu>(instance.c_str(), cfg)) {}

  std::string kind() const override { return "gpu"; }
  std::string name() const override { return cfg_.name; }
  double clock_mhz() const override { return cfg_.clock_mhz; }

  double peak_macs_per_cycle(DType dtype) const override {
    const auto& tc = cfg_.tensor_core;
    const double tensor = cfg_.tensor_macs_per_cycle();
    switch (dtype) {
      case DType::fp16: return tc.fp16 ? tensor : 0;
      case DType::bf16: return tc.bf16 ? tensor : 0;
      // An int8 HMMA step does the fp32-accumulate step's MACs in ii_int8 cycles.
      case DType::int8: return tc.int8 ? tensor * tc.ii_f32_acc / tc.ii_int8 : 0;
      case DType::fp32: return cfg_.fp32_macs_per_cycle();
      default: return 0;
    }
  }

  void check_layer(const workload::Layer& layer, DType dtype) const override {
    require_plain_gemm(layer, "GPU");
    GpuGemmPlan plan;
    lower(layer, dtype, plan);
  }

  report::LayerResult run_layer(const workload::Layer& layer, DType dtype, const LayerRunOptions& opts) override {
    const GpuGemmSpec spec = gemm_spec(layer, dtype);
    GpuGemmPlan plan;
    lower(layer, dtype, plan);
    const bool values = opts.fidelity != tpu::Fidelity::timing;
    std::vector<uint8_t> a, b;
    if (values) {
      if (dtype == DType::fp32) {
        a = random_fp32(layer.m * layer.k, opts.seed);
        b = random_fp32(layer.k * layer.n, opts.seed + 1);
      } else {
        GemmData d = make_gemm_data(dtype, layer.m, layer.n, layer.k, opts.seed);
        a = std::move(d.a);
        b = std::move(d.b);
      }
      lowering::gpu::stage_inputs(plan.layout, spec, a.data(), b.data(), gpu_->memory());
    }
    const gpu::LaunchResult run = gpu_->run(plan.launch, gpu::RunOptions{values, false});

    report::LayerResult r;
    r.name = layer.name;
    r.op = "gemm";
    r.shape = layer.shape();
    r.macs = layer.macs();
    r.cycles = run.cycles;
    r.seconds = double(run.cycles) * cfg_.cycle_ns() * 1e-9;
    const double peak = peak_macs_per_cycle(dtype);
    r.utilization = r.cycles && peak > 0 ? double(r.macs) / (peak * double(r.cycles)) : 0;
    r.stats = run.stats;
    double worst = 0;
    for (int i = 0; i < static_cast<int>(gpu::Stall::count); ++i) {
      const char* cause = gpu::stall_name(static_cast<gpu::Stall>(i));
      const double c = double(run.sm.stall[i]);
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
      const auto raw = lowering::gpu::read_output(plan.layout, spec, gpu_->memory());
      std::vector<uint32_t> got(layer.m * layer.n);
      std::memcpy(got.data(), raw.data(), got.size() * 4);
      const auto want =
          dtype == DType::fp32
              ? lowering::gpu::reference_gemm_ffma(layer.m, layer.n, layer.k, plan.layout.kp,
                                                   reinterpret_cast<const float*>(a.data()),
                                                   reinterpret_cast<const float*>(b.data()))
              : lowering::gpu::reference_gemm_tc(dtype, spec.acc, layer.m, layer.n, layer.k, plan.layout.kp,
                                                 a.data(), b.data());
      r.verified = compare_bits(got, want, layer.n);
    }
    return r;
  }

 private:
  void lower(const workload::Layer& layer, DType dtype, GpuGemmPlan& plan) const {
    try {
      if (dtype == DType::fp32) lowering::gpu::lower_gemm_simt(cfg_, gemm_spec(layer, dtype), plan);
      else lowering::gpu::lower_gemm_tc(cfg_, gemm_spec(layer, dtype), plan);
      gpu_->occupancy(plan.launch);
    } catch (const lowering::gpu::GpuLoweringError& e) {
      throw lowering::LoweringError(e.what());
    } catch (const std::invalid_argument& e) {
      throw lowering::LoweringError(e.what());
    }
  }

  static std::vector<uint8_t> random_fp32(uint64_t count, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<uint8_t> v(count * 4);
    for (uint64_t i = 0; i < count; ++i) {
      const float f = nd(rng);
      std::memcpy(&v[4 * i], &f, 4);
    }
    return v;
  }

  gpu::GpuConfig cfg_;
  energy::EnergyModel model_;
  std::vector<energy::EnergyTerm> terms_;
  std::unique_ptr<gpu::Gpu> gpu_;
};

}  // namespace

std::unique_ptr<Backend> make_gpu_backend(const gpu::GpuConfig& cfg, const energy::EnergyTable& table,
                                          const std::string& instance) {
  return std::make_unique<GpuBackend>(cfg, table, instance);
}

}  // namespace xpu::experiment
