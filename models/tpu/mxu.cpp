#include "models/tpu/mxu.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace xpu::tpu {

namespace {
stats::Group& grp(stats::Group& tpu) { return tpu.child("mxu"); }
}  // namespace

Mxu::Mxu(sc_core::sc_module_name name, const TpuConfig& cfg, const Clock& clock, Controller& ctrl,
         WeightFifo& fifo, UnifiedBuffer& ub, Accumulators& acc, stats::Group& tpu)
    : sc_module(name),
      busy_cycles(grp(tpu).counter("busy_cycles", stats::Unit::cycles, "input streaming cycles: sum of m * step")),
      idle_cycles(grp(tpu).counter("idle_cycles", stats::Unit::cycles, "cycles with no matmul queued")),
      stall_weights_dram(grp(tpu).counter("stall.weights_dram", stats::Unit::cycles,
                                          "waiting for a weight tile to arrive from DRAM")),
      stall_weights_shift(grp(tpu).counter("stall.weights_shift", stats::Unit::cycles,
                                           "waiting for a weight tile to be shifted in and latched")),
      stall_activations(grp(tpu).counter("stall.activations", stats::Unit::cycles,
                                         "waiting for input data in the unified buffer")),
      stall_accumulators(grp(tpu).counter("stall.accumulators", stats::Unit::cycles,
                                          "waiting for activate to read accumulators (WAR)")),
      stall_drain(grp(tpu).counter("stall.drain", stats::Unit::cycles,
                                   "array draining for a precision change, or step alignment")),
      mac_int8(grp(tpu).counter("mac.int8", stats::Unit::ops, "useful int8 MACs (m * k * n)")),
      mac_bf16(grp(tpu).counter("mac.bf16", stats::Unit::ops, "useful bf16 MACs (m * k * n)")),
      mac_fp16(grp(tpu).counter("mac.fp16", stats::Unit::ops, "useful fp16 MACs (m * k * n)")),
      passes(grp(tpu).counter("passes", stats::Unit::count, "matmul passes through the array")),
      weight_tiles(grp(tpu).counter("weight_tiles", stats::Unit::count, "weight tiles switched into the array")),
      cfg_(cfg),
      shape_{cfg.mxu.rows, cfg.mxu.cols},
      clock_(clock),
      ctrl_(ctrl),
      fifo_(fifo),
      ub_(ub),
      acc_(acc) {
  engine_ = make_tile_engine(shape_);
  SC_THREAD(run);
}

void Mxu::set_fidelity(Fidelity f) {
  if (f == fidelity_) return;
  fidelity_ = f;
  engine_ = f == Fidelity::pe ? make_pe_engine(shape_) : make_tile_engine(shape_);
}

bool Mxu::supports(DType t) const {
  switch (t) {
    case DType::int8: return cfg_.mxu.supports_int8;
    case DType::bf16: return cfg_.mxu.supports_bf16;
    case DType::fp16: return cfg_.mxu.supports_fp16;
    default: return false;
  }
}

uint32_t Mxu::step(DType t) const {
  uint32_t s = t == DType::int8 ? cfg_.mxu.step_int8 : t == DType::bf16 ? cfg_.mxu.step_bf16 : cfg_.mxu.step_fp16;
  const uint64_t row = uint64_t(cfg_.mxu.rows) * dtype_bytes(t);
  const uint64_t port = cfg_.unified_buffer.read_bytes_per_cycle;
  return std::max<uint32_t>(s, uint32_t((row + port - 1) / port));
}

void Mxu::end_program(uint64_t start, uint64_t end) {
  const uint64_t from = std::max(prev_input_free_, start);
  if (end > from) idle_cycles += end - from;
}

void Mxu::latch(uint64_t seq, uint64_t when) {
  TileRecord* t = fifo_.tile(seq);
  WeightTile w;
  w.dtype = t->dtype;
  w.k = t->k;
  w.n = t->n;
  w.data = t->data.empty() ? nullptr : t->data.data();
  engine_->latch_standby(w, when);
  fifo_.set_latched(seq, when);
  last_latch_ = when;
  ++latched_;
}

// Double buffering: shift and latch every tile as early as the rules allow.
void Mxu::schedule_weights() {
  if (!cfg_.mxu.double_buffer_weights) return;
  for (;;) {
    bool progress = false;
    if (shifted_ == latched_) {  // the chain is free once the previous tile latched
      TileRecord* t = fifo_.tile(shifted_);
      if (t != nullptr && t->arrival_known) {
        const uint64_t s = std::max(t->arrival, last_latch_);
        fifo_.set_shift(shifted_, s, s + cfg_.mxu.weight_load_cycles);
        ++shifted_;
        progress = true;
      }
    }
    // Standby is free once the pass switching to the previous tile has its
    // switch wavefront through the array.
    if (latched_ < shifted_ && switched_ >= latched_) {
      const TileRecord* t = fifo_.tile(latched_);
      latch(latched_, std::max(t->shift_end, last_switch_done_));
      progress = true;
    }
    if (!progress) break;
  }
}

