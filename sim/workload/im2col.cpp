#include "sim/workload/im2col.h"

#include <stdexcept>

namespace xpu::workload {

std::vector<float> im2col(const Workload& w, const Layer& l, const std::vector<float>& x, uint64_t group) {
  if (l.op != OpKind::conv2d || group >= l.gemm_count) throw std::invalid_argument("im2col: not a conv2d group");
  const Shape& xs = w.tensor(l.inputs.at(0)).shape;
  const Shape& ws = w.tensor(l.inputs.at(1)).shape;
  const Window2d& win = l.attrs.window;
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], CG = ws[1], KH = ws[2], KW = ws[3];
  const int64_t HO = l.out_shape[2], WO = l.out_shape[3];
  std::vector<float> a(l.m * l.k, 0.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < HO; ++oh)
      for (int64_t ow = 0; ow < WO; ++ow) {
        const uint64_t row = uint64_t((n * HO + oh) * WO + ow);
        for (int64_t c = 0; c < CG; ++c)
          for (int64_t kh = 0; kh < KH; ++kh)
            for (int64_t kw = 0; kw < KW; ++kw) {
              const int64_t ih = oh * win.stride_h - win.pad_top + kh * win.dilation_h;
              const int64_t iw = ow * win.stride_w - win.pad_left + kw * win.dilation_w;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              const uint64_t col = uint64_t((c * KH + kh) * KW + kw);
              a[row * l.k + col] = x[uint64_t(((n * C + int64_t(group) * CG + c) * H + ih) * W + iw)];
            }
      }
  return a;
}

std::vector<float> conv_weight_matrix(const Workload& w, const Layer& l, const std::vector<float>& weights,
                                      uint64_t group) {
  if (l.op != OpKind::conv2d || group >= l.gemm_count) throw std::invalid_argument("conv_weight_matrix: not a conv2d group");
  const Shape& ws = w.tensor(l.inputs.at(1)).shape;
  const uint64_t per_filter = uint64_t(ws[1] * ws[2] * ws[3]);  // = k
  std::vector<float> b(l.k * l.n);
  for (uint64_t j = 0; j < l.n; ++j)
    for (uint64_t k = 0; k < l.k; ++k) b[k * l.n + j] = weights[(group * l.n + j) * per_filter + k];
  return b;
}

}  // namespace xpu::workload
