// The tensor-core shape as data (models/gpu/mma_shape.h): Volta's
// description reproduces the documented HMMA.884 decomposition and octet
// fragment layout, its steps compute D = A B + C in the documented order,
// and the config names the shape with located errors for unknown names.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <vector>

#include "gpu_test_util.h"
#include "models/gpu/decode.h"
#include "models/gpu/kernel_builder.h"
#include "models/gpu/mma_shape.h"
#include "sim/common/errors.h"
#include "sim/config/diagnostics.h"

using namespace xpu;
using namespace xpu::gpu;
using Catch::Matchers::Contains;

namespace {

const MmaShape& volta() { return mma_shape(MmaKind::volta_hmma884); }

struct Types {
  DType in;
  AccType acc;
};
const Types kTypes[] = {{DType::fp16, AccType::f32}, {DType::fp16, AccType::f16}, {DType::int8, AccType::s32}};

// Register file of one warp for step(): regs[r] -> 32 lanes.
struct WarpRegs {
  std::vector<uint32_t> words;
  std::vector<uint32_t*> ptr;
  explicit WarpRegs(uint32_t n) : words(size_t(n) * 32, 0), ptr(n) {
    for (uint32_t r = 0; r < n; ++r) ptr[r] = &words[size_t(r) * 32];
  }
};

// Writes tile element values (raw bits, elem_bytes each) into a fragment at
// register `first`, as frag_elem says element e of a lane is placed.
void place(const MmaShape& s, FragKind kind, Types t, uint8_t first, const std::vector<uint32_t>& tile, uint32_t cols,
           WarpRegs& w) {
  const uint32_t eb = MmaShape::elem_bytes(kind, t.in, t.acc);
  for (uint32_t l = 0; l < 32; ++l)
    for (uint32_t e = 0; e < s.frag_elems(kind); ++e) {
      const FragElem p = s.frag_elem(kind, t.in, t.acc, l, e);
      const uint32_t v = tile[p.row * cols + p.col] & (eb == 4 ? ~0u : (1u << (8 * eb)) - 1);
      uint32_t& word = w.ptr[first + e * eb / 4][l];
      const uint32_t shift = 8 * (e * eb % 4);
      word = eb == 4 ? v : (word & ~(((1u << (8 * eb)) - 1) << shift)) | (v << shift);
    }
}

// Raw bits of accumulator element e of a lane (fp16: 16 bits).
uint32_t fetch(Types t, uint8_t first, uint32_t lane, uint32_t e, const WarpRegs& w) {
  const uint32_t eb = MmaShape::elem_bytes(FragKind::c, t.in, t.acc);
  const uint32_t word = w.ptr[first + e * eb / 4][lane];
  return eb == 4 ? word : (word >> (8 * (e * eb % 4))) & 0xFFFFu;
}

}  // namespace

TEST_CASE("volta_hmma884: wmma m16n16k16 as 4 sets of HMMA.884 steps", "[gpu][mma]") {
  const MmaShape& s = volta();
  CHECK(std::string(s.name()) == "volta_hmma884");
  CHECK(s.kind() == MmaKind::volta_hmma884);
  CHECK((s.m() == 16 && s.n() == 16 && s.k() == 16));
  // Raihan et al.: 4 sets (k = 4 each) of 4 steps with fp32 accumulation
  // (16 HMMA.884 per wmma) or 2 with fp16 (8); int32 accumulates like fp32.
  CHECK(s.sets() == 4);
  CHECK(s.steps(AccType::f32) == 4);
  CHECK(s.steps(AccType::s32) == 4);
  CHECK(s.steps(AccType::f16) == 2);
  // 16^3 = 4096 MACs / 16 steps = 256: 4 octets x 8 rows x 2 columns x 4 k;
  // fp16 accumulation: / 8 steps = 512 (4 columns per step).
  CHECK(s.step_macs(AccType::f32) == 256);
  CHECK(s.step_macs(AccType::f16) == 512);
  // Registers per lane: A one row of 16 (fp16 8 words, int8 4), B two half
  // rows of 8 (the same), C half a row of 8 (f32/s32 8 words, f16 4).
  CHECK(s.frag_regs(FragKind::a, DType::fp16, AccType::f32) == 8);
  CHECK(s.frag_regs(FragKind::a, DType::int8, AccType::s32) == 4);
  CHECK(s.frag_regs(FragKind::b, DType::bf16, AccType::f32) == 8);
  CHECK(s.frag_regs(FragKind::b, DType::int8, AccType::s32) == 4);
  CHECK(s.frag_regs(FragKind::c, DType::fp16, AccType::f32) == 8);
  CHECK(s.frag_regs(FragKind::c, DType::fp16, AccType::f16) == 4);
  CHECK(s.frag_regs(FragKind::c, DType::int8, AccType::s32) == 8);
}

