// The decoder-LLM ops of the TPU network lowering (network_vector.h), on the
// vector unit and the DMA engine:
//   rmsnorm  the rmsnorm vop per row (the scale row an fp32 constant);
//   rope     the rope vop, one row per position holding its H head
//            vectors, B the position's cos/sin row of an fp32 table
//            [S, d] (cos then sin of the d/2 frequencies); an instruction
//            covers the positions of one sequence (rows wrap per batch);
//   argmax   the argmax vop per row along the last axis, written as fp32
//            (network_placement.cpp: an argmax output is an fp32 tensor,
//            so a vocabulary index is exact);
//   gather   of a constant table (the embedding): the table stays in host
//            memory (HBM on machines whose host path is DRAM) and only the
//            gathered rows are read, one read_host_memory per run of
//            consecutive indices -- never the whole table; of an
//            activation (the last position): vector copies of the rows, or
//            DMA reads of them when the activation lives in host memory.
// rmsnorm and rope are independent per row: an input or output that does
// not fit the unified buffer stays in host memory and the op runs on blocks
// of rows streamed through it, double-buffered, the same instruction per row
// as resident, so the bits are the same. A gather whose output does not fit
// reads its rows into a block buffer and writes each block out.
// An add / mul of an activation and an operand of its trailing dims (the
// causal mask over the scores of every batch and head; learned positions
// added to a batch of embeddings) whose operands do not fit streams the
// same way, each row with its operand's row (the resident lowering's
// arithmetic per element: the same bits).
// A concat marked in place (a KV-cache append, llm_graph.h) whose first
// operand is a graph input read by nothing else: that input is staged
// straight into the output's host buffer, each outer block at the output's
// pitch, and the concat writes only the new positions (one DMA per outer
// block); the cache is never copied.
// The token indices are the workload's constants (llm_graph.h): the rows'
// addresses are fixed at lowering, in timing runs too.
#include <algorithm>
#include <cmath>

#include "sim/lowering/tpu/network_vector.h"

