#pragma once
// The tensor-core main loop shared by the GEMM (gemm_tc.h) and the
// implicit-GEMM convolution (conv_implicit.h): CTA tile, double-buffered
// shared memory, warp tiles of wmma accumulators, B tiles from a row-major
// K x N matrix, the fused epilogue and the store of C. Only where the A tile
// comes from differs, which an ATileSource emits.
//
// A-tile chunks: a K tile of A is bm rows of bk elements, moved as 16-byte
// chunks; a thread owns chunks tid + i threads (i < per_thread), all in the
// same 16-byte column of the tile (threads is a multiple of the chunks per row).
#include <cstdint>
#include <string>
#include <vector>

#include "models/gpu/isa.h"
#include "models/gpu/kernel_builder.h"
#include "sim/lowering/gpu/gemm_tc.h"

namespace xpu::lowering::gpu {

constexpr uint8_t kTcBufA = 0, kTcBufB = 1, kTcBufC = 2, kTcBufBias = 3, kTcBufRes = 4;

class ATileSource {
 public:
  virtual ~ATileSource() = default;
  // Registers for `per_thread` chunks (called where the GEMM allocated its A pointers).
  virtual void alloc(xpu::gpu::KernelBuilder& kb, uint32_t per_thread) = 0;
  // A register free during the per-thread setup (before chunk(i) runs).
  virtual uint8_t setup_scratch(uint32_t i) const = 0;
  // Once, after %tid is in `tid`, before the chunks.
  virtual void begin(xpu::gpu::KernelBuilder& kb, uint8_t tid) {
    (void)kb;
    (void)tid;
  }
  // Chunk i's tile row is in register `row`, its byte column in `col` (read only).
  virtual void chunk(xpu::gpu::KernelBuilder& kb, uint32_t i, uint8_t row, uint8_t col) = 0;
  // LDG.128s of the current K tile's chunks into st + 4 i.
  virtual void load(xpu::gpu::KernelBuilder& kb, uint8_t st) = 0;
  // Before the STS.128s of the chunks at st + 4 i (narrow_pack's place).
  virtual void pack(xpu::gpu::KernelBuilder& kb, uint8_t st) {
    (void)kb;
    (void)st;
  }
  // Moves to the next K tile (emitted after the B tile's loads).
  virtual void advance(xpu::gpu::KernelBuilder& kb) = 0;
  // cp.async kernels (sm80_mainloop.h): the current K tile's chunk i
  // straight into shared memory at R[dst], zeros where load() would write
  // zeros (from `zero`, 4 registers holding 0). The default throws: a
  // source without it runs on the double-buffered kernel only.
  virtual void copy_async(xpu::gpu::KernelBuilder& kb, uint32_t i, uint8_t dst, uint8_t zero);
  // True when copy_async needs the zero registers.
  virtual bool zero_fills() const { return false; }
};

struct TcKernelDesc {
  std::string name;
  DType in = DType::fp16;
  xpu::gpu::AccType acc = xpu::gpu::AccType::f32;
  GemmTiling t;
  uint64_t kp = 0;            // padded K: kp / bk K tiles
  uint64_t ldb = 0, ldc = 0;  // row pitches of B and C in bytes
  TcEpilogue ep;
  const xpu::gpu::MmaShape* mma = nullptr;  // the config's tensor-core shape (mma_shape.h)
  // The GEMM's rows when fewer than one CTA tile (a GEMV's 1), else 0. Then
  // only these rows of fp32 C are written: the warps put their fragments
  // into shared memory (free after the main loop's last barrier) and the
  // CTA copies the real rows out with STG.128s, instead of every warp
  // storing its padding rows too (15 of 16 rows of a GEMV's partial sums).
  uint32_t rows = 0;
  // The widest global access B's rows (loads) and C's rows (stores) allow:
  // 16, or 8, 4, 2 where the pitch is only that aligned (narrow_load).
  uint32_t b_width = 16, c_width = 16;
};

// Throws GpuLoweringError when the tiles do not divide over the threads or
// into the shape's warp tiles, or the epilogue is asked of a non-fp32
// accumulator or of a shape whose C layout it does not address.
xpu::gpu::Kernel build_tc_kernel(const TcKernelDesc& d, ATileSource& a);

// The fused epilogue and the store of C, shared with the sm80 kernel
// (gemm_sm80.h): registers of the bias values (run x fn, loaded by the
// caller: a lane's `run` consecutive columns per fragment column j at
// bias + run j), C's row pointer and scratch; `res`: first registers of
// accumulator-fragment slots for the residual (ep.residual: buffer
// kTcBufRes, C's layout and pitch, addressed from C's row pointer): the
// residual fragments are loaded as many at a time as there are slots, so
// one L2 round trip serves several fragments.
struct TcEpilogueRegs {
  uint8_t bias = xpu::gpu::kRZ;
  uint32_t run = 0;
  uint8_t rC = xpu::gpu::kRZ, tmp = xpu::gpu::kRZ, tmp2 = xpu::gpu::kRZ, cnt = xpu::gpu::kRZ;
  uint8_t p = xpu::gpu::kPT;
  std::vector<uint8_t> res = {};
};
void emit_tc_epilogue(xpu::gpu::KernelBuilder& kb, const TcKernelDesc& d, const std::vector<xpu::gpu::Frag>& accs,
                      uint32_t fm, uint32_t fn, const TcEpilogueRegs& r);
// Columns per bias run of the shape's C layout (8: Volta's octets, col0 =
// 8 ((lane / 4) % 2); 2: Ampere, col0 = 2 (lane % 4)); 0: no bias epilogue.
uint32_t bias_run(const xpu::gpu::MmaShape& mma, DType in);
// Residual slots (TcEpilogueRegs::res): C-fragment-sized (`need`
// registers) pieces of the consecutive registers at the start of each run
// of fragments (A and B fragments, free after the main loop). Throws
// GpuLoweringError when there are none.
std::vector<uint8_t> residual_slots(const TcKernelDesc& d, uint32_t need,
                                    const std::vector<std::vector<xpu::gpu::Frag>>& runs);
// The widest access (16, 8, 4, 2 bytes) rows `pitch` bytes apart allow.
uint32_t row_access_width(uint64_t pitch);
// One 16-byte chunk of a row as loads of `width` bytes (16 / width of
// them, LDG.128 when 16) from (buf base +) R[addr] into its 4 staging
// registers at st. 2-byte loads fill the low halves: the even elements go
// to st .. st + 3, the odd ones to hi .. hi + 3 (4 more registers), and
// narrow_pack merges them (one IMAD per register, as a PRMT would) before
// the chunk's STS.128; for other widths narrow_pack emits nothing.
void narrow_load(xpu::gpu::KernelBuilder& kb, uint8_t buf, uint8_t addr, uint8_t st, uint32_t width, uint8_t hi);
void narrow_pack(xpu::gpu::KernelBuilder& kb, uint8_t st, uint32_t width, uint8_t hi);
uint32_t tc_threads(const GemmTiling& t);
uint32_t tc_shared_bytes(const GemmTiling& t, DType in);

}  // namespace xpu::lowering::gpu
