// Gpu::run: the launch reused (launch_reuse.h) or simulated, its main
// loop trip-count sampled (k_loop_sampler.h) where the plan allows; the
// simulation itself is Gpu::run_once (gpu.cpp).
#include "models/gpu/gpu.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace xpu::gpu {

TripPlan Gpu::plan_trips(const Launch& launch, const KLoopParams& p) const {
  return xpu::gpu::plan_trips(launch, cfg_.sms * occupancy(launch).ctas, cfg_.l2.capacity_bytes, p);
}

LaunchResult Gpu::run(const Launch& launch, const RunOptions& opts) {
  if (!opts.reuse || !opts.sample || opts.values || !launch.kernel) return run_sampled(launch, opts);
  occupancy(launch);  // a launch that cannot run is an error, reused or not
  std::string key = launch_key(launch, reuse_alignment(cfg_), opts.warm);
  // The kernel before shapes the L2 this one finds (launch_reuse.h).
  const std::string digest = std::to_string(std::hash<std::string>()(key));
  if (opts.warm) key += prev_key_;
  prev_key_ = digest;
  // Below the cost gate a launch is reused only at its donor's addresses.
  const std::string exact = at_addresses(key, launch);
  LaunchReuse::Given g;
  const std::string* hit = opts.reuse->find(key, g) ? &key : opts.reuse->find(exact, g) ? &exact : nullptr;
  if (hit) {
    // The donor's result; the L2 as it left it, moved to this launch's
    // buffers, and the DRAM bytes that depend on what the L2 held before
    // (launch_reuse.h) -- unless those differ by more than the bound: then
    // the L2 it finds matters to its time too, and it is simulated.
    if (opts.warm) mem_.next_kernel();
    else mem_.reset();
    const MemorySystem saved = mem_;
    const std::vector<MemorySystem::LineState> lines = opts.reuse->footprint(*hit, launch, cfg_.l2.line_bytes);
    const std::vector<uint64_t> resident = mem_.resident_read_bytes(lines);
    std::vector<uint64_t> writeback;
    mem_.install(lines, writeback);
    LaunchResult& r = g.result;
    if (rebase_within(r.mem, g, writeback, resident, opts.reuse->params().max_rebase)) {
      rebase_dram(r.mem, g, writeback, resident);
      r.stats = make_stats(r);
      r.simulated_warp_insts = 0;
      r.sampled = true;
      r.waves_simulated = 0;
      r.trips_simulated = 0;
      r.reused = 1;
      r.reused_from = g.name;
      return r;
    }
    mem_ = saved;
    g = LaunchReuse::Given{};
  }
  // A cold launch restarts the use clock (MemorySystem::reset). The L2 as
  // the launch finds it, to tell which of its lines it found resident.
  const uint64_t since = opts.warm ? mem_.tick() : 0;
  std::optional<MemorySystem> before;
  if (opts.warm) before = mem_;
  mem_.track_evictions(true);
  g.result = run_sampled(launch, opts);
  mem_.track_evictions(false);
  const bool gated = g.result.sm[Ctr::warp_insts] >= opts.reuse->params().min_warp_insts;
  const size_t l2_lines = cfg_.l2.capacity_bytes / cfg_.l2.line_bytes;
  const std::vector<MemorySystem::LineState> used = mem_.used_since(since, size_t(opts.reuse->params().window * double(l2_lines)));
  if (opts.reuse->wants(used.size())) {
    if (before) g.resident = before->resident_read_bytes(used);
    g.writebacks = mem_.inherited_writebacks();
    LaunchResult r = g.result;
    opts.reuse->record(gated ? key : exact, launch, std::move(g), used, cfg_.l2.line_bytes);
    return r;
  }
  return g.result;
}

LaunchResult Gpu::run_sampled(const Launch& launch, const RunOptions& opts) {
  const TripPlan plan = opts.sample && !opts.values && launch.kernel ? plan_trips(launch, opts.k_loop) : TripPlan{};
  if (!plan.use) return run_once(launch, opts);
  // The launch with T1 and with T2 trips, from the same memory state, and
  // the line through them at T (k_loop_sampler.h).
  const Kernel k1 = with_trips(*launch.kernel, plan.t1), k2 = with_trips(*launch.kernel, plan.t2);
  Launch l = launch;
  l.kernel = &k1;
  std::optional<MemorySystem> before;
  if (opts.warm) before = mem_;
  const LaunchResult r1 = run_once(l, opts);
  if (before) mem_ = *before;
  l.kernel = &k2;
  LaunchResult r = run_once(l, opts);
  r.cycles = extrapolate(r1.cycles, r.cycles, plan);
  SmCounters sm;
  extrapolate(sm, r1.sm, r.sm, plan);
  r.sm = sm;
  MemCounters mem;
  extrapolate(mem, r1.mem, r.mem, plan);
  r.mem = mem;
  r.simulated_warp_insts += r1.simulated_warp_insts;
  r.sampled = true;
  r.trips = plan.trips;
  r.trips_simulated = plan.t1 + plan.t2;
  r.stats = make_stats(r);
  return r;
}

}  // namespace xpu::gpu
