// SCALE-Sim topology CSVs and .cfg files, read as SCALE-Sim v2 reads them
// (scalesim/topology_utils.py, scalesim/scale_config.py).
#include <catch2/catch.hpp>

#include "sim/workload/scalesim/scale_config.h"
#include "sim/workload/scalesim/topology.h"

using namespace xpu::workload;
using namespace xpu::workload::scalesim;

namespace {

const std::string kHeader =
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n";

std::string topo_error(const std::string& text) {
  try {
    parse_topology(text, "net.csv");
  } catch (const xpu::config::ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string cfg_error(const std::string& text) {
  try {
    parse_scale_config(text, "arch.cfg");
  } catch (const xpu::config::ConfigError& e) {
    return e.what();
  }
  return "";
}

const std::string kCfg = R"([general]
run_name = test_run

[architecture_presets]
ArrayHeight:    32
ArrayWidth:     16
IfmapSramSzkB:  64
FilterSramSzkB: 32
OfmapSramSzkB:  16
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Dataflow : os
Bandwidth : 10
MemoryBanks: 1

[run_presets]
InterfaceBandwidth: CALC
)";

}  // namespace

TEST_CASE("Conv rows: ofmap = (H - R) / stride + 1 without padding, MACs as SCALE-Sim counts them") {
  const Workload w = parse_topology(kHeader + "Conv1, 224, 224, 11, 11, 3, 96, 4,\n"
                                              "Conv2, 27, 31, 5, 3, 96, 256, 1, 2,\n",
                                    "alex.csv");
  REQUIRE(w.layers.size() == 2);
  const Layer& c1 = w.layers[0];
  // SCALE-Sim v2: ceil((224 - 11 + 4) / 4) = ceil(54.25) = 55 -- not the
  // floor form (224 - 11) / 4 + 1 = 54: the last window overhangs by
  // (55 - 1) * 4 + 11 - 224 = 3 rows and columns, which the IR pads.
  CHECK(c1.out_shape == Shape{1, 96, 55, 55});
  CHECK((c1.attrs.window.pad_bottom == 3 && c1.attrs.window.pad_right == 3 && c1.attrs.window.pad_top == 0));
  // SCALE-Sim: num_mac = ofmap_h * ofmap_w * filt_h * filt_w * num_ch * num_filt.
  CHECK(c1.macs() == 55ull * 55 * 11 * 11 * 3 * 96);
  // Its GEMM view is SCALE-Sim's MNK transform: M = ofmap pixels, N = filters, K = window.
  CHECK((c1.m == 55 * 55 && c1.n == 96 && c1.k == 11 * 11 * 3));
  // A ninth field is the stride along the width: H (27-5)/1+1 = 23, W (31-3)/2+1 = 15.
  CHECK(w.layers[1].out_shape == Shape{1, 256, 23, 15});
  CHECK(w.name == "alex");
  TopologyOptions floor;
  floor.rounding = OfmapRounding::floor;
  CHECK(parse_topology(kHeader + "Conv1, 224, 224, 11, 11, 3, 96, 4,\n", "a.csv", floor).layers[0].out_shape ==
        Shape{1, 96, 54, 54});
  CHECK(w.tensor("Conv1.ifmap").shape == Shape{1, 3, 224, 224});
}

TEST_CASE("Sr / Sc / T per dataflow follow SCALE-Sim's calc_spatio_temporal_params") {
  const Workload w = parse_topology(kHeader + "L, 10, 10, 3, 3, 4, 8, 1,\n", "t.csv");
  const Layer& l = w.layers[0];
  // ofmap 8x8 = 64 pixels, window 3*3*4 = 36, 8 filters.
  const auto os = spatio_temporal(l, Dataflow::os);
  CHECK((os.sr == 64 && os.sc == 8 && os.t == 36));
  const auto ws = spatio_temporal(l, Dataflow::ws);
  CHECK((ws.sr == 36 && ws.sc == 8 && ws.t == 64));
  const auto is = spatio_temporal(l, Dataflow::is);
  CHECK((is.sr == 36 && is.sc == 64 && is.t == 8));
}

TEST_CASE("A 'DP' layer is depthwise: one grouped conv equal to SCALE-Sim's per-channel layers") {
  const Workload w = parse_topology(kHeader + "Conv_DP1, 113, 113, 3, 3, 96, 1, 2,\n", "dw.csv");
  const Layer& l = w.layers[0];
  CHECK(l.attrs.groups == 96);
  CHECK(l.out_shape == Shape{1, 96, 56, 56});
  // SCALE-Sim runs 96 layers of 1 channel, 1 filter: each 56*56 x 1 x 9.
  CHECK((l.gemm_count == 96 && l.m == 56 * 56 && l.n == 1 && l.k == 9));
  CHECK(l.macs() == 96ull * 56 * 56 * 9);
  const auto ws = spatio_temporal(l, Dataflow::ws);
  CHECK((ws.count == 96 && ws.sr == 9 && ws.sc == 1 && ws.t == 56 * 56));
}

TEST_CASE("GEMM topologies: Layer, M, N, K") {
  const Workload w = parse_topology("Layer Name, M, N, K,\nTest 1, 256, 128, 64,\nTest 2, 8, 16, 32\n", "g.csv");
  REQUIRE(w.layers.size() == 2);
  CHECK(w.layers[0].name == "Test 1");
  // SCALE-Sim maps it to ifmap M x K, filter 1 x K, 1 channel, N filters: M*N*K MACs.
  CHECK((w.layers[0].m == 256 && w.layers[0].n == 128 && w.layers[0].k == 64));
  CHECK(w.layers[0].op == OpKind::gemm);
  CHECK(w.layers[1].macs() == 8 * 16 * 32);  // no trailing comma: accepted
  TopologyOptions opts;
  opts.batch = 4;
  CHECK(parse_topology("Layer, M, N, K,\nA, 2, 3, 5,\n", "g.csv", opts).layers[0].m == 8);
}

TEST_CASE("Malformed rows give file:line messages") {
  CHECK(topo_error(kHeader + "C, 8, 8, 3, 3, 4,\n") ==
        "net.csv:2: Num Filter: missing field 7 (Num Filter): a conv row has 8 fields (9 with a separate stride "
        "width), this one 6");
  CHECK(topo_error(kHeader + "C, 8, 8, x3, 3, 4, 4, 1,\n") ==
        "net.csv:2: Filter Height: field 4 (Filter Height) is \"x3\", not an integer");
  CHECK(topo_error(kHeader + "C, 8, 8, , 3, 4, 4, 1,\n") == "net.csv:2: Filter Height: field 4 (Filter Height) is empty");
  CHECK(topo_error(kHeader + "\n\nC, 8, 8, 3, 3, 4, 4, 1,,\n") ==
        "net.csv:4: Stride width: field 9 (Stride width) is empty");
  CHECK(topo_error(kHeader + "C, 8, 8, 3, 3, 4, 4, 1, 1, 1,\n") == "net.csv:2: too many fields: 10 (at most 9)");
  CHECK(topo_error(kHeader + "C, 4, 8, 5, 3, 4, 4, 1,\n") == "net.csv:2: Filter Height: Filter Height 5 > IFMAP Height 4");
  CHECK(topo_error(kHeader + "C, 8, 8, 3, 3, 0, 4, 1,\n") == "net.csv:2: Channels: Channels must be >= 1, got 0");
  CHECK(topo_error(kHeader + ", 8, 8, 3, 3, 4, 4, 1,\n") == "net.csv:2: Layer name: the layer name is empty");
  CHECK(topo_error(kHeader + "C, 8, 8, 3, 3, 4, 4, 1,\nC, 8, 8, 3, 3, 4, 4, 1,\n") ==
        "net.csv:3: Layer name: duplicate layer name 'C' (first at line 2)");
  CHECK(topo_error("C, 8, 8, 3, 3, 4, 4, 1,\n") ==
        "net.csv:1: the first line must be the header (SCALE-Sim skips it), but it holds numbers");
  CHECK(topo_error(kHeader) == "net.csv:1: no layers after the header");
  CHECK(topo_error("") == "net.csv: the file has no header and no layers");
  CHECK(topo_error("Layer, M, N, K,\nA, 2, 3,\n") ==
        "net.csv:2: K: missing field 4 (K): a gemm row has 4 fields, this one 3");
  // Blank lines are skipped as SCALE-Sim skips them; CRLF line ends are fine.
  CHECK(parse_topology(kHeader + "\r\n   \r\nC, 8, 8, 3, 3, 4, 4, 1,\r\n", "net.csv").layers.size() == 1);
}

TEST_CASE("Shipped SCALE-Sim topologies give the same MACs as the YAML networks") {
  const std::string dir = std::string(XPUSIM_SOURCE_DIR) + "/workloads/";
  // SCALE-Sim has no padding: the files hold the ifmap rows a padded conv
  // reads, (Ho - 1) * S + R (229 for ResNet's 7x7/2 stem, 227 for AlexNet's conv1).
  const Workload r18 = load_workload(dir + "scalesim/resnet18.csv");
  const Workload r18y = load_workload(dir + "nets/resnet18.yaml");
  CHECK(r18.layers.size() == 21);
  CHECK(r18.macs() == r18y.macs());  // 1,813,473,344: convs + fc, nothing else has MACs
  const Workload alex = load_workload(dir + "scalesim/alexnet.csv");
  CHECK(alex.macs() == load_workload(dir + "nets/alexnet.yaml").macs());
  const Workload mlp = load_workload(dir + "scalesim/mlp0_gemm.csv");
  CHECK(mlp.macs() == load_workload(dir + "nets/mlp0.yaml").macs());
  const Workload mb = load_workload(dir + "scalesim/mobilenet_v2_block2.csv");
  // expand 112^2*16*96, dw 56^2*96*9, project 56^2*96*24, then 56^2*24*144, 56^2*144*9, 56^2*144*24.
  CHECK(mb.macs() == 112ull * 112 * 16 * 96 + 56ull * 56 * 96 * 9 + 56ull * 56 * 96 * 24 + 56ull * 56 * 24 * 144 +
                         56ull * 56 * 144 * 9 + 56ull * 56 * 144 * 24);
  CHECK(load_workload(dir + "scalesim/resnet18.csv", {"batch=2"}).macs() == 2 * r18.macs());
}

TEST_CASE("SCALE-Sim .cfg files: keys, case-insensitivity, modes") {
  const ScaleSimConfig c = parse_scale_config(kCfg, "arch.cfg");
  CHECK(c.run_name == "test_run");
  CHECK((c.array_rows == 32 && c.array_cols == 16));
  CHECK((c.ifmap_sram_kb == 64 && c.filter_sram_kb == 32 && c.ofmap_sram_kb == 16));
  CHECK((c.ifmap_offset == 0 && c.filter_offset == 10000000 && c.ofmap_offset == 20000000));
  CHECK(c.dataflow == Dataflow::os);
  CHECK_FALSE(c.user_bandwidth);
  CHECK(c.bandwidth.empty());  // CALC: Bandwidth is not used ...
  CHECK(c.ignored == std::vector<std::string>{"architecture_presets.Bandwidth (InterfaceBandwidth is CALC)"});
  // configparser keys are case-insensitive; '=' and ':' both separate.
  std::string user = kCfg;
  user.replace(user.find("InterfaceBandwidth: CALC"), 24, "interfacebandwidth = USER");
  user.replace(user.find("Bandwidth : 10"), 14, "bandwidth=10,20");
  user.replace(user.find("MemoryBanks: 1"), 14, "MEMORYBANKS: 2");
  const ScaleSimConfig u = parse_scale_config(user, "arch.cfg");
  CHECK(u.user_bandwidth);
  CHECK(u.bandwidth == std::vector<uint64_t>{10, 20});
  CHECK(u.memory_banks == 2);
  const ScaleSimConfig shipped = read_scale_config(std::string(XPUSIM_SOURCE_DIR) + "/workloads/scalesim/tpu_v1.cfg");
  CHECK(shipped.run_name == "tpu_v1");  // quotes stripped
  CHECK((shipped.array_rows == 256 && shipped.dataflow == Dataflow::ws && shipped.bandwidth == std::vector<uint64_t>{48}));
  CHECK(read_scale_config(std::string(XPUSIM_SOURCE_DIR) + "/workloads/scalesim/scale.cfg").array_cols == 32);
  // SCALE-Sim v2 keys that xpusim does not model are listed, not errors.
  std::string extra = kCfg + "\n[sparsity]\nSparsitySupport : false\n";
  extra.replace(extra.find("MemoryBanks: 1"), 14, "MemoryBanks: 1\nOnChipMemoryBankPorts: 2");
  const ScaleSimConfig e = parse_scale_config(extra, "arch.cfg");
  CHECK(e.ignored.size() == 3);
}

TEST_CASE("Malformed .cfg files: every problem, with file:line and did-you-mean") {
  std::string bad = kCfg;
  bad.replace(bad.find("Dataflow : os"), 13, "Dataflow : wss");
  bad.replace(bad.find("ArrayWidth:     16"), 18, "ArrayWidth: 16 # cols");
  bad.replace(bad.find("OfmapSramSzkB:  16"), 18, "OfmapSramSzKb: 16\nOfmapSramSize: 8");
  const std::string e = cfg_error(bad);
  CHECK_THAT(e, Catch::Contains("arch.cfg:6: architecture_presets.ArrayWidth: expected an integer, got \"16 # cols\""));
  CHECK_THAT(e, Catch::Contains("arch.cfg:10: architecture_presets.OfmapSramSize: unknown key in [architecture_presets] (did you mean 'OfmapSramSzkB'?)"));
  CHECK_THAT(e, Catch::Contains("architecture_presets.Dataflow: expected os, ws or is, got \"wss\" (did you mean 'ws'?)"));
  CHECK_THAT(cfg_error("[general]\nrun_name = x\n"), Catch::Contains("architecture_presets.ArrayHeight: missing required key (no [architecture_presets] section)"));
  CHECK_THAT(cfg_error(kCfg + "[architecture_preset]\n"), Catch::Contains("unknown section [architecture_preset] (did you mean 'architecture_presets'?)"));
  CHECK_THAT(cfg_error(kCfg + "ArrayHeight: 8\n"), Catch::Contains("run_presets.ArrayHeight: unknown key in [run_presets]"));
  std::string dup = kCfg;
  dup.replace(dup.find("ArrayWidth:"), 11, "ArrayHeight: 4\nArrayWidth:");
  CHECK_THAT(cfg_error(dup), Catch::Contains("arch.cfg:6: architecture_presets.ArrayHeight: duplicate key (first at line 5)"));
  std::string user = kCfg;
  user.replace(user.find("InterfaceBandwidth: CALC"), 24, "InterfaceBandwidth: USER");
  user.replace(user.find("MemoryBanks: 1"), 14, "MemoryBanks: 2");
  CHECK_THAT(cfg_error(user), Catch::Contains("1 bandwidth(s) for 2 memory bank(s)"));
  CHECK_THAT(cfg_error("run_name = x\n"), Catch::Contains("arch.cfg:1: key outside any [section]"));
  CHECK_THAT(cfg_error("[general\n"), Catch::Contains("malformed section header"));
  CHECK_THAT(cfg_error("[general]\nrun_name\n"), Catch::Contains("expected \"Key: value\""));
  CHECK_THAT(cfg_error("[general]\nrun_name = a\n  continued\n"), Catch::Contains("continuation lines are not supported"));
  CHECK_THROWS_WITH(read_scale_config("no/such.cfg"), Catch::Contains("no/such.cfg: no such file"));
}
