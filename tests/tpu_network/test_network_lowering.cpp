// Networks on the TPU: conv via im2col bit-exact, fusion, LeNet-5 / ResNet-50
// / BERT end to end, SCALE-Sim pairs, lowering errors naming the layer.
#include <catch2/catch.hpp>

#include <map>

#include "tests/temp_path.h"
#include "sim/config/tpu_config.h"
#include "sim/experiment/scalesim_run.h"
#include "sim/lowering/lowering_error.h"
#include "net_test_util.h"

using namespace xpu;

namespace {

experiment::LayerRunOptions tile_opts() {
  experiment::LayerRunOptions o;
  o.fidelity = xpu::Fidelity::tile;
  return o;
}

// Every layer verified: GEMMs bit-exact in hardware order, outputs within the
// precision's tolerance of the fp32 reference executor.
void require_all_ok(const std::vector<report::LayerResult>& layers, bool expect_gemm) {
  size_t gemms = 0;
  for (const auto& l : layers) {
    INFO(l.name << ": " << l.verified());
    CHECK_FALSE(test::has(l.verified(), "MISMATCH"));
    CHECK_FALSE(test::has(l.verified(), "skipped"));
    if (test::has(l.verified(), "gemm bit-exact")) ++gemms;
  }
  if (expect_gemm) CHECK(gemms > 0);
}

uint64_t total_cycles(const std::vector<report::LayerResult>& ls) {
  uint64_t c = 0;
  for (const auto& l : ls) c += l.cycles;
  return c;
}

const char* const kConvs = R"(
kind: workload
name: convs
inputs:
  - {name: x, shape: [1, 4, 9, 9]}
layers:
  - {name: plain, op: conv2d, out: 6, kernel: 3, pad: 1}
  - {name: strided, op: conv2d, out: 8, kernel: 3, stride: 2, pad: [1, 0, 2, 1]}
  - {name: dilated, op: conv2d, out: 4, kernel: 3, dilation: 2, pad: 2, bias: false}
  - {name: grouped, op: conv2d, out: 8, kernel: 3, groups: 2, pad: 1}
  - {name: depthwise, op: conv2d, out: 8, kernel: 3, groups: 8, pad: 1}
  - {name: pointwise, op: conv2d, out: 12, kernel: 1}
)";

}  // namespace

TEST_CASE("conv via im2col: stride, padding, dilation, groups, depthwise bit-exact on tpu_small", "[tpu_network]") {
  auto b = test::tpu_backend("tpu_small");
  const auto w = test::parse_net(kConvs);
  for (DType t : {DType::int8, DType::bf16}) {
    const auto ls = b->run_workload(w, t, tile_opts());
    require_all_ok(ls, true);
    for (const auto& l : ls) {
      if (l.name == "depthwise") {
        // One GEMM per channel with K = 3x3 = 9 array rows and N = 1 column:
        // utilization at most 9 x 1 / (8 x 8) of peak (K chunks of 8: 8 + 1).
        CHECK(l.bytes.at("array_cols_used") == 1);
        CHECK(l.utilization < 9.0 / 64.0);
        CHECK(l.macs == 1ull * (5 * 4) * 9 * 8);  // 5x4 output pixels (after the strided conv), K = 9, 8 channels
      }
      if (l.name == "pointwise") CHECK(l.bytes.at("im2col") == 0);  // 1x1 stride 1: the input is A
      if (l.name == "plain") CHECK(l.bytes.at("im2col") == 81ull * 4 * 9 * dtype_bytes(t));
    }
  }
}

