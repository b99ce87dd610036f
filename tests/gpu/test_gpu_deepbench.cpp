// Kernel selection against measured cuBLAS: a few cheaper DeepBench V100 rows
// (BENCHMARKS.md has all 16) and GEMVs against their DRAM bound, v100.yaml,
// timing only, fast path (exact).
#include <catch2/catch.hpp>

#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "sim/lowering/gpu/gemm_select.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/gemv.h"

using namespace xpu;
using namespace xpu::gpu;
using namespace xpu::lowering::gpu;

namespace {

struct Timed {
  uint64_t cycles = 0;
  double tflops = 0;
  GemmTiling t;
};

// lda, ldb, ldc: the leading dimensions in elements (0: the padded layout).
// One GEMM on `gpu` (a process runs one SystemC simulation: one Gpu per
// test case); spec.tiling, if set, replaces the selector's choice.
Timed run(Gpu& gpu, const GpuConfig& cfg, GpuGemmSpec spec) {
  if (spec.tiling)
    spec.tiling->group_m = raster_group(cfg, *spec.tiling, (spec.m + spec.tiling->bm - 1) / spec.tiling->bm,
                                        split_slice(spec.k, *spec.tiling), 2);
  GpuGemmPlan plan;
  lower_gemm_tc(cfg, spec, plan);
  Timed r;
  r.t = plan.tiling;
  r.cycles = gpu.run_stream(plan.launches(), RunOptions{false, true}).cycles;
  r.tflops = 2.0 * double(spec.m) * double(spec.n) * double(spec.k) / (double(r.cycles) / (cfg.clock_mhz * 1e6)) / 1e12;
  return r;
}

// lda, ldb, ldc: the leading dimensions in elements (0: the padded layout).
Timed simulate(uint64_t m, uint64_t n, uint64_t k, uint64_t lda = 0, uint64_t ldb = 0, uint64_t ldc = 0) {
  const GpuConfig cfg = test::load("v100.yaml");
  Gpu gpu("gpu", cfg);
  GpuGemmSpec spec{"db", m, n, k, DType::fp16, AccType::f32};
  spec.lda = lda;
  spec.ldb = ldb;
  spec.ldc = ldc;
  return run(gpu, cfg, spec);
}

// An unsplit candidate of the kernel table: CTA tile bm x bn, warp tile wm x wn, K step 32.
GpuGemmSpec unsplit(uint64_t m, uint64_t n, uint64_t k, uint32_t bm, uint32_t bn, uint32_t wm, uint32_t wn) {
  GpuGemmSpec spec{"db", m, n, k, DType::fp16, AccType::f32};
  GemmTiling t;
  t.bm = bm, t.bn = bn, t.wm = wm, t.wn = wn, t.bk = 32;
  spec.tiling = t;
  return spec;
}

}  // namespace

// DeepBench "FP16 ip, Mixed math" (cuBLAS, CUDA 10.1, V100; column-major
// M x N x K = our row-major N x M x K). Each within 15 % of the measured TFLOPS.
TEST_CASE("DeepBench V100 4096 x 16 x 4096 within 15 % of cuBLAS", "[gpu][deepbench]") {
  const Timed r = simulate(16, 4096, 4096);  // measured 10.53 TFLOPS
  WARN(r.t.name() << ": " << r.cycles << " cycles, " << r.tflops << " TFLOPS, ratio " << r.tflops / 10.53);
  CHECK(r.t.split_k > 1);  // 32 column tiles alone leave most SMs idle
  CHECK(r.tflops / 10.53 == Approx(1.0).margin(0.15));
}

TEST_CASE("DeepBench V100 1024 x 700 x 512 within 15 % of cuBLAS", "[gpu][deepbench]") {
  const Timed r = simulate(700, 1024, 512);  // measured 40.78 TFLOPS
  WARN(r.t.name() << ": " << r.cycles << " cycles, " << r.tflops << " TFLOPS, ratio " << r.tflops / 40.78);
  CHECK(r.tflops / 40.78 == Approx(1.0).margin(0.15));
}

// Column-major M = 35: DeepBench's lda = ldc = 35, so B's rows (70 bytes)
// are only 2-byte aligned and C's (140 bytes of fp32) 4-byte: B loads as
// LDG.U16, C stores as STG.32. With 16-byte accesses on padded rows it was
// 1.31x of cuBLAS.
TEST_CASE("DeepBench V100 35 x 8457 x 2048 with its leading dimensions within 15 % of cuBLAS", "[gpu][deepbench]") {
  const Timed r = simulate(8457, 35, 2048, 2048, 35, 35);  // measured 18.94 TFLOPS
  WARN(r.t.name() << ": " << r.cycles << " cycles, " << r.tflops << " TFLOPS, ratio " << r.tflops / 18.94);
  CHECK(r.tflops / 18.94 == Approx(1.0).margin(0.15));
}

// 128 rows, long K: 32 tiles of 128 x 128 leave most SMs idle, and the
// selector takes 64-column tiles with split-K 2 (128 CTAs; measured 64.10).
TEST_CASE("DeepBench V100 4096 x 128 x 4096 within 15 % of cuBLAS", "[gpu][deepbench]") {
  const Timed r = simulate(128, 4096, 4096);  // measured 64.10 TFLOPS
  WARN(r.t.name() << ": " << r.cycles << " cycles, " << r.tflops << " TFLOPS, ratio " << r.tflops / 64.10);
  CHECK(r.t.bn == 64);
  CHECK(r.tflops / 64.10 == Approx(1.0).margin(0.15));
}

