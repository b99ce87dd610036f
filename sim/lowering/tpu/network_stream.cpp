// Blocked / streamed layers of the network lowering (network.h, "Blocking
// and streaming"), conv2d aside (network_conv.cpp): gemm / matmul rows,
// elementwise rows and pooling bands streamed through double-buffered UB
// blocks (block planning: network_blocks.cpp) from / to tensors that live in
// host memory (network_placement.cpp).
#include <cstdio>
#include <limits>

#include "sim/lowering/tpu/network_builder.h"
#include "sim/lowering/tpu/window_geometry.h"

namespace xpu::lowering::detail {

void NetBuilder::lower_dense_streamed(const std::vector<const workload::Layer*>& group) {
  const workload::Layer& l = *group[0];
  float p0 = 0, p1 = 0;
  const tpu::ActFn fn = group.size() > 1 ? act_of(*group.back(), p0, p1) : tpu::ActFn::none;
  const uint64_t e = eb(), M = l.m, N = l.n, K = l.k;
  const std::string& out_name = group.back()->output();
  const bool is_gemm = l.op == workload::OpKind::gemm;

  // Bias: a scalar or a row (a full C would have to stream too: not supported).
  std::vector<float> bias;
  if (l.has_bias) {
    const std::string& cn = l.inputs[2];
    const uint64_t cn_el = workload::numel(wl().tensor(cn).shape);
    if (!wl().tensor(cn).is_constant() || !(cn_el == 1 || cn_el == N))
      fail(l, "its operands do not fit the unified buffer and a bias other than a constant scalar or row cannot be "
              "streamed with its rows");
    std::vector<float> cv(cn_el, 0.0f);
    if (const auto* v = values(cn)) cv = *v;
    const float beta = is_gemm ? l.attrs.beta : 1.0f;
    bias.resize(N);
    for (uint64_t j = 0; j < N; ++j) bias[j] = beta * cv[cn_el == 1 ? 0 : j];
  }
  const float alpha = is_gemm ? l.attrs.alpha : 1.0f;
  std::vector<float> bmat(with_values() ? K * N : 0, 0.0f);
  if (const auto* v = values(l.inputs[1])) {
    const bool tb = is_gemm && l.attrs.trans_b;
    for (uint64_t i = 0; i < K; ++i)
      for (uint64_t j = 0; j < N; ++j) bmat[i * N + j] = (tb ? (*v)[j * K + i] : (*v)[i * N + j]) * alpha;
  }

  // Residency as for convs (network_conv.cpp): the output streams first, then A, then both.
  auto per_buffer = [&](uint64_t r, bool a_host, bool y_host) {
    return (a_host ? align_up(r * K * e, 64) : 0) + (y_host ? align_up(r * N * e, 64) : 0);
  };
  const uint64_t cap = ub_capacity(), bias_bytes = bias.empty() ? 0 : align_up(N * 4, 64);
  const uint64_t a_bytes = align_up(tensor_bytes(l.inputs[0]), 64), y_bytes = align_up(tensor_bytes(out_name), 64);
  auto need = [&](bool ah, bool yh) {
    return (ah ? 0 : a_bytes) + (yh ? 0 : y_bytes) + bias_bytes + per_buffer(1, ah, yh);
  };
  bool a_host = true, y_host = true;
  if (!pick_residency(1, need, a_host, y_host))
    fail(l, "one row needs " + std::to_string(need(true, true)) + " bytes of the unified buffer (" + std::to_string(cap) +
                " bytes) with A and the output streamed from / to host memory: its operands cannot be tiled to fit");
  const TensorPlace A = a_host ? use_on_host(l.inputs[0]) : use(l.inputs[0]);
  if (A.nhwc && A.shape[2] * A.shape[3] != 1) fail(l, "its input is an NHWC image; flatten it first");
  const TensorPlace Y = y_host ? produce_on_host(out_name, false) : produce(out_name, false);

  GemmJob job;
  job.m = M;
  job.n = N;
  job.k = K;
  job.a_stride = K * e;
  job.b = with_values() ? &bmat : nullptr;
  job.bias = bias.empty() ? nullptr : &bias;
  job.c_stride = N * e;
  job.fn = fn;
  job.p0 = p0;
  job.p1 = p1;
  job.x_scale = A.scale;
  job.y_scale = Y.scale;
  prepare_gemm(l, job);
  if (job.bias) job.bias_ub = constant(job.bias_bytes, "bias of '" + l.name + "'");

  // Row blocks: the most A rows (at most one accumulator chunk, as for
  // convs) of which two buffers fit the largest free extent (else one);
  // other tensors are spilled if not even one row fits.
  uint64_t nbuf = 2;
  const uint64_t r = fit_block_units_spilling(
      l, std::min(M, acc_chunk_rows()), [&](uint64_t rows) { return per_buffer(rows, a_host, y_host); }, nbuf,
      "one row block");
  const uint64_t B = ceil_div(M, r);
  nbuf = std::min(nbuf, B);
  std::vector<uint64_t> a_buf(nbuf), y_buf(nbuf);
  for (uint64_t i = 0; i < nbuf; ++i) {
    const uint64_t base = scratch(per_buffer(r, a_host, y_host), "a row block of '" + l.name + "'");
    a_buf[i] = base;
    y_buf[i] = base + (a_host ? align_up(r * K * e, 64) : 0);
  }
  auto rows_of = [&](uint64_t b) { return std::min(r, M - b * r); };
  auto emit_in = [&](uint64_t b) {
    if (!a_host) return;
    stream_in(A.ub + b * r * K * e, a_buf[b % nbuf], rows_of(b) * K * e);
  };
  auto emit_passes = [&](uint64_t b) {
    const uint64_t m0 = b * r;
    GemmCheck chk = job.check;
    chk.a_host = a_host;
    chk.a_ub = A.ub + m0 * K * e;
    chk.c_host = y_host;
    chk.c_ub = Y.ub + m0 * N * e;
    emit_gemm_rows(l, job, rows_of(b), a_host ? a_buf[b % nbuf] : A.ub + m0 * K * e,
                   y_host ? y_buf[b % nbuf] : Y.ub + m0 * N * e, chk);
  };
  auto emit_out = [&](uint64_t b) {
    if (!y_host) return;
    stream_out(Y.ub + b * r * N * e, y_buf[b % nbuf], rows_of(b) * N * e);
  };
  pipeline_blocks(B, nbuf, emit_in, [&](uint64_t b) {
    emit_passes(b);
    emit_out(b);
  });
  note_streamed(B, r, nbuf, "rows");
}

bool NetBuilder::lower_vector_streamed(const std::vector<const workload::Layer*>& group) {
  using workload::OpKind;
  const workload::Layer& l = *group[0];
  if (group.size() == 1 && lower_pool_streamed(l)) return true;
  float q0 = 0, q1 = 0;
  const tpu::ActFn own_fn = act_of(l, q0, q1);
  const bool unary = own_fn != tpu::ActFn::none;
  const bool binary = l.op == OpKind::add || l.op == OpKind::mul;
  if (!unary && !binary) return false;
  const std::string& out_name = group.back()->output();
  const workload::Shape& out_shape = l.out_shape;
  // Operands: same-shape activations, or a constant scalar (others: the resident path).
  std::vector<std::string> acts;
  bool has_scalar = false;
  float scalar = 0.0f;
  for (const auto& in : l.inputs) {
    if (in.empty()) continue;
    const workload::Tensor& t = wl().tensor(in);
    if (t.is_constant()) {
      if (!binary || workload::numel(t.shape) != 1 || has_scalar) return false;
      has_scalar = true;
      if (const auto* v = values(in)) scalar = (*v)[0];
    } else {
      if (t.shape != out_shape) return false;
      acts.push_back(in);
    }
  }
  if (acts.empty() || (binary && acts.size() + has_scalar != 2)) return false;
  const uint64_t cap = ub_capacity(), scalar_bytes = has_scalar ? 64 : 0;
  uint64_t all = align_up(tensor_bytes(out_name), 64) + scalar_bytes;
  for (const auto& a : acts) all += align_up(tensor_bytes(a), 64);
  if (all <= cap) return false;  // fits with others spilled: resident
  const bool nhwc = out_shape.size() == 4 && is_nhwc(acts[0]);
  for (const auto& a : acts)
    if ((out_shape.size() == 4 && is_nhwc(a)) != nhwc) return false;

  // Rows of the flat tensor (layout does not matter elementwise): as wide as
  // the vector unit where that divides it.
  const uint64_t e = eb(), lanes = cfg_.activation.elements_per_cycle, total = workload::numel(out_shape);
  const uint64_t n = total % lanes == 0 ? lanes : (nhwc ? uint64_t(out_shape[1]) : uint64_t(out_shape.back()));
  const uint64_t R = total / n, row = n * e;
  // Residency: resident operands stay; the output stays if it fits with them
  // and one buffer row; else it streams; else everything streams.
  std::vector<bool> in_host(acts.size());
  uint64_t res = 0;
  for (size_t i = 0; i < acts.size(); ++i) {
    in_host[i] = !resident(acts[i]);
    if (!in_host[i]) res += align_up(tensor_bytes(acts[i]), 64);
  }
  auto per_buffer = [&](uint64_t r, bool y_host) {
    uint64_t b = y_host ? align_up(r * row, 64) : 0;
    for (bool h : in_host) b += h ? align_up(r * row, 64) : 0;
    return b;
  };
  bool y_host = false;
  if (res + align_up(tensor_bytes(out_name), 64) + scalar_bytes + per_buffer(1, false) > cap) {
    y_host = true;
    if (res + scalar_bytes + per_buffer(1, true) > cap) std::fill(in_host.begin(), in_host.end(), true);
    if (scalar_bytes + per_buffer(1, true) > cap)
      fail(l, "one row of its operands needs " + std::to_string(per_buffer(1, true)) +
                  " bytes of the unified buffer with everything streamed: its operands cannot be tiled to fit");
  }
  std::vector<TensorPlace> X;
  for (size_t i = 0; i < acts.size(); ++i) X.push_back(in_host[i] ? use_on_host(acts[i]) : use(acts[i]));
  const TensorPlace Y = y_host ? produce_on_host(out_name, nhwc) : produce(out_name, nhwc);
  const float out_scale = int8() ? 1.0f / Y.scale : 1.0f;
  const std::vector<float> scalar_v{scalar};
  const uint64_t scalar_ub =
      has_scalar ? constant(std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(scalar_v.data()),
                                                 reinterpret_cast<const uint8_t*>(scalar_v.data()) + 4),
                            "scalar of '" + l.name + "'")
                 : 0;

