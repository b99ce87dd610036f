#include "sim/workload/op_table.h"

#include <algorithm>
#include <cmath>

#include "sim/common/errors.h"

namespace xpu::workload {

namespace {
constexpr unsigned kBoth = fuse_tpu_activate | fuse_gpu_tc_epilogue;
}  // namespace

const std::vector<ActivationRow>& activations() {
  static const std::vector<ActivationRow> rows = {
      {OpKind::relu, "Relu", {}, [](float x, const Attrs&) { return x < 0.0f ? 0.0f : x; }, 1, kBoth},
      {OpKind::relu6, "", {}, [](float x, const Attrs&) { return std::min(std::max(x, 0.0f), 6.0f); }, 2, kBoth},
      {OpKind::clip, "", {{"min", &Attrs::clip_min, std::nullopt}, {"max", &Attrs::clip_max, std::nullopt}},
       [](float x, const Attrs& a) { return x < a.clip_min ? a.clip_min : (x > a.clip_max ? a.clip_max : x); }, 2,
       kBoth},
      {OpKind::sigmoid, "Sigmoid", {}, [](float x, const Attrs&) { return 1.0f / (1.0f + std::exp(-x)); }, 1,
       fuse_tpu_activate},
      {OpKind::tanh, "Tanh", {}, [](float x, const Attrs&) { return std::tanh(x); }, 1, fuse_tpu_activate},
      {OpKind::gelu, "", {},
       [](float x, const Attrs& a) {
         if (!a.gelu_tanh) return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f));
         const float c = 0.7978845608028654f;  // sqrt(2/pi)
         return 0.5f * x * (1.0f + std::tanh(c * (x + 0.044715f * x * x * x)));
       },
       1, fuse_tpu_activate},
      // silu (swish): x sigmoid(x), the sigmoid rounded before the multiply.
      // ONNX has no Silu operator (Swish arrives in opset 24).
      {OpKind::silu, "", {}, [](float x, const Attrs&) { return x * (1.0f / (1.0f + std::exp(-x))); }, 2, kBoth},
      // leaky_relu: x < 0 ? alpha x : x (ONNX LeakyRelu; -0 and NaN pass unchanged).
      {OpKind::leaky_relu, "LeakyRelu", {{"alpha", &Attrs::leaky_alpha, 0.01f}},
       [](float x, const Attrs& a) { return x < 0.0f ? a.leaky_alpha * x : x; }, 2, kBoth},
  };
  return rows;
}

const ActivationRow& activation(OpKind k) {
  for (const auto& r : activations())
    if (r.op == k) return r;
  throw InternalError(std::string("op '") + op_name(k) + "' has no activation table row");
}

const ActivationRow* activation_by_onnx(const std::string& type) {
  for (const auto& r : activations())
    if (*r.onnx && type == r.onnx) return &r;
  return nullptr;
}

bool fuses_into(OpKind k, FuseSite site) { return is_activation(k) && (activation(k).fuses & site) != 0; }

std::string activation_fn(OpKind k, const Attrs& a) {
  if (k == OpKind::gelu && a.gelu_tanh) return "gelu_tanh";
  return op_name(k);
}

void act_params(OpKind k, const Attrs& a, float& p0, float& p1) {
  const auto& ps = activation(k).params;
  p0 = ps.size() > 0 ? a.*ps[0].field : 0.0f;
  p1 = ps.size() > 1 ? a.*ps[1].field : 0.0f;
}

}  // namespace xpu::workload
