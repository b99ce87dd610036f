// The sm80 cp.async multistage kernels (sim/lowering/gpu/sm80_mainloop.h)
// beyond fp16 GEMM: the int8 GEMM (m16n8k32 -> int32, K-major B), split-K
// and the skinny (16- and 32-row) tiles with the kernel selection, and the
// implicit-GEMM convolution on the cp.async ring (fp16, bf16, int8), each
// bit for bit against the references in the tensor core's order.
#include <catch2/catch.hpp>

#include <cstring>

#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "sim/lowering/gpu/conv_implicit.h"
#include "sim/lowering/gpu/gemm_select.h"
#include "sim/lowering/gpu/gemm_sm80.h"
#include "sim/lowering/gpu/gemm_sm80_sparse.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/tc_reference.h"

using namespace xpu;
using namespace xpu::gpu;
using namespace xpu::lowering::gpu;

namespace {

// An sm80 kernel (gemm_sm80.h): CTA tile, warp tile, K step, asked ring depth.
GemmTiling sm80_tile(uint32_t bm, uint32_t bn, uint32_t wm, uint32_t wn, uint32_t bk, uint32_t stages,
                     uint32_t split = 1) {
  GemmTiling t;
  t.bm = bm, t.bn = bn, t.wm = wm, t.wn = wn, t.bk = bk, t.stages = stages, t.split_k = split;
  return t;
}

size_t gemm_mismatches(Gpu& gpu, const GpuGemmSpec& spec, GpuGemmPlan& plan, uint64_t seed, LaunchResult* out = nullptr) {
  lower_gemm_tc(gpu.config(), spec, plan);
  const auto a = test::random_matrix(spec.in, spec.m, spec.k, seed), b = test::random_matrix(spec.in, spec.k, spec.n, seed + 1);
  stage_inputs(plan.layout, spec, a.data(), b.data(), gpu.memory());
  const LaunchResult r = gpu.run(plan.launch, RunOptions{true, false});
  if (out) *out = r;
  const auto raw = read_output(plan.layout, spec, gpu.memory());
  const auto want = reference_gemm_tc(spec.in, spec.acc, spec.m, spec.n, spec.k, plan.layout.kp, a.data(), b.data(),
                                      plan.layout.dot_group);
  size_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    uint32_t v = 0;
    std::memcpy(&v, &raw[i * 4], 4);
    bad += v != want[i];
  }
  return bad;
}

ConvSpec conv(uint64_t batch, uint64_t c, uint64_t hw, uint64_t k, uint32_t rs, uint32_t stride, uint32_t pad,
              DType in, bool epilogue = false) {
  ConvSpec s;
  s.name = "c";
  s.batch = batch, s.c = c, s.h = s.w = hw, s.k = k, s.r = s.s = rs;
  s.stride_h = s.stride_w = stride;
  s.pad_t = s.pad_l = s.pad_b = s.pad_r = pad;
  s.in = in;
  s.acc = in == DType::int8 ? AccType::s32 : AccType::f32;
  if (epilogue) s.ep = TcEpilogue{true, Activation::relu};
  return s;
}

struct ConvOut {
  size_t bad = 0, nonzero = 0;
  ConvPlan plan;
};

void run_conv(Gpu& gpu, const ConvSpec& s, uint64_t seed, ConvOut& o) {
  lower_conv_implicit(gpu.config(), s, o.plan);
  const auto x = test::random_matrix(s.in, s.batch * s.h * s.w, s.c, seed);
  const auto w = test::random_matrix(s.in, s.k * s.r * s.s, s.c, seed + 1);
  std::vector<float> bias(s.k);
  for (uint64_t j = 0; j < s.k; ++j) bias[j] = float(int(j % 5) - 2) * 0.5f;
  stage_conv_inputs(o.plan.layout, s, x.data(), w.data(), bias.data(), gpu.memory());
  // A residual (ep.residual): values of both signs, some cancelling the sum.
  std::vector<float> res(o.plan.layout.m * o.plan.layout.n);
  for (size_t i = 0; i < res.size(); ++i) res[i] = float(int(i % 11) - 5) * 0.375f;
  if (s.ep.residual) stage_conv_residual(o.plan.layout, s, res.data(), gpu.memory());
  gpu.run(o.plan.launch, RunOptions{true, false});
  const auto got = read_conv_output(o.plan.layout, s, gpu.memory());
  const auto want = reference_conv_tc(o.plan.layout, s, x.data(), w.data(), bias.data(), res.data());
  for (size_t i = 0; i < got.size(); ++i) {
    o.bad += got[i] != want[i];
    o.nonzero += got[i] != 0;
  }
}

}  // namespace

