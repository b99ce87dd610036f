// Matrix layers of the network lowering (network.h): the GEMM emitter, gemm
// and matmul, with bias and the activation fused into the Activate step
// (conv2d: network_conv.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "sim/lowering/tpu/gemm.h"
#include "sim/lowering/tpu/network_builder.h"
#include "sim/numerics/int8_quant.h"

namespace xpu::lowering::detail {

using workload::Layer;
using workload::OpKind;

namespace {

uint32_t u32(uint64_t v) { return static_cast<uint32_t>(v); }

void put_u32(std::vector<uint8_t>& out, uint32_t w) {
  const size_t at = out.size();
  out.resize(at + 4);
  std::memcpy(out.data() + at, &w, 4);
}

// Weight-tile offsets as sim/lowering/tpu/gemm.cpp lays them out: N tiles
// outer, K chunks inner, each tile dense row-major.
std::vector<uint64_t> tile_offsets(uint64_t k, uint64_t n, uint64_t R, uint64_t C, uint64_t eb) {
  const uint64_t kcs = ceil_div(k, R), nts = ceil_div(n, C);
  std::vector<uint64_t> off(kcs * nts);
  uint64_t a = 0;
  for (uint64_t nt = 0; nt < nts; ++nt)
    for (uint64_t kc = 0; kc < kcs; ++kc) {
      off[kc * nts + nt] = a;
      a += std::min(R, k - kc * R) * std::min(C, n - nt * C) * eb;
    }
  return off;
}

}  // namespace

std::vector<uint8_t> to_dtype(const std::vector<float>& v, DType t, float scale) {
  std::vector<uint8_t> out(v.size() * dtype_bytes(t));
  for (size_t i = 0; i < v.size(); ++i) {
    switch (t) {
      case DType::int8: {
        const int8_t q = quantize(v[i], scale);
        std::memcpy(&out[i], &q, 1);
        break;
      }
      case DType::bf16: {
        const uint16_t b = bf16::from_float(v[i]).bits;
        std::memcpy(&out[2 * i], &b, 2);
        break;
      }
      case DType::fp16: {
        const uint16_t b = fp16::from_float(v[i]).bits;
        std::memcpy(&out[2 * i], &b, 2);
        break;
      }
      default: std::memcpy(&out[4 * i], &v[i], 4);
    }
  }
  return out;
}

}  // namespace xpu::lowering::detail

namespace xpu::lowering {

std::vector<uint8_t> weight_tiles_to_matrix(const uint8_t* tiles, uint64_t k, uint64_t n, uint64_t R, uint64_t C,
                                            uint64_t eb) {
  const uint64_t kcs = detail::ceil_div(k, R), nts = detail::ceil_div(n, C);
  const auto off = detail::tile_offsets(k, n, R, C, eb);
  std::vector<uint8_t> b(k * n * eb);
  for (uint64_t nt = 0; nt < nts; ++nt)
    for (uint64_t kc = 0; kc < kcs; ++kc) {
      const uint64_t kk = std::min(R, k - kc * R), nn = std::min(C, n - nt * C);
      const uint8_t* src = tiles + off[kc * nts + nt];
      for (uint64_t r = 0; r < kk; ++r)
        std::memcpy(b.data() + ((kc * R + r) * n + nt * C) * eb, src + r * nn * eb, nn * eb);
    }
  return b;
}

}  // namespace xpu::lowering

