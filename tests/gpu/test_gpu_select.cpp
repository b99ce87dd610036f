// Kernel selection (gemm_select.h), split-K (splitk_reduce.h), the one-row-
// tile GEMV kernels, the grouped CTA raster and the launch cost model.
#include <catch2/catch.hpp>

#include <cstring>

#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "models/gpu/launch_cost.h"
#include "sim/lowering/gpu/gemm_select.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/tc_reference.h"

using namespace xpu;
using namespace xpu::gpu;
using namespace xpu::lowering::gpu;

namespace {

GemmTiling tile(uint32_t bm, uint32_t bn, uint32_t wm, uint32_t wn, uint32_t split = 1, uint32_t group = 1,
               uint32_t bk = 32) {
  GemmTiling t;
  t.bm = bm, t.bn = bn, t.wm = wm, t.wn = wn, t.split_k = split, t.group_m = group, t.bk = bk;
  return t;
}

struct Out {
  std::vector<uint32_t> got, want;
  LaunchResult r;
  GemmTiling t;
};

// The GEMM through lower_gemm_tc and both launches, against the split-order
// reference and the epilogue reference.
Out run(Gpu& gpu, GpuGemmSpec spec, const TcEpilogue& ep = {}, uint64_t seed = 7) {
  GpuGemmPlan plan;
  lower_gemm_tc(gpu.config(), spec, plan, ep);
  const auto a = test::random_matrix(spec.in, spec.m, spec.k, seed);
  const auto b = test::random_matrix(spec.in, spec.k, spec.n, seed + 1);
  std::vector<float> bias(spec.n);
  for (uint64_t j = 0; j < spec.n; ++j) bias[j] = 0.25f * float(int(j % 9) - 4);
  stage_inputs(plan.layout, spec, a.data(), b.data(), gpu.memory());
  if (ep.bias) stage_bias(plan.layout, spec.n, bias.data(), gpu.memory());
  Out o;
  o.t = plan.tiling;
  o.r = gpu.run_stream(plan.launches(), RunOptions{true, false});
  const auto raw = read_output(plan.layout, spec, gpu.memory());
  o.got.resize(spec.m * spec.n);
  std::memcpy(o.got.data(), raw.data(), raw.size());
  o.want = reference_gemm_tc_split(spec.in, spec.m, spec.n, spec.k, plan.layout.kslice, plan.tiling.split_k, a.data(),
                                   b.data());
  reference_epilogue(ep, spec.m, spec.n, bias.data(), o.want);
  return o;
}

size_t mismatches(const Out& o) {
  size_t bad = 0;
  for (size_t i = 0; i < o.got.size(); ++i) bad += o.got[i] != o.want[i];
  return bad;
}

}  // namespace

TEST_CASE("split-K GEMMs are bit-exact against the split-order reference", "[gpu][gemm][splitk]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  TcEpilogue ep;
  ep.bias = true;
  ep.act = Activation::relu;
  // 96 x 80 x 200 on 64 x 64 tiles: K = 200 -> 7 K tiles of 32 -> 3 splits of
  // 3 tiles (96 K each; the last holds 200 - 192 = 8 real rows), 2 x 2 x 3 =
  // 12 first-pass CTAs; the reduction sums P0 + P1 + P2 and adds bias, relu.
  GpuGemmSpec s{"g", 96, 80, 200, DType::fp16, AccType::f32};
  s.tiling = tile(64, 64, 32, 32, 3);
  const Out o = run(gpu, s, ep);
  CHECK(mismatches(o) == 0);
  // 2 x 2 tiles x 3 splits x (64 x 64 x 96) MACs.
  CHECK(o.r.sm[Ctr::mac_fp16] == 12ull * 64 * 64 * 96);
  // The split order is visible: the unsplit reference differs somewhere.
  GpuGemmSpec u = s;
  u.tiling = tile(64, 64, 32, 32, 1);
  const Out plain = run(gpu, u, ep);
  CHECK(mismatches(plain) == 0);
  size_t differ = 0;
  for (size_t i = 0; i < o.got.size(); ++i) differ += o.got[i] != plain.got[i];
  CHECK(differ > 0);
  // bf16, 4 splits, 128 x 128 tiles, no epilogue.
  GpuGemmSpec b{"g", 128, 128, 512, DType::bf16, AccType::f32};
  b.tiling = tile(128, 128, 64, 64, 4);
  CHECK(mismatches(run(gpu, b)) == 0);
  // Split-K needs fp32 accumulation.
  GpuGemmSpec h{"g", 64, 64, 512, DType::fp16, AccType::f16};
  h.tiling = tile(64, 64, 32, 32, 2);
  GpuGemmPlan plan;
  CHECK_THROWS_AS(lower_gemm_tc(gpu.config(), h, plan), GpuLoweringError);
}

