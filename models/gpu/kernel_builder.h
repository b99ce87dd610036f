#pragma once
// Assembles Kernels: registers and predicates by counter, labels patched at
// finish(), structured branches that record their reconvergence point, and
// the wmma operations expanded into the instructions of the tensor-core
// shape given at construction (mma_shape.h; Volta: mma_volta_hmma884.h):
//   wmma.load/store  -> frag_parts() LDS/LDG/STS/STG per lane, or one
//                       ldmatrix from shared memory where the shape says so;
//   wmma.mma         -> sets() x steps(acc) HMMA instructions, set-major
//                       (Volta: 4 x 4 with fp32/int32 accumulation, 4 x 2 with fp16);
//   wmma.fill        -> one MOV per accumulator register.
#include <cstdint>
#include <string>
#include <vector>

#include "models/gpu/isa.h"
#include "models/gpu/mma_shape.h"

namespace xpu::gpu {

enum class Space { shared, global };

struct Frag {
  FragKind kind = FragKind::a;
  uint8_t reg = kRZ;  // first register
  DType in = DType::fp16;
  AccType acc = AccType::f32;
  uint8_t nregs = 0;  // registers per lane (the shape's frag_regs)
  uint32_t regs() const { return nregs; }
};

struct WmmaOp {
  Frag d, a, b, c;
};

class KernelBuilder {
 public:
  // `mma`: the tensor-core shape of the config the kernel will run on
  // (mma_shape(cfg.tensor_core.mma)); needed only by frag() and wmma_*.
  explicit KernelBuilder(std::string name, const MmaShape* mma = nullptr) {
    k_.name = std::move(name);
    k_.mma = mma;
  }

  uint8_t reg(uint32_t n = 1);  // n consecutive registers
  uint8_t pred();
  Frag frag(FragKind kind, DType in, AccType acc);

  int label();
  void bind(int label);
  size_t pc() const { return k_.code.size(); }

  // Every emitter returns the new instruction for optional tweaks (guard).
  Instr& emit(Instr in);
  Instr& mov(uint8_t d, int32_t imm);
  // The last instruction (a mov of an immediate) sets the kernel's main
  // loop trip count (Kernel::trip_pc, k_loop_sampler.h).
  void mark_trip_count() {
    k_.trip_pc = static_cast<uint32_t>(k_.code.size() - 1);
    k_.trips = static_cast<uint32_t>(k_.code.back().imm);
  }
  Instr& mov_r(uint8_t d, uint8_t a);
  Instr& alu(Op op, uint8_t d, uint8_t a, uint8_t b, uint8_t c = kRZ);  // register operands
  Instr& alui(Op op, uint8_t d, uint8_t a, int32_t imm, uint8_t c = kRZ);  // b is an immediate
  Instr& s2r(uint8_t d, Special s);
  Instr& setp(Op op, uint8_t p, Cmp cmp, uint8_t a, uint8_t b);
  Instr& setpi(Op op, uint8_t p, Cmp cmp, uint8_t a, int32_t imm);
  Instr& ldg(uint8_t d, uint8_t buf, uint8_t a, int32_t imm, uint8_t width = 4);
  Instr& stg(uint8_t buf, uint8_t a, int32_t imm, uint8_t src, uint8_t width = 4);
  Instr& lds(uint8_t d, uint8_t a, int32_t imm, uint8_t width = 4);
  Instr& sts(uint8_t a, int32_t imm, uint8_t src, uint8_t width = 4);
  // Ampere: cp.async of `width` bytes per lane from global (buf base +) R[a]
  // + imm to shared R[s] + simm; commit_group; wait_group n; ldmatrix.
  Instr& ldgsts(uint8_t buf, uint8_t a, int32_t imm, uint8_t s, int32_t simm, uint8_t width = 16);
  Instr& cp_commit();
  Instr& cp_wait(uint32_t n);
  Instr& ldsm(uint8_t d, uint8_t a, int32_t imm, uint8_t matrices, bool trans);
  Instr& bar();
  Instr& exit();
  // Branch to `target` where @p (or @!p); the diverged paths reconverge at
  // `reconv` (the immediate post-dominator the caller knows from structure).
  Instr& bra(int target, int reconv, uint8_t p = kPT, bool neg = false);
  // if (@p) { body } with reconvergence after the body.
  template <typename F>
  void if_(uint8_t p, bool neg, F body) {
    const int end = label();
    bra(end, end, p, !neg);  // skip the body where the condition fails
    body();
    bind(end);
  }

  // wmma: fragment tile at (buf base +) R[a] + imm with rows ldm bytes apart.
  void wmma_load(const Frag& f, Space s, uint8_t a, int32_t imm, uint32_t ldm, uint8_t buf = kAbsolute);
  // max_width: each part stored as pieces of at most this many bytes (C
  // rows whose pitch allows no wider access).
  void wmma_store(const Frag& f, Space s, uint8_t a, int32_t imm, uint32_t ldm, uint8_t buf = kAbsolute,
                  uint32_t max_width = 16);
  void wmma_fill_zero(const Frag& c);
  void wmma_mma(const Frag& d, const Frag& a, const Frag& b, const Frag& c);
  // Independent mmas interleaved set-major (set 0 of every op, then set 1,
  // ...), as the compiler schedules them so HMMA chains overlap.
  void wmma_mma_batch(const std::vector<WmmaOp>& ops);

  // Patches labels; checks registers fit `regs_per_thread` (0: the count used).
  Kernel finish(uint32_t regs_per_thread = 0);

 private:
  const MmaShape& mma() const;
  // Throws InternalError unless width is a power of two in [least, 16].
  void check_width(uint32_t width, uint32_t least) const;
  Kernel k_;
  uint32_t next_reg_ = 0;
  uint32_t next_pred_ = 0;
  std::vector<int32_t> labels_;
};

}  // namespace xpu::gpu
