#include "models/gpu/tensor_core.h"

#include "models/gpu/fragment.h"

namespace xpu::gpu {

namespace {

inline uint16_t half_of(uint32_t w, uint32_t i) { return static_cast<uint16_t>(i ? w >> 16 : w & 0xFFFF); }
inline int8_t byte_of(uint32_t w, uint32_t i) { return static_cast<int8_t>(static_cast<uint8_t>(w >> (8 * i))); }

// Element (row q of the octet, k) of A and (k, local col c) of B, as fp32.
template <typename T>
inline float a_elem(uint32_t* const* R, const Instr& in, uint32_t o, uint32_t q, uint32_t k) {
  return T::from_bits(half_of(R[in.a + k / 2][lane_of(o, q)], k % 2)).to_float();
}
template <typename T>
inline float b_elem(uint32_t* const* R, const Instr& in, uint32_t o, uint32_t k, uint32_t c) {
  return T::from_bits(half_of(R[in.b + (k % 2) * 4 + c / 2][lane_of(o, k / 2)], c % 2)).to_float();
}

template <typename T>
void step_float(const Instr& in, uint32_t* const* R) {
  const uint32_t k0 = 4 * in.set;
  const bool f16 = in.acc == AccType::f16;
  // Columns of the octet's 8 this step writes: f32 2 (one register pair of
  // one column each), f16 4 (a pair of registers holding two columns each).
  const uint32_t ncols = f16 ? 4 : 2, c_first = ncols * in.step;
  for (uint32_t o = 0; o < 4; ++o)
    for (uint32_t q = 0; q < 8; ++q) {
      const uint32_t lane = lane_of(o, q);
      for (uint32_t cc = 0; cc < ncols; ++cc) {
        const uint32_t c = c_first + cc;
        float p[4];
        for (uint32_t i = 0; i < 4; ++i)
          p[i] = mul_fp32(a_elem<T>(R, in, o, q, k0 + i), b_elem<T>(R, in, o, k0 + i, c));
        const float dot = add_fp32(add_fp32(p[0], p[1]), add_fp32(p[2], p[3]));
        if (!f16) {
          const float acc = bits_to_float(R[in.c + c][lane]);
          R[in.dst + c][lane] = float_to_bits(add_fp32(acc, dot));
        } else {
          uint32_t& w = R[in.dst + c / 2][lane];
          const uint32_t src = R[in.c + c / 2][lane];
          const float acc = fp16::from_bits(half_of(src, c % 2)).to_float();
          const uint16_t h = fp16::from_float(add_fp32(acc, dot)).bits;
          // Read the source word before writing: dst may alias c.
          const uint32_t keep = (c % 2) ? (src & 0xFFFFu) : (src & 0xFFFF0000u);
          w = (c % 2) ? (keep | (uint32_t(h) << 16)) : (keep | h);
        }
      }
    }
}

void step_int8(const Instr& in, uint32_t* const* R) {
  const uint32_t k0 = 4 * in.set, c_first = 2 * in.step;
  for (uint32_t o = 0; o < 4; ++o)
    for (uint32_t q = 0; q < 8; ++q) {
      const uint32_t lane = lane_of(o, q);
      for (uint32_t c = c_first; c < c_first + 2; ++c) {
        int32_t acc = static_cast<int32_t>(R[in.c + c][lane]);
        for (uint32_t i = 0; i < 4; ++i) {
          const uint32_t k = k0 + i;
          const int8_t a = byte_of(R[in.a + k / 4][lane], k % 4);
          // B int8: reg 0,1 = row 2q (cols 4r..4r+3), reg 2,3 = row 2q+1.
          const int8_t b = byte_of(R[in.b + (k % 2) * 2 + c / 4][lane_of(o, k / 2)], c % 4);
          acc = mac_int8(acc, a, b);
        }
        R[in.dst + c][lane] = static_cast<uint32_t>(acc);
      }
    }
}

}  // namespace

void hmma_step(const Instr& in, uint32_t* const* regs) {
  switch (in.in) {
    case DType::fp16: step_float<fp16>(in, regs); break;
    case DType::bf16: step_float<bf16>(in, regs); break;
    case DType::int8: step_int8(in, regs); break;
    default: break;
  }
}

HmmaRegs hmma_regs(const Instr& in) {
  HmmaRegs r{};
  const bool i8 = in.in == DType::int8;
  r.a_first = static_cast<uint8_t>(in.a + (i8 ? in.set : 2 * in.set));
  r.a_count = i8 ? 1 : 2;
  r.b_first = in.b;
  r.b_count = i8 ? 4 : 8;
  r.d_first = static_cast<uint8_t>(in.dst + 2 * in.step);
  r.d_count = 2;
  return r;
}

}  // namespace xpu::gpu