namespace xpu::lowering::detail::vector_layer {

using workload::Layer;
using workload::OpKind;
using workload::Shape;

namespace {

// A row-wise op over R rows: X and Y in the unified buffer where each fits
// (X first), else in host memory, streamed in blocks of rows (double-
// buffered where two buffers fit). emit(first row, rows, X rows' UB
// address, Y rows' UB address, X, Y) emits one block's instructions; rows
// are in_row / out_row bytes.
template <class Emit>
void row_op(NetBuilder& b, const Layer& l, uint64_t R, uint64_t in_row, uint64_t out_row, Emit&& emit) {
  const std::string& xn = l.inputs[0];
  const std::string& yn = l.output();
  if (b.is_nhwc(xn)) b.fail(l, "needs a row-major tensor, not an NHWC image");
  const bool xh = align_up(R * in_row, kUbAlign) > b.ub_extent_after_spills();
  const TensorPlace X = xh ? b.use_on_host(xn) : b.use(xn);
  const bool yh = align_up(R * out_row, kUbAlign) > b.ub_extent_after_spills();
  const TensorPlace Y = yh ? b.produce_on_host(yn, false) : b.produce(yn, false);
  if (!xh && !yh) {
    emit(0, R, X.ub, Y.ub, X, Y);
    return;
  }
  uint64_t nbuf = 2;
  const uint64_t unit = (xh ? in_row : 0) + (yh ? out_row : 0);
  const uint64_t r = b.stream_block_units(l, unit, R, nbuf);
  std::vector<uint64_t> bufs;
  for (uint64_t i = 0; i < nbuf; ++i) bufs.push_back(b.scratch(r * unit, "a row block of '" + l.name + "'"));
  const uint64_t B = ceil_div(R, r), out_at = xh ? r * in_row : 0;
  auto rows_of = [&](uint64_t k) { return std::min(r, R - k * r); };
  NetBuilder::pipeline_blocks(
      B, nbuf,
      [&](uint64_t k) {
        if (xh) b.stream_in(X.ub + k * r * in_row, bufs[k % nbuf], rows_of(k) * in_row);
      },
      [&](uint64_t k) {
        const uint64_t buf = bufs[k % nbuf];
        const uint64_t x = xh ? buf : X.ub + k * r * in_row, y = yh ? buf + out_at : Y.ub + k * r * out_row;
        emit(k * r, rows_of(k), x, y, X, Y);
        if (yh) b.stream_out(Y.ub + k * r * out_row, y, rows_of(k) * out_row);
      });
  b.note_streamed(B, r, nbuf, "rows");
}

void lower_rmsnorm(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  const Shape& xs = b.wl().tensor(l.inputs[0]).shape;
  const uint64_t n = workload::numel(Shape(xs.begin() + l.attrs.axis, xs.end())), R = workload::numel(xs) / n;
  std::vector<float> sc(n, 0.0f);
  if (const auto* v = b.values(l.inputs[1])) sc = *v;
  const uint64_t scale_row = b.constant(f32_bytes(sc), "rmsnorm scale of '" + l.name + "'");
  row_op(b, l, R, n * g.e, n * g.e,
         [&](uint64_t, uint64_t rows, uint64_t x, uint64_t y, const TensorPlace& X, const TensorPlace&) {
           tpu::Instruction in = b.vec(tpu::VectorOp::rmsnorm, u32(rows), u32(n));
           in.ub_addr = x;
           in.ub_stride = n * g.e;
           in.in_scale = X.scale;
           in.dtype2 = DType::fp32;
           in.ub_addr2 = scale_row;
           in.p0 = l.attrs.epsilon;
           in.dst_addr = y;
           in.dst_stride = n * g.e;
           in.scale = g.out_scale;
           b.emit(in);
         });
}

void lower_rope(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  const Shape& xs = b.wl().tensor(l.inputs[0]).shape;
  const uint64_t d = uint64_t(xs.back()), h = d / 2, H = uint64_t(xs[xs.size() - 2]),
                 S = uint64_t(xs[xs.size() - 3]);
  const uint64_t n = H * d, R = workload::numel(xs) / n;  // rows: positions of every sequence
  std::vector<float> table(S * d, 0.0f);
  const auto* cs = b.values(l.inputs[1]);
  const auto* sn = b.values(l.inputs[2]);
  for (uint64_t s = 0; s < S; ++s)
    for (uint64_t j = 0; j < h; ++j) {
      table[s * d + j] = cs ? (*cs)[s * h + j] : 0.0f;
      table[s * d + h + j] = sn ? (*sn)[s * h + j] : 0.0f;
    }
  const uint64_t tab = b.constant(f32_bytes(table), "rope cos/sin rows of '" + l.name + "'");
  const uint64_t row = n * g.e;
  row_op(b, l, R, row, row,
         [&](uint64_t first, uint64_t rows, uint64_t x, uint64_t y, const TensorPlace& X, const TensorPlace&) {
           // One instruction per run of positions of one sequence (the table rows wrap).
           for (uint64_t r = 0; r < rows;) {
             const uint64_t pos = (first + r) % S, cnt = std::min(rows - r, S - pos);
             tpu::Instruction in = b.vec(tpu::VectorOp::rope, u32(cnt), u32(n));
             in.k = u32(d);
             in.ub_addr = x + r * row;
             in.ub_stride = row;
             in.in_scale = X.scale;
             in.dtype2 = DType::fp32;
             in.ub_addr2 = tab + pos * d * 4;
             in.ub_stride2 = d * 4;
             in.dst_addr = y + r * row;
             in.dst_stride = row;
             in.scale = g.out_scale;
             b.emit(in);
             r += cnt;
           }
         });
}

void lower_argmax(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  const Shape& xs = b.wl().tensor(l.inputs[0]).shape;
  if (size_t(l.attrs.axis) + 1 != xs.size()) b.fail(l, "argmax only along the last axis");
  const uint64_t n = uint64_t(xs.back()), R = workload::numel(xs) / n;
  const TensorPlace X = b.use(l.inputs[0]);
  if (X.nhwc) b.fail(l, "needs a row-major tensor, not an NHWC image");
  const TensorPlace Y = b.produce(l.output(), false);
  tpu::Instruction in = b.vec(tpu::VectorOp::argmax, u32(R), u32(n));
  in.ub_addr = X.ub;
  in.ub_stride = n * g.e;
  in.in_scale = X.scale;
  in.out_dtype = Y.dtype;
  in.dst_addr = Y.ub;
  in.dst_stride = dtype_bytes(Y.dtype);
  b.emit(in);
}

// The gathered rows: for outer index o and index k, source row o * len + at(k).
struct GatherRows {
  uint64_t outer = 0, len = 0, inner = 0;
  std::vector<uint64_t> at;  // per index, in [0, len)
};

GatherRows gather_rows(NetBuilder& b, const Layer& l) {
  const workload::Tensor& idx = b.wl().tensor(l.inputs[1]);
  // The workload's own values (not NetworkOptions): a timing run has them too.
  if (!idx.values) b.fail(l, "gather indices must be constants with values");
  const Shape& xs = b.wl().tensor(l.inputs[0]).shape;
  const size_t axis = size_t(l.attrs.axis);
  GatherRows g;
  g.outer = workload::numel(Shape(xs.begin(), xs.begin() + long(axis)));
  g.len = uint64_t(xs[axis]);
  g.inner = workload::numel(Shape(xs.begin() + long(axis) + 1, xs.end()));
  for (const float f : *idx.values) {
    if (!(f == std::floor(f)) || f < -float(g.len) || f >= float(g.len))
      b.fail(l, "index " + std::to_string(f) + " out of [-" + std::to_string(g.len) + ", " + std::to_string(g.len) + ")");
    g.at.push_back(uint64_t(f < 0 ? int64_t(f) + int64_t(g.len) : int64_t(f)));
  }
  return g;
}

// Output rows [first, first + rows) (row = o * K + k) read from host memory
// at src (the source tensor's base) into dst, one DMA per run of rows whose
// sources are consecutive.
void dma_rows(NetBuilder& b, const GatherRows& g, uint64_t src, uint64_t first, uint64_t rows, uint64_t dst,
              uint64_t row_bytes) {
  const uint64_t K = g.at.size();
  auto source = [&](uint64_t row) { return (row / K * g.len + g.at[row % K]) * row_bytes; };
  for (uint64_t r = first; r < first + rows;) {
    uint64_t e = r + 1;
    while (e < first + rows && source(e) == source(e - 1) + row_bytes) ++e;
    b.emit(host_dma(tpu::Opcode::read_host_memory, src + source(r), dst + (r - first) * row_bytes, (e - r) * row_bytes));
    r = e;
  }
}

void lower_gather(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  const GatherRows G = gather_rows(b, l);
  const uint64_t K = G.at.size(), R = G.outer * K, row = G.inner * g.e;
  const workload::Tensor& data = b.wl().tensor(l.inputs[0]);
  if (!data.is_constant() && b.is_nhwc(l.inputs[0])) b.fail(l, "gather of an NHWC image is not supported");
  uint64_t src = 0;
  float src_scale = 1.0f;
  if (data.is_constant()) {
    // The table in host memory, in the output's type and scale (the rows are copied as they are).
    HostConstant hc;
    hc.host_addr = b.host_alloc(workload::numel(data.shape) * g.e);
    if (const auto* v = b.values(l.inputs[0])) hc.bytes = to_dtype(*v, b.dt(), b.scale_of(l.output()));
    src = hc.host_addr;
    b.step().host_constants.push_back(std::move(hc));
    src_scale = b.scale_of(l.output());
  } else if (b.resident(l.inputs[0])) {
    // Vector copies inside the unified buffer: per index, its row of every outer index.
    const TensorPlace X = b.use(l.inputs[0]);
    const TensorPlace Y = b.produce(l.output(), false);
    for (uint64_t k = 0; k < K; ++k) {
      tpu::Instruction in = b.vec(tpu::VectorOp::copy, u32(G.outer), u32(G.inner));
      in.ub_addr = X.ub + G.at[k] * row;
      in.ub_stride = G.len * row;
      in.in_scale = X.scale;
      in.dst_addr = Y.ub + k * row;
      in.dst_stride = K * row;
      in.scale = g.out_scale;
      b.emit(in);
    }
    return;
  } else {
    const TensorPlace X = b.use_on_host(l.inputs[0]);
    src = X.ub;
    src_scale = X.scale;
  }
  // Rows by DMA; int8 rows of an activation are requantized to the output's scale in place.
  auto requantize = [&](uint64_t at, uint64_t rows) {
    if (!b.int8() || src_scale == b.scale_of(l.output())) return;
    tpu::Instruction in = b.vec(tpu::VectorOp::copy, u32(rows), u32(G.inner));
    in.ub_addr = in.dst_addr = at;
    in.ub_stride = in.dst_stride = row;
    in.in_scale = src_scale;
    in.scale = g.out_scale;
    b.emit(in);
  };
  if (align_up(R * row, kUbAlign) <= b.ub_extent_after_spills()) {
    const TensorPlace Y = b.produce(l.output(), false);
    dma_rows(b, G, src, 0, R, Y.ub, row);
    requantize(Y.ub, R);
    return;
  }
  const TensorPlace Y = b.produce_on_host(l.output(), false);
  uint64_t nbuf = 2;
  const uint64_t r = b.stream_block_units(l, row, R, nbuf);
  std::vector<uint64_t> bufs;
  for (uint64_t i = 0; i < nbuf; ++i) bufs.push_back(b.scratch(r * row, "a row block of '" + l.name + "'"));
  const uint64_t B = ceil_div(R, r);
  for (uint64_t k = 0; k < B; ++k) {
    const uint64_t rows = std::min(r, R - k * r), buf = bufs[k % nbuf];
    dma_rows(b, G, src, k * r, rows, buf, row);
    b.plan().stream_in_bytes += rows * row;
    requantize(buf, rows);
    b.stream_out(Y.ub + k * r * row, buf, rows * row);
  }
  b.note_streamed(B, r, nbuf, "rows");
}

}  // namespace

bool lower_masked_streamed(NetBuilder& b, const VectorGroup& g) {
  const Layer& l = g.l;
  if ((l.op != OpKind::add && l.op != OpKind::mul) || l.inputs.size() != 2) return false;
  const Shape& out = l.out_shape;
  const auto& t0 = b.wl().tensor(l.inputs[0]);
  // X: the operand of the output's shape (an activation); C: the other.
  const bool first = t0.shape == out && !t0.is_constant();
  const std::string& xn = first ? l.inputs[0] : l.inputs[1];
  const std::string& cn = first ? l.inputs[1] : l.inputs[0];
  const auto& xt = b.wl().tensor(xn);
  const auto& ct = b.wl().tensor(cn);
  if (xt.is_constant() || xt.shape != out || out.empty() || b.is_nhwc(xn) || (!ct.is_constant() && b.is_nhwc(cn)))
    return false;
  // C must be the output's trailing dims (leading 1s dropped), a whole number of its rows.
  const Shape& cs = ct.shape;
  size_t lead = 0;
  while (lead < cs.size() && cs[lead] == 1) ++lead;
  const Shape tail(cs.begin() + long(lead), cs.end());
  if (tail.empty() || tail.size() > out.size() || !std::equal(tail.begin(), tail.end(), out.end() - long(tail.size())))
    return false;
  const uint64_t n = uint64_t(out.back()), R = workload::numel(out) / n, P = workload::numel(tail) / n;
  const uint64_t row = n * g.e;
  if (!ct.is_constant() && P == R && cs == out) return false;  // same shape: network_stream.cpp
  // What the resident lowering (network_vector.cpp) stages besides X and Y:
  // a constant of one row as that row, any other expanded to the output's
  // shape in fp32; an activation as it is.
  const uint64_t c_bytes = ct.is_constant() ? (P == 1 ? n : R * n) * 4 : P * row;
  const uint64_t need = 2 * align_up(R * row, kUbAlign) + align_up(c_bytes, kUbAlign);
  if (need <= b.ub_extent_after_spills()) return false;  // fits: the resident broadcast
  // C: an activation with a row per output row streams with X; a repeating
  // C (a constant staged in fp32, or an activation) stays resident where it
  // leaves room for a block of X and Y rows, else its rows stream from host
  // memory with X's too (re-read once per repetition: the causal mask of a
  // 2048-token prompt, 16 MiB in fp32, or the learned positions added to a
  // batch of prompts).
  const uint64_t c_row = ct.is_constant() ? n * 4 : row;
  const uint64_t c_whole = align_up(P * c_row, kUbAlign);
  const bool c_streams = P > 1 && (P == R || c_whole + 2 * align_up(row, kUbAlign) > b.ub_extent_after_spills());
  uint64_t C = 0;
  DType c_type = DType::fp32;
  float c_scale = 1.0f;
  TensorPlace CP;
  if (ct.is_constant()) {
    std::vector<float> cv(b.with_values() || !c_streams ? P * n : 0, 0.0f);  // resident: sizes its staging
    if (const auto* v = b.values(cn)) cv = *v;
    C = c_streams ? b.host_constant(P * c_row, f32_bytes(cv)) : b.constant(f32_bytes(cv), "operand of '" + l.name + "'");
  } else {
    CP = c_streams ? b.use_on_host(cn) : b.use(cn);
    C = CP.ub;
    c_type = CP.dtype;
    c_scale = CP.scale;
  }
  // Rows in blocks through host memory; C's row of output row i is i % P.
  const TensorPlace X = b.use_on_host(xn);
  const TensorPlace Y = b.produce_on_host(g.out_name, false);
  uint64_t nbuf = 2;
  const uint64_t unit = 2 * row + (c_streams ? c_row : 0);
  const uint64_t r = b.stream_block_units(l, unit, R, nbuf);
  std::vector<uint64_t> bufs;
  for (uint64_t i = 0; i < nbuf; ++i) bufs.push_back(b.scratch(r * unit, "a row block of '" + l.name + "'"));
  const uint64_t B = ceil_div(R, r);
  auto rows_of = [&](uint64_t k) { return std::min(r, R - k * r); };
  NetBuilder::pipeline_blocks(
      B, nbuf,
      [&](uint64_t k) {
        const uint64_t buf = bufs[k % nbuf], rows = rows_of(k);
        b.stream_in(X.ub + k * r * row, buf, rows * row);
        if (!c_streams) return;
        // C's rows of the block, one read per run between wraps.
        for (uint64_t i = 0; i < rows;) {
          const uint64_t p = (k * r + i) % P, cnt = std::min(rows - i, P - p);
          b.stream_in(C + p * c_row, buf + 2 * r * row + i * c_row, cnt * c_row);
          i += cnt;
        }
      },
      [&](uint64_t k) {
        const uint64_t buf = bufs[k % nbuf], rows = rows_of(k);
        for (uint64_t i = 0; i < rows;) {
          const uint64_t p = c_streams ? 0 : (k * r + i) % P, cnt = c_streams ? rows : std::min(rows - i, P - p);
          tpu::Instruction in = b.vec(l.op == OpKind::add ? tpu::VectorOp::add : tpu::VectorOp::mul, u32(cnt), u32(n));
          in.fn = g.fused;
          in.p0 = g.p0;
          in.p1 = g.p1;
          in.ub_addr = buf + i * row;
          in.ub_stride = row;
          in.in_scale = X.scale;
          in.dtype2 = c_type;
          in.in_scale2 = c_scale;
          in.ub_addr2 = c_streams ? buf + 2 * r * row : C + p * c_row;
          in.ub_stride2 = P == 1 ? 0 : c_row;
          in.dst_addr = buf + r * row + i * row;
          in.dst_stride = row;
          in.scale = g.out_scale;
          b.emit(in);
          i += cnt;
        }
        b.stream_out(Y.ub + k * r * row, buf + r * row, rows * row);
      });
  b.note_streamed(B, r, nbuf, "rows");
  return true;
}

void lower_llm(NetBuilder& b, const VectorGroup& g) {
  switch (g.l.op) {
    case OpKind::rmsnorm: return lower_rmsnorm(b, g);
    case OpKind::rope: return lower_rope(b, g);
    case OpKind::argmax: return lower_argmax(b, g);
    case OpKind::gather: return lower_gather(b, g);
    default: b.fail(g.l, "not a decoder-LLM op");
  }
}

}  // namespace xpu::lowering::detail::vector_layer

