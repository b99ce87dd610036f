#include "sim/experiment/generation.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "sim/config/diagnostics.h"
#include "sim/experiment/interconnect.h"
#include "sim/workload/input_format.h"
#include "sim/workload/llm/llm_graph.h"

namespace xpu::experiment {

namespace {

using workload::llm::is_decoder_layer_row;

struct Measure {
  double seconds = 0, energy_j = 0, dram_bytes = 0;
};

// Rows of decoder layers count `scale` times.
Measure measure(const std::vector<report::LayerResult>& rows, double scale) {
  Measure m;
  for (const auto& r : rows) {
    const double f = is_decoder_layer_row(r.name) ? scale : 1.0;
    m.seconds += r.seconds * f;
    m.energy_j += r.energy.total_pj * 1e-12 * f;
    m.dram_bytes += r.dram_bytes() * f;
  }
  return m;
}

struct Bytes {
  double weights = 0, kv = 0, kv_present = 0;
};

// The bytes a pass must move at least, at `elem` bytes per element: every
// weight once (one read only by gathers: the rows gathered), the KV cache
// read (past) and the new positions written.
Bytes must_move(const workload::Workload& w, double elem, double scale) {
  Bytes b;
  std::map<std::string, double> gathered;
  std::set<std::string> read_whole;
  for (const auto& l : w.layers)
    for (size_t i = 0; i < l.inputs.size(); ++i) {
      const workload::Tensor* t = w.find_tensor(l.inputs[i]);
      if (!t || t->role != workload::TensorRole::weight) continue;
      if (l.op == workload::OpKind::gather && i == 0) gathered[t->name] += double(workload::numel(l.out_shape));
      else read_whole.insert(t->name);
    }
  for (const auto& t : w.tensors) {
    const double f = is_decoder_layer_row(t.name) ? scale : 1.0;
    const double n = double(workload::numel(t.shape));
    if (t.role == workload::TensorRole::weight) {
      // int8 weights (weight-only int8): a byte each and an fp32 scale per output channel.
      const double we = t.dtype == DType::int8 ? 1.0 : elem, sc = t.dtype == DType::int8 ? 4.0 * double(t.shape.back()) : 0;
      b.weights += f * (read_whole.count(t.name) ? we * n + sc : gathered.count(t.name) ? we * std::min(n, gathered[t.name]) : 0);
    } else {
      const auto dot = t.name.rfind('.');
      const std::string leaf = dot == std::string::npos ? t.name : t.name.substr(dot + 1);
      if (leaf == "past_k" || leaf == "past_v") b.kv += f * elem * n;
      if (leaf == "k_new" || leaf == "v_new") b.kv += f * elem * n;  // the new positions, written
      const bool prefill = !w.find_tensor(t.name.substr(0, dot == std::string::npos ? 0 : dot) + ".past_k");
      if (leaf == "present_k" || leaf == "present_v" || (prefill && (leaf == "k_new" || leaf == "v_new")))
        b.kv_present += f * elem * n;
    }
  }
  return b;
}

// Tensor parallelism: after each row-parallel layer (W_o, the MLP's output
// projection) its partial sums are all-reduced over the devices, and the
// LM head's shards agree on the greedy token (each device's best value and
// index: 2 values per sequence). Each all-reduce is a row of its own, timed
// by the interconnect model; it computes no values and counts no energy.
void add_allreduces(std::vector<report::LayerResult>& rows, const workload::Workload& w, const GenerationSpec& g,
                    const Interconnect& ic, double elem, double clock_mhz) {
  if (g.tp <= 1) return;
  std::vector<report::LayerResult> out;
  for (auto& r : rows) {
    const auto dot = r.name.rfind('.');
    const std::string leaf = dot == std::string::npos ? r.name : r.name.substr(dot + 1);
    const bool row_parallel = is_decoder_layer_row(r.name) && (leaf == "o" || leaf == "down" || leaf == "proj");
    const bool head = r.name == "lm_head.argmax";
    const std::string name = r.name;
    out.push_back(std::move(r));
    if (!row_parallel && !head) continue;
    const workload::Layer* l = w.find_layer(name);
    const double n = l ? double(workload::numel(l->out_shape)) : 0;
    const double bytes = head ? n * 2 * 4 : n * elem;
    report::LayerResult a;
    a.name = head ? "lm_head.allreduce" : name.substr(0, dot) + (leaf == "o" ? ".allreduce_attn" : ".allreduce_mlp");
    a.op = "all_reduce [" + ic.topology + ", " + std::to_string(g.tp) + " devices]";
    a.shape = l ? workload::shape_to_string(l->out_shape) : "";
    a.io = "interconnect";
    a.seconds = allreduce_seconds(ic, int(g.tp), bytes);
    a.cycles = uint64_t(std::llround(a.seconds * clock_mhz * 1e6));
    a.bytes["interconnect"] = bytes;
    a.verdict = report::Verdict::skipped;
    a.verdict_detail = "interconnect model (no values, no energy)";
    out.push_back(std::move(a));
  }
  rows = std::move(out);
}

report::RunResult as_run(Backend& be, const std::string& acc, const std::string& label, const std::string& file,
                         DType t, const LayerRunOptions& lo, std::vector<report::LayerResult> rows) {
  report::RunResult run;
  run.accelerator = acc;
  run.accelerator_file = "";
  run.workload = label;
  run.workload_file = file;
  run.precision = dtype_name(t);
  run.fidelity = fidelity_name(lo.fidelity);
  run.clock_mhz = be.clock_mhz();
  run.peak_macs_per_cycle = be.peak_macs_per_cycle(t);
  run.peak_dram_gbps = be.dram_gbps();
  run.layers = std::move(rows);
  return run;
}

}  // namespace

GenerationRun run_generation(Backend& be, const std::string& accelerator, const std::string& model_file, DType dtype,
                             int64_t batch, const GenerationSpec& g, const LayerRunOptions& lo, bool quiet) {
  const workload::InputFormat& f = workload::input_format_of(model_file);
  if (f.name != "Hugging Face model config")
    throw config::ConfigError(config::Diagnostic{model_file, 0, 0, "generation",
                                                 "a generation needs a model config.json workload, got a " + f.name});
  const workload::llm::LlmConfig c = workload::llm::read_hf_config(model_file);
  const int64_t layers = g.layers > 0 ? std::min(g.layers, c.layers) : c.layers;
  const double scale = double(c.layers) / double(layers);
  const double elem = double(dtype_bytes(dtype));
  const double bw = be.dram_gbps() * 1e9;

  // The links: the experiment's override, else the accelerator config's.
  Interconnect ic = g.interconnect.present() ? g.interconnect : be.interconnect();
  if (g.topology_given) ic.topology = g.interconnect.topology;
  if (g.tp > 1 && !ic.present())
    throw config::ConfigError(config::Diagnostic{
        accelerator, 0, 0, "interconnect",
        "tensor parallelism needs chip-to-chip links: an interconnect: section in the accelerator config, or "
        "generation.tensor_parallel.{links, link_gbps, link_latency_us} in the experiment"});

  GenerationRun out;
  auto& R = out.result;
  R.accelerator = accelerator;
  R.model_file = model_file;
  R.precision = dtype_name(dtype);
  R.batch = batch;
  R.prompt_len = g.prompt_len;
  R.gen_len = g.gen_len;
  R.layers_total = c.layers;
  R.layers_simulated = layers;
  R.devices = g.tp;
  R.peak_dram_gbps = be.dram_gbps();

  auto pass = [&](int64_t seq, int64_t past) {
    workload::llm::LlmShape s;
    s.weight_bits = seq == 1 && past > 0 ? g.weight_bits : 16;  // weight-only int8: decode steps
    s.batch = batch;
    s.seq = seq;
    s.past = past;
    s.layers = layers;
    s.tp = g.tp;
    s.attention = g.attention;
    return workload::llm::build_llm(c, s);
  };
  // Prefill: the prompt through the LM head, the first token.
  R.model = pass(1, 0).name;  // a one-token pass: cheap to build
  const std::string tag = R.model + " b" + std::to_string(batch);
  R.prefill_simulated = g.prefill;
  if (g.prefill) {
    const workload::Workload w = pass(g.prompt_len, 0);
    be.check_workload(w, dtype);
    if (lo.fidelity != Fidelity::timing) workload::check_values_fit(w);
    if (!quiet) spdlog::info("{} / {} / {}: prefill of {} tokens", accelerator, tag, R.precision, g.prompt_len);
    auto rows = be.run_workload(w, dtype, lo);
    add_allreduces(rows, w, g, ic, elem, be.clock_mhz());
    const Measure m = measure(rows, scale);
    const Bytes b = must_move(w, elem, scale);
    R.ttft_s = m.seconds;
    R.prefill_energy_j = m.energy_j;
    R.prefill_bound_s = (b.weights + b.kv) / bw;
    R.kv_cache_bytes = b.kv_present;
    out.runs.push_back(as_run(be, accelerator, tag + " prefill " + std::to_string(g.prompt_len), model_file, dtype, lo,
                              std::move(rows)));
  }

  // Decode steps 1 .. gen_len - 1; step i attends to prompt + i positions.
  const int64_t M = g.gen_len - 1;
  std::vector<int64_t> samples, held;
  const int64_t S = g.decode_samples;
  if (S == 0 || M <= 2 * S - 1) {
    for (int64_t i = 1; i <= M; ++i) samples.push_back(i);
  } else {
    for (int64_t k = 0; k < S; ++k) samples.push_back(1 + int64_t(std::llround(double(M - 1) * double(k) / double(S - 1))));
    samples.erase(std::unique(samples.begin(), samples.end()), samples.end());
    for (size_t k = 0; k + 1 < samples.size(); ++k) {
      const int64_t mid = (samples[k] + samples[k + 1]) / 2;
      if (mid != samples[k] && mid != samples[k + 1]) held.push_back(mid);
    }
  }
  std::map<int64_t, std::pair<Measure, Bytes>> sim;
  auto simulate = [&](int64_t i) {
    const workload::Workload w = pass(1, g.prompt_len + i - 1);
    if (sim.empty()) {
      be.check_workload(w, dtype);
      if (lo.fidelity != Fidelity::timing) workload::check_values_fit(w);
    }
    auto rows = be.run_workload(w, dtype, lo);
    add_allreduces(rows, w, g, ic, elem, be.clock_mhz());
    const Measure m = measure(rows, scale);
    if (!quiet)
      spdlog::info("{} / {} / {}: decode step {} (KV {}): {:.3f} ms", accelerator, tag, R.precision, i,
                   g.prompt_len + i, m.seconds * 1e3);
    if (i == samples.front() || i == samples.back())
      out.runs.push_back(as_run(be, accelerator, tag + " decode kv " + std::to_string(g.prompt_len + i), model_file,
                                dtype, lo, std::move(rows)));
    sim[i] = {m, must_move(w, elem, scale)};
  };
  for (int64_t i : samples) simulate(i);
  auto interpolate = [&](int64_t i) {
    auto hi = std::lower_bound(samples.begin(), samples.end(), i);
    if (*hi == i) return sim[i].first;
    const int64_t a = *(hi - 1), b = *hi;
    const double t = double(i - a) / double(b - a);
    const Measure &x = sim[a].first, &y = sim[b].first;
    return Measure{x.seconds + t * (y.seconds - x.seconds), x.energy_j + t * (y.energy_j - x.energy_j),
                   x.dram_bytes + t * (y.dram_bytes - x.dram_bytes)};
  };
  for (int64_t i : held) {
    const Measure guess = interpolate(i);
    simulate(i);
    R.interpolation_max_error =
        std::max(R.interpolation_max_error, std::abs(guess.seconds - sim[i].first.seconds) / sim[i].first.seconds);
  }
  R.held_out = int(held.size());
  for (int64_t i = 1; i <= M; ++i) {
    report::GenerationStep st;
    st.step = i;
    st.kv_len = g.prompt_len + i;
    st.simulated = sim.count(i) > 0;
    const Measure m = st.simulated ? sim[i].first : interpolate(i);
    st.seconds = m.seconds;
    st.energy_j = m.energy_j;
    st.dram_bytes = m.dram_bytes;
    // Bytes are exact for every step: weights are the same, the cache grows by one position.
    const Bytes b0 = sim[samples.front()].second;
    const double per_pos = samples.size() > 1 ? (sim[samples.back()].second.kv - b0.kv) /
                                                    double(samples.back() - samples.front())
                                              : 0;
    st.weight_bytes = b0.weights;
    st.kv_bytes = b0.kv + per_pos * double(i - samples.front());
    st.bound_seconds = (st.weight_bytes + st.kv_bytes) / bw;
    R.steps.push_back(st);
  }
  // The cache after the last step: prompt + gen_len - 1 positions.
  if (M > 0) R.kv_cache_bytes = sim[samples.back()].second.kv_present;
  return out;
}

}  // namespace xpu::experiment
