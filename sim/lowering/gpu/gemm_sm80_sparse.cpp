#include "sim/lowering/gpu/gemm_sm80_sparse.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "models/gpu/kernel_builder.h"
#include "models/gpu/mma_shape.h"
#include "sim/common/errors.h"
#include "sim/lowering/gpu/activation.h"
#include "sim/lowering/gpu/sm80_mainloop.h"
#include "sim/lowering/gpu/tc_mainloop.h"
#include "sim/lowering/gpu/tc_reference.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

// Buffers: X, W, C, bias (tc_mainloop.h), metadata[, residual].
constexpr uint8_t kSpBufMeta = 4, kSpBufRes = 5;

uint64_t round_up(uint64_t v, uint64_t u) { return (v + u - 1) / u * u; }

// Dense K of one mma.sp: twice the dense shape's.
uint32_t sparse_k(DType in) { return in == DType::int8 ? 64 : 32; }

int32_t fbits(float f) {
  int32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// Magnitude for pruning: NaN is the largest.
float magnitude(DType in, const uint8_t* p) {
  float v = 0;
  switch (in) {
    case DType::int8: v = float(int8_t(*p)); break;
    case DType::fp16: { uint16_t h; std::memcpy(&h, p, 2); v = fp16::from_bits(h).to_float(); break; }
    case DType::bf16: { uint16_t h; std::memcpy(&h, p, 2); v = bf16::from_bits(h).to_float(); break; }
    default: throw InternalError("2:4 pruning of " + std::string(dtype_name(in)) + " values");
  }
  return std::isnan(v) ? INFINITY : std::fabs(v);
}

struct SparseGeom {
  uint32_t e, K, nk, sx, sw, x_bytes, w_bytes, m_bytes, stage;
};
SparseGeom sparse_geom(const GemmTiling& t, DType in) {
  SparseGeom g{};
  g.e = static_cast<uint32_t>(dtype_bytes(in));
  g.K = sparse_k(in);
  g.nk = t.bk / g.K;
  g.sx = t.bk * g.e + 16;
  g.sw = t.bk / 2 * g.e + 16;
  g.x_bytes = t.bm * g.sx;
  g.w_bytes = t.bn * g.sw;
  g.m_bytes = (t.bn / 16) * g.nk * 128;
  g.stage = g.x_bytes + g.w_bytes + g.m_bytes;
  return g;
}

Kernel build_sparse(const std::string& name, DType in, AccType acc, const GemmTiling& t, const GpuGemmLayout& L,
                    const TcEpilogue& ep, uint32_t S, ATileSource& src) {
  const MmaShape& mma = mma_shape(MmaKind::ampere_mma_sync);
  const SparseGeom G = sparse_geom(t, in);
  const uint32_t e = G.e, K = G.K, nk = G.nk, sx = G.sx, sw = G.sw;
  const uint32_t threads = (t.bm / t.wm) * (t.bn / t.wn) * 32, warps_n = t.bn / t.wn;
  const uint32_t fi = t.wn / 16, fj = t.wm / 8;  // channel fragments (mma M), pixel fragments (mma N)
  const uint32_t x_row = t.bk * e / 16, w_row = t.bk / 2 * e / 16;
  const uint32_t x_per = t.bm * x_row / threads, w_per = t.bn * w_row / threads, mw = G.m_bytes / threads;
  if (x_per == 0 || w_per == 0 || t.bm * x_row % threads || t.bn * w_row % threads || threads % x_row ||
      (mw != 4 && mw != 8 && mw != 16) || nk != 2 || fi == 0 || fj == 0)
    throw GpuLoweringError(name + ": sparse tile copies do not divide over the CTA's threads");
  if (ep.residual && acc != AccType::f32) throw GpuLoweringError(name + ": the fused residual add needs fp32 accumulation");
  const int32_t ring = int32_t(S * G.stage);
  const uint32_t w0 = G.x_bytes, m0 = G.x_bytes + G.w_bytes;  // stage offsets of W and the metadata

  KernelBuilder kb(name, &mma);
  std::vector<Frag> accs(fi * fj);
  for (auto& f : accs) f = kb.frag(FragKind::c, in, acc);
  std::vector<Frag> fw(2 * fi);
  for (auto& f : fw) f = kb.frag(FragKind::a, in, acc);
  // B of mma.sp (k32, int8 k64): 4 registers each, in one block (the epilogue's bias reuses it).
  const uint8_t fxs = kb.reg(4 * 2 * fj);
  std::vector<uint8_t> fx(2 * fj), meta(2 * fi);
  for (uint32_t j = 0; j < 2 * fj; ++j) fx[j] = uint8_t(fxs + 4 * j);
  for (auto& r : meta) r = kb.reg();
  src.alloc(kb, x_per);
  std::vector<uint8_t> gW(w_per), sX(x_per), sW(w_per), dst(x_per + w_per + 1);
  for (auto* v : {&gW, &sX, &sW, &dst})
    for (auto& r : *v) r = kb.reg();
  const uint8_t gM = kb.reg(), sM = kb.reg();
  const uint8_t tid = kb.reg(), tmp = kb.reg(), tmp2 = kb.reg(), rX = kb.reg(), rW = kb.reg(), rM = kb.reg();
  const uint8_t rC = kb.reg(), rd = kb.reg(), rw = kb.reg(), rXs = kb.reg(), rWs = kb.reg(), rMs = kb.reg();
  const uint8_t cnt = kb.reg();
  const uint8_t zero = src.zero_fills() ? kb.reg(4) : kRZ;
  const uint8_t p = kb.pred();
  // Residual: one fragment row's values (fj fragments of 4) in flight at once.
  const uint8_t res = ep.residual ? kb.reg(4 * fj) : kRZ;

  kb.s2r(tid, Special::tid);
  src.begin(kb, tid);
  auto row_col = [&](uint32_t i, uint32_t per_row) { emit_chunk_row_col(kb, tid, tmp, tmp2, i, threads, per_row); };
  auto shared_at = [&](uint8_t s, uint32_t pitch, uint32_t base) { emit_shared_at(kb, s, tmp, tmp2, pitch, base); };
  for (uint32_t i = 0; i < x_per; ++i) {
    row_col(i, x_row);
    src.chunk(kb, i, tmp, tmp2);
    shared_at(sX[i], sx, 0);
  }
  for (uint32_t i = 0; i < w_per; ++i) {
    row_col(i, w_row);
    kb.alui(Op::imul, gW[i], tmp, int32_t(L.ldb));
    kb.alu(Op::iadd, gW[i], gW[i], tmp2);
    shared_at(sW[i], sw, w0);
  }
  kb.alui(Op::imul, gM, tid, int32_t(mw));
  kb.alui(Op::iadd, sM, gM, int32_t(m0));
  for (uint32_t w = 0; w < 4 && zero != kRZ; ++w) kb.mov(uint8_t(zero + w), 0);
  // Warp w -> pixel block w / warps_n, channel block w % warps_n. Lane l
  // (g = l / 4, t = l % 4): X rows for ldmatrix (l % 8) + its matrix's 16
  // bytes (l / 8); metadata word 4 l; C at pixel 2t, channel g.
  kb.alui(Op::shr, tmp, tid, 5);
  kb.alui(Op::and_, tmp2, tmp, int32_t(warps_n - 1));
  kb.alui(Op::shr, tmp, tmp, int32_t(__builtin_ctz(warps_n)));
  kb.alui(Op::imul, rX, tmp, int32_t(t.wm * sx));
  kb.alui(Op::imul, rC, tmp, int32_t(uint64_t(t.wm) * L.ldc));
  kb.alui(Op::imul, rW, tmp2, int32_t(t.wn * sw));
  kb.alui(Op::iadd, rW, rW, int32_t(w0));
  kb.alui(Op::imul, rM, tmp2, int32_t(t.wn / 16 * 128));
  kb.alui(Op::iadd, rM, rM, int32_t(m0));
  kb.alui(Op::imul, tmp2, tmp2, int32_t(t.wn * 4));
  kb.alu(Op::iadd, rC, rC, tmp2);
  kb.alui(Op::and_, tmp, tid, 31);
  kb.alui(Op::shl, tmp2, tmp, 2);
  kb.alu(Op::iadd, rM, rM, tmp2);
  kb.alui(Op::and_, tmp2, tmp, 7);
  kb.alui(Op::imul, tmp2, tmp2, int32_t(sx));
  kb.alu(Op::iadd, rX, rX, tmp2);
  kb.alui(Op::shr, tmp2, tmp, 3);
  kb.alui(Op::shl, tmp2, tmp2, 4);
  kb.alu(Op::iadd, rX, rX, tmp2);
  kb.alui(Op::shr, tmp2, tmp, 2);  // g: channel
  kb.alui(Op::shl, tmp2, tmp2, 2);
  kb.alu(Op::iadd, rC, rC, tmp2);
  kb.alui(Op::and_, tmp2, tmp, 3);  // t: pixels 2t, 2t + 1
  kb.alui(Op::imul, tmp2, tmp2, int32_t(2 * L.ldc));
  kb.alu(Op::iadd, rC, rC, tmp2);
  for (auto& f : accs) kb.wmma_fill_zero(f);
  kb.mov(rd, 0);
  kb.mov(rw, 0);

  auto wrap = [&](uint8_t r) {
    kb.alui(Op::iadd, r, r, int32_t(G.stage));
    kb.setpi(Op::isetp, p, Cmp::ge, r, ring);
    kb.alui(Op::iadd, r, r, -ring).guard = p;
  };
  const uint32_t nc = x_per + w_per + 1;
  auto copy = [&](uint32_t c) {
    if (c < x_per) {
      kb.alu(Op::iadd, dst[c], sX[c], rw);
      src.copy_async(kb, c, dst[c], zero);
    } else if (c < x_per + w_per) {
      kb.alu(Op::iadd, dst[c], sW[c - x_per], rw);
      kb.ldgsts(kTcBufB, gW[c - x_per], 0, dst[c], 0, 16);
    } else {
      kb.alu(Op::iadd, dst[c], sM, rw);
      kb.ldgsts(kSpBufMeta, gM, 0, dst[c], 0, uint8_t(mw));
    }
  };
  auto copies_done = [&]() {
    src.advance(kb);
    for (auto r : gW) kb.alui(Op::iadd, r, r, int32_t(t.bk / 2 * e));
    kb.alui(Op::iadd, gM, gM, int32_t(G.m_bytes));
    wrap(rw);
  };
  auto issue_tile = [&]() {
    for (uint32_t c = 0; c < nc; ++c) copy(c);
    copies_done();
  };
  auto load_frags = [&](uint32_t kk) {
    const uint32_t s = kk % 2;
    for (uint32_t i = 0; i < fi; ++i) {
      kb.wmma_load(fw[s * fi + i], Space::shared, rWs, int32_t(i * 16 * sw + kk * K / 2 * e), sw);
      kb.lds(meta[s * fi + i], rMs, int32_t((kk * (t.bn / 16) + i) * 128), 4);
    }
    for (uint32_t j = 0; j < fj; ++j) kb.ldsm(fx[s * fj + j], rXs, int32_t(j * 8 * sx + kk * K * e), 4, false);
  };
  auto next_tile = [&]() {
    kb.cp_wait(S - 2);
    kb.bar();
    kb.alu(Op::iadd, rXs, rX, rd);
    kb.alu(Op::iadd, rWs, rW, rd);
    kb.alu(Op::iadd, rMs, rM, rd);
    load_frags(0);
  };
  auto mmas = [&](uint32_t kk) {
    const uint32_t s = kk % 2;
    for (uint32_t i = 0; i < fi; ++i)
      for (uint32_t j = 0; j < fj; ++j) {
        Instr m;
        m.op = Op::hmma;
        m.dst = m.c = accs[i * fj + j].reg;
        m.a = fw[s * fi + i].reg;
        m.b = fx[s * fj + j];
        m.in = in;
        m.acc = acc;
        m.sparse = true;
        m.meta = meta[s * fi + i];
        kb.emit(m);
      }
  };
  auto tile = [&](bool copies, bool next) {
    for (uint32_t kk = 0; kk < nk; ++kk) {
      for (uint32_t c = kk * nc / nk; copies && c < (kk + 1) * nc / nk; ++c) copy(c);
      if (kk + 1 < nk) {
        load_frags(kk + 1);
      } else {
        if (copies) copies_done();
        kb.cp_commit();
        wrap(rd);
        if (next) next_tile();
      }
      mmas(kk);
    }
  };

  emit_ring(kb, L.kp / t.bk, S, cnt, p, issue_tile, next_tile, tile);

  // Epilogue: accumulator element r of a lane is channel g + 8 (r / 2) of
  // its fragment row, pixel 2t + r % 2 of its fragment column (C offset
  // c_off). The bias of channels g and g + 8 per fragment row goes into the
  // (now free) B fragment registers; y = act((acc + bias) + res), each add
  // one fp32 rounding, the residual read in C's layout from C's row pointer
  // (buffer kSpBufRes), the activation as tc_mainloop.h's epilogue.
  const auto c_off = [&](uint32_t i, uint32_t j, uint32_t r) {
    return int32_t((8 * j + r % 2) * L.ldc + (16 * i + 8 * (r / 2)) * 4);
  };
  if (ep.active()) {
    const uint8_t bias = fxs, rB = rXs;  // 2 fi <= 8 fj registers
    if (ep.bias) {
      kb.alui(Op::and_, tmp, tid, 31);
      kb.alui(Op::shr, tmp, tmp, 2);
      kb.alui(Op::shl, tmp, tmp, 2);
      kb.alui(Op::shr, rB, tid, 5);
      kb.alui(Op::and_, rB, rB, int32_t(warps_n - 1));
      kb.alui(Op::imul, rB, rB, int32_t(t.wn * 4));
      kb.alu(Op::iadd, rB, rB, tmp);
      for (uint32_t i = 0; i < fi; ++i)
        for (uint32_t h = 0; h < 2; ++h)
          kb.ldg(uint8_t(bias + 2 * i + h), kTcBufBias, rB, int32_t((16 * i + 8 * h) * 4), 4);
    }
    const ActNeeds needs = activation_needs(ep.act);
    if (needs.minus_one) kb.mov(cnt, fbits(-1.0f));
    for (uint32_t i = 0; i < fi; ++i) {
      for (uint32_t j = 0; j < fj && ep.residual; ++j)
        for (uint32_t r = 0; r < 4; ++r) kb.ldg(uint8_t(res + 4 * j + r), kSpBufRes, rC, c_off(i, j, r), 4);
      for (uint32_t j = 0; j < fj; ++j)
        for (uint32_t r = 0; r < 4; ++r) {
          const uint8_t x = uint8_t(accs[i * fj + j].reg + r);
          if (ep.bias) kb.alu(Op::fadd, x, x, uint8_t(bias + 2 * i + r / 2));
          if (ep.residual) kb.alu(Op::fadd, x, x, uint8_t(res + 4 * j + r));
          if (ep.act != Activation::none)
            emit_activation(kb, ep.act, ep.p0, ep.p1, x, x, ActScratch{needs.scratch ? tmp : x, tmp2, cnt, p});
        }
    }
  }
  for (uint32_t i = 0; i < fi; ++i)
    for (uint32_t j = 0; j < fj; ++j)
      for (uint32_t r = 0; r < 4; ++r) kb.stg(kTcBufC, rC, c_off(i, j, r), uint8_t(accs[i * fj + j].reg + r), 4);
  kb.exit();
  return kb.finish();
}

}  // namespace

