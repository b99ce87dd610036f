#include "sim/lowering/gpu/gemm_tc.h"

#include <algorithm>

#include "models/gpu/kernel_builder.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

uint64_t round_up(uint64_t v, uint64_t u) { return (v + u - 1) / u * u; }

constexpr uint8_t kBufA = 0, kBufB = 1, kBufC = 2;

}  // namespace

uint32_t out_bytes(const GpuGemmSpec& spec) { return spec.acc == AccType::f16 ? 2 : 4; }

GemmTiling choose_tiling(const GpuConfig& cfg, const GpuGemmSpec& spec) {
  GemmTiling t;
  const uint64_t grid128 = ((spec.m + 127) / 128) * ((spec.n + 127) / 128);
  if (spec.m < 128 || spec.n < 128 || 2 * grid128 <= cfg.sms) {
    t.bm = t.bn = 64;
    t.wm = t.wn = 32;
  }
  return t;
}

void lower_gemm_tc(const GpuConfig& cfg, const GpuGemmSpec& spec, GpuGemmPlan& plan) {
  const auto& tc = cfg.tensor_core;
  const bool ok = (spec.in == DType::fp16 && tc.fp16) || (spec.in == DType::bf16 && tc.bf16) ||
                  (spec.in == DType::int8 && tc.int8);
  if (!ok || cfg.sub_core.tensor_cores == 0)
    throw GpuLoweringError(spec.name + ": " + cfg.name + " has no " + std::string(dtype_name(spec.in)) +
                           " tensor-core path");
  if ((spec.in == DType::int8) != (spec.acc == AccType::s32))
    throw GpuLoweringError(spec.name + ": int8 needs int32 accumulation and only int8 has it");
  if (spec.m == 0 || spec.n == 0 || spec.k == 0) throw GpuLoweringError(spec.name + ": empty GEMM");

  const GemmTiling t = choose_tiling(cfg, spec);
  plan.tiling = t;
  const uint32_t e = static_cast<uint32_t>(dtype_bytes(spec.in));
  const uint32_t ce = out_bytes(spec);
  GpuGemmLayout& L = plan.layout;
  L.mp = round_up(spec.m, t.bm);
  L.np = round_up(spec.n, t.bn);
  L.kp = round_up(spec.k, t.bk);
  L.in_bytes = e;
  L.out_bytes = ce;
  L.lda = L.kp * e;
  L.ldb = L.np * e;
  L.ldc = L.np * ce;
  L.a = 0;
  L.b = round_up(L.a + L.mp * L.lda, 256);
  L.c = round_up(L.b + L.kp * L.ldb, 256);
  L.bytes = round_up(L.c + L.mp * L.ldc, 256);

  const uint32_t warps_m = t.bm / t.wm, warps_n = t.bn / t.wn, warps = warps_m * warps_n;
  const uint32_t threads = warps * 32;
  const uint32_t fm = t.wm / 16, fn = t.wn / 16;
  // Shared memory: per stage an A tile (bm rows of bk) and a B tile (bk rows of bn).
  const uint32_t sa = t.bk * e + 16, sb = t.bn * e + 16;
  const uint32_t a_bytes = t.bm * sa, stage = a_bytes + t.bk * sb;
  const uint32_t a_chunks_row = t.bk * e / 16, b_chunks_row = t.bn * e / 16;
  const uint32_t a_per_thread = t.bm * a_chunks_row / threads, b_per_thread = t.bk * b_chunks_row / threads;
  if (a_per_thread == 0 || b_per_thread == 0 || t.bm * a_chunks_row % threads || t.bk * b_chunks_row % threads)
    throw GpuLoweringError(spec.name + ": tile loads do not divide over the CTA's threads");
  const uint64_t ktiles = L.kp / t.bk;

  KernelBuilder kb(spec.name + "_tc");
  const AccType acc = spec.acc;
  std::vector<Frag> accs(fm * fn);
  for (auto& f : accs) f = kb.frag(FragKind::c, spec.in, acc);
  Frag fa[2] = {kb.frag(FragKind::a, spec.in, acc), kb.frag(FragKind::a, spec.in, acc)};
  std::vector<Frag> fb(fn);
  for (auto& f : fb) f = kb.frag(FragKind::b, spec.in, acc);
  const uint8_t stA = kb.reg(4 * a_per_thread), stB = kb.reg(4 * b_per_thread);  // prefetch staging
  std::vector<uint8_t> gA(a_per_thread), gB(b_per_thread), sA(a_per_thread), sB(b_per_thread);
  for (auto& r : gA) r = kb.reg();
  for (auto& r : gB) r = kb.reg();
  for (auto& r : sA) r = kb.reg();
  for (auto& r : sB) r = kb.reg();
  const uint8_t tid = kb.reg(), tmp = kb.reg(), tmp2 = kb.reg();
  const uint8_t rA = kb.reg(), rB = kb.reg(), rC = kb.reg(), cnt = kb.reg();
  const uint8_t p = kb.pred();

  // Per-thread addressing, once.
  kb.s2r(tid, Special::tid);
  auto chunk_coords = [&](uint8_t out_g, uint8_t out_s, uint32_t i, uint32_t chunks_row, uint64_t gpitch,
                          uint32_t spitch, uint32_t sbase, bool interleave_rows) {
    // chunk c = tid + i*threads: row c / chunks_row, 16-byte column c % chunks_row.
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
      kb.alui(Op::shr, out_g, tmp, 2);
      kb.alui(Op::and_, out_g, out_g, 1);
      kb.alui(Op::shl, out_g, out_g, 2);
      kb.alu(Op::iadd, r, r, out_g);
      kb.alui(Op::and_, tmp, tmp, 31);
      kb.alui(Op::shr, tmp, tmp, 3);
      kb.alu(Op::iadd, tmp, tmp, r);
    } else {
      kb.alui(Op::shr, tmp, tmp, int32_t(__builtin_ctz(chunks_row)));  // row
    }
    kb.alui(Op::imul, out_g, tmp, int32_t(gpitch));
    kb.alu(Op::iadd, out_g, out_g, tmp2);
    kb.alui(Op::imul, out_s, tmp, int32_t(spitch));
    kb.alu(Op::iadd, out_s, out_s, tmp2);
    if (sbase) kb.alui(Op::iadd, out_s, out_s, int32_t(sbase));
  };
  const bool interleave = a_chunks_row == 4 && threads % 32 == 0;
  for (uint32_t i = 0; i < a_per_thread; ++i) chunk_coords(gA[i], sA[i], i, a_chunks_row, L.lda, sa, 0, interleave);
  for (uint32_t i = 0; i < b_per_thread; ++i)
    chunk_coords(gB[i], sB[i], i, b_chunks_row, L.ldb, sb, a_bytes, false);
  // Warp origin: warp w -> (w / warps_n, w % warps_n).
  kb.alui(Op::shr, tmp, tid, 5);
  kb.alui(Op::and_, tmp2, tmp, int32_t(warps_n - 1));  // warp column
  kb.alui(Op::shr, tmp, tmp, int32_t(__builtin_ctz(warps_n)));  // warp row
  kb.alui(Op::imul, rA, tmp, int32_t(t.wm * sa));
  kb.alui(Op::imul, rC, tmp, int32_t(uint64_t(t.wm) * L.ldc));
  kb.alui(Op::imul, rB, tmp2, int32_t(t.wn * e));
  kb.alui(Op::iadd, rB, rB, int32_t(a_bytes));
  kb.alui(Op::imul, tmp2, tmp2, int32_t(t.wn * ce));
  kb.alu(Op::iadd, rC, rC, tmp2);
  for (auto& f : accs) kb.wmma_fill_zero(f);

  auto load_tile = [&]() {
    for (uint32_t i = 0; i < a_per_thread; ++i) kb.ldg(uint8_t(stA + 4 * i), kBufA, gA[i], 0, 16);
    for (uint32_t i = 0; i < b_per_thread; ++i) kb.ldg(uint8_t(stB + 4 * i), kBufB, gB[i], 0, 16);
    for (uint32_t i = 0; i < a_per_thread; ++i) kb.alui(Op::iadd, gA[i], gA[i], int32_t(t.bk * e));
    for (uint32_t i = 0; i < b_per_thread; ++i) kb.alui(Op::iadd, gB[i], gB[i], int32_t(uint64_t(t.bk) * L.ldb));
  };
  auto store_tile = [&](uint32_t st) {
    for (uint32_t i = 0; i < a_per_thread; ++i) kb.sts(sA[i], int32_t(st * stage), uint8_t(stA + 4 * i), 16);
    for (uint32_t i = 0; i < b_per_thread; ++i) kb.sts(sB[i], int32_t(st * stage), uint8_t(stB + 4 * i), 16);
  };
  auto compute = [&](uint32_t st) {
    for (uint32_t kk = 0; kk < t.bk / 16; ++kk) {
      for (uint32_t j = 0; j < fn; ++j)
        kb.wmma_load(fb[j], Space::shared, rB, int32_t(st * stage + kk * 16 * sb + j * 16 * e), sb);
      for (uint32_t i = 0; i < fm; ++i) {
        const Frag& a = fa[i % 2];
        kb.wmma_load(a, Space::shared, rA, int32_t(st * stage + i * 16 * sa + kk * 16 * e), sa);
        std::vector<WmmaOp> batch;
        for (uint32_t j = 0; j < fn; ++j) batch.push_back({accs[i * fn + j], a, fb[j], accs[i * fn + j]});
        kb.wmma_mma_batch(batch);
      }
    }
  };
  auto body = [&](uint32_t st, bool prefetch) {
    if (prefetch) load_tile();
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
  // Epilogue: accumulators straight to global C.
  for (uint32_t i = 0; i < fm; ++i)
    for (uint32_t j = 0; j < fn; ++j)
      kb.wmma_store(accs[i * fn + j], Space::global, rC, int32_t(i * 16 * L.ldc + j * 16 * ce), uint32_t(L.ldc),
                    kBufC);
  kb.exit();
  plan.kernel = kb.finish();

  Launch& l = plan.launch;
  l.kernel = &plan.kernel;
  const uint64_t grid_m = L.mp / t.bm, grid_n = L.np / t.bn;
  l.ctas = static_cast<uint32_t>(grid_m * grid_n);
  l.threads = threads;
  l.shared_bytes = 2 * stage;
  l.nbufs = 3;
  l.bases.resize(size_t(l.ctas) * 3);
  // Row-major raster: consecutive CTAs share an A row block (L2 reuse).
  for (uint64_t c = 0; c < l.ctas; ++c) {
    const uint64_t by = c / grid_n, bx = c % grid_n;
    l.bases[c * 3 + kBufA] = L.a + by * t.bm * L.lda;
    l.bases[c * 3 + kBufB] = L.b + bx * t.bn * e;
    l.bases[c * 3 + kBufC] = L.c + by * t.bm * L.ldc + bx * t.bn * ce;
  }
  if (plan.kernel.regs_per_thread > cfg.occupancy.max_registers_per_thread)
    throw GpuLoweringError(spec.name + ": kernel needs " + std::to_string(plan.kernel.regs_per_thread) + " registers");
}

void stage_inputs(const GpuGemmLayout& l, const GpuGemmSpec& spec, const uint8_t* a, const uint8_t* b,
                  GlobalMemory& mem) {
  mem.resize(l.bytes);
  const uint64_t e = l.in_bytes;
  for (uint64_t i = 0; i < spec.m; ++i) mem.write(l.a + i * l.lda, a + i * spec.k * e, spec.k * e);
  for (uint64_t k = 0; k < spec.k; ++k) mem.write(l.b + k * l.ldb, b + k * spec.n * e, spec.n * e);
}

std::vector<uint8_t> read_output(const GpuGemmLayout& l, const GpuGemmSpec& spec, const GlobalMemory& mem) {
  std::vector<uint8_t> c(spec.m * spec.n * l.out_bytes);
  for (uint64_t i = 0; i < spec.m; ++i)
    mem.read(l.c + i * l.ldc, c.data() + i * spec.n * l.out_bytes, spec.n * l.out_bytes);
  return c;
}

}  // namespace xpu::lowering::gpu
