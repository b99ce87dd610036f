#pragma once
// Prices for the GPU's counters (gpu.* of Gpu::run). The model only counts;
// these terms turn counts into pJ with an energy table:
//   register file: EnergyTable::register_file_pj(32) per 32-bit read/write;
//   tensor MACs by precision: <in>_mult + <acc>_add (energy::mac_pj);
//   FP32 pipe: fp32_add per add, fp32_mult per multiply (FFMA = one of each);
//   shared memory and L1: the SM's unified SRAM array, per byte, 32-bit banks
//     (shared) and 128-byte lines read as 64-bit words (L1);
//   L2: one slice's SRAM (capacity / slices), per byte;
//   HBM: per bit (energy::dram_bytes_pj).
// Not priced: instruction fetch/decode, scheduling, interconnect, leakage.
#include <vector>

#include "models/gpu/gpu_config.h"
#include "sim/energy/energy_model.h"

namespace xpu::gpu {

std::vector<energy::EnergyTerm> gpu_energy_terms(const GpuConfig& cfg, const energy::EnergyTable& table);

}  // namespace xpu::gpu
