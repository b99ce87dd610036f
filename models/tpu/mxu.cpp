#include "models/tpu/mxu.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "sim/common/errors.h"
#include "sim/trace/array_hook.h"

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
      array_window_cycles(grp(tpu).counter("array_window_cycles", stats::Unit::cycles,
                                           "per program: first stationary load or pass start to the last "
                                           "cycle the array is clear")),
      cfg_(cfg),
      shape_{cfg.mxu.rows, cfg.mxu.cols},
      clock_(clock),
      ctrl_(ctrl),
      fifo_(fifo),
      ub_(ub),
      acc_(acc) {
  engine_ = make_array_engine(shape_, cfg_.mxu.dataflow, Fidelity::tile);
  // Built once: an or-list made at each trigger allocates.
  on_push_ = ctrl_.queue(UnitId::mxu).pushed_event() | fifo_.changed_event();
  on_deps_ = ctrl_.completed_event() | fifo_.changed_event();
  SC_METHOD(run);
}

void Mxu::set_fidelity(Fidelity f) {
  if (f == fidelity_) return;
  fidelity_ = f;
  engine_ = trace::observe_array(make_array_engine(shape_, cfg_.mxu.dataflow, f), shape_);
  // Every pass completed before the last halt; timing fidelity does not wait
  // for the old engine's reports of them (the controller was told at dispatch).
  inflight_.clear();
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
  if (window_open_) array_window_cycles += last_clear_all_ - window_start_;
  window_open_ = false;
  // The host may rewrite the unified buffer between programs: stationary
  // inputs are not reused across them.
  have_inputs_ = false;
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
    // Without fold overlap the array only needs the previous operands gone.
    const uint64_t prev_done = cfg_.mxu.fold_overlap ? max_completion_ : last_clear_;
    const uint64_t s = std::max({t->arrival, prev_done, head_since});
    fifo_.set_shift(j, s, s + cfg_.mxu.weight_load_cycles);
    shifted_ = j + 1;
    latch(j, std::max(s + cfg_.mxu.weight_load_cycles, last_switch_done_));
  }
  DepTimes dt;
  if (!ctrl_.deps_done(e, dt)) return false;
  const uint64_t now = clock_.now();

  uint64_t W0 = 0, A0 = 0;  // latch and arrival of the tile this pass switches to
  if (in.load_weights) {
    if (latched_ <= j) return false;
    const TileRecord* t = fifo_.tile(j);
    W0 = t->latch;
    A0 = t->arrival;
  }

  const uint32_t step = this->step(in.dtype);
  const uint64_t P = ctrl_.program_start();
  const Dataflow df = cfg_.mxu.dataflow;
  const uint64_t eb = dtype_bytes(in.dtype);
  const uint64_t row_bytes = uint64_t(in.k) * eb;
  // One matmul is one pass (WS) or folds of at most R (OS) / C (IS) vectors,
  // scheduled back to back; only the first fold switches weights.
  const uint32_t fold = std::min<uint32_t>(in.rows, max_pass_m(shape_, df));
  const uint32_t folds = (in.rows + fold - 1) / fold;
  if ((in.keep_psums || in.continue_psums) && (df != Dataflow::os || folds != 1)) {
    throw std::logic_error("matmul " + std::to_string(e.index) +
                           " keeps or continues partial sums in the PEs: only an output-stationary array"
                           " does, for at most rows = " + std::to_string(shape_.rows) + " vectors");
  }
  uint64_t last_completion = 0;  // of the matmul: its last fold's
  for (uint32_t f = 0; f < folds; ++f) {
    const uint32_t r0 = f * fold, m = std::min(fold, in.rows - r0);
    const bool sw = in.load_weights && f == 0;
    Pass p;
    p.id = next_pass_id_++;
    p.dtype = in.dtype;
    p.step = step;
    p.m = m;
    p.k = in.k;
    p.n = in.n;
    p.switch_weights = sw;
    if (fidelity_ != Fidelity::timing) {
      p.input = ub_.data() + in.ub_addr + uint64_t(r0) * in.ub_stride;
      p.input_stride = in.ub_stride;
      p.acc = acc_.row(in.acc_addr + r0);
      p.acc_stride = acc_.cols();
    }
    p.accumulate = in.accumulate;
    p.keep_psums = in.keep_psums;
    p.continue_psums = in.continue_psums;

    const bool change = have_prev_ && (in.dtype != prev_dtype_);
    const uint64_t drained = change ? std::max({max_completion_, last_switch_done_, last_inputs_switch_done_}) : 0;
    // Array spacing after the previous pass beyond its stream (OS drain chain).
    uint64_t spacing =
        have_prev_ && !change ? earliest_start(shape_, df, prev_pass_, p, have_drain_ ? &last_drain_pass_ : nullptr) : 0;
    // IS: the fold's inputs are shifted in from the UB, one vector per step,
    // once the chain is free and the data is ready, and latched when the
    // previous input switch wavefront has passed; consecutive passes over
    // the same UB vectors, unchanged since they were loaded, reuse them.
    uint64_t I = 0, load_start = 0, load_end = 0;
    if (df == Dataflow::is) {
      const uint64_t src = in.ub_addr + uint64_t(r0) * in.ub_stride;
      p.switch_inputs = !(have_inputs_ && inputs_src_ == src && inputs_stride_ == in.ub_stride &&
                          inputs_m_ == m && inputs_k_ == in.k && inputs_dtype_ == in.dtype && dt.ub <= inputs_loaded_);
      if (p.switch_inputs) {
        load_start = std::max({now, dt.ub, e.issue, inputs_chain_free_});
        if (!cfg_.mxu.fold_overlap) load_start = std::max(load_start, last_clear_);
        load_end =
            load_start + (cfg_.mxu.input_load_cycles ? cfg_.mxu.input_load_cycles : uint64_t(step) * m);
        I = std::max(load_end, last_inputs_switch_done_);
        p.inputs_latch = I;
      }
    }
    // A fold begins: new stationary data (WS weights, IS inputs) or, OS, a
    // new output tile.
    const bool fold_begin = df == Dataflow::ws ? sw : df == Dataflow::is ? p.switch_inputs : !p.continue_psums;
    if (!cfg_.mxu.fold_overlap && fold_begin) spacing = std::max(spacing, last_clear_);
    const uint64_t W = sw ? W0 : 0;
    const uint64_t U = df == Dataflow::is ? (p.switch_inputs ? I : 0) : dt.ub;  // activations ready
    const uint64_t T = std::max({e.issue, W, prev_input_free_, U, dt.acc, drained, spacing, now});
    const uint64_t start = align_up(T, step);
    p.start = start;

    // Stall accounting from the previous pass's stream end (or program start).
    uint64_t lo = std::max(prev_input_free_, P);
    if (e.issue > lo) {
      idle_cycles += e.issue - lo;
      lo = e.issue;
    }
    const uint64_t mx = std::max({W, U, dt.acc, drained, spacing});
    // The stalls also go out as spans (track "mxu_stall", named by cause)
    // for the cycle accounting of the experiment layer.
    static const std::string kStallTrack = "mxu_stall", kDram = "weights_dram", kShift = "weights_shift",
                             kInput = "activations", kAcc = "accumulators", kDrain = "drain";
    auto stall_span = [](const std::string& cause, uint64_t b, uint64_t e) {
      if (e > b) trace::span(kStallTrack, cause, b, e);
    };
    if (mx > lo) {
      if (sw && W == mx) {
        const uint64_t dram = A0 > lo ? std::min(A0, mx) - lo : 0;
        stall_weights_dram += dram;
        stall_weights_shift += (mx - lo) - dram;
        stall_span(kDram, lo, lo + dram);
        stall_span(kShift, lo + dram, mx);
      } else if (U == mx) {
        stall_activations += mx - lo;
        stall_span(kInput, lo, mx);
      } else if (dt.acc == mx) {
        stall_accumulators += mx - lo;
        stall_span(kAcc, lo, mx);
      } else {
        stall_drain += mx - lo;
        stall_span(kDrain, lo, mx);
      }
      lo = mx;
    }
    if (start > lo) {
      stall_drain += start - lo;
      stall_span(kDrain, lo, start);
    }

    if (!window_open_) {
      window_open_ = true;
      window_start_ = start;
      if (df == Dataflow::is && p.switch_inputs) window_start_ = load_start;
      if (df == Dataflow::ws && sw) window_start_ = std::min(start, fifo_.tile(j)->shift_start);
    }
    last_clear_ = std::max(last_clear_, array_clear(shape_, p, df, cfg_.mxu.fold_clear_all_columns));
    last_clear_all_ = std::max(last_clear_all_, array_clear(shape_, p, df));

    engine_->submit(p);
    const uint64_t completion = pass_completion(shape_, p, df);
    inflight_.push_back(InFlight{p.id, e.index, completion});
    if (fidelity_ != Fidelity::timing) ++pending_[e.index];
    last_completion = std::max(last_completion, completion);
    const uint64_t stream_end = start + stream_cycles(p, df);
    have_prev_ = true;
    prev_dtype_ = in.dtype;
    prev_pass_ = p;
    if (!p.keep_psums) {
      have_drain_ = true;
      last_drain_pass_ = p;
    }
    prev_input_free_ = stream_end;
    max_completion_ = std::max(max_completion_, completion);
    if (sw) {
      last_switch_done_ = switch_done(shape_, p, df);
      fifo_.set_consumed(j);
      ++switched_;
      weight_tiles += 1;
    }
    if (df == Dataflow::is && p.switch_inputs) {
      have_inputs_ = true;
      inputs_src_ = in.ub_addr + uint64_t(r0) * in.ub_stride;
      inputs_stride_ = in.ub_stride;
      inputs_m_ = m;
      inputs_k_ = in.k;
      inputs_dtype_ = in.dtype;
      inputs_loaded_ = load_start;
      inputs_chain_free_ = load_end;
      last_inputs_switch_done_ = inputs_switch_done(shape_, p);
    }
    // Unified-buffer read port: WS streams one vector (k elements) per step;
    // OS one element of each of the fold's m vectors per step (k steps); IS
    // one vector per step while loading its inputs (nothing when reused).
    uint64_t ub_bytes = 0;
    if (df == Dataflow::ws) {
      ub_bytes = uint64_t(m) * row_bytes;
      ub_.reserve(UnifiedBuffer::Port::read, start, stream_end, uint32_t((row_bytes + step - 1) / step), now);
    } else if (df == Dataflow::os) {
      ub_bytes = uint64_t(m) * row_bytes;
      ub_.reserve(UnifiedBuffer::Port::read, start, stream_end, uint32_t((m * eb + step - 1) / step), now);
    } else if (p.switch_inputs) {
      ub_bytes = uint64_t(m) * row_bytes;
      const uint64_t span = load_end - load_start;  // m vectors over the load
      ub_.reserve(UnifiedBuffer::Port::read, load_start, load_end, uint32_t((ub_bytes + span - 1) / span), now);
    }
    acc_.set_row_type(in.acc_addr + r0, m, in.dtype == DType::int8 ? DType::int32 : DType::fp32);
    busy_cycles += stream_end - start;
    // Strings made once (a span per pass goes to every run's cycle accounting).
    static const std::string kTrack = "mxu", kSwitch = "matmul (switch weights)", kMatmul = "matmul",
                             kFillTrack = "mxu_fill_drain", kFillName = "fill/drain";
    trace::span(kTrack, sw ? kSwitch : kMatmul, start, stream_end);
    trace::span(kFillTrack, kFillName, stream_end, completion);
    passes += 1;
    ub_.read_bytes += ub_bytes;
    // Kept partial sums stay in the PEs: only the draining pass of a
    // whole-K chain touches the accumulators.
    if (!p.keep_psums) {
      acc_.write_bytes += uint64_t(m) * in.n * 4;
      if (in.accumulate) acc_.read_bytes += uint64_t(m) * in.n * 4;
    }
  }
  const uint64_t macs = uint64_t(in.rows) * in.k * in.n;
  (in.dtype == DType::int8 ? mac_int8 : in.dtype == DType::bf16 ? mac_bf16 : mac_fp16) += macs;
  // Timing fidelity computes no values, so the closed-form completion is
  // final at dispatch: the controller marks it at that cycle without waking
  // the MXU (with values, retire() checks the engine's report first).
  if (fidelity_ == Fidelity::timing) ctrl_.complete(e.index, last_completion);
  last_dispatch_ = now;
  q.pop();  // `e` is gone
  return true;
}

