#pragma once
// TPU programs lowered ahead of the runs that use them. A sweep's driver
// lowers once per group of points whose configs agree on every value the
// lowering reads (tpu_lowering_key) and forks the points' workers, which find
// the programs here instead of lowering again: points that differ only in
// DRAM bandwidth, clock, queue depths, ... share one lowering. Timing
// fidelity only (no values: the program depends on the config and the
// workload alone). Empty unless something lowered ahead, so plain runs
// lower as always.
#include <memory>
#include <string>
#include <vector>

#include "models/tpu/tpu_config.h"
#include "sim/lowering/tpu/network.h"
#include "sim/workload/workload.h"

namespace xpu::experiment {

// The config values the TPU lowering (sim/lowering/tpu) reads: the MXU, the
// accumulators, the unified buffer's capacity, the activation unit's width
// and the name (in messages), as text. tests/experiment/test_sweep_reuse.cpp
// checks that configs differing in anything else lower to the same program.
std::string tpu_lowering_key(const tpu::TpuConfig& cfg);

// Lowers every workload at every precision for `cfg` (as a timing run with
// io `resident` lowers it) and keeps the programs. Throws LoweringError.
void prelower_tpu(const tpu::TpuConfig& cfg, const std::vector<workload::Workload>& workloads,
                  const std::vector<DType>& precisions, bool resident);

// The program prelower_tpu kept for this config, workload, precision and
// kind of lowering (standalone GEMMs with `resident`, or a network), or null.
std::shared_ptr<const lowering::NetworkPlan> prelowered_plan(const tpu::TpuConfig& cfg, const workload::Workload& w,
                                                             DType dtype, bool standalone, bool resident);
// Whether any program was kept for this config, workload and precision (it
// lowered, so the workload runs on this machine).
bool prelowered(const tpu::TpuConfig& cfg, const workload::Workload& w, DType dtype);

}  // namespace xpu::experiment
