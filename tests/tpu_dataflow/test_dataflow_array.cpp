// Output- and input-stationary arrays: golden single-pass timing observed by
// the PE engines (derivations in comments), PE = tile = reference on >= 50
// shapes per dataflow (ragged M, K, N; K < rows; N < cols; M = 1) for int8,
// bf16 and fp16 with random, special and overflowing values, and the
// sequencing rules.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <map>
#include <sstream>
#include <vector>

#include "models/tpu/mxu_array.h"
#include "sim/numerics/mac.h"
#include "tests/tpu_array/array_harness.h"
#include "tests/tpu_dataflow/df_cases.h"

namespace {

using namespace xpu::tpu;
using namespace xpu::tpu::test;
using xpu::DType;

const DType kDtypes[] = {DType::int8, DType::bf16, DType::fp16};

std::string word(uint32_t w) {
  std::ostringstream os;
  os << "0x" << std::hex << w;
  return os.str();
}

// Tile engine (ops up front) vs PE engine (event by event, and interleaved):
// identical completions (observed = closed form, reported at that cycle) and
// accumulator bits.
RunResult check_equivalent(Dataflow df, const Scenario& sc) {
  INFO(sc.name);
  std::map<uint64_t, Pass> passes;
  for (const Op& op : sc.ops) {
    if (!op.is_latch) passes[op.pass.id] = op.pass;
  }
  auto tile = make_array_engine(sc.shape, df, Fidelity::tile);
  auto pe = make_array_engine(sc.shape, df, Fidelity::pe);
  const RunResult t = run(sc, *tile, Drive::upfront);
  const RunResult p = run(sc, *pe, Drive::event);
  auto same = [&](const RunResult& a, const RunResult& b, const char* what) {
    INFO(what);
    REQUIRE(a.done.size() == b.done.size());
    for (size_t i = 0; i < a.done.size(); ++i) {
      INFO("completion " << i << ": " << describe(a.done[i]) << " vs " << describe(b.done[i]));
      CHECK(a.done[i].id == b.done[i].id);
      CHECK(a.done[i].cycle == b.done[i].cycle);
    }
    const long d = first_difference(a.acc, b.acc);
    if (d >= 0) {
      INFO("accumulator word " << d << ": " << word(a.acc[size_t(d)]) << " vs " << word(b.acc[size_t(d)]));
      CHECK(d == -1);
    }
  };
  REQUIRE(t.done.size() == passes.size());
  same(t, p, "tile (upfront) vs pe (event)");
  for (size_t i = 0; i < p.done.size(); ++i) {
    CHECK(p.done[i].cycle == pass_completion(sc.shape, passes[p.done[i].id], df));
    CHECK(p.reported_at[i] == p.done[i].cycle);
  }
  CHECK(p.pe_updates > 0);
  auto pe2 = make_array_engine(sc.shape, df, Fidelity::pe);
  same(t, run(sc, *pe2, Drive::interleaved), "tile (upfront) vs pe (interleaved)");
  return t;
}

void check_reference(const GemmCase& g, const RunResult& t) {
  INFO(g.sc.name << " vs reference GEMM (k_chunk = rows)");
  const std::vector<uint32_t> want = g.expected();
  const long d = first_difference(t.acc, want);
  if (d >= 0) {
    INFO("accumulator word " << d << ": engine " << word(t.acc[size_t(d)]) << ", reference "
                             << word(want[size_t(d)]));
    CHECK(d == -1);
  }
}

struct Shape {
  uint32_t m, k, n;
};

// Ragged shapes for an R x C array: M, K, N not multiples of the array,
// K < R, N < C, M = 1, and several folds / chunks / tiles.
// whole_k adds shapes with K > R (OS chains of 2 to 5 passes).
std::vector<Shape> shapes_for(const ArrayShape& a, bool whole_k = false) {
  const uint32_t R = a.rows, C = a.cols;
  auto half = [](uint32_t x) { return x > 1 ? x / 2 : 1; };
  if (whole_k) {
    return {
        {R, 3 * R, C},                      // 3 full chunks, one fold
        {3 * R + 1, 2 * R + 3, C > 1 ? C - 1 : 1},  // 4 folds (last ragged), ragged last chunk
        {1, R + 1, 2 * C + 1},              // m = 1, a 1-row last chunk, 3 N tiles
        {2, 4 * R + 2, 1},                  // 5 chunks, one column
        {R + 2, 2 * R, 3},                  // 2 folds, 2 full chunks
        {5, 2 * R + 1, 2 * C + 3},          // 3 chunks, 3 N tiles (ragged)
    };
  }
  return {
      {R, R, C},                           // one full tile
      {1, R, C},                           // m = 1
      {3 * R + 1, R, C},                   // OS: 4 folds, last ragged
      {3 * C + 2, half(R), C > 1 ? C - 1 : 1},  // IS: 4 folds; K < R, N < C
      {5, 2 * R + 1, 2 * C + 3},           // K in 3 chunks, N in 3 tiles (ragged)
      {R + 2, 1, 1},                       // one row, one column
      {2, half(R), 3 * C + 1},             // N tiles, K < R
  };
}

const ArrayShape kArrays[] = {{1, 1}, {1, 5}, {5, 1}, {2, 3}, {4, 4}, {4, 8},
                              {8, 4}, {7, 5}, {8, 8}, {16, 4}, {4, 16}};

// Runs every shape on every array for `df`; returns the number of shapes.
int sweep(Dataflow df, Values v, uint64_t seed0, bool alternate_step, bool whole_k = false) {
  int shapes = 0;
  uint64_t seed = seed0;
  for (const ArrayShape& a : kArrays) {
    for (const Shape& s : shapes_for(a, whole_k)) {
      ++shapes;
      for (DType t : kDtypes) {
        ++seed;
        const uint32_t step = t == DType::int8 ? 1 : (alternate_step && seed % 2 ? 3 : 1);
        const GemmCase g = df_gemm_case(df, a, t, step, s.m, s.k, s.n, v, seed, seed % 2 == 0, uint32_t(seed % 3), whole_k);
        check_reference(g, check_equivalent(df, g.sc));
      }
    }
  }
  return shapes;
}

TEST_CASE("golden timing: output-stationary, 8x8", "[tpu_dataflow][os][golden]") {
  const ArrayShape a{8, 8};
  auto one = [&](uint32_t m, uint32_t k, uint32_t n, uint32_t step, uint64_t start) {
    auto e = make_array_engine(a, Dataflow::os, Fidelity::pe);
    e->latch_standby(WeightTile{DType::int8, k, n, nullptr}, 0);
    Pass p;
    p.id = 1;
    p.step = step;
    p.m = m;
    p.k = k;
    p.n = n;
    p.start = start;
    e->submit(p);
    const auto done = e->advance_to(uint64_t(1) << 40);
    REQUIRE(done.size() == 1);
    CHECK(done[0].cycle == pass_completion(a, p, Dataflow::os));
    return std::make_pair(done[0].cycle, e->pe_updates());
  };
  // m = k = n = 8: PE(7, c) does its last MAC (kk = 7) at step 7 + 7 + c =
  // 14 + c and writes its hold register; column c's chain loads at 15 + c;
  // row 7 leaves at 16 + c, row 0 at 23 + c. Column 7, row 0 leaves at step
  // 30 and is written at cycle 31 = 8 + 2*8 + 8 - 2 + 1. Steps 0..30 ran:
  // 31 * 64 PE updates.
  auto r = one(8, 8, 8, 1, 0);
  CHECK(r.first == 31);
  CHECK(r.second == 31 * 64);
  // m = 1: row 0 still leaves last: completion independent of m.
  CHECK(one(1, 8, 8, 1, 0).first == 31);
  // k = 3: last MAC of PE(7, c) at 2 + 7 + c; row 0 of column 7 leaves at
  // 3 + 16 - 1 + 7 = 25; written at 26 = 3 + 16 + 8 - 2 + 1.
  CHECK(one(8, 3, 8, 1, 0).first == 26);
  // n = 2: the last valid result is column 1's row 0, leaving at step
  // 8 + 15 + 1 = 24 (written at 25); columns 2..7 still drain until step 30.
  r = one(8, 8, 2, 1, 0);
  CHECK(r.first == 25);
  CHECK(r.second == 31 * 64);
  // step 4, start 12: 12 + 4 * 30 + 1 = 133.
  CHECK(one(8, 8, 8, 4, 12).first == 133);
}

TEST_CASE("golden timing: input-stationary, 8x8", "[tpu_dataflow][is][golden]") {
  const ArrayShape a{8, 8};
  auto one = [&](uint32_t m, uint32_t k, uint32_t n, uint32_t step, uint64_t start) {
    auto e = make_array_engine(a, Dataflow::is, Fidelity::pe);
    e->latch_standby(WeightTile{DType::int8, k, n, nullptr}, 0);
    Pass p;
    p.id = 1;
    p.step = step;
    p.m = m;
    p.k = k;
    p.n = n;
    p.start = start;
    p.inputs_latch = 0;
    e->submit(p);
    const auto done = e->advance_to(uint64_t(1) << 40);
    REQUIRE(done.size() == 1);
    CHECK(done[0].cycle == pass_completion(a, p, Dataflow::is));
    return std::make_pair(done[0].cycle, e->pe_updates());
  };
  // m = k = n = 8: weight column 7 meets PE(7, 7) (input vector 7) at step
  // 7 + 7 + 7 = 21, leaves at 22, written at cycle 23 = 8 + 8 + 8 - 2 + 1.
  auto r = one(8, 8, 8, 1, 0);
  CHECK(r.first == 23);
  CHECK(r.second == 23 * 64);
  // m = 1 (one input vector, array column 0), n = 8: column 7 of the weights
  // leaves PE(7, 0) at step 7 + 7 + 0 + 1 = 15, written at 16. The input
  // switch wavefront reaches PE(7, 7) at step 14 < 15.
  CHECK(one(1, 8, 8, 1, 0).first == 16);
  // n = 1 (one weight column), m = 8: vector 7 at step 0 + 8 + 7 = 15, + 1.
  CHECK(one(8, 8, 1, 1, 0).first == 16);
  // step 4, start 12: 12 + 4 * 22 + 1 = 101.
  CHECK(one(8, 8, 8, 4, 12).first == 101);
}

TEST_CASE("golden values: output- and input-stationary on a 2x2 array", "[tpu_dataflow][golden]") {
  // x = [[1, 2], [-3, 5]], W = [[1, 2], [3, 4]]: y = [[7, 10], [12, 14]].
  const int8_t w[] = {1, 2, 3, 4};
  const int8_t x[] = {1, 2, -3, 5};
  for (Dataflow df : {Dataflow::os, Dataflow::is}) {
    for (Fidelity f : {Fidelity::tile, Fidelity::pe}) {
      auto e = make_array_engine(ArrayShape{2, 2}, df, f);
      std::vector<uint32_t> acc(4, 0xDEADBEEF);
      e->latch_standby(WeightTile{DType::int8, 2, 2, reinterpret_cast<const uint8_t*>(w)}, 0);
      Pass p;
      p.id = 3;
      p.m = p.k = p.n = 2;
      p.input = reinterpret_cast<const uint8_t*>(x);
      p.input_stride = 2;
      p.acc = acc.data();
      p.acc_stride = 2;
      e->submit(p);
      const auto done = e->advance_to(1000);
      REQUIRE(done.size() == 1);
      // OS: 0 + 2 + 4 + 2 - 2 + 1 = 7; IS: 0 + 2 + 2 + 2 - 2 + 1 = 5.
      CHECK(done[0].cycle == (df == Dataflow::os ? 7u : 5u));
      CHECK(acc == std::vector<uint32_t>{7, 10, 12, 14});
    }
  }
}

TEST_CASE("output-stationary: PE = tile = reference, random values", "[tpu_dataflow][os][equivalence]") {
  CHECK(sweep(Dataflow::os, Values::random, 100, true) >= 50);
}

// 11 arrays x 6 ragged shapes with K > R = 66 shapes, each in int8, bf16
// and fp16.
TEST_CASE("output-stationary whole K: PE = tile = reference (k_chunk = K), random values",
          "[tpu_dataflow][os][equivalence]") {
  CHECK(sweep(Dataflow::os, Values::random, 700, true, true) >= 50);
}

TEST_CASE("output-stationary whole K: special and overflowing values", "[tpu_dataflow][os][special]") {
  sweep(Dataflow::os, Values::special, 800, false, true);
  sweep(Dataflow::os, Values::huge, 900, false, true);
}

TEST_CASE("input-stationary: PE = tile = reference, random values", "[tpu_dataflow][is][equivalence]") {
  CHECK(sweep(Dataflow::is, Values::random, 200, true) >= 50);
}

TEST_CASE("output-stationary: special and overflowing values", "[tpu_dataflow][os][special]") {
  sweep(Dataflow::os, Values::special, 300, false);
  sweep(Dataflow::os, Values::huge, 400, false);
}

TEST_CASE("input-stationary: special and overflowing values", "[tpu_dataflow][is][special]") {
  sweep(Dataflow::is, Values::special, 500, false);
  sweep(Dataflow::is, Values::huge, 600, false);
}

TEST_CASE("tile and pass k/n that differ: +0 rows and columns", "[tpu_dataflow][zeros]") {
  const float inf = INFINITY;
  auto enc = [](DType t, const std::vector<float>& v) {
    std::vector<uint8_t> out(v.size() * 2);
    for (size_t i = 0; i < v.size(); ++i) {
      const uint16_t b = t == DType::bf16 ? xpu::bf16::from_float(v[i]).bits : xpu::fp16::from_float(v[i]).bits;
      std::memcpy(&out[2 * i], &b, 2);
    }
    return out;
  };
  for (DType t : {DType::bf16, DType::fp16}) {
    // Tile rows 0..2 with w[2] = [Inf, 3]; the pass uses k = 2. WS and IS
    // stream/keep tile row 2 against a +0 input: +0 * Inf = NaN in column 0.
    // OS streams only the pass's k = 2 rows: column 0 = 1*1 + 1*2 = 3.
    const std::vector<uint8_t> w = enc(t, {1, 2, 2, 1, inf, 3});
    const std::vector<uint8_t> x = enc(t, {1, 1});
    for (Dataflow df : {Dataflow::os, Dataflow::is}) {
      for (Fidelity f : {Fidelity::tile, Fidelity::pe}) {
        INFO(xpu::dtype_name(t) << " " << dataflow_name(df) << (f == Fidelity::pe ? " pe" : " tile"));
        auto e = make_array_engine(ArrayShape{4, 4}, df, f);
        e->latch_standby(WeightTile{t, 3, 2, w.data()}, 0);
        std::vector<uint32_t> acc(3, 0xDEADBEEF);
        Pass p;
        p.id = 1;
        p.dtype = t;
        p.m = 1;
        p.k = 2;
        p.n = 3;  // column 2 lies beyond the tile: +0 weights
        p.input = x.data();
        p.input_stride = 4;
        p.acc = acc.data();
        p.acc_stride = 3;
        e->submit(p);
        REQUIRE(e->advance_to(1000).size() == 1);
        if (df == Dataflow::os) {
          CHECK(xpu::bits_to_float(acc[0]) == 3.0f);
        } else {
          CHECK(acc[0] == 0x7FC00000u);
        }
        CHECK(xpu::bits_to_float(acc[1]) == 3.0f);  // 1*2 + 1*1 (+ 0*3)
        CHECK(acc[2] == 0u);                         // +0 column
      }
    }
  }
}

Pass simple(uint64_t id, uint32_t m, uint32_t k, uint32_t n, uint64_t start, bool sw = true) {
  Pass p;
  p.id = id;
  p.m = m;
  p.k = k;
  p.n = n;
  p.start = start;
  p.switch_weights = sw;
  return p;
}

TEST_CASE("output-stationary sequencing: the drain-chain rule is exact", "[tpu_dataflow][os][rules]") {
  const ArrayShape a{8, 8};
  for (Fidelity f : {Fidelity::tile, Fidelity::pe}) {
    auto e = make_array_engine(a, Dataflow::os, f);
    e->latch_standby(WeightTile{DType::int8, 8, 8, nullptr}, 0);
    e->submit(simple(1, 8, 8, 8, 0));
    // earliest_start = 0 + (8 + 8 - 3) = 13 for a k = 3 pass: its row-0 hold
    // write (step 13 + 2 + c) meets pass 1's chain load (step 8 + 7 + c).
    const Pass early = simple(2, 8, 3, 8, 12, false);
    REQUIRE(earliest_start(a, Dataflow::os, simple(1, 8, 8, 8, 0), early) == 13);
    CHECK_THROWS_AS(e->submit(early), std::logic_error);
    CHECK_NOTHROW(e->submit(simple(2, 8, 3, 8, 13, false)));
    // m > R is not one pass.
    CHECK_THROWS_AS(e->submit(simple(3, 9, 8, 8, 100, false)), std::logic_error);
    // Standby (the top-edge bank) is latched skewed, column c at when + c:
    // it may be re-latched once column 0 has switched (step 0, cycle 0),
    // each column landing one cycle after its switch: switch_done = 0 +
    // (1 - 1) * 7 + 1 = 1. A latch at 0 would reach each column in the
    // cycle it switches.
    CHECK_THROWS_AS(e->latch_standby(WeightTile{DType::int8, 8, 8, nullptr}, 0), std::logic_error);
    CHECK_NOTHROW(e->latch_standby(WeightTile{DType::int8, 8, 8, nullptr}, 1));
    const auto done = e->advance_to(1000);
    REQUIRE(done.size() == 2);
    CHECK(done[0].cycle == 31);
    CHECK(done[1].cycle == 13 + 3 + 16 + 8 - 2 + 1);
  }
}

TEST_CASE("output-stationary back to back: full K chunks keep every PE busy", "[tpu_dataflow][os][rules]") {
  // Passes of k = R start R steps apart: 4 passes, the last starts at 24 and
  // completes at 24 + 8 + 16 + 8 - 2 + 1 = 55; 55 steps ran (cycles 0..54).
  const ArrayShape a{8, 8};
  auto e = make_array_engine(a, Dataflow::os, Fidelity::pe);
  e->latch_standby(WeightTile{DType::int8, 8, 8, nullptr}, 0);
  for (uint64_t i = 0; i < 4; ++i) e->submit(simple(i, 8, 8, 8, 8 * i, i == 0));
  const auto done = e->advance_to(1000);
  REQUIRE(done.size() == 4);
  for (uint64_t i = 0; i < 4; ++i) CHECK(done[i].cycle == 8 * i + 31);
  CHECK(e->pe_updates() == 55 * 64);
}

TEST_CASE("output-stationary whole K: one drain per output tile, golden timing", "[tpu_dataflow][os][golden]") {
  // 8x8 array, m = n = 8, K = 20: chunks of 8, 8, 4, each a weight tile
  // latched at its pass's start (after the previous switch_done, start + 1).
  const ArrayShape a{8, 8};
  for (Fidelity f : {Fidelity::tile, Fidelity::pe}) {
    auto e = make_array_engine(a, Dataflow::os, f);
    e->latch_standby(WeightTile{DType::int8, 8, 8, nullptr}, 0);
    Pass p1 = simple(1, 8, 8, 8, 0);
    p1.keep_psums = true;
    e->submit(p1);
    // After a kept pass only its stream spaces the next: 0 + 8 = 8.
    Pass p2 = simple(2, 8, 8, 8, 8);
    p2.keep_psums = p2.continue_psums = true;
    REQUIRE(earliest_start(a, Dataflow::os, p1, p2) == 8);
    e->latch_standby(WeightTile{DType::int8, 8, 8, nullptr}, 8);
    e->submit(p2);
    Pass p3 = simple(3, 8, 4, 8, 16);
    p3.continue_psums = true;
    // No earlier drain: the stream alone, 8 + 8 = 16.
    REQUIRE(earliest_start(a, Dataflow::os, p2, p3) == 16);
    e->latch_standby(WeightTile{DType::int8, 4, 8, nullptr}, 16);
    e->submit(p3);
    const auto done = e->advance_to(1000);
    REQUIRE(done.size() == 3);
    // Kept passes: last valid MAC at PE(7, 7), kk = 7: start + 8 + 8 + 8 - 3 + 1.
    CHECK(done[0].cycle == 0 + 22);
    CHECK(done[1].cycle == 8 + 22);
    // The drain: 16 + (4 + 16 + 8 - 2) + 1 = 43 = chain start + K + 2R + n - 1
    // (0 + 20 + 16 + 8 - 1). Per-chunk drains (all three passes draining)
    // would end at 47: pass 3 may start only at 8 + (8 + 8 - 4) = 20, and
    // 20 + 4 + 16 + 8 - 1 = 47.
    CHECK(done[2].cycle == 43);
  }
}

TEST_CASE("output-stationary whole K: sequencing rules", "[tpu_dataflow][os][rules]") {
  const ArrayShape a{8, 8};
  for (Fidelity f : {Fidelity::tile, Fidelity::pe}) {
    auto e = make_array_engine(a, Dataflow::os, f);
    e->latch_standby(WeightTile{DType::int8, 8, 8, nullptr}, 0);
    e->submit(simple(1, 8, 8, 8, 0));  // drains
    // A continuing pass needs a kept one before it.
    Pass orphan = simple(2, 8, 1, 8, 8, false);
    orphan.continue_psums = true;
    CHECK_THROWS_AS(e->submit(orphan), std::logic_error);
    Pass keep = simple(2, 8, 1, 8, 8, false);
    keep.keep_psums = true;
    e->submit(keep);
    // The kept sums must be continued, by a pass of the same m and n.
    CHECK_THROWS_AS(e->submit(simple(3, 8, 1, 8, 20, false)), std::logic_error);
    Pass other = simple(3, 7, 1, 8, 20, false);
    other.continue_psums = true;
    CHECK_THROWS_AS(e->submit(other), std::logic_error);
    // The chain's draining pass (k = 1) still waits for pass 1's chain load:
    // max(8 + 1, 0 + (8 + 8 - 1)) = 15.
    Pass last = simple(3, 8, 1, 8, 14, false);
    last.continue_psums = true;
    Pass d1 = simple(1, 8, 8, 8, 0);
    REQUIRE(earliest_start(a, Dataflow::os, keep, last, &d1) == 15);
    CHECK_THROWS_AS(e->submit(last), std::logic_error);
    last.start = 15;
    CHECK_NOTHROW(e->submit(last));
    // Pass 3 drains: 15 + (1 + 16 + 8 - 2) + 1 = 39.
    const auto done = e->advance_to(1000);
    REQUIRE(done.size() == 3);
    CHECK(done[2].cycle == 39);
  }
  // Only the output-stationary array keeps partial sums in its PEs.
  for (Dataflow df : {Dataflow::ws, Dataflow::is}) {
    auto e = make_array_engine(a, df, Fidelity::tile);
    e->latch_standby(WeightTile{DType::int8, 8, 8, nullptr}, 0);
    Pass p = simple(1, 8, 8, 8, 0);
    p.keep_psums = true;
    CHECK_THROWS_AS(e->submit(p), std::logic_error);
  }
}

TEST_CASE("input-stationary sequencing: input latches and reuse", "[tpu_dataflow][is][rules]") {
  const ArrayShape a{4, 6};
  for (Fidelity f : {Fidelity::tile, Fidelity::pe}) {
    auto e = make_array_engine(a, Dataflow::is, f);
    e->latch_standby(WeightTile{DType::int8, 4, 6, nullptr}, 0);
    Pass p1 = simple(1, 6, 4, 6, 0);
    e->submit(p1);
    // Weights: left-edge row kk switches at step kk and takes a latch at
    // when + kk (skewed): switch_done = 0 + (1 - 1) * 3 + 1 = 1. At step 2
    // the rows are 3 cycles apart: switch_done = 0 + 1 * 3 + 1 = 4 (row 3
    // switches at cycle 6, a latch at 3 would land there at 6).
    CHECK(switch_done(a, p1, Dataflow::is) == 1);
    Pass slow = p1;
    slow.step = 2;
    CHECK(switch_done(a, slow, Dataflow::is) == 4);
    CHECK_THROWS_AS(e->latch_standby(WeightTile{DType::int8, 4, 6, nullptr}, 0), std::logic_error);
    CHECK_NOTHROW(e->latch_standby(WeightTile{DType::int8, 4, 6, nullptr}, 1));
    // Inputs: PE(3, 5) switches at step 8: inputs_switch_done = 9.
    REQUIRE(inputs_switch_done(a, p1) == 9);
    Pass p2 = simple(2, 6, 4, 6, 9);
    p2.inputs_latch = 8;
    CHECK_THROWS_AS(e->submit(p2), std::logic_error);
    // Reuse needs the same m, k.
    Pass p3 = simple(3, 5, 4, 6, 6);
    p3.switch_inputs = false;
    CHECK_THROWS_AS(e->submit(p3), std::logic_error);
    p3.m = 6;
    // The weight stream of pass 1 occupies the left edge for n = 6 steps.
    p3.start = 5;
    CHECK_THROWS_AS(e->submit(p3), std::logic_error);
    p3.start = 6;
    CHECK_NOTHROW(e->submit(p3));
    Pass p4 = simple(4, 6, 4, 6, 12, false);
    p4.inputs_latch = 9;
    CHECK_NOTHROW(e->submit(p4));
    const auto done = e->advance_to(1000);
    REQUIRE(done.size() == 3);
    CHECK(done[2].cycle == 12 + 6 + 4 + 6 - 2 + 1);
  }
}

}  // namespace
