// The fp32 reference executor on hand-computed cases, and the conv2d GEMM
// view (im2col) checked bit for bit against the direct convolution.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "tests/temp_path.h"
#include "sim/workload/graph_builder.h"
#include "sim/workload/workload.h"
#include "sim/workload/im2col.h"
#include "sim/workload/op_table.h"
#include "sim/workload/reference_executor.h"
#include "sim/common/errors.h"

using namespace xpu::workload;
using xpu::DType;

namespace {

SourceLocation loc() { return {"test", 1, 1, "t"}; }

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

}  // namespace

TEST_CASE("conv2d with asymmetric padding, by hand") {
  Workload w;
  w.add_input("x", {1, 1, 3, 3}, DType::fp32);
  w.add_constant("k", {1, 1, 2, 2}, DType::fp32, TensorRole::weight,
                 std::make_shared<const std::vector<float>>(std::vector<float>{1, 2, 3, 4}));
  Attrs a;
  a.window.pad_top = 1;   // one row of zeros above, none below
  a.window.pad_left = 0;
  a.window.pad_right = 1; // one column of zeros on the right
  build::op(w, "c", OpKind::conv2d, {"x", "k"}, a, loc());
  REQUIRE(w.tensor("c").shape == Shape{1, 1, 3, 3});
  // x = [[1,2,3],[4,5,6],[7,8,9]]; padded rows: [0,0,0,0],[1,2,3,0],[4,5,6,0],[7,8,9,0].
  // y[0][0] = 0*1 + 0*2 + 1*3 + 2*4 = 11; y[0][1] = 2*3 + 3*4 = 18; y[0][2] = 3*3 + 0*4 = 9;
  // y[1][1] = 2*1 + 3*2 + 5*3 + 6*4 = 47; y[1][2] = 3*1 + 6*3 = 21; y[2][2] = 6*1 + 0*2 + 9*3 + 0*4 = 33.
  const auto v = execute(w, {{"x", {1, 2, 3, 4, 5, 6, 7, 8, 9}}});
  CHECK(v.at("c") == std::vector<float>{11, 18, 9, 37, 47, 21, 67, 77, 33});
}

TEST_CASE("gemm with transposes, alpha, beta and a row bias") {
  Workload w;
  w.add_input("a", {2, 2}, DType::fp32);  // A^T = [[1,3],[2,4]]
  w.add_input("b", {2, 2}, DType::fp32);  // B^T = [[5,7],[6,8]]
  w.add_input("c", {2}, DType::fp32);
  Attrs at;
  at.trans_a = at.trans_b = true;
  at.alpha = 2.0f;
  at.beta = 0.5f;
  build::op(w, "g", OpKind::gemm, {"a", "b", "c"}, at, loc());
  // A^T B^T = [[1*5+3*6, 1*7+3*8], [2*5+4*6, 2*7+4*8]] = [[23,31],[34,46]];
  // x2 + 0.5*[10, 20] = [[51, 72], [73, 102]].
  const auto v = execute(w, {{"a", {1, 2, 3, 4}}, {"b", {5, 6, 7, 8}}, {"c", {10, 20}}});
  CHECK(v.at("g") == std::vector<float>{51, 72, 73, 102});
}

TEST_CASE("pooling: padding never wins a max, count_include_pad changes the divisor") {
  Workload w;
  w.add_input("x", {1, 1, 2, 2}, DType::fp32);
  Attrs p;
  p.window.kernel_h = p.window.kernel_w = 2;
  p.window.pad_top = p.window.pad_left = 1;
  build::op(w, "mx", OpKind::max_pool, {"x"}, p, loc());
  build::op(w, "av", OpKind::avg_pool, {"x"}, p, loc());
  p.count_include_pad = true;
  build::op(w, "avp", OpKind::avg_pool, {"x"}, p, loc());
  const auto v = execute(w, {{"x", {-1, -2, -3, -4}}});
  // Windows (top-left pads): {-1}, {-1,-2}, {-1,-3}, {-1,-2,-3,-4}.
  CHECK(v.at("mx") == std::vector<float>{-1, -1, -1, -1});
  CHECK(v.at("av") == std::vector<float>{-1, -1.5f, -2, -2.5f});
  CHECK(v.at("avp") == std::vector<float>{-0.25f, -0.75f, -1, -2.5f});
}

