#include "sim/lowering/gpu/gemm_simt.h"

#include "models/gpu/kernel_builder.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {
uint64_t round_up(uint64_t v, uint64_t u) { return (v + u - 1) / u * u; }
}  // namespace

void lower_gemm_simt(const GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan) {
  if (spec.in != DType::fp32) throw GpuLoweringError(spec.name + ": the SIMT GEMM takes fp32 inputs");
  if (spec.m == 0 || spec.n == 0 || spec.k == 0) throw GpuLoweringError(spec.name + ": empty GEMM");
  constexpr uint32_t BM = 64, BN = 64, BK = 16, T = 256;
  GpuGemmLayout& L = plan.layout;
  L.mp = round_up(spec.m, BM);
  L.np = round_up(spec.n, BN);
  L.kp = round_up(spec.k, BK);
  L.in_bytes = 4;
  L.out_bytes = 4;
  L.lda = L.kp * 4;
  L.ldb = L.np * 4;
  L.ldc = L.np * 4;
  L.a = 0;
  L.b = round_up(L.mp * L.lda, 256);
  L.c = round_up(L.b + L.kp * L.ldb, 256);
  L.bytes = round_up(L.c + L.mp * L.ldc, 256);
  plan.tiling = GemmTiling{BM, BN, BK, BM, BN};

  // Shared: As[BK][BM] (transposed A) then Bs[BK][BN], fp32.
  const uint32_t as_bytes = BK * BM * 4;
  KernelBuilder kb(spec.name + "_ffma");
  const uint8_t acc = kb.reg(16), av = kb.reg(4), bv = kb.reg(4), sa = kb.reg(4), sbv = kb.reg(4);
  const uint8_t tid = kb.reg(), tmp = kb.reg(), gA = kb.reg(), gB = kb.reg(), stA = kb.reg(), stB = kb.reg();
  const uint8_t rA = kb.reg(), rB = kb.reg(), rC = kb.reg(), cnt = kb.reg();
  const uint8_t p = kb.pred();
  kb.s2r(tid, Special::tid);
  // A tile: thread -> row tid/4, k chunk (tid%4)*4 floats.
  kb.alui(Op::shr, tmp, tid, 2);
  kb.alui(Op::imul, gA, tmp, int32_t(L.lda));
  kb.alui(Op::shl, stA, tmp, 2);                // row * 4 bytes within As[k][.]
  kb.alui(Op::and_, tmp, tid, 3);
  kb.alui(Op::shl, tmp, tmp, 4);                // 16 bytes per chunk
  kb.alu(Op::iadd, gA, gA, tmp);
  kb.alui(Op::imul, tmp, tmp, int32_t(BM));     // (chunk*4 floats) -> k rows: k*BM*4 = chunk*16*BM
  kb.alu(Op::iadd, stA, stA, tmp);
  // B tile: thread -> row tid/16, 16-byte column tid%16.
  kb.alui(Op::shr, tmp, tid, 4);
  kb.alui(Op::imul, gB, tmp, int32_t(L.ldb));
  kb.alui(Op::imul, stB, tmp, int32_t(BN * 4));
  kb.alui(Op::and_, tmp, tid, 15);
  kb.alui(Op::shl, tmp, tmp, 4);
  kb.alu(Op::iadd, gB, gB, tmp);
  kb.alu(Op::iadd, stB, stB, tmp);
  kb.alui(Op::iadd, stB, stB, int32_t(as_bytes));
  // Compute coordinates: ty = tid/16 -> rows 4ty.., tx = tid%16 -> cols 4tx..
  kb.alui(Op::shr, tmp, tid, 4);
  kb.alui(Op::shl, rA, tmp, 4);                               // As[k][4ty]: 16 bytes per ty
  kb.alui(Op::imul, rC, tmp, int32_t(4 * L.ldc));
  kb.alui(Op::and_, tmp, tid, 15);
  kb.alui(Op::shl, rB, tmp, 4);
  kb.alui(Op::iadd, rB, rB, int32_t(as_bytes));
  kb.alu(Op::iadd, rC, rC, rB);
  kb.alui(Op::iadd, rC, rC, -int32_t(as_bytes));
  for (uint32_t r = 0; r < 16; ++r) kb.mov(uint8_t(acc + r), 0);

  kb.mov(cnt, int32_t(L.kp / BK));
  const int loop = kb.label(), after = kb.label();
  kb.bind(loop);
  kb.ldg(sa, 0, gA, 0, 16);
  kb.ldg(sbv, 1, gB, 0, 16);
  for (uint32_t i = 0; i < 4; ++i) kb.sts(stA, int32_t(i * BM * 4), uint8_t(sa + i), 4);  // transpose
  kb.sts(stB, 0, sbv, 16);
  kb.alui(Op::iadd, gA, gA, int32_t(BK * 4));
  kb.alui(Op::iadd, gB, gB, int32_t(uint64_t(BK) * L.ldb));
  kb.bar();
  for (uint32_t k = 0; k < BK; ++k) {
    kb.lds(av, rA, int32_t(k * BM * 4), 16);
    kb.lds(bv, rB, int32_t(k * BN * 4), 16);
    for (uint32_t i = 0; i < 4; ++i)
      for (uint32_t j = 0; j < 4; ++j)
        kb.alu(Op::ffma, uint8_t(acc + 4 * i + j), uint8_t(av + i), uint8_t(bv + j), uint8_t(acc + 4 * i + j));
  }
  kb.bar();
  kb.alui(Op::iadd, cnt, cnt, -1);
  kb.setpi(Op::isetp, p, Cmp::gt, cnt, 0);
  kb.bra(loop, after, p);
  kb.bind(after);
  for (uint32_t i = 0; i < 4; ++i) kb.stg(2, rC, int32_t(i * L.ldc), uint8_t(acc + 4 * i), 16);
  kb.exit();
  plan.kernel = kb.finish();

  Launch& l = plan.launch;
  l.kernel = &plan.kernel;
  const uint64_t gm = L.mp / BM, gn = L.np / BN;
  l.ctas = static_cast<uint32_t>(gm * gn);
  l.threads = T;
  l.shared_bytes = as_bytes + BK * BN * 4;
  l.nbufs = 3;
  l.bases.resize(size_t(l.ctas) * 3);
  for (uint64_t c = 0; c < l.ctas; ++c) {
    const uint64_t by = c / gn, bx = c % gn;
    l.bases[c * 3 + 0] = L.a + by * BM * L.lda;
    l.bases[c * 3 + 1] = L.b + bx * BN * 4;
    l.bases[c * 3 + 2] = L.c + by * BM * L.ldc + bx * BN * 4;
  }
  (void)cfg;
}

}  // namespace xpu::lowering::gpu
