// Sweeps end to end: resumable after SIGKILL with no point lost or run
// twice, identical results under mpirun, byte-identical reruns.
#include <cstdlib>
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <dirent.h>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/experiment/common.h"

using namespace xt;

namespace {

// Tiny GEMMs on the 8x8 test TPU; `grid` is the sweep section's body.
std::string sweep_file(const std::string& dir, const std::string& name, const std::string& grid) {
  write(dir + "/w.yaml", "kind: workload\nname: w\nlayers:\n  - {name: g, op: gemm, m: 24, n: 16, k: 16}\n");
  write(dir + "/" + name + ".yaml", "kind: sweep\nname: " + name + "\nenergy: " + kSrc +
                                        "/configs/energy/horowitz_45nm.yaml\naccelerators:\n  - " + kSrc +
                                        "/configs/accelerators/tpu_small.yaml\nworkloads:\n  - w.yaml\n"
                                        "precisions: [int8]\nsweep:\n" + grid);
  return dir + "/" + name + ".yaml";
}

std::set<std::string> result_ids(const std::string& dir) {
  std::set<std::string> ids;
  DIR* d = opendir((dir + "/points").c_str());
  if (!d) return ids;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) ids.insert(n.substr(0, n.size() - 5));
  }
  closedir(d);
  return ids;
}

pid_t spawn(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    freopen("/dev/null", "w", stdout);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// event -> id -> count, from points.log ("<time> <event> <index> <id> rank <r>").
std::map<std::string, std::map<std::string, int>> log_events(const std::string& dir) {
  std::map<std::string, std::map<std::string, int>> ev;
  std::istringstream in(slurp(dir + "/points.log"));
  std::string time, event, index, id, rank_word, rank;
  while (in >> time >> event >> index >> id >> rank_word >> rank) ev[event][id]++;
  return ev;
}

// 10 x 10 = 100 points whose timing differs (weight shift time) and whose
// values differ (seed).
const char* const k100 =
    "  grid:\n    mxu.weight_load_cycles: [8, 9, 10, 11, 12, 13, 14, 15, 16, 17]\n"
    "    experiment.seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n";

}  // namespace

TEST_CASE("a 100-point sweep killed with SIGKILL midway resumes to exactly 100 points", "[sweep]") {
  const std::string dir = temp_dir();
  const std::string file = sweep_file(dir, "s100", k100);
  const std::string out = dir + "/out";
  const pid_t pid = spawn({XPUSIM_BINARY, "sweep", file, "-j", "2", "-q", "-o", out});
  // Kill once a quarter of the points are done.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  while (result_ids(out).size() < 25 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(kill(pid, SIGKILL) == 0);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  // The workers die with the sweep (PDEATHSIG); give them a moment.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::set<std::string> before = result_ids(out);
  INFO("results before the kill: " << before.size());
  REQUIRE(before.size() >= 25);
  REQUIRE(before.size() < 100);  // really interrupted
  CHECK_FALSE(exists(out + "/summary.json"));
  // Nothing changes after the kill: no orphaned worker commits a result.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  CHECK(result_ids(out) == before);

  // Without --resume the directory is refused.
  auto again = xpusim("sweep " + file + " -j 2 -q -o " + out);
  CHECK(again.code == 1);
  CHECK_THAT(again.out, Catch::Contains("--resume"));

  auto resumed = xpusim("sweep " + file + " -j 2 -q --resume -o " + out);
  INFO(resumed.out);
  REQUIRE(resumed.code == 0);
  const auto after = result_ids(out);
  CHECK(after.size() == 100);
  auto j = nlohmann::json::parse(slurp(out + "/summary.json"));
  CHECK(j["schema"] == "xpusim.sweep");
  CHECK(j["point_count"] == 100);
  REQUIRE(j["points"].size() == 100);
  CHECK(j["failed"].empty());
  std::set<std::string> ids;
  for (const auto& p : j["points"]) {
    ids.insert(p["id"].get<std::string>());
    REQUIRE(p["runs"].size() == 1);
    CHECK(p["runs"][0]["totals"]["cycles"].get<double>() > 0);
  }
  CHECK(ids.size() == 100);
  CHECK(ids == after);
  // Run-twice check: the resume queued exactly the points without a result,
  // and no point finished twice.
  auto ev = log_events(out);
  for (const auto& id : ids) {
    INFO(id);
    // Every point was queued by the first run; only those without a result again.
    CHECK(ev["queued"][id] == (before.count(id) ? 1 : 2));
    CHECK(ev["done"][id] <= 1);
  }

  // The interrupted-and-resumed sweep equals an uninterrupted one, byte for byte.
  auto clean = xpusim("sweep " + file + " -j 2 -q -o " + dir + "/clean");
  REQUIRE(clean.code == 0);
  CHECK(slurp(dir + "/clean/summary.json") == slurp(out + "/summary.json"));
  CHECK(slurp(dir + "/clean/points.csv") == slurp(out + "/points.csv"));
}

