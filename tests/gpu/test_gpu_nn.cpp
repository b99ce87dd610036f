// Network layers on the GPU backend (sim/experiment/gpu_backend.cpp,
// sim/lowering/gpu/nn_kernels.h): every kernel runs with values on the model
// and is checked against the fp32 reference executor (documented
// tolerances) or bit for bit (GEMM views, exact ops); then timing sanity.
#include <catch2/catch.hpp>

#include <map>


#include "tests/workload_text.h"
#include "gpu_test_util.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/gpu_backend.h"
#include "sim/lowering/gpu/activation.h"
#include "sim/workload/op_table.h"
#include "sim/workload/workload.h"

using namespace xpu;

namespace {

std::vector<report::LayerResult> run(experiment::Backend& be, const workload::Workload& w, Fidelity f) {
  experiment::LayerRunOptions o;
  o.fidelity = f;
  o.seed = 7;
  be.check_workload(w, DType::fp16);
  return gpu::test::layer_rows(be.run_workload(w, DType::fp16, o));
}

}  // namespace

TEST_CASE("GPU network layers: every kernel's values against the fp32 reference", "[gpu][nn]") {
  const auto table =
      energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  auto be = experiment::make_gpu_backend(gpu::test::load("gpu_small.yaml"), table, "gpu");
  // A small CNN: conv (stride, padding) as an implicit GEMM (its output has
  // several consumers: nothing is fused), batchnorm, relu6,
  // pooling of each kind (odd sizes, padding, ceil-free), residual add with
  // channel broadcast, sigmoid/tanh, flatten and the classifier; depthwise
  // convolutions (bias; stride 2 with dilation 2) on the SIMT FFMA kernel,
  // a grouped 1x1 convolution as 4 batched GEMM views.
  const workload::Workload cnn = xpu_test::workload_from_text("cnn", R"(kind: workload
name: cnn
inputs:
  - {name: x, shape: [2, 8, 13, 11], dtype: fp32}
layers:
  - {name: conv, op: conv2d, out: 16, kernel: 3, stride: 2, pad: 1, bias: false}
  - {name: bn, op: batchnorm}
  - {name: r6, op: relu6}
  - {name: mp, op: max_pool, kernel: 3, stride: 2, pad: 1}
  - {name: ap, op: avg_pool, kernel: 2, stride: 1, pad: 1}
  - {name: api, op: avg_pool, input: r6, kernel: 3, stride: 1, pad: 1, count_include_pad: true}
  - {name: sg, op: sigmoid, input: api}
  - {name: th, op: tanh, input: sg}
  - {name: rl, op: relu, input: conv}
  - {name: gap, op: global_avg_pool, input: th}
  - {name: sum, op: add, input: [rl, gap]}
  - {name: prod, op: mul, input: [sum, th]}
  - {name: flat, op: flatten, input: mp}
  - {name: fc, op: gemm, out: 10}
  - {name: dw, op: conv2d, input: r6, out: 16, kernel: 3, stride: 1, pad: 1, groups: 16, bias: true}
  - {name: dw2, op: conv2d, input: conv, out: 16, kernel: 3, stride: 2, pad: 2, dilation: 2, groups: 16, bias: false}
  - {name: gc, op: conv2d, input: conv, out: 16, kernel: 1, groups: 4, bias: false}
)");
  // Attention pieces: batched matmul of two activations, transposes,
  // softmax, layernorm with bias, both gelu forms, scalar mul, bias add.
  const workload::Workload attn = xpu_test::workload_from_text("attn", R"(kind: workload
name: attn
inputs:
  - {name: x, shape: [1, 40, 96], dtype: fp32}
layers:
  - {name: split, op: reshape, shape: [1, 40, 4, 24]}
  - {name: q, op: transpose, perm: [0, 2, 1, 3]}
  - {name: kt, op: transpose, input: split, perm: [0, 2, 3, 1]}
  - {name: scores, op: matmul, input: [q, kt]}
  - {name: scale, op: mul, scalar: 0.2}
  - {name: probs, op: softmax, axis: -1}
  - {name: ctx, op: matmul, input: [probs, q]}
  - {name: ln, op: layernorm, input: x, epsilon: 1e-5}
  - {name: g, op: gelu}
  - {name: gt, op: gelu, input: ln, approximation: tanh}
  - {name: res, op: add, input: [g, gt]}
)");
  size_t kernels = 0;
  for (const workload::Workload* w : {&cnn, &attn}) {
    const auto rs = run(*be, *w, Fidelity::tile);
    REQUIRE(rs.size() == w->layers.size());
    for (const auto& r : rs) {
      INFO(w->name << " / " << r.name << " " << r.op << ": " << r.verified());
      CHECK(r.verified().find("MISMATCH") == std::string::npos);
      const bool view = r.verified().rfind("view", 0) == 0;
      CHECK((view || r.verified().find("bit-exact") != std::string::npos ||
             r.verified().find("within tolerance") != std::string::npos));
      if (r.name == "dw" || r.name == "dw2") CHECK(r.op == "conv2d [dwconv_ffma]");
      if (r.name == "conv") CHECK(r.op == "conv2d [conv_implicit_tc]");
      if (r.name == "gc") CHECK(r.shape == "4x(84x4x4)");  // 4 groups of N Ho Wo = 2 x 7 x 6
      if (!view) {
        CHECK(r.cycles > 0);
        ++kernels;
      } else {
        CHECK(r.cycles == 0);
      }
    }
  }
  CHECK(kernels == 26);  // 16 + 10 kernels; flatten and reshape are views
}

