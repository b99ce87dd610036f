#pragma once
// The weight FIFO and the weight fetcher that fills it (read_weights).
//
// Timing rules (weight_fifo.cpp):
// - The FIFO has weight_fifo.depth_tiles slots. Tile s (the s-th tile ever
//   fetched) needs the slot freed by tile s - depth, which frees when that
//   tile has been shifted out into the array (its shift_end, scheduled by
//   the MXU, mxu.h). The fetcher starts read_weights at
//     start = max(issue, fetcher free, slot free)
//   and counts start - max(issue, fetcher free) as tpu.weight_fifo.stall.full.
// - The tile (k * n * dtype bytes, dense at weight_addr) is read from the
//   weight DRAM group by group (dram.h); the fetcher is free again when the
//   last group has crossed the channels, and the tile has arrived in the
//   FIFO one DRAM latency later. read_weights completes at arrival.
// Functional: the tile's bytes are copied from WeightMemory at fetch start
// (weight memory does not change during a run); timing fidelity skips it.
// The fetcher is not a thread: an SC_METHOD steps through a tile's phases
// (a ready head, a free slot, the start cycle, the transfer's end), each
// decided at the cycle the thread it replaces decided it, and waits between
// them by next_trigger on the events and cycles that thread waited for (no
// coroutine switch per tile).
#include <cstdint>
#include <deque>
#include <vector>

#include <systemc>

#include "models/tpu/clock.h"
#include "models/tpu/controller.h"
#include "models/tpu/dram.h"
#include "models/tpu/mxu_array.h"
#include "models/tpu/tpu_config.h"
#include "sim/stats/stats.h"

namespace xpu::tpu {

struct TileRecord {
  uint64_t seq = 0;  // tiles fetched before this one, since construction
  DType dtype = DType::int8;
  uint32_t k = 0, n = 0;
  std::vector<uint8_t> data;  // empty in timing fidelity, freed once latched
  uint64_t fetch_start = 0;
  bool arrival_known = false;
  uint64_t arrival = 0;  // fully in the FIFO
  bool shift_known = false;
  uint64_t shift_start = 0, shift_end = 0;  // through the array's shift chain
  bool latched = false;
  uint64_t latch = 0;  // into the standby registers
  bool consumed = false;  // the matmul that switches to it was dispatched
  uint64_t bytes() const { return uint64_t(k) * n * dtype_bytes(dtype); }
};

class WeightFifo : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(WeightFifo);
  WeightFifo(sc_core::sc_module_name name, const TpuConfig& cfg, const Clock& clock, Controller& ctrl,
             Dram& dram, WeightMemory& memory, stats::Group& tpu);

  void set_fidelity(Fidelity f) { fidelity_ = f; }

  // Record of tile `seq`, or nullptr if it was not fetched yet (or is long gone).
  TileRecord* tile(uint64_t seq);
  // The MXU scheduled tile `seq`'s shift: frees its slot at `end`.
  void set_shift(uint64_t seq, uint64_t start, uint64_t end);
  void set_latched(uint64_t seq, uint64_t when);
  void set_consumed(uint64_t seq);
  // Notified when a tile's arrival becomes known or its shift is scheduled
  // (a new record alone unblocks nobody: the MXU waits for arrivals).
  const sc_core::sc_event& changed_event() const { return changed_; }
  uint64_t fetched() const { return next_seq_; }

  stats::Counter& read_bytes;  // shifted out into the array

 private:
  void run();  // SC_METHOD
  void advance();
  // At the start cycle: dispatches and books the transfer; true: waits for its end.
  bool begin_fetch();
  void finish_fetch();  // at the cycle the transfer is through
  bool trigger_at(uint64_t cycle);  // true: the cycle is ahead, next_trigger set for it
  void prune();

  TpuConfig cfg_;
  const Clock& clock_;
  Controller& ctrl_;
  Dram& dram_;
  WeightMemory& memory_;
  Fidelity fidelity_ = Fidelity::tile;
  std::deque<TileRecord> tiles_;
  uint64_t base_seq_ = 0;  // seq of tiles_.front()
  uint64_t next_seq_ = 0;
  uint64_t free_at_ = 0;  // fetcher free
  double last_end_ = 0;    // fractional end of the previous transfer
  sc_core::sc_event changed_;
  // The tile being fetched: the phase the method resumes in and what the
  // earlier phases decided.
  enum class Phase : uint8_t { head, slot, start, transfer };
  Phase phase_ = Phase::head;
  bool streaming_ = false;  // the transfer is a Dram stream (end_stream() at its end)
  bool failed_ = false;
  uint64_t ready_ = 0, start_ = 0, bytes_ = 0;
  uint64_t seq_ = 0;
  uint32_t index_ = 0;
  double cursor_ = 0;

  stats::Counter& tiles_fetched_;
  stats::Counter& write_bytes_;
  stats::Counter& stall_full_;
  stats::Counter& busy_cycles_;
};

}  // namespace xpu::tpu