TEST_CASE("fusion: conv + bias + relu in the Activate step saves the vector pass", "[tpu_network]") {
  // The same conv and relu, fused (relu is the conv's only reader) and unfused
  // (the conv output is also a graph output, so it must exist on its own).
  const std::string net = R"(
kind: workload
name: fuse
inputs:
  - {name: x, shape: [1, 8, 8, 8]}
layers:
  - {name: conv, op: conv2d, out: 8, kernel: 1}
  - {name: act, op: relu}
)";
  auto b = test::tpu_backend("tpu_small");
  const auto fused_w = test::parse_net(net);
  const auto unfused_w = test::parse_net(net + "outputs: [conv, act]\n");
  const auto fused = b->run_workload(fused_w, DType::int8, tile_opts());
  const auto unfused = b->run_workload(unfused_w, DType::int8, tile_opts());
  require_all_ok(fused, true);
  require_all_ok(unfused, true);
  // Fused: stage_in, conv+relu, stage_out. Unfused: + a relu layer whose
  // vector pass is 64 pixels x 8 channels = 512 int8 elements: ceil(512 / 8)
  // = 64 lane cycles (ports: 512 B / 16 = 32) + latency 2 + issue (4-stage
  // pipeline) and halt, and a second output to write back.
  REQUIRE(fused.size() == 3);
  REQUIRE(unfused.size() == 4);
  CHECK(fused[1].op == "conv2d+relu");
  CHECK(unfused[2].op == "relu");
  CHECK(unfused[2].stats.get("tpu.act.busy_cycles") == 64);
  CHECK(fused[1].cycles <= unfused[1].cycles);
  CHECK(total_cycles(fused) + 64 < total_cycles(unfused));
}

TEST_CASE("LeNet-5 end to end in int8 on tpu_small", "[tpu_network]") {
  const auto w = workload::load_workload(test::src("workloads/nets/lenet5.yaml"));
  auto b = test::tpu_backend("tpu_small");
  const auto ls = b->run_workload(w, DType::int8, tile_opts());
  require_all_ok(ls, true);
  CHECK(test::has(ls.back().verified(), "argmax equal"));
  uint64_t macs = 0;
  for (const auto& l : ls) macs += l.macs;
  CHECK(macs == 416520);
}

TEST_CASE("LeNet-5 end to end in bf16 on tpu_v1", "[tpu_network]") {
  const auto w = workload::load_workload(test::src("workloads/nets/lenet5.yaml"));
  auto b = test::tpu_backend("tpu_v1");
  const auto ls = b->run_workload(w, DType::bf16, tile_opts());
  require_all_ok(ls, true);
  CHECK(test::has(ls.back().verified(), "argmax equal"));
}

TEST_CASE("ResNet-50 int8 on tpu_v1 (timing): per-layer report and totals", "[tpu_network][slow]") {
  const auto w = workload::load_workload(test::src("workloads/nets/resnet50.yaml"));
  auto b = test::tpu_backend("tpu_v1");
  experiment::LayerRunOptions o;
  o.fidelity = xpu::Fidelity::timing;
  const auto ls = b->run_workload(w, DType::int8, o);
  uint64_t macs = 0, cycles = 0;
  size_t convs = 0;
  for (const auto& l : ls) {
    macs += l.macs;
    cycles += l.cycles;
    if (test::has(l.op, "conv2d")) {
      ++convs;
      CHECK(l.cycles > 0);
      CHECK(l.energy.total_pj > 0);
      CHECK(l.io == "resident");  // 24 MiB UB holds ResNet-50's activations at batch 1
    }
  }
  CHECK(macs == 4089184256ull);  // the IR's total
  CHECK(convs == 53);            // every conv, BN folded and relu fused
  // Lower bound: MACs / 65,536 per cycle.
  CHECK(cycles > macs / 65536);
}

TEST_CASE("BERT-base layer bf16 on tpu_v2_like: values and the weight path", "[tpu_network][slow]") {
  const auto w = workload::load_workload(test::src("workloads/nets/bert_base_layer.yaml"));
  auto b = test::tpu_backend("tpu_v2_like");
  const auto ls = b->run_workload(w, DType::bf16, tile_opts());
  require_all_ok(ls, true);
  for (const auto& l : ls)
    if (l.name == "scores" || l.name == "context") {
      // B = K^T / V per head: 12 x 64 x 128 bf16 written to weight DRAM.
      CHECK(l.bytes.at("weight_path") == 12.0 * 64 * 128 * 2);
      CHECK(l.io == "B via weight DRAM");
      // Every head's GEMM replayed bit for bit on the B tiles read back from weight DRAM.
      INFO(l.name << ": " << l.verified());
      CHECK(test::has(l.verified(), "gemm bit-exact (12)"));
      CHECK_FALSE(test::has(l.verified(), "not replayed"));
    }
}

