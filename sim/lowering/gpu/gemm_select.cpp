#include "sim/lowering/gpu/gemm_select.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "models/gpu/gpu.h"
#include "models/gpu/launch_cost.h"
#include "models/gpu/mma_shape.h"
#include "sim/lowering/gpu/tc_mainloop.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

GemmTiling tile(uint32_t bm, uint32_t bn, uint32_t wm, uint32_t wn, uint32_t bk = 32) {
  GemmTiling t;
  t.bm = bm, t.bn = bn, t.wm = wm, t.wn = wn, t.bk = bk;
  return t;
}

std::map<MmaKind, std::vector<GemmTiling>>& tables() {
  static std::map<MmaKind, std::vector<GemmTiling>> t = {
      {MmaKind::volta_hmma884,
       {tile(256, 128, 64, 64), tile(128, 256, 64, 64), tile(128, 128, 64, 64), tile(128, 64, 64, 32),
        tile(64, 128, 32, 64), tile(64, 64, 32, 32), tile(64, 32, 32, 16), tile(32, 64, 32, 32),
        tile(16, 128, 16, 64), tile(16, 64, 16, 32), tile(128, 64, 64, 32, 64), tile(64, 128, 32, 64, 64),
        tile(64, 64, 32, 32, 64), tile(32, 64, 32, 32, 64), tile(16, 128, 16, 64, 64), tile(16, 64, 16, 32, 64)}},
  };
  return t;
}

uint64_t cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace

std::string GemmTiling::name() const {
  std::string s = std::to_string(bm) + "x" + std::to_string(bn) + "x" + std::to_string(bk) + "_w" +
                  std::to_string(wm) + "x" + std::to_string(wn) + "_s" + std::to_string(stages);
  if (split_k > 1) s += "_splitk" + std::to_string(split_k);
  return s;
}

const std::vector<GemmTiling>& gemm_candidates(MmaKind kind) {
  const auto it = tables().find(kind);
  if (it == tables().end())
    throw GpuLoweringError(std::string("no GEMM kernels for tensor-core shape ") + mma_kind_name(kind));
  return it->second;
}

void register_gemm_candidates(MmaKind kind, std::vector<GemmTiling> tiles) { tables()[kind] = std::move(tiles); }

uint64_t split_slice(uint64_t k, const GemmTiling& t) {
  const uint64_t tiles = cdiv(k, t.bk);
  return cdiv(tiles, t.split_k) * t.bk;
}

uint32_t raster_group(const GpuConfig& cfg, const GemmTiling& t, uint64_t grid_m, uint64_t kp, uint32_t e) {
  const uint64_t panel = uint64_t(t.bm) * kp * e;
  const uint64_t fit = std::max<uint64_t>(1, cfg.l2.capacity_bytes / 2 / std::max<uint64_t>(panel, 1));
  return static_cast<uint32_t>(std::min<uint64_t>({fit, 8, std::max<uint64_t>(grid_m, 1)}));
}

