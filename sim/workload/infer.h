#pragma once
// Shape inference for one layer: checks its operands, computes its output
// tensors, its GEMM view and its costs. Used by Workload::add_layer.
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/workload/workload.h"

namespace xpu::workload {

// An impossible shape; the message does not name the layer (the caller adds
// the layer name and its source location).
class ShapeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Fills layer's derived fields (out_shape, GEMM view, attrs resolved by
// inference such as auto pads and kernel size) and returns the output
// tensors to create. Throws ShapeError.
std::vector<Tensor> infer_layer(Layer& layer, const Workload& w);

// Costs of an inferred layer (conventions in workloads/README.md).
OpCost compute_cost(const Layer& layer, const Workload& w);

// Output size of a sliding window along one axis; throws ShapeError when the
// dilated kernel does not fit in the padded input. Resolves SAME/VALID pads.
int64_t window_output(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, AutoPad mode,
                      bool ceil_mode, int64_t& pad_begin, int64_t& pad_end, const char* axis);

}  // namespace xpu::workload
