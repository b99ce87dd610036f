// report.html: self-contained (no network fetches), renders in headless
// Chromium without console errors, charts present; comparisons mark the
// better value. The Chromium check is shown to fail on a broken page.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/report/comparison.h"
#include "sim/report/html_report.h"
#include "sim/report/progress.h"
#include "sim/report/report_writer.h"

using namespace xpu::report;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string temp_dir() {
  char tmpl[] = "/tmp/xpusim_html_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

std::string chromium() {
  for (const char* c : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (access(c, X_OK) == 0) return c;
  return "";
}

struct Render {
  int code = -1;
  std::string log;
  std::vector<std::string> errors;  // console errors, uncaught exceptions, failed loads
};

// Renders `html` headless, saves a screenshot to `png`, and collects the
// console errors Chromium logs (--enable-logging=stderr).
Render render(const std::string& browser, const std::string& html, const std::string& png) {
  const std::string profile = temp_dir();
  const std::string cmd = browser +
                          " --headless --no-sandbox --disable-gpu --disable-background-networking "
                          "--disable-component-update --disable-sync --no-first-run --disable-extensions "
                          "--user-data-dir=" + profile + " --enable-logging=stderr --v=0 --hide-scrollbars "
                          "--window-size=1400,2600 --virtual-time-budget=3000 --screenshot=" + png + " file://" + html +
                          " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  Render r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.log.append(buf.data(), n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::istringstream in(r.log);
  std::string line;
  // Chromium logs page console messages as "...:CONSOLE(line)] "text", source: ..."; errors carry
  // "Uncaught", "Error" or a failed resource load.
  while (std::getline(in, line))
    if (line.find(":CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos ||
        line.find("Failed to load resource") != std::string::npos || line.find("net::ERR_") != std::string::npos)
      r.errors.push_back(line);
  return r;
}

LayerResult layer(const std::string& name, uint64_t macs, uint64_t cycles, double mhz, double util, double mxu_pj,
                  double dram_pj, double dram_bytes) {
  LayerResult l;
  l.name = name;
  l.op = "gemm";
  l.shape = "64x64x64";
  l.io = "resident";
  l.macs = macs;
  l.cycles = cycles;
  l.seconds = double(cycles) / (mhz * 1e6);
  l.utilization = util;
  l.verdict = xpu::report::Verdict::bit_exact;
  l.verdict_detail = "bit-exact";
  l.energy.by_component = {{"mxu", mxu_pj}, {"dram", dram_pj}};
  l.energy.by_component_op_class = {{"mxu", {{"mac", mxu_pj}}}, {"dram", {{"dram", dram_pj}}}};
  l.energy.total_pj = mxu_pj + dram_pj;
  xpu::stats::Snapshot s;
  s.add({"acc.dram.read_bytes", xpu::stats::Unit::bytes, dram_bytes, false, ""});
  s.add({"acc.dram.write_bytes", xpu::stats::Unit::bytes, 0, false, ""});
  l.stats = s;
  return l;
}

ExperimentResult sample() {
  ExperimentResult r;
  r.name = "html<&>test";
  r.manifest = {{"xpusim_version", "0.1.0"}, {"git_revision", "abc"}, {"energy_table", {{"label", "horowitz_45nm"}}},
                {"input_sha256", {{"a.yaml", "00"}}}};
  for (int m = 0; m < 2; ++m) {
    RunResult run;
    run.accelerator = m == 0 ? "fast_hot" : "slow_cool";
    run.workload = "net";
    run.precision = "bf16";
    run.fidelity = "tile";
    run.clock_mhz = 1000;
    run.peak_macs_per_cycle = 1024;
    run.peak_dram_gbps = m == 0 ? 100 : 50;
    for (int i = 0; i < 5; ++i)
      run.layers.push_back(layer("layer" + std::to_string(i), 1 << 20, uint64_t((m + 1) * (1500 + 300 * i)), 1000,
                                 0.5 / (m + 1), (m == 0 ? 3e6 : 1e6) * (i + 1), 2e5 * (i + 1), i == 4 ? 0 : 4096.0 * (i + 1)));
    r.runs.push_back(run);
  }
  return r;
}

}  // namespace

TEST_CASE("comparison marks the better value of each metric", "[report][html]") {
  const auto c = compare_runs(sample());
  REQUIRE(c.size() == 1);
  REQUIRE(c[0].columns == std::vector<std::string>{"fast_hot", "slow_cool"});
  for (const auto& m : c[0].metrics) {
    INFO(m.key);
    if (m.key == "latency_s" || m.key == "tops" || m.key == "throughput_per_s" || m.key == "utilization")
      CHECK(m.best == std::vector<bool>{true, false});
    if (m.key == "energy_j" || m.key == "pj_per_mac") CHECK(m.best == std::vector<bool>{false, true});
    if (m.key == "cycles" || m.key == "clock_mhz") CHECK(m.best == std::vector<bool>{false, false});  // not ranked
  }
  REQUIRE(c[0].layers.size() == 5);
  CHECK(c[0].layers[0].fastest == std::vector<bool>{true, false});
  CHECK(c[0].layers[0].least_energy == std::vector<bool>{false, true});
  const std::string md = report_markdown(sample());
  CHECK_THAT(md, Catch::Contains("## Comparison: net / bf16"));
  CHECK_THAT(md, Catch::Contains("slow_cool / fast_hot"));
}

TEST_CASE("report.html is self-contained with every chart", "[report][html]") {
  const std::string html = report_html(sample());
  CHECK_THAT(html, Catch::StartsWith("<!DOCTYPE html>"));
  CHECK_THAT(html, Catch::Contains("html&lt;&amp;&gt;test"));  // escaped
  for (const char* chart : {"Latency by layer", "Energy by layer", "Energy by component", "Roofline: fast_hot",
                            "ridge ", "Per-layer deltas"})
    CHECK_THAT(html, Catch::Contains(chart));
  // No fetches: no scripts or stylesheets by URL, no URL other than the SVG namespace.
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  const std::regex url("(https?:)?//[A-Za-z0-9.-]+");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), url); it != std::sregex_iterator(); ++it)
    CHECK(it->str() == "http://www.w3.org");
  // The ridge point of fast_hot: 2.048 TOPS / 100 GB/s = 20.5 ops per byte.
  CHECK_THAT(html, Catch::Contains("ridge 20.5 ops/B"));
}

