// Report files: atomic writes, SHA-256 manifests, CSV/JSON shape.
#include <catch2/catch.hpp>

#include <algorithm>

#include <dirent.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "sim/report/atomic_file.h"
#include "sim/report/report_writer.h"
#include "sim/report/sha256.h"

using namespace xpu::report;

namespace {
std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
std::string temp_dir() {
  char tmpl[] = "/tmp/xpusim_report_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}
std::vector<std::string> list_dir(const std::string& d) {
  std::vector<std::string> out;
  DIR* dir = opendir(d.c_str());
  while (auto* e = readdir(dir))
    if (e->d_name[0] != '.') out.push_back(e->d_name);
  closedir(dir);
  return out;
}
}  // namespace

TEST_CASE("sha256 matches the FIPS 180-4 test vectors", "[report]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Two-block message (56 bytes forces a second padding block).
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("atomic write replaces the file and leaves no temporary behind", "[report]") {
  const std::string dir = temp_dir() + "/a/b";
  make_dirs(dir);
  write_atomically(dir + "/x.txt", "first");
  write_atomically(dir + "/x.txt", "second");
  CHECK(slurp(dir + "/x.txt") == "second");
  CHECK(list_dir(dir) == std::vector<std::string>{"x.txt"});
}

TEST_CASE("a file set renames every file into place at commit and leaves no temporary behind", "[report]") {
  const std::string dir = temp_dir();
  write_atomically(dir + "/b.txt", "old");
  {
    FileSet files(dir);
    files.add("a.txt", "alpha");
    files.add("b.txt", "beta");
    // Before the commit the targets are untouched: "a.txt" does not exist
    // and "b.txt" still holds its old content, next to 2 temporaries.
    CHECK(slurp(dir + "/b.txt") == "old");
    CHECK(list_dir(dir).size() == 3);
    const auto written = files.commit();
    CHECK(written == std::vector<std::string>{dir + "/a.txt", dir + "/b.txt"});
  }
  CHECK(slurp(dir + "/a.txt") == "alpha");
  CHECK(slurp(dir + "/b.txt") == "beta");
  auto names = list_dir(dir);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"a.txt", "b.txt"});
  // A set dropped without a commit (an error while writing a report)
  // removes its temporaries and changes nothing.
  {
    FileSet files(dir);
    files.add("c.txt", "gamma");
    files.add("a.txt", "changed");
  }
  names = list_dir(dir);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"a.txt", "b.txt"});
  CHECK(slurp(dir + "/a.txt") == "alpha");
}

TEST_CASE("atomic write into a missing directory fails with the path", "[report]") {
  try {
    write_atomically("/nonexistent_dir_xpusim/x.txt", "data");
    FAIL("expected an error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("/nonexistent_dir_xpusim/x.txt") != std::string::npos);
  }
}

TEST_CASE("reports: summary schema, tidy CSV with escaping, markdown totals", "[report]") {
  ExperimentResult r;
  r.name = "t";
  r.manifest = {{"xpusim_version", "0.1.0"}, {"git_revision", "abc"}};
  RunResult run;
  run.accelerator = "acc,1";  // needs CSV quoting
  run.workload = "w";
  run.precision = "int8";
  run.fidelity = "tile";
  run.clock_mhz = 1000;
  run.peak_macs_per_cycle = 4;
  LayerResult l;
  l.name = "l0";
  l.op = "gemm";
  l.shape = "2x2x2";
  l.io = "resident";
  l.macs = 8;
  l.cycles = 4;
  l.seconds = 4e-9;
  l.utilization = 0.5;  // 8 MACs / (4 per cycle x 4 cycles)
  l.verdict = xpu::report::Verdict::bit_exact;
  l.verdict_detail = "bit-exact";
  LayerResult reduce = l;
  reduce.op = "all_reduce [ring, 4 devices]";  // an op label with a comma: quoted too
  run.layers = {l, reduce};
  r.runs = {run};
  auto j = summary_json(r);
  CHECK(j["schema_version"] == kSummarySchemaVersion);
  CHECK(j["runs"][0]["totals"]["cycles"] == 8);  // 4 + 4
  CHECK(j["runs"][0]["totals"]["macs"] == 16);
  CHECK(j["runs"][0]["totals"]["utilization"] == Approx(0.5));  // 16 / (4 x 8)
  // 2 x 16 MACs over 8 ns = 4e9 FLOP/s = 0.004 TOPS.
  CHECK(j["runs"][0]["totals"]["tops"].get<double>() == Approx(0.004));
  const std::string csv = layers_csv(r);
  CHECK(csv.find("\"acc,1\"") != std::string::npos);
  CHECK(csv.find(",\"all_reduce [ring, 4 devices]\",") != std::string::npos);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);  // header + 2 layers
  const std::string dir = temp_dir();
  auto written = write_reports(r, dir);
  CHECK(written.size() == 5);  // summary.json, layers.csv, layer_energy.csv, report.md, report.html
  CHECK(slurp(dir + "/report.md").find("| l0 | 2x2x2 | resident | 8 | 4 |") != std::string::npos);
}

TEST_CASE("reports: typed verdicts and stall shares in summary.json, layers.csv and report.md", "[report]") {
  ExperimentResult r;
  r.name = "t";
  r.manifest = {{"xpusim_version", "0.1.0"}, {"git_revision", "abc"}};
  RunResult run;
  run.accelerator = "a";
  run.workload = "w";
  run.precision = "fp16";
  run.fidelity = "timing";
  run.clock_mhz = 1000;
  run.peak_macs_per_cycle = 4;
  LayerResult l;
  l.name = "l0";
  l.cycles = 400;
  l.stalls = {{"memory_dependency", 21.2}, {"idle", 0}};
  l.stall_cause = "memory_dependency";
  run.layers = {l};  // verdict unchecked: no values at timing fidelity
  r.runs = {run};
  const auto j = summary_json(r);
  const auto& lj = j["runs"][0]["layers"][0];
  CHECK(lj["verdict"] == "unchecked");
  CHECK(lj["verified"] == "values not computed (timing fidelity)");
  CHECK(lj["stall_share"]["memory_dependency"].get<double>() == Approx(0.053));  // 21.2 / 400
  CHECK(lj["stall_cycles"]["memory_dependency"].get<double>() == Approx(21.2));
  // verified, then k_loop_trips and reused_from (empty: no main loop sampled, no launch reused).
  CHECK(layers_csv(r).find(",values not computed (timing fidelity),,\n") != std::string::npos);
  CHECK(verdict_summary(r.runs[0]) == "values not computed (timing fidelity)");
  const std::string dir = temp_dir();
  write_reports(r, dir);
  CHECK(slurp(dir + "/report.md").find("memory_dependency (5.3 %)") != std::string::npos);
}
