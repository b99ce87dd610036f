#include "sim/lowering/gpu/nn_kernels.h"

#include <algorithm>
#include <limits>

#include "models/gpu/kernel_builder.h"
#include "sim/common/errors.h"
#include "sim/lowering/gpu/conv_implicit.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/numerics/float_bits.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

constexpr float kLog2e = 1.4426950408889634f;

int32_t fbits(float f) { return static_cast<int32_t>(float_to_bits(f)); }
uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

const char* row_name(RowOp op) {
  static const char* const names[] = {"row_softmax", "row_layernorm", "row_mean", "row_rmsnorm", "row_argmax"};
  return names[static_cast<int>(op)];
}

// Registers a thread of the single-pass 16-bit row kernel may take: a whole
// 1024-thread CTA fits the register file (64 on every configured SM).
uint32_t rows16_register_budget(const GpuConfig& cfg) {
  return std::min(cfg.occupancy.max_registers_per_thread, cfg.occupancy.max_registers / 1024);
}

}  // namespace

namespace {

// One level of a shared-memory tree: threads with idx < st combine their
// word at addr with the word `gap` bytes on (a, b, q: scratch).
void emit_tree_step(KernelBuilder& kb, Op op, uint8_t idx, uint32_t st, uint8_t addr, int32_t gap, uint8_t a,
                    uint8_t b, uint8_t q) {
  kb.setpi(Op::isetp, q, Cmp::lt, idx, static_cast<int32_t>(st));
  kb.lds(a, addr, 0).guard = q;
  kb.lds(b, addr, gap).guard = q;
  kb.alu(op, a, a, b).guard = q;
  kb.sts(addr, 0, a).guard = q;
}

}  // namespace

void emit_cta_reduce(KernelBuilder& kb, uint8_t r, Op op, uint32_t threads, uint8_t tid, uint8_t soff, uint8_t a,
                     uint8_t b, uint8_t q, bool reuse_shared) {
  kb.sts(soff, 0, r);
  kb.bar();
  for (uint32_t st = threads / 2; st >= 1; st /= 2) {
    emit_tree_step(kb, op, tid, st, soff, static_cast<int32_t>(4 * st), a, b, q);
    kb.bar();
  }
  kb.lds(r, kRZ, 0);
  if (reuse_shared) kb.bar();
}

Launch& NnPlan::finish(KernelBuilder& kb, uint32_t threads, uint32_t shared_bytes) {
  kb.exit();
  kernel = kb.finish();
  launch.kernel = &kernel;
  launch.threads = threads;
  launch.shared_bytes = shared_bytes;
  return launch;
}

void set_bases(Launch& l, uint32_t ctas, uint32_t nbufs, const std::vector<const std::vector<uint64_t>*>& per_cta,
               const std::vector<uint64_t>& fixed) {
  l.ctas = ctas;
  l.nbufs = nbufs;
  l.bases.assign(size_t(ctas) * nbufs, 0);
  for (uint32_t c = 0; c < ctas; ++c)
    for (uint32_t b = 0; b < nbufs; ++b)
      l.bases[size_t(c) * nbufs + b] = b < per_cta.size() && per_cta[b] ? (*per_cta[b])[c] : fixed.at(b);
}

