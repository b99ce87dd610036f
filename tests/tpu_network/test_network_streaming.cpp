// Layers that do not fit the unified buffer (network.h, "Blocking and
// streaming"): im2col in row (and sub-row) blocks, inputs / outputs streamed
// from / to host memory block by block, vector layers streamed by rows --
// bit-identical to the same network lowered for a large UB, reported in the
// plan; VGG-16 on TPU v1, SCALE-Sim's small SRAMs and ResNet-50 on tpu_small
// lower.
#include <catch2/catch.hpp>

#include "models/tpu/tpu_energy.h"
#include "sim/experiment/scalesim_run.h"
#include "sim/experiment/tpu_network_run.h"
#include "sim/lowering/lowering_error.h"
#include "net_test_util.h"

using namespace xpu;

namespace {

// One Tpu per process (SystemC elaborates once), built with a large UB; a
// lowering for a smaller UB only uses addresses below its capacity, so both
// plans run on it and their values can be compared bit for bit.
struct Machine {
  tpu::TpuConfig cfg;
  energy::EnergyTable table;
  energy::EnergyModel model;
  std::vector<energy::EnergyTerm> terms;
  tpu::Tpu tpu;
  explicit Machine(uint64_t ub_bytes)
      : cfg(config::load_tpu_config(test::src("configs/accelerators/tpu_small.yaml"),
                                    {"unified_buffer.capacity_bytes=" + std::to_string(ub_bytes)})),
        table(energy::EnergyTable::from_document(config::Document::load(test::src("configs/energy/horowitz_45nm.yaml")))),
        model(table), terms(tpu::tpu_energy_terms(cfg, table)), tpu(cfg, "stream") {}

  tpu::TpuConfig with_ub(uint64_t bytes) const {
    tpu::TpuConfig c = cfg;
    c.unified_buffer.capacity_bytes = bytes;
    return c;
  }
  // Runs `w` lowered for `lower_cfg` at tile fidelity; the graph outputs as read back.
  workload::TensorValues run(const tpu::TpuConfig& lower_cfg, const workload::Workload& w, DType t,
                             std::vector<report::LayerResult>& layers) {
    workload::TensorValues got;
    experiment::NetworkRunner runner{lower_cfg, tpu, model, terms, 1.0};
    runner.outputs = &got;
    experiment::LayerRunOptions o;
    o.fidelity = xpu::Fidelity::tile;
    layers = runner.run(w, t, o);
    return got;
  }
};

// Every layer verified: GEMMs bit-exact, outputs within tolerance of fp32.
void require_all_ok(const std::vector<report::LayerResult>& layers) {
  for (const auto& l : layers) {
    INFO(l.name << ": " << l.verified());
    CHECK_FALSE(test::has(l.verified(), "MISMATCH"));
    CHECK_FALSE(test::has(l.verified(), "skipped"));
    if (test::has(l.op, "conv2d") || test::has(l.op, "gemm")) CHECK(test::has(l.verified(), "gemm bit-exact"));
  }
}

void require_same_bits(const workload::TensorValues& a, const workload::TensorValues& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [name, v] : a) {
    INFO(name);
    REQUIRE(b.count(name));
    REQUIRE(v.size() == b.at(name).size());
    size_t diff = 0;
    for (size_t i = 0; i < v.size(); ++i) diff += std::memcmp(&v[i], &b.at(name)[i], sizeof(float)) != 0;
    CHECK(diff == 0);
  }
}

const lowering::LayerPlan& layer(const lowering::NetworkPlan& p, const std::string& name) {
  for (const auto& l : p.layers)
    if (l.name == name) return l;
  FAIL("no layer " << name);
  throw std::logic_error("unreachable");
}

// 3x3 conv + relu, strided conv, depthwise, pointwise; every result a graph output.
const char* const kBlockNet = R"(
kind: workload
name: blocked
inputs:
  - {name: x, shape: [1, 8, 16, 16]}
