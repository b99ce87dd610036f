#include "models/gpu/fast_path.h"

#include <bitset>

#include "models/gpu/mma_shape.h"
#include "sim/common/errors.h"

namespace xpu::gpu {

std::string fast_path_check(const Kernel& k) {
  // Taint (rule 1 of fast_path.h), flow-insensitive to a fixed point.
  std::bitset<256> reg;   // data registers (kRZ never)
  std::bitset<8> pred;    // data predicates (kPT never)
  auto r = [&](uint8_t x) { return x != kRZ && reg[x]; };
  auto set_reg = [&](uint8_t x, uint32_t n, bool v) {
    bool changed = false;
    for (uint32_t i = 0; i < n && v; ++i) {
      const uint32_t q = uint32_t(x) + i;
      if (q >= kRZ) break;
      if (!reg[q]) reg[q] = true, changed = true;
    }
    return changed;
  };
  for (const Instr& in : k.code)
    if (in.op == Op::s2r && in.sreg == Special::clock) return "reads %clock";
  for (bool changed = true; changed;) {
    changed = false;
    for (const Instr& in : k.code) {
      const Unit u = unit_of(in.op);
      switch (in.op) {
        case Op::ldg: case Op::lds: changed |= set_reg(in.dst, mem_regs(in), true); break;
        case Op::ldsm: changed |= set_reg(in.dst, in.ldsm_n, true); break;
        case Op::stg: case Op::sts: case Op::bra: case Op::bar: case Op::exit: case Op::nop: case Op::ldgsts:
        case Op::cp_commit: case Op::cp_wait:
          break;
        case Op::hmma: {
          if (!k.mma) throw InternalError(k.name + ": HMMA in a kernel without a tensor-core shape");
          // The metadata register is read as data only (selects products), never as an address.
          const MmaStepRegs h = k.mma->step_regs(in);
          changed |= set_reg(h.d_first, h.d_count, true);
          break;
        }
        case Op::isetp: {
          const bool t = r(in.a) || (!in.b_imm && r(in.b));
          if (t && !pred[in.dst]) pred[in.dst] = true, changed = true;
          break;
        }
        case Op::fsetp:
          if (!pred[in.dst]) pred[in.dst] = true, changed = true;
          break;
        case Op::s2r: changed |= set_reg(in.dst, 1, in.sreg == Special::ctaid); break;
        default: {
          if (u != Unit::int32) {
            changed |= set_reg(in.dst, 1, true);  // float results are not computed without values
            break;
          }
          bool t = !(in.op == Op::mov && in.b_imm) && r(in.a);
          t |= !in.b_imm && in.op != Op::mov && r(in.b);
          t |= in.op == Op::imad && r(in.c);
          t |= in.op == Op::sel && in.c < 8 && pred[in.c];
          changed |= set_reg(in.dst, 1, t);
          break;
        }
      }
    }
  }
  for (size_t pc = 0; pc < k.code.size(); ++pc) {
    const Instr& in = k.code[pc];
    const std::string at = " at pc " + std::to_string(pc) + " (" + op_name(in.op) + ")";
    if (in.guard != kPT && pred[in.guard]) return "data-dependent guard" + at;
    if ((in.op == Op::ldg || in.op == Op::stg || in.op == Op::lds || in.op == Op::sts || in.op == Op::ldsm ||
         in.op == Op::ldgsts) &&
        r(in.a))
      return "data-dependent address" + at;
    if (in.op == Op::ldgsts && r(in.c)) return "data-dependent address" + at;
  }
  return {};
}

}  // namespace xpu::gpu
