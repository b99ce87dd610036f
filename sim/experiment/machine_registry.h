#pragma once
// Machine kinds (`kind: tpu`, `kind: gpu`, ...) and what each brings: its
// typed config loader and its backend factory. Each kind registers itself
// with one line next to its backend:
//
//   XPUSIM_REGISTER_MACHINE(tpu, config::load_tpu_config, make_tpu_backend);
//
// make_backend(), `xpusim validate`, experiments and sweeps look kinds up
// here; nothing else names a kind. Registration runs from a static
// initializer, so the registering object must be linked: xpusim_experiment
// is linked whole-archive (sim/experiment/CMakeLists.txt), and a kind
// registered from an executable's own sources (a test) is linked anyway.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/config/document.h"
#include "sim/experiment/backend.h"

namespace xpu::experiment {

// A config read and typed once (a sweep's driver does this for every point
// before any runs) with what can be done with it before any run.
struct PreparedMachine {
  // Builds the machine (SystemC modules named `instance`).
  std::function<std::unique_ptr<Backend>(const energy::EnergyTable& table, const std::string& instance)> make;
  // Kinds whose programs may be lowered ahead of a run (timing fidelity):
  // equal for two configs exactly when they agree on every value the
  // lowering reads, "" for other kinds.
  std::string lowering_key;
  // Lowers `workloads` at each precision now, at timing fidelity, and keeps
  // the programs for the runs of this process and of processes forked from
  // it whose configs have the same lowering_key (`resident`: the experiment's
  // io). Empty for other kinds.
  std::function<void(const std::vector<workload::Workload>& workloads, const std::vector<DType>& precisions,
                     bool resident)>
      prelower;
};

struct MachineKind {
  std::string kind;  // the config's `kind:`
  // Reads and types the accelerator config with -p overrides applied;
  // throws config::ConfigError listing every problem.
  std::function<void(const std::string& file, const std::vector<std::string>& overrides)> check_config;
  // Loads the config the same way and builds the machine (SystemC modules
  // named `instance`).
  std::function<std::unique_ptr<Backend>(const std::string& file, const std::vector<std::string>& overrides,
                                         const energy::EnergyTable& table, const std::string& instance)>
      make_backend;
  // Loads the config the same way, once, for builds later on.
  std::function<PreparedMachine(const std::string& file, const std::vector<std::string>& overrides)> prepare;
};

// Adds a kind; a second kind of the same name is an InternalError. Returns
// true (for the static initializer of XPUSIM_REGISTER_MACHINE).
bool register_machine(MachineKind kind);
// nullptr when no kind of that name is registered.
const MachineKind* find_machine(const std::string& kind);
// Every registered kind, sorted.
std::vector<std::string> machine_kinds();

// The kind of the accelerator config `doc` (by its `kind:`). Throws
// config::ConfigError at the kind's line when it is missing or names no
// registered machine kind, listing the known ones.
const MachineKind& machine_kind_of(const config::Document& doc);

// How a kind lowers ahead (PreparedMachine::prelower), for the kinds that can.
template <class Config>
struct Prelowering {
  std::string (*key)(const Config&) = nullptr;
  void (*lower)(const Config&, const std::vector<workload::Workload>&, const std::vector<DType>&, bool resident) =
      nullptr;
};

// The entry of a kind whose config loads into `Config`.
template <class Config>
MachineKind machine_kind(const std::string& kind,
                         Config (*load)(const std::string&, const std::vector<std::string>&),
                         std::unique_ptr<Backend> (*make)(const Config&, const energy::EnergyTable&,
                                                          const std::string&),
                         Prelowering<Config> ahead = {}) {
  return MachineKind{kind, [load](const std::string& f, const std::vector<std::string>& ov) { load(f, ov); },
                     [load, make](const std::string& f, const std::vector<std::string>& ov,
                                  const energy::EnergyTable& t, const std::string& instance) {
                       return make(load(f, ov), t, instance);
                     },
                     [load, make, ahead](const std::string& f, const std::vector<std::string>& ov) {
                       PreparedMachine pm;
                       auto cfg = std::make_shared<const Config>(load(f, ov));
                       pm.make = [cfg, make](const energy::EnergyTable& t, const std::string& instance) {
                         return make(*cfg, t, instance);
                       };
                       if (ahead.key && ahead.lower) {
                         pm.lowering_key = ahead.key(*cfg);
                         pm.prelower = [cfg, ahead](const std::vector<workload::Workload>& w,
                                                    const std::vector<DType>& precisions, bool resident) {
                           ahead.lower(*cfg, w, precisions, resident);
                         };
                       }
                       return pm;
                     }};
}

}  // namespace xpu::experiment

// One line per machine kind, at namespace scope in the kind's backend file.
#define XPUSIM_REGISTER_MACHINE(id, load_config, make_backend_fn)                              \
  [[maybe_unused]] static const bool xpusim_machine_registered_##id =                          \
      ::xpu::experiment::register_machine(::xpu::experiment::machine_kind(#id, load_config, make_backend_fn))
// The same for a kind that lowers ahead (`prelowering`: a Prelowering<Config>).
#define XPUSIM_REGISTER_MACHINE_PRELOWERING(id, load_config, make_backend_fn, prelowering)   \
  [[maybe_unused]] static const bool xpusim_machine_registered_##id =                          \
      ::xpu::experiment::register_machine(                                                    \
          ::xpu::experiment::machine_kind(#id, load_config, make_backend_fn, prelowering))
