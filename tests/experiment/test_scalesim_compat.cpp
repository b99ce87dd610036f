// The SCALE-Sim compatibility profile (sim/experiment/scalesim_compat.h):
// `xpusim run --compat scalesim` must report SCALE-Sim v2's Total Cycles for
// every layer.
//
// How SCALE-Sim v2 counts (scalesim/compute/systolic_compute_{ws,os,is}.py,
// scalesim/memory/double_buffered_scratchpad_mem.py; read, not copied):
// each fold is a block of "lines" (one line = one cycle) of the operand
// demand matrices; folds are concatenated without overlap; with
// InterfaceBandwidth CALC the read buffers never stall
// (read_buffer_estimate_bw.py) and the ofmap write buffer drains C words per
// cycle, faster than the array writes, so no line stalls; Total Cycles is
// the cycle stamped on the last ofmap line, i.e. lines - 1 (the index of the
// last cycle). For an R x C array and a layer with operand matrices
// M x K (ifmap, M = ofmap pixels, K = window x channels) and K x N (filters):
//   WS: folds ceil(K/R) * ceil(N/C), lines per fold
//       R (weights shifted in) + M (vectors) + (C - 1) (drain) + (R - 1)
//       (skew) = 2R + C + M - 2
//   IS: folds ceil(K/R) * ceil(M/C), 2R + C + N - 2 (WS with M <-> N)
//   OS: folds ceil(M/R) * ceil(N/C), K + (R - 1) + (C - 1) = K + R + C - 2
//   Total Cycles = folds * lines per fold - 1.
// Conv layers use SCALE-Sim's ofmap size ceil((H - Fh + S) / S) (no padding).
// Cross-check with SCALE-Sim's own output: a published SCALE-Sim v2 run of a
// 256x256 WS array (CALC) on GPT-2's GEMMs (github.com/HyakunosukeOgata/
// SCALE_sim_v2_notes) reports QKT 7159, QKTV 7159, Linear1 238069, Linear2
// 87709, PW-FF-L1 150359, with 0 stall cycles -- the formula's numbers.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "common.h"

namespace {

const std::string kDir = std::string(XPUSIM_SOURCE_DIR) + "/workloads/scalesim/";

// One CSV line; a quoted field may hold commas ("" is a quote).
std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> f(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      f.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      f.emplace_back();
    } else {
      f.back() += c;
    }
  }
  return f;
}

// layers.csv.
struct Csv {
  std::vector<std::string> head;
  std::vector<std::vector<std::string>> rows;
  size_t col(const std::string& name) const {
    for (size_t i = 0; i < head.size(); ++i)
      if (head[i] == name) return i;
    FAIL("no column " << name);
    return 0;
  }
};
Csv read_csv(const std::string& path) {
  std::ifstream in(path);
  Csv c;
  std::string line;
  std::getline(in, line);
  c.head = split(line);
  while (std::getline(in, line)) c.rows.push_back(split(line));
  return c;
}

// Runs SCALE-Sim's default cfg (32x32 OS, workloads/scalesim/scale.cfg) with
// the given dataflow and array and returns layer -> cycles.
std::map<std::string, uint64_t> run(const std::string& topology, const std::string& df, int rows, int cols,
                                    const std::string& extra = "") {
  const std::string out = xt::temp_dir();
  const auto r = xt::xpusim("run -q --compat scalesim --scalesim-cfg " + kDir + "scale.cfg --topology " + kDir +
                            topology + " -p architecture_presets.Dataflow=" + df +
                            " -p architecture_presets.ArrayHeight=" + std::to_string(rows) +
                            " -p architecture_presets.ArrayWidth=" + std::to_string(cols) + " -o " + out + " --force " +
                            extra);
  INFO(r.out);
  REQUIRE(r.code == 0);
  const Csv t = read_csv(out + "/layers.csv");
  std::map<std::string, uint64_t> got;
  for (const auto& f : t.rows) {
    got[f.at(t.col("layer"))] = std::stoull(f.at(t.col("cycles")));
    // Values are computed at tile/pe fidelity: every GEMM must be bit-exact.
    if (!extra.empty()) CHECK(f.at(t.col("verified")) == "bit-exact");
  }
  return got;
}

