#include "sim/report/report_writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "sim/report/atomic_file.h"

namespace xpu::report {

namespace {

std::string fmt(double v, int prec = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

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
  j["flops"] = l.flops();
  j["cycles"] = l.cycles;
  j["seconds"] = l.seconds;
  j["tops"] = l.tops();
  j["utilization"] = l.utilization;
  j["stall_cycles"] = l.stalls;
  j["stall_cause"] = l.stall_cause;
  j["verified"] = l.verified;
  j["energy"] = l.energy.to_json();
  j["stats"] = l.stats.to_json();
  return j;
}

}  // namespace

nlohmann::json summary_json(const ExperimentResult& r) {
  nlohmann::json j;
  j["schema"] = "xpusim.summary";
  j["schema_version"] = kSummarySchemaVersion;
  j["experiment"] = r.name;
  j["manifest"] = r.manifest;
  j["runs"] = nlohmann::json::array();
  for (const auto& run : r.runs) {
    nlohmann::json rj;
    rj["accelerator"] = run.accelerator;
    rj["accelerator_file"] = run.accelerator_file;
    rj["overrides"] = run.overrides;
    rj["workload"] = run.workload;
    rj["workload_file"] = run.workload_file;
    rj["precision"] = run.precision;
    rj["fidelity"] = run.fidelity;
    rj["clock_mhz"] = run.clock_mhz;
    rj["peak_macs_per_cycle"] = run.peak_macs_per_cycle;
    rj["peak_tops"] = run.peak_tops();
    nlohmann::json t;
    t["cycles"] = run.cycles();
    t["seconds"] = run.seconds();
    t["macs"] = run.macs();
    t["flops"] = 2.0 * double(run.macs());
    t["tops"] = run.tops();
    t["utilization"] = run.utilization();
    t["energy_pj"] = run.energy_pj();
    t["pj_per_mac"] = run.macs() ? run.energy_pj() / double(run.macs()) : 0.0;
    t["energy_delay_product_js"] = run.energy_pj() * 1e-12 * run.seconds();
    rj["totals"] = t;
    rj["layers"] = nlohmann::json::array();
    for (const auto& l : run.layers) rj["layers"].push_back(layer_json(l));
    j["runs"].push_back(rj);
  }
  return j;
}

std::string layers_csv(const ExperimentResult& r) {
  std::ostringstream o;
  o << "experiment,accelerator,workload,precision,fidelity,layer,op,shape,io,macs,flops,cycles,seconds,"
       "tops,utilization,stall_cause,energy_pj,verified\n";
  for (const auto& run : r.runs)
    for (const auto& l : run.layers)
      o << csv_field(r.name) << ',' << csv_field(run.accelerator) << ',' << csv_field(run.workload) << ','
        << run.precision << ',' << run.fidelity << ',' << csv_field(l.name) << ',' << l.op << ','
        << l.shape << ',' << l.io << ',' << l.macs << ',' << fmt_sig(l.flops()) << ',' << l.cycles << ','
        << fmt_sig(l.seconds) << ',' << fmt_sig(l.tops()) << ',' << fmt_sig(l.utilization) << ','
        << l.stall_cause << ',' << fmt_sig(l.energy.total_pj) << ',' << csv_field(l.verified) << '\n';
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
  o << "\n\n";
  o << "| accelerator | workload | precision | cycles | time (us) | TOPS | peak TOPS | utilization | energy (uJ) | pJ/MAC |\n";
  o << "|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& run : r.runs)
    o << "| " << run.accelerator << " | " << run.workload << " | " << run.precision << " | " << run.cycles()
      << " | " << fmt(run.seconds() * 1e6, 2) << " | " << fmt(run.tops(), 2) << " | " << fmt(run.peak_tops(), 1)
      << " | " << fmt(100 * run.utilization(), 1) << " % | " << fmt(run.energy_pj() * 1e-6, 3) << " | "
      << fmt(run.macs() ? run.energy_pj() / double(run.macs()) : 0.0, 3) << " |\n";
  for (const auto& run : r.runs) {
    o << "\n## " << run.accelerator << " / " << run.workload << " / " << run.precision << " (" << run.fidelity
      << " fidelity)\n\n";
    o << "| layer | shape (m x n x k) | io | MACs | cycles | TOPS | utilization | main stall | energy (uJ) | values |\n";
    o << "|---|---|---|---:|---:|---:|---:|---|---:|---|\n";
    for (const auto& l : run.layers) {
      std::string stall = l.stall_cause.empty()
                              ? "-"
                              : l.stall_cause + " (" + fmt(100.0 * l.stalls.at(l.stall_cause) / double(std::max<uint64_t>(1, l.cycles)), 1) + " %)";
      o << "| " << l.name << " | " << l.shape << " | " << l.io << " | " << l.macs << " | " << l.cycles << " | " << fmt(l.tops(), 2)
        << " | " << fmt(100 * l.utilization, 1) << " % | " << stall << " | " << fmt(l.energy.total_pj * 1e-6, 3)
        << " | " << l.verified << " |\n";
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
  }
  return o.str();
}

std::vector<std::string> write_reports(const ExperimentResult& r, const std::string& dir) {
  make_dirs(dir);
  std::vector<std::string> written;
  auto put = [&](const std::string& name, const std::string& content) {
    const std::string path = dir + "/" + name;
    write_atomically(path, content);
    written.push_back(path);
  };
  put("summary.json", summary_json(r).dump(2) + "\n");
  put("layers.csv", layers_csv(r));
  put("report.md", report_markdown(r));
  return written;
}

}  // namespace xpu::report
