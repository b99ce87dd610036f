#include "models/gpu/gpu.h"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <tuple>

#include "models/gpu/decode.h"
#include "models/gpu/fast_path.h"
#include "sim/common/errors.h"
#include "sim/common/sanitizer_stack.h"
#include "sim/trace/trace.h"

namespace xpu::gpu {

namespace {
uint64_t round_up(uint64_t v, uint64_t unit) { return unit ? (v + unit - 1) / unit * unit : v; }
uint64_t cycles_now() { return static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e9 + 0.5); }
}  // namespace

Gpu::Gpu(sc_core::sc_module_name name, const GpuConfig& cfg)
    : sc_core::sc_module(name), cfg_(cfg), mem_(cfg) {
  for (uint32_t i = 0; i < cfg.sms; ++i) cores_.push_back(std::make_unique<SmCore>(cfg_, i, &gmem_));
  SC_THREAD(scheduler_thread);
}

Gpu::~Gpu() = default;

Gpu::Occupancy Gpu::occupancy(const GpuConfig& cfg_, const Launch& l) {
  const auto& o = cfg_.occupancy;
  if (!l.kernel) throw xpu::InternalError("launch without a kernel");
  if (l.threads == 0 || l.threads % 32 != 0)
    throw xpu::InternalError(l.kernel->name + ": CTA size " + std::to_string(l.threads) + " is not a multiple of 32");
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

LaunchResult Gpu::run_once(const Launch& launch, const RunOptions& opts) {
  if (launch.ctas == 0) throw xpu::InternalError("launch with an empty grid");
  if (launch.bases.size() != size_t(launch.ctas) * launch.nbufs)
    throw xpu::InternalError("launch: bases must hold ctas x nbufs pointers");
  const Occupancy occ = occupancy(launch);
  launch_ = &launch;
  opts_ = opts;
  geo_ = LaunchGeometry{};
  geo_.launch = &launch;
  geo_.decoded = decode(*launch.kernel, cfg_);
  geo_.frag_off = fragment_offsets(*launch.kernel, mma_shape(cfg_.tensor_core.mma));
  geo_.slots = occ.ctas;
  geo_.warps_per_cta = launch.threads / 32;
  geo_.smem_per_cta = occ.smem_per_cta;
  geo_.l1_bytes = occ.l1_bytes;
  geo_.limiter = occ.limiter;
  start_ = cycles_now();
  end_ = start_;
  const std::string why = opts.fast_path ? fast_path_check(*launch.kernel) : std::string();
  fast_ = opts.fast_path && why.empty();
  if (fast_ && opts.values) {
    // Values pass (fast_path.h, point 4): every CTA functionally, in order.
    LaunchGeometry one = geo_;
    one.slots = 1;
    SmCore f(cfg_, 0, &gmem_);
    f.prepare(&one, true, 0);
    for (uint32_t cta = 0; cta < launch.ctas; ++cta) f.run_functional(cta);
  }
  // A launch starts with cold caches and empty queues, so a layer's result
  // does not depend on what ran before it, unless it continues a stream.
  if (opts.warm) mem_.next_kernel();
  else mem_.reset();
  for (auto& c : cores_) {
    c->prepare(&geo_, opts.values && !fast_, start_);
    c->clear_counters();
  }
  next_cta_ = 0;
  dispatch_initial();
  sampler_.begin(launch, cfg_.sms * occ.ctas, cfg_.l2.capacity_bytes, cfg_.quantum_cycles(),
                 opts.sample && !opts.values);
  if (sampler_.due(next_cta_)) sample_barrier(start_);
  uint32_t formed = 0;
  if (fast_) {
    form_twins();
    for (auto& c : cores_) formed += c->is_twin();
  }
  running_ = true;
  pending_launch_ = true;  // the first launch finds the thread not yet waiting
  launch_ev_.notify(sc_core::SC_ZERO_TIME);
  sc_core::sc_start();
  restore_stack_bounds_after_simulation();
  running_ = false;

  LaunchResult r;
  r.cycles = end_ - start_;
  trace::span("program", launch.kernel->name, start_, end_);
  r.ctas_per_sm = occ.ctas;
  r.occupancy_limiter = occ.limiter;
  for (auto& c : cores_) {
    // A twin to the end has its leader's trajectory (fast_path.h).
    r.sm.add(c->is_twin() ? c->leader()->counters() : c->counters());
    if (c->is_twin()) ++r.replayed_sms;
    else r.simulated_warp_insts += c->simulated_warp_insts();
  }
  r.split_sms = formed - r.replayed_sms;
  r.fast_path_fallback = why;
  r.mem = mem_.counters();
  // The skipped CTAs' share (wave_sampler.h).
  const SampledExtra& x = sampler_.extra();
  r.sampled = x.sampled;
  r.waves_total = x.waves_total;
  r.waves_simulated = x.waves_simulated;
  if (x.sampled) {
    r.cycles += x.cycles;
    r.sm.add(x.sm);
    add_counters(r.mem, x.mem);
  }
  r.stats = make_stats(r);
  launch_ = nullptr;
  return r;
}

LaunchResult Gpu::run_stream(const std::vector<const Launch*>& launches, const RunOptions& opts,
                             std::vector<uint64_t>* cycles) {
  if (launches.empty()) throw xpu::InternalError("empty kernel stream");
  LaunchResult total;
  RunOptions o = opts;
  for (size_t i = 0; i < launches.size(); ++i) {
    const LaunchResult r = run(*launches[i], o);
    o.warm = true;
    if (cycles) cycles->push_back(r.cycles);
    if (i == 0) {
      total = r;
      continue;
    }
    total.cycles += r.cycles;
    total.sm.add(r.sm);
    add_counters(total.mem, r.mem);
    total.simulated_warp_insts += r.simulated_warp_insts;
    total.replayed_sms += r.replayed_sms;
    total.split_sms += r.split_sms;
    total.sampled |= r.sampled;
    total.waves_total += r.waves_total;
    total.waves_simulated += r.waves_simulated;
    total.trips += r.trips;
    total.trips_simulated += r.trips_simulated;
    total.reused += r.reused;
    if (total.reused_from.empty()) total.reused_from = r.reused_from;
  }
  if (launches.size() > 1) total.stats = make_stats(total);
  return total;
}

void Gpu::dispatch_initial() {
  // Slot-major round-robin: CTA i -> SM i mod sms, slot i / sms.
  for (uint32_t slot = 0; slot < geo_.slots; ++slot)
    for (uint32_t s = 0; s < cfg_.sms && next_cta_ < launch_->ctas; ++s) {
      trace::cta_start(s, slot, next_cta_, start_);
      cores_[s]->start_cta(slot, next_cta_++, start_);
    }
}

bool Gpu::launch_done() const {
  if (next_cta_ < launch_->ctas) return false;
  for (const auto& c : cores_)
    if (!c->is_twin() && c->busy()) return false;  // a twin is busy when its leader is
  return true;
}

bool Gpu::class_delta(uint32_t leader_cta, uint32_t twin_cta, std::vector<int64_t>& delta, uint32_t gen) const {
  // T must keep the L1 set of every line: offsets in whole L1 set spans.
  const uint64_t line = cfg_.l1.line_bytes;
  const uint64_t lines = geo_.l1_bytes / line;
  const uint64_t sets = lines / cfg_.l1.assoc ? lines / cfg_.l1.assoc : 1;
  const int64_t span = static_cast<int64_t>(line * sets);
  if (delta.size() < size_t(gen + 1) * kMaxBufs) delta.resize(size_t(gen + 1) * kMaxBufs, 0);
  for (uint32_t b = 0; b < launch_->nbufs; ++b) {
    const int64_t d = int64_t(launch_->base(twin_cta, b)) - int64_t(launch_->base(leader_cta, b));
    if (d % span != 0) return false;
    delta[size_t(gen) * kMaxBufs + b] = d / static_cast<int64_t>(line);
  }
  return true;
}

void Gpu::form_twins() {
  // At launch every SM is empty and starts its CTAs at the same cycle: an SM
  // is a twin of the first leader with the same occupied slots whose CTAs'
  // buffers are offset by whole L1 set spans (fast_path.h).
  std::vector<uint32_t> leaders;
  for (uint32_t i = 0; i < cores_.size(); ++i) {
    SmCore& c = *cores_[i];
    if (!c.busy()) continue;
    bool joined = false;
    for (uint32_t li : leaders) {
      SmCore& l = *cores_[li];
      bool same = true;
      for (uint32_t s = 0; s < geo_.slots && same; ++s) same = l.slot_busy(s) == c.slot_busy(s);
      if (!same) continue;
      std::vector<int64_t> delta;
      bool ok = true;
      for (uint32_t s = 0; s < geo_.slots && ok; ++s)
        if (l.slot_busy(s)) ok = l.slot_gen(s) == c.slot_gen(s) && class_delta(l.slot_cta(s), c.slot_cta(s), delta, l.slot_gen(s));
      if (!ok) continue;
      l.add_twin(&c, std::move(delta));
      joined = true;
      break;
    }
    if (!joined) leaders.push_back(i);
  }
}

void Gpu::scheduler_thread() {
  for (;;) {
    if (!pending_launch_) wait(launch_ev_);
    pending_launch_ = false;
    const uint64_t q = cfg_.quantum_cycles();
    uint64_t t = start_;
    while (true) {
      quantum_end_ = t + q;
      if (cfg_.sim.host_threads > 1) {
        run_quantum_threads();
      } else {
        // SMs do not interact inside a quantum: run them in place (a SystemC
        // thread per SM cost a context switch per SM and quantum).
        for (auto& c : cores_)
          if (c->busy() && !c->is_twin()) run_quantum(*c);
      }
      wait(sc_core::sc_time(double(q), sc_core::SC_NS));
      t += q;
      end_of_quantum();
      if (sampler_.due(next_cta_)) sample_barrier(t);
      if (launch_done()) break;
    }
    // The launch ends when its last CTA retires.
    for (const auto& c : cores_)
      if (!c->is_twin()) end_ = std::max(end_, c->last_retire());
    for (const auto& c : cores_)
      if (!c->is_twin()) c->trim_idle_after(end_);
  }
}

void Gpu::sample_barrier(uint64_t t) {
  WaveTotals tot;
  tot.cycle = t - start_;
  tot.dispatched = next_cta_;
  // A twin's counters are its leader's trajectory (as in run()).
  for (const auto& c : cores_) tot.sm.add(c->is_twin() ? c->leader()->counters() : c->counters());
  tot.mem = mem_.counters();
  next_cta_ += sampler_.observe(tot);
}

void Gpu::run_quantum(SmCore& c) {
  c.run_until(quantum_end_);
  // Twins split off inside the quantum finish it on their own.
  for (SmCore* t : c.split_now()) t->run_until(quantum_end_);
  c.split_now().clear();
}

void Gpu::run_quantum_threads() {
  busy_.clear();
  for (uint32_t i = 0; i < cores_.size(); ++i)
    if (cores_[i]->busy() && !cores_[i]->is_twin()) busy_.push_back(i);
  if (!pool_ || pool_->threads() != cfg_.sim.host_threads) pool_ = std::make_unique<HostPool>(cfg_.sim.host_threads);
  pool_->run(busy_.size(), [this](size_t j) { run_quantum(*cores_[busy_[j]]); });
}

void Gpu::end_of_quantum() {
  const size_t nsm = cores_.size();
  reqs_.clear();
  // Leaders' requests of the quantum have consecutive sequence numbers:
  // their completion cycles are kept by (offset of the SM, seq - first).
  std::vector<size_t> offset(nsm, 0), count(nsm, 0);
  std::vector<uint32_t> first(nsm, 0);
  size_t nleader = 0;
  for (auto& cp : cores_) {
    SmCore& c = *cp;
    if (c.is_twin()) continue;
    auto& r = c.requests();
    reqs_.insert(reqs_.end(), r.begin(), r.end());
    if (c.twins().empty() || r.empty()) continue;
    offset[c.id()] = nleader;
    first[c.id()] = r.front().seq;
    count[c.id()] = r.size();
    nleader += r.size();
    // The twins post the T-images of the leader's requests.
    for (const SmCore::Twin& t : c.twins())
      for (MemReq q : r) {
        q.line += uint64_t(t.of(q.cls));
        q.sm = t.sm->id();
        reqs_.push_back(q);
      }
  }
  for (auto& c : cores_)
    if (!c->is_twin()) c->requests().clear();
  mem_.resolve(reqs_, cfg_.quantum_cycles());
  if (nleader > 0) {
    // A twin whose completion cycles differ from its leader's is split off
    // before any response is applied.
    leader_done_.assign(nleader, 0);
    for (const MemReq& r : reqs_)
      if (!cores_[r.sm]->is_twin() && !cores_[r.sm]->twins().empty())
        leader_done_[offset[r.sm] + (r.seq - first[r.sm])] = r.done;
    // Each twin's completion cycles, in its leader's request order.
    std::vector<std::vector<uint64_t>> got(nsm);
    std::vector<uint8_t> diverged(nsm, 0);
    for (const MemReq& r : reqs_) {
      const SmCore& c = *cores_[r.sm];
      if (!c.is_twin() || r.write) continue;
      const uint32_t l = c.leader()->id();
      auto& g = got[r.sm];
      if (g.empty()) g.assign(count[l], 0);
      g[r.seq - first[l]] = r.done;
      if (r.done != leader_done_[offset[l] + (r.seq - first[l])]) diverged[r.sm] = 1;
    }
    // Twins that got the same cycles as each other stay together.
    std::vector<SmCore*> leaders;
    for (auto& cp : cores_)
      if (!cp->twins().empty()) leaders.push_back(cp.get());
    for (SmCore* c : leaders) {
      std::vector<size_t> out;
      for (size_t k = 0; k < c->twins().size(); ++k)
        if (diverged[c->twins()[k].sm->id()]) out.push_back(k);
      if (out.empty()) continue;
      split_off(*c, out, [&](const SmCore::Twin& a, const SmCore::Twin& b) {
        return got[a.sm->id()] == got[b.sm->id()];
      });
    }
  }
  for (const MemReq& r : reqs_)
    if (!cores_[r.sm]->is_twin()) cores_[r.sm]->respond(r);
  // Refill retired slots in (retire cycle, SM, slot) order; a twin retires
  // what its leader retires.
  std::vector<std::tuple<uint64_t, uint32_t, uint32_t>> done;
  for (auto& c : cores_) {
    SmCore& src = c->is_twin() ? *c->leader() : *c;
    for (auto& f : src.finished()) done.emplace_back(f.first, c->id(), f.second);
    for (auto& f : src.finished()) trace::cta_end(c->id(), f.second, f.first);
  }
  for (auto& c : cores_)
    if (!c->is_twin()) c->finished().clear();
  refill(done);
}

void Gpu::refill(std::vector<std::tuple<uint64_t, uint32_t, uint32_t>>& done) {
  struct Start {
    uint32_t sm, slot, cta;
    uint64_t t;
  };
  std::sort(done.begin(), done.end());
  std::vector<Start> starts;
  for (const auto& [cycle, sm, slot] : done) {
    if (next_cta_ >= launch_->ctas) break;
    starts.push_back({sm, slot, next_cta_++, std::max(cycle + cfg_.sim.cta_launch_cycles, quantum_end_)});
  }
  if (fast_) {
    // Twins stay twins only with the leader's (slot, cycle) starts and
    // offsets in whole L1 set spans; else they are split off first, those
    // with the same starts as each other staying together.
    std::vector<std::vector<uint32_t>> by_sm(cores_.size());
    for (uint32_t i = 0; i < starts.size(); ++i) by_sm[starts[i].sm].push_back(i);
    auto same_starts = [&](uint32_t a, uint32_t b, std::vector<int64_t>& delta, uint32_t gen0) {
      const auto &A = by_sm[a], &B = by_sm[b];
      if (A.size() != B.size()) return false;
      for (size_t q = 0; q < A.size(); ++q) {
        const Start &x = starts[A[q]], &y = starts[B[q]];
        if (x.slot != y.slot || x.t != y.t || !class_delta(x.cta, y.cta, delta, gen0 + static_cast<uint32_t>(q)))
          return false;
      }
      return true;
    };
    std::vector<SmCore*> leaders;
    for (auto& cp : cores_)
      if (!cp->twins().empty()) leaders.push_back(cp.get());
    std::vector<SmCore*> fresh;
    for (SmCore* l : leaders) {
      std::vector<size_t> out;
      for (size_t k = 0; k < l->twins().size(); ++k)
        if (!same_starts(l->id(), l->twins()[k].sm->id(), l->twins()[k].delta, l->next_gen())) out.push_back(k);
      if (out.empty()) continue;
      const uint32_t gen0 = l->next_gen();
      auto nl = split_off(*l, out, [&](const SmCore::Twin& a, const SmCore::Twin& b) {
        std::vector<int64_t> scratch;
        return same_starts(a.sm->id(), b.sm->id(), scratch, gen0);
      });
      fresh.insert(fresh.end(), nl.begin(), nl.end());
    }
    for (SmCore* l : fresh)
      for (auto& tw : l->twins())
        if (!same_starts(l->id(), tw.sm->id(), tw.delta, l->next_gen()))
          throw xpu::InternalError("fast path: regrouped twins disagree");
  }
  for (const Start& s : starts) {
    trace::cta_start(s.sm, s.slot, s.cta, s.t);
    SmCore& c = *cores_[s.sm];
    if (c.is_twin()) c.twin_start_cta(s.slot, s.cta);
    else c.start_cta(s.slot, s.cta, s.t);
  }
}

std::vector<SmCore*> Gpu::split_off(SmCore& l, std::vector<size_t> out,
                                     const std::function<bool(const SmCore::Twin&, const SmCore::Twin&)>& same) {
  std::sort(out.begin(), out.end());
  std::vector<SmCore::Twin> tw;
  for (size_t k : out) tw.push_back(l.twins()[k]);
  for (size_t i = out.size(); i-- > 0;) l.detach_twin(out[i]);
  // Partition by `same` (first member of each part leads it).
  std::vector<size_t> heads;
  std::vector<std::vector<size_t>> members;
  for (size_t i = 0; i < tw.size(); ++i) {
    size_t h = 0;
    while (h < heads.size() && !same(tw[heads[h]], tw[i])) ++h;
    if (h == heads.size()) {
      heads.push_back(i);
      members.emplace_back();
    } else {
      members[h].push_back(i);
    }
  }
  std::vector<SmCore*> leaders;
  for (size_t h = 0; h < heads.size(); ++h) {
    const SmCore::Twin& head = tw[heads[h]];
    head.sm->become_copy(l, head);
    leaders.push_back(head.sm);
    for (size_t i : members[h]) {
      // b = T_b(l) and a = T_a(l), so b = T_(b - a)(a).
      std::vector<int64_t> d = tw[i].delta;
      if (d.size() < head.delta.size()) d.resize(head.delta.size(), 0);
      for (size_t x = 0; x < head.delta.size(); ++x) d[x] -= head.delta[x];
      head.sm->add_twin(tw[i].sm, std::move(d));
    }
  }
  return leaders;
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
  if (cfg_.tensor_core.tf32) put(sm, "tensor.mac.tf32", Unit::ops, c[Ctr::mac_tf32], "tf32 x tf32 MACs, fp32 accumulation");
  if (cfg_.tensor_core.sparse_2_4)
    put(sm, "tensor.mac.sparse16", Unit::ops, c[Ctr::mac_sparse16],
        "16-bit MACs done by mma.sp (2:4 sparse A): the dense-equivalent work is twice this");
  if (cfg_.tensor_core.sparse_2_4)
    put(sm, "tensor.mac.sparse8", Unit::ops, c[Ctr::mac_sparse8],
        "int8 MACs done by mma.sp (2:4 sparse A): the dense-equivalent work is twice this");
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
  if (cfg_.l2.partitions > 1)
    put(l2, "far_reads", Unit::count, r.mem.l2_far_reads, "reads served by the other L2 partition (crossbar)");
  auto& dram = gpu.child("dram");
  put(dram, "read_bytes", Unit::bytes, r.mem.dram_read_bytes, "");
  put(dram, "write_bytes", Unit::bytes, r.mem.dram_write_bytes, "");
  put(dram, "queue_cycles", Unit::cycles, r.mem.dram_queue_cycles, "bandwidth queueing summed over requests");
  for (size_t i = 0; i < r.mem.channel_bytes.size(); ++i)
    put(dram, "channel" + std::to_string(i) + ".bytes", Unit::bytes, r.mem.channel_bytes[i], "");
  return gpu.snapshot();
}

}  // namespace xpu::gpu
