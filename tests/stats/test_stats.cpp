// Hierarchical counters: dotted paths, units, formulas, snapshots, deltas, JSON, reset.
#include <catch2/catch.hpp>

#include "sim/stats/stats.h"

using namespace xpu::stats;

TEST_CASE("counters live at dotted paths with units", "[stats]") {
  Group root("tpu");
  Group& mxu = root.child("mxu");
  mxu.counter("mac.int8", Unit::ops, "int8 MACs").add(1000);
  mxu.counter("stall.weights", Unit::cycles).add(7);
  root.child("ub").counter("read_bytes", Unit::bytes) += 256;
  CHECK(mxu.path() == "tpu.mxu");
  const Snapshot s = root.snapshot();
  CHECK(s.get("tpu.mxu.mac.int8") == 1000);
  CHECK(s.get("tpu.mxu.stall.weights") == 7);
  CHECK(s.get("tpu.ub.read_bytes") == 256);
  CHECK_FALSE(s.has("tpu.ub.write_bytes"));
  CHECK(s.get("tpu.ub.write_bytes", -1) == -1);
  CHECK(s.sum("tpu.mxu.") == 1007);           // 1000 + 7
  CHECK(s.sum("tpu.", "_bytes") == 256);      // suffix filter
  for (const auto& e : s.entries())
    if (e.path == "tpu.ub.read_bytes") CHECK(std::string(unit_name(e.unit)) == "bytes");
}

TEST_CASE("registering a counter twice returns the same counter, never two units", "[stats]") {
  Group g("g");
  Counter& a = g.counter("x", Unit::cycles);
  Counter& b = g.counter("x", Unit::cycles);
  CHECK(&a == &b);
  CHECK_THROWS_AS(g.counter("x", Unit::bytes), std::logic_error);
}

TEST_CASE("formulas are computed when read and survive deltas", "[stats]") {
  Group g("tpu");
  Counter& macs = g.counter("macs", Unit::ops);
  Counter& cycles = g.counter("cycles", Unit::cycles);
  g.formula("utilization", Unit::ratio, "macs / (4 x cycles)",
            [&] { return cycles.value() ? double(macs.value()) / (4.0 * double(cycles.value())) : 0.0; });
  macs.add(8);
  cycles.add(4);
  const Snapshot before = g.snapshot();
  CHECK(before.get("tpu.utilization") == Approx(0.5));  // 8 / (4 x 4)
  macs.add(8);
  cycles.add(2);
  const Snapshot delta = g.snapshot().minus(before);
  CHECK(delta.get("tpu.macs") == 8);    // 16 - 8
  CHECK(delta.get("tpu.cycles") == 2);  // 6 - 4
  // Formulas keep their current value: 16 / (4 x 6).
  CHECK(delta.get("tpu.utilization") == Approx(16.0 / 24.0));
}

TEST_CASE("JSON nests by path and keeps a leaf that shares a group's name", "[stats]") {
  Group g("tpu");
  g.counter("mac", Unit::ops).add(3);
  g.counter("mac.int8", Unit::ops).add(2);
  const auto j = g.to_json();
  CHECK(j["tpu"]["mac"]["int8"] == 2);
  CHECK(j["tpu"]["mac"]["_total"] == 3);
}

TEST_CASE("reset zeroes every counter below a group", "[stats]") {
  Group g("tpu");
  g.child("a").counter("x", Unit::count).add(5);
  g.child("b").child("c").counter("y", Unit::count).add(6);
  g.reset();
  const Snapshot s = g.snapshot();
  CHECK(s.get("tpu.a.x") == 0);
  CHECK(s.get("tpu.b.c.y") == 0);
}
