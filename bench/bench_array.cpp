// Host throughput of the systolic array engines, one thread:
//   (a) Eigen fp32 GEMM, the yardstick (MAC/s);
//   (b) tile engine, bf16 with values: a GEMM run as passes on a 256x256
//       array (simulated MAC/s, and the ratio to (a));
//   (c) tile engine, timing only: passes per second;
//   (d) PE engine: PE register updates per second on 256x256 and 32x32.
// Usage: bench_array [gemm_size (default 4096)]
#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "bench/usage.h"
#include "models/tpu/mxu_array.h"
#include "sim/numerics/bf16.h"

namespace {

using namespace xpu::tpu;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double eigen_macs_per_s(int n) {
  Eigen::setNbThreads(1);
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n);
  Eigen::MatrixXf b = Eigen::MatrixXf::Random(n, n);
  Eigen::MatrixXf c(n, n);
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    c.noalias() = a * b;
    best = std::min(best, since(t0));
  }
  volatile float sink = c(n / 2, n / 3);  // keep the product alive
  (void)sink;
  return double(n) * n * n / best;
}

std::vector<uint16_t> random_bf16(size_t count, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<uint16_t> out(count);
  for (auto& v : out) v = xpu::bf16::from_float(d(rng)).bits;
  return out;
}

struct GemmRun {
  double seconds = 0;
  double macs = 0;
  uint64_t cycles = 0;
  uint64_t passes = 0;
  // Best rate over one column tile's worth of passes: robust against other
  // processes sharing the host during the long run.
  double best_window_macs_per_s = 0;
};

// C (MxN) = A (MxK) * B (KxN) in bf16 on an R x C array: for each column
// tile, the K-chunks accumulate; each pass starts at input_free of the
// previous one or when its tile can be latched (switch_done of the previous).
// With values == false every pointer is null (Fidelity::timing); `repeat`
// runs the pass sequence that many times back to back.
GemmRun tile_gemm(uint32_t M, uint32_t K, uint32_t N, const ArrayShape& a, bool values,
                  int repeat = 1) {
  std::mt19937_64 rng(1);
  std::vector<uint16_t> A, tiles;
  std::vector<uint32_t> acc;
  const uint32_t kt = (K + a.rows - 1) / a.rows, nt = (N + a.cols - 1) / a.cols;
  if (values) {
    A = random_bf16(size_t(M) * K, rng);
    // Weight tiles as the weight FIFO delivers them: dense rows x cols each.
    tiles = random_bf16(size_t(kt) * nt * a.rows * a.cols, rng);
    acc.assign(size_t(M) * N, 0);
  }
  auto e = make_tile_engine(a);
  GemmRun g;
  uint64_t input_free_c = 0, when = 0, last_switch_done = 0, reported = 0;
  bool first = true;
  const double pass_macs = double(M) * a.rows * a.cols;
  const auto t0 = Clock::now();
  auto window_t0 = t0;
  uint64_t window_reported = 0;
  for (int rep = 0; rep < repeat; ++rep) {
    for (uint32_t j = 0; j < nt; ++j) {
      if (reported > window_reported) {
        const double dt = since(window_t0);
        g.best_window_macs_per_s =
            std::max(g.best_window_macs_per_s, double(reported - window_reported) * pass_macs / dt);
      }
      window_t0 = Clock::now();
      window_reported = reported;
      for (uint32_t i = 0; i < kt; ++i) {
        const uint32_t kk = std::min(a.rows, K - i * a.rows);
        const uint32_t nn = std::min(a.cols, N - j * a.cols);
        when = first ? 0 : std::max(when, last_switch_done);
        const uint64_t start = std::max(input_free_c, when);
        // Like the MXU: bring the array up to the pass's start, then issue it
        // (earlier passes complete, and are computed, on the way).
        for (const Completion& c : e->advance_to(start)) {
          g.cycles = c.cycle;
          ++reported;
        }
        const uint16_t* tile =
            values ? tiles.data() + (size_t(j) * kt + i) * a.rows * a.cols : nullptr;
        e->latch_standby(WeightTile{xpu::DType::bf16, kk, nn,
                                    reinterpret_cast<const uint8_t*>(tile)},
                         when);
        Pass p;
        p.id = g.passes++;
        p.dtype = xpu::DType::bf16;
        p.m = M;
        p.k = kk;
        p.n = nn;
        if (values) {
          p.input = reinterpret_cast<const uint8_t*>(A.data() + size_t(i) * a.rows);
          p.input_stride = size_t(K) * 2;
          p.acc = acc.data() + size_t(j) * a.cols;
          p.acc_stride = N;
        }
        p.accumulate = i > 0;
        p.start = start;
        e->submit(p);
        input_free_c = input_free(p);
        last_switch_done = switch_done(a, p);
        first = false;
      }
    }
  }
  for (const Completion& c : e->advance_to(uint64_t(1) << 62)) g.cycles = c.cycle;
  g.seconds = since(t0);
  g.macs = double(M) * K * N * repeat;
  if (values) {
    volatile uint32_t sink = acc[acc.size() / 2];
    (void)sink;
  }
  return g;
}

struct PeRun {
  double seconds = 0;
  uint64_t updates = 0;
};