TEST_CASE("volta_hmma884: the octet fragment layout", "[gpu][mma]") {
  const MmaShape& s = volta();
  const Types f32{DType::fp16, AccType::f32};
  auto c = [&](uint32_t lane, uint32_t e) { return s.frag_elem(FragKind::c, f32.in, f32.acc, lane, e); };
  auto b = [&](uint32_t lane, uint32_t e) { return s.frag_elem(FragKind::b, f32.in, f32.acc, lane, e); };
  auto a = [&](uint32_t lane, uint32_t e) { return s.frag_elem(FragKind::a, f32.in, f32.acc, lane, e); };
  // Threadgroup g = lane / 4; octet o = g % 4 (threadgroups o and o + 4)
  // owns the 8x8 C subtile at (8 (o / 2), 8 (o % 2)); q = lane % 4 + 4 (g / 4).
  // Lane 0: g 0, octet 0, q 0 -> C row 0, columns 0..7; A row 0; B rows 0, 1.
  CHECK((c(0, 0).row == 0 && c(0, 0).col == 0 && c(0, 7).col == 7));
  CHECK((a(0, 5).row == 0 && a(0, 5).col == 5));
  CHECK((b(0, 3).row == 0 && b(0, 3).col == 3 && b(0, 8).row == 1 && b(0, 8).col == 0));
  // Lane 17: g 4 -> octet 0 (pairs threadgroups 0 and 4), q = 1 + 4 = 5:
  // C row 5, columns 0..7; A row 5; B rows 10 and 11.
  CHECK((c(17, 2).row == 5 && c(17, 2).col == 2));
  CHECK((a(17, 15).row == 5 && a(17, 15).col == 15));
  CHECK((b(17, 0).row == 10 && b(17, 15).row == 11 && b(17, 15).col == 7));
  // Lane 6: g 1 -> octet 1 (subtile (0, 8)), q 2: C row 2, columns 8..15.
  CHECK((c(6, 0).row == 2 && c(6, 0).col == 8 && c(6, 7).col == 15));
  CHECK((b(6, 9).row == 5 && b(6, 9).col == 9));
  // Lane 9: g 2 -> octet 2 (subtile (8, 0)), q 1: C row 9, columns 0..7.
  CHECK((c(9, 4).row == 9 && c(9, 4).col == 4));
  // Lane 31: g 7 -> octet 3 (subtile (8, 8)), q = 3 + 4 = 7: C row 15,
  // columns 8..15; B rows 14, 15, columns 8..15.
  CHECK((c(31, 7).row == 15 && c(31, 7).col == 15));
  CHECK((b(31, 8).row == 15 && b(31, 8).col == 8));

  for (const Types t : kTypes) {
    // Every C element has exactly one owner; every A and B element is held
    // by two lanes (the two octets sharing an output row band / column band).
    std::map<std::pair<uint32_t, uint32_t>, int> ca, aa, ba;
    for (uint32_t l = 0; l < 32; ++l) {
      for (uint32_t e = 0; e < s.frag_elems(FragKind::c); ++e) {
        const FragElem p = s.frag_elem(FragKind::c, t.in, t.acc, l, e);
        ++ca[{p.row, p.col}];
      }
      for (uint32_t e = 0; e < s.frag_elems(FragKind::a); ++e) {
        const FragElem p = s.frag_elem(FragKind::a, t.in, t.acc, l, e);
        ++aa[{p.row, p.col}];
      }
      for (uint32_t e = 0; e < s.frag_elems(FragKind::b); ++e) {
        const FragElem p = s.frag_elem(FragKind::b, t.in, t.acc, l, e);
        ++ba[{p.row, p.col}];
      }
    }
    CHECK(ca.size() == 256);
    CHECK(aa.size() == 256);
    CHECK(ba.size() == 256);
    bool once = true, twice = true;
    for (const auto& kv : ca) once &= kv.second == 1;
    for (const auto& kv : aa) twice &= kv.second == 2;
    for (const auto& kv : ba) twice &= kv.second == 2;
    CHECK(once);
    CHECK(twice);
    // The memory parts a fragment load moves put each element where its
    // register says: part p of a lane holds elements [p P / eb, (p + 1) P / eb)
    // (P = part bytes, eb = element bytes), so element e is at the part's
    // offset + (e eb mod P), which must be row x ldm + col x eb in the tile.
    const uint32_t ldm = 80;  // a padded row pitch, distinct from 16 x eb
    for (const FragKind kind : {FragKind::a, FragKind::b, FragKind::c}) {
      const uint32_t eb = MmaShape::elem_bytes(kind, t.in, t.acc), P = s.frag_part_bytes(kind, t.in, t.acc);
      CHECK(s.frag_parts(kind, t.in, t.acc) * P == s.frag_elems(kind) * eb);
      bool same = true;
      for (uint32_t l = 0; l < 32; ++l)
        for (uint32_t e = 0; e < s.frag_elems(kind); ++e) {
          const FragElem p = s.frag_elem(kind, t.in, t.acc, l, e);
          const uint32_t off = s.frag_lane_offset(kind, t.in, t.acc, l, e * eb / P, ldm) + e * eb % P;
          same &= off == p.row * ldm + p.col * eb;
        }
      CHECK(same);
    }
  }
  // Operands of one step, fp16 with fp32 accumulation, set 2, step 3: A
  // registers 4, 5 (k 8..11, two per register), all 8 B registers, the
  // accumulator pair 6, 7 (columns 6 and 7 of the lane's 8).
  Instr in;
  in.op = Op::hmma;
  in.a = 0;
  in.b = 8;
  in.c = 16;
  in.dst = 16;
  in.set = 2;
  in.step = 3;
  MmaStepRegs r = s.step_regs(in);
  CHECK((r.a_first == 4 && r.a_count == 2 && r.b_first == 8 && r.b_count == 8));
  CHECK((r.c_first == 22 && r.c_count == 2 && r.d_first == 22 && r.d_count == 2));
  // fp16 accumulation, step 1: registers 2, 3 of the 4 (columns 4..7, two per register).
  in.acc = AccType::f16;
  in.step = 1;
  r = s.step_regs(in);
  CHECK((r.d_first == 18 && r.d_count == 2));
  // int8, set 3: A register 3 (k 12..15, four per register), 4 B registers.
  in.set = 3;
  in.in = DType::int8;
  in.acc = AccType::s32;
  r = s.step_regs(in);
  CHECK((r.a_first == 3 && r.a_count == 1 && r.b_count == 4));
}

