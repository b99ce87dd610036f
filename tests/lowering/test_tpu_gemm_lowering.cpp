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

TEST_CASE("blocked layout: row blocks, each chunk by chunk of columns, each chunk row-major", "[lowering][stream]") {
  // 5 x 7 in blocks of 2 rows and chunks of 3 columns. Block 0 (rows 0-1):
  // chunk 0 (columns 0-2) at 0..5, chunk 1 (3-5) at 6..11, chunk 2 (column 6)
  // at 12..13; block 1 starts at 2 x 7 = 14; block 2 (row 4 alone) at 28.
  CHECK(lowering::blocked_offset(0, 0, 5, 7, 2, 3) == 0);
  CHECK(lowering::blocked_offset(1, 4, 5, 7, 2, 3) == 6 + 1 * 3 + 1);
  CHECK(lowering::blocked_offset(1, 6, 5, 7, 2, 3) == 12 + 1);
  CHECK(lowering::blocked_offset(2, 0, 5, 7, 2, 3) == 14);
  // Row 4, column 6: block 2 (1 row), chunk 2 (1 column): 28 + 2 x 3 x 1 = 34, the last.
  CHECK(lowering::blocked_offset(4, 6, 5, 7, 2, 3) == 34);
  // to_blocked is that permutation of the row-major bytes (2 bytes per element).
  std::vector<uint8_t> rm(5 * 7 * 2);
  for (size_t i = 0; i < rm.size(); ++i) rm[i] = uint8_t(i);
  const auto bl = lowering::to_blocked(rm, 5, 7, 2, 2, 3);
  for (uint64_t i = 0; i < 5; ++i)
    for (uint64_t j = 0; j < 7; ++j) {
      const uint64_t at = lowering::blocked_offset(i, j, 5, 7, 2, 3) * 2;
      CHECK(bl[at] == rm[(i * 7 + j) * 2]);
      CHECK(bl[at + 1] == rm[(i * 7 + j) * 2 + 1]);
    }
}

TEST_CASE("streamed io: a K slab of A per matmul, read two matmuls ahead, C out per N tile", "[lowering][stream]") {
  // tpu_small, 40 x 20 x 17 int8: k chunks 3 (8, 8, 1), n tiles 3 (8, 8, 4),
  // M blocks of the 32 accumulator rows: 2 (32, 8). Slabs: 2 x 3 x 3 = 18,
  // one DMA in, one weight fetch and one matmul each; 6 activates and 6
  // DMAs out (one per block and N tile); with halt 18 x 3 + 12 + 1 = 67.
  auto plan = lower_gemm(small(), spec(40, 20, 17, DType::int8, GemmIo::streamed));
  const auto& L = plan.layout;
  CHECK(L.m_block == 32);
  CHECK(L.m_blocks == 2);
  CHECK(plan.program.code.size() == 67);
  CHECK(count(plan.program, Opcode::read_host_memory) == 18);
  CHECK(count(plan.program, Opcode::write_host_memory) == 6);
  // Unified buffer: 3 slabs of 32 x 8 int8 and 2 C tiles of 32 x 8 int32: 768 + 2048.
  CHECK(L.ub_bytes == 3 * 256 + 2 * 1024);
  const auto& code = plan.program.code;
  // The first two slabs are read before anything else; slab 2's read comes
  // right before slab 0's weight fetch and matmul.
  REQUIRE(code[0].op == Opcode::read_host_memory);
  CHECK(code[0].host_addr == 0);
  CHECK(code[0].bytes == 32 * 8);  // block 0, K chunk 0
  CHECK(code[1].host_addr == 32 * 8);  // block 0, K chunk 1 (blocked: right after chunk 0)
  CHECK(code[2].op == Opcode::read_host_memory);
  CHECK(code[2].bytes == 32 * 1);  // block 0, K chunk 2: one column
  CHECK(code[2].ub_addr == 2 * 256);  // the third slab buffer
  CHECK(code[3].op == Opcode::read_weights);
  CHECK(code[4].op == Opcode::matmul);
  CHECK(code[4].ub_addr == 0);
  CHECK(code[4].ub_stride == 8);  // the slab is 32 rows of 8 bytes
  CHECK(code[4].rows == 32);
  // Slab 3 (block 0, N tile 1, K chunk 0: A is read again for each N tile)
  // goes into buffer 0, which matmul 0 read.
  CHECK(code[5].op == Opcode::read_host_memory);
  CHECK(code[5].host_addr == 0);
  CHECK(code[5].ub_addr == 0);
  // The second block's matmuls take its 8 rows; the accumulators see K in order.
  int kc = 0;
  for (const auto& in : code)
    if (in.op == Opcode::matmul) {
      CHECK(in.accumulate == (kc % 3 != 0));
      ++kc;
    }
  CHECK(kc == 18);
  // Streamed io is only lowered for weight-stationary arrays.
  tpu::TpuConfig os = small();
  os.mxu.dataflow = tpu::Dataflow::os;
  CHECK_THROWS_AS(lower_gemm(os, spec(40, 20, 17, DType::int8, GemmIo::streamed)), LoweringError);
}
