#pragma once
// The activation unit (activate): reads accumulator rows, applies `fn`,
// converts to out_dtype and writes unified-buffer rows.
//
// Timing (activation_unit.cpp): an activate starts at max(issue, its
// dependencies' completion, previous activate's completion) and takes
//   latency_cycles + rows * max(ceil(n / elements_per_cycle),
//                               ceil(n * out_bytes / write_bytes_per_cycle))
// cycles: one row per max(...) cycles, limited by the unit's width and by
// the UB write port, on which the unit has priority (it reserves
// ceil(n * out_bytes / row_cycles) bytes per cycle over its row-streaming
// cycles, after the pipeline latency). One activate at a time.
//
// Numerics (applied when the instruction starts; dependencies guarantee the
// accumulators and the destination are not touched by anyone else until it
// completes). Each accumulator row is int32 or fp32 (its tag, accumulators.h):
// - relu: int32 x < 0 -> 0; fp32 x < 0 -> +0 (so -0, NaN pass unchanged,
//   -Inf -> +0); none: unchanged.
// - out_dtype int32 or fp32: the 4 raw bytes (no conversion).
// - bf16 / fp16: the value as fp32 (int32 rows converted to fp32 with
//   round-to-nearest-even), then RNE to bf16 / fp16 (sim/numerics).
// - int8: y = fp32(value) * scale (one fp32 rounding), then
//   sat(round_half_even(y)) to [-128, 127] (int8_quant.h: quantize(y, 1));
//   +-Inf saturate, NaN -> 0 (a quantizer must give a number; 0 is what
//   common hardware conversions produce).
// Counters: tpu.act.busy_cycles, elements, ops.relu; UB write bytes,
// accumulator read bytes (rows * n * 4).
#include <cstdint>

#include <systemc>

#include "models/tpu/accumulators.h"
#include "models/tpu/clock.h"
#include "models/tpu/controller.h"
#include "models/tpu/mxu_array.h"
#include "models/tpu/tpu_config.h"
#include "models/tpu/unified_buffer.h"
#include "sim/stats/stats.h"

namespace xpu::tpu {

class ActivationUnit : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(ActivationUnit);
  ActivationUnit(sc_core::sc_module_name name, const TpuConfig& cfg, const Clock& clock, Controller& ctrl,
                 UnifiedBuffer& ub, Accumulators& acc, stats::Group& tpu);
  void set_fidelity(Fidelity f) { fidelity_ = f; }
  // Cycles one activate takes (the timing rule above).
  uint64_t duration(const Instruction& in) const;

  stats::Counter& busy_cycles;
  stats::Counter& elements;
  stats::Counter& relu_ops;

 private:
  void run();
  void compute(const Instruction& in);

  TpuConfig cfg_;
  const Clock& clock_;
  Controller& ctrl_;
  UnifiedBuffer& ub_;
  Accumulators& acc_;
  Fidelity fidelity_ = Fidelity::tile;
};

}  // namespace xpu::tpu