TEST_CASE("sm80 int8 GEMM: m16n8k32 with a K-major B, bit-exact", "[gpu][gemm][ampere][sm80]") {
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  // 96 x 80 x 100: 64 x 64 x 64 tiles, K padded to 128 = 2 K tiles.
  {
    GpuGemmSpec spec{"g8", 96, 80, 100, DType::int8, AccType::s32};
    spec.tiling = sm80_tile(64, 64, 32, 32, 64, 4);
    GpuGemmPlan plan;
    LaunchResult r;
    CHECK(gemm_mismatches(gpu, spec, plan, 11, &r) == 0);
    CHECK(plan.kernel.name == "g8_sm80_64x64x64_w32x32_s3");
    CHECK(plan.layout.b_k_major);
    // B is N x K: np = 128 rows of kp = 128 bytes.
    CHECK(plan.layout.ldb == 128);
    // Padded 128 x 128 x 128 MACs over 4096 per m16n8k32: 512 mma.sync.
    CHECK(r.sm[Ctr::inst_tensor] == 512);
    // 3 stages (2 K tiles + 1) of 64 x 80 (A) + 64 x 80 (B) bytes.
    CHECK(plan.launch.shared_bytes == 3 * (64 * 80 + 64 * 80));
  }
  // 256 x 512 x 320: the 128 x 256 x 64 tile, 5 K tiles through a 4-stage
  // ring of 128 x 80 + 256 x 80 = 30720 bytes (4 x 30720 = 120 KiB fit).
  {
    GpuGemmSpec spec{"big8", 256, 512, 320, DType::int8, AccType::s32};
    spec.tiling = sm80_tile(128, 256, 64, 64, 64, 4);
    GpuGemmPlan plan;
    LaunchResult r;
    CHECK(gemm_mismatches(gpu, spec, plan, 21, &r) == 0);
    CHECK(plan.tiling.stages == 4);
    CHECK(plan.launch.shared_bytes == 4 * 30720);
    // cp.async moved A and B once per CTA: 4 CTAs x 5 tiles x (128 x 64 + 256 x 64) bytes.
    CHECK(r.sm[Ctr::smem_write_bytes] == 4ull * 5 * (128 * 64 + 256 * 64));
  }
}

TEST_CASE("sm80 implicit-GEMM conv on the cp.async ring, bit-exact", "[gpu][conv][ampere][sm80]") {
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  struct Case {
    const char* what;
    ConvSpec s;
  };
  const Case cases[] = {
      {"fp16 3x3 pad 1 batch 2, two channel blocks per tap", conv(2, 64, 8, 48, 3, 1, 1, DType::fp16)},
      {"fp16 3x3 stride 2 with bias + relu", conv(1, 32, 13, 64, 3, 2, 1, DType::fp16, true)},
      {"fp16 7x7 stride-2 stem, C = 3 (two 8-byte taps per chunk)", conv(1, 3, 30, 64, 7, 2, 3, DType::fp16)},
      {"bf16 1x1 batch 2", conv(2, 96, 7, 32, 1, 1, 0, DType::bf16)},
      {"int8 3x3 pad 1, C = 128 (two 64-channel blocks per tap)", conv(2, 128, 8, 48, 3, 1, 1, DType::int8)},
      {"int8 1x1 stride 2, C = 64", conv(1, 64, 14, 96, 1, 2, 0, DType::int8)},
      {"int8 7x7 stem, C = 3 (four 4-byte taps per chunk)", conv(2, 3, 15, 32, 7, 2, 3, DType::int8)},
      {"int8 3x3, C = 32 (two taps per 64-byte K tile)", conv(1, 32, 9, 40, 3, 1, 1, DType::int8)},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    ConvOut o;
    run_conv(gpu, c.s, 300, o);
    CHECK(o.plan.kernel.name == "c_conv_sm80");
    CHECK(o.plan.tiling.stages >= 2);
    CHECK(o.plan.layout.g.b_k_major == (c.s.in == DType::int8));
    CHECK(o.bad == 0);
    // The gather reads real data: most outputs are nonzero.
    CHECK(o.nonzero > o.plan.layout.m * o.plan.layout.n / 2);
  }
}

