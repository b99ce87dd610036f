// GPU model speed: simulated warp instructions per host second and the wall
// time of an M x N x K fp16 tensor-core GEMM (default 4096^3) on v100.yaml,
// timing only. Usage: bench_gpu [config.yaml] [m n k] [--values]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <systemc>

#include "models/gpu/gpu.h"
#include "sim/config/gpu_config.h"
#include "sim/lowering/gpu/gemm_tc.h"

using namespace xpu;
using namespace xpu::gpu;
using namespace xpu::lowering::gpu;

int sc_main(int argc, char* argv[]) {
  std::string cfg_path = std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/v100.yaml";
  uint64_t m = 4096, n = 4096, k = 4096;
  bool values = false;
  int pos = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--values") values = true;
    else if (a.size() > 5 && a.substr(a.size() - 5) == ".yaml") cfg_path = a;
    else if (pos < 3) (pos == 0 ? m : pos == 1 ? n : k) = std::strtoull(argv[i], nullptr, 10), ++pos;
  }
  const GpuConfig cfg = config::load_gpu_config(cfg_path);
  Gpu gpu("gpu", cfg);
  GpuGemmPlan plan;
  lower_gemm_tc(cfg, GpuGemmSpec{"bench", m, n, k, DType::fp16, AccType::f32}, plan);
  if (values) gpu.memory().resize(plan.layout.bytes);
  const auto t0 = std::chrono::steady_clock::now();
  const LaunchResult r = gpu.run(plan.launch, RunOptions{values, false});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double secs = double(r.cycles) / (cfg.clock_mhz * 1e6);
  const double tflops = 2.0 * double(m) * n * k / secs / 1e12;
  const double peak = 2.0 * cfg.tensor_macs_per_cycle() * cfg.clock_mhz * 1e6 / 1e12;
  std::printf("config            %s (%u SMs)\n", cfg.name.c_str(), cfg.sms);
  std::printf("gemm              %llu x %llu x %llu fp16 -> fp32, %s\n", (unsigned long long)m,
              (unsigned long long)n, (unsigned long long)k, values ? "values" : "timing only");
  std::printf("grid              %u CTAs of %u threads, %u per SM (%s)\n", plan.launch.ctas, plan.launch.threads,
              r.ctas_per_sm, r.occupancy_limiter.c_str());
  std::printf("simulated cycles  %llu (%.3f ms at %.0f MHz)\n", (unsigned long long)r.cycles, secs * 1e3,
              cfg.clock_mhz);
  std::printf("throughput        %.1f TFLOPS = %.1f %% of %.1f peak\n", tflops, 100 * tflops / peak, peak);
  uint64_t stall_total = 0;
  for (int i = 0; i < static_cast<int>(Stall::count); ++i) stall_total += r.sm.stall[i];
  std::printf("sub-core cycles   %.1f %% issuing; no-issue cycles by cause:", 100.0 * r.sm[Ctr::issue_cycles] /
              double(r.sm[Ctr::issue_cycles] + stall_total));
  for (int i = 0; i < static_cast<int>(Stall::count); ++i)
    if (r.sm.stall[i]) std::printf(" %s %.1f%%", stall_name(static_cast<Stall>(i)), 100.0 * r.sm.stall[i] / stall_total);
  std::printf("\n");
  const double l2_reads = double(r.mem.l2_read_hits + r.mem.l2_read_misses);
  std::printf("memory            L2 hit rate %.1f %%, DRAM %.1f MB read, shared-memory bank conflicts %llu\n",
              l2_reads ? 100.0 * r.mem.l2_read_hits / l2_reads : 0.0, r.mem.dram_read_bytes / 1e6,
              (unsigned long long)r.sm[Ctr::smem_bank_conflicts]);
  std::printf("warp insts        %llu simulated on the host\n", (unsigned long long)r.simulated_warp_insts);
  std::printf("wall time         %.2f s\n", wall);
  std::printf("sim speed         %.3g warp-instructions per host second\n", double(r.simulated_warp_insts) / wall);
  return 0;
}
