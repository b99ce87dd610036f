#pragma once
// Typed configuration of the TPU-like core. Filled from YAML by
// sim/config/tpu_config.cpp (the only place that reads it); models see only
// this struct. Every size is a value here: nothing is hard-wired to 256.
#include <cstdint>
#include <string>

#include "sim/common/interconnect_spec.h"
#include "sim/energy/machine_energy.h"

namespace xpu::tpu {

// Dataflow of the systolic array (mxu_array.h documents each): ws weight-
// stationary (TPU), os output-stationary, is input-stationary.
enum class Dataflow { ws, os, is };
inline const char* dataflow_name(Dataflow d) { return d == Dataflow::os ? "os" : d == Dataflow::is ? "is" : "ws"; }

struct MxuConfig {
  uint32_t rows = 256;  // K direction: weights rows, partial sums flow down
  // N direction: one accumulator column per array column. With `count`
  // MXUs per core this is the logical array the core issues to: count MXUs
  // side by side along N, count x cols_per_mxu columns (see count).
  uint32_t cols = 256;
  // MXUs per TensorCore. A MatrixMultiply sends the same input rows to every
  // MXU of the core; MXU j holds columns [j x cols_per_mxu, (j+1) x
  // cols_per_mxu) of the weight tile (the CISC instruction extended to
  // several MXUs: one instruction drives them all). Modelled as one
  // logical array of `cols` columns, so every fidelity, the PE == tile
  // equivalence and the accumulation order (bit-exactness) carry over; the
  // fill/drain skew is that of the logical array (conservative: separate
  // MXUs skew over cols_per_mxu columns each).
  uint32_t count = 1;
  uint32_t cols_per_mxu() const { return cols / count; }
  Dataflow dataflow = Dataflow::ws;
  // Cycles per systolic step for each input precision (1 = one step per
  // cycle). TPU v1: int8 1, 16-bit x 16-bit 4 (quarter rate); v2+: bf16 1.
  uint32_t step_int8 = 1;
  uint32_t step_bf16 = 4;
  uint32_t step_fp16 = 4;
  bool supports_int8 = true, supports_bf16 = true, supports_fp16 = true;
  // Cycles to shift one weight tile into the array (TPU v1: rows = 256).
  uint32_t weight_load_cycles = 256;
  bool double_buffer_weights = true;
  // Folds overlap (true: each pass starts as early as the array's own rules
  // allow) or not (false): a pass that begins a fold -- loads stationary data
  // into the PEs (WS weights, IS inputs) or starts a new output tile (OS) --
  // waits until the previous pass's operands have left the array
  // (mxu_array.h, array_clear; which columns: fold_clear_all_columns).
  // SCALE-Sim v2 runs its folds this way.
  bool fold_overlap = true;
  // With fold_overlap false: a new fold waits for the previous operands to
  // leave every column (true, SCALE-Sim's drain over all C columns) or only
  // the columns the pass used (false: later columns hold nothing it needs).
  bool fold_clear_all_columns = false;
  // IS: cycles to shift one stationary input tile into the PEs. 0: one input
  // vector per step (m steps per pass); rows: row by row, as WS weights.
  uint32_t input_load_cycles = 0;
};

struct WeightFifoConfig {
  uint32_t depth_tiles = 4;
};

struct AccumulatorConfig {
  uint32_t entries = 4096;  // rows of `mxu.cols` 32-bit values
  bool double_buffered = true;  // lowering alternates halves
};

struct UnifiedBufferConfig {
  uint64_t capacity_bytes = 24ull << 20;
  uint32_t read_bytes_per_cycle = 256;   // read port: MXU inputs first, then DMA out
  uint32_t write_bytes_per_cycle = 256;  // write port: activation results first, then DMA in
  uint32_t banks = 1;                    // reported; the ports model the bandwidth
};

struct ActivationConfig {
  uint32_t elements_per_cycle = 256;  // accumulator values processed per cycle
  uint32_t latency_cycles = 8;        // pipeline depth
  // Passes through the lanes that one element needs for the
  // multi-step functions of the activation/vector unit (activation_unit.h
  // derives every op's cycles from these). Defaults are assumptions, see
  // the YAML files: an fp32 exp is range reduction plus a degree-6
  // polynomial (~8 multiply-adds, 2 per lane per cycle -> 4 passes); a
  // reciprocal or reciprocal square root is a table seed plus two Newton
  // steps (2 passes); erf a rational approximation (~4 passes).
  uint32_t passes_exp = 4;
  uint32_t passes_reciprocal = 2;
  uint32_t passes_rsqrt = 2;
  uint32_t passes_erf = 4;
};

struct DramConfig {
  double bandwidth_gbps = 34.0;  // GB/s over all channels
  double latency_ns = 100.0;
  uint32_t channels = 4;
  uint32_t burst_bytes = 64;
  uint32_t interleave_bytes = 256;  // consecutive chunks rotate over channels
};

enum class HostPath { pcie, dram };
struct HostInterfaceConfig {
  // pcie: host memory sits behind a link of its own (TPU v1, PCIe Gen3 x16);
  // dram: activations live in the same DRAM as the weights (TPU v2-like HBM).
  HostPath path = HostPath::pcie;
  double bandwidth_gbps = 14.0;  // used for pcie
  double latency_ns = 500.0;     // used for pcie
};

struct ControllerConfig {
  uint32_t pipeline_stages = 4;  // fetch, decode, read operands, issue
  uint32_t unit_queue_depth = 4;  // instructions waiting per unit
};

// On-chip common memory between HBM and the cores' vector memories (TPU v4:
// 128 MiB SRAM). A memory level of its own: the lowering places a network's
// weights, then its activations outside the unified buffer (a standalone
// GEMM's B, then A and C), in a core's share of it when they fit (sim/lowering/tpu/cmem_placement.h), and the
// weight fetcher and the DMA engines then reach them at the CMEM's
// bandwidth and latency instead of DRAM's (dram.h), counted as
// tpu.cmem.read_bytes / write_bytes.
struct CmemConfig {
  uint64_t capacity_bytes = 0;  // 0: none
  double bandwidth_gbps = 0;    // GB/s, all cores together
  double latency_ns = 0;        // once per transfer, as DRAM's
};

struct TpuConfig {
  std::string name = "tpu";
  std::string source_file;  // where it was loaded from, for reports
  std::string description;  // free text from the config file
  double clock_mhz = 700.0;
  MxuConfig mxu;
  WeightFifoConfig weight_fifo;
  AccumulatorConfig accumulators;
  UnifiedBufferConfig unified_buffer;
  ActivationConfig activation;
  DramConfig dram;  // weight memory (and activations when host.path == dram)
  HostInterfaceConfig host;
  ControllerConfig controller;
  // TensorCores per chip. The model simulates one core (core_config());
  // a chip-level run splits each standalone GEMM's rows or columns, and a
  // network's batch (else each layer), over the cores, runs every share and reports the chip
  // (sim/experiment/tpu_chip_run.h).
  uint32_t cores = 1;
  CmemConfig cmem;
  // Node, memory technology and static power (priced by sim/energy, never read by the model).
  energy::MachineEnergySpec energy;
  // Chip-to-chip links (the tensor-parallel all-reduce model's; never read by the model).
  InterconnectSpec interconnect;