TEST_CASE("GPU network layers: exact ops stay exact and approximations stay close", "[gpu][nn]") {
  const auto table =
      energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  auto be = experiment::make_gpu_backend(gpu::test::load("gpu_small.yaml"), table, "gpu");
  const workload::Workload w = xpu_test::workload_from_text("exact", R"(kind: workload
name: exact
inputs:
  - {name: x, shape: [3, 5, 7, 9], dtype: fp32}
layers:
  - {name: r, op: relu}
  - {name: c, op: clip, min: -0.5, max: 0.75, input: x}
  - {name: mp, op: max_pool, input: x, kernel: 3, stride: 2, pad: 1}
  - {name: t, op: transpose, input: x, perm: [3, 1, 0, 2]}
  - {name: a, op: add, input: [r, c]}
  - {name: s, op: softmax, input: x, axis: -1}
  - {name: g, op: gelu, input: x}
)");
  const auto rs = run(*be, w, Fidelity::tile);
  // fp16 run: the SIMT kernels read and write fp16, the reference's fp32
  // result is rounded to fp16 at the kernel's rounding point.
  for (size_t i = 0; i < 5; ++i) {
    INFO(rs[i].name << ": " << rs[i].verified());
    CHECK(rs[i].verified() == "bit-exact vs fp32 reference (16-bit output)");
    CHECK(rs[i].verdict == report::Verdict::bit_exact);
  }
  // ex2-based exp and the tanh-form gelu against expf / erff: close in fp32,
  // so after rounding to fp16 equal or one fp16 step apart.
  for (size_t i = 5; i < 7; ++i) {
    INFO(rs[i].name << ": " << rs[i].verified());
    CHECK(rs[i].verdict != report::Verdict::mismatch);
    CHECK(rs[i].verified().find("(16-bit output)") != std::string::npos);
  }
  // Timing fidelity: same cycles without values.
  const auto ts = run(*be, w, Fidelity::timing);
  for (size_t i = 0; i < rs.size(); ++i) {
    INFO(rs[i].name);
    CHECK(ts[i].cycles == rs[i].cycles);
    CHECK(ts[i].verdict == report::Verdict::unchecked);
    CHECK(ts[i].verified() == "values not computed (timing fidelity)");
  }
}

TEST_CASE("GPU network layers: conv with batchnorm and relu is one implicit-GEMM kernel", "[gpu][nn][conv]") {
  const auto table =
      energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  auto be = experiment::make_gpu_backend(gpu::test::load("gpu_small.yaml"), table, "gpu");
  // conv -> bn -> relu fuses (bias + relu epilogue); a biased conv -> relu6
  // fuses; c3's output feeds two layers, so nothing after it fuses; the
  // classifier's bias and relu fuse into the GEMM's epilogue.
  const workload::Workload w = xpu_test::workload_from_text("fuse", R"(kind: workload
name: fuse
inputs:
  - {name: x, shape: [2, 3, 20, 20], dtype: fp32}
layers:
  - {name: c1, op: conv2d, out: 32, kernel: 7, stride: 2, pad: 3, bias: false}
  - {name: bn1, op: batchnorm}
  - {name: r1, op: relu}
  - {name: c2, op: conv2d, out: 40, kernel: 3, pad: 1, bias: true}
  - {name: r2, op: relu6}
  - {name: c3, op: conv2d, out: 16, kernel: 1, bias: false}
  - {name: r3, op: relu}
  - {name: sum, op: add, input: [c3, r3]}
  - {name: flat, op: flatten, input: r2}
  - {name: fc, op: gemm, out: 10, bias: true}
  - {name: fr, op: relu}
)");
  const auto rs = run(*be, w, Fidelity::tile);
  REQUIRE(rs.size() == 7);
  CHECK(rs[0].op == "conv2d+batchnorm+relu [conv_implicit_tc]");
  CHECK(rs[0].fused == std::vector<std::string>{"c1", "bn1", "r1"});
  CHECK(rs[1].op == "conv2d+relu6 [conv_implicit_tc]");
  CHECK(rs[2].op == "conv2d [conv_implicit_tc]");
  CHECK(rs[3].op == "relu [map_relu]");
  for (size_t i = 0; i < 3; ++i) {
    INFO(rs[i].name << ": " << rs[i].verified());
    CHECK(rs[i].verified().rfind("bit-exact", 0) == 0);
    CHECK(rs[i].cycles > 0);
  }
  CHECK(rs[0].verified().find("fused epilogue") != std::string::npos);
  CHECK(rs[6].op == "gemm+relu [gemm_tc]");
  CHECK(rs[6].verified() == "bit-exact (GEMM view, fused epilogue, 16-bit C)");
  const auto ts = run(*be, w, Fidelity::timing);
  REQUIRE(ts.size() == rs.size());
  for (size_t i = 0; i < rs.size(); ++i) CHECK(ts[i].cycles == rs[i].cycles);
}

