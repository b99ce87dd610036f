#pragma once
// A generation run (one prefill, then decode steps whose KV cache grows):
// what the experiment runner measured and derived, and its writers
// (report.md section, generation.csv per step, summary.json "generations").
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xpu::report {

struct GenerationStep {
  int64_t step = 0;        // 1 .. gen_len - 1 (the first token comes from the prefill)
  int64_t kv_len = 0;      // cached positions the step attends to, itself included
  bool simulated = false;  // false: interpolated linearly in kv_len between simulated steps
  double seconds = 0;
  double energy_j = 0;
  double dram_bytes = 0;    // measured DRAM traffic
  double weight_bytes = 0;  // weights the step must read (embedding: the gathered rows only)
  double kv_bytes = 0;      // KV cache read (past positions) and written (the new one)
  double bound_seconds = 0; // memory roofline bound: (weight + KV bytes) / peak DRAM bandwidth
};

struct GenerationResult {
  std::string accelerator, model, model_file, precision;
  int64_t batch = 1, prompt_len = 0, gen_len = 0;
  int64_t devices = 1;  // tensor-parallel devices (the times are one device's, all-reduces included)
  int64_t layers_total = 0, layers_simulated = 0;  // decoder layers: rows of the subset scaled by total / simulated
  double peak_dram_gbps = 0;
  bool prefill_simulated = true;  // false: a decode-only run (no TTFT; tokens/s counts decode only)
  double ttft_s = 0;          // the prefill (prompt through the LM head and the first token)
  double prefill_energy_j = 0;
  double prefill_bound_s = 0; // the prefill's memory roofline bound (weights + KV written)
  double kv_cache_bytes = 0;  // the cache after the last step: K and V of every layer and sequence
  std::vector<GenerationStep> steps;
  // Interpolation: steps held out (simulated but not used to interpolate)
  // and the largest relative error of the interpolation at them.
  int held_out = 0;
  double interpolation_max_error = 0;

  double tpot_mean_s() const;
  double decode_seconds() const;
  double tokens_per_s() const;          // batch x gen_len / (TTFT + decode time)
  double decode_tokens_per_s() const;   // batch / mean TPOT
  double energy_per_token_j() const;    // (prefill + decode energy) / (batch x gen_len)
  double bound_ratio_mean() const;      // mean over steps of seconds / bound_seconds
};

std::string generation_markdown(const std::vector<GenerationResult>& g);
std::string generation_csv(const std::vector<GenerationResult>& g);
nlohmann::json generation_json(const std::vector<GenerationResult>& g);

}  // namespace xpu::report