void lower_map(const GpuConfig&, const MapSpec& s, NnPlan& plan) {
  const size_t nops = s.op == MapOp::add || s.op == MapOp::mul ? 2 : s.op == MapOp::affine ? 3 : 1;
  if (s.rows == 0 || s.n == 0 || s.in.size() != nops || s.stride.size() != nops || s.out.size() != s.rows ||
      s.rows > 0xFFFFFFFFull || s.n > 0x7FFFFFFFull)
    throw GpuLoweringError("map kernel: malformed spec");
  for (const auto& v : s.in)
    if (v.size() != s.rows) throw GpuLoweringError("map kernel: operand bases per row missing");
  const uint32_t T = s.n >= 256 ? 256 : static_cast<uint32_t>((s.n + 31) / 32 * 32);
  const uint64_t iters = ceil_div(s.n, T);
  static const char* const names[] = {"act", "add", "mul", "affine", "copy"};
  KernelBuilder kb(std::string("map_") + (s.op == MapOp::act ? activation_name(s.act) : names[static_cast<int>(s.op)]));
  const uint8_t tid = kb.reg(), i = kb.reg(), k = kb.reg(), off1 = kb.reg();
  uint8_t off[3] = {kRZ, kRZ, kRZ};
  const uint8_t x = kb.reg(), b = kb.reg(), c = kb.reg(), y = kb.reg(), t = kb.reg(), u = kb.reg(), m1 = kb.reg();
  const uint8_t p = kb.pred(), q = kb.pred();
  const uint8_t ap = s.op == MapOp::act && activation_needs(s.act).predicate ? kb.pred() : kPT;
  const bool h = is_act16(s.io);
  const uint32_t eb = act_bytes(s.io);
  kb.s2r(tid, Special::tid);
  kb.mov_r(i, tid);
  kb.alui(Op::shl, off1, tid, h ? 1 : 2);
  for (size_t o = 0; o < nops; ++o) {
    if (s.stride[o] == 1 && s.in_bytes(o) == eb) off[o] = off1;
    else if (s.stride[o] >= 1) {
      off[o] = kb.reg();
      kb.alui(Op::imul, off[o], tid, static_cast<int32_t>(s.stride[o] * s.in_bytes(o)));
    }
  }
  kb.mov(m1, fbits(-1.0f));
  // A 16-bit operand: LDG.U16, widened to fp32 (a copy keeps the bits).
  auto load = [&](uint8_t d, size_t o) {
    const uint8_t w = static_cast<uint8_t>(s.in_bytes(o));
    kb.ldg(d, static_cast<uint8_t>(o), off[o], 0, w).guard = p;
    if (w == 2 && s.op != MapOp::copy) emit_widen16(kb, s.io, d, d);
  };
  loop(kb, k, q, iters, [&] {
    kb.setpi(Op::isetp, p, Cmp::lt, i, static_cast<int32_t>(s.n));
    load(x, 0);
    if (nops > 1) load(b, 1);
    if (nops > 2) load(c, 2);
    uint8_t res = y;
    switch (s.op) {
      case MapOp::act: emit_activation(kb, s.act, s.p0, s.p1, y, x, ActScratch{t, u, m1, ap}); break;
      case MapOp::add: kb.alu(Op::fadd, y, x, b); break;
      case MapOp::mul: kb.alu(Op::fmul, y, x, b); break;
      case MapOp::affine: kb.alu(Op::ffma, y, x, b, c); break;
      case MapOp::copy: res = x; break;
    }
    if (h && s.op != MapOp::copy) emit_narrow16(kb, s.io, res, res, t);  // the rounding point
    kb.stg(static_cast<uint8_t>(nops), off1, 0, res, static_cast<uint8_t>(eb)).guard = p;
    kb.alui(Op::iadd, i, i, static_cast<int32_t>(T));
    kb.alui(Op::iadd, off1, off1, static_cast<int32_t>(eb * T));
    for (size_t o = 0; o < nops; ++o)
      if (off[o] != off1 && off[o] != kRZ)
        kb.alui(Op::iadd, off[o], off[o], static_cast<int32_t>(uint64_t(T) * s.stride[o] * s.in_bytes(o)));
  });
  Launch& l = plan.finish(kb, T, 0);
  std::vector<const std::vector<uint64_t>*> per;
  for (const auto& v : s.in) per.push_back(&v);
  per.push_back(&s.out);
  set_bases(l, static_cast<uint32_t>(s.rows), static_cast<uint32_t>(nops + 1), per, {});
}