uint64_t cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// SCALE-Sim v2's Total Cycles (the derivation above).
uint64_t scalesim_total(const std::string& df, uint64_t R, uint64_t C, uint64_t M, uint64_t N, uint64_t K) {
  if (df == "ws") return cdiv(K, R) * cdiv(N, C) * (2 * R + C + M - 2) - 1;
  if (df == "is") return cdiv(K, R) * cdiv(M, C) * (2 * R + C + N - 2) - 1;
  return cdiv(M, R) * cdiv(N, C) * (K + R + C - 2) - 1;
}

struct Gemm {
  std::string name;
  uint64_t m, n, k;
};
// Operand matrices of the bundled topologies (SCALE-Sim's ofmap rule).
const std::vector<Gemm> kAlexnet = {{"Conv1", 55 * 55, 96, 11 * 11 * 3},
                                    {"Conv2", 23 * 23, 256, 5 * 5 * 96},
                                    {"Conv3", 11 * 11, 384, 3 * 3 * 256},
                                    {"Conv4", 11 * 11, 384, 3 * 3 * 384},
                                    {"Conv5", 11 * 11, 256, 3 * 3 * 384}};
const std::vector<Gemm> kYolo = {{"Conv1", 414 * 414, 4, 27},     {"Conv2", 206 * 206, 32, 144},
                                 {"Conv3", 102 * 102, 64, 288},   {"Conv4", 50 * 50, 128, 576},
                                 {"Conv5", 24 * 24, 256, 1152},   {"Conv6", 11 * 11, 512, 2304},
                                 {"Conv7", 9 * 9, 1024, 4608},    {"Conv8", 7 * 7, 1024, 9216},
                                 {"Conv9", 7 * 7, 125, 1024}};
const std::vector<Gemm> kGpt2 = {{"QKT", 1024, 1024, 64},        {"QKTV", 1024, 64, 1024},
                                 {"Linear1", 1024, 4800, 1600},  {"Linear2", 1024, 1600, 1600},
                                 {"PW-FF-L1", 1024, 3072, 1600}, {"PW-FF-L2", 1024, 1600, 3072}};
const std::vector<Gemm> kRagged = {{"tiny", 1, 1, 1},          {"ragged_a", 37, 45, 70},
                                   {"ragged_b", 300, 33, 257}, {"ragged_c", 129, 300, 31},
                                   {"tall_k", 5, 7, 1000}};

void check_all(const std::string& topology, const std::vector<Gemm>& layers, const std::string& df, int R, int C) {
  const auto got = run(topology, df, R, C);
  REQUIRE(got.size() == layers.size());
  for (const auto& g : layers) {
    INFO(topology << " " << df << " " << R << "x" << C << " " << g.name << " M=" << g.m << " N=" << g.n
                  << " K=" << g.k);
    CHECK(got.at(g.name) == scalesim_total(df, R, C, g.m, g.n, g.k));
  }
}

}  // namespace

TEST_CASE("scalesim compat: SCALE-Sim's GEMM example on its default 32x32 cfg, WS OS IS", "[scalesim][compat]") {
  // test_mnk_input.csv: M = 256, N = 128, K = 256 on 32x32.
  // WS: folds ceil(256/32) * ceil(128/32) = 8 * 4 = 32; lines 2*32 + 32 +
  //     256 - 2 = 350; 32 * 350 - 1 = 11199.
  CHECK(run("scalesim_v2/test_mnk_input.csv", "ws", 32, 32).at("Test 1") == 11199);
  // OS: folds ceil(256/32) * ceil(128/32) = 32; lines 256 + 32 + 32 - 2 = 318;
  //     32 * 318 - 1 = 10175.
  CHECK(run("scalesim_v2/test_mnk_input.csv", "os", 32, 32).at("Test 1") == 10175);
  // IS: folds ceil(256/32) * ceil(256/32) = 64; lines 2*32 + 32 + 128 - 2 =
  //     222; 64 * 222 - 1 = 14207.
  CHECK(run("scalesim_v2/test_mnk_input.csv", "is", 32, 32).at("Test 1") == 14207);
}

