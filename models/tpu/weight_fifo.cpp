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
  SC_METHOD(run);
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
  if (failed_) return;
  try {
    advance();
  } catch (const std::exception& ex) {
    failed_ = true;
    ctrl_.fail(std::string("weight_fifo: ") + ex.what());
  }
}

bool WeightFifo::trigger_at(uint64_t cycle) {
  const uint64_t stamp = sc_core::sc_time_stamp().value(), target = cycle * clock_.ticks_per_cycle();
  if (target <= stamp) return false;
  next_trigger(sc_core::sc_time::from_value(target - stamp));
  return true;
}

// One tile after another, each phase at the cycle (and on the event) the
// fetcher's thread reached it: a head whose dependencies completed, a free
// slot, the start cycle, the transfer's end.
void WeightFifo::advance() {
  const uint32_t depth = cfg_.weight_fifo.depth_tiles;
  UnitQueue& q = ctrl_.queue(UnitId::weight_fetch);
  for (;;) {
    switch (phase_) {
      case Phase::head: {
        if (q.empty()) {
          next_trigger(q.pushed_event());  // completions cannot ready an empty queue
          return;
        }
        DepTimes dt;
        if (!ctrl_.deps_done(q.front(), dt)) {
          next_trigger(ctrl_.completed_event());  // only this unit pops: the head stays until then
          return;
        }
        ready_ = std::max({q.front().issue, free_at_, dt.all, clock_.now()});
        phase_ = Phase::slot;
        [[fallthrough]];
      }
      case Phase::slot: {
        // Slot: tile s reuses the slot of tile s - depth, free once it is shifted out.
        uint64_t slot_free = 0;
        if (next_seq_ >= depth) {
          const TileRecord* old = tile(next_seq_ - depth);
          if (old != nullptr && !old->shift_known) {
            next_trigger(changed_);
            return;
          }
          slot_free = old == nullptr ? 0 : old->shift_end;
        }
        start_ = std::max(ready_, slot_free);
        phase_ = Phase::start;
        if (trigger_at(start_)) return;
        [[fallthrough]];
      }
      case Phase::start:
        phase_ = Phase::transfer;
        if (begin_fetch()) return;
        [[fallthrough]];
      case Phase::transfer:
        finish_fetch();
        phase_ = Phase::head;
        break;
    }
  }
}

bool WeightFifo::begin_fetch() {
  const uint64_t start = start_;
  stall_full_ += start - ready_;
  UnitQueue& q = ctrl_.queue(UnitId::weight_fetch);
  const Instruction& in = *q.front().inst;  // valid until complete() (controller.h)
  index_ = q.front().index;
  q.pop();  // dispatched; the head is gone (the controller may issue into the slot at once)

  TileRecord rec;
  rec.seq = next_seq_;
  rec.dtype = in.dtype;
  rec.k = in.k;
  rec.n = in.n;
  rec.fetch_start = start;
  if (fidelity_ != Fidelity::timing) {
    rec.data.resize(rec.bytes());
    memory_.read(in.weight_addr, rec.data.data(), rec.data.size());
  }
  bytes_ = rec.bytes();
  const uint64_t addr = in.weight_addr;
  seq_ = next_seq_;
  tiles_.push_back(std::move(rec));
  ++next_seq_;
  prune();

  // Group by group through the DRAM; the next group when this one is done.
  // Back-to-back transfers continue from the previous one's fractional end
  // (no cycle lost to rounding between tiles).
  cursor_ = start == free_at_ ? std::max(double(start) - 1.0, last_end_) : double(start);
  // Alone on the DRAM, the groups need no arbitration: one wait (dram.h).
  if (dram_.sole(Dram::weight_fetch)) {
    streaming_ = false;
    uint64_t back = 0;
    cursor_ = dram_.book_transfer(Dram::weight_fetch, addr, bytes_, false, cursor_, back);
    return trigger_at(back);
  }
  streaming_ = bytes_ > 0;  // a stream of nothing ends at once
  if (!streaming_) return false;
  next_trigger(dram_.start_stream(Dram::weight_fetch, addr, bytes_, false, cursor_));
  return true;
}

void WeightFifo::finish_fetch() {
  if (streaming_) cursor_ = dram_.end_stream(Dram::weight_fetch, bytes_, false);
  streaming_ = false;
  const uint64_t start = start_;
  last_end_ = cursor_;
  free_at_ = ceil_cycles(cursor_);
  const uint64_t arrival = ceil_cycles(cursor_ + dram_.latency_cycles());
  TileRecord* t = tile(seq_);
  t->arrival_known = true;
  t->arrival = arrival;
  changed_.notify();
  trace::span(kFetchTrack, kFetchName, start, free_at_);
  trace::span(kLatencyTrack, kLatencyName, free_at_, arrival);
  ctrl_.complete(index_, arrival);
  tiles_fetched_ += 1;
  write_bytes_ += bytes_;
  busy_cycles_ += free_at_ - start;
}

}  // namespace xpu::tpu
