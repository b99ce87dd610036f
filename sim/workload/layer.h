#pragma once
// One operator of the workload graph ("layer"), with what shape inference
// derived for it: output shapes, its GEMM view and its costs.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/workload/attrs.h"
#include "sim/workload/op_kind.h"

namespace xpu::workload {

// Where a layer came from, for diagnostics: "file:line:col: key_path: ...".
// ONNX layers carry the file and the node name (line 0).
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key_path;
};

// How a matrix op maps onto GEMMs (see workloads/README.md, "GEMM view").
enum class GemmForm {
  none,         // not a matrix op
  gemm,         // A' = A or A^T [m,k], B' = B or B^T [k,n] (Attrs::trans_a/trans_b)
  matmul,       // per batch index: A[.., m, k] x B[.., k, n]; batch folded into m when B is 2-D
  conv_im2col,  // per group g: A = im2col(X_g) [N*Ho*Wo, Cin/g*Kh*Kw], B = W_g^T [Cin/g*Kh*Kw, Cout/g]
};

// Counted per op; conventions in workloads/README.md ("Costs").
struct OpCost {
  uint64_t macs = 0;          // multiply-accumulates of the GEMM view (gemm_count * m * n * k)
  uint64_t vector_ops = 0;    // element operations outside the GEMMs (bias, activations, pooling, ...)
  uint64_t params = 0;        // trainable parameter elements read (weights, biases, BN/LN scale and shift)
  uint64_t buffers = 0;       // non-trainable constant elements read (BN running mean/var, scalars)
  uint64_t param_bytes = 0;   // (params + buffers) x their dtype size
  uint64_t input_bytes = 0;   // activation bytes read (every non-constant input)
  uint64_t output_bytes = 0;  // activation bytes written
};

struct Layer {
  std::string name;
  OpKind op = OpKind::gemm;
  // Operand tensor names in ONNX order (conv2d: X, W[, B]; gemm: A, B[, C];
  // matmul: A, B[, bias]; batchnorm: X, scale, B, mean, var; layernorm: X,
  // scale[, B]; add/mul/concat: the operands). "" marks an absent optional.
  std::vector<std::string> inputs;
  // Output tensor names; outputs[0] is the result (layernorm may add Mean and
  // InvStdDev like ONNX LayerNormalization).
  std::vector<std::string> outputs;
  Attrs attrs;
  SourceLocation loc;

  // ---- derived by shape inference (Workload::add_layer) ----
  Shape out_shape;  // shape of outputs[0]
  // GEMM view: gemm_count independent GEMMs C[m,n] = A[m,k] x B[k,n].
  // Zero m/n/k for ops that are not matrix ops.
  GemmForm gemm_form = GemmForm::none;
  uint64_t gemm_count = 1;
  uint64_t m = 0, n = 0, k = 0;
  bool b_is_weight = false;  // B is a constant (weights stay stationary) vs an activation (attention)
  bool has_bias = false;     // a bias is added to C (gemm C, matmul bias, conv2d B)
  OpCost cost;

  uint64_t macs() const { return gemm_count * m * n * k; }
  // Matrix ops: "MxNxK" ("Gx(MxNxK)" for G > 1 GEMMs); others: the output shape.
  std::string shape() const;
  const std::string& output() const { return outputs.front(); }
};

}  // namespace xpu::workload
