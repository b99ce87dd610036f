#pragma once
// The activation functions' table: one row per op of XPU_ACTIVATION_OPS
// (op_kind.h) with everything about it that is not one machine's own
// implementation:
//   onnx      the ONNX op type the importer maps to it with its float
//             attributes (empty: imported by its own code, e.g. Clip, whose
//             bounds are inputs, and Gelu, whose attribute is a string);
//   params    its float parameters: YAML key and ONNX attribute name, the
//             Attrs field, the default (none: required in YAML); a machine
//             gets them as p0, p1 in this order (act_params);
//   ref       the fp32 reference arithmetic (reference_executor.h lists it);
//   vector_ops  its cost class: element operations per output element
//             (op_cost.cpp, workloads/README.md "Costs");
//   fuses     the fused epilogues that can absorb it after a matrix op.
// Machines implement a function under activation_fn(): the op's name, or its
// variant (gelu with the tanh approximation: gelu_tanh). Their energy follows
// from what they count (the TPU activation unit's fp32 adds and multiplies
// per function, models/tpu/act_fn.cpp; the GPU's executed instructions).
#include <optional>
#include <string>
#include <vector>

#include "sim/workload/attrs.h"
#include "sim/workload/op_kind.h"

namespace xpu::workload {

struct ActParam {
  const char* key;  // YAML key and ONNX attribute
  float Attrs::*field;
  std::optional<float> def;
};

// Fused epilogues (bit set): the TPU's Activate step after a matmul/conv,
// the GPU's tensor-core GEMM / implicit-GEMM convolution epilogue.
enum FuseSite : unsigned { fuse_tpu_activate = 1u << 0, fuse_gpu_tc_epilogue = 1u << 1 };

struct ActivationRow {
  OpKind op;
  const char* onnx;
  std::vector<ActParam> params;  // at most two
  float (*ref)(float x, const Attrs& a);
  uint32_t vector_ops;
  unsigned fuses;
};

const std::vector<ActivationRow>& activations();
// The row of an activation op; InternalError for any other op.
const ActivationRow& activation(OpKind k);
// The row imported from ONNX op type `type`, or nullptr.
const ActivationRow* activation_by_onnx(const std::string& type);
bool fuses_into(OpKind k, FuseSite site);
// The machine function's name (above) and its parameters p0, p1 (0 unless
// the row has them).
std::string activation_fn(OpKind k, const Attrs& a);
void act_params(OpKind k, const Attrs& a, float& p0, float& p1);

}  // namespace xpu::workload
