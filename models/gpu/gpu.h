#pragma once
// The GPU as a SystemC module whose thread is the memory system and CTA
// scheduler. Time: one SystemC ns is one SM clock cycle (seconds come from
// clock_mhz).
//
// Temporal decoupling. Every quantum Q (GpuConfig::quantum_cycles(), by
// default the L2 latency), the Gpu thread runs each busy SM, which runs its
// warps cycle by cycle in a tight loop up to the quantum's end (SmCore::
// run_until) and posts its L1 misses and stores. SMs are plain objects, not
// SystemC processes: they do not interact inside a quantum, so a process per
// SM would only add a context switch per SM and quantum. At the quantum's end the
// Gpu thread resolves the posted requests in (cycle, SM, sequence) order
// (MemorySystem::resolve), hands the answers back, and gives retired CTA
// slots their next CTA in (retire cycle, SM, slot) order. Since no answer
// can fall inside the quantum that asked (Q <= L2 latency), nothing is
// approximated by the decoupling, and the result is independent of host
// scheduling: runs are deterministic. The same independence lets
// sim.host_threads OS threads simulate the busy SMs of a quantum in
// parallel (persistent threads claiming SMs in index order, joined before
// the barrier, host_pool.h); results are identical for any thread count.
//
// CTA scheduling: at launch, slot-major round-robin (CTA i goes to SM
// i mod sms while slots last); a retired slot is refilled at the quantum's
// end with the next CTA in index order, starting at
// max(retire + cta_launch_cycles, quantum end).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <systemc>

#include "models/gpu/global_memory.h"
#include "models/gpu/gpu_config.h"
#include "models/gpu/host_pool.h"
#include "models/gpu/isa.h"
#include "models/gpu/k_loop_sampler.h"
#include "models/gpu/launch_result.h"
#include "models/gpu/launch_reuse.h"
#include "models/gpu/memory_system.h"
#include "models/gpu/sm_core.h"
#include "models/gpu/wave_sampler.h"
#include "sim/stats/stats.h"

namespace xpu::gpu {

struct RunOptions {
  bool values = true;      // compute per-thread values (false: timing only)
  bool fast_path = false;  // simulate provably identical SMs once (fast_path.h); results are unchanged
  bool warm = false;       // the next kernel of a stream: L2 state carries over from the previous launch
  bool sample = false;     // sampled timing (wave_sampler.h, k_loop_sampler.h); ignored when values
  KLoopParams k_loop = {};  // when sample: which main loops are trip-count extrapolated, and how
  // When sample: launches matching an earlier donor take its result, and
  // launches run become donors (launch_reuse.h); nullptr: none.
  LaunchReuse* reuse = nullptr;
};

class Gpu : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Gpu);
  Gpu(sc_core::sc_module_name name, const GpuConfig& cfg);
  ~Gpu() override;

  const GpuConfig& config() const { return cfg_; }
  GlobalMemory& memory() { return gmem_; }

  // Runs one kernel to completion (calls sc_start), or takes a donor's
  // result (opts.reuse, launch_reuse.h). Throws
  // std::invalid_argument when a CTA cannot fit on an SM.
  LaunchResult run(const Launch& launch, const RunOptions& opts = {});
  // Kernels back to back on one stream, each after the previous one's L2
  // state (the first as opts.warm says): cycles, counters and stats summed
  // over the kernels (launch costs are the caller's: launch_cost.h);
  // `cycles` gets each kernel's cycles when given.
  LaunchResult run_stream(const std::vector<const Launch*>& launches, const RunOptions& opts = {},
                          std::vector<uint64_t>* cycles = nullptr);

  // How run() would sample the launch's main loop (k_loop_sampler.h).
  TripPlan plan_trips(const Launch& launch, const KLoopParams& p) const;

  // Occupancy of a launch on this GPU: CTAs per SM and the binding limit.
  struct Occupancy {
    uint32_t ctas = 0;
    const char* limiter = "";
    uint32_t smem_per_cta = 0;
    uint64_t l1_bytes = 0;
  };
  Occupancy occupancy(const Launch& launch) const { return occupancy(cfg_, launch); }
  // The same for any config, without a Gpu (kernel selection).
  static Occupancy occupancy(const GpuConfig& cfg, const Launch& launch);

 private:
  LaunchResult run_sampled(const Launch& launch, const RunOptions& opts);  // run() without reuse
  LaunchResult run_once(const Launch& launch, const RunOptions& opts);
  void scheduler_thread();
  void run_quantum(SmCore& c);  // one SM (and twins it splits off) to quantum_end_
  void run_quantum_threads();  // sim.host_threads > 1
  void dispatch_initial();
  void form_twins();
  // Line offsets twin - leader of the buffers of the CTAs just started in
  // `slot` (false: not multiples of the L1 set span, no twin possible).
  bool class_delta(uint32_t leader_cta, uint32_t twin_cta, std::vector<int64_t>& delta, uint32_t gen) const;
  void end_of_quantum();
  void refill(std::vector<std::tuple<uint64_t, uint32_t, uint32_t>>& done);
  // Splits leader.twins()[out...] off at a quantum barrier; those that
  // same(a, b) declares to behave alike from here on (b's state is then a
  // translation of a's) stay together under a new leader. Returns the new leaders.
  std::vector<SmCore*> split_off(SmCore& leader, std::vector<size_t> out,
                                 const std::function<bool(const SmCore::Twin&, const SmCore::Twin&)>& same);
  bool launch_done() const;
  stats::Snapshot make_stats(const LaunchResult& r) const;
  void sample_barrier(uint64_t t);  // hands the sampler the launch's totals at barrier t


  GpuConfig cfg_;
  GlobalMemory gmem_;
  MemorySystem mem_;
  std::vector<std::unique_ptr<SmCore>> cores_;
  sc_core::sc_event launch_ev_;

  // The launch in progress.
  const Launch* launch_ = nullptr;
  LaunchGeometry geo_;
  RunOptions opts_;
  uint32_t next_cta_ = 0;
  uint64_t start_ = 0, quantum_end_ = 0, end_ = 0;
  bool running_ = false, pending_launch_ = false, fast_ = false;
  std::vector<MemReq> reqs_;
  std::vector<uint64_t> leader_done_;
  std::unique_ptr<HostPool> pool_;  // sim.host_threads > 1
  std::vector<uint32_t> busy_;      // SMs to run in the quantum (run_quantum_threads)
  WaveSampler sampler_;
  std::string prev_key_;  // launch reuse: a digest of the last launch's key
};

}  // namespace xpu::gpu