namespace {

// A sparse GEMM's raw results against reference_gemm_sparse.
size_t sparse_mismatches(Gpu& gpu, const GpuGemmSpec& spec, const TcEpilogue& ep, uint64_t seed, GpuGemmPlan& plan,
                         LaunchResult& r) {
  lower_gemm_tc(gpu.config(), spec, plan, ep);
  const auto a = test::random_matrix(spec.in, spec.m, spec.k, seed), b = test::random_matrix(spec.in, spec.k, spec.n, seed + 1);
  std::vector<float> bias(spec.n);
  for (uint64_t j = 0; j < spec.n; ++j) bias[j] = float(int(j % 7) - 3) * 0.75f;
  stage_inputs(plan.layout, spec, a.data(), b.data(), gpu.memory());
  if (ep.bias) stage_bias(plan.layout, spec.n, bias.data(), gpu.memory());
  r = gpu.run(plan.launch, RunOptions{true, false});
  const auto raw = read_output(plan.layout, spec, gpu.memory());
  auto want = reference_gemm_sparse(spec.in, spec.acc, spec.m, spec.n, spec.k, plan.layout.kp, a.data(), b.data(),
                                    plan.layout.dot_group);
  reference_epilogue(ep, spec.m, spec.n, bias.data(), want);
  size_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    uint32_t v = 0;
    std::memcpy(&v, &raw[i * 4], 4);
    bad += v != want[i];
  }
  return bad;
}

}  // namespace

TEST_CASE("2:4 pruning keeps the two largest magnitudes of every group of 4", "[gpu][sparse][sm80]") {
  // One column, K = 8 (two groups) padded to 12 (a third group of zeros):
  // group 0 {1, -5, 3, 0} keeps k 1 and 2 (|-5|, |3|); group 1 {2, 2, -2, 1}
  // ties: keeps k 4 and 5 (the lower of equal magnitudes); group 2 keeps k 8, 9.
  const int8_t b[8] = {1, -5, 3, 0, 2, 2, -2, 1};
  const Pruned p = prune_2_4(DType::int8, 8, 1, 12, reinterpret_cast<const uint8_t*>(b));
  CHECK(p.kc == 6);
  CHECK(p.kidx == std::vector<uint32_t>{1, 2, 4, 5, 8, 9});
  CHECK(int8_t(p.values[0]) == -5);
  CHECK(int8_t(p.values[1]) == 3);
  CHECK(int8_t(p.values[4]) == 0);
  const auto dense = pruned_dense(DType::int8, 8, 1, p);
  CHECK(std::vector<int8_t>(dense.begin(), dense.end()) == std::vector<int8_t>{0, -5, 3, 0, 2, 2, 0, 0});
}