void check_sparse_path(const GpuConfig& cfg, DType in, AccType acc, const std::string& name) {
  if (!cfg.tensor_core.sparse_2_4 || cfg.tensor_core.mma != MmaKind::ampere_mma_sync)
    throw GpuLoweringError(name + ": sparsity 2:4 needs sparse tensor cores (mma.sp); " + cfg.name +
                           " has none (tensor_core.sparse_2_4)");
  check_tc_path(cfg, in, acc, name);
  if (acc == AccType::f16) throw GpuLoweringError(name + ": the 2:4 sparse kernel accumulates in fp32 or int32 only");
}

GemmTiling choose_tiling_sparse(const GpuConfig& cfg, uint64_t m, uint64_t n, DType in) {
  (void)cfg, (void)m;
  GemmTiling t;
  t.bm = 64;
  t.wm = 32;
  t.bn = n > 64 ? 128 : 64;
  t.wn = t.bn / 2;
  t.bk = 2 * sparse_k(in);
  return t;
}

uint64_t plan_sparse_layout(GpuGemmLayout& L, const GemmTiling& t, DType in, uint64_t next) {
  L.sparse = true;
  L.sparse_in = in;
  L.meta_bn = t.bn;
  L.meta_k = sparse_k(in);
  L.ldb = L.kp / 2 * L.in_bytes;  // np rows of the kept kp / 2
  L.b = round_up(next, 256);
  L.meta = round_up(L.b + L.np * L.ldb, 256);
  return L.meta + (L.np / 16) * (L.kp / L.meta_k) * 128;
}

