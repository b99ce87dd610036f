#pragma once
// Collects unit-activity spans (trace.h) and writes them as Chrome/Perfetto
// trace-event JSON ("JSON Array Format" inside {"traceEvents": [...]}), which
// chrome://tracing and ui.perfetto.dev open directly.
//
// One process (pid) per run (accelerator x workload x precision), one thread
// (tid) per unit track ("program", "mxu", "weight_fetch", "weight_shift",
// "dma_in", "dma_out", "activation", "sm0.slot0", ...). Every span becomes a
// complete event ("ph": "X") with ts/dur in microseconds of simulated time,
// measured from the run's first span, and args {begin_cycle, end_cycle}.
// Output is deterministic: spans are sorted by (track, begin, end, name).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/trace/trace.h"

namespace xpu::trace {

class TraceEventWriter : public Sink {
 public:
  // At most `max_spans` spans in all; further ones are counted as dropped
  // (reported in the file's otherData) so a huge run cannot exhaust memory.
  explicit TraceEventWriter(size_t max_spans = 4'000'000) : max_spans_(max_spans) {}

  // Spans from now on belong to this run; `clock_mhz` converts its cycles.
  void begin_run(const std::string& label, double clock_mhz);
  void end_run() { current_ = -1; }
  void span(const std::string& track, const std::string& name, uint64_t begin, uint64_t end) override;
  void begin(const std::string& track, const std::string& name, uint64_t cycle) override;
  void end(const std::string& track, uint64_t cycle) override;

  size_t spans() const { return total_; }
  size_t dropped() const { return dropped_; }
  std::string json() const;

 private:
  struct Span {
    std::string track, name;
    uint64_t begin = 0, end = 0;
  };
  struct Run {
    std::string label;
    double clock_mhz = 1;
    std::vector<Span> spans;
    std::map<std::string, Span> open;  // begin() without end() yet, by track
  };
  std::vector<Run> runs_;
  long current_ = -1;
  size_t max_spans_;
  size_t total_ = 0, dropped_ = 0, outside_ = 0;
};

}  // namespace xpu::trace
