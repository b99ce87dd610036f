#include "sim/report/report_writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "sim/config/document.h"
#include "sim/report/atomic_file.h"
#include "sim/report/comparison.h"
#include "sim/report/html_report.h"
#include "sim/report/number_format.h"

namespace xpu::report {

namespace {

std::string fmt_sig(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

nlohmann::json layer_json(const LayerResult& l) {
  nlohmann::json j;
  j["name"] = l.name;
  j["op"] = l.op;
  j["shape"] = l.shape;
  j["io"] = l.io;
  j["macs"] = l.macs;
  if (l.effective_macs) j["effective_macs"] = l.effective_macs;
  j["flops"] = l.flops();
  j["cycles"] = l.cycles;
  j["seconds"] = l.seconds;
  j["tops"] = l.tops();
  j["utilization"] = l.utilization;
  j["dram_bytes"] = l.dram_bytes();
  j["operational_intensity"] = l.operational_intensity();
  j["stall_cycles"] = l.stalls;
  nlohmann::json share = nlohmann::json::object();
  for (const auto& [cause, c] : l.stalls) share[cause] = l.stall_share(cause);
  j["stall_share"] = share;
  j["stall_cause"] = l.stall_cause;
  j["verdict"] = verdict_name(l.verdict);
  j["verified"] = l.verified();
  if (!l.fused.empty()) j["fused"] = l.fused;
  if (!l.bytes.empty()) j["bytes"] = l.bytes;
  if (!l.kernel.empty()) j["kernel"] = l.kernel;
  if (!l.unit_utilization.empty()) j["unit_utilization"] = l.unit_utilization;
  if (l.waves_total > 0)
    j["sampling"] = {{"sampled", l.sampled}, {"waves_simulated", l.waves_simulated}, {"waves_total", l.waves_total}};
  if (l.trips > 0) {
    j["sampling"]["k_loop_trips_simulated"] = l.trips_simulated;
    j["sampling"]["k_loop_trips"] = l.trips;
  }
  if (!l.reused_from.empty()) j["sampling"]["reused_from"] = l.reused_from;
  j["energy"] = l.energy.to_json();
  j["stats"] = l.stats.to_json();
  return j;
}

}  // namespace

nlohmann::json run_json(const RunResult& run, bool layers) {
  nlohmann::json rj;
  rj["label"] = run.label();
  rj["accelerator"] = run.accelerator;
  rj["accelerator_file"] = run.accelerator_file;
  rj["overrides"] = nlohmann::json::array();
  for (const auto& o : run.overrides) rj["overrides"].push_back(config::plain_override(o));
  rj["workload"] = run.workload;
  rj["workload_file"] = run.workload_file;
  rj["precision"] = run.precision;
  rj["precision_slot"] = run.precision_slot;
  rj["fidelity"] = run.fidelity;
  rj["clock_mhz"] = run.clock_mhz;
  rj["peak_macs_per_cycle"] = run.peak_macs_per_cycle;
  rj["peak_tops"] = run.peak_tops();
  rj["peak_dram_gbps"] = run.peak_dram_gbps;
  rj["ridge_ops_per_byte"] = run.ridge_ops_per_byte();
  nlohmann::json t;
  const double s = run.seconds(), e = run.energy_pj();
  t["cycles"] = run.cycles();
  t["seconds"] = s;
  t["throughput_per_s"] = s > 0 ? 1.0 / s : 0.0;
  t["macs"] = run.macs();
  t["flops"] = 2.0 * double(run.macs());
  t["tops"] = run.tops();
  if (!run.sparsity.empty()) {
    // 2:4 sparse weights: macs/flops/tops count the dense-equivalent work,
    // these what the sparse matrix units did.
    rj["sparsity"] = run.sparsity;
    t["effective_macs"] = run.effective_macs();
    t["effective_flops"] = 2.0 * double(run.effective_macs());
    t["effective_tops"] = s > 0 ? 2.0 * double(run.effective_macs()) / s / 1e12 : 0.0;
  }
  t["utilization"] = run.utilization();
  t["energy_pj"] = e;
  t["energy_per_inference_j"] = e * 1e-12;
  t["dynamic_energy_pj"] = run.dynamic_energy_pj();
  t["static_energy_pj"] = run.static_energy_pj();
  t["average_power_w"] = s > 0 ? e * 1e-12 / s : 0.0;
  t["energy_by_component_pj"] = run.energy_by_component();
  t["pj_per_mac"] = run.macs() ? e / double(run.macs()) : 0.0;
  t["energy_delay_product_js"] = e * 1e-12 * s;
  t["dram_bytes"] = run.dram_bytes();
  t["operational_intensity"] = run.dram_bytes() > 0 ? 2.0 * double(run.macs()) / run.dram_bytes() : 0.0;
  rj["totals"] = t;
  if (layers) {
    rj["layers"] = nlohmann::json::array();
    for (const auto& l : run.layers) rj["layers"].push_back(layer_json(l));
  }
  return rj;
}

nlohmann::json comparisons_json(const ExperimentResult& r) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : compare_runs(r)) {
    nlohmann::json cj;
    cj["workload"] = c.workload;
    cj["precision"] = c.precision;
    cj["accelerators"] = c.columns;
    cj["baseline"] = c.columns.empty() ? std::string() : c.columns[0];
    cj["metrics"] = nlohmann::json::array();
    for (const auto& m : c.metrics) {
      nlohmann::json mj;
      mj["key"] = m.key;
      mj["title"] = m.title;
      mj["unit"] = m.unit;
      mj["better"] = m.better.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.better);
      mj["values"] = nlohmann::json::array();
      mj["best"] = nlohmann::json::array();
      for (size_t i = 0; i < m.values.size(); ++i) {
        mj["values"].push_back(finite(m.values[i]));
        if (m.best[i]) mj["best"].push_back(c.columns[i]);
      }
      cj["metrics"].push_back(mj);
    }
    cj["layers"] = nlohmann::json::array();
    for (const auto& d : c.layers) {
      nlohmann::json lj;
      lj["layer"] = d.layer;
      lj["seconds"] = nlohmann::json::array();
      lj["energy_pj"] = nlohmann::json::array();
      lj["seconds_vs_baseline"] = nlohmann::json::array();
      for (size_t i = 0; i < d.cells.size(); ++i) {
        const LayerResult* l = d.cells[i];
        lj["seconds"].push_back(l ? nlohmann::json(l->seconds) : nlohmann::json(nullptr));
        lj["energy_pj"].push_back(l ? nlohmann::json(l->energy.total_pj) : nlohmann::json(nullptr));
        lj["seconds_vs_baseline"].push_back(l && d.cells[0] && d.cells[0]->seconds > 0
                                                ? nlohmann::json(l->seconds / d.cells[0]->seconds)
                                                : nlohmann::json(nullptr));
      }
      nlohmann::json fastest = nlohmann::json::array(), least = nlohmann::json::array();
      for (size_t i = 0; i < d.cells.size(); ++i) {
        if (d.fastest[i]) fastest.push_back(c.columns[i]);
        if (d.least_energy[i]) least.push_back(c.columns[i]);
      }
      lj["fastest"] = fastest;
      lj["least_energy"] = least;
      cj["layers"].push_back(lj);
    }
    out.push_back(cj);
  }
  return out;
}

