// Strided vector lowering (network_vector.cpp, strided_nest.h): add / mul
// with numpy broadcasting of either operand in row-major and NHWC layouts,
// softmax along a non-last axis, LayerNormalization's Mean / InvStdDev
// outputs. Values against the fp32 reference executor on tpu_small (tile
// fidelity), with the node tests' tolerances (max|got - want| <= tol *
// max|want|: bf16 0.03, fp16 0.008, int8 0.05, test_onnx_node_sim.cpp);
// cycles of small cases derived by hand from activation_unit.h.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "models/tpu/tpu.h"
#include "models/tpu/tpu_energy.h"
#include "net_test_util.h"
#include "sim/check/values.h"
#include "sim/energy/energy_model.h"
#include "sim/experiment/tpu_network_run.h"
#include "sim/lowering/tpu/strided_nest.h"

using namespace xpu;

namespace {

double tolerance(DType t) { return t == DType::bf16 ? 0.03 : t == DType::fp16 ? 0.008 : 0.05; }

struct Run {
  std::vector<report::LayerResult> layers;
  workload::TensorValues got, want;
};

tpu::TpuConfig load_small() { return config::load_tpu_config(test::src("configs/accelerators/tpu_small.yaml")); }

// tpu_small with its energy terms; one per test case (SystemC builds a
// model's modules once per process, before the first run).
struct Machine {
  tpu::TpuConfig cfg = load_small();
  energy::EnergyTable table =
      energy::EnergyTable::from_document(config::Document::load(test::src("configs/energy/horowitz_45nm.yaml")));
  energy::EnergyModel model{table};
  std::vector<energy::EnergyTerm> terms = tpu::tpu_energy_terms(cfg, table);
  tpu::Tpu tpu{cfg, "bcast"};

  // The network with drawn inputs; every graph output read back.
  Run run(const workload::Workload& w, DType dtype) {
    experiment::LayerRunOptions o;
    o.fidelity = tpu::Fidelity::tile;
    const workload::TensorValues feeds = check::make_network_values(w, o.seed);
    Run r;
    experiment::NetworkRunner runner{cfg, tpu, model, terms, 1.0};
    runner.feeds = &feeds;
    runner.outputs = &r.got;
    r.layers = runner.run(w, dtype, o);
    r.want = workload::execute(w, feeds);
    return r;
  }
};

// Every graph output within the precision's tolerance of the reference.
void check_outputs(const workload::Workload& w, const Run& r, DType dtype) {
  for (const auto& name : w.outputs) {
    INFO(name << " in " << dtype_name(dtype));
    REQUIRE(r.got.count(name));
    const auto& g = r.got.at(name);
    const auto& v = r.want.at(name);
    REQUIRE(g.size() == v.size());
    double max_want = 0, max_err = 0;
    for (size_t i = 0; i < g.size(); ++i) {
      max_want = std::max(max_want, double(std::fabs(v[i])));
      max_err = std::max(max_err, std::fabs(double(g[i]) - double(v[i])));
    }
    CHECK(max_err <= tolerance(dtype) * max_want);
  }
}

const report::LayerResult& layer(const Run& r, const std::string& name) {
  for (const auto& l : r.layers)
    if (l.name == name) return l;
  FAIL("no layer " << name);
  return r.layers.front();
}
double busy(const report::LayerResult& l) { return l.stats.get("tpu.act.busy_cycles"); }
double vector_ops(const report::LayerResult& l) { return l.stats.get("tpu.act.vector_ops"); }

const DType kAll[] = {DType::bf16, DType::fp16, DType::int8};

}  // namespace

