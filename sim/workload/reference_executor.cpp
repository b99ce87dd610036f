#include "sim/workload/reference_executor.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "sim/workload/llm_ops.h"
#include "sim/workload/op_table.h"

namespace xpu::workload {

namespace {

using Values = std::vector<float>;

std::vector<uint64_t> strides_of(const Shape& s) {
  std::vector<uint64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * uint64_t(s[i]);
  return st;
}

// For each output element, the index of the broadcast input element.
std::vector<uint64_t> broadcast_index(const Shape& in, const Shape& out) {
  const auto in_st = strides_of(in);
  const size_t off = out.size() - in.size();
  std::vector<uint64_t> idx(numel(out));
  std::vector<int64_t> pos(out.size(), 0);
  for (uint64_t o = 0; o < idx.size(); ++o) {
    uint64_t i = 0;
    for (size_t d = off; d < out.size(); ++d)
      if (in[d - off] != 1) i += uint64_t(pos[d]) * in_st[d - off];
    idx[o] = i;
    for (size_t d = out.size(); d-- > 0;) {
      if (++pos[d] < out[d]) break;
      pos[d] = 0;
    }
  }
  return idx;
}

class Executor {
 public:
  Executor(const Workload& w, const TensorValues& feeds) : w_(w), feeds_(feeds) {}

  TensorValues run() {
    for (const auto& l : w_.layers) layer(l);
    return std::move(v_);
  }

 private:
  const Values& in(const Layer& l, size_t i) {
    const std::string& name = l.inputs.at(i);
    auto it = v_.find(name);
    if (it != v_.end()) return it->second;
    const Tensor& t = w_.tensor(name);
    auto f = feeds_.find(name);
    Values val;
    if (f != feeds_.end()) val = f->second;
    else if (t.values) val = *t.values;
    else throw std::invalid_argument("no values for tensor '" + name + "' (used by layer '" + l.name + "')");
    if (val.size() != numel(t.shape))
      throw std::invalid_argument("tensor '" + name + "' has " + std::to_string(val.size()) + " values for shape " +
                                  shape_to_string(t.shape));
    return v_[name] = std::move(val);
  }
  const Shape& shape(const Layer& l, size_t i) const { return w_.tensor(l.inputs.at(i)).shape; }
  bool present(const Layer& l, size_t i) const { return i < l.inputs.size() && !l.inputs[i].empty(); }
  Values& out(const Layer& l, size_t i = 0) {
    Values& o = v_[l.outputs.at(i)];
    o.assign(numel(w_.tensor(l.outputs[i]).shape), 0.0f);
    return o;
  }

  void layer(const Layer& l) {
    switch (l.op) {
      case OpKind::gemm: gemm(l); break;
      case OpKind::matmul: matmul(l); break;
      case OpKind::conv2d: conv(l); break;
      case OpKind::max_pool:
      case OpKind::avg_pool: pool(l); break;
      case OpKind::global_avg_pool: global_pool(l); break;
      XPU_ACTIVATION_CASES {
        const auto f = activation(l.op).ref;  // op_table.cpp
        const Attrs& a = l.attrs;
        unary(l, [f, &a](float x) { return f(x, a); });
        break;
      }
      case OpKind::add: binary(l, [](float a, float b) { return a + b; }); break;
      case OpKind::mul: binary(l, [](float a, float b) { return a * b; }); break;
      case OpKind::softmax: softmax(l); break;
      case OpKind::layernorm: layernorm(l); break;
      case OpKind::batchnorm: batchnorm(l); break;
      case OpKind::reshape:
      case OpKind::flatten: out(l) = in(l, 0); break;
      case OpKind::transpose: transpose(l); break;
      case OpKind::concat: concat(l); break;
      case OpKind::rmsnorm:
      case OpKind::rope:
      case OpKind::gather:
      case OpKind::argmax: llm_op(l); break;
    }
  }

  template <typename F>
  void unary(const Layer& l, F f) {
    const Values& x = in(l, 0);
    Values& y = out(l);
    for (size_t i = 0; i < x.size(); ++i) y[i] = f(x[i]);
  }

  template <typename F>
  void binary(const Layer& l, F f) {
    const Values& a = in(l, 0);
    const Values& b = in(l, 1);
    const auto ia = broadcast_index(shape(l, 0), l.out_shape);
    const auto ib = broadcast_index(shape(l, 1), l.out_shape);
    Values& y = out(l);
    for (size_t i = 0; i < y.size(); ++i) y[i] = f(a[ia[i]], b[ib[i]]);
  }

