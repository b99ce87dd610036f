#include "sim/lowering/gpu/conv_implicit.h"

#include <cmath>
#include <cstring>

#include "models/gpu/kernel_builder.h"
#include "sim/lowering/gpu/gemm_sm80_sparse.h"
#include "sim/lowering/gpu/half_io.h"
#include "sim/lowering/gpu/int8_epilogue.h"
#include "sim/lowering/gpu/sm80_mainloop.h"
#include "sim/lowering/gpu/tc_mainloop.h"
#include "sim/lowering/gpu/tc_reference.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

bool find_magic(uint64_t d, uint64_t limit, Magic& out) {
  for (uint32_t shift = 0; shift < 32; ++shift) {
    const uint64_t mul = ((uint64_t(1) << shift) + d - 1) / d;
    if (limit > 0 && (limit - 1) * mul >= (uint64_t(1) << 32)) return false;  // mul only grows with shift
    bool ok = true;
    for (uint64_t x = 0; x < limit && ok; ++x) ok = ((x * mul) >> shift) == x / d;
    if (ok) {
      out = {uint32_t(mul), shift};
      return true;
    }
  }
  return false;
}

namespace {

uint64_t round_up(uint64_t v, uint64_t u) { return (v + u - 1) / u * u; }

// Geometry the A source needs, all host constants.
struct ConvGeom {
  uint32_t e = 2;                 // bytes per element
  uint32_t bk = 32, bm = 0;
  uint32_t chunks_row = 4;        // 16-byte chunks per K-tile row
  bool blocks = false;            // cp >= bk: a K tile is one tap's channel block
  uint32_t nb = 1;                // channel blocks per tap (blocks)
  uint32_t tpt = 1;               // taps per K tile (!blocks)
  uint32_t cpt_bytes = 0;         // bytes of one tap's channels (cp e)
  uint32_t subs = 1;              // taps per 16-byte chunk (cp e < 16: one LDG of cp e bytes each)
  uint32_t R = 1, S = 1, H = 0, W = 0, P = 0, OW = 0;
  uint32_t sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0;
  uint32_t M = 0;
  Magic by, img, row;              // ctaid / grid_n, m / P, rem / OW
  bool div_cta = false, div_img = false;
};

// The implicit-im2col A tile (conv_implicit.h describes the scheme).
class ConvA : public ATileSource {
 public:
  explicit ConvA(const ConvGeom& g) : g_(g) {}

  void alloc(KernelBuilder& kb, uint32_t per_thread) override {
    n_ = per_thread;
    for (uint32_t i = 0; i < n_; ++i) {
      base_.push_back(kb.reg());
      hm_.push_back(kb.reg());
      wm_.push_back(kb.reg());
      addr_.push_back(kb.reg());
      p_.push_back(kb.pred());
    }
    for (uint32_t u = 0; u < g_.subs; ++u) {
      hbit_.push_back(kb.reg());
      wbit_.push_back(kb.reg());
      koff_.push_back(kb.reg());
    }
    mbase_ = kb.reg(), t_ = kb.reg(), u_ = kb.reg();
    cb_ = g_.blocks && g_.nb > 1 ? kb.reg() : kRZ;
    q_ = kb.pred();
  }
  uint8_t setup_scratch(uint32_t i) const override { return addr_[i]; }

  void begin(KernelBuilder& kb, uint8_t tid) override {
    // The CTA's first GEMM row: (ctaid / grid_n) bm.
    kb.s2r(mbase_, Special::ctaid);
    if (g_.div_cta) div(kb, mbase_, mbase_, g_.by);
    kb.alui(Op::imul, mbase_, mbase_, int32_t(g_.bm));
    if (cb_ != kRZ) kb.mov(cb_, 0);
    for (uint32_t u = 0; u < g_.subs; ++u) {
      kb.mov(hbit_[u], 1);
      kb.mov(wbit_[u], 1);
      kb.mov(koff_[u], 0);
      if (g_.blocks || g_.tpt == 1) continue;
      // The thread's 16-byte column j holds tap j / (cp e / 16) of each K
      // tile (taps j subs + u when a chunk holds several): start that many taps in.
      kb.alui(Op::and_, t_, tid, int32_t(g_.chunks_row - 1));
      if (g_.subs > 1) {
        kb.alui(Op::shl, t_, t_, int32_t(__builtin_ctz(g_.subs)));
        if (u) kb.alui(Op::iadd, t_, t_, int32_t(u));
      } else {
        kb.alui(Op::shr, t_, t_, int32_t(__builtin_ctz(g_.cpt_bytes / 16)));
      }
      kb.alu(Op::shl, wbit_[u], wbit_[u], t_);
      kb.alui(Op::imul, koff_[u], t_, int32_t(ds()));
      wrap(kb, u);
    }
  }

