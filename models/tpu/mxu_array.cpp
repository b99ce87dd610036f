// Closed-form timing of the systolic array and the sequencing rules shared by
// both engines (see mxu_array.h for the derivations).
#include "models/tpu/mxu_array.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "models/tpu/mxu_array_detail.h"

namespace xpu::tpu {

uint64_t pass_completion(const ArrayShape& a, const Pass& p) {
  // Last valid result: vector m-1, column n-1 leaves the bottom row at step
  // (m-1) + R + (n-1); the accumulator write lands one cycle later.
  return p.start + uint64_t(p.step) * (uint64_t(p.m) + a.rows + p.n - 2) + 1;
}

uint64_t switch_done(const ArrayShape& a, const Pass& p) {
  // PE(R-1, C-1) copies standby -> active at step R + C - 2 of the pass.
  return p.start + uint64_t(p.step) * (uint64_t(a.rows) + a.cols - 2) + 1;
}

namespace detail {

namespace {
bool supported(DType t) { return t == DType::int8 || t == DType::bf16 || t == DType::fp16; }
}  // namespace

PassSequencer::PassSequencer(const ArrayShape& shape) : shape_(shape) {
  if (shape.rows == 0 || shape.cols == 0) {
    throw std::logic_error("mxu array: rows and cols must be >= 1");
  }
}

void PassSequencer::fail(const std::string& what) const {
  throw std::logic_error("mxu array (" + std::to_string(shape_.rows) + "x" +
                         std::to_string(shape_.cols) + "): " + what);
}

// Messages are composed only on failure: submit() sits on the timing-only
// fast path.
void PassSequencer::check_latch(const WeightTile& tile, uint64_t when) {
  std::ostringstream os;  // cheap until written to
  if (!supported(tile.dtype)) {
    os << "weight tile dtype " << dtype_name(tile.dtype) << " is not an array input type";
    fail(os.str());
  }
  if (tile.k > shape_.rows || tile.n > shape_.cols) {
    os << "weight tile " << tile.k << "x" << tile.n << " does not fit the array";
    fail(os.str());
  }
  if (have_switch_ && when < last_switch_done_) {
    os << "latch at cycle " << when << " overwrites standby weights still being switched in"
       << " (the last switching pass's wavefront needs them until cycle "
       << last_switch_done_ << ")";
    fail(os.str());
  }
  if (latched_ && when < last_latch_) {
    os << "latch at cycle " << when << " is earlier than the previous latch at cycle "
       << last_latch_;
    fail(os.str());
  }
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
  if (p.acc != nullptr && p.m > 1 && p.acc_stride < p.n) bad("acc_stride is smaller than n");
  if (have_prev_) {
    if (p.start < prev_input_free_) {
      bad("start " + std::to_string(p.start) + " is before input_free of pass " +
          std::to_string(prev_id_) + " (" + std::to_string(prev_input_free_) + ")");
    }
    // A change of precision (or of step) needs a drained array: every result
    // written and the last weight-switch wavefront through every PE.
    const uint64_t drained = std::max(max_completion_, have_switch_ ? last_switch_done_ : 0);
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

  have_prev_ = true;
  prev_id_ = p.id;
  prev_input_free_ = input_free(p);
  prev_dtype_ = p.dtype;
  prev_step_ = p.step;
  max_completion_ = std::max(max_completion_, pass_completion(shape_, p));
  if (p.switch_weights) {
    have_active_ = true;
    active_dtype_ = standby_dtype_;
    have_switch_ = true;
    last_switch_done_ = switch_done(shape_, p);
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