void build_sparse_launch(const GpuConfig& cfg, const std::string& name, DType in, AccType acc, const GemmTiling& t,
                         const GpuGemmLayout& L, const TcEpilogue& ep, ATileSource& x, uint64_t x_row_bytes,
                         Kernel& kernel, Launch& l, GemmTiling& chosen, uint64_t res) {
  const SparseGeom G = sparse_geom(t, in);
  uint32_t S = static_cast<uint32_t>(std::min<uint64_t>(4, L.kp / t.bk + 1));
  while (S > 2 && uint64_t(S) * G.stage > cfg.shared.max_shared_bytes) --S;
  chosen = t;
  chosen.stages = S;
  kernel = build_sparse(name, in, acc, t, L, ep, S, x);
  l.kernel = &kernel;
  const uint64_t grid_m = L.mp / t.bm, grid_n = L.np / t.bn;
  if (grid_m * grid_n > 0xFFFFFFFFull) throw GpuLoweringError(name + ": grid too large");
  l.ctas = static_cast<uint32_t>(grid_m * grid_n);
  l.threads = (t.bm / t.wm) * (t.bn / t.wn) * 32;
  l.shared_bytes = S * G.stage;
  if (l.shared_bytes > cfg.shared.max_shared_bytes)
    throw GpuLoweringError(name + ": the sparse kernel's shared memory exceeds " + cfg.name + "'s");
  const uint32_t nb = ep.residual ? 6 : 5;
  l.nbufs = nb;
  l.bases.resize(size_t(l.ctas) * nb);
  const uint64_t KS = L.kp / G.K;
  for (uint64_t c = 0; c < l.ctas; ++c) {
    const uint64_t by = c / grid_n, bx = c % grid_n;
    l.bases[c * nb + kTcBufA] = by * t.bm * x_row_bytes;
    l.bases[c * nb + kTcBufB] = L.b + bx * t.bn * L.ldb;
    l.bases[c * nb + kTcBufC] = L.c + by * t.bm * L.ldc + bx * t.bn * 4;
    l.bases[c * nb + kTcBufBias] = ep.bias ? L.bias + bx * t.bn * 4 : 0;
    l.bases[c * nb + kSpBufMeta] = L.meta + bx * KS * (t.bn / 16) * 128;
    if (ep.residual) l.bases[c * nb + kSpBufRes] = res + by * t.bm * L.ldc + bx * t.bn * 4;
  }
  if (kernel.regs_per_thread > cfg.occupancy.max_registers_per_thread)
    throw GpuLoweringError(name + ": kernel needs " + std::to_string(kernel.regs_per_thread) + " registers");
}