  void chunk(KernelBuilder& kb, uint32_t i, uint8_t row, uint8_t col) override {
    const uint8_t m = t_, base = base_[i], hm = hm_[i], wm = wm_[i], c = addr_[i];
    kb.alu(Op::iadd, m, mbase_, row);
    kb.setpi(Op::isetp, p_[i], Cmp::ge, m, int32_t(g_.M));  // padding row of the tile
    // n = m / P, rem = m - n P, oh = rem / OW, ow = rem - oh OW.
    if (g_.div_img) div(kb, hm, m, g_.img);
    else kb.mov(hm, 0);
    kb.alui(Op::imul, wm, hm, int32_t(g_.P));
    kb.alu(Op::isub, wm, m, wm);
    div(kb, m, wm, g_.row);
    kb.alui(Op::imul, base, m, int32_t(g_.OW));
    kb.alu(Op::isub, wm, wm, base);
    // h0 = oh sh - pt, w0 = ow sw - pl.
    kb.alui(Op::imul, m, m, int32_t(g_.sh));
    kb.alui(Op::iadd, m, m, -int32_t(g_.pt));
    kb.alui(Op::imul, wm, wm, int32_t(g_.sw));
    kb.alui(Op::iadd, wm, wm, -int32_t(g_.pl));
    // base = ((n H + h0) W + w0) cp e + the chunk's channel offset in its tap.
    kb.alui(Op::imul, base, hm, int32_t(g_.H));
    kb.alu(Op::iadd, base, base, m);
    kb.alui(Op::imul, base, base, int32_t(g_.W));
    kb.alu(Op::iadd, base, base, wm);
    kb.alui(Op::imul, base, base, int32_t(g_.cpt_bytes));
    if (g_.blocks) {
      kb.alu(Op::iadd, base, base, col);
    } else if (g_.subs == 1) {
      kb.alui(Op::and_, c, col, int32_t(g_.cpt_bytes - 1));
      kb.alu(Op::iadd, base, base, c);
    }
    // Validity masks: bit r where 0 <= h0 + r dh < H (clamping leaves it unchanged).
    auto mask = [&](uint8_t out, uint8_t v0, uint32_t taps, uint32_t dil, uint32_t lim) {
      kb.mov(out, 0);
      for (uint32_t r = 0; r < taps; ++r) {
        kb.alui(Op::iadd, c, v0, int32_t(r * dil));
        kb.alui(Op::imax, u_, c, 0);
        kb.alui(Op::imin, u_, u_, int32_t(lim - 1));
        kb.setp(Op::isetp, q_, Cmp::eq, u_, c);
        kb.alui(Op::or_, out, out, int32_t(1u << r)).guard = q_;
      }
    };
    mask(hm, m, g_.R, g_.dh, g_.H);
    mask(m, wm, g_.S, g_.dw, g_.W);  // h0 is dead: the w mask goes through m
    kb.mov_r(wm, m);
    kb.mov(hm, 0).guard = p_[i];
  }

  void load(KernelBuilder& kb, uint8_t st) override {
    // One predicated load per tap piece of each chunk: 16 bytes, or cp e
    // bytes for each of a chunk's subs taps.
    const uint32_t width = 16 / g_.subs, words = width / 4;
    for (uint32_t u = 0; u < g_.subs; ++u) {
      for (uint32_t i = 0; i < n_; ++i) {
        kb.alu(Op::and_, addr_[i], hm_[i], hbit_[u]);
        kb.setpi(Op::isetp, p_[i], Cmp::ne, addr_[i], 0);
      }
      for (uint32_t i = 0; i < n_; ++i) {
        kb.alu(Op::and_, addr_[i], wm_[i], wbit_[u]);
        kb.setpi(Op::isetp, p_[i], Cmp::ne, addr_[i], 0).guard = p_[i];
      }
      for (uint32_t i = 0; i < n_; ++i) kb.alu(Op::iadd, addr_[i], base_[i], koff_[u]);
      for (uint32_t i = 0; i < n_; ++i) {
        const uint8_t dst = uint8_t(st + 4 * i + words * u);
        for (uint32_t w = 0; w < words; ++w) {
          Instr& z = kb.mov(uint8_t(dst + w), 0);
          z.guard = p_[i];
          z.guard_neg = true;
        }
        kb.ldg(dst, kTcBufA, addr_[i], 0, uint8_t(width)).guard = p_[i];
      }
    }
  }

