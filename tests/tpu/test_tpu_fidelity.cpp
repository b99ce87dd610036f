// PE-level vs tile-level array through the whole TPU: the same program gives
// identical total cycles, identical counters (every unit's busy/stall/byte
// counts) and identical output bits. Timing fidelity gives the same counters.
#include <catch2/catch.hpp>

#include "tests/tpu/gemm_builder.h"
#include "tests/tpu/tpu_test_util.h"

using namespace xpu;
using namespace xpu::tpu;
using namespace xpu::tpu::test;

namespace {

struct Outcome {
  RunResult result;
  std::vector<uint8_t> host;
};

// Runs `p` at `f` starting at a multiple of 4 cycles, with the output
// regions of host memory overwritten first so that stale data cannot pass.
Outcome run_at(Tpu& tpu, const Program& p, Fidelity f, const std::vector<std::pair<uint64_t, size_t>>& outputs,
               size_t host_bytes) {
  tpu.set_fidelity(f);
  align_start(tpu, 4);
  for (const auto& o : outputs) {
    const std::vector<uint8_t> junk(o.second, 0xAB);
    tpu.host().write(o.first, junk.data(), junk.size());
  }
  Outcome out;
  out.result = tpu.run(p);
  out.host = tpu.host().read(0, host_bytes);
  return out;
}

void check_same_counters(const RunResult& a, const RunResult& b) {
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

Outcome compare_fidelities(Tpu& tpu, const Program& p, const std::vector<std::pair<uint64_t, size_t>>& outputs,
                        size_t host_bytes) {
  const Outcome tile = run_at(tpu, p, Fidelity::tile, outputs, host_bytes);
  const Outcome pe = run_at(tpu, p, Fidelity::pe, outputs, host_bytes);
  const Outcome timing = run_at(tpu, p, Fidelity::timing, outputs, host_bytes);
  INFO("program " << p.name << ": " << tile.result.cycles << " cycles");
  check_same_counters(tile.result, pe.result);
  check_same_counters(tile.result, timing.result);
  CHECK(tile.host == pe.host);
  // The program really produced something (outputs are not the junk pattern).
  for (const auto& o : outputs) {
    size_t junk = 0;
    for (size_t i = 0; i < o.second; ++i) junk += tile.host[o.first + i] == 0xAB;
    CHECK(junk < o.second / 4);
  }
  return tile;
}

}  // namespace

TEST_CASE("tpu fidelity: pe vs tile on a multi-layer mixed-precision program", "[tpu][fidelity]") {
  Tpu tpu(load("tpu_small"));
  // Layer 1: int8 GEMM 16 x 16 x 16 (4 tiles), int32 results to host 0x1000.
  Gemm g1;
  g1.M = 16;
  g1.K = 16;
  g1.N = 16;
  g1.host_a = 0;
  g1.host_c = 0x1000;
  fill_random(g1, 11);
  build_program(g1, tpu, 0, 1024, 0, false);
  // Layer 2: a 16 x 16 x 8 int8 GEMM whose first K half re-reads layer 1's
  // input but writes accumulator rows 0..15 (WAR against layer 1's activate
  // of those rows: stall.accumulators) and whose second half reads X, the
  // relu'd, requantized int8 layer-1 columns 8..15 (RAW through the UB:
  // stall.activations); then sync.
  std::vector<uint8_t> w2(128);
  std::mt19937 rng(5);
  for (auto& b : w2) b = uint8_t(rng());
  tpu.weights().write(0x1000, w2.data(), w2.size());
  const char* layer2 = R"(
    read_weights weights=0x1000 k=8 n=8 dtype=int8
    matmul ub=0 stride=16 acc=0 rows=16 k=8 n=8 dtype=int8 accumulate=0
    activate acc=16 rows=16 n=8 ub=2048 stride=8 fn=relu out_dtype=int8 scale=0.001
    read_weights weights=0x1040 k=8 n=8 dtype=int8
    matmul ub=2048 stride=8 acc=0 rows=16 k=8 n=8 dtype=int8 accumulate=1
    activate acc=0 rows=16 n=8 ub=2560 stride=32 out_dtype=int32
    write_host_memory ub=2560 host=0x2000 bytes=512
    sync
  )";
  // Layer 3 and 4: bf16 (step 2) and fp16 GEMMs: precision changes drain the array.
  Gemm g3;
  g3.M = 8;
  g3.K = 16;
  g3.N = 12;
  g3.dtype = DType::bf16;
  g3.host_a = 0x3000;
  g3.host_c = 0x4000;
  g3.weight_base = 0x2000;
  fill_random(g3, 12);
  build_program(g3, tpu, 4096, 5120, 32, false);
  Gemm g4;
  g4.M = 8;
  g4.K = 12;
  g4.N = 8;
  g4.dtype = DType::fp16;
  g4.host_a = 0x5000;
  g4.host_c = 0x6000;
  g4.weight_base = 0x3000;
  fill_random(g4, 13);
  build_program(g4, tpu, 6144, 7168, 48, true);

