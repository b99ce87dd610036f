#include "sim/experiment/experiment_config.h"

#include <algorithm>
#include <filesystem>
#include <sys/stat.h>

#include "sim/config/document.h"
#include "sim/config/file_kind.h"
#include "sim/config/reader.h"
#include "sim/experiment/machine_registry.h"
#include "sim/workload/input_format.h"

namespace xpu::experiment {

namespace {

std::string dir_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

// Relative to the experiment file's directory, shown without "a/../" detours.
std::string resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  return std::filesystem::path(base_dir + p).lexically_normal().string();
}

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec);
}

// A file of another kind given where an experiment is expected: say what to
// do with it instead of listing the experiment keys it lacks.
void require_kind(const config::Document& doc, const std::vector<std::string>& kinds) {
  const config::FileKind k = config::file_kind(doc);
  if (std::find(kinds.begin(), kinds.end(), k.value) != kinds.end()) return;
  std::string what;
  if (k.value == "sweep") what = "this is a sweep: run it with xpusim sweep " + doc.file();
  else if (find_machine(k.value)) what = "this is an accelerator config: list it under accelerators: in an experiment";
  else if (k.value == "workload") what = "this is a workload: list it under workloads: in an experiment";
  if (what.empty()) throw config::ConfigError(config::kind_error(doc, k, "expected " + config::join(kinds, " or ") + ", got kind", kinds));
  throw config::ConfigError(config::Diagnostic{doc.file(), k.line, k.column, "kind",
                                               "expected " + config::join(kinds, " or ") + ", got \"" + k.value +
                                                   "\": " + what});
}

// Why `file` cannot be the accelerator at accelerators[i] ("" if it can).
// Unreadable files are reported where they are read.
std::string accelerator_problem(const std::string& experiment, const std::string& file) {
  if (same_file(experiment, file)) return "lists the experiment itself";
  try {
    const config::Document doc = config::Document::load(file);
    const config::FileKind k = config::file_kind(doc);
    if (find_machine(k.value)) return "";
    const std::string kinds = "machine kinds: " + config::join(machine_kinds());
    if (!k.present) return file + " has no 'kind': not an accelerator config (" + kinds + ")";
    return file + " is not an accelerator config (kind \"" + k.value + "\"; " + kinds + ")";
  } catch (const config::ConfigError&) {
    return "";
  }
}

// The same for a workload file.
std::string workload_problem(const std::string& experiment, const std::string& file) {
  if (same_file(experiment, file)) return "lists the experiment itself";
  const workload::InputFormat* f = workload::find_input_format(file);
  if (!f) return file + ": unknown file extension; expected one of " + workload::known_extensions();
  if (!f->load) return file + " is not a workload: " + f->usage;
  if (!f->yaml) return "";
  try {
    const config::Document doc = config::Document::load(file);
    const config::FileKind k = config::file_kind(doc);
    if (k.value == "workload") return "";
    return file + " is not a workload (kind \"" + k.value + "\")";
  } catch (const config::ConfigError&) {
    return "";
  }
}

}  // namespace

uint64_t sweep_point_count(const ExperimentConfig& s) {
  uint64_t n = 1;
  for (const auto& axis : s.grid)
    if (__builtin_mul_overflow(n, uint64_t(axis.values.size()), &n)) return UINT64_MAX;
  if (!s.zip.empty() && __builtin_mul_overflow(n, uint64_t(s.zip[0].values.size()), &n)) return UINT64_MAX;
  return n;
}

std::string locate_sweep_override(const ExperimentConfig& s, const std::string& prefix,
                                  const std::string& assignment) {
  const auto eq = assignment.find('=');
  const std::string key = prefix + assignment.substr(0, eq), value = assignment.substr(eq + 1);
  for (const auto* axes : {&s.grid, &s.zip})
    for (const auto& a : *axes)
      for (size_t i = 0; a.key == key && i < a.values.size() && i < a.marks.size(); ++i)
        if (a.values[i] == value)
          return config::located_override(assignment, s.source_file, a.marks[i].first, a.marks[i].second);
  return assignment;
}

