#pragma once
// What a run produced, independent of the machine that produced it: the
// experiment runner fills these, the report writers print them.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/energy/energy_model.h"
#include "sim/report/generation.h"
#include "sim/stats/stats.h"

namespace xpu::report {

// What the value check of a layer found. `unchecked`: no values were computed
// (timing fidelity); `skipped`: values were computed but nothing was compared
// (verify: false, a view that moves no data).
enum class Verdict { bit_exact, within_tolerance, mismatch, skipped, unchecked };

const char* verdict_name(Verdict v);  // "bit_exact", "within_tolerance", ... (summary.json)

struct LayerResult {
  std::string name;
  std::string op;
  std::string shape;  // "m x n x k" for GEMMs
  std::string io;     // where operands lived: "resident" (on chip), "host" (row blocks from host memory) or "streamed" (K slabs of A through the vector memory)
  uint64_t macs = 0;
  uint64_t cycles = 0;
  double seconds = 0;
  double utilization = 0;  // macs / (peak MACs per cycle x cycles)
  // Stall cycles of one issuing unit by cause: the MXU (TPU), a sub-core's
  // warp scheduler averaged over SMs x sub-cores (GPU). Never more than
  // `cycles`; stall_share() is the fraction of the layer's cycles.
  std::map<std::string, double> stalls;
  std::string stall_cause;               // the largest stall cause, "" when none
  Verdict verdict = Verdict::unchecked;
  std::string verdict_detail;            // what was compared and how well ("bit-exact (GEMM view)", "MISMATCH ...")
  stats::Snapshot stats;                 // this layer's counters
  energy::EnergyReport energy;
  // Network runs: the IR layers fused into this one, and bytes
  // moved per buffer / memory ("ub_read", "ub_write", "acc_read", "dram_read",
  // "host_in", "weight_path", "im2col", "spill", ...).
  std::vector<std::string> fused;
  std::map<std::string, double> bytes;
  // The machine's kernel(s) for the layer and how they ran, one line (GPU:
  // kernel and tile, CTAs, waves, L2 hit rate, DRAM bandwidth, launch cost).
  std::string kernel;
  // `xpusim run --explain`: this layer's cycles after each waterfall step,
  // from SCALE-Sim's number to this run's (sim/experiment/scalesim_compat.h).
  std::vector<std::pair<std::string, uint64_t>> waterfall;
  // Utilization of each matrix unit of a many-unit machine over the layer's
  // cycles ("core0.mxu0", ...; "core1" alone for a core's share): its MACs /
  // (its peak MACs per cycle x cycles). Empty for one-unit machines.
  std::map<std::string, double> unit_utilization;
  // GPU: whether the layer's timing was sampled (models/gpu/wave_sampler.h)
  // and how many of its kernels' waves were simulated (0 of 0: no waves, a TPU).
  bool sampled = false;
  uint32_t waves_simulated = 0, waves_total = 0;
  // K-loop sampling (models/gpu/k_loop_sampler.h): the main loops' trips
  // simulated (T1 + T2) and their real count, summed over the layer's
  // sampled kernels (0 of 0: no loop sampled).
  uint32_t trips_simulated = 0, trips = 0;
  // Launch reuse (models/gpu/launch_reuse.h): the layer whose result one
  // or more of this layer's kernels took instead of being simulated ("":
  // none; "workload: layer" when from an earlier run of the backend).
  std::string reused_from;

  // MACs the hardware did where fewer than the layer's `macs` (2:4 sparse
  // weights: half); 0 when the same.
  uint64_t effective_macs = 0;
  uint64_t done_macs() const { return effective_macs ? effective_macs : macs; }
  double flops() const { return 2.0 * double(macs); }
  // stalls[cause] / cycles, in [0, 1]; 0 for an unknown cause or no cycles.
  double stall_share(const std::string& cause) const;
  // The verdict as people read it: the detail, or "values not computed
  // (timing fidelity)" when unchecked.
  std::string verified() const;
  double tops() const { return seconds > 0 ? flops() / seconds / 1e12 : 0; }
  // Bytes read from and written to the machine's DRAM (weight memory / HBM):
  // every counter "<...>.dram.read_bytes" / "<...>.dram.write_bytes".
  double dram_bytes() const;
  // Operations (2 x MACs) per DRAM byte; 0 when no DRAM traffic.
  double operational_intensity() const { return dram_bytes() > 0 ? flops() / dram_bytes() : 0; }
};

struct RunResult {
  std::string accelerator;       // label
  std::string accelerator_file;
  std::vector<std::string> overrides;
  std::string workload;
  std::string workload_file;
  std::string precision;
  size_t precision_slot = 0;  // index in the accelerator's precision list (runs of equal slot are compared)
  std::string fidelity;
  double clock_mhz = 0;
  double peak_macs_per_cycle = 0;
  double peak_dram_gbps = 0;  // the config's dram.bandwidth_gbps (roofline slope); 0 if unknown
  std::string sparsity;       // "2:4": weights pruned, run on sparse matrix units; "" dense
  std::vector<LayerResult> layers;

  std::string label() const { return accelerator + " / " + workload + " / " + precision; }
  double dram_bytes() const;
  std::map<std::string, double> energy_by_component() const;  // pJ, summed over layers

  uint64_t cycles() const;
  uint64_t macs() const;            // dense-equivalent (the workload's)
  uint64_t effective_macs() const;  // done by the hardware (LayerResult::done_macs)
  double seconds() const;
  double energy_pj() const;          // dynamic + static
  double static_energy_pj() const;   // static power x time, summed over layers
  double dynamic_energy_pj() const { return energy_pj() - static_energy_pj(); }
  double utilization() const;
  double peak_tops() const { return 2.0 * peak_macs_per_cycle * clock_mhz * 1e6 / 1e12; }
  double tops() const { return seconds() > 0 ? 2.0 * double(macs()) / seconds() / 1e12 : 0; }
  // Peak ops per DRAM byte at which compute and bandwidth roofs meet.
  double ridge_ops_per_byte() const { return peak_dram_gbps > 0 ? peak_tops() * 1e3 / peak_dram_gbps : 0; }
};

// The verdicts of a run's layers counted: "12 bit-exact, 3 within
// tolerance, 1 MISMATCH, 2 not compared", or "values not computed (timing
// fidelity)" when no layer computed values.
std::string verdict_summary(const RunResult& run);

struct ExperimentResult {
  std::string name;
  nlohmann::json manifest;  // version, revision, input hashes, energy table
  std::vector<RunResult> runs;
  std::vector<GenerationResult> generations;  // experiments with `generation:` (generation.h)
};

}  // namespace xpu::report