layers:
  - {name: c1, op: conv2d, out: 16, kernel: 3, pad: 1}
  - {name: r1, op: relu}
  - {name: c2, op: conv2d, out: 16, kernel: 3, stride: 2, pad: 1}
  - {name: dw, op: conv2d, out: 16, kernel: 3, groups: 16, pad: 1}
  - {name: pw, op: conv2d, out: 8, kernel: 1}
outputs: [r1, c2, dw, pw]
)";

}  // namespace

TEST_CASE("blocked im2col on a small UB is bit-identical to the whole matrix in int8 and bf16", "[tpu_network]") {
  Machine m(1 << 20);
  const auto w = test::parse_net(kBlockNet);
  for (DType t : {DType::int8, DType::bf16}) {
    INFO(dtype_name(t));
    const uint64_t e = dtype_bytes(t);
    // c1 keeps x (16 x 16 x 8 e) and its output (16 x 16 x 16 e) resident;
    // its im2col matrix (256 rows x 72 e) does not fit the rest of a 10 KiB
    // (bf16: 20 KiB) UB: 10240 - 2048 - 4096 - 64 (bias row) = 4032 free
    // (bf16 20480 - 12352 = 8128), half of it per block buffer: 2016
    // (4064) bytes hold r = 1 output row of 16 x 72 e = 1152 e bytes (the
    // accumulators would allow 32 / 16 = 2); blocks = ceil(16 / 1) = 16.
    const auto small = m.with_ub(10240 * e);
    lowering::NetworkOptions lo;
    lo.dtype = t;
    const auto plan = lowering::lower_network(small, w, lo);
    const auto& c1 = layer(plan, "c1");
    CHECK(c1.blocks == 16);
    CHECK(c1.block_rows == 1);
    CHECK(c1.io == "im2col in 16 blocks of 1 output rows (double-buffered)");
    CHECK(c1.im2col_bytes == 256 * 72 * e);  // every Toeplitz row once
    CHECK(c1.gemms.size() == 16);            // one check per block
    CHECK(c1.stream_in_bytes == 0);
    CHECK(layer(plan, "dw").blocks > 1);     // depthwise: 16 single-column GEMMs per block
    const auto big_plan = lowering::lower_network(m.cfg, w, lo);
    CHECK(layer(big_plan, "c1").io == "resident");
    CHECK(layer(big_plan, "c1").blocks == 0);

    std::vector<report::LayerResult> big_layers, small_layers;
    const auto big = m.run(m.cfg, w, t, big_layers);
    const auto blocked = m.run(small, w, t, small_layers);
    require_all_ok(big_layers);
    require_all_ok(small_layers);
    for (const auto& l : small_layers)
      if (l.name == "c1") CHECK(test::has(l.verified(), "gemm bit-exact (16)"));
    REQUIRE(big.size() == 4);
    require_same_bits(big, blocked);
  }
}

