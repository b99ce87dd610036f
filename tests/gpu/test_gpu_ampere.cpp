// Ampere (models/gpu/mma_ampere_mma_sync.h, configs a100.yaml and
// ampere_small.yaml): the mma.sync fragment layouts of the PTX ISA, every
// shape and type bit-exact against a layout-free reference (NaN, Inf and
// subnormal inputs included), ldmatrix and cp.async in kernels, the GEMM
// lowering on the Ampere shape, the split L2, and microbenchmarks against
// published A100 figures.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "models/gpu/kernel_builder.h"
#include "models/gpu/launch_cost.h"
#include "models/gpu/memory_system.h"
#include "models/gpu/mma_ampere_mma_sync.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/tc_reference.h"

using namespace xpu;
using namespace xpu::gpu;
using namespace xpu::lowering::gpu;
using Catch::Matchers::Contains;

namespace {

const MmaShape& ampere() { return mma_shape(MmaKind::ampere_mma_sync); }

struct Types {
  DType in;
  AccType acc;
};
const Types kTypes[] = {{DType::fp16, AccType::f32}, {DType::fp16, AccType::f16}, {DType::bf16, AccType::f32},
                        {DType::bf16, AccType::f16}, {DType::fp32, AccType::f32}, {DType::int8, AccType::s32}};

struct WarpRegs {
  std::vector<uint32_t> words;
  std::vector<uint32_t*> ptr;
  explicit WarpRegs(uint32_t n) : words(size_t(n) * 32, 0), ptr(n) {
    for (uint32_t r = 0; r < n; ++r) ptr[r] = &words[size_t(r) * 32];
  }
};

uint32_t mask_of(uint32_t eb) { return eb == 4 ? ~0u : (1u << (8 * eb)) - 1; }

// Tile values (raw bits) into a fragment as frag_elem places them.
void place(FragKind kind, Types t, uint8_t first, const std::vector<uint32_t>& tile, uint32_t cols, WarpRegs& w) {
  const MmaShape& s = ampere();
  const uint32_t eb = MmaShape::elem_bytes(kind, t.in, t.acc);
  for (uint32_t l = 0; l < 32; ++l)
    for (uint32_t e = 0; e < s.frag_elems_of(kind, t.in); ++e) {
      const FragElem p = s.frag_elem(kind, t.in, t.acc, l, e);
      const uint32_t v = tile[p.row * cols + p.col] & mask_of(eb), shift = 8 * (e * eb % 4);
      uint32_t& word = w.ptr[first + e * eb / 4][l];
      word = eb == 4 ? v : (word & ~(mask_of(eb) << shift)) | (v << shift);
    }
}

uint32_t fetch(Types t, uint8_t first, uint32_t lane, uint32_t e, const WarpRegs& w) {
  const uint32_t eb = MmaShape::elem_bytes(FragKind::c, t.in, t.acc);
  return (w.ptr[first + e * eb / 4][lane] >> (8 * (e * eb % 4))) & mask_of(eb);
}

// An operand value as the reference reads it: fp16/bf16 widened, tf32 =
// the fp32 bits with the low 13 mantissa bits cleared (NaN kept NaN).
float operand(DType in, uint32_t bits) {
  switch (in) {
    case DType::fp16: return fp16::from_bits(uint16_t(bits)).to_float();
    case DType::bf16: return bf16::from_bits(uint16_t(bits)).to_float();
    default: {
      const float f = bits_to_float(bits & 0xFFFFE000u);
      return std::isnan(bits_to_float(bits)) ? std::nanf("") : f;
    }
  }
}

// Random raw operand of `in`, with a share of specials: NaN, +-Inf,
// subnormals, -0 (floats); the int8 extremes.
uint32_t random_operand(DType in, std::mt19937& rng, bool specials) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, 15), id(-128, 127);
  const int p = specials ? pick(rng) : 15;
  if (in == DType::int8) return uint32_t(uint8_t(p == 0 ? -128 : p == 1 ? 127 : id(rng)));
  if (in == DType::fp16) {
    const uint16_t special[] = {0x7E00, 0x7C00, 0xFC00, 0x0001, 0x83FF, 0x8000};  // NaN, +-Inf, subnormals, -0
    return p < 6 ? special[p] : fp16::from_float(nd(rng)).bits;
  }
  if (in == DType::bf16) {
    const uint16_t special[] = {0x7FC0, 0x7F80, 0xFF80, 0x0001, 0x807F, 0x8000};
    return p < 6 ? special[p] : bf16::from_float(nd(rng)).bits;
  }
  // tf32 in fp32 registers: a NaN whose payload lies only in the dropped bits, Inf, subnormals, -0.
  const uint32_t special[] = {0x7F800001u, 0x7F800000u, 0xFF800000u, 0x00002000u, 0x807FE000u, 0x80000000u};
  return p < 6 ? special[p] : float_to_bits(nd(rng));
}

// An sm80 kernel (gemm_sm80.h): CTA tile, warp tile, K step, asked ring depth.
GemmTiling sm80_tile(uint32_t bm, uint32_t bn, uint32_t wm, uint32_t wn, uint32_t bk, uint32_t stages) {
  GemmTiling t;
  t.bm = bm, t.bn = bn, t.wm = wm, t.wn = wn, t.bk = bk, t.stages = stages;
  return t;
}

Instr mma_instr(Types t, uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  Instr in;
  in.op = Op::hmma;
  in.a = a;
  in.b = b;
  in.c = c;
  in.dst = d;
  in.in = t.in;
  in.acc = t.acc;
  return in;
}

}  // namespace

TEST_CASE("ampere_mma_sync: shapes, registers and MACs per instruction", "[gpu][mma][ampere]") {
  const MmaShape& s = ampere();
  CHECK(std::string(s.name()) == "ampere_mma_sync");
  // m16n8k16 for 16-bit inputs, m16n8k8 for tf32, m16n8k32 for int8; one
  // instruction per operation.
  CHECK((s.m() == 16 && s.n() == 8));
  CHECK((s.k_of(DType::fp16) == 16 && s.k_of(DType::bf16) == 16 && s.k_of(DType::fp32) == 8 &&
         s.k_of(DType::int8) == 32));
  CHECK((s.sets() == 1 && s.steps(AccType::f32) == 1 && s.steps(AccType::f16) == 1));
  // MACs: 16 x 8 x 16 = 2048; 16 x 8 x 8 = 1024; 16 x 8 x 32 = 4096.
  CHECK(s.step_macs(DType::fp16, AccType::f32) == 2048);
  CHECK(s.step_macs(DType::fp32, AccType::f32) == 1024);
  CHECK(s.step_macs(DType::int8, AccType::s32) == 4096);
  // Registers per lane (PTX ISA): A 4, B 2 for every type; C 4 (f32/s32) or 2 (f16).
  for (const Types t : kTypes) {
    CHECK(s.frag_regs(FragKind::a, t.in, t.acc) == 4);
    CHECK(s.frag_regs(FragKind::b, t.in, t.acc) == 2);
    CHECK(s.frag_regs(FragKind::c, t.in, t.acc) == (t.acc == AccType::f16 ? 2u : 4u));
  }
  // Per-instruction register traffic: 32 lanes x (4 + 2 + 4) reads, 32 x 4 writes.
  const MmaStepTraffic rf = s.step_rf(mma_instr({DType::fp16, AccType::f32}, 0, 4, 8, 8));
  CHECK((rf.reads == 320 && rf.writes == 128));
}