TEST_CASE("sm80 2:4 sparse GEMM on mma.sp: bit-exact, twice the MACs per instruction", "[gpu][gemm][ampere][sparse][sm80]") {
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  const TcEpilogue relu_bias{true, Activation::relu};
  struct Case {
    DType in;
    AccType acc;
    bool ep;
  };
  for (const Case c : {Case{DType::fp16, AccType::f32, false}, Case{DType::fp16, AccType::f32, true},
                       Case{DType::bf16, AccType::f32, false}, Case{DType::int8, AccType::s32, false}}) {
    INFO(dtype_name(c.in) << " epilogue " << c.ep);
    // 100 x 150 x 200: 64-pixel x 128-channel tiles (2 x 2 CTAs), K padded
    // to the 2-step K tile (fp16: 64 -> 256, 4 tiles; int8: 128 -> 256, 2 tiles).
    GpuGemmSpec spec{"sp", 100, 150, 200, c.in, c.acc};
    spec.sparse = true;
    GpuGemmPlan plan;
    LaunchResult r;
    CHECK(sparse_mismatches(gpu, spec, c.ep ? relu_bias : TcEpilogue{}, 40, plan, r) == 0);
    CHECK(plan.kernel.name == "sp_sm80_sp24");
    CHECK(plan.layout.kp == 256);
    // Dense-equivalent padded MACs 128 x 256 x 256; one mma.sp does 2 x 2048
    // (fp16: 16 x 8 x 32) or 2 x 4096 (int8: 16 x 8 x 64) of them.
    const uint64_t dense = 128ull * 256 * 256, per = c.in == DType::int8 ? 8192 : 4096;
    CHECK(r.sm[Ctr::inst_tensor] == dense / per);
    CHECK(r.sm[c.in == DType::int8 ? Ctr::mac_sparse8 : Ctr::mac_sparse16] == dense / 2);
  }
}

TEST_CASE("sm80 2:4 sparse implicit-GEMM conv, bit-exact", "[gpu][conv][ampere][sparse][sm80]") {
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  struct Case {
    const char* what;
    ConvSpec s;
  };
  Case cases[] = {
      {"fp16 3x3 pad 1 batch 2, bias + relu", conv(2, 64, 8, 48, 3, 1, 1, DType::fp16, true)},
      {"fp16 7x7 stem, C = 3", conv(1, 3, 20, 64, 7, 2, 3, DType::fp16)},
      {"int8 3x3, C = 64 (two taps per K tile)", conv(1, 64, 9, 130, 3, 1, 1, DType::int8)},
      {"int8 1x1, C = 256 (two K tiles per tap)", conv(2, 256, 7, 64, 1, 1, 0, DType::int8)},
  };
  for (Case& c : cases) {
    INFO(c.what);
    c.s.sparse = true;
    ConvOut o;
    run_conv(gpu, c.s, 500, o);
    CHECK(o.plan.kernel.name == "c_conv_sm80_sp24");
    CHECK(o.plan.layout.g.sparse);
    CHECK(o.bad == 0);
    // Real data through the gather: most outputs nonzero (about half after the relu).
    CHECK(o.nonzero > o.plan.layout.m * o.plan.layout.n / 3);
  }
}

TEST_CASE("sm80 2:4 sparse conv with a fused residual add, bit-exact", "[gpu][conv][ampere][sparse][sm80]") {
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  // y = relu((conv + bias) + res) and (conv + bias) + res, each add one fp32
  // rounding (reference_epilogue), on a 3x3 (128-channel tiles, two CTA
  // rows) and a 1x1 (64-channel tile).
  ConvSpec a = conv(2, 64, 8, 130, 3, 1, 1, DType::fp16, true);
  ConvSpec b = conv(1, 256, 7, 64, 1, 1, 0, DType::bf16, true);
  b.ep.act = Activation::none;
  for (ConvSpec* s : {&a, &b}) {
    s->sparse = true;
    s->ep.residual = true;
    ConvOut o;
    run_conv(gpu, *s, 77, o);
    INFO(s->c << " channels, " << s->r << "x" << s->s);
    CHECK(o.bad == 0);
    CHECK(o.plan.launch.nbufs == 6);  // X, W, C, bias, metadata, residual
    CHECK(o.nonzero > o.plan.layout.m * o.plan.layout.n / 3);
  }
  // int8 accumulates in int32: no fused residual add.
  ConvSpec c = conv(1, 64, 9, 64, 3, 1, 1, DType::int8);
  c.sparse = true;
  c.ep.residual = true;
  ConvPlan plan;
  CHECK_THROWS_WITH(lower_conv_implicit(gpu.config(), c, plan), Catch::Matchers::Contains("residual add needs fp32"));
}

