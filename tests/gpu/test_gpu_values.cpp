// Values flowing through a GPU network's device memory at tile fidelity
// (sim/experiment/gpu_backend.h): each kernel computes on what its
// producers wrote there, the check's references consume the same 16-bit
// intermediates, and a layout change between producer and consumer is a
// copy kernel of its own (sim/lowering/gpu/network_layout.h).
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "tests/workload_text.h"
#include "gpu_test_util.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/gpu_backend.h"
#include "sim/workload/workload.h"

using namespace xpu;

namespace {

std::unique_ptr<experiment::Backend> backend(const std::string& config) {
  static const energy::EnergyTable table =
      energy::load_energy_table(XPUSIM_SOURCE_DIR "/configs/energy/horowitz_45nm.yaml");
  return experiment::make_gpu_backend(gpu::test::load(config), table, "gpu");
}

std::vector<report::LayerResult> run(experiment::Backend& be, const workload::Workload& w, Fidelity f) {
  experiment::LayerRunOptions o;
  o.fidelity = f;
  o.verify = true;
  o.seed = 1;
  return be.run_workload(w, DType::fp16, o);
}

// x [64, 64] -> g1 = x W (a tensor-core GEMM, 16-bit C) -> y = g1 * g1 (a map kernel).
workload::Workload gemm_then_square() {
  return xpu_test::workload_from_text("square",
                   "kind: workload\nname: square\ninputs:\n  - {name: x, shape: [64, 64], dtype: fp32}\n"
                   "layers:\n  - {name: g1, op: matmul, input: x, out: 64, bias: false}\n"
                   "  - {name: y, op: mul, input: [g1, g1]}\n");
}

uint16_t bits16(const gpu::GlobalMemory& mem, uint64_t at) {
  uint16_t h = 0;
  mem.read(at, &h, 2);
  return h;
}

}  // namespace

TEST_CASE("a consumer computes on what its producer left in device memory", "[gpu][values]") {
  const workload::Workload w = gemm_then_square();
  auto be = backend("gpu_small.yaml");
  // y's first two outputs (fp16 bits) as the device holds them after y ran.
  uint16_t y0 = 0, y1 = 0;
  bool corrupt = false;
  experiment::set_gpu_after_layer(*be, [&](const std::string& layer, gpu::GlobalMemory& mem, const auto& address) {
    if (layer == "g1" && corrupt) {
      const uint16_t two = 0x4000;  // fp16 2.0 over g1[0][0], after g1 was checked
      mem.write(address("g1"), &two, 2);
    }
    if (layer == "y") y0 = bits16(mem, address("y")), y1 = bits16(mem, address("y") + 2);
  });
  const auto clean = run(*be, w, Fidelity::tile);
  const uint16_t clean0 = y0, clean1 = y1;
  corrupt = true;
  const auto bad = run(*be, w, Fidelity::tile);
  REQUIRE(clean.size() == 2);
  REQUIRE(bad.size() == 2);
  // The map kernel squared the corrupted element: 2.0 x 2.0 = 4.0, fp16
  // 0x4400 (exponent 15 + 2 = 17 -> 0x44 << 8). The clean run's g1[0][0]
  // is a sum of 64 products of the seed's random operands, not +-2.
  CHECK(y0 == 0x4400);
  CHECK(clean0 != 0x4400);
  // Every other element is as in the clean run: g1[0][1] was not touched.
  CHECK(y1 == clean1);
  // Both runs check bit for bit: y's reference consumed the same g1 the
  // kernel read from device memory, not a value drawn for it.
  for (const auto* rs : {&clean, &bad})
    for (const auto& r : *rs) CHECK(r.verdict == report::Verdict::bit_exact);
}

