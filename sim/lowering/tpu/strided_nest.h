#pragma once
// Internal to the network lowering (network_vector.cpp): covering an
// iteration space with strided vector instructions. A vector instruction
// walks `rows` x `n` elements with a row stride and an element stride per
// operand (isa.h: stride 0 repeats a row or an element), so any iteration
// space whose operands are strided views (numpy broadcasting, an NHWC image
// read as NCHW, a softmax along a non-last axis) is one instruction per
// index of the dimensions left over after the element and row dimensions.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace xpu::lowering::detail {

// One dimension of the iteration space: its extent and, per operand, the
// distance in elements between consecutive indices (0: broadcast).
struct StridedDim {
  uint64_t size = 1;
  std::vector<uint64_t> stride;
};

// Size-1 dimensions dropped, then neighbours (in the given order, outermost
// first) merged where every operand steps through them as one dimension
// (outer stride == inner stride * inner size). The result describes the same
// element addresses with fewer dimensions.
std::vector<StridedDim> merge_dims(const std::vector<StridedDim>& dims, size_t operands);

// The instructions covering a merged iteration space.
struct StridedNest {
  StridedDim elem;                // the vector's n elements
  StridedDim row;                 // its rows (size 1 and strides 0: one row)
  std::vector<StridedDim> loops;  // one instruction per index combination, outermost first

  uint64_t instructions() const;
  // Element offset of each operand at instruction i (loop indices in mixed radix).
  std::vector<uint64_t> offsets(uint64_t i) const;
};

// `elem` is the vector's element dimension; `rest` the others (merged). The
// row dimension is the largest of `rest`, so the loop count is the smallest.
StridedNest make_nest(const StridedDim& elem, std::vector<StridedDim> rest, size_t operands);

}  // namespace xpu::lowering::detail
