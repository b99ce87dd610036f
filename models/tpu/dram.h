#pragma once
// Weight memory (TPU v1: 8 GiB DDR3 at 34 GB/s): its contents (WeightMemory,
// functional) and its timing (Dram, a SystemC module shared by every
// requester: the weight fetcher and, with host.path dram, both DMA engines).
//
// Timing model:
// - dram.channels channels, each with bandwidth_gbps / channels. Addresses
//   interleave over channels in interleave_bytes chunks: chunk i of a
//   transfer goes to channel (addr / interleave_bytes) % channels.
// - A chunk's bytes are rounded up to whole bursts (burst_bytes) for timing.
// - Each channel serves its chunks first come, first served: a chunk starts
//   at max(channel busy-until, requester's cursor) and occupies the channel
//   for bytes / channel bandwidth (fractional cycles, so no per-chunk
//   rounding is lost; event times are rounded up to whole cycles).
// - A requester submits one group of chunks at a time (access()) and comes
//   back for the next group when the previous one has been transferred, so
//   requesters sharing the DRAM share its bandwidth group by group.
// - Latency (latency_ns) is paid once per transfer, after the last group
//   (the requests are pipelined): the caller adds latency_cycles().
// - Arbitration is order-independent: a request posted during cycle t is
//   booked at cycle t + 1, together with every other request posted during
//   t, in order of (cursor, requester id), by whichever of their requesters
//   runs first at t + 1 (no arbiter thread to switch to). The booking
//   itself uses the requester's cursor, so the one-cycle decision delay costs
//   no bandwidth.
// - A sole requester (host.path pcie: only the weight fetcher uses the DRAM)
//   has nobody to share with: it books all groups of a transfer at once
//   (transfer()) and waits once, until the cycle at which it would have come
//   back from its last group -- the same bookings at the same cycles.
// - A requester that shares the DRAM streams a transfer (stream()): its
//   groups are booked lazily, in booking-cycle order with whatever else was
//   posted, when another requester posts or the transfer ends; it wakes
//   once, at the cycle projected on a copy of the channels' state (projected
//   again whenever another requester posts meanwhile).
// Counters: tpu.dram.read_bytes, write_bytes, busy_cycles (cycles in which at
// least one channel is transferring).
//
// CMEM (cmem.capacity_bytes > 0, tpu_config.h): a second set of channels with
// the CMEM's bandwidth and latency, the same rules. place_in_cmem() says
// whose data the lowering placed there: the weights (the weight fetcher's
// transfers) and/or the data behind the DMA engines (host.path dram: the
// activations outside the unified buffer). Those transfers use the CMEM's
// channels and latency and count as tpu.cmem.read_bytes / write_bytes /
// busy_cycles instead of tpu.dram.*. The CMEM's channels: dram.channels of
// them with dram.interleave_bytes chunks and 32-byte bursts (an estimate:
// SRAM banks accessed in 256-bit words).
// The channels' booking arithmetic (DramChannels): dram_channels.h.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include <systemc>

#include "models/tpu/clock.h"
#include "models/tpu/dram_channels.h"
#include "models/tpu/host_memory.h"
#include "models/tpu/tpu_config.h"
#include "sim/stats/stats.h"

namespace xpu::tpu {

// Contents of the weight DRAM: tiles stored densely row-major (isa.h).
class WeightMemory : public ByteMemory {};

class Dram : public sc_core::sc_module {
 public:
  enum Requester : int { weight_fetch = 0, dma_in = 1, dma_out = 2, kRequesters = 3 };

  SC_HAS_PROCESS(Dram);
  // `cmem_group`: where the CMEM's counters go (required when the config has a CMEM).
  Dram(sc_core::sc_module_name name, const TpuConfig& cfg, const Clock& clock, stats::Group& group,
       stats::Group* cmem_group = nullptr);

  // Which requesters' transfers the CMEM serves from now on (both false: none;
  // ignored without a CMEM).
  void place_in_cmem(bool weights, bool dma) {
    in_cmem_[weight_fetch] = weights && cmem_;
    in_cmem_[dma_in] = in_cmem_[dma_out] = dma && cmem_;
  }
  bool in_cmem(Requester who) const { return in_cmem_[who]; }

