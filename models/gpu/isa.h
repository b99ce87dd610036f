#pragma once
// A small PTX/SASS-like warp ISA. Each thread has 32-bit registers R0..R254
// and predicates P0..P6 (P7 is "always true"). Programs are built with
// KernelBuilder (kernel_builder.h), which also expands wmma operations into
// the HMMA/LDS/LDG sequences the hardware runs.
//
// Global addresses are `base[buf] + R[a] + imm`: base[] are per-CTA buffer
// pointers handed over by the launch (the only way CTA identity enters a
// kernel that does not read %ctaid), which is what lets the fast path prove
// CTAs identical (gpu.h).
#include <cstdint>
#include <string>
#include <vector>

#include "sim/numerics/mac.h"

namespace xpu::gpu {

constexpr uint8_t kRZ = 255;       // reads as zero, writes are dropped
constexpr uint8_t kPT = 7;         // predicate that is always true
constexpr uint8_t kAbsolute = 255;  // buf: no CTA base, address = R[a] + imm
constexpr uint32_t kMaxBufs = 8;

enum class Op : uint8_t {
  // int32 pipe
  mov, iadd, isub, imul, imad, shl, shr, and_, or_, xor_, imin, imax, isetp, s2r, sel,
  // fp32 pipe
  fadd, fmul, ffma, fmax, fsetp, f2h, h2f,
  // conversions between 32-bit types: i2f (int32 -> fp32, RNE), f2i (fp32 ->
  // int32, RNE, saturating, NaN -> 0: cvt.rni.sat.s32.f32)
  i2f, f2i,
  // fp64 pipe
  dadd,
  // SFU
  ex2, rcp, rsq,
  // LD/ST; ldsm = ldmatrix (8x8 16-bit matrices from shared memory, Ampere);
  // ldgsts = cp.async global -> shared (no register written) with
  // cp_commit (cp.async.commit_group) and cp_wait (cp.async.wait_group imm)
  ldg, stg, lds, sts, ldsm, ldgsts, cp_commit, cp_wait,
  // tensor core (one HMMA step)
  hmma,
  // control
  bra, bar, exit, nop,
};

enum class Cmp : uint8_t { lt, le, eq, ne, ge, gt };
enum class Special : uint8_t { tid, ntid, ctaid, nctaid, laneid, warpid, clock };  // clock: issue cycle (CS2R SR_CLOCKLO)
enum class AccType : uint8_t { f32, f16, s32 };

// Which pipeline executes an op (and which stall it causes when busy).
enum class Unit : uint8_t { int32, fp32, fp64, sfu, ldst, tensor, branch, none };
Unit unit_of(Op op);
const char* op_name(Op op);

struct Instr {
  Op op = Op::nop;
  uint8_t dst = kRZ;                 // register (or predicate for setp)
  uint8_t a = kRZ, b = kRZ, c = kRZ;  // sources
  bool b_imm = false;                 // b is `imm` instead of a register
  uint8_t guard = kPT;               // predicate guard @P / @!P
  bool guard_neg = false;
  Cmp cmp = Cmp::lt;                 // setp
  Special sreg = Special::tid;       // s2r
  uint8_t width = 4;                 // memory: bytes per thread (4, 8, 16; global also 2)
  uint8_t buf = kAbsolute;           // global memory: per-CTA base pointer slot
  int32_t imm = 0;                   // immediate operand / address offset
  // Control flow.
  int32_t target = -1;   // bra: destination pc
  int32_t reconv = -1;   // bra: immediate post-dominator (SIMT reconvergence pc)
  // Fragment memory ops (expanded wmma.load/store): lane addresses follow the
  // fragment layout of the kernel's MmaShape (mma_shape.h): frag kind, part,
  // leading dimension bytes.
  int8_t frag = -1;      // FragKind, or -1 for ordinary per-lane addressing
  uint8_t part = 0;
  uint32_t ldm = 0;      // bytes between rows
  // Tensor-core instruction: which of the MmaShape's sets and steps.
  uint8_t set = 0, step = 0;
  AccType acc = AccType::f32;
  DType in = DType::fp16;
  // ldsm: matrices (1, 2, 4) into dst..dst+n-1, transposed or not.
  uint8_t ldsm_n = 0;
  bool ldsm_trans = false;
  // ldgsts: the shared-memory byte address is R[c] + imm2.
  int32_t imm2 = 0;
  // Tensor-core instruction with a 2:4 structured-sparse A (mma.sp): its
  // metadata register (MmaShape documents the layout).
  bool sparse = false;
  uint8_t meta = kRZ;
};

// The one list of Instr's fields, for code that compares or keys whole
// instructions (an Instr has padding, whose bytes are not its value):
// f(field) for each field.
template <typename F>
void for_each_field(const Instr& in, F&& f) {
  f(in.op), f(in.dst), f(in.a), f(in.b), f(in.c), f(in.b_imm), f(in.guard), f(in.guard_neg), f(in.cmp);
  f(in.sreg), f(in.width), f(in.buf), f(in.imm), f(in.target), f(in.reconv), f(in.frag), f(in.part);
  f(in.ldm), f(in.set), f(in.step), f(in.acc), f(in.in), f(in.ldsm_n), f(in.ldsm_trans), f(in.imm2);
  f(in.sparse), f(in.meta);
}

// Every field equal.
bool same_instr(const Instr& x, const Instr& y);

// Registers a memory instruction reads or writes: one per 4 bytes; a 2-byte
// global access (LDG.U16 / STG.U16, 16-bit tensors) uses the low half of one
// register (a load zero-extends).
inline uint32_t mem_regs(const Instr& in) { return in.width < 4 ? 1u : in.width / 4u; }

class MmaShape;

struct Kernel {
  std::string name;
  std::vector<Instr> code;
  // The tensor-core shape its fragment and HMMA instructions follow (set by
  // the builder; nullptr when it has none). Must be the config's.
  const MmaShape* mma = nullptr;
  uint32_t regs_per_thread = 32;  // allocation (occupancy), >= highest register used + 1
  bool reads_ctaid = false;       // set by the builder: such CTAs are not provably identical
  // A main loop whose trip count is the immediate of code[trip_pc], `trips`
  // (0: none marked); k_loop_sampler.h may run the kernel with fewer.
  uint32_t trip_pc = 0, trips = 0;
};

// One kernel launch: a 1-D grid of CTAs (2-D shapes are flattened by the
// lowering, which computes each CTA's buffer bases).
struct Launch {
  const Kernel* kernel = nullptr;
  uint32_t ctas = 1;
  uint32_t threads = 32;            // per CTA, a multiple of 32
  uint32_t shared_bytes = 0;        // per CTA
  uint32_t nbufs = 0;
  std::vector<uint64_t> bases;      // ctas x nbufs buffer pointers
  uint64_t base(uint32_t cta, uint32_t buf) const { return bases[size_t(cta) * nbufs + buf]; }
};

}  // namespace xpu::gpu
