#pragma once
// Test harness for the array engines: a scenario (latches and passes with
// their own data), run on any engine in one of several advance patterns, and
// random scenario builders.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "models/tpu/mxu_array.h"

namespace xpu::tpu::test {

// How a scenario's ops are fed to an engine.
enum class Drive {
  upfront,     // every op submitted, then advance_to() far in the future
  event,       // every op submitted, then advance_to(next_event()) until idle
  interleaved  // advance_to(op time) before each op, like a cycle-driven caller
};

// Element values drawn by the builders.
enum class Values {
  random,   // moderate magnitudes (rounding matters, nothing overflows)
  special,  // NaN (several payloads), +-Inf, subnormals, +-0, huge values
  huge      // finite values whose products and sums overflow (fp) / near int32 limits
};

struct Op {
  bool is_latch = false;
  WeightTile tile;    // is_latch
  uint64_t when = 0;  // is_latch
  Pass pass;          // !is_latch; pass.acc is set per run from acc_offset
  size_t acc_offset = 0;
  bool has_acc = true;
};

struct Scenario {
  ArrayShape shape;
  std::vector<Op> ops;
  std::vector<std::shared_ptr<std::vector<uint8_t>>> blobs;  // inputs and tiles
  std::vector<uint32_t> acc_init;                            // accumulator memory
  std::string name;

  const uint8_t* add_blob(std::vector<uint8_t> bytes);
};

struct RunResult {
  std::vector<Completion> done;
  std::vector<uint64_t> reported_at;  // the `now` of the advance_to() that reported each
  std::vector<uint32_t> acc;
  uint64_t pe_updates = 0;
};

RunResult run(const Scenario& sc, ArrayEngine& engine, Drive drive);

// Raw little-endian elements of `t`.
std::vector<uint8_t> random_elements(DType t, size_t count, Values v, std::mt19937_64& rng);

// A GEMM C (M x N) = [C +] A (M x K) * B (K x N) run as passes: K split into
// chunks of R rows, N into tiles of C columns; for each column tile, the
// chunks accumulate in order. Passes are pipelined: each starts at
// input_free of the previous one or at its tile's latch, which happens
// exactly at the previous switch_done. Input vectors are `gap` elements
// apart beyond K (exercises input_stride).
struct GemmCase {
  Scenario sc;
  DType dtype = DType::int8;
  uint32_t M = 0, K = 0, N = 0;
  bool accumulate = false;
  std::vector<uint8_t> A, B;  // dense row-major
  // The expected accumulator words from ref_gemm_int8 / ref_gemm_f16 with
  // k_chunk = rows (the chunked accumulation of the passes), or k_chunk when
  // set (output-stationary whole-K chains: k_chunk = K).
  uint32_t k_chunk = 0;
  std::vector<uint32_t> expected() const;
};
GemmCase gemm_case(const ArrayShape& a, DType t, uint32_t step, uint32_t M, uint32_t K,
                   uint32_t N, Values v, uint64_t seed, bool accumulate = false,
                   uint32_t gap = 0);

// A random pipelined sequence: passes start back to back at input_free of
// the previous one, switching passes wait for a tile latched exactly at the
// previous switch_done, some passes reuse the active tile, accumulate is
// random, accumulator regions overlap, tile and pass k/n sometimes differ;
// with change_dtype, the dtype changes mid-way (after the array drains).
Scenario random_sequence(const ArrayShape& a, DType t, uint32_t step, int passes, Values v,
                         uint64_t seed, bool change_dtype = false);

// Index of the first differing word, or -1.
long first_difference(const std::vector<uint32_t>& x, const std::vector<uint32_t>& y);

std::string describe(const Completion& c);

}  // namespace xpu::tpu::test