TEST_CASE("a SCALE-Sim cfg + topology pair runs unchanged", "[tpu_network]") {
  experiment::ScaleSimRunOptions o;
  o.cfg_file = test::src("workloads/scalesim/tpu_v1.cfg");
  o.topology_file = test::src("workloads/scalesim/resnet18.csv");
  o.energy_file = test::src("configs/energy/horowitz_45nm.yaml");
  o.output_dir = xpu_test::tmp_prefix() + "xpusim_test_tpu_network_scalesim";
  o.quiet = true;
  const auto written = experiment::run_scalesim(o);
  CHECK_FALSE(written.empty());
  const auto s = workload::scalesim::read_scale_config(o.cfg_file);
  const auto c = experiment::tpu_config_from_scalesim(s);
  CHECK(c.mxu.rows == s.array_rows);
  CHECK(c.mxu.cols == s.array_cols);
  CHECK(c.unified_buffer.capacity_bytes == (s.ifmap_sram_kb + s.ofmap_sram_kb) * 1024);
}

TEST_CASE("SCALE-Sim cfg mapping: CALC is an ideal interface, the rest is tpu_v1.yaml", "[tpu_network]") {
  const auto v1 = config::load_tpu_config(test::src("configs/accelerators/tpu_v1.yaml"), {});
  // scale.cfg: InterfaceBandwidth CALC -> weight DRAM and host link at the
  // reader's largest bandwidth (1e6 GB/s) with no latency.
  const auto calc = experiment::tpu_config_from_scalesim(
      workload::scalesim::read_scale_config(test::src("workloads/scalesim/scale.cfg")), v1);
  CHECK(calc.dram.bandwidth_gbps == 1e6);
  CHECK(calc.dram.latency_ns == 0);
  CHECK(calc.host.bandwidth_gbps == 1e6);
  CHECK(calc.host.latency_ns == 0);
  // tpu_v1.yaml has two DDR3 channels; the built-in defaults have 4.
  CHECK(calc.dram.channels == 2);
  CHECK(tpu::TpuConfig{}.dram.channels == 4);
  // tpu_v1.cfg: USER, 48 words/cycle x 1 byte x 700 MHz = 33.6 GB/s; the
  // latency stays tpu_v1.yaml's 100 ns.
  const auto user = experiment::tpu_config_from_scalesim(
      workload::scalesim::read_scale_config(test::src("workloads/scalesim/tpu_v1.cfg")), v1);
  CHECK(user.dram.bandwidth_gbps == Approx(33.6));
  CHECK(user.dram.latency_ns == 100);
  CHECK(user.host.bandwidth_gbps == 14);
}

TEST_CASE("lowering errors name the layer", "[tpu_network]") {
  auto b = test::tpu_backend("tpu_small");
  auto error_of = [&](const std::string& net) -> std::string {
    try {
      b->check_workload(test::parse_net(net), DType::int8);
    } catch (const lowering::LoweringError& e) {
      return e.what();
    } catch (const config::ConfigError& e) {
      return e.what();
    }
    return "";
  };
  // Unsupported operand layout: layernorm of an NHWC image.
  const std::string e1 = error_of(R"(
kind: workload
name: e1
inputs: [{name: x, shape: [1, 4, 8, 8]}]
layers:
  - {name: c, op: conv2d, out: 4, kernel: 1}
  - {name: ln0, op: layernorm, axis: 1}
)");
  CHECK(test::has(e1, "layer 'ln0' (layernorm)"));
  CHECK(test::has(e1, "not supported"));
  // A conv of which not even one output pixel fits the 64 KiB unified
  // buffer with its input and output streamed (8192 x 9 bytes of im2col).
  const std::string e2 = error_of(R"(
kind: workload
name: e2
inputs: [{name: x, shape: [1, 8192, 3, 3]}]
layers:
  - {name: big, op: conv2d, out: 64, kernel: 3, pad: 1}
)");
  CHECK(test::has(e2, "layer 'big' (conv2d)"));
  CHECK(test::has(e2, "cannot be tiled"));
  // A shape mismatch between layers: the IR rejects it naming the layer, file and line.
  const std::string e3 = error_of(R"(
kind: workload
name: e3
inputs: [{name: x, shape: [2, 8]}]
layers:
  - {name: fc1, op: gemm, out: 4}
  - {name: bad, op: add, input: [fc1, x]}
)");
  CHECK(test::has(e3, "layer 'bad' (add)"));
  CHECK(test::has(e3, "net.yaml:"));
}

