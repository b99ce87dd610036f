// docs/CONFIG.md's key tables are generated from the TPU and GPU config
// readers: every key they ask for, its type, default and range. This test
// regenerates them and fails when the document differs (run it with
// XPUSIM_WRITE_CONFIG_DOC=1 to rewrite the tables).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "sim/config/document.h"
#include "sim/config/gpu_config.h"
#include "sim/config/reader.h"
#include "sim/config/tpu_config.h"

using namespace xpu::config;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Units follow the key names' suffixes (the readers' convention).
std::string unit_of(const std::string& key, const std::string& type) {
  if (type == "size in bytes" || ends_with(key, "_bytes")) return "bytes";
  if (ends_with(key, "bytes_per_cycle") || ends_with(key, "bytes_per_cycle_per_slice")) return "bytes/cycle";
  if (ends_with(key, "elements_per_cycle")) return "elements/cycle";
  if (ends_with(key, "_mhz")) return "MHz";
  if (ends_with(key, "_gbps")) return "GB/s";
  if (ends_with(key, "_ns")) return "ns";
  if (ends_with(key, "_us")) return "us";
  if (ends_with(key, "cycles") || ends_with(key, "latency") || key.find("latency_") != std::string::npos ||
      key.find(".ii_") != std::string::npos || key.find(".step_") != std::string::npos || ends_with(key, "quantum"))
    return "cycles";
  if (key.find(".passes_") != std::string::npos) return "passes per element";
  return type == "integer" ? "count" : "";
}

template <class Parse>
std::string key_table(const std::string& kind, Parse parse) {
  const Document doc = Document::parse("kind: " + kind + "\n", kind + ".yaml");
  Diagnostics diags;
  {
    Reader r(doc, diags);
    parse(r);
  }
  REQUIRE(diags.empty());
  std::ostringstream o;
  o << "| key | type | default | range | unit |\n|---|---|---|---|---|\n";
  for (const auto& [key, info] : doc.asked_keys()) {
    if (info.type == "mapping") continue;  // sections: their keys follow
    std::string def = info.default_value.empty() ? "required" : info.default_value;
    if (key == "name") def = "the file name without extension";
    const std::string range = info.type == "choice" ? "one of " + info.range : info.range;
    o << "| `" << key << "` | " << info.type << " | " << def << " | " << range << " | " << unit_of(key, info.type)
      << " |\n";
  }
  return o.str();
}

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The text between "<!-- begin NAME keys -->\n" and "<!-- end NAME keys -->".
std::string section(const std::string& doc, const std::string& name, size_t* begin = nullptr, size_t* end = nullptr) {
  const std::string open = "<!-- begin " + name + " keys -->\n", close = "<!-- end " + name + " keys -->";
  const size_t b = doc.find(open), e = doc.find(close);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  if (begin) *begin = b + open.size();
  if (end) *end = e;
  return doc.substr(b + open.size(), e - b - open.size());
}

}  // namespace

TEST_CASE("docs/CONFIG.md lists every accelerator config key with its default and range", "[config]") {
  const std::string path = std::string(XPUSIM_SOURCE_DIR) + "/docs/CONFIG.md";
  std::string doc = slurp(path);
  const std::pair<std::string, std::string> tables[] = {
      {"tpu", key_table("tpu", [](Reader& r) { parse_tpu_config(r); })},
      {"gpu", key_table("gpu", [](Reader& r) { parse_gpu_config(r); })},
  };
  // Spot checks of the generator itself (tpu_config.cpp: mxu.rows defaults
  // to TPU v1's 256 in [1, 4096]; gpu_config.cpp: V100's 80 SMs in [1, 1024]).
  CHECK_THAT(tables[0].second, Catch::Contains("| `mxu.rows` | integer | 256 | 1 .. 4096 | count |"));
  CHECK_THAT(tables[0].second, Catch::Contains("| `mxu.dataflow` | choice | ws | one of ws, os, is |  |"));
  CHECK_THAT(tables[1].second, Catch::Contains("| `sms` | integer | 80 | 1 .. 1024 | count |"));
  if (std::getenv("XPUSIM_WRITE_CONFIG_DOC")) {
    for (const auto& [name, table] : tables) {
      size_t b = 0, e = 0;
      section(doc, name, &b, &e);
      doc.replace(b, e - b, table);
    }
    std::ofstream(path) << doc;
  }
  for (const auto& [name, table] : tables) {
    INFO("docs/CONFIG.md's " << name << " table is out of date: rerun this test with XPUSIM_WRITE_CONFIG_DOC=1");
    CHECK(section(doc, name) == table);
  }
}
