// Systolic array timing: golden cycle counts (derivations in comments), the
// sequencing rules, and why a latch must wait for switch_done.
#include <catch2/catch.hpp>

#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "models/tpu/mxu_array.h"
#include "tests/tpu_array/array_harness.h"

namespace {

using namespace xpu::tpu;
using xpu::DType;

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

Pass make_pass(uint64_t id, uint32_t m, uint32_t k, uint32_t n, uint64_t start,
               uint32_t step = 1, bool sw = true, DType t = DType::int8) {
  Pass p;
  p.id = id;
  p.dtype = t;
  p.step = step;
  p.m = m;
  p.k = k;
  p.n = n;
  p.switch_weights = sw;
  p.start = start;
  return p;
}

// Runs one timing-only pass (tile latched at 0) on the PE engine and returns
// the observed completion and the number of PE updates.
struct Observed {
  uint64_t cycle = 0;
  uint64_t pe_updates = 0;
};
Observed observe_pe(const ArrayShape& a, const Pass& p) {
  auto e = make_pe_engine(a);
  e->latch_standby(WeightTile{p.dtype, p.k, p.n, nullptr}, 0);
  e->submit(p);
  const auto done = e->advance_to(uint64_t(1) << 40);
  REQUIRE(done.size() == 1);
  CHECK(done[0].id == p.id);
  return {done[0].cycle, e->pe_updates()};
}

TEST_CASE("array closed-form timing", "[tpu_array][timing]") {
  const ArrayShape a{8, 8};
  // completion = start + step * (m + R + n - 2) + 1
  CHECK(pass_completion(a, make_pass(1, 8, 8, 8, 0)) == 23);       // 8 + 8 + 8 - 2 = 22, + 1
  CHECK(pass_completion(a, make_pass(1, 8, 8, 8, 0, 4)) == 89);    // 4 * 22 + 1
  CHECK(pass_completion(a, make_pass(1, 8, 8, 3, 0)) == 18);       // 8 + 8 + 3 - 2 = 17, + 1
  CHECK(pass_completion(a, make_pass(1, 1, 8, 8, 100)) == 116);    // 100 + 15 + 1
  // switch_done = start + step * (R + C - 2) + 1
  CHECK(switch_done(a, make_pass(1, 8, 8, 8, 0)) == 15);           // 8 + 8 - 2 = 14, + 1
  CHECK(switch_done(a, make_pass(1, 8, 8, 8, 8, 4)) == 65);        // 8 + 4 * 14 + 1
  CHECK(switch_done(ArrayShape{4, 8}, make_pass(1, 1, 1, 1, 0)) == 11);  // 4 + 8 - 2 + 1
  CHECK(input_free(make_pass(1, 8, 8, 8, 12, 4)) == 44);           // 12 + 4 * 8
}

TEST_CASE("golden timing observed by the PE engine, 8x8", "[tpu_array][timing][golden]") {
  const ArrayShape a{8, 8};
  SECTION("m = k = n = 8, step 1") {
    // Vector 7, column 7 is computed in PE(7, 7) at step 7 + 7 + 7 = 21, leaves
    // the bottom row at step 22 and is written at cycle 22 + 1 = 23
    // (= 0 + (8 + 8 + 8 - 2) + 1). Steps 0..22 ran: 23 * 64 PE updates.
    const Observed o = observe_pe(a, make_pass(1, 8, 8, 8, 0));
    CHECK(o.cycle == 23);
    CHECK(o.pe_updates == 23 * 64);
  }
  SECTION("step 4") {
    // Same 23 steps, 4 cycles each: leaves at cycle 4 * 22 = 88, written at 89.
    const Observed o = observe_pe(a, make_pass(1, 8, 8, 8, 0, 4));
    CHECK(o.cycle == 89);
    CHECK(o.pe_updates == 23 * 64);
  }
  SECTION("n < C") {
    // Last column 2: leaves at step 7 + 8 + 2 = 17, written at 18. The
    // switch wavefront reaches PE(7, 7) at step 14 < 17: 18 steps.
    const Observed o = observe_pe(a, make_pass(1, 8, 8, 3, 0));
    CHECK(o.cycle == 18);
    CHECK(o.pe_updates == 18 * 64);
  }
  SECTION("k < R") {
    // Partial sums still flow through all 8 rows: timing as for k = 8.
    const Observed o = observe_pe(a, make_pass(1, 8, 3, 8, 0));
    CHECK(o.cycle == 23);
  }
  SECTION("m = 1") {
    // Leaves at step 0 + 8 + 7 = 15, written at 16 (= 1 + 8 + 8 - 2 + 1).
    const Observed o = observe_pe(a, make_pass(1, 1, 8, 8, 0));
    CHECK(o.cycle == 16);
    CHECK(o.pe_updates == 16 * 64);
  }
  SECTION("m = n = 1, start 12, step 4: the wavefront outlives the pass") {
    // Result leaves at step 0 + 8 + 0 = 8: cycle 12 + 4 * 8 = 44, written at
    // 45. The switch flag still has to reach PE(7, 7) at step 14, so the
    // engine keeps stepping: steps 0..14 = 15 steps.
    const Observed o = observe_pe(a, make_pass(1, 1, 8, 1, 12, 4));
    CHECK(o.cycle == 45);
    CHECK(o.pe_updates == 15 * 64);
  }
}

TEST_CASE("golden values on a 2x2 array", "[tpu_array][golden]") {
  // x = [1, 2], W = [[1, 2], [3, 4]]: y = [1*1 + 2*3, 1*2 + 2*4] = [7, 10];
  // second vector x = [-3, 5]: y = [-3 + 15, -6 + 20] = [12, 14].
  const int8_t w[] = {1, 2, 3, 4};
  const int8_t x[] = {1, 2, -3, 5};
  for (auto make : {make_tile_engine, make_pe_engine}) {
    auto e = make(ArrayShape{2, 2});
    std::vector<uint32_t> acc(4, 0xDEADBEEF);
    e->latch_standby(WeightTile{DType::int8, 2, 2, reinterpret_cast<const uint8_t*>(w)}, 0);
    Pass p = make_pass(7, 2, 2, 2, 0);
    p.input = reinterpret_cast<const uint8_t*>(x);
    p.input_stride = 2;
    p.acc = acc.data();
    p.acc_stride = 2;
    e->submit(p);
    // completion = 0 + (2 + 2 + 2 - 2) + 1 = 5
    CHECK(e->advance_to(4).empty());
    const auto done = e->advance_to(5);
    REQUIRE(done.size() == 1);
    CHECK(done[0].cycle == 5);
    CHECK(acc == std::vector<uint32_t>{7, 10, 12, 14});
  }
}

TEST_CASE("golden pipelined sequence, 8x8", "[tpu_array][timing][golden]") {
  // P1 switches, start 0, m = 10: completion 0 + (10 + 8 + 8 - 2) + 1 = 25,
  //   switch_done 0 + 14 + 1 = 15, input_free 10.
  // P2 reuses the weights back to back at 10, m = 5, n = 4:
  //   completion 10 + (5 + 8 + 4 - 2) + 1 = 26, input_free 15.
  // Tile 2 is latched exactly at switch_done(P1) = 15; P3 switches at 15,
  //   m = 3: completion 15 + (3 + 8 + 8 - 2) + 1 = 33, switch_done 30.
  const ArrayShape a{8, 8};
  for (auto make : {make_tile_engine, make_pe_engine}) {
    auto e = make(a);
    e->latch_standby(WeightTile{DType::int8, 8, 8, nullptr}, 0);
    e->submit(make_pass(1, 10, 8, 8, 0));
    e->submit(make_pass(2, 5, 8, 4, 10, 1, false));
    CHECK_THROWS_AS(e->latch_standby(WeightTile{DType::int8, 8, 8, nullptr}, 14), std::logic_error);
    e->latch_standby(WeightTile{DType::int8, 8, 8, nullptr}, 15);
    e->submit(make_pass(3, 3, 8, 8, 15));
    CHECK(switch_done(a, make_pass(3, 3, 8, 8, 15)) == 30);
    const auto done = e->advance_to(1000);
    REQUIRE(done.size() == 3);
    CHECK(done[0].id == 1);
    CHECK(done[0].cycle == 25);
    CHECK(done[1].id == 2);
    CHECK(done[1].cycle == 26);
    CHECK(done[2].id == 3);
    CHECK(done[2].cycle == 33);
  }
}

TEST_CASE("a switch takes the newest tile latched by its start", "[tpu_array][latch]") {
  // Two latches before one switching pass: the second overwrites standby.
  // 1x1 array: result = x * w.
  const int8_t w1 = 3, w2 = 5, x = 7;
  for (auto make : {make_tile_engine, make_pe_engine}) {
    auto e = make(ArrayShape{1, 1});
    uint32_t acc = 0;
    e->latch_standby(WeightTile{DType::int8, 1, 1, reinterpret_cast<const uint8_t*>(&w1)}, 0);
    e->latch_standby(WeightTile{DType::int8, 1, 1, reinterpret_cast<const uint8_t*>(&w2)}, 2);
    Pass p = make_pass(1, 1, 1, 1, 2);
    p.input = reinterpret_cast<const uint8_t*>(&x);
    p.acc = &acc;
    e->submit(p);
    e->advance_to(100);
    CHECK(acc == 35u);
  }
}

TEST_CASE("next_event of both engines", "[tpu_array][timing]") {
  const ArrayShape a{4, 4};
  const Pass p = make_pass(1, 2, 4, 4, 8, 2);  // completion 8 + 2 * (2 + 4 + 4 - 2) + 1 = 25
  auto tile = make_tile_engine(a);
  auto pe = make_pe_engine(a);
  for (auto* e : {tile.get(), pe.get()}) {
    CHECK(e->next_event() == kNever);
    e->latch_standby(WeightTile{DType::int8, 4, 4, nullptr}, 0);
    e->submit(p);
  }
  CHECK(tile->next_event() == 25);
  // The PE engine's next step runs at cycle 8; its results settle at 9.
  CHECK(pe->next_event() == 9);
  CHECK(pe->advance_to(9).empty());
  CHECK(pe->next_event() == 11);  // next step at 10
  uint64_t now = 0;
  std::vector<Completion> done;
  while (done.empty()) {
    now = pe->next_event();
    done = pe->advance_to(now);
  }
  CHECK(now == 25);
  CHECK(done[0].cycle == 25);
  CHECK(pe->next_event() == kNever);
  CHECK(tile->advance_to(24).empty());
  CHECK(tile->advance_to(25).size() == 1);
  CHECK(tile->next_event() == kNever);
}

TEST_CASE("a pass may start at the cycle just advanced to", "[tpu_array][timing]") {
  // advance_to(now) runs the steps before `now` only, so submit(start = now)
  // right after it is still on time.
  const ArrayShape a{4, 4};
  for (auto make : {make_tile_engine, make_pe_engine}) {
    auto e = make(a);
    e->latch_standby(WeightTile{DType::int8, 4, 4, nullptr}, 0);
    e->submit(make_pass(1, 3, 4, 4, 0));          // input_free 3, completion 0 + 9 + 1 = 10
    CHECK(e->advance_to(3).empty());
    e->submit(make_pass(2, 2, 4, 4, 3, 1, false));  // completion 3 + 8 + 1 = 12
    const auto d1 = e->advance_to(10);
    REQUIRE(d1.size() == 1);
    CHECK(d1[0].cycle == 10);
    const auto d2 = e->advance_to(100);
    REQUIRE(d2.size() == 1);
    CHECK(d2[0].id == 2);
    CHECK(d2[0].cycle == 12);
  }
}

TEST_CASE("a later, narrower pass completes first", "[tpu_array][timing]") {
  // A: m = 1, n = 8 -> 0 + (1 + 8 + 8 - 2) + 1 = 16.
  // B: starts at input_free(A) = 1, m = 1, n = 1 -> 1 + (1 + 8 + 1 - 2) + 1 = 10.
  const ArrayShape a{8, 8};
  for (auto make : {make_tile_engine, make_pe_engine}) {
    auto e = make(a);
    e->latch_standby(WeightTile{DType::int8, 8, 8, nullptr}, 0);
    e->submit(make_pass(1, 1, 8, 8, 0));
    e->submit(make_pass(2, 1, 8, 1, 1, 1, false));
    const auto done = e->advance_to(1000);
    REQUIRE(done.size() == 2);
    CHECK(done[0].id == 2);
    CHECK(done[0].cycle == 10);
    CHECK(done[1].id == 1);
    CHECK(done[1].cycle == 16);
  }
}

TEST_CASE("sequencing rules are enforced by both engines", "[tpu_array][validation]") {
  const ArrayShape a{8, 8};
  const WeightTile t8{DType::int8, 8, 8, nullptr};
  SECTION("a switch with no tile latched") {
    for (auto make : {make_tile_engine, make_pe_engine}) {
      auto e = make(a);
      CHECK_THROWS_AS(e->submit(make_pass(1, 4, 8, 8, 0)), std::logic_error);
    }
  }
  SECTION("reusing weights before any switch") {
    for (auto make : {make_tile_engine, make_pe_engine}) {
      auto e = make(a);
      e->latch_standby(t8, 0);
      CHECK_THROWS_AS(e->submit(make_pass(1, 4, 8, 8, 0, 1, false)), std::logic_error);
    }
  }
  SECTION("bad shapes") {
    for (auto make : {make_tile_engine, make_pe_engine}) {
      auto e = make(a);
      e->latch_standby(t8, 0);
      CHECK_THROWS_AS(e->submit(make_pass(1, 0, 8, 8, 0)), std::logic_error);  // m == 0
      CHECK_THROWS_AS(e->submit(make_pass(1, 4, 9, 8, 0)), std::logic_error);  // k > R
      CHECK_THROWS_AS(e->submit(make_pass(1, 4, 8, 9, 0)), std::logic_error);  // n > C
      CHECK_THROWS_AS(e->latch_standby(WeightTile{DType::int8, 9, 8, nullptr}, 0),
                      std::logic_error);
      CHECK_THROWS_AS(e->latch_standby(WeightTile{DType::fp32, 8, 8, nullptr}, 0),
                      std::logic_error);
    }
  }
  SECTION("start before input_free of the previous pass") {
    for (auto make : {make_tile_engine, make_pe_engine}) {
      auto e = make(a);
      e->latch_standby(t8, 0);
      e->submit(make_pass(1, 4, 8, 8, 0));  // input_free 4
      CHECK_THROWS_AS(e->submit(make_pass(2, 4, 8, 8, 3, 1, false)), std::logic_error);
      CHECK_NOTHROW(e->submit(make_pass(2, 4, 8, 8, 4, 1, false)));
    }
  }
  SECTION("start not a multiple of step") {
    for (auto make : {make_tile_engine, make_pe_engine}) {
      auto e = make(a);
      e->latch_standby(t8, 0);
      CHECK_THROWS_AS(e->submit(make_pass(1, 4, 8, 8, 6, 4)), std::logic_error);
      CHECK_NOTHROW(e->submit(make_pass(1, 4, 8, 8, 8, 4)));
    }
  }
  SECTION("dtype change before the array drained") {
    for (auto make : {make_tile_engine, make_pe_engine}) {
      auto e = make(a);
      e->latch_standby(t8, 0);
      e->submit(make_pass(1, 4, 8, 8, 0));  // completion 0 + 18 + 1 = 19, switch_done 15
      e->latch_standby(WeightTile{DType::bf16, 8, 8, nullptr}, 15);
      CHECK_THROWS_AS(e->submit(make_pass(2, 4, 8, 8, 18, 1, true, DType::bf16)),
                      std::logic_error);
      CHECK_NOTHROW(e->submit(make_pass(2, 4, 8, 8, 19, 1, true, DType::bf16)));
    }
  }
  SECTION("dtype change waits for the switch wavefront too") {
    for (auto make : {make_tile_engine, make_pe_engine}) {
      auto e = make(a);
      e->latch_standby(t8, 0);
      // m = n = 1: completion 0 + 8 + 1 = 9, but switch_done 15.
      e->submit(make_pass(1, 1, 8, 1, 0));
      e->latch_standby(WeightTile{DType::fp16, 8, 8, nullptr}, 15);
      CHECK_THROWS_AS(e->submit(make_pass(2, 1, 8, 8, 12, 4, true, DType::fp16)),
                      std::logic_error);
      CHECK_NOTHROW(e->submit(make_pass(2, 1, 8, 8, 16, 4, true, DType::fp16)));
    }
  }
  SECTION("pass dtype must match its tile") {
    for (auto make : {make_tile_engine, make_pe_engine}) {
      auto e = make(a);
      e->latch_standby(t8, 0);
      CHECK_THROWS_AS(e->submit(make_pass(1, 4, 8, 8, 0, 1, true, DType::bf16)),
                      std::logic_error);
    }
  }
  SECTION("a switch must not precede its latch") {
    for (auto make : {make_tile_engine, make_pe_engine}) {
      auto e = make(a);
      e->latch_standby(t8, 10);
      CHECK_THROWS_AS(e->submit(make_pass(1, 4, 8, 8, 9)), std::logic_error);
      CHECK_NOTHROW(e->submit(make_pass(1, 4, 8, 8, 10)));
    }
  }
  SECTION("time only moves forward") {
    for (auto make : {make_tile_engine, make_pe_engine}) {
      auto e = make(a);
      e->latch_standby(t8, 0);
      e->advance_to(50);
      CHECK_THROWS_AS(e->advance_to(49), std::logic_error);
      CHECK_THROWS_AS(e->submit(make_pass(1, 4, 8, 8, 49)), std::logic_error);
      CHECK_NOTHROW(e->submit(make_pass(1, 4, 8, 8, 50)));
    }
  }
  SECTION("the error names the rule") {
    for (auto make : {make_tile_engine, make_pe_engine}) {
      auto e = make(a);
      try {
        e->submit(make_pass(42, 4, 8, 8, 0));
        FAIL("no throw");
      } catch (const std::logic_error& err) {
        CHECK_THAT(err.what(), Catch::Contains("pass 42") && Catch::Contains("no tile was latched"));
      }
    }
  }
}

TEST_CASE("latching before switch_done throws", "[tpu_array][latch]") {
  const ArrayShape a{4, 6};
  for (auto make : {make_tile_engine, make_pe_engine}) {
    auto e = make(a);
    e->latch_standby(WeightTile{DType::bf16, 4, 6, nullptr}, 0);
    e->submit(make_pass(1, 3, 4, 6, 8, 2, true, DType::bf16));
    // switch_done = 8 + 2 * (4 + 6 - 2) + 1 = 25
    const uint64_t done = switch_done(a, make_pass(1, 3, 4, 6, 8, 2, true, DType::bf16));
    REQUIRE(done == 25);
    const WeightTile next{DType::bf16, 4, 6, nullptr};
    CHECK_THROWS_AS(e->latch_standby(next, done - 1), std::logic_error);
    CHECK_THROWS_AS(e->latch_standby(next, 0), std::logic_error);
    CHECK_NOTHROW(e->latch_standby(next, done));
    // Latches are ordered in time.
    CHECK_THROWS_AS(e->latch_standby(next, done - 1), std::logic_error);
  }
}

TEST_CASE("PE engine: a latch at switch_done - 1 would change the result",
          "[tpu_array][latch]") {
  // Why the rule: PE(k, c) copies standby -> active at step k + c of the
  // switching pass, and a latch at cycle t lands before the step at t reads
  // standby. On a 4x4 array with step 1 and start 0, PE(3, 3) copies at
  // step 6 = cycle 6 = switch_done - 1 (switch_done = 0 + 6 + 1 = 7). The
  // registers show it: after the steps before cycle 6 that PE still holds its
  // reset weight; after the step at cycle 6 it holds tile 1's w[3][3]. Had
  // a latch of tile 2 at cycle 6 been allowed, PE(3, 3) would have copied
  // tile 2's w[3][3], and the first vector -- which meets PE(3, 3) in that
  // same step (0 + 3 + 3 = 6) -- would use it: column 3 of result 0 would be
  // sum_{k<3} x[k]*w1[k][3] + x[3]*w2[3][3] instead of the tile-1 value.
  const ArrayShape a{4, 4};
  std::vector<int8_t> w1(16), w2(16);
  for (int i = 0; i < 16; ++i) {
    w1[i] = int8_t(i + 1);
    w2[i] = int8_t(100 + i);
  }
  const int8_t x[4] = {1, -2, 3, 4};
  std::vector<uint32_t> acc(4, 0);
  auto e = make_pe_engine(a);
  e->latch_standby(WeightTile{DType::int8, 4, 4, reinterpret_cast<const uint8_t*>(w1.data())}, 0);
  Pass p = make_pass(1, 1, 4, 4, 0);
  p.input = reinterpret_cast<const uint8_t*>(x);
  p.input_stride = 4;
  p.acc = acc.data();
  p.acc_stride = 4;
  e->submit(p);
  REQUIRE(switch_done(a, p) == 7);

  e->advance_to(6);  // steps at cycles 0..5
  PeRegisterView v = e->registers();
  REQUIRE(v.weight != nullptr);
  CHECK(v.weight[3 * 4 + 2] == 15u);  // PE(3, 2) switched at step 5
  CHECK(v.weight[3 * 4 + 3] == 0u);   // PE(3, 3) not yet: it reads standby at cycle 6
  CHECK_THROWS_AS(
      e->latch_standby(WeightTile{DType::int8, 4, 4, reinterpret_cast<const uint8_t*>(w2.data())}, 6),
      std::logic_error);
  e->advance_to(7);  // the step at cycle 6
  v = e->registers();
  CHECK(v.weight[3 * 4 + 3] == 16u);
  // The activation of vector 0 sits in PE(3, 3) now, psum holds its column sum.
  CHECK(v.activation[3 * 4 + 3] == 4u);
  CHECK_NOTHROW(
      e->latch_standby(WeightTile{DType::int8, 4, 4, reinterpret_cast<const uint8_t*>(w2.data())}, 7));
  e->advance_to(100);
  // Column 3 with tile 1: 1*4 - 2*8 + 3*12 + 4*16 = 88. With tile 2's
  // w[3][3] = 115 in PE(3, 3) it would have been 24 + 4*115 = 484.
  CHECK(acc[3] == 88u);
  CHECK(1 * 4 - 2 * 8 + 3 * 12 + 4 * 115 != 88);
}

TEST_CASE("PE engine registers show the skewed wavefront", "[tpu_array][registers]") {
  // 3x3 array, one vector x = [5, 6, 7]: after the step at cycle t the
  // activation x[k] sits in PE(k, c) with k + c = t.
  const ArrayShape a{3, 3};
  const int8_t w[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  const int8_t x[3] = {5, 6, 7};
  auto e = make_pe_engine(a);
  e->latch_standby(WeightTile{DType::int8, 3, 3, reinterpret_cast<const uint8_t*>(w)}, 0);
  Pass p = make_pass(1, 1, 3, 3, 0);
  p.input = reinterpret_cast<const uint8_t*>(x);
  e->submit(p);
  e->advance_to(3);  // steps 0, 1, 2
  const PeRegisterView v = e->registers();
  CHECK(v.rows == 3);
  CHECK(v.cols == 3);
  CHECK(v.activation[0 * 3 + 2] == 5u);  // PE(0, 2)
  CHECK(v.activation[1 * 3 + 1] == 6u);  // PE(1, 1)
  CHECK(v.activation[2 * 3 + 0] == 7u);  // PE(2, 0)
  // Partial sums along the same diagonal: 5, 5 + 6, 5 + 6 + 7.
  CHECK(v.psum[0 * 3 + 2] == 5u);
  CHECK(v.psum[1 * 3 + 1] == 11u);
  CHECK(v.psum[2 * 3 + 0] == 18u);
  CHECK(e->pe_updates() == 3 * 9);
  CHECK(make_tile_engine(a)->registers().weight == nullptr);
}

TEST_CASE("timing fidelity computes no values", "[tpu_array][timing]") {
  // Fidelity::timing is the tile engine with null input/acc: same completions
  // as with values, accumulators untouched.
  const ArrayShape a{8, 8};
  const auto sc = xpu::tpu::test::random_sequence(a, DType::bf16, 2, 12, test::Values::random, 7);
  auto timing = sc;
  for (auto& op : timing.ops) {
    if (!op.is_latch) {
      op.pass.input = nullptr;
      op.has_acc = false;
    } else {
      op.tile.data = nullptr;
    }
  }
  auto e1 = make_tile_engine(a);
  auto e2 = make_tile_engine(a);
  const auto with_values = test::run(sc, *e1, test::Drive::upfront);
  const auto timing_only = test::run(timing, *e2, test::Drive::upfront);
  REQUIRE(with_values.done.size() == 12);
  REQUIRE(timing_only.done.size() == 12);
  for (size_t i = 0; i < 12; ++i) {
    CHECK(with_values.done[i].id == timing_only.done[i].id);
    CHECK(with_values.done[i].cycle == timing_only.done[i].cycle);
  }
  CHECK(timing_only.acc == timing.acc_init);
  CHECK(with_values.acc != sc.acc_init);
}

}  // namespace
