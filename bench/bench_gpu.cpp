// GPU model speed: simulated warp instructions per host second and the wall
// time of an M x N x K fp16 tensor-core GEMM (default 4096^3) on v100.yaml,
// timing only, with full simulation and with the fast path (fast_path.h),
// which must give the same cycles (checked here too).
// Usage: bench_gpu [config.yaml] [m n k] [--values] [--full-only|--fast-only] [--threads N] [--ld A,B,C]
// (--threads overrides sim.host_threads: SMs simulated on N host threads.)
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <systemc>

#include "bench/usage.h"
#include "models/gpu/gpu.h"
#include "models/gpu/launch_cost.h"
#include "sim/config/gpu_config.h"
#include "sim/lowering/gpu/gemm_select.h"
#include "sim/lowering/gpu/gemm_tc.h"

using namespace xpu;
using namespace xpu::gpu;
using namespace xpu::lowering::gpu;

namespace {

struct Timed {
  LaunchResult r;
  double wall = 0, cpu = 0;  // host wall and process CPU seconds
};

Timed run_once(Gpu& gpu, const std::vector<const Launch*>& launches, bool values, bool fast,
               std::vector<uint64_t>* cycles = nullptr, bool sample = false) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  Timed t;
  RunOptions o{values, fast};
  o.sample = sample;
  t.r = gpu.run_stream(launches, o, cycles);
  t.cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
  t.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return t;
}

}  // namespace