TEST_CASE("a conv streams its input and output through host memory bit-identically", "[tpu_network]") {
  const char* const net = R"(
kind: workload
name: streamed
inputs:
  - {name: x, shape: [1, 8, 64, 16]}
layers:
  - {name: c3, op: conv2d, out: 8, kernel: 3, pad: 1, bias: false}
  - {name: r, op: relu}
  - {name: c1, op: conv2d, out: 16, kernel: 1}
outputs: [r, c1]
)";
  Machine m(1 << 20);
  const auto w = test::parse_net(net);
  const auto small = m.with_ub(7168);
  lowering::NetworkOptions lo;
  lo.dtype = DType::int8;
  const auto plan = lowering::lower_network(small, w, lo);
  // int8, a 7 KiB UB: x (64 x 16 x 8 = 8192 bytes) stays in host memory.
  // c3: input and output (8192 each) cannot be resident; a block of r rows
  // needs im2col r x 16 x 72 = 1152 r, a band of r + 2 input rows
  // (128 bytes each) and r output rows (128 each): 1408 r + 256 bytes, two
  // buffers in 7168: r = 2 (3072 <= 3584; also the most one accumulator
  // half of 32 GEMM rows holds: 32 / 16), blocks = ceil(64 / 2) = 32. The
  // bands: rows [2j - 1, 2j + 2] clipped, 4 rows but 3 for the first and
  // last block: (30 x 4 + 2 x 3) x 128 = 16128 bytes in, 8192 out.
  const auto& c3 = layer(plan, "c3");
  CHECK(c3.blocks == 32);
  CHECK(c3.block_rows == 2);
  CHECK(c3.stream_in_bytes == 16128);
  CHECK(c3.stream_out_bytes == 8192);
  CHECK(c3.spill_bytes == 16128 + 8192);
  CHECK(c3.output_on_host);
  CHECK(c3.io == "streamed: 32 blocks of 2 output rows (double-buffered), in 16.1 KB, out 8.2 KB");
  // c1 (1x1: A is the band itself): the bias row (16 x 4 -> 64 bytes) leaves
  // 7104 of which half, 3552, would hold 9 rows of 128 in + 256 out; the
  // accumulator half bounds it to r = 32 / 16 = 2 rows: blocks = 32, 8192
  // bytes in, 64 x 16 x 16 = 16384 out.
  const auto& c1 = layer(plan, "c1");
  CHECK(c1.blocks == 32);
  CHECK(c1.block_rows == 2);
  CHECK(c1.stream_in_bytes == 8192);
  CHECK(c1.stream_out_bytes == 16384);
  CHECK(layer(plan, "stage_in").shape == "1x8x64x16 (kept in host memory)");

  std::vector<report::LayerResult> big_layers, small_layers;
  const auto big = m.run(m.cfg, w, DType::int8, big_layers);
  const auto streamed = m.run(small, w, DType::int8, small_layers);
  require_all_ok(big_layers);
  require_all_ok(small_layers);
  require_same_bits(big, streamed);
  // The DMA engines moved what the plan says (plus nothing else in c3: no
  // constants, no spills); every block's GEMM was checked, its A rebuilt
  // from the input in host memory.
  for (const auto& l : small_layers)
    if (l.name == "c3") {
      CHECK(l.bytes.at("host_in") == 16128);
      CHECK(l.bytes.at("host_out") == 8192);
      CHECK(test::has(l.verified(), "gemm bit-exact (32)"));
    }
}

TEST_CASE("strided dilated grouped and depthwise convs stream a batch of two bit-identically", "[tpu_network]") {
  const char* const net = R"(
kind: workload
name: convs2
inputs:
  - {name: x, shape: [2, 4, 20, 20]}
layers:
  - {name: plain, op: conv2d, out: 8, kernel: 3, pad: 1}
  - {name: strided, op: conv2d, out: 8, kernel: 3, stride: 2, pad: [1, 0, 2, 1]}
  - {name: dilated, op: conv2d, out: 8, kernel: 3, dilation: 2, pad: 2, bias: false}
  - {name: grouped, op: conv2d, out: 8, kernel: 3, groups: 2, pad: 1}
  - {name: depthwise, op: conv2d, out: 8, kernel: 3, groups: 8, pad: 1}
outputs: [plain, strided, dilated, grouped, depthwise]
)";
  Machine m(1 << 20);
  const auto w = test::parse_net(net);
  for (DType t : {DType::int8, DType::bf16}) {
    INFO(dtype_name(t));
    const auto small = m.with_ub(3072 * dtype_bytes(t));
    lowering::NetworkOptions lo;
    lo.dtype = t;
    const auto plan = lowering::lower_network(small, w, lo);
    for (const char* name : {"plain", "strided", "dilated", "grouped", "depthwise"}) {
      INFO(name << ": " << layer(plan, name).io);
      CHECK(test::has(layer(plan, name).io, "streamed: "));
      CHECK(layer(plan, name).blocks >= 2);  // at least one block per image
    }
    std::vector<report::LayerResult> big_layers, small_layers;
    const auto big = m.run(m.cfg, w, t, big_layers);
    const auto streamed = m.run(small, w, t, small_layers);
    require_all_ok(big_layers);
    require_all_ok(small_layers);
    require_same_bits(big, streamed);
  }
}

