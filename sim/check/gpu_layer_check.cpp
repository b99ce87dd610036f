#include "sim/check/gpu_layer_check.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sim/check/gemm_data.h"
#include "sim/common/errors.h"
#include "sim/check/values.h"
#include "sim/lowering/gpu/gemm_sm80_sparse.h"
#include "sim/lowering/gpu/half_io.h"
#include "sim/lowering/gpu/tc_reference.h"

namespace xpu::check {

using workload::OpKind;

namespace {

// An NCHW tensor (shape s) in NHWC order (to_nhwc), or back.
std::vector<float> permute_nhwc(const workload::Shape& s, const float* v, bool to_nhwc) {
  const uint64_t N = uint64_t(s.at(0)), C = uint64_t(s.at(1)), HW = uint64_t(s.at(2) * s.at(3));
  std::vector<float> t(N * C * HW);
  for (uint64_t n = 0; n < N; ++n)
    for (uint64_t c = 0; c < C; ++c)
      for (uint64_t p = 0; p < HW; ++p) {
        const uint64_t nchw = (n * C + c) * HW + p, nhwc = (n * HW + p) * C + c;
        t[to_nhwc ? nhwc : nchw] = v[to_nhwc ? nchw : nhwc];
      }
  return t;
}

// `rows` rows of `bytes` bytes, `pitch` apart from `at`, packed.
std::vector<uint8_t> read_rows(const xpu::gpu::GlobalMemory& mem, uint64_t at, uint64_t rows, uint64_t bytes,
                               uint64_t pitch) {
  std::vector<uint8_t> v(rows * bytes);
  for (uint64_t r = 0; r < rows; ++r) mem.read(at + r * pitch, v.data() + r * bytes, bytes);
  return v;
}

// A rows x cols matrix of `e`-byte elements, transposed.
std::vector<uint8_t> transpose(const std::vector<uint8_t>& v, uint64_t rows, uint64_t cols, uint64_t e) {
  std::vector<uint8_t> t(v.size());
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c) std::memcpy(&t[(c * rows + r) * e], &v[(r * cols + c) * e], e);
  return t;
}

// A GEMM's k x n B as stage_b left it (row-major, or n x k rows with b_k_major).
std::vector<uint8_t> read_b(const lowering::gpu::GpuGemmLayout& l, uint64_t k, uint64_t n,
                            const xpu::gpu::GlobalMemory& mem, uint64_t off) {
  if (l.sparse) throw xpu::InternalError("2:4 packed weights read by a second layer");
  const uint64_t e = l.in_bytes;
  if (!l.b_k_major) return read_rows(mem, off + l.b, k, n * e, l.ldb);
  return transpose(read_rows(mem, off + l.b, n, k * e, l.ldb), n, k, e);
}

// A convolution's KRSC weights as stage_conv_inputs left them.
std::vector<uint8_t> read_conv_weights(const lowering::gpu::ConvLayout& l, const lowering::gpu::ConvSpec& s,
                                       const xpu::gpu::GlobalMemory& mem) {
  if (l.g.sparse) throw xpu::InternalError("2:4 packed weights read by a second layer");
  const uint64_t e = l.g.in_bytes, rs = uint64_t(s.r) * s.s;
  std::vector<uint8_t> w(s.k * rs * s.c * e);
  for (uint64_t o = 0; o < s.k; ++o)
    for (uint64_t t = 0; t < rs; ++t)
      for (uint64_t c = 0; c < s.c; ++c) {
        const uint64_t at = l.g.b_k_major ? l.g.b + o * l.g.ldb + (t * l.cp + c) * e
                                          : l.g.b + (t * l.cp + c) * l.g.ldb + o * e;
        mem.read(at, &w[((o * rs + t) * s.c + c) * e], e);
      }
  return w;
}

// n values of a tensor of `bytes`-byte elements (16-bit: of type io, widened).
std::vector<float> read_values(const xpu::gpu::GlobalMemory& mem, uint64_t at, uint64_t n, uint32_t bytes, DType io) {
  std::vector<float> v(n);
  if (bytes == 4) {
    mem.read(at, v.data(), n * 4);
    return v;
  }
  std::vector<uint16_t> h(n);
  mem.read(at, h.data(), n * 2);
  for (uint64_t j = 0; j < n; ++j) v[j] = lowering::gpu::widen16(io, h[j]);
  return v;
}

// Weights of a 16-bit run, drawn N(0, 1), scaled by the power of two
// nearest 1 / sqrt(fan_in), as trained layers' weights are: activations
// then keep their magnitude along a chain of layers instead of overflowing
// the 16-bit range. Exact (a power of two), so the operands stay the bits
// the kernel reads.
std::vector<uint8_t> fan_in_scaled(DType t, std::vector<uint8_t> v, uint64_t fan_in) {
  if (!lowering::gpu::is_act16(t) || fan_in < 2) return v;
  const int e = int(std::lround(0.5 * std::log2(double(fan_in))));
  auto* p = reinterpret_cast<uint16_t*>(v.data());
  for (size_t i = 0; i < v.size() / 2; ++i)
    p[i] = lowering::gpu::narrow16(t, std::ldexp(lowering::gpu::widen16(t, p[i]), -e));
  return v;
}

// A fused bias's range: +-3, or on int8 C +-0.5 (in the output's real
// units: 16 quantization steps of int8_layer_scales' activations, so the
// bias shifts outputs without saturating most of them).
float bias_range(const lowering::gpu::TcEpilogue& ep) { return ep.out8 ? 0.5f : 3.0f; }

}  // namespace

