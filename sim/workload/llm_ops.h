#pragma once
// The decoder-LLM operators of the IR (op_kind.h): shape inference and fp32
// reference arithmetic, kept apart from the CNN-era ops.
//   rmsnorm  inputs x, scale; over the axes [axis, rank) (axis -1 by default):
//            ss = sum x*x in index order; inv = 1 / sqrtf(ss / n + eps);
//            y = (x * inv) * scale   (LlamaRMSNorm; every op rounded)
//   rope     inputs x [..., S, H, d], cos [S, d/2], sin [S, d/2] (the tables
//            of the S positions, computed by whoever builds the graph);
//            rotate-half form (GPT-NeoX, Hugging Face Llama): for j < d/2,
//            a = x[j], b = x[j + d/2]:
//              y[j]       = a * cos[s, j] - b * sin[s, j]
//              y[j + d/2] = b * cos[s, j] + a * sin[s, j]
//            each product rounded, then the add (no FMA)
//   gather   ONNX Gather: inputs data, indices (integers held as floats),
//            attr axis; out = data.shape[:axis] + indices.shape +
//            data.shape[axis+1:]; an index outside [-len, len) is an error
//            (negative counts from the end)
//   argmax   over attr axis, keepdims (ONNX ArgMax, select_last_index 0):
//            the first index of the maximum, as a float; NaN never wins
#include <vector>

#include "sim/workload/workload.h"

namespace xpu::workload {

// Shape inference of the four ops (infer.cpp dispatches here); throws ShapeError.
std::vector<Tensor> infer_llm_op(Layer& l, const Workload& w);

// Element operations per output element (op_cost.cpp).
uint64_t llm_op_vector_ops(const Layer& l, const Workload& w);

// Reference arithmetic (reference_executor.cpp dispatches here): operand
// values and shapes in ONNX order; y is sized to the output. Throws
// std::invalid_argument for a gather index out of range.
void reference_llm_op(const Layer& l, const std::vector<const std::vector<float>*>& in,
                      const std::vector<Shape>& shapes, std::vector<float>& y);

}  // namespace xpu::workload