TEST_CASE("gemm rows stream through host memory bit-identically", "[tpu_network]") {
  const char* const net = R"(
kind: workload
name: rows
inputs:
  - {name: x, shape: [256, 64]}
layers:
  - {name: fc, op: gemm, out: 32}
  - {name: act, op: relu}
)";
  Machine m(1 << 20);
  const auto w = test::parse_net(net);
  for (DType t : {DType::int8, DType::bf16}) {
    INFO(dtype_name(t));
    const uint64_t e = dtype_bytes(t);
    // A 4 KiB (bf16: 8 KiB) UB: x (256 x 64 e) stays in host memory; the
    // output (256 x 32 e) cannot be resident either, so both stream. A block
    // of r rows: 64 e r in + 32 e r out, each 64-byte aligned; the bias row
    // takes 128 bytes and two buffers share the rest: (4096 e - 128) / 2 =
    // 1984 (bf16: 4032): int8 r = 20 (1280 + 640; 21: 1344 + 704 > 1984),
    // bf16 r = 21 (2688 + 1344); blocks = ceil(256 / r) = 13.
    const uint64_t r = t == DType::int8 ? 20 : 21;
    const auto small = m.with_ub(4096 * e);
    lowering::NetworkOptions lo;
    lo.dtype = t;
    const auto plan = lowering::lower_network(small, w, lo);
    const auto& fc = layer(plan, "fc");
    CHECK(fc.blocks == 13);
    CHECK(fc.block_rows == r);
    CHECK(fc.stream_in_bytes == 256 * 64 * e);
    CHECK(fc.stream_out_bytes == 256 * 32 * e);
    CHECK(fc.gemms.size() == 13);

    std::vector<report::LayerResult> big_layers, small_layers;
    const auto big = m.run(m.cfg, w, t, big_layers);
    const auto streamed = m.run(small, w, t, small_layers);
    require_all_ok(big_layers);
    require_all_ok(small_layers);
    require_same_bits(big, streamed);
  }
}

TEST_CASE("elementwise layers stream by row blocks bit-identically", "[tpu_network]") {
  const char* const net = R"(
kind: workload
name: residual
inputs:
  - {name: x, shape: [1, 8, 32, 32]}
layers:
  - {name: a, op: conv2d, out: 8, kernel: 1}
  - {name: s, op: add, input: [a, x]}
  - {name: r, op: relu}
  - {name: g, op: sigmoid}
)";
  Machine m(1 << 20);
  const auto w = test::parse_net(net);
  for (DType t : {DType::int8, DType::bf16}) {
    INFO(dtype_name(t));
    const uint64_t e = dtype_bytes(t);
    const auto small = m.with_ub(7168 * e);
    lowering::NetworkOptions lo;
    lo.dtype = t;
    const auto plan = lowering::lower_network(small, w, lo);
    // x and a (32 x 32 x 8 e = 8192 e each) live in host memory; the add
    // (+ relu) streams both operands and its output in rows of 8 elements
    // (the vector unit's width): 1024 rows, a block of r rows takes three
    // 8 e r sections, two buffers in 7168 e: int8 r = 144 (3 x 1152 <= 3584),
    // blocks = ceil(1024 / 144) = 8.
    const auto& add = layer(plan, "s");
    CHECK(add.op == "add+relu");
    CHECK(add.stream_in_bytes == 2 * 8192 * e);
    CHECK(add.stream_out_bytes == 8192 * e);
    if (t == DType::int8) {
      CHECK(add.block_rows == 144);
      CHECK(add.blocks == 8);
    }
    CHECK(layer(plan, "g").blocks > 1);

    std::vector<report::LayerResult> big_layers, small_layers;
    const auto big = m.run(m.cfg, w, t, big_layers);
    const auto streamed = m.run(small, w, t, small_layers);
    require_all_ok(big_layers);
    require_all_ok(small_layers);
    require_same_bits(big, streamed);
  }
}