// The rows outside 15 %: 128-row GEMMs with K <= 2048, where the selector's
// split-K kernel simulates 1.3-1.5x faster than cuBLAS measured. cuBLAS
// 10.1 runs this shape family on its 64 x 64 kernel without split-K (a
// public V100 trace of 3072 x 100 x 1024: BENCHMARKS.md). That kernel
// unsplit (56 CTAs of 55 K steps, one per SM, each K step waiting one load
// latency) simulates 1760 x 128 x 1760 at 25.9 TFLOPS, 1.01x of the
// measured 25.58; split-K 3 gives every SM 2-3 CTAs of 19 K steps whose
// loads overlap one another's mmas, 1.47x. On the other side of cuBLAS's
// split-K regime, 4096 x 16 x 4096 (measured 10.53) reaches 7.6 TFLOPS
// unsplit on the 16-row tile (0.72x; no unsplit tile of the table passes
// 7.9): cuBLAS splits K there. So the deviation is cuBLAS's kernel choice
// at 128 rows, not a cost the simulated kernels lack.
TEST_CASE("DeepBench V100 1760 x 128 x 1760: cuBLAS's time is an unsplit kernel's, not the selected split-K one's",
          "[gpu][deepbench]") {
  const GpuConfig cfg = test::load("v100.yaml");
  Gpu gpu("gpu", cfg);
  const Timed cublas_like = run(gpu, cfg, unsplit(128, 1760, 1760, 64, 64, 32, 32));  // measured 25.58 TFLOPS
  const Timed chosen = run(gpu, cfg, GpuGemmSpec{"db", 128, 1760, 1760, DType::fp16, AccType::f32});
  WARN("unsplit " << cublas_like.t.name() << ": " << cublas_like.tflops << " TFLOPS, ratio "
                  << cublas_like.tflops / 25.58 << "; chosen " << chosen.t.name() << ": " << chosen.tflops
                  << " TFLOPS, ratio " << chosen.tflops / 25.58);
  CHECK(cublas_like.t.split_k == 1);
  CHECK(cublas_like.tflops / 25.58 == Approx(1.0).margin(0.15));
  CHECK(chosen.t.split_k > 1);
  CHECK(chosen.tflops / 25.58 > 1.15);  // the documented deviation (1.47x)
  const Timed skinny = run(gpu, cfg, unsplit(16, 4096, 4096, 16, 64, 16, 32));  // measured 10.53 with K split
  WARN("4096 x 16 x 4096 unsplit " << skinny.t.name() << ": " << skinny.tflops << " TFLOPS, ratio "
                                   << skinny.tflops / 10.53);
  CHECK(skinny.tflops / 10.53 < 0.85);
}

// GEMVs: the B matrix (k x n fp16) once from DRAM bounds the time; the bound
// here is at the sustained bandwidth, 900 GB/s x 0.83 = 747 GB/s = 488.2
// bytes per 1530 MHz cycle. First the tensor-core kernel with one 16-row
// tile and split-K (what a GEMM with m = 1 gets), then the GEMV kernel.
TEST_CASE("GEMV 1 x 4096 x 4096 on the tensor-core kernel within 1.25x of its DRAM bound", "[gpu][deepbench][gemv]") {
  const Timed r = simulate(1, 4096, 4096);
  const double bound = 4096.0 * 4096 * 2 / (900e9 * 0.83 / 1530e6);  // 68,726 cycles
  WARN(r.t.name() << ": " << r.cycles << " cycles = " << r.cycles / bound << " x the DRAM bound");
  CHECK(double(r.cycles) >= bound);
  CHECK(double(r.cycles) <= 1.25 * bound);
}

TEST_CASE("GEMV kernel: 1 x 4096 x 4096 within 1.25x and GPT-2's 1 x 768 x 768 (with bias) within 1.5x of "
          "the DRAM bound",
          "[gpu][deepbench][gemv]") {
  // The SIMT GEMV kernel (gemv.h), as the decode path runs m <= 4 rows; W
  // [n, k] read once bounds the time. 768 x 768: 64 CTAs of 12 rows, every
  // warp's 9 16-byte loads in flight at once (x's first), so the time is
  // one load latency + the 1.18 MB at the DRAM rate + the CTA's in-order
  // lane reduction and the bias add; 1.40x measured (3,376 cycles), the
  // tensor-core kernel with split-K 12 takes 1.85x.
  const GpuConfig cfg = test::load("v100.yaml");
  Gpu gpu("gpu", cfg);
  for (const uint64_t n : {uint64_t(4096), uint64_t(768)}) {
    GemvSpec s;
    s.m = 1, s.n = n, s.k = n;
    s.ep.bias = n == 768;
    GemvLayout L;
    NnPlan plan;
    lower_gemv(cfg, s, L, plan);
    const LaunchResult r = gpu.run_stream({&plan.launch}, RunOptions{false, true});
    const uint64_t cycles = r.cycles;
    const double bound = double(n) * n * 2 / (900e9 * 0.83 / 1530e6);  // 68,726 and 2,416 cycles
    // No shared access conflicts: a warp's x reads cover 512 contiguous
    // bytes (lane l at 16 l), the parked lane sums a row of 33 words each
    // (lane l of 32 rows in 32 banks). At a row stride of 32 words every
    // epilogue LDS was a 32-way conflict (535,936 conflicts at 4096).
    CHECK(r.sm[Ctr::smem_bank_conflicts] == 0);
    WARN("gemv 1 x " << n << " x " << n << ": " << plan.launch.ctas << " CTAs, " << cycles
                     << " cycles = " << cycles / bound << " x the DRAM bound");
    CHECK(double(cycles) >= bound);
    CHECK(double(cycles) <= (n == 768 ? 1.5 : 1.25) * bound);
  }
}
