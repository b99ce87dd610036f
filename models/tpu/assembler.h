#pragma once
// Text assembly for hand-written TPU programs (tests, examples).
//
//   # comment (to the end of the line)
//   read_host_memory  host=0 ub=0 bytes=64
//   read_weights      weights=0 k=8 n=8 dtype=int8
//   matmul            ub=0 stride=8 acc=0 rows=8 k=8 n=8 dtype=int8 accumulate=0 load_weights=1
//   activate          acc=0 rows=8 n=8 ub=64 stride=8 fn=relu out_dtype=int8 scale=0.5
//   write_host_memory ub=64 host=4096 bytes=64
//   sync
//   halt
//
// One instruction per line: the opcode, then key=value fields in any order.
// Numbers are decimal or 0x hex; booleans 0/1/true/false; dtypes as
// dtype_name(). Required fields: read/write_host_memory host ub bytes;
// read_weights weights k n; matmul ub acc rows k n; activate acc rows n ub.
// Defaults: dtype int8, stride = one dense row (k or n elements),
// accumulate 0, load_weights 1, fn none, out_dtype int32, scale 1.
// Instruction::to_string() writes this syntax, so programs round-trip.
#include <stdexcept>
#include <string>

#include "models/tpu/isa.h"

namespace xpu::tpu {

// "file:line: message (at 'token')".
class AssemblyError : public std::runtime_error {
 public:
  AssemblyError(std::string file, int line, std::string token, const std::string& message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& token() const { return token_; }

 private:
  std::string file_;
  int line_;
  std::string token_;
};

// `name` is used in error messages and as the program name.
Program parse_assembly(const std::string& text, const std::string& name = "<string>");
// Reads a file; the program is named after the file's stem.
Program load_assembly(const std::string& path);
// One instruction per line (Instruction::to_string()).
std::string to_assembly(const Program& program);

}  // namespace xpu::tpu