TEST_CASE("pooling streams by bands of output rows bit-identically", "[tpu_network]") {
  const char* const net = R"(
kind: workload
name: pools
inputs:
  - {name: x, shape: [1, 8, 32, 32]}
layers:
  - {name: c, op: conv2d, out: 8, kernel: 3, pad: 1}
  - {name: r, op: relu}
  - {name: mp, op: max_pool, kernel: 3, stride: 2, pad: 1}
  - {name: ap, op: avg_pool, kernel: 3, stride: 1, pad: 1}
  - {name: ap2, op: avg_pool, kernel: 2, stride: 2}
outputs: [mp, ap, ap2]
)";
  Machine m(1 << 20);
  const auto w = test::parse_net(net);
  for (DType t : {DType::int8, DType::bf16}) {
    INFO(dtype_name(t));
    const uint64_t e = dtype_bytes(t);
    const auto small = m.with_ub(6144 * e);
    lowering::NetworkOptions lo;
    lo.dtype = t;
    const auto plan = lowering::lower_network(small, w, lo);
    // mp reads the streamed 32 x 32 x 8 e relu output band by band: output
    // row oh reads input rows [2 oh - 1, 2 oh + 1]: every input row at least
    // once, the halo rows twice.
    const auto& mp = layer(plan, "mp");
    CHECK(mp.blocks > 1);
    CHECK(mp.stream_in_bytes >= 32 * 32 * 8 * e);
    CHECK(test::has(mp.io, "streamed: "));

    std::vector<report::LayerResult> big_layers, small_layers;
    const auto big = m.run(m.cfg, w, t, big_layers);
    const auto streamed = m.run(small, w, t, small_layers);
    require_all_ok(big_layers);
    require_all_ok(small_layers);
    require_same_bits(big, streamed);
  }
}

TEST_CASE("VGG-16 lowers on tpu_v1 with block1.1.conv's im2col in blocks", "[tpu_network]") {
  const auto w = workload::load_workload(test::src("workloads/nets/vgg16.yaml"));
  const auto cfg = config::load_tpu_config(test::src("configs/accelerators/tpu_v1.yaml"));
  lowering::NetworkOptions lo;
  lo.dtype = DType::int8;
  const auto plan = lowering::lower_network(cfg, w, lo);
  // block1.1.conv: input and output 224 x 224 x 64 = 3211264 bytes each stay
  // resident; the 50176 x 576 im2col matrix (28901376 bytes) does not fit the
  // 18743296 bytes left, less the bias row (256): half, 9371520 bytes, would
  // hold 72 output rows of 224 x 576 = 129024 bytes; one accumulator half
  // (2048 GEMM rows) bounds a block to r = 2048 / 224 = 9 output rows;
  // blocks = ceil(224 / 9) = 25.
  const auto& c = layer(plan, "block1.1.conv");
  CHECK(c.blocks == 25);
  CHECK(c.block_rows == 9);
  CHECK(c.io == "im2col in 25 blocks of 9 output rows (double-buffered)");
  CHECK(c.im2col_bytes == 28901376);
  CHECK(c.stream_in_bytes + c.stream_out_bytes == 0);
}

