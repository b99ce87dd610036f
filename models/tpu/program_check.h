#pragma once
// Static checks of a program against a TPU configuration, run by Tpu::run()
// before anything executes. Throws std::invalid_argument naming the
// instruction index, its assembly line and what is wrong, e.g.
//   program 'gemm', instruction 3 (line 7: matmul ub=0 ... k=300 ...): k = 300 exceeds mxu.rows = 256
#include <memory>
#include <string>

#include "models/tpu/isa.h"
#include "models/tpu/tpu_config.h"

namespace xpu::tpu {

// Rules:
// - UB byte ranges (strided: [ub, ub + (rows-1)*stride + row_bytes)) and
//   accumulator rows [acc, acc + rows) lie inside the UB / accumulators;
//   transfers move at least one byte; rows >= 1.
// - read_weights / matmul: dtype int8, bf16 or fp16 and supported by the
//   MXU (mxu.supports_*); 1 <= k <= mxu.rows, 1 <= n <= mxu.cols; with
//   rows > 1 the input stride holds a whole vector (k elements).
// - activate: 1 <= n <= mxu.cols; with rows > 1 the output stride holds a
//   whole row (rows must not overlap); int8 output needs a finite scale.
// - Weights: read_weights fill the weight FIFO in order and every matmul
//   with load_weights takes the next tile, which must exist and match its
//   k, n and dtype; a matmul without load_weights reuses the tile of the
//   previous one in the same program (weights do not carry over between
//   programs); every tile fetched is used by the end of the program.
// - Nothing follows halt.
void validate_program(const Program& program, const TpuConfig& cfg);

// The same checks one instruction at a time, for a program that streams
// (program_source.h): check() each instruction in order, finish() at the end
// (the unused-tile rule). State: the fetched tiles not yet loaded.
class ProgramChecker {
 public:
  ProgramChecker(std::string program, const TpuConfig& cfg);
  ~ProgramChecker();
  void check(const Instruction& in);
  void finish() const;

 private:
  struct State;
  std::string name_;
  const TpuConfig& cfg_;
  size_t index_ = 0;
  std::unique_ptr<State> st_;
};

}  // namespace xpu::tpu
