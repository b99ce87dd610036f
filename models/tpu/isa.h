#pragma once
// The TPU instruction set (after TPU v1's CISC instructions). Programs come
// from lowering or from the text assembly (assembler.h) for hand-written
// tests. Field meanings per opcode:
//
// read_host_memory  host_addr -> ub_addr, `bytes` bytes (DMA in).
// write_host_memory ub_addr -> host_addr, `bytes` bytes (DMA out).
// read_weights      one k x n tile of `dtype`, stored densely row-major at
//                   weight_addr in weight DRAM, appended to the weight FIFO.
// matmul            `rows` input vectors of k elements (`dtype`), vector r at
//                   ub_addr + r * ub_stride, through the array against the
//                   tile in the active weight registers; results to
//                   accumulator rows acc_addr .. acc_addr + rows - 1, columns
//                   0 .. n - 1, added to them (`accumulate`) or replacing them.
//                   `load_weights`: first switch to the next tile from the
//                   weight FIFO (false reuses the current tile).
// activate          accumulator rows acc_addr .. + rows - 1, columns 0..n-1,
//                   through `fn`, converted to `out_dtype` (int8 output:
//                   requantized as sat(round_half_even(x * scale))), written
//                   to ub_addr + r * ub_stride.
// sync              waits until every earlier instruction has completed.
// halt              ends the program once everything has completed.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/numerics/mac.h"

namespace xpu::tpu {

enum class Opcode { read_host_memory, write_host_memory, read_weights, matmul, activate, sync, halt };
enum class ActFn { none, relu };

const char* opcode_name(Opcode op);
const char* act_fn_name(ActFn fn);

struct Instruction {
  Opcode op = Opcode::halt;
  uint64_t host_addr = 0;
  uint64_t ub_addr = 0;
  uint64_t bytes = 0;
  uint64_t weight_addr = 0;
  uint64_t ub_stride = 0;  // bytes between consecutive vectors in the UB
  uint32_t acc_addr = 0;
  uint32_t rows = 0;
  uint32_t k = 0;
  uint32_t n = 0;
  DType dtype = DType::int8;      // matmul inputs / read_weights tile
  bool accumulate = false;
  bool load_weights = true;
  ActFn fn = ActFn::none;
  DType out_dtype = DType::int32;  // activate output
  float scale = 1.0f;              // activate int8 requantization scale
  int source_line = 0;             // assembly line, 0 when generated

  std::string to_string() const;  // one line of assembly
};

struct Program {
  std::string name;
  std::vector<Instruction> code;
};

}  // namespace xpu::tpu
