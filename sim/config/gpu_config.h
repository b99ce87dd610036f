#pragma once
// YAML -> GpuConfig (models/gpu/gpu_config.h). The only code that reads a GPU
// config file. Strict like every loader: unknown keys (with a "did you
// mean"), wrong types and out-of-range values are reported with
// file:line:col and key path, all in one ConfigError.
//
// Layout (`kind: gpu` required; a missing key keeps the V100 default):
//   name, description, clock_mhz, sms, sub_cores
//   sub_core:    scheduler (gto|lrr), fp32/int32/fp64/sfu/ldst: {lanes, latency},
//                branch_latency, tensor_cores, register_file_bytes, register_banks
//   tensor_core: mma (volta_hmma884 | ampere_mma_sync), fma_per_clock, ii_f32_acc,
//                ii_f16_acc, latency_f32_acc, latency_f16_acc, fp16, bf16, int8,
//                ii_int8, latency_int8, tf32, ii_tf32, latency_tf32, sparse_2_4
//   shared:      unified_bytes, max_shared_bytes, banks, bank_bytes, latency
//   l1:          line_bytes, sector_bytes, assoc, latency, bytes_per_cycle
//   l2:          capacity_bytes, slices, line_bytes, assoc, latency, bytes_per_cycle_per_slice,
//                partitions (1 | 2), far_extra_latency
//   dram:        channels, bandwidth_gbps, efficiency, latency, interleave_bytes
//   occupancy:   max_warps, max_ctas, max_threads, max_registers,
//                max_registers_per_thread, register_alloc_unit, shared_alloc_unit
//   sim:         quantum, cta_launch_cycles, barrier_latency
#include <string>
#include <vector>

#include "models/gpu/gpu_config.h"
#include "sim/config/reader.h"

namespace xpu::config {

// Types the document behind `r`; records problems, does not throw.
gpu::GpuConfig parse_gpu_config(Reader& r);

// Loads `path`, applies "-p key.path=value" overrides, types it.
// Throws ConfigError listing every problem found.
gpu::GpuConfig load_gpu_config(const std::string& path, const std::vector<std::string>& overrides = {});

}  // namespace xpu::config