TEST_CASE("ampere_mma_sync: the PTX fragment layouts", "[gpu][mma][ampere]") {
  const MmaShape& s = ampere();
  auto at = [&](FragKind k, DType in, uint32_t lane, uint32_t e) {
    return s.frag_elem(k, in, in == DType::int8 ? AccType::s32 : AccType::f32, lane, e);
  };
  // Lane 5: groupID g = 1, threadID_in_group t = 1.
  // m16n8k16 A: a0,a1 (g, 2t..2t+1) = (1, 2..3); a2 row g+8 = 9; a4 col 2t+8 = 10; a7 = (9, 11).
  CHECK((at(FragKind::a, DType::fp16, 5, 0).row == 1 && at(FragKind::a, DType::fp16, 5, 0).col == 2));
  CHECK((at(FragKind::a, DType::fp16, 5, 2).row == 9 && at(FragKind::a, DType::fp16, 5, 2).col == 2));
  CHECK((at(FragKind::a, DType::fp16, 5, 4).row == 1 && at(FragKind::a, DType::fp16, 5, 4).col == 10));
  CHECK((at(FragKind::a, DType::fp16, 5, 7).row == 9 && at(FragKind::a, DType::fp16, 5, 7).col == 11));
  // B: b0,b1 rows 2t, 2t+1 = 2, 3 of column g = 1; b2 row 2t+8 = 10.
  CHECK((at(FragKind::b, DType::bf16, 5, 1).row == 3 && at(FragKind::b, DType::bf16, 5, 1).col == 1));
  CHECK((at(FragKind::b, DType::bf16, 5, 2).row == 10 && at(FragKind::b, DType::bf16, 5, 2).col == 1));
  // C: c0,c1 (g, 2t..2t+1) = (1, 2..3); c2,c3 row g+8 = 9.
  CHECK((at(FragKind::c, DType::fp16, 5, 1).row == 1 && at(FragKind::c, DType::fp16, 5, 1).col == 3));
  CHECK((at(FragKind::c, DType::fp16, 5, 2).row == 9 && at(FragKind::c, DType::fp16, 5, 2).col == 2));
  // m16n8k32 int8 A: a0..a3 (g, 4t..4t+3) = (1, 4..7); a4 row 9; a8 col 4t+16 = 20.
  CHECK((at(FragKind::a, DType::int8, 5, 3).row == 1 && at(FragKind::a, DType::int8, 5, 3).col == 7));
  CHECK((at(FragKind::a, DType::int8, 5, 4).row == 9 && at(FragKind::a, DType::int8, 5, 8).col == 20));
  // int8 B: b0..b3 rows 4t..4t+3 = 4..7 of column 1; b4 row 4t+16 = 20.
  CHECK((at(FragKind::b, DType::int8, 5, 3).row == 7 && at(FragKind::b, DType::int8, 5, 4).row == 20));
  // m16n8k8 tf32 A: a0 (g, t) = (1, 1); a1 (g+8, t) = (9, 1); a2 (g, t+4) = (1, 5).
  CHECK((at(FragKind::a, DType::fp32, 5, 1).row == 9 && at(FragKind::a, DType::fp32, 5, 2).col == 5));
  // tf32 B: b0 row t = 1, b1 row t+4 = 5, column g = 1.
  CHECK((at(FragKind::b, DType::fp32, 5, 1).row == 5 && at(FragKind::b, DType::fp32, 5, 1).col == 1));
  // Every element of A (16 x k), B (k x 8) and C (16 x 8) has exactly one owner.
  for (const Types t : kTypes) {
    const uint32_t K = s.k_of(t.in);
    for (const FragKind kind : {FragKind::a, FragKind::b, FragKind::c}) {
      std::map<std::pair<uint32_t, uint32_t>, int> n;
      for (uint32_t l = 0; l < 32; ++l)
        for (uint32_t e = 0; e < s.frag_elems_of(kind, t.in); ++e) {
          const FragElem p = s.frag_elem(kind, t.in, t.acc, l, e);
          ++n[{p.row, p.col}];
        }
      const size_t want = kind == FragKind::a ? 16 * K : kind == FragKind::b ? K * 8 : 128;
      bool once = n.size() == want;
      for (const auto& kv : n) once &= kv.second == 1;
      CHECK(once);
    }
  }
}

