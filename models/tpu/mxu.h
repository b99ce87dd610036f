#pragma once
// The SystemC MXU: decides when each matmul pass enters the systolic array
// and drives an ArrayEngine (mxu_array.h) at the selected fidelity.
//
// Timing rules (mxu.cpp):
// - Effective step of a precision: step = max(mxu.step_<dtype>,
//   ceil(rows * dtype_bytes / unified_buffer.read_bytes_per_cycle)): the
//   array takes one full input row (mxu.rows elements) per step, and the UB
//   read port must deliver it. Fixed per precision (not per pass), so passes
//   of one precision never need the array to drain.
// - Weights (double_buffer_weights: true): tile j (FIFO order) is shifted
//   into the array's separate shift chain from
//     shift_start_j = max(arrival_j, latch_{j-1})        (chain free)
//   for mxu.weight_load_cycles, and latched into the standby registers at
//     latch_j = max(shift_end_j, switch_done(pass that switched to tile j-1)).
//   Shifts are scheduled as soon as their inputs are known, independently of
//   the matmul instructions (the FIFO order fixes which tile comes next).
//   Its FIFO slot frees at shift_end_j.
// - Weights (double_buffer_weights: false): one weight register per PE. The
//   shift of tile j starts once the matmul that loads it is at the head of
//   the MXU queue (issued, previous pass dispatched; its input data need not
//   be ready) and every earlier pass has completed:
//     shift_start_j = max(arrival_j, completion of all earlier passes, head)
//   and latch_j = max(shift_end_j, switch_done(previous switching pass)).
// - Pass i starts at
//     start = align_up(max(issue, latch_i if it loads weights,
//                          input_free(pass i-1), its dependencies' completion,
//                          drained if its precision differs), step)
//   where drained = max(completion of every earlier pass, switch_done of the
//   last switching pass) -- the array's own rule (mxu_array.h), slightly
//   stricter than "the previous pass completed" when a later, shorter pass
//   completes first or a weight switch wavefront is still in flight.
//   Completion and switch_done are the array's closed forms; the engine
//   reports completions (tile: next_event/advance_to; PE: by stepping every
//   PE), and they are checked against the closed form.
// - Accounting between passes (all in cycles, they add up to the program's
//   cycles together with busy_cycles): from input_free(previous pass) (or
//   program start) to the pass's issue: idle_cycles (nothing queued); then
//   to the latest of the other terms, attributed to the binding one (ties:
//   weights, activations, accumulators, drain): weights are split into
//   stall.weights_dram (until the tile arrived from DRAM) and
//   stall.weights_shift (shift and latch); UB dependencies are
//   stall.activations; accumulator-only dependencies (WAR against activate)
//   stall.accumulators; a precision change stall.drain; the rest up to
//   start (alignment to the step) stall.drain. busy_cycles += m * step per
//   pass; after the last pass, idle until the program ends.
// - mxu.fold_overlap false: a pass that begins a fold (WS: switches weights;
//   IS: switches inputs; OS: does not continue partial sums) waits until the
//   previous pass has cleared the array (array_clear, mxu_array.h: all C
//   columns with mxu.fold_clear_all_columns, else the columns it used); with
//   single-buffered weights the shift of its tile waits for that instead of
//   the previous completions. The wait counts as stall.drain.
// - IS inputs take mxu.input_load_cycles to shift in when it is not 0; they
//   are not reused across programs (the host may rewrite the unified buffer
//   in between).
// - array_window_cycles: per program, from the first cycle the array works
//   (the first fold's stationary load into the PEs -- WS weight shift, IS
//   input load -- or else its first pass's start) to the last array_clear
//   over all C columns.
// Fidelity: tile (default), pe, timing (no values: null data pointers). With
// values the MXU wakes at the closed-form completion times and marks them
// (in PE fidelity the engine is stepped up to each wake-up and must report
// the completion at exactly that cycle); timing fidelity hands the closed
// form to the controller at dispatch, which marks it at the same cycle, so
// every unit sees the same completions without a wake of the MXU per pass.
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include <systemc>