TEST_CASE("a SCALE-Sim scale.cfg + MobileNetV2 topology pair lowers by streaming", "[tpu_network]") {
  const auto s = workload::scalesim::read_scale_config(test::src("workloads/scalesim/scale.cfg"));
  const auto cfg = experiment::tpu_config_from_scalesim(s);
  const auto w = workload::load_workload(test::src("workloads/scalesim/mobilenet_v2_block2.csv"));
  lowering::NetworkOptions lo;
  lo.dtype = DType::int8;
  const auto plan = lowering::lower_network(cfg, w, lo);
  // 128 KiB of UB (64 KiB ifmap + 64 KiB ofmap SRAM); Block2_0_expand reads a
  // 112 x 112 x 16 ifmap (200704 bytes, kept in host memory) and writes
  // 112 x 112 x 96 (1204224 bytes): both stream, 1x1 so A is the band.
  const auto& ex = layer(plan, "Block2_0_expand");
  CHECK(ex.output_on_host);
  CHECK(ex.stream_in_bytes == 200704);
  CHECK(ex.stream_out_bytes == 1204224);
  CHECK(ex.blocks > 1);
  // The depthwise layer streams too (one GEMM per channel and block).
  CHECK(layer(plan, "Block2_0_DP").stream_out_bytes == 56ull * 56 * 96);
}

TEST_CASE("a conv of which one output pixel cannot fit still fails naming the layer", "[tpu_network]") {
  // One output pixel has 8192 x 9 = 73728 bytes of im2col: more than
  // tpu_small's 64 KiB UB (a row of 1024 such pixels would be blocked).
  const char* const net = R"(
kind: workload
name: deep
inputs: [{name: x, shape: [1, 8192, 3, 3]}]
layers:
  - {name: deep, op: conv2d, out: 8, kernel: 3, pad: 1}
)";
  auto b = test::tpu_backend("tpu_small");
  std::string err;
  try {
    b->check_workload(test::parse_net(net), DType::int8);
  } catch (const lowering::LoweringError& e) {
    err = e.what();
  }
  CHECK(test::has(err, "layer 'deep' (conv2d)"));
  CHECK(test::has(err, "one output pixel needs"));
  CHECK(test::has(err, "cannot be tiled to fit"));
}

TEST_CASE("convs of which one output row cannot fit run in sub-row blocks bit-identically", "[tpu_network]") {
  // 64 output pixels a row, 72 (Cin x 3 x 3) im2col bytes each (int8): one
  // row's im2col alone (4608) exceeds a 3 KiB UB.
  const char* const net = R"(
kind: workload
name: subrow
inputs:
  - {name: x, shape: [1, 8, 8, 64]}
layers:
  - {name: c1, op: conv2d, out: 8, kernel: 3, pad: 1}
  - {name: r1, op: relu}
  - {name: c2, op: conv2d, out: 8, kernel: 3, stride: 2, pad: 1, input: r1}
  - {name: dw, op: conv2d, out: 8, kernel: 3, groups: 8, pad: 1, input: r1}
  - {name: pw, op: conv2d, out: 16, kernel: 1, input: r1}
outputs: [r1, c2, dw, pw]
)";
  // One row's im2col (8 x 576 e) does not fit beside the resident input
  // (2 x 8 x 64 e) and output: sub-row blocks of a resident input.
  const char* const deep_net = R"(
kind: workload
name: deep
inputs:
  - {name: x, shape: [1, 64, 2, 8]}
