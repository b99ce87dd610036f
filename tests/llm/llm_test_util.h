#pragma once
// Shared by the LLM GPU tests: random 16-bit operands, and a small
// decoder from a config.json text run through the GPU backend at tile
// fidelity (every kernel's values computed and checked).
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "sim/config/gpu_config.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/gpu_backend.h"
#include "sim/numerics/fp16.h"
#include "sim/workload/llm/llm_graph.h"

namespace xpu::llm_test {

inline std::vector<uint16_t> random_half(DType t, uint64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = t == DType::bf16 ? bf16::from_float(nd(rng)).bits : fp16::from_float(nd(rng)).bits;
  return v;
}

// The model of `config_json` (written to `path`) in the given shape.
inline workload::Workload model(const std::string& path, const std::string& config_json,
                                const workload::llm::LlmShape& s) {
  std::ofstream(path) << config_json;
  return workload::llm::build_llm(workload::llm::read_hf_config(path), s);
}

// Every layer of `w` on `accelerator` (a configs/accelerators file) at tile fidelity.
inline std::vector<report::LayerResult> run_tile(const workload::Workload& w, const std::string& accelerator) {
  const auto table = energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  const auto cfg = config::load_gpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/" + accelerator);
  auto be = experiment::make_gpu_backend(cfg, table, "gpu");
  be->check_workload(w, DType::fp16);
  experiment::LayerRunOptions o;
  o.fidelity = Fidelity::tile;
  return be->run_workload(w, DType::fp16, o);
}

}  // namespace xpu::llm_test