TEST_CASE("2:4 sparsity on a machine without mma.sp is a clear lowering error", "[gpu][sparse][sm80]") {
  GpuGemmSpec spec{"w", 64, 64, 64, DType::fp16, AccType::f32};
  spec.sparse = true;
  GpuGemmPlan plan;
  for (const char* cfg : {"v100.yaml", "ampere_small.yaml"}) {
    INFO(cfg);
    const GpuConfig c = std::string(cfg) == "v100.yaml" ? test::load(cfg) : test::load(cfg, {"tensor_core.sparse_2_4=false"});
    CHECK_THROWS_AS(lower_gemm_tc(c, spec, plan), GpuLoweringError);
    CHECK_THROWS_WITH(lower_gemm_tc(c, spec, plan), Catch::Matchers::Contains("sparsity 2:4 needs sparse tensor cores"));
  }
}

namespace {

struct SplitOut {
  size_t bad = 0;
  std::vector<uint32_t> got;
  GpuGemmPlan plan;
  LaunchResult r;
};

// The GEMM through lower_gemm_tc and all its launches (split-K: the first
// pass and the reduction), against the split-order reference in the mma
// shape's groups of 8 products and the epilogue reference.
void run_split(Gpu& gpu, const GpuGemmSpec& spec, const TcEpilogue& ep, uint64_t seed, SplitOut& o) {
  lower_gemm_tc(gpu.config(), spec, o.plan, ep);
  const auto a = test::random_matrix(spec.in, spec.m, spec.k, seed), b = test::random_matrix(spec.in, spec.k, spec.n, seed + 1);
  std::vector<float> bias(spec.n);
  for (uint64_t j = 0; j < spec.n; ++j) bias[j] = 0.25f * float(int(j % 9) - 4);
  stage_inputs(o.plan.layout, spec, a.data(), b.data(), gpu.memory());
  if (ep.bias) stage_bias(o.plan.layout, spec.n, bias.data(), gpu.memory());
  o.r = gpu.run_stream(o.plan.launches(), RunOptions{true, false});
  const auto raw = read_output(o.plan.layout, spec, gpu.memory());
  o.got.resize(spec.m * spec.n);
  std::memcpy(o.got.data(), raw.data(), raw.size());
  auto want = reference_gemm_tc_split(spec.in, spec.m, spec.n, spec.k, o.plan.layout.kslice, o.plan.tiling.split_k,
                                      a.data(), b.data(), o.plan.layout.dot_group);
  reference_epilogue(ep, spec.m, spec.n, bias.data(), want);
  for (size_t i = 0; i < want.size(); ++i) o.bad += o.got[i] != want[i];
}

}  // namespace

