#pragma once
// Scenario builders for the output- and input-stationary arrays, on top of
// the array harness (tests/tpu_array/array_harness.h): the same random A, B
// and accumulator contents as gemm_case(), passes laid out per dataflow.
#include <algorithm>
#include <cstring>
#include <sstream>

#include "models/tpu/mxu_array.h"
#include "tests/tpu_array/array_harness.h"

namespace xpu::tpu::test {

// C (M x N) = [C +] A (M x K) * B (K x N) as passes of dataflow `df`,
// pipelined at the array's earliest legal cycles:
// - ws: gemm_case() unchanged.
// - os: for each N tile, each K chunk (one tile, latched at the previous
//   switching pass's switch_done): folds of R vectors; the first fold
//   switches to the tile, the others reuse it. Every pass starts at
//   earliest_start(previous, this) (drain-chain rule) or its latch.
// - is: for each block of C vectors, each K chunk, each N tile: one pass per
//   tile (switching weights, latched at the previous switch_done); the
//   first N tile of a (block, chunk) latches the block's inputs at the
//   previous inputs_switch_done, the others reuse them.
// K chunks accumulate in order in the accumulators (k_chunk = R):
// GemmCase::expected() is the reference.
// - os with whole_k: for each N tile, each fold of R vectors: one pass per K
//   chunk (each switching to its tile), all but the last keeping their
//   partial sums in the PEs, so each output is one dot product over the
//   whole K and drains once (k_chunk = K).
inline GemmCase df_gemm_case(Dataflow df, const ArrayShape& a, DType t, uint32_t step, uint32_t M, uint32_t K,
                             uint32_t N, Values v, uint64_t seed, bool accumulate = false, uint32_t gap = 0,
                             bool whole_k = false) {
  GemmCase g = gemm_case(a, t, step, M, K, N, v, seed, accumulate, gap);
  if (df == Dataflow::ws) return g;
  if (whole_k) g.k_chunk = K;
  Scenario& sc = g.sc;
  const uint8_t* input = sc.blobs.at(0)->data();  // padded A, rows K + gap elements apart
  sc.ops.clear();
  sc.blobs.resize(1);
  sc.name = std::string(dataflow_name(df)) + " " + sc.name;
  const size_t es = dtype_bytes(t);
  auto tile_of = [&](uint32_t k0, uint32_t kk, uint32_t c0, uint32_t nn) {
    std::vector<uint8_t> tile(size_t(kk) * nn * es);
    for (uint32_t k = 0; k < kk; ++k) {
      std::memcpy(&tile[size_t(k) * nn * es], &g.B[(size_t(k0 + k) * N + c0) * es], nn * es);
    }
    return WeightTile{t, kk, nn, sc.add_blob(std::move(tile))};
  };
  bool have_prev = false, have_switch = false, have_inputs = false, have_drain = false;
  Pass prev, last_drain;
  uint64_t last_switch_done = 0, last_latch = 0, last_inputs_done = 0, last_inputs_latch = 0;
  uint64_t id = 1;
  auto emit = [&](Op op, bool latch, const WeightTile& tile) {
    Pass& p = op.pass;
    uint64_t s = 0;
    if (latch) {
      Op l;
      l.is_latch = true;
      l.when = std::max(have_switch ? last_switch_done : 0, last_latch);
      l.tile = tile;
      sc.ops.push_back(l);
      last_latch = l.when;
      s = l.when;
    }
    if (df == Dataflow::is && p.switch_inputs) {
      p.inputs_latch = std::max(have_inputs ? last_inputs_done : 0, last_inputs_latch);
      s = std::max(s, p.inputs_latch);
    }
    if (have_prev) s = std::max(s, earliest_start(a, df, prev, p, have_drain ? &last_drain : nullptr));
    p.start = (s + step - 1) / step * step;
    sc.ops.push_back(op);
    have_prev = true;
    prev = p;
    if (!p.keep_psums) {
      have_drain = true;
      last_drain = p;
    }
    if (p.switch_weights) {
      have_switch = true;
      last_switch_done = switch_done(a, p, df);
    }
    if (df == Dataflow::is && p.switch_inputs) {
      have_inputs = true;
      last_inputs_done = inputs_switch_done(a, p);
      last_inputs_latch = p.inputs_latch;
    }
  };
  auto base_pass = [&](uint32_t m0, uint32_t m, uint32_t k0, uint32_t kk, uint32_t c0, uint32_t nn) {
    Op op;
    Pass& p = op.pass;
    p.id = id++;
    p.dtype = t;
    p.step = step;
    p.m = m;
    p.k = kk;
    p.n = nn;
    p.input = input + (size_t(m0) * (K + gap) + k0) * es;
    p.input_stride = (K + gap) * es;
    p.acc_stride = N;
    p.accumulate = accumulate || k0 > 0;
    op.acc_offset = size_t(m0) * N + c0;
    return op;
  };
  if (df == Dataflow::os && whole_k) {
    for (uint32_t c0 = 0; c0 < N; c0 += a.cols) {
      const uint32_t nn = std::min(a.cols, N - c0);
      for (uint32_t m0 = 0; m0 < M; m0 += a.rows) {
        for (uint32_t k0 = 0; k0 < K; k0 += a.rows) {
          const uint32_t kk = std::min(a.rows, K - k0);
          Op op = base_pass(m0, std::min(a.rows, M - m0), k0, kk, c0, nn);
          op.pass.accumulate = accumulate;
          op.pass.continue_psums = k0 > 0;
          op.pass.keep_psums = k0 + kk < K;
          emit(op, true, tile_of(k0, kk, c0, nn));
        }
      }
    }
  } else if (df == Dataflow::os) {
    for (uint32_t c0 = 0; c0 < N; c0 += a.cols) {
      const uint32_t nn = std::min(a.cols, N - c0);
      for (uint32_t k0 = 0; k0 < K; k0 += a.rows) {
        const uint32_t kk = std::min(a.rows, K - k0);
        const WeightTile tile = tile_of(k0, kk, c0, nn);
        for (uint32_t m0 = 0; m0 < M; m0 += a.rows) {
          Op op = base_pass(m0, std::min(a.rows, M - m0), k0, kk, c0, nn);
          op.pass.switch_weights = m0 == 0;
          emit(op, m0 == 0, tile);
        }
      }
    }
  } else {
    for (uint32_t m0 = 0; m0 < M; m0 += a.cols) {
      for (uint32_t k0 = 0; k0 < K; k0 += a.rows) {
        const uint32_t kk = std::min(a.rows, K - k0);
        for (uint32_t c0 = 0; c0 < N; c0 += a.cols) {
          const uint32_t nn = std::min(a.cols, N - c0);
          Op op = base_pass(m0, std::min(a.cols, M - m0), k0, kk, c0, nn);
          op.pass.switch_weights = true;
          op.pass.switch_inputs = c0 == 0;
          emit(op, true, tile_of(k0, kk, c0, nn));
        }
      }
    }
  }
  return g;
}

}  // namespace xpu::tpu::test