TEST_CASE("softmax, layernorm, batchnorm, gelu against closed forms") {
  Workload w;
  w.add_input("x", {1, 2, 1, 3}, DType::fp32);
  Attrs sm;
  sm.axis = -1;
  build::op(w, "sm", OpKind::softmax, {"x"}, sm, loc());
  build::op(w, "ge", OpKind::gelu, {"x"}, Attrs{}, loc());
  Attrs gt;
  gt.gelu_tanh = true;
  build::op(w, "gt", OpKind::gelu, {"x"}, gt, loc());
  build::layernorm(w, "ln", "x", -1, 0.0f, true, loc());
  build::batchnorm(w, "bn", "x", 0.0f, loc());
  const std::vector<float> x{0, 1, 2, -1, 0, 3};
  const auto v = execute(w, {{"x", x},
                             {"ln.scale", {1, 1, 1}}, {"ln.bias", {0, 0, 0}},
                             {"bn.scale", {2, 1}}, {"bn.bias", {1, 0}}, {"bn.mean", {1, 0}}, {"bn.var", {4, 1}}});
  const double e0 = std::exp(-2.0), e1 = std::exp(-1.0), s = e0 + e1 + 1;
  CHECK(v.at("sm")[0] == Approx(e0 / s).epsilon(1e-6));
  CHECK(v.at("sm")[2] == Approx(1 / s).epsilon(1e-6));
  CHECK(v.at("ge")[1] == Approx(0.5 * (1 + std::erf(1 / std::sqrt(2.0)))).epsilon(1e-6));
  CHECK(v.at("gt")[2] == Approx(0.5 * 2 * (1 + std::tanh(std::sqrt(2 / M_PI) * (2 + 0.044715 * 8)))).epsilon(1e-6));
  // Row [0,1,2]: mean 1, var 2/3 -> (x-1)/sqrt(2/3).
  CHECK(v.at("ln")[0] == Approx(-1 / std::sqrt(2.0 / 3)).epsilon(1e-6));
  // Channel 0: (x - 1)/2 * 2 + 1 = x; channel 1: x.
  CHECK(v.at("bn") == x);
}

TEST_CASE("conv2d equals its GEMM view (im2col x weight matrix) bit for bit") {
  struct Case { Shape x; int64_t out, k, stride, pad, groups, dil; };
  const Case cases[] = {{{2, 6, 9, 7}, 4, 3, 2, 1, 2, 1}, {{1, 8, 6, 6}, 8, 3, 1, 1, 8, 1}, {{1, 3, 11, 11}, 5, 3, 1, 2, 1, 2}};
  uint32_t seed = 1;
  for (const auto& c : cases) {
    Workload w;
    w.add_input("x", c.x, DType::fp32);
    Attrs a;
    a.window.stride_h = a.window.stride_w = c.stride;
    a.window.pad_top = a.window.pad_left = a.window.pad_bottom = a.window.pad_right = c.pad;
    a.window.dilation_h = a.window.dilation_w = c.dil;
    a.groups = c.groups;
    build::conv2d(w, "conv", "x", c.out, c.k, c.k, a, false, loc());
    const Layer& l = w.layers.back();
    const auto x = random_values(numel(c.x), seed++);
    const auto wt = random_values(numel(w.tensor("conv.weight").shape), seed++);
    const auto y = execute(w, {{"x", x}, {"conv.weight", wt}}).at("conv");
    const uint64_t ho = uint64_t(l.out_shape[2]), wo = uint64_t(l.out_shape[3]);
    for (uint64_t g = 0; g < l.gemm_count; ++g) {
      const auto A = im2col(w, l, x, g);
      const auto B = conv_weight_matrix(w, l, wt, g);
      for (uint64_t m = 0; m < l.m; ++m)
        for (uint64_t j = 0; j < l.n; ++j) {
          float acc = 0.0f;
          for (uint64_t k = 0; k < l.k; ++k) {
            const float prod = A[m * l.k + k] * B[k * l.n + j];
            acc = acc + prod;
          }
          const uint64_t n = m / (ho * wo), pix = m % (ho * wo);
          const float want = y[(n * uint64_t(c.out) + g * l.n + j) * ho * wo + pix];
          // The padded zeros add +0 in the GEMM: identical except for the sign of an exact zero.
          REQUIRE((acc == want));
        }
    }
  }
}

TEST_CASE("A YAML network runs end to end with fed weights") {
  const Workload w = load_workload(std::string(XPUSIM_SOURCE_DIR) + "/workloads/nets/lenet5.yaml");
  TensorValues feeds;
  uint32_t seed = 7;
  for (const auto& t : w.tensors)
    if (t.role != TensorRole::activation) feeds[t.name] = random_values(numel(t.shape), seed++);
  const auto v = execute(w, feeds);
  const auto& out = v.at("output");
  REQUIRE(out.size() == 10);
  for (float f : out) CHECK(std::isfinite(f));
  CHECK_THROWS_WITH(execute(w, {}), Catch::Contains("no value fed for graph input 'image'"));
}

