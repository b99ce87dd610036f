// A timing run lowers without values (NetworkOptions::values = false): no
// folding, transposes, quantization or packing. Its programs must be the
// tile-fidelity programs instruction for instruction -- same opcodes,
// addresses, lengths, strides and flags -- so the cycles are the same by
// construction. Only the scales (activate / vector requantization), which
// no timing rule reads, may differ.
#include <catch2/catch.hpp>

#include <string>

#include "sim/check/values.h"
#include "sim/config/tpu_config.h"
#include "sim/lowering/tpu/network.h"
#include "sim/workload/workload.h"
#include "tests/tpu_network/net_test_util.h"
#include "tests/tpu_speed/instruction_diff.h"

using namespace xpu;
using test::differ;

namespace {

std::string src(const std::string& rel) { return std::string(XPUSIM_SOURCE_DIR) + "/" + rel; }

// Lowers `net` with values (the tile run's constants: drawn values, every
// int8 activation scale set to a value other than 1, as calibration would)
// and without, and compares the plans program by program.
void compare(const std::string& config, const std::string& net, DType dtype) {
  const auto cfg = config::load_tpu_config(src("configs/accelerators/" + config + ".yaml"));
  const auto w = workload::load_workload(src("workloads/nets/" + net + ".yaml"));
  const auto constants = check::make_network_values(w, 1);
  lowering::NetworkOptions tile;
  tile.dtype = dtype;
  tile.constants = &constants;
  if (dtype == DType::int8)
    for (const auto& t : w.tensors)
      if (!t.is_constant()) tile.scales[t.name] = 0.0371f;
  lowering::NetworkOptions timing;
  timing.dtype = dtype;
  timing.values = false;
  const auto a = lowering::lower_network(cfg, w, tile);
  const auto b = lowering::lower_network(cfg, w, timing);

  REQUIRE(a.layers.size() == b.layers.size());
  size_t instructions = 0, weight_bytes = 0;
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const auto& la = a.layers[i];
    const auto& lb = b.layers[i];
    INFO(net << " layer " << la.name);
    REQUIRE(la.name == lb.name);
    REQUIRE(la.io == lb.io);
    REQUIRE(la.steps.size() == lb.steps.size());
    REQUIRE(la.gemms.size() == lb.gemms.size());
    for (size_t s = 0; s < la.steps.size(); ++s) {
      const auto& pa = la.steps[s];
      const auto& pb = lb.steps[s];
      REQUIRE(pa.program.code.size() == pb.program.code.size());
      for (size_t j = 0; j < pa.program.code.size(); ++j) {
        INFO("instruction " << j);
        REQUIRE(differ(pa.program.code[j], pb.program.code[j]) == "");
      }
      instructions += pa.program.code.size();
      // Same weight image layout; only the tile run materializes it.
      REQUIRE(pa.weight_bytes == pb.weight_bytes);
      REQUIRE(pa.weight_image.size() == pa.weight_bytes);
      REQUIRE(pb.weight_image.empty());
      weight_bytes += pa.weight_bytes;
      REQUIRE(pa.host_constants.size() == pb.host_constants.size());
      for (size_t c = 0; c < pb.host_constants.size(); ++c) {
        REQUIRE(pa.host_constants[c].host_addr == pb.host_constants[c].host_addr);
        REQUIRE(pb.host_constants[c].bytes.empty());
      }
    }
    for (const auto& g : lb.gemms) REQUIRE(g.b == nullptr);  // nothing quantized or packed
  }
  // The comparison covered real programs: hundreds of instructions at least
  // (BERT's layer on 256x256 tiles: 542) and every weight packed once
  // (ResNet-50: 25.5 M weights; the others millions too).
  CHECK(instructions > 500);
  CHECK(weight_bytes > 1000000);
}

}  // namespace

TEST_CASE("timing lowering: ResNet-50 int8 on tpu_v1 is the tile program without values") {
  compare("tpu_v1", "resnet50", DType::int8);
}

TEST_CASE("timing lowering: MobileNetV2 int8 on tpu_v1 is the tile program without values") {
  compare("tpu_v1", "mobilenet_v2", DType::int8);
}

TEST_CASE("timing lowering: BERT-base layer bf16 on tpu_v2_like is the tile program without values") {
  compare("tpu_v2_like", "bert_base_layer", DType::bf16);
}

TEST_CASE("timing lowering: BERT-base layer int8 on tpu_v1 is the tile program without values") {
  compare("tpu_v1", "bert_base_layer", DType::int8);
}

