#include "sim/experiment/gpu_backend.h"

#include <cstdio>
#include <memory>
#include <optional>

#include "models/gpu/gpu.h"
#include "models/gpu/gpu_energy.h"
#include "models/gpu/launch_cost.h"
#include "models/gpu/mma_shape.h"
#include "sim/config/gpu_config.h"
#include "sim/check/gpu_layer_check.h"
#include "sim/energy/energy_model.h"
#include "sim/experiment/layer_result.h"
#include "sim/experiment/machine_registry.h"
#include "sim/lowering/gpu/network.h"
#include "sim/lowering/gpu/network_stream.h"
#include "sim/lowering/lowering_error.h"

namespace xpu::experiment {

namespace {

using lowering::gpu::Fusion;
using lowering::gpu::GpuLayerPlan;

class GpuBackend : public Backend {
 public:
  GpuBackend(const gpu::GpuConfig& cfg, const energy::EnergyTable& table, const std::string& instance)
      : cfg_(cfg), model_(energy::table_for_machine(table, cfg.energy), cfg.energy.static_power),
        terms_(gpu::gpu_energy_terms(cfg, model_.table())),
        gpu_(std::make_unique<gpu::Gpu>(instance.c_str(), cfg)) {}

  std::string kind() const override { return "gpu"; }
  std::string name() const override { return cfg_.name; }
  double clock_mhz() const override { return cfg_.clock_mhz; }

  double peak_macs_per_cycle(DType dtype) const override {
    const auto& tc = cfg_.tensor_core;
    const double tensor = cfg_.tensor_macs_per_cycle();
    // An int8 instruction does step_macs(int8) in ii_int8 cycles where the
    // fp16 one does step_macs(fp16) in ii_f32_acc (Volta: as many MACs at
    // twice the rate; Ampere: twice the MACs at the same rate).
    const gpu::MmaShape& mma = gpu::mma_shape(tc.mma);
    const double int8_ratio = double(mma.step_macs(DType::int8, gpu::AccType::s32)) * tc.ii_f32_acc /
                              (double(mma.step_macs(DType::fp16, gpu::AccType::f32)) * tc.ii_int8);
    switch (dtype) {
      case DType::fp16: return tc.fp16 ? tensor : 0;
      case DType::bf16: return tc.bf16 ? tensor : 0;
      case DType::int8: return tc.int8 ? tensor * int8_ratio : 0;
      case DType::fp32: return cfg_.fp32_macs_per_cycle();
      default: return 0;
    }
  }

  bool sparse_2_4() const override {
    return cfg_.tensor_core.sparse_2_4 && cfg_.tensor_core.mma == gpu::MmaKind::ampere_mma_sync;
  }

  // The pin bandwidth, as configured (the model sustains `efficiency` of it).
  double dram_gbps() const override { return cfg_.dram.bandwidth_gbps; }
  InterconnectSpec interconnect() const override { return cfg_.interconnect; }

  // The configured tensor-core instruction shape (m x n x k).
  MatrixUnit matrix_unit() const override {
    const gpu::MmaShape& mma = gpu::mma_shape(cfg_.tensor_core.mma);
    return MatrixUnit{std::string("tensor core (") + gpu::mma_kind_name(cfg_.tensor_core.mma) + ")", mma.m(), mma.n(),
                      mma.k(), false};
  }

  // Every layer lowered (sim/lowering/gpu/network.h) and its launch checked
  // against the SMs' resources, without simulating.
  void check_workload(const workload::Workload& w, DType dtype) const override {
    for (const auto& l : w.layers) {
      GpuLayerPlan L;
      lowering::gpu::lower_layer(cfg_, w, l, dtype, L);
      if (L.view) continue;
      try {
        for (const gpu::Launch* ln : L.launches()) gpu_->occupancy(*ln);
      } catch (const std::invalid_argument& e) {
        lowering::gpu::unsupported(l, e.what());
      }
    }
  }

