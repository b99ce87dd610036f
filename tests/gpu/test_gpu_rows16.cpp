// The single-pass softmax, layernorm and rmsnorm kernels over 16-bit rows
// (nn_kernels.h, lower_rows / rows16_shape): the shape rule, the results bit
// for bit against a host model of the kernel's documented accumulation
// order, and the traffic and time that one read and one write of the row
// buy over the fp32 multi-pass kernel.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "sim/lowering/gpu/half_io.h"
#include "sim/lowering/gpu/nn_kernels.h"
#include "sim/numerics/float_bits.h"

using namespace xpu;
using namespace xpu::gpu;
using namespace xpu::lowering::gpu;

namespace {

struct RowRun {
  std::vector<uint32_t> out;  // 16-bit bits (io 16) or fp32 bits
  LaunchResult result;
};

uint64_t round_up(uint64_t a, uint64_t b) { return (a + b - 1) / b * b; }

// rows x n at a 256-byte aligned row pitch: x, then y, then the fp32 scale
// and bias (each region 256-byte aligned).
RowRun run_rows(Gpu& gpu, RowOp op, DType io, uint64_t rows, uint64_t n, const std::vector<float>& x,
                const std::vector<float>& scale, const std::vector<float>& bias) {
  const uint32_t eb = act_bytes(io);
  const uint64_t pitch = round_up(n * eb, 256), X = 0, Y = rows * pitch, S = 2 * rows * pitch,
                 B = S + round_up(n * 4, 256);
  RowSpec s;
  s.op = op;
  s.io = io;
  s.rows = rows;
  s.n = n;
  s.eps = 1e-5f;
  s.scale = S;
  s.bias = B;
  s.has_bias = op == RowOp::layernorm;
  for (uint64_t r = 0; r < rows; ++r) {
    s.x.push_back(X + r * pitch);
    s.y.push_back(Y + r * pitch);
  }
  NnPlan plan;
  lower_rows(gpu.config(), s, plan);
  gpu.memory().resize(B + round_up(n * 4, 256));
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t i = 0; i < n; ++i) {
      const float v = x[r * n + i];
      if (eb == 2) {
        const uint16_t h = narrow16(io, v);
        gpu.memory().write(X + r * pitch + 2 * i, &h, 2);
      } else {
        gpu.memory().write(X + r * pitch + 4 * i, &v, 4);
      }
    }
  gpu.memory().write(S, scale.data(), n * 4);
  gpu.memory().write(B, bias.data(), n * 4);
  RowRun out;
  out.result = gpu.run(plan.launch, RunOptions{true, false});
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t v = 0;
      gpu.memory().read(Y + r * pitch + eb * i, &v, eb);
      out.out.push_back(v);
    }
  return out;
}