TEST_CASE("report.html renders in headless Chromium without console errors", "[report][html][chromium]") {
  const std::string browser = chromium();
  if (browser.empty()) {
    WARN("SKIPPED: no chromium (Debian package 'chromium', installed by scripts/install-deps.sh); "
         "the HTML report was not rendered");
    return;
  }
  const std::string dir = temp_dir();
  write_reports(sample(), dir);
  const Render ok = render(browser, dir + "/report.html", dir + "/report.png");
  INFO(ok.log);
  CHECK(ok.code == 0);
  CHECK(ok.errors.empty());
  const std::string png = slurp(dir + "/report.png");
  REQUIRE(png.size() > 20000);  // a real page, not a blank one
  CHECK(png.substr(1, 3) == "PNG");
  // Keep the screenshot with the build for people to look at.
  std::ofstream(std::string(XPUSIM_BINARY_DIR) + "/report_html_test.png", std::ios::binary) << png;

  // The check can fail: a script error and a network fetch are both caught.
  std::ofstream(dir + "/bad.html") << "<!DOCTYPE html><html><body><p>x</p><script>no_such_function();</script>"
                                      "<img src=\"http://127.0.0.1:9/x.png\"></body></html>";
  const Render bad = render(browser, dir + "/bad.html", dir + "/bad.png");
  INFO(bad.log);
  CHECK(bad.errors.size() >= 1);
  CHECK_THAT(bad.log, Catch::Contains("no_such_function"));
}

TEST_CASE("progress line shows bar and counts and ETA and stays silent when disabled", "[report][progress]") {
  Progress p("points", 100, false, 0);
  CHECK(p.line(25, 10, "p1") == "[######------------------]  25%  25/100 points  elapsed 0:10  ETA 0:30  p1");
  CHECK(p.line(0, 3, "") == "[------------------------]   0%  0/100 points  elapsed 0:03  ETA --:--");
  CHECK(p.line(100, 3725, "") == "[########################] 100%  100/100 points  elapsed 1:02:05  ETA 0:00");
  p.update(50);  // disabled: prints nothing (stderr is not checked here, but nothing may crash)
  p.finish();
}

TEST_CASE("report.html counts verdicts by kind, whatever their detail", "[report][html]") {
  ExperimentResult r = sample();
  // A passing GPU GEMM says how it was checked; it is still bit-exact.
  auto& ls = r.runs[0].layers;
  ls[0].verdict_detail = "bit-exact (GEMM view, fused epilogue)";
  ls[1].verdict = Verdict::within_tolerance;
  ls[1].verdict_detail = "within tolerance vs fp32 reference";
  ls[2].verdict = Verdict::mismatch;
  ls[2].verdict_detail = "MISMATCH: 1 of 4 differ";
  ls[3].verdict = Verdict::skipped;
  ls[3].verdict_detail = "view (no data movement)";
  // The second run at timing fidelity: no values at all.
  for (auto& l : r.runs[1].layers) l.verdict = Verdict::unchecked;
  const std::string html = report_html(r);
  // Run 0: layers 0 and 4 bit-exact, 1 within tolerance, 1 mismatch, 1 view.
  CHECK_THAT(html, Catch::Contains("<td>2 bit-exact, 1 within tolerance, 1 MISMATCH, 1 not compared</td>"));
  CHECK_THAT(html, Catch::Contains("<td>values not computed (timing fidelity)</td>"));
  CHECK(html.find("0 bit-exact") == std::string::npos);
}
