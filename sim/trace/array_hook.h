#pragma once
// A hook through which the MXU hands every array engine it creates to an
// observer (array_observer.h: per-cycle PE register waveforms as VCD).
// Header-only: the TPU model calls observe_array() without linking the trace
// library; with no hook installed the engine is returned unchanged.
#include <memory>

#include "models/tpu/mxu_array.h"
#include "sim/trace/trace.h"

namespace xpu::trace {

using ArrayHook = std::unique_ptr<tpu::ArrayEngine> (*)(std::unique_ptr<tpu::ArrayEngine>, tpu::ArrayShape);

inline ArrayHook g_array_hook = nullptr;

inline std::unique_ptr<tpu::ArrayEngine> observe_array(std::unique_ptr<tpu::ArrayEngine> engine,
                                                       tpu::ArrayShape shape) {
  return g_array_hook ? g_array_hook(std::move(engine), shape) : std::move(engine);
}

}  // namespace xpu::trace
