// Vector layers of the network lowering whose operands do not fit the
// unified buffer streamed by rows (network.h, "Blocking and streaming"):
// global average pooling (row bands of the input into the per-channel fp32
// sums), softmax / layernorm along the last axis (rows are independent),
// transposes (bands of the input's outermost axis) and concatenation (each operand's rows
// into its slices of the output, through host memory). Every element sees
// the resident lowering's instructions in the same order, so bits match.
#include <algorithm>
#include <cstring>

#include "sim/lowering/tpu/network_builder.h"

namespace xpu::lowering::detail {

using workload::Layer;
using workload::OpKind;
using workload::Shape;

namespace {

uint32_t u32(uint64_t v) { return static_cast<uint32_t>(v); }

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

}  // namespace

bool NetBuilder::lower_rows_streamed(const std::vector<const Layer*>& group) {
  if (group.size() != 1) return false;
  const Layer& l = *group[0];
  const uint64_t cap = ub_capacity(), e = eb();
  const std::string& out_name = l.output();
  uint64_t all = align_up(tensor_bytes(out_name), 64);
  for (const auto& in : l.inputs)
    if (!in.empty() && !wl().tensor(in).is_constant()) all += align_up(tensor_bytes(in), 64);
  const float out_scale = int8() ? 1.0f / scale_of(out_name) : 1.0f;


  switch (l.op) {
    case OpKind::global_avg_pool: {
      // The input streams in bands of pixels; the sums (fp32 scratch) and the
      // output stay: per image, pixel by pixel, the resident lowering's adds.
      if (!is_nhwc(l.inputs[0])) return false;
      const auto& xs = wl().tensor(l.inputs[0]).shape;
      const uint64_t N = xs[0], C = xs[1], HW = uint64_t(xs[2] * xs[3]);
      const uint64_t s_bytes = align_up(N * C * 4, 64);
      if (all + s_bytes <= cap) return false;
      const TensorPlace X = use_on_host(l.inputs[0]);
      const TensorPlace Y = produce(out_name, true);
      const uint64_t S = scratch(N * C * 4, "the pooling scratch of '" + l.name + "'");
      uint64_t nbuf = 2;
      const uint64_t r = stream_block_units(l, C * e, HW, nbuf);
      std::vector<uint64_t> bufs;
      for (uint64_t i = 0; i < nbuf; ++i) bufs.push_back(scratch(r * C * e, "a pixel band of '" + l.name + "'"));
      tpu::Instruction f = vec(tpu::VectorOp::fill, u32(N), u32(C));
      f.out_dtype = DType::fp32;
      f.dst_addr = S;
      f.dst_stride = C * 4;
      emit(f);
      const uint64_t per_image = ceil_div(HW, r), B = N * per_image;
      auto rows_of = [&](uint64_t b) { return std::min(r, HW - b % per_image * r); };
      auto emit_in = [&](uint64_t b) {
        stream_in(X.ub + (b / per_image * HW + b % per_image * r) * C * e, bufs[b % nbuf], rows_of(b) * C * e);
      };
      pipeline_blocks(B, nbuf, emit_in, [&](uint64_t b) {
        const uint64_t n = b / per_image;
        for (uint64_t p = 0; p < rows_of(b); ++p) {
          tpu::Instruction t = vec(tpu::VectorOp::add, 1, u32(C));
          t.dtype = DType::fp32;
          t.out_dtype = DType::fp32;
          t.ub_addr = S + n * C * 4;
          t.ub_stride = C * 4;
          t.dst_addr = t.ub_addr;
          t.dst_stride = C * 4;
          t.dtype2 = dt();
          t.in_scale2 = X.scale;
          t.ub_addr2 = bufs[b % nbuf] + p * C * e;
          t.ub_stride2 = 0;
          emit(t);
        }
      });
      tpu::Instruction c = vec(tpu::VectorOp::copy, u32(N), u32(C));
      c.dtype = DType::fp32;
      c.ub_addr = S;
      c.ub_stride = C * 4;
      c.dst_addr = Y.ub;
      c.dst_stride = C * e;
      c.scale = out_scale / float(HW);
      emit(c);
      note_streamed(B, r, nbuf, "pixels");
      return true;
    }
    case OpKind::softmax:
    case OpKind::layernorm: {
      // Along the last axes of a row-major tensor (the resident lowering's
      // one instruction over all rows): blocks of rows, input and output
      // streamed. Layernorm's Mean / InvStdDev outputs: the resident path.
      bool moments = false;
      for (size_t k = 1; k < l.outputs.size(); ++k) moments = moments || !l.outputs[k].empty();
      if (is_nhwc(l.inputs[0]) || moments) return false;
      const Shape& xs = wl().tensor(l.inputs[0]).shape;
      const int64_t axis = workload::normalize_axis(l.attrs.axis, int64_t(xs.size()));
      if (l.op == OpKind::softmax && axis != int64_t(xs.size()) - 1) return false;
      const uint64_t n = workload::numel(Shape(xs.begin() + axis, xs.end())), R = workload::numel(xs) / n;
      const bool ln = l.op == OpKind::layernorm;
      if (all + (ln ? align_up(2 * n * 4, 64) : 0) <= cap) return false;
      uint64_t ln_rows = 0;
      if (ln) {
        // The scale and bias rows, as the resident lowering stages them.
        const Shape norm(xs.begin() + axis, xs.end());
        auto row_of = [&](size_t k, float dflt) {
          std::vector<float> v(n, dflt);
          if (l.inputs.size() <= k || l.inputs[k].empty()) return v;
          const auto* vals = values(l.inputs[k]);
          const Shape& vs = wl().tensor(l.inputs[k]).shape;
          if (!vals) return v;
          // Broadcast (numpy, trailing dims) to the normalized shape.
          for (uint64_t i = 0; i < n; ++i) {
            uint64_t rem = i, src = 0, stride = 1;
            std::vector<uint64_t> idx(norm.size());
            for (size_t d = norm.size(); d-- > 0;) {
              idx[d] = rem % uint64_t(norm[d]);
              rem /= uint64_t(norm[d]);
            }
            for (size_t d = vs.size(); d-- > 0;) {
              const size_t nd = norm.size() - vs.size() + d;
              if (vs[d] != 1) src += idx[nd] * stride;
              stride *= uint64_t(vs[d]);
            }
            v[i] = (*vals)[src];
          }
          return v;
        };
        std::vector<float> sc = row_of(1, 1.0f), bi = row_of(2, 0.0f);
        sc.insert(sc.end(), bi.begin(), bi.end());
        ln_rows = constant(f32_bytes(sc), "layernorm rows of '" + l.name + "'");
      }
      const TensorPlace X = use_on_host(l.inputs[0]);
      const TensorPlace Y = produce_on_host(out_name, false);
      const uint64_t row = n * e;
      uint64_t nbuf = 2;
      const uint64_t r = stream_block_units(l, 2 * row, R, nbuf);
      std::vector<uint64_t> bufs;
      for (uint64_t i = 0; i < nbuf; ++i) bufs.push_back(scratch(2 * r * row, "a row block of '" + l.name + "'"));
      const uint64_t B = ceil_div(R, r);
      auto rows_of = [&](uint64_t b) { return std::min(r, R - b * r); };
      auto emit_in = [&](uint64_t b) { stream_in(X.ub + b * r * row, bufs[b % nbuf], rows_of(b) * row); };
      pipeline_blocks(B, nbuf, emit_in, [&](uint64_t b) {
        const uint64_t buf = bufs[b % nbuf];
        tpu::Instruction in = vec(ln ? tpu::VectorOp::layernorm : tpu::VectorOp::softmax, u32(rows_of(b)), u32(n));
        in.ub_addr = buf;
        in.ub_stride = row;
        in.in_scale = X.scale;
        in.dst_addr = buf + r * row;
        in.dst_stride = row;
        in.scale = out_scale;
        if (ln) {
          in.p0 = l.attrs.epsilon;
          in.bias = true;
          in.dtype2 = DType::fp32;
          in.ub_addr2 = ln_rows;
          in.ub_stride2 = n * 4;
        }
        emit(in);
        stream_out(Y.ub + b * r * row, buf + r * row, rows_of(b) * row);
      });
      note_streamed(B, r, nbuf, "rows");
      return true;
    }
    case OpKind::transpose: {
      // Blocks of the input's outermost axis a of more than one index (a band
      // of X: contiguous, with X's own strides), copied by the resident
      // lowering's strided copies into a dense block of Y (Y with a's
      // output axis q cut to the band), written to host memory as its runs
      // (one per index of Y's axes before q).
      if (is_nhwc(l.inputs[0]) || all <= cap) return false;
      const Shape& full_x = wl().tensor(l.inputs[0]).shape;
      std::vector<int64_t> full_perm = l.attrs.perm;
      if (full_perm.empty())
        for (size_t i = 0; i < full_x.size(); ++i) full_perm.push_back(int64_t(full_x.size() - 1 - i));
      if (full_x.size() < 2) return false;
      // Leading axes the permutation keeps in place (a batch) make
      // independent transposes of each index; split off where one index of
      // the outermost axis does not fit as a band (a batch of prompts).
      size_t lead = 0, a0 = 0;
      while (a0 < full_x.size() && full_x[a0] == 1) ++a0;
      if (a0 == full_x.size()) return false;
      size_t kept = 0;
      while (kept < full_x.size() && full_perm[kept] == int64_t(kept)) ++kept;
      const bool x_host = align_up(tensor_bytes(l.inputs[0]), 64) > cap / 2;
      const uint64_t a0_unit = workload::numel(Shape(full_x.begin() + long(a0) + 1, full_x.end())) * e;
      if (kept > a0 && kept < full_x.size() && (x_host ? 2 : 1) * a0_unit > ub_extent_after_spills()) lead = kept;
      const Shape xs(full_x.begin() + long(lead), full_x.end());
      const Shape os(l.out_shape.begin() + long(lead), l.out_shape.end());
      std::vector<int64_t> perm;
      for (size_t i = lead; i < full_perm.size(); ++i) perm.push_back(full_perm[i] - int64_t(lead));
      const uint64_t K = workload::numel(Shape(full_x.begin(), full_x.begin() + long(lead)));
      const uint64_t sub = workload::numel(xs) * e;  // bytes of one independent transpose
      const size_t rk = xs.size();
      size_t a = 0;
      while (a < rk && xs[a] == 1) ++a;
      if (a == rk) return false;
      size_t q = 0;
      while (size_t(perm[q]) != a) ++q;
      std::vector<uint64_t> ist(rk, 1);
      for (size_t i = rk; i-- > 1;) ist[i - 1] = ist[i] * uint64_t(xs[i]);
      const uint64_t A = uint64_t(xs[a]), x_unit = ist[a] * e;  // bytes per index of a
      const uint64_t prefix = workload::numel(Shape(os.begin(), os.begin() + long(q)));
      const uint64_t inner_y = workload::numel(Shape(os.begin() + long(q) + 1, os.end()));
      const TensorPlace X = x_host ? use_on_host(l.inputs[0]) : use(l.inputs[0]);
      const TensorPlace Y = produce_on_host(out_name, false);
      uint64_t nbuf = 2;
      const uint64_t r = stream_block_units(l, (x_host ? 2 : 1) * x_unit, A, nbuf);
      std::vector<uint64_t> bufs;
      for (uint64_t i = 0; i < nbuf; ++i)
        bufs.push_back(scratch((x_host ? 2 : 1) * r * x_unit, "a band of '" + l.name + "'"));
      const uint64_t Bk = ceil_div(A, r), B = K * Bk;  // blocks: bands of each independent transpose
      auto len_of = [&](uint64_t b) { return std::min(r, A - b % Bk * r); };
      auto x_at = [&](uint64_t b) { return X.ub + b / Bk * sub + b % Bk * r * x_unit; };
      auto emit_in = [&](uint64_t b) {
        if (x_host) stream_in(x_at(b), bufs[b % nbuf], len_of(b) * x_unit);
      };
      pipeline_blocks(B, nbuf, emit_in, [&](uint64_t b) {
        const uint64_t len = len_of(b), buf = bufs[b % nbuf];
        const uint64_t src = x_host ? buf : x_at(b), dst = x_host ? buf + r * x_unit : buf;
        // The block of Y: os with os[q] = len, dense; one copy per index of
        // its axes before the last two.
        Shape bs = os;
        bs[q] = int64_t(len);
        const uint64_t rows = uint64_t(bs[rk - 2]), n = uint64_t(bs[rk - 1]);
        const uint64_t outer = workload::numel(Shape(bs.begin(), bs.end() - 2));
        for (uint64_t o = 0; o < outer; ++o) {
          uint64_t rem = o, from = 0;
          for (size_t d = rk - 2; d-- > 0;) {
            from += rem % uint64_t(bs[d]) * ist[size_t(perm[d])];
            rem /= uint64_t(bs[d]);
          }
          tpu::Instruction c = vec(tpu::VectorOp::copy, u32(rows), u32(n));
          c.ub_addr = src + from * e;
          c.ub_stride = ist[size_t(perm[rk - 2])] * e;
          c.elem_stride = u32(ist[size_t(perm[rk - 1])]);
          c.in_scale = X.scale;
          c.scale = out_scale;
          c.dst_addr = dst + o * rows * n * e;
          c.dst_stride = n * e;
          emit(c);
        }
        for (uint64_t p = 0; p < prefix; ++p)
          stream_out(Y.ub + b / Bk * sub + (p * uint64_t(os[q]) + b % Bk * r) * inner_y * e,
                     dst + p * len * inner_y * e, len * inner_y * e);
      });
      note_streamed(B, r, nbuf, "input rows");
      return true;
    }
    case OpKind::concat: {
      // Each operand's rows (its slice of every outer index of the output)
      // pass through a UB buffer -- read from host or copied from the UB,
      // requantized to the output's scale in place -- and are written to
      // their slices of the output in host memory.
      if (all <= cap) return false;
      const bool nhwc = l.out_shape.size() == 4 && is_nhwc(l.inputs[0]);
      for (const auto& in : l.inputs)
        if ((l.out_shape.size() == 4 && is_nhwc(in)) != nhwc) return false;
      std::vector<TensorPlace> xs;
      uint64_t res = 0;
      for (const auto& in : l.inputs) {
        const uint64_t b = align_up(tensor_bytes(in), 64);
        const bool keep = resident(in) && res + b <= cap / 2;
        if (keep) res += b;
        xs.push_back(keep ? use(in) : use_on_host(in));
      }
      std::vector<bool> on_host;
      for (const auto& in : l.inputs) on_host.push_back(!resident(in));
      const TensorPlace Y = produce_on_host(out_name, nhwc);
      const int64_t rk = int64_t(l.out_shape.size());
      int64_t ax = workload::normalize_axis(l.attrs.axis, rk);
      Shape yp = l.out_shape;
      if (nhwc) {
        ax = ax == 0 ? 0 : ax == 1 ? 3 : ax - 1;
        yp = {yp[0], yp[2], yp[3], yp[1]};
      }
      const uint64_t outer = workload::numel(Shape(yp.begin(), yp.begin() + ax));
      const uint64_t inner_y = workload::numel(Shape(yp.begin() + ax, yp.end()));
      uint64_t nbuf = 2;
      // A block: whole slices of several outer indices, or part of one.
      uint64_t max_inner = 0;
      for (const auto& x : xs) max_inner = std::max<uint64_t>(max_inner, workload::numel(x.shape) / outer);
      const uint64_t units = stream_block_units(l, e, outer * max_inner, nbuf);
      std::vector<uint64_t> bufs;
      for (uint64_t i = 0; i < nbuf; ++i) bufs.push_back(scratch(units * e, "a row block of '" + l.name + "'"));
      struct Block {
        size_t x;
        uint64_t o0, rows, c0, cols;
      };
      std::vector<Block> blocks;
      uint64_t off = 0;
      std::vector<uint64_t> offs;
      for (size_t k = 0; k < xs.size(); ++k) {
        const uint64_t inner = workload::numel(xs[k].shape) / outer;
        offs.push_back(off);
        off += inner;
        if (inner == 0) continue;
        if (inner <= units) {
          const uint64_t rr = units / inner;
          for (uint64_t o0 = 0; o0 < outer; o0 += rr) blocks.push_back({k, o0, std::min(rr, outer - o0), 0, inner});
        } else {
          for (uint64_t o = 0; o < outer; ++o)
            for (uint64_t c0 = 0; c0 < inner; c0 += units) blocks.push_back({k, o, 1, c0, std::min(units, inner - c0)});
        }
      }
      const size_t B = blocks.size();
      auto inner_of = [&](size_t k) { return workload::numel(xs[k].shape) / outer; };
      auto emit_in = [&](size_t bi) {
        const Block& b = blocks[bi];
        if (!on_host[b.x]) return;
        // Whole slices are contiguous in the operand; part of one is too.
        stream_in(xs[b.x].ub + (b.o0 * inner_of(b.x) + b.c0) * e, bufs[bi % nbuf], b.rows * b.cols * e);
      };
      if (nbuf == 2 && B > 0) emit_in(0);
      for (size_t bi = 0; bi < B; ++bi) {
        if (nbuf == 1) emit_in(bi);
        else if (bi + 1 < B) emit_in(bi + 1);
        const Block& b = blocks[bi];
        const uint64_t buf = bufs[bi % nbuf], inner = inner_of(b.x);
        tpu::Instruction c = vec(tpu::VectorOp::copy, u32(b.rows), u32(b.cols));
        c.ub_addr = on_host[b.x] ? buf : xs[b.x].ub + (b.o0 * inner + b.c0) * e;
        c.ub_stride = b.cols * e;
        c.in_scale = xs[b.x].scale;
        c.scale = out_scale;
        c.dst_addr = buf;
        c.dst_stride = b.cols * e;
        emit(c);
        for (uint64_t i = 0; i < b.rows; ++i)
          stream_out(Y.ub + ((b.o0 + i) * inner_y + offs[b.x] + b.c0) * e, buf + i * b.cols * e, b.cols * e);
      }
      note_streamed(B, units, nbuf, "elements");
      return true;
    }
    XPU_ACTIVATION_CASES  // the others: not row blocks of this kind
    case OpKind::add:
    case OpKind::mul:
    case OpKind::batchnorm:
    case OpKind::max_pool:
    case OpKind::avg_pool:
    case OpKind::reshape:
    case OpKind::flatten:
    case OpKind::gemm:
    case OpKind::matmul:
    case OpKind::conv2d:
    case OpKind::rmsnorm:  // the decoder-LLM ops stream in their own emitter (network_llm.cpp)
    case OpKind::rope:
    case OpKind::gather:
    case OpKind::argmax: return false;
  }
  return false;
}

}  // namespace xpu::lowering::detail