namespace {

// Registers of the single-pass kernel besides the row and its parameters:
// eleven scalars (tid, the shared-memory and two row offsets, the
// accumulator, six scratch) and up to three the builder skips to align
// the parameters' block after the row's.
constexpr uint32_t kRows16Fixed = 14;

// Reduction of r over the CTA's T threads (a power of two >= 32) as
// production kernels do it with warp shuffles, in two levels with two
// barriers instead of one a level: each warp's tree through shared memory
// (s[32w + i] op= s[32w + i + st], st = 16 .. 1; a warp's lanes run in
// step, so no barrier), then, after a barrier, warp 0's tree over the warp
// results s[32 i] (st = T/64 .. 1), a barrier, and every thread reads s[0].
// lane, t128: scratch registers for tid & 31 and tid * 128. One more
// barrier after the read, so the words may be written again.
void emit_warp_tree_reduce(KernelBuilder& kb, uint8_t r, Op op, uint32_t T, uint8_t tid, uint8_t soff, uint8_t a,
                           uint8_t b, uint8_t q, uint8_t lane, uint8_t t128) {
  kb.alui(Op::and_, lane, tid, 31);
  kb.sts(soff, 0, r);
  for (uint32_t st = 16; st >= 1; st /= 2) emit_tree_step(kb, op, lane, st, soff, static_cast<int32_t>(4 * st), a, b, q);
  kb.bar();
  if (T > 32) {
    kb.alui(Op::shl, t128, tid, 7);
    for (uint32_t st = T / 64; st >= 1; st /= 2)
      emit_tree_step(kb, op, tid, st, t128, static_cast<int32_t>(128 * st), a, b, q);
    kb.bar();
  }
  kb.lds(r, kRZ, 0);
  kb.bar();
}

uint32_t rows16_params(RowOp op, bool has_bias) {
  return op == RowOp::layernorm ? (has_bias ? 2u : 1u) : op == RowOp::rmsnorm ? 1u : 0u;
}

// Softmax, layernorm and rmsnorm over 16-bit rows in one pass (the shape
// from rows16_shape): thread tid loads its vectors u T + tid (u < per), each
// of V elements in one 2V-byte load, once into registers and widens them to
// fp32 there; the reductions and the normalisation run on the registers;
// each result is rounded to 16 bits once, packed and stored with the same
// vector width. Predicate p: vector u exists (tid < vecs - u T).
void emit_rows16_single_pass(KernelBuilder& kb, const RowSpec& s, const Rows16Shape& sh) {
  const uint32_t T = sh.threads, V = sh.vec, per = sh.per;
  const uint64_t vecs = s.n / V;
  const uint32_t nparams = rows16_params(s.op, s.has_bias);
  const uint8_t xs = kb.reg(per * V);
  // Scale (and bias) of a vector: all of them loaded up front when they fit
  // the register budget, else a vector's worth before its outputs.
  const uint32_t pregs = nparams == 0 ? 0 : sh.prefetch ? per * V : V;
  const uint8_t ps = pregs ? kb.reg(pregs * nparams) : kRZ;
  struct {
    uint8_t tid, soff, acc, a, b, v, w, lane, t128, p, q;
  } r{kb.reg(), kb.reg(), kb.reg(), kb.reg(), kb.reg(), kb.reg(), kb.reg(), kb.reg(), kb.reg(), kb.pred(), kb.pred()};
  const uint8_t x16 = kb.reg(), x32 = kb.reg();  // tid 2V, tid 4V: the thread's row offsets
  kb.s2r(r.tid, Special::tid);
  kb.alui(Op::shl, r.soff, r.tid, 2);
  const int32_t inv_n = fbits(1.0f / float(s.n));
  const auto xr = [&](uint32_t u, uint32_t j) { return static_cast<uint8_t>(xs + u * V + j); };
  const auto pr = [&](uint32_t k, uint32_t u, uint32_t j) {
    return static_cast<uint8_t>(ps + k * pregs + (sh.prefetch ? u * V : 0) + j);
  };
  const auto guard = [&](uint32_t u) {
    kb.setpi(Op::isetp, r.p, Cmp::lt, r.tid, static_cast<int32_t>(int64_t(vecs) - int64_t(u) * T));
  };
  const auto each = [&](auto body) {
    for (uint32_t u = 0; u < per; ++u) {
      guard(u);
      for (uint32_t j = 0; j < V; ++j) body(u, j);
    }
  };
  // Vector u's fp32 parameters: 4V bytes at 4 V (u T + tid), 16 bytes a load at most.
  const auto load_params = [&](uint32_t u) {
    for (uint32_t k = 0; k < nparams; ++k)
      for (uint32_t j = 0; j < V; j += 4) {
        const uint32_t w = std::min(V, 4u) * 4;
        kb.ldg(pr(k, u, j), static_cast<uint8_t>(2 + k), x32, static_cast<int32_t>(4 * (uint64_t(u) * T * V + j)),
               static_cast<uint8_t>(w))
            .guard = r.p;
      }
  };
  auto reduce = [&](uint8_t reg, Op op) {
    emit_warp_tree_reduce(kb, reg, op, T, r.tid, r.soff, r.a, r.b, r.q, r.lane, r.t128);
  };
  kb.alui(Op::shl, x16, r.tid, __builtin_ctz(2 * V));
  kb.alui(Op::shl, x32, r.tid, __builtin_ctz(4 * V));
  // The one read of the row: every vector's load in flight at once, into the
  // upper half of its V registers (V > 1), then widened in place from the
  // low end (pair k's results land in registers 2k, 2k + 1, at or below the
  // packed register V/2 + k they come from).
  for (uint32_t u = 0; u < per; ++u) {
    guard(u);
    kb.ldg(xr(u, V / 2), 0, x16, static_cast<int32_t>(2ull * u * T * V), static_cast<uint8_t>(2 * V)).guard = r.p;
  }
  if (sh.prefetch)
    for (uint32_t u = 0; u < per; ++u) {
      guard(u);
      load_params(u);
    }
  for (uint32_t u = 0; u < per; ++u) {
    if (V == 1) {
      emit_widen16(kb, s.io, xr(u, 0), xr(u, 0));
      continue;
    }
    for (uint32_t k = 0; k < V / 2; ++k) {
      emit_widen16(kb, s.io, xr(u, 2 * k), xr(u, V / 2 + k), false);
      emit_widen16(kb, s.io, xr(u, 2 * k + 1), xr(u, V / 2 + k), true);
    }
  }
  // Stores vector u's results (w per element, from `out`), each rounded to
  // 16 bits once (the rounding point) and packed two to a register into the
  // vector's low registers, whose elements are consumed by then.
  const auto store = [&](auto out) {
    for (uint32_t u = 0; u < per; ++u) {
      guard(u);
      if (!sh.prefetch) load_params(u);
      for (uint32_t j = 0; j < V; ++j) {
        out(u, j);
        emit_narrow16(kb, s.io, r.w, r.w, r.a);
        if (j % 2 == 0) {
          kb.mov_r(xr(u, j / 2), r.w);
        } else {
          kb.alui(Op::shl, r.w, r.w, 16);
          kb.alu(Op::or_, xr(u, j / 2), xr(u, j / 2), r.w);
        }
      }
      kb.stg(1, x16, static_cast<int32_t>(2ull * u * T * V), xr(u, 0), static_cast<uint8_t>(2 * V)).guard = r.p;
    }
  };
  switch (s.op) {
    case RowOp::softmax:
      kb.mov(r.acc, fbits(-std::numeric_limits<float>::infinity()));
      each([&](uint32_t u, uint32_t j) { kb.alu(Op::fmax, r.acc, r.acc, xr(u, j)).guard = r.p; });
      reduce(r.acc, Op::fmax);
      kb.alui(Op::fmul, r.v, r.acc, fbits(-1.0f));
      kb.mov(r.acc, 0);
      each([&](uint32_t u, uint32_t j) {
        kb.alu(Op::fadd, xr(u, j), xr(u, j), r.v);
        kb.alui(Op::fmul, xr(u, j), xr(u, j), fbits(kLog2e));
        kb.alu(Op::ex2, xr(u, j), xr(u, j), kRZ);
        kb.alu(Op::fadd, r.acc, r.acc, xr(u, j)).guard = r.p;
      });
      reduce(r.acc, Op::fadd);
      kb.alu(Op::rcp, r.v, r.acc, kRZ);
      store([&](uint32_t u, uint32_t j) { kb.alu(Op::fmul, r.w, xr(u, j), r.v); });
      return;
    case RowOp::layernorm:
      kb.mov(r.acc, 0);
      each([&](uint32_t u, uint32_t j) { kb.alu(Op::fadd, r.acc, r.acc, xr(u, j)).guard = r.p; });
      reduce(r.acc, Op::fadd);
      kb.alui(Op::fmul, r.v, r.acc, inv_n);       // mean
      kb.alui(Op::fmul, r.v, r.v, fbits(-1.0f));  // -mean
      kb.mov(r.acc, 0);
      each([&](uint32_t u, uint32_t j) {
        kb.alu(Op::fadd, xr(u, j), xr(u, j), r.v);  // x - mean, kept for the output
        kb.alu(Op::ffma, r.acc, xr(u, j), xr(u, j), r.acc).guard = r.p;
      });
      break;
    case RowOp::rmsnorm:
      kb.mov(r.acc, 0);
      each([&](uint32_t u, uint32_t j) { kb.alu(Op::ffma, r.acc, xr(u, j), xr(u, j), r.acc).guard = r.p; });
      break;
    default:
      throw GpuLoweringError("row kernel: no single-pass 16-bit form");
  }
  reduce(r.acc, Op::fadd);
  kb.alui(Op::fmul, r.acc, r.acc, inv_n);
  kb.alui(Op::fadd, r.acc, r.acc, fbits(s.eps));
  kb.alu(Op::rsq, r.acc, r.acc, kRZ);  // inv
  store([&](uint32_t u, uint32_t j) {
    kb.alu(Op::fmul, r.w, xr(u, j), r.acc);
    if (s.has_bias && s.op == RowOp::layernorm) kb.alu(Op::ffma, r.w, r.w, pr(0, u, j), pr(1, u, j));
    else kb.alu(Op::fmul, r.w, r.w, pr(0, u, j));
  });
}

}  // namespace