  // As load(), by cp.async straight into shared memory: @p copies the
  // piece, @!p stores zeros there (CUTLASS's zero-fill; the slot is read only
  // after the wait and the barrier, so the order of the two cannot matter).
  void copy_async(KernelBuilder& kb, uint32_t i, uint8_t dst, uint8_t zero) override {
    const uint32_t width = 16 / g_.subs;
    for (uint32_t u = 0; u < g_.subs; ++u) {
      kb.alu(Op::and_, addr_[i], hm_[i], hbit_[u]);
      kb.setpi(Op::isetp, p_[i], Cmp::ne, addr_[i], 0);
      kb.alu(Op::and_, addr_[i], wm_[i], wbit_[u]);
      kb.setpi(Op::isetp, p_[i], Cmp::ne, addr_[i], 0).guard = p_[i];
      kb.alu(Op::iadd, addr_[i], base_[i], koff_[u]);
      Instr& z = kb.sts(dst, int32_t(u * width), zero, uint8_t(width));
      z.guard = p_[i];
      z.guard_neg = true;
      kb.ldgsts(kTcBufA, addr_[i], 0, dst, int32_t(u * width), uint8_t(width)).guard = p_[i];
    }
  }
  bool zero_fills() const override { return true; }

  void advance(KernelBuilder& kb) override {
    for (uint32_t u = 0; u < g_.subs; ++u) {
      if (g_.blocks) {
        // Next channel block of the tap, else the next tap.
        if (g_.nb > 1) {
          kb.alui(Op::iadd, cb_, cb_, 1);
          kb.alui(Op::iadd, koff_[u], koff_[u], int32_t(g_.bk * g_.e));
          kb.setpi(Op::isetp, q_, Cmp::ge, cb_, int32_t(g_.nb));
          kb.mov(cb_, 0).guard = q_;
          kb.alui(Op::shl, wbit_[u], wbit_[u], 1).guard = q_;
          kb.alui(Op::iadd, koff_[u], koff_[u], int32_t(ds()) - int32_t(g_.nb * g_.bk * g_.e)).guard = q_;
        } else {
          kb.alui(Op::shl, wbit_[u], wbit_[u], 1);
          kb.alui(Op::iadd, koff_[u], koff_[u], int32_t(ds()));
        }
      } else {
        kb.alui(Op::shl, wbit_[u], wbit_[u], int32_t(g_.tpt));
        kb.alui(Op::iadd, koff_[u], koff_[u], int32_t(g_.tpt * ds()));
      }
      wrap(kb, u);
    }
  }

 private:
  // Byte offsets of one filter column and one filter row.
  uint32_t ds() const { return g_.dw * g_.cpt_bytes; }
  uint32_t dr() const { return g_.dh * g_.W * g_.cpt_bytes; }
  // Past the last filter column: back to column 0 of the next row (as many
  // times as one step can wrap).
  void wrap(KernelBuilder& kb, uint32_t u) {
    const uint32_t step = g_.blocks ? 1 : g_.tpt, times = (g_.S - 1 + step) / g_.S;
    for (uint32_t i = 0; i < times; ++i) {
      kb.setpi(Op::isetp, q_, Cmp::ge, wbit_[u], int32_t(1u << g_.S));
      kb.alui(Op::shr, wbit_[u], wbit_[u], int32_t(g_.S)).guard = q_;
      kb.alui(Op::shl, hbit_[u], hbit_[u], 1).guard = q_;
      kb.alui(Op::iadd, koff_[u], koff_[u], int32_t(dr()) - int32_t(g_.S * ds())).guard = q_;
    }
  }
  static void div(KernelBuilder& kb, uint8_t d, uint8_t x, const Magic& mg) {
    if (mg.mul != 1) kb.alui(Op::imul, d, x, int32_t(mg.mul));
    else if (d != x) kb.mov_r(d, x);
    if (mg.shift) kb.alui(Op::shr, d, d, int32_t(mg.shift));
  }

