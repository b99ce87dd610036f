#include "sim/lowering/gpu/gemm_grid.h"

#include <algorithm>
#include <string>

#include "sim/lowering/gpu/gemm_select.h"
#include "sim/lowering/gpu/splitk_reduce.h"
#include "sim/lowering/gpu/tc_mainloop.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

uint64_t round_up(uint64_t v, uint64_t u) { return (v + u - 1) / u * u; }

}  // namespace

void plan_gemm_layout(const GpuGemmSpec& spec, const GemmTiling& t, const TcEpilogue& ep, bool b_k_major,
                      uint32_t dot_group, GpuGemmLayout& L) {
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(spec.in)), ce = out_bytes(spec, ep);
  L.mp = round_up(spec.m, t.bm);
  L.np = round_up(spec.n, t.bn);
  L.kslice = split_slice(spec.k, t);
  L.kp = L.kslice * t.split_k;
  L.in_bytes = e;
  L.out_bytes = ce;
  L.dot_group = dot_group;
  L.b_k_major = b_k_major;
  L.lda = pitch_of(L.kp * e, spec.lda, e);
  L.ldb = b_k_major ? L.kp * e : pitch_of(L.np * e, spec.ldb, e);  // K-major B: np rows of kp
  L.ldc = pitch_of(L.np * ce, spec.ldc, ce);
  L.a = 0;
  L.b = round_up(L.a + L.mp * L.lda, 256);
  L.c = round_up(L.b + (b_k_major ? L.np : L.kp) * L.ldb, 256);
  L.bias = round_up(L.c + L.mp * L.ldc, 256);
  L.bytes = ep.bias ? round_up(L.bias + L.np * 4, 256) : L.bias;
  L.res = L.bytes;
  if (ep.residual) L.bytes = round_up(L.res + L.mp * L.ldc, 256);
  L.work = L.bytes;
  if (t.split_k > 1) L.bytes = round_up(L.work + uint64_t(t.split_k) * L.mp * L.np * 4, 256);
}

uint64_t first_pass_ldc(const GpuGemmLayout& L, const GemmTiling& t) { return t.split_k > 1 ? L.np * 4 : L.ldc; }

std::pair<uint64_t, uint64_t> raster_tile(uint64_t i, uint64_t grid_m, uint64_t grid_n, uint64_t g) {
  const uint64_t group = i / (g * grid_n), first = group * g;
  const uint64_t rows = std::min<uint64_t>(g, grid_m - first), local = i - group * g * grid_n;
  return {first + local % rows, local / rows};
}

void build_gemm_launches(const GpuGemmSpec& spec, const TcEpilogue& ep, uint32_t shared_bytes, GpuGemmPlan& plan) {
  const GemmTiling& t = plan.tiling;
  const GpuGemmLayout& L = plan.layout;
  const bool split = t.split_k > 1;
  if (split && ep.out8) throw GpuLoweringError(spec.name + ": split-K's reduction has no int8 epilogue");
  const uint64_t e = L.in_bytes, ce = L.out_bytes, ldw = first_pass_ldc(L, t);
  Launch& l = plan.launch;
  l.kernel = &plan.kernel;
  const uint64_t grid_m = L.mp / t.bm, grid_n = L.np / t.bn, tiles = grid_m * grid_n;
  const bool bias_buf = ep.bias && !split, res_buf = ep.residual && !split;
  const uint32_t nb = res_buf ? 5 : bias_buf ? 4 : 3;
  if (tiles * t.split_k > 0xFFFFFFFFull) throw GpuLoweringError(spec.name + ": grid too large");
  l.ctas = static_cast<uint32_t>(tiles * t.split_k);
  l.threads = tc_threads(t);
  l.shared_bytes = shared_bytes;
  l.nbufs = nb;
  l.bases.resize(size_t(l.ctas) * nb);
  // A K-major B steps its rows by output column and its split by K bytes.
  const uint64_t b_col = L.b_k_major ? L.ldb : e, b_split = L.b_k_major ? L.kslice * e : L.kslice * L.ldb;
  // Split-major; inside a split the grouped raster (gemm_select.h).
  for (uint64_t c = 0; c < l.ctas; ++c) {
    const uint64_t sp = c / tiles;
    const auto [by, bx] = raster_tile(c % tiles, grid_m, grid_n, t.group_m);
    l.bases[c * nb + kTcBufA] = L.a + by * t.bm * L.lda + sp * L.kslice * e;
    l.bases[c * nb + kTcBufB] = L.b + bx * t.bn * b_col + sp * b_split;
    l.bases[c * nb + kTcBufC] = split ? L.work + sp * L.mp * ldw + by * t.bm * ldw + bx * t.bn * 4
                                      : L.c + by * t.bm * L.ldc + bx * t.bn * ce;
    if (bias_buf) l.bases[c * nb + kTcBufBias] = L.bias + bx * t.bn * 4;
    if (res_buf) l.bases[c * nb + kTcBufRes] = L.res + by * t.bm * L.ldc + bx * t.bn * ce;
  }
  if (!split) return;

  const uint32_t rr = splitk_reduce_rows(spec.m, t.bm, t.bn);
  plan.reduce_kernel =
      build_splitk_reduce(ReduceDesc{spec.name + "_splitk_reduce", t.split_k, t.bn, rr, ldw, L.mp * ldw, ep, L.ldc, spec.in});
  Launch& r = plan.reduce;
  r.kernel = &plan.reduce_kernel;
  const uint64_t rows = (spec.m + rr - 1) / rr;
  r.ctas = static_cast<uint32_t>(rows * grid_n);
  r.threads = splitk_reduce_threads(rr, t.bn);
  r.shared_bytes = 0;
  const uint32_t rb = ep.residual ? 4 : 3;
  r.nbufs = rb;
  r.bases.resize(size_t(r.ctas) * rb);
  for (uint64_t c = 0; c < r.ctas; ++c) {
    const uint64_t ry = c / grid_n, rx = c % grid_n;
    r.bases[c * rb + kRedBufP] = L.work + ry * rr * ldw + rx * t.bn * 4;
    r.bases[c * rb + kRedBufC] = L.c + ry * rr * L.ldc + rx * t.bn * ce;
    r.bases[c * rb + kRedBufBias] = L.bias + rx * t.bn * 4;
    if (ep.residual) r.bases[c * rb + kRedBufRes] = L.res + ry * rr * L.ldc + rx * t.bn * ce;
  }
}

}  // namespace xpu::lowering::gpu