nlohmann::json summary_json(const ExperimentResult& r) {
  nlohmann::json j;
  j["schema"] = "xpusim.summary";
  j["schema_version"] = kSummarySchemaVersion;
  j["experiment"] = r.name;
  j["manifest"] = r.manifest;
  j["runs"] = nlohmann::json::array();
  for (const auto& run : r.runs) j["runs"].push_back(run_json(run));
  j["comparisons"] = comparisons_json(r);
  if (!r.generations.empty()) j["generations"] = generation_json(r.generations);
  return j;
}

std::string layers_csv(const ExperimentResult& r) {
  std::ostringstream o;
  // --explain: one column per waterfall step (the steps of the first layer
  // that has them; every such layer has the same steps).
  std::vector<std::string> steps;
  for (const auto& run : r.runs)
    for (const auto& l : run.layers)
      if (steps.empty())
        for (const auto& [name, cycles] : l.waterfall) steps.push_back(name);
  o << "experiment,accelerator,workload,precision,fidelity,layer_index,layer,op,shape,io,macs,flops,cycles,seconds,"
       "tops,utilization,dram_bytes,operational_intensity,stall_cause,energy_pj,dynamic_energy_pj,"
       "static_energy_pj,sampled,waves_simulated,verified,k_loop_trips,reused_from";
  for (const auto& s : steps) o << ',' << csv_field("waterfall: " + s);
  o << '\n';
  for (const auto& run : r.runs)
    for (size_t i = 0; i < run.layers.size(); ++i) {
      const auto& l = run.layers[i];
      o << csv_field(r.name) << ',' << csv_field(run.accelerator) << ',' << csv_field(run.workload) << ','
        << run.precision << ',' << run.fidelity << ',' << i << ',' << csv_field(l.name) << ',' << csv_field(l.op) << ','
        << csv_field(l.shape) << ',' << csv_field(l.io) << ',' << l.macs << ',' << fmt_sig(l.flops()) << ','
        << l.cycles << ',' << fmt_sig(l.seconds) << ',' << fmt_sig(l.tops()) << ',' << fmt_sig(l.utilization)
        << ',' << fmt_sig(l.dram_bytes()) << ',' << fmt_sig(l.operational_intensity()) << ','
        << l.stall_cause << ',' << fmt_sig(l.energy.total_pj) << ',' << fmt_sig(l.energy.dynamic_pj) << ','
        << fmt_sig(l.energy.static_pj) << ',' << (l.waves_total ? (l.sampled ? "yes" : "no") : "") << ','
        << (l.waves_total ? std::to_string(l.waves_simulated) + "/" + std::to_string(l.waves_total) : "") << ','
        << csv_field(l.verified()) << ','
        << (l.trips ? std::to_string(l.trips_simulated) + "/" + std::to_string(l.trips) : "") << ','
        << csv_field(l.reused_from);
      for (size_t k = 0; k < steps.size(); ++k) {
        o << ',';
        if (k < l.waterfall.size()) o << l.waterfall[k].second;
      }
      o << '\n';
    }
  return o.str();
}