layers:
  - {name: deep, op: conv2d, out: 8, kernel: 3, pad: 1}
)";
  Machine m(1 << 20);
  const auto w = test::parse_net(net);
  for (DType t : {DType::int8, DType::bf16}) {
    INFO(dtype_name(t));
    const uint64_t e = dtype_bytes(t);
    const auto small = m.with_ub(3072 * e);
    lowering::NetworkOptions lo;
    lo.dtype = t;
    const auto plan = lowering::lower_network(small, w, lo);
    // c1: x and r1 (8 x 64 x 8 e = 4096 e each) cannot be resident; one
    // output row (im2col 4608 e) fits in no mode, so pixels: both stream. A
    // block of c pixels: im2col 72 e c, a band of 3 input rows of c + 2
    // pixels (24 e (c + 2)) and 8 e c output bytes, each 64-byte aligned;
    // the bias row (64 bytes) leaves 3008 (bf16 6080), half per buffer:
    // 1504 (3040): int8 c = 13 (960 + 384 + 128 = 1472; 14: 1024 + 384 +
    // 128 = 1536), bf16 c = 13 too (1920 + 768 + 256 = 2944; 14: 2048 + 768
    // + 256 = 3072), below the accumulator half (32 rows): 8 output rows of
    // ceil(64 / 13) = 5 blocks, 40 blocks.
    const auto& c1 = layer(plan, "c1");
    INFO(c1.io);
    CHECK(c1.blocks == 40);
    CHECK(c1.block_rows == 1);
    CHECK(c1.block_cols == 13);
    CHECK(c1.io.rfind("streamed: 40 blocks of 13 output pixels (double-buffered)", 0) == 0);
    CHECK(c1.im2col_bytes == 512 * 72 * e);  // every Toeplitz row once
    CHECK(c1.stream_out_bytes == 4096 * e);
    CHECK(c1.gemms.size() == 40);
    for (const char* name : {"c2", "dw"}) {
      INFO(name << ": " << layer(plan, name).io);
      CHECK(layer(plan, name).block_cols > 0);  // sub-row blocks too (depthwise: 8 GEMMs per block)
    }
    std::vector<report::LayerResult> big_layers, small_layers;
    const auto big = m.run(m.cfg, w, t, big_layers);
    const auto streamed = m.run(small, w, t, small_layers);
    require_all_ok(big_layers);
    require_all_ok(small_layers);
    REQUIRE(big.size() == 4);
    require_same_bits(big, streamed);

    const auto w2 = test::parse_net(deep_net);
    const auto plan2 = lowering::lower_network(small, w2, lo);
    const auto& deep = layer(plan2, "deep");
    INFO(deep.io);
    CHECK(deep.block_cols > 0);
    CHECK(test::has(deep.io, "im2col in "));
    CHECK(deep.stream_in_bytes + deep.stream_out_bytes == 0);
    const auto big2 = m.run(m.cfg, w2, t, big_layers);
    const auto sub2 = m.run(small, w2, t, small_layers);
    require_all_ok(big_layers);
    require_all_ok(small_layers);
    REQUIRE(big2.size() == 1);
    require_same_bits(big2, sub2);
  }
}

TEST_CASE("pooling softmax layernorm transpose and concat stream by rows bit-identically", "[tpu_network]") {
  const char* const net = R"(
kind: workload
name: rows
inputs:
  - {name: x, shape: [1, 16, 16, 16]}
  - {name: y, shape: [64, 64]}
  - {name: z, shape: [4, 32, 32]}
layers:
  - {name: c, op: conv2d, out: 16, kernel: 1, input: x}
  - {name: gap, op: global_avg_pool, input: c}
  - {name: cat, op: concat, input: [c, x], axis: 1}
  - {name: sm, op: softmax, input: y, axis: -1}
  - {name: ln, op: layernorm, input: y, axis: -1}
  - {name: tr, op: transpose, input: z, perm: [1, 0, 2]}
  - {name: trl, op: transpose, input: z, perm: [0, 2, 1]}
outputs: [gap, cat, sm, ln, tr, trl]
)";
  Machine m(1 << 20);
  const auto w = test::parse_net(net);
  for (DType t : {DType::int8, DType::bf16}) {
    INFO(dtype_name(t));
    const uint64_t e = dtype_bytes(t);
    // Every operand is 4096 e bytes: more than the 3 KiB (bf16 6 KiB) UB.
    const auto small = m.with_ub(3072 * e);
    lowering::NetworkOptions lo;
    lo.dtype = t;
    const auto plan = lowering::lower_network(small, w, lo);
    for (const char* name : {"gap", "cat", "sm", "ln", "tr", "trl"}) {
      INFO(name << ": " << layer(plan, name).io);
      CHECK(test::has(layer(plan, name).io, "streamed: "));
      CHECK(layer(plan, name).blocks > 1);
    }
    // The pooled input is read once, the concat's 8192 e output written once.
    CHECK(layer(plan, "gap").stream_in_bytes == 4096 * e);
    CHECK(layer(plan, "cat").stream_out_bytes == 8192 * e);
    const auto big_plan = lowering::lower_network(m.cfg, w, lo);
    for (const char* name : {"gap", "cat", "sm", "ln", "tr", "trl"}) CHECK(layer(big_plan, name).blocks == 0);

    std::vector<report::LayerResult> big_layers, small_layers;
    const auto big = m.run(m.cfg, w, t, big_layers);
    const auto streamed = m.run(small, w, t, small_layers);
    require_all_ok(big_layers);
    require_all_ok(small_layers);
    REQUIRE(big.size() == 6);
    require_same_bits(big, streamed);
  }
}