  Program p;
  p.name = "mixed";
  p.code = g1.program.code;
  for (const auto& in : parse_assembly(layer2).code) p.code.push_back(in);
  p.code.insert(p.code.end(), g3.program.code.begin(), g3.program.code.end());
  p.code.insert(p.code.end(), g4.program.code.begin(), g4.program.code.end());

  const std::vector<std::pair<uint64_t, size_t>> outputs = {{0x1000, 1024}, {0x2000, 512}, {0x4000, 384}, {0x6000, 256}};
  compare_fidelities(tpu, p, outputs, 0x7000);

  // The program exercises the stalls it was written for.
  tpu.set_fidelity(Fidelity::tile);
  align_start(tpu, 4);
  const RunResult r = tpu.run(p);
  CHECK(u(r, "tpu.mxu.stall.accumulators") > 0);
  CHECK(u(r, "tpu.mxu.stall.activations") > 0);
  CHECK(u(r, "tpu.mxu.stall.drain") > 0);
  CHECK(u(r, "tpu.mxu.mac.int8") == 16ull * 16 * 16 + 16ull * 16 * 8);
  CHECK(u(r, "tpu.mxu.mac.bf16") == 8ull * 16 * 12);
  CHECK(u(r, "tpu.mxu.mac.fp16") == 8ull * 12 * 8);
  // Every MXU cycle is accounted for exactly once.
  CHECK(u(r, "tpu.mxu.busy_cycles") + u(r, "tpu.mxu.idle_cycles") + u(r, "tpu.mxu.stall.weights_dram") +
            u(r, "tpu.mxu.stall.weights_shift") + u(r, "tpu.mxu.stall.activations") +
            u(r, "tpu.mxu.stall.accumulators") + u(r, "tpu.mxu.stall.drain") ==
        r.cycles);
  // Results of layer 1 are the reference GEMM.
  compute_reference(g1, 8);
  std::vector<uint32_t> c1(256);
  tpu.host().read(0x1000, c1.data(), 1024);
  CHECK(c1 == g1.C);
}

TEST_CASE("tpu fidelity: pe vs tile across GEMM shapes on a non-square array", "[tpu][fidelity]") {
  // 16 x 8 array (R != C catches transposed indices); bf16 step = max(2, 32 B / 16 B) = 2.
  Tpu tpu(load("tpu_small", {"mxu.rows=16", "mxu.cols=8"}));
  struct Shape {
    uint32_t M, K, N;
    DType t;
  };
  const Shape shapes[] = {{1, 1, 1, DType::int8},   {3, 5, 7, DType::int8},     {16, 16, 8, DType::int8},
                          {20, 40, 20, DType::int8}, {9, 17, 10, DType::bf16},  {33, 8, 3, DType::fp16},
                          {5, 33, 9, DType::bf16}};
  int i = 0;
  for (const Shape& s : shapes) {
    Gemm g;
    g.M = s.M;
    g.K = s.K;
    g.N = s.N;
    g.dtype = s.t;
    g.host_a = 0;
    g.host_c = 0x8000;
    fill_random(g, 100 + i);
    compute_reference(g, tpu.config().mxu.rows);
    build_program(g, tpu, 0, 16384, 0);
    g.program.name = "shape" + std::to_string(i++);
    INFO(g.program.name << " " << s.M << "x" << s.K << "x" << s.N << " " << dtype_name(s.t));
    const Outcome tile =
        compare_fidelities(tpu, g.program, {{0x8000, size_t(g.M) * g.N * 4}}, 0x8000 + size_t(g.M) * g.N * 4);
    std::vector<uint32_t> c(size_t(g.M) * g.N);
    std::memcpy(c.data(), tile.host.data() + 0x8000, c.size() * 4);
    CHECK(c == g.C);
  }
}
