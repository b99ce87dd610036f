#include "sim/lowering/gpu/tc_mainloop.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "models/gpu/mma_shape.h"
#include "sim/common/errors.h"
#include "sim/lowering/gpu/half_io.h"
#include "sim/lowering/gpu/int8_epilogue.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

int32_t fbits(float f) {
  int32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// The epilogue adds bias[col] to each fp32 accumulator register. A lane's
// columns of one C fragment are `run` consecutive ones from col0(lane),
// register r being column col0 + r % run, in one of two layouts:
//   Volta's octets:  run 8, col0 = 8 ((lane / 4) % 2);
//   Ampere mma.sync: run 2, col0 = 2 (lane % 4) (rows g and g + 8 repeat them).
// 0 when the shape's C layout is neither (then no bias epilogue).
}  // namespace

uint32_t bias_run(const MmaShape& mma, DType in) {
  for (uint32_t run : {8u, 2u}) {
    bool ok = mma.frag_elems(FragKind::c) % run == 0;
    for (uint32_t l = 0; l < 32 && ok; ++l) {
      const uint32_t col0 = run == 8 ? 8 * ((l / 4) % 2) : 2 * (l % 4);
      for (uint32_t e = 0; e < mma.frag_elems(FragKind::c) && ok; ++e)
        ok = mma.frag_elem(FragKind::c, in, AccType::f32, l, e).col == col0 + e % run;
    }
    if (ok) return run;
  }
  return 0;
}

void ATileSource::copy_async(KernelBuilder& kb, uint32_t i, uint8_t dst, uint8_t zero) {
  (void)kb, (void)i, (void)dst, (void)zero;
  throw InternalError("an A-tile source without a cp.async form in a cp.async kernel");
}

std::vector<uint8_t> residual_slots(const TcKernelDesc& d, uint32_t need, const std::vector<std::vector<Frag>>& runs) {
  std::vector<uint8_t> res;
  for (const auto& run_of : runs) {
    uint32_t at = run_of[0].reg, len = 0;
    for (const Frag& f : run_of) {
      if (f.reg != at + len) break;  // not consecutive: stop the run here
      len += f.regs();
    }
    for (uint32_t s = 0; s + need <= len; s += need) res.push_back(uint8_t(at + s));
  }
  if (res.empty()) throw GpuLoweringError(d.name + ": no registers for the residual fragment on " + d.mma->name());
  return res;
}

uint32_t row_access_width(uint64_t pitch) {
  uint32_t w = 16;
  while (w > 2 && pitch % w) w /= 2;
  return w;
}

void narrow_load(KernelBuilder& kb, uint8_t buf, uint8_t addr, uint8_t st, uint32_t width, uint8_t hi) {
  if (width >= 4) {
    for (uint32_t q = 0; q < 16 / width; ++q)
      kb.ldg(uint8_t(st + q * width / 4), buf, addr, int32_t(q * width), uint8_t(width));
    return;
  }
  for (uint32_t q = 0; q < 4; ++q) {
    kb.ldg(uint8_t(st + q), buf, addr, int32_t(4 * q), 2);
    kb.ldg(uint8_t(hi + q), buf, addr, int32_t(4 * q + 2), 2);
  }
}

void narrow_pack(KernelBuilder& kb, uint8_t st, uint32_t width, uint8_t hi) {
  if (width >= 4) return;
  for (uint32_t q = 0; q < 4; ++q) kb.alui(Op::imad, uint8_t(st + q), uint8_t(hi + q), 65536, uint8_t(st + q));
}

uint32_t tc_threads(const GemmTiling& t) { return (t.bm / t.wm) * (t.bn / t.wn) * 32; }

uint32_t tc_shared_bytes(const GemmTiling& t, DType in) {
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(in));
  const uint32_t sa = t.bk * e + 16, sb = t.bn * e + 16;
  return 2 * (t.bm * sa + t.bk * sb);
}

