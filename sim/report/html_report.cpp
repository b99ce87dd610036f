#include "sim/report/html_report.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "sim/report/comparison.h"
#include "sim/report/svg.h"

namespace xpu::report {

namespace {

using svg::escape;
using svg::si;

std::string cell(double v, const std::string& unit) {
  if (!std::isfinite(v)) return "&ndash;";
  if (unit == "cycles" || unit == "bytes") {
    char b[40];
    std::snprintf(b, sizeof b, "%.0f", v);
    return b;
  }
  if (unit == "ratio") {
    char b[40];
    std::snprintf(b, sizeof b, "%.2f %%", 100 * v);
    return b;
  }
  char b[40];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string comparison_html(const ExperimentResult& r, const Comparison& c) {
  std::string o = "<h3>" + escape(c.workload) + " &middot; " + escape(c.precision) + "</h3>\n<table><tr><th>metric</th><th>unit</th>";
  for (const auto& col : c.columns) o += "<th>" + escape(col) + "</th>";
  o += "</tr>\n";
  std::string components;  // energy per component: a collapsed table of its own
  for (const auto& m : c.metrics) {
    if (m.key.rfind("energy_j.", 0) == 0) {
      components += "<tr><td>" + escape(m.key.substr(9)) + "</td>";
      for (size_t i = 0; i < m.values.size(); ++i) components += "<td>" + cell(m.values[i], m.unit) + "</td>";
      components += "</tr>\n";
      continue;
    }
    o += "<tr><td>" + escape(m.title) + (m.better.empty() ? "" : " <span class=\"dim\">(" + m.better + " is better)</span>") +
         "</td><td>" + escape(m.unit) + "</td>";
    for (size_t i = 0; i < m.values.size(); ++i)
      o += std::string(m.best[i] ? "<td class=\"best\">&#9733; " : "<td>") + cell(m.values[i], m.unit) + "</td>";
    o += "</tr>\n";
  }
  o += "</table>\n";
  if (!components.empty()) {
    o += "<details><summary>Energy by component (J)</summary>\n<table><tr><th>component</th>";
    for (const auto& col : c.columns) o += "<th>" + escape(col) + "</th>";
    o += "</tr>\n" + components + "</table></details>\n";
  }
  if (c.columns.size() > 1 && !c.layers.empty()) {
    o += "<details><summary>Per-layer deltas (" + std::to_string(c.layers.size()) +
         " layers; ratios relative to " + escape(c.columns[0]) + ")</summary>\n<table><tr><th>layer</th>";
    for (const auto& col : c.columns) o += "<th>" + escape(col) + " latency (us)</th>";
    for (size_t i = 1; i < c.columns.size(); ++i) o += "<th>" + escape(c.columns[i]) + " / base latency</th>";
    for (const auto& col : c.columns) o += "<th>" + escape(col) + " energy (uJ)</th>";
    o += "</tr>\n";
    for (const auto& d : c.layers) {
      o += "<tr><td>" + escape(d.layer) + "</td>";
      for (size_t i = 0; i < d.cells.size(); ++i)
        o += std::string(d.fastest[i] ? "<td class=\"best\">&#9733; " : "<td>") +
             (d.cells[i] ? cell(d.cells[i]->seconds * 1e6, "") : "&ndash;") + "</td>";
      for (size_t i = 1; i < d.cells.size(); ++i)
        o += "<td>" + (d.cells[i] && d.cells[0] && d.cells[0]->seconds > 0
                           ? cell(d.cells[i]->seconds / d.cells[0]->seconds, "") + "&times;"
                           : std::string("&ndash;")) + "</td>";
      for (size_t i = 0; i < d.cells.size(); ++i)
        o += std::string(d.least_energy[i] ? "<td class=\"best\">&#9733; " : "<td>") +
             (d.cells[i] ? cell(d.cells[i]->energy.total_pj * 1e-6, "") : "&ndash;") + "</td>";
      o += "</tr>\n";
    }
    o += "</table></details>\n";
  }
  (void)r;
  return o;
}

}  // namespace

std::string html_page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" + escape(title) +
         "</title>\n<style>\n"
         "body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}\n"
         "table{border-collapse:collapse;margin:8px 0 16px}\n"
         "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}\n"
         "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\n"
         "td.best{background:#e6f4e6;font-weight:bold}\n.dim{color:#888;font-weight:normal}\n"
         "svg{display:block;margin:8px 0 20px;background:#fff;border:1px solid #eee}\n"
         ".grid{display:flex;flex-wrap:wrap;gap:12px}\ncode{font-size:12px}\n"
         "</style></head><body>\n" + body + "\n</body></html>\n";
}

std::string html_manifest(const nlohmann::json& m) {
  std::string o = "<p>xpusim " + escape(m.value("xpusim_version", std::string("?"))) + " (revision " +
                  escape(m.value("git_revision", std::string("unknown"))) + ")";
  if (m.contains("energy_table")) o += ", energy table " + escape(m["energy_table"].value("label", std::string("?")));
  if (m.contains("fidelity")) o += ", " + escape(m.value("fidelity", std::string())) + " fidelity";
  o += "</p>\n";
  if (m.contains("input_sha256")) {
    o += "<details><summary>Inputs (SHA-256)</summary><table><tr><th>file</th><th>sha256</th></tr>";
    for (auto it = m["input_sha256"].begin(); it != m["input_sha256"].end(); ++it)
      o += "<tr><td>" + escape(it.key()) + "</td><td><code>" + escape(it.value().get<std::string>()) + "</code></td></tr>";
    o += "</table></details>\n";
  }
  return o;
}

std::string report_html(const ExperimentResult& r) {
  std::string b = "<h1>xpusim report: " + escape(r.name) + "</h1>\n" + html_manifest(r.manifest);
  const auto comps = compare_runs(r);
  b += "<h2>Comparison</h2>\n<p>&#9733; marks the better value where better/worse applies. Throughput is workload "
       "passes per second (one pass = the workload's batch). Energy per inference is the energy of one pass.</p>\n";
  for (const auto& c : comps) b += comparison_html(r, c);

  // Per-layer latency and energy, stacked by layer, one bar per run.
  std::vector<svg::Bar> lat, en, comp;
  std::vector<std::string> components;
  {
    std::set<std::string> s;
    for (const auto& run : r.runs)
      for (const auto& [name, pj] : run.energy_by_component()) s.insert(name);
    components.assign(s.begin(), s.end());
  }
  size_t max_layers = 0;
  for (const auto& run : r.runs) {
    svg::Bar l{run.label(), {}}, e{run.label(), {}}, c{run.label(), {}};
    for (size_t i = 0; i < run.layers.size(); ++i) {
      l.segments.push_back({run.layers[i].name, run.layers[i].seconds * 1e6, i});
      e.segments.push_back({run.layers[i].name, run.layers[i].energy.total_pj * 1e-6, i});
    }
    const auto byc = run.energy_by_component();
    for (size_t i = 0; i < components.size(); ++i) {
      auto it = byc.find(components[i]);
      c.segments.push_back({components[i], it == byc.end() ? 0.0 : it->second * 1e-6, i});
    }
    max_layers = std::max(max_layers, run.layers.size());
    lat.push_back(std::move(l));
    en.push_back(std::move(e));
    comp.push_back(std::move(c));
  }
  std::vector<std::string> layer_legend;
  if (!r.runs.empty() && max_layers <= 24)
    for (const auto& l : r.runs[0].layers) layer_legend.push_back(l.name);
  b += "<h2>Latency and energy by layer</h2>\n<p>One bar per run, one segment per layer in execution order (hover "
       "for the layer).</p>\n";
  b += svg::stacked_bars("Latency by layer", lat, "microseconds", layer_legend);
  b += svg::stacked_bars("Energy by layer", en, "microjoules", layer_legend);
  b += "<h2>Energy by component</h2>\n";
  b += svg::stacked_bars("Energy by component", comp, "microjoules", components);

  // --explain: the waterfall from SCALE-Sim's cycles to the run's, summed
  // over the layers that have one: a bar per step, the part carried over
  // from the previous step grey, the step's own change coloured.
  for (const auto& run : r.runs) {
    std::vector<std::pair<std::string, double>> totals;
    for (const auto& l : run.layers)
      for (size_t k = 0; k < l.waterfall.size(); ++k) {
        if (totals.size() <= k) totals.push_back({l.waterfall[k].first, 0.0});
        totals[k].second += double(l.waterfall[k].second);
      }
    if (totals.empty()) continue;
    std::vector<svg::Bar> bars;
    double prev = 0;
    for (size_t k = 0; k < totals.size(); ++k) {
      const double v = totals[k].second;
      svg::Bar bar{totals[k].first + " (" + si(v) + ")", {}};
      const double kept = k == 0 ? v : std::min(prev, v);
      bar.segments.push_back({"carried over", kept, k == 0 ? size_t(0) : size_t(7)});
      if (v > kept) bar.segments.push_back({"added by this step: " + si(v - kept) + " cycles", v - kept, size_t(1)});
      bars.push_back(std::move(bar));
      prev = v;
    }
    b += "<h2>From SCALE-Sim's cycles to this run's: " + escape(run.label()) +
         "</h2>\n<p>Each step turns one mechanism back on and is simulated (not estimated); the "
         "steps are cumulative. Per layer: the waterfall columns of layers.csv.</p>\n";
    b += svg::stacked_bars("Waterfall (cycles, all layers)", bars, "cycles");
  }

  b += "<h2>Roofline</h2>\n<p>Operational intensity counts 2 ops per MAC over bytes read from and written to the "
       "machine's DRAM (weight memory or HBM); the roof is min(peak TOPS at the run's precision, DRAM bandwidth "
       "&times; intensity).</p>\n<div class=\"grid\">\n";
  for (const auto& run : r.runs) {
    std::vector<svg::RoofPoint> pts;
    for (const auto& l : run.layers) pts.push_back({l.name, l.operational_intensity(), l.tops(), false});
    const double db = run.dram_bytes();
    pts.push_back({"whole run", db > 0 ? 2.0 * double(run.macs()) / db : 0, run.tops(), true});
    b += svg::roofline("Roofline: " + run.label(), run.peak_tops(), run.peak_dram_gbps, pts);
  }
  b += "</div>\n";

  b += "<h2>Runs</h2>\n<table><tr><th>run</th><th>fidelity</th><th>layers</th><th>cycles</th><th>latency (s)</th>"
       "<th>TOPS</th><th>utilization</th><th>energy (J)</th><th>dynamic (J)</th><th>static (J)</th><th>pJ/MAC</th>"
       "<th>values</th></tr>\n";
  for (const auto& run : r.runs) {
    b += "<tr><td>" + escape(run.label()) + "</td><td>" + escape(run.fidelity) + "</td><td>" +
         std::to_string(run.layers.size()) + "</td><td>" + std::to_string(run.cycles()) + "</td><td>" +
         cell(run.seconds(), "") + "</td><td>" + cell(run.tops(), "") + "</td><td>" + cell(run.utilization(), "ratio") +
         "</td><td>" + cell(run.energy_pj() * 1e-12, "") + "</td><td>" + cell(run.dynamic_energy_pj() * 1e-12, "") +
         "</td><td>" + cell(run.static_energy_pj() * 1e-12, "") + "</td><td>" +
         cell(run.macs() ? run.energy_pj() / double(run.macs()) : NAN, "") + "</td><td>" +
         escape(verdict_summary(run)) + "</td></tr>\n";
  }
  b += "</table>\n";
  return html_page("xpusim report: " + r.name, b);
}

}  // namespace xpu::report