TEST_CASE("ampere_mma_sync: every type is bit-exact with NaN, Inf and subnormal inputs", "[gpu][mma][ampere]") {
  const MmaShape& s = ampere();
  std::mt19937 rng(11);
  for (const Types t : kTypes)
    for (const bool specials : {false, true}) {
      INFO("inputs " << dtype_name(t.in) << ", f16 accumulation " << (t.acc == AccType::f16) << ", specials "
                     << specials);
      const uint32_t K = s.k_of(t.in);
      const bool i8 = t.in == DType::int8, h = t.acc == AccType::f16;
      std::vector<uint32_t> A(16 * K), B(K * 8), C(128);
      for (auto& v : A) v = random_operand(t.in, rng, specials);
      for (auto& v : B) v = random_operand(t.in, rng, specials);
      std::normal_distribution<float> nd(0.0f, 4.0f);
      for (auto& v : C) v = i8 ? uint32_t(int32_t(nd(rng) * 1e8f)) : h ? fp16::from_float(nd(rng)).bits : float_to_bits(nd(rng));
      WarpRegs w(16);
      const uint8_t ra = 0, rb = 4, rc = 8, rd = 12;
      place(FragKind::a, t, ra, A, K, w);
      place(FragKind::b, t, rb, B, 8, w);
      place(FragKind::c, t, rc, C, 8, w);
      s.step(mma_instr(t, ra, rb, rc, rd), w.ptr.data());
      // Reference, from the tiles alone (sim/numerics/mac.h, "Tensor-core
      // accumulation order"): groups of 8 (fp16/bf16) or 4 (tf32) exact
      // products in ascending k, summed pairwise rounding every add, each
      // group's sum added to the accumulator; int8 exact with wrapping.
      const uint32_t group = t.in == DType::fp32 ? 4 : 8;
      bool exact = true;
      uint32_t nans = 0;
      for (uint32_t l = 0; l < 32; ++l)
        for (uint32_t e = 0; e < 4; ++e) {
          const FragElem p = s.frag_elem(FragKind::c, t.in, t.acc, l, e);
          uint32_t want;
          if (i8) {
            uint32_t acc = C[p.row * 8 + p.col];  // unsigned: wraps modulo 2^32
            for (uint32_t k = 0; k < K; ++k)
              acc += uint32_t(int32_t(int8_t(uint8_t(A[p.row * K + k]))) * int32_t(int8_t(uint8_t(B[k * 8 + p.col]))));
            want = acc;
          } else {
            const uint32_t c0 = C[p.row * 8 + p.col];
            float acc = h ? fp16::from_bits(uint16_t(c0)).to_float() : bits_to_float(c0);
            for (uint32_t k0 = 0; k0 < K; k0 += group) {
              float q[8];
              for (uint32_t i = 0; i < group; ++i)
                q[i] = operand(t.in, A[p.row * K + k0 + i]) * operand(t.in, B[(k0 + i) * 8 + p.col]);
              const float dot = group == 8 ? ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]))
                                           : (q[0] + q[1]) + (q[2] + q[3]);
              acc = acc + dot;
              if (h) acc = fp16::from_float(acc).to_float();
            }
            want = h ? fp16::from_float(acc).bits : float_to_bits(acc);
            nans += std::isnan(acc);
          }
          const uint32_t got = fetch(t, rd, l, e, w);
          // NaNs compare as NaNs (payloads are not specified).
          const bool nan_both = !i8 && (h ? fp16::from_bits(uint16_t(got)).to_float() != fp16::from_bits(uint16_t(got)).to_float()
                                          : std::isnan(bits_to_float(got))) &&
                                (h ? std::isnan(fp16::from_bits(uint16_t(want)).to_float()) : std::isnan(bits_to_float(want)));
          exact &= got == want || nan_both;
        }
      CHECK(exact);
      // With specials most outputs see a NaN or an Inf - Inf; without none do.
      if (!i8) CHECK((specials ? nans > 0 : nans == 0));
    }
}

TEST_CASE("ampere_mma_sync: tf32 operands drop 13 mantissa bits and keep NaNs", "[gpu][mma][ampere]") {
  // 1 + 2^-10 is a tf32 value (10 mantissa bits); 1 + 2^-11 truncates to 1.
  CHECK(AmpereMmaSync::tf32(float_to_bits(1.0f + 0x1p-10f)) == 1.0f + 0x1p-10f);
  CHECK(AmpereMmaSync::tf32(float_to_bits(1.0f + 0x1p-11f)) == 1.0f);
  // A NaN with its payload only in the dropped bits stays a NaN (not Inf).
  CHECK(std::isnan(AmpereMmaSync::tf32(0x7F800001u)));
  CHECK(std::isinf(AmpereMmaSync::tf32(0x7F800000u)));
}

TEST_CASE("a100.yaml: the A100's figures", "[gpu][config][ampere]") {
  const GpuConfig c = test::load("a100.yaml");
  CHECK(c.tensor_core.mma == MmaKind::ampere_mma_sync);
  // Dense fp16: 108 SMs x 4 tensor cores x 256 FMA x 2 x 1.41 GHz = 311.9 TFLOPS.
  CHECK(2 * c.tensor_macs_per_cycle() * c.clock_mhz * 1e6 / 1e12 == Approx(311.87).epsilon(1e-3));
  // One m16n8k16 (2048 MACs) per sub-core every ii = 8 cycles is the same rate: 256 per cycle.
  CHECK(ampere().step_macs(DType::fp16, AccType::f32) / c.tensor_core.ii_f32_acc == c.tensor_core.fma_per_clock);
  CHECK(c.l2.capacity_bytes == 40ull << 20);
  CHECK((c.shared.unified_bytes == 192u << 10 && c.shared.max_shared_bytes == 164u << 10));
  CHECK(c.dram.bandwidth_gbps == 2039.0);
  CHECK(c.l2.partitions == 2);
  // Launch costs (launch_cost.h): 3.0 us per host launch and 0.9 us between
  // dependent kernels, at 1410 MHz 4230 and 1269 cycles.
  CHECK(us_to_cycles(c, c.launch.host_launch_us) == 4230);
  CHECK(kernel_gap_cycles(c) == 1269);
  const GpuConfig s = test::load("ampere_small.yaml");
  CHECK((s.tensor_core.mma == MmaKind::ampere_mma_sync && s.sms == 4 && s.l2.partitions == 2));
}

TEST_CASE("split L2: half the lines are far from each SM", "[gpu][ampere]") {
  const GpuConfig c = test::load("a100.yaml");
  MemorySystem mem(c);
  // SMs 0..53 are near partition 0 (slices 0..39), 54..107 near partition 1.
  uint32_t far0 = 0, disagree = 0;
  for (uint64_t line = 0; line < 4096; ++line) {
    far0 += mem.far(0, line);
    disagree += mem.far(0, line) != mem.far(53, line);
    CHECK(mem.far(0, line) != mem.far(107, line));
  }
  CHECK(disagree == 0);
  CHECK(far0 == Approx(2048).epsilon(0.1));  // the address hash spreads lines over both halves
  CHECK(!MemorySystem(test::load("v100.yaml")).far(0, 12345));
}

