#pragma once
// Value Change Dump (IEEE 1364 section 18) of a PE-level systolic array's
// registers: for every PE(r, c) its active weight, activation and partial-sum
// registers as 32-bit vectors (raw bits: int8/int32 sign-extended as stored
// by the PE engine, bf16/fp16 in the low half, fp32 bits for partial sums),
// scoped tpu.<label>.pe_r<r>_c<c>. Our own writer, not sc_trace: the PE
// engine is plain C++ (no sc_signals), and its registers are sampled by
// array_observer.h after every systolic step.
//
// Time: `$timescale 1ps`, one cycle = round(1e6 / clock_mhz) ps, so viewers
// (GTKWave, Surfer) show real time; a `cycle` signal carries the cycle count.
// Only changes are written. Opens GTKWave-compatible files.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "models/tpu/mxu_array.h"

namespace xpu::trace {

class VcdWriter {
 public:
  // Writes to `path` + ".tmp", renamed to `path` by close(). At most
  // `max_changes` value changes are written; later samples are counted and
  // a $comment records the truncation.
  VcdWriter(const std::string& path, uint32_t rows, uint32_t cols, double clock_mhz, const std::string& scope,
            uint64_t max_changes = 20'000'000);
  ~VcdWriter();
  VcdWriter(const VcdWriter&) = delete;
  VcdWriter& operator=(const VcdWriter&) = delete;

  uint32_t rows() const { return rows_; }
  uint32_t cols() const { return cols_; }
  // Registers as of `cycle` (non-decreasing; equal cycles overwrite).
  void sample(uint64_t cycle, const tpu::PeRegisterView& v);
  // Finishes the file and renames it into place. Throws std::runtime_error.
  void close();
  uint64_t changes() const { return changes_; }
  uint64_t samples() const { return samples_; }
  bool truncated() const { return truncated_; }

 private:
  std::string id(size_t index) const;
  void header();

  std::string path_, tmp_;
  FILE* f_ = nullptr;
  uint32_t rows_, cols_;
  uint64_t ps_per_cycle_;
  std::string scope_;
  uint64_t max_changes_;
  std::vector<uint32_t> last_;  // 3 per PE: weight, activation, psum
  bool started_ = false, truncated_ = false;
  uint64_t last_cycle_ = 0, changes_ = 0, samples_ = 0;
};

}  // namespace xpu::trace