  void gemm(const Layer& l) {
    const Values& a = in(l, 0);
    const Values& b = in(l, 1);
    const Shape& as = shape(l, 0);
    const Shape& bs = shape(l, 1);
    const uint64_t M = l.m, N = l.n, K = l.k;
    std::vector<uint64_t> ci;
    const Values* c = nullptr;
    if (present(l, 2)) {
      c = &in(l, 2);
      ci = broadcast_index(shape(l, 2), l.out_shape);
    }
    Values& y = out(l);
    for (uint64_t i = 0; i < M; ++i)
      for (uint64_t j = 0; j < N; ++j) {
        float acc = 0.0f;
        for (uint64_t p = 0; p < K; ++p) {
          const float av = l.attrs.trans_a ? a[p * uint64_t(as[1]) + i] : a[i * uint64_t(as[1]) + p];
          const float bv = l.attrs.trans_b ? b[j * uint64_t(bs[1]) + p] : b[p * uint64_t(bs[1]) + j];
          const float prod = av * bv;
          acc = acc + prod;
        }
        float r = acc;
        if (l.attrs.alpha != 1.0f) r = l.attrs.alpha * r;
        if (c) {
          const float bc = l.attrs.beta * (*c)[ci[i * N + j]];
          r = r + bc;
        }
        y[i * N + j] = r;
      }
  }

  void matmul(const Layer& l) {
    const Values& a = in(l, 0);
    const Values& b = in(l, 1);
    Shape as = shape(l, 0), bs = shape(l, 1);
    if (as.size() == 1) as.insert(as.begin(), 1);
    if (bs.size() == 1) bs.push_back(1);
    const uint64_t M = uint64_t(as[as.size() - 2]), K = uint64_t(as.back()), N = uint64_t(bs.back());
    const Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
    Shape batch;
    broadcast_shapes(ab, bb, batch);
    const auto ia = broadcast_index(ab, batch), ib = broadcast_index(bb, batch);
    const Values* bias = present(l, 2) ? &in(l, 2) : nullptr;
    Values& y = out(l);
    for (uint64_t t = 0; t < numel(batch); ++t) {
      const float* A = a.data() + ia[t] * M * K;
      const float* B = b.data() + ib[t] * K * N;
      float* Y = y.data() + t * M * N;
      for (uint64_t i = 0; i < M; ++i)
        for (uint64_t j = 0; j < N; ++j) {
          float acc = 0.0f;
          for (uint64_t p = 0; p < K; ++p) {
            const float prod = A[i * K + p] * B[p * N + j];
            acc = acc + prod;
          }
          Y[i * N + j] = bias ? acc + (*bias)[j] : acc;
        }
    }
  }

  void conv(const Layer& l) {
    const Values& x = in(l, 0);
    const Values& wt = in(l, 1);
    const Values* bias = present(l, 2) ? &in(l, 2) : nullptr;
    const Shape& xs = shape(l, 0);
    const Shape& ws = shape(l, 1);
    const Window2d& win = l.attrs.window;
    const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
    const int64_t CO = ws[0], CG = ws[1], KH = ws[2], KW = ws[3];
    const int64_t HO = l.out_shape[2], WO = l.out_shape[3];
    const int64_t G = l.attrs.groups, COG = CO / G;
    Values& y = out(l);
    // Each output sums its products in (c, kh, kw) order; a row of outputs
    // is summed side by side, so the inner loop runs along the input row.
    const int64_t sw = win.stride_w;
    std::vector<float> acc(static_cast<uint64_t>(WO));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t co = 0; co < CO; ++co) {
        const int64_t g = co / COG;
        for (int64_t oh = 0; oh < HO; ++oh) {
          std::fill(acc.begin(), acc.end(), 0.0f);
          for (int64_t c = 0; c < CG; ++c)
            for (int64_t kh = 0; kh < KH; ++kh) {
              const int64_t ih = oh * win.stride_h - win.pad_top + kh * win.dilation_h;
              if (ih < 0 || ih >= H) continue;
              const float* xrow = &x[uint64_t(((n * C + g * CG + c) * H + ih) * W)];
              for (int64_t kw = 0; kw < KW; ++kw) {
                // iw = ow * sw + base, in [0, W) for ow in [lo, hi].
                const int64_t base = kw * win.dilation_w - win.pad_left;
                const int64_t lo = base >= 0 ? 0 : (-base + sw - 1) / sw;
                const int64_t hi = W - 1 - base < 0 ? -1 : std::min(WO - 1, (W - 1 - base) / sw);
                const float wv = wt[uint64_t(((co * CG + c) * KH + kh) * KW + kw)];
                for (int64_t ow = lo; ow <= hi; ++ow) {
                  const float prod = xrow[ow * sw + base] * wv;
                  acc[uint64_t(ow)] = acc[uint64_t(ow)] + prod;
                }
              }
            }
          float* yrow = &y[uint64_t(((n * CO + co) * HO + oh) * WO)];
          for (int64_t ow = 0; ow < WO; ++ow)
            yrow[ow] = bias ? acc[uint64_t(ow)] + (*bias)[uint64_t(co)] : acc[uint64_t(ow)];
        }
      }
    (void)C;
  }

