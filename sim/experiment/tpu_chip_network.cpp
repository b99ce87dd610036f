// A network on every TensorCore of a chip, split by batch (tpu_chip_run.h).
#include <stdexcept>

#include "sim/check/values.h"
#include "sim/common/errors.h"
#include "sim/config/diagnostics.h"
#include "sim/experiment/tpu_chip_run.h"
#include "sim/workload/input_format.h"

namespace xpu::experiment {

uint64_t core_offset(uint64_t batch, uint32_t cores, uint32_t core) {
  uint64_t off = 0;
  for (uint32_t c = 0; c < core; ++c) off += core_share(batch, cores, c);
  return off;
}

std::optional<workload::Workload> rebatched(const workload::Workload& w, int64_t batch) {
  const auto b = w.params.find("batch");
  if (b == w.params.end() || b->second < 1 || batch < 1 || w.source_file.empty() || w.inputs.empty())
    return std::nullopt;
  if (batch == b->second) return w;
  const workload::InputFormat* f = workload::find_input_format(w.source_file);
  if (!f || !f->load) return std::nullopt;
  // Every parameter as it was (command-line overrides included), the batch changed.
  std::vector<std::string> overrides;
  if (f->yaml)
    for (const auto& [key, value] : w.params)
      overrides.push_back("params." + key + "=" + std::to_string(key == "batch" ? batch : value));
  else
    overrides.push_back("batch=" + std::to_string(batch));
  workload::Workload r;
  try {
    r = f->load(w.source_file, overrides);
  } catch (const config::ConfigError&) {
    return std::nullopt;  // e.g. the file changed since it was read
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
  // The same graph with every input's leading dimension and the MACs scaled.
  const int64_t was = b->second;
  if (r.inputs != w.inputs || r.layers.size() != w.layers.size() ||
      r.macs() * uint64_t(was) != w.macs() * uint64_t(batch))
    return std::nullopt;
  for (const auto& name : w.inputs) {
    workload::Shape a = w.tensor(name).shape, s = r.tensor(name).shape;
    if (a.empty() || s.size() != a.size() || a[0] != was || s[0] != batch) return std::nullopt;
    a[0] = s[0] = 1;
    if (a != s) return std::nullopt;
  }
  return r;
}

void add_layer_mxu_utilization(report::LayerResult& r, const tpu::MxuConfig& mxu, uint32_t core,
                               const workload::Workload& w, uint64_t macs) {
  for (const auto& l : w.layers)
    if (l.name == r.name && l.n > 0 && l.macs() == macs) {
      add_mxu_utilization(r, mxu, core, l.gemm_count * l.m, l.n, l.k, r.cycles);
      return;
    }
}

std::optional<workload::Workload> first_core_share(const workload::Workload& w, uint32_t cores) {
  const auto b = w.params.find("batch");
  if (cores < 2 || b == w.params.end() || b->second < 2) return std::nullopt;
  return rebatched(w, int64_t(core_share(uint64_t(b->second), cores, 0)));
}

std::vector<report::LayerResult> run_network_on_chip(NetworkRunner& runner, const tpu::TpuConfig& chip,
                                                     const workload::Workload& w, DType dtype,
                                                     const LayerRunOptions& opts) {
  const uint32_t cores = chip.cores;
  const auto bp = w.params.find("batch");
  const int64_t batch = bp == w.params.end() ? 0 : bp->second;
  // Each core's share of the batch as a workload of its own (one per share size).
  std::vector<std::optional<workload::Workload>> parts(cores);
  bool split = batch >= 2;
  for (uint32_t c = 0; split && c < cores; ++c) {
    const uint64_t s = core_share(uint64_t(batch), cores, c);
    if (s == 0) continue;
    for (uint32_t p = 0; p < c && !parts[c]; ++p)
      if (parts[p] && parts[p]->params.at("batch") == int64_t(s)) parts[c] = parts[p];
    if (!parts[c]) parts[c] = rebatched(w, int64_t(s));
    split = parts[c].has_value();
  }
  // One sample (or a batch that cannot be reloaded): layer by layer.
  if (!split) {
    runner.lowered = nullptr;  // lowered for one core
    return run_network_split(runner, chip, w, dtype, opts);
  }
  std::vector<std::vector<report::LayerResult>> per_core(cores);
  {
    runner.lowered = nullptr;  // lowered for the whole batch
    const bool values = opts.fidelity != Fidelity::timing;
    // The whole batch's values, drawn once: every core reads its samples' slice.
    workload::TensorValues all;
    if (values) {
      all = check::make_network_values(w, opts.seed);
      if (runner.feeds)
        for (const auto& [name, v] : *runner.feeds) all[name] = v;
    }
    const workload::TensorValues* caller_feeds = runner.feeds;
    workload::TensorValues* caller_outputs = runner.outputs;
    std::vector<workload::TensorValues> outs(cores);
    for (uint32_t c = 0; c < cores; ++c) {
      if (!parts[c]) continue;
      workload::TensorValues feeds;
      if (values)
        for (const auto& [name, v] : all) {
          const workload::Tensor* t = w.find_tensor(name);
          if (!t || t->role != workload::TensorRole::input) {
            feeds[name] = v;
            continue;
          }
          const uint64_t per_sample = v.size() / uint64_t(batch);
          const uint64_t off = core_offset(uint64_t(batch), cores, c) * per_sample;
          const uint64_t n = uint64_t(parts[c]->params.at("batch")) * per_sample;
          feeds[name].assign(v.begin() + int64_t(off), v.begin() + int64_t(off + n));
        }
      runner.feeds = values ? &feeds : caller_feeds;
      runner.outputs = caller_outputs ? &outs[c] : nullptr;
      try {
        per_core[c] = runner.run(*parts[c], dtype, opts);
      } catch (...) {
        runner.feeds = caller_feeds;
        runner.outputs = caller_outputs;
        throw;
      }
    }
    runner.feeds = caller_feeds;
    runner.outputs = caller_outputs;
    // Graph outputs: the cores' slices in sample order.
    if (caller_outputs)
      for (const auto& [name, v] : outs[0]) {
        auto& o = (*caller_outputs)[name];
        o.clear();
        for (uint32_t c = 0; c < cores; ++c)
          if (outs[c].count(name)) o.insert(o.end(), outs[c].at(name).begin(), outs[c].at(name).end());
      }
  }
  // Rows by layer name, in the order of the first core that has them.
  std::vector<std::vector<bool>> used(cores);
  for (uint32_t c = 0; c < cores; ++c) used[c].assign(per_core[c].size(), false);
  auto take = [&](uint32_t c, const std::string& name) -> const report::LayerResult* {
    for (size_t i = 0; i < per_core[c].size(); ++i)
      if (!used[c][i] && per_core[c][i].name == name) {
        used[c][i] = true;
        return &per_core[c][i];
      }
    return nullptr;
  };
  std::string shares;
  for (uint32_t c = 0; split && c < cores; ++c)
    shares += (c ? " + " : "") + std::to_string(core_share(uint64_t(batch), cores, c));
  std::vector<report::LayerResult> out;
  for (uint32_t lead = 0; lead < cores; ++lead)
    for (size_t i = 0; i < per_core[lead].size(); ++i) {
      if (used[lead][i]) continue;
      used[lead][i] = true;
      std::vector<CoreRow> rows{{&per_core[lead][i], lead}};
      for (uint32_t c = lead + 1; c < cores; ++c)
        if (const auto* x = take(c, per_core[lead][i].name)) rows.push_back({x, c});
      report::LayerResult r = combine_cores(rows, runner, cores);
      if (const workload::Layer* l = w.find_layer(r.name)) r.shape = l->shape();
      for (const auto& x : rows) add_layer_mxu_utilization(r, runner.cfg.mxu, x.core, *parts[x.core], x.row->macs);
      if (split && r.verdict != report::Verdict::unchecked)
        r.verdict_detail += " (" + std::to_string(rows.size()) + " cores, batch split " + shares + ")";
      out.push_back(std::move(r));
    }
  return out;
}

}  // namespace xpu::experiment
