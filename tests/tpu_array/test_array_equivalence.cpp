// The two fidelities agree: identical completion cycles (the PE engine's are
// observed, the tile engine's closed-form) and identical accumulator bits,
// and both match the reference GEMMs of sim/numerics.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <map>
#include <sstream>
#include <vector>

#include "models/tpu/mxu_array.h"
#include "sim/numerics/mac.h"
#include "tests/tpu_array/array_harness.h"

namespace {

using namespace xpu::tpu;
using namespace xpu::tpu::test;
using xpu::DType;

const DType kDtypes[] = {DType::int8, DType::bf16, DType::fp16};

uint32_t step_for(DType t) { return t == DType::int8 ? 1 : 4; }

std::string word(uint32_t w) {
  std::ostringstream os;
  os << "0x" << std::hex << w;
  return os.str();
}

// Runs `sc` on the tile engine (all ops up front) and on the PE engine
// (advancing event by event); returns false after reporting a difference.
// With `all_drives`, the other drive patterns must give the same results too.
bool check_equivalent(const Scenario& sc, RunResult* tile_out = nullptr, bool all_drives = false) {
  INFO(sc.name);
  std::map<uint64_t, Pass> passes;
  for (const Op& op : sc.ops) {
    if (!op.is_latch) passes[op.pass.id] = op.pass;
  }
  auto tile = make_tile_engine(sc.shape);
  auto pe = make_pe_engine(sc.shape);
  const RunResult t = run(sc, *tile, Drive::upfront);
  const RunResult p = run(sc, *pe, Drive::event);
  bool ok = true;
  auto same = [&](const RunResult& a, const RunResult& b, const char* what) {
    INFO(what);
    REQUIRE(a.done.size() == b.done.size());
    for (size_t i = 0; i < a.done.size(); ++i) {
      INFO("completion " << i << ": " << describe(a.done[i]) << " vs " << describe(b.done[i]));
      ok &= a.done[i].id == b.done[i].id && a.done[i].cycle == b.done[i].cycle;
      CHECK(a.done[i].id == b.done[i].id);
      CHECK(a.done[i].cycle == b.done[i].cycle);
    }
    const long d = first_difference(a.acc, b.acc);
    if (d >= 0) {
      INFO("accumulator word " << d << ": " << word(a.acc[size_t(d)]) << " vs "
                               << word(b.acc[size_t(d)]));
      CHECK(d == -1);
      ok = false;
    }
  };
  REQUIRE(t.done.size() == passes.size());
  same(t, p, "tile (upfront) vs pe (event)");
  for (size_t i = 0; i < p.done.size(); ++i) {
    // Observed = closed form, reported exactly at that cycle.
    CHECK(p.done[i].cycle == pass_completion(sc.shape, passes[p.done[i].id]));
    CHECK(p.reported_at[i] == p.done[i].cycle);
  }
  CHECK(p.pe_updates > 0);
  CHECK(t.pe_updates == 0);
  if (all_drives) {
    auto pe2 = make_pe_engine(sc.shape);
    same(t, run(sc, *pe2, Drive::interleaved), "tile (upfront) vs pe (interleaved)");
    auto pe3 = make_pe_engine(sc.shape);
    same(t, run(sc, *pe3, Drive::upfront), "tile (upfront) vs pe (upfront)");
    auto tile2 = make_tile_engine(sc.shape);
    const RunResult te = run(sc, *tile2, Drive::event);
    same(t, te, "tile (upfront) vs tile (event)");
    for (size_t i = 0; i < te.done.size(); ++i) CHECK(te.reported_at[i] == te.done[i].cycle);
    auto tile3 = make_tile_engine(sc.shape);
    same(t, run(sc, *tile3, Drive::interleaved), "tile (upfront) vs tile (interleaved)");
  }
  if (tile_out != nullptr) *tile_out = t;
  return ok;
}

void check_reference(const GemmCase& g, const RunResult& t) {
  INFO(g.sc.name << " vs reference GEMM");
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

// Pass shapes for an R x C array: full, ragged, single vector, single
// row/column, and GEMMs larger than the array (chunked K, tiled N).
std::vector<Shape> shapes_for(const ArrayShape& a) {
  const uint32_t R = a.rows, C = a.cols;
  auto half = [](uint32_t x) { return x > 1 ? x / 2 : 1; };
  return {
      {R, R, C},                     // one full tile
      {3 * R + 1, R, C},             // more vectors than rows
      {1, R, C},                     // m = 1
      {5, half(R), C > 1 ? C - 1 : 1},  // k < R, n < C
      {2 * R + 3, 1, 1},             // one row, one column
      {7, R, 1},
      {1, 1, C},
      {R + 2, 2 * R + 1, C + 3},     // K in 3 chunks (last ragged), N in 2 tiles
  };
}

const ArrayShape kArrays[] = {{1, 1}, {1, 5}, {5, 1}, {2, 3}, {4, 4}, {4, 8}, {8, 4},
                              {7, 5}, {8, 8}, {16, 16}, {32, 8}, {8, 32}, {16, 4}};

TEST_CASE("single passes and chunked GEMMs: PE = tile = reference, random values",
          "[tpu_array][equivalence]") {
  // 13 arrays x 8 shapes = 104 shapes, each for int8, bf16 (step 4), fp16.
  int shapes = 0;
  uint64_t seed = 1;
  for (const ArrayShape& a : kArrays) {
    for (const Shape& s : shapes_for(a)) {
      ++shapes;
      for (DType t : kDtypes) {
        ++seed;
        const GemmCase g = gemm_case(a, t, step_for(t), s.m, s.k, s.n, Values::random, seed,
                                     seed % 2 == 0, uint32_t(seed % 3));
        RunResult r;
        check_equivalent(g.sc, &r);
        check_reference(g, r);
      }
    }
  }
  CHECK(shapes >= 50);
}

TEST_CASE("single passes and chunked GEMMs: PE = tile = reference, special values",
          "[tpu_array][equivalence][special]") {
  // NaN (several payloads, signalling too), +-Inf, subnormals, +-0,
  // near-max and smallest-normal values; accumulators holding -0, NaN, Inf.
  uint64_t seed = 1000;
  for (const ArrayShape& a : kArrays) {
    for (const Shape& s : shapes_for(a)) {
      for (DType t : kDtypes) {
        for (Values v : {Values::special, Values::huge}) {
          ++seed;
          const GemmCase g =
              gemm_case(a, t, step_for(t), s.m, s.k, s.n, v, seed, true, uint32_t(seed % 2));
          RunResult r;
          check_equivalent(g.sc, &r);
          check_reference(g, r);
        }
      }
    }
  }
}

TEST_CASE("pipelined pass sequences agree under every drive pattern",
          "[tpu_array][equivalence][pipeline]") {
  // Back-to-back starts at input_free, latches exactly at switch_done, weight
  // reuse (switch_weights = false), random accumulate, overlapping
  // accumulator regions, tile/pass k and n that differ.
  const ArrayShape arrays[] = {{1, 1}, {3, 5}, {4, 4}, {4, 8}, {8, 4},  {8, 8},
                               {5, 9}, {16, 16}, {32, 8}, {8, 32}, {64, 64}};
  uint64_t seed = 5000;
  for (const ArrayShape& a : arrays) {
    for (DType t : kDtypes) {
      for (Values v : {Values::random, Values::special, Values::huge}) {
        for (uint32_t step : {1u, 3u}) {
          for (int rep = 0; rep < 3; ++rep) {
            check_equivalent(random_sequence(a, t, t == DType::int8 ? 1 : step, 16, v, seed++),
                             nullptr, true);
          }
        }
      }
    }
  }
}

TEST_CASE("sequences that change dtype after the array drains",
          "[tpu_array][equivalence][pipeline]") {
  const ArrayShape arrays[] = {{4, 4}, {8, 4}, {4, 8}, {16, 16}, {32, 8}};
  uint64_t seed = 9000;
  for (const ArrayShape& a : arrays) {
    for (DType t : kDtypes) {
      for (int i = 0; i < 6; ++i) {
        check_equivalent(random_sequence(a, t, t == DType::int8 ? 1 : 4, 10,
                                         i == 0 ? Values::special : Values::random, seed++, true),
                         nullptr, true);
      }
    }
  }
}

TEST_CASE("256x256 PE engine pass agrees with the tile engine", "[tpu_array][equivalence][large]") {
  // The PE engine stays usable at TPU v1 size: 64 + 256 + 256 - 1 = 575
  // steps of 65536 PEs.
  const ArrayShape a{256, 256};
  for (DType t : {DType::bf16, DType::int8}) {
    const GemmCase g = gemm_case(a, t, 1, 64, 256, 256, Values::random, 77, true);
    RunResult r;
    CHECK(check_equivalent(g.sc, &r));
    check_reference(g, r);
    CHECK(r.done.size() == 1);
    CHECK(r.done[0].cycle == 64 + 256 + 256 - 2 + 1);
  }
}

// Activations for rows >= pass.k are +0; weights outside the latched tile
// are +0; every PE row performs its MAC.
Scenario tiny(DType t, uint32_t R, uint32_t C, uint32_t tk, uint32_t tn,
              const std::vector<float>& w, uint32_t k, uint32_t n, const std::vector<float>& x,
              uint32_t acc_init, bool accumulate) {
  Scenario sc;
  sc.shape = ArrayShape{R, C};
  sc.name = "tiny";
  auto enc = [&](const std::vector<float>& v) {
    std::vector<uint8_t> out(v.size() * 2);
    for (size_t i = 0; i < v.size(); ++i) {
      const uint16_t b = t == DType::bf16 ? xpu::bf16::from_float(v[i]).bits
                                          : xpu::fp16::from_float(v[i]).bits;
      std::memcpy(&out[2 * i], &b, 2);
    }
    return out;
  };
  Op l;
  l.is_latch = true;
  l.tile = WeightTile{t, tk, tn, sc.add_blob(enc(w))};
  sc.ops.push_back(l);
  Op op;
  op.pass.id = 1;
  op.pass.dtype = t;
  op.pass.m = 1;
  op.pass.k = k;
  op.pass.n = n;
  op.pass.input = sc.add_blob(enc(x));
  op.pass.input_stride = k * 2;
  op.pass.acc_stride = n;
  op.pass.accumulate = accumulate;
  sc.ops.push_back(op);
  sc.acc_init.assign(n, acc_init);
  return sc;
}

TEST_CASE("unused PE rows: +0 activations, +0 weights, signed zeros",
          "[tpu_array][equivalence][zeros]") {
  const float inf = INFINITY;
  for (DType t : {DType::bf16, DType::fp16}) {
    INFO(xpu::dtype_name(t));
    RunResult r;
    // Inf activation meets a row outside the tile: Inf * +0 = NaN. Tile rows
    // 0..1; the pass uses k = 3, so PE row 2 has weight +0.
    check_equivalent(tiny(t, 4, 4, 2, 2, {1, 2, 1, 1}, 3, 2, {1, 1, inf}, 0, false), &r);
    CHECK(std::isnan(xpu::bits_to_float(r.acc[0])));
    CHECK(std::isnan(xpu::bits_to_float(r.acc[1])));

    // Inf weight in a row beyond pass.k: +0 * Inf = NaN. Tile rows 0..2 with
    // w[2] = [Inf, 3]; pass k = 2 feeds +0 to row 2.
    check_equivalent(tiny(t, 4, 4, 3, 2, {1, 2, 1, 1, inf, 3}, 2, 2, {1, 1}, 0, false), &r);
    CHECK(std::isnan(xpu::bits_to_float(r.acc[0])));
    CHECK(xpu::bits_to_float(r.acc[1]) == 3.0f);  // 1*2 + 1*1 + 0*3

    // A column sum is never -0: psum = +0 + (-1 * +0) = +0 + -0 = +0, then
    // rows 1..3 add +0 * +0.
    check_equivalent(tiny(t, 4, 4, 1, 1, {0.0f}, 1, 1, {-1.0f}, 0xDEADBEEF, false), &r);
    CHECK(r.acc[0] == 0x00000000u);
    // Accumulating into -0: -0 + +0 = +0.
    check_equivalent(tiny(t, 4, 4, 1, 1, {-0.0f}, 1, 1, {2.0f}, 0x80000000u, true), &r);
    CHECK(r.acc[0] == 0x00000000u);

    // Columns beyond the tile have +0 weights: +0 results, or NaN where an
    // input is non-finite (-Inf * +0).
    check_equivalent(tiny(t, 4, 4, 2, 1, {1, 1}, 2, 3, {3, 4}, 0xDEADBEEF, false), &r);
    CHECK(xpu::bits_to_float(r.acc[0]) == 7.0f);
    CHECK(r.acc[1] == 0u);
    CHECK(r.acc[2] == 0u);
    check_equivalent(tiny(t, 4, 4, 2, 1, {1, 1}, 2, 3, {-inf, 4}, 0, false), &r);
    CHECK(std::isinf(xpu::bits_to_float(r.acc[0])));
    CHECK(std::isnan(xpu::bits_to_float(r.acc[1])));
  }
}

}  // namespace
