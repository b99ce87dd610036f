// Pooling and depthwise convolution on the SIMT pipes (PoolSpec in
// nn_kernels.h): the NCHW kernel, and the NHWC one 16-bit networks use.
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

int32_t fbits(float f) { return static_cast<int32_t>(float_to_bits(f)); }

}  // namespace

namespace {

void lower_pool_nhwc(const GpuConfig& cfg, const PoolSpec& s, NnPlan& plan) {
  const uint64_t C = s.channels, N = C ? s.planes / C : 0;
  if (C == 0 || N * C != s.planes || s.depthwise || s.ho <= 0 || s.wo <= 0 || s.kh * s.kw > 64)
    throw GpuLoweringError("NHWC pool kernel: malformed spec or a window over 64 taps");
  const int64_t eb = act_bytes(s.io), pix = int64_t(C) * eb;  // bytes per pixel
  // Enough CTAs for the SMs (8 per SM, as the NCHW kernel): channel blocks
  // of 128 down to 32 threads, then each output row cut into `wblocks` (a
  // power of two) runs of wb columns.
  const uint64_t rows = N * uint64_t(s.ho), want = 8ull * cfg.sms;
  uint32_t T = C >= 128 ? 128 : static_cast<uint32_t>((C + 31) / 32 * 32);
  uint64_t chunks = 1;
  while (chunks * T < C) chunks *= 2;
  while (rows * chunks < want && T > 32) {
    T /= 2;
    while (chunks * T < C) chunks *= 2;
  }
  uint64_t wblocks = 1;
  while (rows * chunks * wblocks < want && wblocks * 2 <= uint64_t(s.wo)) wblocks *= 2;
  const int64_t wb = (s.wo + int64_t(wblocks) - 1) / int64_t(wblocks);
  const uint64_t ctas = rows * wblocks * chunks;
  Magic mg;
  if (ctas > 0xFFFFFFFFull || uint64_t(s.h) * uint64_t(s.w) * uint64_t(pix) >= (uint64_t(1) << 31) ||
      (N > 1 && !find_magic(uint64_t(s.ho), rows, mg)))
    throw GpuLoweringError("NHWC pool kernel: grid or image beyond 32-bit arithmetic");
  const bool h = is_act16(s.io);
  KernelBuilder kb(s.max ? "max_pool_nhwc" : "avg_pool_nhwc");
  const uint8_t tid = kb.reg(), ct = kb.reg(), vc = kb.reg(), oh = kb.reg(), ih = kb.reg(), t = kb.reg();
  const uint8_t off = kb.reg(), iw = kb.reg(), oo = kb.reg(), k = kb.reg(), adr = kb.reg(), m = kb.reg();
  const uint8_t acc = kb.reg(), cnt = kb.reg(), vo = kb.reg();
  const uint32_t KH = uint32_t(s.kh), KW = uint32_t(s.kw);
  const uint8_t xs = kb.reg(KH * KW);  // a column's window, loaded before it is reduced
  const uint8_t th = kb.reg(KH), row = kb.reg(KH), mw = kb.reg(KW), col = kb.reg(KW);
  const bool pad = !s.max && s.count_include_pad;
  const uint8_t thp = pad ? kb.reg(KH) : kRZ, mwp = pad ? kb.reg(KW) : kRZ;
  const uint8_t p = kb.pred(), q = kb.pred(), pc = kb.pred();
  // min(v, hi - v) >= 0 iff lo <= v <= hi.
  auto in_range = [&](uint8_t d, uint8_t v, int64_t lo, int64_t hi) {
    kb.alui(Op::imul, t, v, -1);
    kb.alui(Op::iadd, t, t, static_cast<int32_t>(hi));
    kb.alui(Op::iadd, d, v, static_cast<int32_t>(-lo));
    kb.alu(Op::imin, d, d, t);
  };
  kb.s2r(tid, Special::tid);
  kb.s2r(ct, Special::ctaid);
  // vc = C - 1 - channel >= 0 iff the thread has a channel.
  kb.alui(Op::and_, vc, ct, static_cast<int32_t>(chunks - 1));
  kb.alui(Op::imul, vc, vc, static_cast<int32_t>(T));
  kb.alu(Op::iadd, vc, vc, tid);
  kb.alui(Op::imul, vc, vc, -1);
  kb.alui(Op::iadd, vc, vc, static_cast<int32_t>(C - 1));
  // CTA c = ((n ho + oh) wblocks + column run) chunks + block: the run's
  // first column ow0 = run wb; oh = rest - (rest / ho) ho.
  kb.alui(Op::shr, oh, ct, __builtin_ctzll(chunks));
  kb.alui(Op::and_, iw, oh, static_cast<int32_t>(wblocks - 1));
  kb.alui(Op::imul, iw, iw, static_cast<int32_t>(wb));  // ow0
  kb.alui(Op::imul, vo, iw, -1);
  kb.alui(Op::iadd, vo, vo, static_cast<int32_t>(s.wo - 1));  // wo - 1 - ow >= 0 while the column exists
  kb.alui(Op::imul, iw, iw, static_cast<int32_t>(s.sw));
  kb.alui(Op::iadd, iw, iw, static_cast<int32_t>(-s.pl));  // the window's first input column
  kb.alui(Op::shr, oh, oh, __builtin_ctzll(wblocks));
  if (N > 1) {
    kb.alui(Op::imul, t, oh, static_cast<int32_t>(mg.mul));
    kb.alui(Op::shr, t, t, static_cast<int32_t>(mg.shift));
    kb.alui(Op::imul, t, t, static_cast<int32_t>(s.ho));
    kb.alu(Op::isub, oh, oh, t);
  }
  kb.alui(Op::imul, oh, oh, static_cast<int32_t>(s.sh));
  kb.alui(Op::iadd, oh, oh, static_cast<int32_t>(-s.pt));  // the window's first input row
  // Per window row: validity (with the channel's) and byte offset.
  for (uint32_t a = 0; a < KH; ++a) {
    kb.alui(Op::iadd, ih, oh, static_cast<int32_t>(a * s.dh));
    in_range(uint8_t(th + a), ih, 0, s.h - 1);
    kb.alu(Op::imin, uint8_t(th + a), uint8_t(th + a), vc);
    if (pad) {
      in_range(uint8_t(thp + a), ih, -s.pt, s.h + s.pb - 1);
      kb.alu(Op::imin, uint8_t(thp + a), uint8_t(thp + a), vc);
    }
    kb.alui(Op::imul, uint8_t(row + a), ih, static_cast<int32_t>(s.w * pix));
  }
  kb.alui(Op::shl, off, tid, h ? 1 : 2);
  kb.mov_r(oo, off);
  loop(kb, k, q, uint64_t(wb), [&] {
    for (uint32_t b = 0; b < KW; ++b) {
      kb.alui(Op::iadd, adr, iw, static_cast<int32_t>(b * s.dw));
      in_range(uint8_t(mw + b), adr, 0, s.w - 1);
      if (pad) in_range(uint8_t(mwp + b), adr, -s.pl, s.w + s.pr - 1);
      kb.alui(Op::imul, uint8_t(col + b), adr, static_cast<int32_t>(pix));
      kb.alu(Op::iadd, uint8_t(col + b), uint8_t(col + b), off);
    }
    // Every tap's load first (all in flight at once), then the reduction in
    // row-major tap order; an invalid tap's register is never read.
    for (uint32_t a = 0; a < KH; ++a)
      for (uint32_t b = 0; b < KW; ++b) {
        kb.alu(Op::imin, m, uint8_t(mw + b), uint8_t(th + a));
        kb.setpi(Op::isetp, p, Cmp::ge, m, 0);
        kb.alu(Op::iadd, adr, uint8_t(col + b), uint8_t(row + a));
        kb.ldg(uint8_t(xs + a * KW + b), 0, adr, 0, static_cast<uint8_t>(eb)).guard = p;
      }
    kb.mov(acc, s.max ? fbits(-std::numeric_limits<float>::infinity()) : 0);
    kb.mov(cnt, 0);
    for (uint32_t a = 0; a < KH; ++a)
      for (uint32_t b = 0; b < KW; ++b) {
        const uint8_t x = uint8_t(xs + a * KW + b);
        kb.alu(Op::imin, m, uint8_t(mw + b), uint8_t(th + a));
        kb.setpi(Op::isetp, p, Cmp::ge, m, 0);
        if (h) emit_widen16(kb, s.io, x, x);
        if (s.max) {
          kb.alu(Op::fmax, acc, acc, x).guard = p;
          continue;
        }
        kb.alu(Op::fadd, acc, acc, x).guard = p;
        if (pad) {
          kb.alu(Op::imin, m, uint8_t(mwp + b), uint8_t(thp + a));
          kb.setpi(Op::isetp, pc, Cmp::ge, m, 0);
          kb.alui(Op::fadd, cnt, cnt, fbits(1.0f)).guard = pc;
        } else {
          kb.alui(Op::fadd, cnt, cnt, fbits(1.0f)).guard = p;
        }
      }
    if (!s.max) {
      kb.alu(Op::rcp, cnt, cnt, kRZ);
      kb.alu(Op::fmul, acc, acc, cnt);
    }
    if (h) emit_narrow16(kb, s.io, acc, acc, t);  // the rounding point
    kb.alu(Op::imin, m, vo, vc);
    kb.setpi(Op::isetp, p, Cmp::ge, m, 0);
    kb.stg(1, oo, 0, acc, static_cast<uint8_t>(eb)).guard = p;
    kb.alui(Op::iadd, iw, iw, static_cast<int32_t>(s.sw));
    kb.alui(Op::iadd, oo, oo, static_cast<int32_t>(pix));
    kb.alui(Op::iadd, vo, vo, -1);
  });
  Launch& l = plan.finish(kb, T, 0);
  std::vector<uint64_t> xb(ctas), yb(ctas);
  for (uint64_t c = 0; c < ctas; ++c) {
    const uint64_t blk = c % chunks, run = c / chunks % wblocks, r = c / chunks / wblocks, n = r / uint64_t(s.ho);
    xb[c] = s.x + n * uint64_t(s.h * s.w) * uint64_t(pix) + blk * T * uint64_t(eb);
    yb[c] = s.y + (r * uint64_t(s.wo) + run * uint64_t(wb)) * uint64_t(pix) + blk * T * uint64_t(eb);
  }
  set_bases(l, static_cast<uint32_t>(ctas), 2, {&xb, &yb}, {});
}

}  // namespace