Kernel build_tc_kernel(const TcKernelDesc& d, ATileSource& src) {
  const GemmTiling& t = d.t;
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(d.in));
  const uint32_t ce = d.acc == AccType::f16 ? 2 : 4;
  if (!d.mma) throw InternalError(d.name + ": no tensor-core shape");
  const MmaShape& mma = *d.mma;
  const uint32_t M = mma.m(), N = mma.n(), K = mma.k_of(d.in);  // one wmma's tile
  if ((d.ep.active() || d.ep.out16) && d.acc != AccType::f32 && !d.ep.out8)
    throw GpuLoweringError(d.name + ": the fused epilogue needs fp32 accumulation");
  if (d.ep.out16 && d.in != DType::fp16 && d.in != DType::bf16)
    throw GpuLoweringError(d.name + ": 16-bit C needs fp16 or bf16 inputs");
  const uint32_t run = bias_run(mma, d.in);
  if (d.ep.bias && run == 0)
    throw GpuLoweringError(d.name + ": the fused bias epilogue does not support tensor-core shape " + mma.name());
  if (mma.b_k_major(d.in))
    throw GpuLoweringError(d.name + ": " + std::string(dtype_name(d.in)) + " on " + mma.name() +
                           " needs a K-major B tile, which this kernel does not stage");
  if (t.wm % M || t.wn % N || t.bk % K)
    throw GpuLoweringError(d.name + ": warp tiles do not divide into " + mma.name() + " tiles");
  const uint32_t warps_n = t.bn / t.wn;
  const uint32_t threads = tc_threads(t);
  const uint32_t fm = t.wm / M, fn = t.wn / N;
  // Shared memory: per stage an A tile (bm rows of bk) and a B tile (bk rows of bn).
  const uint32_t sa = t.bk * e + 16, sb = t.bn * e + 16;
  const uint32_t a_bytes = t.bm * sa, stage = a_bytes + t.bk * sb;
  const uint32_t a_chunks_row = t.bk * e / 16, b_chunks_row = t.bn * e / 16;
  const uint32_t a_per_thread = t.bm * a_chunks_row / threads, b_per_thread = t.bk * b_chunks_row / threads;
  if (a_per_thread == 0 || b_per_thread == 0 || t.bm * a_chunks_row % threads || t.bk * b_chunks_row % threads ||
      threads % a_chunks_row)
    throw GpuLoweringError(d.name + ": tile loads do not divide over the CTA's threads");
  const uint64_t ktiles = d.kp / t.bk;

  KernelBuilder kb(d.name, &mma);
  const AccType acc = d.acc;
  std::vector<Frag> accs(fm * fn);
  for (auto& f : accs) f = kb.frag(FragKind::c, d.in, acc);
  Frag fa[2] = {kb.frag(FragKind::a, d.in, acc), kb.frag(FragKind::a, d.in, acc)};
  std::vector<Frag> fb(fn);
  for (auto& f : fb) f = kb.frag(FragKind::b, d.in, acc);
  const uint8_t stA = kb.reg(4 * a_per_thread), stB = kb.reg(4 * b_per_thread);  // prefetch staging
  src.alloc(kb, a_per_thread);
  std::vector<uint8_t> gB(b_per_thread), sA(a_per_thread), sB(b_per_thread);
  for (auto& r : gB) r = kb.reg();
  for (auto& r : sA) r = kb.reg();
  for (auto& r : sB) r = kb.reg();
  const uint8_t tid = kb.reg(), tmp = kb.reg(), tmp2 = kb.reg();
  const uint8_t rA = kb.reg(), rB = kb.reg(), rC = kb.reg(), cnt = kb.reg();
  const uint8_t p = kb.pred();
  // Epilogue: the lane's bias offset and 8 bias values per 16-column
  // fragment, loaded during the last K tile's compute (hiding their latency)
  // into the prefetch staging registers, which are free then, when they suffice.
  const uint8_t rBias = d.ep.bias ? kb.reg() : kRZ;
  const uint8_t bias = d.ep.bias ? (4 * (a_per_thread + b_per_thread) >= run * fn ? stA : kb.reg(run * fn)) : kRZ;
  // Residual: C-fragment slots in the A- and B-fragment registers (free
  // after the main loop), carved from their consecutive runs.
  const std::vector<uint8_t> res = d.ep.residual ? residual_slots(d, accs[0].regs(), {{fa[0], fa[1]}, fb}) : std::vector<uint8_t>{};
  if (d.b_width < 2 || d.b_width > 16 || 16 % d.b_width) throw InternalError(d.name + ": B loads of " + std::to_string(d.b_width) + " bytes");
  const uint8_t hiB = d.b_width == 2 ? kb.reg(4 * b_per_thread) : kRZ;  // odd halves (narrow_load)

  // Per-thread addressing, once.
  kb.s2r(tid, Special::tid);
  src.begin(kb, tid);
  // chunk c = tid + i*threads: row c / chunks_row, 16-byte column c % chunks_row;
  // leaves the row in tmp and the byte column in tmp2.
  auto chunk_row_col = [&](uint32_t i, uint32_t chunks_row, bool interleave_rows, uint8_t q) {
    kb.alui(Op::iadd, tmp, tid, int32_t(i * threads));
    kb.alui(Op::and_, tmp2, tmp, int32_t(chunks_row - 1));   // column (chunks_row is a power of two)
    kb.alui(Op::shl, tmp2, tmp2, 4);                          // x16 bytes
    if (interleave_rows) {
      // A tile with 4 chunks per row: the 8 lanes of one STS.128 phase take
      // rows r and r + 4 (not r + 1), whose padded offsets (4 x 80 B = 80
      // words = 16 banks apart) never share a bank; each group of 8 rows is
      // still read by 4 consecutive lanes per row (coalesced LDGs).
      //   row = 8 (c / 32) + 4 ((c / 4) % 2) + (c % 32) / 8
      const uint8_t r = cnt;  // free until the main loop
      kb.alui(Op::shr, r, tmp, 5);
      kb.alui(Op::shl, r, r, 3);
      kb.alui(Op::shr, q, tmp, 2);
      kb.alui(Op::and_, q, q, 1);
      kb.alui(Op::shl, q, q, 2);
      kb.alu(Op::iadd, r, r, q);
      kb.alui(Op::and_, tmp, tmp, 31);
      kb.alui(Op::shr, tmp, tmp, 3);
      kb.alu(Op::iadd, tmp, tmp, r);
    } else {
      kb.alui(Op::shr, tmp, tmp, int32_t(__builtin_ctz(chunks_row)));  // row
    }
  };
  auto shared_offset = [&](uint8_t out_s, uint32_t spitch, uint32_t sbase) {
    kb.alui(Op::imul, out_s, tmp, int32_t(spitch));
    kb.alu(Op::iadd, out_s, out_s, tmp2);
    if (sbase) kb.alui(Op::iadd, out_s, out_s, int32_t(sbase));
  };
  const bool interleave = a_chunks_row == 4;
  for (uint32_t i = 0; i < a_per_thread; ++i) {
    chunk_row_col(i, a_chunks_row, interleave, src.setup_scratch(i));
    src.chunk(kb, i, tmp, tmp2);
    shared_offset(sA[i], sa, 0);
  }
  for (uint32_t i = 0; i < b_per_thread; ++i) {
    chunk_row_col(i, b_chunks_row, false, kRZ);
    kb.alui(Op::imul, gB[i], tmp, int32_t(d.ldb));
    kb.alu(Op::iadd, gB[i], gB[i], tmp2);
    shared_offset(sB[i], sb, a_bytes);
  }
  // Warp origin: warp w -> (w / warps_n, w % warps_n).
  kb.alui(Op::shr, tmp, tid, 5);
  kb.alui(Op::and_, tmp2, tmp, int32_t(warps_n - 1));  // warp column
  kb.alui(Op::shr, tmp, tmp, int32_t(__builtin_ctz(warps_n)));  // warp row
  kb.alui(Op::imul, rA, tmp, int32_t(t.wm * sa));
  kb.alui(Op::imul, rC, tmp, int32_t(uint64_t(t.wm) * d.ldc));
  kb.alui(Op::imul, rB, tmp2, int32_t(t.wn * e));
  kb.alui(Op::iadd, rB, rB, int32_t(a_bytes));
  kb.alui(Op::imul, tmp2, tmp2, int32_t(t.wn * ce));
  if (d.ep.out16) {
    // 16-bit C: half the column bytes (tmp2 stays the fp32 bias offset).
    kb.alui(Op::shr, tmp, tmp2, 1);
    kb.alu(Op::iadd, rC, rC, tmp);
  } else {
    kb.alu(Op::iadd, rC, rC, tmp2);
  }
  if (d.ep.bias && run == 8) {
    // Lane l's C fragment columns start at 8 ((l / 4) % 2) (bias_run): 32 bytes of fp32.
    kb.alui(Op::shr, rBias, tid, 2);
    kb.alui(Op::and_, rBias, rBias, 1);
    kb.alui(Op::shl, rBias, rBias, 5);
    kb.alu(Op::iadd, rBias, rBias, tmp2);  // + warp column x wn x 4
  } else if (d.ep.bias) {
    // Columns from 2 (l % 4): 8 bytes of fp32 at 8 (l % 4).
    kb.alui(Op::and_, rBias, tid, 3);
    kb.alui(Op::shl, rBias, rBias, 3);
    kb.alu(Op::iadd, rBias, rBias, tmp2);
  }
  for (auto& f : accs) kb.wmma_fill_zero(f);

  auto load_tile = [&]() {
    src.load(kb, stA);
    for (uint32_t i = 0; i < b_per_thread; ++i)
      narrow_load(kb, kTcBufB, gB[i], uint8_t(stB + 4 * i), d.b_width, uint8_t(hiB + 4 * i));
    src.advance(kb);
    for (uint32_t i = 0; i < b_per_thread; ++i) kb.alui(Op::iadd, gB[i], gB[i], int32_t(uint64_t(t.bk) * d.ldb));
  };
  auto store_tile = [&](uint32_t st) {
    src.pack(kb, stA);
    for (uint32_t i = 0; i < b_per_thread; ++i) narrow_pack(kb, uint8_t(stB + 4 * i), d.b_width, uint8_t(hiB + 4 * i));
    for (uint32_t i = 0; i < a_per_thread; ++i) kb.sts(sA[i], int32_t(st * stage), uint8_t(stA + 4 * i), 16);
    for (uint32_t i = 0; i < b_per_thread; ++i) kb.sts(sB[i], int32_t(st * stage), uint8_t(stB + 4 * i), 16);
  };
  auto compute = [&](uint32_t st) {
    for (uint32_t kk = 0; kk < t.bk / K; ++kk) {
      for (uint32_t j = 0; j < fn; ++j)
        kb.wmma_load(fb[j], Space::shared, rB, int32_t(st * stage + kk * K * sb + j * N * e), sb);
      for (uint32_t i = 0; i < fm; ++i) {
        const Frag& a = fa[i % 2];
        kb.wmma_load(a, Space::shared, rA, int32_t(st * stage + i * M * sa + kk * K * e), sa);
        std::vector<WmmaOp> batch;
        for (uint32_t j = 0; j < fn; ++j) batch.push_back({accs[i * fn + j], a, fb[j], accs[i * fn + j]});
        kb.wmma_mma_batch(batch);
      }
    }
  };
  auto body = [&](uint32_t st, bool prefetch) {
    if (prefetch) load_tile();
    for (uint32_t j = 0; j < fn && d.ep.bias && !prefetch; ++j)  // the last tile
      for (uint32_t h = 0; h < (run * 4 + 15) / 16; ++h)
        kb.ldg(uint8_t(bias + run * j + 4 * h), kTcBufBias, rBias, int32_t(j * N * 4 + 16 * h),
               uint8_t(std::min(16u, run * 4)));
    compute(st);
    if (prefetch) store_tile(1 - st);
    kb.bar();
  };

  // Prologue: tile 0 into stage 0.
  load_tile();
  store_tile(0);
  kb.bar();
  const uint64_t pairs = (ktiles - 1) / 2;
  if (pairs > 0) {
    kb.mov(cnt, int32_t(pairs));
    kb.mark_trip_count();
    const int loop = kb.label(), after = kb.label();
    kb.bind(loop);
    body(0, true);
    body(1, true);
    kb.alui(Op::iadd, cnt, cnt, -1);
    kb.setpi(Op::isetp, p, Cmp::gt, cnt, 0);
    kb.bra(loop, after, p);
    kb.bind(after);
  }
  if ((ktiles - 1) % 2 == 1) {
    body(0, true);
    body(1, false);
  } else {
    body(0, false);
  }
  // The address registers are free now: scratch for the activation.
  emit_tc_epilogue(kb, d, accs, fm, fn, TcEpilogueRegs{bias, run, rC, tmp, tmp2, cnt, p, res});
  return kb.finish();
}

