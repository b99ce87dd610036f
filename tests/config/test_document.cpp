// File-level errors: missing file, unreadable path, malformed YAML, bad -p syntax.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/config/document.h"

using namespace xpu::config;

static std::string first_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    REQUIRE(!e.diagnostics().empty());
    return e.diagnostics()[0].to_string();
  }
  FAIL("expected a ConfigError");
  return "";
}

TEST_CASE("missing file", "[config]") {
  CHECK(first_error([] { Document::load("/nonexistent/dir/tpu.yaml"); }) ==
        "/nonexistent/dir/tpu.yaml: no such file");
}

TEST_CASE("a directory is not a config file", "[config]") {
  CHECK(first_error([] { Document::load("/tmp"); }) == "/tmp: is a directory, not a file");
}

TEST_CASE("unreadable file", "[config]") {
  char path[] = "/tmp/xpusim_unreadable_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  chmod(path, 0);
  std::ifstream probe(path);
  if (probe.good()) {
    // Running as root: permission bits do not stop reads, so this case cannot
    // be produced here; the empty file then gives the empty-file error.
    CHECK(first_error([&] { Document::load(path); }) == std::string(path) + ": the file is empty");
  } else {
    CHECK(first_error([&] { Document::load(path); }) ==
          std::string(path) + ": cannot be read (permission denied?)");
  }
  std::remove(path);
}

TEST_CASE("malformed YAML names line and column", "[config]") {
  // The unclosed flow sequence on line 2 is reported where the parser gave up.
  std::string err = first_error([] { Document::parse("a: 1\nb: [1, 2\n", "bad.yaml"); });
  CHECK(err.rfind("bad.yaml:", 0) == 0);
  CHECK(err.find("malformed YAML") != std::string::npos);
  // Tab indentation / duplicate colon.
  std::string err2 = first_error([] { Document::parse("a: b: c\n", "bad2.yaml"); });
  CHECK(err2.rfind("bad2.yaml:1:", 0) == 0);
}

TEST_CASE("top level must be a mapping", "[config]") {
  CHECK(first_error([] { Document::parse("- 1\n- 2\n", "list.yaml"); }) ==
        "list.yaml:1:1: expected a mapping of keys at the top level");
  CHECK(first_error([] { Document::parse("", "empty.yaml"); }) == "empty.yaml: the file is empty");
}

TEST_CASE("override syntax errors", "[config]") {
  Document doc = Document::parse("mxu:\n  rows: 4\n", "x.yaml");
  CHECK(first_error([&] { doc.apply_override("mxu.rows"); }) ==
        "command line (-p mxu.rows): expected -p key.path=value");
  CHECK(first_error([&] { doc.apply_override("mxu.rows.x=1"); }) ==
        "command line (-p mxu.rows.x=1): mxu.rows.x: 'mxu.rows' is not a mapping");
  CHECK(first_error([&] { doc.apply_override("mxu..rows=1"); }) ==
        "command line (-p mxu..rows=1): mxu..rows: empty component in key path");
}

TEST_CASE("override creates missing mappings and parses YAML values", "[config]") {
  Document doc = Document::parse("a: 1\n", "x.yaml");
  doc.apply_override("b.c.d=[1, 2, 3]");
  CHECK(doc.root()["b"]["c"]["d"].size() == 3);
  CHECK(doc.override_for("b.c.d") == "b.c.d=[1, 2, 3]");
}
