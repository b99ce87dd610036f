#include "sim/experiment/tpu_backend_plans.h"

#include <algorithm>
#include <sstream>

namespace xpu::experiment {

namespace {

void put(std::ostringstream& o, const workload::Shape& s) {
  for (int64_t d : s) o << d << ',';
  o << ';';
}

size_t instructions(const lowering::NetworkPlan& plan) {
  size_t n = 0;
  for (const auto& lp : plan.layers)
    for (const auto& st : lp.steps) n += st.program.code.size();
  return n;
}

}  // namespace

std::string plan_key(const workload::Workload& w, DType dtype, bool standalone_resident) {
  std::ostringstream o;
  o.precision(9);
  o << dtype_name(dtype) << '|' << standalone_resident << '|' << w.name << '|';
  for (const auto& t : w.tensors) {
    o << t.name << ':' << int(t.dtype) << ':' << int(t.role) << ':';
    put(o, t.shape);
  }
  for (const auto& n : w.inputs) o << n << ',';
  o << '|';
  for (const auto& n : w.outputs) o << n << ',';
  o << '|';
  for (const auto& l : w.layers) {
    o << l.name << ':' << int(l.op) << ':';
    for (const auto& n : l.inputs) o << n << ',';
    o << ':';
    for (const auto& n : l.outputs) o << n << ',';
    const auto& a = l.attrs;
    const auto& win = a.window;
    o << ':' << win.kernel_h << ',' << win.kernel_w << ',' << win.stride_h << ',' << win.stride_w << ','
      << win.dilation_h << ',' << win.dilation_w << ',' << win.pad_top << ',' << win.pad_left << ','
      << win.pad_bottom << ',' << win.pad_right << ',' << int(win.auto_pad) << ',' << win.ceil_mode << ':'
      << a.groups << ',' << a.count_include_pad << ',' << a.alpha << ',' << a.beta << ',' << a.trans_a << ','
      << a.trans_b << ',' << a.axis << ',' << a.epsilon << ',' << a.clip_min << ',' << a.clip_max << ','
      << a.gelu_tanh << ',' << a.leaky_alpha << ',' << a.allow_zero << ':';
    put(o, a.target_shape);
    put(o, a.perm);
    put(o, l.out_shape);
    o << int(l.gemm_form) << ',' << l.gemm_count << ',' << l.m << ',' << l.n << ',' << l.k << ',' << l.b_is_weight
      << ',' << l.has_bias << '\n';
  }
  return o.str();
}

void KeptPlans::keep(std::string key, lowering::NetworkPlan plan) {
  take(key);  // a later check of the same workload replaces the earlier plan
  const size_t n = instructions(plan);
  // The first plan is kept whatever its size: its run would hold it anyway.
  if (!entries_.empty() && instructions_ + n > kMaxKeptInstructions) return;
  instructions_ += n;
  entries_.push_back(Entry{std::move(key), std::move(plan), n});
}

std::optional<lowering::NetworkPlan> KeptPlans::take(const std::string& key) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == key; });
  if (it == entries_.end()) return std::nullopt;
  std::optional<lowering::NetworkPlan> plan(std::move(it->plan));
  instructions_ -= it->instructions;
  entries_.erase(it);
  return plan;
}

}  // namespace xpu::experiment
