#include "models/gpu/gpu.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "models/gpu/decode.h"

namespace xpu::gpu {

namespace {
uint64_t round_up(uint64_t v, uint64_t unit) { return unit ? (v + unit - 1) / unit * unit : v; }
uint64_t cycles_now() { return static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e9 + 0.5); }
}  // namespace

SmModule::SmModule(sc_core::sc_module_name name, Gpu& gpu, uint32_t index)
    : sc_core::sc_module(name), gpu_(gpu), index_(index) {
  SC_THREAD(thread);
}

void SmModule::thread() {
  for (;;) {
    wait(run_);
    gpu_.core(index_).run_until(gpu_.quantum_end());
  }
}

Gpu::Gpu(sc_core::sc_module_name name, const GpuConfig& cfg)
    : sc_core::sc_module(name), cfg_(cfg), mem_(cfg) {
  for (uint32_t i = 0; i < cfg.sms; ++i) {
    cores_.push_back(std::make_unique<SmCore>(cfg_, i, &gmem_));
    sms_.push_back(std::make_unique<SmModule>(("sm" + std::to_string(i)).c_str(), *this, i));
  }
  SC_THREAD(scheduler_thread);
}

Gpu::~Gpu() = default;

Gpu::Occupancy Gpu::occupancy(const Launch& l) const {
  const auto& o = cfg_.occupancy;
  if (!l.kernel) throw std::invalid_argument("launch without a kernel");
  if (l.threads == 0 || l.threads % 32 != 0)
    throw std::invalid_argument(l.kernel->name + ": CTA size " + std::to_string(l.threads) + " is not a multiple of 32");
  if (l.kernel->regs_per_thread > o.max_registers_per_thread)
    throw std::invalid_argument(l.kernel->name + ": " + std::to_string(l.kernel->regs_per_thread) +
                                " registers per thread exceed the limit " + std::to_string(o.max_registers_per_thread));
  const uint32_t warps = l.threads / 32;
  const uint64_t regs = round_up(uint64_t(l.kernel->regs_per_thread) * 32, o.register_alloc_unit) * warps;
  const uint64_t smem = round_up(l.shared_bytes, o.shared_alloc_unit);
  Occupancy r;
  r.smem_per_cta = static_cast<uint32_t>(smem);
  struct Limit { uint64_t ctas; const char* name; };
  const Limit limits[] = {
      {o.max_ctas, "ctas"},
      {o.max_warps / warps, "warps"},
      {o.max_threads / l.threads, "threads"},
      {o.max_registers / regs, "registers"},
      {smem ? cfg_.shared.max_shared_bytes / smem : o.max_ctas, "shared_memory"},
  };
  uint64_t best = ~0ull;
  for (const Limit& lim : limits)
    if (lim.ctas < best) {
      best = lim.ctas;
      r.limiter = lim.name;
    }
  if (best == 0)
    throw std::invalid_argument(l.kernel->name + ": one CTA does not fit on an SM (limit: " + r.limiter + ")");
  r.ctas = static_cast<uint32_t>(best);
  // Volta's carve-outs for shared memory; the rest of the array is L1.
  const uint64_t need = smem * r.ctas;
  uint64_t carve = cfg_.shared.max_shared_bytes;
  for (uint64_t c : {0ull, 8ull << 10, 16ull << 10, 32ull << 10, 64ull << 10, 96ull << 10})
    if (c >= need && c <= cfg_.shared.max_shared_bytes) {
      carve = c;
      break;
    }
  r.l1_bytes = cfg_.shared.unified_bytes - std::max(carve, need);
  return r;
}

