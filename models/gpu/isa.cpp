#include "models/gpu/isa.h"

namespace xpu::gpu {

bool same_instr(const Instr& x, const Instr& y) {
  auto bytes = [](const Instr& in) {
    std::string k;
    for_each_field(in, [&k](const auto& v) { k.append(reinterpret_cast<const char*>(&v), sizeof v); });
    return k;
  };
  return bytes(x) == bytes(y);
}

Unit unit_of(Op op) {
  switch (op) {
    case Op::mov: case Op::iadd: case Op::isub: case Op::imul: case Op::imad: case Op::shl:
    case Op::shr: case Op::and_: case Op::or_: case Op::xor_: case Op::imin: case Op::imax:
    case Op::isetp: case Op::s2r: case Op::sel:
      return Unit::int32;
    case Op::fadd: case Op::fmul: case Op::ffma: case Op::fmax: case Op::fsetp: case Op::f2h: case Op::h2f:
      return Unit::fp32;
    case Op::dadd: return Unit::fp64;
    // Conversions between 32-bit types issue at 16 per clock per SM on
    // compute capability 7.x and 8.x, the SFU's rate (CUDA C++ Programming
    // Guide, "Arithmetic Instructions" throughput table).
    case Op::ex2: case Op::rcp: case Op::rsq: case Op::i2f: case Op::f2i: return Unit::sfu;
    case Op::ldg: case Op::stg: case Op::lds: case Op::sts: case Op::ldsm: case Op::ldgsts: return Unit::ldst;
    case Op::cp_commit: case Op::cp_wait: return Unit::none;  // group bookkeeping, no pipe
    case Op::hmma: return Unit::tensor;
    case Op::bra: case Op::bar: case Op::exit: return Unit::branch;
    case Op::nop: return Unit::none;
  }
  return Unit::none;
}

const char* op_name(Op op) {
  static const char* const names[] = {
      "MOV", "IADD", "ISUB", "IMUL", "IMAD", "SHL", "SHR", "AND", "OR", "XOR", "IMIN", "IMAX", "ISETP", "S2R",
      "SEL", "FADD", "FMUL", "FFMA", "FMNMX", "FSETP", "F2F.F16", "F2F.F32", "I2F", "F2I", "DADD", "MUFU.EX2", "MUFU.RCP",
      "MUFU.RSQ", "LDG", "STG", "LDS", "STS", "LDSM", "LDGSTS", "LDGDEPBAR", "DEPBAR", "HMMA", "BRA", "BAR", "EXIT", "NOP"};
  return names[static_cast<int>(op)];
}

}  // namespace xpu::gpu
