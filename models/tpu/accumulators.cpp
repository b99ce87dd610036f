#include "models/tpu/accumulators.h"

namespace xpu::tpu {

Accumulators::Accumulators(const AccumulatorConfig& cfg, uint32_t cols, stats::Group& g)
    : read_bytes(g.counter("read_bytes", stats::Unit::bytes,
                           "accumulator bytes read (MXU accumulate reads + activation reads)")),
      write_bytes(g.counter("write_bytes", stats::Unit::bytes, "accumulator bytes written by the MXU")),
      cfg_(cfg),
      cols_(cols),
      tags_(cfg.entries, DType::int32) {}

uint32_t* Accumulators::row(uint32_t r) {
  if (!data_) data_.reset(new uint32_t[size_t(cfg_.entries) * cols_]());
  return data_.get() + size_t(r) * cols_;
}

void Accumulators::set_row_type(uint32_t first, uint32_t count, DType t) {
  for (uint32_t i = 0; i < count && first + i < tags_.size(); ++i) tags_[first + i] = t;
}

}  // namespace xpu::tpu
