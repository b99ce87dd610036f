#include "models/tpu/act_fn.h"

#include <cmath>

namespace xpu::tpu {

namespace {

constexpr ActFnOps kExp = kExpOps, kRecip = kRecipOps;  // activation_unit.h lists every function

struct Row {
  ActFn fn;
  const char* name;
  float (*apply)(float x, float p0, float p1);
  uint32_t params;
  ActFnPasses passes;
  ActFnOps ops;
};

constexpr float sqrt_2_over_pi = 0.7978845608028654f;
float tanh_form_gelu(float x) {
  const float c = sqrt_2_over_pi;
  return 0.5f * x * (1.0f + std::tanh(c * (x + 0.044715f * x * x * x)));
}

constexpr Row kRows[] = {
    {ActFn::none, "none", [](float x, float, float) { return x; }, 0, {}, {}},
    {ActFn::relu, "relu", [](float x, float, float) { return x < 0.0f ? 0.0f : x; }, 0, {}, {1, 0}},
    {ActFn::relu6, "relu6", [](float x, float, float) { return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x); }, 0,
     {}, {2, 0}},
    {ActFn::clip, "clip", [](float x, float p0, float p1) { return x < p0 ? p0 : (x > p1 ? p1 : x); }, 2, {}, {2, 0}},
    {ActFn::sigmoid, "sigmoid", [](float x, float, float) { return 1.0f / (1.0f + std::exp(-x)); }, 0, {1, 1, 0, 1},
     kExp + kRecip + ActFnOps{1, 0}},
    {ActFn::tanh, "tanh", [](float x, float, float) { return std::tanh(x); }, 0, {1, 1, 0, 1},
     kExp + kRecip + ActFnOps{2, 1}},
    // erf: Abramowitz-Stegun 7.1.26, 6 mult + 6 add + exp + reciprocal.
    {ActFn::gelu, "gelu", [](float x, float, float) { return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f)); }, 0,
     {0, 0, 1, 1}, ActFnOps{6, 6} + kExp + kRecip + ActFnOps{1, 3}},
    {ActFn::gelu_tanh, "gelu_tanh", [](float x, float, float) { return tanh_form_gelu(x); }, 0, {1, 1, 0, 2},
     kExp + kRecip + ActFnOps{2, 1} + ActFnOps{2, 5}},
    // silu: x * sigmoid(x), sigmoid rounded first; sigmoid's passes + 1 for the multiply.
    {ActFn::silu, "silu", [](float x, float, float) { return x * (1.0f / (1.0f + std::exp(-x))); }, 0, {1, 1, 0, 2},
     kExp + kRecip + ActFnOps{1, 1}},
    // leaky_relu (p0 = alpha): a compare and a multiply in one pass, like relu6's two compares.
    {ActFn::leaky_relu, "leaky_relu", [](float x, float p0, float) { return x < 0.0f ? p0 * x : x; }, 1, {},
     {1, 1}},
};

constexpr size_t kCount = 0
#define XPU_TPU_ACT_COUNT_(n) +1
    XPU_TPU_ACT_FNS(XPU_TPU_ACT_COUNT_)
#undef XPU_TPU_ACT_COUNT_
    ;
static_assert(sizeof(kRows) / sizeof(kRows[0]) == kCount, "one row per activation function");

constexpr bool rows_in_enum_order() {
  for (size_t i = 0; i < kCount; ++i)
    if (static_cast<size_t>(kRows[i].fn) != i) return false;
  return true;
}
static_assert(rows_in_enum_order(), "rows in XPU_TPU_ACT_FNS order");

const Row& row(ActFn fn) { return kRows[static_cast<size_t>(fn)]; }

}  // namespace

const char* act_fn_name(ActFn fn) { return row(fn).name; }

std::optional<ActFn> act_fn_from_name(const std::string& name) {
  for (const Row& r : kRows)
    if (name == r.name) return r.fn;
  return std::nullopt;
}

const std::vector<std::string>& act_fn_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Row& r : kRows) v.push_back(r.name);
    return v;
  }();
  return names;
}

uint32_t act_fn_params(ActFn fn) { return row(fn).params; }
float apply_act_fn(ActFn fn, float x, float p0, float p1) { return row(fn).apply(x, p0, p1); }
ActFnPasses act_fn_pass_counts(ActFn fn) { return row(fn).passes; }
ActFnOps act_fn_ops(ActFn fn) { return row(fn).ops; }

}  // namespace xpu::tpu
