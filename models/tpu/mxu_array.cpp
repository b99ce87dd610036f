// Closed-form timing of the systolic array and the sequencing rules shared by
// both engines (see mxu_array.h for the derivations).
#include "models/tpu/mxu_array.h"

#include <algorithm>
#include <stdexcept>

#include "models/tpu/mxu_array_detail.h"
#include "sim/common/errors.h"

namespace xpu::tpu {

uint64_t pass_completion(const ArrayShape& a, const Pass& p, Dataflow df) {
  const uint64_t st = p.step;
  switch (df) {
    case Dataflow::os:
      // A kept pass: its last valid MAC, PE(m-1, n-1) at kk = k-1, at step
      // (k-1) + (m-1) + (n-1), settled one cycle later.
      if (p.keep_psums) return p.start + st * (uint64_t(p.k) + p.m + p.n - 3) + 1;
      // Row 0 of column n-1 leaves the drain chain at step k + 2R - 1 +
      // (n - 1); written one cycle later.
      return p.start + st * (uint64_t(p.k) + 2ull * a.rows + p.n - 2) + 1;
    case Dataflow::is:
      // Weight column n-1 of vector (array column) m-1 leaves the bottom row
      // at step (n-1) + R + (m-1); written one cycle later.
      return p.start + st * (uint64_t(p.n) + a.rows + p.m - 2) + 1;
    case Dataflow::ws:
      break;
  }
  // Last valid result: vector m-1, column n-1 leaves the bottom row at step
  // (m-1) + R + (n-1); the accumulator write lands one cycle later.
  return p.start + st * (uint64_t(p.m) + a.rows + p.n - 2) + 1;
}

uint64_t switch_done(const ArrayShape& a, const Pass& p, Dataflow df) {
  switch (df) {
    // The edge bank is latched skewed, one cycle per edge position (see
    // mxu_array.h): position e switches at start + step * e and its latch
    // lands at when + e, so the latch must satisfy when + e > start +
    // step * e for every e, binding at the last one.
    case Dataflow::os:  // top-edge columns
      return p.start + uint64_t(p.step - 1) * (a.cols - 1) + 1;
    case Dataflow::is:  // left-edge rows
      return p.start + uint64_t(p.step - 1) * (a.rows - 1) + 1;
    case Dataflow::ws:
      break;
  }
  // PE(R-1, C-1) copies standby -> active at step R + C - 2 of the pass.
  return p.start + uint64_t(p.step) * (uint64_t(a.rows) + a.cols - 2) + 1;
}

uint64_t inputs_switch_done(const ArrayShape& a, const Pass& p) {
  // PE(R-1, C-1) copies its standby input at step R + C - 2 (as WS weights).
  return p.start + uint64_t(p.step) * (uint64_t(a.rows) + a.cols - 2) + 1;
}

uint64_t array_clear(const ArrayShape& a, const Pass& p, Dataflow df, bool all_columns) {
  // The last element of the stream (index t - 1) meets PE(R-1, c) at step
  // (t - 1) + (R - 1) + c; the array is clear one step after the last
  // column's, C - 1 or the pass's last used one (WS/OS n - 1, IS m - 1).
  const uint64_t used = df == Dataflow::is ? p.m : p.n;
  const uint64_t cols = all_columns ? a.cols : used;
  return p.start + stream_cycles(p, df) + uint64_t(p.step) * (uint64_t(a.rows) + cols - 2);
}

uint64_t earliest_start(const ArrayShape& a, Dataflow df, const Pass& prev, const Pass& next,
                        const Pass* last_drain) {
  switch (df) {
    case Dataflow::os: {
      // The edges stream prev's k steps first.
      uint64_t e = prev.start + uint64_t(prev.step) * prev.k;
      // A draining next's row-0 hold write (step k' - 1 + c after its start)
      // must come no earlier than the last drain's chain load (step k + R -
      // 1 + c after that pass's start): see above.
      const Pass* d = prev.keep_psums ? last_drain : &prev;
      if (!next.keep_psums && d != nullptr) {
        e = std::max(e, d->start + uint64_t(d->step) * (uint64_t(d->k) + a.rows - next.k));
      }
      return e;
    }
    case Dataflow::is:
      return prev.start + uint64_t(prev.step) * prev.n;
    case Dataflow::ws:
      break;
  }
  return input_free(prev);
}

uint32_t max_pass_m(const ArrayShape& a, Dataflow df) {
  return df == Dataflow::os ? a.rows : df == Dataflow::is ? a.cols : UINT32_MAX;
}

std::unique_ptr<ArrayEngine> make_array_engine(const ArrayShape& shape, Dataflow df, Fidelity f) {
  if (f != Fidelity::pe) return detail::make_tile_engine_df(shape, df);
  switch (df) {
    case Dataflow::os: return detail::make_os_pe_engine(shape);
    case Dataflow::is: return detail::make_is_pe_engine(shape);
    case Dataflow::ws: break;
  }
  return make_pe_engine(shape);
}

namespace detail {

namespace {
bool supported(DType t) { return t == DType::int8 || t == DType::bf16 || t == DType::fp16; }
}  // namespace

PassSequencer::PassSequencer(const ArrayShape& shape, Dataflow df, bool acc_transposed)
    : shape_(shape), df_(df), acc_transposed_(acc_transposed) {
  if (shape.rows == 0 || shape.cols == 0) {
    throw xpu::InternalError("mxu array: rows and cols must be >= 1");
  }
}

void PassSequencer::fail(const std::string& what) const {
  throw xpu::InternalError("mxu array (" + std::to_string(shape_.rows) + "x" +
                         std::to_string(shape_.cols) + " " + dataflow_name(df_) + "): " + what);
}

// Messages are composed only on failure: submit() sits on the timing-only
// fast path.
void PassSequencer::check_latch(const WeightTile& tile, uint64_t when) {
  // Messages built only on failure: a stream object per latch (one per
  // weight tile) cost more than the rest of the check.
  using std::to_string;
  if (!supported(tile.dtype))
    fail("weight tile dtype " + std::string(dtype_name(tile.dtype)) + " is not an array input type");
  if (tile.k > shape_.rows || tile.n > shape_.cols)
    fail("weight tile " + to_string(tile.k) + "x" + to_string(tile.n) + " does not fit the array");
  if (have_switch_ && when < last_switch_done_)
    fail("latch at cycle " + to_string(when) + " overwrites standby weights still being switched in" +
         " (the last switching pass's wavefront needs them until cycle " + to_string(last_switch_done_) + ")");
  if (latched_ && when < last_latch_)
    fail("latch at cycle " + to_string(when) + " is earlier than the previous latch at cycle " +
         to_string(last_latch_));
  latched_ = true;
  last_latch_ = when;
  standby_dtype_ = tile.dtype;
}

void PassSequencer::check_submit(const Pass& p) {
  auto bad = [&](const std::string& why) { fail("pass " + std::to_string(p.id) + ": " + why); };

  if (!supported(p.dtype)) bad("dtype " + std::string(dtype_name(p.dtype)) + " is not an array input type");
  if (p.step == 0) bad("step must be >= 1");
  if (p.m == 0) bad("m (vectors) must be >= 1");
  if (p.k == 0 || p.k > shape_.rows) {
    bad("k = " + std::to_string(p.k) + " must be in [1, rows = " + std::to_string(shape_.rows) + "]");
  }
  if (p.n == 0 || p.n > shape_.cols) {
    bad("n = " + std::to_string(p.n) + " must be in [1, cols = " + std::to_string(shape_.cols) + "]");
  }
  if (p.start % p.step != 0) {
    bad("start " + std::to_string(p.start) + " is not a multiple of step " + std::to_string(p.step));
  }
  if (p.start < now_) {
    bad("start " + std::to_string(p.start) + " lies before the current cycle " + std::to_string(now_));
  }
  if (p.input != nullptr && p.m > 1 && p.input_stride < p.k * dtype_bytes(p.dtype)) {
    bad("input_stride is smaller than one input vector");
  }
  if (p.m > max_pass_m(shape_, df_)) {
    bad("m = " + std::to_string(p.m) + " exceeds " + (df_ == Dataflow::os ? "rows" : "cols") +
        " = " + std::to_string(max_pass_m(shape_, df_)) + " (one pass of this dataflow)");
  }
  if (p.acc != nullptr && p.m > 1 && !acc_transposed_ && p.acc_stride < p.n) bad("acc_stride is smaller than n");
  if (p.acc != nullptr && p.n > 1 && acc_transposed_ && p.acc_stride < p.m) bad("acc_stride is smaller than m");
  if ((p.keep_psums || p.continue_psums) && df_ != Dataflow::os) {
    bad("keeps or continues partial sums in the PEs, which only an output-stationary array does");
  }
  const bool prev_kept = have_prev_ && prev_.keep_psums;
  if (prev_kept && !p.continue_psums) {
    bad("does not continue the partial sums pass " + std::to_string(prev_.id) + " kept in the PEs");
  }
  if (p.continue_psums && !prev_kept) bad("continues partial sums but the previous pass did not keep any");
  if (p.continue_psums && (p.m != prev_.m || p.n != prev_.n || p.dtype != prev_.dtype || p.step != prev_.step)) {
    bad("continues the partial sums of pass " + std::to_string(prev_.id) + " with a different m, n, dtype or step");
  }
  if (have_prev_ && p.dtype == prev_dtype_ && p.step == prev_step_) {
    const uint64_t e = earliest_start(shape_, df_, prev_, p, have_drain_ ? &last_drain_ : nullptr);
    if (p.start < e) {
      bad("start " + std::to_string(p.start) + " is before the earliest start after pass " +
          std::to_string(prev_.id) + " (" + std::to_string(e) + (df_ == Dataflow::ws ? ", its input_free" : "") +
          ")");
    }
  }
  if (have_prev_) {
    // A change of precision (or of step) needs a drained array: every result
    // written and the last weight-switch wavefront through every PE.
    uint64_t drained = std::max(max_completion_, have_switch_ ? last_switch_done_ : 0);
    if (have_inputs_switch_) drained = std::max(drained, last_inputs_switch_done_);
    if (p.start < prev_.start + uint64_t(prev_.step) * (df_ == Dataflow::os ? prev_.k : df_ == Dataflow::is ? prev_.n : prev_.m)) {
      bad("start " + std::to_string(p.start) + " overlaps the stream of pass " + std::to_string(prev_.id));
    }
    if ((p.dtype != prev_dtype_ || p.step != prev_step_) && p.start < drained) {
      bad("changes dtype/step (" + std::string(dtype_name(prev_dtype_)) + "/" +
          std::to_string(prev_step_) + " -> " + std::string(dtype_name(p.dtype)) + "/" +
          std::to_string(p.step) + ") at cycle " + std::to_string(p.start) +
          " before the array has drained (cycle " + std::to_string(drained) + ")");
    }
  }
  if (p.switch_weights) {
    if (!latched_) bad("switches weights but no tile was latched");
    if (last_latch_ > p.start) {
      bad("switches weights at cycle " + std::to_string(p.start) +
          " but the newest tile is latched only at cycle " + std::to_string(last_latch_));
    }
    if (standby_dtype_ != p.dtype) {
      bad("dtype " + std::string(dtype_name(p.dtype)) + " does not match the latched tile (" +
          std::string(dtype_name(standby_dtype_)) + ")");
    }
  } else {
    if (!have_active_) bad("reuses the active weights but no tile was ever switched in");
    if (active_dtype_ != p.dtype) {
      bad("dtype " + std::string(dtype_name(p.dtype)) + " does not match the active tile (" +
          std::string(dtype_name(active_dtype_)) + ")");
    }
  }
  if (df_ == Dataflow::is) {
    if (p.switch_inputs) {
      if (p.inputs_latch > p.start) {
        bad("inputs latched at cycle " + std::to_string(p.inputs_latch) + ", after the pass starts");
      }
      if (have_inputs_switch_ && p.inputs_latch < last_inputs_switch_done_) {
        bad("inputs latched at cycle " + std::to_string(p.inputs_latch) +
            " overwrite standby inputs still being switched in (until cycle " +
            std::to_string(last_inputs_switch_done_) + ")");
      }
      if (have_inputs_switch_ && p.inputs_latch < last_inputs_latch_) {
        bad("inputs latched at cycle " + std::to_string(p.inputs_latch) + " before the previous input latch");
      }
    } else {
      if (!have_inputs_switch_) bad("reuses the active inputs but none were ever switched in");
      if (p.m != inputs_m_ || p.k != inputs_k_ || p.dtype != inputs_dtype_) {
        bad("reuses the active inputs with a different m, k or dtype");
      }
    }
  }

  have_prev_ = true;
  prev_ = p;
  if (!p.keep_psums) {
    have_drain_ = true;
    last_drain_ = p;
  }
  prev_dtype_ = p.dtype;
  prev_step_ = p.step;
  max_completion_ = std::max(max_completion_, pass_completion(shape_, p, df_));
  if (p.switch_weights) {
    have_active_ = true;
    active_dtype_ = standby_dtype_;
    have_switch_ = true;
    last_switch_done_ = switch_done(shape_, p, df_);
  }
  if (df_ == Dataflow::is && p.switch_inputs) {
    have_inputs_switch_ = true;
    last_inputs_switch_done_ = inputs_switch_done(shape_, p);
    last_inputs_latch_ = p.inputs_latch;
    inputs_m_ = p.m;
    inputs_k_ = p.k;
    inputs_dtype_ = p.dtype;
  }
}

void PassSequencer::check_advance(uint64_t now) {
  if (now < now_) {
    fail("advance_to(" + std::to_string(now) + ") goes back in time (already at " +
         std::to_string(now_) + ")");
  }
  now_ = now;
}

}  // namespace detail
}  // namespace xpu::tpu