TEST_CASE("volta_hmma884: steps compute D = A B + C in the documented order", "[gpu][mma]") {
  const MmaShape& s = volta();
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<int> id(-128, 127);
  for (const Types t : kTypes) {
    const bool i8 = t.in == DType::int8, h = t.acc == AccType::f16;
    std::vector<uint32_t> A(256), B(256), C(256);
    for (auto& v : A) v = i8 ? uint32_t(uint8_t(id(rng))) : fp16::from_float(nd(rng)).bits;
    for (auto& v : B) v = i8 ? uint32_t(uint8_t(id(rng))) : fp16::from_float(nd(rng)).bits;
    for (auto& v : C) v = i8 ? uint32_t(id(rng) * 1000) : h ? fp16::from_float(nd(rng)).bits : float_to_bits(nd(rng));
    WarpRegs w(40);
    const uint8_t ra = 0, rb = 8, rc = 16, rd = 24;
    place(s, FragKind::a, t, ra, A, 16, w);
    place(s, FragKind::b, t, rb, B, 16, w);
    place(s, FragKind::c, t, rc, C, 16, w);
    // As the kernel builder issues one wmma: set-major, set 0 reads C, later sets D.
    for (uint32_t set = 0; set < s.sets(); ++set)
      for (uint32_t step = 0; step < s.steps(t.acc); ++step) {
        Instr in;
        in.op = Op::hmma;
        in.a = ra;
        in.b = rb;
        in.c = set == 0 ? rc : rd;
        in.dst = rd;
        in.set = static_cast<uint8_t>(set);
        in.step = static_cast<uint8_t>(step);
        in.in = t.in;
        in.acc = t.acc;
        s.step(in, w.ptr.data());
      }
    // Reference, independent of the layout: per element, for each set s the
    // four-term dot product of k = 4s..4s+3 with exact fp32 products and
    // the adder tree (p0 + p1) + (p2 + p3), added to the accumulator (fp16
    // accumulation: rounded to fp16 after the add); int8: exact int32.
    auto af = [&](uint32_t i, uint32_t k) { return fp16::from_bits(uint16_t(A[i * 16 + k])).to_float(); };
    auto bf = [&](uint32_t k, uint32_t j) { return fp16::from_bits(uint16_t(B[k * 16 + j])).to_float(); };
    bool exact = true;
    INFO("inputs " << dtype_name(t.in) << ", accumulator " << int(t.acc));
    for (uint32_t l = 0; l < 32; ++l)
      for (uint32_t e = 0; e < s.frag_elems(FragKind::c); ++e) {
        const FragElem p = s.frag_elem(FragKind::c, t.in, t.acc, l, e);
        uint32_t want;
        if (i8) {
          int32_t acc = int32_t(C[p.row * 16 + p.col]);
          for (uint32_t k = 0; k < 16; ++k)
            acc += int32_t(int8_t(uint8_t(A[p.row * 16 + k]))) * int32_t(int8_t(uint8_t(B[k * 16 + p.col])));
          want = uint32_t(acc);
        } else {
          const uint32_t c0 = C[p.row * 16 + p.col];
          float acc = h ? fp16::from_bits(uint16_t(c0)).to_float() : bits_to_float(c0);
          for (uint32_t k0 = 0; k0 < 16; k0 += 4) {
            float q[4];
            for (uint32_t i = 0; i < 4; ++i) q[i] = af(p.row, k0 + i) * bf(k0 + i, p.col);  // exact in fp32
            acc = acc + ((q[0] + q[1]) + (q[2] + q[3]));
            if (h) acc = fp16::from_float(acc).to_float();
          }
          want = h ? fp16::from_float(acc).bits : float_to_bits(acc);
        }
        exact &= fetch(t, rd, l, e, w) == want;
      }
    CHECK(exact);
  }
}