Rows16Shape rows16_shape(const GpuConfig& cfg, RowOp op, uint64_t rows, uint64_t n, bool has_bias, uint32_t align) {
  if (op != RowOp::softmax && op != RowOp::layernorm && op != RowOp::rmsnorm) return {};
  if (rows == 0 || n == 0 || n > 0x7FFFFFFFull) return {};
  uint32_t V = 8;  // gcd(8, n), no wider than the bases' alignment allows
  while (V > 1 && (n % V != 0 || align % (2 * V) != 0 || (op != RowOp::softmax && align % std::min(4 * V, 16u) != 0)))
    V /= 2;
  const uint64_t vecs = n / V;
  const uint32_t tmax = std::min<uint32_t>(cfg.occupancy.max_threads, 1024);
  const uint32_t cap = std::min<uint32_t>(rows < 256 ? 1024 : 256, tmax);
  const uint32_t budget = rows16_register_budget(cfg);
  const uint32_t np = rows16_params(op, has_bias);
  uint32_t T = 32;
  while (T < cap && T < vecs) T *= 2;
  for (; T <= tmax; T *= 2) {
    const uint64_t per = (vecs + T - 1) / T, e = per * V;
    const uint64_t fixed = kRows16Fixed + e;
    if (fixed + np * e <= budget) return {T, V, static_cast<uint32_t>(per), true};
    if (fixed + np * V <= budget) return {T, V, static_cast<uint32_t>(per), false};
  }
  return {};
}