TEST_CASE("scalesim compat: GPT-2 GEMMs on 256x256 match a published SCALE-Sim run", "[scalesim][compat]") {
  const auto ws = run("scalesim_v2/gpt2.csv", "ws", 256, 256);
  // QKT 1024x1024x64: folds 1 * 4, lines 512 + 256 + 1024 - 2 = 1790:
  // 4 * 1790 - 1 = 7159 (SCALE-Sim's report: 7159).
  CHECK(ws.at("QKT") == 7159);
  CHECK(ws.at("QKTV") == 7159);  // folds 4 * 1 (K = 1024), same lines
  // Linear1 1024x4800x1600: folds 7 * 19 = 133; 133 * 1790 - 1 = 238069.
  CHECK(ws.at("Linear1") == 238069);
  CHECK(ws.at("Linear2") == 87709);    // folds 7 * 7 = 49: 49 * 1790 - 1
  CHECK(ws.at("PW-FF-L1") == 150359);  // folds 7 * 12 = 84: 84 * 1790 - 1
  check_all("scalesim_v2/gpt2.csv", kGpt2, "os", 256, 256);
  check_all("scalesim_v2/gpt2.csv", kGpt2, "is", 256, 256);
}

TEST_CASE("scalesim compat: SCALE-Sim's AlexNet and YOLO-tiny conv topologies, 32x32 and 256x256",
          "[scalesim][compat]") {
  // AlexNet Conv1 on 256x256 WS: 224x224, 11x11, stride 4 -> ofmap
  // ceil((224 - 11 + 4) / 4) = 55, M = 3025; K = 363, N = 96: folds 2 * 1,
  // lines 512 + 256 + 3025 - 2 = 3791: 2 * 3791 - 1 = 7581.
  CHECK(run("scalesim_v2/alexnet.csv", "ws", 256, 256).at("Conv1") == 7581);
  // OS 32x32, Conv1: folds ceil(3025/32) * ceil(96/32) = 95 * 3 = 285,
  // lines 363 + 62 = 425: 285 * 425 - 1 = 121124.
  CHECK(run("scalesim_v2/alexnet.csv", "os", 32, 32).at("Conv1") == 121124);
  for (const char* df : {"ws", "os", "is"})
    for (int a : {32, 256}) {
      check_all("scalesim_v2/alexnet.csv", kAlexnet, df, a, a);
      check_all("scalesim_v2/yolo_tiny.csv", kYolo, df, a, a);
    }
  // Wider than tall and taller than wide, every dataflow.
  for (const char* df : {"ws", "os", "is"})
    for (auto rc : {std::pair<int, int>{32, 128}, {128, 32}}) {
      check_all("scalesim_v2/alexnet.csv", kAlexnet, df, rc.first, rc.second);
      check_all("scalesim_v2/gpt2.csv", kGpt2, df, rc.first, rc.second);
    }
}