TEST_CASE("GPU network layers: concat is one copy kernel into the output's slices", "[gpu][nn][concat]") {
  const auto table =
      energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  auto be = experiment::make_gpu_backend(gpu::test::load("gpu_small.yaml"), table, "gpu");
  // Channel concat of three operands (one named twice) after a conv, a
  // last-axis concat of odd lengths (rows cut to gcd = 1 element: many
  // tiny rows) and a concat along the leading axis (one block per operand).
  const workload::Workload w = xpu_test::workload_from_text("concat", R"(kind: workload
name: concat
inputs:
  - {name: x, shape: [2, 8, 6, 5], dtype: fp32}
layers:
  - {name: conv, op: conv2d, out: 32, kernel: 3, pad: 1, bias: false}
  - {name: r, op: relu, input: x}
  - {name: cat, op: concat, input: [conv, r, x, r], axis: 1}
  - {name: s, op: sigmoid, input: x}
  - {name: w3, op: concat, input: [x, s], axis: -1}
  - {name: n0, op: concat, input: [x, s, r], axis: 0}
  - {name: mp, op: max_pool, input: cat, kernel: 2, stride: 2}
)");
  const auto rs = run(*be, w, Fidelity::tile);
  REQUIRE(rs.size() == w.layers.size());
  for (const auto& r : rs) {
    INFO(r.name << " " << r.op << ": " << r.verified());
    CHECK(r.verified().find("MISMATCH") == std::string::npos);
    if (r.op.rfind("concat", 0) == 0) {
      CHECK(r.op == "concat [map_copy]");
      CHECK(r.verified() == "bit-exact vs fp32 reference (16-bit output)");
      CHECK(r.cycles > 0);
    }
  }
  CHECK(rs[6].op == "max_pool [max_pool_nhwc]");  // the 56 concatenated channels, pooled (fp16: NHWC)
  const auto ts = run(*be, w, Fidelity::timing);
  REQUIRE(ts.size() == rs.size());
  for (size_t i = 0; i < rs.size(); ++i) CHECK(ts[i].cycles == rs[i].cycles);
}

TEST_CASE("GPU network layers: every workload activation has a GPU function", "[gpu][nn][optable]") {
  for (const auto& row : workload::activations()) {
    for (bool tanh_form : {false, true}) {
      workload::Layer l;
      l.name = "a";
      l.op = row.op;
      l.attrs.gelu_tanh = tanh_form;
      INFO(workload::activation_fn(l.op, l.attrs));
      const auto a = lowering::gpu::gpu_activation(l);
      CHECK(a.act != lowering::gpu::Activation::none);
    }
  }
  // relu6 is clip(0, 6) (the map_clip kernel); clip keeps its bounds.
  workload::Layer l;
  l.op = workload::OpKind::relu6;
  auto a = lowering::gpu::gpu_activation(l);
  CHECK(a.act == lowering::gpu::Activation::clip);
  CHECK(a.p0 == 0.0f);
  CHECK(a.p1 == 6.0f);
  l.op = workload::OpKind::clip;
  l.attrs.clip_min = -2;
  l.attrs.clip_max = 3;
  a = lowering::gpu::gpu_activation(l);
  CHECK(a.p0 == -2.0f);
  CHECK(a.p1 == 3.0f);
}

