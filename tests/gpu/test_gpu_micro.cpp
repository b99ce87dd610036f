// Microbenchmarks on v100.yaml against the published Volta figures
// (DESIGN.md section 3; Jia et al. 2018; Raihan et al. 2019).
#include <catch2/catch.hpp>

#include <cstring>

#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "models/gpu/kernel_builder.h"

using namespace xpu;
using namespace xpu::gpu;

namespace {

// One thread chases j = a[j] `iters` times through global (buf 0) or shared
// memory. Each step is SHL (index -> byte offset, 4 cycles) + the load, as in
// the published chase microbenchmarks: per-step cycles = load latency + 4.
Kernel chase_kernel(bool shared, uint32_t iters, uint32_t n, uint32_t stride_elems) {
  KernelBuilder kb(shared ? "chase_shared" : "chase_global");
  const uint8_t j = kb.reg(), off = kb.reg(), i = kb.reg(), v = kb.reg(), cnt = kb.reg();
  const uint8_t p = kb.pred();
  kb.mov(j, 0);
  if (shared) {
    // s[i * stride] = ((i + 1) % n) * stride, written by the one thread.
    kb.mov(i, 0);
    const int fill = kb.label(), filled = kb.label();
    kb.bind(fill);
    kb.alui(Op::iadd, v, i, 1);
    kb.setpi(Op::isetp, p, Cmp::eq, v, int32_t(n));
    kb.alu(Op::sel, v, kRZ, v, p);  // wrap to 0
    kb.alui(Op::imul, v, v, int32_t(stride_elems));
    kb.alui(Op::imul, off, i, int32_t(stride_elems * 4));
    kb.sts(off, 0, v);
    kb.alui(Op::iadd, i, i, 1);
    kb.setpi(Op::isetp, p, Cmp::lt, i, int32_t(n));
    kb.bra(fill, filled, p);
    kb.bind(filled);
    kb.bar();
  }
  // Unrolled by 8 so loop overhead hides under the chain.
  kb.mov(cnt, int32_t(iters / 8));
  const int loop = kb.label(), done = kb.label();
  kb.bind(loop);
  for (int u = 0; u < 8; ++u) {
    kb.alui(Op::shl, off, j, 2);
    if (shared) kb.lds(j, off, 0);
    else kb.ldg(j, 0, off, 0);
  }
  kb.alui(Op::iadd, cnt, cnt, -1);
  kb.setpi(Op::isetp, p, Cmp::gt, cnt, 0);
  kb.bra(loop, done, p);
  kb.bind(done);
  // Keep the chain's end observable.
  kb.stg(0, kRZ, 0, j);
  return kb.finish();
}

uint64_t run_chase(Gpu& gpu, bool shared, uint32_t iters, uint32_t n, uint32_t stride) {
  const Kernel k = chase_kernel(shared, iters, n, stride);
  Launch l;
  l.kernel = &k;
  l.ctas = 1;
  l.threads = 32;
  l.nbufs = 1;
  l.bases = {0};
  l.shared_bytes = shared ? n * stride * 4 : 0;
  if (shared) gpu.memory().resize(64);
  if (!shared) {
    std::vector<uint32_t> a(size_t(n) * stride);
    for (uint32_t e = 0; e < n; ++e) a[size_t(e) * stride] = ((e + 1) % n) * stride;
    gpu.memory().resize(a.size() * 4);
    gpu.memory().write(0, a.data(), a.size() * 4);
  }
  // All 32 lanes chase the same chain: one address per load (one sector,
  // one shared-memory word broadcast).
  return gpu.run(l, RunOptions{true, false}).cycles;
}

double chase_latency(Gpu& gpu, bool shared, uint32_t n, uint32_t stride, uint32_t warm, uint32_t measured) {
  const uint64_t c1 = run_chase(gpu, shared, warm, n, stride);
  const uint64_t c2 = run_chase(gpu, shared, warm + measured, n, stride);
  return double(c2 - c1) / measured;
}

}  // namespace

TEST_CASE("pointer-chase latencies match Volta's published figures", "[gpu][micro]") {
  Gpu gpu("gpu", test::load("v100.yaml"));
  // Shared: 19 (LDS) + 4 (SHL) = 23 per step; target ~23 +- 15 %.
  const double shared = chase_latency(gpu, true, 64, 1, 64, 512);
  // L1: 64 lines (8 KB) warmed by the first 64 steps, then all hits:
  // 28 + 4 = 32; target ~30 +- 15 % (25.5 .. 34.5).
  const double l1 = chase_latency(gpu, false, 64, 32, 64, 512);
  // L2: 2048 lines (256 KB) cycle through the 128 KB L1 (LRU: all misses)
  // after one cold pass: 210 + 4 = 214; target ~214 +- 15 %.
  const double l2 = chase_latency(gpu, false, 2048, 32, 2048, 1024);
  // DRAM: cold lines only: 210 + 194 + 4 = 408; target ~408 +- 15 %.
  const double dram = chase_latency(gpu, false, 4096, 32, 256, 512);
  WARN("chase latencies: shared " << shared << ", L1 " << l1 << ", L2 " << l2 << ", DRAM " << dram);
  CHECK(shared == Approx(23).epsilon(0.15));
  CHECK(l1 == Approx(30).epsilon(0.15));
  CHECK(l2 == Approx(214).epsilon(0.15));
  CHECK(dram == Approx(408).epsilon(0.15));
  // The composition, exactly: these are latencies plus the SHL, nothing else.
  CHECK(shared == 23.0);
  CHECK(l1 == 32.0);
  CHECK(l2 == 214.0);
  CHECK(dram == 408.0);
}

