#include "sim/workload/scalesim/topology.h"

#include <map>
#include <stdexcept>

#include "sim/workload/graph_builder.h"
#include "sim/workload/scalesim/fields.h"

namespace xpu::workload::scalesim {

namespace {

const char* const kConvFields[] = {"Layer name",   "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                                   "Channels",     "Num Filter",   "Strides",     "Stride width"};
const char* const kGemmFields[] = {"Layer", "M", "N", "K"};

class Reader {
 public:
  Reader(const std::string& name, const TopologyOptions& opts) : name_(name), opts_(opts) {}

  Workload run(const std::vector<std::string>& lines) {
    w_.name = base_name(name_);
    w_.source_file = name_;
    w_.dtype = opts_.dtype;
    w_.params["batch"] = opts_.batch;
    size_t header = 0;
    while (header < lines.size() && trim(lines[header]).empty()) ++header;
    if (header == lines.size()) fail(0, "", "the file has no header and no layers");
    const auto head = split_commas(lines[header]);
    if (head.size() > 1 && parse_int(head[1]))
      fail(header + 1, "", "the first line must be the header (SCALE-Sim skips it), but it holds numbers");
    gemm_ = opts_.format == TopologyFormat::gemm ||
            (opts_.format == TopologyFormat::detect && head.size() > 1 && lower(head[1]) == "m");
    for (size_t i = header + 1; i < lines.size(); ++i) {
      if (trim(lines[i]).empty()) continue;
      row(lines[i], i + 1);
    }
    if (w_.layers.empty()) fail(header + 1, "", "no layers after the header");
    for (const auto& l : w_.layers) w_.outputs.push_back(l.output());
    return std::move(w_);
  }

 private:
  static std::string base_name(const std::string& path) {
    std::string b = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
    const auto dot = b.rfind('.');
    return dot == std::string::npos || dot == 0 ? b : b.substr(0, dot);
  }

  [[noreturn]] void fail(size_t line, const std::string& key, const std::string& msg) const {
    throw config::ConfigError(config::Diagnostic{name_, int(line), 0, key, msg});
  }

  int64_t field(const std::vector<std::string>& f, size_t i, size_t line, const char* what) const {
    if (f[i].empty()) fail(line, what, "field " + std::to_string(i + 1) + " (" + what + ") is empty");
    const auto v = parse_int(f[i]);
    if (!v) fail(line, what, "field " + std::to_string(i + 1) + " (" + what + ") is \"" + f[i] + "\", not an integer");
    if (*v < 1) fail(line, what, std::string(what) + " must be >= 1, got " + std::to_string(*v));
    if (*v > (int64_t(1) << 24)) fail(line, what, std::string(what) + " is implausibly large: " + std::to_string(*v));
    return *v;
  }

  void row(const std::string& text, size_t line) {
    auto f = split_commas(text);
    if (f.size() > 1 && f.back().empty()) f.pop_back();  // the trailing comma SCALE-Sim expects
    const size_t want = gemm_ ? 4 : 8, most = gemm_ ? 4 : 9;
    const char* const* names = gemm_ ? kGemmFields : kConvFields;
    if (f.size() < want) {
      fail(line, names[f.size()], "missing field " + std::to_string(f.size() + 1) + " (" + names[f.size()] +
                                      "): a " + (gemm_ ? "gemm" : "conv") + " row has " + std::to_string(want) +
                                      " fields" + (gemm_ ? "" : " (9 with a separate stride width)") + ", this one " +
                                      std::to_string(f.size()));
    }
    if (f.size() > most)
      fail(line, "", "too many fields: " + std::to_string(f.size()) + " (at most " + std::to_string(most) + ")");
    const std::string name = f[0];
    if (name.empty()) fail(line, names[0], "the layer name is empty");
    auto seen = lines_.find(name);
    if (seen != lines_.end())
      fail(line, names[0], "duplicate layer name '" + name + "' (first at line " + std::to_string(seen->second) + ")");
    lines_[name] = line;
    SourceLocation loc{name_, int(line), 1, name};
    if (gemm_) {
      const int64_t m = field(f, 1, line, "M"), n = field(f, 2, line, "N"), k = field(f, 3, line, "K");
      build::standalone_gemm(w_, name, m * opts_.batch, n, k, loc);
      return;
    }
    const int64_t h = field(f, 1, line, kConvFields[1]), wd = field(f, 2, line, kConvFields[2]);
    const int64_t r = field(f, 3, line, kConvFields[3]), s = field(f, 4, line, kConvFields[4]);
    const int64_t c = field(f, 5, line, kConvFields[5]), nf = field(f, 6, line, kConvFields[6]);
    const int64_t sh = field(f, 7, line, kConvFields[7]);
    const int64_t sw = f.size() > 8 ? field(f, 8, line, kConvFields[8]) : sh;
    // SCALE-Sim asserts this (topology_utils.py, "ISSUE #9").
    if (r > h) fail(line, kConvFields[3], "Filter Height " + std::to_string(r) + " > IFMAP Height " + std::to_string(h));
    if (s > wd) fail(line, kConvFields[4], "Filter Width " + std::to_string(s) + " > IFMAP Width " + std::to_string(wd));
    const bool depthwise = name.find("DP") != std::string::npos;  // SCALE-Sim's test, case-sensitive
    const std::string ifmap = name + ".ifmap";
    try {
      w_.add_input(ifmap, {opts_.batch, c, h, wd}, w_.dtype);
    } catch (const std::invalid_argument& e) {
      fail(line, name, e.what());
    }
    Attrs a;
    a.window.stride_h = sh;
    a.window.stride_w = sw;
    if (opts_.rounding == OfmapRounding::ceil) {
      // SCALE-Sim v2: ofmap = ceil((H - R + S) / S) = ceil((H - R) / S) + 1. When
      // S does not divide H - R the last window hangs over the ifmap's edge:
      // zero padding at the bottom/right expresses that.
      const int64_t ho = (h - r + sh - 1) / sh + 1, wo = (wd - s + sw - 1) / sw + 1;
      a.window.pad_bottom = (ho - 1) * sh + r - h;
      a.window.pad_right = (wo - 1) * sw + s - wd;
    }
    a.groups = depthwise ? c : 1;
    build::conv2d(w_, name, ifmap, depthwise ? c * nf : nf, r, s, a, false, loc);
  }

  std::string name_;
  TopologyOptions opts_;
  Workload w_;
  bool gemm_ = false;
  std::map<std::string, size_t> lines_;
};

}  // namespace

Workload parse_topology(const std::string& text, const std::string& name, const TopologyOptions& opts) {
  return Reader(name, opts).run(split_lines(text));
}

Workload read_topology(const std::string& path, const TopologyOptions& opts) {
  return Reader(path, opts).run(read_lines(path));
}

SpatioTemporal spatio_temporal(const Layer& l, Dataflow df) {
  SpatioTemporal st;
  st.count = l.gemm_count;
  switch (df) {
    case Dataflow::os: st.sr = l.m; st.sc = l.n; st.t = l.k; break;
    case Dataflow::ws: st.sr = l.k; st.sc = l.n; st.t = l.m; break;
    case Dataflow::is: st.sr = l.k; st.sc = l.m; st.t = l.n; break;
  }
  return st;
}

}  // namespace xpu::workload::scalesim