TEST_CASE("strided nest: broadcast dims merge and the largest other dim is the rows", "[tpu_network][broadcast]") {
  using lowering::detail::StridedDim;
  // [3, 4, 5] + [5] (A, B, Y strides): dims 3 and 4 merge for all three.
  auto m = lowering::detail::merge_dims({{3, {20, 0, 20}}, {4, {5, 0, 5}}, {5, {1, 1, 1}}}, 3);
  REQUIRE(m.size() == 2);
  CHECK(m[0].size == 12);
  CHECK(m[0].stride == std::vector<uint64_t>{5, 0, 5});
  // [3, 1] * [1, 4]: nothing merges; one instruction of 3 rows x 4.
  m = lowering::detail::merge_dims({{3, {1, 0, 4}}, {1, {0, 0, 0}}, {4, {0, 1, 1}}}, 3);
  REQUIRE(m.size() == 2);
  const StridedDim elem = m.back();
  m.pop_back();
  const auto nest = lowering::detail::make_nest(elem, m, 3);
  CHECK(nest.instructions() == 1);
  CHECK(nest.row.size == 3);
  CHECK(nest.elem.size == 4);
  // Softmax on axis 1 of [2, 3, 4]: rows are the 4 inner positions, one
  // instruction per outer index at offset 12.
  const auto rest = lowering::detail::merge_dims({{2, {12, 12}}, {4, {1, 1}}}, 2);
  const auto sm = lowering::detail::make_nest({3, {4, 4}}, rest, 2);
  CHECK(sm.instructions() == 2);
  CHECK(sm.row.size == 4);
  CHECK(sm.offsets(1) == std::vector<uint64_t>{12, 12});
}

TEST_CASE("broadcast add and mul in row-major layouts match the reference executor", "[tpu_network][broadcast]") {
  const auto w = test::parse_net(R"(
kind: workload
name: bcast_rm
inputs:
  - {name: a, shape: [3, 4, 5]}
  - {name: v, shape: [5]}
  - {name: col, shape: [3, 1]}
  - {name: row, shape: [1, 4]}
  - {name: x4, shape: [2, 3, 4, 5]}
  - {name: ch, shape: [1, 3, 1, 1]}
  - {name: mid, shape: [4, 1]}
layers:
  - {name: add_v, op: add, input: [a, v]}
  - {name: v_mul, op: mul, input: [v, a]}
  - {name: outer, op: mul, input: [col, row]}
  - {name: ch_add, op: add, input: [ch, x4]}
  - {name: mid_mul, op: mul, input: [x4, mid]}
  - {name: add_relu, op: add, input: [a, mid]}
  - {name: r, op: relu, input: add_relu}
)");
  Machine m;
  for (DType t : kAll) {
    const Run r = m.run(w, t);
    check_outputs(w, r, t);
    if (t != DType::bf16) continue;
    // add_v: [3, 4, 5] + [5] is one instruction of 12 rows x 5 (dims 3 and 4
    // merge), v read once (row stride 0). Elementwise, bf16 on tpu_small
    // (L = 8 lanes, UB ports 16 B/cycle): stream = max(ceil(60 elements x 1
    // pass / 8) = 8, ceil((120 B of a + 10 B of v) / 16) = 9, ceil(120 B
    // written / 16) = 8) = 9 cycles.
    CHECK(vector_ops(layer(r, "add_v")) == 1);
    CHECK(busy(layer(r, "add_v")) == 9);
    // v * a: the same instruction with the operands swapped (B repeats).
    CHECK(busy(layer(r, "v_mul")) == 9);
    // [3, 1] x [1, 4]: one instruction, rows of [1, 4] repeated (stride 0),
    // [3, 1] one element per row (element stride 0) as B: max(ceil(12 / 8),
    // ceil((24 + 6) / 16), ceil(24 / 16)) = 2.
    CHECK(vector_ops(layer(r, "outer")) == 1);
    CHECK(busy(layer(r, "outer")) == 2);
    // [1, 3, 1, 1] + [2, 3, 4, 5]: rows of 20 per channel, one instruction per image.
    CHECK(vector_ops(layer(r, "ch_add")) == 2);
    // The relu fuses into the broadcast add.
    CHECK(layer(r, "add_relu").op == "add+relu");
  }
}

