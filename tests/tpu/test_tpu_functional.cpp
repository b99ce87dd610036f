// Bit-exact results through the whole TPU (DMA in, weight FIFO, array,
// accumulators, activation, DMA out) against sim/numerics/reference_gemm.h,
// in tile and PE fidelity; timing fidelity gives the same cycles.
#include <catch2/catch.hpp>

#include <cmath>

#include "sim/numerics/int8_quant.h"
#include "tests/tpu/gemm_builder.h"
#include "tests/tpu/tpu_test_util.h"

using namespace xpu;
using namespace xpu::tpu;
using namespace xpu::tpu::test;

namespace {

// Runs g.program in tile, pe and timing fidelity (each starting at the same
// step phase) and checks the result bits and the cycles.
void run_all_fidelities(Tpu& tpu, Gemm& g) {
  const std::vector<uint32_t> zeros(size_t(g.M) * g.N, 0xDEADBEEF);
  uint64_t cycles[3] = {};
  const Fidelity fids[3] = {Fidelity::tile, Fidelity::pe, Fidelity::timing};
  for (int f = 0; f < 3; ++f) {
    INFO("fidelity " << f);
    tpu.set_fidelity(fids[f]);
    align_start(tpu, 4);
    tpu.host().write(g.host_c, zeros.data(), zeros.size() * 4);
    const RunResult r = tpu.run(g.program);
    cycles[f] = r.cycles;
    const std::vector<uint32_t> got = result_bits(tpu, g);
    if (fids[f] == Fidelity::timing) {
      CHECK(got == zeros);  // no data moved
    } else {
      size_t bad = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        if (got[i] != g.C[i] && bad++ < 5) {
          FAIL_CHECK("C[" << i / g.N << "][" << i % g.N << "] = 0x" << std::hex << got[i] << ", expected 0x"
                          << g.C[i]);
        }
      }
      CHECK(bad == 0);
    }
  }
  CHECK(cycles[0] == cycles[1]);
  CHECK(cycles[0] == cycles[2]);
}

}  // namespace

TEST_CASE("tpu functional: int8 GEMM bit-exact in tile pe timing", "[tpu][functional]") {
  Tpu tpu(load("tpu_small"));
  Gemm g;
  g.M = 16;
  g.K = 12;  // K tiles of 8 and 4
  g.N = 12;  // N tiles of 8 and 4
  g.dtype = DType::int8;
  g.host_a = 0;
  g.host_c = 0x10000;
  fill_random(g, 1);
  // Extremes: -128 * -128 products.
  for (uint32_t k = 0; k < g.K; ++k) {
    g.A[k] = 0x80;
    g.B[size_t(k) * g.N] = 0x80;
  }
  compute_reference(g, tpu.config().mxu.rows);
  build_program(g, tpu, 0, 4096, 0);
  run_all_fidelities(tpu, g);
}

namespace {
// Specials for 16-bit floats: NaN, +-Inf, subnormals, -0, huge values.
template <class T>
void sprinkle_specials(Gemm& g) {
  const bool bf = g.dtype == DType::bf16;
  const uint16_t nan = bf ? 0x7FC1 : 0x7E01;
  const uint16_t inf = bf ? 0x7F80 : 0x7C00;
  const uint16_t ninf = bf ? 0xFF80 : 0xFC00;
  const uint16_t sub = 0x0001, nsub = 0x8003;
  const uint16_t nzero = 0x8000;
  const uint16_t huge = bf ? 0x7F7F : 0x7BFF;  // max finite
  const uint32_t K = g.K, N = g.N;
  // Row 0 of A: a NaN -> NaN in every column of C row 0.
  set16(g.A, 0 * K + 3, nan);
  // Row 1: +Inf at k = 5; B row 5 has a zero in column 2 (Inf * 0 = NaN)
  // and finite values elsewhere (+-Inf).
  set16(g.A, 1 * K + 5, inf);
  set16(g.B, 5 * N + 2, 0x0000);
  // Row 2: +Inf and -Inf in the same K chunk -> Inf - Inf = NaN where both
  // weights are positive.
  set16(g.A, 2 * K + 0, inf);
  set16(g.A, 2 * K + 1, ninf);
  // Row 3: subnormal inputs times subnormal / normal weights (products
  // underflow to fp32 subnormals or zero for bf16).
  for (uint32_t k = 0; k < K; ++k) set16(g.A, 3 * K + k, k % 2 ? sub : nsub);
  set16(g.B, 0 * N + 1, sub);
  set16(g.B, 1 * N + 1, nsub);
  // Row 4: -0 inputs only: every product is +-0, the sums stay +0.
  for (uint32_t k = 0; k < K; ++k) set16(g.A, 4 * K + k, nzero);
  // Row 5: max finite times max finite: overflows fp32 for bf16 (-> Inf),
  // exact for fp16 (65504^2 < FLT_MAX).
  set16(g.A, 5 * K + 9, huge);
  for (uint32_t n = 0; n < N; ++n) set16(g.B, 9 * N + n, huge);
  // A weight Inf in B row 10, column 7 (every row with a nonzero A[.][10] gets +-Inf).
  set16(g.B, 10 * N + 7, inf);
}
}  // namespace

TEST_CASE("tpu functional: bf16 GEMM with NaN Inf subnormals bit-exact in tile pe timing", "[tpu][functional]") {
  Tpu tpu(load("tpu_small"));
  Gemm g;
  g.M = 12;
  g.K = 20;  // K chunks of 8, 8, 4: the chunked fp32 accumulation order matters
  g.N = 12;
  g.dtype = DType::bf16;
  g.host_a = 0x100;
  g.host_c = 0x20000;
  g.weight_base = 0x4000;
  fill_random(g, 2);
  sprinkle_specials<bf16>(g);
  compute_reference(g, tpu.config().mxu.rows);
  build_program(g, tpu, 0, 8192, 8);
  run_all_fidelities(tpu, g);
}

