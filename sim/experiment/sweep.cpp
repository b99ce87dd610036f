#include "sim/experiment/sweep.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "sim/config/document.h"
#include "sim/config/gpu_config.h"
#include "sim/config/tpu_config.h"
#include "sim/experiment/mpi_sweep.h"
#include "sim/experiment/pareto.h"
#include "sim/experiment/runner.h"
#include "sim/experiment/sweep_internal.h"
#include "sim/report/atomic_file.h"
#include "sim/report/html_report.h"
#include "sim/report/progress.h"
#include "sim/report/report_writer.h"
#include "sim/report/sha256.h"
#include "sim/report/svg.h"
#include "xpusim_version.h"

namespace xpu::experiment {

// ---------------------------------------------------------------- points

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

namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json params_json(const SweepPoint& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : p.params) j[k] = scalar_json(v);
  return j;
}

}  // namespace

SweepPlan plan_sweep(const std::string& file, const SweepOptions& opts) {
  SweepPlan plan;
  plan.file = file;
  plan.cfg = load_experiment(file, {}, {"sweep"});
  plan.points = expand_sweep(plan.cfg);
  plan.dir = opts.output_dir.empty() ? "reports/" + plan.cfg.name : opts.output_dir;
  // Every point's configs must load before anything runs.
  std::vector<config::Diagnostic> diags;
  for (const auto& p : plan.points) {
    try {
      const ExperimentConfig e = load_experiment(file, p.experiment_overrides(), {"sweep"});
      for (const auto& acc : e.accelerators) {
        std::vector<std::string> ov = acc.overrides;
        for (const auto& o : p.accelerator_overrides()) ov.push_back(o);
        for (const auto& o : opts.overrides) ov.push_back(o);
        config::Document doc = config::Document::load(acc.file);
        const YAML::Node kind = static_cast<const YAML::Node&>(doc.root())["kind"];
        if (kind.IsScalar() && kind.Scalar() == "gpu") config::load_gpu_config(acc.file, ov);
        else config::load_tpu_config(acc.file, ov);
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

  nlohmann::json files = nlohmann::json::object();
  files[plan.cfg.source_file] = report::sha256_file(plan.cfg.source_file);
  files[plan.cfg.energy_file] = report::sha256_file(plan.cfg.energy_file);
  for (const auto& a : plan.cfg.accelerators) files[a.file] = report::sha256_file(a.file);
  for (const auto& w : plan.cfg.workload_files) files[w] = report::sha256_file(w);
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

DirLock::DirLock(const std::string& dir) {
  const std::string path = dir + "/.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw SweepError(path + ": cannot open: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw SweepError(dir + ": another sweep is running in this directory");
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::string result_path(const std::string& dir, const SweepPoint& p) { return dir + "/points/" + p.id + ".json"; }

bool has_result(const std::string& dir, const SweepPoint& p) {
  struct stat st {};
  return ::stat(result_path(dir, p).c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

bool commit_no_replace(const std::string& path, const std::string& content, std::string& err) {
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    err = path + ": cannot create temporary file: " + std::strerror(errno);
    return false;
  }
  const char* p = content.data();
  size_t left = content.size();
  bool ok = true;
  while (left > 0 && ok) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else p += n, left -= size_t(n);
  }
  ::fchmod(fd, 0644);
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    err = path + ": write failed: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  // link(2) fails with EEXIST instead of replacing: a point is committed once.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    err = errno == EEXIST ? path + ": a result for this point already exists (the point ran twice)"
                          : path + ": cannot commit: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  ::unlink(tmp.c_str());
  const auto slash = path.find_last_of('/');
  const int dfd = ::open(slash == std::string::npos ? "." : path.substr(0, slash).c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

void log_event(const std::string& dir, const std::string& what) {
  const std::string line = utc_now() + " " + what + "\n";
  const int fd = ::open((dir + "/points.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t n = ::write(fd, line.data(), line.size());  // one write: lines never interleave
  (void)n;
  ::close(fd);
}

std::vector<size_t> prepare_dir(const SweepPlan& plan, const SweepOptions& opts) {
  report::make_dirs(plan.dir + "/points");
  const std::string spec_path = plan.dir + "/sweep.json";
  struct stat st {};
  if (::stat(spec_path.c_str(), &st) == 0) {
    if (!opts.resume)
      throw SweepError(plan.dir + " already holds a sweep: add --resume to continue it, or choose another -o");
    nlohmann::json old;
    try {
      old = nlohmann::json::parse(slurp(spec_path));
    } catch (const std::exception& e) {
      throw SweepError(spec_path + ": unreadable: " + e.what());
    }
    if (old != plan.spec) {
      std::string what = "the sweep changed since it started";
      if (old.value("input_sha256", nlohmann::json()) != plan.spec["input_sha256"]) what += " (an input file's contents differ)";
      else if (old.value("points", nlohmann::json()) != plan.spec["points"]) what += " (its points differ)";
      else what += " (its -p overrides differ)";
      throw SweepError(plan.dir + ": cannot resume: " + what + "; run it into another -o directory");
    }
  } else {
    if (opts.resume) spdlog::warn("{}: nothing to resume; starting the sweep", plan.dir);
    report::write_atomically(spec_path, plan.spec.dump(2) + "\n");
  }
  // Temporary files of workers killed mid-commit: never results (a result
  // exists only once linked to its final name); we hold the lock, so no
  // worker of ours is running.
  if (DIR* d = ::opendir((plan.dir + "/points").c_str())) {
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d))
      if (std::strstr(e->d_name, ".json.tmp.")) stale.push_back(plan.dir + "/points/" + e->d_name);
    ::closedir(d);
    for (const auto& s : stale) ::unlink(s.c_str());
  }
  std::vector<size_t> pending;
  for (const auto& p : plan.points)
    if (!has_result(plan.dir, p)) pending.push_back(p.index);
  return pending;
}

void execute_points(const SweepPlan& plan, const std::vector<const SweepPoint*>& todo, const std::string& result_dir,
                    const SweepOptions& opts, const std::function<void(const SweepPoint&, bool)>& on_done,
                    const std::function<bool()>& idle) {
  struct Job {
    const SweepPoint* p;
    pid_t pid;
  };
  std::vector<Job> running;
  size_t next = 0;
  const unsigned jobs = std::max(1u, opts.jobs);
  const pid_t parent = ::getpid();
  for (;;) {
    while (running.size() < jobs && next < todo.size()) {
      const SweepPoint* p = todo[next++];
      const std::string out = result_dir + "/" + p->id + ".json";
      const std::string log = result_dir + "/" + p->id + ".log";
      std::vector<std::string> args = {opts.self_exe, "sweep-point", plan.file, "--index", std::to_string(p->index),
                                       "--id", p->id, "--out", out, "-q"};
      for (const auto& o : opts.overrides) args.push_back("-p"), args.push_back(o);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      const pid_t pid = ::fork();
      if (pid < 0) throw SweepError(std::string("fork failed: ") + std::strerror(errno));
      if (pid == 0) {
        // The worker dies with the sweep (SIGKILL included): no orphan can
        // commit a result behind a resumed sweep's back.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(3);
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
          ::dup2(fd, 1);
          ::dup2(fd, 2);
          ::close(fd);
        }
        ::execv(argv[0], argv.data());
        std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
        ::_exit(127);
      }
      running.push_back(Job{p, pid});
    }
    bool progressed = false;
    for (size_t i = 0; i < running.size();) {
      int status = 0;
      const pid_t r = ::waitpid(running[i].pid, &status, WNOHANG);
      if (r == 0) {
        ++i;
        continue;
      }
      const SweepPoint& p = *running[i].p;
      const bool ok = r == running[i].pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (ok) ::unlink((result_dir + "/" + p.id + ".log").c_str());
      running.erase(running.begin() + long(i));
      on_done(p, ok);
      progressed = true;
    }
    const bool more = idle ? idle() : false;
    if (running.empty() && next >= todo.size() && !more) break;
    if (!progressed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// ---------------------------------------------------------------- reports

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

int finish_sweep(const SweepPlan& plan, const SweepOptions& opts, std::chrono::system_clock::time_point started) {
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
    try {
      r = nlohmann::json::parse(slurp(result_path(plan.dir, p)));
    } catch (const std::exception& e) {
      throw SweepError(result_path(plan.dir, p) + ": unreadable result: " + e.what());
    }
    if (r.value("id", std::string()) != p.id)
      throw SweepError(result_path(plan.dir, p) + ": result belongs to point " + r.value("id", std::string("?")));
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

  report::write_atomically(plan.dir + "/summary.json", s.dump(2) + "\n");
  report::write_atomically(plan.dir + "/points.csv", pc.str());
  report::write_atomically(plan.dir + "/layers.csv", layers.str());
  report::write_atomically(plan.dir + "/report.md", md.str());
  report::write_atomically(plan.dir + "/report.html", report::html_page("xpusim sweep: " + plan.cfg.name, html));
  nlohmann::json m = manifest;
  m["jobs"] = opts.jobs;
  write_run_manifest(plan.dir, m, started, command_line());
  if (!failed.empty()) {
    spdlog::error("{} of {} points failed; their logs are in {}/points/; --resume reruns them", failed.size(),
                  plan.points.size(), plan.dir);
    return 1;
  }
  return 0;
}

}  // namespace detail

// ---------------------------------------------------------------- drivers

int run_sweep(const std::string& sweep_file, const SweepOptions& opts) {
  if (launched_by_mpi()) {
    if (!mpi_built())
      throw SweepError("started by mpirun, but this xpusim was built without MPI (XPUSIM_WITH_MPI=OFF); "
                               "every rank would run the whole sweep");
    return run_sweep_mpi(sweep_file, opts);
  }
  const auto started = std::chrono::system_clock::now();
  detail::SweepPlan plan = detail::plan_sweep(sweep_file, opts);
  report::make_dirs(plan.dir);
  detail::DirLock lock(plan.dir);
  const auto pending = detail::prepare_dir(plan, opts);
  if (!opts.quiet)
    spdlog::info("sweep {}: {} points, {} to run, -j {}", plan.cfg.name, plan.points.size(), pending.size(), opts.jobs);
  std::vector<const SweepPoint*> todo;
  for (size_t i : pending) todo.push_back(&plan.points[i]);
  report::Progress bar("points", double(plan.points.size()), opts.progress);
  size_t done = plan.points.size() - pending.size(), failed = 0;
  for (const auto* p : todo) detail::log_event(plan.dir, "queued " + std::to_string(p->index) + " " + p->id + " rank 0");
  detail::execute_points(plan, todo, plan.dir + "/points", opts, [&](const SweepPoint& p, bool ok) {
    detail::log_event(plan.dir, std::string(ok ? "done " : "failed ") + std::to_string(p.index) + " " + p.id + " rank 0");
    ++done;
    if (!ok) {
      ++failed;
      spdlog::error("point {} ({}) failed: see {}/points/{}.log", p.index, p.id, plan.dir, p.id);
    }
    bar.update(double(done), p.id);
  });
  bar.finish();
  const int rc = detail::finish_sweep(plan, opts, started);
  if (!opts.quiet) std::printf("report: %s/report.md\n", plan.dir.c_str());
  return rc;
}

int run_sweep_point(const std::string& sweep_file, size_t index, const std::string& id, const std::string& out,
                    const std::vector<std::string>& overrides) {
  const ExperimentConfig base = load_experiment(sweep_file, {}, {"sweep"});
  const auto points = expand_sweep(base);
  if (index >= points.size() || points[index].id != id)
    throw SweepError("sweep point " + std::to_string(index) + " of " + sweep_file + " is not " + id +
                             ": the sweep file changed");
  const SweepPoint& p = points[index];
  ExperimentConfig exp = load_experiment(sweep_file, p.experiment_overrides(), {"sweep"});
  RunOptions ro;
  ro.overrides = p.accelerator_overrides();
  for (const auto& o : overrides) ro.overrides.push_back(o);
  ro.quiet = true;
  const report::ExperimentResult result = run_experiment_results(exp, ro);
  nlohmann::json j;
  j["schema"] = "xpusim.sweep_point";
  j["schema_version"] = 1;
  j["index"] = p.index;
  j["id"] = p.id;
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [k, v] : p.params) params[k] = scalar_json(v);
  j["params"] = params;
  j["summary"] = report::summary_json(result);
  std::string err;
  if (!detail::commit_no_replace(out, j.dump(1) + "\n", err)) {
    std::fprintf(stderr, "error: %s\n", err.c_str());
    return 2;
  }
  return 0;
}

}  // namespace xpu::experiment
