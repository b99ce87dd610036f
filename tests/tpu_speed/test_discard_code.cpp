// NetworkOptions::discard_code (the backend's check of a network whose
// programs it does not keep): the lowering drops every instruction as it is
// emitted, and every other decision -- placement, blocking, streaming, what
// each layer reports, the errors -- is the one of the lowering that keeps
// the code.
#include <catch2/catch.hpp>

#include "../tpu_network/net_test_util.h"
#include "sim/lowering/tpu/network.h"

using namespace xpu;

namespace {

// On tpu_small's 64 KiB unified buffer: the 3 x 3 conv's Toeplitz matrix
// (32 x 32 rows of 16 x 9 bytes = 147 KiB) is built in double-buffered
// blocks whose copies are interleaved with the passes; the second conv
// streams; pooling and a dense layer follow.
const char* kNet = R"(
kind: workload
name: discard
inputs:
  - {name: x, shape: [1, 16, 32, 32]}
layers:
  - {name: c1, op: conv2d, out: 32, kernel: 3, pad: 1}
  - {name: r1, op: relu}
  - {name: c2, op: conv2d, out: 64, kernel: 3, pad: 1}
  - {name: p1, op: max_pool, kernel: 2, stride: 2}
  - {name: flat, op: flatten}
  - {name: fc, op: gemm, out: 10}
)";

// The same, and last a conv of which one output pixel's im2col row (4096 x
// 9 bytes = 36 KiB) and its band do not fit the unified buffer: an error.
const char* kBad = R"(
kind: workload
name: discard_bad
inputs:
  - {name: x, shape: [1, 16, 32, 32]}
layers:
  - {name: c1, op: conv2d, out: 32, kernel: 3, pad: 1}
  - {name: c2, op: conv2d, out: 4096, kernel: 1}
  - {name: c3, op: conv2d, out: 64, kernel: 3, pad: 1}
)";

std::string lower_error(const tpu::TpuConfig& cfg, const workload::Workload& w, const lowering::NetworkOptions& lo) {
  try {
    lowering::lower_network(cfg, w, lo);
  } catch (const lowering::LoweringError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a lowering that discards its code decides everything else as the one that keeps it") {
  const auto cfg = config::load_tpu_config(test::src("configs/accelerators/tpu_small.yaml"));
  lowering::NetworkOptions keep;
  keep.values = false;
  lowering::NetworkOptions drop = keep;
  const bool yes = true;
  drop.discard_code = &yes;
  for (const auto& w : {test::parse_net(kNet), workload::load_workload(test::src("workloads/nets/lenet5.yaml")),
                        workload::load_workload(test::src("workloads/nets/mobilenet_v2.yaml"))}) {
    INFO(w.name);
    const lowering::NetworkPlan a = lowering::lower_network(cfg, w, keep);
    const lowering::NetworkPlan b = lowering::lower_network(cfg, w, drop);
    REQUIRE(a.layers.size() == b.layers.size());
    size_t code = 0, blocked = 0;
    for (size_t i = 0; i < a.layers.size(); ++i) {
      const auto &x = a.layers[i], &y = b.layers[i];
      INFO(x.name);
      CHECK(x.name == y.name);
      CHECK(x.op == y.op);
      CHECK(x.shape == y.shape);
      CHECK(x.io == y.io);
      CHECK(x.macs == y.macs);
      CHECK(x.has_output == y.has_output);
      CHECK(x.output.ub == y.output.ub);
      CHECK(x.output.bytes == y.output.bytes);
      CHECK(x.output_on_host == y.output_on_host);
      CHECK(x.gemms.size() == y.gemms.size());
      CHECK(x.im2col_bytes == y.im2col_bytes);
      CHECK(x.spill_bytes == y.spill_bytes);
      CHECK(x.blocks == y.blocks);
      CHECK(x.block_rows == y.block_rows);
      CHECK(x.block_cols == y.block_cols);
      CHECK(x.stream_in_bytes == y.stream_in_bytes);
      CHECK(x.stream_out_bytes == y.stream_out_bytes);
      CHECK(x.array_cols_used == y.array_cols_used);
      CHECK(x.array_rows_used == y.array_rows_used);
      CHECK(x.weight_path_bytes == y.weight_path_bytes);
      for (const auto& st : x.steps) code += st.program.code.size();
      for (const auto& st : y.steps) CHECK(st.program.code.empty());
      blocked += x.blocks > 1;
    }
    CHECK(code > 0);
    if (w.name == "discard") CHECK(blocked >= 2);  // the blocked paths ran
  }
  // The same error, naming the same layer.
  const workload::Workload bad = test::parse_net(kBad);
  const std::string want = lower_error(cfg, bad, keep);
  CHECK(test::has(want, "c3"));
  CHECK(lower_error(cfg, bad, drop) == want);
}
