// The sm80 cp.async multistage kernels (sim/lowering/gpu/sm80_mainloop.h)
// beyond fp16 GEMM: the int8 GEMM (m16n8k32 -> int32, K-major B) and the
// implicit-GEMM convolution on the cp.async ring (fp16, bf16, int8), each
// bit for bit against the references in the tensor core's order.
#include <catch2/catch.hpp>

#include <cstring>

#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "sim/lowering/gpu/conv_implicit.h"
#include "sim/lowering/gpu/gemm_sm80_sparse.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/tc_reference.h"

using namespace xpu;
using namespace xpu::gpu;
using namespace xpu::lowering::gpu;

namespace {

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
  gpu.run(o.plan.launch, RunOptions{true, false});
  const auto got = read_conv_output(o.plan.layout, s, gpu.memory());
  const auto want = reference_conv_tc(o.plan.layout, s, x.data(), w.data(), bias.data());
  for (size_t i = 0; i < got.size(); ++i) {
    o.bad += got[i] != want[i];
    o.nonzero += got[i] != 0;
  }
}

}  // namespace

TEST_CASE("sm80 int8 GEMM: m16n8k32 with a K-major B, bit-exact", "[gpu][gemm][ampere][sm80]") {
  Gpu gpu("gpu", test::load("ampere_small.yaml"));
  // 96 x 80 x 100: 64 x 64 x 64 tiles (a grid of 4 fills ampere_small's
  // 4 SMs twice over at 128: the small tile), K padded to 128 = 2 K tiles.
  {
    GpuGemmSpec spec{"g8", 96, 80, 100, DType::int8, AccType::s32};
    GpuGemmPlan plan;
    LaunchResult r;
    CHECK(gemm_mismatches(gpu, spec, plan, 11, &r) == 0);
    CHECK(plan.kernel.name == "g8_sm80");
    CHECK(plan.layout.b_k_major);
    CHECK((plan.tiling.bm == 64 && plan.tiling.bk == 64));
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
    GpuGemmPlan plan;
    LaunchResult r;
    CHECK(gemm_mismatches(gpu, spec, plan, 21, &r) == 0);
    CHECK((plan.tiling.bm == 128 && plan.tiling.bn == 256 && plan.tiling.bk == 64 && plan.tiling.stages == 4));
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