void lower_gemm_sm80_sparse(const GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan, const TcEpilogue& ep) {
  check_sparse_path(cfg, spec.in, spec.acc, spec.name);
  if (spec.m == 0 || spec.n == 0 || spec.k == 0) throw GpuLoweringError(spec.name + ": empty GEMM");
  const GemmTiling t = choose_tiling_sparse(cfg, spec.m, spec.n, spec.in);
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(spec.in));
  GpuGemmLayout& L = plan.layout;
  L.mp = round_up(spec.m, t.bm);
  L.np = round_up(spec.n, t.bn);
  L.kp = round_up(spec.k, t.bk);
  L.in_bytes = e;
  L.out_bytes = 4;
  L.dot_group = mma_shape(cfg.tensor_core.mma).dot_group(spec.in);
  L.lda = L.kp * e;
  L.a = 0;
  const uint64_t after = plan_sparse_layout(L, t, spec.in, L.a + L.mp * L.lda);
  L.ldc = L.np * 4;
  L.c = round_up(after, 256);
  L.bias = round_up(L.c + L.mp * L.ldc, 256);
  L.bytes = ep.bias ? round_up(L.bias + L.np * 4, 256) : L.bias;
  if (L.bytes >= (uint64_t(1) << 31)) throw GpuLoweringError(spec.name + ": operands exceed 2 GiB");
  DenseAsyncA x(L.lda, t.bk * e);
  build_sparse_launch(cfg, spec.name + "_sm80_sp24", spec.in, spec.acc, t, L, ep, x, L.lda, plan.kernel, plan.launch,
                      plan.tiling);
  for (uint64_t c = 0; c < plan.launch.ctas; ++c) plan.launch.bases[c * plan.launch.nbufs + kTcBufA] += L.a;
}

