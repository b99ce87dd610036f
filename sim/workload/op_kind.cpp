#include "sim/workload/op_kind.h"

#include <utility>

namespace xpu::workload {

namespace {
#define XPU_OPKIND_NAME_(n) {OpKind::n, #n},
constexpr std::pair<OpKind, const char*> kNames[] = {
    {OpKind::gemm, "gemm"},
    {OpKind::matmul, "matmul"},
    {OpKind::conv2d, "conv2d"},
    {OpKind::max_pool, "max_pool"},
    {OpKind::avg_pool, "avg_pool"},
    {OpKind::global_avg_pool, "global_avg_pool"},
    XPU_ACTIVATION_OPS(XPU_OPKIND_NAME_)
    {OpKind::add, "add"},
    {OpKind::mul, "mul"},
    {OpKind::softmax, "softmax"},
    {OpKind::layernorm, "layernorm"},
    {OpKind::batchnorm, "batchnorm"},
    {OpKind::reshape, "reshape"},
    {OpKind::flatten, "flatten"},
    {OpKind::transpose, "transpose"},
    {OpKind::concat, "concat"},
    {OpKind::rmsnorm, "rmsnorm"},
    {OpKind::rope, "rope"},
    {OpKind::gather, "gather"},
    {OpKind::argmax, "argmax"},
};
#undef XPU_OPKIND_NAME_
constexpr OpKind kActivations[] = {
#define XPU_OPKIND_LIST_(n) OpKind::n,
    XPU_ACTIVATION_OPS(XPU_OPKIND_LIST_)
#undef XPU_OPKIND_LIST_
};
}  // namespace

const char* op_name(OpKind k) {
  for (const auto& [kind, name] : kNames)
    if (kind == k) return name;
  return "?";
}

std::optional<OpKind> op_from_name(const std::string& name) {
  for (const auto& [kind, n] : kNames)
    if (name == n) return kind;
  return std::nullopt;
}

const std::vector<std::string>& op_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& kv : kNames) v.push_back(kv.second);
    return v;
  }();
  return names;
}

bool is_activation(OpKind k) {
  for (OpKind a : kActivations)
    if (a == k) return true;
  return false;
}

bool is_matrix_op(OpKind k) { return k == OpKind::gemm || k == OpKind::matmul || k == OpKind::conv2d; }

}  // namespace xpu::workload