TEST_CASE("GPU network layers: silu as a map kernel and in the fused epilogue", "[gpu][nn][silu]") {
  const auto table =
      energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  auto be = experiment::make_gpu_backend(gpu::test::load("gpu_small.yaml"), table, "gpu");
  // conv -> silu and gemm (bias) -> silu fuse into the tensor-core epilogue;
  // the standalone silu (its input is also read by the add) is a map kernel.
  const workload::Workload w = xpu_test::workload_from_text("silu", R"(kind: workload
name: silu
inputs:
  - {name: x, shape: [2, 4, 9, 7], dtype: fp32}
layers:
  - {name: c, op: conv2d, out: 16, kernel: 3, pad: 1, bias: true}
  - {name: cs, op: silu}
  - {name: s, op: silu, input: x}
  - {name: sum, op: add, input: [s, x]}
  - {name: flat, op: flatten, input: cs}
  - {name: fc, op: gemm, out: 24, bias: true}
  - {name: fs, op: silu}
)");
  const auto rs = run(*be, w, Fidelity::tile);
  auto find = [&](const std::string& name) {
    for (const auto& r : rs)
      if (r.name == name) return r;
    FAIL("no layer " << name);
    return rs.front();
  };
  CHECK(find("c").op == "conv2d+silu [conv_implicit_tc]");
  CHECK(find("c").verified() == "bit-exact (implicit GEMM, fused epilogue)");
  CHECK(find("fc").op == "gemm+silu [gemm_tc]");
  CHECK(find("fc").verified() == "bit-exact (GEMM view, fused epilogue, 16-bit C)");
  CHECK(find("s").op == "silu [map_silu]");
  // x rcp(1 + ex2(-x log2 e)) against x / (1 + expf(-x)): close in fp32,
  // equal or one fp16 step apart after the rounding to fp16.
  CHECK(find("s").verdict != report::Verdict::mismatch);
  CHECK(find("s").verified().find("(16-bit output)") != std::string::npos);
  const auto ts = run(*be, w, Fidelity::timing);
  REQUIRE(ts.size() == rs.size());
  for (size_t i = 0; i < rs.size(); ++i) CHECK(ts[i].cycles == rs[i].cycles);
}

TEST_CASE("GPU network layers: leaky_relu as a map kernel and in the fused epilogue, bit-exact", "[gpu][nn][leaky_relu]") {
  const auto table =
      energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  auto be = experiment::make_gpu_backend(gpu::test::load("gpu_small.yaml"), table, "gpu");
  // conv -> batchnorm -> leaky_relu and gemm (bias) -> leaky_relu fuse into the
  // tensor-core epilogue; the standalone one is a map kernel (FSETP, FMUL, SEL:
  // the reference's x < 0 ? alpha x : x bit for bit).
  const workload::Workload w = xpu_test::workload_from_text("leaky", R"(kind: workload
name: leaky
inputs:
  - {name: x, shape: [2, 4, 9, 7], dtype: fp32}
layers:
  - {name: c, op: conv2d, out: 16, kernel: 3, pad: 1, bias: false}
  - {name: bn, op: batchnorm}
  - {name: cl, op: leaky_relu, alpha: 0.3}
  - {name: l, op: leaky_relu, input: x}
  - {name: sum, op: add, input: [l, x]}
  - {name: flat, op: flatten, input: cl}
  - {name: fc, op: gemm, out: 24, bias: true}
  - {name: fl, op: leaky_relu, alpha: 1.5}
)");
  const auto rs = run(*be, w, Fidelity::tile);
  std::map<std::string, report::LayerResult> by;
  for (const auto& r : rs) by[r.name] = r;
  REQUIRE(by.count("c"));
  REQUIRE(by.count("fc"));
  REQUIRE(by.count("l"));
  CHECK(by["c"].op == "conv2d+batchnorm+leaky_relu [conv_implicit_tc]");
  CHECK(by["c"].verified() == "bit-exact (implicit GEMM, fused epilogue)");
  CHECK(by["fc"].op == "gemm+leaky_relu [gemm_tc]");
  CHECK(by["fc"].verified() == "bit-exact (GEMM view, fused epilogue, 16-bit C)");
  CHECK(by["l"].op == "leaky_relu [map_leaky_relu]");
  CHECK(by["l"].verified() == "bit-exact vs fp32 reference (16-bit output)");
  const auto ts = run(*be, w, Fidelity::timing);
  REQUIRE(ts.size() == rs.size());
  for (size_t i = 0; i < rs.size(); ++i) CHECK(ts[i].cycles == rs[i].cycles);
}
