// The fast path (models/gpu/fast_path.h) against full simulation: identical
// cycles, every SM and memory counter, and output bits, on several grids and
// kernels, including kernels whose CTAs are not identical (it must fall back)
// and grids where twin SMs must be split off mid-launch.
#include <catch2/catch.hpp>

#include <cstring>

#include "gpu_test_util.h"
#include "models/gpu/fast_path.h"
#include "models/gpu/gpu.h"
#include "models/gpu/kernel_builder.h"
#include "sim/lowering/gpu/gemm_simt.h"
#include "sim/lowering/gpu/gemm_tc.h"

using namespace xpu;
using namespace xpu::gpu;
using namespace xpu::lowering::gpu;

namespace {

void check_same(const LaunchResult& full, const LaunchResult& fast, bool first_is_full = true) {
  CHECK(full.cycles == fast.cycles);
  CHECK(full.ctas_per_sm == fast.ctas_per_sm);
  for (int i = 0; i < static_cast<int>(Ctr::count); ++i) {
    INFO("counter " << i);
    CHECK(full.sm.c[i] == fast.sm.c[i]);
  }
  for (int i = 0; i < static_cast<int>(Stall::count); ++i) {
    INFO("stall " << stall_name(static_cast<Stall>(i)));
    CHECK(full.sm.stall[i] == fast.sm.stall[i]);
  }
  const MemCounters &a = full.mem, &b = fast.mem;
  CHECK(a.l2_read_hits == b.l2_read_hits);
  CHECK(a.l2_read_misses == b.l2_read_misses);
  CHECK(a.l2_writes == b.l2_writes);
  CHECK(a.l2_read_bytes == b.l2_read_bytes);
  CHECK(a.l2_write_bytes == b.l2_write_bytes);
  CHECK(a.dram_read_bytes == b.dram_read_bytes);
  CHECK(a.dram_write_bytes == b.dram_write_bytes);
  CHECK(a.l2_queue_cycles == b.l2_queue_cycles);
  CHECK(a.dram_queue_cycles == b.dram_queue_cycles);
  CHECK(a.slice_bytes == b.slice_bytes);
  CHECK(a.channel_bytes == b.channel_bytes);
  CHECK(full.stats.to_json() == fast.stats.to_json());
  if (!first_is_full) return;
  // Warp instructions the host executed: never more than the kernel's.
  CHECK(fast.simulated_warp_insts <= full.simulated_warp_insts);
  CHECK(full.replayed_sms == 0);
}

struct GemmOut {
  LaunchResult r;
  std::vector<uint8_t> c;
};

GemmOut run_gemm(Gpu& gpu, const GpuGemmSpec& spec, bool fast, bool values = true) {
  GpuGemmPlan plan;
  if (spec.in == DType::fp32) lower_gemm_simt(gpu.config(), spec, plan);
  else lower_gemm_tc(gpu.config(), test::classic(gpu.config(), spec), plan);
  REQUIRE(fast_path_check(plan.kernel).empty());
  const auto a = test::random_matrix(spec.in, spec.m, spec.k, 5);
  const auto b = test::random_matrix(spec.in, spec.k, spec.n, 6);
  stage_inputs(plan.layout, spec, a.data(), b.data(), gpu.memory());
  GemmOut o;
  o.r = gpu.run(plan.launch, RunOptions{values, fast});
  if (values) o.c = read_output(plan.layout, spec, gpu.memory());
  return o;
}

// 16 SMs: enough for twins (gpu_small has 2).
GpuConfig sixteen() { return test::load("gpu_small.yaml", {"sms=16"}); }

}  // namespace

