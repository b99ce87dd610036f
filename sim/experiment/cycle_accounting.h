#pragma once
// Cycle accounting of TPU layers: every cycle of a program attributed to
// exactly one cause, so that the causes sum to the program's cycles.
//
// The units report their busy intervals as trace spans (sim/trace/trace.h),
// the MXU also its stalls, each with the cause that held its next pass back
// (mxu.h: the binding one of weights, activations, accumulators, drain).
// CycleAccounting is a trace sink that collects them while a layer runs and,
// when a program ends (its "program" span), walks its cycles once:
// - the array streams operands: mxu_compute;
// - the MXU is stalled: its cause -- weight_dram (the tile is still coming
//   from DRAM), weight_shift (shifting it in, exposed), accumulators (a
//   hazard on accumulator rows the activation unit still reads), fill_drain
//   (the array drains for a precision change or its own spacing), or, for
//   input data not yet in the unified buffer, the unit producing it:
//   vector_unit if it is busy, else host_dma if a transfer is under way,
//   else activations;
// - the MXU has nothing to do (no matmul issued yet, or after its last
//   pass): the first busy unit of fill_drain (a pass in flight), vector_unit
//   (activation/vector unit: activate, im2col copies, pooling ...), host_dma
//   (a host transfer moving data or waiting out its latency), weight_dram,
//   weight_shift; else idle (the in-order controller issuing or waiting on a
//   dependency, or nothing pending).
// Spans go on to the sink that was installed before (the --trace writer,
// the progress bar).
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sim/trace/trace.h"

namespace xpu::experiment {

class CycleAccounting : public trace::Sink {
 public:
  // Every cause, mxu_compute first.
  static const std::vector<std::string>& causes();

  // Installs itself as trace::g_sink until destroyed, forwarding to the one
  // it replaces.
  CycleAccounting();
  ~CycleAccounting() override;
  CycleAccounting(const CycleAccounting&) = delete;
  CycleAccounting& operator=(const CycleAccounting&) = delete;

  void span(const std::string& track, const std::string& name, uint64_t begin, uint64_t end) override;
  void begin(const std::string& track, const std::string& name, uint64_t cycle) override;
  void end(const std::string& track, uint64_t cycle) override;
  // Accounts the program's cycles up to `cycle` and drops the intervals
  // that end by then: what it holds stays bounded by the work in flight.
  void settled(uint64_t program_start, uint64_t cycle) override;
  // The most intervals held at once (a bound for tests).
  size_t held_peak() const { return held_peak_; }

  // Cycles per cause over every program ended so far, and their sum.
  const std::map<std::string, uint64_t>& cycles() const;
  uint64_t total() const { return total_; }

 private:
  void account(uint64_t start, uint64_t end);  // cycles [start, end) to causes

  trace::Sink* next_ = nullptr;
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> busy_;  // per interval kind (cycle_accounting.cpp)
  std::vector<uint64_t> counts_;                // per cause, in causes() order
  mutable std::map<std::string, uint64_t> cycles_;  // counts_ by name, filled by cycles()
  std::vector<uint64_t> edges_, scratch_;       // account()'s interval edges (cycle_accounting.cpp)
  std::vector<size_t> bounds_;                  // where its runs of edges begin
  uint64_t total_ = 0;
  bool open_ = false;    // a program is running and settled up to cursor_
  uint64_t cursor_ = 0;
  size_t held_ = 0, held_peak_ = 0;
};

}  // namespace xpu::experiment
