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
// its 24 MiB unified buffer); no DMA is issued.
enum class GemmIo { host, resident };
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
  uint64_t host_a = 0;         // host io: A, row-major M x K, dtype
  uint64_t host_c = 0;         // host io: C, row-major M x N, out_dtype
  uint64_t ub_a = 0;           // resident io: A in the unified buffer
  uint64_t ub_c = 0;           // resident io: C in the unified buffer
  uint64_t host_bytes = 0;     // host memory used
  uint64_t ub_bytes = 0;       // unified buffer used (resident: A and C; host: the block buffers)
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

// The weight DRAM image of B (row-major K x N, dtype) in the plan's tile
// layout.
std::vector<uint8_t> pack_weights(const tpu::TpuConfig& cfg, const GemmSpec& spec,
                                  const TpuGemmLayout& layout, const uint8_t* b);

}  // namespace xpu::lowering