TEST_CASE("a layout change between producer and consumer is a copy kernel in the stream", "[gpu][values]") {
  // conv (3 -> 8 channels) writes NHWC with rows padded to its tile; the
  // tanh after it reads NCHW: a relayout kernel converts the tensor first.
  const workload::Workload w =
      xpu_test::workload_from_text("relayout",
                "kind: workload\nname: relayout\ninputs:\n  - {name: x, shape: [1, 3, 8, 8], dtype: fp32}\n"
                "layers:\n  - {name: c1, op: conv2d, out: 8, kernel: 3, pad: 1, bias: false}\n"
                "  - {name: t1, op: tanh}\n");
  auto be = backend("gpu_small.yaml");
  const auto tile = run(*be, w, Fidelity::tile);
  // c1, the relayout of c1's output, t1.
  REQUIRE(tile.size() == 3);
  CHECK(tile[0].name == "c1");
  CHECK(tile[1].name == "c1.relayout");
  CHECK(tile[1].op == "relayout [map_copy]");
  CHECK(tile[2].name == "t1");
  CHECK(tile[1].verdict == report::Verdict::bit_exact);  // every element copied
  CHECK(tile[0].verdict == report::Verdict::bit_exact);
  CHECK(tile[2].verdict != report::Verdict::mismatch);
  // A real kernel: it takes cycles and moves the tensor's 8 x 8 x 8 16-bit
  // elements (1 KiB) through the L2.
  CHECK(tile[1].cycles > 0);
  CHECK(tile[1].bytes.at("l2_read") >= 1024.0);
  // Timing fidelity runs the same stream.
  const auto timing = run(*be, w, Fidelity::timing);
  REQUIRE(timing.size() == 3);
  for (size_t i = 0; i < 3; ++i) CHECK(timing[i].cycles == tile[i].cycles);
}

namespace {

// ResNet-18 on 32 x 32 images: every convolution (batchnorm, residual add
// and relu fused) and the classifier bit for bit, pooling exact against
// the fp32 reference with its one 16-bit rounding; all tensors NHWC with
// the pitches the next kernel reads, so no relayout.
void check_resnet(const char* config) {
  const workload::Workload w =
      workload::load_workload(XPUSIM_SOURCE_DIR "/workloads/nets/resnet18.yaml", {"params.size=32"});
  auto be = backend(config);
  const auto rows = run(*be, w, Fidelity::tile);
  REQUIRE(rows.size() == 24);  // 20 conv rows, max pool, average pool, flatten (a view), fc
  for (const auto& r : rows) {
    INFO(r.name << ": " << r.verdict_detail);
    CHECK(r.name.find(".relayout") == std::string::npos);
    CHECK(r.verdict ==
          (r.op.find("[view]") != std::string::npos ? report::Verdict::skipped : report::Verdict::bit_exact));
    CHECK(r.verdict_detail.find("staged by the host") == std::string::npos);
  }
}

// BERT-base's layer at hidden 128, 2 heads of 64, FFN 256, 32 tokens: every
// GEMM bit for bit (its A and B the 16-bit outputs of the projections,
// transposes, softmax, layernorm and GELU before it); softmax, layernorm
// and GELU within their tolerances of the fp32 reference on the same
// inputs; relayouts (batched GEMMs whose batch stride or row pitch differs
// from the transposes' dense tensors) copied exactly.
void check_bert(const char* config) {
  const workload::Workload w =
      workload::load_workload(XPUSIM_SOURCE_DIR "/workloads/nets/bert_base_layer.yaml",
                              {"params.seq=32", "params.hidden=128", "params.heads=2", "params.ffn=256"});
  auto be = backend(config);
  const auto rows = run(*be, w, Fidelity::tile);
  size_t gemms = 0;
  for (const auto& r : rows) {
    INFO(r.name << ": " << r.verdict_detail);
    CHECK(r.verdict_detail.find("staged by the host") == std::string::npos);
    if (r.op.find("[view]") != std::string::npos) {
      CHECK(r.verdict == report::Verdict::skipped);
    } else if (r.op.find("[gemm_tc]") != std::string::npos || r.op.find("relayout") != std::string::npos) {
      gemms += r.op.find("[gemm_tc]") != std::string::npos;
      CHECK(r.verdict == report::Verdict::bit_exact);
    } else {
      CHECK((r.verdict == report::Verdict::bit_exact || r.verdict == report::Verdict::within_tolerance));
    }
  }
  // Q, K, V, Q K^T, P V, the output projection, FFN in and out.
  CHECK(gemms == 8);
}

}  // namespace

// (One backend per test case: SystemC elaborates once per process.)
TEST_CASE("a ResNet-style network is bit-exact with values flowing kernel to kernel (gpu_small)",
          "[gpu][values][slow]") {
  check_resnet("gpu_small.yaml");
}
TEST_CASE("a ResNet-style network is bit-exact with values flowing kernel to kernel (ampere_small)",
          "[gpu][values][slow]") {
  check_resnet("ampere_small.yaml");
}
TEST_CASE("a BERT-style layer's GEMMs are bit-exact on the kernels' own intermediates (gpu_small)",
          "[gpu][values]") {
  check_bert("gpu_small.yaml");
}
TEST_CASE("a BERT-style layer's GEMMs are bit-exact on the kernels' own intermediates (ampere_small)",
          "[gpu][values]") {
  check_bert("ampere_small.yaml");
}