ExperimentConfig load_experiment(const std::string& path, const std::vector<std::string>& overrides,
                                 const std::vector<std::string>& kinds) {
  const workload::InputFormat& format = workload::input_format_of(path);
  if (!format.yaml)
    throw config::ConfigError(config::Diagnostic{
        path, 0, 0, "",
        "expected an experiment YAML file, got a " + format.name + ": " +
            (format.usage.empty() ? "list it under workloads: in an experiment" : format.usage)});
  config::Document doc = config::Document::load(path);
  require_kind(doc, kinds);
  doc.apply_overrides(overrides);
  config::Diagnostics diags;
  ExperimentConfig e;
  e.source_file = path;
  const std::string base = dir_of(path);
  {
    config::Reader root(doc, diags);
    e.kind = root.choice("kind", kinds);
    e.name = root.string("name");
    // At a list entry (a path), which the Reader locates only by key.
    auto entry_error = [&](const YAML::Node& n, const std::string& key, const std::string& msg) {
      const YAML::Mark m = n.Mark();
      diags.add(config::Diagnostic{path, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1, key, msg});
    };
    auto file_key = [&](config::Reader& r, const std::string& key) {
      std::string p = resolve(base, r.string(key));
      if (!p.empty() && !is_file(p)) r.error(key, "no such file: " + p);
      return p;
    };
    e.energy_file = file_key(root, "energy");
    if (root.has("node")) {
      config::Reader node = root.map("node");
      e.node_nm = static_cast<unsigned>(node.positive("nm", std::nullopt, 1000));
      e.vdd = node.number("vdd", std::nullopt, 0.1, 2.0);
      node.finish();
    }
    const std::string fid = root.choice("fidelity", {"tile", "pe", "timing"}, std::string("tile"));
    e.fidelity = fid == "pe" ? Fidelity::pe : fid == "timing" ? Fidelity::timing : Fidelity::tile;
    e.verify = root.boolean("verify", true);
    e.io = root.choice("io", {"resident", "host"}, std::string("resident"));
    const std::string compat = root.choice("compat", {"none", "scalesim"}, std::string("none"));
    e.compat = compat == "none" ? "" : compat;
    e.seed = static_cast<uint64_t>(root.integer("seed", 1, 0));
    // sparsity: "2:4" | "none", at the top level or per accelerator.
    auto parse_sparsity = [&](config::Reader& r, std::string& out, std::string& at) {
      if (!r.has("sparsity")) return;
      const YAML::Mark m = r.node("sparsity").Mark();
      const std::string sp = r.choice("sparsity", {"none", "2:4"}, std::string("none"));
      out = sp == "none" ? "" : sp;
      at = path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    };
    parse_sparsity(root, e.sparsity, e.sparsity_at);

    auto parse_precisions = [&](config::Reader& r, const std::string& key, std::vector<DType>& out) {
      YAML::Node precs = r.node(key);
      if (!precs.IsSequence() || precs.size() == 0) {
        r.error(key, "expected a non-empty list such as [int8, bf16]");
        return;
      }
      for (size_t i = 0; i < precs.size(); ++i) {
        auto t = precs[i].IsScalar() ? parse_dtype(precs[i].Scalar()) : std::nullopt;
        if (!t || (*t != DType::int8 && *t != DType::bf16 && *t != DType::fp16)) {
          r.error(key + "[" + std::to_string(i) + "]",
                  "expected one of int8, bf16, fp16, got \"" +
                      (precs[i].IsScalar() ? precs[i].Scalar() : std::string("a non-scalar")) + "\"");
          continue;
        }
        out.push_back(*t);
      }
    };
    // accelerators: a list of paths, or mappings {file, name, precisions, set: {key: value}}.
    YAML::Node accs = root.node("accelerators");
    if (!accs.IsDefined()) {
      root.error("accelerators", "missing required key at the top level");
    } else if (!accs.IsSequence() || accs.size() == 0) {
      root.error("accelerators", "expected a non-empty list of accelerator config files");
    } else {
      for (size_t i = 0; i < accs.size(); ++i) {
        const std::string key = "accelerators[" + std::to_string(i) + "]";
        AcceleratorRef ref;
        if (accs[i].IsScalar()) {
          ref.file = resolve(base, accs[i].Scalar());
          if (!is_file(ref.file)) entry_error(accs[i], key, "no such file: " + ref.file);
          else if (auto why = accelerator_problem(path, ref.file); !why.empty()) entry_error(accs[i], key, why);
        } else if (accs[i].IsMap()) {
          config::Reader list = root.map_at("accelerators", i);
          ref.file = file_key(list, "file");
          if (is_file(ref.file))
            if (auto why = accelerator_problem(path, ref.file); !why.empty()) list.error("file", why);
          ref.name = list.string("name", std::string());
          if (list.has("precisions")) parse_precisions(list, "precisions", ref.precisions);
          parse_sparsity(list, ref.sparsity, ref.sparsity_at);
          config::Reader set = list.map("set", false);
          for (const auto& k : set.keys()) {
            YAML::Node v = set.node(k);
            std::string text = v.IsScalar() ? v.Scalar() : YAML::Dump(v);
            ref.overrides.push_back(
                config::located_override(k + "=" + text, path, v.Mark().line + 1, v.Mark().column + 1));
          }
          set.finish();
          list.finish();
        } else {
          root.error(key, "expected a file path or a mapping with 'file'");
        }
        e.accelerators.push_back(ref);
      }
    }

    YAML::Node wls = root.node("workloads");
    if (!wls.IsDefined() || !wls.IsSequence() || wls.size() == 0) {
      root.error("workloads", "expected a non-empty list of workload files");
    } else {
      for (size_t i = 0; i < wls.size(); ++i) {
        const std::string key = "workloads[" + std::to_string(i) + "]";
        if (!wls[i].IsScalar()) {
          root.error(key, "expected a workload file path");
          continue;
        }
        std::string p = resolve(base, wls[i].Scalar());
        if (!is_file(p)) entry_error(wls[i], key, "no such file: " + p);
        else if (auto why = workload_problem(path, p); !why.empty()) entry_error(wls[i], key, why);
        e.workload_files.push_back(p);
      }
    }

    if (root.has("generation")) {
      config::Reader g = root.map("generation");
      GenerationSpec s;
      YAML::Node b = g.node("batch");
      if (b.IsSequence() && b.size() > 0) {
        for (size_t i = 0; i < b.size(); ++i) {
          char* end = nullptr;
          const std::string v = b[i].IsScalar() ? b[i].Scalar() : "";
          const long long n = std::strtoll(v.c_str(), &end, 10);
          if (v.empty() || *end != '\0' || n < 1 || n > 4096) g.error("batch[" + std::to_string(i) + "]", "expected an integer in [1, 4096]");
          else s.batches.push_back(n);
        }
      } else {
        s.batches.push_back(g.positive("batch", std::nullopt, 4096));
      }
      s.prompt_len = g.positive("prompt_len", std::nullopt, 1 << 20);
      s.gen_len = g.positive("gen_len", std::nullopt, 1 << 20);
      s.layers = g.integer("layers", 0, 0, 1 << 20);
      s.decode_samples = g.integer("decode_samples", 5, 0, 1 << 20);
      s.prefill = g.boolean("prefill", true);
      const std::string att = g.choice("attention", {"auto", "fused", "unfused"}, std::string("auto"));
      s.attention = att == "fused" ? 1 : att == "unfused" ? 0 : -1;
      s.weight_bits = g.choice("weights", {"same", "int8"}, std::string("same")) == "int8" ? 8 : 16;
      if (s.decode_samples == 1) g.error("decode_samples", "at least 2 (the first and last steps), or 0 for every step");
      if (g.has("tensor_parallel")) {
        config::Reader tp = g.map("tensor_parallel");
        s.tp = tp.positive("devices", std::nullopt, 4096);
        s.topology_given = tp.has("topology");
        s.interconnect.topology = tp.choice("topology", {"ring", "torus2d"}, std::string("ring"));
        if (tp.has("links")) {  // the links given here override the accelerator config's
          s.interconnect.links = int(tp.positive("links", std::nullopt, 64));
          s.interconnect.link_gbps = tp.number("link_gbps", std::nullopt, 1e-3, 1e6);
          s.interconnect.link_latency_us = tp.number("link_latency_us", std::nullopt, 0, 1e6);
        }
        tp.finish();
      }
      g.finish();
      e.generation = s;
    }
    if (!root.has("precisions")) e.precisions = {DType::int8};
    else parse_precisions(root, "precisions", e.precisions);
    for (auto& acc : e.accelerators)
      if (acc.precisions.empty()) acc.precisions = e.precisions;
    // sweep: {grid: {key: [values]}, zip: {key: [values]}}
    if (e.kind == "sweep") {
      config::Reader sw = root.map("sweep");
      auto axes = [&](const std::string& section, std::vector<SweepAxis>& out) {
        config::Reader m = sw.map(section, false);
        for (const auto& k : m.keys()) {
          YAML::Node v = m.node(k);
          if (!v.IsSequence() || v.size() == 0) {
            m.error(k, "expected a non-empty list of values, e.g. [32, 64, 128]");
            continue;
          }
          if (k.rfind("experiment.", 0) == 0 && k.size() > 11) {
            const std::string sub = k.substr(11);
            if (sub == "sweep" || sub.rfind("sweep.", 0) == 0 || sub == "kind" || sub == "name")
              m.error(k, "cannot be swept");
          }
          SweepAxis a{k, {}, {}};
          for (size_t i = 0; i < v.size(); ++i) {
            YAML::Emitter em;
            em.SetMapFormat(YAML::Flow);
            em.SetSeqFormat(YAML::Flow);
            em << v[i];
            a.values.push_back(v[i].IsScalar() ? v[i].Scalar() : std::string(em.c_str()));
            a.marks.emplace_back(v[i].Mark().line + 1, v[i].Mark().column + 1);
          }
          out.push_back(std::move(a));
        }
        m.finish();
      };
      axes("grid", e.grid);
      axes("zip", e.zip);
      for (const auto& z : e.zip)
        if (z.values.size() != e.zip[0].values.size())
          sw.error("zip." + z.key, "zip lists must have equal lengths: " + std::to_string(z.values.size()) + " values, " +
                                       e.zip[0].key + " has " + std::to_string(e.zip[0].values.size()));
      if (e.grid.empty() && e.zip.empty()) sw.error("grid", "a sweep needs at least one axis under grid: or zip:");
      if (sweep_point_count(e) > kMaxSweepPoints)
        sw.error(e.grid.empty() ? "zip" : "grid", "the sweep has more than " + std::to_string(kMaxSweepPoints) +
                                                      " points, the limit");
      sw.finish();
    }
    root.finish();
  }
  diags.throw_if_any();
  return e;
}

}  // namespace xpu::experiment