namespace {

// The single-pass kernel over 16-bit rows (emit_rows16_single_pass).
void lower_rows16(const GpuConfig& cfg, const RowSpec& s, NnPlan& plan) {
  uint64_t bases = s.scale | s.bias;
  for (uint64_t r = 0; r < s.rows; ++r) bases |= s.x[r] | s.y[r];
  const uint32_t align = bases == 0 ? 16u : 1u << std::min(4, __builtin_ctzll(bases));  // up to 16 bytes
  const Rows16Shape sh = rows16_shape(cfg, s.op, s.rows, s.n, s.has_bias, align);
  if (sh.threads == 0) throw GpuLoweringError("row kernel: a 16-bit row too long for registers (rows16_shape)");
  KernelBuilder kb(row_name(s.op));
  emit_rows16_single_pass(kb, s, sh);
  Launch& l = plan.finish(kb, sh.threads, sh.threads * 4);
  const uint32_t budget = rows16_register_budget(cfg);
  if (plan.kernel.regs_per_thread > budget)
    throw InternalError("row kernel: " + std::to_string(plan.kernel.regs_per_thread) +
                        " registers a thread, past the budget rows16_shape counted");
  set_bases(l, static_cast<uint32_t>(s.rows), 4, {&s.x, &s.y}, {0, 0, s.scale, s.bias});
}

}  // namespace