TEST_CASE("timing lowering: standalone GEMMs stream the tile program chunk by chunk") {
  // At timing fidelity a standalone GEMM's program is generated as it is
  // fetched (ProgramStep::stream), nothing materialized; with operands it is
  // a whole vector. Pulled in chunks of awkward sizes, the stream must be
  // that vector instruction for instruction, and end with it. Every
  // dataflow (input-stationary without fold overlap has its own loop
  // order), host and resident io, ragged shapes.
  // (An input-stationary array without fold overlap keeps every N tile in
  // an accumulator half: N <= 32 on tpu_small, hence `narrow`.)
  const auto wide = test::parse_net(R"(
kind: workload
name: streamed
layers:
  - {name: g0, op: gemm, m: 256, n: 256, k: 256}
  - {name: g1, op: gemm, m: 77, n: 19, k: 45}
  - {name: g2, op: gemm, m: 1, n: 8, k: 300}
  - {name: g3, op: gemm, m: 1000, n: 24, k: 16}
)");
  const auto narrow = test::parse_net(R"(
kind: workload
name: streamed
layers:
  - {name: g0, op: gemm, m: 300, n: 32, k: 1024}
  - {name: g1, op: gemm, m: 77, n: 19, k: 45}
  - {name: g2, op: gemm, m: 1, n: 8, k: 300}
)");
  struct Case {
    std::string config;
    tpu::Dataflow df;
    bool fold_overlap;
  };
  for (const Case& cs : {Case{"tpu_v1", tpu::Dataflow::ws, true}, Case{"tpu_small", tpu::Dataflow::ws, true},
                         Case{"tpu_small", tpu::Dataflow::os, true}, Case{"tpu_small", tpu::Dataflow::is, false}}) {
    auto cfg = config::load_tpu_config(src("configs/accelerators/" + cs.config + ".yaml"));
    cfg.mxu.dataflow = cs.df;
    cfg.mxu.fold_overlap = cs.fold_overlap;
    const auto& w = cs.fold_overlap ? wide : narrow;
    for (const bool resident : {false, true}) {
      INFO(cs.config << " dataflow " << int(cs.df) << (resident ? " resident" : " host"));
      std::vector<lowering::GemmOperands> ops;
      for (const auto& l : w.layers)
        ops.push_back({std::vector<uint8_t>(l.m * l.k), std::vector<uint8_t>(l.k * l.n)});
      const auto tile = lowering::lower_standalone_gemms(cfg, w, DType::int8, resident, &ops);
      const auto timing = lowering::lower_standalone_gemms(cfg, w, DType::int8, resident, nullptr);
      REQUIRE(tile.layers.size() == timing.layers.size());
      size_t streamed = 0;
      for (size_t i = 0; i < tile.layers.size(); ++i) {
        const auto& code = tile.layers[i].steps.at(0).program.code;
        const auto& st = timing.layers[i].steps.at(0);
        REQUIRE(!tile.layers[i].steps[0].stream);
        REQUIRE(st.stream);
        REQUIRE(st.program.code.empty());  // nothing held
        REQUIRE(st.streamed_instructions == code.size());
        auto source = st.stream();
        REQUIRE(source->name() == tile.layers[i].steps[0].program.name);
        std::vector<tpu::Instruction> chunk(1000);
        size_t at = 0;
        for (size_t c = 0;; ++c) {
          const size_t want = std::vector<size_t>{1, 7, 1000, 64}[c % 4];
          const size_t got = source->fetch(chunk.data(), want);
          REQUIRE(got <= want);
          if (got == 0) break;
          REQUIRE(at + got <= code.size());
          for (size_t j = 0; j < got; ++j, ++at) {
            INFO("instruction " << at);
            REQUIRE(differ(chunk[j], code[at]) == "");
          }
        }
        REQUIRE(at == code.size());
        REQUIRE(source->fetch(chunk.data(), 1) == 0);  // stays exhausted
        streamed += at;
      }
      // g0 alone on the 8x8 array: 32 x 32 tiles (narrow: 128 x 4) per M
      // block, in at least ceil(256 / 32) = 8 blocks (narrow: ceil(300 /
      // 8) = 38 input tiles), two instructions per tile: over 16000; on
      // tpu_v1 a few.
      CHECK(streamed > (cs.config == "tpu_small" ? 16000u : 10u));
    }
  }
}
