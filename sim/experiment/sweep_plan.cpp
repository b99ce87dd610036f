// Sweep points and the plan: the grid x zip expansion, stable point ids,
// and the check that every point's configs load before anything runs.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

#include "sim/config/document.h"
#include "sim/config/overrides.h"
#include "sim/experiment/machine_registry.h"
#include "sim/experiment/runner.h"
#include "sim/experiment/sweep_internal.h"
#include "sim/report/sha256.h"
#include "sim/workload/workload.h"

namespace xpu::experiment {

std::vector<std::string> SweepPoint::accelerator_overrides() const {
  std::vector<std::string> o;
  for (const auto& [k, v] : params)
    if (k.rfind("experiment.", 0) != 0) o.push_back(k + "=" + v);
  return o;
}

std::vector<std::string> SweepPoint::experiment_overrides() const {
  std::vector<std::string> o;
  for (const auto& [k, v] : params)
    if (k.rfind("experiment.", 0) == 0) o.push_back(k.substr(11) + "=" + v);
  return o;
}

std::string point_id(const std::vector<std::pair<std::string, std::string>>& params) {
  std::vector<std::string> lines;
  for (const auto& [k, v] : params) lines.push_back(k + "=" + v + "\n");
  std::sort(lines.begin(), lines.end());
  std::string text;
  for (const auto& l : lines) text += l;
  return "p" + report::sha256_hex(text).substr(0, 12);
}

std::vector<SweepPoint> expand_sweep(const ExperimentConfig& s) {
  if (sweep_point_count(s) > kMaxSweepPoints)
    throw config::ConfigError(config::Diagnostic{s.source_file, 0, 0, "sweep",
                                                 "more than " + std::to_string(kMaxSweepPoints) + " points, the limit"});
  std::vector<std::vector<std::pair<std::string, std::string>>> combos{{}};
  for (const auto& axis : s.grid) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& c : combos)
      for (const auto& v : axis.values) {
        auto n = c;
        n.emplace_back(axis.key, v);
        next.push_back(std::move(n));
      }
    combos = std::move(next);
  }
  if (!s.zip.empty()) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& c : combos)
      for (size_t i = 0; i < s.zip[0].values.size(); ++i) {
        auto n = c;
        for (const auto& axis : s.zip) n.emplace_back(axis.key, axis.values[i]);
        next.push_back(std::move(n));
      }
    combos = std::move(next);
  }
  std::vector<SweepPoint> out;
  std::map<std::string, size_t> seen;
  for (auto& c : combos) {
    SweepPoint p;
    p.index = out.size();
    p.id = point_id(c);
    p.params = std::move(c);
    auto [it, fresh] = seen.emplace(p.id, p.index);
    if (!fresh)
      throw config::ConfigError(config::Diagnostic{s.source_file, 0, 0, "sweep",
                                                   "points " + std::to_string(it->second) + " and " +
                                                       std::to_string(p.index) + " have the same parameters"});
    out.push_back(std::move(p));
  }
  return out;
}

nlohmann::json scalar_json(const std::string& t) {
  if (t == "true") return true;
  if (t == "false") return false;
  if (!t.empty()) {
    char* end = nullptr;
    errno = 0;
    const long long i = std::strtoll(t.c_str(), &end, 10);
    if (errno == 0 && end && *end == 0) return i;
    errno = 0;
    const double d = std::strtod(t.c_str(), &end);
    if (errno == 0 && end && *end == 0 && std::isfinite(d) && t.find_first_of("xXnN") == std::string::npos) return d;
  }
  return t;
}

namespace detail {

nlohmann::json params_json(const SweepPoint& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : p.params) j[k] = scalar_json(v);
  return j;
}