GpuLayerValues::GpuLayerValues(const workload::Workload& w, const workload::Layer& l,
                               const lowering::gpu::GpuLayerPlan& L, const lowering::gpu::TcEpilogue& ep, DType dtype,
                               uint64_t seed, xpu::gpu::GlobalMemory& mem, const Holds& holds_fn)
    : w_(w), l_(l), plan_(L), ep_(ep), dtype_(dtype) {
  const auto holds = [&](uint64_t at) { return holds_fn && holds_fn(at); };
  // A residual operand m x n in C's type and pitch (16-bit C: a 16-bit
  // tensor, so values the 16-bit type holds; int8 C: int8 values q, as
  // q rs), read or drawn.
  const auto residual = [&](uint64_t at, uint64_t m, uint64_t n, uint64_t ldc, bool out16) {
    const lowering::gpu::TcEpilogue& e = L.is_conv ? L.conv.ep : L.ep;
    if (e.out8) {
      std::vector<uint8_t> q(m * n);
      if (holds(at))
        for (uint64_t i = 0; i < m; ++i) mem.read(at + i * ldc, &q[i * n], n);
      else
        q = make_gemm_data(DType::int8, m * n, 1, 1, seed + 3).a;
      res_.resize(m * n);
      for (uint64_t x = 0; x < m * n; ++x) res_[x] = float(int8_t(q[x])) * e.rs;  // exact: rs a power of two
      return;
    }
    if (holds(at)) {
      res_.clear();
      for (uint64_t i = 0; i < m; ++i) {
        const auto row = read_values(mem, at + i * ldc, n, out16 ? 2 : 4, dtype);
        res_.insert(res_.end(), row.begin(), row.end());
      }
      return;
    }
    res_ = random_values(m * n, seed + 3, -3.0f, 3.0f);
    if (out16)
      for (float& v : res_) v = lowering::gpu::round16(dtype, v);
  };
  if (L.is_conv) {
    // NHWC input, KRSC weights (batchnorm's scale folded in) and
    // per-channel bias (its shift, or the conv's bias): read, or random.
    const auto& s = L.conv;
    const auto& lay = L.conv_plan.layout;
    const uint64_t e = lay.g.in_bytes, pixels = s.batch * s.h * s.w;
    a_.push_back(holds(lay.x) ? read_rows(mem, lay.x, pixels, s.c * e, lay.cp * e)
                              : make_gemm_data(dtype, pixels, 1, s.c, seed).a);
    const uint64_t fan_in = uint64_t(s.r) * s.s * s.c;
    b_.push_back(holds(lay.g.b) ? read_conv_weights(lay, s, mem)
                                : fan_in_scaled(dtype, make_gemm_data(dtype, s.k, 1, fan_in, seed + 1).a, fan_in));
    bias_.assign(s.k, 0.0f);
    if (s.ep.bias) bias_ = random_values(s.k, seed + 2, -bias_range(s.ep), bias_range(s.ep));
    if (s.ep.residual) residual(lay.res, lay.m, lay.n, lay.g.ldc, s.ep.out16);
    // Rewrites what was read with the same bytes (padding as zeros: the
    // device's padding is the producer's, finite, and meets zero weights).
    lowering::gpu::stage_conv_inputs(lay, s, a_[0].data(), b_[0].data(), bias_.data(), mem);
    if (s.ep.residual) lowering::gpu::stage_conv_residual(lay, s, res_.data(), mem);
    return;
  }
  if (L.is_gemm) {
    const auto& lay = L.gemm.layout;
    for (uint64_t b = 0; b < L.count; ++b) {
      std::vector<uint8_t> a, bb;
      const uint64_t e = lay.in_bytes, off = b * L.batch_bytes;
      if (dtype == DType::fp32) {
        a = random_fp32(l.m * l.k, seed + 2 * b);
        bb = random_fp32(l.k * l.n, seed + 2 * b + 1);
      } else {
        GemmData d = make_gemm_data(dtype, l.m, l.n, l.k, seed + b);
        a = std::move(d.a);
        bb = std::move(d.b);
      }
      if (l.inputs.size() > 1 && !l.inputs[1].empty() && w.tensor(l.inputs[1]).is_constant())
        bb = fan_in_scaled(dtype, std::move(bb), l.k);
      if (holds(off + lay.a)) a = read_rows(mem, off + lay.a, l.m, l.k * e, lay.lda);
      if (holds(off + lay.b)) bb = read_b(lay, l.k, l.n, mem, off);
      for (uint64_t i = 0; i < l.m; ++i) mem.write(off + lay.a + i * lay.lda, &a[i * l.k * e], l.k * e);
      lowering::gpu::stage_b(lay, l.k, l.n, bb.data(), mem, off);
      a_.push_back(std::move(a));
      b_.push_back(std::move(bb));
    }
    // A fused per-column bias (gemm_count 1): random values through the epilogue.
    if (L.ep.bias) {
      bias_ = random_values(l.n, seed + 2, -bias_range(L.ep), bias_range(L.ep));
      lowering::gpu::stage_bias(lay, l.n, bias_.data(), mem);
    }
    if (L.ep.residual) {
      // A fused residual add's other operand, m x n in C's type and pitch.
      residual(lay.res, l.m, l.n, lay.ldc, L.ep.out16);
      for (uint64_t i = 0; i < l.m; ++i) {
        if (L.ep.out8) {
          std::vector<int8_t> row(l.n);
          for (uint64_t j = 0; j < l.n; ++j) row[j] = int8_t(std::lround(res_[i * l.n + j] / L.ep.rs));
          mem.write(lay.res + i * lay.ldc, row.data(), l.n);
          continue;
        }
        if (!L.ep.out16) {
          mem.write(lay.res + i * lay.ldc, &res_[i * l.n], l.n * 4);
          continue;
        }
        std::vector<uint16_t> row(l.n);
        for (uint64_t j = 0; j < l.n; ++j) row[j] = lowering::gpu::narrow16(dtype, res_[i * l.n + j]);
        mem.write(lay.res + i * lay.ldc, row.data(), l.n * 2);
      }
    }
    return;
  }
  if (L.view) return;
  if (L.is_gemv_w8) {
    // Int8-weight GEMV: random 16-bit x [m, k]; W [n, k] random in [-1, 1]
    // quantized per output channel (int8 values and fp32 scales, in bias_).
    const auto& s = L.gemv_w8_spec;
    const auto& g = L.gemv_w8;
    a_ = {make_gemm_data(dtype, s.m * s.k, 1, 1, seed).a, std::vector<uint8_t>(s.n * s.k)};
    bias_.assign(s.n, 0.0f);
    const std::vector<float> wf = random_values(s.n * s.k, seed + 1, -1.0f, 1.0f);
    lowering::gpu::quantize_rows_int8(s.n, s.k, wf.data(), reinterpret_cast<int8_t*>(a_[1].data()), bias_.data());
    if (holds(g.x)) a_[0] = read_rows(mem, g.x, s.m, s.k * 2, g.kp * 2);
    if (holds(g.w)) a_[1] = read_rows(mem, g.w, s.n, s.k, g.kp);
    for (uint64_t i = 0; i < s.m; ++i) mem.write(g.x + i * g.kp * 2, &a_[0][i * s.k * 2], s.k * 2);
    for (uint64_t n = 0; n < s.n; ++n) mem.write(g.w + n * g.kp, &a_[1][n * s.k], s.k);
    mem.write(g.scale, bias_.data(), s.n * 4);
    return;
  }
  if (L.is_gemv) {
    // GEMV: random 16-bit x [m, k] and W [n, k] at the layout's padded rows.
    const auto& s = L.gemv_spec;
    const auto& g = L.gemv;
    a_ = {make_gemm_data(dtype, s.m * s.k, 1, 1, seed).a,
          fan_in_scaled(dtype, make_gemm_data(dtype, s.n * s.k, 1, 1, seed + 1).a, s.k)};
    if (holds(g.x)) a_[0] = read_rows(mem, g.x, s.m, s.k * 2, g.kp * 2);
    for (uint64_t n = 0; n < s.n; ++n)  // weight rows (merged GEMVs: each part's own tensor)
      if (holds(g.w + g.row(n) * g.kp * 2)) mem.read(g.w + g.row(n) * g.kp * 2, &a_[1][n * s.k * 2], s.k * 2);
    for (uint64_t i = 0; i < s.m; ++i) mem.write(g.x + i * g.kp * 2, &a_[0][i * s.k * 2], s.k * 2);
    for (uint64_t n = 0; n < s.n; ++n) mem.write(g.w + g.row(n) * g.kp * 2, &a_[1][n * s.k * 2], s.k * 2);
    if (s.ep.bias) {
      bias_ = random_values(s.n, seed + 2, -3.0f, 3.0f);
      mem.write(g.bias, bias_.data(), s.n * 4);
    }
    if (s.norm) {  // the folded norm's scale: fp32, zero past k
      gamma_ = holds(g.gamma) ? read_values(mem, g.gamma, s.k, 4, dtype) : random_values(s.k, seed + 4, 0.5f, 1.5f);
      std::vector<float> padded(g.kp, 0.0f);
      std::copy(gamma_.begin(), gamma_.end(), padded.begin());
      mem.write(g.gamma, padded.data(), g.kp * 4);
    }
    if (s.ep.residual) {  // a fused residual add's other operand: 16-bit, rows np apart
      residual(g.res, s.m, s.n, g.np * 2, true);
      for (uint64_t i = 0; i < s.m; ++i)
        for (uint64_t n = 0; n < s.n; ++n) {
          const uint16_t h = lowering::gpu::narrow16(dtype, res_[i * s.n + n]);
          mem.write(g.res + (i * g.np + n) * 2, &h, 2);
        }
    }
    return;
  }
  if (L.is_attention) {
    // Fused attention: random 16-bit q, K, V and the query positions.
    const auto& s = L.flash;
    const uint64_t qn = s.heads * s.rows * s.d, kn = s.heads * s.positions() * s.d;
    a_ = {make_gemm_data(dtype, qn, 1, 1, seed).a, make_gemm_data(dtype, kn, 1, 1, seed + 1).a,
          make_gemm_data(dtype, kn, 1, 1, seed + 2).a};
    if (holds(s.q)) a_[0] = read_rows(mem, s.q, 1, qn * 2, 0);
    if (holds(s.k)) a_[1] = read_rows(mem, s.k, 1, kn * 2, 0);
    if (holds(s.v)) a_[2] = read_rows(mem, s.v, 1, kn * 2, 0);
    mem.write(s.q, a_[0].data(), qn * 2);
    mem.write(s.k, a_[1].data(), kn * 2);
    mem.write(s.v, a_[2].data(), kn * 2);
    mem.write(s.meta, L.flash_plan.meta.data(), L.flash_plan.meta_bytes());
    return;
  }
  // Other kernels: random fp32 operands, staged once per distinct tensor;
  // 16-bit operands (in_bytes 2) hold values of the 16-bit type, staged as
  // its bits (half_io.h).
  const auto write = [&](uint64_t addr, const float* v, uint64_t n, uint32_t bytes, const workload::Shape* nhwc) {
    std::vector<float> t;
    if (nhwc) v = (t = permute_nhwc(*nhwc, v, true)).data();
    if (bytes == 4) return mem.write(addr, v, n * 4);
    std::vector<uint16_t> h(n);
    for (uint64_t j = 0; j < n; ++j) h[j] = lowering::gpu::narrow16(L.io, v[j]);
    mem.write(addr, h.data(), n * 2);
  };
  for (size_t i = 0; i < l.inputs.size(); ++i) {
    const std::string& name = l.inputs[i];
    if (name.empty() || feeds_.count(name)) continue;
    const uint64_t n = workload::numel(w.tensor(name).shape);
    const bool variance = l.op == OpKind::batchnorm && i == 4;
    const workload::Tensor& t = w.tensor(name);
    const bool in_place = l.op == OpKind::concat && l.attrs.in_place && i == 0;
    if (!in_place && holds(L.in_addr[i])) {
      // As an earlier kernel (or the host) left it, in the layout this kernel reads.
      feeds_[name] = read_values(mem, L.in_addr[i], n, L.in_bytes[i], L.io);
      if (L.nhwc && i == 0) feeds_[name] = permute_nhwc(t.shape, feeds_[name].data(), false);
      continue;
    }
    if (l.op == OpKind::gather && i == 1 && t.values) feeds_[name] = *t.values;  // the indices the kernel was lowered for
    else feeds_[name] = variance ? random_values(n, seed + i, 0.5f, 1.5f) : random_values(n, seed + i, -3.0f, 3.0f);
    if (L.in_bytes.at(i) == 2 || (i == 0 && l.op == OpKind::concat && l.attrs.in_place && lowering::gpu::is_act16(L.io)))
      for (float& v : feeds_[name]) v = lowering::gpu::round16(L.io, v);
    if (l.op == OpKind::concat && l.attrs.in_place && i == 0) {
      // Already in the output buffer: its slice of every outer index.
      const workload::Shape& os = l.out_shape;
      const size_t axis = size_t(l.attrs.axis);
      uint64_t outer = 1, inner = 1;
      for (size_t d = 0; d < axis; ++d) outer *= uint64_t(os[d]);
      for (size_t d = axis + 1; d < os.size(); ++d) inner *= uint64_t(os[d]);
      const uint64_t block = uint64_t(t.shape[axis]) * inner, len = uint64_t(os[axis]);
      for (uint64_t o = 0; o < outer; ++o)
        write(L.out_addr + o * len * inner * lowering::gpu::act_bytes(L.io), feeds_[name].data() + o * block, block,
              lowering::gpu::act_bytes(L.io), nullptr);
      continue;
    }
    write(L.in_addr[i], feeds_[name].data(), n, L.in_bytes[i], L.nhwc && i == 0 ? &t.shape : nullptr);
  }
  if (l.op == OpKind::batchnorm) {
    // Folded per channel as inference engines do: s = scale / sqrtf(var + eps), t = bias - mean s.
    const auto &sc = feeds_[l.inputs[1]], &bi = feeds_[l.inputs[2]], &mu = feeds_[l.inputs[3]],
               &var = feeds_[l.inputs[4]];
    std::vector<float> fs(sc.size()), ft(sc.size());
    for (size_t c = 0; c < sc.size(); ++c) {
      fs[c] = sc[c] / std::sqrt(var[c] + l.attrs.epsilon);
      ft[c] = bi[c] - mu[c] * fs[c];
    }
    mem.write(L.bn_s, fs.data(), fs.size() * 4);
    mem.write(L.bn_t, ft.data(), ft.size() * 4);
  }
  // Layers in the same launch: staged after this one, an operand it shares
  // with this layer (one buffer) read as this layer staged it.
  for (const auto& sb : L.siblings) {
    const Holds shared = [&](uint64_t at) {
      for (size_t i = 0; i < l.inputs.size(); ++i)
        if (!l.inputs[i].empty() && !(l.op == OpKind::concat && l.attrs.in_place && i == 0) && at >= L.in_addr[i] &&
            at < L.in_addr[i] + workload::numel(w.tensor(l.inputs[i]).shape) * L.in_bytes[i])
          return true;
      return holds(at);
    };
    siblings_.push_back(std::make_unique<GpuLayerValues>(w, w.layers.at(sb.layer), *sb.plan, lowering::gpu::TcEpilogue{},
                                                         dtype, seed + 7919 * (siblings_.size() + 1), mem, shared));
  }
}

