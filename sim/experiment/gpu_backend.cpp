#include "sim/experiment/gpu_backend.h"

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "models/gpu/gpu.h"
#include "models/gpu/gpu_energy.h"
#include "models/gpu/launch_cost.h"
#include "models/gpu/mma_shape.h"
#include "sim/common/errors.h"
#include "sim/config/gpu_config.h"
#include "sim/check/gpu_layer_check.h"
#include "sim/energy/energy_model.h"
#include "sim/experiment/layer_result.h"
#include "sim/experiment/machine_registry.h"
#include "sim/lowering/gpu/network.h"
#include "sim/lowering/gpu/network_layout.h"
#include "sim/lowering/gpu/nn_kernels.h"
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
        gpu_(std::make_unique<gpu::Gpu>(instance.c_str(), cfg)), reuse_(reuse_params(cfg)) {}

  static gpu::ReuseParams reuse_params(const gpu::GpuConfig& cfg) {
    gpu::ReuseParams p;
    p.min_warp_insts = cfg.sim.reuse_min_warp_insts;
    return p;
  }

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
  // first starting cold. The layers a GEMM's or convolution's epilogue
  // absorbs are one result row (`fused` naming them). A workload of
  // standalone GEMMs is such a network.
  //
  // Values (tile fidelity) flow through the device memory: the host writes
  // each graph input and weight once (drawn from seed * 1000003 + the index
  // of the first layer that reads it, in that layer's layout; weights
  // pre-packed as inference stacks do offline) and each layer's private
  // parameters (a folded batchnorm's bias); every kernel reads what its
  // producers left. Where a consumer reads a tensor in another layout than
  // its producer wrote (NCHW after NHWC, other row pitches or batch
  // strides), a copy kernel of its own converts it first (network_layout.h,
  // a result row "relayout"); where no copy kernel can (another element
  // type, a transposed or packed order), the host stages drawn values over
  // the producer's buffer for that consumer alone and puts the producer's
  // bytes back after it, and the row says so. Each layer is checked
  // against a reference fed with the same operands it read.
  std::vector<report::LayerResult> run_workload(const workload::Workload& w, DType dtype,
                                                const LayerRunOptions& opts) override {
    std::vector<Planned> plans;
    lowering::gpu::StreamPlacement place;
    Routes routes;
    std::set<std::string> int8_tensors;  // written as int8 by the chains so far (int8 runs)
    for (size_t i = 0; i < w.layers.size(); ++i) {
      Planned p;
      p.index = i;
      p.fusion = lowering::gpu::fusion_after(cfg_, w, i, dtype, &int8_tensors);
      if (p.fusion.ep.out8) int8_tensors.insert(lowering::gpu::fused_output(w, i, p.fusion));
      const workload::Layer& l = w.layers[i];
      p.plan = std::make_unique<GpuLayerPlan>();
      lowering::gpu::lower_layer(cfg_, w, l, dtype, *p.plan, p.fusion.ep);
      if (p.plan->view) place.alias("t:" + lowering::gpu::fused_output(w, i, p.fusion), "t:" + l.inputs.at(0));
      p.pieces = lowering::gpu::plan_pieces(w, i, *p.plan, p.fusion);
      route(w, p, place, routes);
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
    reuse_.begin_run(w.name);
    stream_ = std::make_unique<gpu::StreamClock>(cfg_);
    filled_.clear();
    std::vector<report::LayerResult> out;
    bool warm = false;
    for (Planned& p : plans) {
      for (Relayout& r : p.relayouts) {
        out.push_back(run_relayout(w, w.layers[p.index], r, place, opts, warm));
        warm = true;
      }
      if (!p.plan->view) lowering::gpu::relocate(*p.plan, p.pieces, place);
      out.push_back(run_layer(w, p, dtype, opts, opts.seed * 1000003 + p.index, place, warm));
      warm = warm || !p.plan->view;
    }
    return out;
  }

 private:
  // A copy kernel converting a tensor to the layout a consumer reads.
  struct Relayout {
    std::string tensor, src, dst;  // buffer keys: the producer's, the converted one
    lowering::gpu::TensorLayout from, to;
    uint64_t count = 0;
    std::unique_ptr<lowering::gpu::NnPlan> plan;  // its launch points into it
  };
  // An input no copy kernel converts (key, written and read layouts).
  struct Mismatch {
    std::string key, written, read;
  };
  struct Planned {
    size_t index = 0;
    Fusion fusion;
    std::unique_ptr<GpuLayerPlan> plan;  // launches point into it: planned in place
    std::vector<lowering::gpu::PlanPiece> pieces;
    std::vector<Relayout> relayouts;  // run before the layer
    std::vector<Mismatch> mismatch;
  };
  // Each buffer's layout as its writer leaves it (a kernel, or the host for
  // a graph input or weight, in its first reader's layout), and the
  // converted buffers made so far (by key).
  struct Routes {
    std::map<std::string, lowering::gpu::TensorLayout> layout;
    std::set<std::string> converted;
  };

  // Points each input of p that its buffer holds in another layout at a
  // converted copy (a relayout run before p, shared by later readers of the
  // same layout) or, where no copy kernel converts it, records it.
  static void route(const workload::Workload& w, Planned& p, const lowering::gpu::StreamPlacement& place,
                    Routes& routes) {
    const GpuLayerPlan& L = *p.plan;
    const std::vector<lowering::gpu::TensorAccess> access =
        lowering::gpu::plan_accesses(w, p.index, L, p.fusion, p.pieces);
    const uint64_t span = L.is_gemm ? L.batch_bytes : L.bytes;
    for (const auto& a : access) {
      if (a.write) continue;
      const std::string& buf = place.resolve(a.key);
      const auto it = routes.layout.find(buf);
      if (it == routes.layout.end()) {
        routes.layout.emplace(buf, a.layout);
        continue;
      }
      const lowering::gpu::TensorLayout& from = it->second;
      if (from.name() == a.layout.name()) continue;
      const std::string tensor = a.key.substr(2);
      std::string key;
      if (lowering::gpu::relayout_converts(from, a.layout)) {
        key = a.key + " as " + a.layout.name();
        if (routes.converted.insert(key).second) {
          Relayout r;
          r.tensor = tensor;
          r.src = a.key;
          r.dst = key;
          r.from = from;
          r.to = a.layout;
          r.count = workload::numel(w.tensor(tensor).shape);
          p.relayouts.push_back(std::move(r));
          routes.layout.emplace(key, a.layout);
        }
      } else {
        // The kernel reads the producer's buffer as before (the timing of
        // such a pair is unchanged); values are staged there for it alone.
        p.mismatch.push_back({a.key, from.name(), a.layout.name()});
        continue;
      }
      for (auto& q : p.pieces)
        if (q.key == a.key && q.local % span == a.local) q.key = key;
    }
    for (const auto& a : access)
      if (a.write) routes.layout[place.resolve(a.key)] = a.layout;
  }

  // Runs launches as one step of the stream: their cycles plus the
  // stream's waits before each (launch_cost.h, the "launch" stall).
  report::LayerResult measure(report::LayerResult r, const std::vector<const gpu::Launch*>& launches, DType dtype,
                              bool values, bool warm, const std::string& kernel) {
    std::vector<uint64_t> kernel_cycles;
    gpu::RunOptions ro{values, true, warm};
    ro.sample = !values && cfg_.sim.sampling == gpu::Sampling::automatic;  // tile fidelity: every CTA's values
    // Launch reuse spans the backend's runs (a generation's decode steps
    // repeat every projection): the donors are kept until it is destroyed.
    if (ro.sample && cfg_.sim.launch_reuse) ro.reuse = &reuse_;
    reuse_.set_layer(r.name);
    const gpu::LaunchResult run = gpu_->run_stream(launches, ro, &kernel_cycles);
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
    r.kernel = kernel_line(*launches.front(), kernel, run, launch);
    r.bytes["dram_read"] = double(run.mem.dram_read_bytes);
    r.bytes["dram_write"] = double(run.mem.dram_write_bytes);
    r.bytes["l2_read"] = double(run.mem.l2_read_bytes);
    r.sampled = run.sampled;
    r.waves_simulated = run.waves_simulated;
    r.waves_total = run.waves_total;
    r.trips_simulated = run.trips_simulated;
    r.trips = run.trips;
    r.reused_from = run.reused_from;
    if (!values) r.verdict = report::Verdict::unchecked;
    return r;
  }

  // A relayout: lowered now (addresses placed), run, and checked element
  // by element (a copy: bit-exact).
  report::LayerResult run_relayout(const workload::Workload& w, const workload::Layer& consumer, Relayout& rl,
                                   const lowering::gpu::StreamPlacement& place, const LayerRunOptions& opts, bool warm) {
    const uint64_t src = place.address(rl.src), dst = place.address(rl.dst);
    rl.plan = std::make_unique<lowering::gpu::NnPlan>();
    lowering::gpu::lower_relayout(cfg_, rl.from, src, rl.to, dst, rl.count, *rl.plan);
    report::LayerResult r;
    r.name = rl.tensor + ".relayout";
    r.op = "relayout [map_copy]";
    r.shape = workload::shape_to_string(w.tensor(rl.tensor).shape);
    r.io = "resident";
    const bool values = opts.fidelity != Fidelity::timing;
    r = measure(std::move(r), {&rl.plan->launch}, DType::fp16, values, warm,
                "map_copy [" + rl.from.name() + "] -> [" + rl.to.name() + "] for " + consumer.name);
    if (!values) return r;
    filled_.insert(dst);
    if (!opts.verify) {
      r.verdict = report::Verdict::skipped;
      r.verdict_detail = "not checked";
      return r;
    }
    const gpu::GlobalMemory& mem = gpu_->memory();
    const uint32_t e = rl.to.elem;
    uint64_t bad = 0;
    for (uint64_t i = 0; i < rl.count; ++i) {
      uint32_t a = 0, b = 0;
      mem.read(src + rl.from.offset(i), &a, e);
      mem.read(dst + rl.to.offset(i), &b, e);
      bad += a != b;
    }
    r.verdict = bad ? report::Verdict::mismatch : report::Verdict::bit_exact;
    r.verdict_detail = bad ? std::to_string(bad) + " of " + std::to_string(rl.count) + " elements differ (relayout copy)"
                           : "bit-exact (relayout copy, every element)";
    if (after_layer_) after_layer_(r.name, gpu_->memory(), [&](const std::string& t) { return place.address("t:" + t); });
    return r;
  }

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
    // `local` is the check's window on the device memory in the layer's own
    // address space: it reads the operands earlier kernels (or the host)
    // left there and draws only what no one has written yet, which then
    // goes to the device once. An input no copy kernel converts is drawn
    // and staged over its producer's buffer for this layer alone, the
    // producer's bytes put back after it (the row says so).
    gpu::GlobalMemory local, saved;
    std::optional<check::GpuLayerValues> data;
    std::set<std::string> restage;
    for (const auto& m : p.mismatch) restage.insert(m.key);
    std::vector<lowering::gpu::PlanPiece> borrowed;
    if (values) {
      local.resize(L.bytes);
      lowering::gpu::copy_out(p.pieces, place, gpu_->memory(), local);
      const auto held = [&](const lowering::gpu::PlanPiece& q) {
        return filled_.count(place.address(q.key)) > 0 && !restage.count(q.key);
      };
      // What is drawn is staged as before, over zeros (a kernel reads the
      // padding of its operands' rows: zero where the host stages them).
      for (const auto& q : p.pieces)
        if (!held(q)) std::memset(local.at(q.local, q.bytes), 0, q.bytes);
      data.emplace(w, l, L, fusion.ep, dtype, seed, local, [&](uint64_t at) { return held(piece_at(p.pieces, at)); });
      std::vector<lowering::gpu::PlanPiece> staged;
      for (const auto& q : p.pieces) {
        if (!held(q)) staged.push_back(q);
        if (restage.count(q.key)) borrowed.push_back(q);
      }
      if (!borrowed.empty()) {
        saved.resize(L.bytes);
        lowering::gpu::copy_out(borrowed, place, gpu_->memory(), saved);
      }
      lowering::gpu::copy_in(staged, place, local, gpu_->memory());
    }
    r = measure(std::move(r), L.launches(), dtype, values, warm, L.kernel_config());
    if (L.launches().size() > 1)
      r.kernel += "; + " + std::to_string(L.launches().back()->ctas) +
                  (L.is_attention ? "-CTA split-KV merge" : "-CTA split-K reduction");
    if (!values) return r;
    lowering::gpu::copy_out(p.pieces, place, gpu_->memory(), local);
    lowering::gpu::copy_in(borrowed, place, saved, gpu_->memory());
    for (const auto& q : p.pieces)
      if (!restage.count(q.key)) filled_.insert(place.address(q.key));
    if (!opts.verify) {
      r.verdict = report::Verdict::skipped;
      r.verdict_detail = "not checked";
    } else {
      const check::Outcome o = data->check(local);
      r.verdict = o.verdict;
      r.verdict_detail = o.detail;
    }
    if (!p.mismatch.empty()) {
      r.verdict_detail += "; staged by the host (no copy kernel converts its producer's layout):";
      for (const auto& m : p.mismatch)
        r.verdict_detail += " " + m.key.substr(2) + " written [" + m.written + "], read [" + m.read + "]";
    }
    if (after_layer_) after_layer_(r.name, gpu_->memory(), [&](const std::string& t) { return place.address("t:" + t); });
    return r;
  }

  // The piece of a layer's local space holding address `at`.
  static const lowering::gpu::PlanPiece& piece_at(const std::vector<lowering::gpu::PlanPiece>& pieces, uint64_t at) {
    for (const auto& q : pieces)
      if (at >= q.local && at < q.local + q.bytes) return q;
    throw InternalError("GPU network: local address " + std::to_string(at) + " outside the layer's buffers");
  }

 public:
  void set_after_layer(GpuAfterLayer hook) { after_layer_ = std::move(hook); }

 private:
  // "gemm_tc 128x128x32_w64x64_s2; 320 CTAs, 2.00 waves; L2 hit 81.0 %; DRAM 612 GB/s; launch 0.9 us"
  std::string kernel_line(const gpu::Launch& first, const std::string& kernel, const gpu::LaunchResult& run,
                          uint64_t launch) const {
    const gpu::Gpu::Occupancy occ = gpu_->occupancy(first);
    const double waves = double(first.ctas) / (double(cfg_.sms) * occ.ctas);
    const double reads = double(run.mem.l2_read_hits + run.mem.l2_read_misses);
    const double secs = double(run.cycles) * cfg_.cycle_ns() * 1e-9;
    const double gbps = secs > 0 ? double(run.mem.dram_read_bytes + run.mem.dram_write_bytes) / secs / 1e9 : 0;
    char buf[200];
    std::snprintf(buf, sizeof buf, "; %u CTAs, %.2f waves; L2 hit %.1f %%; DRAM %.0f GB/s; launch %.2f us",
                  first.ctas, waves, reads > 0 ? 100.0 * double(run.mem.l2_read_hits) / reads : 0.0, gbps,
                  double(launch) * cfg_.cycle_ns() * 1e-3);
    return kernel + buf;
  }

  gpu::GpuConfig cfg_;
  std::unique_ptr<gpu::StreamClock> stream_;
  std::set<uint64_t> filled_;  // device buffers holding values (by address)
  GpuAfterLayer after_layer_;
  energy::EnergyModel model_;
  std::vector<energy::EnergyTerm> terms_;
  std::unique_ptr<gpu::Gpu> gpu_;
  gpu::LaunchReuse reuse_;  // donors of every run of this backend (launch_reuse.h)
};

}  // namespace

std::unique_ptr<Backend> make_gpu_backend(const gpu::GpuConfig& cfg, const energy::EnergyTable& table,
                                          const std::string& instance) {
  return std::make_unique<GpuBackend>(cfg, table, instance);
}

void set_gpu_after_layer(Backend& b, GpuAfterLayer hook) {
  auto* g = dynamic_cast<GpuBackend*>(&b);
  if (!g) throw InternalError("set_gpu_after_layer: not a GPU backend");
  g->set_after_layer(std::move(hook));
}

XPUSIM_REGISTER_MACHINE(gpu, config::load_gpu_config, make_gpu_backend);

}  // namespace xpu::experiment