TEST_CASE("op table: one row per activation op, found by name and by ONNX type", "[optable]") {
  size_t acts = 0;
  for (const auto& name : op_names()) {
    const OpKind k = *op_from_name(name);
    CHECK(op_name(k) == name);
    if (!is_activation(k)) {
      CHECK_THROWS_AS(activation(k), xpu::InternalError);
      continue;
    }
    ++acts;
    INFO(name);
    CHECK(activation(k).op == k);
    CHECK(activation(k).params.size() <= 2);  // a machine passes them as p0, p1
    CHECK(activation(k).vector_ops >= 1);
    if (*activation(k).onnx) CHECK(activation_by_onnx(activation(k).onnx) == &activation(k));
  }
  CHECK(acts == activations().size());
  CHECK(activation_by_onnx("Relu")->op == OpKind::relu);
  CHECK(activation_by_onnx("Conv") == nullptr);
  // The machines' function names: the op's, gelu's tanh form its own.
  Attrs a;
  CHECK(activation_fn(OpKind::gelu, a) == "gelu");
  a.gelu_tanh = true;
  CHECK(activation_fn(OpKind::gelu, a) == "gelu_tanh");
  a.clip_min = -1.5f;
  a.clip_max = 2.5f;
  float p0 = 0, p1 = 0;
  act_params(OpKind::clip, a, p0, p1);
  CHECK(p0 == -1.5f);
  CHECK(p1 == 2.5f);
}

TEST_CASE("silu against closed forms", "[silu]") {
  Workload w;
  w.add_input("x", {5}, DType::fp32);
  build::op(w, "s", OpKind::silu, {"x"}, Attrs{}, loc());
  const auto v = execute(w, {{"x", {0.0f, 1.0f, -1.0f, 20.0f, -20.0f}}});
  const auto& s = v.at("s");
  // silu(x) = x / (1 + e^-x): silu(0) = 0; silu(1) = 0.7310585786; silu(-1) = -0.2689414214;
  // silu(20): e^-20 = 2.1e-9 is below half an ulp of 1, so sigmoid rounds to 1 and silu = 20 exactly;
  // silu(-20) = -20 e^-20 / (1 + e^-20) = -4.122307e-8.
  CHECK(s[0] == 0.0f);
  CHECK(s[1] == Approx(0.7310585786).epsilon(2e-7));
  CHECK(s[2] == Approx(-0.2689414214).epsilon(2e-7));
  CHECK(s[3] == 20.0f);
  CHECK(s[4] == Approx(-4.1223072e-8).epsilon(1e-6));
  // Cost class: sigmoid and a multiply per element (op_table.cpp).
  CHECK(w.layers[0].cost.vector_ops == 2 * 5);
}

TEST_CASE("leaky_relu: alpha from YAML (ONNX default 0.01) and its closed form", "[leaky_relu]") {
  const std::string path = xpu_test::tmp_prefix() + "xpusim_test_leaky_relu.yaml";
  {
    std::ofstream f(path);
    f << "kind: workload\nname: leaky\ninputs:\n  - {name: x, shape: [6]}\nlayers:\n"
         "  - {name: d, op: leaky_relu}\n  - {name: a, op: leaky_relu, input: x, alpha: 0.25}\noutputs: [d, a]\n";
  }
  const Workload w = load_workload(path);
  std::remove(path.c_str());
  CHECK(w.layers[0].attrs.leaky_alpha == 0.01f);
  CHECK(w.layers[1].attrs.leaky_alpha == 0.25f);
  CHECK(w.layers[0].cost.vector_ops == 2 * 6);  // compare and multiply (op_table.cpp)
  const float nan = std::nanf("");
  const auto v = execute(w, {{"x", {-4.0f, 3.0f, -0.0f, 0.0f, -1e-3f, nan}}});
  // x < 0 ? alpha x : x: -4 x 0.25 = -1 exactly; -0 is not < 0 and passes unchanged (as does NaN).
  const auto& a = v.at("a");
  CHECK(a[0] == -1.0f);
  CHECK(a[1] == 3.0f);
  CHECK(std::signbit(a[2]));
  CHECK(a[2] == 0.0f);
  CHECK(a[4] == -2.5e-4f);
  CHECK(std::isnan(a[5]));
  CHECK(v.at("d")[0] == -4.0f * 0.01f);
}
