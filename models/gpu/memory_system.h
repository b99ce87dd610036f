#pragma once
// The memory system shared by all SMs: a sliced, sectored L2 and HBM.
//
// Temporal decoupling: SMs run a quantum ahead and post their L1 misses and
// stores; at each quantum barrier resolve() serves every request posted in
// the quantum, in (issue time, SM, sequence) order, so results never depend
// on host scheduling. No request can complete within the quantum that issued
// it because the quantum is at most the L2 latency; so running SMs a
// quantum at a time loses nothing (conservative lookahead).
//
// Split L2 (A100): see far() below.
//
// Contention is a fluid queue per level (L2 pooled over its slices, HBM over
// its channels): the bytes requested in a quantum, plus the backlog left
// from earlier quanta, delay every request of the quantum by
//     (backlog + demand / 2) / bandwidth      cycles,
// and the backlog drains at the bandwidth. Pooling assumes the address hash
// spreads traffic evenly over slices and channels (V100 hashes addresses);
// per-slice and per-channel bytes are still counted. Because a request's
// delay depends only on its own hits/misses and the quantum's aggregate
// demand, SMs that issue the same requests see the same latencies: this is
// what the fast path (gpu.h) relies on.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "models/gpu/gpu_config.h"

namespace xpu::gpu {

struct MemReq {
  uint64_t time = 0;      // issue cycle
  uint64_t line = 0;      // line address (byte address / line size)
  uint32_t sectors = 0;   // sector mask
  uint32_t sm = 0;        // SM whose L1 gets the response
  uint32_t l1_line = 0;   // L1 line to fill (~0u: bypassed, deliver to `rec`)
  uint32_t rec = 0;
  uint32_t seq = 0;       // order within the SM
  uint32_t cls = 0;       // fast path: (slot, buffer) class of the address (fast_path.h)
  bool write = false;
  uint64_t done = 0;      // filled by resolve(): data back at the SM (loads)
};

struct MemCounters {
  uint64_t l2_read_hits = 0, l2_read_misses = 0, l2_writes = 0;
  uint64_t l2_read_bytes = 0, l2_write_bytes = 0;
  uint64_t dram_read_bytes = 0, dram_write_bytes = 0;
  uint64_t l2_queue_cycles = 0, dram_queue_cycles = 0;  // summed over requests
  uint64_t l2_far_reads = 0;  // reads whose line's home is the requesting SM's far L2 partition
  uint64_t l2_cold_fill_bytes = 0;  // lines allocated in an empty way (no victim: the set still filling)
  std::vector<uint64_t> slice_bytes, channel_bytes;
};

// The one list of MemCounters' fields for code that combines counters
// (sampling, extrapolation): f(o, x, y) for each counter of o and the same
// counter of x and y; o's per-slice and per-channel vectors grow to the
// longest of the three, and an entry x or y lacks reads as 0.
template <typename F>
void combine_counters(MemCounters& o, const MemCounters& x, const MemCounters& y, F f) {
  f(o.l2_read_hits, x.l2_read_hits, y.l2_read_hits);
  f(o.l2_read_misses, x.l2_read_misses, y.l2_read_misses);
  f(o.l2_writes, x.l2_writes, y.l2_writes);
  f(o.l2_read_bytes, x.l2_read_bytes, y.l2_read_bytes);
  f(o.l2_write_bytes, x.l2_write_bytes, y.l2_write_bytes);
  f(o.dram_read_bytes, x.dram_read_bytes, y.dram_read_bytes);
  f(o.dram_write_bytes, x.dram_write_bytes, y.dram_write_bytes);
  f(o.l2_queue_cycles, x.l2_queue_cycles, y.l2_queue_cycles);
  f(o.dram_queue_cycles, x.dram_queue_cycles, y.dram_queue_cycles);
  f(o.l2_far_reads, x.l2_far_reads, y.l2_far_reads);
  f(o.l2_cold_fill_bytes, x.l2_cold_fill_bytes, y.l2_cold_fill_bytes);
  const auto each = [&f](std::vector<uint64_t>& ov, const std::vector<uint64_t>& xv, const std::vector<uint64_t>& yv) {
    ov.resize(std::max({ov.size(), xv.size(), yv.size()}), 0);
    for (size_t i = 0; i < ov.size(); ++i) f(ov[i], i < xv.size() ? xv[i] : 0, i < yv.size() ? yv[i] : 0);
  };
  each(o.slice_bytes, x.slice_bytes, y.slice_bytes);
  each(o.channel_bytes, x.channel_bytes, y.channel_bytes);
}

class MemorySystem {
 public:
  explicit MemorySystem(const GpuConfig& cfg);
  void reset();  // empty caches and queues (between independent launches)
  // The next kernel of the same stream: L2 lines (dirty ones included) stay,
  // the queues have drained in the launch gap, counters restart.
  void next_kernel();
  // Serves the quantum [start, start + quantum): sorts and resolves reqs.
  void resolve(std::vector<MemReq>& reqs, uint64_t quantum);
  const MemCounters& counters() const { return c_; }
  void clear_counters();
  uint32_t slice_of(uint64_t line) const;
  uint32_t channel_of(uint64_t line) const;
  // Split L2 (l2.partitions = 2): a line's home partition is its slice's
  // half; SM s is near partition s * 2 / sms. A read from the far partition
  // pays l2.far_extra_latency (the crossbar between the halves; lines are
  // not replicated into the near half, a simplification).
  bool far(uint32_t sm, uint64_t line) const;

