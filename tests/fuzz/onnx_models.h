#pragma once
// ONNX models for the limit tests and the fuzz corpus, built with the ONNX
// protobuf API (no onnx Python package needed).
#include <cstdint>
#include <string>
#include <vector>

namespace xpu::fuzz {

// x[1,4] -> Gemm(w[4,3], b[3]) -> y: a small valid model; `w_value` is the
// first weight (NaN in the NaN case).
std::string onnx_gemm(float w_value = 0.5f);
// A graph input with dimension 1 of size `dim`, then Relu.
std::string onnx_big_input(int64_t dim);
// A Conv node without inputs (its operand list is empty).
std::string onnx_node_without_input();
// A Relu node whose attribute holds a graph holding a node whose attribute
// holds a graph ... `depth` levels deep (protobuf refuses such nesting).
std::string onnx_nested_graphs(int depth);

}  // namespace xpu::fuzz
