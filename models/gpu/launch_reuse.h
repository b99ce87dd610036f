#pragma once
// Launch reuse: a sampled-timing method across launches (sim.sampling:
// auto, timing fidelity only, sim.launch_reuse: auto). Networks launch the
// same kernel on the same shapes many times (a transformer layer's q, k, v
// and o projections; the projections of every decode step of a
// generation); a launch whose every timing input but the L2's contents
// matches an earlier one (its donor) is not simulated: it gets the donor's
// result.
//
// The key (launch_key): what determines a launch's timing in this model,
// the L2's contents excepted:
// - the kernel: every field of every instruction, registers per thread,
//   the tensor-core shape, whether it reads its CTA index, the marked main
//   loop (trip_pc, trips); not its name;
// - the launch: CTAs, threads per CTA, shared memory per CTA, buffers;
// - each buffer b's addresses relative to its origin o_b (the lowest
//   base(c, b) over the CTAs): base(c, b) - o_b for every CTA c, exactly
//   (leading dimensions, tile strides and the grid's raster are in these);
// - o_b modulo M = lcm(DRAM interleave, L2 line): which lines share an L2
//   line and a DRAM interleave chunk;
// - whether the launch starts cold (the first of a run) or warm (it follows
//   another kernel of the stream): a cold launch reuses only a cold donor;
// - for a warm launch, the key (the above, without its own predecessor) of
//   the launch just before it: the L2 a launch finds is mostly what its
//   predecessor left. Without this, the k projection (after the q
//   projection, whose 4 MiB output it evicts and writes back, and whose
//   input it finds older in the L2) took the q projection's DRAM bytes,
//   found after a normalisation: 13 % too few on Llama-2-7B (A100, prompt
//   512) before the write-back correction below, 3-6 % after it; with the
//   predecessor in the key, v (after k) reuses k instead, within 1.2 %.
// Not in the key, hence approximated:
// - the L2 slice, set and DRAM channel of a line hash all its address bits
//   (memory_system.cpp, fold()), so no alignment keeps them; a reused
//   launch's lines spread over slices, sets and channels as the donor's
//   do, but not onto the same ones (the L2 and DRAM queues pool their slices
//   and channels, so this moves only set conflicts and, on a split L2,
//   which reads are far);
// - the L1 set of a line (line mod sets, the sets depending on the
//   launch's carve-out, often not a power of two): requiring origins equal
//   modulo the L1 set span (as the fast path's twins, Gpu::class_delta)
//   would make two buffers of a network congruent only by chance (1 in
//   about 100 on the A100's carve-outs); tensor-core GEMMs stage their
//   operands through shared memory, and streaming kernels do not reuse L1
//   lines, so the L1's sets matter little here (measured);
// - the L2's contents when the launch starts: the donor found its
//   predecessor's output, the reused launch finds its own predecessor's
//   (both read their inputs as hits or misses the donor saw), except for
//   the write-backs (below).
// The error of these is measured, not assumed (BENCHMARKS.md, "GPU launch
// reuse").
//
// What a reused launch gets: the donor's cycles, SmCounters and
// MemCounters (per slice and per channel too) and stats, so energy priced
// from the counters matches its time, with the DRAM bytes that depend on
// the L2 before the launch rebased (rebase_dram, per DRAM channel):
// - writes: a launch writes back the dirty lines its predecessors left as
//   it evicts them (a projection after a normalisation evicts a little, one
//   after another projection that projection's whole output); the donor's
//   write-backs of lines dirtied before it started are taken out
//   (MemorySystem::inherited_writebacks), the reused launch's put in: the
//   dirty lines that installing its footprint (below) evicts;
// - reads: the donor's bytes of footprint lines it read (not wrote) and
//   found resident are added back, the reused launch's (found resident when
//   its footprint is installed) taken out. A line found resident at the
//   start but evicted by the launch's own traffic before its first use
//   counts as a hit: the residual error is of this kind.
// No warp instruction is simulated (simulated_warp_insts 0), its waves
// count as not simulated, and it names its donor (the layer that ran it).
//
// Rebase bound: where the rebase would move the DRAM bytes by more than
// `max_rebase` of the donor's, what the L2 held before the launch matters
// to its time too, not only to its bytes (the write-backs of the L2's
// dirty lines take DRAM bandwidth from a bandwidth-bound kernel: the LM
// head GEMV of a generation's prefill, after 40 MB of dirty activations,
// took 6 % more cycles than the same GEMV of a decode step, with equal
// rebased bytes); such a launch is simulated (the L2 put back as it found
// it) and replaces the donor.
//
// Cache state after a reused launch (the footprint): the donor records the
// L2 lines it used, each once at its last use, least recently used first,
// resident at its end or evicted during it (MemorySystem::used_since), with
// their sectors and whether it wrote them, as (buffer, offset from the
// buffer's origin): a line belongs to the buffer with the highest origin at
// or below it. A reused launch installs them at its own origins in that
// order, over the LRU ways, written lines dirty. In an LRU cache the
// contents follow from the order of last uses alone, so each set ends
// holding the lines the reused launch itself would have left there (its
// own addresses' sets), and the older lines it would have evicted are
// gone; its dirty victims are its write-backs (above). Only the last
// `window` L2 capacities of lines are kept. The next kernel finds the
// reused launch's output and last inputs where a full simulation would
// leave them (a downstream kernel's error is in the benchmark too).
//
// Cost gate: launches of fewer than `min_warp_insts` warp instructions (the
// whole launch's, extrapolated ones included) are reused only at their
// donor's very addresses (their key holds every buffer's origin: the same
// layer of another decode step, whose weights and caches stay put), where
// none of the address-dependent effects above differs. Such launches cost
// little to simulate (below about 0.4 s of host time at 10^7 warp
// instructions per second) and their time depends most on those effects:
// in a full simulation of GPT-2 (A100, prompt 512) the same single-wave
// projection takes 11.7 to 13.7 k cycles in different layers, and reusing
// them at other addresses was off by up to 16 %; launches of 5.5 M warp
// instructions and more stayed within 1.6 %.
//
// Memory: a donor keeps its key (about 8 bytes per CTA and buffer) and its
// footprint (at most window x the L2's lines, 16 bytes each); donors stop
// being recorded once the footprints held pass `max_footprint_bytes`.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/gpu/gpu_config.h"
#include "models/gpu/isa.h"
#include "models/gpu/launch_result.h"
#include "models/gpu/memory_system.h"
#include "models/gpu/sm_counters.h"
#include "sim/stats/stats.h"