int sc_main(int argc, char* argv[]) {
  std::string cfg_path = std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/v100.yaml";
  uint64_t m = 4096, n = 4096, k = 4096;
  bool values = false, full = true, fast = true, plan_only = false, sampled = false;
  std::string tile_arg;
  unsigned long long ld[3] = {0, 0, 0};
  int threads = 0;
  int pos = 0;
  const char* usage =
      "usage: bench_gpu [config.yaml] [m n k] [--values] [--full-only|--fast-only] [--threads N] [--plan-only] [--sampled]\n"
      "                 [--tile BMxBNxBK[/S]] [--ld LDA,LDB,LDC]\n"
      "GPU model speed on an m x n x k fp16 tensor-core GEMM (default 4096^3, configs/accelerators/v100.yaml):\n"
      "simulated warp instructions per host second, full simulation and fast path (same cycles, checked).\n"
      "  --values      compute the values too        --full-only / --fast-only  run one of the two\n"
      "  --threads N   SMs simulated on N host threads (overrides sim.host_threads)\n"
      "  --sampled     the fast-path run also samples waves (wave_sampler.h): its error against full is printed\n"
      "  --plan-only   print the chosen kernel (gemm_select.h) and its estimate, simulate nothing\n"
      "  --tile BMxBNxBK[/S]  this candidate of the kernel table (split-K S) instead of the chosen one\n"
      "  --ld LDA,LDB,LDC     leading dimensions in elements of row-major A, B, C (0: the kernel's padded layout);\n"
      "                       one not a multiple of 16 bytes makes that operand's loads (C's stores) narrow\n";
  xpu::bench::answer_help(argc, argv, usage);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--values") values = true;
    else if (a == "--plan-only") plan_only = true;
    else if (a == "--tile" && i + 1 < argc) tile_arg = argv[++i];
    else if (a == "--ld" && i + 1 < argc) {
      if (std::sscanf(argv[++i], "%llu,%llu,%llu", &ld[0], &ld[1], &ld[2]) != 3) xpu::bench::bad_argument(argv[i], usage);
    }
    else if (a == "--full-only") fast = false;
    else if (a == "--sampled") sampled = true;
    else if (a == "--fast-only") full = false;
    else if (a == "--threads" && i + 1 < argc) threads = int(xpu::bench::positive_argument(argv[++i], usage));
    else if (a.size() > 5 && a.substr(a.size() - 5) == ".yaml") cfg_path = a;
    else if (pos < 3) (pos == 0 ? m : pos == 1 ? n : k) = xpu::bench::positive_argument(argv[i], usage), ++pos;
    else xpu::bench::bad_argument(argv[i], usage);
  }
  GpuConfig cfg = config::load_gpu_config(cfg_path);
  if (threads > 0) cfg.sim.host_threads = static_cast<uint32_t>(threads);
  Gpu gpu("gpu", cfg);
  GpuGemmPlan plan;
  GpuGemmSpec spec{"bench", m, n, k, DType::fp16, AccType::f32};
  spec.lda = ld[0];
  spec.ldb = ld[1];
  spec.ldc = ld[2];
  if (!tile_arg.empty()) {
    unsigned bm = 0, bn = 0, bk = 0, split = 1;
    if (std::sscanf(tile_arg.c_str(), "%ux%ux%u/%u", &bm, &bn, &bk, &split) < 3) xpu::bench::bad_argument(tile_arg.c_str(), usage);
    for (const GemmTiling& t : gemm_candidates(cfg.tensor_core.mma))
      if (t.bm == bm && t.bn == bn && t.bk == bk) spec.tiling = t;
    if (!spec.tiling) xpu::bench::bad_argument(tile_arg.c_str(), usage);
    spec.tiling->split_k = split;
    const uint64_t grid_m = (m + bm - 1) / bm;
    spec.tiling->group_m = raster_group(cfg, *spec.tiling, grid_m, split_slice(k, *spec.tiling), 2);
  }
  lower_gemm_tc(cfg, spec, plan);
  if (plan_only) {
    const Gpu::Occupancy occ = gpu.occupancy(plan.launch);
    const GemmEstimate est = estimate_gemm(cfg, GpuGemmSpec{"bench", m, n, k, DType::fp16, AccType::f32}, plan.tiling,
                                           occ.ctas);
    std::printf("%llu x %llu x %llu: %s, raster group %u, %u CTAs, %u per SM, %.2f waves, estimate %.0f cycles\n",
                (unsigned long long)m, (unsigned long long)n, (unsigned long long)k, plan.tiling.name().c_str(),
                plan.tiling.group_m, plan.launch.ctas, occ.ctas, est.waves, est.cycles);
    // Every candidate's estimate, unsplit (the table of gemm_select.h).
    for (const GemmTiling& t : gemm_candidates(cfg.tensor_core.mma)) {
      GpuGemmSpec s{"c", m, n, k, DType::fp16, AccType::f32};
      s.tiling = t;
      GpuGemmPlan p;
      try {
        lower_gemm_tc(cfg, s, p);
      } catch (const GpuLoweringError&) {
        continue;
      }
      const GemmEstimate e = estimate_gemm(cfg, s, t, gpu.occupancy(p.launch).ctas);
      std::printf("  candidate %-26s %6llu CTAs, estimate %.0f cycles\n", t.name().c_str(),
                  (unsigned long long)e.ctas, e.cycles);
    }
    return 0;
  }
  if (values) gpu.memory().resize(plan.layout.bytes);
  Timed tf, tq;
  std::vector<uint64_t> kcycles;
  if (full) tf = run_once(gpu, plan.launches(), values, false, &kcycles);
  if (fast) tq = run_once(gpu, plan.launches(), values, true, full ? nullptr : &kcycles, sampled);
  const LaunchResult& r = full ? tf.r : tq.r;
  const double secs = double(r.cycles) / (cfg.clock_mhz * 1e6);
  const double tflops = 2.0 * double(m) * n * k / secs / 1e12;
  const double peak = 2.0 * cfg.tensor_macs_per_cycle() * cfg.clock_mhz * 1e6 / 1e12;
  std::printf("config            %s (%u SMs), %u host thread(s)\n", cfg.name.c_str(), cfg.sms, cfg.sim.host_threads);
  std::printf("gemm              %llu x %llu x %llu fp16 -> fp32, %s\n", (unsigned long long)m,
              (unsigned long long)n, (unsigned long long)k, values ? "values" : "timing only");
  std::printf("kernel            %s, raster group %u rows\n", plan.tiling.name().c_str(), plan.tiling.group_m);
  if (spec.lda || spec.ldb || spec.ldc)
    std::printf("leading dims      A %llu, B %llu, C %llu elements: widest accesses A %u, B %u, C %u bytes\n", ld[0],
                ld[1], ld[2], plan.layout.a_width, plan.layout.b_width, plan.layout.c_width);
  std::printf("grid              %u CTAs of %u threads, %u per SM (%s), %.2f waves\n", plan.launch.ctas,
              plan.launch.threads, r.ctas_per_sm, r.occupancy_limiter.c_str(),
              double(plan.launch.ctas) / (double(cfg.sms) * r.ctas_per_sm));
  if (plan.split())
    std::printf("split-K           %u splits; main kernel %llu cycles, reduction (%u CTAs) %llu cycles\n",
                plan.tiling.split_k, (unsigned long long)kcycles.at(0), plan.reduce.ctas,
                (unsigned long long)kcycles.at(1));
  std::printf("simulated cycles  %llu (%.3f ms at %.0f MHz)\n", (unsigned long long)r.cycles, secs * 1e3,
              cfg.clock_mhz);
  std::printf("throughput        %.1f TFLOPS = %.1f %% of %.1f peak\n", tflops, 100 * tflops / peak, peak);
  // DeepBench times back-to-back calls on the host clock; the host enqueues
  // faster than these kernels run, so each of a call's kernels also waits
  // the stream's gap between dependent kernels (launch_cost.h) after its
  // predecessor: a split-K call pays it twice.
  const uint64_t kernels = plan.split() ? 2 : 1;
  const double gap_secs = double(r.cycles + kernels * kernel_gap_cycles(cfg)) / (cfg.clock_mhz * 1e6);
  std::printf("back to back      %.1f TFLOPS with %llu dependent gap(s) of %.2f us per call (DeepBench's timing)\n",
              2.0 * double(m) * n * k / gap_secs / 1e12, (unsigned long long)kernels,
              double(kernel_gap_cycles(cfg)) / cfg.clock_mhz);
  uint64_t stall_total = 0;
  for (int i = 0; i < static_cast<int>(Stall::count); ++i) stall_total += r.sm.stall[i];
  std::printf("sub-core cycles   %.1f %% issuing; no-issue cycles by cause:", 100.0 * r.sm[Ctr::issue_cycles] /
              double(r.sm[Ctr::issue_cycles] + stall_total));
  for (int i = 0; i < static_cast<int>(Stall::count); ++i)
    if (r.sm.stall[i]) std::printf(" %s %.1f%%", stall_name(static_cast<Stall>(i)), 100.0 * r.sm.stall[i] / stall_total);
  std::printf("\n");
  const double l2_reads = double(r.mem.l2_read_hits + r.mem.l2_read_misses);
  std::printf("memory            L2 hit rate %.1f %%, DRAM %.1f MB read, %.0f GB/s, shared-memory bank conflicts %llu\n",
              l2_reads ? 100.0 * r.mem.l2_read_hits / l2_reads : 0.0, r.mem.dram_read_bytes / 1e6,
              double(r.mem.dram_read_bytes + r.mem.dram_write_bytes) / secs / 1e9,
              (unsigned long long)r.sm[Ctr::smem_bank_conflicts]);
  std::printf("warp insts        %llu in the kernel\n", (unsigned long long)r.sm[Ctr::warp_insts]);
  // Speed per host core: process CPU time counts every host thread
  // (sim.host_threads), so instructions per CPU second is the per-core
  // measure; on a shared machine wall time is only what a user waits.
  auto speed = [&](const char* what, const Timed& t) {
    std::printf("%-17s wall %.2f s, CPU %.2f s; %llu warp insts executed on the host: %.3g per CPU second; "
                "kernel warp insts per second: %.3g per CPU second, %.3g per wall second\n",
                what, t.wall, t.cpu, (unsigned long long)t.r.simulated_warp_insts,
                double(t.r.simulated_warp_insts) / t.cpu, double(t.r.sm[Ctr::warp_insts]) / t.cpu,
                double(t.r.sm[Ctr::warp_insts]) / t.wall);
  };
  if (full) speed("full simulation", tf);
  if (fast) {
    speed("fast path", tq);
    std::printf("fast path         %u of %u SMs replayed to the end, %u split off%s%s\n", tq.r.replayed_sms, cfg.sms,
                tq.r.split_sms, tq.r.fast_path_fallback.empty() ? "" : "; fallback: ",
                tq.r.fast_path_fallback.c_str());
  }
  if (fast && sampled)
    std::printf("sampling          %s, %u of %u waves simulated; %llu cycles\n", tq.r.sampled ? "sampled" : "not sampled",
                tq.r.waves_simulated, tq.r.waves_total, (unsigned long long)tq.r.cycles);
  if (full && fast && sampled) {
    auto err = [](double a, double b) { return b > 0 ? 100.0 * (a - b) / b : 0.0; };
    std::printf("sampled vs full   cycles %+.3f %%, DRAM bytes %+.3f %%\n", err(double(tq.r.cycles), double(tf.r.cycles)),
                err(double(tq.r.mem.dram_read_bytes + tq.r.mem.dram_write_bytes),
                    double(tf.r.mem.dram_read_bytes + tf.r.mem.dram_write_bytes)));
    return 0;
  }
  if (full && fast) {
    const bool same = tf.r.cycles == tq.r.cycles &&
                      std::memcmp(tf.r.sm.c, tq.r.sm.c, sizeof tf.r.sm.c) == 0 &&
                      std::memcmp(tf.r.sm.stall, tq.r.sm.stall, sizeof tf.r.sm.stall) == 0 &&
                      tf.r.mem.l2_read_hits == tq.r.mem.l2_read_hits &&
                      tf.r.mem.dram_read_bytes == tq.r.mem.dram_read_bytes;
    std::printf("fast == full      %s\n", same ? "yes (cycles and counters identical)" : "NO: MISMATCH");
    if (!same) return 1;
  }
  return 0;
}