// The kernel's arithmetic on one row in its order (nn_kernels.h, "Accumulation
// order"): thread t owns vectors u T + t (u ascending) of V elements and
// folds them in load order from the identity; the T partials meet in two
// trees: each warp's, s[32w + i] op= s[32w + i + st] (st = 16 .. 1), then
// one over the warps' results s[32 i] (st = T/64 .. 1). Each op is one
// IEEE fp32 operation as the model executes it (FFMA fused; ex2, rcp and rsq
// the model's SFU: exp2f, 1/x, 1/sqrtf). Returns the fp32 results before
// their one rounding.
std::vector<float> row_model(RowOp op, uint32_t T, uint32_t V, const float* x, uint64_t n, const float* scale,
                             const float* bias, bool has_bias, float eps) {
  const uint64_t vecs = n / V;
  auto fold = [&](float init, auto f) {  // per-thread partials, then the tree
    std::vector<float> s(T, init);
    for (uint32_t t = 0; t < T; ++t)
      for (uint64_t g = t; g < vecs; g += T)
        for (uint32_t j = 0; j < V; ++j) s[t] = f(s[t], g * V + j);
    return s;
  };
  auto tree = [&](std::vector<float> s, auto op2) {
    for (uint32_t w = 0; w < T; w += 32)  // each warp's tree
      for (uint32_t st = 16; st >= 1; st /= 2)
        for (uint32_t i = 0; i < st; ++i) s[w + i] = op2(s[w + i], s[w + i + st]);
    for (uint32_t st = T / 64; st >= 1; st /= 2)  // warp 0's over the warps' results
      for (uint32_t i = 0; i < st; ++i) s[32 * i] = op2(s[32 * i], s[32 * (i + st)]);
    return s[0];
  };
  auto add = [](float a, float b) { return a + b; };
  const float inv_n = 1.0f / float(n);
  std::vector<float> y(n);
  if (op == RowOp::softmax) {
    const float m = tree(fold(-std::numeric_limits<float>::infinity(),
                              [&](float a, uint64_t i) { return std::fmax(a, x[i]); }),
                         [](float a, float b) { return std::fmax(a, b); });
    const float neg = m * -1.0f;
    std::vector<float> e(n);
    for (uint64_t i = 0; i < n; ++i) e[i] = std::exp2((x[i] + neg) * 1.4426950408889634f);
    const float r = 1.0f / tree(fold(0.0f, [&](float a, uint64_t i) { return a + e[i]; }), add);
    for (uint64_t i = 0; i < n; ++i) y[i] = e[i] * r;
    return y;
  }
  std::vector<float> d(x, x + n);
  if (op == RowOp::layernorm) {
    const float neg = tree(fold(0.0f, [&](float a, uint64_t i) { return a + x[i]; }), add) * inv_n * -1.0f;
    for (float& v : d) v = v + neg;
  }
  const float ss = tree(fold(0.0f, [&](float a, uint64_t i) { return std::fma(d[i], d[i], a); }), add);
  const float inv = 1.0f / std::sqrt(ss * inv_n + eps);
  for (uint64_t i = 0; i < n; ++i) {
    const float w = d[i] * inv;
    y[i] = has_bias ? std::fma(w, scale[i], bias[i]) : w * scale[i];
  }
  return y;
}

const char* op_label(RowOp op) {
  return op == RowOp::softmax ? "softmax" : op == RowOp::layernorm ? "layernorm" : "rmsnorm";
}

// Runs rows x n of `op` on `config` in fp16 and bf16 and checks every
// output bit against row_model rounded once, with the shape the rule gives.
void check_bits(Gpu& gpu, uint64_t rows, uint64_t n, uint32_t want_threads, uint32_t want_vec) {
  for (DType t : {DType::fp16, DType::bf16}) {
    const auto x = test::random_floats(rows * n, 51 + n, t);  // values the 16-bit type holds
    const auto scale = test::random_floats(n, 52), bias = test::random_floats(n, 53);
    for (RowOp op : {RowOp::softmax, RowOp::layernorm, RowOp::rmsnorm}) {
      INFO(dtype_name(t) << " " << op_label(op) << " " << rows << "x" << n);
      const bool has_bias = op == RowOp::layernorm;
      const Rows16Shape sh = rows16_shape(gpu.config(), op, rows, n, has_bias);
      CHECK(sh.threads == want_threads);
      CHECK(sh.vec == want_vec);
      const RowRun h = run_rows(gpu, op, t, rows, n, x, scale, bias);
      size_t bad = 0;
      for (uint64_t r = 0; r < rows; ++r) {
        const auto want = row_model(op, sh.threads, sh.vec, &x[r * n], n, scale.data(), bias.data(), has_bias, 1e-5f);
        for (uint64_t i = 0; i < n; ++i) bad += h.out[r * n + i] != narrow16(t, want[i]);
      }
      CHECK(bad == 0);
    }
  }
}

}  // namespace