TEST_CASE("broadcast add and mul on NHWC images match the reference executor", "[tpu_network][broadcast]") {
  // c is a conv output, NHWC in the UB; cb, sp are row-major graph inputs;
  // g (global average pool) is an NHWC [2, 4, 1, 1] image.
  const auto w = test::parse_net(R"(
kind: workload
name: bcast_nhwc
inputs:
  - {name: x, shape: [2, 3, 5, 6]}
  - {name: cb, shape: [1, 4, 1, 1]}
  - {name: sp, shape: [5, 6]}
layers:
  - {name: c, op: conv2d, input: x, out: 4, kernel: 1}
  - {name: bias_add, op: add, input: [cb, c]}
  - {name: g, op: global_avg_pool, input: c}
  - {name: se, op: mul, input: [bias_add, g]}
  - {name: spatial, op: add, input: [se, sp]}
  - {name: pool, op: max_pool, input: spatial, kernel: 2}
)");
  lowering::NetworkOptions lo;
  lo.dtype = DType::bf16;
  const auto plan = lowering::lower_network(load_small(), w, lo);
  for (const auto& lp : plan.layers) {
    if (lp.name == "bias_add" || lp.name == "se" || lp.name == "spatial") {
      INFO(lp.name);
      CHECK(lp.output.nhwc);  // the image layout survives a broadcast operand on either side
    }
    if (lp.name == "bias_add") {
      // Per-channel operand of an NHWC image: one instruction of 60 pixel
      // rows x 4 channels, cb's row repeated (B, stride 0).
      size_t vecs = 0;
      for (const auto& in : lp.steps.at(0).program.code)
        if (in.op == tpu::Opcode::vector) {
          ++vecs;
          CHECK(in.rows == 60);
          CHECK(in.n == 4);
          CHECK(in.ub_stride2 == 0);
        }
      CHECK(vecs == 1);
    }
  }
  Machine m;
  for (DType t : kAll) {
    const Run r = m.run(w, t);
    check_outputs(w, r, t);
    for (const auto& l : r.layers) {
      INFO(l.name << ": " << l.verified());
      CHECK_FALSE(test::has(l.verified(), "MISMATCH"));
    }
  }
}

TEST_CASE("softmax along a non-last axis matches the reference executor", "[tpu_network][softmax]") {
  const auto w = test::parse_net(R"(
kind: workload
name: softmax_axes
inputs:
  - {name: x3, shape: [2, 3, 4]}
  - {name: x4, shape: [2, 3, 4, 5]}
  - {name: img, shape: [1, 3, 4, 4]}
layers:
  - {name: s3, op: softmax, input: x3, axis: 1}
  - {name: s4, op: softmax, input: x4, axis: 1}
  - {name: s4_0, op: softmax, input: x4, axis: 0}
  - {name: s4_2, op: softmax, input: x4, axis: -2}
  - {name: c, op: conv2d, input: img, out: 5, kernel: 1}
  - {name: s_img, op: softmax, input: c, axis: 1}
)");
  Machine m;
  for (DType t : kAll) {
    const Run r = m.run(w, t);
    check_outputs(w, r, t);
    if (t != DType::bf16) continue;
    // s3: softmax over axis 1 of [2, 3, 4]: per image one instruction of 4
    // rows (the inner positions) x 3 elements 4 apart. Row op, bf16 on
    // tpu_small (L = 8, passes_exp 4, passes_reciprocal 2, ports 16 B):
    // row = max((2 + 4) sweeps x ceil(3 / 8) + 2, ceil(6 B / 16), ceil(6 B /
    // 16)) = 8 cycles; 4 rows = 32 per instruction, 2 instructions = 64.
    CHECK(vector_ops(layer(r, "s3")) == 2);
    CHECK(busy(layer(r, "s3")) == 64);
    // s_img: the channel axis of an NHWC image is its storage's last: one
    // instruction of 16 pixel rows x 5 channels, written back as NCHW.
    CHECK(vector_ops(layer(r, "s_img")) == 1);
  }
}

