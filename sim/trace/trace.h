#pragma once
// Unit-activity tracing, as the models see it: one-line calls at the points
// where a unit's busy interval is known. Header-only, so the model libraries
// need no link dependency; with no sink installed a call costs one load and
// one branch.
//
//   trace::span("mxu", "matmul", start_cycle, end_cycle);
//
// Times are the model's own cycles (TPU: tpu::Clock cycles; GPU: SM cycles =
// SystemC ns), absolute within the process. The sink (installed by the
// experiment runner for `xpusim run --trace`, see trace_event_writer.h) knows
// which run is in progress and its clock, and turns cycles into time.
#include <cstdint>
#include <string>

namespace xpu::trace {

class Sink {
 public:
  virtual ~Sink() = default;
  // `track` is a unit ("mxu", "dma_in", "sm12.slot3"); `name` what it did.
  // Intervals may arrive in any order; [begin, end) in cycles, end >= begin.
  virtual void span(const std::string& track, const std::string& name, uint64_t begin, uint64_t end) = 0;
  // The same as two halves, for units that learn an interval's end later
  // (a CTA slot); `end` closes the track's open interval.
  virtual void begin(const std::string& track, const std::string& name, uint64_t cycle) = 0;
  virtual void end(const std::string& track, uint64_t cycle) = 0;
  // From a model that knows it (the TPU controller, now and then during a
  // program that began at `program_start`): no interval reported from now
  // on begins before `cycle`, so a sink may fold what it holds up to there
  // instead of keeping every interval of a long program.
  virtual void settled(uint64_t program_start, uint64_t cycle) {
    (void)program_start;
    (void)cycle;
  }
};

// The installed sink, or nullptr (tracing off). C++17 inline variable: one
// instance across every library and the executable.
inline Sink* g_sink = nullptr;

inline bool enabled() { return g_sink != nullptr; }

inline void span(const char* track, const char* name, uint64_t begin, uint64_t end) {
  if (g_sink) g_sink->span(track, name, begin, end);
}
inline void span(const std::string& track, const std::string& name, uint64_t begin, uint64_t end) {
  if (g_sink) g_sink->span(track, name, begin, end);
}

inline void settled(uint64_t program_start, uint64_t cycle) {
  if (g_sink) g_sink->settled(program_start, cycle);
}

// GPU: a CTA occupies slot `slot` of SM `sm` (track "sm07.slot1").
inline std::string sm_slot_track(uint32_t sm, uint32_t slot) {
  std::string t = std::to_string(sm);
  if (t.size() < 2) t = "0" + t;
  return "sm" + t + ".slot" + std::to_string(slot);
}
inline void cta_start(uint32_t sm, uint32_t slot, uint32_t cta, uint64_t cycle) {
  if (g_sink) g_sink->begin(sm_slot_track(sm, slot), "cta " + std::to_string(cta), cycle);
}
inline void cta_end(uint32_t sm, uint32_t slot, uint64_t cycle) {
  if (g_sink) g_sink->end(sm_slot_track(sm, slot), cycle);
}

}  // namespace xpu::trace