namespace xpu::lowering::detail {

void NetBuilder::prepare_gemm(const Layer& l, GemmJob& job) {
  const uint64_t R = cfg_.mxu.rows, C = cfg_.mxu.cols, e = eb();
  const uint64_t kcs = ceil_div(job.k, R), nts = ceil_div(job.n, C);
  const auto off = tile_offsets(job.k, job.n, R, C, e);

  job.wbase = job.weight_base;
  if (!job.weights_from_host) {
    // B's tiles are appended to this program's weight image.
    job.wbase = align_up(step_->weight_bytes, 64);
    step_->weight_bytes = job.wbase + job.k * job.n * e;
    // Without values the weights are all zero: their scale is that of zeros.
    if (int8()) job.b_scale = scale_for(0.0f);
  }
  if (!job.weights_from_host && with_values()) {
    // B in the MXU dtype, packed into the tiles.
    std::vector<float> zeros;
    const std::vector<float>& b = job.b ? *job.b : (zeros.assign(job.k * job.n, 0.0f), zeros);
    if (int8()) job.b_scale = scale_for(tensor_max_abs(b.data(), b.size()));
    job.b_bytes = to_dtype(b, dt(), job.b_scale);
    auto& img = step_->weight_image;
    img.resize(step_->weight_bytes);
    for (uint64_t nt = 0; nt < nts; ++nt)
      for (uint64_t kc = 0; kc < kcs; ++kc) {
        const uint64_t kk = std::min(R, job.k - kc * R), nn = std::min(C, job.n - nt * C);
        uint8_t* dst = img.data() + job.wbase + off[kc * nts + nt];
        for (uint64_t r = 0; r < kk; ++r)
          std::memcpy(dst + r * nn * e, job.b_bytes.data() + ((kc * R + r) * job.n + nt * C) * e, nn * e);
      }
  }
  // Activate parameters: int8 dequantizes with s_x * s_w and requantizes with 1 / s_y.
  GemmCheck& chk = job.check;
  chk.step = step_index();
  chk.m = job.m;
  chk.n = job.n;
  chk.k = job.k;
  chk.a_ub = job.a_ub;
  chk.a_stride = job.a_stride;
  if (with_values()) chk.b = std::make_shared<const std::vector<uint8_t>>(job.b_bytes);
  chk.b_in_weights = job.weights_from_host;
  chk.b_weight_addr = job.weight_base;
  chk.c_ub = job.c_ub;
  chk.c_stride = job.c_stride;
  chk.fn = job.fn;
  chk.p0 = job.p0;
  chk.p1 = job.p1;
  chk.in_scale = int8() ? job.x_scale * job.b_scale : 1.0f;
  chk.scale = int8() ? 1.0f / job.y_scale : 1.0f;
  chk.out_dtype = dt();
  job.bias_bytes.clear();
  if (job.bias && !with_values()) {
    job.bias_bytes.assign(job.n * 4, 0);  // its size places the bias row
    chk.bias = true;
  } else if (job.bias) {
    for (uint64_t j = 0; j < job.n; ++j) {
      const float b = (*job.bias)[j];
      uint32_t w;
      if (int8()) {
        const double q = std::nearbyint(double(b) / (double(job.x_scale) * double(job.b_scale)));
        w = uint32_t(int32_t(std::clamp(q, -2147483648.0, 2147483647.0)));
      } else {
        std::memcpy(&w, &b, 4);
      }
      put_u32(job.bias_bytes, w);
      chk.bias_bits.push_back(w);
    }
    chk.bias = true;
  }
  (void)l;
}

void NetBuilder::emit_gemm(const Layer& l, GemmJob& job, const CoreShare& share) {
  prepare_gemm(l, job);
  if (job.bias) job.bias_ub = constant(job.bias_bytes, "bias of '" + l.name + "'");
  emit_gemm_share(l, job, share, job.m, job.a_ub, job.c_ub, job.check);
}

void NetBuilder::emit_gemm_rows(const Layer& l, GemmJob& job, uint64_t m, uint64_t a_ub, uint64_t c_ub,
                                GemmCheck chk, uint64_t nt_lo, uint64_t nt_hi) {
  const uint64_t R = cfg_.mxu.rows, C = cfg_.mxu.cols, e = eb();
  const uint64_t acc_entries = cfg_.accumulators.double_buffered ? cfg_.accumulators.entries / 2 : cfg_.accumulators.entries;
  if (acc_entries == 0) fail(l, "the accumulators cannot hold one row");
  // Output-stationary whole-K chains hold one fold per block (gemm.h).
  const uint64_t acc_rows = os_whole_k(cfg_.mxu, job.k) ? std::min(acc_entries, R) : acc_entries;
  const uint64_t kcs = ceil_div(job.k, R), nts = ceil_div(job.n, C);
  const float in_scale = chk.in_scale, out_scale = chk.scale;
  chk.m = m;
  plan().gemms.push_back(std::move(chk));
  plan().array_cols_used = std::max(plan().array_cols_used, std::min(job.n, C));
  plan().array_rows_used = std::max(plan().array_rows_used, std::min(job.k, R));

  uint64_t& half = job.acc_half;
  if (discarding()) {  // no instructions: only the accumulator half they would leave
    const uint64_t nt_end = std::min(nts, nt_hi);
    const uint64_t chunks = ceil_div(m, acc_rows) * (nt_end > nt_lo ? nt_end - nt_lo : 0);
    if (cfg_.accumulators.double_buffered) half ^= chunks & 1;
    return;
  }
  const auto off = tile_offsets(job.k, job.n, R, C, e);
  for (uint64_t m0 = 0; m0 < m; m0 += acc_rows) {
    const uint64_t rows = std::min(acc_rows, m - m0);
    for (uint64_t nt = nt_lo; nt < std::min(nts, nt_hi); ++nt) {
      const uint64_t nn = std::min(C, job.n - nt * C);
      const uint32_t acc = u32(half * acc_entries);
      for (uint64_t kc = 0; kc < kcs; ++kc) {
        const uint64_t kk = std::min(R, job.k - kc * R);
        tpu::Instruction w;
        w.op = tpu::Opcode::read_weights;
        w.weight_addr = job.wbase + off[kc * nts + nt];
        w.k = u32(kk);
        w.n = u32(nn);
        w.dtype = dt();
        emit(w);
        tpu::Instruction mm;
        mm.op = tpu::Opcode::matmul;
        mm.ub_addr = a_ub + m0 * job.a_stride + kc * R * e;
        mm.ub_stride = job.a_stride;
        mm.acc_addr = acc;
        mm.rows = u32(rows);
        mm.k = u32(kk);
        mm.n = u32(nn);
        mm.dtype = dt();
        set_k_chunk_flags(mm, cfg_.mxu, job.k, kc);
        mm.load_weights = true;
        emit(mm);
      }
      tpu::Instruction act;
      act.op = tpu::Opcode::activate;
      act.acc_addr = acc;
      act.rows = u32(rows);
      act.n = u32(nn);
      act.ub_addr = c_ub + m0 * job.c_stride + nt * C * e;
      act.ub_stride = job.c_stride;
      act.fn = job.fn;
      act.p0 = job.p0;
      act.p1 = job.p1;
      act.out_dtype = dt();
      act.scale = out_scale;
      act.in_scale = in_scale;
      if (job.bias) {
        act.bias = true;
        act.bias_addr = job.bias_ub + nt * C * 4;
      }
      emit(act);
      if (cfg_.accumulators.double_buffered) half ^= 1;
    }
  }
}

WeightCopy NetBuilder::weight_path_copy(uint64_t b_ub, uint64_t K, uint64_t N, uint64_t& wnext) {
  const uint64_t R = cfg_.mxu.rows, C = cfg_.mxu.cols, e = eb();
  const auto off = tile_offsets(K, N, R, C, e);
  const uint64_t kcs = ceil_div(K, R), nts = ceil_div(N, C);
  const uint64_t host = host_alloc(K * N * e);
  for (uint64_t nt = 0; nt < nts; ++nt)
    for (uint64_t kc = 0; kc < kcs; ++kc) {
      const uint64_t kk = std::min(R, K - kc * R), nn = std::min(C, N - nt * C);
      const uint64_t src = b_ub + (kc * R * N + nt * C) * e, dst = host + off[kc * nts + nt];
      if (nts == 1)
        emit(host_dma(tpu::Opcode::write_host_memory, dst, src, kk * N * e));
      else
        for (uint64_t r = 0; r < kk; ++r)
          emit(host_dma(tpu::Opcode::write_host_memory, dst + r * nn * e, src + r * N * e, nn * e));
    }
  const WeightCopy copy{host, wnext, K * N * e};
  wnext += align_up(K * N * e, 64);
  plan().weight_path_bytes += K * N * e;
  return copy;
}

void NetBuilder::lower_dense(const std::vector<const Layer*>& group) {
  const Layer& l = *group[0];
  const Layer* fnl = group.size() > 1 ? group.back() : nullptr;
  float p0 = 0, p1 = 0;
  const tpu::ActFn fn = fnl ? act_of(*fnl, p0, p1) : tpu::ActFn::none;
  const uint64_t e = eb();
  const uint64_t M = l.m, N = l.n, K = l.k, G = l.gemm_count;
  const auto& b_t = wl().tensor(l.inputs[1]);
  const bool b_const = b_t.is_constant();
  if (l.op == OpKind::matmul && (wl().tensor(l.inputs[0]).shape.size() < 2 || b_t.shape.size() < 2))
    fail(l, "1-D matmul operands are not supported by the TPU lowering");
  // A and the output cannot be resident together: rows stream (network_stream.cpp).
  if (b_const && G == 1 && !(l.op == OpKind::gemm && l.attrs.trans_a) &&
      !fits_with(l.inputs[0], tensor_bytes(group.back()->output())))
    return lower_dense_streamed(group);

  // A matmul of two activations that do not fit with its output: batch by
  // batch through host memory.
  if (!b_const && !l.has_bias && l.op == OpKind::matmul &&
      align_up(tensor_bytes(l.inputs[0]), 64) + align_up(tensor_bytes(l.inputs[1]), 64) +
              align_up(tensor_bytes(group.back()->output()), 64) >
          ub_capacity())
    return lower_matmul_streamed(group);

  TensorPlace A = use(l.inputs[0]);
  if (A.nhwc && A.shape[2] * A.shape[3] != 1) fail(l, "its input is an NHWC image; flatten it first");
  TensorPlace B;
  if (!b_const) B = use(l.inputs[1]);
  const TensorPlace Y = produce(group.back()->output(), false);

  // A operand: transposed into scratch for gemm transA.
  uint64_t a_ub = A.ub;
  if (l.op == OpKind::gemm && l.attrs.trans_a) {
    a_ub = scratch(M * K * e, "A^T of '" + l.name + "'");
    tpu::Instruction t = vec(tpu::VectorOp::transpose, u32(K), u32(M));
    t.ub_addr = A.ub;
    t.ub_stride = M * e;
    t.dst_addr = a_ub;
    t.dst_stride = K * e;
    t.dst_elem_stride = 1;
    emit(t);
  }

  // Bias: gemm C (beta C) broadcast along rows, or matmul's bias; a full C is added afterwards.
  std::vector<float> bias;
  const std::vector<float>* cfull = nullptr;
  std::vector<float> cbuf;
  if (l.has_bias) {
    const std::string& cn = l.inputs[2];
    const auto& cs = wl().tensor(cn).shape;
    const float beta = l.op == OpKind::gemm ? l.attrs.beta : 1.0f;
    std::vector<float> cv(workload::numel(cs), 0.0f);
    if (!wl().tensor(cn).is_constant()) fail(l, "a bias that is not a constant is not supported");
    if (const auto* v = values(cn)) cv = *v;
    const uint64_t cn_el = workload::numel(cs);
    if (cn_el == 1 || (cn_el == N && cs.back() == int64_t(N))) {
      bias.resize(N);
      for (uint64_t j = 0; j < N; ++j) bias[j] = beta * cv[cn_el == 1 ? 0 : j];
    } else {
      // [M, 1] or [M, N]: expanded on the host, added by a vector op.
      workload::Shape full{int64_t(M), int64_t(N)};
      cbuf.resize(M * N);
      for (uint64_t i = 0; i < M; ++i)
        for (uint64_t j = 0; j < N; ++j) {
          const uint64_t ci = cs.size() == 2 ? (cs[0] == 1 ? 0 : i) * uint64_t(cs[1]) + (cs[1] == 1 ? 0 : j)
                                             : (cs[0] == 1 ? 0 : j);
          cbuf[i * N + j] = beta == 1.0f ? cv[ci] : beta * cv[ci];
        }
      cfull = &cbuf;
    }
  }
  const float alpha = l.op == OpKind::gemm ? l.attrs.alpha : 1.0f;

  // Output target: Y, or an fp32 scratch when a full C follows.
  uint64_t c_ub = Y.ub, c_elem = e;
  if (cfull) {
    pin_code();  // its activates are rewritten below
    c_ub = scratch(M * N * 4, "A x B of '" + l.name + "' before + C");
    c_elem = 4;
  }

  // B: constant (packed by emit_gemm) or activation (weight path).
  std::vector<uint64_t> wbase(G, 0);
  if (!b_const) {
    // Program 1 writes every B_g to host memory in tile layout; the host
    // copies them into weight DRAM; program 2 runs the GEMMs.
    const uint64_t b_batches = workload::numel(B.shape) / (K * N);
    std::vector<WeightCopy> copies;
    uint64_t wnext = 0;
    for (uint64_t g = 0; g < b_batches; ++g) {
      wbase[g] = wnext;
      copies.push_back(weight_path_copy(B.ub + g * K * N * e, K, N, wnext));
    }
    new_step();
    step_->copies_before = std::move(copies);
    plan().io = "B via weight DRAM";
  }

  // Core split (network.h): one GEMM of constant B into Y.
  const CoreShare share = splitting() && b_const && G == 1 && !cfull ? core_share(opts_.core, M, N, true) : CoreShare{};
  std::vector<float> bmat;
  const uint64_t a_batches = G > 1 ? workload::numel(A.shape) / (M * K) : 1;
  const uint64_t b_batches = b_const ? (workload::numel(b_t.shape) / (K * N)) : workload::numel(B.shape) / (K * N);
  for (uint64_t g = 0; g < G; ++g) {
    GemmJob job;
    job.m = M;
    job.n = N;
    job.k = K;
    const uint64_t ga = a_batches == 1 ? 0 : g % a_batches;
    const uint64_t gb = b_batches == 1 ? 0 : g % b_batches;
    job.a_ub = a_ub + ga * M * K * e;
    job.a_stride = K * e;
    if (b_const && !with_values()) {
      job.b = nullptr;  // zeros, never packed
    } else if (b_const) {
      const auto* v = values(l.inputs[1]);
      bmat.assign(K * N, 0.0f);
      if (v) {
        const bool tb = l.op == OpKind::gemm && l.attrs.trans_b;
        for (uint64_t i = 0; i < K; ++i)
          for (uint64_t j = 0; j < N; ++j)
            bmat[i * N + j] = (tb ? (*v)[gb * K * N + j * K + i] : (*v)[gb * K * N + i * N + j]) * alpha;
      }
      job.b = &bmat;
    } else {
      job.weights_from_host = true;
      job.weight_base = wbase[gb];
      job.b_scale = B.scale;
      if (alpha != 1.0f) fail(l, "alpha != 1 with an activation B is not supported");
    }
    job.bias = bias.empty() ? nullptr : &bias;
    job.c_ub = c_ub + g * M * N * c_elem;
    job.c_stride = N * c_elem;
    job.x_scale = A.scale;
    job.y_scale = Y.scale;
    if (cfull) {
      // Raw sum in fp32 (int8: dequantized), then + C and fn by a vector op.
      job.fn = tpu::ActFn::none;
      emit_gemm(l, job);
    } else {
      job.fn = fn;
      job.p0 = p0;
      job.p1 = p1;
      emit_gemm(l, job, share);
    }
  }
  if (share.dim != CoreShare::Dim::none) exchange_shares(Y, M, N * e, N, true);
  if (cfull) {
    // The GEMM's activates wrote dt(); rewrite them to fp32 output (in_scale kept, scale 1).
    for (auto& in : step_->program.code)
      if (in.op == tpu::Opcode::activate && in.ub_addr >= c_ub && in.ub_addr < c_ub + M * N * 4) {
        in.out_dtype = DType::fp32;
        in.scale = 1.0f;
      }
    unpin_code();
    plan().gemms.back().out_dtype = DType::fp32;
    plan().gemms.back().scale = 1.0f;
    std::vector<uint8_t> bytes(cbuf.size() * 4);
    std::memcpy(bytes.data(), cbuf.data(), bytes.size());
    const uint64_t cu = constant(std::move(bytes), "C of '" + l.name + "'");
    tpu::Instruction add = vec(tpu::VectorOp::add, u32(M), u32(N));
    add.dtype = DType::fp32;
    add.ub_addr = c_ub;
    add.ub_stride = N * 4;
    add.dtype2 = DType::fp32;
    add.ub_addr2 = cu;
    add.ub_stride2 = N * 4;
    add.dst_addr = Y.ub;
    add.dst_stride = N * e;
    add.fn = fn;
    add.p0 = p0;
    add.p1 = p1;
    add.scale = int8() ? 1.0f / Y.scale : 1.0f;
    emit(add);
  }
}

void NetBuilder::lower_matmul_streamed(const std::vector<const Layer*>& group) {
  const Layer& l = *group[0];
  float p0 = 0, p1 = 0;
  const tpu::ActFn fn = group.size() > 1 ? act_of(*group.back(), p0, p1) : tpu::ActFn::none;
  const uint64_t e = eb(), M = l.m, N = l.n, K = l.k, G = l.gemm_count;
  const TensorPlace A = use_on_host(l.inputs[0]);
  if (A.nhwc && A.shape[2] * A.shape[3] != 1) fail(l, "its input is an NHWC image; flatten it first");
  const TensorPlace B = use_on_host(l.inputs[1]);
  const TensorPlace Y = produce_on_host(group.back()->output(), false);
  const uint64_t a_batches = workload::numel(A.shape) / (M * K), b_batches = workload::numel(B.shape) / (K * N);

  // Program 1: each B batch read into the UB and written back to host memory
  // in weight-tile layout (the resident lowering's writes); the host copies
  // them into weight DRAM.
  const uint64_t b_ub = scratch(K * N * e, "a B batch of '" + l.name + "'");
  std::vector<WeightCopy> copies;
  std::vector<uint64_t> wbase(b_batches, 0);
  uint64_t wnext = 0;
  for (uint64_t g = 0; g < b_batches; ++g) {
    stream_in(B.ub + g * K * N * e, b_ub, K * N * e);
    wbase[g] = wnext;
    copies.push_back(weight_path_copy(b_ub, K, N, wnext));
  }
  new_step();
  step_->copies_before = std::move(copies);

  // Program 2: per batch, A_g in, the GEMM passes, C_g out.
  const uint64_t a_ub = scratch(M * K * e, "an A batch of '" + l.name + "'");
  const uint64_t c_ub = scratch(M * N * e, "an output batch of '" + l.name + "'");
  uint64_t half = 0;
  for (uint64_t g = 0; g < G; ++g) {
    const uint64_t ga = a_batches == 1 ? 0 : g % a_batches, gb = b_batches == 1 ? 0 : g % b_batches;
    if (g == 0 || a_batches > 1) stream_in(A.ub + ga * M * K * e, a_ub, M * K * e);
    GemmJob job;
    job.m = M;
    job.n = N;
    job.k = K;
    job.a_ub = a_ub;
    job.a_stride = K * e;
    job.weights_from_host = true;
    job.weight_base = wbase[gb];
    job.b_scale = B.scale;
    job.c_ub = c_ub;
    job.c_stride = N * e;
    job.x_scale = A.scale;
    job.y_scale = Y.scale;
    job.fn = fn;
    job.p0 = p0;
    job.p1 = p1;
    prepare_gemm(l, job);
    // The check finds A and C in host memory (the buffers are reused).
    GemmCheck chk = job.check;
    chk.a_host = true;
    chk.a_ub = A.ub + ga * M * K * e;
    chk.a_stride = K * e;
    chk.c_host = true;
    chk.c_ub = Y.ub + g * M * N * e;
    chk.c_stride = N * e;
    job.acc_half = half;
    emit_gemm_rows(l, job, M, a_ub, c_ub, chk);
    half = job.acc_half;
    stream_out(Y.ub + g * M * N * e, c_ub, M * N * e);
  }
  plan().blocks = G;
  plan().block_rows = M;
  plan().spill_bytes += plan().stream_in_bytes + plan().stream_out_bytes;
  const std::string what = "B via weight DRAM, streamed: " + std::to_string(G) + " batches, in " +
                           size_text(plan().stream_in_bytes) + ", out " + size_text(plan().stream_out_bytes);
  note_io(what);
}

}  // namespace xpu::lowering::detail