TEST_CASE("silu fuses into the Activate step and runs alone on the vector unit", "[tpu_network][silu]") {
  // conv -> silu fuses (the conv's only reader); the gemm's output is also a
  // graph output, so its silu runs as its own vector layer.
  const std::string net = R"(
kind: workload
name: acts
inputs:
  - {name: x, shape: [1, 8, 6, 6]}
layers:
  - {name: conv, op: conv2d, out: 8, kernel: 3, pad: 1}
  - {name: cs, op: silu}
  - {name: flat, op: flatten}
  - {name: fc, op: gemm, out: 16}
  - {name: fs, op: silu}
outputs: [fc, fs]
)";
  auto b = test::tpu_backend("tpu_small");
  for (DType t : {DType::bf16, DType::int8}) {
    INFO(dtype_name(t));
    const auto ls = b->run_workload(test::parse_net(net), t, tile_opts());
    require_all_ok(ls, true);
    auto find = [&](const std::string& name) {
      for (const auto& l : ls)
        if (l.name == name) return l;
      FAIL("no layer " << name);
      return ls.front();
    };
    CHECK(find("conv").op == "conv2d+silu");
    CHECK(find("fs").op == "silu");
    // 16 values through passes_exp 4 + passes_reciprocal 2 + 2 = 8 passes:
    // ceil(16 x 8 / 8 lanes) = 16 cycles; fp32 adds 16 x (8 + 2 + 1), mults 16 x (8 + 3 + 1).
    CHECK(find("fs").stats.get("tpu.act.busy_cycles") == 16);
    CHECK(find("fs").stats.get("tpu.act.fp32_adds") == 16 * 11);
    CHECK(find("fs").stats.get("tpu.act.fp32_mults") == 16 * 12);
  }
}

TEST_CASE("leaky_relu fuses into the Activate step with its alpha, and runs alone", "[tpu_network][leaky_relu]") {
  const std::string net = R"(
kind: workload
name: leaky
inputs:
  - {name: x, shape: [1, 8, 6, 6]}
layers:
  - {name: conv, op: conv2d, out: 8, kernel: 3, pad: 1}
  - {name: cl, op: leaky_relu, alpha: 0.2}
  - {name: flat, op: flatten}
  - {name: fc, op: gemm, out: 16}
  - {name: fl, op: leaky_relu}
outputs: [fc, fl]
)";
  auto b = test::tpu_backend("tpu_small");
  for (DType t : {DType::bf16, DType::int8}) {
    INFO(dtype_name(t));
    const auto ls = b->run_workload(test::parse_net(net), t, tile_opts());
    require_all_ok(ls, true);
    std::map<std::string, report::LayerResult> by;
    for (const auto& l : ls) by[l.name] = l;
    REQUIRE(by.count("conv"));
    REQUIRE(by.count("fl"));
    CHECK(by["conv"].op == "conv2d+leaky_relu");
    CHECK(by["fl"].op == "leaky_relu");
    // 16 values, one pass: ceil(16 / 8) = 2 lane cycles; one compare and one multiply each.
    CHECK(by["fl"].stats.get("tpu.act.fp32_adds") == 16);
    CHECK(by["fl"].stats.get("tpu.act.fp32_mults") == 16);
  }
}
