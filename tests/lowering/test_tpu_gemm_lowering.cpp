// GEMM lowering to TPU programs: tiling, buffer placement and its errors.
#include <catch2/catch.hpp>

#include <algorithm>

#include "sim/config/tpu_config.h"
#include "sim/lowering/tpu/gemm.h"

using namespace xpu;
using lowering::GemmIo;
using lowering::GemmSpec;
using lowering::lower_gemm;
using lowering::LoweringError;
using tpu::Opcode;

namespace {
tpu::TpuConfig small() { return config::load_tpu_config(XPUSIM_SOURCE_DIR "/configs/accelerators/tpu_small.yaml"); }

GemmSpec spec(uint64_t m, uint64_t n, uint64_t k, DType t = DType::int8, GemmIo io = GemmIo::host) {
  GemmSpec s;
  s.m = m;
  s.n = n;
  s.k = k;
  s.dtype = t;
  s.out_dtype = t == DType::int8 ? DType::int32 : DType::fp32;
  s.io = io;
  return s;
}

size_t count(const tpu::Program& p, Opcode op) {
  return std::count_if(p.code.begin(), p.code.end(), [&](const tpu::Instruction& i) { return i.op == op; });
}
}  // namespace

TEST_CASE("K is cut by array rows, N by columns, M by half the accumulators", "[lowering]") {
  // tpu_small: 8x8 array, 64 accumulator rows double-buffered -> 32 rows per M block.
  // M=40, N=20, K=17: k chunks = ceil(17/8) = 3, n tiles = ceil(20/8) = 3,
  // M blocks = ceil(40/32) = 2, weight tiles = 2 x 3 x 3 = 18.
  auto plan = lower_gemm(small(), spec(40, 20, 17));
  const auto& L = plan.layout;
  CHECK(L.k_chunks == 3);
  CHECK(L.n_tiles == 3);
  CHECK(L.m_block == 32);
  CHECK(L.m_blocks == 2);
  CHECK(L.weight_tiles == 18);
  // Per block: 1 DMA in + 3 N tiles x (3 x (read_weights + matmul) + activate) + 1 DMA out = 23;
  // 2 blocks + halt = 47 instructions.
  CHECK(plan.program.code.size() == 47);
  CHECK(count(plan.program, Opcode::read_weights) == 18);
  CHECK(count(plan.program, Opcode::matmul) == 18);
  CHECK(count(plan.program, Opcode::activate) == 6);
  // Weight DRAM holds each tile once, densely: K x N x 1 byte = 17 x 20 = 340.
  CHECK(L.weight_bytes == 340);
}

TEST_CASE("matmuls accumulate over K chunks and N tiles alternate accumulator halves", "[lowering]") {
  auto plan = lower_gemm(small(), spec(16, 16, 16));
  std::vector<tpu::Instruction> mm;
  for (const auto& i : plan.program.code)
    if (i.op == Opcode::matmul) mm.push_back(i);
  REQUIRE(mm.size() == 4);  // 2 K chunks x 2 N tiles
  CHECK_FALSE(mm[0].accumulate);
  CHECK(mm[1].accumulate);
  CHECK(mm[0].acc_addr == 0);
  CHECK(mm[2].acc_addr == 32);  // second N tile: upper half of 64 rows
  CHECK(mm[1].ub_addr == mm[0].ub_addr + 8);  // next K chunk: 8 int8 columns further
  CHECK(mm[0].ub_stride == 16);               // one A row = K bytes
}

TEST_CASE("resident io issues no DMA and places A and C in the unified buffer", "[lowering]") {
  auto plan = lower_gemm(small(), spec(16, 16, 16, DType::bf16, GemmIo::resident));
  CHECK(count(plan.program, Opcode::read_host_memory) == 0);
  CHECK(count(plan.program, Opcode::write_host_memory) == 0);
  CHECK(plan.layout.ub_a == 0);
  CHECK(plan.layout.ub_c == 512);  // A = 16 x 16 x 2 bytes = 512, already 256-aligned
}

TEST_CASE("shapes that cannot run are errors that name the layer", "[lowering]") {
  auto cfg = small();
  // One int8 input row of 40000 bytes plus one int32 output row of 32 bytes,
  // double-buffered (M > 1 block row): 2 x 40032 > 64 KiB unified buffer.
  GemmSpec s = spec(2, 8, 40000);
  s.name = "fc_huge";
  CHECK_THROWS_WITH(lower_gemm(cfg, s), Catch::Contains("fc_huge") && Catch::Contains("unified buffer"));
  // Resident: A (300 x 200 bytes) + C (300 x 8 x 4) = 69600 > 65536.
  CHECK_THROWS_AS(lower_gemm(cfg, spec(300, 8, 200, DType::int8, GemmIo::resident)), LoweringError);
  CHECK_THROWS_WITH(lower_gemm(cfg, spec(0, 8, 8)), Catch::Contains("at least 1"));
  auto v2 = config::load_tpu_config(XPUSIM_SOURCE_DIR "/configs/accelerators/tpu_v2_like.yaml");
  CHECK_THROWS_WITH(lower_gemm(v2, spec(8, 8, 8, DType::int8)), Catch::Contains("no int8 mode"));
}