TEST_CASE("Ampere GEMM lowering: the sm80 cp.async pipeline on mma.sync, bit-exact", "[gpu][gemm][ampere]") {
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  const TcEpilogue relu_bias{true, Activation::relu};
  for (const Types t : {Types{DType::fp16, AccType::f32}, Types{DType::fp16, AccType::f16}, Types{DType::bf16, AccType::f32}})
    for (const bool ep : {false, true}) {
      if (ep && t.acc != AccType::f32) continue;
      INFO(dtype_name(t.in) << " f16acc " << (t.acc == AccType::f16) << " epilogue " << ep);
      // 96 x 80 x 72: padded in every dimension (64 tiles, K to 96): 3 K
      // tiles, fewer than the 4-stage ring holds (prologue and tail only).
      GpuGemmSpec spec{"g", 96, 80, 72, t.in, t.acc};
      spec.tiling = sm80_tile(64, 64, 32, 32, 32, 4);
      GpuGemmPlan plan;
      lower_gemm_tc(gpu.config(), spec, plan, ep ? relu_bias : TcEpilogue{});
      CHECK(plan.kernel.name == "g_sm80_64x64x32_w32x32_s4");
      CHECK(plan.layout.dot_group == 8);
      const auto a = test::random_matrix(t.in, spec.m, spec.k, 3), b = test::random_matrix(t.in, spec.k, spec.n, 4);
      std::vector<float> bias(spec.n);
      for (uint64_t j = 0; j < spec.n; ++j) bias[j] = float(int(j % 7) - 3) * 0.75f;
      stage_inputs(plan.layout, spec, a.data(), b.data(), gpu.memory());
      if (ep) stage_bias(plan.layout, spec.n, bias.data(), gpu.memory());
      const LaunchResult r = gpu.run(plan.launch, RunOptions{true, false});
      const auto raw = read_output(plan.layout, spec, gpu.memory());
      auto want = reference_gemm_tc(t.in, t.acc, spec.m, spec.n, spec.k, plan.layout.kp, a.data(), b.data(), 8);
      if (ep) reference_epilogue(relu_bias, spec.m, spec.n, bias.data(), want);
      size_t bad = 0;
      const uint32_t ob = plan.layout.out_bytes;
      for (size_t i = 0; i < want.size(); ++i) {
        uint32_t v = 0;
        std::memcpy(&v, &raw[i * ob], ob);
        bad += v != want[i];
      }
      CHECK(bad == 0);
      // MACs: the padded 128 x 128 x 96 (two 64-tiles each way) = 1572864, one
      // 2048-MAC instruction each: 768 mma.sync.
      CHECK(r.sm[Ctr::inst_tensor] == 768);
    }
  // 256 x 512 x 300: the 128 x 256 x 64 tile (8 warps; the grid of 4 fills
  // the 4 SMs), K padded to 320: 5 K tiles in a 3-stage ring (the asked 4
  // stages of 52224 bytes would exceed 164 KB): 2 in the prologue, 3
  // through the main loop, 2 in the tail.
  {
    GpuGemmSpec spec{"big", 256, 512, 300, DType::fp16, AccType::f32};
    spec.tiling = sm80_tile(128, 256, 64, 64, 64, 4);
    GpuGemmPlan plan;
    lower_gemm_tc(gpu.config(), spec, plan, relu_bias);
    CHECK((plan.tiling.stages == 3 && plan.launch.threads == 256));
    const auto a = test::random_matrix(spec.in, spec.m, spec.k, 5), b = test::random_matrix(spec.in, spec.k, spec.n, 6);
    std::vector<float> bias(spec.n, 0.5f);
    stage_inputs(plan.layout, spec, a.data(), b.data(), gpu.memory());
    stage_bias(plan.layout, spec.n, bias.data(), gpu.memory());
    const LaunchResult r = gpu.run(plan.launch, RunOptions{true, false});
    const auto raw = read_output(plan.layout, spec, gpu.memory());
    auto want = reference_gemm_tc(spec.in, spec.acc, spec.m, spec.n, spec.k, plan.layout.kp, a.data(), b.data(), 8);
    reference_epilogue(relu_bias, spec.m, spec.n, bias.data(), want);
    CHECK(std::memcmp(raw.data(), want.data(), raw.size()) == 0);
    // 3 stages of (128 x (128 + 16) + 64 x (512 + 16)) = 52224 bytes.
    CHECK(plan.launch.shared_bytes == 3 * 52224);
    // cp.async moved A and B once per CTA: 4 CTAs x 5 tiles x (128 x 128 + 64 x 512) bytes.
    CHECK(r.sm[Ctr::smem_write_bytes] == 4ull * 5 * (128 * 128 + 64 * 512));
  }
  // int8 (K-major B) on this kernel: test_gpu_sm80.cpp.
}

namespace {

// One warp: cp.async 16 bytes per lane of a 32 x 16-byte global block into
// shared memory (two groups of 16 lanes' worth each), wait, then ldmatrix
// (.x4 and .x2.trans) and store the registers to global buffer 1.
Kernel async_kernel() {
  KernelBuilder kb("cp_async_ldsm");
  const uint8_t tid = kb.reg(), g = kb.reg(), sh = kb.reg(), row = kb.reg(), d = kb.reg(4), t = kb.reg(2), o = kb.reg();
  kb.s2r(tid, Special::tid);
  kb.alui(Op::shl, g, tid, 4);  // 16 bytes per lane
  kb.mov_r(sh, g);
  kb.ldgsts(0, g, 0, sh, 0, 16);
  kb.cp_commit();
  kb.ldgsts(0, g, 512, sh, 512, 16);
  kb.cp_commit();
  kb.cp_wait(0);
  kb.bar();
  // Row addresses: lane l -> row l of a 32-row x 16-byte matrix block.
  kb.alui(Op::shl, row, tid, 4);
  kb.ldsm(d, row, 0, 4, false);
  kb.ldsm(t, row, 512, 2, true);
  kb.alui(Op::shl, o, tid, 5);
  kb.stg(1, o, 0, d, 16);
  kb.stg(1, o, 16, t, 8);
  return kb.finish();
}

}  // namespace

TEST_CASE("cp.async groups and ldmatrix: values and waits", "[gpu][ampere]") {
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  // Global: 1024 bytes of 16-bit words w[i] = i; output 32 lanes x 32 bytes.
  std::vector<uint16_t> src(512);
  for (uint32_t i = 0; i < 512; ++i) src[i] = uint16_t(i);
  auto run = [&]() {
    const Kernel k = async_kernel();
    gpu.memory().resize(4096);
    gpu.memory().write(0, src.data(), 1024);
    Launch l;
    l.kernel = &k;
    l.threads = 32;
    l.shared_bytes = 1024;
    l.nbufs = 2;
    l.bases = {0, 2048};
    const LaunchResult r = gpu.run(l, RunOptions{true, false});
    std::vector<uint32_t> out(256);
    gpu.memory().read(2048, out.data(), 1024);
    return std::make_pair(r, out);
  };
  const auto [r0, out] = run();
  for (uint32_t l = 0; l < 32; ++l) {
    const uint32_t g = l / 4, t = l % 4;
    // ldmatrix.x4, matrix i = rows 8i..8i+7 (8 words of 16 bits each, word w
    // of row r is r * 8 + w): lane l gets (row 8i + g, words 2t, 2t+1).
    for (uint32_t i = 0; i < 4; ++i) {
      const uint32_t lo = (8 * i + g) * 8 + 2 * t;
      CHECK(out[l * 8 + i] == (lo | (lo + 1) << 16));
    }
    // .x2.trans over rows 32..47 (bytes 512..767): matrix i, lane l gets
    // (rows 2t, 2t+1; column g).
    for (uint32_t i = 0; i < 2; ++i) {
      const uint32_t lo = (32 + 8 * i + 2 * t) * 8 + g, hi = lo + 8;
      CHECK(out[l * 8 + 4 + i] == (lo | hi << 16));
    }
  }
  // wait_group 0 holds the warp until both groups' lines came from HBM:
  // at least one L2 miss round trip (196 + 90 cycles) before the ldmatrix.
  CHECK(r0.cycles > 196 + 90);
  CHECK(r0.sm[Ctr::smem_write_bytes] == 1024);
}