  ConvGeom g_;
  uint32_t n_ = 0;
  std::vector<uint8_t> base_, hm_, wm_, addr_, p_;
  std::vector<uint8_t> hbit_, wbit_, koff_;  // per tap piece: 1 << r, 1 << s, byte offset of (r, s, channel block)
  uint8_t mbase_ = kRZ, t_ = kRZ, u_ = kRZ, cb_ = kRZ, q_ = kPT;
};

}  // namespace

bool use_conv_sm80(const GpuConfig& cfg, DType in) {
  return cfg.tensor_core.mma == MmaKind::ampere_mma_sync && (in == DType::fp16 || in == DType::bf16 || in == DType::int8);
}

void lower_conv_implicit(const GpuConfig& cfg, const ConvSpec& spec, ConvPlan& plan) {
  check_tc_path(cfg, spec.in, spec.acc, spec.name);
  const auto bad = [&](const std::string& why) { throw GpuLoweringError(spec.name + ": " + why); };
  if (spec.batch == 0 || spec.c == 0 || spec.h == 0 || spec.w == 0 || spec.k == 0) bad("empty convolution");
  if (spec.r == 0 || spec.s == 0 || spec.r > 16 || spec.s > 16) bad("filter taps must be 1..16 per dimension");
  if (spec.stride_h == 0 || spec.stride_w == 0 || spec.dil_h == 0 || spec.dil_w == 0) bad("zero stride or dilation");
  if (spec.h + spec.pad_t + spec.pad_b < uint64_t(spec.dil_h) * (spec.r - 1) + 1 ||
      spec.w + spec.pad_l + spec.pad_r < uint64_t(spec.dil_w) * (spec.s - 1) + 1)
    bad("filter larger than the padded input");

  const uint32_t e = static_cast<uint32_t>(dtype_bytes(spec.in));
  ConvLayout& L = plan.layout;
  const uint64_t oh = spec.oh(), ow = spec.ow();
  L.m = spec.batch * oh * ow;
  L.n = spec.k;
  // Ampere: the cp.async multistage kernel (sm80_mainloop.h), K tiles of
  // 64 bytes (int8: 64 channels, as CUTLASS's int8 sm80 convolutions).
  const MmaShape& mma = mma_shape(cfg.tensor_core.mma);
  const bool sm80 = use_conv_sm80(cfg, spec.in), kmaj = mma.b_k_major(spec.in);
  if (kmaj && !sm80) bad(std::string(dtype_name(spec.in)) + " on " + mma.name() + " needs the sm80 kernel");
  GemmTiling t = choose_tiling(cfg, GpuGemmSpec{spec.name, L.m, L.n, 1, spec.in, spec.acc});
  if (sm80) t.bk = 64 / e;
  if (spec.sparse) {  // 2:4 weights on mma.sp (gemm_sm80_sparse.h)
    check_sparse_path(cfg, spec.in, spec.acc, spec.name);
    t = choose_tiling_sparse(cfg, L.m, L.n, spec.in);
  }
  const uint32_t bk = t.bk;
  if (spec.c >= bk) {
    L.cp = round_up(spec.c, bk);
  } else {
    // A power of two >= C of at least 4 bytes (the narrowest LDG).
    L.cp = 4 / e;
    while (L.cp < spec.c) L.cp *= 2;
  }
  L.k = uint64_t(spec.r) * spec.s * L.cp;
  const GpuGemmSpec view{spec.name, L.m, L.n, L.k, spec.in, spec.acc};
  plan.tiling = t;
  const uint32_t ce = out_bytes(view, spec.ep);
  if (spec.ep.out16 && spec.sparse) bad("16-bit output on the 2:4 sparse kernel");
  if (spec.ep.out8 && spec.sparse) bad("int8 output on the 2:4 sparse kernel (its epilogue writes fp32 C)");
  GpuGemmLayout& g = L.g;
  g.mp = round_up(L.m, t.bm);
  g.np = round_up(L.n, t.bn);
  g.kp = round_up(L.k, t.bk);
  g.dot_group = mma.dot_group(spec.in);
  g.in_bytes = e;
  g.out_bytes = ce;
  g.b_k_major = kmaj && !spec.sparse;  // int8 on mma.sync: weights as np rows of kp (KRSC, channels padded)
  g.lda = 0;
  g.ldb = g.b_k_major ? g.kp * e : g.np * e;
  g.ldc = g.np * ce;
  L.x = g.a = 0;
  uint64_t b_bytes = (g.b_k_major ? g.np : g.kp) * g.ldb;
  g.b = round_up(L.x + spec.batch * spec.h * spec.w * L.cp * e, 256);
  if (spec.sparse) b_bytes = plan_sparse_layout(g, t, spec.in, g.b) - g.b;  // compressed weights + metadata
  g.c = round_up(g.b + b_bytes, 256);
  g.bias = round_up(g.c + g.mp * g.ldc, 256);
  g.bytes = spec.ep.bias ? round_up(g.bias + g.np * 4, 256) : g.bias;
  L.res = g.bytes;
  if (spec.ep.residual) g.bytes = round_up(L.res + g.mp * g.ldc, 256);
  if (g.b >= (uint64_t(1) << 31) || b_bytes >= (uint64_t(1) << 31) || g.mp * g.ldc >= (uint64_t(1) << 31))
    bad("tensors beyond 32-bit offsets");

  ConvGeom geo;
  geo.e = e;
  geo.bk = t.bk;
  geo.bm = t.bm;
  geo.chunks_row = t.bk * e / 16;
  geo.blocks = L.cp >= t.bk;
  geo.nb = geo.blocks ? uint32_t(L.cp / t.bk) : 1;
  geo.tpt = geo.blocks ? 1 : uint32_t(t.bk / L.cp);
  geo.cpt_bytes = uint32_t(L.cp * e);
  geo.subs = geo.cpt_bytes < 16 ? 16 / geo.cpt_bytes : 1;
  if (spec.s + geo.tpt > 30) bad("filter too wide for the tap bit masks");
  geo.R = spec.r, geo.S = spec.s;
  geo.H = uint32_t(spec.h), geo.W = uint32_t(spec.w);
  geo.P = uint32_t(oh * ow), geo.OW = uint32_t(ow);
  geo.sh = spec.stride_h, geo.sw = spec.stride_w, geo.dh = spec.dil_h, geo.dw = spec.dil_w;
  geo.pt = spec.pad_t, geo.pl = spec.pad_l;
  geo.M = uint32_t(L.m);
  const uint64_t grid_m = g.mp / t.bm, grid_n = g.np / t.bn, ctas = grid_m * grid_n;
  geo.div_cta = grid_n > 1;
  geo.div_img = spec.batch > 1;
  if ((geo.div_cta && !find_magic(grid_n, ctas, geo.by)) || (geo.div_img && !find_magic(geo.P, L.m, geo.img)) ||
      !find_magic(ow, geo.P, geo.row))
    bad("no exact 32-bit division constants for this many output pixels");

  ConvA src(geo);
  if (spec.sparse) {
    build_sparse_launch(cfg, spec.name + "_conv_sm80_sp24", spec.in, spec.acc, t, g, spec.ep, src, 0, plan.kernel,
                        plan.launch, plan.tiling, L.res);
    return;
  }
  uint32_t stages = 2;
  if (sm80) {
    stages = sm80_stages(cfg, t, spec.in, kmaj, g.kp / t.bk, 4);
    plan.tiling.stages = stages;
    plan.kernel = build_sm80_kernel(
        TcKernelDesc{spec.name + "_conv_sm80", spec.in, spec.acc, t, g.kp, g.ldb, g.ldc, spec.ep, &mma}, stages, src);
  } else {
    plan.kernel = build_tc_kernel(
        TcKernelDesc{spec.name + "_conv_implicit_tc", spec.in, spec.acc, t, g.kp, g.ldb, g.ldc, spec.ep, &mma}, src);
  }

  Launch& l = plan.launch;
  l.kernel = &plan.kernel;
  // Buffers A, B, C[, bias][, residual] (a residual without bias leaves slot 3 unused).
  const uint32_t nbuf = spec.ep.residual ? 5 : spec.ep.bias ? 4 : 3;
  l.ctas = static_cast<uint32_t>(ctas);
  l.threads = tc_threads(t);
  l.shared_bytes = epilogue_shared(sm80 ? stages * sm80_stage_bytes(t, spec.in, kmaj) : tc_shared_bytes(t, spec.in), t,
                                   mma, spec.ep);
  l.nbufs = nbuf;
  l.bases.resize(size_t(l.ctas) * nbuf);
  for (uint64_t c = 0; c < ctas; ++c) {
    const uint64_t by = c / grid_n, bx = c % grid_n;
    l.bases[c * nbuf + kTcBufA] = L.x;  // rows from %ctaid
    l.bases[c * nbuf + kTcBufB] = g.b + bx * t.bn * (kmaj ? g.ldb : e);
    l.bases[c * nbuf + kTcBufC] = g.c + by * t.bm * g.ldc + bx * t.bn * ce;
    if (nbuf > kTcBufBias) l.bases[c * nbuf + kTcBufBias] = g.bias + bx * t.bn * 4;
    if (spec.ep.residual) l.bases[c * nbuf + kTcBufRes] = L.res + by * t.bm * g.ldc + bx * t.bn * ce;
  }
  if (plan.kernel.regs_per_thread > cfg.occupancy.max_registers_per_thread)
    bad("kernel needs " + std::to_string(plan.kernel.regs_per_thread) + " registers");
}