void lower_pool(const GpuConfig& cfg, const PoolSpec& s, NnPlan& plan) {
  if (s.nhwc) return lower_pool_nhwc(cfg, s, plan);
  if (s.planes == 0 || s.ho <= 0 || s.wo <= 0 || s.wo > 1024 || s.planes > 0xFFFFFFFFull)
    throw GpuLoweringError("pool kernel: output rows wider than 1024 or empty");
  const uint32_t T = static_cast<uint32_t>((s.wo + 31) / 32 * 32);
  // Output rows are split into `chunks` (a power of two) blocks of R rows,
  // one CTA each, so small planes still fill the SMs: CTA c covers plane
  // c / chunks, rows (c % chunks) R.. (the row block comes from %ctaid, so
  // this kernel does not qualify for the fast path).
  uint64_t chunks = 1;
  while (chunks * 2 <= uint64_t(s.ho) && s.planes * chunks < 8ull * cfg.sms) chunks *= 2;
  const int64_t R = (s.ho + int64_t(chunks) - 1) / int64_t(chunks);
  const bool h = is_act16(s.io);
  const int64_t eb = act_bytes(s.io);
  KernelBuilder kb(s.depthwise ? "dwconv" : s.max ? "max_pool" : "avg_pool");
  const uint8_t tid = kb.reg(), vw = kb.reg(), iw0 = kb.reg(), ih0 = kb.reg(), oo = kb.reg(), k = kb.reg();
  const uint8_t ih = kb.reg(), th = kb.reg(), thp = kb.reg(), row = kb.reg(), iw = kb.reg(), m = kb.reg(),
                adr = kb.reg(), t = kb.reg();
  const uint8_t x = kb.reg(), acc = kb.reg(), cnt = kb.reg(), vh = kb.reg(), wt = kb.reg();
  const uint8_t p = kb.pred(), q = kb.pred(), pc = kb.pred();
  kb.s2r(tid, Special::tid);
  // vh = ho - 1 - oh: >= 0 while the row exists.
  kb.s2r(vh, Special::ctaid);
  kb.alui(Op::and_, vh, vh, static_cast<int32_t>(chunks - 1));
  kb.alui(Op::imul, vh, vh, static_cast<int32_t>(R));  // oh0
  kb.alui(Op::imul, ih0, vh, static_cast<int32_t>(s.sh));
  kb.alui(Op::iadd, ih0, ih0, static_cast<int32_t>(-s.pt));
  kb.alui(Op::imul, oo, vh, static_cast<int32_t>(s.wo * eb));
  kb.alui(Op::imul, vh, vh, -1);
  kb.alui(Op::iadd, vh, vh, static_cast<int32_t>(s.ho - 1));
  kb.alui(Op::imul, vw, tid, -1);
  kb.alui(Op::iadd, vw, vw, static_cast<int32_t>(s.wo - 1));  // >= 0 iff the thread has an output column
  kb.alui(Op::imul, iw0, tid, static_cast<int32_t>(s.sw));
  kb.alui(Op::iadd, iw0, iw0, static_cast<int32_t>(-s.pl));
  kb.alui(Op::shl, t, tid, h ? 1 : 2);
  kb.alu(Op::iadd, oo, oo, t);
  // min(v, hi - v) >= 0 iff 0 <= v <= hi.
  auto in_range = [&](uint8_t d, uint8_t v, int64_t lo, int64_t hi) {
    kb.alui(Op::imul, t, v, -1);
    kb.alui(Op::iadd, t, t, static_cast<int32_t>(hi));
    kb.alui(Op::iadd, d, v, static_cast<int32_t>(-lo));
    kb.alu(Op::imin, d, d, t);
  };
  loop(kb, k, q, static_cast<uint64_t>(R), [&] {
    kb.mov(acc, s.max && !s.depthwise ? fbits(-std::numeric_limits<float>::infinity()) : 0);
    kb.mov(cnt, 0);
    for (int64_t a = 0; a < s.kh; ++a) {
      kb.alui(Op::iadd, ih, ih0, static_cast<int32_t>(a * s.dh));
      in_range(th, ih, 0, s.h - 1);
      if (s.count_include_pad) in_range(thp, ih, -s.pt, s.h + s.pb - 1);
      kb.alui(Op::imul, row, ih, static_cast<int32_t>(s.w * eb));
      for (int64_t b = 0; b < s.kw; ++b) {
        kb.alui(Op::iadd, iw, iw0, static_cast<int32_t>(b * s.dw));
        in_range(m, iw, 0, s.w - 1);
        kb.alu(Op::imin, m, m, th);
        kb.alu(Op::imin, m, m, vw);
        kb.setpi(Op::isetp, p, Cmp::ge, m, 0);
        kb.alui(Op::shl, adr, iw, h ? 1 : 2);
        kb.alu(Op::iadd, adr, adr, row);
        kb.ldg(x, 0, adr, 0, static_cast<uint8_t>(eb)).guard = p;
        if (h) emit_widen16(kb, s.io, x, x);
        if (s.depthwise) {
          kb.ldg(wt, 2, kRZ, static_cast<int32_t>((a * s.kw + b) * 4));
          kb.alu(Op::ffma, acc, x, wt, acc).guard = p;
        } else if (s.max) {
          kb.alu(Op::fmax, acc, acc, x).guard = p;
        } else {
          kb.alu(Op::fadd, acc, acc, x).guard = p;
          if (!s.count_include_pad) {
            kb.alui(Op::fadd, cnt, cnt, fbits(1.0f)).guard = p;
          } else {
            in_range(m, iw, -s.pl, s.w + s.pr - 1);
            kb.alu(Op::imin, m, m, thp);
            kb.alu(Op::imin, m, m, vw);
            kb.setpi(Op::isetp, pc, Cmp::ge, m, 0);
            kb.alui(Op::fadd, cnt, cnt, fbits(1.0f)).guard = pc;
          }
        }
      }
    }
    if (s.depthwise) {
      if (s.has_bias) {
        kb.ldg(wt, 3, kRZ, 0);
        kb.alu(Op::fadd, acc, acc, wt);
      }
    } else if (!s.max) {
      kb.alu(Op::rcp, cnt, cnt, kRZ);
      kb.alu(Op::fmul, acc, acc, cnt);
    }
    if (h) emit_narrow16(kb, s.io, acc, acc, t);  // the rounding point
    kb.alu(Op::imin, m, vw, vh);
    kb.setpi(Op::isetp, p, Cmp::ge, m, 0);
    kb.stg(1, oo, 0, acc, static_cast<uint8_t>(eb)).guard = p;
    kb.alui(Op::iadd, vh, vh, -1);
    kb.alui(Op::iadd, ih0, ih0, static_cast<int32_t>(s.sh));
    kb.alui(Op::iadd, oo, oo, static_cast<int32_t>(s.wo * eb));
  });
  Launch& l = plan.finish(kb, T, 0);
  if (s.planes * chunks > 0xFFFFFFFFull) throw GpuLoweringError("pool kernel: grid too large");
  l.ctas = static_cast<uint32_t>(s.planes * chunks);
  l.nbufs = 4;
  l.bases.resize(size_t(l.ctas) * 4);
  for (uint64_t c = 0; c < l.ctas; ++c) {
    const uint64_t plane = c / chunks, ch = plane % s.channels;
    l.bases[4 * c] = s.x + plane * uint64_t(s.h * s.w * eb);
    l.bases[4 * c + 1] = s.y + plane * uint64_t(s.ho * s.wo * eb);
    l.bases[4 * c + 2] = s.w_addr + ch * uint64_t(s.kh * s.kw) * 4;
    l.bases[4 * c + 3] = s.bias + ch * 4;
  }
}


}  // namespace xpu::lowering::gpu