namespace {

// One thread chases a chain of line indices through global memory: each
// step SHL (4 cycles) + LDG, so a step costs the load latency + 4.
Kernel chase(uint32_t steps, uint32_t start) {
  KernelBuilder kb("chase");
  const uint8_t j = kb.reg(), off = kb.reg(), cnt = kb.reg();
  const uint8_t p = kb.pred();
  kb.mov(j, int32_t(start));
  kb.mov(cnt, int32_t(steps / 8));
  const int loop = kb.label(), done = kb.label();
  kb.bind(loop);
  for (int u = 0; u < 8; ++u) {
    kb.alui(Op::shl, off, j, 2);
    kb.ldg(j, 0, off, 0);
  }
  kb.alui(Op::iadd, cnt, cnt, -1);
  kb.setpi(Op::isetp, p, Cmp::gt, cnt, 0);
  kb.bra(loop, done, p);
  kb.bind(done);
  kb.stg(0, kRZ, 0, j);
  return kb.finish();
}

// The same chase through shared memory: the warp copies a 64-word chain
// (word i holds the index of the next) from global buffer 0 into shared
// memory, passes a barrier, then lane 0's SHL + LDS steps follow it.
Kernel shared_chase(uint32_t steps) {
  KernelBuilder kb("shared_chase");
  const uint8_t tid = kb.reg(), off = kb.reg(), v = kb.reg(), j = kb.reg(), cnt = kb.reg();
  const uint8_t p = kb.pred();
  kb.s2r(tid, Special::tid);
  kb.alui(Op::shl, off, tid, 2);
  for (int32_t h = 0; h < 2; ++h) {
    kb.ldg(v, 0, off, 128 * h);
    kb.sts(off, 128 * h, v);
  }
  kb.bar();
  kb.mov(j, 0);
  kb.mov(cnt, int32_t(steps / 8));
  const int loop = kb.label(), done = kb.label();
  kb.bind(loop);
  for (int u = 0; u < 8; ++u) {
    kb.alui(Op::shl, off, j, 2);
    kb.lds(j, off, 0);
  }
  kb.alui(Op::iadd, cnt, cnt, -1);
  kb.setpi(Op::isetp, p, Cmp::gt, cnt, 0);
  kb.bra(loop, done, p);
  kb.bind(done);
  kb.stg(0, kRZ, 0, j);
  return kb.finish();
}

double shared_chase_latency(Gpu& gpu, uint32_t warm, uint32_t measured) {
  std::vector<uint32_t> a(64);
  for (uint32_t i = 0; i < 64; ++i) a[i] = (i * 37 + 11) % 64;  // one 64-cycle (37 is odd)
  auto cycles = [&](uint32_t steps) {
    const Kernel k = shared_chase(steps);
    gpu.memory().resize(a.size() * 4);
    gpu.memory().write(0, a.data(), a.size() * 4);
    Launch l;
    l.kernel = &k;
    l.threads = 32;
    l.shared_bytes = 256;
    l.nbufs = 1;
    l.bases = {0};
    return gpu.run(l, RunOptions{true, false}).cycles;
  };
  return double(cycles(warm + measured) - cycles(warm)) / measured;
}

// Cycles per step over `measured` steps after `warm` ones, chasing the
// given lines in a cycle (one word per line).
double chase_latency(Gpu& gpu, const std::vector<uint64_t>& lines, uint32_t warm, uint32_t measured) {
  uint64_t top = 0;
  for (uint64_t x : lines) top = std::max(top, x);
  std::vector<uint32_t> a((top + 1) * 32, 0);
  for (size_t i = 0; i < lines.size(); ++i) a[lines[i] * 32] = uint32_t(lines[(i + 1) % lines.size()] * 32);
  auto cycles = [&](uint32_t steps) {
    const Kernel k = chase(steps, uint32_t(lines[0] * 32));
    gpu.memory().resize(a.size() * 4);
    gpu.memory().write(0, a.data(), a.size() * 4);
    Launch l;
    l.kernel = &k;
    l.threads = 32;
    l.nbufs = 1;
    l.bases = {0};  // the chain holds absolute word indices
    return gpu.run(l, RunOptions{true, false}).cycles;
  };
  return double(cycles(warm + measured) - cycles(warm)) / measured;
}

}  // namespace

TEST_CASE("pointer chase on a100 matches published Ampere latencies", "[gpu][micro][ampere]") {
  const GpuConfig cfg = test::load("a100.yaml");
  Gpu gpu("gpu", cfg);
  MemorySystem mem(cfg);
  // Lines homed in SM 0's near / far L2 partition (the chase runs on SM 0).
  std::vector<uint64_t> near, far;
  for (uint64_t line = 0; near.size() < 8192 || far.size() < 8192; ++line)
    (mem.far(0, line) ? far : near).push_back(line);
  // Published A100 pointer-chase figures (Abdelkhalik et al., HPEC 2022,
  // arXiv:2208.11174): shared 23, L1 33, L2 200, global (HBM) 290 cycles;
  // far L2 partition ~1.75x near (Jia and Van Sandt, GTC 2021): 350.
  const std::vector<uint64_t> near_l2(near.begin(), near.begin() + 4096), far_l2(far.begin(), far.begin() + 4096);
  // L1 hits: 64 lines (8 KB), warmed by the first pass: 29 + 4 = 33.
  const std::vector<uint64_t> l1(near.begin(), near.begin() + 64);
  const double l1_lat = chase_latency(gpu, l1, 64, 512);
  // L2: 4096 lines (512 KB) cycle through the 192 KB L1 (LRU: all miss)
  // after one cold pass: near 196 + 4 = 200, far 196 + 150 + 4 = 350.
  const double l2_near = chase_latency(gpu, near_l2, 4096, 1024);
  const double l2_far = chase_latency(gpu, far_l2, 4096, 1024);
  // HBM: cold lines only, near home: 196 + 90 + 4 = 290.
  const std::vector<uint64_t> cold(near.begin(), near.begin() + 8192);
  const double hbm = chase_latency(gpu, cold, 256, 512);
  // Shared memory: SHL + LDS, 19 + 4 = 23.
  const double smem = shared_chase_latency(gpu, 64, 512);
  CHECK(smem == Approx(23).epsilon(0.15));
  WARN("a100 chase: shared " << smem << ", L1 " << l1_lat << ", L2 near " << l2_near << ", L2 far " << l2_far << ", HBM " << hbm);
  CHECK(l1_lat == Approx(33).epsilon(0.15));
  CHECK(l2_near == Approx(200).epsilon(0.15));
  CHECK(l2_far == Approx(350).epsilon(0.15));
  CHECK(hbm == Approx(290).epsilon(0.15));
}

