#include "sim/check/values.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace xpu::check {

using workload::Layer;
using workload::OpKind;

workload::TensorValues make_network_values(const workload::Workload& w, uint64_t seed) {
  workload::TensorValues v;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto fill = [&](const std::string& name, auto gen) {
    if (v.count(name)) return;
    const auto& t = w.tensor(name);
    if (t.values) return;
    std::vector<float> x(workload::numel(t.shape));
    for (auto& e : x) e = gen();
    v[name] = std::move(x);
  };
  for (const auto& in : w.inputs) fill(in, [&] { return nd(rng); });
  for (const Layer& l : w.layers) {
    for (size_t i = 0; i < l.inputs.size(); ++i) {
      const std::string& name = l.inputs[i];
      if (name.empty() || !w.tensor(name).is_constant()) continue;
      const auto& s = w.tensor(name).shape;
      const bool weight = i == 1 && workload::is_matrix_op(l.op);
      const bool norm = l.op == OpKind::batchnorm || l.op == OpKind::layernorm;
      if (weight) {
        const uint64_t fan_in = s.size() == 4 ? uint64_t(s[1] * s[2] * s[3]) : (l.attrs.trans_b ? uint64_t(s.back()) : uint64_t(s[s.size() - 2]));
        const float sd = std::sqrt(2.0f / float(std::max<uint64_t>(fan_in, 1)));
        fill(name, [&] { return sd * nd(rng); });
      } else if (norm && i == 1) {
        fill(name, [&] { return 1.0f + 0.1f * nd(rng); });
      } else if (l.op == OpKind::batchnorm && i == 4) {
        fill(name, [&] { return 1.0f + std::fabs(0.1f * nd(rng)); });
      } else {
        fill(name, [&] { return 0.1f * nd(rng); });
      }
    }
  }
  return v;
}

std::vector<float> random_values(uint64_t count, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(count);
  for (auto& x : v) x = d(rng);
  return v;
}

std::vector<uint8_t> random_fp32(uint64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<uint8_t> v(count * 4);
  for (uint64_t i = 0; i < count; ++i) {
    const float f = nd(rng);
    std::memcpy(&v[4 * i], &f, 4);
  }
  return v;
}

}  // namespace xpu::check
