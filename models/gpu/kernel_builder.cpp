#include "models/gpu/kernel_builder.h"

#include <stdexcept>

#include "sim/common/errors.h"

namespace xpu::gpu {

uint8_t KernelBuilder::reg(uint32_t n) {
  // Multi-register operands (128-bit loads, fragments) start at a multiple
  // of 4 when they span 4+ registers, like the hardware's aligned tuples.
  if (n >= 4) next_reg_ = (next_reg_ + 3) & ~3u;
  else if (n == 2) next_reg_ = (next_reg_ + 1) & ~1u;
  if (next_reg_ + n > 255) throw InternalError(k_.name + ": out of registers");
  const uint8_t r = static_cast<uint8_t>(next_reg_);
  next_reg_ += n;
  return r;
}

uint8_t KernelBuilder::pred() {
  if (next_pred_ >= kPT) throw InternalError(k_.name + ": out of predicates");
  return static_cast<uint8_t>(next_pred_++);
}

const MmaShape& KernelBuilder::mma() const {
  if (!k_.mma) throw InternalError(k_.name + ": wmma operations need the builder's tensor-core shape");
  return *k_.mma;
}

Frag KernelBuilder::frag(FragKind kind, DType in, AccType acc) {
  Frag f{kind, kRZ, in, acc, static_cast<uint8_t>(mma().frag_regs(kind, in, acc))};
  f.reg = reg(f.regs());
  return f;
}

int KernelBuilder::label() {
  labels_.push_back(-1);
  return static_cast<int>(labels_.size()) - 1;
}

void KernelBuilder::bind(int l) { labels_.at(l) = static_cast<int32_t>(k_.code.size()); }

Instr& KernelBuilder::emit(Instr in) {
  if (in.op == Op::s2r && (in.sreg == Special::ctaid)) k_.reads_ctaid = true;
  k_.code.push_back(in);
  return k_.code.back();
}

Instr& KernelBuilder::mov(uint8_t d, int32_t imm) {
  Instr in;
  in.op = Op::mov;
  in.dst = d;
  in.b_imm = true;
  in.imm = imm;
  return emit(in);
}

Instr& KernelBuilder::mov_r(uint8_t d, uint8_t a) {
  Instr in;
  in.op = Op::mov;
  in.dst = d;
  in.a = a;
  return emit(in);
}

Instr& KernelBuilder::alu(Op op, uint8_t d, uint8_t a, uint8_t b, uint8_t c) {
  Instr in;
  in.op = op;
  in.dst = d;
  in.a = a;
  in.b = b;
  in.c = c;
  return emit(in);
}

Instr& KernelBuilder::alui(Op op, uint8_t d, uint8_t a, int32_t imm, uint8_t c) {
  Instr in;
  in.op = op;
  in.dst = d;
  in.a = a;
  in.b_imm = true;
  in.imm = imm;
  in.c = c;
  return emit(in);
}

Instr& KernelBuilder::s2r(uint8_t d, Special s) {
  Instr in;
  in.op = Op::s2r;
  in.dst = d;
  in.sreg = s;
  return emit(in);
}

Instr& KernelBuilder::setp(Op op, uint8_t p, Cmp cmp, uint8_t a, uint8_t b) {
  Instr& in = alu(op, p, a, b);
  in.cmp = cmp;
  return in;
}

Instr& KernelBuilder::setpi(Op op, uint8_t p, Cmp cmp, uint8_t a, int32_t imm) {
  Instr& in = alui(op, p, a, imm);
  in.cmp = cmp;
  return in;
}

Instr& KernelBuilder::ldg(uint8_t d, uint8_t buf, uint8_t a, int32_t imm, uint8_t width) {
  Instr in;
  in.op = Op::ldg;
  in.dst = d;
  in.buf = buf;
  in.a = a;
  in.imm = imm;
  in.width = width;
  return emit(in);
}

Instr& KernelBuilder::stg(uint8_t buf, uint8_t a, int32_t imm, uint8_t src, uint8_t width) {
  Instr in;
  in.op = Op::stg;
  in.buf = buf;
  in.a = a;
  in.imm = imm;
  in.c = src;
  in.width = width;
  return emit(in);
}

Instr& KernelBuilder::lds(uint8_t d, uint8_t a, int32_t imm, uint8_t width) {
  if (width < 4) throw InternalError(k_.name + ": shared-memory accesses are 4, 8 or 16 bytes");
  Instr in;
  in.op = Op::lds;
  in.dst = d;
  in.a = a;
  in.imm = imm;
  in.width = width;
  return emit(in);
}

Instr& KernelBuilder::sts(uint8_t a, int32_t imm, uint8_t src, uint8_t width) {
  if (width < 4) throw InternalError(k_.name + ": shared-memory accesses are 4, 8 or 16 bytes");
  Instr in;
  in.op = Op::sts;
  in.a = a;
  in.imm = imm;
  in.c = src;
  in.width = width;
  return emit(in);
}

Instr& KernelBuilder::ldgsts(uint8_t buf, uint8_t a, int32_t imm, uint8_t s, int32_t simm, uint8_t width) {
  Instr in;
  in.op = Op::ldgsts;
  in.buf = buf;
  in.a = a;
  in.imm = imm;
  in.c = s;
  in.imm2 = simm;
  in.width = width;
  return emit(in);
}

Instr& KernelBuilder::cp_commit() {
  Instr in;
  in.op = Op::cp_commit;
  return emit(in);
}

Instr& KernelBuilder::cp_wait(uint32_t n) {
  Instr in;
  in.op = Op::cp_wait;
  in.imm = static_cast<int32_t>(n);
  return emit(in);
}

Instr& KernelBuilder::ldsm(uint8_t d, uint8_t a, int32_t imm, uint8_t matrices, bool trans) {
  if (matrices != 1 && matrices != 2 && matrices != 4) throw InternalError(k_.name + ": ldmatrix of 1, 2 or 4 matrices");
  Instr in;
  in.op = Op::ldsm;
  in.dst = d;
  in.a = a;
  in.imm = imm;
  in.width = 16;
  in.ldsm_n = matrices;
  in.ldsm_trans = trans;
  return emit(in);
}

Instr& KernelBuilder::bar() {
  Instr in;
  in.op = Op::bar;
  return emit(in);
}

Instr& KernelBuilder::exit() {
  Instr in;
  in.op = Op::exit;
  return emit(in);
}

Instr& KernelBuilder::bra(int target, int reconv, uint8_t p, bool neg) {
  Instr in;
  in.op = Op::bra;
  in.target = target;  // label ids until finish()
  in.reconv = reconv;
  in.guard = p;
  in.guard_neg = neg;
  return emit(in);
}

void KernelBuilder::wmma_load(const Frag& f, Space s, uint8_t a, int32_t imm, uint32_t ldm, uint8_t buf) {
  const MmaShape::LdMatrix lm = mma().ldmatrix(f.kind, f.in);
  if (s == Space::shared && lm.matrices > 0) {
    if (lm.matrices != f.regs()) throw InternalError(k_.name + ": ldmatrix does not fill the fragment");
    Instr& in = ldsm(f.reg, a, imm, lm.matrices, lm.trans);
    in.frag = static_cast<int8_t>(f.kind);
    in.ldm = ldm;
    in.in = f.in;
    in.acc = f.acc;
    return;
  }
  const uint32_t parts = mma().frag_parts(f.kind, f.in, f.acc), pb = mma().frag_part_bytes(f.kind, f.in, f.acc);
  for (uint32_t p = 0; p < parts; ++p) {
    const uint8_t d = static_cast<uint8_t>(f.reg + p * pb / 4);
    Instr& in = s == Space::shared ? lds(d, a, imm, static_cast<uint8_t>(pb))
                                   : ldg(d, buf, a, imm, static_cast<uint8_t>(pb));
    in.frag = static_cast<int8_t>(f.kind);
    in.part = static_cast<uint8_t>(p);
    in.ldm = ldm;
    in.in = f.in;
    in.acc = f.acc;
  }
}

void KernelBuilder::wmma_store(const Frag& f, Space s, uint8_t a, int32_t imm, uint32_t ldm, uint8_t buf) {
  const uint32_t parts = mma().frag_parts(f.kind, f.in, f.acc), pb = mma().frag_part_bytes(f.kind, f.in, f.acc);
  for (uint32_t p = 0; p < parts; ++p) {
    const uint8_t src = static_cast<uint8_t>(f.reg + p * pb / 4);
    Instr& in = s == Space::shared ? sts(a, imm, src, static_cast<uint8_t>(pb))
                                   : stg(buf, a, imm, src, static_cast<uint8_t>(pb));
    in.frag = static_cast<int8_t>(f.kind);
    in.part = static_cast<uint8_t>(p);
    in.ldm = ldm;
    in.in = f.in;
    in.acc = f.acc;
  }
}

void KernelBuilder::wmma_fill_zero(const Frag& c) {
  for (uint32_t r = 0; r < c.regs(); ++r) mov(static_cast<uint8_t>(c.reg + r), 0);
}

void KernelBuilder::wmma_mma(const Frag& d, const Frag& a, const Frag& b, const Frag& c) {
  wmma_mma_batch({WmmaOp{d, a, b, c}});
}

void KernelBuilder::wmma_mma_batch(const std::vector<WmmaOp>& ops) {
  for (const WmmaOp& op : ops) {
    if (op.a.kind != FragKind::a || op.b.kind != FragKind::b || op.c.kind != FragKind::c || op.d.kind != FragKind::c)
      throw InternalError("wmma_mma: fragment kinds must be (c, a, b, c)");
    if (op.a.in != op.b.in) throw InternalError("wmma_mma: A and B input types differ");
    if ((op.a.in == DType::int8) != (op.c.acc == AccType::s32))
      throw InternalError("wmma_mma: int8 inputs need an s32 accumulator and only they do");
    if (op.c.acc != op.d.acc) throw InternalError("wmma_mma: C and D accumulator types differ");
  }
  const MmaShape& mma = this->mma();
  for (uint32_t set = 0; set < mma.sets(); ++set)
    for (const WmmaOp& op : ops) {
      const uint32_t steps = mma.steps(op.c.acc);
      for (uint32_t step = 0; step < steps; ++step) {
        Instr in;
        in.op = Op::hmma;
        in.dst = op.d.reg;
        in.a = op.a.reg;
        in.b = op.b.reg;
        // Set 0 reads C; later sets read the running sum in D.
        in.c = set == 0 ? op.c.reg : op.d.reg;
        in.set = static_cast<uint8_t>(set);
        in.step = static_cast<uint8_t>(step);
        in.acc = op.c.acc;
        in.in = op.a.in;
        emit(in);
      }
    }
}

Kernel KernelBuilder::finish(uint32_t regs_per_thread) {
  for (Instr& in : k_.code) {
    if (in.op != Op::bra) continue;
    in.target = labels_.at(in.target);
    in.reconv = labels_.at(in.reconv);
    if (in.target < 0 || in.reconv < 0) throw InternalError(k_.name + ": unbound label");
  }
  if (k_.code.empty() || k_.code.back().op != Op::exit) exit();
  if (regs_per_thread == 0) regs_per_thread = next_reg_ == 0 ? 1 : next_reg_;
  if (regs_per_thread < next_reg_)
    throw InternalError(k_.name + ": uses " + std::to_string(next_reg_) + " registers, declared " +
                             std::to_string(regs_per_thread));
  k_.regs_per_thread = regs_per_thread;
  return k_;
}

}  // namespace xpu::gpu