Pruned prune_2_4(DType in, uint64_t k, uint64_t n, uint64_t kp, const uint8_t* b) {
  const uint64_t e = dtype_bytes(in);
  Pruned p;
  p.kc = kp / 2;
  p.kidx.resize(n * p.kc);
  p.values.assign(n * p.kc * e, 0);
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t g = 0; g < kp / 4; ++g) {
      float mag[4];
      for (uint32_t q = 0; q < 4; ++q) {
        const uint64_t r = 4 * g + q;
        mag[q] = r < k ? magnitude(in, b + (r * n + j) * e) : 0.0f;
      }
      // The two largest, ties to the lower k; kept in k order.
      uint32_t first = 0;
      for (uint32_t q = 1; q < 4; ++q)
        if (mag[q] > mag[first]) first = q;
      uint32_t second = first == 0 ? 1 : 0;
      for (uint32_t q = 0; q < 4; ++q)
        if (q != first && mag[q] > mag[second]) second = q;
      const uint32_t lo = std::min(first, second), hi = std::max(first, second);
      for (uint32_t h = 0; h < 2; ++h) {
        const uint64_t r = 4 * g + (h ? hi : lo), s = j * p.kc + 2 * g + h;
        p.kidx[s] = uint32_t(r);
        if (r < k) std::memcpy(&p.values[s * e], b + (r * n + j) * e, e);
      }
    }
  return p;
}