GemmEstimate estimate_gemm(const GpuConfig& cfg, const GpuGemmSpec& spec, const GemmTiling& t, uint32_t ctas_per_sm) {
  const MmaShape& mma = mma_shape(cfg.tensor_core.mma);
  const double e = double(dtype_bytes(spec.in)), ce = double(out_bytes(spec));
  const uint64_t grid_m = cdiv(spec.m, t.bm), grid_n = cdiv(spec.n, t.bn);
  const uint64_t mp = grid_m * t.bm, np = grid_n * t.bn;
  const uint64_t kslice = split_slice(spec.k, t);
  GemmEstimate r;
  r.t = t;
  r.ctas = grid_m * grid_n * t.split_k;
  r.ctas_per_sm = ctas_per_sm;
  r.waves = double(r.ctas) / (double(cfg.sms) * ctas_per_sm);

  const uint64_t per_sm = cdiv(r.ctas, cfg.sms);
  const uint64_t conc = std::min<uint64_t>(per_sm, ctas_per_sm), rounds = cdiv(per_sm, conc);
  const uint32_t warps = tc_threads(t) / 32;
  const uint32_t fm = t.wm / mma.m(), fn = t.wn / mma.n();
  const auto& tc = cfg.tensor_core;
  const double ii = spec.acc == AccType::f16 ? tc.ii_f16_acc : spec.acc == AccType::s32 ? tc.ii_int8 : tc.ii_f32_acc;
  const double lat = spec.acc == AccType::f16 ? tc.latency_f16_acc
                     : spec.acc == AccType::s32 ? tc.latency_int8 : tc.latency_f32_acc;
  const double steps = mma.steps(spec.acc);
  const double wmma_issue = mma.sets() * steps * ii, wmma_latency = mma.sets() * lat + (steps - 1) * ii;
  const double warps_per_sub = std::ceil(double(warps * conc) / cfg.sub_cores);
  const double k16 = double(t.bk) / mma.k_of(spec.in);
  const double t_mma = k16 * std::max(warps_per_sub * fm * fn * wmma_issue, wmma_latency);
  const double frag_a = 32.0 * 4 * mma.frag_regs(FragKind::a, spec.in, spec.acc);
  const double frag_b = 32.0 * 4 * mma.frag_regs(FragKind::b, spec.in, spec.acc);
  const double smem_bytes = warps * k16 * (fm * frag_a + fn * frag_b) + double(t.bm + t.bn) * t.bk * e;
  const double t_smem = double(conc) * smem_bytes / cfg.l1.bytes_per_cycle;
  const double far = cfg.l2.partitions > 1
                         ? double(cfg.l2.far_extra_latency) * (cfg.l2.partitions - 1) / cfg.l2.partitions
                         : 0.0;
  const double t_mem = double(cfg.l2.latency) + cfg.dram.latency + far;
  const double ktiles = double(kslice / t.bk);
  // K tiles in flight per CTA: each waits its latency, so they overlap.
  const double inflight = std::max(1.0, std::min(double(t.stages) - 1, ktiles));
  const double t_lat = t_mem / inflight;
  const double l2_bpc = cfg.l2.slices * cfg.l2.bytes_per_cycle_per_slice;
  const double dram_bpc = cfg.dram.bandwidth_gbps * cfg.dram.efficiency * 1e3 / cfg.clock_mhz;
  const double partials = t.split_k > 1 ? double(t.split_k) * mp * np * 4 : 0;
  // Partials that fit in half the L2 stay there for the reduction (the
  // layer's kernels share the L2: Gpu::run_stream).
  const bool partials_in_l2 = partials <= double(cfg.l2.capacity_bytes) / 2;
  const double dram_bytes =
      double(spec.m * spec.k + spec.k * spec.n) * e + double(mp * np) * ce + (partials_in_l2 ? 0 : partials);
  const double tile_bytes = double(t.bm + t.bn) * t.bk * e;  // one CTA's A and B tiles of one K step
  const double cta_bytes = double(r.ctas) * tile_bytes * double(kslice / t.bk);
  const double rho = std::min(1.0, dram_bytes / cta_bytes);  // share of tile bytes that come from DRAM
  // A wave's CTAs advance in step: each K tile's loads arrive as one burst,
  // served after the latency by the L2 (all of its bytes) and the DRAM (the
  // share rho that misses) at once: a miss's bytes pass through the L2 as
  // they arrive, so the slower of the two transfers sets the burst's time.
  const double active = double(std::min<uint64_t>(r.ctas, uint64_t(cfg.sms) * ctas_per_sm));
  const double burst = active * tile_bytes * std::max(rho / dram_bpc, 1.0 / l2_bpc);
  // A warp runs its fragment loads and its HMMAs in turn, and the warps of
  // one CTA do so in step between barriers: only other resident CTAs fill
  // one CTA's load phase, so conc CTAs hide all but 1 / conc of the shorter.
  // The multistage kernels (stages > 2) load each batch's fragments under
  // the previous batch's mmas: within a CTA the two overlap.
  const double t_compute =
      std::max(t_mma, t_smem) + (t.stages > 2 ? 0.0 : std::min(t_mma, t_smem) / double(conc));
  // Each CTA waits one latency per K step, but the other resident CTAs'
  // transfers go on meanwhile: of the shorter of latency and burst only
  // 1 / (conc + 1) stays exposed.
  const double t_k = std::max(t_compute, std::max(t_lat, burst) + std::min(t_lat, burst) / double(conc + 1));
  const double t_sm = double(rounds) * (ktiles * t_k + t_mem);
  const double t_l2 = cta_bytes / l2_bpc;
  const double t_dram = dram_bytes / dram_bpc;
  r.cycles = std::max({t_sm, t_l2, t_dram});
  // The reduction reads the real rows' partials and writes C.
  if (t.split_k > 1)
    r.cycles += double(spec.m * np) * (4.0 * t.split_k + ce) / (partials_in_l2 ? l2_bpc : dram_bpc) + t_mem +
                kernel_gap_cycles(cfg);
  return r;
}

