#pragma once
// The TPU-like core (after TPU v1, Jouppi et al., ISCA 2017) as one SystemC
// module: controller, weight FIFO + fetcher, MXU (systolic array engine),
// activation unit, two DMA engines, the weight DRAM, unified buffer and
// accumulators. Event-driven: no free-running clock; every unit sleeps until
// it has work, and all timestamps are integer cycles (clock.h).
//
// Construct once per process (SystemC elaborates once), then run many
// programs; simulated time carries over from one program to the next.
//
//   Tpu tpu(cfg);                              // owns a "tpu" stats group
//   tpu.weights().write(0, tile.data(), tile.size());
//   tpu.host().write(0, x.data(), x.size());
//   RunResult r = tpu.run(program);            // validates, then simulates
//   r.cycles, r.stats.get("tpu.mxu.mac.int8")
//
// Timing rules: controller.h, weight_fifo.h, mxu.h, activation_unit.h,
// dma.h, dram.h, unified_buffer.h.
#include <cstdint>
#include <memory>
#include <string>

#include <systemc>

#include "models/tpu/accumulators.h"
#include "models/tpu/activation_unit.h"
#include "models/tpu/clock.h"
#include "models/tpu/controller.h"
#include "models/tpu/dma.h"
#include "models/tpu/dram.h"
#include "models/tpu/host_memory.h"
#include "models/tpu/isa.h"
#include "models/tpu/mxu.h"
#include "models/tpu/mxu_array.h"
#include "models/tpu/tpu_config.h"
#include "models/tpu/unified_buffer.h"
#include "models/tpu/weight_fifo.h"
#include "sim/stats/stats.h"

namespace xpu::tpu {

struct RunResult {
  std::string program;
  uint64_t start_cycle = 0;  // absolute cycle the program started at
  uint64_t end_cycle = 0;    // cycle halt issued (everything completed)
  uint64_t cycles = 0;       // end - start
  double seconds = 0;        // cycles x TpuConfig::cycle_ns()
  stats::Snapshot stats;     // counters of this program (delta); formulas cumulative
};

class Tpu : public sc_core::sc_module {
 public:
  // Owns a root stats group named "tpu" (paths "tpu.mxu.busy_cycles", ...).
  explicit Tpu(const TpuConfig& cfg, sc_core::sc_module_name name = "tpu");
  // Registers the "tpu" group under `parent`.
  Tpu(const TpuConfig& cfg, stats::Group& parent, sc_core::sc_module_name name = "tpu");
  ~Tpu() override;

  HostMemory& host() { return host_; }
  WeightMemory& weights() { return weights_; }
  UnifiedBuffer& unified_buffer() { return ub_; }
  Accumulators& accumulators() { return acc_; }

  // Between runs. tile (default), pe (every PE stepped), timing (no values:
  // the array gets null data pointers and DMA/activation move no data; the
  // timing is identical). A change gives the array a fresh engine.
  void set_fidelity(Fidelity f);
  Fidelity fidelity() const { return fidelity_; }
  // Between runs: whether the weights and/or the data behind the DMA
  // engines sit in the CMEM (the lowering's placement; dram.h). No effect
  // without a CMEM.
  void place_in_cmem(bool weights, bool dma) { dram_->place_in_cmem(weights, dma); }

  // Validates (std::invalid_argument naming the instruction index and its
  // assembly line), then simulates until the program halts. Throws
  // std::runtime_error on a deadlock (the kernel ran out of events before
  // halt) and std::logic_error on an internal inconsistency; the Tpu is not
  // usable after either.
  RunResult run(const Program& program);
  // A program that streams (program_source.h): each instruction is checked
  // as it is fetched, so a bad one stops the run part way (InternalError,
  // naming it, as validate() would; the Tpu is not usable after it). Host
  // memory stays bounded whatever the program's length.
  RunResult run(ProgramSource& program);
  // A program fed while it runs (program_source.h): start() simulates until
  // the controller asks for more (hungry()) or the program halts; resume()
  // after pushing at least 2 * Controller::kFetchChunk instructions (or
  // closing the feed); finish() once it halted. Checked as run().
  void start(ProgramFeed& feed);
  bool hungry() const { return ctrl_->wants_more(); }
  void resume();
  RunResult finish();
  // The static checks alone (program_check.h).
  void validate(const Program& program) const;

  stats::Group& stats() { return *stats_; }
  const TpuConfig& config() const { return cfg_; }
  uint64_t now_cycles() const { return clock_.now(); }
  const Mxu& mxu() const { return *mxu_; }
  const Controller& controller() const { return *ctrl_; }
  const ArrayEngine& array() const { return mxu_->engine(); }

 private:
  void build();
  RunResult simulate(ProgramSource& program, ProgramChecker* checker);
  void begin(ProgramSource& program, ProgramChecker* checker);
  void kernel();  // runs it until halt, a pause for more, or a failure
  RunResult end();
  std::unique_ptr<ProgramChecker> feed_checker_;
  stats::Snapshot before_;
  std::string running_;

  TpuConfig cfg_;
  std::unique_ptr<stats::Group> own_stats_;
  stats::Group* stats_;
  Clock clock_;
  Fidelity fidelity_ = Fidelity::tile;
  HostMemory host_;
  WeightMemory weights_;
  UnifiedBuffer ub_;
  Accumulators acc_;
  std::unique_ptr<Dram> dram_;
  std::unique_ptr<Controller> ctrl_;
  std::unique_ptr<WeightFifo> fifo_;
  std::unique_ptr<Mxu> mxu_;
  std::unique_ptr<ActivationUnit> act_;
  std::unique_ptr<Dma> dma_in_;
  std::unique_ptr<Dma> dma_out_;
  bool broken_ = false;
};

}  // namespace xpu::tpu
