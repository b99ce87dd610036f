// A sweep's reports from its point results: summary.json (with the Pareto
// fronts of latency vs energy), points.csv, layers.csv, report.md,
// report.html and manifest.json.
#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <thread>
#include <tuple>

#include <spdlog/spdlog.h>

#include "sim/experiment/pareto.h"
#include "sim/experiment/runner.h"
#include "sim/experiment/sweep_internal.h"
#include "sim/report/atomic_file.h"
#include "sim/report/html_report.h"
#include "sim/report/svg.h"
#include "xpusim_version.h"

namespace xpu::experiment {
namespace detail {

namespace {

std::string csv(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

std::string num(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}


}  // namespace

nlohmann::json read_result(const SweepPlan& plan, const SweepPoint& p) {
  nlohmann::json r;
  try {
    r = nlohmann::json::parse(slurp(result_path(plan.dir, p)));
  } catch (const std::exception& e) {
    throw SweepError(result_path(plan.dir, p) + ": unreadable result: " + e.what());
  }
  if (r.value("id", std::string()) != p.id)
    throw SweepError(result_path(plan.dir, p) + ": result belongs to point " + r.value("id", std::string("?")));
  return r;
}

nlohmann::json result_digest(const nlohmann::json& result) {
  nlohmann::json d;
  d["id"] = result.value("id", std::string());
  const nlohmann::json& summary = result.at("summary");
  nlohmann::json& ds = d["summary"];
  ds["manifest"] = summary.at("manifest");
  ds["runs"] = nlohmann::json::array();
  for (const auto& run : summary.at("runs")) {
    nlohmann::json r = nlohmann::json::object();
    for (const auto& [k, v] : run.items())
      if (k != "layers") r[k] = v;
    nlohmann::json& layers = r["layers"] = nlohmann::json::array();
    for (const auto& l : run.at("layers")) {
      // What layers.csv reads of a layer (finish_sweep).
      nlohmann::json dl = nlohmann::json::object();
      for (const char* k : {"name", "op", "shape", "macs", "cycles", "seconds", "utilization", "dram_bytes", "verified"})
        if (l.contains(k)) dl[k] = l[k];
      dl["energy"]["total_pj"] = l.at("energy").at("total_pj");
      layers.push_back(std::move(dl));
    }
    ds["runs"].push_back(std::move(r));
  }
  return d;
}

int finish_sweep(const SweepPlan& plan, const SweepOptions& opts, std::chrono::system_clock::time_point started,
                 std::map<std::string, std::string>* digests) {
  // The results' names, durable once for all of them, before the reports
  // that list them; the disk works while the reports are rendered.
  std::thread sync_points([&] { sync_dir(plan.dir + "/points"); });
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join{sync_points};
  nlohmann::json points = nlohmann::json::array(), failed = nlohmann::json::array();
  nlohmann::json point_manifest;
  std::ostringstream layers;
  std::string param_cols;
  for (const auto& [k, v] : plan.points.empty() ? std::vector<std::pair<std::string, std::string>>{} : plan.points[0].params)
    param_cols += csv(k) + ",";
  layers << "sweep,point_index,point_id," << param_cols
         << "accelerator,workload,precision,layer_index,layer,op,shape,macs,cycles,seconds,utilization,dram_bytes,"
            "energy_pj,verified\n";
  // Group key (accelerator, workload, precision) -> (point slot, run slot).
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::pair<size_t, size_t>>> groups;
  std::vector<std::tuple<std::string, std::string, std::string>> group_order;
  for (const auto& p : plan.points) {
    nlohmann::json pj;
    pj["index"] = p.index;
    pj["id"] = p.id;
    pj["params"] = params_json(p);
    if (!has_result(plan.dir, p)) {
      nlohmann::json f = {{"index", p.index}, {"id", p.id}, {"params", pj["params"]}};
      std::string log = slurp(plan.dir + "/points/" + p.id + ".log");
      if (log.size() > 2000) log = log.substr(log.size() - 2000);
      f["log_tail"] = log;
      failed.push_back(f);
      continue;
    }
    nlohmann::json r;
    if (digests) {
      const auto d = digests->find(p.id);
      if (d != digests->end()) {
        r = nlohmann::json::parse(d->second, nullptr, false);  // discarded (not an object) when malformed
        digests->erase(d);
      }
    }
    if (!r.is_object() || r.value("id", std::string()) != p.id) r = read_result(plan, p);
    const nlohmann::json& summary = r["summary"];
    if (point_manifest.is_null()) point_manifest = summary["manifest"];
    pj["runs"] = nlohmann::json::array();
    for (const auto& run : summary["runs"]) {
      nlohmann::json rj = run;
      rj.erase("layers");
      const auto key = std::make_tuple(run["accelerator"].get<std::string>(), run["workload"].get<std::string>(),
                                       run["precision"].get<std::string>());
      if (!groups.count(key)) group_order.push_back(key);
      groups[key].emplace_back(points.size(), pj["runs"].size());
      pj["runs"].push_back(rj);
      size_t li = 0;
      for (const auto& l : run["layers"]) {
        layers << csv(plan.cfg.name) << ',' << p.index << ',' << p.id << ',';
        for (const auto& [k, v] : p.params) layers << csv(v) << ',';
        layers << csv(run["accelerator"]) << ',' << csv(run["workload"]) << ',' << csv(run["precision"]) << ',' << li++
               << ',' << csv(l["name"]) << ',' << csv(l["op"]) << ',' << csv(l["shape"]) << ',' << l["macs"].dump()
               << ',' << l["cycles"].dump() << ',' << num(l["seconds"].get<double>()) << ','
               << num(l["utilization"].get<double>()) << ',' << num(l.value("dram_bytes", 0.0)) << ','
               << num(l["energy"]["total_pj"].get<double>()) << ',' << csv(l["verified"]) << '\n';
      }
    }
    points.push_back(pj);
  }

  // Pareto fronts of latency vs energy, per accelerator x workload x precision.
  nlohmann::json fronts = nlohmann::json::array();
  std::vector<std::pair<std::string, std::vector<report::svg::ScatterPoint>>> scatters;
  for (const auto& key : group_order) {
    const auto& members = groups[key];
    std::vector<std::pair<double, double>> xy;
    for (const auto& [pi, ri] : members) {
      const auto& t = points[pi]["runs"][ri]["totals"];
      xy.emplace_back(t["seconds"].get<double>(), t["energy_pj"].get<double>() * 1e-12);
    }
    const auto front = pareto_front(xy);
    nlohmann::json ids = nlohmann::json::array();
    std::vector<std::pair<double, std::string>> ordered;
    std::vector<report::svg::ScatterPoint> sc;
    for (size_t i = 0; i < members.size(); ++i) {
      auto& run = points[members[i].first]["runs"][members[i].second];
      run["pareto"] = bool(front[i]);
      const std::string id = points[members[i].first]["id"];
      if (front[i]) ordered.emplace_back(xy[i].first, id);
      std::string label = id;
      for (const auto& [k, v] : plan.points[points[members[i].first]["index"].get<size_t>()].params) label += " " + k + "=" + v;
      sc.push_back({label, xy[i].first, xy[i].second, bool(front[i])});
    }
    std::sort(ordered.begin(), ordered.end());
    for (const auto& o : ordered) ids.push_back(o.second);
    const std::string title = std::get<0>(key) + " / " + std::get<1>(key) + " / " + std::get<2>(key);
    fronts.push_back({{"accelerator", std::get<0>(key)}, {"workload", std::get<1>(key)}, {"precision", std::get<2>(key)},
                      {"objectives", {"seconds", "energy_pj"}}, {"front", ids}});
    scatters.emplace_back(title, std::move(sc));
  }

  nlohmann::json manifest = point_manifest.is_null() ? nlohmann::json::object() : point_manifest;
  manifest.erase("overrides");
  manifest["xpusim_version"] = XPUSIM_VERSION;
  manifest["git_revision"] = XPUSIM_GIT_REVISION;
  manifest["sweep_file"] = plan.file;
  manifest["input_sha256"] = plan.spec["input_sha256"];
  manifest["overrides"] = opts.overrides;
  // Axes in file order (JSON objects would sort the keys).
  nlohmann::json axes = {{"grid", nlohmann::json::array()}, {"zip", nlohmann::json::array()}};
  for (auto [section, list] : {std::make_pair("grid", &plan.cfg.grid), std::make_pair("zip", &plan.cfg.zip)})
    for (const auto& a : *list) {
      nlohmann::json v = nlohmann::json::array();
      for (const auto& x : a.values) v.push_back(scalar_json(x));
      axes[section].push_back({{"key", a.key}, {"values", v}});
    }

  nlohmann::json s;
  s["schema"] = "xpusim.sweep";
  s["schema_version"] = 1;
  s["sweep"] = plan.cfg.name;
  s["manifest"] = manifest;
  s["axes"] = axes;
  s["point_count"] = plan.points.size();
  s["points"] = points;
  s["pareto"] = fronts;
  s["failed"] = failed;

  // points.csv: one row per point x run.
  std::ostringstream pc;
  pc << "sweep,point_index,point_id," << param_cols
     << "accelerator,workload,precision,cycles,seconds,tops,utilization,energy_pj,pj_per_mac,"
        "energy_delay_product_js,dram_bytes,pareto\n";
  for (const auto& pj : points)
    for (const auto& run : pj["runs"]) {
      const auto& t = run["totals"];
      pc << csv(plan.cfg.name) << ',' << pj["index"].dump() << ',' << pj["id"].get<std::string>() << ',';
      for (const auto& kv : plan.points[pj["index"].get<size_t>()].params) pc << csv(kv.second) << ',';  // axis order
      pc << csv(run["accelerator"]) << ',' << csv(run["workload"]) << ',' << csv(run["precision"]) << ','
         << t["cycles"].dump() << ',' << num(t["seconds"]) << ',' << num(t["tops"]) << ',' << num(t["utilization"]) << ','
         << num(t["energy_pj"]) << ',' << num(t["pj_per_mac"]) << ',' << num(t["energy_delay_product_js"]) << ','
         << num(t.value("dram_bytes", 0.0)) << ',' << (run.value("pareto", false) ? "true" : "false") << '\n';
    }

  // report.md and report.html.
  std::ostringstream md;
  std::string html = "<h1>xpusim sweep: " + report::svg::escape(plan.cfg.name) + "</h1>\n" + report::html_manifest(manifest);
  md << "# xpusim sweep: " << plan.cfg.name << "\n\n" << plan.points.size() << " points (" << points.size()
     << " with results, " << failed.size() << " failed); xpusim " << XPUSIM_VERSION << " (" << XPUSIM_GIT_REVISION
     << ")\n\nAxes:";
  html += "<p>" + std::to_string(plan.points.size()) + " points (" + std::to_string(points.size()) + " with results, " +
          std::to_string(failed.size()) + " failed). Axes:";
  for (auto sec : {"grid", "zip"})
    for (const auto& a : axes[sec]) {
      const std::string key = a["key"], vals = a["values"].dump();
      md << " `" << key << "` (" << sec << ") " << vals << ";";
      html += " <code>" + report::svg::escape(key) + "</code> (" + sec + ") " + report::svg::escape(vals) + ";";
    }
  md << "\n";
  html += "</p>\n<h2>Latency vs energy</h2>\n<p>One chart per accelerator / workload / precision; red points are "
          "Pareto-optimal (lower latency and lower energy are better).</p>\n<div class=\"grid\">\n";
  for (const auto& [title, sc] : scatters)
    html += report::svg::pareto_scatter(title, "latency (s)", "energy (J)", sc);
  html += "</div>\n";
  for (const auto& [title, sc] : scatters) {
    md << "\n## " << title << "\n\n| point | parameters | latency (s) | energy (J) | Pareto |\n|---|---|---:|---:|---|\n";
    html += "<h3>" + report::svg::escape(title) + "</h3><table><tr><th>point</th><th>parameters</th><th>latency (s)</th>"
            "<th>energy (J)</th><th>Pareto</th></tr>\n";
    for (const auto& p : sc) {
      const std::string id = p.label.substr(0, p.label.find(' '));
      const std::string params = p.label.size() > id.size() ? p.label.substr(id.size() + 1) : "";
      md << "| " << id << " | " << params << " | " << num(p.x) << " | " << num(p.y) << " | " << (p.front ? "**yes**" : "")
         << " |\n";
      html += std::string("<tr><td>") + id + "</td><td>" + report::svg::escape(params) + "</td><td" +
              (p.front ? " class=\"best\"" : "") + ">" + num(p.x) + "</td><td" + (p.front ? " class=\"best\"" : "") + ">" +
              num(p.y) + "</td><td>" + (p.front ? "&#9733; front" : "") + "</td></tr>\n";
    }
    html += "</table>\n";
  }
  if (!failed.empty()) {
    md << "\n## Failed points\n\n";
    html += "<h2>Failed points</h2><ul>";
    for (const auto& f : failed) {
      md << "- " << f["id"].get<std::string>() << " " << f["params"].dump() << " (see points/" << f["id"].get<std::string>()
         << ".log)\n";
      html += "<li>" + report::svg::escape(f["id"].get<std::string>() + " " + f["params"].dump()) + "</li>";
    }
    html += "</ul>\n";
  }

  nlohmann::json m = manifest;
  m["jobs"] = opts.jobs;
  sync_points.join();
  report::FileSet files(plan.dir);
  files.add("summary.json", s.dump(2) + "\n");
  files.add("points.csv", pc.str());
  files.add("layers.csv", layers.str());
  files.add("report.md", md.str());
  files.add("report.html", report::html_page("xpusim sweep: " + plan.cfg.name, html));
  files.add("manifest.json", run_manifest_text(m, started, command_line()));
  files.commit();
  if (!failed.empty()) {
    spdlog::error("{} of {} points failed; their logs are in {}/points/; --resume reruns them", failed.size(),
                  plan.points.size(), plan.dir);
    return 1;
  }
  return 0;
}

}  // namespace detail
}  // namespace xpu::experiment