LaunchResult Gpu::run(const Launch& launch, const RunOptions& opts) {
  if (launch.ctas == 0) throw std::invalid_argument("launch with an empty grid");
  if (launch.bases.size() != size_t(launch.ctas) * launch.nbufs)
    throw std::invalid_argument("launch: bases must hold ctas x nbufs pointers");
  const Occupancy occ = occupancy(launch);
  launch_ = &launch;
  opts_ = opts;
  geo_ = LaunchGeometry{};
  geo_.launch = &launch;
  geo_.decoded = decode(*launch.kernel, cfg_);
  geo_.slots = occ.ctas;
  geo_.warps_per_cta = launch.threads / 32;
  geo_.smem_per_cta = occ.smem_per_cta;
  geo_.l1_bytes = occ.l1_bytes;
  geo_.limiter = occ.limiter;
  start_ = cycles_now();
  end_ = start_;
  // Each launch starts with cold caches and empty queues, so a layer's
  // result does not depend on what ran before it.
  mem_.reset();
  for (auto& c : cores_) {
    c->prepare(&geo_, opts.values, start_);
    c->clear_counters();
  }
  next_cta_ = 0;
  dispatch_initial();
  running_ = true;
  pending_launch_ = true;  // the first launch finds the thread not yet waiting
  launch_ev_.notify(sc_core::SC_ZERO_TIME);
  sc_core::sc_start();
  running_ = false;

  LaunchResult r;
  r.cycles = end_ - start_;
  r.ctas_per_sm = occ.ctas;
  r.occupancy_limiter = occ.limiter;
  for (auto& c : cores_) r.sm.add(c->counters());
  r.simulated_warp_insts = r.sm[Ctr::warp_insts];
  r.mem = mem_.counters();
  r.stats = make_stats(r);
  launch_ = nullptr;
  return r;
}

void Gpu::dispatch_initial() {
  // Slot-major round-robin: CTA i -> SM i mod sms, slot i / sms.
  for (uint32_t slot = 0; slot < geo_.slots; ++slot)
    for (uint32_t s = 0; s < cfg_.sms && next_cta_ < launch_->ctas; ++s)
      cores_[s]->start_cta(slot, next_cta_++, start_);
}

bool Gpu::launch_done() const {
  if (next_cta_ < launch_->ctas) return false;
  for (const auto& c : cores_)
    if (c->busy()) return false;
  return true;
}

void Gpu::scheduler_thread() {
  for (;;) {
    if (!pending_launch_) wait(launch_ev_);
    pending_launch_ = false;
    const uint64_t q = cfg_.quantum_cycles();
    uint64_t t = start_;
    while (true) {
      quantum_end_ = t + q;
      for (uint32_t i = 0; i < cores_.size(); ++i)
        if (cores_[i]->busy()) sms_[i]->run_event().notify();
      wait(sc_core::sc_time(double(q), sc_core::SC_NS));
      t += q;
      end_of_quantum();
      if (launch_done()) break;
    }
    // The launch ends when its last CTA retires.
    for (const auto& c : cores_) end_ = std::max(end_, c->last_retire());
  }
}

void Gpu::end_of_quantum() {
  reqs_.clear();
  for (auto& c : cores_) {
    auto& r = c->requests();
    reqs_.insert(reqs_.end(), r.begin(), r.end());
    r.clear();
  }
  mem_.resolve(reqs_, cfg_.quantum_cycles());
  for (const MemReq& r : reqs_) cores_[r.sm]->respond(r);
  // Refill retired slots in (retire cycle, SM, slot) order.
  std::vector<std::tuple<uint64_t, uint32_t, uint32_t>> done;
  for (auto& c : cores_) {
    for (auto& f : c->finished()) done.emplace_back(f.first, c->id(), f.second);
    c->finished().clear();
  }
  std::sort(done.begin(), done.end());
  for (const auto& [cycle, sm, slot] : done) {
    if (next_cta_ >= launch_->ctas) break;
    cores_[sm]->start_cta(slot, next_cta_++, std::max(cycle + cfg_.sim.cta_launch_cycles, quantum_end_));
  }
}