namespace {

// The weights as the GEMM's dense B: l.k x n row-major, row (kh S + kw) cp + c (zeros: padding channels).
std::vector<uint8_t> dense_b(const ConvLayout& l, const ConvSpec& spec, const uint8_t* w) {
  const uint64_t e = l.g.in_bytes;
  std::vector<uint8_t> b(l.k * l.n * e, 0);
  for (uint64_t r = 0; r < spec.r; ++r)
    for (uint64_t s = 0; s < spec.s; ++s)
      for (uint64_t c = 0; c < spec.c; ++c)
        for (uint64_t o = 0; o < spec.k; ++o)
          std::memcpy(&b[(((r * spec.s + s) * l.cp + c) * l.n + o) * e],
                      w + (((o * spec.r + r) * spec.s + s) * spec.c + c) * e, e);
  return b;
}

}  // namespace

void stage_conv_inputs(const ConvLayout& l, const ConvSpec& spec, const uint8_t* x, const uint8_t* w,
                       const float* bias, GlobalMemory& mem) {
  mem.resize(l.g.bytes);
  const uint64_t e = l.g.in_bytes, pixels = spec.batch * spec.h * spec.w;
  for (uint64_t p = 0; p < pixels; ++p) mem.write(l.x + p * l.cp * e, x + p * spec.c * e, spec.c * e);
  if (l.g.sparse) {  // pruned 2:4 in the kernel's K order, compressed, with metadata
    stage_sparse_b(l.g, l.k, l.n, dense_b(l, spec, w).data(), mem);
    if (spec.ep.bias) stage_bias(l.g, spec.k, bias, mem);
    return;
  }
  if (l.g.b_k_major) {
    // B row o (output channel), column (kh S + kw) cp + c: KRSC with each tap's channels padded to cp.
    for (uint64_t o = 0; o < spec.k; ++o)
      for (uint64_t rs = 0; rs < uint64_t(spec.r) * spec.s; ++rs)
        mem.write(l.g.b + o * l.g.ldb + rs * l.cp * e, w + (o * spec.r * spec.s + rs) * spec.c * e, spec.c * e);
    if (spec.ep.bias) stage_bias(l.g, spec.k, bias, mem);
    return;
  }
  // B row (kh S + kw) cp + c, column o = w[o][kh][kw][c].
  std::vector<uint8_t> row(spec.k * e);
  for (uint64_t r = 0; r < spec.r; ++r)
    for (uint64_t s = 0; s < spec.s; ++s)
      for (uint64_t c = 0; c < spec.c; ++c) {
        for (uint64_t o = 0; o < spec.k; ++o)
          std::memcpy(&row[o * e], w + (((o * spec.r + r) * spec.s + s) * spec.c + c) * e, e);
        mem.write(l.g.b + ((r * spec.s + s) * l.cp + c) * l.g.ldb, row.data(), row.size());
      }
  if (spec.ep.bias) stage_bias(l.g, spec.k, bias, mem);
}

