#include "sim/report/generation.h"

#include "sim/report/number_format.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace xpu::report {

double GenerationResult::decode_seconds() const {
  double s = 0;
  for (const auto& x : steps) s += x.seconds;
  return s;
}
double GenerationResult::tpot_mean_s() const { return steps.empty() ? 0 : decode_seconds() / double(steps.size()); }
double GenerationResult::tokens_per_s() const {
  const double t = ttft_s + decode_seconds();
  return t > 0 ? double(batch * gen_len) / t : 0;
}
double GenerationResult::decode_tokens_per_s() const {
  return tpot_mean_s() > 0 ? double(batch) / tpot_mean_s() : 0;
}
double GenerationResult::energy_per_token_j() const {
  double e = prefill_energy_j;
  for (const auto& x : steps) e += x.energy_j;
  return gen_len > 0 ? e / double(batch * gen_len) : 0;
}
double GenerationResult::bound_ratio_mean() const {
  double s = 0;
  for (const auto& x : steps) s += x.bound_seconds > 0 ? x.seconds / x.bound_seconds : 0;
  return steps.empty() ? 0 : s / double(steps.size());
}

std::string generation_markdown(const std::vector<GenerationResult>& gs) {
  std::ostringstream o;
  o << "## Generation\n\n"
    << "One prefill of the prompt (its time is the time to first token), then decode steps of one token per "
       "sequence whose KV cache grows. With tensor parallelism the times are one device's shard, its all-reduces "
       "(interconnect model, no overlap with compute) included, and tokens/s counts all devices' output once. TPOT is the mean decode step; the memory bound of a step is the bytes it "
       "must move (weights, KV cache read and appended) over the peak DRAM bandwidth. Decoder layers beyond the "
       "simulated subset are scaled from it.\n\n"
    << "| accelerator | model | precision | batch | devices | prompt | new tokens | layers simulated | TTFT (ms) | TPOT mean "
       "(ms) | TPOT first / last (ms) | memory bound first / last (ms) | TPOT / bound | tokens/s | decode tokens/s | "
       "energy/token (mJ) | KV cache (MiB) | steps simulated | interpolation max error |\n"
    << "|---|---|---|---:|---:|---:|---:|---|---:|---:|---|---|---:|---:|---:|---:|---:|---|---:|\n";
  for (const auto& g : gs) {
    int sim = 0;
    for (const auto& s : g.steps) sim += s.simulated;
    const auto& a = g.steps.empty() ? GenerationStep{} : g.steps.front();
    const auto& z = g.steps.empty() ? GenerationStep{} : g.steps.back();
    o << "| " << g.accelerator << " | " << g.model << " | " << g.precision << " | " << g.batch << " | " << g.devices << " | " << g.prompt_len
      << " | " << g.gen_len << " | " << g.layers_simulated << " of " << g.layers_total << " | " << (g.prefill_simulated ? fmt(g.ttft_s * 1e3) : std::string("-"))
      << " | " << fmt(g.tpot_mean_s() * 1e3) << " | " << fmt(a.seconds * 1e3) << " / " << fmt(z.seconds * 1e3) << " | "
      << fmt(a.bound_seconds * 1e3) << " / " << fmt(z.bound_seconds * 1e3) << " | " << fmt(g.bound_ratio_mean(), 2) << "x | "
      << fmt(g.tokens_per_s(), 1) << " | " << fmt(g.decode_tokens_per_s(), 1) << " | " << fmt(g.energy_per_token_j() * 1e3)
      << " | " << fmt(g.kv_cache_bytes / 1048576.0, 1) << " | " << sim << " of " << g.steps.size() << " | "
      << (g.held_out ? fmt(100 * g.interpolation_max_error, 2) + " % (" + std::to_string(g.held_out) + " held out)"
                     : std::string("- (all simulated)"))
      << " |\n";
  }
  o << "\nPer-step times, bounds and bytes: `generation.csv`.\n";
  return o.str();
}

std::string generation_csv(const std::vector<GenerationResult>& gs) {
  std::ostringstream o;
  o << "accelerator,model,precision,batch,step,kv_len,simulated,seconds,energy_j,dram_bytes,weight_bytes,kv_bytes,"
       "bound_seconds\n";
  for (const auto& g : gs) {
    o << g.accelerator << ',' << g.model << ',' << g.precision << ',' << g.batch << ",prefill," << g.prompt_len
      << ",1," << g.ttft_s << ',' << g.prefill_energy_j << ",,,," << g.prefill_bound_s << '\n';
    for (const auto& s : g.steps)
      o << g.accelerator << ',' << g.model << ',' << g.precision << ',' << g.batch << ',' << s.step << ',' << s.kv_len
        << ',' << (s.simulated ? 1 : 0) << ',' << s.seconds << ',' << s.energy_j << ',' << s.dram_bytes << ','
        << s.weight_bytes << ',' << s.kv_bytes << ',' << s.bound_seconds << '\n';
  }
  return o.str();
}

nlohmann::json generation_json(const std::vector<GenerationResult>& gs) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& g : gs) {
    nlohmann::json j;
    j["accelerator"] = g.accelerator;
    j["model"] = g.model;
    j["model_file"] = g.model_file;
    j["precision"] = g.precision;
    j["batch"] = g.batch;
    j["devices"] = g.devices;
    j["prompt_len"] = g.prompt_len;
    j["gen_len"] = g.gen_len;
    j["layers_total"] = g.layers_total;
    j["layers_simulated"] = g.layers_simulated;
    j["ttft_s"] = g.prefill_simulated ? finite(g.ttft_s) : nlohmann::json(nullptr);
    j["tpot_mean_s"] = finite(g.tpot_mean_s());
    j["tokens_per_s"] = finite(g.tokens_per_s());
    j["decode_tokens_per_s"] = finite(g.decode_tokens_per_s());
    j["energy_per_token_j"] = finite(g.energy_per_token_j());
    j["prefill_bound_s"] = finite(g.prefill_bound_s);
    j["kv_cache_bytes"] = finite(g.kv_cache_bytes);
    j["tpot_over_bound_mean"] = finite(g.bound_ratio_mean());
    j["interpolation"] = {{"held_out_steps", g.held_out}, {"max_relative_error", finite(g.interpolation_max_error)}};
    nlohmann::json st = nlohmann::json::array();
    for (const auto& s : g.steps)
      st.push_back({{"step", s.step}, {"kv_len", s.kv_len}, {"simulated", s.simulated}, {"seconds", finite(s.seconds)},
                    {"energy_j", finite(s.energy_j)}, {"dram_bytes", finite(s.dram_bytes)},
                    {"weight_bytes", finite(s.weight_bytes)}, {"kv_bytes", finite(s.kv_bytes)},
                    {"bound_seconds", finite(s.bound_seconds)}});
    j["steps"] = st;
    a.push_back(j);
  }
  return a;
}

}  // namespace xpu::report