Outcome GpuLayerValues::check(const xpu::gpu::GlobalMemory& mem) const {
  Outcome o = check_one(mem);
  for (const auto& s : siblings_) {
    const Outcome so = s->check(mem);
    if (static_cast<int>(so.verdict) > static_cast<int>(o.verdict)) o.verdict = so.verdict;  // bit-exact < tolerance < mismatch
    o.detail += "; " + s->l_.name + " (same launch): " + so.detail;
  }
  return o;
}

Outcome GpuLayerValues::check_one(const xpu::gpu::GlobalMemory& mem) const {
  if (plan_.view) return {report::Verdict::skipped, "view (no data movement)"};
  if (plan_.is_conv) return check_conv(mem);
  if (plan_.is_gemm) return check_gemm(mem);
  if (plan_.is_gemv_w8) {
    const auto& s = plan_.gemv_w8_spec;
    const auto want = lowering::gpu::reference_gemv_w8(s, reinterpret_cast<const uint16_t*>(a_[0].data()),
                                                       reinterpret_cast<const int8_t*>(a_[1].data()), bias_.data());
    std::vector<uint32_t> got(want.size());
    for (uint64_t i = 0; i < s.m; ++i) mem.read(plan_.gemv_w8.y + i * plan_.gemv_w8.np * 4, &got[i * s.n], s.n * 4);
    Outcome o = compare_bits(got, want, s.n);
    o.detail += std::string(" (int8-weight GEMV") + (s.ep.active() ? ", fused epilogue" : "") + ")";
    return o;
  }
  if (plan_.is_gemv) {
    const auto& s = plan_.gemv_spec;
    const auto want = lowering::gpu::reference_gemv(s, reinterpret_cast<const uint16_t*>(a_[0].data()),
                                                    reinterpret_cast<const uint16_t*>(a_[1].data()),
                                                    s.ep.bias ? bias_.data() : nullptr, s.ep.residual ? res_.data() : nullptr,
                                                    s.norm ? gamma_.data() : nullptr);
    std::vector<uint32_t> got(want.size());
    const uint64_t n = s.outputs();
    for (uint64_t i = 0; i < s.m; ++i) mem.read(plan_.gemv.y + i * plan_.gemv.ldy * 4, &got[i * n], n * 4);
    Outcome o = compare_bits(got, want, n);
    o.detail += std::string(" (GEMV") + (s.norm ? ", rmsnorm folded in, against its order" : "") +
                (s.ep.active() ? ", fused epilogue" : "") + ")";
    return o;
  }
  if (plan_.is_attention) {
    const auto& s = plan_.flash;
    const auto half = [](const std::vector<uint8_t>& b) { return reinterpret_cast<const uint16_t*>(b.data()); };
    const auto want = lowering::gpu::reference_flash_attention(s, plan_.flash_plan, half(a_[0]), half(a_[1]), half(a_[2]));
    std::vector<uint32_t> got(want.size()), bits(want.size());
    mem.read(s.o, got.data(), got.size() * 4);
    std::memcpy(bits.data(), want.data(), want.size() * 4);
    Outcome o = compare_bits(got, bits, s.d);
    o.detail += " (fused attention, against its accumulation order)";
    return o;
  }
  return check_kernel(mem);
}