TEST_CASE("GEMV (M <= 16) runs one 16-row wmma tile, bit-exact with and without split-K", "[gpu][gemm][gemv]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  for (uint64_t m : {1, 8}) {
    for (const GemmTiling& t : {tile(16, 64, 16, 32, 1), tile(16, 128, 16, 64, 4), tile(32, 64, 32, 32, 2), tile(16, 128, 16, 64, 3, 1, 64)}) {
      GpuGemmSpec s{"gemv", m, 200, 640, DType::fp16, AccType::f32};
      s.tiling = t;
      const Out o = run(gpu, s, TcEpilogue{}, 40 + m);
      INFO("m " << m << " " << t.name());
      CHECK(mismatches(o) == 0);
    }
  }
  // The heuristic picks a one-row tile for M = 1 on v100 (M padded to 16, not 64).
  const GpuConfig v100 = test::load("v100.yaml");
  GpuGemmPlan plan;
  lower_gemm_tc(v100, GpuGemmSpec{"gemv", 1, 4096, 4096, DType::fp16, AccType::f32}, plan);
  CHECK(plan.tiling.bm <= 32);
}

TEST_CASE("kernel selection: large tiles for large GEMMs, the grouped raster shares panels", "[gpu][select]") {
  const GpuConfig cfg = test::load("v100.yaml");
  GpuGemmPlan big;
  lower_gemm_tc(cfg, GpuGemmSpec{"big", 8192, 8192, 8192, DType::fp16, AccType::f32}, big);
  // 4096 tiles of 128 x 128 or more: no split pays (every SM is busy for many waves).
  CHECK(uint64_t(big.tiling.bm) * big.tiling.bn >= 128ull * 128);
  CHECK(big.tiling.split_k == 1);
  // Every candidate of the table is a valid kernel for a large fp16 GEMM.
  for (const GemmTiling& t : gemm_candidates(cfg.tensor_core.mma)) {
    GpuGemmSpec s{"c", 512, 512, 256, DType::fp16, AccType::f32};
    s.tiling = t;
    GpuGemmPlan p;
    CHECK_NOTHROW(lower_gemm_tc(cfg, s, p));
  }
  // Raster: 1024 x 1024 on 128 x 128 tiles = 8 x 8 tiles, group 4: CTAs 0..3
  // are tile rows 0..3 of column 0, CTA 4 is row 0 of column 1.
  GpuGemmSpec s{"r", 1024, 1024, 64, DType::fp16, AccType::f32};
  s.tiling = tile(128, 128, 64, 64, 1, 4);
  GpuGemmPlan p;
  lower_gemm_tc(cfg, s, p);
  const uint64_t lda = p.layout.lda, e = 2;
  for (uint32_t c = 0; c < 4; ++c) {
    CHECK(p.launch.base(c, 0) == p.layout.a + c * 128 * lda);
    CHECK(p.launch.base(c, 1) == p.layout.b);
  }
  CHECK(p.launch.base(4, 0) == p.layout.a);
  CHECK(p.launch.base(4, 1) == p.layout.b + 128 * e);
  // The rule: as many A panels (128 x 8192 x 2 B = 2 MiB) as fit in half of
  // the 6 MiB L2: 1; of 128 x 1024 x 2 B = 256 KiB: 12, capped at 8.
  CHECK(raster_group(cfg, tile(128, 128, 64, 64), 64, 8192, 2) == 1);
  CHECK(raster_group(cfg, tile(128, 128, 64, 64), 64, 1024, 2) == 8);
  CHECK(raster_group(cfg, tile(128, 128, 64, 64), 3, 1024, 2) == 3);
}

TEST_CASE("launch cost: host rate, grid latency and dependency gaps on one stream", "[gpu][launch]") {
  GpuConfig cfg = test::load("v100.yaml");
  // v100.yaml: 3.0 us host launch, 3.7 us grid latency, 0.9 us gap, 0.5 us
  // graph gap, at 1530 MHz: 4590, 5661, 1377 and 765 cycles.
  REQUIRE(us_to_cycles(cfg, cfg.launch.host_launch_us) == 4590);
  StreamClock s(cfg);
  // Kernel 0 waits for the host launch and the grid latency: 4590 + 5661.
  CHECK(s.add(100000) == 10251);
  // A long predecessor: only the dependency gap (the host enqueued kernel 1 long ago).
  CHECK(s.add(100) == 1377);
  // A 100-cycle predecessor ending at 10251 + 100000 + 1377 + 100 = 111728;
  // kernel 2 is enqueued at 3 x 4590 = 13770, ready at 19431: the gap again.
  CHECK(s.add(100) == 1377);
  CHECK(s.kernels() == 3);
  // Short kernels from the start run at the host's rate: kernel 1 is enqueued
  // at 2 x 4590 = 9180, ready at 14841; kernel 0 ended at 10251 + 10 = 10261.
  StreamClock t(cfg);
  t.add(10);
  CHECK(t.add(10) == 14841 - 10261);
  // A CUDA graph: one launch, then graph gaps only.
  cfg.launch.cuda_graph = true;
  StreamClock g(cfg);
  CHECK(g.add(10) == 10251);
  CHECK(g.add(10) == 765);
  CHECK(g.launch_cycles() == 10251 + 765);
}