void stage_conv_residual(const ConvLayout& l, const ConvSpec& spec, const float* res, GlobalMemory& mem) {
  if (spec.ep.out8) {  // int8: res holds q rs exactly
    std::vector<int8_t> row(l.n);
    for (uint64_t i = 0; i < l.m; ++i) {
      for (uint64_t j = 0; j < l.n; ++j) row[j] = int8_t(std::lround(res[i * l.n + j] / spec.ep.rs));
      mem.write(l.res + i * l.g.ldc, row.data(), l.n);
    }
    return;
  }
  if (!spec.ep.out16) {
    for (uint64_t i = 0; i < l.m; ++i) mem.write(l.res + i * l.g.ldc, res + i * l.n, l.n * 4);
    return;
  }
  std::vector<uint16_t> row(l.n);
  for (uint64_t i = 0; i < l.m; ++i) {
    for (uint64_t j = 0; j < l.n; ++j) row[j] = narrow16(spec.in, res[i * l.n + j]);
    mem.write(l.res + i * l.g.ldc, row.data(), l.n * 2);
  }
}

std::vector<uint32_t> read_conv_output(const ConvLayout& l, const ConvSpec& spec, const GlobalMemory& mem) {
  std::vector<uint32_t> c(l.m * l.n);
  if (spec.ep.out8) {  // int8 C: the bits, zero-extended
    std::vector<uint8_t> row(l.n);
    for (uint64_t i = 0; i < l.m; ++i) {
      mem.read(l.g.c + i * l.g.ldc, row.data(), l.n);
      for (uint64_t j = 0; j < l.n; ++j) c[i * l.n + j] = row[j];
    }
    return c;
  }
  if (spec.ep.out16) {
    std::vector<uint16_t> row(l.n);
    for (uint64_t i = 0; i < l.m; ++i) {
      mem.read(l.g.c + i * l.g.ldc, row.data(), l.n * 2);
      for (uint64_t j = 0; j < l.n; ++j) c[i * l.n + j] = row[j];
    }
    return c;
  }
  for (uint64_t i = 0; i < l.m; ++i) mem.read(l.g.c + i * l.g.ldc, &c[i * l.n], l.n * 4);
  return c;
}

