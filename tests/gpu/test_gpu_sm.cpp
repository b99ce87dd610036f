// SM mechanisms: shared-memory bank conflicts, occupancy, SIMT divergence,
// scheduling policies, determinism of the temporally decoupled simulation.
#include <catch2/catch.hpp>

#include <cstring>

#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "models/gpu/kernel_builder.h"
#include "sim/lowering/gpu/gemm_tc.h"

using namespace xpu;
using namespace xpu::gpu;

namespace {

Launch one_cta(const Kernel& k, uint32_t threads, uint32_t smem = 0, uint32_t nbufs = 1) {
  Launch l;
  l.kernel = &k;
  l.threads = threads;
  l.shared_bytes = smem;
  l.nbufs = nbufs;
  l.bases.assign(nbufs, 0);
  return l;
}

std::vector<uint32_t> read_words(Gpu& gpu, uint64_t n) {
  std::vector<uint32_t> v(n);
  gpu.memory().read(0, v.data(), n * 4);
  return v;
}

}  // namespace

TEST_CASE("shared-memory bank conflicts serialise a warp's access", "[gpu][sm]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  // One LDS per case: lane l reads word (l * stride) (or width-byte elements).
  struct Case {
    uint32_t stride_bytes, width, wavefronts;
  } cases[] = {
      {4, 4, 1},     // consecutive words: 32 banks, one wavefront
      {8, 4, 2},     // stride 2 words: 16 banks x 2 words = 2-way
      {128, 4, 32},  // stride 32 words: one bank, 32 distinct words = 32-way
      {0, 4, 1},     // one word for all lanes: broadcast
      {16, 16, 4},   // 128-bit, consecutive: 4 phases of 8 lanes, no conflict
      {32, 16, 8},   // 128-bit, stride 32 B: 2-way within each phase
  };
  for (const Case& c : cases) {
    KernelBuilder kb("lds");
    const uint8_t tid = kb.reg(), off = kb.reg(), d = kb.reg(4);
    kb.s2r(tid, Special::laneid);
    kb.alui(Op::imul, off, tid, int32_t(c.stride_bytes));
    kb.lds(d, off, 0, uint8_t(c.width));
    const Kernel k = kb.finish();
    const LaunchResult r = gpu.run(one_cta(k, 32, 32 * 128 + 16), RunOptions{true, false});
    INFO("stride " << c.stride_bytes << " width " << c.width);
    CHECK(r.sm[Ctr::smem_wavefronts] == c.wavefronts);
    const uint64_t phases = c.width / 4;
    CHECK(r.sm[Ctr::smem_bank_conflicts] == c.wavefronts - phases);
  }
}

TEST_CASE("occupancy limits bound resident CTAs", "[gpu][sm]") {
  const GpuConfig cfg = test::load("v100.yaml");
  Gpu gpu("gpu", cfg);
  KernelBuilder kb("k");
  kb.reg(100);
  const Kernel k128 = kb.finish(128);
  // 256 threads x 128 regs = 32768 per CTA -> 65536 / 32768 = 2 (registers).
  auto occ = gpu.occupancy(one_cta(k128, 256));
  CHECK(occ.ctas == 2);
  CHECK(std::string(occ.limiter) == "registers");
  // 40 KB shared per CTA -> 96 KB / 40 KB = 2 (shared memory).
  KernelBuilder kb2("k2");
  const Kernel k32 = kb2.finish(32);
  occ = gpu.occupancy(one_cta(k32, 128, 40 << 10));
  CHECK(occ.ctas == 2);
  CHECK(std::string(occ.limiter) == "shared_memory");
  CHECK(occ.l1_bytes == (128u << 10) - (96u << 10));  // 80 KB needs the 96 KB carve-out
  // 1024 threads = 32 warps -> 64 / 32 = 2 (warps; threads gives 2048/1024 = 2 too, warps first).
  CHECK(gpu.occupancy(one_cta(k32, 1024)).ctas == 2);
  // 64 threads, tiny: 32 CTAs (the CTA limit).
  occ = gpu.occupancy(one_cta(k32, 64));
  CHECK(occ.ctas == 32);
  CHECK(std::string(occ.limiter) == "ctas");
  // Too big for one SM.
  CHECK_THROWS_AS(gpu.occupancy(one_cta(k32, 64, 100 << 10)), std::invalid_argument);
}

