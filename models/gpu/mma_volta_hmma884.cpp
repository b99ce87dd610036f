#include "models/gpu/mma_volta_hmma884.h"

#include <string>

#include "sim/common/errors.h"

namespace xpu::gpu {

namespace {

inline uint32_t lane_of(uint32_t octet, uint32_t q) { return VoltaHmma884::lane_of(octet, q); }

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
          // Read the source word before writing: dst may alias c. The odd
          // column's partner half was just written to dst (the step's
          // columns start even), so keep that one from dst, not from c.
          const uint32_t keep = (c % 2) ? (w & 0xFFFFu) : (src & 0xFFFF0000u);
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

FragElem VoltaHmma884::frag_elem(FragKind kind, DType, AccType, uint32_t lane, uint32_t e) const {
  const LaneCoord c = lane_coord(lane);
  switch (kind) {
    case FragKind::a: return {c.row0 + c.q, e};
    case FragKind::b: return {2 * c.q + e / 8, c.col0 + e % 8};
    case FragKind::c: return {c.row0 + c.q, c.col0 + e};
  }
  return {0, 0};
}

uint32_t VoltaHmma884::frag_lane_offset(FragKind kind, DType in, AccType acc, uint32_t lane, uint32_t part,
                                        uint32_t ldm) const {
  const LaneCoord c = lane_coord(lane);
  const uint32_t e = elem_bytes(kind, in, acc);
  switch (kind) {
    case FragKind::a: return (c.row0 + c.q) * ldm + part * 16;
    case FragKind::b: return (2 * c.q + part) * ldm + c.col0 * e;
    case FragKind::c: return (c.row0 + c.q) * ldm + c.col0 * e + part * 16;
  }
  return 0;
}

MmaStepRegs VoltaHmma884::step_regs(const Instr& in) const {
  MmaStepRegs r{};
  const bool i8 = in.in == DType::int8;
  r.a_first = static_cast<uint8_t>(in.a + (i8 ? in.set : 2 * in.set));  // the set's k values
  r.a_count = i8 ? 1 : 2;
  r.b_first = in.b;  // the whole fragment: steps pick columns
  r.b_count = i8 ? 4 : 8;
  r.c_first = static_cast<uint8_t>(in.c + 2 * in.step);  // the step's accumulator pair
  r.c_count = 2;
  r.d_first = static_cast<uint8_t>(in.dst + 2 * in.step);
  r.d_count = 2;
  return r;
}

MmaStepTraffic VoltaHmma884::step_rf(const Instr& in) const {
  // A: the set's k registers in every lane; B: the step's columns of the
  // set's 4 rows in each octet; C: the step's accumulator pair in every lane.
  const bool i8 = in.in == DType::int8, f16 = in.acc == AccType::f16;
  const uint32_t a = 32u * (i8 ? 1 : 2);
  const uint32_t bregs = i8 ? 8 : (f16 ? 32 : 16);
  return {static_cast<uint16_t>(a + bregs + 64), 64};
}

void VoltaHmma884::step(const Instr& in, uint32_t* const* regs) const {
  switch (in.in) {
    case DType::fp16: step_float<fp16>(in, regs); break;
    case DType::bf16: step_float<bf16>(in, regs); break;
    case DType::int8: step_int8(in, regs); break;
    default: throw InternalError("HMMA step with " + std::string(dtype_name(in.in)) + " inputs");
  }
}

}  // namespace xpu::gpu
