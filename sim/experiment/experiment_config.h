#pragma once
// A `kind: experiment` file: which accelerators run which workloads in which
// precisions, at which fidelity, priced with which energy table.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/common/fidelity.h"
#include "sim/experiment/interconnect.h"
#include "sim/numerics/mac.h"

namespace xpu::energy {
class EnergyTable;
}

namespace xpu::experiment {

class Backend;

struct AcceleratorRef {
  std::string file;                    // resolved path
  std::string name;                    // label in reports (default: the config's name)
  std::vector<std::string> overrides;  // "mxu.rows=128", applied before validation
  // This accelerator's own precisions (instead of the experiment's), e.g.
  // fp16 on a V100 next to bf16 on TPUs; the i-th precision of every
  // accelerator is compared side by side.
  std::vector<DType> precisions;
  // sparsity: "2:4" for this accelerator's runs (overrides the experiment's
  // and the workloads'); sparsity_at locates the key.
  std::string sparsity, sparsity_at;
  // An accelerator that is not a YAML config (a SCALE-Sim .cfg): builds its
  // backend from an already typed config; `file` is then only its label.
  std::function<std::unique_ptr<Backend>(const energy::EnergyTable&, const std::string& instance)> make;
  // This accelerator's own compat mode (LayerRunOptions::compat), "" = the
  // experiment's: how `xpusim run --explain` runs its waterfall steps.
  std::string compat;
};

// One swept config key: "mxu.rows" (applied to every accelerator config, like
// -p) or "experiment.<key>" (applied to the sweep file itself, e.g.
// experiment.seed, experiment.node.nm). Values are kept as YAML text and
// applied as overrides, so any value a config accepts can be swept.
struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
  std::vector<std::pair<int, int>> marks;  // line, column of each value in the sweep file
};

// A sweep expands to at most this many points (each one a simulation).
inline constexpr uint64_t kMaxSweepPoints = 100000;

// `generation: {batch, prompt_len, gen_len, layers, decode_samples}`: every
// workload (a model config.json) generates gen_len tokens per sequence after
// a prompt of prompt_len (generation.h).
struct GenerationSpec {
  std::vector<int64_t> batches;  // batch: N or [N, ...], one generation each
  int64_t prompt_len = 0;
  int64_t gen_len = 0;           // new tokens: the prefill's plus gen_len - 1 decode steps
  int64_t layers = 0;            // decoder layers simulated (0: all), the rest scaled
  int64_t decode_samples = 5;    // decode steps simulated and interpolated between (0: every step)
  // tensor_parallel: {devices, topology, links, link_gbps, link_latency_us}:
  // one device's shard simulated, its all-reduces timed by the accelerator
  // config's `interconnect:` links, or by these when `links` is given (an
  // override of all three link values); `topology` alone overrides the
  // machine's algorithm.
  int64_t tp = 1;
  Interconnect interconnect;     // links 0: the machine's
  bool topology_given = false;
  bool prefill = true;  // false: decode steps only (no TTFT), e.g. a long context too slow to prefill
  int64_t attention = -1;  // attention: auto (-1: fused in decode steps) | fused (1) | unfused (0)
  // weights: same (16-bit, the run's precision) | int8 (weight-only int8 in
  // the decode steps: the decoder's projection weights int8 with a scale per
  // output channel, activations 16-bit; the prefill keeps 16-bit weights).
  int64_t weight_bits = 16;
};

struct ExperimentConfig {
  std::string kind = "experiment";  // or "sweep"
  std::string name;
  std::string source_file;
  std::string energy_file;
  std::optional<unsigned> node_nm;  // scale the table to another node
  std::optional<double> vdd;
  Fidelity fidelity = Fidelity::tile;
  bool verify = true;  // compare values with the reference GEMM
  // sparsity: "2:4" for every run (weights pruned 2:4, sparse matrix units;
  // workload.h), "" to leave each workload's own; sparsity_at locates it.
  std::string sparsity, sparsity_at;
  // resident: layer operands start and end in on-chip buffers (as inside a
  // network); host: every layer's inputs and outputs cross the host link.
  std::string io = "resident";
  // "scalesim": the SCALE-Sim compatibility profile (scalesim_compat.h) on
  // every (TPU) accelerator; "" none.
  std::string compat;
  uint64_t seed = 1;
  std::vector<AcceleratorRef> accelerators;
  std::vector<std::string> workload_files;  // resolved paths
  std::vector<DType> precisions;
  // kind: sweep only. Points = cartesian product of the grid axes x the zip
  // tuples (zip axes have equal lengths; value i of each goes together).
  std::vector<SweepAxis> grid;
  std::vector<SweepAxis> zip;
  std::optional<GenerationSpec> generation;
};

// Paths inside the file are relative to the file's directory. Throws
// config::ConfigError with every problem found, including missing files,
// accelerators that are not accelerator configs (of a registered machine
// kind), workloads that are not workloads, and the file listing itself.
// `kinds`: which file kinds are accepted ("experiment", "sweep").
// Points of a sweep (grid product x zip length), saturated at UINT64_MAX.
uint64_t sweep_point_count(const ExperimentConfig& sweep);

// A sweep point's override "key=value" (key without `prefix`, e.g.
// "experiment."), located at the value's line in the sweep file so that an
// invalid value is blamed there (config::located_override).
std::string locate_sweep_override(const ExperimentConfig& sweep, const std::string& prefix,
                                  const std::string& assignment);

ExperimentConfig load_experiment(const std::string& path, const std::vector<std::string>& overrides = {},
                                 const std::vector<std::string>& kinds = {"experiment"});

}  // namespace xpu::experiment