namespace xpu::lowering::detail {

using workload::Layer;
using workload::OpKind;

namespace {

// The concat marked in place that reads `input` as its first operand, when
// that is the input's only reader.
const Layer* in_place_reader(const workload::Workload& w, const std::string& input) {
  const Layer* found = nullptr;
  for (const auto& l : w.layers)
    for (size_t i = 0; i < l.inputs.size(); ++i) {
      if (l.inputs[i] != input) continue;
      if (found || i != 0 || l.op != OpKind::concat || !l.attrs.in_place || l.inputs.size() != 2) return nullptr;
      found = &l;
    }
  return found;
}

// An append along `axis`: per outer index, `past` rows of the cache then
// `added` new ones, each `inner` elements.
struct Append {
  uint64_t outer = 0, past = 0, added = 0, inner = 0;
};
Append append_of(const workload::Workload& w, const Layer& l) {
  const workload::Shape& ps = w.tensor(l.inputs[0]).shape;
  const workload::Shape& ns = w.tensor(l.inputs[1]).shape;
  const size_t axis = size_t(workload::normalize_axis(l.attrs.axis, int64_t(ps.size())));
  Append a;
  a.outer = workload::numel(workload::Shape(ps.begin(), ps.begin() + long(axis)));
  a.inner = workload::numel(workload::Shape(ps.begin() + long(axis) + 1, ps.end()));
  a.past = uint64_t(ps[axis]);
  a.added = uint64_t(ns[axis]);
  return a;
}

}  // namespace

bool NetBuilder::stage_in_place_input(const std::string& input) {
  if (int8()) return false;  // the past would have to carry the output's scale
  const Layer* l = in_place_reader(w_, input);
  if (!l || graph_outputs_.count(input) || is_nhwc(input) || is_nhwc(l->inputs[1]) || is_nhwc(l->output()) ||
      alias_.count(l->output()))
    return false;
  const Append a = append_of(w_, *l);
  const uint64_t host = host_alloc(tensor_bytes(l->output()));
  in_place_host_[l->output()] = host;
  HostInput hi;
  hi.host_addr = host;
  hi.place = new_place(input, false);
  hi.place.ub = host;
  hi.block_bytes = a.past * a.inner * eb();
  hi.block_pitch = (a.past + a.added) * a.inner * eb();
  step_->host_inputs.push_back(hi);
  return true;
}

bool NetBuilder::lower_concat_in_place(const Layer& l) {
  auto it = in_place_host_.find(l.output());
  if (l.op != OpKind::concat || it == in_place_host_.end()) return false;
  const Append a = append_of(w_, l);
  const uint64_t e = eb(), host = it->second, block = a.added * a.inner * e;
  const TensorPlace N = use(l.inputs[1]);
  for (uint64_t o = 0; o < a.outer; ++o)
    emit(host_dma(tpu::Opcode::write_host_memory, host + (o * (a.past + a.added) + a.past) * a.inner * e,
                  N.ub + o * block, block));
  Live lv;
  lv.place = new_place(l.output(), false);
  lv.on_host = true;
  lv.host_addr = host;
  live_[l.output()] = lv;
  pinned_.insert(l.output());
  note_io("appended in place: " + size_text(a.outer * block) + " written");
  return true;
}

void reject_weight_only_int8(const workload::Workload& w, DType dtype) {
  if (dtype == DType::int8) return;
  for (const Layer& l : w.layers)
    for (const std::string& in : l.inputs) {
      const workload::Tensor* t = in.empty() ? nullptr : w.find_tensor(in);
      if (t && t->role == workload::TensorRole::weight && t->dtype == DType::int8)
        throw LoweringError("layer '" + l.name + "': weight-only int8 (int8 weights, " + std::string(dtype_name(dtype)) +
                            " activations) is not supported on the TPU: its MXU multiplies int8 x int8 or bf16 x "
                            "bf16, and widening the weights to bf16 before the weight path is not modelled; run "
                            "it with 16-bit weights (generation weights: same) or int8 throughout");
    }
}

}  // namespace xpu::lowering::detail