bool Mxu::schedule_head() {
  UnitQueue& q = ctrl_.queue(UnitId::mxu);
  if (q.empty()) return false;
  const Issued& e = q.front();
  const Instruction& in = *e.inst;
  const uint64_t j = switched_;
  if (in.load_weights && !cfg_.mxu.double_buffer_weights && latched_ == j) {
    // One register per PE: the tile is shifted in once the matmul that loads
    // it is at the head of the queue (it became the head when it was issued
    // or when the previous pass was dispatched) and every earlier pass has
    // completed -- whether or not its input data is ready yet.
    TileRecord* t = fifo_.tile(j);
    if (t == nullptr || !t->arrival_known) return false;
    const uint64_t head_since = std::max(e.issue, last_dispatch_);
    const uint64_t s = std::max({t->arrival, max_completion_, head_since});
    fifo_.set_shift(j, s, s + cfg_.mxu.weight_load_cycles);
    shifted_ = j + 1;
    latch(j, std::max(s + cfg_.mxu.weight_load_cycles, last_switch_done_));
  }
  DepTimes dt;
  if (!ctrl_.deps_done(e, dt)) return false;
  const uint64_t now = clock_.now();

  uint64_t W = 0, A = 0;  // latch and arrival of the tile this pass switches to
  if (in.load_weights) {
    if (latched_ <= j) return false;
    const TileRecord* t = fifo_.tile(j);
    W = t->latch;
    A = t->arrival;
  }

  const uint32_t step = this->step(in.dtype);
  const uint64_t P = ctrl_.program_start();
  const uint64_t drained = (have_prev_ && in.dtype != prev_dtype_) ? std::max(max_completion_, last_switch_done_) : 0;
  const uint64_t T = std::max({e.issue, W, prev_input_free_, dt.ub, dt.acc, drained, now});
  const uint64_t start = align_up(T, step);

  // Stall accounting from the previous pass's input_free (or program start).
  uint64_t lo = std::max(prev_input_free_, P);
  if (e.issue > lo) {
    idle_cycles += e.issue - lo;
    lo = e.issue;
  }
  const uint64_t m = std::max({W, dt.ub, dt.acc, drained});
  if (m > lo) {
    if (in.load_weights && W == m) {
      const uint64_t dram = A > lo ? std::min(A, m) - lo : 0;
      stall_weights_dram += dram;
      stall_weights_shift += (m - lo) - dram;
    } else if (dt.ub == m) {
      stall_activations += m - lo;
    } else if (dt.acc == m) {
      stall_accumulators += m - lo;
    } else {
      stall_drain += m - lo;
    }
    lo = m;
  }
  if (start > lo) stall_drain += start - lo;

  Pass p;
  p.id = next_pass_id_++;
  p.dtype = in.dtype;
  p.step = step;
  p.m = in.rows;
  p.k = in.k;
  p.n = in.n;
  p.switch_weights = in.load_weights;
  if (fidelity_ != Fidelity::timing) {
    p.input = ub_.data() + in.ub_addr;
    p.input_stride = in.ub_stride;
    p.acc = acc_.row(in.acc_addr);
    p.acc_stride = acc_.cols();
  }
  p.accumulate = in.accumulate;
  p.start = start;
  engine_->submit(p);

  const uint64_t completion = pass_completion(shape_, p);
  inflight_.push_back(InFlight{p.id, e.index, completion});
  have_prev_ = true;
  prev_dtype_ = in.dtype;
  prev_input_free_ = input_free(p);
  max_completion_ = std::max(max_completion_, completion);
  if (in.load_weights) {
    last_switch_done_ = switch_done(shape_, p);
    fifo_.set_consumed(j);
    ++switched_;
    weight_tiles += 1;
  }
  const uint64_t row_bytes = uint64_t(in.k) * dtype_bytes(in.dtype);
  ub_.reserve(UnifiedBuffer::Port::read, start, input_free(p), uint32_t((row_bytes + step - 1) / step), now);
  acc_.set_row_type(in.acc_addr, in.rows, in.dtype == DType::int8 ? DType::int32 : DType::fp32);

  const uint64_t macs = uint64_t(in.rows) * in.k * in.n;
  (in.dtype == DType::int8 ? mac_int8 : in.dtype == DType::bf16 ? mac_bf16 : mac_fp16) += macs;
  busy_cycles += uint64_t(in.rows) * step;
  passes += 1;
  ub_.read_bytes += uint64_t(in.rows) * row_bytes;
  acc_.write_bytes += uint64_t(in.rows) * in.n * 4;
  if (in.accumulate) acc_.read_bytes += uint64_t(in.rows) * in.n * 4;
  last_dispatch_ = now;
  q.pop();  // `e` is gone
  return true;
}

void Mxu::retire() {
  if (inflight_.empty()) return;
  const uint64_t now = clock_.now();
  for (const Completion& c : engine_->advance_to(now)) {
    auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](const InFlight& f) { return f.id == c.id; });
    if (it == inflight_.end()) throw std::logic_error("engine reported unknown pass " + std::to_string(c.id));
    if (it->completion != c.cycle) {
      throw std::logic_error("pass " + std::to_string(c.id) + " (instruction " + std::to_string(it->index) +
                             ") completed at cycle " + std::to_string(c.cycle) +
                             " in the array engine, expected " + std::to_string(it->completion));
    }
    ctrl_.complete(it->index, c.cycle);
    inflight_.erase(it);
  }
}

void Mxu::run() {
  try {
    UnitQueue& q = ctrl_.queue(UnitId::mxu);
    for (;;) {
      schedule_weights();
      while (schedule_head()) schedule_weights();
      retire();
      uint64_t next = kNever;
      for (const InFlight& f : inflight_) next = std::min(next, f.completion);
      if (next == kNever) {
        sc_core::wait(q.pushed_event() | ctrl_.completed_event() | fifo_.changed_event());
      } else {
        sc_core::wait(clock_.span(next - clock_.now()),
                      q.pushed_event() | ctrl_.completed_event() | fifo_.changed_event());
      }
    }
  } catch (const std::exception& ex) {
    ctrl_.fail(std::string("mxu: ") + ex.what());
    sc_core::wait(never_);
  }
}

}  // namespace xpu::tpu
