#include "sim/cli/validate.h"

#include "sim/config/document.h"
#include "sim/config/file_kind.h"
#include "sim/config/overrides.h"
#include "sim/config/reader.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/experiment_config.h"
#include "sim/experiment/machine_registry.h"
#include "sim/experiment/sweep_internal.h"
#include "sim/workload/input_format.h"
#include "sim/workload/llm/hf_config.h"
#include "sim/workload/workload.h"

namespace xpu::cli {

namespace {

// The kinds of YAML file validate knows besides the machine kinds.
const std::vector<std::string> kDocumentKinds = {"energy_table", "workload", "experiment", "sweep"};

std::vector<std::string> known_kinds() {
  std::vector<std::string> all = experiment::machine_kinds();
  all.insert(all.end(), kDocumentKinds.begin(), kDocumentKinds.end());
  return all;
}

void collect(std::vector<config::Diagnostic>& out, const config::ConfigError& e) {
  out.insert(out.end(), e.diagnostics().begin(), e.diagnostics().end());
}

// Runs `check`, collecting its diagnostics.
template <class F>
void checked(std::vector<config::Diagnostic>& out, F&& check) {
  try {
    check();
  } catch (const config::ConfigError& e) {
    collect(out, e);
  }
}

// An experiment or sweep and every file it names, each checked as the role
// it plays there (so a file listed in the wrong place is an error, and an
// experiment that lists itself cannot recurse).
// Each -p reaches the files of its role (config/overrides.h).
void validate_experiment(const std::string& path, const std::string& kind, const std::vector<std::string>& overrides,
                         std::vector<config::Diagnostic>& out) {
  const config::Overrides ov = config::split_overrides(overrides);
  const experiment::ExperimentConfig e = experiment::load_experiment(path, ov.experiment, {kind});
  for (const auto& acc : e.accelerators) {
    auto all = acc.overrides;
    all.insert(all.end(), ov.accelerator.begin(), ov.accelerator.end());
    checked(out, [&] { experiment::machine_kind_of(config::Document::load(acc.file)).check_config(acc.file, all); });
  }
  // A generation builds its passes itself: its models are config.json files, read and checked.
  for (const auto& w : e.workload_files)
    checked(out, [&] { e.generation ? void(workload::llm::read_hf_config(w)) : void(workload::load_workload(w, ov.workload)); });
  checked(out, [&] { energy::EnergyTable::from_document(config::Document::load(e.energy_file)); });
  // Every point of a sweep, as `xpusim sweep` checks them before running.
  if (kind == "sweep" && out.empty()) {
    experiment::SweepOptions so;
    so.overrides = overrides;
    checked(out, [&] { experiment::detail::plan_sweep(path, so); });
  }
}

void validate_yaml(const std::string& path, const std::vector<std::string>& overrides,
                   std::vector<config::Diagnostic>& out, OverrideUse& use) {
  config::Document doc = config::Document::load(path);
  const config::FileKind kind = config::file_kind(doc);
  if (kind.value == "experiment" || kind.value == "sweep") {
    use = OverrideUse{true, true, true};
    return validate_experiment(path, kind.value, overrides, out);
  }
  const config::Overrides ov = config::split_overrides(overrides);
  if (const experiment::MachineKind* m = experiment::find_machine(kind.value)) {
    use.accelerator = true;
    return m->check_config(path, ov.accelerator);
  }
  if (kind.value == "workload") {
    use.workload = true;
    doc.apply_overrides(ov.workload);
  }
  if (kind.value == "energy_table") {
    energy::EnergyTable::from_document(doc);
  } else if (kind.value == "workload") {
    config::Diagnostics diags;
    {
      config::Reader root(doc, diags);
      workload::parse_workload(root);
    }
    diags.throw_if_any();
  } else {
    out.push_back(config::kind_error(doc, kind, "unknown kind", known_kinds()));
  }
}

}  // namespace

std::vector<config::Diagnostic> validate_file(const std::string& path, const std::vector<std::string>& overrides,
                                              OverrideUse* used) {
  std::vector<config::Diagnostic> out;
  OverrideUse ignore;
  OverrideUse& use = used ? *used : ignore;
  checked(out, [&] {
    const workload::InputFormat& format = workload::input_format_of(path);
    if (format.yaml) return validate_yaml(path, overrides, out, use);
    // Formats that load as workloads take workload overrides; the others
    // (a SCALE-Sim .cfg) describe a machine and take accelerator ones.
    const config::Overrides ov = config::split_overrides(overrides);
    (format.load ? use.workload : use.accelerator) = true;
    format.check(path, format.load ? ov.workload : ov.accelerator);
  });
  return out;
}

std::vector<config::Diagnostic> unused_overrides(const config::Overrides& ov, const OverrideUse& used) {
  std::vector<config::Diagnostic> out;
  auto check = [&](const std::vector<std::string>& list, bool taken, const std::string& files) {
    if (!list.empty() && !taken)
      out.push_back({"command line (-p " + list.front() + ")", 0, 0, "",
                     "no " + files + " among the files given: the override would be ignored"});
  };
  check(ov.accelerator, used.accelerator, "accelerator config (a machine kind's YAML or a SCALE-Sim .cfg)");
  check(ov.workload, used.workload, "workload");
  check(ov.experiment, used.experiment, "experiment or sweep");
  return out;
}

}  // namespace xpu::cli
