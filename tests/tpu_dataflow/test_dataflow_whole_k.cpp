// Output-stationary GEMMs as the lowering emits them (K > rows: the K chunks
// of an output tile keep their partial sums in the PEs and drain once) on the
// whole TPU: PE, tile and timing fidelity give the same cycles and counters,
// the results equal the reference accumulated over the whole K, and the
// accumulators see only the traffic OS really has.
#include <catch2/catch.hpp>

#include <cstring>

#include "models/tpu/tpu.h"
#include "sim/check/compare.h"
#include "sim/check/gemm_data.h"
#include "sim/lowering/tpu/gemm.h"
#include "tests/tpu/gemm_builder.h"
#include "tests/tpu/tpu_test_util.h"

using namespace xpu;
using namespace xpu::tpu;
using namespace xpu::tpu::test;

namespace {

struct Outcome {
  RunResult result;
  std::string verified;
};

lowering::GemmSpec spec_of(uint64_t m, uint64_t n, uint64_t k, DType t) {
  lowering::GemmSpec s;
  s.m = m;
  s.n = n;
  s.k = k;
  s.dtype = t;
  s.out_dtype = t == DType::int8 ? DType::int32 : DType::fp32;
  return s;
}

Outcome run_gemm(Tpu& tpu, const lowering::GemmSpec& s, uint64_t seed) {
  const auto plan = lowering::lower_gemm(tpu.config(), s);
  const auto data = check::make_gemm_data(s.dtype, s.m, s.n, s.k, seed);
  tpu.host().write(plan.layout.host_a, data.a.data(), data.a.size());
  const std::vector<uint8_t> junk(s.m * s.n * 4, 0xAB);
  tpu.host().write(plan.layout.host_c, junk.data(), junk.size());
  const auto image = lowering::pack_weights(tpu.config(), s, plan.layout, data.b.data());
  tpu.weights().write(0, image.data(), image.size());
  Outcome o;
  o.result = tpu.run(plan.program);
  std::vector<uint32_t> got(s.m * s.n);
  tpu.host().read(plan.layout.host_c, got.data(), got.size() * 4);
  o.verified = check::compare_bits(
      got, check::reference_gemm(data, lowering::reference_k_chunk(tpu.config().mxu, s.k)), s.n).detail;
  return o;
}

}  // namespace

TEST_CASE("os whole K: lowered GEMMs, pe = tile = timing, bit-exact over the whole K", "[tpu_dataflow][os][whole_k]") {
  Tpu tpu(load("tpu_small", {"mxu.dataflow=os", "mxu.rows=8", "mxu.cols=4"}));
  struct Shape {
    uint64_t m, k, n;
    DType t;
  };
  // 8 x 4 array: K > 8 in every shape (2 to 5 chunks, ragged last chunk);
  // M over several 8-row blocks and ragged; N over several 4-column tiles.
  const Shape shapes[] = {{1, 9, 1, DType::int8},    {8, 16, 4, DType::int8},  {9, 17, 10, DType::int8},
                          {13, 33, 9, DType::bf16},  {5, 19, 7, DType::fp16},  {17, 24, 5, DType::bf16},
                          {20, 40, 3, DType::fp16},  {3, 11, 4, DType::bf16}};
  uint64_t seed = 40;
  for (const Shape& s : shapes) {
    INFO(s.m << "x" << s.k << "x" << s.n << " " << dtype_name(s.t));
    const auto spec = spec_of(s.m, s.n, s.k, s.t);
    REQUIRE(lowering::os_whole_k(tpu.config().mxu, s.k));
    Outcome o[3];
    const Fidelity fs[] = {Fidelity::tile, Fidelity::pe, Fidelity::timing};
    for (int i = 0; i < 3; ++i) {
      tpu.set_fidelity(fs[i]);
      align_start(tpu, 4);
      o[i] = run_gemm(tpu, spec, seed);  // the same operands at every fidelity
    }
    ++seed;
    CHECK(o[0].verified == "bit-exact");
    CHECK(o[1].verified == "bit-exact");
    for (int i = 1; i < 3; ++i) {
      CHECK(o[i].result.cycles == o[0].result.cycles);
      for (const auto& e : o[0].result.stats.entries()) {
        if (e.derived) continue;
        INFO(e.path);
        CHECK(e.value == o[i].result.stats.get(e.path, -1));
      }
    }
    // One pass per (8-row block, N tile, K chunk); the accumulators are
    // written once per output (the draining pass) and never read by the MXU.
    const RunResult& r = o[0].result;
    const uint64_t blocks = (s.m + 7) / 8, tiles = (s.n + 3) / 4, chunks = (s.k + 7) / 8;
    CHECK(u(r, "tpu.mxu.passes") == blocks * tiles * chunks);
    CHECK(u(r, "tpu.acc.write_bytes") == s.m * s.n * 4);
    CHECK(u(r, "tpu.acc.read_bytes") == s.m * s.n * 4);  // the activation unit's reads only
  }
}

// Accumulator traffic of M = 16, K = 20, N = 4, int8 on an 8 x 4 array: K
// is 3 chunks (8, 8, 4).
// - WS: every chunk's pass writes all M x N words (16 * 4 * 4 = 256 bytes)
//   and chunks 1 and 2 read them first: writes 3 * 256 = 768, MXU reads
//   2 * 256 = 512, plus the activation unit's 256: 1536 bytes.
// - OS whole K: only the last chunk of each 8-row block drains, nothing is
//   read back: writes 256, reads 256 (the activation unit's): 512 bytes,
//   a third of WS (K / R chunks -> one write per output).
// One Tpu per test case (one SystemC elaboration per process).
constexpr uint64_t kWsAccBytes = 1536, kOsAccBytes = 512;

uint64_t acc_bytes_of(const char* df) {
  Tpu tpu(load("tpu_small", {std::string("mxu.dataflow=") + df, "mxu.rows=8", "mxu.cols=4"}));
  const Outcome o = run_gemm(tpu, spec_of(16, 4, 20, DType::int8), 5);
  CHECK(o.verified == "bit-exact");
  return u(o.result, "tpu.acc.write_bytes") + u(o.result, "tpu.acc.read_bytes");
}

TEST_CASE("ws accumulator bytes on a layer with K > R", "[tpu_dataflow][whole_k][energy]") {
  CHECK(acc_bytes_of("ws") == kWsAccBytes);
}

TEST_CASE("os whole K moves fewer accumulator bytes than ws on a layer with K > R",
          "[tpu_dataflow][os][whole_k][energy]") {
  CHECK(acc_bytes_of("os") == kOsAccBytes);
  CHECK(kOsAccBytes < kWsAccBytes);  // the WS count is measured by the test above
}