TEST_CASE("occupancy shapes the schedule as CTAs beyond the limit wait for a slot", "[gpu][sm]") {
  // One SM. A CTA of 8 warps spins 200 dependent IADDs (4 cycles each).
  Gpu gpu("gpu", test::load("gpu_small.yaml", {"sms=1"}));
  KernelBuilder kb("spin");
  const uint8_t x = kb.reg();
  for (int i = 0; i < 200; ++i) kb.alui(Op::iadd, x, x, 1);
  const Kernel k = kb.finish(128);  // 256 x 128 regs: 2 CTAs per SM
  Launch l = one_cta(k, 256);
  l.ctas = 2;
  l.bases.assign(2, 0);
  const uint64_t two = gpu.run(l, RunOptions{false, false}).cycles;
  l.ctas = 4;
  l.bases.assign(4, 0);
  const uint64_t four = gpu.run(l, RunOptions{false, false}).cycles;
  // Two resident CTAs = 16 warps, 4 per sub-core; a warp's IADD holds the
  // sub-core's 16-lane INT32 pipe 2 cycles, so the pipe, not the 4-cycle
  // dependence, paces them: 4 warps x 200 x 2 = 1600 cycles (+ EXIT). Four
  // CTAs need a second round (the limit is 2 per SM), refilled at the next
  // quantum boundary (<= 210 cycles later).
  CHECK(two >= 1600);
  CHECK(two <= 1610);
  CHECK(four >= 2 * two);
  CHECK(four <= 2 * two + 210);
}

TEST_CASE("SIMT divergence and reconvergence", "[gpu][sm]") {
  Gpu gpu("gpu", test::load("gpu_small.yaml"));
  // out[tid] = (tid < 10 ? (tid % 2 ? 100 : 200) : 300) + loop count, where
  // the loop runs tid % 4 + 1 times (a divergent loop), then all lanes add 1
  // after reconverging.
  KernelBuilder kb("diverge");
  const uint8_t tid = kb.reg(), v = kb.reg(), t2 = kb.reg(), n = kb.reg(), addr = kb.reg();
  const uint8_t p = kb.pred(), q = kb.pred();
  kb.s2r(tid, Special::tid);
  kb.setpi(Op::isetp, p, Cmp::lt, tid, 10);
  const int els = kb.label(), endif = kb.label();
  kb.bra(els, endif, p, true);  // @!p -> else
  {
    kb.alui(Op::and_, t2, tid, 1);
    kb.setpi(Op::isetp, q, Cmp::ne, t2, 0);
    const int inner_else = kb.label(), inner_end = kb.label();
    kb.bra(inner_else, inner_end, q, true);
    kb.mov(v, 100);
    kb.bra(inner_end, inner_end);
    kb.bind(inner_else);
    kb.mov(v, 200);
    kb.bind(inner_end);
    kb.bra(endif, endif);
  }
  kb.bind(els);
  kb.mov(v, 300);
  kb.bind(endif);
  kb.alui(Op::and_, n, tid, 3);
  kb.alui(Op::iadd, n, n, 1);
  const int loop = kb.label(), after = kb.label();
  kb.bind(loop);
  kb.alui(Op::iadd, v, v, 1);
  kb.alui(Op::iadd, n, n, -1);
  kb.setpi(Op::isetp, q, Cmp::gt, n, 0);
  kb.bra(loop, after, q);
  kb.bind(after);
  kb.alui(Op::iadd, v, v, 1);
  kb.alui(Op::shl, addr, tid, 2);
  kb.stg(0, addr, 0, v);
  const Kernel k = kb.finish();
  gpu.memory().resize(64 * 4);
  const LaunchResult r = gpu.run(one_cta(k, 64), RunOptions{true, false});
  const auto out = read_words(gpu, 64);
  for (uint32_t t = 0; t < 64; ++t) {
    const uint32_t base = t < 10 ? (t % 2 ? 100 : 200) : 300;
    INFO("thread " << t);
    CHECK(out[t] == base + (t % 4 + 1) + 1);
  }
  // Warp 0: the outer if and the inner if diverge once each; the loop
  // diverges 3 times (lanes leave after 1, 2, 3 trips). Warp 1 (all >= 10):
  // only the loop's 3. Total 2 + 3 + 3 = 8.
  CHECK(r.sm[Ctr::divergent_branches] == 8);
}

