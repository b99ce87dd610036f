#include "models/gpu/mma_ampere_mma_sync.h"

#include <cstring>
#include <string>

#include "sim/common/errors.h"

namespace xpu::gpu {

namespace {

inline uint16_t half_of(uint32_t w, uint32_t i) { return static_cast<uint16_t>(i ? w >> 16 : w & 0xFFFF); }
inline int8_t byte_of(uint32_t w, uint32_t i) { return static_cast<int8_t>(static_cast<uint8_t>(w >> (8 * i))); }

// Elements per 32-bit register of an A/B operand.
inline uint32_t per_reg(DType in) { return in == DType::int8 ? 4 : in == DType::fp32 ? 1 : 2; }

// Register, lane and sub-word index holding A[row][k] / B[k][col] / C[row][col].
struct Where {
  uint32_t reg, lane, sub;
};
inline Where a_where(DType in, uint32_t row, uint32_t k) {
  const uint32_t pr = per_reg(in), kb = k * (4 / pr);  // byte column in a row of 16 bytes per half
  // byte column 4t + 16 (r / 2): t = (kb % 16) / 4, r = (row / 8) + 2 (kb / 16)
  return {row / 8 + 2 * (kb / 16), 4 * (row % 8) + (kb % 16) / 4, k % pr};
}
inline Where b_where(DType in, uint32_t k, uint32_t col) {
  const uint32_t pr = per_reg(in);
  // Rows of register r: pr t + (k within the register) + 4 pr r... i.e.
  // k = pr t + sub + (4 pr) r for 16-bit and int8; tf32: k = t + 4 r.
  return {k / (4 * pr), 4 * col + (k % (4 * pr)) / pr, k % pr};
}
inline Where c_where(uint32_t row, uint32_t col) { return {2 * (row / 8) + col % 2, 4 * (row % 8) + col / 2, 0}; }

template <typename T>
float elem16(const uint32_t* const* R, uint8_t base, Where w) {
  return T::from_bits(half_of(R[base + w.reg][w.lane], w.sub)).to_float();
}

// Pairwise tree over n (a power of two) products, rounding after every add.
float tree(float* p, uint32_t n) {
  for (uint32_t w = n; w > 1; w /= 2)
    for (uint32_t i = 0; i < w / 2; ++i) p[i] = add_fp32(p[2 * i], p[2 * i + 1]);
  return p[0];
}

// The 16 x 8 float accumulator tile of C (f32 registers, or f16 halves:
// elements 2i, 2i+1 of a lane share register i) and its write to D.
void read_c(const Instr& in, uint32_t* const* R, float (&acc)[16][8]) {
  for (uint32_t r = 0; r < 16; ++r)
    for (uint32_t c = 0; c < 8; ++c) {
      const Where w = c_where(r, c);
      acc[r][c] = in.acc == AccType::f16 ? fp16::from_bits(half_of(R[in.c + r / 8][w.lane], c % 2)).to_float()
                                         : bits_to_float(R[in.c + w.reg][w.lane]);
    }
}
void write_d(const Instr& in, uint32_t* const* R, const float (&acc)[16][8]) {
  for (uint32_t r = 0; r < 16; ++r)
    for (uint32_t c = 0; c < 8; ++c) {
      const Where w = c_where(r, c);
      if (in.acc == AccType::f16) {
        uint32_t& word = R[in.dst + r / 8][w.lane];
        const uint32_t h = fp16::from_float(acc[r][c]).bits;
        word = c % 2 ? (word & 0xFFFFu) | (h << 16) : (word & 0xFFFF0000u) | h;
      } else {
        R[in.dst + w.reg][w.lane] = float_to_bits(acc[r][c]);
      }
    }
}

template <typename Get>
void step_float(const Instr& in, uint32_t* const* R, uint32_t K, uint32_t group, Get a_elem, Get b_elem) {
  const bool f16 = in.acc == AccType::f16;
  float acc[16][8];
  read_c(in, R, acc);
  float a[16][32], b[32][8];
  for (uint32_t r = 0; r < 16; ++r)
    for (uint32_t k = 0; k < K; ++k) a[r][k] = a_elem(R, in.a, a_where(in.in, r, k));
  for (uint32_t k = 0; k < K; ++k)
    for (uint32_t c = 0; c < 8; ++c) b[k][c] = b_elem(R, in.b, b_where(in.in, k, c));
  for (uint32_t r = 0; r < 16; ++r)
    for (uint32_t c = 0; c < 8; ++c) {
      float s = acc[r][c];
      for (uint32_t k0 = 0; k0 < K; k0 += group) {
        float p[8];
        for (uint32_t j = 0; j < group; ++j) p[j] = mul_fp32(a[r][k0 + j], b[k0 + j][c]);
        s = add_fp32(s, tree(p, group));
        if (f16) s = fp16::from_float(s).to_float();
      }
      acc[r][c] = s;
    }
  write_d(in, R, acc);  // after every read of C (D may alias C)
}

void step_int8(const Instr& in, uint32_t* const* R) {
  int32_t acc[16][8];
  for (uint32_t r = 0; r < 16; ++r)
    for (uint32_t c = 0; c < 8; ++c) {
      const Where w = c_where(r, c);
      acc[r][c] = static_cast<int32_t>(R[in.c + w.reg][w.lane]);
      for (uint32_t k = 0; k < 32; ++k) {
        const Where wa = a_where(DType::int8, r, k), wb = b_where(DType::int8, k, c);
        acc[r][c] = mac_int8(acc[r][c], byte_of(R[in.a + wa.reg][wa.lane], wa.sub),
                             byte_of(R[in.b + wb.reg][wb.lane], wb.sub));
      }
    }
  for (uint32_t r = 0; r < 16; ++r)
    for (uint32_t c = 0; c < 8; ++c) {
      const Where w = c_where(r, c);
      R[in.dst + w.reg][w.lane] = static_cast<uint32_t>(acc[r][c]);
    }
}

}  // namespace

float AmpereMmaSync::tf32(uint32_t bits) {
  const bool nan = (bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu) != 0;
  uint32_t t = bits & 0xFFFFE000u;
  if (nan && (t & 0x007FFFFFu) == 0) t |= 0x00400000u;  // the payload was all in the dropped bits: quiet NaN
  return bits_to_float(t);
}

uint32_t AmpereMmaSync::frag_elems_of(FragKind kind, DType in) const {
  if (kind == FragKind::c) return 4;
  return (kind == FragKind::a ? 4 : 2) * per_reg(in);
}

FragElem AmpereMmaSync::frag_elem(FragKind kind, DType in, AccType, uint32_t lane, uint32_t e) const {
  const uint32_t g = lane / 4, t = lane % 4, pr = per_reg(in);
  switch (kind) {
    case FragKind::a: {
      const uint32_t r = e / pr;  // register
      return {g + 8 * (r % 2), pr * t + e % pr + 4 * pr * (r / 2)};
    }
    case FragKind::b: {
      const uint32_t r = e / pr;
      return {pr * t + e % pr + 4 * pr * r, g};
    }
    case FragKind::c: return {g + 8 * (e / 2), 2 * t + e % 2};
  }
  return {0, 0};
}

uint32_t AmpereMmaSync::frag_lane_offset(FragKind kind, DType in, AccType acc, uint32_t lane, uint32_t part,
                                         uint32_t ldm) const {
  const uint32_t g = lane / 4, t = lane % 4;
  switch (kind) {
    case FragKind::a: return (g + 8 * (part % 2)) * ldm + 4 * t + 16 * (part / 2);
    case FragKind::b:
      if (in == DType::fp32) return (t + 4 * part) * ldm + 4 * g;  // row-major K x N
      if (in == DType::int8) return g * ldm + 4 * t + 16 * part;   // K-major N x K
      throw InternalError("ampere_mma_sync: 16-bit B fragments load by ldmatrix.trans from shared memory");
    case FragKind::c: return (g + 8 * part) * ldm + 2 * t * elem_bytes(kind, in, acc);
  }
  return 0;
}

MmaShape::LdMatrix AmpereMmaSync::ldmatrix(FragKind kind, DType in) const {
  if (kind == FragKind::a) return {4, false};
  if (kind == FragKind::b && in != DType::fp32) return {2, in != DType::int8};
  return {};
}

uint32_t AmpereMmaSync::ldmatrix_lane_offset(FragKind kind, DType in, uint32_t lane, uint32_t ldm) const {
  const uint32_t i = (lane / 8) % ldmatrix(kind, in).matrices, r = lane % 8;  // lanes past the last matrix repeat
  if (kind == FragKind::a) return (r + 8 * (i % 2)) * ldm + 16 * (i / 2);
  // B: 16-bit row-major K x N (rows k = 8 i + r), int8 K-major (rows n = r, bytes 16 i).
  return in == DType::int8 ? r * ldm + 16 * i : (8 * i + r) * ldm;
}

MmaStepRegs AmpereMmaSync::step_regs(const Instr& in) const {
  const uint8_t c = in.acc == AccType::f16 ? 2 : 4;
  return {in.a, 4, in.b, static_cast<uint8_t>(in.sparse ? 4 : 2), in.c, c, in.dst, c};  // mma.sp: B is k32
}

MmaStepTraffic AmpereMmaSync::step_rf(const Instr& in) const {
  const uint16_t c = in.acc == AccType::f16 ? 2 : 4, b = in.sparse ? 4 + 1 : 2;  // + the metadata register
  return {static_cast<uint16_t>(32 * (4 + b + c)), static_cast<uint16_t>(32 * c)};
}

namespace {

// mma.sp m16n8k32 (16-bit): the stored A (16 x 16, the dense m16n8k16 A
// layout) holds the two kept values of each group of 4 along K; the lane's
// metadata register gives, in bits 4r..4r+3, the two 2-bit positions (first
// the lower) of the values in its A register r. Per output, the 16 kept
// products in ascending k are summed in 2 groups of 8 like the dense shape;
// pruned positions contribute nothing.
template <typename T>
void step_sparse(const Instr& in, uint32_t* const* R) {
  const bool f16 = in.acc == AccType::f16;
  float acc[16][8];
  read_c(in, R, acc);
  for (uint32_t r = 0; r < 16; ++r) {
    float a[16];
    uint32_t k[16];  // the kept values of row r and their dense k
    for (uint32_t s = 0; s < 16; ++s) {
      const Where wa = a_where(DType::fp16, r, s);
      a[s] = T::from_bits(half_of(R[in.a + wa.reg][wa.lane], wa.sub)).to_float();
      const uint32_t idx = (R[in.meta][wa.lane] >> (4 * wa.reg + 2 * wa.sub)) & 3;
      k[s] = 4 * (s / 2) + idx;
    }
    for (uint32_t c = 0; c < 8; ++c) {
      float s = acc[r][c];
      for (uint32_t g = 0; g < 2; ++g) {
        float p[8];
        for (uint32_t j = 0; j < 8; ++j) p[j] = mul_fp32(a[8 * g + j], elem16<T>(R, in.b, b_where(DType::fp16, k[8 * g + j], c)));
        s = add_fp32(s, tree(p, 8));
        if (f16) s = fp16::from_float(s).to_float();
      }
      acc[r][c] = s;
    }
  }
  write_d(in, R, acc);
}

// mma.sp m16n8k64 (int8): the stored A is the dense m16n8k32 A (16 x 32
// bytes, two kept values of each group of 4 along K); metadata bits
// 8r + 2i of a lane give the position of byte i of its A register r in its
// group; B is k64 (register r: rows 4t..4t+3 + 16r). Exact products,
// wrapping int32 adds.
void step_sparse_int8(const Instr& in, uint32_t* const* R) {
  int32_t acc[16][8];
  for (uint32_t r = 0; r < 16; ++r)
    for (uint32_t c = 0; c < 8; ++c) {
      const Where w = c_where(r, c);
      acc[r][c] = static_cast<int32_t>(R[in.c + w.reg][w.lane]);
    }
  for (uint32_t r = 0; r < 16; ++r)
    for (uint32_t s = 0; s < 32; ++s) {
      const Where wa = a_where(DType::int8, r, s);
      const int8_t a = byte_of(R[in.a + wa.reg][wa.lane], wa.sub);
      const uint32_t k = 4 * (s / 2) + ((R[in.meta][wa.lane] >> (8 * wa.reg + 2 * wa.sub)) & 3);
      for (uint32_t c = 0; c < 8; ++c) {
        const Where wb = b_where(DType::int8, k, c);
        acc[r][c] = mac_int8(acc[r][c], a, byte_of(R[in.b + wb.reg][wb.lane], wb.sub));
      }
    }
  for (uint32_t r = 0; r < 16; ++r)
    for (uint32_t c = 0; c < 8; ++c) {
      const Where w = c_where(r, c);
      R[in.dst + w.reg][w.lane] = static_cast<uint32_t>(acc[r][c]);
    }
}

}  // namespace

void AmpereMmaSync::step(const Instr& in, uint32_t* const* regs) const {
  if (in.sparse) {
    if (in.in == DType::fp16) return step_sparse<fp16>(in, regs);
    if (in.in == DType::bf16) return step_sparse<bf16>(in, regs);
    if (in.in == DType::int8) return step_sparse_int8(in, regs);
    throw InternalError("mma.sp with " + std::string(dtype_name(in.in)) + " inputs (the model has 16-bit and int8 sparse A)");
  }
  auto fp16_at = [](const uint32_t* const* R, uint8_t base, Where w) { return elem16<fp16>(R, base, w); };
  auto bf16_at = [](const uint32_t* const* R, uint8_t base, Where w) { return elem16<bf16>(R, base, w); };
  auto tf32_at = [](const uint32_t* const* R, uint8_t base, Where w) { return tf32(R[base + w.reg][w.lane]); };
  switch (in.in) {
    case DType::fp16: step_float(in, regs, 16, 8, +fp16_at, +fp16_at); break;
    case DType::bf16: step_float(in, regs, 16, 8, +bf16_at, +bf16_at); break;
    case DType::fp32: step_float(in, regs, 8, 4, +tf32_at, +tf32_at); break;
    case DType::int8: step_int8(in, regs); break;
    default: throw InternalError("mma.sync with " + std::string(dtype_name(in.in)) + " inputs");
  }
}

}  // namespace xpu::gpu
