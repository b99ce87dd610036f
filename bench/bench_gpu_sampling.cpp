// Sampled vs full simulation (models/gpu/wave_sampler.h) on the kernels of
// gpu_sampling_cases.h, at timing fidelity on every GPU config: cycles and
// DRAM bytes of each kernel, their relative errors (max and mean), waves
// simulated, and the host time of both. Exits 1 if any sampled kernel is
// off by more than --bound percent (default 2).
// Usage: bench_gpu_sampling [config.yaml ...] [--case SUBSTRING] [--bound PCT] [--plan]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <systemc>

#include "bench/gpu_sampling_cases.h"
#include "bench/usage.h"
#include "models/gpu/gpu.h"
#include "models/gpu/wave_sampler.h"
#include "sim/config/gpu_config.h"
#include "sim/lowering/gpu/network.h"
#include "sim/workload/workload.h"

using namespace xpu;

namespace {

gpu::KLoopParams kparams;  // --min-t1, --divisor, --min-ratio

struct Timed {
  gpu::LaunchResult r;
  double wall = 0;  // host seconds
  double cpu = 0;   // host CPU seconds, all threads
};

Timed run(gpu::Gpu& g, const std::vector<const gpu::Launch*>& launches, bool sample) {
  gpu::RunOptions o;
  o.values = false;
  o.fast_path = true;
  o.sample = sample;
  o.k_loop = kparams;
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  Timed t;
  t.r = g.run_stream(launches, o);
  t.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t.cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
  return t;
}

double rel(double a, double b) { return b != 0 ? std::fabs(a - b) / b : (a == 0 ? 0 : 1); }

uint64_t dram(const gpu::LaunchResult& r) { return r.mem.dram_read_bytes + r.mem.dram_write_bytes; }

// The line check of k_loop_sampler.h: the launch at T1, T2 and a third trip
// count T3 = (T2 + T) / 2, all waves in full; the line through the first two
// at T3 against the simulation there (cycles and DRAM bytes, percent).
// Returns false when the kernel's loop is not sampled.
bool line_check(gpu::Gpu& g, const gpu::Launch& l, double& ec, double& ed, uint32_t& t3) {
  const gpu::TripPlan p = g.plan_trips(l, kparams);
  if (!p.use) return false;
  t3 = (p.t2 + p.trips) / 2;
  gpu::LaunchResult at[3];
  const uint32_t trips[3] = {p.t1, p.t2, t3};
  for (int i = 0; i < 3; ++i) {
    const gpu::Kernel k = gpu::with_trips(*l.kernel, trips[i]);
    gpu::Launch x = l;
    x.kernel = &k;
    at[i] = run(g, {&x}, false).r;
  }
  gpu::TripPlan to3 = p;
  to3.trips = t3;
  ec = 100 * rel(double(gpu::extrapolate(at[0].cycles, at[1].cycles, to3)), double(at[2].cycles));
  ed = 100 * rel(double(gpu::extrapolate(dram(at[0]), dram(at[1]), to3)), double(dram(at[2])));
  return true;
}

}  // namespace

