// The decoder-LLM ops' reference arithmetic (llm_ops.h) on values whose
// results are known in closed form.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "sim/workload/graph_builder.h"
#include "sim/workload/reference_executor.h"

using namespace xpu::workload;
using xpu::DType;

namespace {
SourceLocation here() { return SourceLocation{"test", 0, 0, ""}; }
}  // namespace

TEST_CASE("rmsnorm: x / sqrt(mean(x^2) + eps) * scale") {
  Workload w;
  w.add_input("x", {2, 4}, DType::fp32);
  build::rmsnorm(w, "n", "x", -1, 0.0f, here());
  CHECK(w.param_count() == 4);  // the scale only, no bias
  // Row 0: [3, 4, 0, 0] -> mean of squares 25/4, rms 2.5 -> [1.2, 1.6, 0, 0] x scale.
  // Row 1: [2, 2, 2, 2] -> rms 2 -> ones x scale.
  const auto v = execute(w, {{"x", {3, 4, 0, 0, 2, 2, 2, 2}}, {"n.scale", {1, 2, 3, 4}}});
  const auto& y = v.at("n");
  CHECK(y[0] == Approx(1.2f));
  CHECK(y[1] == Approx(3.2f));
  CHECK(y[2] == 0.0f);
  CHECK(y[4] == 1.0f);
  CHECK(y[7] == 4.0f);
  // 4 element operations per output (square, sum, x inv, x scale).
  CHECK(w.layers[0].cost.vector_ops == 32);
}

TEST_CASE("rope: cos 1 and sin 0 is the identity, cos 0 and sin 1 rotates the halves") {
  Workload w;
  w.add_input("x", {1, 2, 1, 4}, DType::fp32);  // [B, S, H, d]: two positions, one head of 4
  w.add_input("cos", {2, 2}, DType::fp32);
  w.add_input("sin", {2, 2}, DType::fp32);
  build::op(w, "r", OpKind::rope, {"x", "cos", "sin"}, Attrs{}, here());
  // Position 0: identity. Position 1: y[j] = -x[j + 2], y[j + 2] = x[j].
  const auto v = execute(w, {{"x", {1, 2, 3, 4, 1, 2, 3, 4}}, {"cos", {1, 1, 0, 0}}, {"sin", {0, 0, 1, 1}}});
  CHECK(v.at("r") == std::vector<float>{1, 2, 3, 4, -3, -4, 1, 2});
  CHECK_THROWS_WITH(build::op(w, "bad", OpKind::rope, {"x", "sin", "x"}, Attrs{}, here()),
                    Catch::Contains("sin table must have shape 2x2"));
}

TEST_CASE("gather picks embedding rows and argmax the first maximum") {
  Workload w;
  w.add_constant("table", {3, 2}, DType::fp32, TensorRole::weight);
  w.add_constant("ids", {1, 3}, DType::fp32, TensorRole::buffer, std::make_shared<const std::vector<float>>(std::vector<float>{2, 0, -1}));
  Attrs a;
  a.axis = 0;
  build::op(w, "e", OpKind::gather, {"table", "ids"}, a, here());
  CHECK(w.tensor("e").shape == Shape{1, 3, 2});
  Attrs m;
  m.axis = -1;
  build::op(w, "am", OpKind::argmax, {"e"}, m, here());
  CHECK(w.tensor("am").shape == Shape{1, 3, 1});
  // Rows 2, 0 and -1 (= 2) of [[1, 5], [7, 7], [9, -1]]; argmax of each row
  // [9, -1] -> 0, [1, 5] -> 1, [9, -1] -> 0; a tie picks the first index.
  const auto v = execute(w, {{"table", {1, 5, 7, 7, 9, -1}}});
  CHECK(v.at("e") == std::vector<float>{9, -1, 1, 5, 9, -1});
  CHECK(v.at("am") == std::vector<float>{0, 1, 0});
  Workload t;
  t.add_input("x", {1, 4}, DType::fp32);
  build::op(t, "am", OpKind::argmax, {"x"}, m, here());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(execute(t, {{"x", {7, 7, nan, 1}}}).at("am") == std::vector<float>{0});
  CHECK(execute(t, {{"x", {nan, 2, 3, 3}}}).at("am") == std::vector<float>{2});
  // An index out of range is an error, not a wrong row.
  CHECK_THROWS_WITH(execute(w, {{"table", {1, 5, 7, 7, 9, -1}}, {"ids", {3, 0, 0}}}), Catch::Contains("out of"));
}
