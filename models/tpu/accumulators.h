#pragma once
// Accumulator memory: `entries` rows of mxu.cols 32-bit words holding int32
// (int8 passes) or fp32 bits (bf16/fp16 passes). Allocated zeroed on first
// use, then at a fixed address (array passes hold pointers into it).
//
// Each row carries a tag with the type it holds, set by the matmul that last
// wrote it (in program order, when the pass is dispatched): the activation
// unit reads the tag to interpret the bits. Rows never written hold int32
// zeros. Timing-only runs keep the tags too (no values).
#include <cstdint>
#include <memory>
#include <vector>

#include "models/tpu/tpu_config.h"
#include "sim/numerics/mac.h"
#include "sim/stats/stats.h"

namespace xpu::tpu {

class Accumulators {
 public:
  Accumulators(const AccumulatorConfig& cfg, uint32_t cols, stats::Group& group);

  uint32_t entries() const { return cfg_.entries; }
  uint32_t cols() const { return cols_; }
  uint32_t* row(uint32_t r);  // allocates on first use
  bool allocated() const { return data_ != nullptr; }

  // int32 or fp32.
  DType row_type(uint32_t r) const { return tags_[r]; }
  void set_row_type(uint32_t first, uint32_t count, DType t);

  stats::Counter& read_bytes;
  stats::Counter& write_bytes;

 private:
  AccumulatorConfig cfg_;
  uint32_t cols_;
  std::unique_ptr<uint32_t[]> data_;
  std::vector<DType> tags_;
};

}  // namespace xpu::tpu