void emit_tc_epilogue(KernelBuilder& kb, const TcKernelDesc& d, const std::vector<Frag>& accs, uint32_t fm,
                      uint32_t fn, const TcEpilogueRegs& r) {
  if (d.ep.out8) return emit_int8_epilogue(kb, d, accs, fm, fn, r);
  // y = act((acc + bias[col]) + res) in the accumulator registers (a C
  // fragment register e of a lane is column col0 + e % run; the residual
  // fragment, loaded like C is stored, holds the same elements), then
  // straight to global C.
  const uint32_t M = d.mma->m(), N = d.mma->n(), ce = d.acc == AccType::f16 || d.ep.out16 ? 2 : 4;
  if (d.ep.residual && (r.res.empty() || d.acc != AccType::f32))
    throw GpuLoweringError(d.name + ": this kernel has no fused residual add");
  const ActNeeds needs = activation_needs(d.ep.act);
  if (needs.minus_one) kb.mov(r.cnt, fbits(-1.0f));
  // Fragments in column-major order (f = j fm + i); residual fragments are
  // loaded `slots` at a time, all before the first of them is used.
  const uint32_t frags = d.ep.active() || d.ep.out16 ? fm * fn : 0;
  // A 16-bit fragment: the fp32 one's elements, two per register (element
  // e in half e % 2 of register e / 2, the C layout of f16 accumulators).
  const auto half_frag = [](Frag f) {
    f.acc = AccType::f16;
    f.nregs = static_cast<uint8_t>(f.nregs / 2);
    return f;
  };
  const uint32_t slots = static_cast<uint32_t>(std::max<size_t>(1, r.res.size()));
  for (uint32_t f = 0; f < frags; ++f) {
    const uint32_t j = f / fm, i = f % fm;
    if (d.ep.residual && f % slots == 0)
      for (uint32_t g = f; g < frags && g < f + slots; ++g) {
        Frag rf = accs[(g % fm) * fn + g / fm];
        if (d.ep.out16) rf = half_frag(rf);
        rf.reg = r.res[g - f];
        kb.wmma_load(rf, Space::global, r.rC, int32_t((g % fm) * M * d.ldc + (g / fm) * N * ce), uint32_t(d.ldc),
                     kTcBufRes);
      }
    const uint8_t res = d.ep.residual ? r.res[f % slots] : kRZ;
    for (uint8_t e = 0; e < accs[i * fn + j].regs(); ++e) {
      const uint8_t x = uint8_t(accs[i * fn + j].reg + e);
      if (d.ep.bias) kb.alu(Op::fadd, x, x, uint8_t(r.bias + r.run * j + e % r.run));
      if (d.ep.residual && d.ep.out16) {
        emit_widen16(kb, d.in, r.tmp2, uint8_t(res + e / 2), e % 2 == 1);
        kb.alu(Op::fadd, x, x, r.tmp2);
      } else if (d.ep.residual) {
        kb.alu(Op::fadd, x, x, uint8_t(res + e));
      }
      if (d.ep.act != Activation::none)
        emit_activation(kb, d.ep.act, d.ep.p0, d.ep.p1, x, x, ActScratch{needs.scratch ? r.tmp : x, r.tmp2, r.cnt, r.p});
    }
    if (!d.ep.out16) continue;
    // The rounding point: each fp32 result to 16 bits, packed in place
    // (pair q into register q: registers 2q, 2q + 1 are read first).
    const Frag& c = accs[i * fn + j];
    for (uint8_t q = 0; 2 * q < c.regs(); ++q) {
      const uint8_t lo = uint8_t(c.reg + 2 * q), hi = uint8_t(lo + 1);
      emit_narrow16(kb, d.in, lo, lo, r.tmp);
      emit_narrow16(kb, d.in, hi, hi, r.tmp);
      kb.alui(Op::shl, hi, hi, 16);
      kb.alu(Op::or_, uint8_t(c.reg + q), lo, hi);
    }
  }
  const GemmTiling& t = d.t;
  const uint32_t P = t.bn * 4 + 16;  // shared row pitch of the C tile (padded: fewer bank conflicts)
  if (d.rows > 0 && d.rows < t.bm && ce == 4 && d.c_width == 16 && uint64_t(t.bm) * P <= tc_shared_bytes(t, d.in)) {
    const uint32_t warps_n = t.bn / t.wn, threads = tc_threads(t);
    const uint32_t chunks_row = t.bn / 4, chunks = d.rows * chunks_row;
    // The warp's origin in the shared C tile: (w / warps_n) wm rows, (w % warps_n) wn columns.
    kb.s2r(r.tmp, Special::tid);
    kb.alui(Op::shr, r.tmp, r.tmp, 5);
    kb.alui(Op::and_, r.tmp2, r.tmp, int32_t(warps_n - 1));
    kb.alui(Op::shr, r.tmp, r.tmp, int32_t(__builtin_ctz(warps_n)));
    kb.alui(Op::imul, r.cnt, r.tmp, int32_t(t.wm * P));
    kb.alui(Op::imul, r.tmp2, r.tmp2, int32_t(t.wn * 4));
    kb.alu(Op::iadd, r.cnt, r.cnt, r.tmp2);
    for (uint32_t i = 0; i < fm; ++i)
      for (uint32_t j = 0; j < fn; ++j)
        kb.wmma_store(accs[i * fn + j], Space::shared, r.cnt, int32_t(i * M * P + j * N * 4), P);
    kb.bar();
    // Chunk c = tid + q threads of the real rows: row c / chunks_row, 16-byte column c % chunks_row.
    const uint8_t v = accs[0].reg;  // 4 aligned registers, free once stored
    kb.s2r(r.tmp, Special::tid);
    for (uint32_t q = 0; q * threads < chunks; ++q) {
      kb.alui(Op::iadd, r.tmp2, r.tmp, int32_t(q * threads));
      kb.setpi(Op::isetp, r.p, Cmp::lt, r.tmp2, int32_t(chunks));
      kb.alui(Op::shr, r.cnt, r.tmp2, int32_t(__builtin_ctz(chunks_row)));
      kb.alui(Op::and_, r.tmp2, r.tmp2, int32_t(chunks_row - 1));
      kb.alui(Op::shl, r.tmp2, r.tmp2, 4);
      kb.alui(Op::imul, r.rC, r.cnt, int32_t(P));
      kb.alu(Op::iadd, r.rC, r.rC, r.tmp2);
      kb.alui(Op::imul, r.cnt, r.cnt, int32_t(d.ldc));
      kb.alu(Op::iadd, r.cnt, r.cnt, r.tmp2);
      kb.lds(v, r.rC, 0, 16).guard = r.p;
      kb.stg(kTcBufC, r.cnt, 0, v, 16).guard = r.p;
    }
    kb.exit();
    return;
  }
  for (uint32_t i = 0; i < fm; ++i)
    for (uint32_t j = 0; j < fn; ++j)
      kb.wmma_store(d.ep.out16 ? half_frag(accs[i * fn + j]) : accs[i * fn + j], Space::global, r.rC,
                    int32_t(i * M * d.ldc + j * N * ce), uint32_t(d.ldc), kTcBufC, d.c_width);
  kb.exit();
}

}  // namespace xpu::lowering::gpu
