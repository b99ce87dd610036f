// Per-op cost conventions; workloads/README.md ("Costs") documents them.
#include "sim/workload/infer.h"
#include "sim/workload/llm_ops.h"
#include "sim/workload/op_table.h"

namespace xpu::workload {

namespace {

// Element operations per output element (or per window element for pooling).
uint64_t vector_ops(const Layer& l, const Workload& w) {
  const uint64_t out = numel(l.out_shape);
  const Window2d& win = l.attrs.window;
  switch (l.op) {
    case OpKind::gemm:
    case OpKind::matmul:
    case OpKind::conv2d: return l.has_bias ? out : 0;  // one add per output element
    case OpKind::max_pool: return out * uint64_t(win.kernel_h * win.kernel_w - 1);  // comparisons
    case OpKind::avg_pool: return out * uint64_t(win.kernel_h * win.kernel_w);     // adds + one scale
    case OpKind::global_avg_pool: return numel(w.tensor(l.inputs[0]).shape);       // adds (+ scale)
    XPU_ACTIVATION_CASES return activation(l.op).vector_ops * out;  // op_table.h
    case OpKind::add:
    case OpKind::mul: return out;
    case OpKind::softmax: return 5 * out;  // max, subtract, exp, sum, divide
    case OpKind::layernorm:  // sum, subtract, square, sum, x rstd, x scale (+ bias)
      return (l.inputs.size() > 2 && !l.inputs[2].empty() ? 7 : 6) * out;
    case OpKind::batchnorm: return 2 * out;  // folded into one multiply and one add per element
    case OpKind::reshape:
    case OpKind::flatten:
    case OpKind::transpose:
    case OpKind::concat: return 0;  // data movement only
    case OpKind::rmsnorm:
    case OpKind::rope:
    case OpKind::gather:
    case OpKind::argmax: return llm_op_vector_ops(l, w);  // llm_ops.cpp
  }
  return 0;
}

}  // namespace

OpCost compute_cost(const Layer& l, const Workload& w) {
  OpCost c;
  c.macs = l.macs();
  c.vector_ops = vector_ops(l, w);
  for (const auto& name : l.inputs) {
    if (name.empty()) continue;
    const Tensor& t = w.tensor(name);
    const uint64_t elems = numel(t.shape);
    const uint64_t bytes = elems * dtype_bytes(t.dtype);
    if (t.role == TensorRole::weight) {
      c.params += elems;
      c.param_bytes += bytes;
    } else if (t.role == TensorRole::buffer) {
      c.buffers += elems;
      c.param_bytes += bytes;
    } else {
      c.input_bytes += bytes;
    }
  }
  for (const auto& name : l.outputs)
    if (!name.empty()) {
      const Tensor& t = w.tensor(name);
      c.output_bytes += numel(t.shape) * dtype_bytes(t.dtype);
    }
  return c;
}

}  // namespace xpu::workload
