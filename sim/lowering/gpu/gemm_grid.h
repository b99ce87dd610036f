#pragma once
// The device layout and the launches of a tiled tensor-core GEMM, shared by
// both kernel families (the double-buffered kernel of gemm_tc.h and the sm80
// multistage kernel of gemm_sm80.h): padded A, B (row-major K x N, or
// K-major N x K where the shape wants it), C, bias and the split-K
// partials; the first pass's per-CTA buffer bases in the grouped raster
// (gemm_select.h), split-major; under split-K the reduction kernel
// (splitk_reduce.h) and its launch.
#include <cstdint>
#include <utility>

#include "sim/lowering/gpu/gemm_tc.h"

namespace xpu::lowering::gpu {

// The row pitch in bytes for padded rows of `row` bytes (a multiple of 16)
// whose caller's leading dimension is ld elements of e bytes (0: none): the
// padded row plus (ld bytes mod 16), so rows keep the caller's alignment.
inline uint64_t pitch_of(uint64_t row, uint64_t ld, uint32_t e) { return row + ld * e % 16; }
// Fills `L` for tiling t (pitches by spec.lda/ldb/ldc, pitch_of) (t.split_k included: kp = split_k slices of
// split_slice(k, t)). `b_k_major`: B stored N x K; `dot_group`: the shape's
// products per accumulator add.
void plan_gemm_layout(const GpuGemmSpec& spec, const GemmTiling& t, const TcEpilogue& ep, bool b_k_major,
                      uint32_t dot_group, GpuGemmLayout& L);
// Row pitch, in bytes, of what the first pass writes: the fp32 partials
// under split-K, else C.
uint64_t first_pass_ldc(const GpuGemmLayout& L, const GemmTiling& t);
// Tile i of the first pass in the grouped raster of g tile rows (column by
// column inside a group; g = 1: row-major): (tile row, tile column).
std::pair<uint64_t, uint64_t> raster_tile(uint64_t i, uint64_t grid_m, uint64_t grid_n, uint64_t g);
// With plan.kernel, plan.tiling and plan.layout set: the first pass's
// launch (threads from the tiling, `shared_bytes` per CTA) and, under
// split-K, the reduction kernel and launch, which applies `ep`.
void build_gemm_launches(const GpuGemmSpec& spec, const TcEpilogue& ep, uint32_t shared_bytes, GpuGemmPlan& plan);

}  // namespace xpu::lowering::gpu
