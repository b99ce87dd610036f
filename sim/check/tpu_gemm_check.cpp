#include "sim/check/tpu_gemm_check.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "sim/check/gemm_data.h"
#include "sim/lowering/tpu/gemm.h"
#include "sim/numerics/int8_quant.h"

namespace xpu::check {

namespace {

// The Activate step's arithmetic on one accumulator value (activation_unit.h).
void replay_activate(uint32_t acc, bool fp, const lowering::GemmCheck& g, uint64_t j, uint8_t* out) {
  const bool extended = g.bias || g.in_scale != 1.0f || (g.fn != tpu::ActFn::none && g.fn != tpu::ActFn::relu);
  float y;
  uint32_t raw = acc;
  if (!extended) {
    if (g.fn == tpu::ActFn::relu && (fp ? bits_to_float(raw) < 0.0f : int32_from_u32(raw) < 0)) raw = 0;
    if (g.out_dtype == DType::fp32 || g.out_dtype == DType::int32) {
      std::memcpy(out, &raw, 4);
      return;
    }
    y = fp ? bits_to_float(raw) : static_cast<float>(int32_from_u32(raw));
  } else {
    float x;
    if (fp) {
      x = bits_to_float(acc);
      if (g.bias) x = add_fp32(x, bits_to_float(g.bias_bits[j]));
    } else {
      x = static_cast<float>(int32_from_u32(acc + (g.bias ? g.bias_bits[j] : 0u)));
    }
    if (g.in_scale != 1.0f) x = mul_fp32(x, g.in_scale);
    y = tpu::apply_act_fn(g.fn, x, g.p0, g.p1);
  }
  switch (g.out_dtype) {
    case DType::int8: {
      const float s = mul_fp32(y, g.scale);
      const int8_t q = std::isnan(s) ? int8_t{0} : quantize(s, 1.0f);
      std::memcpy(out, &q, 1);
      break;
    }
    case DType::bf16: {
      const uint16_t b = bf16::from_float(y).bits;
      std::memcpy(out, &b, 2);
      break;
    }
    case DType::fp16: {
      const uint16_t b = fp16::from_float(y).bits;
      std::memcpy(out, &b, 2);
      break;
    }
    default: std::memcpy(out, &y, 4);
  }
}

}  // namespace

std::string check_tpu_gemm(tpu::Tpu& tpu, const lowering::GemmCheck& g, DType dt, uint64_t R, uint64_t C,
                           uint64_t k_chunk) {
  if (!g.b_in_weights && (!g.b || g.b->empty())) return "";
  const uint8_t* ub = tpu.unified_buffer().data();
  const size_t e = dtype_bytes(dt), o = dtype_bytes(g.out_dtype);
  GemmData d;
  d.dtype = dt;
  d.m = g.m;
  d.n = g.n;
  d.k = g.k;
  d.a.assign(g.m * g.k * e, 0);
  // Bytes at `addr` in host memory or the UB.
  auto load = [&](bool host, uint64_t addr, uint8_t* dst, uint64_t n) {
    if (host)
      tpu.host().read(addr, dst, n);
    else
      std::memcpy(dst, ub + addr, n);
  };
  // Row i of a rows x cols matrix at `base`: every `stride` bytes, or blocked.
  auto load_row = [&](bool host, uint64_t base, uint64_t stride, const lowering::GemmCheck::Blocked& bl, uint64_t i,
                      uint64_t rows, uint64_t cols, size_t elem, uint8_t* dst) {
    if (bl.rows == 0) return load(host, base + i * stride, dst, cols * elem);
    for (uint64_t j = 0; j < cols; j += bl.cols)
      load(host, base + lowering::blocked_offset(i, j, rows, cols, bl.rows, bl.cols) * elem, dst + j * elem,
           std::min<uint64_t>(bl.cols, cols - j) * elem);
  };
  if (g.im2col.on) {
    // A rebuilt from the conv input as sim/workload/im2col.h defines it (zeros in the padding).
    const auto& s = g.im2col;
    const uint64_t cg = g.k / (s.kh * s.kw);
    for (uint64_t i = 0; i < g.m; ++i) {
      const uint64_t m = s.m0 + i, n = m / (s.ho * s.wo), oh = m / s.wo % s.ho, ow = m % s.wo;
      for (uint64_t c = 0; c < cg; ++c)
        for (uint64_t kh = 0; kh < s.kh; ++kh)
          for (uint64_t kw = 0; kw < s.kw; ++kw) {
            const int64_t ih = int64_t(oh * s.sh + kh * s.dh) - s.pad_top;
            const int64_t iw = int64_t(ow * s.sw + kw * s.dw) - s.pad_left;
            if (ih < 0 || iw < 0 || ih >= int64_t(s.h) || iw >= int64_t(s.w)) continue;
            const uint64_t src = s.addr + (((n * s.h + uint64_t(ih)) * s.w + uint64_t(iw)) * s.c + s.c0 + c) * e;
            load(s.host, src, &d.a[(i * g.k + (c * s.kh + kh) * s.kw + kw) * e], e);
          }
    }
  } else {
    for (uint64_t i = 0; i < g.m; ++i) load_row(g.a_host, g.a_ub, g.a_stride, g.a_blocked, i, g.m, g.k, e, &d.a[i * g.k * e]);
  }
  if (g.b_in_weights) {
    const auto tiles = tpu.weights().read(g.b_weight_addr, g.k * g.n * e);
    d.b = lowering::weight_tiles_to_matrix(tiles.data(), g.k, g.n, R, C, e);
  } else {
    d.b = *g.b;
  }
  const auto acc = reference_gemm(d, k_chunk);
  uint8_t want[4];
  std::vector<uint8_t> row(g.n * o);
  for (uint64_t i = 0; i < g.m; ++i) {
    load_row(g.c_host, g.c_ub, g.c_stride, g.c_blocked, i, g.m, g.n, o, row.data());
    for (uint64_t j = 0; j < g.n; ++j) {
      replay_activate(acc[i * g.n + j], dt != DType::int8, g, j, want);
      const uint8_t* got = row.data() + j * o;
      if (std::memcmp(got, want, o) != 0) {
        std::ostringstream os;
        os << "MISMATCH gemm " << g.m << "x" << g.n << "x" << g.k << " at (" << i << ", " << j << ")";
        return os.str();
      }
    }
  }
  return "ok";
}


}  // namespace xpu::check