namespace {

// `accs` independent accumulators per warp, each receiving `per_iter`
// mma.sync per iteration (interleaved), `iters` iterations; fragments from
// shared memory by ldmatrix.
// int8 (m16n8k32): A rows and the K-major B's rows are 32 bytes.
Kernel mma_loop(uint32_t accs, uint32_t per_iter, uint32_t iters, Types t = {DType::fp16, AccType::f32}) {
  KernelBuilder kb("mma_loop", &mma_shape(MmaKind::ampere_mma_sync));
  std::vector<Frag> c(accs);
  for (auto& f : c) f = kb.frag(FragKind::c, t.in, t.acc);
  const Frag a = kb.frag(FragKind::a, t.in, t.acc), b = kb.frag(FragKind::b, t.in, t.acc);
  const uint8_t zero = kb.reg(), cnt = kb.reg();
  const uint8_t p = kb.pred();
  kb.mov(zero, 0);
  kb.wmma_load(a, Space::shared, zero, 0, 32);
  kb.wmma_load(b, Space::shared, zero, 512, t.in == DType::int8 ? 32 : 16);
  for (auto& f : c) kb.wmma_fill_zero(f);
  kb.mov(cnt, int32_t(iters));
  const int loop = kb.label(), done = kb.label();
  kb.bind(loop);
  for (uint32_t m = 0; m < per_iter; ++m) {
    std::vector<WmmaOp> batch;
    for (auto& f : c) batch.push_back({f, a, b, f});
    kb.wmma_mma_batch(batch);
  }
  kb.alui(Op::iadd, cnt, cnt, -1);
  kb.setpi(Op::isetp, p, Cmp::gt, cnt, 0);
  kb.bra(loop, done, p);
  kb.bind(done);
  return kb.finish();
}

// A loop kernel on all 108 SMs, 2 CTAs of 8 warps each, timing only.
LaunchResult run_loop(Gpu& gpu, const Kernel& k, uint32_t shared_bytes) {
  Launch l;
  l.kernel = &k;
  l.threads = 256;
  l.shared_bytes = shared_bytes;
  l.ctas = 2 * gpu.config().sms;
  return gpu.run(l, RunOptions{false, false});
}

// Tera-operations per second (2 per MAC) of `macs` in `cycles` at the config's clock.
double tera_ops(const GpuConfig& cfg, double macs, uint64_t cycles) {
  return 2 * macs / (double(cycles) / (cfg.clock_mhz * 1e6)) / 1e12;
}

}  // namespace

TEST_CASE("a100: an mma.sync loop sustains >= 90% of the 312 TFLOPS dense peak", "[gpu][micro][ampere]") {
  const GpuConfig cfg = test::load("a100.yaml");
  Gpu gpu("gpu", cfg);
  // 8 accumulators per warp: a dependent mma follows 8 issues x 8 cycles =
  // 64 cycles later (> the 33-cycle latency); 8 warps per CTA, 2 CTAs per
  // SM on all 108 SMs; timing only.
  const uint32_t iters = 50, per_iter = 2, accs = 8;
  const LaunchResult r = run_loop(gpu, mma_loop(accs, per_iter, iters), 1024);
  // MACs: CTAs x 8 warps x iters x per_iter x accs x 2048.
  const double macs = 2.0 * cfg.sms * 8 * iters * per_iter * accs * 2048;
  CHECK(double(r.sm[Ctr::mac_fp16]) == macs);
  const double tflops = tera_ops(cfg, macs, r.cycles);
  WARN("sustained mma.sync " << tflops << " TFLOPS in " << r.cycles << " cycles");
  CHECK(tflops >= 0.9 * 312);
  CHECK(tflops <= 311.9);  // never above the peak (311.87)
}

TEST_CASE("a100: an int8 mma.sync loop sustains >= 90% of the 624 TOPS dense peak", "[gpu][micro][ampere]") {
  const GpuConfig cfg = test::load("a100.yaml");
  Gpu gpu("gpu", cfg);
  // As the fp16 loop: m16n8k32 (4096 MACs) issues every ii_int8 = 8
  // cycles per sub-core, twice the fp16 MACs in the same interval.
  const uint32_t iters = 50, per_iter = 2, accs = 8;
  const LaunchResult r = run_loop(gpu, mma_loop(accs, per_iter, iters, {DType::int8, AccType::s32}), 1024);
  const double macs = 2.0 * cfg.sms * 8 * iters * per_iter * accs * 4096;
  CHECK(double(r.sm[Ctr::mac_int8]) == macs);
  CHECK(r.sm[Ctr::mac_fp16] == 0);
  const double tops = tera_ops(cfg, macs, r.cycles);
  WARN("sustained int8 mma.sync " << tops << " TOPS in " << r.cycles << " cycles");
  // Peak: 108 SMs x 4 tensor cores x 512 int8 MACs x 2 x 1.41 GHz = 623.7 TOPS.
  CHECK(tops >= 0.9 * 624);
  CHECK(tops <= 623.8);
}

