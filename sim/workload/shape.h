#pragma once
// Tensor shapes: a list of dimension sizes, outermost first (NCHW for images).
#include <cstdint>
#include <string>
#include <vector>

namespace xpu::workload {

using Shape = std::vector<int64_t>;

// Number of elements (1 for a scalar shape {}).
uint64_t numel(const Shape& s);
// "1x64x56x56"; "scalar" for {}.
std::string shape_to_string(const Shape& s);
// Resolves a possibly negative axis against `rank` (-1 = last). Returns -1 when
// the axis is out of [-rank, rank) (for concat/flatten pass rank+1 where needed).
int64_t normalize_axis(int64_t axis, int64_t rank);

// Multidirectional (numpy / ONNX) broadcasting: shapes are aligned at their
// last dimension; each pair of dimensions must be equal or one of them 1; the
// result has the larger rank and the larger size of each pair. Returns false
// (and leaves `out` untouched) when the shapes do not broadcast.
bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out);

}  // namespace xpu::workload