TEST_CASE("sm80 split-K GEMMs are bit-exact against the split-order reference", "[gpu][gemm][ampere][sm80][splitk]") {
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  const TcEpilogue relu_bias{true, Activation::relu};
  // 96 x 80 x 200 on 64 x 64 x 32 tiles: K = 200 -> 7 K tiles -> 3 splits
  // of 3 tiles (96 K each; the last holds 200 - 192 = 8 real rows), each
  // through a 4-stage ring (3 tiles + 1); 2 x 2 tiles x 3 splits = 12
  // first-pass CTAs; the reduction sums (P0 + P1) + P2, adds bias, relu.
  GpuGemmSpec s{"g", 96, 80, 200, DType::fp16, AccType::f32};
  s.tiling = sm80_tile(64, 64, 32, 32, 32, 4, 3);
  SplitOut o;
  run_split(gpu, s, relu_bias, 7, o);
  CHECK(o.bad == 0);
  CHECK(o.plan.split());
  CHECK(o.plan.layout.kslice == 96);
  CHECK(o.plan.launch.ctas == 12);
  // 12 CTAs x (64 x 64 x 96) MACs, 2048 per m16n8k16.
  CHECK(o.r.sm[Ctr::mac_fp16] == 12ull * 64 * 64 * 96);
  CHECK(o.r.sm[Ctr::inst_tensor] == 12ull * 64 * 64 * 96 / 2048);
  // The split order is visible: the unsplit kernel's (bit-exact) result differs somewhere.
  GpuGemmSpec u = s;
  u.tiling = sm80_tile(64, 64, 32, 32, 32, 4, 1);
  SplitOut plain;
  run_split(gpu, u, relu_bias, 7, plain);
  CHECK(plain.bad == 0);
  size_t differ = 0;
  for (size_t i = 0; i < o.got.size(); ++i) differ += o.got[i] != plain.got[i];
  CHECK(differ > 0);
  // Reproducible: the same split twice gives the same bits.
  SplitOut again;
  run_split(gpu, s, relu_bias, 7, again);
  CHECK(again.got == o.got);
  // bf16, 4 splits of the 128 x 128 x 64 tile (3 stages), no epilogue.
  GpuGemmSpec b{"g", 128, 128, 512, DType::bf16, AccType::f32};
  b.tiling = sm80_tile(128, 128, 64, 64, 64, 3, 4);
  SplitOut ob;
  run_split(gpu, b, TcEpilogue{}, 9, ob);
  CHECK(ob.bad == 0);
  // Split-K needs fp32 accumulation; the ring has 3 to 5 stages.
  GpuGemmPlan plan;
  GpuGemmSpec h{"g", 64, 64, 512, DType::fp16, AccType::f16};
  h.tiling = sm80_tile(64, 64, 32, 32, 32, 4, 2);
  CHECK_THROWS_AS(lower_gemm_tc(gpu.config(), h, plan), GpuLoweringError);
  GpuGemmSpec d{"g", 64, 64, 512, DType::fp16, AccType::f32};
  d.tiling = sm80_tile(64, 64, 32, 32, 32, 2);
  CHECK_THROWS_AS(lower_gemm_tc(gpu.config(), d, plan), GpuLoweringError);
}

TEST_CASE("sm80 skinny tiles (M <= 32): bit-exact with and without split-K", "[gpu][gemm][ampere][sm80][splitk]") {
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  const TcEpilogue relu_bias{true, Activation::relu};
  // M = 1 and 8 (a decode step's rows) padded to one 16-row mma tile; only
  // the real rows are stored (C or the partials). K = 640 = 10 K tiles of 64.
  for (uint64_t m : {1, 8, 24})
    for (const GemmTiling& t : {sm80_tile(16, 128, 16, 64, 64, 5), sm80_tile(16, 64, 16, 32, 64, 5, 3),
                                sm80_tile(16, 256, 16, 64, 64, 4, 4), sm80_tile(32, 64, 32, 32, 64, 5, 2)}) {
      if (m > t.bm) continue;
      GpuGemmSpec s{"skinny", m, 200, 640, DType::fp16, AccType::f32};
      s.tiling = t;
      for (const bool ep : {false, true}) {
        INFO("m " << m << " " << t.name() << " epilogue " << ep);
        SplitOut o;
        run_split(gpu, s, ep ? relu_bias : TcEpilogue{}, 40 + m, o);
        CHECK(o.bad == 0);
      }
    }
  // int8 on the 16-row tile (K-major B, K steps of 128 bytes), unsplit.
  GpuGemmSpec s8{"skinny8", 8, 200, 700, DType::int8, AccType::s32};
  s8.tiling = sm80_tile(16, 128, 16, 64, 128, 5);
  GpuGemmPlan plan;
  CHECK(gemm_mismatches(gpu, s8, plan, 5) == 0);
}

