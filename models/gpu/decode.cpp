#include "models/gpu/decode.h"

#include <algorithm>
#include <string>

#include "models/gpu/mma_shape.h"
#include "sim/common/errors.h"

namespace xpu::gpu {

namespace {

bool uses_a(Op op) { return op != Op::s2r && op != Op::nop && op != Op::bra && op != Op::bar && op != Op::exit; }
bool uses_b(Op op) {
  switch (op) {
    case Op::iadd: case Op::isub: case Op::imul: case Op::imad: case Op::shl: case Op::shr: case Op::and_:
    case Op::or_: case Op::xor_: case Op::imin: case Op::imax: case Op::isetp: case Op::sel: case Op::fadd:
    case Op::fmul: case Op::ffma: case Op::fmax: case Op::fsetp: case Op::dadd:
      return true;
    default:
      return false;
  }
}

struct Builder {
  Decoded& d;
  void add(uint16_t r) {
    if (r == kRZ) return;
    for (uint32_t i = 0; i < d.nregs; ++i)
      if (d.regs[i] == r) return;
    if (d.nregs >= d.regs.size()) throw InternalError("decode: too many operands");
    d.regs[d.nregs++] = r;
  }
  void range(uint8_t first, uint32_t n) {
    if (first == kRZ) return;
    for (uint32_t i = 0; i < n; ++i) add(static_cast<uint16_t>(first + i));
  }
};

}  // namespace

std::vector<Decoded> decode(const Kernel& k, const GpuConfig& cfg) {
  std::vector<Decoded> out(k.code.size());
  const auto& sc = cfg.sub_core;
  const auto& tc = cfg.tensor_core;
  const MmaShape& mma = mma_shape(tc.mma);
  if (k.mma && k.mma != &mma)
    throw InternalError(k.name + ": built for tensor-core shape " + k.mma->name() + ", the config has " + mma.name());
  for (size_t pc = 0; pc < k.code.size(); ++pc) {
    const Instr& in = k.code[pc];
    Decoded& d = out[pc];
    Builder b{d};
    d.unit = unit_of(in.op);
    d.ctl = in.op == Op::exit ? kCtlExit : in.op == Op::cp_wait ? kCtlCpWait : 0;
    d.guard = in.guard;
    d.guard_neg = in.guard_neg;
    if (in.guard != kPT) b.add(static_cast<uint16_t>(256 + in.guard));
    auto pipe = [&](const PipeConfig& p) {
      d.issue = static_cast<uint8_t>(p.issue_cycles());
      d.latency = static_cast<uint8_t>(std::min<uint32_t>(p.latency, 255));
    };
    switch (d.unit) {
      case Unit::int32: pipe(sc.int32); break;
      case Unit::fp32: pipe(sc.fp32); break;
      case Unit::fp64: pipe(sc.fp64); break;
      case Unit::sfu: pipe(sc.sfu); break;
      case Unit::ldst: pipe(sc.ldst); break;
      case Unit::tensor:
        d.issue = static_cast<uint8_t>(in.in == DType::int8   ? tc.ii_int8
                                       : in.in == DType::fp32 ? tc.ii_tf32
                                       : in.acc == AccType::f16 ? tc.ii_f16_acc
                                                                : tc.ii_f32_acc);
        d.latency = static_cast<uint8_t>(std::min<uint32_t>(in.in == DType::int8   ? tc.latency_int8
                                                            : in.in == DType::fp32 ? tc.latency_tf32
                                                            : in.acc == AccType::f16 ? tc.latency_f16_acc
                                                                                     : tc.latency_f32_acc,
                                                            255));
        break;
      default: d.issue = 1; d.latency = 1; break;
    }
    const uint32_t words = mem_regs(in);
    std::vector<uint8_t> srcs;
    switch (in.op) {
      case Op::hmma: {
        if (in.sparse && (!tc.sparse_2_4 || mma.kind() != MmaKind::ampere_mma_sync))
          throw InternalError(k.name + ": mma.sp on " + cfg.name + ", which has no 2:4 sparse tensor path");
        const MmaStepRegs r = mma.step_regs(in);
        if (in.sparse) b.add(in.meta);
        b.range(r.a_first, r.a_count);
        b.range(r.b_first, r.b_count);
        b.range(r.c_first, r.c_count);
        b.range(r.d_first, r.d_count);
        d.dst_first = r.d_first;
        d.dst_count = r.d_count;
        // MACs of one instruction (sm_issue.cpp counts them), a power of two
        // so that the hot path shifts (Volta: 16 x 16 x 16 / (4 sets x 4 or 2 steps)).
        d.mac_ctr = in.sparse              ? (in.in == DType::int8 ? Ctr::mac_sparse8 : Ctr::mac_sparse16)  // real MACs
                    : in.in == DType::int8   ? Ctr::mac_int8
                    : in.in == DType::bf16 ? Ctr::mac_bf16
                    : in.in == DType::fp32 ? Ctr::mac_tf32
                    : in.acc == AccType::f16 ? Ctr::mac_fp16_acc16
                                             : Ctr::mac_fp16;
        const uint32_t macs = mma.step_macs(in.in, in.acc);
        if (macs == 0 || (macs & (macs - 1)) != 0)
          throw InternalError(std::string(mma.name()) + ": MACs per instruction must be a power of two");
        d.mac_log2 = static_cast<uint8_t>(__builtin_ctz(macs));
        const MmaStepTraffic rf = mma.step_rf(in);
        d.rf_reads = rf.reads;
        d.rf_writes = rf.writes;
        break;
      }
      case Op::ldg: case Op::lds:
        b.add(in.a);
        b.range(in.dst, words);
        d.rf_reads = in.a == kRZ ? 0 : 1;
        d.rf_writes = static_cast<uint16_t>(words);
        break;
      case Op::ldsm:
        b.add(in.a);
        b.range(in.dst, in.ldsm_n);
        d.rf_reads = in.a == kRZ ? 0 : 1;
        d.rf_writes = in.ldsm_n;
        break;
      case Op::ldgsts:
        b.add(in.a);
        b.add(in.c);
        d.rf_reads = static_cast<uint16_t>((in.a == kRZ ? 0 : 1) + (in.c == kRZ ? 0 : 1));
        break;
      case Op::stg: case Op::sts:
        b.add(in.a);
        b.range(in.c, words);
        d.rf_reads = static_cast<uint16_t>((in.a == kRZ ? 0 : 1) + words);
        break;
      case Op::isetp: case Op::fsetp:
        if (uses_a(in.op)) srcs.push_back(in.a);
        if (!in.b_imm) srcs.push_back(in.b);
        for (uint8_t r : srcs) b.add(r);
        b.add(static_cast<uint16_t>(256 + in.dst));
        break;
      default:
        if (d.unit == Unit::branch || d.unit == Unit::none) break;
        if (uses_a(in.op) && !(in.op == Op::mov && in.b_imm)) srcs.push_back(in.a);
        if (uses_b(in.op) && !in.b_imm) srcs.push_back(in.b);
        if (in.op == Op::imad || in.op == Op::ffma) srcs.push_back(in.c);
        if (in.op == Op::sel) b.add(static_cast<uint16_t>(256 + in.c));
        for (uint8_t r : srcs) b.add(r);
        b.add(in.dst);
        d.rf_writes = in.dst == kRZ ? 0 : 1;
        break;
    }
    if (!srcs.empty()) {
      // Operands in the same bank are read in successive cycles.
      uint32_t per_bank[64] = {};
      std::sort(srcs.begin(), srcs.end());
      srcs.erase(std::unique(srcs.begin(), srcs.end()), srcs.end());
      uint32_t worst = 0, reads = 0;
      for (uint8_t r : srcs) {
        if (r == kRZ) continue;
        ++reads;
        worst = std::max(worst, ++per_bank[r % sc.register_banks]);
      }
      d.rf_reads = static_cast<uint16_t>(reads);
      d.bank_extra = static_cast<uint8_t>(worst > 1 ? worst - 1 : 0);
    }
    if (in.op == Op::bra && (in.target < 0 || in.target > int32_t(k.code.size()) || in.reconv < 0))
      throw InternalError(k.name + ": branch at " + std::to_string(pc) + " has no target");
  }
  return out;
}

std::vector<std::array<uint32_t, 32>> fragment_offsets(const Kernel& k, const MmaShape& mma) {
  std::vector<std::array<uint32_t, 32>> out(k.code.size(), std::array<uint32_t, 32>{});
  for (size_t pc = 0; pc < k.code.size(); ++pc) {
    const Instr& in = k.code[pc];
    if (in.frag < 0) continue;
    for (uint32_t l = 0; l < 32; ++l)
      out[pc][l] = in.op == Op::ldsm
                       ? mma.ldmatrix_lane_offset(static_cast<FragKind>(in.frag), in.in, l, in.ldm)
                       : mma.frag_lane_offset(static_cast<FragKind>(in.frag), in.in, in.acc, l, in.part, in.ldm);
  }
  return out;
}

}  // namespace xpu::gpu