  uint64_t nbuf = 2;
  const uint64_t r =
      fit_block_units_spilling(l, R, [&](uint64_t rows) { return per_buffer(rows, y_host); }, nbuf, "one row block");
  const uint64_t B = ceil_div(R, r);
  nbuf = std::min(nbuf, B);
  // Per buffer: a section per streamed operand, then the output rows.
  std::vector<std::vector<uint64_t>> in_buf(nbuf, std::vector<uint64_t>(acts.size(), 0));
  std::vector<uint64_t> out_buf(nbuf, 0);
  for (uint64_t i = 0; i < nbuf; ++i) {
    uint64_t at = scratch(per_buffer(r, y_host), "a row block of '" + l.name + "'");
    for (size_t a = 0; a < acts.size(); ++a)
      if (in_host[a]) {
        in_buf[i][a] = at;
        at += align_up(r * row, 64);
      }
    out_buf[i] = at;
  }
  auto rows_of = [&](uint64_t b) { return std::min(r, R - b * r); };
  auto emit_in = [&](uint64_t b) {
    for (size_t a = 0; a < acts.size(); ++a) {
      if (!in_host[a]) continue;
      stream_in(X[a].ub + b * r * row, in_buf[b % nbuf][a], rows_of(b) * row);
    }
  };
  auto src = [&](size_t a, uint64_t b) { return in_host[a] ? in_buf[b % nbuf][a] : X[a].ub + b * r * row; };
  auto emit_op = [&](uint64_t b) {
    const uint32_t rows = static_cast<uint32_t>(rows_of(b));
    tpu::Instruction in;
    if (unary) {
      in = vec(tpu::VectorOp::act, rows, static_cast<uint32_t>(n));
      in.fn = own_fn;
      in.p0 = q0;
      in.p1 = q1;
    } else {
      in = vec(l.op == OpKind::add ? tpu::VectorOp::add : tpu::VectorOp::mul, rows, static_cast<uint32_t>(n));
      float p0 = 0, p1 = 0;
      in.fn = group.size() > 1 ? act_of(*group.back(), p0, p1) : tpu::ActFn::none;
      in.p0 = p0;
      in.p1 = p1;
      if (has_scalar) {
        in.dtype2 = DType::fp32;
        in.ub_addr2 = scalar_ub;
        in.ub_stride2 = 0;
        in.elem_stride2 = 0;
      } else {
        in.dtype2 = dt();
        in.ub_addr2 = src(1, b);
        in.ub_stride2 = row;
        in.in_scale2 = X[1].scale;
      }
    }
    in.ub_addr = src(0, b);
    in.ub_stride = row;
    in.in_scale = X[0].scale;
    in.dst_addr = y_host ? out_buf[b % nbuf] : Y.ub + b * r * row;
    in.dst_stride = row;
    in.scale = out_scale;
    emit(in);
  };
  auto emit_out = [&](uint64_t b) {
    if (!y_host) return;
    stream_out(Y.ub + b * r * row, out_buf[b % nbuf], rows_of(b) * row);
  };
  pipeline_blocks(B, nbuf, emit_in, [&](uint64_t b) {
    emit_op(b);
    emit_out(b);
  });
  note_streamed(B, r, nbuf, "rows");
  return true;
}