TEST_CASE("16-bit row kernels: threads per row, vector width and the register limit", "[gpu][half][nn][rows16]") {
  const GpuConfig a100 = test::load("a100.yaml");
  // GPT-3 decode, 8 rows of 12288: V = gcd(8, 12288) = 8 (16-byte loads),
  // 1536 vectors; fewer than 256 rows cap T at 1024: T = 1024, per = 2
  // (threads 0..511 own a second vector). Registers: 14 + 16 row + 32 for
  // the prefetched scale and bias = 62 <= 64, so both are prefetched.
  Rows16Shape s = rows16_shape(a100, RowOp::layernorm, 8, 12288, true);
  CHECK(s.threads == 1024);
  CHECK(s.vec == 8);
  CHECK(s.per == 2);
  CHECK(s.prefetch);
  // GPT-3 prefill, 16384 rows: T starts at the many-row cap of 256 with
  // per = 6 (48 row registers): 14 + 48 + 16 (one vector's scale and bias)
  // = 78 > 64; T = 512: per = 3, 14 + 24 + 48 = 86 > 64 prefetched,
  // 14 + 24 + 16 = 54 one vector at a time.
  s = rows16_shape(a100, RowOp::layernorm, 16384, 12288, true);
  CHECK(s.threads == 512);
  CHECK(s.per == 3);
  CHECK_FALSE(s.prefetch);
  // BERT-base: 128 rows of 768 = 96 vectors -> T = 128 (power of two
  // covering them), one vector a thread; its 1536 softmax rows of 128 = 16
  // vectors -> T = 32, the minimum (one warp).
  s = rows16_shape(a100, RowOp::layernorm, 128, 768, true);
  CHECK(s.threads == 128);
  CHECK(s.per == 1);
  s = rows16_shape(a100, RowOp::softmax, 1536, 128, false);
  CHECK(s.threads == 32);
  // Odd length: V = 1 (2-byte loads), 4099 vectors over 1024 threads, per = 5.
  s = rows16_shape(a100, RowOp::layernorm, 3, 4099, true);
  CHECK(s.vec == 1);
  CHECK(s.threads == 1024);
  CHECK(s.per == 5);
  // A base aligned to 4 bytes only: V = 2 (4-byte loads) for softmax; layernorm
  // also needs its scale's 8-byte loads aligned, so V = 1.
  CHECK(rows16_shape(a100, RowOp::softmax, 8, 12288, false, 4).vec == 2);
  CHECK(rows16_shape(a100, RowOp::layernorm, 8, 12288, true, 4).vec == 1);
  // The limit at T = 1024, V = 8 (per vectors, 8 per registers): softmax
  // 14 + 8 per <= 64 -> per <= 6: n <= 49152; rmsnorm 14 + 8 per + 8 <= 64 ->
  // per <= 5: n <= 40960; layernorm with bias 14 + 8 per + 16 -> per <= 4:
  // n <= 32768. One vector more is refused (the lowering runs fp32 rows).
  CHECK(rows16_shape(a100, RowOp::softmax, 8, 49152, false).threads == 1024);
  CHECK(rows16_shape(a100, RowOp::softmax, 8, 49160, false).threads == 0);
  CHECK(rows16_shape(a100, RowOp::rmsnorm, 8, 40960, false).threads == 1024);
  CHECK(rows16_shape(a100, RowOp::rmsnorm, 8, 40968, false).threads == 0);
  CHECK(rows16_shape(a100, RowOp::layernorm, 8, 32768, true).threads == 1024);
  CHECK(rows16_shape(a100, RowOp::layernorm, 8, 32776, true).threads == 0);
  // Many rows are capped at 256 threads first, but T still doubles to 1024
  // for the registers: the limit is the same.
  CHECK(rows16_shape(a100, RowOp::layernorm, 4096, 32768, true).threads == 1024);
  CHECK(rows16_shape(a100, RowOp::argmax, 8, 4096, false).threads == 0);  // no 16-bit argmax
}

// (One simulated GPU per process: a test case per configuration.)
TEST_CASE("16-bit row kernels: bit-exact in the documented order, long and odd rows (Volta)", "[gpu][half][nn][rows16]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  // 2 rows of 12288 (GPT-3's d_model, past the old 4096 limit): 16-byte
  // loads, 1024 threads, two vectors for the first 512 (the second guarded
  // off for the rest), as the shape test derives.
  check_bits(gpu, 2, 12288, 1024, 8);
  // 3 rows of 4099 (odd, > 4096): 2-byte loads, 1024 threads, 5 elements for
  // threads 0..2 (4099 = 4 x 1024 + 3), 4 for the others.
  check_bits(gpu, 3, 4099, 1024, 1);
  // 6 rows of 300: V = 4 (8-byte loads), 75 vectors -> 128 threads, 53 idle.
  check_bits(gpu, 6, 300, 128, 4);
}