GemmEstimate choose_gemm_kernel(const GpuConfig& cfg, const GpuGemmSpec& spec,
                                const std::function<uint32_t(const GemmTiling&)>& regs) {
  GemmKernelFamily f;
  f.candidates = gemm_candidates(cfg.tensor_core.mma);
  f.regs = regs;
  f.shared_bytes = [&](const GemmTiling& t) { return tc_shared_bytes(t, spec.in); };
  f.prepare = [](const GemmTiling& t) { return t; };
  return choose_gemm_kernel(cfg, spec, f);
}

GemmEstimate choose_gemm_kernel(const GpuConfig& cfg, const GpuGemmSpec& spec, const GemmKernelFamily& f) {
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(spec.in));
  GemmEstimate best;
  bool found = false;
  // CTAs per SM of tile t (0: it does not build or fit); regs(t) sees
  // t.split_k, as the first pass of a split-K GEMM has no epilogue.
  const auto per_sm_of = [&](const GemmTiling& t) -> uint32_t {
    Kernel k;
    try {
      k.regs_per_thread = f.regs(t);
    } catch (const GpuLoweringError&) {
      return 0;  // this tile does not build for the spec
    }
    Launch l;
    l.kernel = &k;
    l.threads = tc_threads(t);
    l.shared_bytes = f.shared_bytes(t);
    try {
      return Gpu::occupancy(cfg, l).ctas;
    } catch (const std::invalid_argument&) {
      return 0;
    }
  };
  for (GemmTiling t : f.candidates) {
    if (t.bm < 32 && spec.m > t.bm) continue;  // the one-row-tile kernels are for M <= 16
    const uint64_t ktiles = cdiv(spec.k, t.bk);
    const uint64_t mp = cdiv(spec.m, t.bm) * t.bm, np = cdiv(spec.n, t.bn) * t.bn;
    uint32_t per_sm_split = 0;
    for (uint32_t s = 1; s <= 16; ++s) {
      if (s > 1 && (spec.acc != AccType::f32 || ktiles < s)) break;
      t.split_k = s;
      if (s > 1 && (split_slice(spec.k, t) * (s - 1) >= ktiles * t.bk || uint64_t(s) * mp * np * 4 >= (1ull << 31)))
        continue;
      const GemmTiling c = f.prepare(t);
      if (s == 2 || (s > 2 && per_sm_split == 0)) per_sm_split = per_sm_of(c);
      const uint32_t per_sm = s == 1 ? per_sm_of(c) : per_sm_split;
      if (per_sm == 0) continue;
      const GemmEstimate est = estimate_gemm(cfg, spec, c, per_sm);
      if (!found || est.cycles < best.cycles * 0.99) {
        best = est;
        found = true;
      }
    }
  }
  if (!found) throw GpuLoweringError(spec.name + ": no tensor-core GEMM kernel fits an SM");
  const uint64_t grid_m = cdiv(spec.m, best.t.bm);
  best.t.group_m = raster_group(cfg, best.t, grid_m, split_slice(spec.k, best.t), e);
  return best;
}

}  // namespace xpu::lowering::gpu