// `passes` back-to-back bf16 passes of m vectors, full k and n, with values;
// the tile switches every pass (latched at switch_done of the previous).
PeRun pe_run(const ArrayShape& a, uint32_t m, int passes, xpu::DType t) {
  std::mt19937_64 rng(2);
  const size_t es = xpu::dtype_bytes(t);
  std::vector<uint8_t> in(size_t(m) * a.rows * es), w(size_t(a.rows) * a.cols * es);
  if (t == xpu::DType::int8) {
    for (auto& v : in) v = uint8_t(rng());
    for (auto& v : w) v = uint8_t(rng());
  } else {
    auto x = random_bf16(in.size() / 2, rng);
    auto y = random_bf16(w.size() / 2, rng);
    std::memcpy(in.data(), x.data(), in.size());
    std::memcpy(w.data(), y.data(), w.size());
  }
  std::vector<uint32_t> acc(size_t(m) * a.cols, 0);
  auto e = make_pe_engine(a);
  uint64_t input_free_c = 0, when = 0;
  const auto t0 = Clock::now();
  for (int i = 0; i < passes; ++i) {
    e->latch_standby(WeightTile{t, a.rows, a.cols, w.data()}, when);
    Pass p;
    p.id = uint64_t(i);
    p.dtype = t;
    p.m = m;
    p.k = a.rows;
    p.n = a.cols;
    p.input = in.data();
    p.input_stride = a.rows * es;
    p.acc = acc.data();
    p.acc_stride = a.cols;
    p.accumulate = true;
    p.start = std::max(input_free_c, when);
    e->submit(p);
    input_free_c = input_free(p);
    when = switch_done(a, p);
    e->advance_to(p.start);
  }
  e->advance_to(uint64_t(1) << 62);
  return PeRun{since(t0), e->pe_updates()};
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: bench_array [gemm_size]\n"
      "Host throughput of the systolic-array engines on one thread (Eigen yardstick, tile engine with\n"
      "values and timing only, PE engine); gemm_size (default 4096) is the tile-engine GEMM's m = n = k.\n";
  xpu::bench::answer_help(argc, argv, usage);
  if (argc > 2) xpu::bench::bad_argument(argv[2], usage);
  const uint32_t size = argc > 1 ? uint32_t(std::min<unsigned long long>(
                                       xpu::bench::positive_argument(argv[1], usage), 1u << 16))
                                 : 4096;
  const ArrayShape tpu{256, 256};

  std::printf("xpusim array benchmark (one thread)\n\n");
  const double eigen = eigen_macs_per_s(1024);
  std::printf("%-58s %14s\n", "measurement", "rate");
  std::printf("%-58s %11.3f G MAC/s\n", "(a) Eigen fp32 GEMM 1024^3, best of 5", eigen / 1e9);

  const GemmRun g = tile_gemm(size, size, size, tpu, true);
  char label[128];
  std::snprintf(label, sizeof label, "(b) tile engine bf16 %ux%ux%u GEMM on 256x256 (%lu passes)",
                size, size, size, (unsigned long)g.passes);
  std::printf("%-58s %11.3f G MAC/s  = %.2fx Eigen  (%.1f s, %lu simulated cycles, %.1f%% "
              "array utilisation)\n",
              label, g.macs / g.seconds / 1e9, g.macs / g.seconds / eigen, g.seconds,
              (unsigned long)g.cycles, 100.0 * g.macs / (double(g.cycles) * 256 * 256));
  if (g.best_window_macs_per_s > 0) {
    std::printf("%-58s %11.3f G MAC/s  = %.2fx Eigen\n",
                "    best column tile of (b) (16 passes, less host noise)",
                g.best_window_macs_per_s / 1e9, g.best_window_macs_per_s / eigen);
  }

  const GemmRun tm = tile_gemm(size, size, size, tpu, false, 8000);
  std::printf("%-58s %11.3f M passes/s (%lu passes in %.2f s)\n",
              "(c) tile engine, timing only (same pass sequence)", tm.passes / tm.seconds / 1e6,
              (unsigned long)tm.passes, tm.seconds);

  struct {
    ArrayShape a;
    uint32_t m;
    int passes;
    xpu::DType t;
    const char* name;
  } pe_cases[] = {
      {{256, 256}, 256, 24, xpu::DType::bf16, "(d) PE engine 256x256 bf16, 24 passes m=256"},
      {{256, 256}, 256, 24, xpu::DType::int8, "(d) PE engine 256x256 int8, 24 passes m=256"},
      {{32, 32}, 32, 12000, xpu::DType::bf16, "(d) PE engine 32x32 bf16, 12000 passes m=32"},
      {{32, 32}, 32, 12000, xpu::DType::int8, "(d) PE engine 32x32 int8, 12000 passes m=32"},
  };
  for (const auto& c : pe_cases) {
    PeRun best;
    for (int rep = 0; rep < 3; ++rep) {
      const PeRun r = pe_run(c.a, c.m, c.passes, c.t);
      if (rep == 0 || r.seconds < best.seconds) best = r;
    }
    std::printf("%-58s %11.3f G PE-updates/s (best of 3, %.2f s)\n", c.name,
                best.updates / best.seconds / 1e9, best.seconds);
  }
  return 0;
}
