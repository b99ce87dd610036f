#pragma once
// The `kind: workload` YAML format, phase 2: evaluates the specs (params,
// block arguments, expressions), expands blocks and repeats, and builds the
// graph with shape inference. Stops at the first error, recorded in diags.
#include "sim/config/diagnostics.h"
#include "sim/config/document.h"
#include "sim/workload/workload.h"
#include "sim/workload/yaml_spec.h"

namespace xpu::workload::yaml {

// Limits: a `repeat:` count, and layer instances visited in all (repeats
// and block calls multiplied out, omitted `if: 0` layers included). The
// layers built are also bounded by kMaxWorkloadLayers (workload.h).
inline constexpr int64_t kMaxRepeat = 10000;
inline constexpr int64_t kMaxInstances = 100000;
// Block calls inside block calls (each level recurses).
inline constexpr int kMaxBlockDepth = 64;

// Returns false (with diagnostics) when the workload could not be built.
bool elaborate(const WorkloadSpec& spec, const config::Document& doc, config::Diagnostics& diags, Workload& out);

}  // namespace xpu::workload::yaml