namespace {

// `accs` independent accumulators, each receiving `mmas_per_iter` wmma.mma
// per iteration (set-major batches), `iters` iterations; A and B fragments
// from shared memory.
Kernel wmma_kernel(uint32_t accs, uint32_t mmas_per_iter, uint32_t iters) {
  KernelBuilder kb("wmma_loop", &mma_shape(MmaKind::volta_hmma884));
  std::vector<Frag> c(accs);
  for (auto& f : c) f = kb.frag(FragKind::c, DType::fp16, AccType::f32);
  const Frag a = kb.frag(FragKind::a, DType::fp16, AccType::f32), b = kb.frag(FragKind::b, DType::fp16, AccType::f32);
  const uint8_t zero = kb.reg(), cnt = kb.reg();
  const uint8_t p = kb.pred();
  kb.mov(zero, 0);
  kb.wmma_load(a, Space::shared, zero, 0, 32);
  kb.wmma_load(b, Space::shared, zero, 512, 32);
  for (auto& f : c) kb.wmma_fill_zero(f);
  kb.mov(cnt, int32_t(iters));
  const int loop = kb.label(), done = kb.label();
  kb.bind(loop);
  for (uint32_t m = 0; m < mmas_per_iter; ++m) {
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

}  // namespace

TEST_CASE("one wmma m16n16k16 takes 54-64 cycles", "[gpu][micro]") {
  Gpu gpu("gpu", test::load("v100.yaml"));
  // Fragments load, the accumulator is zeroed, then (or not) one wmma.mma;
  // a FADD then reads the last accumulator pair and the A fragment's last
  // register, and the warp exits. Without the mma the FADD waits only for
  // the fragment loads; with it, also for the 16 HMMAs: the difference is
  // the wmma's latency from its first HMMA's issue to its last result:
  // 3 sets x 13 (the chain through each accumulator pair) + 3 x 2 (the
  // step issue offsets) + 13 = 58 cycles, plus the issue slot the first
  // HMMA takes after the last fragment load.
  auto run = [&](bool mma) {
    KernelBuilder kb("wmma_latency", &mma_shape(gpu.config().tensor_core.mma));
    const Frag c = kb.frag(FragKind::c, DType::fp16, AccType::f32);
    const Frag a = kb.frag(FragKind::a, DType::fp16, AccType::f32), b = kb.frag(FragKind::b, DType::fp16, AccType::f32);
    const uint8_t zero = kb.reg(), x = kb.reg();
    kb.mov(zero, 0);
    kb.wmma_fill_zero(c);
    kb.wmma_load(a, Space::shared, zero, 0, 32);
    kb.wmma_load(b, Space::shared, zero, 512, 32);
    if (mma) kb.wmma_mma(c, a, b, c);
    kb.alu(Op::fadd, x, uint8_t(c.reg + 7), uint8_t(b.reg + 7));
    const Kernel k = kb.finish();
    Launch l;
    l.kernel = &k;
    l.threads = 32;
    l.shared_bytes = 1024;
    return gpu.run(l, RunOptions{true, false}).cycles;
  };
  const double lat = double(run(true)) - double(run(false));
  WARN("wmma latency " << lat << " cycles");
  CHECK(lat >= 54);
  CHECK(lat <= 64);
}

TEST_CASE("a wmma loop sustains >= 90% of the 125.3 TFLOPS peak", "[gpu][micro]") {
  const GpuConfig cfg = test::load("v100.yaml");
  Gpu gpu("gpu", cfg);
  // 4 independent accumulators per warp (set-major batches keep dependent
  // HMMAs 16 issues = 32 cycles apart > 13-cycle latency), 8 warps per CTA,
  // 2 CTAs per SM on all 80 SMs; timing only.
  const uint32_t iters = 100, per_iter = 2;
  const Kernel k = wmma_kernel(4, per_iter, iters);
  Launch l;
  l.kernel = &k;
  l.threads = 256;
  l.shared_bytes = 1024;
  l.ctas = 2 * cfg.sms;
  const LaunchResult r = gpu.run(l, RunOptions{false, false});
  // MACs: CTAs x 8 warps x iters x per_iter x 4 accumulators x 4096.
  const double macs = double(l.ctas) * 8 * iters * per_iter * 4 * 4096;
  CHECK(double(r.sm[Ctr::mac_fp16]) == macs);
  const double tflops = 2 * macs / (double(r.cycles) / (cfg.clock_mhz * 1e6)) / 1e12;
  WARN("sustained wmma " << tflops << " TFLOPS in " << r.cycles << " cycles");
  CHECK(tflops >= 0.9 * 125.3);
  CHECK(tflops <= 125.34);
}
