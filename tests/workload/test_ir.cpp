// Shape inference, GEMM views, costs and shape errors of the IR, built
// through the graph builder (no YAML).
#include <catch2/catch.hpp>

#include "sim/workload/graph_builder.h"
#include "sim/workload/workload.h"

using namespace xpu::workload;
using xpu::DType;

namespace {

SourceLocation here(const std::string& key = "test") { return {"net.yaml", 7, 3, key}; }

Attrs conv_attrs(int64_t stride = 1, int64_t pad = 0, int64_t groups = 1, int64_t dilation = 1) {
  Attrs a;
  a.window.stride_h = a.window.stride_w = stride;
  a.window.pad_top = a.window.pad_left = a.window.pad_bottom = a.window.pad_right = pad;
  a.window.dilation_h = a.window.dilation_w = dilation;
  a.groups = groups;
  return a;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const xpu::config::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("conv2d: output shape, im2col GEMM view, MACs, parameters, bytes") {
  Workload w;
  w.dtype = DType::bf16;
  w.add_input("x", {2, 16, 56, 56}, DType::bf16);
  build::conv2d(w, "conv", "x", 32, 3, 3, conv_attrs(2, 1), true, here());
  const Layer& l = w.layers.back();
  // Hout = (56 + 1 + 1 - 3) / 2 + 1 = 28.
  CHECK(l.out_shape == Shape{2, 32, 28, 28});
  CHECK(l.gemm_form == GemmForm::conv_im2col);
  // M = N*Hout*Wout = 2*28*28, K = Cin*Kh*Kw = 16*9, N = Cout = 32.
  CHECK((l.gemm_count == 1 && l.m == 1568 && l.k == 144 && l.n == 32));
  // MACs = N*Cout*Hout*Wout*(Cin/groups)*Kh*Kw.
  CHECK(l.macs() == 2ull * 32 * 28 * 28 * 16 * 9);
  CHECK(l.cost.macs == l.macs());
  CHECK(l.cost.params == 32 * 16 * 9 + 32);
  CHECK(l.cost.param_bytes == 2 * (32 * 16 * 9 + 32));  // bf16
  CHECK(l.cost.input_bytes == 2ull * 16 * 56 * 56 * 2);
  CHECK(l.cost.output_bytes == 2ull * 32 * 28 * 28 * 2);
  CHECK(l.cost.vector_ops == 2ull * 32 * 28 * 28);  // the bias add
  CHECK(l.b_is_weight);
  CHECK(l.has_bias);
  CHECK(l.shape() == "1568x32x144");
}

TEST_CASE("conv2d: asymmetric padding, dilation, groups and depthwise") {
  Workload w;
  w.add_input("x", {1, 8, 10, 12}, DType::fp32);
  Attrs a = conv_attrs();
  a.window.pad_top = 1;
  a.window.pad_bottom = 0;
  a.window.pad_left = 2;
  a.window.pad_right = 1;
  build::conv2d(w, "asym", "x", 4, 3, 3, a, false, here());
  // H: (10 + 1 + 0 - 3) / 1 + 1 = 9; W: (12 + 2 + 1 - 3) + 1 = 13.
  CHECK(w.layers.back().out_shape == Shape{1, 4, 9, 13});
  build::conv2d(w, "dilated", "x", 4, 3, 3, conv_attrs(1, 0, 1, 2), false, here());
  // Dilation 2: extent 5; H 10 - 5 + 1 = 6; W 12 - 5 + 1 = 8.
  CHECK(w.layers.back().out_shape == Shape{1, 4, 6, 8});
  build::conv2d(w, "grouped", "x", 12, 3, 3, conv_attrs(1, 1, 4), false, here());
  const Layer& g = w.layers.back();
  // 4 GEMMs of M = 10*12, K = (8/4)*9, N = 12/4.
  CHECK((g.gemm_count == 4 && g.m == 120 && g.k == 18 && g.n == 3));
  CHECK(g.macs() == 1ull * 12 * 10 * 12 * 2 * 9);
  CHECK(g.shape() == "4x(120x3x18)");
  build::conv2d(w, "dw", "x", 8, 3, 3, conv_attrs(1, 1, 8), false, here());
  const Layer& dw = w.layers.back();
  CHECK((dw.gemm_count == 8 && dw.k == 9 && dw.n == 1));
  CHECK(dw.cost.params == 8 * 9);
}

TEST_CASE("conv2d: SAME and VALID auto padding resolve into explicit pads") {
  Workload w;
  w.add_input("x", {1, 1, 5, 5}, DType::fp32);
  Attrs a = conv_attrs(2);
  a.window.auto_pad = AutoPad::same_upper;
  build::conv2d(w, "su", "x", 1, 4, 4, a, false, here());
  // out = ceil(5/2) = 3; total pad = (3-1)*2 + 4 - 5 = 3: upper puts 2 at the end.
  const Layer& su = w.layers.back();
  CHECK(su.out_shape == Shape{1, 1, 3, 3});
  CHECK((su.attrs.window.pad_top == 1 && su.attrs.window.pad_bottom == 2));
  a.window.auto_pad = AutoPad::same_lower;
  build::conv2d(w, "sl", "x", 1, 4, 4, a, false, here());
  CHECK((w.layers.back().attrs.window.pad_top == 2 && w.layers.back().attrs.window.pad_bottom == 1));
  a.window.auto_pad = AutoPad::valid;
  build::conv2d(w, "v", "x", 1, 4, 4, a, false, here());
  CHECK(w.layers.back().out_shape == Shape{1, 1, 1, 1});
}

TEST_CASE("Impossible shapes name the layer and the file:line") {
  Workload w;
  w.add_input("x", {1, 6, 4, 4}, DType::fp32);
  // Kernel larger than the padded input: 7 > 4 + 1 + 1.
  std::string e = error_of([&] { build::conv2d(w, "big", "x", 8, 7, 7, conv_attrs(1, 1), false, here("layers[2]")); });
  CHECK_THAT(e, Catch::StartsWith("net.yaml:7:3: layers[2]: layer 'big' (conv2d): kernel larger than the padded input"));
  // Channels not divisible by groups.
  e = error_of([&] { build::conv2d(w, "g", "x", 8, 3, 3, conv_attrs(1, 1, 4), false, here()); });
  CHECK_THAT(e, Catch::Contains("layer 'g'"));
  CHECK_THAT(e, Catch::Contains("not divisible by groups 4"));
  // Output channels not divisible by groups (input 6 / 3 fine, 8 / 3 not).
  e = error_of([&] { build::conv2d(w, "g2", "x", 8, 3, 3, conv_attrs(1, 1, 3), false, here()); });
  CHECK_THAT(e, Catch::Contains("output channels 8 not divisible by groups 3"));
  // Mismatched inner dimensions of a gemm.
  w.add_input("a", {4, 5}, DType::fp32);
  w.add_constant("b", {6, 3}, DType::fp32, TensorRole::weight);
  e = error_of([&] { build::op(w, "mm", OpKind::gemm, {"a", "b"}, Attrs{}, here()); });
  CHECK_THAT(e, Catch::Contains("layer 'mm' (gemm): mismatched inner dimensions: A is 4x5 but B is 6x3"));
  // Shape mismatch between layers: a residual add of different shapes.
  w.add_input("y", {1, 6, 2, 2}, DType::fp32);
  e = error_of([&] { build::op(w, "res", OpKind::add, {"x", "y"}, Attrs{}, here()); });
  CHECK_THAT(e, Catch::Contains("layer 'res' (add): operands 1x6x4x4 ('x') and 1x6x2x2 ('y') do not broadcast"));
  // A conv weight whose channels disagree with its input.
  w.add_constant("w3", {8, 5, 3, 3}, DType::fp32, TensorRole::weight);
  e = error_of([&] { build::op(w, "c", OpKind::conv2d, {"x", "w3"}, Attrs{}, here()); });
  CHECK_THAT(e, Catch::Contains("expects 5 input channels"));
  // Unknown operand, duplicate layer.
  e = error_of([&] { build::op(w, "r", OpKind::relu, {"nope"}, Attrs{}, here()); });
  CHECK_THAT(e, Catch::Contains("operand 'nope' is not a known tensor"));
  build::op(w, "r", OpKind::relu, {"x"}, Attrs{}, here());
  e = error_of([&] { build::op(w, "r", OpKind::relu, {"x"}, Attrs{}, here()); });
  CHECK_THAT(e, Catch::Contains("duplicate layer name"));
}

TEST_CASE("matmul: batch broadcasting and the GEMM view (weights fold the batch into M)") {
  Workload w;
  w.add_input("x", {2, 128, 768}, DType::fp32);
  build::linear(w, "proj", "x", 3072, true, OpKind::matmul, here());
  const Layer& p = w.layers.back();
  CHECK(p.out_shape == Shape{2, 128, 3072});
  CHECK((p.gemm_count == 1 && p.m == 256 && p.k == 768 && p.n == 3072 && p.b_is_weight && p.has_bias));
  w.add_input("q", {2, 12, 128, 64}, DType::fp32);
  w.add_input("kt", {1, 12, 64, 128}, DType::fp32);  // batch 1 broadcasts against 2
  build::op(w, "s", OpKind::matmul, {"q", "kt"}, Attrs{}, here());
  const Layer& s = w.layers.back();
  CHECK(s.out_shape == Shape{2, 12, 128, 128});
  CHECK((s.gemm_count == 24 && s.m == 128 && s.k == 64 && s.n == 128 && !s.b_is_weight));
  CHECK(s.macs() == 24ull * 128 * 128 * 64);
  w.add_input("v", {3, 12, 64, 128}, DType::fp32);
  CHECK_THAT(error_of([&] { build::op(w, "bad", OpKind::matmul, {"q", "v"}, Attrs{}, here()); }),
             Catch::Contains("batch dimensions"));
  // 1-D operands follow numpy: [K] x [K, N] -> [N].
  w.add_input("vec", {64}, DType::fp32);
  w.add_constant("m2", {64, 10}, DType::fp32, TensorRole::weight);
  build::op(w, "mv", OpKind::matmul, {"vec", "m2"}, Attrs{}, here());
  CHECK(w.layers.back().out_shape == Shape{10});
}

TEST_CASE("gemm with transposes, alpha/beta and a broadcast bias") {
  Workload w;
  w.add_input("a", {7, 4}, DType::fp32);  // A^T is 4x7
  w.add_constant("b", {9, 7}, DType::fp32, TensorRole::weight);  // B^T is 7x9
  w.add_constant("c", {9}, DType::fp32, TensorRole::weight);
  Attrs a;
  a.trans_a = a.trans_b = true;
  a.alpha = 0.5f;
  build::op(w, "g", OpKind::gemm, {"a", "b", "c"}, a, here());
  const Layer& g = w.layers.back();
  CHECK(g.out_shape == Shape{4, 9});
  CHECK((g.m == 4 && g.n == 9 && g.k == 7 && g.has_bias));
  w.add_constant("cbad", {5}, DType::fp32, TensorRole::weight);
  CHECK_THAT(error_of([&] { build::op(w, "g2", OpKind::gemm, {"a", "b", "cbad"}, a, here()); }),
             Catch::Contains("does not broadcast to the output 4x9"));
}

TEST_CASE("pooling, global pooling, activations, softmax, norms, reshape, concat, transpose") {
  Workload w;
  w.add_input("x", {1, 3, 7, 7}, DType::fp32);
  Attrs p;
  p.window.kernel_h = p.window.kernel_w = 3;
  p.window.stride_h = p.window.stride_w = 2;
  build::op(w, "mp", OpKind::max_pool, {"x"}, p, here());
  CHECK(w.layers.back().out_shape == Shape{1, 3, 3, 3});  // (7-3)/2+1
  CHECK(w.layers.back().cost.vector_ops == 27 * 8);       // 8 comparisons per 3x3 window
  CHECK(w.layers.back().macs() == 0);
  p.window.kernel_h = p.window.kernel_w = 2;
  p.window.ceil_mode = true;
  build::op(w, "ap", OpKind::avg_pool, {"x"}, p, here());
  CHECK(w.layers.back().out_shape == Shape{1, 3, 4, 4});  // ceil((7-2)/2)+1 = 4
  build::op(w, "gap", OpKind::global_avg_pool, {"x"}, Attrs{}, here());
  CHECK(w.layers.back().out_shape == Shape{1, 3, 1, 1});
  build::op(w, "r6", OpKind::relu6, {"x"}, Attrs{}, here());
  CHECK(w.layers.back().cost.vector_ops == 2 * 147);
  Attrs fl;
  fl.axis = 1;
  build::op(w, "flat", OpKind::flatten, {"x"}, fl, here());
  CHECK(w.layers.back().out_shape == Shape{1, 147});
  Attrs rs;
  rs.target_shape = {0, -1, 7};
  build::op(w, "rs", OpKind::reshape, {"x"}, rs, here());
  CHECK(w.layers.back().out_shape == Shape{1, 21, 7});
  rs.target_shape = {5, -1};
  CHECK_THAT(error_of([&] { build::op(w, "rs2", OpKind::reshape, {"x"}, rs, here()); }),
             Catch::Contains("cannot reshape 1x3x7x7 (147 elements)"));
  Attrs cc;
  cc.axis = 1;
  build::op(w, "cat", OpKind::concat, {"x", "x"}, cc, here());
  CHECK(w.layers.back().out_shape == Shape{1, 6, 7, 7});
  CHECK_THAT(error_of([&] { build::op(w, "cat2", OpKind::concat, {"x", "mp"}, cc, here()); }),
             Catch::Contains("does not match 1x3x7x7 outside axis 1"));
  Attrs tr;
  tr.perm = {0, 2, 3, 1};
  build::op(w, "nhwc", OpKind::transpose, {"x"}, tr, here());
  CHECK(w.layers.back().out_shape == Shape{1, 7, 7, 3});
  Attrs sm;
  sm.axis = -1;
  build::op(w, "sm", OpKind::softmax, {"nhwc"}, sm, here());
  CHECK(w.layers.back().attrs.axis == 3);
  build::batchnorm(w, "bn", "x", 1e-5f, here());
  CHECK(w.layers.back().cost.params == 6);   // scale + bias
  CHECK(w.layers.back().cost.buffers == 6);  // running mean + var
  build::layernorm(w, "ln", "nhwc", -1, 1e-5f, true, here());
  CHECK(w.layers.back().cost.params == 6);
  CHECK(w.param_count() == 12);
  CHECK(w.buffer_count() == 6);
}

TEST_CASE("Broadcasting follows numpy: align right, 1 stretches") {
  Shape out;
  CHECK(broadcast_shapes({8, 1, 6, 1}, {7, 1, 5}, out));
  CHECK(out == Shape{8, 7, 6, 5});
  CHECK(broadcast_shapes({}, {3, 4}, out));
  CHECK(out == Shape{3, 4});
  CHECK_FALSE(broadcast_shapes({3, 4}, {4, 3}, out));
}