void lower_rows(const GpuConfig& cfg, const RowSpec& s, NnPlan& plan) {
  if (s.rows == 0 || s.n == 0 || s.x.size() != s.rows || s.y.size() != s.rows || s.rows > 0xFFFFFFFFull ||
      s.n > 0x7FFFFFFFull)
    throw GpuLoweringError("row kernel: malformed spec");
  if (is_act16(s.io) && s.op != RowOp::mean) {
    if (s.op == RowOp::argmax) throw GpuLoweringError("row kernel: 16-bit rows for softmax, layernorm, rmsnorm and mean only");
    return lower_rows16(cfg, s, plan);
  }
  constexpr uint32_t T = 128;
  const uint64_t iters = ceil_div(s.n, T);
  KernelBuilder kb(row_name(s.op));
  const uint8_t tid = kb.reg(), i = kb.reg(), k = kb.reg(), off = kb.reg(), soff = kb.reg();
  const uint8_t x = kb.reg(), acc = kb.reg(), a = kb.reg(), b = kb.reg(), v = kb.reg(), w = kb.reg(),
                sc = kb.reg(), bi = kb.reg();
  const uint8_t p = kb.pred(), q = kb.pred();
  kb.s2r(tid, Special::tid);
  kb.alui(Op::shl, soff, tid, 2);
  auto pass = [&](auto body) {
    kb.mov_r(i, tid);
    kb.mov_r(off, soff);
    loop(kb, k, q, iters, [&] {
      kb.setpi(Op::isetp, p, Cmp::lt, i, static_cast<int32_t>(s.n));
      body();
      kb.alui(Op::iadd, i, i, static_cast<int32_t>(T));
      kb.alui(Op::iadd, off, off, static_cast<int32_t>(4 * T));
    });
  };
  // Shared-memory tree over the 128 threads; every thread gets the result in r.
  auto reduce = [&](uint8_t r, Op op) { emit_cta_reduce(kb, r, op, T, tid, soff, a, b, q, true); };
  const int32_t inv_n = fbits(1.0f / float(s.n));
  if (is_act16(s.io)) {
    // mean (the others are lower_rows16): 16-bit loads widened, the fp32 mean rounded once.
    kb.alui(Op::shl, x, tid, 1);  // x: the 16-bit row offset
    kb.mov(acc, 0);
    kb.mov_r(i, tid);
    loop(kb, k, q, iters, [&] {
      kb.setpi(Op::isetp, p, Cmp::lt, i, static_cast<int32_t>(s.n));
      kb.ldg(w, 0, x, 0, 2).guard = p;
      emit_widen16(kb, s.io, w, w);
      kb.alu(Op::fadd, acc, acc, w).guard = p;
      kb.alui(Op::iadd, i, i, static_cast<int32_t>(T));
      kb.alui(Op::iadd, x, x, static_cast<int32_t>(2 * T));
    });
    reduce(acc, Op::fadd);
    kb.alui(Op::fmul, acc, acc, inv_n);
    emit_narrow16(kb, s.io, acc, acc, w);
    kb.setpi(Op::isetp, q, Cmp::eq, tid, 0);
    kb.stg(1, kRZ, 0, acc, 2).guard = q;
  } else switch (s.op) {
    case RowOp::softmax:
      kb.mov(acc, fbits(-std::numeric_limits<float>::infinity()));
      pass([&] {
        kb.ldg(x, 0, off, 0).guard = p;
        kb.alu(Op::fmax, acc, acc, x).guard = p;
      });
      reduce(acc, Op::fmax);
      kb.alui(Op::fmul, v, acc, fbits(-1.0f));
      kb.mov(acc, 0);
      pass([&] {
        kb.ldg(x, 0, off, 0).guard = p;
        kb.alu(Op::fadd, w, x, v);
        kb.alui(Op::fmul, w, w, fbits(kLog2e));
        kb.alu(Op::ex2, w, w, kRZ);
        kb.stg(1, off, 0, w).guard = p;
        kb.alu(Op::fadd, acc, acc, w).guard = p;
      });
      reduce(acc, Op::fadd);
      kb.alu(Op::rcp, v, acc, kRZ);
      pass([&] {
        kb.ldg(w, 1, off, 0).guard = p;
        kb.alu(Op::fmul, w, w, v);
        kb.stg(1, off, 0, w).guard = p;
      });
      break;
    case RowOp::layernorm:
      kb.mov(acc, 0);
      pass([&] {
        kb.ldg(x, 0, off, 0).guard = p;
        kb.alu(Op::fadd, acc, acc, x).guard = p;
      });
      reduce(acc, Op::fadd);
      kb.alui(Op::fmul, v, acc, inv_n);       // mean
      kb.alui(Op::fmul, v, v, fbits(-1.0f));  // -mean
      kb.mov(acc, 0);
      pass([&] {
        kb.ldg(x, 0, off, 0).guard = p;
        kb.alu(Op::fadd, w, x, v);
        kb.alu(Op::ffma, acc, w, w, acc).guard = p;
      });
      reduce(acc, Op::fadd);
      kb.alui(Op::fmul, acc, acc, inv_n);
      kb.alui(Op::fadd, acc, acc, fbits(s.eps));
      kb.alu(Op::rsq, acc, acc, kRZ);  // inv
      pass([&] {
        kb.ldg(x, 0, off, 0).guard = p;
        kb.ldg(sc, 2, off, 0).guard = p;
        if (s.has_bias) kb.ldg(bi, 3, off, 0).guard = p;
        kb.alu(Op::fadd, w, x, v);
        kb.alu(Op::fmul, w, w, acc);
        if (s.has_bias) kb.alu(Op::ffma, w, w, sc, bi);
        else kb.alu(Op::fmul, w, w, sc);
        kb.stg(1, off, 0, w).guard = p;
      });
      break;
    case RowOp::rmsnorm:
      kb.mov(acc, 0);
      pass([&] {
        kb.ldg(x, 0, off, 0).guard = p;
        kb.alu(Op::ffma, acc, x, x, acc).guard = p;
      });
      reduce(acc, Op::fadd);
      kb.alui(Op::fmul, acc, acc, inv_n);
      kb.alui(Op::fadd, acc, acc, fbits(s.eps));
      kb.alu(Op::rsq, acc, acc, kRZ);  // inv
      pass([&] {
        kb.ldg(x, 0, off, 0).guard = p;
        kb.ldg(sc, 2, off, 0).guard = p;
        kb.alu(Op::fmul, w, x, acc);
        kb.alu(Op::fmul, w, w, sc);
        kb.stg(1, off, 0, w).guard = p;
      });
      break;
    case RowOp::argmax: {
      // The row's maximum (fmax ignores NaN), then the smallest index holding
      // it: the largest -index among matches. Indices are floats from the
      // start: float(tid) = bits(0x4B000000 | tid) - 2^23, exact below 2^23.
      kb.mov(acc, fbits(-std::numeric_limits<float>::infinity()));
      pass([&] {
        kb.ldg(x, 0, off, 0).guard = p;
        kb.alu(Op::fmax, acc, acc, x).guard = p;
      });
      reduce(acc, Op::fmax);
      kb.mov_r(v, acc);
      kb.alui(Op::or_, w, tid, 0x4B000000);
      kb.alui(Op::fadd, w, w, fbits(-8388608.0f));
      kb.alui(Op::fmul, w, w, fbits(-1.0f));  // -index of this thread's element
      kb.mov(acc, fbits(-std::numeric_limits<float>::infinity()));
      pass([&] {
        kb.mov(x, fbits(std::numeric_limits<float>::quiet_NaN()));  // never equal: lanes past the row
        kb.ldg(x, 0, off, 0).guard = p;
        kb.setp(Op::fsetp, q, Cmp::eq, x, v);
        kb.alu(Op::fmax, acc, acc, w).guard = q;
        kb.alui(Op::fadd, w, w, fbits(-float(T)));
      });
      reduce(acc, Op::fmax);
      kb.alui(Op::fmul, acc, acc, fbits(-1.0f));
      kb.setpi(Op::isetp, q, Cmp::eq, tid, 0);
      kb.stg(1, kRZ, 0, acc).guard = q;
      break;
    }
    case RowOp::mean:
      kb.mov(acc, 0);
      pass([&] {
        kb.ldg(x, 0, off, 0).guard = p;
        kb.alu(Op::fadd, acc, acc, x).guard = p;
      });
      reduce(acc, Op::fadd);
      kb.alui(Op::fmul, acc, acc, inv_n);
      kb.setpi(Op::isetp, q, Cmp::eq, tid, 0);
      kb.stg(1, kRZ, 0, acc).guard = q;
      break;
  }
  Launch& l = plan.finish(kb, T, T * 4);
  const uint32_t nb = s.op == RowOp::layernorm ? 4 : s.op == RowOp::rmsnorm ? 3 : 2;
  set_bases(l, static_cast<uint32_t>(s.rows), nb, {&s.x, &s.y}, {0, 0, s.scale, s.bias});
}

}  // namespace xpu::lowering::gpu