SweepPlan plan_sweep(const std::string& file, const SweepOptions& opts) {
  SweepPlan plan;
  plan.file = file;
  // -p overrides by role (config/overrides.h); the raw list goes to the workers.
  const config::Overrides cli = config::split_overrides(opts.overrides);
  plan.cfg = load_experiment(file, cli.experiment, {"sweep"});
  plan.points = expand_sweep(plan.cfg);
  plan.dir = opts.output_dir.empty() ? "reports/" + plan.cfg.name : opts.output_dir;
  // Every point's configs must load before anything runs; what loads is
  // kept for the workers (SweepPlan).
  std::vector<config::Diagnostic> diags;
  for (const auto& w : plan.cfg.workload_files) plan.workloads.push_back(workload::load_workload(w, cli.workload));
  plan.table = load_energy_table(plan.cfg);
  std::map<std::string, const MachineKind*> kinds;  // by config file: its kind does not change per point
  plan.machines.resize(plan.points.size());
  plan.lowering_group.resize(plan.points.size());
  for (const auto& p : plan.points) {
    try {
      const bool own = !p.experiment_overrides().empty();
      ExperimentConfig e;
      if (own) {
        std::vector<std::string> eo;
        for (const auto& o : p.experiment_overrides()) eo.push_back(locate_sweep_override(plan.cfg, "experiment.", o));
        eo.insert(eo.end(), cli.experiment.begin(), cli.experiment.end());
        e = load_experiment(file, eo, {"sweep"});
      }
      const ExperimentConfig& exp = own ? e : plan.cfg;
      for (size_t i = 0; i < exp.accelerators.size(); ++i) {
        const auto& acc = exp.accelerators[i];
        std::vector<std::string> ov = acc.overrides;
        for (const auto& o : p.accelerator_overrides()) ov.push_back(locate_sweep_override(plan.cfg, "", o));
        for (const auto& o : cli.accelerator) ov.push_back(o);
        const MachineKind*& kind = kinds[acc.file];
        if (!kind) kind = &machine_kind_of(config::Document::load(acc.file));
        if (own || !kind->prepare) {
          kind->check_config(acc.file, ov);
          continue;
        }
        plan.machines[p.index].push_back(kind->prepare(acc.file, ov));
        const std::string& key = plan.machines[p.index].back().lowering_key;
        plan.lowering_group[p.index] += key.empty() ? p.id : key;
        plan.lowering_group[p.index] += '\n';
      }
      if (plan.machines[p.index].size() != exp.accelerators.size()) {
        plan.machines[p.index].clear();
        plan.lowering_group[p.index] = p.id;
      }
    } catch (const config::ConfigError& e) {
      for (auto d : e.diagnostics()) {
        d.message += " (sweep point " + std::to_string(p.index) + " " + p.id + ")";
        diags.push_back(d);
      }
      if (diags.size() > 20) break;
    }
  }
  if (!diags.empty()) throw config::ConfigError(diags);

  auto& hashes = plan.input_sha256;
  for (const std::string* f : {&plan.cfg.source_file, &plan.cfg.energy_file})
    if (!hashes.count(*f)) hashes[*f] = report::sha256_file(*f);
  for (const auto& a : plan.cfg.accelerators)
    if (!hashes.count(a.file)) hashes[a.file] = report::sha256_file(a.file);
  for (const auto& w : plan.cfg.workload_files)
    if (!hashes.count(w)) hashes[w] = report::sha256_file(w);
  nlohmann::json files = nlohmann::json::object();
  for (const auto& [f, h] : hashes) files[f] = h;
  plan.spec["schema"] = "xpusim.sweep_plan";
  plan.spec["schema_version"] = 1;
  plan.spec["sweep"] = plan.cfg.name;
  plan.spec["input_sha256"] = files;
  plan.spec["overrides"] = opts.overrides;
  nlohmann::json pts = nlohmann::json::array();
  for (const auto& p : plan.points) pts.push_back({{"index", p.index}, {"id", p.id}, {"params", params_json(p)}});
  plan.spec["points"] = pts;
  return plan;
}

}  // namespace detail

}  // namespace xpu::experiment