  // The network as one stream of kernels in one device memory
  // (network_stream.h): every layer is planned first, so each tensor's
  // buffer is sized for its largest view; then the kernels run in order,
  // the L2 (dirty lines included) carried over from kernel to kernel, the
  // first starting cold. Values are drawn fresh per layer (seed * 1000003 +
  // layer index) and checked per layer. The layers a GEMM's or
  // convolution's epilogue absorbs are one result row (`fused` naming
  // them). A workload of standalone GEMMs is such a network.
  std::vector<report::LayerResult> run_workload(const workload::Workload& w, DType dtype,
                                                const LayerRunOptions& opts) override {
    std::vector<Planned> plans;
    lowering::gpu::StreamPlacement place;
    for (size_t i = 0; i < w.layers.size(); ++i) {
      Planned p;
      p.index = i;
      p.fusion = lowering::gpu::fusion_after(cfg_, w, i, dtype);
      const workload::Layer& l = w.layers[i];
      p.plan = std::make_unique<GpuLayerPlan>();
      lowering::gpu::lower_layer(cfg_, w, l, dtype, *p.plan, p.fusion.ep);
      if (p.plan->view) place.alias("t:" + lowering::gpu::fused_output(w, i, p.fusion), "t:" + l.inputs.at(0));
      p.pieces = lowering::gpu::plan_pieces(w, i, *p.plan, p.fusion);
      place.need(p.pieces);
      i += p.fusion.layers.size();  // fused layers are contiguous after i
      plans.push_back(std::move(p));
    }
    place.finish();
    const bool values = opts.fidelity != Fidelity::timing;
    // Values live in host memory for the whole network at once: refuse what
    // would exhaust it rather than allocate it (timing needs none).
    constexpr uint64_t kMaxValueBytes = 8ull << 30;
    if (values && place.bytes() > kMaxValueBytes)
      throw lowering::LoweringError(w.name + ": " + std::to_string(place.bytes() >> 20) +
                                    " MiB of device memory to hold values at this fidelity (limit " +
                                    std::to_string(kMaxValueBytes >> 20) + " MiB); use fidelity: timing");
    gpu_->memory().resize(values ? place.bytes() : 0);
    stream_ = std::make_unique<gpu::StreamClock>(cfg_);
    std::vector<report::LayerResult> out;
    bool warm = false;
    for (Planned& p : plans) {
      if (!p.plan->view) lowering::gpu::relocate(*p.plan, p.pieces, place);
      out.push_back(run_layer(w, p, dtype, opts, opts.seed * 1000003 + p.index, place, warm));
      warm = warm || !p.plan->view;
    }
    return out;
  }

 private:
  struct Planned {
    size_t index = 0;
    Fusion fusion;
    std::unique_ptr<GpuLayerPlan> plan;  // launches point into it: planned in place
    std::vector<lowering::gpu::PlanPiece> pieces;
  };