TEST_CASE("fast path: GEMMs give the full simulation's cycles, counters and bits", "[gpu][fast]") {
  Gpu gpu("gpu", sixteen());
  struct Case {
    GpuGemmSpec spec;
    bool expect_twins;  // some SM replayed or split
  } cases[] = {
      // 4 x 8 CTAs of 128 x 128 = one full wave (16 SMs x 2): SMs s and s + 8
      // run the same column block in both slots and are twins to the end.
      {{"one_wave", 512, 1024, 64, DType::fp16, AccType::f32}, true},
      // 6 x 8 = 48 CTAs: the second wave fills half the slots, so twins are
      // split off at the refill (and regrouped); odd K tile count.
      {{"partial_wave", 768, 1024, 96, DType::fp16, AccType::f32}, true},
      // fp16 accumulation, 64 x 64 tiles, padded M/N/K.
      {{"acc16", 1000, 120, 72, DType::fp16, AccType::f16}, false},
      // int8 tensor path (gpu_small enables it), bf16, and SIMT FFMA.
      // int8: B column blocks are 128 B apart, not whole L1 set spans: no twins.
      {{"int8", 512, 1024, 64, DType::int8, AccType::s32}, false},
      // 3 x 12 CTAs: SMs 0 and 12 are twins at launch, but SM 0's second CTA
      // shares its A panel with SM 12's first, so L2 answers differ and the
      // twin is split off mid-launch.
      {{"shared_panels", 384, 1536, 64, DType::fp16, AccType::f32}, true},
      {{"bf16", 384, 512, 32, DType::bf16, AccType::f32}, false},
      {{"ffma", 256, 512, 48, DType::fp32, AccType::f32}, false},
  };
  for (const Case& c : cases) {
    INFO(c.spec.name);
    const GemmOut full = run_gemm(gpu, c.spec, false);
    const GemmOut fast = run_gemm(gpu, c.spec, true);
    check_same(full.r, fast.r);
    CHECK(fast.r.fast_path_fallback.empty());
    CHECK(full.c == fast.c);
    WARN(c.spec.name << ": " << full.r.cycles << " cycles, replayed " << fast.r.replayed_sms << " split "
                     << fast.r.split_sms << ", host warp insts " << fast.r.simulated_warp_insts << " of "
                     << full.r.simulated_warp_insts);
    if (c.expect_twins) {
      CHECK(fast.r.replayed_sms + fast.r.split_sms > 0);
      CHECK(fast.r.simulated_warp_insts < full.r.simulated_warp_insts);
    }
    if (c.spec.name == "shared_panels") CHECK(fast.r.split_sms > 0);  // split off, and still exact
  }
  // Timing only: the same equality without the values pass.
  const GpuGemmSpec s{"timing", 768, 1024, 96, DType::fp16, AccType::f32};
  check_same(run_gemm(gpu, s, false, false).r, run_gemm(gpu, s, true, false).r);
}

namespace {

// y[cta][tid] = x[cta][tid] * 2 + 1 (fp32), 128 threads per CTA; CTA c's
// buffers at c * `pitch` (x) and out + c * `pitch` (y). With `by_ctaid`
// the CTA offset is computed from %ctaid instead of coming in the bases;
// with `data_guard` the store is predicated on the loaded value being > 0.
struct Elementwise {
  Kernel k;
  Launch l;
};

void elementwise(Elementwise& e, uint32_t ctas, uint64_t pitch, uint64_t out, bool by_ctaid, bool data_guard) {
  KernelBuilder kb("ew");
  const uint8_t tid = kb.reg(), off = kb.reg(), x = kb.reg(), y = kb.reg(), c = kb.reg(), two = kb.reg();
  const uint8_t p = kb.pred();
  kb.s2r(tid, Special::tid);
  kb.alui(Op::shl, off, tid, 2);
  if (by_ctaid) {
    kb.s2r(c, Special::ctaid);
    kb.alui(Op::imul, c, c, int32_t(pitch));
    kb.alu(Op::iadd, off, off, c);
  }
  kb.ldg(x, 0, off, 0);
  kb.mov(two, int32_t(float_to_bits(2.0f)));
  kb.mov(y, int32_t(float_to_bits(1.0f)));
  kb.alu(Op::ffma, y, x, two, y);
  if (data_guard) {
    kb.setp(Op::fsetp, p, Cmp::gt, x, kRZ);
    kb.stg(1, off, 0, y).guard = p;
  } else {
    kb.stg(1, off, 0, y);
  }
  kb.exit();
  e.k = kb.finish();
  e.l.kernel = &e.k;
  e.l.ctas = ctas;
  e.l.threads = 128;
  e.l.nbufs = 2;
  e.l.bases.resize(size_t(ctas) * 2);
  for (uint32_t i = 0; i < ctas; ++i) {
    e.l.bases[2 * i] = by_ctaid ? 0 : i * pitch;
    e.l.bases[2 * i + 1] = out + (by_ctaid ? 0 : i * pitch);
  }
}

std::vector<uint8_t> run_ew(Gpu& gpu, const Launch& l, uint64_t bytes, uint64_t out, bool fast, LaunchResult& r) {
  gpu.memory().resize(2 * bytes);
  std::vector<float> x(bytes / 4);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 7) - 3) * 0.5f;
  gpu.memory().write(0, x.data(), bytes);
  r = gpu.run(l, RunOptions{true, fast});
  std::vector<uint8_t> y(bytes);
  gpu.memory().read(out, y.data(), bytes);
  return y;
}

}  // namespace

