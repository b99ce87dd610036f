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

using namespace xpu;

namespace {

std::string src(const std::string& rel) { return std::string(XPUSIM_SOURCE_DIR) + "/" + rel; }

// Every field but the value-derived scales; "" when equal.
std::string differ(const tpu::Instruction& a, const tpu::Instruction& b) {
  tpu::Instruction x = a, y = b;
  x.scale = y.scale = 1;
  x.in_scale = y.in_scale = 1;
  x.in_scale2 = y.in_scale2 = 1;
  const std::string sa = x.to_string(), sb = y.to_string();
  if (sa != sb) return sa + "  vs  " + sb;
  // to_string prints what assembly can express; the fields it may leave out:
  const bool same = a.op == b.op && a.host_addr == b.host_addr && a.ub_addr == b.ub_addr && a.bytes == b.bytes &&
                    a.weight_addr == b.weight_addr && a.ub_stride == b.ub_stride && a.acc_addr == b.acc_addr &&
                    a.rows == b.rows && a.k == b.k && a.n == b.n && a.dtype == b.dtype &&
                    a.accumulate == b.accumulate && a.load_weights == b.load_weights &&
                    a.keep_psums == b.keep_psums && a.continue_psums == b.continue_psums && a.fn == b.fn &&
                    a.out_dtype == b.out_dtype && a.bias == b.bias && a.bias_addr == b.bias_addr &&
                    a.p0 == b.p0 && a.p1 == b.p1 && a.vop == b.vop && a.ub_addr2 == b.ub_addr2 &&
                    a.ub_stride2 == b.ub_stride2 && a.elem_stride == b.elem_stride &&
                    a.elem_stride2 == b.elem_stride2 && a.dtype2 == b.dtype2 && a.dst_addr == b.dst_addr &&
                    a.dst_stride == b.dst_stride && a.dst_elem_stride == b.dst_elem_stride;
  return same ? "" : "a field outside the assembly text differs: " + sa;
}

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
