// Host throughput of the whole TPU model (SystemC units + array engine), one
// thread, measured in one run next to the host's own fp32 GEMM:
//   (a) Eigen fp32 GEMM 1024^3, best of 3: MAC/s (the yardstick);
//   (b) tile fidelity with values: 4096^3 bf16 GEMM lowered for tpu_v1
//       (host io: A and C through PCIe DMA) -> simulated MAC/s and ratio to (a);
//   (c) timing fidelity: weight tiles (matmul passes) simulated per second,
//       on a GEMM with many small tiles (tpu_v2_like, 128x128 array; its DMA
//       shares the HBM with the weight fetcher);
//   (d) PE fidelity: PE register updates per second (256x256 array).
// Usage: bench_tpu [repo root (default .)] [timing]   ("timing": only (c),
// larger, per wall and per CPU second (the host may be shared), and the same
// on tpu_v1, whose weight fetcher is alone on its DRAM; each once with the
// program materialized and once streamed, as xpusim runs it).
#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "bench/usage.h"
#include "models/tpu/tpu.h"
#include "sim/config/tpu_config.h"
#include "sim/check/gemm_data.h"
#include "sim/lowering/tpu/gemm.h"

namespace {

using namespace xpu;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double eigen_macs_per_s(int n) {
  Eigen::setNbThreads(1);
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n), b = Eigen::MatrixXf::Random(n, n), c(n, n);
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = Clock::now();
    c.noalias() = a * b;
    best = std::min(best, since(t0));
  }
  volatile float sink = c(n / 2, n / 3);
  (void)sink;
  return double(n) * n * n / best;
}

struct Run {
  double seconds = 0;
  double cpu = 0;  // CPU seconds of the simulation
  uint64_t cycles = 0;
  stats::Snapshot stats;
};

// streamed: the program generated as it is fetched and checked per chunk
// (lower_gemm without materializing, Tpu::run(ProgramSource&)), the path a
// timing-fidelity `xpusim run` of a GEMM takes; otherwise a materialized
// program, validated whole before it runs.
Run run_gemm(tpu::Tpu& t, uint64_t m, uint64_t n, uint64_t k, DType dtype, bool values, bool streamed = false) {
  lowering::GemmSpec s;
  s.m = m;
  s.n = n;
  s.k = k;
  s.dtype = dtype;
  s.out_dtype = dtype == DType::int8 ? DType::int32 : DType::fp32;
  s.io = lowering::GemmIo::host;
  const auto plan = lowering::lower_gemm(t.config(), s, !streamed);
  if (values) {
    const auto d = check::make_gemm_data(dtype, m, n, k, 1);
    t.host().write(plan.layout.host_a, d.a.data(), d.a.size());
    const auto image = lowering::pack_weights(t.config(), s, plan.layout, d.b.data());
    t.weights().write(0, image.data(), image.size());
  }
  const auto t0 = Clock::now();
  const double c0 = cpu_seconds();
  const auto r = streamed ? t.run(*plan.stream()) : t.run(plan.program);
  const double cpu = cpu_seconds() - c0;
  return {since(t0), cpu, r.cycles, r.stats};
}

}  // namespace