TEST_CASE("scalesim compat: ragged shapes, square and rectangular arrays", "[scalesim][compat]") {
  // N, K and M not multiples of the array; K > R with a short last chunk.
  // ragged_a 37x45x70 on 32x32 WS: folds 3 * 2 = 6, lines 64 + 32 + 37 - 2
  // = 131: 6 * 131 - 1 = 785 (the second N tile has 13 columns, and still
  // drains over all 32).
  CHECK(run("scalesim_v2/ragged.csv", "ws", 32, 32).at("ragged_a") == 785);
  for (const char* df : {"ws", "os", "is"})
    for (int a : {8, 32, 256}) check_all("scalesim_v2/ragged.csv", kRagged, df, a, a);
  // Rectangular arrays, every dataflow both ways round. OS on 16x64 (C >
  // R): the edge buffer takes a new K chunk's tile every R = 16 cycles while
  // the switch flag needs C = 64 cycles to cross the top edge; the skewed
  // latch (mxu_array.h) lets each column take the next tile right behind
  // the flag, so the chunks stream back to back. ragged_c 129x300x31 on
  // 16x64 OS: folds ceil(129/16) * ceil(300/64) = 9 * 5 = 45, lines 31 + 16
  // + 64 - 2 = 109: 45 * 109 - 1 = 4904. IS on 64x16 (R > C), tall_k
  // 5x7x1000: folds ceil(1000/64) * ceil(5/16) = 16, lines 128 + 16 + 7 - 2
  // = 149: 16 * 149 - 1 = 2383.
  CHECK(run("scalesim_v2/ragged.csv", "os", 16, 64).at("ragged_c") == 4904);
  CHECK(run("scalesim_v2/ragged.csv", "is", 64, 16).at("tall_k") == 2383);
  for (const char* df : {"ws", "os", "is"})
    for (auto rc : {std::pair<int, int>{16, 64}, {64, 16}, {8, 32}, {32, 8}})
      check_all("scalesim_v2/ragged.csv", kRagged, df, rc.first, rc.second);
  // The same numbers with values computed (tile fidelity; PE fidelity runs
  // the same schedule): the input-major IS order and the whole-K OS chains
  // stay bit-exact. ragged_b 300x33x257 on 8x8 IS: folds ceil(257/8) *
  // ceil(300/8) = 33 * 38 = 1254, lines 16 + 8 + 33 - 2 = 55: 68969.
  CHECK(run("scalesim_v2/ragged.csv", "is", 8, 8, "--fidelity tile").at("ragged_b") == 68969);
  const auto os = run("scalesim_v2/ragged.csv", "os", 8, 8, "--fidelity pe");
  for (const auto& g : kRagged) CHECK(os.at(g.name) == scalesim_total("os", 8, 8, g.m, g.n, g.k));
  // The skewed edge-buffer latch with values: every PE stepped on an array
  // wider than tall (OS) and the tile engine on one taller than wide (IS).
  const auto wide = run("scalesim_v2/ragged.csv", "os", 8, 32, "--fidelity pe");
  for (const auto& g : kRagged) CHECK(wide.at(g.name) == scalesim_total("os", 8, 32, g.m, g.n, g.k));
  const auto tall = run("scalesim_v2/ragged.csv", "is", 32, 8, "--fidelity tile");
  for (const auto& g : kRagged) CHECK(tall.at(g.name) == scalesim_total("is", 32, 8, g.m, g.n, g.k));
}

TEST_CASE("scalesim compat in an experiment (compat: scalesim) and its limits", "[scalesim][compat]") {
  const std::string dir = xt::temp_dir();
  // tpu_v1 (256x256 WS) on the GEMM example: folds 1 * 1, lines 512 + 256 +
  // 256 - 2 = 1022: 1021.
  xt::write(dir + "/exp.yaml", "kind: experiment\nname: compat\nenergy: " + std::string(XPUSIM_SOURCE_DIR) +
                                   "/configs/energy/horowitz_45nm.yaml\naccelerators: [" + std::string(XPUSIM_SOURCE_DIR) +
                                   "/configs/accelerators/tpu_v1.yaml]\nworkloads: [" + kDir +
                                   "scalesim_v2/test_mnk_input.csv]\nprecisions: [int8]\nfidelity: timing\n"
                                   "compat: scalesim\n");
  auto r = xt::xpusim("run -q " + dir + "/exp.yaml -o " + dir + "/out --force");
  INFO(r.out);
  REQUIRE(r.code == 0);
  std::ifstream in(dir + "/out/layers.csv");
  std::stringstream all;
  all << in.rdbuf();
  CHECK(all.str().find(",1021,") != std::string::npos);
  // --compat goes with --scalesim-cfg only.
  r = xt::xpusim("run --compat scalesim " + dir + "/exp.yaml");
  CHECK(r.code != 0);
}

