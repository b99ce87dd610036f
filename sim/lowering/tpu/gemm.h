#pragma once
// Lowering of C[M,N] = act(A[M,K] x B[K,N]) to a TPU program.
//
// Tiling (all sizes from the TpuConfig, nothing fixed):
// - K is cut into chunks of mxu.rows, N into tiles of mxu.cols; one weight
//   tile per (K chunk, N tile), fetched from weight DRAM into the FIFO.
// - M is cut into blocks that fit half the accumulators when they are double
//   buffered (consecutive N tiles alternate halves, so the activation unit
//   drains one half while the MXU fills the other) and whose input and output
//   rows fit the unified buffer, two blocks deep when there is more than one
//   (the DMA of block i+1 overlaps the compute of block i).
// - Per N tile, the K chunks accumulate into the same accumulator rows; the
//   activation unit then writes that tile's columns of the output block.
// - Output-stationary arrays with K > rows: the K chunks of a block instead
//   form one dot product in the PEs (matmuls keep/continue their partial
//   sums, isa.h) and drain once, so an M block is at most one fold of rows
//   vectors and its weight tiles are fetched again for every block (the
//   operands stream; only the outputs are stationary).
// - Input-stationary arrays without fold overlap (mxu.fold_overlap false):
//   per M block, each input tile of at most cols rows and one K chunk stays
//   in the PEs for every N tile before the next is loaded (is_input_major).
// With resident io, all of A and C must fit the unified buffer at once.
// Streamed io (A and C in host memory, which is HBM or the CMEM behind the
// DMA engines): M blocks as long as the accumulators allow, and only K
// slabs of A in the unified buffer: per (M block, N tile, K chunk) the DMA
// engine brings that block's K chunk of A (block rows x mxu.rows elements)
// into one of three slab buffers, two slabs ahead of the matmul that reads
// it, so A is read again for every N tile; each N tile's C goes out as soon
// as it is activated (two tile buffers). Each output still sums its K
// chunks in order in the accumulators, so the values are those of host io.
// Host memory holds A and C blocked (blocked_offset) so that each slab and
// each C tile is one contiguous transfer.
// A shape that cannot be tiled (one input row larger than half the unified
// buffer, a dtype the MXU lacks) is a LoweringError, never a truncation.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/tpu/isa.h"
#include "models/tpu/program_source.h"
#include "models/tpu/tpu_config.h"
#include "sim/lowering/lowering_error.h"
#include "sim/numerics/mac.h"

namespace xpu::lowering {

// Where a layer's operands live. host: A comes from host memory by DMA and C
// goes back (a standalone GEMM, or a layer whose tensors do not stay on chip).
// resident: A is already in the unified buffer and C stays there, as between
// the layers of a network whose activations fit on chip (TPU v1 keeps them in
// its 24 MiB unified buffer); no DMA is issued. streamed: A and C in host
// memory, A brought in by K slabs for every N tile (above).
enum class GemmIo { host, resident, streamed };
const char* gemm_io_name(GemmIo io);

struct GemmSpec {
  std::string name = "gemm";
  uint64_t m = 0, n = 0, k = 0;
  DType dtype = DType::int8;        // A and B
  DType out_dtype = DType::int32;   // C: int32/fp32 keep the raw accumulators
  tpu::ActFn fn = tpu::ActFn::none;
  float scale = 1.0f;               // int8 output requantization
  GemmIo io = GemmIo::host;
};

// Where everything lives, so a runner can stage inputs and read results.
struct TpuGemmLayout {
  GemmIo io = GemmIo::host;
  uint64_t host_a = 0;         // host io: A, row-major M x K, dtype (streamed: blocked)
  uint64_t host_c = 0;         // host io: C, row-major M x N, out_dtype (streamed: blocked)
  uint64_t ub_a = 0;           // resident io: A in the unified buffer
  uint64_t ub_c = 0;           // resident io: C in the unified buffer
  uint64_t host_bytes = 0;     // host memory used
  uint64_t ub_bytes = 0;       // unified buffer used (resident: A and C; host: the block buffers;
                               // streamed: the slab and C tile buffers)
  uint64_t weight_bytes = 0;   // weight DRAM used
  uint64_t m_block = 0;        // rows per M block
  uint64_t m_blocks = 0, k_chunks = 0, n_tiles = 0;
  uint64_t weight_tiles = 0;   // tiles fetched (k_chunks * n_tiles per M block)
  // Weight DRAM address of tile (k chunk, n tile); tiles are dense row-major.
  std::vector<uint64_t> tile_addr;  // index kc * n_tiles + nt
};

// The GEMM's program generated as it is fetched: instruction j of M block b
// is a function of (b, j), so nothing grows with the GEMM's size.
// TpuGemmPlan::program.code is this sequence drained (lower_gemm), so the
// two are the same instructions by construction.
struct GemmProgramShape;
class GemmStream final : public tpu::ProgramSource {
 public:
  explicit GemmStream(std::shared_ptr<const GemmProgramShape> shape);
  const std::string& name() const override;
  size_t fetch(tpu::Instruction* out, size_t max) override;