TEST_CASE("a sweep under mpirun -np 2 gives the same results as the local run", "[sweep][mpi]") {
#ifndef XPUSIM_TEST_MPI
  WARN("xpusim was built without MPI (XPUSIM_WITH_MPI=OFF): the MPI sweep is not tested");
  return;
#else
  const std::string dir = temp_dir();
  const std::string file = sweep_file(dir, "smpi",
                                      "  grid:\n    mxu.weight_load_cycles: [8, 12, 16]\n"
                                      "  zip:\n    experiment.seed: [1, 2]\n    unified_buffer.read_bytes_per_cycle: [16, 32]\n");
  auto local = xpusim("sweep " + file + " -j 2 -q -o " + dir + "/local");
  INFO(local.out);
  REQUIRE(local.code == 0);
  // OpenMPI refuses to run as root unless told; CI containers often are root.
  const std::string root = geteuid() == 0 ? " --allow-run-as-root" : "";
  // Under AddressSanitizer (make test-sanitize): OpenMPI allocates from MCA
  // plugins it dlcloses before exit, and the frame-pointer unwinder stops in
  // them, so their leaks would show as "<unknown module>" that the OpenMPI
  // suppressions (tests/sanitizers/lsan.supp) cannot match. The slow unwinder
  // records the whole stack, through OpenMPI's own libraries.
  const char* asan = std::getenv("ASAN_OPTIONS");
  const std::string env = asan ? "ASAN_OPTIONS='" + std::string(asan) + ":fast_unwind_on_malloc=0' " : "";
  auto mpi = sh(env + "mpirun -np 2 --oversubscribe" + root + " " + std::string(XPUSIM_BINARY) + " sweep " + file +
                " -j 1 -q -o " + dir + "/mpi");
  INFO(mpi.out);
  REQUIRE(mpi.code == 0);
  auto j = nlohmann::json::parse(slurp(dir + "/mpi/summary.json"));
  CHECK(j["points"].size() == 6);
  CHECK(slurp(dir + "/mpi/summary.json") == slurp(dir + "/local/summary.json"));
  CHECK(slurp(dir + "/mpi/layers.csv") == slurp(dir + "/local/layers.csv"));
  // Both ranks ran points, each point once.
  auto ev = log_events(dir + "/mpi");
  std::istringstream in(slurp(dir + "/mpi/points.log"));
  std::set<std::string> ranks;
  std::string line;
  while (std::getline(in, line))
    if (line.find(" done ") != std::string::npos) ranks.insert(line.substr(line.rfind(' ') + 1));
  CHECK(ranks == std::set<std::string>{"0", "1"});
  CHECK(ev["done"].size() == 6);
  for (const auto& [id, n] : ev["done"]) CHECK(n == 1);
#endif
}