TEST_CASE("a100: one dependent mma.sync m16n8k16 takes 33 cycles", "[gpu][micro][ampere]") {
  Gpu gpu("gpu", test::load("a100.yaml"));
  // n dependent mmas on one accumulator, then a FADD reading it: the
  // difference between 9 and 1 mmas is 8 latencies ([ABD]: ~33 cycles).
  auto run = [&](uint32_t n) {
    KernelBuilder kb("mma_chain", &mma_shape(MmaKind::ampere_mma_sync));
    const Frag c = kb.frag(FragKind::c, DType::fp16, AccType::f32);
    const Frag a = kb.frag(FragKind::a, DType::fp16, AccType::f32), b = kb.frag(FragKind::b, DType::fp16, AccType::f32);
    const uint8_t zero = kb.reg(), x = kb.reg();
    kb.mov(zero, 0);
    kb.wmma_fill_zero(c);
    kb.wmma_load(a, Space::shared, zero, 0, 32);
    kb.wmma_load(b, Space::shared, zero, 512, 16);
    for (uint32_t i = 0; i < n; ++i) kb.wmma_mma(c, a, b, c);
    kb.alu(Op::fadd, x, uint8_t(c.reg + 3), uint8_t(c.reg + 3));
    const Kernel k = kb.finish();
    Launch l;
    l.kernel = &k;
    l.threads = 32;
    l.shared_bytes = 1024;
    return gpu.run(l, RunOptions{true, false}).cycles;
  };
  const double lat = double(run(9) - run(1)) / 8;
  CHECK(lat == Approx(33).epsilon(0.15));
  CHECK(lat == 33.0);
}

TEST_CASE("mma.sp m16n8k32: 2:4 sparse A is bit-exact with specials", "[gpu][mma][ampere][sparse]") {
  const MmaShape& s = ampere();
  std::mt19937 rng(23);
  std::uniform_int_distribution<int> pos(0, 3);
  for (const Types t : {Types{DType::fp16, AccType::f32}, Types{DType::fp16, AccType::f16}, Types{DType::bf16, AccType::f32}})
    for (const bool specials : {false, true}) {
      INFO(dtype_name(t.in) << " f16acc " << (t.acc == AccType::f16) << " specials " << specials);
      // Dense A (16 x 32) pruned 2:4: per group of 4 along K two positions kept.
      std::vector<uint32_t> As(16 * 16), B(32 * 8), C(128);
      std::vector<uint32_t> kept(16 * 16);  // dense k of each stored value
      for (uint32_t r = 0; r < 16; ++r)
        for (uint32_t g = 0; g < 8; ++g) {
          uint32_t i0 = uint32_t(pos(rng)), i1 = uint32_t(pos(rng));
          while (i1 == i0) i1 = uint32_t(pos(rng));
          if (i1 < i0) std::swap(i0, i1);
          kept[r * 16 + 2 * g] = 4 * g + i0;
          kept[r * 16 + 2 * g + 1] = 4 * g + i1;
          As[r * 16 + 2 * g] = random_operand(t.in, rng, specials);
          As[r * 16 + 2 * g + 1] = random_operand(t.in, rng, specials);
        }
      for (auto& v : B) v = random_operand(t.in, rng, specials);
      std::normal_distribution<float> nd(0.0f, 4.0f);
      for (auto& v : C) v = t.acc == AccType::f16 ? fp16::from_float(nd(rng)).bits : float_to_bits(nd(rng));
      WarpRegs w(20);
      const uint8_t ra = 0, rb = 4, rc = 8, rd = 12, rm = 16;
      place(FragKind::a, t, ra, As, 16, w);  // the stored 16 x 16, dense m16n8k16 A layout
      // B k32: register r of lane (g, t) holds rows 2t, 2t+1 + 8r of column g.
      for (uint32_t l = 0; l < 32; ++l)
        for (uint32_t r = 0; r < 4; ++r)
          w.ptr[rb + r][l] = (B[(2 * (l % 4) + 8 * r) * 8 + l / 4] & 0xFFFF) | (B[(2 * (l % 4) + 8 * r + 1) * 8 + l / 4] << 16);
      place(FragKind::c, t, rc, C, 8, w);
      // Metadata: bits 4r + 2h of a lane = position in its group of the
      // value in half h of A register r.
      for (uint32_t l = 0; l < 32; ++l)
        for (uint32_t e = 0; e < 8; ++e) {
          const FragElem p = s.frag_elem(FragKind::a, t.in, t.acc, l, e);
          w.ptr[rm][l] |= (kept[p.row * 16 + p.col] % 4) << (2 * e);
        }
      Instr in = mma_instr(t, ra, rb, rc, rd);
      in.sparse = true;
      in.meta = rm;
      s.step(in, w.ptr.data());
      // Reference: per output, the 16 kept products in k order, two groups of 8.
      bool exact = true;
      const bool h = t.acc == AccType::f16;
      for (uint32_t l = 0; l < 32; ++l)
        for (uint32_t e = 0; e < 4; ++e) {
          const FragElem p = s.frag_elem(FragKind::c, t.in, t.acc, l, e);
          const uint32_t c0 = C[p.row * 8 + p.col];
          float acc = h ? fp16::from_bits(uint16_t(c0)).to_float() : bits_to_float(c0);
          for (uint32_t g = 0; g < 2; ++g) {
            float q[8];
            for (uint32_t j = 0; j < 8; ++j) {
              const uint32_t sidx = p.row * 16 + 8 * g + j;
              q[j] = operand(t.in, As[sidx]) * operand(t.in, B[kept[sidx] * 8 + p.col]);
            }
            acc = acc + (((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7])));
            if (h) acc = fp16::from_float(acc).to_float();
          }
          const uint32_t want = h ? fp16::from_float(acc).bits : float_to_bits(acc), got = fetch(t, rd, l, e, w);
          const float gf = h ? fp16::from_bits(uint16_t(got)).to_float() : bits_to_float(got);
          exact &= got == want || (std::isnan(gf) && std::isnan(acc));
        }
      CHECK(exact);
    }
}