stats::Snapshot Gpu::make_stats(const LaunchResult& r) const {
  stats::Group gpu("gpu");
  using stats::Unit;
  gpu.counter("cycles", Unit::cycles, "kernel cycles").set(r.cycles);
  auto& sm = gpu.child("sm");
  const SmCounters& c = r.sm;
  auto put = [](stats::Group& g, const std::string& name, Unit u, uint64_t v, const std::string& desc) {
    g.counter(name, u, desc).set(v);
  };
  put(sm, "warp_insts", Unit::instructions, c[Ctr::warp_insts], "warp instructions issued");
  put(sm, "thread_insts", Unit::instructions, c[Ctr::thread_insts], "thread instructions (active lanes)");
  put(sm, "inst.int32", Unit::instructions, c[Ctr::inst_int32], "");
  put(sm, "inst.fp32", Unit::instructions, c[Ctr::inst_fp32], "");
  put(sm, "inst.fp64", Unit::instructions, c[Ctr::inst_fp64], "");
  put(sm, "inst.sfu", Unit::instructions, c[Ctr::inst_sfu], "");
  put(sm, "inst.ldst", Unit::instructions, c[Ctr::inst_ldst], "");
  put(sm, "inst.tensor", Unit::instructions, c[Ctr::inst_tensor], "HMMA steps");
  put(sm, "inst.branch", Unit::instructions, c[Ctr::inst_branch], "BRA/BAR/EXIT");
  put(sm, "fp32.flops", Unit::flops, c[Ctr::fp32_flops], "FFMA counts 2");
  put(sm, "fp32.adds", Unit::ops, c[Ctr::fp32_adds], "lane fp32 adds (FFMA counts one)");
  put(sm, "fp32.mults", Unit::ops, c[Ctr::fp32_mults], "lane fp32 multiplies (FFMA counts one)");
  put(sm, "tensor.mac.fp16", Unit::ops, c[Ctr::mac_fp16], "fp16 x fp16 MACs, fp32 accumulation");
  put(sm, "tensor.mac.fp16_acc16", Unit::ops, c[Ctr::mac_fp16_acc16], "fp16 x fp16 MACs, fp16 accumulation");
  put(sm, "tensor.mac.bf16", Unit::ops, c[Ctr::mac_bf16], "bf16 x bf16 MACs");
  put(sm, "tensor.mac.int8", Unit::ops, c[Ctr::mac_int8], "int8 x int8 MACs");
  put(sm, "rf.reads", Unit::count, c[Ctr::rf_reads], "32-bit register reads");
  put(sm, "rf.writes", Unit::count, c[Ctr::rf_writes], "32-bit register writes");
  put(sm, "rf.bank_conflicts", Unit::cycles, c[Ctr::rf_bank_conflicts], "operand-collection cycles lost");
  put(sm, "shmem.accesses", Unit::count, c[Ctr::smem_accesses], "warp shared-memory instructions");
  put(sm, "shmem.wavefronts", Unit::cycles, c[Ctr::smem_wavefronts], "128-byte shared-memory cycles");
  put(sm, "shmem.bank_conflicts", Unit::count, c[Ctr::smem_bank_conflicts], "extra wavefronts from conflicts");
  put(sm, "shmem.read_bytes", Unit::bytes, c[Ctr::smem_read_bytes], "");
  put(sm, "shmem.write_bytes", Unit::bytes, c[Ctr::smem_write_bytes], "");
  put(sm, "l1.hits", Unit::count, c[Ctr::l1_hits], "line accesses that hit");
  put(sm, "l1.misses", Unit::count, c[Ctr::l1_misses], "line accesses that missed");
  put(sm, "l1.read_bytes", Unit::bytes, c[Ctr::l1_read_bytes], "");
  put(sm, "gmem.write_bytes", Unit::bytes, c[Ctr::gmem_write_bytes], "global store bytes (sectors)");
  put(sm, "divergent_branches", Unit::count, c[Ctr::divergent_branches], "");
  put(sm, "barriers", Unit::count, c[Ctr::barriers], "warp arrivals at bar.sync");
  put(sm, "ctas", Unit::count, c[Ctr::ctas], "");
  for (int i = 0; i < static_cast<int>(Stall::count); ++i)
    put(sm, std::string("stall.") + stall_name(static_cast<Stall>(i)), Unit::cycles, c.stall[i],
        "sub-core cycles without issue, by the preferred warp's reason");
  auto& l2 = gpu.child("l2");
  put(l2, "read_hits", Unit::count, r.mem.l2_read_hits, "");
  put(l2, "read_misses", Unit::count, r.mem.l2_read_misses, "");
  put(l2, "writes", Unit::count, r.mem.l2_writes, "");
  put(l2, "read_bytes", Unit::bytes, r.mem.l2_read_bytes, "");
  put(l2, "write_bytes", Unit::bytes, r.mem.l2_write_bytes, "");
  put(l2, "queue_cycles", Unit::cycles, r.mem.l2_queue_cycles, "bandwidth queueing summed over requests");
  auto& dram = gpu.child("dram");
  put(dram, "read_bytes", Unit::bytes, r.mem.dram_read_bytes, "");
  put(dram, "write_bytes", Unit::bytes, r.mem.dram_write_bytes, "");
  put(dram, "queue_cycles", Unit::cycles, r.mem.dram_queue_cycles, "bandwidth queueing summed over requests");
  for (size_t i = 0; i < r.mem.channel_bytes.size(); ++i)
    put(dram, "channel" + std::to_string(i) + ".bytes", Unit::bytes, r.mem.channel_bytes[i], "");
  return gpu.snapshot();
}

}  // namespace xpu::gpu