Outcome GpuLayerValues::check_conv(const xpu::gpu::GlobalMemory& mem) const {
  const auto& s = plan_.conv;
  const auto& lay = plan_.conv_plan.layout;
  Outcome o = compare_bits(lowering::gpu::read_conv_output(lay, s, mem),
                           lowering::gpu::reference_conv_tc(lay, s, a_[0].data(), b_[0].data(), bias_.data(),
                                                                             res_.empty() ? nullptr : res_.data()),
                           lay.n);
  o.detail += " (implicit GEMM" + std::string(s.sparse ? ", 2:4 pruned weights" : "") +
              std::string(s.ep.active() ? ", fused epilogue" : "") + ")";
  return o;
}

Outcome GpuLayerValues::check_gemm(const xpu::gpu::GlobalMemory& mem) const {
  const auto& l = l_;
  const auto& lay = plan_.gemm.layout;
  Outcome o{report::Verdict::bit_exact, "bit-exact"};
  for (uint64_t b = 0; b < plan_.count && o.verdict == report::Verdict::bit_exact; ++b) {
    std::vector<uint32_t> got(l.m * l.n);
    std::vector<uint16_t> row(lay.out_bytes == 2 ? l.n : 0);
    std::vector<uint8_t> row8(lay.out_bytes == 1 ? l.n : 0);
    for (uint64_t i = 0; i < l.m; ++i) {
      const uint64_t at = b * plan_.batch_bytes + lay.c + i * lay.ldc;
      if (lay.out_bytes == 4) {
        mem.read(at, &got[i * l.n], l.n * 4);
        continue;
      }
      if (lay.out_bytes == 1) {  // int8 C: the bits, zero-extended
        mem.read(at, row8.data(), l.n);
        for (uint64_t j = 0; j < l.n; ++j) got[i * l.n + j] = row8[j];
        continue;
      }
      mem.read(at, row.data(), l.n * 2);  // 16-bit C: the bits, zero-extended
      for (uint64_t j = 0; j < l.n; ++j) got[i * l.n + j] = row[j];
    }
    auto want = dtype_ == DType::fp32
                    ? lowering::gpu::reference_gemm_ffma(l.m, l.n, l.k, lay.kp,
                                                         reinterpret_cast<const float*>(a_[b].data()),
                                                         reinterpret_cast<const float*>(b_[b].data()))
                : plan_.spec.sparse
                    ? lowering::gpu::reference_gemm_sparse(dtype_, plan_.spec.acc, l.m, l.n, l.k, lay.kp, a_[b].data(),
                                                           b_[b].data(), lay.dot_group)
                : plan_.gemm.split()
                    ? lowering::gpu::reference_gemm_tc_split(dtype_, l.m, l.n, l.k, lay.kslice,
                                                             plan_.gemm.tiling.split_k, a_[b].data(), b_[b].data(),
                                                             lay.dot_group)
                    : lowering::gpu::reference_gemm_tc(dtype_, plan_.spec.acc, l.m, l.n, l.k, lay.kp, a_[b].data(),
                                                       b_[b].data(), lay.dot_group);
    lowering::gpu::reference_epilogue(plan_.ep, l.m, l.n, bias_.data(), want, res_.empty() ? nullptr : res_.data(),
                                      dtype_);
    o = compare_bits(got, want, l.n);
  }
  o.detail += " (GEMM view" + std::string(plan_.spec.sparse ? ", 2:4 pruned weights" : "") +
              std::string(plan_.count > 1 ? ", every batch" : "") +
              std::string(plan_.ep.active() ? ", fused epilogue" : "") +
              std::string(plan_.ep.out16 ? ", 16-bit C" : "") + std::string(plan_.ep.out8 ? ", int8 C" : "") + ")";
  return o;
}