  void pool(const Layer& l) {
    const Values& x = in(l, 0);
    const Shape& xs = shape(l, 0);
    const Window2d& win = l.attrs.window;
    const int64_t NC = xs[0] * xs[1], H = xs[2], W = xs[3];
    const int64_t HO = l.out_shape[2], WO = l.out_shape[3];
    const bool is_max = l.op == OpKind::max_pool;
    Values& y = out(l);
    for (int64_t p = 0; p < NC; ++p)
      for (int64_t oh = 0; oh < HO; ++oh)
        for (int64_t ow = 0; ow < WO; ++ow) {
          float acc = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
          int64_t valid = 0, padded = 0;
          for (int64_t kh = 0; kh < win.kernel_h; ++kh) {
            const int64_t ih = oh * win.stride_h - win.pad_top + kh * win.dilation_h;
            for (int64_t kw = 0; kw < win.kernel_w; ++kw) {
              const int64_t iw = ow * win.stride_w - win.pad_left + kw * win.dilation_w;
              if (ih < H + win.pad_bottom && iw < W + win.pad_right) ++padded;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              const float v = x[uint64_t((p * H + ih) * W + iw)];
              ++valid;
              if (is_max) acc = v > acc ? v : acc;
              else acc = acc + v;
            }
          }
          if (!is_max) acc = acc / float(l.attrs.count_include_pad ? padded : valid);
          y[uint64_t((p * HO + oh) * WO + ow)] = acc;
        }
  }

  void global_pool(const Layer& l) {
    const Values& x = in(l, 0);
    const Shape& xs = shape(l, 0);
    const uint64_t NC = uint64_t(xs[0] * xs[1]), S = numel(xs) / NC;
    Values& y = out(l);
    for (uint64_t p = 0; p < NC; ++p) {
      float acc = 0.0f;
      for (uint64_t i = 0; i < S; ++i) acc = acc + x[p * S + i];
      y[p] = acc / float(S);
    }
  }

  // Splits a shape at `axis` into outer x len x inner.
  static void around(const Shape& s, int64_t axis, uint64_t& outer, uint64_t& len, uint64_t& inner) {
    outer = numel(Shape(s.begin(), s.begin() + axis));
    len = uint64_t(s[size_t(axis)]);
    inner = numel(Shape(s.begin() + axis + 1, s.end()));
  }

  void softmax(const Layer& l) {
    const Values& x = in(l, 0);
    uint64_t outer, len, inner;
    around(shape(l, 0), l.attrs.axis, outer, len, inner);
    Values& y = out(l);
    for (uint64_t o = 0; o < outer; ++o)
      for (uint64_t i = 0; i < inner; ++i) {
        auto at = [&](uint64_t k) { return (o * len + k) * inner + i; };
        float m = x[at(0)];
        for (uint64_t k = 1; k < len; ++k) m = x[at(k)] > m ? x[at(k)] : m;
        float sum = 0.0f;
        for (uint64_t k = 0; k < len; ++k) {
          y[at(k)] = std::exp(x[at(k)] - m);
          sum = sum + y[at(k)];
        }
        for (uint64_t k = 0; k < len; ++k) y[at(k)] = y[at(k)] / sum;
      }
  }

