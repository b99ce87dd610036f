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
//
// Network extensions.
// activate with bias / in_scale / fn beyond relu (isa.h): v = acc (+ bias,
//   int32 wrap-around add for int32 rows, fp32 add for fp32 rows), x =
//   fp32(v) * in_scale, y = fn(x) (apply_act_fn: the reference executor's
//   formulas), then out_dtype as above (int8: sat(rne(y * scale))). Raw
//   int32/fp32 output is only for fn none/relu without bias (program_check).
//   Cycles per row: max(ceil(n * passes(fn) / elements_per_cycle), write
//   port), with passes(fn) below (none, relu: 1, so old programs keep their
//   timing). The bias row (n * 4 bytes) is read once per instruction.
// vector (UB -> UB, isa.h): lanes L = elements_per_cycle.
//   passes(fn): each function's row in act_fn.cpp, e.g. none, relu, relu6,
//     clip 1 (a select shares the op's pass); sigmoid, tanh passes_exp +
//     passes_reciprocal + 1; gelu (erf) passes_erf + 1; gelu_tanh
//     passes_exp + passes_reciprocal + 2.
//   Data movement (copy with fn none, fill, transpose): the UB crossbar packs
//     short rows, so stream = max(ceil(rows * n / L), ceil(read bytes /
//     read_bytes_per_cycle), ceil(write bytes / write_bytes_per_cycle)).
//   Elementwise ops (act, copy with fn, add, mul, max, scale_shift, rope:
//     3 passes, its cos/sin row of k values read per row): the
//     lanes do not care which row an element came from, so rows are packed:
//     stream = max(ceil(rows * n * passes(fn) / L), ceil(read bytes /
//     read_bytes_per_cycle), ceil(write bytes / write_bytes_per_cycle)),
//     read bytes counting B once when it is broadcast (stride2 0, or the
//     scale/shift rows).
//   Row ops, per row (one row is one vector through the lanes):
//     softmax: (2 + passes_exp) sweeps (max; subtract+exp with the running
//       sum; multiply by the reciprocal) + passes_reciprocal once per row;
//     layernorm: 3 sweeps (sum; (x-mean)^2 sum; normalize) + 1 with the
//       affine rows, + passes_rsqrt once per row;
//     moments: layernorm's first 2 sweeps + passes_rsqrt once per row (it
//       writes 2 values per row: the mean and 1 / sqrt(var + eps));
//     rmsnorm: 2 sweeps (square-sum; normalize and scale) + passes_rsqrt
//       once per row, the scale row read once;
//     argmax: 1 sweep (compare and select), one value written per row;
//     row cycles = max(sweeps * ceil(n / L) + per-row scalar cycles,
//       ceil(row read bytes / read port), ceil(row write bytes / write port));
//     stream = rows * row cycles.
//   A vector starts at max(issue, dependencies, the previous instruction's
//   stream end when that was a vector, its completion when it was an
//   activate); it completes latency_cycles after its stream ends (back-to-
//   back vectors pipeline; an activate still waits for the unit to be idle).
//   It reserves the UB read and write ports at ceil(bytes / stream) per
//   cycle over its stream (it shares the MXU's priority on the read port).
//   Counters: tpu.act.vector_ops (instructions), vector_elements (rows * n;
//   moments rows * 2),
//   fp32_adds and fp32_mults: the arithmetic per element, priced by
//   tpu_energy.h: add/max 1 add; mul 1 mult; scale_shift 1+1; plus the
//   function's (act_fn.cpp rows: relu 1 add (compare), relu6/clip 2 adds;
//   exp 8 mult + 8 add (range reduction + degree-6 Horner); reciprocal /
//   rsqrt 3 mult + 2 add (two Newton steps); erf 6 mult + 6 add + exp +
//   reciprocal (Abramowitz-Stegun 7.1.26); sigmoid exp + reciprocal + 1 add;
//   tanh exp + reciprocal + 2 add + 1 mult; gelu erf + 3 mult + 1 add;
//   gelu_tanh tanh + 5 mult + 2 add);
//   softmax per element 3 add (max, subtract, sum) + exp + 1 mult and per row
//   one reciprocal; rmsnorm per element 1 add + 3 mult and per row one
//   rsqrt; rope per element 1 add + 2 mult; argmax per element 1 add
//   (compare); layernorm per element 4 add + 2 mult (+1 + 1 affine) and
//   per row one rsqrt; moments per element 3 add + 1 mult (sum, subtract,
//   square, accumulate) and per row one rsqrt; copy/fill/transpose no
//   arithmetic. Every element
//   also counts in tpu.act.elements (its conversion datapath).
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
  // A vector's stream cycles (without the pipeline latency) and work.
  struct VectorWork {
    uint64_t stream_cycles = 0;
    uint64_t read_bytes = 0, write_bytes = 0;
    uint64_t fp32_adds = 0, fp32_mults = 0;
  };
  VectorWork vector_work(const Instruction& in) const;

  stats::Counter& busy_cycles;
  stats::Counter& elements;
  stats::Counter& relu_ops;
  stats::Counter& vector_ops;
  stats::Counter& vector_elements;
  stats::Counter& fp32_adds;
  stats::Counter& fp32_mults;

 private:
  void run();
  void compute(const Instruction& in);
  void compute_vector(const Instruction& in);
  void run_vector(const Issued& e);

  TpuConfig cfg_;
  const Clock& clock_;
  Controller& ctrl_;
  UnifiedBuffer& ub_;
  Accumulators& acc_;
  Fidelity fidelity_ = Fidelity::tile;
  uint64_t stream_free_ = 0;      // the previous vector's stream end
  uint64_t last_completion_ = 0;  // the previous instruction's completion
  bool last_was_vector_ = false;
};

// Passes one element takes through the lanes for `fn` (rules above).
uint32_t act_fn_passes(const ActivationConfig& cfg, ActFn fn);

}  // namespace xpu::tpu
