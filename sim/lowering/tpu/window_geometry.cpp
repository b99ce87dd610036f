#include "sim/lowering/tpu/window_geometry.h"

namespace xpu::lowering::detail {

IndexRange in_bounds_outputs(int64_t base, int64_t stride, int64_t size) {
  IndexRange r;
  r.lo = base >= 0 ? 0 : (-base + stride - 1) / stride;
  r.hi = (size - 1 - base) < 0 ? -1 : (size - 1 - base) / stride;
  return r;
}

int64_t pool_taps(int64_t o, int64_t stride, int64_t k, int64_t pad_lo, int64_t pad_hi, int64_t size,
                  bool count_include_pad) {
  int64_t c = 0;
  for (int64_t t = 0; t < k; ++t) {
    const int64_t i = o * stride - pad_lo + t;
    c += count_include_pad ? (i >= -pad_lo && i < size + pad_hi) : (i >= 0 && i < size);
  }
  return c;
}

}  // namespace xpu::lowering::detail
