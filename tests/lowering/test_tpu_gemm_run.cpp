// Lowered GEMMs run on the TPU model: values bit-exact against the reference
// (accumulating K in chunks of the array's rows, as the array does), and the
// PE-level and tile-level fidelities giving the same cycles.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <random>

#include "models/tpu/tpu.h"
#include "sim/config/tpu_config.h"
#include "sim/check/compare.h"
#include "sim/check/gemm_data.h"
#include "sim/lowering/tpu/gemm.h"

using namespace xpu;
using lowering::GemmIo;

namespace {

struct Outcome {
  uint64_t cycles = 0;
  std::string verified;
};

Outcome run_gemm(tpu::Tpu& t, uint64_t m, uint64_t n, uint64_t k, DType dtype, GemmIo io, uint64_t seed) {
  lowering::GemmSpec s;
  s.m = m;
  s.n = n;
  s.k = k;
  s.dtype = dtype;
  s.out_dtype = dtype == DType::int8 ? DType::int32 : DType::fp32;
  s.io = io;
  const auto plan = lowering::lower_gemm(t.config(), s);
  const auto data = check::make_gemm_data(dtype, m, n, k, seed);
  if (io == GemmIo::resident)
    std::memcpy(t.unified_buffer().data() + plan.layout.ub_a, data.a.data(), data.a.size());
  else
    t.host().write(plan.layout.host_a, data.a.data(), data.a.size());
  const auto image = lowering::pack_weights(t.config(), s, plan.layout, data.b.data());
  t.weights().write(0, image.data(), image.size());
  const auto r = t.run(plan.program);
  std::vector<uint32_t> got(m * n);
  if (io == GemmIo::resident)
    std::memcpy(got.data(), t.unified_buffer().data() + plan.layout.ub_c, got.size() * 4);
  else
    t.host().read(plan.layout.host_c, got.data(), got.size() * 4);
  return {r.cycles, check::compare_bits(got, check::reference_gemm(data, t.config().mxu.rows), n).detail};
}

tpu::TpuConfig small() { return config::load_tpu_config(XPUSIM_SOURCE_DIR "/configs/accelerators/tpu_small.yaml"); }

}  // namespace

TEST_CASE("lowered GEMMs are bit-exact on 30 random shapes, every precision and io", "[lowering][tpu]") {
  tpu::Tpu t(small());
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> dim(1, 40);
  const DType types[] = {DType::int8, DType::bf16, DType::fp16};
  for (int i = 0; i < 30; ++i) {
    // Ragged on purpose: dimensions rarely multiples of the 8x8 array, M up to
    // 80 so that several 32-row accumulator blocks occur.
    const uint64_t m = dim(rng) * (i % 3 == 0 ? 2 : 1), n = dim(rng), k = dim(rng);
    const DType dtype = types[i % 3];
    const GemmIo io = i % 2 ? GemmIo::resident : GemmIo::host;
    INFO("m=" << m << " n=" << n << " k=" << k << " " << dtype_name(dtype) << " io=" << lowering::gemm_io_name(io));
    CHECK(run_gemm(t, m, n, k, dtype, io, 100 + i).verified == "bit-exact");
  }
}

TEST_CASE("PE-level and tile-level fidelity agree on lowered GEMMs", "[lowering][tpu]") {
  tpu::Tpu t(small());
  struct Shape { uint64_t m, n, k; DType t; };
  const Shape shapes[] = {{1, 1, 1, DType::int8},   {8, 8, 8, DType::int8},  {33, 17, 9, DType::int8},
                          {70, 24, 20, DType::bf16}, {5, 30, 3, DType::fp16}, {40, 8, 64, DType::bf16}};
  for (const auto& s : shapes) {
    INFO(s.m << "x" << s.n << "x" << s.k << " " << dtype_name(s.t));
    t.set_fidelity(tpu::Fidelity::tile);
    const auto tile = run_gemm(t, s.m, s.n, s.k, s.t, GemmIo::host, 9);
    t.set_fidelity(tpu::Fidelity::pe);
    const auto pe = run_gemm(t, s.m, s.n, s.k, s.t, GemmIo::host, 9);
    t.set_fidelity(tpu::Fidelity::timing);
    const auto timing = run_gemm(t, s.m, s.n, s.k, s.t, GemmIo::host, 9);
    CHECK(tile.verified == "bit-exact");
    CHECK(pe.verified == "bit-exact");
    CHECK(pe.cycles == tile.cycles);
    CHECK(timing.cycles == tile.cycles);
  }
}