TEST_CASE("16-bit row kernels: bit-exact in the documented order, long and odd rows (Ampere)", "[gpu][half][nn][rows16][ampere]") {
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  check_bits(gpu, 2, 12288, 1024, 8);  // as on gpu_small
  check_bits(gpu, 3, 4099, 1024, 1);
}

TEST_CASE("single-pass 16-bit rows: one read, one write of the row, one rounding", "[gpu][half][nn][rows16]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  const uint64_t rows = 6, n = 300;
  const DType t = DType::fp16;
  const auto x = test::random_floats(rows * n, 41, t);
  const auto scale = test::random_floats(n, 42), bias = test::random_floats(n, 43);
  for (RowOp op : {RowOp::softmax, RowOp::layernorm}) {
    INFO(op_label(op));
    const RowRun h = run_rows(gpu, op, t, rows, n, x, scale, bias);
    const RowRun f = run_rows(gpu, op, DType::fp32, rows, n, x, scale, bias);  // the multi-pass fp32 kernel
    // One read of the row: a 600-byte row is 19 sectors of 32 bytes (the
    // last holds 24 bytes), read once; layernorm also reads the fp32 scale
    // and bias, 1200 bytes = 37.5 -> 38 sectors each. The fp32 kernel reads
    // its 1200-byte x twice (softmax: and y once), 38 sectors each, and
    // layernorm's params in its last pass.
    const double per_row = op == RowOp::softmax ? 19 : 19 + 2 * 38;
    CHECK(h.result.sm[Ctr::l1_read_bytes] == rows * per_row * 32);
    CHECK(f.result.sm[Ctr::l1_read_bytes] == rows * (op == RowOp::softmax ? 3 * 38 : 2 * 38 + 3 * 38) * 32);
    // One write: the same 19 sectors of y (the fp32 kernel writes 38, twice for softmax).
    CHECK(h.result.sm[Ctr::gmem_write_bytes] == rows * 19 * 32);
  }
}

TEST_CASE("single-pass 16-bit layernorm of long rows is faster than the fp32 multi-pass rows it replaces",
          "[gpu][half][nn][rows16][perf]") {
  // 8 rows of 12288 on ampere_small (GPT-3's decode layernorm, 8 tokens),
  // which the lowering ran as fp32 rows before (n > 4096).
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  const uint64_t rows = 8, n = 12288;
  const auto x = test::random_floats(rows * n, 61, DType::fp16);
  const auto scale = test::random_floats(n, 62), bias = test::random_floats(n, 63);
  const RowRun h = run_rows(gpu, RowOp::layernorm, DType::fp16, rows, n, x, scale, bias);
  const RowRun f = run_rows(gpu, RowOp::layernorm, DType::fp32, rows, n, x, scale, bias);
  // Sector bytes through L1 per row: fp16 reads x once (24576 B, each warp
  // 512 contiguous bytes a load) and scale and bias (49152 B each) with two
  // 16-byte loads per thread and vector (its 8 fp32 parameters are 32
  // bytes): each load uses half of each 32-byte sector it touches, so
  // 2 x 2 x 49152. fp32 reads x three times (3 x 49152) and the params once
  // (4 bytes a lane, contiguous). Writes: 24576 vs 49152.
  CHECK(h.result.sm[Ctr::l1_read_bytes] == rows * (24576 + 4 * 49152));
  CHECK(f.result.sm[Ctr::l1_read_bytes] == rows * (3 * 49152 + 2 * 49152));
  CHECK(h.result.sm[Ctr::gmem_write_bytes] == rows * 24576);
  CHECK(f.result.sm[Ctr::gmem_write_bytes] == rows * 49152);
  // Time: x and y move once, as 16-bit (a third of the fp32 kernel's bytes
  // of x and y; the parameters are L2 hits after the first row), and every thread's loads in flight at once (2 of
  // 16 bytes plus 4+4 of 16 bytes of params, 1024 threads a row) instead of
  // 96 dependent 4-byte loop trips per pass for 128 threads: at least 3x.
  INFO("fp16 single pass " << h.result.cycles << " cycles, fp32 multi-pass " << f.result.cycles);
  CHECK(h.result.cycles * 3 < f.result.cycles);
}