TEST_CASE("layernorm Mean and InvStdDev outputs come from the moments vop", "[tpu_network][layernorm]") {
  // A layernorm with its statistics as graph outputs (ONNX's optional
  // outputs, which the YAML format does not name) through the IR's API.
  workload::Workload w;
  w.name = "ln_stats";
  w.add_input("x", {2, 3, 8}, DType::fp32);
  w.add_constant("ln_scale", {3, 8}, DType::fp32, workload::TensorRole::weight);
  w.add_constant("ln_bias", {8}, DType::fp32, workload::TensorRole::weight);
  workload::Layer l;
  l.name = "ln";
  l.op = workload::OpKind::layernorm;
  l.inputs = {"x", "ln_scale", "ln_bias"};
  l.outputs = {"y", "ln_mean", "ln_inv"};
  l.attrs.axis = 1;
  l.attrs.epsilon = 1e-3f;
  w.add_layer(l);
  w.outputs = {"y", "ln_mean", "ln_inv"};
  CHECK(w.tensor("ln_mean").shape == workload::Shape{2, 1, 1});
  Machine m;
  for (DType t : kAll) {
    const Run r = m.run(w, t);
    check_outputs(w, r, t);
    if (t != DType::bf16) continue;
    // layernorm 2 rows x 24 (affine): per row 4 sweeps x ceil(24 / 8) + 2 =
    // 14; moments: 2 sweeps x 3 + passes_rsqrt 2 = 8 per row; the two
    // copies of 2 fp32 values: max(ceil(2 / 8), ceil(8 B / 16), ceil(4 B /
    // 16)) = 1 each. Busy = 2 x 14 + 2 x 8 + 1 + 1 = 46.
    CHECK(vector_ops(layer(r, "ln")) == 4);
    CHECK(busy(layer(r, "ln")) == 46);
  }
}

TEST_CASE("a constant on the left of an image add keeps the image layout", "[tpu_network][broadcast]") {
  // Add(bias, conv) with a per-channel constant first: the sum stays NHWC
  // (the layout analysis looks at the image operand on either side), so the
  // max pool that reads it sees the layout it was written in.
  workload::Workload w;
  w.name = "bias_first";
  w.add_input("x", {1, 3, 4, 4}, DType::fp32);
  w.add_constant("wt", {4, 3, 1, 1}, DType::fp32, workload::TensorRole::weight);
  w.add_constant("cb", {1, 4, 1, 1}, DType::fp32, workload::TensorRole::weight,
                 std::make_shared<const std::vector<float>>(std::vector<float>{0.5f, -1.0f, 2.0f, 0.25f}));
  workload::Layer conv;
  conv.name = "c";
  conv.op = workload::OpKind::conv2d;
  conv.inputs = {"x", "wt"};
  conv.outputs = {"c"};
  w.add_layer(conv);
  workload::Layer add;
  add.name = "s";
  add.op = workload::OpKind::add;
  add.inputs = {"cb", "c"};
  add.outputs = {"s"};
  w.add_layer(add);
  workload::Layer pool;
  pool.name = "p";
  pool.op = workload::OpKind::max_pool;
  pool.inputs = {"s"};
  pool.outputs = {"p"};
  pool.attrs.window.kernel_h = pool.attrs.window.kernel_w = 2;
  pool.attrs.window.stride_h = pool.attrs.window.stride_w = 2;
  w.add_layer(pool);
  w.outputs = {"p"};
  lowering::NetworkOptions lo;
  lo.dtype = DType::bf16;
  for (const auto& lp : lowering::lower_network(load_small(), w, lo).layers)
    if (lp.name == "s") CHECK(lp.output.nhwc);
  Machine m;
  for (DType t : kAll) {
    const Run r = m.run(w, t);
    check_outputs(w, r, t);
    CHECK(vector_ops(layer(r, "s")) == 1);  // one packed instruction, the bias row repeated
  }
}
