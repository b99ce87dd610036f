#pragma once
// Tensor-core instruction shape as data. An MmaShape describes, for one
// machine's matrix instructions, everything the kernel builder, the decoder
// and the SM need that depends on the hardware's MMA:
//   * the warp tile one wmma/mma operation computes, D (m x n) = A (m x k) B (k x n) + C;
//   * how that operation decomposes into tensor-core instructions: `sets`
//     along K, each of steps(acc) instructions over parts of the output,
//     issued set-major; Instr::set / Instr::step name one instruction;
//   * the per-lane fragment layouts of A, B and C/D: registers per lane,
//     the element a register byte holds (frag_elem), and the memory parts
//     a fragment load/store moves per lane (frag_parts, frag_lane_offset);
//   * per instruction: the registers it reads and writes (scoreboard, fast
//     path taint), its register-file traffic and MACs (statistics), and its
//     values (step), in the order the hardware accumulates.
// Timing (issue interval, latency per accumulator type) stays in
// TensorCoreConfig: it is a machine's figure, not the shape's.
//
// The config chooses a shape by name (tensor_core.mma, MmaKind in
// gpu_config.h); mma_shape(kind) returns the one instance. A Kernel records
// the shape its fragments were built for, and decode() refuses to run it on
// a config with another (internal error).
//
// Adding a shape (e.g. Ampere's mma.sync m16n8k16 fp16/bf16, m16n8k8 tf32,
// m16n8k32 int8, whose per-lane layouts the PTX ISA documents: groupID =
// lane / 4 and threadID_in_group = lane % 4 select rows and column pairs):
//   1. gpu_config.h: a MmaKind value and its config name;
//   2. a file mma_<name>.h/.cpp here with a subclass: m, n, k (one mma.sync
//      is then the warp operation, e.g. sets 1 and steps 1, or as many
//      instructions as the SASS splits it into), the layouts (frag_elem is
//      the documented table; frag_lane_offset / frag_part_bytes give the
//      memory parts, e.g. ldmatrix rows), step_regs / step_rf, and step()
//      in the accumulation order the hardware documents or the assumption
//      stated in sim/numerics/mac.h;
//   3. mma_shape.cpp: one line in the registry;
//   4. the lowering's tile loop (sim/lowering/gpu/tc_mainloop.cpp) reads
//      m/n/k from the shape; its epilogue checks the C layout it assumes;
//   5. tests/gpu/test_gpu_mma_shape.cpp: the layout table and a step test.
#include <cstdint>

#include "models/gpu/gpu_config.h"
#include "models/gpu/isa.h"

namespace xpu::gpu {

enum class FragKind : int8_t { a = 0, b = 1, c = 2 };

// Tile coordinates (row, column) of one fragment element: A is m x k, B is
// k x n, C/D is m x n, all row-major.
struct FragElem {
  uint32_t row, col;
};

// Registers one tensor-core instruction reads (A, B, accumulator source C)
// and writes (D): each a first register and a count of consecutive ones.
struct MmaStepRegs {
  uint8_t a_first, a_count;
  uint8_t b_first, b_count;
  uint8_t c_first, c_count;
  uint8_t d_first, d_count;
};

// Register-file traffic of one instruction, in 32-bit lane reads/writes per warp.
struct MmaStepTraffic {
  uint16_t reads, writes;
};

class MmaShape {
 public:
  virtual ~MmaShape() = default;
  MmaKind kind() const { return kind_; }
  const char* name() const { return mma_kind_name(kind_); }

  // The warp operation (KernelBuilder::wmma_mma) and its decomposition.
  uint32_t m() const { return m_; }
  uint32_t n() const { return n_; }
  uint32_t k() const { return k_; }
  // K of the operation for input type `in` (Ampere: 16 for fp16/bf16, 8 for
  // tf32, 32 for int8; Volta: 16 for all).
  virtual uint32_t k_of(DType in) const {
    (void)in;
    return k_;
  }
  uint32_t sets() const { return sets_; }
  virtual uint32_t steps(AccType acc) const = 0;
  // MACs of one instruction: the operation's m n k over sets x steps.
  uint32_t step_macs(AccType acc) const { return m_ * n_ * k_ / (sets_ * steps(acc)); }
  uint32_t step_macs(DType in, AccType acc) const { return m_ * n_ * k_of(in) / (sets_ * steps(acc)); }
  // Products summed per accumulator update, in the order step() documents
  // (the references take it: sim/lowering/gpu/tc_reference.h).
  virtual uint32_t dot_group(DType in) const {
    (void)in;
    return 4;
  }

