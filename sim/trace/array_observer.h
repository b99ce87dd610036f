#pragma once
// Per-cycle observation of the PE-level array during a real run, outside the
// engine files: install_array_observer() sets the MXU's engine hook
// (array_hook.h) so every engine the MXU creates is wrapped. The wrapper
// forwards every call, but brings the engine forward one systolic step at a
// time (advance_to(next_event()) until the requested cycle), which is the
// same computation as one advance_to(now) -- the engine contract returns the
// same completions, each once, in cycle order -- and after each step hands
// the PE registers to the current VcdWriter, if any.
#include "sim/trace/vcd_writer.h"

namespace xpu::trace {

void install_array_observer();
void remove_array_observer();
// Where samples go now (nullptr: none). The runner sets it per run; an
// engine whose shape differs from the writer's is not sampled.
void set_current_vcd(VcdWriter* vcd);
VcdWriter* current_vcd();

}  // namespace xpu::trace