TEST_CASE("GTO runs the oldest warp ahead while LRR interleaves", "[gpu][sm]") {
  Gpu gto("gto", test::load("gpu_small.yaml", {"sms=1", "sub_cores=1", "occupancy.max_registers=16384"}));
  Gpu lrr("lrr", test::load("gpu_small.yaml",
                            {"sms=1", "sub_cores=1", "occupancy.max_registers=16384", "sub_core.scheduler=lrr"}));
  // 4 warps, each 64 independent FADDs (no stalls), then the warp's clock.
  KernelBuilder kb("race");
  const uint8_t r = kb.reg(64), clk = kb.reg(), tid = kb.reg(), addr = kb.reg();
  for (int i = 0; i < 64; ++i) kb.alu(Op::fadd, uint8_t(r + i), uint8_t(r + i), uint8_t(r + i));
  kb.s2r(clk, Special::clock);
  kb.s2r(tid, Special::tid);
  kb.alui(Op::shl, addr, tid, 2);
  kb.stg(0, addr, 0, clk);
  const Kernel k = kb.finish();
  auto finish_times = [&](Gpu& g) {
    g.memory().resize(128 * 4);
    g.run(one_cta(k, 128), RunOptions{true, false});
    std::vector<uint32_t> v(128);
    g.memory().read(0, v.data(), 512);
    return std::vector<uint32_t>{v[0], v[32], v[64], v[96]};
  };
  const auto a = finish_times(gto), b = finish_times(lrr);
  // One sub-core, one 16-lane FP32 pipe: every FADD holds it 2 cycles, so
  // 4 x 64 FADDs take 512 cycles whatever the order. GTO goes back to the
  // oldest warp whenever the pipe frees: warp 0 finishes after ~128 cycles,
  // warp 3 after ~512 (spread ~384). LRR rotates through the warps: all
  // finish within one rotation of each other (4 warps x 2 cycles, plus the
  // clock reads' own turns).
  CHECK(a[0] < a[1]);
  CHECK(a[1] < a[2]);
  CHECK(a[2] < a[3]);
  CHECK(a[3] - a[0] >= 300);
  CHECK(b[3] - b[0] <= 16);
}

TEST_CASE("simulation is deterministic and latency-bound timing does not depend on the quantum", "[gpu][sm]") {
  // The same GEMM twice on one Gpu, and once on a second, fresh Gpu: the
  // temporally decoupled simulation gives identical cycles and counters.
  Gpu g1("g1", test::load("gpu_small.yaml"));
  Gpu g2("g2", test::load("gpu_small.yaml"));
  Gpu g3("g3", test::load("gpu_small.yaml", {"sim.quantum=37"}));
  using namespace xpu::lowering::gpu;
  GpuGemmSpec spec{"g", 256, 256, 256, DType::fp16, AccType::f32};
  GpuGemmPlan plan;
  lower_gemm_tc(g1.config(), test::classic(g1.config(), spec), plan);
  const LaunchResult r1 = g1.run(plan.launch, RunOptions{false, false});
  const LaunchResult r2 = g1.run(plan.launch, RunOptions{false, false});
  const LaunchResult r3 = g2.run(plan.launch, RunOptions{false, false});
  CHECK(r1.cycles == r2.cycles);
  CHECK(r1.cycles == r3.cycles);
  for (int i = 0; i < static_cast<int>(Ctr::count); ++i) {
    CHECK(r1.sm.c[i] == r2.sm.c[i]);
    CHECK(r1.sm.c[i] == r3.sm.c[i]);
  }
  CHECK(r1.mem.dram_read_bytes == r3.mem.dram_read_bytes);
  CHECK(r1.mem.l2_read_hits == r3.mem.l2_read_hits);
  // The quantum only bounds how far SMs run ahead (<= the L2 latency, so no
  // answer is ever late); a latency-bound kernel -- one warp streaming
  // dependent loads -- takes exactly as long with a 37-cycle quantum.
  // (Bandwidth-bound kernels are not quantum-invariant: the fluid queues
  // average contention over a quantum, see memory_system.h.)
  KernelBuilder kb("stream");
  const uint8_t off = kb.reg(), v = kb.reg();
  kb.mov(off, 0);
  for (int i = 0; i < 16; ++i) {
    kb.ldg(v, 0, off, 0);
    kb.alu(Op::iadd, off, v, off);
    kb.alui(Op::iadd, off, off, 4096);
  }
  kb.stg(0, kRZ, 0, off);
  const Kernel k = kb.finish();
  Launch l;
  l.kernel = &k;
  l.threads = 32;
  l.nbufs = 1;
  l.bases = {0};
  g1.memory().resize(1 << 20);
  g3.memory().resize(1 << 20);
  const uint64_t q210 = g1.run(l, RunOptions{true, false}).cycles;
  const uint64_t q37 = g3.run(l, RunOptions{true, false}).cycles;
  CHECK(q210 == q37);
  CHECK(q210 >= 16 * 404);  // 16 cold misses: L2 210 + DRAM 194 each
}
