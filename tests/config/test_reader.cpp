// Strict typed reading: every error class names file:line:col and the key path.
#include <catch2/catch.hpp>

#include "sim/config/document.h"
#include "sim/config/reader.h"

using namespace xpu::config;

namespace {

struct Mxu {
  int64_t rows = 0, cols = 0;
  double clock = 0;
  std::string dataflow;
  bool double_buffer = false;
  uint64_t ub = 0;
};

// A miniature typed schema, the way real loaders use Reader.
Mxu parse(const Document& doc, Diagnostics& diags) {
  Reader root(doc, diags);
  Mxu m;
  m.clock = root.number("clock_mhz", std::nullopt, 1.0, 1e5);
  {
    Reader mxu = root.map("mxu");
    m.rows = mxu.positive("rows");
    m.cols = mxu.positive("cols", 256, 65536);
    m.dataflow = mxu.choice("dataflow", {"ws", "os", "is"}, std::string("ws"));
    m.double_buffer = mxu.boolean("double_buffer", true);
  }
  m.ub = root.bytes("ub_capacity", 1024);
  root.finish();
  return m;
}

std::vector<Diagnostic> errors_of(const std::string& yaml, std::vector<std::string> overrides = {}) {
  Document doc = Document::parse(yaml, "x.yaml");
  doc.apply_overrides(overrides);
  Diagnostics diags;
  parse(doc, diags);
  return diags.all();
}

}  // namespace

TEST_CASE("a valid file parses into typed values", "[config]") {
  auto doc = Document::parse("clock_mhz: 700\nmxu:\n  rows: 128\n  dataflow: os\nub_capacity: 24 MiB\n", "x.yaml");
  Diagnostics diags;
  Mxu m = parse(doc, diags);
  CHECK(diags.empty());
  CHECK(m.rows == 128);
  CHECK(m.cols == 256);  // default
  CHECK(m.dataflow == "os");
  CHECK(m.ub == 24ull * 1024 * 1024);  // 24 MiB = 24 * 2^20 bytes
  CHECK(m.clock == 700.0);
}

TEST_CASE("unknown key: file:line:col, key path and did-you-mean", "[config]") {
  // "rws" is on line 3, column 3 (two spaces of indentation).
  auto errs = errors_of("clock_mhz: 700\nmxu:\n  rws: 128\n  rows: 4\n");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].to_string() == "x.yaml:3:3: mxu.rws: unknown key (did you mean 'rows'?)");
}

TEST_CASE("wrong type names the offending value", "[config]") {
  auto errs = errors_of("clock_mhz: 700\nmxu:\n  rows: abc\n");
  REQUIRE(errs.size() == 1);
  // The value "abc" starts at line 3, column 9.
  CHECK(errs[0].to_string() == "x.yaml:3:9: mxu.rows: expected a positive integer, got \"abc\"");
}

TEST_CASE("out of range", "[config]") {
  auto errs = errors_of("clock_mhz: 700\nmxu:\n  rows: 0\n  cols: 70000\n");
  REQUIRE(errs.size() == 2);
  CHECK(errs[0].to_string() == "x.yaml:3:9: mxu.rows: value 0 out of range: expected >= 1");
  CHECK(errs[1].to_string() == "x.yaml:4:9: mxu.cols: value 70000 out of range: expected in [1, 65536]");
}

TEST_CASE("missing required key points at the enclosing mapping", "[config]") {
  auto errs = errors_of("mxu:\n  cols: 4\n");
  REQUIRE(errs.size() == 2);
  CHECK(errs[0].to_string() == "x.yaml:1:1: clock_mhz: missing required key at the top level");
  CHECK(errs[1].to_string() == "x.yaml:2:3: mxu.rows: missing required key in 'mxu'");
}

TEST_CASE("bad choice suggests the closest allowed value", "[config]") {
  auto errs = errors_of("clock_mhz: 700\nmxu:\n  rows: 4\n  dataflow: wss\n");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].to_string() ==
        "x.yaml:4:13: mxu.dataflow: expected one of ws, os, is, got \"wss\" (did you mean 'ws'?)");
}

TEST_CASE("all errors of a file are reported together", "[config]") {
  auto errs = errors_of("clock_mhz: fast\nmxu:\n  rows: -1\n  double_buffer: maybe\nextra: 1\n");
  CHECK(errs.size() == 4);  // clock type, rows range, boolean, unknown key
}

TEST_CASE("override (-p) replaces a value before validation", "[config]") {
  Document doc = Document::parse("clock_mhz: 700\nmxu:\n  rows: 256\n", "x.yaml");
  doc.apply_override("mxu.rows=128");
  doc.apply_override("mxu.dataflow=is");
  Diagnostics diags;
  Mxu m = parse(doc, diags);
  CHECK(diags.empty());
  CHECK(m.rows == 128);
  CHECK(m.dataflow == "is");
}

TEST_CASE("a bad override is reported as clearly as a bad file", "[config]") {
  auto errs = errors_of("clock_mhz: 700\nmxu:\n  rows: 256\n", {"mxu.rows=abc"});
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].to_string() ==
        "command line (-p mxu.rows=abc): mxu.rows: expected a positive integer, got \"abc\"");
  auto typo = errors_of("clock_mhz: 700\nmxu:\n  rows: 256\n", {"mxu.rwos=4"});
  REQUIRE(typo.size() == 1);
  CHECK(typo[0].to_string() == "command line (-p mxu.rwos=4): mxu.rwos: unknown key (did you mean 'rows'?)");
}

TEST_CASE("size strings", "[config]") {
  auto doc = Document::parse("clock_mhz: 1\nmxu: {rows: 1}\nub_capacity: 64KiB\n", "x.yaml");
  Diagnostics diags;
  CHECK(parse(doc, diags).ub == 65536);  // 64 * 1024
  auto errs = errors_of("clock_mhz: 1\nmxu: {rows: 1}\nub_capacity: 12 parsecs\n");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].key_path == "ub_capacity");
}