TEST_CASE("a point result is committed once: a second commit of the same point fails", "[sweep]") {
  const std::string dir = temp_dir();
  const std::string file = sweep_file(dir, "once", "  grid:\n    mxu.weight_load_cycles: [8, 9]\n");
  auto first = xpusim("sweep " + file + " -j 1 -q -o " + dir + "/out");
  REQUIRE(first.code == 0);
  auto j = nlohmann::json::parse(slurp(dir + "/out/summary.json"));
  const std::string id = j["points"][1]["id"];
  const std::string before = slurp(dir + "/out/points/" + id + ".json");
  auto twice = xpusim("sweep-point " + file + " --index 1 --id " + id + " --out " + dir + "/out/points/" + id + ".json");
  CHECK(twice.code == 2);
  CHECK_THAT(twice.out, Catch::Contains("ran twice"));
  CHECK(slurp(dir + "/out/points/" + id + ".json") == before);
  // A point id that does not match its index (the file changed) is refused.
  auto wrong = xpusim("sweep-point " + file + " --index 0 --id " + id + " --out " + dir + "/x.json");
  CHECK(wrong.code == 1);
}

TEST_CASE("resume refuses a sweep whose points or inputs changed", "[sweep]") {
  const std::string dir = temp_dir();
  std::string file = sweep_file(dir, "chg", "  grid:\n    mxu.weight_load_cycles: [8, 9]\n");
  REQUIRE(xpusim("sweep " + file + " -j 1 -q -o " + dir + "/out").code == 0);
  file = sweep_file(dir, "chg", "  grid:\n    mxu.weight_load_cycles: [8, 10]\n");
  auto r = xpusim("sweep " + file + " -j 1 -q --resume -o " + dir + "/out");
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("cannot resume"));
}

TEST_CASE("sweep grid x zip expansion with point ids and the Pareto front in summary.json", "[sweep]") {
  const std::string dir = temp_dir();
  const std::string file = sweep_file(dir, "gz",
                                      "  grid:\n    mxu.weight_load_cycles: [8, 64]\n"
                                      "  zip:\n    dram.bandwidth_gbps: [4, 16, 64]\n    dram.channels: [1, 2, 4]\n");
  auto r = xpusim("sweep " + file + " -j 2 -q -o " + dir + "/out");
  INFO(r.out);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(slurp(dir + "/out/summary.json"));
  REQUIRE(j["points"].size() == 6);  // 2 grid values x 3 zip tuples
  // First grid key slowest, zip tuples fastest.
  CHECK(j["points"][0]["params"]["mxu.weight_load_cycles"] == 8);
  CHECK(j["points"][0]["params"]["dram.bandwidth_gbps"] == 4);
  CHECK(j["points"][2]["params"]["dram.channels"] == 4);
  CHECK(j["points"][3]["params"]["mxu.weight_load_cycles"] == 64);
  // The override reached the model: more bandwidth never makes it slower.
  CHECK(j["points"][0]["runs"][0]["totals"]["cycles"].get<double>() >=
        j["points"][2]["runs"][0]["totals"]["cycles"].get<double>());
  // Pareto flags agree with a brute-force dominance check.
  REQUIRE(j["pareto"].size() == 1);
  size_t on_front = 0;
  for (const auto& p : j["points"]) {
    const auto& t = p["runs"][0]["totals"];
    bool dominated = false;
    for (const auto& q : j["points"]) {
      const auto& u = q["runs"][0]["totals"];
      const double ps = t["seconds"], pe = t["energy_pj"], qs = u["seconds"], qe = u["energy_pj"];
      if (qs <= ps && qe <= pe && (qs < ps || qe < pe)) dominated = true;
    }
    CHECK(p["runs"][0]["pareto"].get<bool>() == !dominated);
    on_front += !dominated;
  }
  CHECK(j["pareto"][0]["front"].size() == on_front);
  CHECK(on_front >= 1);
  const std::string html = slurp(dir + "/out/report.html");
  CHECK_THAT(html, Catch::Contains("Pareto front"));
  // Parameter columns in axis order (grid keys, then zip keys), values alike.
  const std::string pcsv = slurp(dir + "/out/points.csv");
  CHECK_THAT(pcsv, Catch::StartsWith("sweep,point_index,point_id,mxu.weight_load_cycles,dram.bandwidth_gbps,dram.channels,"));
  CHECK_THAT(pcsv, Catch::Contains("\ngz,1," + j["points"][1]["id"].get<std::string>() + ",8,16,2,tpu_small,"));
  CHECK(j["axes"]["zip"][1]["key"] == "dram.channels");
}