  // Fragment layouts, per lane. Element e of a lane's fragment is held in
  // register e * elem_bytes / 4 at byte (e * elem_bytes) % 4, so frag_elem
  // is the whole register layout.
  virtual uint32_t frag_elems(FragKind kind) const = 0;
  // Elements per lane for input type `in` where that differs by type (Ampere).
  virtual uint32_t frag_elems_of(FragKind kind, DType in) const {
    (void)in;
    return frag_elems(kind);
  }
  static uint32_t elem_bytes(FragKind kind, DType in, AccType acc) {
    if (kind == FragKind::c) return acc == AccType::f16 ? 2 : 4;
    return in == DType::int8 ? 1 : in == DType::fp32 ? 4 : 2;  // fp32: tf32 operands in fp32 registers
  }
  uint32_t frag_regs(FragKind kind, DType in, AccType acc) const {
    return frag_elems_of(kind, in) * elem_bytes(kind, in, acc) / 4;
  }
  virtual FragElem frag_elem(FragKind kind, DType in, AccType acc, uint32_t lane, uint32_t e) const = 0;
  // Memory parts per lane (one LDS/LDG/STS/STG each), their width in bytes,
  // and the byte offset of a lane's part from the tile's top-left element
  // (rows `ldm` bytes apart).
  virtual uint32_t frag_part_bytes(FragKind kind, DType in, AccType acc) const = 0;
  uint32_t frag_parts(FragKind kind, DType in, AccType acc) const {
    return frag_elems_of(kind, in) * elem_bytes(kind, in, acc) / frag_part_bytes(kind, in, acc);
  }
  virtual uint32_t frag_lane_offset(FragKind kind, DType in, AccType acc, uint32_t lane, uint32_t part,
                                    uint32_t ldm) const = 0;
  // Shared-memory fragment loads by ldmatrix (Ampere): matrices (8x8 of
  // 16-bit elements, 1, 2 or 4) and transposition; matrices 0 when the
  // fragment loads as frag_parts() ordinary loads. With ldmatrix,
  // frag_lane_offset(part 0) is the row address lane l supplies (row l % 8
  // of matrix l / 8).
  struct LdMatrix {
    uint8_t matrices = 0;
    bool trans = false;
  };
  virtual LdMatrix ldmatrix(FragKind kind, DType in) const {
    (void)kind;
    (void)in;
    return {};
  }
  virtual uint32_t ldmatrix_lane_offset(FragKind kind, DType in, uint32_t lane, uint32_t ldm) const {
    (void)kind, (void)in, (void)lane, (void)ldm;
    return 0;
  }
  // True when B fragments of `in` address a K-major (N x K) tile: rows are
  // B's columns, `ldm` bytes apart (Ampere int8); else B is row-major K x N.
  virtual bool b_k_major(DType in) const {
    (void)in;
    return false;
  }

  // One tensor-core instruction (Op::hmma with in.set, in.step).
  virtual MmaStepRegs step_regs(const Instr& in) const = 0;
  virtual MmaStepTraffic step_rf(const Instr& in) const = 0;
  // Values: regs[r] points at register r's 32 lanes; reads in.a, in.b,
  // in.c, writes in.dst (which may alias in.c).
  virtual void step(const Instr& in, uint32_t* const* regs) const = 0;

 protected:
  MmaShape(MmaKind kind, uint32_t m, uint32_t n, uint32_t k, uint32_t sets)
      : kind_(kind), m_(m), n_(n), k_(k), sets_(sets) {}

 private:
  MmaKind kind_;
  uint32_t m_, n_, k_, sets_;
};

// The shape of `kind` (one static instance each).
const MmaShape& mma_shape(MmaKind kind);

}  // namespace xpu::gpu