TEST_CASE("tpu functional: fp16 GEMM with NaN Inf subnormals bit-exact in tile pe timing", "[tpu][functional]") {
  Tpu tpu(load("tpu_small"));
  Gemm g;
  g.M = 12;
  g.K = 20;
  g.N = 12;
  g.dtype = DType::fp16;
  g.host_a = 0x300;
  g.host_c = 0x30000;
  g.weight_base = 0x8000;
  fill_random(g, 3);
  sprinkle_specials<fp16>(g);
  compute_reference(g, tpu.config().mxu.rows);
  build_program(g, tpu, 64, 8192, 16);
  run_all_fidelities(tpu, g);
}

// The activation unit's conversions (activation_unit.h) on int32 and fp32
// accumulators: relu, int8 requantization, bf16/fp16 rounding, raw copies.
TEST_CASE("tpu functional: activation conversions", "[tpu][functional]") {
  Tpu tpu(load("tpu_small"));
  // int8 GEMM M = 8, K = N = 8 -> int32 accumulators in rows 0..7.
  Gemm gi;
  gi.M = 8;
  gi.K = 8;
  gi.N = 8;
  gi.dtype = DType::int8;
  gi.host_c = 0x1000;
  fill_random(gi, 7);
  compute_reference(gi, 8);
  build_program(gi, tpu, 0, 1024, 0, /*halt=*/false);
  // fp16 GEMM -> fp32 accumulators in rows 8..15.
  Gemm gf;
  gf.M = 8;
  gf.K = 8;
  gf.N = 8;
  gf.dtype = DType::fp16;
  gf.host_a = 0x2000;
  gf.host_c = 0x3000;
  gf.weight_base = 0x1000;
  fill_random(gf, 8);
  set16(gf.A, 0, 0x7E00);  // NaN in row 0
  set16(gf.A, 9, 0x7C00);  // +Inf in row 1 (k = 1) ...
  set16(gf.B, 8, 0x3C00);  // ... times B[1][0] = 1.0: C[1][0] = +Inf
  compute_reference(gf, 8);
  build_program(gf, tpu, 256, 2048, 8, /*halt=*/false);

  Program p;
  p.name = "activations";
  p.code = gi.program.code;
  p.code.insert(p.code.end(), gf.program.code.begin(), gf.program.code.end());
  const char* tail = R"(
    activate acc=0 rows=8 n=8 ub=4096 stride=8 fn=relu out_dtype=int8 scale=0.0123
    activate acc=0 rows=8 n=8 ub=4160 stride=16 fn=none out_dtype=bf16
    activate acc=8 rows=8 n=8 ub=4288 stride=8 fn=relu out_dtype=int8 scale=3.5
    activate acc=8 rows=8 n=8 ub=4352 stride=16 fn=relu out_dtype=fp16
    activate acc=8 rows=8 n=8 ub=4480 stride=32 fn=relu out_dtype=fp32
    write_host_memory ub=4096 host=0x8000 bytes=640
    halt
  )";
  for (const auto& in : parse_assembly(tail).code) p.code.push_back(in);
  tpu.run(p);

  const std::vector<uint8_t> out = tpu.host().read(0x8000, 640);
  auto f32 = [](uint32_t b) { return bits_to_float(b); };
  auto relu_i = [](int32_t x) { return x < 0 ? 0 : x; };
  auto relu_f = [](float x) { return x < 0.0f ? 0.0f : x; };
  auto q8 = [](float y) { return std::isnan(y) ? int8_t{0} : quantize(y, 1.0f); };
  for (uint32_t r = 0; r < 8; ++r) {
    for (uint32_t c = 0; c < 8; ++c) {
      const int32_t ai = int32_t(gi.C[r * 8 + c]);
      const float af = f32(gf.C[r * 8 + c]);
      INFO("r " << r << " c " << c << " int " << ai << " fp " << af);
      // int32 -> relu -> int8: sat(rne(float(x) * 0.0123f)).
      CHECK(int8_t(out[r * 8 + c]) == q8(float(relu_i(ai)) * 0.0123f));
      // int32 -> bf16 (via fp32, RNE).
      uint16_t b;
      std::memcpy(&b, &out[64 + r * 16 + c * 2], 2);
      CHECK(b == bf16::from_float(float(ai)).bits);
      // fp32 -> relu -> int8 with scale 3.5 (NaN -> 0, Inf saturates).
      CHECK(int8_t(out[192 + r * 8 + c]) == q8(relu_f(af) * 3.5f));
      // fp32 -> relu -> fp16 (RNE).
      std::memcpy(&b, &out[256 + r * 16 + c * 2], 2);
      CHECK(b == fp16::from_float(relu_f(af)).bits);
      // fp32 -> relu, raw bits.
      uint32_t w;
      std::memcpy(&w, &out[384 + r * 32 + c * 4], 4);
      CHECK(w == float_to_bits(relu_f(af)));
    }
  }
  // Row 0 of the fp16 GEMM is NaN: relu keeps NaN, int8 gives 0.
  CHECK(std::isnan(f32(gf.C[0])));
  CHECK(out[192] == 0);
  // Row 1 holds +Inf: int8 saturates to 127.
  CHECK(std::isinf(f32(gf.C[8])));
  CHECK(int8_t(out[192 + 8]) == 127);
}