void Mxu::retire() {
  if (inflight_.empty()) return;
  const uint64_t now = clock_.now();
  for (const Completion& c : engine_->advance_to(now)) {
    auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](const InFlight& f) { return f.id == c.id; });
    if (it == inflight_.end()) throw xpu::InternalError("engine reported unknown pass " + std::to_string(c.id));
    if (it->completion != c.cycle) {
      throw xpu::InternalError("pass " + std::to_string(c.id) + " (instruction " + std::to_string(it->index) +
                             ") completed at cycle " + std::to_string(c.cycle) +
                             " in the array engine, expected " + std::to_string(it->completion));
    }
    const uint32_t index = it->index;
    inflight_.erase(it);
    if (fidelity_ == Fidelity::timing) continue;  // the controller was told at dispatch
    // A matmul completes with its last fold (OS/IS; WS: its only pass).
    if (--pending_[index] == 0) {
      pending_.erase(index);
      ctrl_.complete(index, c.cycle);
    }
  }
}

// An SC_METHOD: every decision is made in one run at the current cycle (no
// wait in between), so the MXU needs no thread of its own; a method's
// wake-up costs no coroutine switch.
void Mxu::run() {
  if (failed_) return;
  try {
    UnitQueue& q = ctrl_.queue(UnitId::mxu);
    schedule_weights();
    while (schedule_head()) schedule_weights();
    retire();
    // What can unblock it: a push into an empty queue (a push behind a
    // head changes nothing it looks at), the completion of a dependency
    // of the head, a tile's arrival in the FIFO (every weight shift and
    // latch follows one); and, with values, the array's next completion
    // (timing fidelity told the controller at dispatch).
    DepTimes dt;
    const bool empty = q.empty();
    const bool waits_deps = !empty && !ctrl_.deps_done(q.front(), dt);
    uint64_t next = kNever;
    if (fidelity_ != Fidelity::timing) {
      for (const InFlight& f : inflight_) next = std::min(next, f.completion);
    }
    if (next == kNever) {
      if (empty) {
        next_trigger(on_push_);
      } else if (waits_deps) {
        next_trigger(on_deps_);
      } else {
        next_trigger(fifo_.changed_event());
      }
    } else if (empty) {
      next_trigger(clock_.span(next - clock_.now()), on_push_);
    } else if (waits_deps) {
      next_trigger(clock_.span(next - clock_.now()), on_deps_);
    } else {
      next_trigger(clock_.span(next - clock_.now()), fifo_.changed_event());
    }
  } catch (const std::exception& ex) {
    failed_ = true;
    ctrl_.fail(std::string("mxu: ") + ex.what());
    next_trigger(never_);
  }
}

}  // namespace xpu::tpu