TEST_CASE("sm80 kernel selection: skinny split-K for decode projections, large tiles for large GEMMs", "[gpu][select][ampere][sm80]") {
  const GpuConfig cfg = test::load("a100.yaml");
  // GPT-3's 8-row decode projection (one of 4 tensor-parallel shards): 48
  // column tiles of 64 leave 60 of 108 SMs idle unsplit; the model picks
  // a skinny tile (M <= 16: 16 or 32 rows) split over K, with its
  // reduction as a second kernel.
  GpuGemmPlan dec;
  lower_gemm_tc(cfg, GpuGemmSpec{"qkv", 8, 3072, 12288, DType::fp16, AccType::f32}, dec);
  CHECK(dec.tiling.bm <= 32);
  CHECK(dec.tiling.split_k > 1);
  CHECK(dec.launches().size() == 2);
  // int8 keeps int32 accumulators: no split, K steps of 128 bytes.
  GpuGemmPlan dec8;
  lower_gemm_tc(cfg, GpuGemmSpec{"qkv8", 8, 3072, 12288, DType::int8, AccType::s32}, dec8);
  CHECK((dec8.tiling.bm <= 32 && dec8.tiling.split_k == 1 && dec8.tiling.bk == 128));
  // 8192^3: every SM busy for 19 waves of 128 x 256 tiles, math-bound: the
  // largest tile (fewest bytes per MAC) and no split.
  GpuGemmPlan big;
  lower_gemm_tc(cfg, GpuGemmSpec{"big", 8192, 8192, 8192, DType::fp16, AccType::f32}, big);
  CHECK((big.tiling.bm == 128 && big.tiling.bn == 256 && big.tiling.bk == 64 && big.tiling.stages == 3));
  CHECK(big.tiling.split_k == 1);
  // Every candidate of the table lowers for fp16 and int8.
  for (const DType in : {DType::fp16, DType::int8})
    for (const GemmTiling& t : sm80_candidates(in)) {
      GpuGemmSpec s{"c", 512, 512, 512, in, in == DType::int8 ? AccType::s32 : AccType::f32};
      s.tiling = t;
      GpuGemmPlan p;
      INFO(dtype_name(in) << " " << t.name());
      CHECK_NOTHROW(lower_gemm_tc(cfg, s, p));
    }
}

TEST_CASE("a100: the 8-row decode projection runs near its memory bound", "[gpu][gemm][ampere][sm80][perf]") {
  Gpu gpu("gpu", test::load("a100.yaml"));
  // 8 x 3072 x 12288 fp16: B is 3072 x 12288 x 2 = 75.5 MB, which must come
  // from HBM once: 75.5 MB / 2039 GB/s = 37.0 us = 52.2 k cycles at 1410
  // MHz; at a100.yaml's sustained 85 % of it, 61.4 k. Timing only.
  GpuGemmPlan plan;
  const GpuGemmSpec spec{"qkv", 8, 3072, 12288, DType::fp16, AccType::f32};
  lower_gemm_tc(gpu.config(), spec, plan);
  const LaunchResult r = gpu.run_stream(plan.launches(), RunOptions{false, true});
  const double bound = 3072.0 * 12288 * 2 / 2039e9 * 1410e6;
  WARN(plan.tiling.name() << ": " << r.cycles << " cycles, " << r.cycles / bound << " x the bound");
  CHECK(double(r.cycles) >= bound);
  CHECK(double(r.cycles) <= 1.4 * bound);
  // The unsplit 64 x 64 tile (the kernel before skinny tiles and split-K):
  // 48 CTAs on 108 SMs, each streaming its whole K: over twice as long.
  GpuGemmSpec old = spec;
  old.tiling = sm80_tile(64, 64, 32, 32, 32, 4);
  GpuGemmPlan p64;
  lower_gemm_tc(gpu.config(), old, p64);
  const LaunchResult r64 = gpu.run_stream(p64.launches(), RunOptions{false, true});
  CHECK(double(r64.cycles) >= 2 * double(r.cycles));
}