std::string layer_energy_csv(const ExperimentResult& r) {
  std::ostringstream o;
  o << "experiment,accelerator,workload,precision,layer_index,layer,component,op_class,energy_pj\n";
  for (const auto& run : r.runs)
    for (size_t i = 0; i < run.layers.size(); ++i)
      for (const auto& [comp, classes] : run.layers[i].energy.by_component_op_class)
        for (const auto& [cls, pj] : classes)
          o << csv_field(r.name) << ',' << csv_field(run.accelerator) << ',' << csv_field(run.workload) << ','
            << run.precision << ',' << i << ',' << csv_field(run.layers[i].name) << ',' << csv_field(comp) << ','
            << csv_field(cls) << ',' << fmt_sig(pj) << '\n';
  return o.str();
}

std::string report_markdown(const ExperimentResult& r) {
  std::ostringstream o;
  o << "# xpusim report: " << r.name << "\n\n";
  if (r.manifest.contains("xpusim_version"))
    o << "xpusim " << r.manifest["xpusim_version"].get<std::string>() << " (revision "
      << r.manifest.value("git_revision", std::string("unknown")) << ")";
  if (r.manifest.contains("energy_table"))
    o << ", energy table " << r.manifest["energy_table"].value("label", std::string("?"));
  // Each machine prices with the table at its own node and DRAM technology.
  std::map<std::string, std::string> priced;
  for (const auto& run : r.runs)
    if (!run.layers.empty()) priced.emplace(run.accelerator, run.layers.front().energy.table_label);
  for (const auto& [acc, label] : priced) o << "; " << acc << ": " << label;
  o << "\n\n";
  o << "| accelerator | workload | precision | cycles | time (us) | TOPS | peak TOPS | utilization | energy (uJ) | "
       "dynamic (uJ) | static (uJ) | avg power (W) | pJ/MAC |\n";
  o << "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& run : r.runs)
    o << "| " << run.accelerator << " | " << run.workload << " | " << run.precision << " | " << run.cycles()
      << " | " << fmt(run.seconds() * 1e6, 2) << " | " << fmt(run.tops(), 2) << " | " << fmt(run.peak_tops(), 1)
      << " | " << fmt(100 * run.utilization(), 1) << " % | " << fmt(run.energy_pj() * 1e-6, 3) << " | "
      << fmt(run.dynamic_energy_pj() * 1e-6, 3) << " | " << fmt(run.static_energy_pj() * 1e-6, 3) << " | "
      << fmt(run.seconds() > 0 ? run.energy_pj() * 1e-12 / run.seconds() : 0.0, 2) << " | "
      << fmt(run.macs() ? run.energy_pj() / double(run.macs()) : 0.0, 3) << " |\n";
  bool sparse_note = false;
  for (const auto& run : r.runs) {
    if (run.sparsity.empty()) continue;
    if (!sparse_note) o << "\nSparse runs (weights pruned " << run.sparsity
                        << ", sparse matrix units): TOPS above count the dense-equivalent work; effective is what the "
                           "units did.\n\n| run | dense-equivalent GMAC | effective GMAC | dense-equivalent TOPS | "
                           "effective TOPS |\n|---|---:|---:|---:|---:|\n";
    sparse_note = true;
    const double s = run.seconds();
    o << "| " << run.label() << " (" << run.sparsity << ") | " << fmt(double(run.macs()) * 1e-9, 3) << " | "
      << fmt(double(run.effective_macs()) * 1e-9, 3) << " | " << fmt(run.tops(), 2) << " | "
      << fmt(s > 0 ? 2.0 * double(run.effective_macs()) / s / 1e12 : 0.0, 2) << " |\n";
  }
  for (const auto& c : compare_runs(r)) {
    o << "\n## Comparison: " << c.workload << " / " << c.precision << "\n\n| metric | unit |";
    for (const auto& col : c.columns) o << " " << col << " |";
    o << "\n|---|---|";
    for (size_t i = 0; i < c.columns.size(); ++i) o << "---:|";
    o << "\n";
    for (const auto& m : c.metrics) {
      o << "| " << m.title << (m.better.empty() ? "" : " (" + m.better + " is better)") << " | " << m.unit << " |";
      for (size_t i = 0; i < m.values.size(); ++i) {
        const std::string v = !std::isfinite(m.values[i]) ? "-"
                              : m.unit == "ratio"          ? fmt(100 * m.values[i], 2) + " %"
                                                           : fmt_sig(m.values[i]);
        o << " " << (m.best[i] ? "**" + v + "** *" : v) << " |";
      }
      o << "\n";
    }
    if (c.columns.size() > 1) {
      o << "\nPer-layer latency (us) and ratio to " << c.columns[0] << " (** = fastest):\n\n| layer |";
      for (const auto& col : c.columns) o << " " << col << " |";
      for (size_t i = 1; i < c.columns.size(); ++i) o << " " << c.columns[i] << " / " << c.columns[0] << " |";
      o << "\n|---|";
      for (size_t i = 0; i < 2 * c.columns.size() - 1; ++i) o << "---:|";
      o << "\n";
      for (const auto& d : c.layers) {
        o << "| " << d.layer << " |";
        for (size_t i = 0; i < d.cells.size(); ++i) {
          const std::string v = d.cells[i] ? fmt_sig(d.cells[i]->seconds * 1e6) : "-";
          o << " " << (d.fastest[i] ? "**" + v + "**" : v) << " |";
        }
        for (size_t i = 1; i < d.cells.size(); ++i)
          o << " "
            << (d.cells[i] && d.cells[0] && d.cells[0]->seconds > 0 ? fmt(d.cells[i]->seconds / d.cells[0]->seconds, 2) + "x"
                                                                     : std::string("-"))
            << " |";
        o << "\n";
      }
    }
  }
  o << "\n(* marks the better value where better/worse applies.)\n";
  for (const auto& run : r.runs) {
    o << "\n## " << run.accelerator << " / " << run.workload << " / " << run.precision << " (" << run.fidelity
      << " fidelity)\n\n";
    o << "| layer | shape (m x n x k) | io | MACs | cycles | TOPS | utilization | main stall | energy (uJ) | values |\n";
    o << "|---|---|---|---:|---:|---:|---:|---|---:|---|\n";
    for (const auto& l : run.layers) {
      std::string stall = l.stall_cause.empty()
                              ? "-"
                              : l.stall_cause + " (" + fmt(100.0 * l.stall_share(l.stall_cause), 1) + " %)";
      o << "| " << l.name << " | " << l.shape << " | " << l.io << " | " << l.macs << " | " << l.cycles << " | " << fmt(l.tops(), 2)
        << " | " << fmt(100 * l.utilization, 1) << " % | " << stall << " | " << fmt(l.energy.total_pj * 1e-6, 3)
        << " | " << l.verified() << " |\n";
    }
    // Energy by component over the run.
    std::map<std::string, double> comp;
    double total = 0;
    for (const auto& l : run.layers)
      for (const auto& [c, pj] : l.energy.by_component) {
        comp[c] += pj;
        total += pj;
      }
    if (!comp.empty()) {
      o << "\nEnergy by component:\n\n| component | energy (uJ) | share |\n|---|---:|---:|\n";
      for (const auto& [c, pj] : comp)
        o << "| " << c << " | " << fmt(pj * 1e-6, 3) << " | " << fmt(total > 0 ? 100 * pj / total : 0, 1) << " % |\n";
    }
    // Matrix units of a many-unit machine over the whole run: each unit's
    // layer utilizations weighted by the layers' cycles.
    std::map<std::string, double> busy;
    for (const auto& l : run.layers)
      for (const auto& [u, x] : l.unit_utilization) busy[u] += x * double(l.cycles);
    if (!busy.empty() && run.cycles() > 0) {
      o << "\nUtilization by matrix unit (whole run):\n\n| unit | utilization |\n|---|---:|\n";
      for (const auto& [u, b] : busy) o << "| " << u << " | " << fmt(100 * b / double(run.cycles()), 1) << " % |\n";
    }
  }
  return o.str();
}

std::vector<std::string> write_reports(const ExperimentResult& r, const std::string& dir,
                                       const std::vector<std::pair<std::string, std::string>>& extra) {
  make_dirs(dir);
  FileSet files(dir);
  files.add("summary.json", summary_json(r).dump(2) + "\n");
  files.add("layers.csv", layers_csv(r));
  files.add("layer_energy.csv", layer_energy_csv(r));
  files.add("report.md", r.generations.empty() ? report_markdown(r)
                                              : report_markdown(r) + "\n" + generation_markdown(r.generations));
  if (!r.generations.empty()) files.add("generation.csv", generation_csv(r.generations));
  files.add("report.html", report_html(r));
  for (const auto& [name, content] : extra) files.add(name, content);
  return files.commit();
}

}  // namespace xpu::report