TEST_CASE("reruns of an experiment write byte-identical summary.json", "[sweep][determinism]") {
  const std::string dir = temp_dir();
  write(dir + "/w.yaml", "kind: workload\nname: w\nlayers:\n  - {name: a, op: gemm, m: 40, n: 24, k: 20}\n"
                         "  - {name: b, op: gemm, m: 16, n: 8, k: 33}\n");
  write(dir + "/e.yaml", "kind: experiment\nname: e\nenergy: " + kSrc + "/configs/energy/horowitz_45nm.yaml\n"
                         "accelerators:\n  - " + kSrc + "/configs/accelerators/tpu_small.yaml\n  - " + kSrc +
                         "/configs/accelerators/gpu_small.yaml\nworkloads:\n  - w.yaml\nprecisions: [bf16]\n");
  auto a = xpusim("run " + dir + "/e.yaml -q -o " + dir + "/a");
  INFO(a.out);
  REQUIRE(a.code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a different timestamp
  REQUIRE(xpusim("run " + dir + "/e.yaml -q -o " + dir + "/a2").code == 0);
  CHECK(slurp(dir + "/a/summary.json") == slurp(dir + "/a2/summary.json"));
  CHECK(slurp(dir + "/a/layers.csv") == slurp(dir + "/a2/layers.csv"));
  CHECK(slurp(dir + "/a/report.html") == slurp(dir + "/a2/report.html"));
  // The timestamps live in manifest.json, which otherwise agrees.
  auto m1 = nlohmann::json::parse(slurp(dir + "/a/manifest.json"));
  auto m2 = nlohmann::json::parse(slurp(dir + "/a2/manifest.json"));
  CHECK(m1["started_utc"] != m2["started_utc"]);
  for (auto* m : {&m1, &m2})
    for (const char* k : {"started_utc", "finished_utc", "wall_seconds", "command"}) m->erase(k);
  CHECK(m1 == m2);
  auto s = nlohmann::json::parse(slurp(dir + "/a/summary.json"));
  CHECK(s["schema_version"] == 2);
  CHECK(s["manifest"]["input_sha256"].size() == 5);  // experiment, energy table, 2 accelerators, workload
  CHECK(s["manifest"].contains("energy_node_nm"));
  // The comparison marks the better accelerator per metric.
  REQUIRE(s["comparisons"].size() == 1);
  const auto& c = s["comparisons"][0];
  CHECK(c["accelerators"].size() == 2);
  for (const auto& m : c["metrics"]) {
    if (m["key"] != "latency_s") continue;
    const double t0 = m["values"][0], t1 = m["values"][1];
    REQUIRE(m["best"].size() == 1);
    CHECK(m["best"][0] == (t0 < t1 ? c["accelerators"][0] : c["accelerators"][1]));
  }
  CHECK(c["layers"].size() == 2);
}

TEST_CASE("the shipped experiments load and the shipped sweep runs", "[sweep][configs]") {
  auto v = xpusim("validate " + kSrc + "/configs/experiments/compare_tpu_gpu.yaml " + kSrc +
                  "/configs/experiments/compare_tpu_gpu_gemm.yaml");
  INFO(v.out);
  CHECK(v.code == 0);
  const std::string dir = temp_dir();
  auto s = xpusim("sweep " + kSrc + "/configs/experiments/sweep_mxu.yaml -j 2 -q -o " + dir + "/mxu");
  INFO(s.out);
  REQUIRE(s.code == 0);
  auto j = nlohmann::json::parse(slurp(dir + "/mxu/summary.json"));
  CHECK(j["points"].size() == 12);
  CHECK(j["failed"].empty());
  CHECK(j["pareto"][0]["front"].size() >= 1);
}
