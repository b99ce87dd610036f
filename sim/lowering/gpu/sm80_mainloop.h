#pragma once
// The main loop of CUTLASS's sm80 multistage kernels, shared by the GEMM
// (gemm_sm80.h) and the implicit-GEMM convolution (conv_implicit.h) on the
// Ampere shape (tensor_core.mma: ampere_mma_sync):
//
// * a `stages`-deep (3-5) shared-memory ring filled by cp.async (global ->
//   shared without registers): the prologue issues stages - 1 K tiles, one
//   commit group each; iteration t waits until tile t has landed
//   (cp.async.wait_group stages - 2), passes a barrier (which also retires
//   the stage read in iteration t - 1), computes on tile t while issuing
//   tile t + stages - 1 into that stage (the copies spread between the mma
//   batches), and commits. The last stages - 1 iterations commit empty
//   groups so the wait count stays the same.
// * Where the A tile's 16-byte chunks come from is the ATileSource's
//   (tc_mainloop.h): rows of a row-major matrix, or the implicit im2col
//   gather whose out-of-image taps are predicated off and zero-filled.
// * B: a row-major K x N tile (16-bit types: ldmatrix.x2.trans), or for
//   int8 a K-major N x K tile (mma.b_k_major: ldmatrix.x2 moves 16-bit
//   elements and cannot transpose bytes, so int8 kernels read B "TN" as
//   CUTLASS's int8 kernels do).
// * Fragments from shared memory by ldmatrix (A: .x4), loaded one mma
//   batch ahead; rows padded by 16 bytes so every 8-row ldmatrix phase
//   touches 32 distinct banks.
// * The fused epilogue and the store of C are the double-buffered kernel's
//   (tc_mainloop.h).
#include <cstdint>
#include <functional>
#include <vector>

#include "models/gpu/gpu_config.h"
#include "sim/lowering/gpu/tc_mainloop.h"

namespace xpu::lowering::gpu {

// A row-major in memory (rows `lda` bytes apart), copied by cp.async 16
// bytes a chunk; each chunk's pointer steps `step` bytes per K tile.
class DenseAsyncA : public ATileSource {
 public:
  DenseAsyncA(uint64_t lda, uint32_t step) : lda_(lda), step_(step) {}
  void alloc(xpu::gpu::KernelBuilder& kb, uint32_t per_thread) override;
  uint8_t setup_scratch(uint32_t i) const override { return g_[i]; }
  void chunk(xpu::gpu::KernelBuilder& kb, uint32_t i, uint8_t row, uint8_t col) override;
  void load(xpu::gpu::KernelBuilder& kb, uint8_t st) override;
  void copy_async(xpu::gpu::KernelBuilder& kb, uint32_t i, uint8_t dst, uint8_t zero) override;
  void advance(xpu::gpu::KernelBuilder& kb) override;

 private:
  uint64_t lda_;
  uint32_t step_;
  std::vector<uint8_t> g_;
};

// Per-thread tile addressing of the cp.async kernels: chunk c = tid + i
// threads of a tile of per_row 16-byte chunks per row is row c / per_row,
// byte column 16 (c % per_row) (into `row` and `col`); its shared address
// s = row pitch + col + base.
void emit_chunk_row_col(xpu::gpu::KernelBuilder& kb, uint8_t tid, uint8_t row, uint8_t col, uint32_t i,
                        uint32_t threads, uint32_t per_row);
void emit_shared_at(xpu::gpu::KernelBuilder& kb, uint8_t s, uint8_t row, uint8_t col, uint32_t pitch, uint32_t base);
// The ring's control flow over `ktiles` K tiles in S stages: the prologue
// issues tiles 0 .. S-2 (issue_tile, one commit group each, empty past the
// last), next_tile() waits for tile 0 and loads its first fragments, a
// counted loop runs tile(copies = true, next = true) while tiles remain to
// be issued, then the S - 1 (or fewer) tail tiles without copies, the last
// without prefetching a next one.
void emit_ring(xpu::gpu::KernelBuilder& kb, uint64_t ktiles, uint32_t S, uint8_t cnt, uint8_t p,
               const std::function<void()>& issue_tile, const std::function<void()>& next_tile,
               const std::function<void(bool copies, bool next)>& tile);

// Bytes of one ring stage (A tile + B tile, padded rows).
uint32_t sm80_stage_bytes(const GemmTiling& t, DType in, bool b_k_major);
// The ring depth: `asked` (3..5) reduced while it exceeds the config's
// shared-memory carve-out (not below 3), then to the K tiles + 1 (not below 2).
uint32_t sm80_stages(const xpu::gpu::GpuConfig& cfg, const GemmTiling& t, DType in, bool b_k_major, uint64_t ktiles,
                     uint32_t asked);
// The kernel: d.ldb is B's row pitch in bytes (K-major B: one row per
// output column), d.kp / t.bk K tiles, `stages` from sm80_stages.
xpu::gpu::Kernel build_sm80_kernel(const TcKernelDesc& d, uint32_t stages, ATileSource& a);

}  // namespace xpu::lowering::gpu