TEST_CASE("scalesim --explain: a waterfall from SCALE-Sim's cycles to the realistic run", "[scalesim][explain]") {
  const std::string out = xt::temp_dir();
  const auto r = xt::xpusim("run -q --explain --scalesim-cfg " + kDir + "scale.cfg --topology " + kDir +
                            "scalesim_v2/test_mnk_input.csv -p architecture_presets.Dataflow=ws -o " + out +
                            " --force");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const Csv t = read_csv(out + "/layers.csv");
  std::vector<size_t> steps;
  for (size_t i = 0; i < t.head.size(); ++i)
    if (t.head[i].rfind("waterfall: ", 0) == 0) steps.push_back(i);
  const size_t cycles = t.col("cycles");
  // Compat, whole program, drain width, fold overlap, accumulators, DRAM,
  // im2col, UB capacity, vector unit and ports, host = realistic.
  REQUIRE(steps.size() == 10);
  CHECK(t.head[steps.front()] == "waterfall: SCALE-Sim Total Cycles");
  CHECK(t.head[steps.back()] == "waterfall: realistic");
  bool found = false;
  for (const auto& f : t.rows) {
    if (f.at(t.col("layer")) != "Test 1") continue;
    found = true;
    // Step 0 is the compat number (11199, derived above); the last step is
    // the run itself; every step of this one-GEMM layer ran it.
    CHECK(f.at(steps.front()) == "11199");
    CHECK(f.at(steps.back()) == f.at(cycles));
    for (size_t i : steps) CHECK(std::stoull(f.at(i)) > 0);
  }
  CHECK(found);
  std::ifstream html(out + "/report.html");
  std::stringstream h;
  h << html.rdbuf();
  CHECK_THAT(h.str(), Catch::Contains("Waterfall"));
}

TEST_CASE("scalesim compat: depthwise (DP) layers split per channel as SCALE-Sim does", "[scalesim][compat]") {
  // SCALE-Sim's topology reader turns a layer whose name contains "DP" into
  // one layer per channel, <name>Channel_<i>, each with Channels = 1
  // (topology_utils.py). mobilenet_v2_block2.csv on scale.cfg (32x32):
  // Block2_0_DP 113x113, 3x3, 96 channels, 1 filter, stride 2: ofmap
  // ceil((113 - 3 + 2) / 2) = 56, M = 3136, K = 9, N = 1. Block2_1_DP
  // 58x58, stride 1: ofmap 56, the same GEMM, 144 channels.
  //   OS: folds ceil(3136/32) * 1 = 98, lines 9 + 32 + 32 - 2 = 71:
  //       98 * 71 - 1 = 6957.
  //   WS: folds ceil(9/32) * 1 = 1, lines 64 + 32 + 3136 - 2 = 3230: 3229.
  //   IS: folds 1 * ceil(3136/32) = 98, lines 64 + 32 + 1 - 2 = 95: 9309.
  const std::map<std::string, uint64_t> want = {{"os", 6957}, {"ws", 3229}, {"is", 9309}};
  for (const auto& [df, each] : want) {
    const auto got = run("mobilenet_v2_block2.csv", df, 32, 32);
    // 4 pointwise layers + 96 + 144 channel layers.
    REQUIRE(got.size() == 4 + 96 + 144);
    for (int i = 0; i < 96; ++i) CHECK(got.at("Block2_0_DPChannel_" + std::to_string(i)) == each);
    for (int i = 0; i < 144; ++i) CHECK(got.at("Block2_1_DPChannel_" + std::to_string(i)) == each);
    // Block2_0_expand: 112x112 1x1, 16 -> 96: M = 12544, K = 16, N = 96.
    CHECK(got.at("Block2_0_expand") == scalesim_total(df, 32, 32, 12544, 96, 16));
  }
}

