// Conv layers of the network lowering (network.h): im2col (Toeplitz) built in
// the unified buffer by vector copies, whole or in blocks of output rows, with
// the input and output resident or streamed from / to host memory block by
// block; batchnorm folded, the activation fused into the Activate step.
#include <algorithm>
#include <cmath>

#include "sim/lowering/tpu/network_builder.h"
#include "sim/lowering/tpu/window_geometry.h"

namespace xpu::lowering::detail {

using workload::Layer;
using workload::OpKind;

namespace {

uint32_t u32(uint64_t v) { return static_cast<uint32_t>(v); }

}  // namespace

void NetBuilder::lower_conv(const std::vector<const Layer*>& group) {
  const Layer& l = *group[0];
  const Layer* bn = group.size() > 1 && group[1]->op == OpKind::batchnorm ? group[1] : nullptr;
  const Layer* fnl = group.back()->op != OpKind::conv2d && group.back()->op != OpKind::batchnorm ? group.back() : nullptr;
  if (!is_nhwc(l.inputs[0])) fail(l, "its input is not an image tensor in NHWC layout (produced by a reshape/transpose)");
  const auto& xs = wl().tensor(l.inputs[0]).shape;
  const auto& ws = wl().tensor(l.inputs[1]).shape;
  const uint64_t N = xs[0], Cin = xs[1], H = xs[2], W = xs[3];
  const uint64_t Cout = ws[0], Cg = ws[1], Kh = ws[2], Kw = ws[3], KK = Kh * Kw;
  const uint64_t G = l.attrs.groups, Ng = Cout / G;
  const uint64_t Ho = l.out_shape[2], Wo = l.out_shape[3], M = N * Ho * Wo;
  const auto& win = l.attrs.window;
  const uint64_t e = eb();
  const std::string& out_name = group.back()->output();

  // Folded weights [Cout, Cg, Kh, Kw] and bias [Cout] (no weights without values).
  const bool vals = with_values();
  std::vector<float> wv(vals ? Cout * Cg * KK : 0, 0.0f);
  if (const auto* v = values(l.inputs[1])) wv = *v;
  std::vector<float> bias(Cout, 0.0f);
  bool has_bias = l.inputs.size() > 2 && !l.inputs[2].empty();
  if (has_bias)
    if (const auto* v = values(l.inputs[2])) bias = *v;
  if (bn) {
    const auto* g = values(bn->inputs[1]);
    const auto* b = values(bn->inputs[2]);
    const auto* mu = values(bn->inputs[3]);
    const auto* var = values(bn->inputs[4]);
    for (uint64_t c = 0; c < Cout; ++c) {
      const float f = g && var ? (*g)[c] / std::sqrt((*var)[c] + bn->attrs.epsilon) : 1.0f;
      if (vals)
        for (uint64_t i = 0; i < Cg * KK; ++i) wv[c * Cg * KK + i] *= f;
      bias[c] = (bias[c] - (mu ? (*mu)[c] : 0.0f)) * f + (b ? (*b)[c] : 0.0f);
    }
    has_bias = true;
  }
  float p0 = 0, p1 = 0;
  const tpu::ActFn fn = fnl ? act_of(*fnl, p0, p1) : tpu::ActFn::none;

  // A: the input itself (1x1, stride 1, no padding, one group) or im2col.
  const bool padded = win.pad_top || win.pad_left || win.pad_bottom || win.pad_right;
  const bool direct = KK == 1 && G == 1 && win.stride_h == 1 && win.stride_w == 1 && !padded;
  const uint64_t a_cols = direct ? Cin : Cin * KK;
  const uint64_t sh = uint64_t(win.stride_h), dh = uint64_t(win.dilation_h);

  // Bytes per input row. A block of r output rows reads at most band_rows(r)
  // input rows.
  const uint64_t x_row = W * Cin * e;
  auto band_rows = [&](uint64_t r) { return std::min(H, (r - 1) * sh + (Kh - 1) * dh + 1); };
  // A sub-row block of c output pixels reads at most band_cols(c) input
  // columns of each of its kernel rows.
  const uint64_t swu = uint64_t(win.stride_w), dwu = uint64_t(win.dilation_w);
  auto band_cols = [&](uint64_t c) { return std::min(W, (c - 1) * swu + (Kw - 1) * dwu + 1); };
  // UB bytes of one block buffer of r output rows of c pixels each (c < Wo:
  // one row, r = 1): im2col rows, the input band (streamed input), the
  // output pixels (streamed output).
  auto per_buffer = [&](uint64_t r, uint64_t c, bool x_host, bool y_host) {
    uint64_t b = align_up(r * c * (direct ? 0 : a_cols * e), 64);
    if (x_host) b += align_up(c == Wo ? band_rows(r) * x_row : band_rows(1) * band_cols(c) * Cin * e, 64);
    if (y_host) b += align_up(r * c * Cout * e, 64);
    return b;
  };

  // Residency: the input and output stay in the UB where they fit together
  // with one block buffer of one output row (everything else spilled);
  // otherwise the output, then the input, then both stream; if one output
  // row fits in none of these, the same order with a block of one output
  // pixel (rules: network.h).
  const uint64_t cap = ub_capacity(), bias_ub_bytes = has_bias ? align_up(Cout * 4, 64) : 0;
  const uint64_t x_bytes = align_up(tensor_bytes(l.inputs[0]), 64), y_bytes = align_up(tensor_bytes(out_name), 64);
  uint64_t unit_cols = Wo;  // a buffer of one output row, else of one output pixel
  auto need = [&](bool xh, bool yh) {
    return (xh ? 0 : x_bytes) + (yh ? 0 : y_bytes) + bias_ub_bytes + per_buffer(1, unit_cols, xh, yh);
  };
  bool x_host = true, y_host = true;
  bool placed = pick_residency(0, need, x_host, y_host);
  if (!placed) {
    unit_cols = 1;
    placed = pick_residency(0, need, x_host, y_host);
  }
  if (!placed)
    fail(l, "one output pixel needs " + std::to_string(need(true, true)) + " bytes of the unified buffer (" +
                std::to_string(cap) + " bytes): im2col " + std::to_string(a_cols * e) + ", input band " +
                std::to_string(band_rows(1) * band_cols(1) * Cin * e) + ", output " + std::to_string(Cout * e) +
                " bytes, with its input and output streamed from / to host memory: its operands cannot be "
                "tiled to fit");
  // The rule counts bytes; a resident X or Y also needs one free extent
  // (with the unpinned tensors spilled) to land in, else it streams too.
  if (!x_host && !resident(l.inputs[0]) && ub_extent_after_spills() < x_bytes) x_host = true;
  TensorPlace X = x_host ? use_on_host(l.inputs[0]) : use(l.inputs[0]);
  if (!y_host && ub_extent_after_spills() < y_bytes) y_host = true;
  TensorPlace Y = y_host ? produce_on_host(out_name, true) : produce(out_name, true);

  // One GEMM per group: A_g = columns [g*Cg*KK, (g+1)*Cg*KK), B_g[(c*Kh+kh)*Kw+kw][j] = W'[g*Ng+j][c][kh][kw];
  // the groups' bias rows side by side in one constant.
  const uint64_t k = Cg * KK;
  std::vector<GemmJob> jobs(G);
  std::vector<float> bg, biasg;
  std::vector<uint8_t> bias_row;
  for (uint64_t g = 0; g < G; ++g) {
    if (vals) {
      bg.assign(k * Ng, 0.0f);
      for (uint64_t j = 0; j < Ng; ++j)
        for (uint64_t i = 0; i < k; ++i) bg[i * Ng + j] = wv[(g * Ng + j) * k + i];
    }
    biasg.assign(bias.begin() + long(g * Ng), bias.begin() + long((g + 1) * Ng));
    GemmJob& job = jobs[g];
    job.m = M;
    job.n = Ng;
    job.k = k;
    job.a_stride = a_cols * e;
    job.b = vals ? &bg : nullptr;
    job.bias = has_bias ? &biasg : nullptr;
    job.c_stride = Cout * e;
    job.fn = fn;
    job.p0 = p0;
    job.p1 = p1;
    job.x_scale = X.scale;
    job.y_scale = Y.scale;
    prepare_gemm(l, job);
    job.b = nullptr;
    job.bias = nullptr;
    bias_row.insert(bias_row.end(), job.bias_bytes.begin(), job.bias_bytes.end());
  }
  if (has_bias) {
    const uint64_t bias_ub = constant(std::move(bias_row), "bias of '" + l.name + "'");
    for (uint64_t g = 0; g < G; ++g) {
      jobs[g].bias = &bias;  // non-null: the passes add the bias row at bias_ub
      jobs[g].bias_ub = bias_ub + g * Ng * 4;
    }
  }

  // Toeplitz rows of output pixels [ow0, ow0 + wc) of output rows [oh0, oh0
  // + r) into dst (row 0 = (n, oh0, ow0)): a copy per (oh, kh, kw) of the
  // in-range ow run; the padding positions are zero-filled (only those: the
  // copies cover the rest). src(ih, iw): UB address of input pixel (ih, iw)
  // of the block's image.
  auto im2col_copies = [&](uint64_t oh0, uint64_t r, uint64_t ow0, uint64_t wc, uint64_t dst, auto src) {
    std::vector<tpu::Instruction> code;
    auto fill = [&](uint64_t row0, uint64_t rows, uint64_t col) {
      if (rows == 0) return;
      tpu::Instruction f = vec(tpu::VectorOp::fill, u32(rows), u32(Cin));
      f.dst_addr = dst + row0 * a_cols * e + col * e;
      f.dst_stride = a_cols * e;
      f.dst_elem_stride = u32(KK);
      code.push_back(f);
    };
    for (uint64_t oh = oh0; oh < oh0 + r; ++oh)
      for (uint64_t kh = 0; kh < Kh; ++kh) {
        const int64_t ih = int64_t(oh * sh + kh * dh) - win.pad_top;
        const uint64_t row0 = (oh - oh0) * wc;
        for (uint64_t kw = 0; kw < Kw; ++kw) {
          if (ih < 0 || ih >= int64_t(H)) {
            fill(row0, wc, kh * Kw + kw);
            continue;
          }
          // ow with 0 <= ow*sw - pl + kw*dw < W
          const int64_t base = int64_t(kw * win.dilation_w) - win.pad_left, sw = win.stride_w;
          const IndexRange in = in_bounds_outputs(base, sw, int64_t(W));
          const int64_t lo = std::max<int64_t>(in.lo, int64_t(ow0)), hi = std::min<int64_t>(in.hi, int64_t(ow0 + wc) - 1);
          if (lo > hi) {
            fill(row0, wc, kh * Kw + kw);
            continue;
          }
          const uint64_t l0 = uint64_t(lo) - ow0, h0 = uint64_t(hi) - ow0;
          fill(row0, l0, kh * Kw + kw);
          fill(row0 + h0 + 1, wc - h0 - 1, kh * Kw + kw);
          const uint64_t iw = uint64_t(lo * sw + base);
          tpu::Instruction c = vec(tpu::VectorOp::copy, u32(hi - lo + 1), u32(Cin));
          c.ub_addr = src(uint64_t(ih), iw);
          c.ub_stride = uint64_t(sw) * Cin * e;
          c.dst_addr = dst + (row0 + l0) * a_cols * e + (kh * Kw + kw) * e;
          c.dst_stride = a_cols * e;
          c.dst_elem_stride = u32(KK);
          code.push_back(c);
        }
      }
    return code;
  };

  // Accumulator half of the next pass, carried from GEMM to GEMM (groups,
  // blocks) so that one's Activate overlaps the next one's passes.
  uint64_t half = 0;
  if (!x_host && !y_host && (direct || M * a_cols * e <= ub_free_extent())) {
    // Core split (network.h): rows in whole output rows (a grouped conv's
    // groups all by rows); a row share builds only its rows of the Toeplitz matrix.
    const CoreShare share = splitting() ? core_share(opts_.core, M, Ng, G == 1, Wo) : CoreShare{};
    const bool by_rows = share.dim == CoreShare::Dim::rows;
    const uint64_t r0 = by_rows ? share.lo / Wo : 0, r1 = by_rows ? share.hi / Wo : N * Ho;
    // One pass: the whole Toeplitz matrix (or the input itself) as A.
    uint64_t a_ub = X.ub;
    if (!direct) {
      a_ub = scratch(M * a_cols * e, "the im2col matrix of '" + l.name + "'");
      plan().im2col_bytes += (r1 - r0) * Wo * a_cols * e;
      for (uint64_t n = 0; n < N; ++n) {
        const uint64_t oh0 = std::clamp(r0, n * Ho, (n + 1) * Ho) - n * Ho;
        const uint64_t oh1 = std::clamp(r1, n * Ho, (n + 1) * Ho) - n * Ho;
        if (oh1 <= oh0) continue;
        for (const auto& in : im2col_copies(oh0, oh1 - oh0, 0, Wo, a_ub + (n * Ho + oh0) * Wo * a_cols * e,
                                            [&](uint64_t ih, uint64_t iw) {
                                              return X.ub + (n * H + ih) * x_row + iw * Cin * e;
                                            }))
          emit(in);
      }
    }
    for (uint64_t g = 0; g < G; ++g) {
      GemmJob& job = jobs[g];
      job.check.a_ub = a_ub + g * k * e;
      job.check.c_ub = Y.ub + g * Ng * e;
      job.acc_half = half;
      emit_gemm_share(l, job, share, M, a_ub + g * k * e, Y.ub + g * Ng * e, job.check);
      half = job.acc_half;
    }
    if (share.dim != CoreShare::Dim::none) exchange_shares(Y, M, Cout * e, Cout, G == 1, Wo);
    plan().shape = l.shape();
    return;
  }

  // Row blocks: r whole output rows of one image, the most of which two
  // buffers (double-buffered) fit the largest free extent of the UB, else
  // one; if not even one row fits, other tensors are spilled; with nothing
  // left to spill, sub-row blocks of c output pixels of one row (c < Wo),
  // the most that fit two buffers, else one. At most the rows (pixels) of
  // one accumulator chunk (at least one row): the passes reload the weights
  // per chunk anyway, and small blocks shorten the pipeline's fill (block
  // 0's copies) and drain.
  const uint64_t r_max = std::min(Ho, std::max<uint64_t>(1, acc_chunk_rows() / Wo));
  const uint64_t c_max = std::min(Wo - 1, std::max<uint64_t>(1, acc_chunk_rows()));
  uint64_t r = 0, cols = Wo, nbuf = 2;
  for (;;) {
    r = fit_block_units(r_max, [&](uint64_t rows) { return per_buffer(rows, Wo, x_host, y_host); }, nbuf);
    if (r > 0) break;
    if (try_spill_one()) continue;
    r = 1;
    cols = fit_block_units(c_max, [&](uint64_t c) { return per_buffer(1, c, x_host, y_host); }, nbuf);
    if (cols > 0) break;
    // Where the resident output or input leave no extent for one pixel's
    // buffer (fragmentation), they stream after all: Y first (not written
    // yet), then X.
    cols = Wo;
    if (!y_host) {
      Y = output_to_host(out_name);
      y_host = true;
      continue;
    }
    if (!x_host) {
      X = use_on_host(l.inputs[0]);
      x_host = true;
      continue;
    }
    fail(l, "one block of one output pixel needs " + std::to_string(per_buffer(1, 1, x_host, y_host)) +
                " bytes of the unified buffer (" + std::to_string(ub_free_extent()) +
                " bytes free in one piece) with every other tensor spilled: its operands cannot be tiled to fit");
  }
  const bool sub = cols < Wo, stream = x_host || y_host;
  // Output pixels [ow0, ow0 + cols) of output rows [oh0, oh0 + rows) of image
  // n (whole rows: ow0 = 0, cols = Wo).
  struct Block {
    uint64_t n, oh0, rows, ow0, cols;
  };
  std::vector<Block> blocks;
  for (uint64_t n = 0; n < N; ++n)
    for (uint64_t oh0 = 0; oh0 < Ho; oh0 += r)
      for (uint64_t ow0 = 0; ow0 < Wo; ow0 += cols)
        blocks.push_back({n, oh0, std::min(r, Ho - oh0), ow0, std::min(cols, Wo - ow0)});
  const size_t B = blocks.size();
  nbuf = std::min<uint64_t>(nbuf, B);
  // A sub-row block's band: band_rows(1) input rows of band_cols(cols)
  // pixels each, `band_stride` apart.
  const uint64_t band_stride = sub ? band_cols(cols) * Cin * e : x_row;
  struct Buf {
    uint64_t a2c = 0, band = 0, out = 0;
  };
  std::vector<Buf> bufs(nbuf);
  for (auto& b : bufs) {
    const uint64_t base = scratch(per_buffer(r, cols, x_host, y_host), "a row block of '" + l.name + "'");
    b.a2c = base;
    b.band = base + align_up(r * cols * (direct ? 0 : a_cols * e), 64);
    b.out = b.band + (x_host ? align_up(sub ? band_rows(1) * band_stride : band_rows(r) * x_row, 64) : 0);
  }

  // First input row of block b's band and its row count (0: all padding);
  // iw0 / iws: its first input column and column count (whole rows: 0, W).
  auto band_of = [&](const Block& b, uint64_t& ih0, uint64_t& iw0, uint64_t& iws) -> uint64_t {
    const int64_t lo = int64_t(b.oh0 * sh) - win.pad_top;
    const int64_t hi = int64_t((b.oh0 + b.rows - 1) * sh + (Kh - 1) * dh) - win.pad_top;
    const int64_t a = std::max<int64_t>(lo, 0), z = std::min<int64_t>(hi, int64_t(H) - 1);
    ih0 = uint64_t(std::max<int64_t>(a, 0));
    iw0 = 0;
    iws = W;
    if (sub) {
      const int64_t cl = std::max<int64_t>(int64_t(b.ow0 * swu) - win.pad_left, 0);
      const int64_t ch = std::min<int64_t>(int64_t((b.ow0 + b.cols - 1) * swu + (Kw - 1) * dwu) - win.pad_left,
                                           int64_t(W) - 1);
      iw0 = uint64_t(cl);
      iws = ch >= cl ? uint64_t(ch - cl + 1) : 0;
      if (iws == 0) return 0;
    }
    return z >= a ? uint64_t(z - a + 1) : 0;
  };
  auto emit_in = [&](size_t bi) {
    if (!x_host) return;
    const Block& b = blocks[bi];
    uint64_t ih0 = 0, iw0 = 0, iws = 0;
    const uint64_t rows = band_of(b, ih0, iw0, iws);
    if (rows == 0) return;
    // Whole rows: one read; sub-row: the column range of each band row.
    const uint64_t reads = sub ? rows : 1, bytes = sub ? iws * Cin * e : rows * x_row;
    for (uint64_t i = 0; i < reads; ++i) {
      stream_in(X.ub + ((b.n * H + ih0 + i) * W + iw0) * Cin * e, bufs[bi % nbuf].band + i * band_stride, bytes);
    }
  };
  auto copies = [&](size_t bi) -> std::vector<tpu::Instruction> {
    if (direct) return {};
    const Block& b = blocks[bi];
    uint64_t ih0 = 0, iw0 = 0, iws = 0;
    band_of(b, ih0, iw0, iws);
    const Buf& buf = bufs[bi % nbuf];
    plan().im2col_bytes += b.rows * b.cols * a_cols * e;
    return im2col_copies(b.oh0, b.rows, b.ow0, b.cols, buf.a2c, [&](uint64_t ih, uint64_t iw) {
      return x_host ? buf.band + (ih - ih0) * band_stride + (iw - iw0) * Cin * e
                    : X.ub + ((b.n * H + ih) * W + iw) * Cin * e;
    });
  };
  auto emit_passes = [&](size_t bi) {
    const Block& b = blocks[bi];
    const Buf& buf = bufs[bi % nbuf];
    const uint64_t m0 = (b.n * Ho + b.oh0) * Wo + b.ow0, rows = b.rows * b.cols;
    const uint64_t a = direct ? (x_host ? buf.band : X.ub + m0 * Cin * e) : buf.a2c;
    const uint64_t c = y_host ? buf.out : Y.ub + m0 * Cout * e;
    for (uint64_t g = 0; g < G; ++g) {
      GemmCheck chk = jobs[g].check;
      // Where the check finds A and C after the layer ran (the buffers are reused).
      if (direct) {
        chk.a_host = x_host;
        chk.a_ub = X.ub + m0 * Cin * e;
      } else {
        auto& s = chk.im2col;
        s.on = true;
        s.host = x_host;
        s.addr = X.ub;
        s.h = H, s.w = W, s.c = Cin, s.ho = Ho, s.wo = Wo, s.kh = Kh, s.kw = Kw;
        s.sh = sh, s.sw = swu, s.dh = dh, s.dw = dwu;
        s.pad_top = win.pad_top, s.pad_left = win.pad_left;
        s.c0 = g * Cg;
        s.m0 = m0;
      }
      chk.c_host = y_host;
      chk.c_ub = Y.ub + m0 * Cout * e + g * Ng * e;
      jobs[g].acc_half = half;
      emit_gemm_rows(l, jobs[g], rows, a + g * k * e, c + g * Ng * e, chk);
      half = jobs[g].acc_half;
    }
  };
  auto emit_out = [&](size_t bi) {
    if (!y_host) return;
    const Block& b = blocks[bi];
    stream_out(Y.ub + ((b.n * Ho + b.oh0) * Wo + b.ow0) * Cout * e, bufs[bi % nbuf].out, b.rows * b.cols * Cout * e);
  };

  if (nbuf == 1) {
    // One buffer: each block's DMA, copies, passes and write-back in turn.
    for (size_t bi = 0; bi < B; ++bi) {
      emit_in(bi);
      for (const auto& in : copies(bi)) emit(in);
      emit_passes(bi);
      emit_out(bi);
    }
  } else {
    // Double-buffered: the input band of block b + 2 (im2col reads band b in
    // block b - 1's passes) or b + 1 (direct: block b's passes read band b)
    // is read while block b computes; block b + 1's copies run on the vector
    // unit between block b's passes; block b's output drains while b + 1
    // computes. The scoreboard orders each buffer's reuse (network.h).
    const size_t ahead = direct ? 1 : 2;
    for (size_t bi = 0; bi < std::min(ahead, B); ++bi) emit_in(bi);
    for (const auto& in : copies(0)) emit(in);
    for (size_t bi = 0; bi < B; ++bi) {
      if (bi + ahead < B) emit_in(bi + ahead);
      pin_code();
      const size_t from = step_->program.code.size();
      emit_passes(bi);
      if (bi + 1 < B) interleave(from, copies(bi + 1));
      unpin_code();
      emit_out(bi);
    }
  }

  plan().blocks = B;
  plan().block_rows = r;
  plan().block_cols = sub ? cols : 0;
  plan().spill_bytes += plan().stream_in_bytes + plan().stream_out_bytes;
  std::string what = std::to_string(B) + " blocks of " +
                     (sub ? std::to_string(cols) + " output pixels" : std::to_string(r) + " output rows") +
                     (nbuf == 2 ? " (double-buffered)" : "");
  if (stream)
    what = "streamed: " + what + (x_host ? ", in " + size_text(plan().stream_in_bytes) : "") +
           (y_host ? ", out " + size_text(plan().stream_out_bytes) : "");
  else
    what = "im2col in " + what;
  note_io(what);
  plan().shape = l.shape();
}

}  // namespace xpu::lowering::detail
