#include "models/tpu/weight_fifo.h"
#include "sim/trace/trace.h"

#include <algorithm>

namespace xpu::tpu {

namespace {
// Trace names as strings made once: a span per tile goes to the cycle
// accounting of every run, and literals would be copied into strings each time.
const std::string kShiftTrack = "weight_shift", kShiftName = "shift tile", kFetchTrack = "weight_fetch",
                  kFetchName = "read_weights", kLatencyTrack = "weight_fetch_latency", kLatencyName = "DRAM latency";
}  // namespace

WeightFifo::WeightFifo(sc_core::sc_module_name name, const TpuConfig& cfg, const Clock& clock,
                       Controller& ctrl, Dram& dram, WeightMemory& memory, stats::Group& tpu)
    : sc_module(name),
      read_bytes(tpu.child("weight_fifo").counter("read_bytes", stats::Unit::bytes,
                                                  "tile bytes shifted out of the FIFO into the array")),
      cfg_(cfg),
      clock_(clock),
      ctrl_(ctrl),
      dram_(dram),
      memory_(memory),
      tiles_fetched_(tpu.child("weight_fifo").counter("tiles", stats::Unit::count, "tiles fetched from DRAM")),
      write_bytes_(tpu.child("weight_fifo").counter("write_bytes", stats::Unit::bytes, "tile bytes written into the FIFO")),
      stall_full_(tpu.child("weight_fifo").counter("stall.full", stats::Unit::cycles,
                                                   "cycles read_weights waited for a free FIFO slot")),
      busy_cycles_(tpu.child("weight_fifo").counter("busy_cycles", stats::Unit::cycles,
                                                    "cycles the fetcher was moving tiles out of DRAM")) {
  SC_THREAD(run);
}

TileRecord* WeightFifo::tile(uint64_t seq) {
  if (seq < base_seq_ || seq >= base_seq_ + tiles_.size()) return nullptr;
  return &tiles_[seq - base_seq_];
}

void WeightFifo::set_shift(uint64_t seq, uint64_t start, uint64_t end) {
  TileRecord* t = tile(seq);
  t->shift_known = true;
  t->shift_start = start;
  t->shift_end = end;
  trace::span(kShiftTrack, kShiftName, start, end);
  read_bytes += t->bytes();
  changed_.notify();
}

void WeightFifo::set_latched(uint64_t seq, uint64_t when) {
  TileRecord* t = tile(seq);
  t->latched = true;
  t->latch = when;
  std::vector<uint8_t>().swap(t->data);  // the array copied it
  prune();
}

void WeightFifo::set_consumed(uint64_t seq) {
  tile(seq)->consumed = true;
  prune();
}

// Drops records nobody needs any more: consumed by a pass, and their slot
// handed on to the tile `depth` later.
void WeightFifo::prune() {
  while (!tiles_.empty() && tiles_.front().consumed &&
         base_seq_ + cfg_.weight_fifo.depth_tiles < next_seq_) {
    tiles_.pop_front();
    ++base_seq_;
  }
}

void WeightFifo::run() {
  const uint32_t depth = cfg_.weight_fifo.depth_tiles;
  for (;;) {
    DepTimes dt;
    const Issued& e = ctrl_.wait_ready(UnitId::weight_fetch, dt);
    const Instruction& in = *e.inst;
    const uint64_t ready = std::max({e.issue, free_at_, dt.all, clock_.now()});
    // Slot: tile s reuses the slot of tile s - depth, free once it is shifted out.
    const uint64_t s = next_seq_;
    uint64_t slot_free = 0;
    if (s >= depth) {
      for (;;) {
        const TileRecord* old = tile(s - depth);
        if (old == nullptr || old->shift_known) {
          slot_free = old == nullptr ? 0 : old->shift_end;
          break;
        }
        sc_core::wait(changed_);
      }
    }
    const uint64_t start = std::max(ready, slot_free);
    clock_.wait_until(start);
    stall_full_ += start - ready;
    const uint32_t index = e.index;
    ctrl_.queue(UnitId::weight_fetch).pop();  // dispatched; `e` is gone

    TileRecord rec;
    rec.seq = s;
    rec.dtype = in.dtype;
    rec.k = in.k;
    rec.n = in.n;
    rec.fetch_start = start;
    if (fidelity_ != Fidelity::timing) {
      rec.data.resize(rec.bytes());
      memory_.read(in.weight_addr, rec.data.data(), rec.data.size());
    }
    const uint64_t bytes = rec.bytes();
    const uint64_t addr = in.weight_addr;
    tiles_.push_back(std::move(rec));
    ++next_seq_;
    prune();

    // Group by group through the DRAM; the next group when this one is done.
    // Back-to-back transfers continue from the previous one's fractional end
    // (no cycle lost to rounding between tiles).
    double cursor = start == free_at_ ? std::max(double(start) - 1.0, last_end_) : double(start);
    // Alone on the DRAM, the groups need no arbitration: one wait (dram.h).
    if (dram_.sole(Dram::weight_fetch)) {
      cursor = dram_.transfer(Dram::weight_fetch, addr, bytes, false, cursor);
    } else {
      cursor = dram_.stream(Dram::weight_fetch, addr, bytes, false, cursor);
    }
    last_end_ = cursor;
    free_at_ = ceil_cycles(cursor);
    const uint64_t arrival = ceil_cycles(cursor + dram_.latency_cycles());
    TileRecord* t = tile(s);
    t->arrival_known = true;
    t->arrival = arrival;
    changed_.notify();
    trace::span(kFetchTrack, kFetchName, start, free_at_);
    trace::span(kLatencyTrack, kLatencyName, free_at_, arrival);
    ctrl_.complete(index, arrival);
    tiles_fetched_ += 1;
    write_bytes_ += bytes;
    busy_cycles_ += free_at_ - start;
  }
}

}  // namespace xpu::tpu