  void layernorm(const Layer& l) {
    const Values& x = in(l, 0);
    const Shape& xs = shape(l, 0);
    const Shape norm(xs.begin() + l.attrs.axis, xs.end());
    const uint64_t n = numel(norm), rows = numel(xs) / n;
    const Values& scale = in(l, 1);
    const auto si = broadcast_index(shape(l, 1), norm);
    const Values* bias = present(l, 2) ? &in(l, 2) : nullptr;
    const auto bi = bias ? broadcast_index(shape(l, 2), norm) : std::vector<uint64_t>{};
    Values& y = out(l);
    Values* mean_out = l.outputs.size() > 1 && !l.outputs[1].empty() ? &out(l, 1) : nullptr;
    Values* inv_out = l.outputs.size() > 2 && !l.outputs[2].empty() ? &out(l, 2) : nullptr;
    for (uint64_t r = 0; r < rows; ++r) {
      const float* X = x.data() + r * n;
      float sum = 0.0f;
      for (uint64_t i = 0; i < n; ++i) sum = sum + X[i];
      const float mean = sum / float(n);
      float sq = 0.0f;
      for (uint64_t i = 0; i < n; ++i) {
        const float d = X[i] - mean;
        const float d2 = d * d;
        sq = sq + d2;
      }
      const float var = sq / float(n);
      const float inv = 1.0f / std::sqrt(var + l.attrs.epsilon);
      for (uint64_t i = 0; i < n; ++i) {
        const float d = X[i] - mean;
        const float normed = d * inv;
        const float scaled = normed * scale[si[i]];
        y[r * n + i] = bias ? scaled + (*bias)[bi[i]] : scaled;
      }
      if (mean_out) (*mean_out)[r] = mean;
      if (inv_out) (*inv_out)[r] = inv;
    }
  }

  void batchnorm(const Layer& l) {
    const Values& x = in(l, 0);
    const Values& scale = in(l, 1);
    const Values& b = in(l, 2);
    const Values& mean = in(l, 3);
    const Values& var = in(l, 4);
    const Shape& xs = shape(l, 0);
    const uint64_t N = uint64_t(xs[0]), C = uint64_t(xs[1]), S = numel(xs) / (N * C);
    Values& y = out(l);
    for (uint64_t n = 0; n < N; ++n)
      for (uint64_t c = 0; c < C; ++c) {
        const float den = std::sqrt(var[c] + l.attrs.epsilon);
        for (uint64_t i = 0; i < S; ++i) {
          const uint64_t at = (n * C + c) * S + i;
          const float normed = (x[at] - mean[c]) / den;
          const float scaled = normed * scale[c];
          y[at] = scaled + b[c];
        }
      }
  }

  void transpose(const Layer& l) {
    const Values& x = in(l, 0);
    const Shape& xs = shape(l, 0);
    const auto in_st = strides_of(xs);
    const auto& perm = l.attrs.perm;
    Values& y = out(l);
    std::vector<int64_t> pos(l.out_shape.size(), 0);
    for (uint64_t o = 0; o < y.size(); ++o) {
      uint64_t i = 0;
      for (size_t d = 0; d < pos.size(); ++d) i += uint64_t(pos[d]) * in_st[size_t(perm[d])];
      y[o] = x[i];
      for (size_t d = pos.size(); d-- > 0;) {
        if (++pos[d] < l.out_shape[d]) break;
        pos[d] = 0;
      }
    }
  }

  void llm_op(const Layer& l) {  // llm_ops.cpp
    std::vector<const Values*> ins;
    std::vector<Shape> shapes;
    for (size_t i = 0; i < l.inputs.size(); ++i) {
      ins.push_back(&in(l, i));
      shapes.push_back(shape(l, i));
    }
    reference_llm_op(l, ins, shapes, out(l));
  }

  void concat(const Layer& l) {
    uint64_t outer, len, inner;
    around(l.out_shape, l.attrs.axis, outer, len, inner);
    Values& y = out(l);
    uint64_t offset = 0;
    for (size_t t = 0; t < l.inputs.size(); ++t) {
      const Values& x = in(l, t);
      const uint64_t tl = uint64_t(shape(l, t)[size_t(l.attrs.axis)]);
      for (uint64_t o = 0; o < outer; ++o)
        for (uint64_t k = 0; k < tl; ++k)
          for (uint64_t i = 0; i < inner; ++i) y[(o * len + offset + k) * inner + i] = x[(o * tl + k) * inner + i];
      offset += tl;
    }
  }

  const Workload& w_;
  const TensorValues& feeds_;
  TensorValues v_;
};

}  // namespace

TensorValues execute(const Workload& w, const TensorValues& feeds) {
  check_values_fit(w);
  for (const auto& name : w.inputs)
    if (!feeds.count(name)) throw std::invalid_argument("no value fed for graph input '" + name + "'");
  return Executor(w, feeds).run();
}

}  // namespace xpu::workload
