// A network as one stream of kernels in one device memory
// (sim/lowering/gpu/network_stream.h): buffers, relocation, and the L2
// state a consumer finds after its producer.
#include <catch2/catch.hpp>

#include <memory>

#include "tests/workload_text.h"
#include "sim/config/gpu_config.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/gpu_backend.h"
#include "sim/lowering/gpu/network_stream.h"
#include "sim/workload/workload.h"

using namespace xpu;
using lowering::gpu::PlanPiece;
using lowering::gpu::StreamPlacement;

namespace {

// x [256, 256] -> g1 = x W1 -> g2 = g1 W2: the second GEMM's A is the first's C.
workload::Workload chain() {
  return xpu_test::workload_from_text("chain",
                   "kind: workload\nname: chain\ninputs:\n  - {name: x, shape: [256, 256], dtype: fp32}\n"
                   "layers:\n  - {name: g1, op: matmul, input: x, out: 256, bias: false}\n"
                   "  - {name: g2, op: matmul, input: g1, out: 256, bias: false}\n");
}
// g2 alone, on a graph input: what it reads from a cold L2.
workload::Workload alone() {
  return xpu_test::workload_from_text("alone",
                   "kind: workload\nname: alone\ninputs:\n  - {name: g1, shape: [256, 256], dtype: fp32}\n"
                   "layers:\n  - {name: g2, op: matmul, input: g1, out: 256, bias: false}\n");
}

gpu::GpuConfig v100() { return config::load_gpu_config(XPUSIM_SOURCE_DIR "/configs/accelerators/v100.yaml"); }

// One backend (one SystemC module) for every run: each run_workload is a
// stream of its own, starting from a cold L2.
experiment::Backend& backend() {
  static auto be = experiment::make_gpu_backend(
      v100(), energy::load_energy_table(XPUSIM_SOURCE_DIR "/configs/energy/horowitz_45nm.yaml"), "gpu_stream");
  return *be;
}

std::vector<report::LayerResult> run(const workload::Workload& w, Fidelity f) {
  experiment::LayerRunOptions o;
  o.fidelity = f;
  o.verify = true;
  o.seed = 1;
  return backend().run_workload(w, DType::fp16, o);
}

}  // namespace

TEST_CASE("stream placement: one buffer per tensor, sized by its largest view, views aliased", "[gpu][stream]") {
  StreamPlacement p;
  p.need({PlanPiece{0, 100, "t:a", 0}, PlanPiece{256, 300, "l0.bias", 0}});
  p.alias("t:b", "t:a");  // b = reshape(a)
  p.need({PlanPiece{0, 600, "t:b", 0}, PlanPiece{768, 50, "t:c", 0}});
  p.finish();
  // t:a needs max(100, 600) = 600 bytes (through its view b), rounded to 768;
  // l0.bias 300 -> 512 at 768; t:c at 768 + 512 = 1280, 50 -> 256 bytes.
  CHECK(p.address("t:a") == 0);
  CHECK(p.address("t:b") == 0);
  CHECK(p.address("l0.bias") == 768);
  CHECK(p.address("t:c") == 1280);
  CHECK(p.bytes() == 1536);
  CHECK_THROWS(p.address("t:missing"));
}

TEST_CASE("stream placement: a consumer's input bases are its producer's output buffer", "[gpu][stream]") {
  const gpu::GpuConfig cfg = v100();
  const workload::Workload w = chain();
  lowering::gpu::GpuLayerPlan L1, L2;
  lowering::gpu::lower_layer(cfg, w, w.layers[0], DType::fp16, L1);
  lowering::gpu::lower_layer(cfg, w, w.layers[1], DType::fp16, L2);
  REQUIRE(L1.is_gemm);
  REQUIRE(L2.is_gemm);
  const auto p1 = lowering::gpu::plan_pieces(w, 0, L1, lowering::gpu::Fusion{});
  const auto p2 = lowering::gpu::plan_pieces(w, 1, L2, lowering::gpu::Fusion{});
  StreamPlacement place;
  place.need(p1);
  place.need(p2);
  place.finish();
  // The pieces cover each layer's local space from 0 without gaps.
  for (const auto* ps : {&p1, &p2}) {
    uint64_t at = 0;
    for (const PlanPiece& q : *ps) {
      CHECK(q.local == at);
      at += q.bytes;
    }
  }
  CHECK(p1.back().local + p1.back().bytes == L1.bytes);
  const uint64_t g1 = place.address("t:g1");
  lowering::gpu::relocate(L1, p1, place);
  lowering::gpu::relocate(L2, p2, place);
  // The CTA at tile (0, 0) of g2 reads its A rows from the start of g1's
  // buffer; g1's last kernel writes its tile (0, 0) there (a split-K GEMM's
  // reduction, else the GEMM itself: C is buffer 2 of both).
  CHECK(L2.gemm.launch.base(0, 0) == g1);
  const gpu::Launch& writer = L1.gemm.split() ? L1.gemm.reduce : L1.gemm.launch;
  CHECK(writer.base(0, L1.gemm.split() ? 1 : 2) == g1);
  // Weights are buffers of their own: W1 and W2 do not overlap g1.
  CHECK(L1.gemm.launch.base(0, 1) != L2.gemm.launch.base(0, 1));
  CHECK(L2.gemm.launch.base(0, 1) >= g1 + L1.gemm.layout.mp * L1.gemm.layout.ldc);
}

