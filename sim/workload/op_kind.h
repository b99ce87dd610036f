#pragma once
// The operators of the workload IR. Semantics follow ONNX (opset 13-17) unless
// workloads/README.md says otherwise; reference_executor.h defines each one.
#include <optional>
#include <string>
#include <vector>

// The elementwise activation functions: one line each. Everything else about
// one (YAML/ONNX names, reference arithmetic, cost, fusion) is its row in
// op_table.cpp; machines find their implementation by the name (op_table.h).
#define XPU_ACTIVATION_OPS(X) X(relu) X(relu6) X(clip) X(sigmoid) X(tanh) X(gelu) X(silu) X(leaky_relu)

// `XPU_ACTIVATION_CASES` in a switch over OpKind handles every activation at
// once, keeping the switch exhaustive (-Wswitch) without a default.
#define XPU_OPKIND_CASE_(n) case ::xpu::workload::OpKind::n:
#define XPU_ACTIVATION_CASES XPU_ACTIVATION_OPS(XPU_OPKIND_CASE_)

namespace xpu::workload {

enum class OpKind {
  gemm,             // ONNX Gemm: Y = alpha * A' B' + beta * C (A', B' optionally transposed), 2-D
  matmul,           // numpy matmul with batch broadcasting, optional 1-D bias on N
  conv2d,           // NCHW, weights [Cout, Cin/groups, Kh, Kw], optional bias [Cout]
  max_pool,         // NCHW window max
  avg_pool,         // NCHW window mean
  global_avg_pool,  // mean over H, W -> [N, C, 1, 1]
#define XPU_OPKIND_ENUM_(n) n,
  XPU_ACTIVATION_OPS(XPU_OPKIND_ENUM_)  // op_table.cpp defines each
#undef XPU_OPKIND_ENUM_
  add,              // elementwise, multidirectional broadcasting
  mul,              // elementwise, multidirectional broadcasting
  softmax,          // along one axis (ONNX opset 13 semantics)
  layernorm,        // over the axes [axis, rank), with scale and optional bias
  batchnorm,        // inference form with running mean/var, per channel (axis 1)
  reshape,          // ONNX Reshape (0 copies a dimension, -1 is inferred)
  flatten,          // to 2-D [prod(d[0:axis]), prod(d[axis:])]
  transpose,        // permutation of the axes
  concat,           // along one axis
  // Decoder-LLM ops (llm_ops.h defines them):
  rmsnorm,          // root-mean-square norm over [axis, rank), with scale
  rope,             // rotary position embedding (rotate-half form) from cos/sin tables
  gather,           // ONNX Gather along one axis (embedding lookup, last-token pick)
  argmax,           // ONNX ArgMax with keepdims (greedy next token)
};

const char* op_name(OpKind k);
std::optional<OpKind> op_from_name(const std::string& name);
const std::vector<std::string>& op_names();

// True for the ops of XPU_ACTIVATION_OPS.
bool is_activation(OpKind k);

// gemm, matmul and conv2d: the ops that have a GEMM view and count MACs.
bool is_matrix_op(OpKind k);

}  // namespace xpu::workload
