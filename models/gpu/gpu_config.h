#pragma once
// Typed configuration of the GPU-like device. Filled from YAML by
// sim/config/gpu_config.cpp (the only code that reads it); models see only
// this struct. Defaults are the NVIDIA V100 (Volta) values of
// configs/accelerators/v100.yaml, where each value's source is given.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sim/common/interconnect_spec.h"
#include "sim/energy/machine_energy.h"

namespace xpu::gpu {

enum class SchedPolicy { gto, lrr };  // greedy-then-oldest, loose round-robin

// One SIMT pipeline of a sub-core: `lanes` threads start per cycle, so a warp
// instruction occupies it 32 / lanes cycles; results are ready `latency`
// cycles after issue.
struct PipeConfig {
  uint32_t lanes = 16;
  uint32_t latency = 4;
  uint32_t issue_cycles() const { return lanes >= 32 ? 1 : (32 + lanes - 1) / lanes; }
};

struct SubCoreConfig {
  SchedPolicy scheduler = SchedPolicy::gto;
  PipeConfig fp32{16, 4};
  PipeConfig int32{16, 4};
  PipeConfig fp64{8, 8};
  PipeConfig sfu{4, 18};
  PipeConfig ldst{8, 4};        // address generation; latency is the memory level's
  uint32_t branch_latency = 4;  // cycles before a warp's next instruction after BRA
  uint32_t tensor_cores = 2;
  uint64_t register_file_bytes = 64 << 10;
  uint32_t register_banks = 2;  // operand reads of one instruction in one bank serialise
};

// Tensor-core instruction shapes the model implements. Each is described by
// an MmaShape (models/gpu/mma_shape.h: warp tile, fragment layouts, the
// decomposition into tensor-core instructions, their values); the config
// names one (tensor_core.mma).
enum class MmaKind : uint8_t {
  volta_hmma884,    // wmma m16n16k16 as Volta's HMMA.884 sets and steps (Raihan et al., ISPASS 2019)
  ampere_mma_sync,  // Ampere mma.sync m16n8k16 (fp16/bf16), m16n8k8 (tf32), m16n8k32 (int8), one instruction each
  count
};
inline const char* mma_kind_name(MmaKind k) {
  static const char* const names[] = {"volta_hmma884", "ampere_mma_sync"};
  static_assert(sizeof(names) / sizeof(names[0]) == static_cast<size_t>(MmaKind::count), "one name per MmaKind");
  return names[static_cast<int>(k)];
}

// Tensor cores of a sub-core: the instruction shape (mma) and the timing of
// its instructions. On Volta a wmma m16n16k16 is 4 HMMA sets of 4 steps
// (fp32 accumulation) or 2 (fp16); ii and latency are per step.
struct TensorCoreConfig {
  MmaKind mma = MmaKind::volta_hmma884;
  uint32_t fma_per_clock = 64;  // 4x4x4 per tensor core per clock
  uint32_t ii_f32_acc = 2;  // cycles a step occupies the sub-core's tensor cores
  uint32_t ii_f16_acc = 4;
  uint32_t latency_f32_acc = 13;  // cycles from issue of a step to its accumulators
  uint32_t latency_f16_acc = 14;
  bool fp16 = true;
  bool bf16 = false;  // Volta has no bf16 tensor path (Ampere does)
  bool int8 = false;  // Volta has no integer tensor path (Turing IMMA does)
  uint32_t ii_int8 = 1;
  uint32_t latency_int8 = 12;
  bool tf32 = false;  // tf32 inputs (fp32 registers) on the tensor cores (Ampere)
  uint32_t ii_tf32 = 8;
  uint32_t latency_tf32 = 32;
  bool sparse_2_4 = false;  // mma.sp with 2:4 structured-sparse A (Ampere): twice the MACs per instruction
};

struct SharedMemoryConfig {
  uint64_t unified_bytes = 128 << 10;    // L1 + shared memory array per SM
  uint64_t max_shared_bytes = 96 << 10;  // largest shared-memory carve-out
  uint32_t banks = 32;
  uint32_t bank_bytes = 4;
  uint32_t latency = 19;  // LDS load-to-use, no conflicts
};

struct L1Config {
  uint32_t line_bytes = 128;
  uint32_t sector_bytes = 32;
  uint32_t assoc = 4;
  uint32_t latency = 28;          // load-to-use on a hit
  uint32_t bytes_per_cycle = 128;  // SM data path (shared with shared memory)
};

struct L2Config {
  uint64_t capacity_bytes = 6 << 20;
  uint32_t slices = 64;
  uint32_t line_bytes = 128;
  uint32_t assoc = 16;
  uint32_t latency = 210;          // load-to-use from the SM on an L2 hit (in its near partition)
  double bytes_per_cycle_per_slice = 22.0;
  // A100-style split L2: `partitions` halves, each the home of half the
  // lines (by address hash) and near to half the SMs; a request to a line
  // whose home is the other partition pays far_extra_latency more (crossbar).
  uint32_t partitions = 1;
  uint32_t far_extra_latency = 0;
};

struct DramConfig {
  uint32_t channels = 32;
  double bandwidth_gbps = 900.0;
  double efficiency = 0.83;  // sustainable fraction of the pin bandwidth
  uint32_t latency = 194;    // added to the L2 latency on a miss
  uint32_t interleave_bytes = 256;
};

struct OccupancyConfig {
  uint32_t max_warps = 64;
  uint32_t max_ctas = 32;
  uint32_t max_threads = 2048;
  uint32_t max_registers = 65536;
  uint32_t max_registers_per_thread = 255;
  uint32_t register_alloc_unit = 256;  // per warp
  uint32_t shared_alloc_unit = 256;
};

// sim.sampling: sampled timing of many-wave launches (wave_sampler.h).
enum class Sampling : uint8_t { automatic, off };

struct SimConfig {
  // Temporal-decoupling quantum in cycles; 0 = the largest exact value, the
  // L2 latency (no SM can see another's effect sooner).
  uint32_t quantum = 0;
  uint32_t cta_launch_cycles = 0;  // added after a CTA retires before the next starts
  uint32_t barrier_latency = 2;
  // Host threads that simulate SMs in parallel inside a quantum (SMs do not
  // interact within one, so results do not depend on it; see gpu.h).
  uint32_t host_threads = 1;
  // auto: timing-fidelity runs sample launches with many waves of like CTAs
  // (wave_sampler.h: warm-up, steady state, fast-forward, tail); tile
  // fidelity computes every CTA's values and never samples. off: every CTA
  // is simulated.
  Sampling sampling = Sampling::automatic;
  // sim.launch_reuse: auto (under sampling auto, a launch identical to an
  // earlier one of the backend takes its result: launch_reuse.h) or off.
  bool launch_reuse = true;
  // Launches of fewer warp instructions are never donors (launch_reuse.h:
  // the cost gate; the default is its measured value).
  uint64_t reuse_min_warp_insts = 1ull << 22;
};

// What launching a kernel costs beyond its CTAs (launch_cost.h applies it).
struct LaunchCostConfig {
  double host_launch_us = 0;       // host CPU time per cudaLaunchKernel (the host issues kernels no faster)
  double grid_latency_us = 0;      // from the launch call to the grid's first CTA on an idle GPU
  double dependent_gap_us = 0;     // end of a kernel to the start of the next, queued, kernel in the stream
  bool cuda_graph = false;         // a network runs as one CUDA graph: one host launch, graph_gap_us between kernels
  double graph_gap_us = 0;         // the same gap inside an instantiated CUDA graph
};

struct GpuConfig {
  std::string name = "v100";
  std::string description;
  std::string source_file;
  double clock_mhz = 1530.0;
  uint32_t sms = 80;
  uint32_t sub_cores = 4;
  SubCoreConfig sub_core;
  TensorCoreConfig tensor_core;
  SharedMemoryConfig shared;
  L1Config l1;
  L2Config l2;
  DramConfig dram;
  OccupancyConfig occupancy;
  SimConfig sim;
  LaunchCostConfig launch;
  // Node, memory technology and static power (priced by sim/energy, never read by the model).
  energy::MachineEnergySpec energy;
  // Chip-to-chip links (the tensor-parallel all-reduce model's; never read by the model).
  InterconnectSpec interconnect;

  double cycle_ns() const { return 1e3 / clock_mhz; }
  uint32_t tensor_cores_per_sm() const { return sub_cores * sub_core.tensor_cores; }
  // Dense tensor-core MACs per cycle on the whole device (V100: 80 x 8 x 64 = 40960).
  double tensor_macs_per_cycle() const {
    return double(sms) * tensor_cores_per_sm() * tensor_core.fma_per_clock;
  }
  double fp32_macs_per_cycle() const { return double(sms) * sub_cores * sub_core.fp32.lanes; }
  // Sustainable DRAM bytes per SM cycle: GB/s / MHz = 1e3 bytes per cycle.
  double dram_bytes_per_cycle() const { return dram.bandwidth_gbps * dram.efficiency * 1e3 / clock_mhz; }
  double l2_bytes_per_cycle() const { return l2.bytes_per_cycle_per_slice * l2.slices; }
  uint32_t quantum_cycles() const {
    return sim.quantum == 0 || sim.quantum > l2.latency ? l2.latency : sim.quantum;
  }
};

}  // namespace xpu::gpu
