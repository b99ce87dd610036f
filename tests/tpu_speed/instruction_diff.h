#pragma once
// Field-by-field comparison of two TPU instructions for the program
// equality tests.
#include <string>

#include "models/tpu/isa.h"

namespace xpu::test {

// Every field but the value-derived scales (activate / vector
// requantization, which no timing rule reads); "" when equal.
inline std::string differ(const tpu::Instruction& a, const tpu::Instruction& b) {
  tpu::Instruction x = a, y = b;
  x.scale = y.scale = 1;
  x.in_scale = y.in_scale = 1;
  x.in_scale2 = y.in_scale2 = 1;
  const std::string sa = x.to_string(), sb = y.to_string();
  if (sa != sb) return sa + "  vs  " + sb;
  // to_string prints what assembly can express; the fields it may leave out:
  const bool same = a.op == b.op && a.host_addr == b.host_addr && a.ub_addr == b.ub_addr && a.bytes == b.bytes &&
                    a.weight_addr == b.weight_addr && a.ub_stride == b.ub_stride && a.acc_addr == b.acc_addr &&
                    a.rows == b.rows && a.k == b.k && a.n == b.n && a.dtype == b.dtype &&
                    a.accumulate == b.accumulate && a.load_weights == b.load_weights &&
                    a.keep_psums == b.keep_psums && a.continue_psums == b.continue_psums && a.fn == b.fn &&
                    a.out_dtype == b.out_dtype && a.bias == b.bias && a.bias_addr == b.bias_addr &&
                    a.p0 == b.p0 && a.p1 == b.p1 && a.vop == b.vop && a.ub_addr2 == b.ub_addr2 &&
                    a.ub_stride2 == b.ub_stride2 && a.elem_stride == b.elem_stride &&
                    a.elem_stride2 == b.elem_stride2 && a.dtype2 == b.dtype2 && a.dst_addr == b.dst_addr &&
                    a.dst_stride == b.dst_stride && a.dst_elem_stride == b.dst_elem_stride;
  return same ? "" : "a field outside the assembly text differs: " + sa;
}

}  // namespace xpu::test