  double cycle_ns() const { return 1e3 / clock_mhz; }
  // GB/s divided by cycles/s: 1e9 / 1e6 = 1e3.
  double dram_bytes_per_cycle() const { return dram.bandwidth_gbps * 1e3 / clock_mhz; }
  double host_bytes_per_cycle() const { return host.bandwidth_gbps * 1e3 / clock_mhz; }
  double peak_macs_per_cycle() const { return double(mxu.rows) * mxu.cols; }  // one core
  // ns x cycles/ns, written as ns * MHz / 1e3 so that round figures stay
  // exact in binary floating point (100 ns at 700 MHz is exactly 70.0).
  double dram_latency_cycles() const { return dram.latency_ns * clock_mhz / 1e3; }
  double cmem_latency_cycles() const { return cmem.latency_ns * clock_mhz / 1e3; }
  double host_latency_cycles() const { return host.latency_ns * clock_mhz / 1e3; }
};

// The configuration of one TensorCore of `chip`, as the model and the
// lowering see it: the chip's DRAM bandwidth and its CMEM (capacity and
// bandwidth) shared evenly by the cores. The chip itself when it has one core.
inline TpuConfig core_config(const TpuConfig& chip) {
  TpuConfig c = chip;
  c.dram.bandwidth_gbps = chip.dram.bandwidth_gbps / chip.cores;
  c.cmem.capacity_bytes = chip.cmem.capacity_bytes / chip.cores;
  c.cmem.bandwidth_gbps = chip.cmem.bandwidth_gbps / chip.cores;
  return c;
}

}  // namespace xpu::tpu