bool NetBuilder::lower_pool_streamed(const workload::Layer& l) {
  using workload::OpKind;
  if (l.op != OpKind::max_pool && l.op != OpKind::avg_pool) return false;
  if (!is_nhwc(l.inputs[0])) return false;
  const bool is_max = l.op == OpKind::max_pool;
  const auto& xs = wl().tensor(l.inputs[0]).shape;
  const uint64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], Ho = l.out_shape[2], Wo = l.out_shape[3];
  const auto& win = l.attrs.window;
  const uint64_t e = eb();
  // Running max in the input's type and scale, sums in fp32 (as the resident lowering).
  const DType st = is_max ? dt() : DType::fp32;
  const uint64_t se = dtype_bytes(st);
  const uint64_t x_row = W * C * e, y_row = Wo * C * e, s_row = Wo * C * se;
  const uint64_t cap = ub_capacity();
  const uint64_t x_bytes = align_up(tensor_bytes(l.inputs[0]), 64), y_bytes = align_up(tensor_bytes(l.output()), 64);
  if (x_bytes + y_bytes + align_up(N * Ho * s_row, 64) <= cap) return false;  // fits: the resident path
  const uint64_t sh = uint64_t(win.stride_h), dh = uint64_t(win.dilation_h), kh_n = uint64_t(win.kernel_h);
  auto band_rows = [&](uint64_t r) { return std::min(H, (r - 1) * sh + (kh_n - 1) * dh + 1); };
  auto per_buffer = [&](uint64_t r, bool x_host, bool y_host) {
    return align_up(r * s_row, 64) + (x_host ? align_up(band_rows(r) * x_row, 64) : 0) +
           (y_host ? align_up(r * y_row, 64) : 0);
  };
  // Residency as for convs: both resident (scratch in bands), else the output streams, else the input, else both.
  auto need = [&](bool xh, bool yh) { return (xh ? 0 : x_bytes) + (yh ? 0 : y_bytes) + per_buffer(1, xh, yh); };
  bool x_host = true, y_host = true;
  if (!pick_residency(0, need, x_host, y_host))
    fail(l, "one output row needs " + std::to_string(need(true, true)) + " bytes of the unified buffer (" +
                std::to_string(cap) + " bytes) with its input and output streamed: its operands cannot be tiled to fit");
  const TensorPlace X = x_host ? use_on_host(l.inputs[0]) : use(l.inputs[0]);
  const TensorPlace Y = y_host ? produce_on_host(l.output(), true) : produce(l.output(), true);
  const float s_in = is_max ? X.scale : 1.0f;
  const float out_scale = int8() ? 1.0f / Y.scale : 1.0f;

  uint64_t nbuf = 2;
  const uint64_t r = fit_block_units_spilling(
      l, Ho, [&](uint64_t rows) { return per_buffer(rows, x_host, y_host); }, nbuf, "one band of one output row");
  struct Block {
    uint64_t n, oh0, rows;
  };
  std::vector<Block> blocks;
  for (uint64_t n = 0; n < N; ++n)
    for (uint64_t oh0 = 0; oh0 < Ho; oh0 += r) blocks.push_back({n, oh0, std::min(r, Ho - oh0)});
  const size_t B = blocks.size();
  nbuf = std::min<uint64_t>(nbuf, B);
  struct Buf {
    uint64_t s = 0, band = 0, out = 0;
  };
  std::vector<Buf> bufs(nbuf);
  for (auto& b : bufs) {
    b.s = scratch(per_buffer(r, x_host, y_host), "a row band of '" + l.name + "'");
    b.band = b.s + align_up(r * s_row, 64);
    b.out = b.band + (x_host ? align_up(band_rows(r) * x_row, 64) : 0);
  }
  auto band_of = [&](const Block& b, uint64_t& ih0) -> uint64_t {
    const int64_t lo = int64_t(b.oh0 * sh) - win.pad_top;
    const int64_t hi = int64_t((b.oh0 + b.rows - 1) * sh + (kh_n - 1) * dh) - win.pad_top;
    const int64_t a = std::max<int64_t>(lo, 0), z = std::min<int64_t>(hi, int64_t(H) - 1);
    ih0 = uint64_t(a);
    return z >= a ? uint64_t(z - a + 1) : 0;
  };
  auto emit_in = [&](size_t bi) {
    if (!x_host) return;
    uint64_t ih0 = 0;
    const uint64_t rows = band_of(blocks[bi], ih0);
    if (rows == 0) return;
    stream_in(X.ub + (blocks[bi].n * H + ih0) * x_row, bufs[bi % nbuf].band, rows * x_row);
  };
  auto emit_block = [&](size_t bi) {
    const Block& b = blocks[bi];
    const Buf& buf = bufs[bi % nbuf];
    uint64_t ih0 = 0;
    band_of(b, ih0);
    auto x_px = [&](uint64_t ih, uint64_t iw) {  // UB address of input pixel (b.n, ih, iw)
      return (x_host ? buf.band + (ih - ih0) * x_row : X.ub + (b.n * H + ih) * x_row) + iw * C * e;
    };
    const uint64_t y0 = y_host ? buf.out : Y.ub + (b.n * Ho + b.oh0) * y_row;
    tpu::Instruction f = vec(tpu::VectorOp::fill, uint32_t(b.rows * Wo), uint32_t(C));
    f.out_dtype = st;
    f.scale = is_max && int8() ? 1.0f / s_in : 1.0f;
    f.p0 = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
    f.dst_addr = buf.s;
    f.dst_stride = C * se;
    emit(f);
    const int64_t sw = win.stride_w;
    for (uint64_t oh = b.oh0; oh < b.oh0 + b.rows; ++oh)
      for (int64_t kh = 0; kh < win.kernel_h; ++kh) {
        const int64_t ih = int64_t(oh * sh) - win.pad_top + kh * win.dilation_h;
        if (ih < 0 || ih >= int64_t(H)) continue;
        for (int64_t kw = 0; kw < win.kernel_w; ++kw) {
          const int64_t base = kw * win.dilation_w - win.pad_left;
          const IndexRange in = in_bounds_outputs(base, sw, int64_t(W));
          const int64_t lo = in.lo, hi = std::min<int64_t>(in.hi, int64_t(Wo) - 1);
          if (lo > hi) continue;
          tpu::Instruction t = vec(is_max ? tpu::VectorOp::max : tpu::VectorOp::add, uint32_t(hi - lo + 1), uint32_t(C));
          t.dtype = st;
          t.out_dtype = st;
          t.in_scale = s_in;
          t.scale = is_max && int8() ? 1.0f / s_in : 1.0f;
          t.ub_addr = buf.s + ((oh - b.oh0) * Wo + uint64_t(lo)) * C * se;
          t.ub_stride = C * se;
          t.dst_addr = t.ub_addr;
          t.dst_stride = C * se;
          t.dtype2 = dt();
          t.in_scale2 = X.scale;
          t.ub_addr2 = x_px(uint64_t(ih), uint64_t(lo * sw + base));
          t.ub_stride2 = uint64_t(sw) * C * e;
          emit(t);
        }
      }
    auto finish = [&](uint64_t row, uint64_t rows, float divisor) {  // row: within the block
      tpu::Instruction c = vec(tpu::VectorOp::copy, uint32_t(rows), uint32_t(C));
      c.dtype = st;
      c.in_scale = s_in;
      c.ub_addr = buf.s + row * C * se;
      c.ub_stride = C * se;
      c.dst_addr = y0 + row * C * e;
      c.dst_stride = C * e;
      c.scale = divisor == 1.0f ? out_scale : out_scale / divisor;
      emit(c);
    };
    if (is_max) {
      finish(0, b.rows * Wo, 1.0f);
    } else {
      // Divisor per output position (reference_executor.h), runs of equal divisors.
      for (uint64_t oh = b.oh0; oh < b.oh0 + b.rows; ++oh)
        avg_pool_runs(l.attrs, oh, Wo, H, W, [&](uint64_t ow0, uint64_t n, float divisor) {
          finish((oh - b.oh0) * Wo + ow0, n, divisor);
        });
    }
    if (y_host) stream_out(Y.ub + (b.n * Ho + b.oh0) * y_row, buf.out, b.rows * y_row);
  };
  pipeline_blocks(B, nbuf, emit_in, emit_block);
  note_streamed(B, r, nbuf, "output rows", x_host || y_host ? "streamed" : "banded");
  return true;
}

}  // namespace xpu::lowering::detail
