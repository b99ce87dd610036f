// Whole-TPU runs with dataflow os / is: identical total cycles, identical
// counters (every unit's busy/stall/byte counts) and identical output bits
// at PE and tile fidelity (timing fidelity: same counters), results equal
// the reference GEMM in the dataflow's accumulation order (k_chunk = rows),
// and every MXU cycle is accounted for exactly once.
#include <catch2/catch.hpp>

#include "tests/tpu/gemm_builder.h"
#include "tests/tpu/tpu_test_util.h"

using namespace xpu;
using namespace xpu::tpu;
using namespace xpu::tpu::test;

namespace {

struct Outcome {
  RunResult result;
  std::vector<uint32_t> c;
};

Outcome run_at(Tpu& tpu, Gemm& g, Fidelity f) {
  tpu.set_fidelity(f);
  align_start(tpu, 4);
  const std::vector<uint8_t> junk(size_t(g.M) * g.N * 4, 0xAB);
  tpu.host().write(g.host_c, junk.data(), junk.size());
  Outcome o;
  o.result = tpu.run(g.program);
  o.c = result_bits(tpu, g);
  return o;
}

void same_counters(const RunResult& a, const RunResult& b) {
  CHECK(a.cycles == b.cycles);
  size_t compared = 0;
  for (const auto& e : a.stats.entries()) {
    if (e.derived) continue;
    INFO(e.path);
    CHECK(e.value == b.stats.get(e.path, -1));
    ++compared;
  }
  CHECK(compared > 30);
}

void sweep(const char* df, const std::vector<std::string>& extra) {
  std::vector<std::string> ov = {std::string("mxu.dataflow=") + df, "mxu.rows=8", "mxu.cols=4"};
  ov.insert(ov.end(), extra.begin(), extra.end());
  Tpu tpu(load("tpu_small", ov));
  struct Shape {
    uint32_t M, K, N;
    DType t;
  };
  // 8 x 4 array (R != C): ragged M, K, N; K < rows; N < cols; M = 1; M over
  // several folds (OS folds 8 vectors, IS 4).
  const Shape shapes[] = {{1, 1, 1, DType::int8},   {1, 8, 4, DType::int8},   {3, 5, 3, DType::int8},
                          {9, 17, 10, DType::int8}, {20, 8, 4, DType::int8},  {13, 3, 9, DType::bf16},
                          {5, 19, 7, DType::fp16},  {17, 16, 5, DType::bf16}, {4, 40, 2, DType::int8}};
  int i = 0;
  for (const Shape& s : shapes) {
    Gemm g;
    g.M = s.M;
    g.K = s.K;
    g.N = s.N;
    g.dtype = s.t;
    g.host_a = 0;
    g.host_c = 0x8000;
    fill_random(g, 300 + i);
    compute_reference(g, tpu.config().mxu.rows);
    build_program(g, tpu, 0, 16384, 0);
    g.program.name = std::string(df) + "_shape" + std::to_string(i++);
    INFO(g.program.name << " " << s.M << "x" << s.K << "x" << s.N << " " << dtype_name(s.t));
    const Outcome tile = run_at(tpu, g, Fidelity::tile);
    const Outcome pe = run_at(tpu, g, Fidelity::pe);
    const Outcome timing = run_at(tpu, g, Fidelity::timing);
    same_counters(tile.result, pe.result);
    same_counters(tile.result, timing.result);
    CHECK(tile.c == g.C);
    CHECK(pe.c == g.C);
    const RunResult& r = tile.result;
    CHECK(u(r, "tpu.mxu.busy_cycles") + u(r, "tpu.mxu.idle_cycles") + u(r, "tpu.mxu.stall.weights_dram") +
              u(r, "tpu.mxu.stall.weights_shift") + u(r, "tpu.mxu.stall.activations") +
              u(r, "tpu.mxu.stall.accumulators") + u(r, "tpu.mxu.stall.drain") ==
          r.cycles);
    // One pass per fold: OS folds rows by mxu.rows (8), IS by mxu.cols (4).
    const uint32_t fold = std::string(df) == "os" ? 8 : 4;
    const uint64_t matmuls = uint64_t((s.K + 7) / 8) * ((s.N + 3) / 4);
    CHECK(u(r, "tpu.mxu.passes") == matmuls * ((s.M + fold - 1) / fold));
    const uint64_t macs = uint64_t(s.M) * s.K * s.N;
    CHECK(u(r, s.t == DType::int8 ? "tpu.mxu.mac.int8" : s.t == DType::bf16 ? "tpu.mxu.mac.bf16" : "tpu.mxu.mac.fp16") ==
          macs);
  }
}

}  // namespace

TEST_CASE("tpu output-stationary: pe vs tile vs timing, results = reference", "[tpu_dataflow][tpu][os]") {
  sweep("os", {});
}

TEST_CASE("tpu input-stationary: pe vs tile vs timing, results = reference", "[tpu_dataflow][tpu][is]") {
  sweep("is", {});
}

// One Tpu per test case (one SystemC elaboration per process).
TEST_CASE("tpu output-stationary without weight double buffering", "[tpu_dataflow][tpu][os][nodb]") {
  sweep("os", {"mxu.double_buffer_weights=false"});
}

TEST_CASE("tpu input-stationary without weight double buffering", "[tpu_dataflow][tpu][is][nodb]") {
  sweep("is", {"mxu.double_buffer_weights=false"});
}