TEST_CASE("gpu config: tensor_core.mma names the shape, unknown names are located errors", "[gpu][config][mma]") {
  CHECK(test::load("v100.yaml").tensor_core.mma == MmaKind::volta_hmma884);
  CHECK(test::load("gpu_small.yaml").tensor_core.mma == MmaKind::volta_hmma884);
  // A file with an unknown shape on line 3, column 8.
  const std::string path =
      (std::filesystem::temp_directory_path() / ("xpusim_gpu_" + std::to_string(::getpid()) + "_mma.yaml")).string();
  std::ofstream(path) << "kind: gpu\ntensor_core:\n  mma: volta_hmma88\n";
  std::string msg;
  try {
    config::load_gpu_config(path);
  } catch (const config::ConfigError& e) {
    msg = e.what();
  }
  std::remove(path.c_str());
  CHECK_THAT(msg, Contains("_mma.yaml:3:8: tensor_core.mma: expected one of volta_hmma884, ampere_mma_sync, got \"volta_hmma88\""));
  CHECK_THAT(msg, Contains("did you mean 'volta_hmma884'"));
  // Overrides are checked the same way.
  CHECK_THROWS_AS(test::load("v100.yaml", {"tensor_core.mma=ampere_m16n8k16"}), config::ConfigError);
}

namespace {

// A shape that is not the config's (one m16n8k16 instruction per warp
// operation, lanes holding whole rows): only the builder's bookkeeping is used.
class OtherShape final : public MmaShape {
 public:
  OtherShape() : MmaShape(MmaKind::volta_hmma884, 16, 8, 16, 1) {}
  uint32_t steps(AccType) const override { return 1; }
  uint32_t frag_elems(FragKind kind) const override { return kind == FragKind::b ? 4 : 8; }
  FragElem frag_elem(FragKind, DType, AccType, uint32_t lane, uint32_t e) const override { return {lane / 2, e}; }
  uint32_t frag_part_bytes(FragKind kind, DType in, AccType acc) const override {
    return frag_elems(kind) * elem_bytes(kind, in, acc);
  }
  uint32_t frag_lane_offset(FragKind, DType, AccType, uint32_t lane, uint32_t, uint32_t ldm) const override {
    return lane / 2 * ldm;
  }
  MmaStepRegs step_regs(const Instr& in) const override { return {in.a, 4, in.b, 2, in.c, 4, in.dst, 4}; }
  MmaStepTraffic step_rf(const Instr&) const override { return {0, 0}; }
  void step(const Instr&, uint32_t* const*) const override {}
};

}  // namespace

TEST_CASE("tensor-core kernels carry their shape, another than the config's is an internal error", "[gpu][mma]") {
  // Without a shape the builder cannot lay out fragments.
  KernelBuilder none("no_shape");
  CHECK_THROWS_AS(none.frag(FragKind::c, DType::fp16, AccType::f32), InternalError);

  const GpuConfig cfg = test::load("v100.yaml");
  auto build = [](const MmaShape& s) {
    KernelBuilder kb("mma", &s);
    const Frag c = kb.frag(FragKind::c, DType::fp16, AccType::f32);
    const Frag a = kb.frag(FragKind::a, DType::fp16, AccType::f32), b = kb.frag(FragKind::b, DType::fp16, AccType::f32);
    kb.wmma_mma(c, a, b, c);
    return kb.finish();
  };
  // Volta: 8 + 8 + 8 fragment registers, 16 HMMA steps (4 sets x 4) + EXIT.
  const Kernel volta_k = build(volta());
  CHECK(volta_k.mma == &volta());
  CHECK(volta_k.regs_per_thread == 24);
  CHECK(volta_k.code.size() == 17);
  CHECK(decode(volta_k, cfg).size() == 17);
  // The other shape: C 8 f32 (8 regs), A 8 fp16 (4), B 4 fp16 (2); one instruction + EXIT.
  const OtherShape other;
  const Kernel other_k = build(other);
  CHECK(other_k.code.size() == 2);
  CHECK_THROWS_AS(decode(other_k, cfg), InternalError);
}