TEST_CASE("mma.sp m16n8k64: 2:4 sparse int8 A is bit-exact with the int8 extremes", "[gpu][mma][ampere][sparse]") {
  const MmaShape& s = ampere();
  const Types t{DType::int8, AccType::s32};
  std::mt19937 rng(29);
  std::uniform_int_distribution<int> pos(0, 3);
  for (const bool specials : {false, true}) {
    INFO("specials " << specials);
    // Dense A (16 x 64) pruned 2:4: the stored 16 x 32 holds two values per group of 4.
    std::vector<uint32_t> As(16 * 32), B(64 * 8), C(128), kept(16 * 32);
    for (uint32_t r = 0; r < 16; ++r)
      for (uint32_t g = 0; g < 16; ++g) {
        uint32_t i0 = uint32_t(pos(rng)), i1 = uint32_t(pos(rng));
        while (i1 == i0) i1 = uint32_t(pos(rng));
        if (i1 < i0) std::swap(i0, i1);
        kept[r * 32 + 2 * g] = 4 * g + i0;
        kept[r * 32 + 2 * g + 1] = 4 * g + i1;
        As[r * 32 + 2 * g] = random_operand(t.in, rng, specials);
        As[r * 32 + 2 * g + 1] = random_operand(t.in, rng, specials);
      }
    for (auto& v : B) v = random_operand(t.in, rng, specials);
    std::uniform_int_distribution<int32_t> cd(-100000, 100000);
    for (auto& v : C) v = uint32_t(cd(rng));
    if (specials) C[5] = 0x7FFFFFF0u;  // wraps past INT32_MAX
    WarpRegs w(20);
    const uint8_t ra = 0, rb = 4, rc = 8, rd = 12, rm = 16;
    place(FragKind::a, t, ra, As, 32, w);  // the stored 16 x 32: the dense m16n8k32 A layout
    // B k64: register r of lane (g, t) holds rows 4t..4t+3 + 16r of column g, one byte each.
    for (uint32_t l = 0; l < 32; ++l)
      for (uint32_t r = 0; r < 4; ++r)
        for (uint32_t i = 0; i < 4; ++i)
          w.ptr[rb + r][l] |= (B[(4 * (l % 4) + i + 16 * r) * 8 + l / 4] & 0xFF) << (8 * i);
    place(FragKind::c, t, rc, C, 8, w);
    // Metadata: bits 2e of a lane = position in its group of A element e.
    for (uint32_t l = 0; l < 32; ++l)
      for (uint32_t e = 0; e < 16; ++e) {
        const FragElem p = s.frag_elem(FragKind::a, t.in, t.acc, l, e);
        w.ptr[rm][l] |= (kept[p.row * 32 + p.col] % 4) << (2 * e);
      }
    Instr in = mma_instr(t, ra, rb, rc, rd);
    in.sparse = true;
    in.meta = rm;
    s.step(in, w.ptr.data());
    bool exact = true;
    for (uint32_t l = 0; l < 32; ++l)
      for (uint32_t e = 0; e < 4; ++e) {
        const FragElem p = s.frag_elem(FragKind::c, t.in, t.acc, l, e);
        // Wrapping int32 sum of the 32 kept products (order-free), in uint32 arithmetic.
        uint32_t acc = C[p.row * 8 + p.col];
        for (uint32_t j = 0; j < 32; ++j) {
          const uint32_t sidx = p.row * 32 + j;
          acc += uint32_t(int32_t(int8_t(As[sidx])) * int32_t(int8_t(B[kept[sidx] * 8 + p.col])));
        }
        exact &= fetch(t, rd, l, e, w) == acc;
      }
    CHECK(exact);
  }
}

namespace {

// fp16: mma.sp m16n8k32; int8: m16n8k64 (A, B and C 4 registers either way).
Kernel mma_sp_loop(uint32_t accs, uint32_t iters, Types t = {DType::fp16, AccType::f32}) {
  KernelBuilder kb("mma_sp_loop", &mma_shape(MmaKind::ampere_mma_sync));
    std::vector<Frag> c(accs);
    for (auto& f : c) f = kb.frag(FragKind::c, t.in, t.acc);
    const Frag a = kb.frag(FragKind::a, t.in, t.acc);
    const uint8_t b = kb.reg(4), meta = kb.reg(), cnt = kb.reg();
    const uint8_t p = kb.pred();
    kb.mov(meta, 0x4444);  // positions 0 and 1 of every group
    kb.mov(cnt, int32_t(iters));
    const int loop = kb.label(), done = kb.label();
    kb.bind(loop);
    for (uint32_t m = 0; m < 2; ++m)
      for (auto& f : c) {
        Instr in;
        in.op = Op::hmma;
        in.a = a.reg;
        in.b = b;
        in.c = in.dst = f.reg;
        in.sparse = true;
        in.meta = meta;
        in.in = t.in;
        in.acc = t.acc;
        kb.emit(in);
      }
    kb.alui(Op::iadd, cnt, cnt, -1);
    kb.setpi(Op::isetp, p, Cmp::gt, cnt, 0);
    kb.bra(loop, done, p);
    kb.bind(done);
    return kb.finish();
}

}  // namespace

TEST_CASE("a100: an mma.sp loop sustains >= 90% of the 624 TFLOPS sparse peak", "[gpu][micro][ampere][sparse]") {
  const GpuConfig cfg = test::load("a100.yaml");
  Gpu gpu("gpu", cfg);
  const uint32_t iters = 50, accs = 8;
  const LaunchResult r = run_loop(gpu, mma_sp_loop(accs, iters), 0);
  // Real MACs: 2048 per mma.sp; dense-equivalent twice that (m16n8k32).
  const double real = 2.0 * cfg.sms * 8 * iters * 2 * accs * 2048;
  CHECK(double(r.sm[Ctr::mac_sparse16]) == real);
  const double tflops = tera_ops(cfg, 2 * real, r.cycles);
  WARN("sustained mma.sp " << tflops << " dense-equivalent TFLOPS in " << r.cycles << " cycles");
  CHECK(tflops >= 0.9 * 624);
  CHECK(tflops <= 623.8);  // 2 x 311.87
}

TEST_CASE("a100: an int8 mma.sp loop sustains >= 90% of the 1248 TOPS sparse peak", "[gpu][micro][ampere][sparse]") {
  const GpuConfig cfg = test::load("a100.yaml");
  Gpu gpu("gpu", cfg);
  const uint32_t iters = 50, accs = 8;
  const LaunchResult r = run_loop(gpu, mma_sp_loop(accs, iters, {DType::int8, AccType::s32}), 0);
  // Real MACs: 4096 per int8 mma.sp (the dense m16n8k32's, in its 8-cycle
  // interval); dense-equivalent twice that (m16n8k64).
  const double real = 2.0 * cfg.sms * 8 * iters * 2 * accs * 4096;
  CHECK(double(r.sm[Ctr::mac_sparse8]) == real);
  CHECK(r.sm[Ctr::mac_sparse16] == 0);
  const double tops = tera_ops(cfg, 2 * real, r.cycles);
  WARN("sustained int8 mma.sp " << tops << " dense-equivalent TOPS in " << r.cycles << " cycles");
  // Peak: 2 x 623.7 = 1247.5 TOPS.
  CHECK(tops >= 0.9 * 1248);
  CHECK(tops <= 1247.5);
}

TEST_CASE("mma.sp on a machine without 2:4 sparsity is a clear error", "[gpu][ampere][sparse]") {
  // ampere_small with the sparse path switched off: a clear error, not a silent dense run.
  Gpu gpu("gpu", test::load("ampere_small.yaml", {"tensor_core.sparse_2_4=false"}));
  const Kernel k = mma_sp_loop(1, 1);
  Launch l;
  l.kernel = &k;
  l.threads = 32;
  CHECK_THROWS_WITH(gpu.run(l, RunOptions{false, false}), Contains("no 2:4 sparse tensor path"));
}
