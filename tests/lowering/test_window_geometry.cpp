// Sliding-window geometry of the TPU network lowering (window_geometry.h):
// which outputs a kernel tap reads inside the input, and average pooling's
// divisors, by hand on small windows.
#include <catch2/catch.hpp>

#include <vector>

#include "sim/lowering/tpu/window_geometry.h"

using namespace xpu::lowering::detail;

TEST_CASE("in_bounds_outputs: the outputs whose tap lands inside the input", "[lowering][window]") {
  // 3-wide kernel, pad 1, stride 1, W = 5: tap kw = 0 has base -1, so o reads
  // o - 1: in [0, 5) for o in [1, 5]; the caller clips 5 to Wo - 1 = 4.
  IndexRange r = in_bounds_outputs(-1, 1, 5);
  CHECK(r.lo == 1);
  CHECK(r.hi == 5);
  // Tap kw = 2 (base +1): o + 1 < 5 for o <= 3.
  r = in_bounds_outputs(1, 1, 5);
  CHECK(r.lo == 0);
  CHECK(r.hi == 3);
  // Stride 2, base -3: 2o - 3 >= 0 from o = ceil(3 / 2) = 2; 2o - 3 <= 6 up to o = 4 (W = 7).
  r = in_bounds_outputs(-3, 2, 7);
  CHECK(r.lo == 2);
  CHECK(r.hi == 4);
  // A tap past the input (base 9 >= W = 7): empty.
  r = in_bounds_outputs(9, 2, 7);
  CHECK(r.lo > r.hi);
}

TEST_CASE("pool_taps and avg_pool_runs: divisors with and without the padding", "[lowering][window]") {
  // Kernel 3, stride 1, pad 1 on both sides, size 4: output 0 covers inputs
  // -1..1 (2 inside), outputs 1 and 2 cover 3 inside, output 3 covers 2..4 (2 inside).
  CHECK(pool_taps(0, 1, 3, 1, 1, 4, false) == 2);
  CHECK(pool_taps(1, 1, 3, 1, 1, 4, false) == 3);
  CHECK(pool_taps(3, 1, 3, 1, 1, 4, false) == 2);
  // count_include_pad: the padded positions count too (every window has 3).
  CHECK(pool_taps(0, 1, 3, 1, 1, 4, true) == 3);

  // 3x3 window, stride 1, pad 1 on a 4x4 input: output row 0 has 2 rows
  // inside, so its divisors are 2 x (2, 3, 3, 2) = 4, 6, 6, 4 -> runs
  // [0, 1) / 4, [1, 3) / 6, [3, 4) / 4.
  xpu::workload::Attrs a;
  a.window.kernel_h = a.window.kernel_w = 3;
  a.window.pad_top = a.window.pad_left = a.window.pad_bottom = a.window.pad_right = 1;
  struct Run {
    uint64_t ow0, n;
    float divisor;
  };
  std::vector<Run> runs;
  avg_pool_runs(a, 0, 4, 4, 4, [&](uint64_t ow0, uint64_t n, float d) { runs.push_back({ow0, n, d}); });
  REQUIRE(runs.size() == 3);
  CHECK(runs[0].ow0 == 0);
  CHECK(runs[0].n == 1);
  CHECK(runs[0].divisor == 4.0f);
  CHECK(runs[1].ow0 == 1);
  CHECK(runs[1].n == 2);
  CHECK(runs[1].divisor == 6.0f);
  CHECK(runs[2].ow0 == 3);
  CHECK(runs[2].n == 1);
  CHECK(runs[2].divisor == 4.0f);
}