int sc_main(int argc, char* argv[]) {
  const char* usage =
      "usage: bench_gpu_sampling [config.yaml ...] [--case SUBSTRING] [--bound PCT] [--plan]\n"
      "Sampled vs full timing simulation of many-wave kernels (square, skinny and GEMV GEMMs, convolutions,\n"
      "attention matmuls, softmax/layernorm/elementwise) on each config (default: v100, a100, ampere_small,\n"
      "gpu_small): cycles and DRAM bytes, their errors, waves simulated, host seconds.\n"
      "  --case S    only the kernels whose name contains S\n"
      "  --bound P   exit 1 if a kernel's cycles or DRAM bytes differ by more than P percent (default 2)\n"
      "  --plan      simulate nothing: each kernel's CTAs, wave (SMs x CTAs per SM) and grid period\n"
      "  --kloop     the long-K kernels instead (k_loop_sampler.h): also the line's error at a third trip count\n"
      "  --no-full   with --kloop: the sampled run and the line check only (no full simulation)\n"
      "  --min-t1 N, --divisor N, --min-turnover X, --min-ratio N, --max-wave N\n               KLoopParams (k_loop_sampler.h) instead of the defaults\n";
  bench::answer_help(argc, argv, usage);
  std::vector<std::string> configs;
  std::string only;
  double bound = 2.0;
  bool plan_only = false, kloop = false, no_full = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--case" && i + 1 < argc) only = argv[++i];
    else if (a == "--plan") plan_only = true;
    else if (a == "--kloop") kloop = true;
    else if (a == "--no-full") no_full = true;
    else if (a == "--min-t1" && i + 1 < argc) kparams.min_t1 = uint32_t(bench::positive_argument(argv[++i], usage));
    else if (a == "--divisor" && i + 1 < argc) kparams.divisor = uint32_t(bench::positive_argument(argv[++i], usage));
    else if (a == "--min-turnover" && i + 1 < argc) kparams.min_turnover = std::atof(argv[++i]);
    else if (a == "--max-wave" && i + 1 < argc) kparams.max_wave_ctas = uint32_t(bench::positive_argument(argv[++i], usage));
    else if (a == "--min-ratio" && i + 1 < argc) kparams.min_ratio = uint32_t(bench::positive_argument(argv[++i], usage));
    else if (a == "--bound" && i + 1 < argc) bound = double(bench::positive_argument(argv[++i], usage));
    else if (a.size() > 5 && a.substr(a.size() - 5) == ".yaml") configs.push_back(a);
    else bench::bad_argument(argv[i], usage);
  }
  const std::string dir = std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/";
  if (configs.empty())
    for (const char* c : {"v100.yaml", "a100.yaml", "ampere_small.yaml", "gpu_small.yaml"}) configs.push_back(dir + c);

  double max_cyc = 0, max_dram = 0, sum_cyc = 0, sum_dram = 0, full_s = 0, samp_s = 0;
  size_t n = 0, sampled = 0, bad = 0;
  std::printf("%-14s %-28s %6s %9s %12s %8s %8s %8s %7s %7s\n", "config", "kernel", "CTAs", "waves", "cycles(full)",
              "cyc err%", "dram err%", "", "full s", "samp s");
  // Every Gpu module is built before the first simulation starts (SystemC
  // elaboration ends there).
  std::vector<std::unique_ptr<gpu::Gpu>> gpus;
  for (const std::string& path : configs) {
    const gpu::GpuConfig cfg = config::load_gpu_config(path);
    gpus.push_back(std::make_unique<gpu::Gpu>(("gpu" + std::to_string(gpus.size())).c_str(), cfg));
  }
  for (auto& gp : gpus) {
    gpu::Gpu& g = *gp;
    const gpu::GpuConfig& cfg = g.config();
    const uint64_t scale = bench::sampling_scale(cfg.sms);
    for (const bench::SamplingCase& c : kloop ? bench::kloop_cases(scale) : bench::sampling_cases(scale)) {
      if (!only.empty() && c.name.find(only) == std::string::npos) continue;
      const std::string file = "/tmp/bench_gpu_sampling_" + std::to_string(getpid()) + ".yaml";
      {
        std::ofstream f(file);
        f << c.yaml;
      }
      const workload::Workload w = workload::load_workload(file);
      std::remove(file.c_str());
      for (const workload::Layer& l : w.layers) {
        lowering::gpu::GpuLayerPlan plan;
        lowering::gpu::lower_layer(cfg, w, l, DType::fp16, plan);
        if (plan.view) continue;
        if (plan_only) {
          for (const gpu::Launch* l : plan.launches()) {
            const gpu::TripPlan tp = g.plan_trips(*l, kparams);
            const uint32_t wave = cfg.sms * gpu::Gpu::occupancy(cfg, *l).ctas;
            std::printf("%-14s %-28s %-24s %6u CTAs, wave %5u, period %u, trips %u (L2s per trip %.3f)%s\n",
                        cfg.name.c_str(), c.name.c_str(), l->kernel->name.c_str(), l->ctas, wave, gpu::grid_period(*l),
                        tp.trips, gpu::wave_bytes_per_trip(*l, wave).distinct / double(cfg.l2.capacity_bytes),
                        tp.use ? (" (sampled at " + std::to_string(tp.t1) + " and " + std::to_string(tp.t2) + ")").c_str()
                               : "");
          }
          ++n;
          continue;
        }
        if (kloop) {
          double lc = 0, ld = 0;
          uint32_t t3 = 0;
          if (line_check(g, *plan.launches().front(), lc, ld, t3))
            std::printf("%-14s %-28s line at T3 = %u: cycles %.3f %%, DRAM bytes %.3f %%\n", cfg.name.c_str(),
                        c.name.c_str(), t3, lc, ld);
          else
            std::printf("%-14s %-28s K loop not sampled (trips %u)\n", cfg.name.c_str(), c.name.c_str(),
                        plan.launches().front()->kernel->trips);
          std::fflush(stdout);
        }
        const Timed samp = run(g, plan.launches(), true);
        if (no_full) {
          std::printf("%-14s %-28s sampled: %llu cycles, %llu DRAM bytes, trips %u/%u, waves %u/%u, %.2f s wall, %.2f s CPU\n",
                      cfg.name.c_str(), c.name.c_str(), (unsigned long long)samp.r.cycles,
                      (unsigned long long)dram(samp.r), samp.r.trips_simulated, samp.r.trips,
                      samp.r.waves_simulated, samp.r.waves_total, samp.wall, samp.cpu);
          std::fflush(stdout);
          ++n;
          continue;
        }
        if (kloop && !samp.r.sampled) {  // run in full: error 0 by construction
          std::printf("%-14s %-28s not sampled (%.2f s)\n", cfg.name.c_str(), c.name.c_str(), samp.wall);
          std::fflush(stdout);
          ++n;
          continue;
        }
        const Timed full = run(g, plan.launches(), false);
        const double dram_f = double(full.r.mem.dram_read_bytes + full.r.mem.dram_write_bytes);
        const double dram_s = double(samp.r.mem.dram_read_bytes + samp.r.mem.dram_write_bytes);
        const double ec = 100 * rel(double(samp.r.cycles), double(full.r.cycles));
        const double ed = 100 * rel(dram_s, dram_f);
        max_cyc = std::max(max_cyc, ec), max_dram = std::max(max_dram, ed);
        sum_cyc += ec, sum_dram += ed;
        ++n;
        sampled += samp.r.sampled;
        full_s += full.wall, samp_s += samp.wall;
        const bool over = ec > bound || ed > bound;
        bad += over;
        char waves[32];
        if (samp.r.trips)  // K-loop sampled: trips simulated (T1 + T2) / real
          std::snprintf(waves, sizeof waves, "k%u/%u", samp.r.trips_simulated, samp.r.trips);
        else
          std::snprintf(waves, sizeof waves, "%u/%u", samp.r.waves_simulated, samp.r.waves_total);
        std::printf("%-14s %-28s %6u %9s %12llu %8.3f %8.3f %8s %7.2f %7.2f\n", cfg.name.c_str(), c.name.c_str(),
                    plan.launches().front()->ctas, waves, (unsigned long long)full.r.cycles, ec, ed,
                    over ? "OVER" : samp.r.sampled ? "sampled" : "full", full.wall, samp.wall);
        if (kloop)
          std::printf("%-14s %-28s DRAM bytes full %llu, sampled %llu; host CPU s full %.2f, sampled %.2f\n",
                      cfg.name.c_str(), c.name.c_str(), (unsigned long long)dram(full.r),
                      (unsigned long long)dram(samp.r), full.cpu, samp.cpu);
        std::fflush(stdout);
      }
    }
  }
  if (n == 0) {
    std::fprintf(stderr, "error: no kernel matched\n");
    return 1;
  }
  if (plan_only || no_full) return 0;
  std::printf("\n%zu kernels, %zu sampled; cycles error max %.3f %% mean %.3f %%; DRAM bytes error max %.3f %% mean "
              "%.3f %%; host %.1f s full, %.1f s sampled (%.2fx)\n",
              n, sampled, max_cyc, sum_cyc / double(n), max_dram, sum_dram / double(n), full_s, samp_s,
              samp_s > 0 ? full_s / samp_s : 0.0);
  if (bad) std::printf("%zu kernel(s) over the %.1f %% bound\n", bad, bound);
  return bad ? 1 : 0;
}