  // L2 lines as launch reuse (launch_reuse.h) records and installs them.
  struct LineState {
    uint64_t line = 0;
    uint32_t sectors = 0;
    bool dirty = false;  // used_since: written since (not: dirty from an older write)
    uint64_t tick = 0;  // last use
  };
  // Use clock: every L2 access advances it.
  uint64_t tick() const { return tick_; }
  // Keep the lines this kernel uses and then evicts (for used_since); off
  // by default (a launch that may become a donor turns it on).
  void track_evictions(bool on) { track_ = on; }
  // The lines used after tick `since`, each once, least recently used
  // first (in LRU, a cache's contents follow from this order alone): those
  // still resident and, when tracked, those evicted since the kernel began;
  // the most recent `limit` of them.
  std::vector<LineState> used_since(uint64_t since, size_t limit) const;
  // Each line as if just used, in order (the last most recent): its sectors
  // and dirty bit merged into a resident copy, else allocated over the LRU
  // way; counters are left alone (the installer accounts for the traffic):
  // the bytes written back for victims that were dirty before the install
  // are added to `writeback`, per DRAM channel.
  void install(const std::vector<LineState>& lines, std::vector<uint64_t>& writeback);
  // Per DRAM channel, the bytes of the clean lines of `lines` whose sectors
  // are resident now (a read of them would hit).
  std::vector<uint64_t> resident_read_bytes(const std::vector<LineState>& lines);
  // DRAM write-back bytes of this kernel, per channel, of lines dirtied
  // before it started (by the kernels before it).
  const std::vector<uint64_t>& inherited_writebacks() const { return inherited_; }

 private:
  struct Line {
    uint64_t tag = 0, ready = 0;
    uint64_t written = 0;  // use tick of the last write
    uint32_t sectors = 0;
    bool valid = false, dirty = false;
  };
  // Index of the first way of `line`'s set (slice-major).
  size_t set_of(uint64_t line) const;
  Line* find(size_t set, uint64_t line);
  size_t victim(size_t set) const;  // index of the way to replace

  GpuConfig cfg_;
  uint32_t sets_ = 1, assoc_ = 1, sector_bytes_ = 32, sectors_per_line_ = 4;
  std::vector<uint8_t> kind_;  // per request of the quantum being resolved
  std::vector<size_t> bucket_;
  std::vector<MemReq> sorted_;
  uint64_t tick_ = 0;
  std::vector<Line> lines_;  // slice-major, then set, then way
  // Tags of lines_ (kNoTag: invalid), packed: a 16-way lookup reads two
  // host cache lines instead of sixteen Lines.
  static constexpr uint64_t kNoTag = ~0ull;
  std::vector<uint64_t> tags_;
  std::vector<uint64_t> lru_;  // last-use tick per line, packed like tags_ for victim()
  std::vector<size_t> set_;  // per request of the quantum: set_of(line), kept from pass 1 to pass 2
  uint32_t slice_shift_ = 0;  // log2(slices) when a power of two, else ~0u
  double l2_backlog_ = 0, dram_backlog_ = 0;
  uint64_t kernel_tick_ = 0;  // tick_ when the kernel started
  std::vector<uint64_t> inherited_;
  bool track_ = false;
  std::vector<LineState> evicted_;  // when track_: lines this kernel used, then evicted
  MemCounters c_;
};

}  // namespace xpu::gpu
