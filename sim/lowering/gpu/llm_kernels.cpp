#include "sim/lowering/gpu/llm_kernels.h"

#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/numerics/float_bits.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

void lower_rope(const GpuConfig&, const RopeSpec& s, NnPlan& plan) {
  const uint64_t h = s.d / 2;
  if (s.rows == 0 || s.heads == 0 || h == 0 || (h & (h - 1)) != 0 || s.x.size() != s.rows || s.y.size() != s.rows ||
      s.cos.size() != s.rows || s.sin.size() != s.rows || s.rows > 0xFFFFFFFFull || s.heads * s.d > 0x7FFFFFFFull)
    throw GpuLoweringError("rope kernel: malformed spec (d/2 must be a power of two)");
  const uint64_t pairs = s.heads * h;
  const uint32_t T = pairs >= 256 ? 256 : static_cast<uint32_t>((pairs + 31) / 32 * 32);
  const uint64_t iters = (pairs + T - 1) / T;
  KernelBuilder kb("rope");
  const uint8_t e = kb.reg(), k = kb.reg(), j = kb.reg(), xa = kb.reg(), cj = kb.reg();
  const uint8_t a = kb.reg(), b = kb.reg(), c = kb.reg(), sn = kb.reg(), t0 = kb.reg(), t1 = kb.reg();
  const uint8_t p = kb.pred(), q = kb.pred();
  kb.s2r(e, Special::tid);
  loop(kb, k, q, iters, [&] {
    kb.setpi(Op::isetp, p, Cmp::lt, e, static_cast<int32_t>(pairs));
    kb.alui(Op::and_, j, e, static_cast<int32_t>(h - 1));
    kb.alui(Op::shl, xa, e, 1);
    kb.alu(Op::isub, xa, xa, j);  // element of a: (e / h) d + j = 2e - j
    kb.alui(Op::shl, xa, xa, 2);
    kb.alui(Op::shl, cj, j, 2);
    kb.ldg(a, 0, xa, 0).guard = p;
    kb.ldg(b, 0, xa, static_cast<int32_t>(h * 4)).guard = p;
    kb.ldg(c, 2, cj, 0).guard = p;
    kb.ldg(sn, 3, cj, 0).guard = p;
    kb.alu(Op::fmul, t0, a, c);
    kb.alui(Op::fmul, t1, sn, static_cast<int32_t>(float_to_bits(-1.0f)));
    kb.alu(Op::fmul, t1, b, t1);
    kb.alu(Op::fadd, t0, t0, t1);
    kb.stg(1, xa, 0, t0).guard = p;
    kb.alu(Op::fmul, t0, b, c);
    kb.alu(Op::fmul, t1, a, sn);
    kb.alu(Op::fadd, t0, t0, t1);
    kb.stg(1, xa, static_cast<int32_t>(h * 4), t0).guard = p;
    kb.alui(Op::iadd, e, e, static_cast<int32_t>(T));
  });
  kb.exit();
  plan.kernel = kb.finish();
  Launch& l = plan.launch;
  l.kernel = &plan.kernel;
  l.threads = T;
  l.shared_bytes = 0;
  set_bases(l, static_cast<uint32_t>(s.rows), 4, {&s.x, &s.y, &s.cos, &s.sin}, {});
}

}  // namespace xpu::lowering::gpu