int sc_main(int argc, char* argv[]) {
  const char* usage =
      "usage: bench_tpu [repo root (default .)] [timing]\n"
      "Host throughput of the whole TPU model on one thread next to an Eigen fp32 GEMM: tile fidelity with\n"
      "values (4096^3 bf16 on tpu_v1), timing fidelity (weight tiles per second), PE fidelity (PE updates\n"
      "per second). \"timing\": only the timing measurement, on a larger GEMM.\n";
  xpu::bench::answer_help(argc, argv, usage);
  if (argc > 3 || (argc > 2 && std::string(argv[2]) != "timing")) xpu::bench::bad_argument(argv[argc - 1], usage);
  const std::string root = argc > 1 ? argv[1] : ".";
  const auto v1 = config::load_tpu_config(root + "/configs/accelerators/tpu_v1.yaml");
  const auto v2 = config::load_tpu_config(root + "/configs/accelerators/tpu_v2_like.yaml");
  tpu::Tpu t1(v1, "tpu_v1");
  tpu::Tpu t2(v2, "tpu_v2_like");

  if (argc > 2 && std::string(argv[2]) == "timing") {
    // Weight tiles (matmul passes) per wall and per CPU second.
    // Both materialized runs first: the Tpus share one kernel clock, so a
    // program's start (and, on another clock, its cycle count) depends on
    // the runs before it; this keeps those two as they always were.
    auto timing = [](const char* label, tpu::Tpu& t, uint64_t m, uint64_t n, uint64_t k, DType dtype,
                     bool streamed) {
      t.set_fidelity(tpu::Fidelity::timing);
      const Run r = run_gemm(t, m, n, k, dtype, false, streamed);
      const double tiles = r.stats.get("tpu.mxu.passes");
      std::printf("timing fidelity%s%s: %.0f tiles in %.2f s = %.3f M tiles/s (%.2f CPU s: %.3f M tiles per CPU s), "
                  "%llu cycles\n",
                  label, streamed ? ", streamed" : "", tiles, r.seconds, tiles / r.seconds / 1e6, r.cpu,
                  tiles / r.cpu / 1e6, (unsigned long long)r.cycles);
    };
    for (const bool streamed : {false, true}) {
      timing("", t2, 128, 32768, 16384, DType::bf16, streamed);
      timing(", tpu_v1 (fetcher alone on the DRAM)", t1, 256, 65536, 32768, DType::int8, streamed);
    }
    return 0;
  }
  const double eigen = eigen_macs_per_s(1024);

  t1.set_fidelity(tpu::Fidelity::tile);
  const Run big = run_gemm(t1, 4096, 4096, 4096, DType::bf16, true);
  const double big_rate = 4096.0 * 4096 * 4096 / big.seconds;

  t2.set_fidelity(tpu::Fidelity::timing);
  const Run many = run_gemm(t2, 128, 8192, 8192, DType::bf16, false);
  const double tiles = many.stats.get("tpu.mxu.passes");

  t1.set_fidelity(tpu::Fidelity::pe);
  const Run pe = run_gemm(t1, 256, 256, 512, DType::int8, true);
  // Every PE is updated once per systolic step while the array holds data;
  // the MXU's busy and fill/drain steps are what the PE engine stepped.
  const double pe_updates = double(t1.array().pe_updates());

  std::printf("%-58s %14s %12s\n", "measurement", "rate", "wall (s)");
  std::printf("%-58s %11.3f G %12s\n", "(a) Eigen fp32 GEMM 1024^3, 1 thread [MAC/s]", eigen / 1e9, "-");
  std::printf("%-58s %11.3f G %12.2f\n", "(b) tpu_v1 tile fidelity, 4096^3 bf16 with values [MAC/s]", big_rate / 1e9,
              big.seconds);
  std::printf("%-58s %13.2fx\n", "    ratio (b)/(a)", big_rate / eigen);
  std::printf("%-58s %11.3f M %12.2f\n", "(c) tpu_v2_like timing, 128x8192x8192 bf16 [tiles/s]",
              tiles / many.seconds / 1e6, many.seconds);
  std::printf("%-58s %11.3f G %12.2f\n", "(d) tpu_v1 PE fidelity, 256x256x512 int8 [PE-updates/s]",
              pe_updates / pe.seconds / 1e9, pe.seconds);
  std::printf("\nsimulated: (b) %llu cycles, (c) %.0f tiles in %llu cycles, (d) %llu cycles\n",
              (unsigned long long)big.cycles, tiles, (unsigned long long)many.cycles,
              (unsigned long long)pe.cycles);
  return 0;
}
