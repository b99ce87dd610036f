#pragma once
// 2:4 structured-sparse GEMM on Ampere's mma.sp (fp16/bf16: m16n8k32,
// int8: m16n8k64; models/gpu/mma_ampere_mma_sync.h), as cuSPARSELt and
// CUTLASS's sparse kernels run pruned weights.
//
// C[M,N] = X[M,K] x W[K,N] with W the weights: each column of W is pruned
// to 2:4 along K (prune_2_4: in every aligned group of 4 consecutive k the
// two largest magnitudes are kept, ties to the lower k, NaN counting as the
// largest; K zero-padded to the kernel's tile first). mma.sp takes its
// sparse operand as A, so the kernel computes the transposed product
// C^T = W^T X^T: the mma's A is the compressed weights (N x K/2, the kept
// values of each group in k order: the dense m16n8k16 / m16n8k32 A layout),
// its B is X's rows (K-major: ldmatrix.x4 without transposition), and the
// accumulator fragment's rows are output channels, its columns pixels,
// stored to C (M x N row-major) one 32-bit word each.
//
// Metadata: per lane one 32-bit register per mma.sp, bits 2e..2e+1 the
// position in its group of 4 of the lane's A element e (the model's
// per-lane form). Device layout, for the kernel's CTA column bx (bn
// channels), mma k step ks and 16-channel block b of the tile:
//   meta + ((bx KS + ks) (bn / 16) + b) 128 + 4 lane,   KS = kp / K_mma,
// so one K tile's metadata of one CTA is one contiguous run, copied by
// cp.async with the tiles.
//
// Kernel: CTA tile 64 pixels x bn channels (bn = 128, or 64 for N <= 64),
// 4 warps of 32 pixels x bn / 2 channels, K tiles of two mma k steps
// (128 bytes of X per row), a 3-4 stage cp.async ring (sm80_mainloop.h's
// scheme: wait_group, barrier, copies of tile t + S - 1 under tile t's
// mmas), fragments of the next k step loaded under this one's mma.sp. One
// mma.sp does the MACs of the dense m16n8k16 (k32 int8) in its issue
// interval, over twice the K: twice the dense math rate. fp32 (int32)
// accumulation only; the fused bias (+ residual, convolutions) + activation
// applies per channel.
//
// Values: per output element the kept products in k order, summed in groups
// of the shape's dot group (8) as the dense mma.sync does over its K:
// reference_gemm_sparse.
#include <cstdint>
#include <vector>

#include "models/gpu/global_memory.h"
#include "models/gpu/gpu_config.h"
#include "sim/lowering/gpu/gemm_tc.h"

namespace xpu::lowering::gpu {

class ATileSource;

// Throws GpuLoweringError (naming `name` and the config) unless the config
// has Ampere's sparse tensor path for `in` with `acc` (fp32/int32 accumulation).
void check_sparse_path(const xpu::gpu::GpuConfig& cfg, DType in, xpu::gpu::AccType acc, const std::string& name);
// The sparse kernel's tile for an M x N problem.
GemmTiling choose_tiling_sparse(const xpu::gpu::GpuConfig& cfg, uint64_t m, uint64_t n, DType in);
// Fills the sparse fields of `L` (b: compressed weights, meta) for tiling t;
// L.mp/np/kp/in_bytes/out_bytes must be set; `next` is the first free byte
// address; returns the next free address after them.
uint64_t plan_sparse_layout(GpuGemmLayout& L, const GemmTiling& t, DType in, uint64_t next);
// Builds the kernel (X's chunks from `x`, sm80_mainloop.h's ATileSource
// copy_async) and its launch bases for a grid of grid_m x grid_n CTAs
// (row-major: CTA c is tile row c / grid_n, column c % grid_n). `x_base(by)`
// gives buffer A's base of tile row by. `res`: the residual's address
// (fp32 in C's layout and pitch) when ep.residual.
void build_sparse_launch(const xpu::gpu::GpuConfig& cfg, const std::string& name, DType in, xpu::gpu::AccType acc,
                         const GemmTiling& t, const GpuGemmLayout& L, const TcEpilogue& ep, ATileSource& x,
                         uint64_t x_row_bytes, xpu::gpu::Kernel& kernel, xpu::gpu::Launch& launch,
                         GemmTiling& chosen, uint64_t res = 0);
// The GEMM (spec.sparse): X = spec's A, W = spec's B.
void lower_gemm_sm80_sparse(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan,
                            const TcEpilogue& ep = {});

// 2:4 pruning of b (k x n row-major raw values of `in`, rows >= k read as
// zero up to kp): for column j and kept slot s < kp / 2, the dense row
// kidx[j kp/2 + s] and the value (raw, dtype_bytes each) wc[(j kp/2 + s)].
struct Pruned {
  uint64_t kc = 0;              // kept per column: kp / 2
  std::vector<uint32_t> kidx;   // n x kc
  std::vector<uint8_t> values;  // n x kc raw values
};
Pruned prune_2_4(DType in, uint64_t k, uint64_t n, uint64_t kp, const uint8_t* b);
// The dense k x n matrix with the pruned weights zeroed (what the sparse GEMM computes with).
std::vector<uint8_t> pruned_dense(DType in, uint64_t k, uint64_t n, const Pruned& p);
// Writes the compressed weights and the metadata of b (k x n) into a sparse layout.
void stage_sparse_b(const GpuGemmLayout& l, uint64_t k, uint64_t n, const uint8_t* b, xpu::gpu::GlobalMemory& mem,
                    uint64_t off = 0);
// The reference: a (m x k), b (k x n) dense raw values, pruned as above.
std::vector<uint32_t> reference_gemm_sparse(DType in, xpu::gpu::AccType acc, uint64_t m, uint64_t n, uint64_t k,
                                            uint64_t kp, const uint8_t* a, const uint8_t* b, uint32_t group);

}  // namespace xpu::lowering::gpu