std::vector<uint8_t> pruned_dense(DType in, uint64_t k, uint64_t n, const Pruned& p) {
  const uint64_t e = dtype_bytes(in);
  std::vector<uint8_t> out(k * n * e, 0);
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t s = 0; s < p.kc; ++s) {
      const uint64_t r = p.kidx[j * p.kc + s];
      if (r < k) std::memcpy(&out[(r * n + j) * e], &p.values[(j * p.kc + s) * e], e);
    }
  return out;
}

void stage_sparse_b(const GpuGemmLayout& l, uint64_t k, uint64_t n, const uint8_t* b, GlobalMemory& mem, uint64_t off) {
  if (!l.sparse) throw InternalError("stage_sparse_b on a dense layout");
  const DType in = l.sparse_in;
  const Pruned p = prune_2_4(in, k, n, l.kp, b);
  const uint64_t e = l.in_bytes;
  for (uint64_t j = 0; j < n; ++j) mem.write(off + l.b + j * l.ldb, &p.values[j * p.kc * e], p.kc * e);
  // Metadata in the kernel's order (gemm_sm80_sparse.h).
  const MmaShape& mma = mma_shape(MmaKind::ampere_mma_sync);
  const uint64_t KS = l.kp / l.meta_k, blocks = l.meta_bn / 16;
  std::vector<uint32_t> words(32);
  for (uint64_t bx = 0; bx < l.np / l.meta_bn; ++bx)
    for (uint64_t ks = 0; ks < KS; ++ks)
      for (uint64_t bl = 0; bl < blocks; ++bl) {
        for (uint32_t lane = 0; lane < 32; ++lane) {
          uint32_t w = 0;
          for (uint32_t el = 0; el < mma.frag_elems_of(FragKind::a, in); ++el) {
            const FragElem fe = mma.frag_elem(FragKind::a, in, AccType::f32, lane, el);
            const uint64_t j = bx * l.meta_bn + bl * 16 + fe.row, s = ks * l.meta_k / 2 + fe.col;
            const uint32_t pos = j < n ? p.kidx[j * p.kc + s] % 4 : uint32_t(s % 2);  // padding channels: 0, 1
            w |= pos << (2 * el);
          }
          words[lane] = w;
        }
        mem.write(off + l.meta + ((bx * KS + ks) * blocks + bl) * 128, words.data(), 128);
      }
}

std::vector<uint32_t> reference_gemm_sparse(DType in, AccType acc, uint64_t m, uint64_t n, uint64_t k, uint64_t kp,
                                            const uint8_t* a, const uint8_t* b, uint32_t group) {
  const uint64_t e = dtype_bytes(in);
  const Pruned p = prune_2_4(in, k, n, kp, b);
  std::vector<uint32_t> out(m * n);
  std::vector<uint8_t> ac(m * p.kc * e);
  for (uint64_t j = 0; j < n; ++j) {
    // Column j: the kept products in k order, as a dense GEMM over the kept K.
    std::fill(ac.begin(), ac.end(), 0);
    for (uint64_t r = 0; r < m; ++r)
      for (uint64_t s = 0; s < p.kc; ++s) {
        const uint64_t kk = p.kidx[j * p.kc + s];
        if (kk < k) std::memcpy(&ac[(r * p.kc + s) * e], a + (r * k + kk) * e, e);
      }
    const auto col = reference_gemm_tc(in, acc, m, 1, p.kc, p.kc, ac.data(), &p.values[j * p.kc * e], group);
    for (uint64_t r = 0; r < m; ++r) out[r * n + j] = col[r];
  }
  return out;
}

}  // namespace xpu::lowering::gpu