 private:
  std::shared_ptr<const GemmProgramShape> s_;
  uint64_t block_ = 0, pos_ = 0;  // next instruction: position pos_ of M block block_
  bool done_ = false;
};

struct TpuGemmPlan {
  tpu::Program program;  // empty code when lowered without materializing
  TpuGemmLayout layout;
  std::shared_ptr<const GemmProgramShape> shape;
  uint64_t instructions = 0;  // the program's length
  // A fresh stream of the program (any number, each from the start).
  std::unique_ptr<GemmStream> stream() const { return std::make_unique<GemmStream>(shape); }
};

// materialize = false: program.code stays empty (its name is set); the
// program is run from stream().
TpuGemmPlan lower_gemm(const tpu::TpuConfig& cfg, const GemmSpec& spec, bool materialize = true);

// Whether a GEMM with this K keeps its partial sums in the PEs across K
// chunks (output-stationary, K > rows): M blocks are then at most rows.
bool os_whole_k(const tpu::MxuConfig& mxu, uint64_t k);
// Whether IS passes run input tile by input tile (above).
bool is_input_major(const tpu::MxuConfig& mxu);
// The K chunk of the reference accumulation order (ref_gemm_f16's k_chunk):
// rows, or the whole K where the partial sums stay in the PEs.
inline uint64_t reference_k_chunk(const tpu::MxuConfig& mxu, uint64_t k) {
  return os_whole_k(mxu, k) ? k : mxu.rows;
}
// The accumulate / keep / continue flags of the matmul for K chunk kc.
void set_k_chunk_flags(tpu::Instruction& mm, const tpu::MxuConfig& mxu, uint64_t k, uint64_t kc);
// Whether A and C fit the unified buffer together (resident io is possible).
bool fits_resident(const tpu::TpuConfig& cfg, const GemmSpec& spec);
// Rows per M block with host io (0: not even one row fits) and with
// streamed io (0: streamed io does not apply to this dataflow, or not even
// one row's slabs fit).
uint64_t host_block_rows(const tpu::TpuConfig& cfg, const GemmSpec& spec);
uint64_t streamed_block_rows(const tpu::TpuConfig& cfg, const GemmSpec& spec);
// Whether a host-io GEMM is better streamed: the DMA engines reach HBM
// (host.path dram: A can be read again for every N tile at memory
// bandwidth, not over a host link as TPU v1's), the host-io blocks are
// shorter than the rows + cols - 1 vectors a pass needs to hide the next
// weight tile's switch (mxu_array.h) and streaming makes them longer.
bool prefer_streamed(const tpu::TpuConfig& cfg, const GemmSpec& spec);

// Element offset of (i, j) in a rows x cols matrix stored in row blocks of
// block_rows rows (the last shorter), each block chunk by chunk of
// chunk_cols columns (the last narrower), each chunk row-major: streamed
// io's host layout of A (chunks of mxu.rows) and C (chunks of mxu.cols).
uint64_t blocked_offset(uint64_t i, uint64_t j, uint64_t rows, uint64_t cols, uint64_t block_rows,
                        uint64_t chunk_cols);
// A row-major matrix of `elem` bytes per element in that layout.
std::vector<uint8_t> to_blocked(const std::vector<uint8_t>& row_major, uint64_t rows, uint64_t cols, uint64_t elem,
                                uint64_t block_rows, uint64_t chunk_cols);

// The weight DRAM image of B (row-major K x N, dtype) in the plan's tile
// layout.
std::vector<uint8_t> pack_weights(const tpu::TpuConfig& cfg, const GemmSpec& spec,
                                  const TpuGemmLayout& layout, const uint8_t* b);

}  // namespace xpu::lowering