  report::LayerResult run_layer(const workload::Workload& w, const Planned& p, DType dtype,
                                const LayerRunOptions& opts, uint64_t seed, const lowering::gpu::StreamPlacement& place,
                                bool warm) {
    const workload::Layer& l = w.layers[p.index];
    const Fusion& fusion = p.fusion;
    const GpuLayerPlan& L = *p.plan;
    report::LayerResult r;
    r.name = l.name;
    std::string ops = workload::op_name(l.op);
    for (size_t j : fusion.layers) ops += std::string("+") + workload::op_name(w.layers[j].op);
    r.op = ops + " [" + L.kernel + "]";
    if (!fusion.layers.empty()) {
      r.fused.push_back(l.name);
      for (size_t j : fusion.layers) r.fused.push_back(w.layers[j].name);
    }
    r.shape = l.shape();
    r.macs = l.macs();
    if (L.is_attention || !L.gemv_parts.empty())  // the fused attention's second matmul, merged GEMVs
      for (size_t j : fusion.layers) r.macs += w.layers[j].macs();
    // 2:4 sparse weights on mma.sp: half the products are done (reports show both).
    if ((L.is_conv && L.conv.sparse) || (L.is_gemm && L.spec.sparse)) r.effective_macs = r.macs / 2;
    r.io = "resident";
    const bool values = opts.fidelity != Fidelity::timing;
    if (L.view) {
      r.verdict = report::Verdict::skipped;
      r.verdict_detail = "view (no data movement)";
      return r;
    }
    // Values: staged in the layer's local layout, copied to its buffers.
    gpu::GlobalMemory local;
    std::optional<check::GpuLayerValues> data;
    if (values) {
      local.resize(L.bytes);
      data.emplace(w, l, L, fusion.ep, dtype, seed, local);
      lowering::gpu::copy_in(p.pieces, place, local, gpu_->memory());
    }
    std::vector<uint64_t> kernel_cycles;
    gpu::RunOptions ro{values, true, warm};
    ro.sample = !values && cfg_.sim.sampling == gpu::Sampling::automatic;  // tile fidelity: every CTA's values
    const gpu::LaunchResult run = gpu_->run_stream(L.launches(), ro, &kernel_cycles);
    if (values) lowering::gpu::copy_out(p.pieces, place, gpu_->memory(), local);
    // Launch cost: the stream's waits before each kernel (launch_cost.h),
    // part of the layer's time, reported as the "launch" stall.
    uint64_t launch = 0;
    for (uint64_t c : kernel_cycles) launch += stream_->add(c);

    LayerRun lr;
    lr.cycles = run.cycles + launch;
    lr.stats = run.stats;
    // The counters sum sub-core cycles over every sub-core: per sub-core on average.
    const double units = double(cfg_.sms) * cfg_.sub_cores;
    for (int s = 0; s < static_cast<int>(gpu::Stall::count); ++s)
      lr.stalls.emplace_back(gpu::stall_name(static_cast<gpu::Stall>(s)), double(run.sm.stall[s]) / units);
    lr.stalls.emplace_back("launch", double(launch));
    fill_layer_result(r, lr, MachineRates{cfg_.cycle_ns(), peak_macs_per_cycle(dtype), &model_, &terms_});
    r.kernel = kernel_line(L, run, launch);
    r.bytes["dram_read"] = double(run.mem.dram_read_bytes);
    r.bytes["dram_write"] = double(run.mem.dram_write_bytes);
    r.bytes["l2_read"] = double(run.mem.l2_read_bytes);
    r.sampled = run.sampled;
    r.waves_simulated = run.waves_simulated;
    r.waves_total = run.waves_total;
    if (!values) {
      r.verdict = report::Verdict::unchecked;
    } else if (!opts.verify) {
      r.verdict = report::Verdict::skipped;
      r.verdict_detail = "not checked";
    } else {
      const check::Outcome o = data->check(local);
      r.verdict = o.verdict;
      r.verdict_detail = o.detail;
    }
    return r;
  }

  // "gemm_tc 128x128x32_w64x64_s2; 320 CTAs, 2.00 waves; L2 hit 81.0 %; DRAM 612 GB/s; launch 0.9 us"
  std::string kernel_line(const GpuLayerPlan& L, const gpu::LaunchResult& run, uint64_t launch) const {
    const gpu::Launch& first = *L.launches().front();
    const gpu::Gpu::Occupancy occ = gpu_->occupancy(first);
    const double waves = double(first.ctas) / (double(cfg_.sms) * occ.ctas);
    const double reads = double(run.mem.l2_read_hits + run.mem.l2_read_misses);
    const double secs = double(run.cycles) * cfg_.cycle_ns() * 1e-9;
    const double gbps = secs > 0 ? double(run.mem.dram_read_bytes + run.mem.dram_write_bytes) / secs / 1e9 : 0;
    char buf[200];
    std::snprintf(buf, sizeof buf, "; %u CTAs, %.2f waves; L2 hit %.1f %%; DRAM %.0f GB/s; launch %.2f us",
                  first.ctas, waves, reads > 0 ? 100.0 * double(run.mem.l2_read_hits) / reads : 0.0, gbps,
                  double(launch) * cfg_.cycle_ns() * 1e-3);
    std::string s = L.kernel_config() + buf;
    if (L.launches().size() > 1)
      s += "; + " + std::to_string(L.launches().back()->ctas) +
           (L.is_attention ? "-CTA split-KV merge" : "-CTA split-K reduction");
    return s;
  }

  gpu::GpuConfig cfg_;
  std::unique_ptr<gpu::StreamClock> stream_;
  energy::EnergyModel model_;
  std::vector<energy::EnergyTerm> terms_;
  std::unique_ptr<gpu::Gpu> gpu_;
};

}  // namespace

std::unique_ptr<Backend> make_gpu_backend(const gpu::GpuConfig& cfg, const energy::EnergyTable& table,
                                          const std::string& instance) {
  return std::make_unique<GpuBackend>(cfg, table, instance);
}

XPUSIM_REGISTER_MACHINE(gpu, config::load_gpu_config, make_gpu_backend);

}  // namespace xpu::experiment
