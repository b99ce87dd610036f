#include "sim/experiment/runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/common/errors.h"
#include "sim/config/document.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/backend.h"
#include "sim/experiment/scalesim_compat.h"
#include "sim/experiment/tpu_backend.h"
#include "sim/config/tpu_config.h"
#include "sim/experiment/generation.h"
#include "sim/lowering/lowering_error.h"
#include "sim/report/atomic_file.h"
#include "sim/report/progress.h"
#include "sim/report/report_writer.h"
#include "sim/trace/array_observer.h"
#include "sim/trace/trace_event_writer.h"
#include "sim/report/sha256.h"
#include "sim/workload/workload.h"
#include "xpusim_version.h"

namespace xpu::experiment {

namespace {

// Sees every span while a run is in progress: forwards to the trace writer
// (if tracing) and counts finished programs for the progress bar.
class RunSink : public trace::Sink {
 public:
  trace::TraceEventWriter* writer = nullptr;
  report::Progress* bar = nullptr;
  // The run in progress: MACs done before it, its MACs and layers. Within a
  // run, progress is finished programs (kernels) over layers, capped at 99 %.
  double base = 0, macs = 0, layers = 1;
  std::string note;
  uint64_t programs = 0;
  void span(const std::string& track, const std::string& name, uint64_t b, uint64_t e) override {
    if (writer) writer->span(track, name, b, e);
    if (track == "program") {
      ++programs;
      if (bar) bar->update((base + macs * std::min(0.99, double(programs) / std::max(1.0, layers))) * 1e-6, note);
    }
  }
  void begin(const std::string& track, const std::string& name, uint64_t c) override {
    if (writer) writer->begin(track, name, c);
  }
  void end(const std::string& track, uint64_t c) override {
    if (writer) writer->end(track, c);
  }
};

std::string file_safe(const std::string& s) {
  std::string o;
  for (char c : s) o += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  return o;
}

struct Machine {
  AcceleratorRef ref;
  std::vector<std::string> overrides;
  std::unique_ptr<Backend> backend;
  // The workloads with the accelerator's or the experiment's sparsity
  // applied (empty: run the shared ones as they are).
  std::vector<workload::Workload> sparse_wls;
};

nlohmann::json manifest(const ExperimentConfig& exp, const std::vector<Machine>& machines,
                        const std::vector<workload::Workload>& wls, const energy::EnergyTable& table,
                        const RunOptions& opts) {
  nlohmann::json j;
  j["xpusim_version"] = XPUSIM_VERSION;
  j["git_revision"] = XPUSIM_GIT_REVISION;
  j["experiment_file"] = exp.source_file;
  nlohmann::json files = nlohmann::json::object();
  auto hash = [&](const std::string& f) {
    if (opts.input_sha256) {
      const auto it = opts.input_sha256->find(f);
      if (it != opts.input_sha256->end()) return it->second;
    }
    return report::sha256_file(f);
  };
  files[exp.source_file] = hash(exp.source_file);
  files[exp.energy_file] = hash(exp.energy_file);
  for (const auto& m : machines) files[m.ref.file] = hash(m.ref.file);
  for (const auto& w : wls) files[w.source_file] = hash(w.source_file);
  j["input_sha256"] = files;
  j["overrides"] = opts.overrides;
  if (!opts.workload_overrides.empty()) j["workload_overrides"] = opts.workload_overrides;
  j["energy_table"] = table.to_json();
  j["energy_table"]["label"] = table.label();
  j["energy_node_nm"] = table.node_nm();
  j["energy_vdd"] = table.vdd();
  j["fidelity"] = fidelity_name(exp.fidelity);
  j["seed"] = exp.seed;
  j["io"] = exp.io;
  if (!exp.compat.empty()) j["compat"] = exp.compat;
  return j;
}

}  // namespace

energy::EnergyTable load_energy_table(const ExperimentConfig& exp) {
  energy::EnergyTable t = energy::EnergyTable::from_document(config::Document::load(exp.energy_file));
  if (exp.node_nm) return t.with_node(*exp.node_nm, exp.vdd.value_or(t.measured_vdd()));
  return t;
}

report::ExperimentResult run_experiment_results(const ExperimentConfig& exp, const RunOptions& opts) {
  // Read and check every input before simulating anything.
  const energy::EnergyTable table = opts.energy_table ? *opts.energy_table : load_energy_table(exp);
  std::vector<workload::Workload> wls;
  if (opts.workloads) wls = *opts.workloads;
  else if (!exp.generation)  // generations build their passes themselves (generation.h)
    for (const auto& f : exp.workload_files) wls.push_back(workload::load_workload(f, opts.workload_overrides));
  // SCALE-Sim compatibility: the layers' GEMM views on TPUs with the
  // profile's switches (scalesim_compat.h).
  auto compat_of = [&](const AcceleratorRef& a) { return a.compat.empty() ? exp.compat : a.compat; };
  bool any_compat = false;
  for (const auto& a : exp.accelerators) any_compat = any_compat || !compat_of(a).empty();
  CompatNeeds needs;
  std::vector<workload::Workload> views;  // the GEMM views compat machines run
  if (any_compat)
    for (const auto& w : wls) {
      views.push_back(scalesim_gemm_view(w));
      const CompatNeeds n = compat_needs(views.back());
      needs.max_m = std::max(needs.max_m, n.max_m);
      needs.max_n = std::max(needs.max_n, n.max_n);
      needs.max_resident_bytes = std::max(needs.max_resident_bytes, n.max_resident_bytes);
    }
  auto workloads_of = [&](const AcceleratorRef& a) -> const std::vector<workload::Workload>& {
    return compat_of(a).empty() ? wls : views;
  };
  auto runs_of = [&](const Machine& m) -> const std::vector<workload::Workload>& {
    return m.sparse_wls.empty() ? workloads_of(m.ref) : m.sparse_wls;
  };
  std::vector<Machine> machines;
  for (size_t i = 0; i < exp.accelerators.size(); ++i) {
    Machine m;
    m.ref = exp.accelerators[i];
    m.overrides = m.ref.overrides;
    m.overrides.insert(m.overrides.end(), opts.overrides.begin(), opts.overrides.end());
    const std::string instance = "acc" + std::to_string(i);
    if (m.ref.make) {
      m.backend = m.ref.make(table, instance);
    } else if (exp.compat == "scalesim") {
      tpu::TpuConfig c = config::load_tpu_config(m.ref.file, m.overrides);  // a TPU, or a ConfigError on `kind`
      apply_scalesim_compat(c, needs);
      m.backend = make_tpu_backend(c, table, instance);
    } else {
      m.backend = make_backend(m.ref.file, m.overrides, table, instance);
    }
    if (m.ref.name.empty()) m.ref.name = m.backend->name();
    const std::string sp = m.ref.sparsity.empty() ? exp.sparsity : m.ref.sparsity;
    if (!sp.empty())
      for (auto w : workloads_of(m.ref)) {
        w.sparsity = sp;
        w.sparsity_at = m.ref.sparsity.empty() ? exp.sparsity_at : m.ref.sparsity_at;
        m.sparse_wls.push_back(std::move(w));
      }
    for (const auto& w : runs_of(m)) {
      if (!w.sparsity.empty() && !m.backend->sparse_2_4())
        throw lowering::LoweringError(w.sparsity_at + ": sparsity: " + m.ref.name + " (" + m.ref.file +
                                      ") has no 2:4 sparse matrix path");
      for (DType t : m.ref.precisions) m.backend->check_workload(w, t);
      if (exp.fidelity != Fidelity::timing) workload::check_values_fit(w);
    }
    machines.push_back(std::move(m));
  }

  report::ExperimentResult result;
  result.name = exp.name;
  result.manifest = manifest(exp, machines, wls, table, opts);

  // Tracing and progress see the models through the trace hooks.
  RunSink sink;
  std::unique_ptr<trace::TraceEventWriter> writer;
  std::vector<std::unique_ptr<trace::VcdWriter>> vcds;
  if (opts.trace) {
    writer = std::make_unique<trace::TraceEventWriter>();
    sink.writer = writer.get();
    if (exp.fidelity == Fidelity::pe) trace::install_array_observer();
  }
  double total_macs = 0, done_macs = 0;
  for (const auto& m : machines)
    for (const auto& w : runs_of(m))
      for (size_t p = 0; p < m.ref.precisions.size(); ++p)
        for (const auto& l : w.layers) total_macs += double(l.macs());
  if (exp.generation) {
    if (!exp.sparsity.empty())
      throw lowering::LoweringError(exp.sparsity_at + ": sparsity: not supported with generation runs");
    for (const auto& f : exp.workload_files) result.manifest["input_sha256"][f] = report::sha256_file(f);
    result.manifest["generation"] = {{"batch", exp.generation->batches},
                                     {"prompt_len", exp.generation->prompt_len},
                                     {"gen_len", exp.generation->gen_len},
                                     {"layers", exp.generation->layers},
                                     {"decode_samples", exp.generation->decode_samples}};
    LayerRunOptions lo;
    lo.fidelity = exp.fidelity;
    lo.verify = exp.verify;
    lo.io = exp.io;
    lo.seed = exp.seed;
    for (auto& m : machines)
      for (const auto& f : exp.workload_files)
        for (size_t slot = 0; slot < m.ref.precisions.size(); ++slot)
          for (const int64_t b : exp.generation->batches) {
            GenerationRun g = run_generation(*m.backend, m.ref.name, f, m.ref.precisions[slot], b, *exp.generation, lo,
                                             opts.quiet);
            for (auto& run : g.runs) {
              run.precision_slot = slot;
              run.accelerator_file = m.ref.file;
              run.overrides = m.overrides;
              result.runs.push_back(std::move(run));
            }
            result.generations.push_back(std::move(g.result));
          }
    return result;
  }
  report::Progress bar("MMACs", total_macs * 1e-6, opts.progress);
  sink.bar = &bar;
  if (opts.trace || opts.progress) trace::g_sink = &sink;
  struct Uninstall {
    ~Uninstall() {
      trace::g_sink = nullptr;
      trace::set_current_vcd(nullptr);
      trace::remove_array_observer();
    }
  } uninstall;

  for (auto& m : machines)
    for (const auto& w : runs_of(m))
      for (size_t slot = 0; slot < m.ref.precisions.size(); ++slot) {
        const DType t = m.ref.precisions[slot];
        report::RunResult run;
        run.precision_slot = slot;
        run.accelerator = m.ref.name;
        run.accelerator_file = m.ref.file;
        run.overrides = m.overrides;
        run.workload = w.name;
        run.workload_file = w.source_file;
        run.sparsity = w.sparsity;
        run.precision = std::string(dtype_name(t));
        run.fidelity = fidelity_name(exp.fidelity);
        run.clock_mhz = m.backend->clock_mhz();
        run.peak_macs_per_cycle = m.backend->peak_macs_per_cycle(t);
        run.peak_dram_gbps = m.backend->dram_gbps();
        if (!opts.quiet) spdlog::info("{} / {} / {} ({} IR layers)", m.ref.name, w.name, run.precision, w.layers.size());
        LayerRunOptions lo;
        lo.fidelity = exp.fidelity;
        lo.verify = exp.verify;
        lo.io = exp.io;
        lo.seed = exp.seed;
        lo.compat = compat_of(m.ref);
        if (writer) writer->begin_run(run.accelerator + " / " + run.workload + " / " + run.precision, run.clock_mhz);
        const MatrixUnit unit = m.backend->matrix_unit();
        if (opts.trace && exp.fidelity == Fidelity::pe && unit.pe_waveforms) {
          const unsigned rows = unit.rows, cols = unit.cols;
          if (rows * cols <= kVcdMaxPes) {
            report::make_dirs(opts.output_dir + "/vcd");
            vcds.push_back(std::make_unique<trace::VcdWriter>(
                opts.output_dir + "/vcd/" + file_safe(run.accelerator + "_" + run.workload + "_" + run.precision) + ".vcd",
                rows, cols, run.clock_mhz, file_safe(run.accelerator)));
            trace::set_current_vcd(vcds.back().get());
          } else {
            spdlog::warn("--trace: no VCD for {}: {}x{} array exceeds {} PEs", run.accelerator, rows, cols, kVcdMaxPes);
          }
        }
        sink.programs = 0;
        const double run_macs = [&] {
          double s = 0;
          for (const auto& l : w.layers) s += double(l.macs());
          return s;
        }();
        sink.base = done_macs;
        sink.macs = run_macs;
        sink.layers = double(w.layers.size());
        sink.note = run.accelerator + " / " + w.name + " / " + run.precision;
        run.layers = m.backend->run_workload(w, t, lo);
        if (writer) writer->end_run();
        if (trace::current_vcd()) {
          trace::current_vcd()->close();
          trace::set_current_vcd(nullptr);
        }
        done_macs += run_macs;
        bar.update(done_macs * 1e-6, run.accelerator + " / " + w.name + " / " + run.precision);
        for (const auto& lr : run.layers) {
          spdlog::debug("  {} ({}): {} cycles, {:.1f} % utilization, values {}", lr.name, lr.shape, lr.cycles,
                        100 * lr.utilization, lr.verified());
          if (lr.verdict == report::Verdict::mismatch)
            spdlog::error("{} / {} / {}: values differ from the reference: {}", m.ref.name, lr.name,
                          run.precision, lr.verified());
        }
        // The report's rows: fused layers share one.
        if (!opts.quiet)
          spdlog::info("  {} layers in the report, {} cycles; {}", run.layers.size(), run.cycles(),
                       report::verdict_summary(run));
        result.runs.push_back(std::move(run));
      }
  bar.finish();
  if (writer) {
    report::make_dirs(opts.output_dir);
    report::write_atomically(opts.output_dir + "/trace.json", writer->json());
    if (!opts.quiet)
      spdlog::info("trace: {}/trace.json ({} spans{})", opts.output_dir, writer->spans(),
                   writer->dropped() ? ", " + std::to_string(writer->dropped()) + " dropped" : std::string());
  }
  return result;
}

void check_output_dir(const std::string& dir) {
  // The directory, or the nearest ancestor that exists (the rest is created
  // when the reports are written).
  std::string p = dir.empty() ? "." : dir;
  for (;;) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) throw IoError(p, "exists and is not a directory", 0);
      if (::access(p.c_str(), W_OK | X_OK) != 0) throw IoError(p, "cannot write reports here");
      return;
    }
    if (errno != ENOENT) throw IoError(p, "cannot write reports here");
    const std::string parent = std::filesystem::path(p).parent_path().string();
    p = parent.empty() || parent == p ? "." : parent;
  }
}

std::vector<std::string> run_experiment(const ExperimentConfig& exp, const RunOptions& opts) {
  const auto started = std::chrono::system_clock::now();
  check_output_dir(opts.output_dir);
  auto result = run_experiment_results(exp, opts);
  return report::write_reports(result, opts.output_dir,
                               {{"manifest.json", run_manifest_text(result.manifest, started, command_line())}});
}

namespace {
std::string utc(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}
}  // namespace

std::string command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string out;
  for (char c : raw) out += c == '\0' ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string run_manifest_text(const nlohmann::json& manifest, std::chrono::system_clock::time_point started,
                              const std::string& command) {
  const auto finished = std::chrono::system_clock::now();
  nlohmann::json j = manifest;
  j["schema"] = "xpusim.manifest";
  j["schema_version"] = 1;
  j["started_utc"] = utc(started);
  j["finished_utc"] = utc(finished);
  j["wall_seconds"] = std::chrono::duration<double>(finished - started).count();
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  j["host"] = host;
  j["command"] = command;
  return j.dump(2) + "\n";
}

}  // namespace xpu::experiment