Outcome GpuLayerValues::check_kernel(const xpu::gpu::GlobalMemory& mem) const {
  // The layer alone through the fp32 reference executor, on the same operands.
  workload::Workload one;
  one.name = l_.name;
  for (size_t i = 0; i < l_.inputs.size(); ++i) {
    const std::string& name = l_.inputs[i];
    bool seen = name.empty();
    for (size_t j = 0; j < i && !seen; ++j) seen = l_.inputs[j] == name;
    if (seen) continue;
    const workload::Tensor& t = w_.tensor(name);
    if (t.is_constant()) one.add_constant(name, t.shape, DType::fp32, t.role);
    else one.add_input(name, t.shape, DType::fp32);
  }
  workload::Layer copy = l_;
  one.add_layer(copy);
  const auto ref = workload::execute(one, feeds_);
  std::vector<float> want = ref.at(l_.output());
  std::vector<float> got(want.size());
  if (!lowering::gpu::is_act16(plan_.io)) {
    mem.read(plan_.out_addr, got.data(), got.size() * 4);
    return compare_tol(got, want, plan_.tol_abs, plan_.tol_rel);
  }
  // 16-bit output: the kernel rounds its fp32 result once, so the reference
  // is rounded there too. Exact kernels stay bit-exact; where the fp32
  // results may differ within the tolerance, their roundings may be one
  // 16-bit step apart (2^-10 relative for fp16, 2^-7 for bf16; 2^-24
  // absolute among fp16 subnormals).
  std::vector<uint16_t> h(want.size());
  mem.read(plan_.out_addr, h.data(), h.size() * 2);
  for (size_t j = 0; j < h.size(); ++j) got[j] = lowering::gpu::widen16(plan_.io, h[j]);
  if (plan_.nhwc) got = permute_nhwc(l_.out_shape, got.data(), false);
  for (float& v : want) v = lowering::gpu::round16(plan_.io, v);
  const bool exact = plan_.tol_abs == 0 && plan_.tol_rel == 0;
  const double step = plan_.io == DType::bf16 ? 0x1p-7 : 0x1p-10;
  Outcome o = exact ? compare_tol(got, want, 0, 0)
                    : compare_tol(got, want, plan_.tol_abs + (plan_.io == DType::fp16 ? 0x1p-24 : 0.0),
                                  plan_.tol_rel + step);
  o.detail += " (16-bit output)";
  return o;
}

}  // namespace xpu::check