namespace xpu::gpu {

struct ReuseParams {
  uint64_t min_warp_insts = 1ull << 22;     // cost gate (see above; measured; sim.reuse_min_warp_insts)
  uint64_t max_footprint_bytes = 1ull << 30;  // estimate: host memory held by donors' footprints
  // The most recent lines of a donor's footprint kept, in L2 capacities: an
  // LRU set keeps its `assoc` most recent lines, and of the last 2 x
  // capacity lines a set gets 2 x assoc on average (estimate).
  double window = 2.0;
  // A launch whose DRAM bytes the rebase (below) would move by more than
  // this share of the donor's is simulated (measured: see above).
  double max_rebase = 0.02;
};

// M above: lcm(DRAM interleave, L2 line).
uint64_t reuse_alignment(const GpuConfig& cfg);
// The key of a launch (above), as bytes; `warm`: it follows another kernel.
std::string launch_key(const Launch& launch, uint64_t alignment, bool warm);
// `key` with every buffer's origin appended: the key of a launch below the
// cost gate, reused only at its donor's very addresses.
std::string at_addresses(const std::string& key, const Launch& launch);
// Each buffer's origin: the lowest base over the CTAs.
std::vector<uint64_t> buffer_origins(const Launch& launch);

class LaunchReuse {
 public:
  explicit LaunchReuse(const ReuseParams& p = {});
  ~LaunchReuse();
  const ReuseParams& params() const { return p_; }
  // The run (workload) and layer the following launches belong to: donors
  // are named by them.
  void begin_run(const std::string& workload);
  void set_layer(const std::string& layer) { layer_ = layer; }

  // What a donor gives: its result, its name, and per DRAM channel its
  // write-backs of lines older than it and the bytes of its footprint's
  // clean lines that were resident when it started.
  struct Given {
    LaunchResult result;
    std::string name;  // the layer's, or "workload: layer" from an earlier run
    std::vector<uint64_t> writebacks, resident;
  };
  // The donor for `key` into `out`, or false.
  bool find(const std::string& key, Given& out) const;
  // The donor's footprint moved to `launch`'s buffers (line addresses).
  std::vector<MemorySystem::LineState> footprint(const std::string& key, const Launch& launch,
                                                 uint32_t line_bytes) const;
  // Whether a donor of `lines` footprint lines fits the memory bound.
  bool wants(size_t lines) const;
  // Records a launch just run as a donor (replacing one of the same key):
  // `g` (its name is set here) and the L2 lines it used (`used`, from
  // MemorySystem::used_since, line addresses).
  void record(const std::string& key, const Launch& launch, Given g, const std::vector<MemorySystem::LineState>& used,
              uint32_t line_bytes);
  size_t donors() const { return donors_.size(); }
  void clear();

 private:
  struct Placed {
    uint64_t offset = 0;  // bytes from the buffer's origin to the line
    uint32_t sectors = 0;
    uint16_t buf = 0;
    bool dirty = false;
  };
  struct Donor;
  ReuseParams p_;
  std::unordered_map<std::string, std::unique_ptr<const Donor>> donors_;
  uint64_t footprint_bytes_ = 0;
  uint32_t run_ = 0;
  std::string workload_, layer_;
};

// Whether rebase_dram would move the DRAM bytes (read + write) by at most
// `bound` of the donor's.
bool rebase_within(const MemCounters& m, const LaunchReuse::Given& donor, const std::vector<uint64_t>& writebacks,
                   const std::vector<uint64_t>& resident, double bound);
// A reused launch's DRAM bytes (above): `m` (the donor's) less the donor's
// write-backs of older lines plus this launch's (`writebacks`), plus the
// donor's resident reads less this launch's (`resident`), per channel.
void rebase_dram(MemCounters& m, const LaunchReuse::Given& donor, const std::vector<uint64_t>& writebacks,
                 const std::vector<uint64_t>& resident);

}  // namespace xpu::gpu