#include "models/tpu/accumulators.h"
#include "models/tpu/clock.h"
#include "models/tpu/controller.h"
#include "models/tpu/mxu_array.h"
#include "models/tpu/tpu_config.h"
#include "models/tpu/unified_buffer.h"
#include "models/tpu/weight_fifo.h"
#include "sim/stats/stats.h"

namespace xpu::tpu {

class Mxu : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Mxu);
  Mxu(sc_core::sc_module_name name, const TpuConfig& cfg, const Clock& clock, Controller& ctrl,
      WeightFifo& fifo, UnifiedBuffer& ub, Accumulators& acc, stats::Group& tpu);

  // Between runs only: a new engine (the array's registers start empty).
  void set_fidelity(Fidelity f);
  Fidelity fidelity() const { return fidelity_; }
  bool supports(DType t) const;
  uint32_t step(DType t) const;  // effective cycles per systolic step
  const ArrayEngine& engine() const { return *engine_; }
  // Controller hook at halt: idle from the last pass's input_free to the end.
  void end_program(uint64_t start, uint64_t end);

  stats::Counter& busy_cycles;
  stats::Counter& idle_cycles;
  stats::Counter& stall_weights_dram;
  stats::Counter& stall_weights_shift;
  stats::Counter& stall_activations;
  stats::Counter& stall_accumulators;
  stats::Counter& stall_drain;
  stats::Counter& mac_int8;
  stats::Counter& mac_bf16;
  stats::Counter& mac_fp16;
  stats::Counter& passes;
  stats::Counter& weight_tiles;
  stats::Counter& array_window_cycles;

 private:
  struct InFlight {
    uint64_t id;
    uint32_t index;
    uint64_t completion;
  };

  void run();
  void schedule_weights();
  bool schedule_head();
  void retire();
  void latch(uint64_t seq, uint64_t when);

  TpuConfig cfg_;
  ArrayShape shape_;
  const Clock& clock_;
  Controller& ctrl_;
  WeightFifo& fifo_;
  UnifiedBuffer& ub_;
  Accumulators& acc_;
  Fidelity fidelity_ = Fidelity::tile;
  std::unique_ptr<ArrayEngine> engine_;
  std::vector<InFlight> inflight_;
  uint64_t next_pass_id_ = 0;

  // Array state, in cycles (carried over between programs).
  bool have_prev_ = false;
  DType prev_dtype_ = DType::int8;
  uint64_t prev_input_free_ = 0;
  uint64_t max_completion_ = 0;
  uint64_t last_switch_done_ = 0;
  uint64_t last_latch_ = 0;
  uint64_t shifted_ = 0;   // tiles whose shift is scheduled
  uint64_t latched_ = 0;   // tiles latched into standby
  uint64_t switched_ = 0;  // passes that switched weights (tiles consumed)
  uint64_t last_dispatch_ = 0;  // cycle the previous pass was dispatched
  uint64_t last_clear_ = 0;      // latest array_clear of any pass (fold_clear_all_columns)
  uint64_t last_clear_all_ = 0;  // the same over all C columns (array_window_cycles)
  bool window_open_ = false;    // array_window_cycles of the running program
  uint64_t window_start_ = 0;
  Pass prev_pass_;              // for earliest_start (OS drain-chain spacing)
  bool have_drain_ = false;     // OS: the last pass that drained (kept no psums)
  Pass last_drain_pass_;
  std::map<uint32_t, uint32_t> pending_;  // instruction index -> folds in flight
  // IS stationary inputs: the active tile's UB source and load, the input
  // shift chain, the last input switch wavefront.
  bool have_inputs_ = false;
  uint64_t inputs_src_ = 0, inputs_stride_ = 0, inputs_loaded_ = 0;
  uint32_t inputs_m_ = 0, inputs_k_ = 0;
  DType inputs_dtype_ = DType::int8;
  uint64_t inputs_chain_free_ = 0, last_inputs_switch_done_ = 0;

  sc_core::sc_event never_;
  // What run() waits on, built once (an or-list made at each trigger
  // allocates).
  sc_core::sc_event_or_list on_push_, on_deps_;
  bool failed_ = false;
};

}  // namespace xpu::tpu