TEST_CASE("explain (--explain) on an experiment file: a waterfall per accelerator, workload and layer", "[scalesim][explain]") {
  // LeNet-5 (convs, pools, FCs) and a SCALE-Sim topology with depthwise
  // layers on tpu_v1 and on a 32x32 output-stationary TPU, run once with
  // --explain and once with compat: scalesim. Every layer's first step must
  // be its compat cycles (a depthwise layer's: the sum of its per-channel
  // layers), its last the realistic run's cycles.
  const std::string src = XPUSIM_SOURCE_DIR;
  const std::string dir = xt::temp_dir();
  const std::string head = "kind: experiment\nname: explain\nenergy: " + src +
                           "/configs/energy/horowitz_45nm.yaml\nfidelity: timing\naccelerators: [" + src +
                           "/configs/accelerators/tpu_v1.yaml, {file: " + src +
                           "/configs/accelerators/tpu_v1.yaml, name: os32, set: {mxu.dataflow: os, mxu.rows: 32, "
                           "mxu.cols: 32, mxu.weight_load_cycles: 32}}]\nworkloads: [" + src +
                           "/workloads/nets/lenet5.yaml, " + kDir + "mobilenet_v2_block2.csv]\nprecisions: [int8]\n";
  xt::write(dir + "/exp.yaml", head);
  xt::write(dir + "/compat.yaml", head + "compat: scalesim\n");
  auto r = xt::xpusim("run -q --explain " + dir + "/exp.yaml -o " + dir + "/out --force");
  INFO(r.out);
  REQUIRE(r.code == 0);
  r = xt::xpusim("run -q " + dir + "/compat.yaml -o " + dir + "/compat --force");
  REQUIRE(r.code == 0);
  // compat cycles by accelerator, workload, layer
  std::map<std::string, uint64_t> compat;
  const Csv c = read_csv(dir + "/compat/layers.csv");
  for (const auto& f : c.rows) {
    std::string layer = f.at(c.col("layer"));
    const auto ch = layer.find("Channel_");
    if (ch != std::string::npos) layer = layer.substr(0, ch);
    compat[f.at(c.col("accelerator")) + "/" + f.at(c.col("workload")) + "/" + layer] +=
        std::stoull(f.at(c.col("cycles")));
  }
  const Csv t = read_csv(dir + "/out/layers.csv");
  std::vector<size_t> steps;
  for (size_t i = 0; i < t.head.size(); ++i)
    if (t.head[i].rfind("waterfall: ", 0) == 0) steps.push_back(i);
  REQUIRE(steps.size() == 10);
  std::map<std::string, int> rows;
  size_t checked = 0;
  for (const auto& f : t.rows) {
    const std::string key = f.at(t.col("accelerator")) + "/" + f.at(t.col("workload")) + "/" + f.at(t.col("layer"));
    INFO(key);
    ++rows[f.at(t.col("accelerator")) + "/" + f.at(t.col("workload"))];
    CHECK(f.at(steps.back()) == f.at(t.col("cycles")));
    const auto it = compat.find(key);
    if (it == compat.end()) {
      CHECK(f.at(steps.front()) == "0");  // no GEMM view (pooling, stage_in, ...)
      continue;
    }
    CHECK(std::stoull(f.at(steps.front())) == it->second);
    ++checked;
  }
  // Two accelerators x two workloads, realistic runs only.
  CHECK(rows.size() == 4);
  // LeNet-5's 5 GEMM layers and the block's 6 layers, on both accelerators.
  CHECK(checked == 2 * (5 + 6));
  // A GPU in an explained experiment is an error naming its kind.
  xt::write(dir + "/gpu.yaml", "kind: experiment\nname: g\nenergy: " + src +
                                   "/configs/energy/horowitz_45nm.yaml\naccelerators: [" + src +
                                   "/configs/accelerators/v100.yaml]\nworkloads: [" + src +
                                   "/workloads/nets/lenet5.yaml]\n");
  r = xt::xpusim("run -q --explain " + dir + "/gpu.yaml -o " + dir + "/gpu --force");
  CHECK(r.code == 1);
}
