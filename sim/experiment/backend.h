#pragma once
// One simulated machine as the experiment runner sees it: it takes workload
// layers, lowers them to its own programs, runs them on its model and returns
// results in the common report format. One file per machine kind
// (tpu_backend.cpp, gpu_backend.cpp), each registered in
// machine_registry.h; make_backend() picks by the config's `kind:`.
// Everything the runner needs to know about a machine it asks here: nothing
// above the backend reads accelerator YAML.
#include <memory>
#include <string>
#include <vector>

#include "sim/common/fidelity.h"
#include "sim/common/interconnect_spec.h"
#include "sim/energy/energy_table.h"
#include "sim/numerics/mac.h"
#include "sim/report/results.h"
#include "sim/workload/workload.h"

namespace xpu::experiment {

struct LayerRunOptions {
  Fidelity fidelity = Fidelity::tile;  // tile/pe/timing; machines map it to their own modes
  bool verify = true;   // compare values with the reference
  uint64_t seed = 1;    // operand data
  // "resident" (operands stay on chip where they fit, else host) or "host".
  std::string io = "resident";
  // "scalesim": the SCALE-Sim compatibility profile (scalesim_compat.h): the
  // workload is each layer's GEMM view, run with its operands on chip, and
  // the machine reports SCALE-Sim's Total Cycles (the config must already
  // carry the profile's switches). "gemm_view": the same GEMM views and
  // placement, whole-program cycles (a waterfall step).
  std::string compat;
};

// The machine's matrix unit, for reports and traces.
struct MatrixUnit {
  std::string name;                  // "systolic array", "tensor core"
  unsigned rows = 0, cols = 0;       // array: PE rows x columns; tensor core: MMA m x n
  unsigned depth = 1;                // tensor core: MMA k; array: 1
  // At pe fidelity the runner may record PE register waveforms (VCD) of a
  // rows x cols array.
  bool pe_waveforms = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string kind() const = 0;  // the registered kind (machine_registry.h)
  virtual std::string name() const = 0;  // the config's name
  virtual double clock_mhz() const = 0;
  // Peak MACs per cycle at this input precision (0 if unsupported).
  virtual double peak_macs_per_cycle(DType dtype) const = 0;
  // Peak operations (2 per MAC) per second at this input precision.
  double peak_ops_per_second(DType dtype) const { return 2 * peak_macs_per_cycle(dtype) * clock_mhz() * 1e6; }
  // Peak DRAM bandwidth in GB/s as configured (the roofline's slope).
  virtual double dram_gbps() const = 0;
  // Chip-to-chip links as configured (`interconnect:`; none: links 0).
  virtual InterconnectSpec interconnect() const { return {}; }
  virtual MatrixUnit matrix_unit() const = 0;
  // True when the machine runs 2:4 structured-sparse weights (workload sparsity "2:4").
  virtual bool sparse_2_4() const { return false; }
  // Throws lowering::LoweringError naming the layer when the workload cannot
  // run on this machine, without simulating anything (the runner checks
  // every workload first).
  virtual void check_workload(const workload::Workload& w, DType dtype) const = 0;
  // A whole workload, one result row per executed layer (fused layers share
  // one row). A workload of standalone GEMMs is a network of one-GEMM
  // layers: there is one execution path. `opts.seed` is the workload's seed;
  // layers derive theirs from it.
  virtual std::vector<report::LayerResult> run_workload(const workload::Workload& w, DType dtype,
                                                        const LayerRunOptions& opts) = 0;
};

// Throws lowering::LoweringError unless `layer` is one plain GEMM (no
// transposes, no batch of GEMMs): for machines that run nothing else.
void require_plain_gemm(const workload::Layer& layer, const std::string& machine);

// Reads the accelerator config (with -p overrides) and builds its model,
// by the config's `kind:` (machine_registry.h). Must be called before the
// first simulation starts (SystemC elaborates once). `instance` names the
// SystemC module. Throws config::ConfigError (also for a missing or unknown
// kind, naming the known ones).
std::unique_ptr<Backend> make_backend(const std::string& config_file, const std::vector<std::string>& overrides,
                                      const energy::EnergyTable& table, const std::string& instance);

}  // namespace xpu::experiment