TEST_CASE("stream: a consumer reads its producer's output from the L2, values still bit-exact", "[gpu][stream]") {
  const auto s = run(chain(), Fidelity::timing);
  const auto a = run(alone(), Fidelity::timing);
  REQUIRE(s.size() == 2);
  REQUIRE(a.size() == 1);
  // Alone, g2 reads A (256 x 256 fp16 = 131,072 bytes) and W2 (131,072
  // bytes) from DRAM. After g1, A is in the L2 (g1 left it there, dirty, in
  // the 6 MiB L2): only W2 comes from DRAM.
  CHECK(a[0].bytes.at("dram_read") == Approx(262144.0));
  CHECK(s[1].bytes.at("dram_read") == Approx(131072.0));
  CHECK(s[1].cycles < a[0].cycles + 1);  // never slower than from a cold L2
  // Tile fidelity: each layer's values are still checked bit for bit.
  for (const auto& r : run(chain(), Fidelity::tile)) CHECK(r.verdict == report::Verdict::bit_exact);
}

TEST_CASE("a residual add and the relu after it fuse into the convolution's epilogue, bit-exact", "[gpu][stream][conv]") {
  // conv (64 -> 64, 3x3, pad 1) + batchnorm + add of the graph input + relu:
  // one kernel, y = relu((acc + bias) + x), checked bit for bit against the
  // im2col reference with the same two fp32 adds (tc_reference.h).
  const workload::Workload w =
      xpu_test::workload_from_text("residual",
                "kind: workload\nname: residual\ninputs:\n  - {name: x, shape: [1, 64, 8, 8], dtype: fp32}\n"
                "layers:\n  - {name: c1, op: conv2d, out: 64, kernel: 3, pad: 1, bias: false}\n"
                "  - {name: bn, op: batchnorm}\n  - {name: add, op: add, input: [bn, x]}\n"
                "  - {name: relu, op: relu}\n");
  const lowering::gpu::Fusion f = lowering::gpu::fusion_after(v100(), w, 0, DType::fp16);
  CHECK(f.layers == std::vector<size_t>{1, 2, 3});
  CHECK(f.ep.bias);
  CHECK(f.ep.residual);
  CHECK(f.residual == "x");
  const auto r = run(w, Fidelity::tile);
  REQUIRE(r.size() == 1);
  CHECK(r[0].fused == std::vector<std::string>{"c1", "bn", "add", "relu"});
  CHECK(r[0].verdict == report::Verdict::bit_exact);
  // An add whose other operand is computed after the conv cannot be fused:
  // here the conv's output is added to the relu of a later conv.
  const workload::Workload late =
      xpu_test::workload_from_text("late",
                "kind: workload\nname: late\ninputs:\n  - {name: x, shape: [1, 64, 8, 8], dtype: fp32}\n"
                "layers:\n  - {name: c1, op: conv2d, out: 64, kernel: 3, pad: 1, bias: false}\n"
                "  - {name: c2, op: conv2d, input: x, out: 64, kernel: 1, bias: false}\n"
                "  - {name: add, op: add, input: [c1, c2]}\n");
  CHECK_FALSE(lowering::gpu::fusion_after(v100(), late, 0, DType::fp16).ep.residual);
  const lowering::gpu::Fusion f2 = lowering::gpu::fusion_after(v100(), late, 1, DType::fp16);
  CHECK(f2.ep.residual);  // c2 is the later producer: it takes the add
  CHECK(f2.residual == "c1");
}
