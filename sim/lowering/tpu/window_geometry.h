#pragma once
// Sliding-window geometry shared by the conv (im2col) and pooling emitters of
// the network lowering: which output positions of a kernel tap read inside the
// input, and average pooling's divisors.
#include <cstdint>

#include "sim/workload/attrs.h"

namespace xpu::lowering::detail {

// Output positions o >= 0 whose input position o * stride + base lies in
// [0, size), for a tap at offset base (k * dilation - pad_lo): [lo, hi],
// empty when lo > hi. Callers clip hi to their output extent.
struct IndexRange {
  int64_t lo = 0, hi = -1;
};
IndexRange in_bounds_outputs(int64_t base, int64_t stride, int64_t size);

// Average pooling's divisor along one axis at output o: the window's taps
// inside the input, or inside the padded input with count_include_pad (as
// the reference executor counts them).
int64_t pool_taps(int64_t o, int64_t stride, int64_t k, int64_t pad_lo, int64_t pad_hi, int64_t size,
                  bool count_include_pad);

// Output row oh of an average pooling over an H x W input as runs of output
// columns with equal divisors: finish(ow0, count, divisor) per run, in order.
template <class Finish>
void avg_pool_runs(const workload::Attrs& a, uint64_t oh, uint64_t Wo, uint64_t H, uint64_t W, Finish&& finish) {
  const auto& win = a.window;
  const int64_t ch =
      pool_taps(int64_t(oh), win.stride_h, win.kernel_h, win.pad_top, win.pad_bottom, int64_t(H), a.count_include_pad);
  uint64_t run0 = 0;
  int64_t prev = -1;
  for (uint64_t ow = 0; ow <= Wo; ++ow) {
    const int64_t cw = ow < Wo ? pool_taps(int64_t(ow), win.stride_w, win.kernel_w, win.pad_left, win.pad_right,
                                           int64_t(W), a.count_include_pad)
                               : -2;
    if (cw != prev) {
      if (prev >= 0 && ow > run0) finish(run0, ow - run0, float(ch * prev));
      run0 = ow;
      prev = cw;
    }
  }
}

}  // namespace xpu::lowering::detail