TEST_CASE("1024^3 int8 on tpu_v1: cycles, TOPS and utilization from a hand derivation", "[lowering][tpu][golden]") {
  tpu::Tpu t(config::load_tpu_config(XPUSIM_SOURCE_DIR "/configs/accelerators/tpu_v1.yaml"));
  t.set_fidelity(tpu::Fidelity::timing);
  lowering::GemmSpec s;
  s.m = s.n = s.k = 1024;
  s.dtype = DType::int8;
  s.out_dtype = DType::int32;
  s.io = GemmIo::resident;  // A and C stay in the 24 MiB unified buffer: no PCIe traffic
  const auto plan = lowering::lower_gemm(t.config(), s);
  // 4 K chunks x 4 N tiles = 16 weight tiles of 256 x 256 int8 = 64 KiB each, one M block
  // (1024 rows <= 2048 = half the accumulators).
  REQUIRE(plan.layout.weight_tiles == 16);
  const auto r = t.run(plan.program);
  // Weight DRAM is the bottleneck: 34 GB/s at 700 MHz = 48.5714 B/cycle, so the
  // 16 x 65536 B = 1 MiB of weights stream in 21588.3 cycles, back to back, while
  // each tile's pass needs only 1024 cycles (1024 rows, one per cycle).
  // - the first read_weights issues after the 4-stage pipeline: cycle 3;
  // - the last tile is in the FIFO at 3 + 21588.3 + 70 (100 ns latency) = 21661.3 -> 21662;
  // - it shifts into the array in 256 cycles and latches: 21918;
  // - its pass: 1024 rows + 255 fill (rows - 1) + 255 skew (cols - 1) + 1 write = 1535 -> 23453;
  // - the last activate reads 1024 accumulator rows and writes int32 results:
  //   256 x 4 B = 1024 B per row through the 256 B/cycle UB write port = 4 cycles
  //   per row, plus 8 cycles of latency: 8 + 4096 = 4104 -> 27557.
  CHECK(r.cycles == 27557);
  CHECK(r.stats.get("tpu.dram.busy_cycles") == 21589);  // ceil(21588.3)
  CHECK(r.stats.get("tpu.mxu.busy_cycles") == 16 * 1024);
  // TOPS = 2 x 1024^3 ops / (27557 cycles / 700 MHz) = 2147483648 x 700e6 / 27557 = 54.55e12.
  const double tops = 2.0 * 1024 * 1024 * 1024 / (double(r.cycles) / 700e6) / 1e12;
  CHECK(tops == Approx(54.549).epsilon(1e-4));
  // Utilization = 1024^3 MACs / (65536 MACs/cycle x 27557 cycles) = 0.5946.
  const double util = r.stats.get("tpu.mxu.mac.int8") / (65536.0 * double(r.cycles));
  CHECK(util == Approx(0.59457).epsilon(1e-4));
}

TEST_CASE("PE and tile fidelity: identical cycles, every counter and bits on 60 ragged shapes", "[lowering][tpu]") {
  tpu::Tpu t(small());
  std::mt19937 rng(2026);
  const DType types[] = {DType::int8, DType::bf16, DType::fp16};
  // Ragged on purpose on the 8x8 array: K < rows, N < cols, M = 1, and sizes
  // that are not multiples of 8, several K chunks / N tiles / M blocks.
  std::vector<std::array<uint64_t, 3>> shapes = {{1, 1, 1}, {1, 8, 8}, {8, 1, 8}, {8, 8, 1}, {1, 5, 3},
                                                 {3, 7, 5}, {9, 9, 9}, {33, 2, 17}, {64, 16, 16}, {65, 8, 8}};
  std::uniform_int_distribution<int> dim(1, 30);
  while (shapes.size() < 60) shapes.push_back({uint64_t(dim(rng)), uint64_t(dim(rng)), uint64_t(dim(rng))});
  int i = 0;
  for (const auto& s : shapes) {
    const DType dtype = types[i % 3];
    const GemmIo io = (i / 3) % 2 ? GemmIo::resident : GemmIo::host;
    ++i;
    INFO(s[0] << "x" << s[1] << "x" << s[2] << " " << dtype_name(dtype) << " " << lowering::gemm_io_name(io));
    t.set_fidelity(tpu::Fidelity::tile);
    const auto before_tile = t.stats().snapshot();
    const auto tile = run_gemm(t, s[0], s[1], s[2], dtype, io, i);
    const auto tile_stats = t.stats().snapshot().minus(before_tile);
    t.set_fidelity(tpu::Fidelity::pe);
    const auto before_pe = t.stats().snapshot();
    const auto pe = run_gemm(t, s[0], s[1], s[2], dtype, io, i);
    const auto pe_stats = t.stats().snapshot().minus(before_pe);
    CHECK(tile.verified == "bit-exact");
    CHECK(pe.verified == "bit-exact");
    CHECK(pe.cycles == tile.cycles);
    // Every unit's busy, stall and traffic counter agrees.
    for (const auto& e : tile_stats.entries()) {
      if (e.derived) continue;
      INFO(e.path);
      CHECK(pe_stats.get(e.path, -1) == e.value);
    }
  }
}
