#pragma once
// Adds layers together with the weights their attributes imply (conv2d,
// linear, batchnorm, layernorm): the YAML format and the SCALE-Sim reader
// build graphs this way; the ONNX importer adds layers directly because its
// weights already exist. Weights are named "<layer>.weight", "<layer>.bias"
// (batchnorm: ".scale", ".bias", ".mean", ".var"; layernorm: ".scale",
// ".bias") and take the workload's dtype. Every function returns the layer's
// output tensor name (the layer name) and throws config::ConfigError at loc.
#include <string>
#include <vector>

#include "sim/workload/workload.h"

namespace xpu::workload::build {

// conv2d with weight [out, Cin/groups, kh, kw]; attrs.window carries stride,
// pads and dilation, attrs.groups the groups.
std::string conv2d(Workload& w, const std::string& name, const std::string& x, int64_t out_channels, int64_t kh,
                   int64_t kw, const Attrs& attrs, bool bias, const SourceLocation& loc);
// A fully connected layer on the last axis of x: weight [K, out] (+ bias
// [out]). op gemm needs a 2-D x; op matmul takes any rank (batch folds into M).
std::string linear(Workload& w, const std::string& name, const std::string& x, int64_t out, bool bias, OpKind op,
                   const SourceLocation& loc);
// A standalone GEMM C[m,n] = A[m,k] x B[k,n]: input "<name>.a", weight "<name>.b".
std::string standalone_gemm(Workload& w, const std::string& name, int64_t m, int64_t n, int64_t k,
                            const SourceLocation& loc);
// batchnorm over axis 1: scale, bias (weights), running mean and var (buffers).
std::string batchnorm(Workload& w, const std::string& name, const std::string& x, float epsilon,
                      const SourceLocation& loc);
// layernorm over [axis, rank): scale (+ bias) of shape x.shape[axis:].
std::string layernorm(Workload& w, const std::string& name, const std::string& x, int64_t axis, float epsilon,
                      bool bias, const SourceLocation& loc);
// rmsnorm over [axis, rank): scale of shape x.shape[axis:].
std::string rmsnorm(Workload& w, const std::string& name, const std::string& x, int64_t axis, float epsilon,
                    const SourceLocation& loc);
// x (op) scalar, the scalar a buffer "<name>.scalar" of shape {} holding `value`.
std::string scalar_binary(Workload& w, const std::string& name, OpKind op, const std::string& x, float value,
                          const SourceLocation& loc);
// Any op whose operands already exist.
std::string op(Workload& w, const std::string& name, OpKind op, const std::vector<std::string>& inputs,
               const Attrs& attrs, const SourceLocation& loc);

}  // namespace xpu::workload::build