TEST_CASE("fast path: CTAs that are not provably identical fall back to full simulation", "[gpu][fast]") {
  Gpu gpu("gpu", sixteen());
  const uint32_t ctas = 96;
  // pitch 32 KiB: a whole number of L1 set spans whatever the carve-out.
  const uint64_t pitch = 32 << 10, bytes = ctas * pitch, out = bytes;
  {
    INFO("identical CTAs (bases): twins");
    Elementwise e;
    elementwise(e, ctas, pitch, out, false, false);
    CHECK(fast_path_check(e.k).empty());
    LaunchResult full, fast;
    const auto a = run_ew(gpu, e.l, bytes, out, false, full);
    const auto b = run_ew(gpu, e.l, bytes, out, true, fast);
    check_same(full, fast);
    CHECK(a == b);
    CHECK(fast.replayed_sms + fast.split_sms > 0);
    float y0;
    std::memcpy(&y0, &b[4], 4);
    CHECK(y0 == 2.0f * -1.0f + 1.0f);  // x[1] = (1 - 3) * 0.5
  }
  {
    INFO("%ctaid in the address: the kernel does not qualify");
    Elementwise e;
    elementwise(e, ctas, pitch, out, true, false);
    CHECK(fast_path_check(e.k).find("data-dependent address") != std::string::npos);
    LaunchResult full, fast;
    const auto a = run_ew(gpu, e.l, bytes, out, false, full);
    const auto b = run_ew(gpu, e.l, bytes, out, true, fast);
    check_same(full, fast);
    CHECK(a == b);
    CHECK(!fast.fast_path_fallback.empty());
    CHECK(fast.replayed_sms == 0);
    CHECK(fast.split_sms == 0);
    CHECK(fast.simulated_warp_insts == full.simulated_warp_insts);
  }
  {
    INFO("a guard computed from loaded data: the kernel does not qualify");
    Elementwise e;
    elementwise(e, ctas, pitch, out, false, true);
    CHECK(fast_path_check(e.k).find("data-dependent guard") != std::string::npos);
    LaunchResult full, fast;
    const auto a = run_ew(gpu, e.l, bytes, out, false, full);
    const auto b = run_ew(gpu, e.l, bytes, out, true, fast);
    check_same(full, fast);
    CHECK(a == b);
    CHECK(!fast.fast_path_fallback.empty());
  }
  {
    INFO("buffers not offset by whole L1 set spans: no twins");
    Elementwise e;
    const uint64_t packed = ctas * 512ull;  // 128 threads x 4 B = 512 B per CTA
    elementwise(e, ctas, 512, packed, false, false);
    LaunchResult full, fast;
    const auto a = run_ew(gpu, e.l, packed, packed, false, full);
    const auto b = run_ew(gpu, e.l, packed, packed, true, fast);
    check_same(full, fast);
    CHECK(a == b);
    CHECK(fast.fast_path_fallback.empty());
    CHECK(fast.replayed_sms == 0);
    CHECK(fast.split_sms == 0);
  }
  {
    INFO("%clock: not qualified");
    KernelBuilder kb("clk");
    const uint8_t r = kb.reg();
    kb.s2r(r, Special::clock);
    kb.exit();
    CHECK(fast_path_check(kb.finish()) == "reads %clock");
  }
}

TEST_CASE("host threads simulating SMs in parallel do not change any result", "[gpu][fast]") {
  GpuConfig one = sixteen(), two = sixteen();
  one.sim.host_threads = 1;
  two.sim.host_threads = 2;
  // Both modules exist before the first simulation starts (SystemC elaboration).
  Gpu g1("gpu1", one), g2("gpu2", two);
  for (bool fast : {false, true}) {
    const GpuGemmSpec s{"threads", 768, 1024, 96, DType::fp16, AccType::f32};
    const GemmOut a = run_gemm(g1, s, fast), b = run_gemm(g2, s, fast);
    INFO("fast path " << fast);
    check_same(a.r, b.r, false);
    CHECK(a.r.simulated_warp_insts == b.r.simulated_warp_insts);
    CHECK(a.r.replayed_sms == b.r.replayed_sms);
    CHECK(a.r.split_sms == b.r.split_sms);
    CHECK(a.c == b.c);
  }
}
