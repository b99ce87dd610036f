#pragma once
// Kernel selection for the tensor-core GEMM, as cuBLAS/CUTLASS heuristics
// pick without profiling: every candidate kernel of the config's tensor-core
// shape (a table per MmaKind; another architecture registers its own), each
// with every useful split-K factor, is costed by a small analytic model and
// the cheapest wins.
//
// Candidates on Volta (HMMA.884; CUTLASS's sm70 kernels stage tiles through
// registers with two shared-memory stages, as tc_mainloop.h does):
//   CTA tile   warp tile  warps   for
//   256 x 128  64 x 64    8       large M
//   128 x 256  64 x 64    8       large N
//   128 x 128  64 x 64    4       large GEMMs (2 CTAs per SM by registers)
//   128 x 64   64 x 32    4       medium
//   64 x 128   32 x 64    4       medium
//   64 x 64    32 x 32    4       small grids
//   64 x 32    32 x 16    4       tiny N
//   32 x 64    32 x 32    2       tiny M
//   16 x 128   16 x 64    2       M <= 16 (GEMV: M padded to one wmma row tile)
//   16 x 64    16 x 32    2       M <= 16
// all with K steps of 32, and the medium and small ones also with K steps
// of 64 (half the K steps: latency-bound skinny GEMMs wait once per step).
//
// The model (cycles; every rate from the config):
//   per_sm  = ceil(CTAs / SMs) CTAs on the busiest SM (round-robin dispatch),
//   conc    = min(per_sm, CTAs per SM by occupancy), rounds = ceil(per_sm / conc)
//   per K tile of conc resident CTAs on one SM:
//     t_mma  = (bk / 16) x max(warps on a sub-core x wmmas per warp x HMMA
//              cycles, one wmma's dependent latency)  (tensor cores)
//     t_smem = conc x (fragment loads + tile stores) / L1 bytes per cycle
//     t_mem  = max(latency, burst) + min(latency, burst) / (conc + 1):
//              the resident CTAs advance roughly in step and each has one
//              K tile in flight (the double buffer hides one tile), so
//              every K step's A and B tiles of all of them arrive as one
//              burst of burst = max(rho / DRAM bandwidth, 1 / L2
//              bandwidth) x its bytes: the L2 serves all of them while the
//              DRAM serves the share rho that misses (rho = DRAM bytes /
//              all CTAs' tile bytes), at once, a miss's bytes passing
//              through the L2 as they arrive; each CTA waits the
//              L2 + DRAM latency once per step, but the other resident
//              CTAs' transfers go on meanwhile, which hides all but
//              1 / (conc + 1) of the shorter of the two. latency = L2 +
//              DRAM latency (+ the far L2 partitions' extra latency for
//              their share of the lines), over the K tiles a CTA has in
//              flight: stages - 1 (a multistage cp.async ring keeps more
//              than one; the double buffer's 1 gives the above)
//     t_k    = max(max(t_mma, t_smem) + min(t_mma, t_smem) / conc, t_mem):
//              a warp issues its fragment loads and its HMMAs in turn and
//              the warps of a CTA do so in step between barriers, so only
//              other CTAs hide one CTA's load phase: all but 1 / conc of it
//              (the multistage kernels, stages > 2, load each mma batch's
//              fragments under the previous batch's mmas: max(t_mma, t_smem))
//   T_sm    = rounds x (K tiles x t_k + latency)           (+ prologue load)
//   T_l2    = CTAs x (bm + bn) x kslice x bytes / L2 bandwidth
//   T_dram  = (A + B + C + split-K partials) / sustained DRAM bandwidth
//   T       = max(T_sm, T_l2, T_dram) + reduction (split-K: the partials
//             of the M real rows read and C written at DRAM bandwidth, or
//             at L2 bandwidth when all partials fit in half the L2 (then
//             they are not DRAM traffic of the first pass either), one
//             latency, one kernel gap)
// Split-K factors 1..16 that leave every split at least one K tile (and the
// workspace within 32-bit offsets). Ties within 1 % go to the earlier
// candidate (larger tile, fewer splits: fewer bytes moved).
// CTA raster (group_m): CTAs run in groups of group_m tile rows, column by
// column inside a group, so concurrently resident CTAs share B panels (and
// A panels) in L2; group_m = as many A panels (bm x K) as fit in half the L2,
// 1..8 (CUTLASS's and Triton's grouped rasters use up to 8).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/gpu/gpu_config.h"
#include "sim/lowering/gpu/gemm_tc.h"

namespace xpu::lowering::gpu {

// The candidate tiles of a tensor-core shape, largest first. Throws
// GpuLoweringError when the shape has none.
const std::vector<GemmTiling>& gemm_candidates(xpu::gpu::MmaKind kind);
// Adds (or replaces) a shape's table: a second architecture's kernels register here.
void register_gemm_candidates(xpu::gpu::MmaKind kind, std::vector<GemmTiling> tiles);

struct GemmEstimate {
  GemmTiling t;
  uint64_t ctas = 0;         // first-pass CTAs
  uint32_t ctas_per_sm = 0;  // by occupancy
  double waves = 0;          // CTAs / (SMs x CTAs per SM)
  double cycles = 0;         // the model's estimate
};

// The model above for tiling t (t.split_k included) given its occupancy.
GemmEstimate estimate_gemm(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec, const GemmTiling& t,
                           uint32_t ctas_per_sm);
// A kernel family as the selection sees it: its candidate tiles, a
// candidate's registers per thread (built by the caller; GpuLoweringError:
// it does not build for the spec), its shared bytes per CTA, and `prepare`,
// which sets what the family derives for the spec and the candidate's
// split (t.stages: the pipeline depth; stages - 1 K tiles are in flight per
// CTA, which the model's latency term divides by).
struct GemmKernelFamily {
  std::vector<GemmTiling> candidates;
  std::function<uint32_t(const GemmTiling&)> regs;
  std::function<uint32_t(const GemmTiling&)> shared_bytes;
  std::function<GemmTiling(const GemmTiling&)> prepare;
};
// The cheapest candidate (split-K only with fp32 accumulation), its raster
// group set; candidates that do not fit an SM are skipped.
GemmEstimate choose_gemm_kernel(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec, const GemmKernelFamily& f);
// The double-buffered kernel's family (tc_mainloop.h): the config shape's
// table, tc_shared_bytes, 2 stages; `regs` as above.
GemmEstimate choose_gemm_kernel(const xpu::gpu::GpuConfig& cfg, const GpuGemmSpec& spec,
                                const std::function<uint32_t(const GemmTiling&)>& regs);
// K per split: kp0 = K padded to bk, cut into split_k multiples of bk.
uint64_t split_slice(uint64_t k, const GemmTiling& t);
// The raster group for a grid of grid_m tile rows (the rule above).
uint32_t raster_group(const xpu::gpu::GpuConfig& cfg, const GemmTiling& t, uint64_t grid_m, uint64_t kp, uint32_t e);

}  // namespace xpu::lowering::gpu