TEST_CASE("attention matmuls of two activations stream batch by batch bit-identically", "[tpu_network]") {
  const char* const net = R"(
kind: workload
name: attn
inputs:
  - {name: q, shape: [1, 4, 32, 16]}
  - {name: k, shape: [1, 4, 16, 32]}
  - {name: v, shape: [1, 4, 32, 16]}
layers:
  - {name: scores, op: matmul, input: [q, k]}
  - {name: probs, op: softmax, axis: -1}
  - {name: context, op: matmul, input: [probs, v]}
)";
  Machine m(1 << 20);
  const auto w = test::parse_net(net);
  for (DType t : {DType::int8, DType::bf16}) {
    INFO(dtype_name(t));
    const uint64_t e = dtype_bytes(t);
    // scores: q and k (2048 e each) and the 4 x 32 x 32 e output exceed a
    // 3 KiB (bf16 6 KiB) UB; per head B (512 e), A (512 e) and C (1024 e)
    // fit: 4 batches, each B through host memory into weight DRAM.
    const auto small = m.with_ub(3072 * e);
    lowering::NetworkOptions lo;
    lo.dtype = t;
    const auto plan = lowering::lower_network(small, w, lo);
    for (const char* name : {"scores", "context"}) {
      const auto& l = layer(plan, name);
      INFO(name << ": " << l.io);
      CHECK(l.blocks == 4);
      CHECK(l.output_on_host);
      CHECK(l.gemms.size() == 4);
    }
    CHECK(layer(plan, "scores").stream_out_bytes == 4096 * e);
    CHECK(layer(plan, "scores").weight_path_bytes == 2048 * e);
    CHECK(test::has(layer(plan, "probs").io, "streamed: "));

    std::vector<report::LayerResult> big_layers, small_layers;
    const auto big = m.run(m.cfg, w, t, big_layers);
    const auto streamed = m.run(small, w, t, small_layers);
    require_all_ok(big_layers);
    require_all_ok(small_layers);
    for (const auto& l : small_layers)
      if (l.name == "scores" || l.name == "context") CHECK(test::has(l.verified(), "gemm bit-exact (4)"));
    REQUIRE(big.size() == 1);
    require_same_bits(big, streamed);
  }
}

TEST_CASE("ResNet-50 lowers on tpu_small by streaming", "[tpu_network]") {
  const auto w = workload::load_workload(test::src("workloads/nets/resnet50.yaml"));
  const auto cfg = config::load_tpu_config(test::src("configs/accelerators/tpu_small.yaml"));
  lowering::NetworkOptions lo;
  lo.dtype = DType::int8;
  const auto plan = lowering::lower_network(cfg, w, lo);
  // avgpool reads layer4.2.relu3 (7 x 7 x 2048 = 100352 bytes) in bands.
  const auto& gap = layer(plan, "avgpool");
  CHECK(test::has(gap.io, "streamed: "));
  CHECK(gap.stream_in_bytes == 100352);
}