  // From an SC_THREAD: transfers [addr, addr + bytes) no earlier than
  // `cursor` (fractional cycle) and returns the fractional cycle at which its
  // last byte has crossed the channels (latency not included). Blocks until
  // the request is booked (the next cycle).
  double access(Requester who, uint64_t addr, uint64_t bytes, bool write, double cursor);
  // Whether `who` is the only requester (host.path pcie: the weight fetcher).
  bool sole(Requester who) const { return who == weight_fetch && !shared_; }
  // From the SC_THREAD of a sole requester: the whole transfer [addr, addr +
  // bytes) as group_bytes() accesses, each from the previous one's end, and
  // one wait until the cycle at which access() after access() would have
  // returned; returns the last group's end.
  double transfer(Requester who, uint64_t addr, uint64_t bytes, bool write, double cursor);
  // From an SC_THREAD of a requester that shares the DRAM: the whole transfer
  // as group_bytes() accesses, each posted when access() after access() would
  // post it, with the same bookings at the same cycles; the thread sleeps
  // until the cycle at which it would have come back from its last group.
  // The groups are booked lazily, without waking anyone per group: a group
  // is booked when something needs the channels' state of its cycle (another
  // requester posting, or the stream's end), in booking-cycle order and
  // together with the requests of its cycle, so the arbitration is the one
  // of access() after access(). The wake-up cycle is projected on a copy of
  // the channels' state and projected again whenever another requester
  // posts while a group is still to be booked. Returns the last group's end.
  double stream(Requester who, uint64_t addr, uint64_t bytes, bool write, double cursor);
  // transfer() and stream() in two halves, for a requester that is an
  // SC_METHOD (the weight fetcher): the same bookings, the wait is the
  // caller's. book_transfer() books a sole requester's whole transfer and
  // sets `back` to the cycle transfer() would return at; start_stream()
  // (bytes > 0) posts the first group and returns the event stream() waits
  // for, after which end_stream() books what is left and returns the end.
  double book_transfer(Requester who, uint64_t addr, uint64_t bytes, bool write, double cursor, uint64_t& back);
  const sc_core::sc_event& start_stream(Requester who, uint64_t addr, uint64_t bytes, bool write, double cursor);
  double end_stream(Requester who, uint64_t bytes, bool write);

  // Latency of `who`'s transfers (DRAM's, or the CMEM's for a requester it serves).
  double latency_cycles(Requester who = weight_fetch) const {
    return in_cmem_[who] ? cmem_->latency_cycles : latency_cycles_;
  }
  // Bytes per access() that keep the channels busy for a while: at least one
  // interleave chunk per channel and at least 4 KiB.
  uint64_t group_bytes() const { return group_bytes_; }

  stats::Counter& read_bytes;
  stats::Counter& write_bytes;
  stats::Counter& busy_cycles;

 private:
  // The CMEM's channels and counters.
  struct Cmem {
    Cmem(const TpuConfig& level, stats::Group& g);
    DramChannels channels;
    double latency_cycles;
    stats::Counter& read_bytes;
    stats::Counter& write_bytes;
    stats::Counter& busy_cycles;
  };

  struct Request {
    bool pending = false;
    uint64_t addr = 0, bytes = 0;
    bool write = false;
    double cursor = 0;
    uint64_t posted = 0;
    double end = 0;
  };

  // A stream()'s groups: the pending request (req_) and [next, end) after it.
  struct Stream {
    bool active = false;      // a group is still to be booked
    uint64_t next = 0, end = 0;
    bool projected = true;    // `done` is notified for the projected cycle (or no stream)
    uint64_t at = 0;          // the projected cycle (when projected)
    uint64_t back = 0;        // the cycle the requester goes on (once inactive)
    sc_core::sc_event done;
  };

  // Books every request posted before the current cycle, by (cursor,
  // requester id), after the stream groups due earlier.
  void arbitrate();
  // The arbitration at cycle `now`: every request posted before it.
  void book_due(uint64_t now);
  // Books, in order, the stream groups whose booking cycle is before `upto`.
  void catch_up(uint64_t upto);
  // A stream's group was booked at `now`: posts the next one, or ends the stream.
  void stream_booked(int who, uint64_t now);
  // Projects the cycle each unprojected stream's requester goes on and
  // notifies it, unless another request is still to be booked.
  void project_streams();
  uint64_t project(int who);
  double book(Requester who, uint64_t addr, uint64_t bytes, double cursor, uint64_t now);
  void take_busy(Requester who);  // the channels' new busy cycles into the counter
  void count(Requester who, uint64_t bytes, bool write);
  DramChannels& channels(Requester who) { return in_cmem_[who] ? cmem_->channels : channels_; }

  TpuConfig cfg_;
  const Clock& clock_;
  double latency_cycles_;
  uint64_t group_bytes_;
  bool shared_;  // the DMA engines use the DRAM too (host.path dram)
  DramChannels channels_;
  std::array<Request, kRequesters> req_;
  std::array<Stream, kRequesters> streams_;
  std::unique_ptr<Cmem> cmem_;
  std::array<bool, kRequesters> in_cmem_{};
  DramChannels::Times scratch_;  // project()'s copy of the channels' state
};

}  // namespace xpu::tpu