std::vector<uint32_t> reference_conv_tc(const ConvLayout& l, const ConvSpec& spec, const uint8_t* x, const uint8_t* w,
                                        const float* bias, const float* res) {
  const uint64_t e = l.g.in_bytes, oh = spec.oh(), ow = spec.ow();
  // im2col in the kernel's K order (zeros: padding taps and channels).
  std::vector<uint8_t> a(l.m * l.k * e, 0), b;
  for (uint64_t m = 0; m < l.m; ++m) {
    const uint64_t n = m / (oh * ow), y = m / ow % oh, xo = m % ow;
    for (uint64_t r = 0; r < spec.r; ++r)
      for (uint64_t s = 0; s < spec.s; ++s) {
        const int64_t ih = int64_t(y * spec.stride_h + r * spec.dil_h) - int64_t(spec.pad_t);
        const int64_t iw = int64_t(xo * spec.stride_w + s * spec.dil_w) - int64_t(spec.pad_l);
        if (ih < 0 || iw < 0 || ih >= int64_t(spec.h) || iw >= int64_t(spec.w)) continue;
        std::memcpy(&a[(m * l.k + (r * spec.s + s) * l.cp) * e],
                    x + ((n * spec.h + uint64_t(ih)) * spec.w + uint64_t(iw)) * spec.c * e, spec.c * e);
      }
  }
  b = dense_b(l, spec, w);
  auto out = l.g.sparse ? reference_gemm_sparse(spec.in, spec.acc, l.m, l.n, l.k, l.g.kp, a.data(), b.data(),
                                                l.g.dot_group)
                        : reference_gemm_tc(spec.in, spec.acc, l.m, l.n, l.k, l.g.kp, a.data(), b.data(), l.g.dot_group);
  reference_epilogue(spec.ep, l.m, l.n, bias, out, res, spec.in);
  return out;
}

}  // namespace xpu::lowering::gpu
