#pragma once
// LLM generation on one machine: a prefill of the prompt, then decode steps
// of one token per sequence whose KV cache grows by one position each
// (workload IR from sim/workload/llm/llm_graph.h). Each step is a workload
// of its own, run through the machine's backend like any other; the KV cache
// is the steps' past/present tensors in device memory (layout in
// llm_graph.h), so its traffic is simulated with the rest.
// - Decoder layers: only `layers` of them are built and simulated; their
//   rows are scaled by total / simulated (every decoder layer of a model is
//   the same computation), the embedding, final norm and LM head are not.
// - Decode steps differ only in the KV length. With decode_samples = S > 1
//   (and more steps than S + S - 1), S steps evenly spread over the
//   generation are simulated and the others interpolated linearly in the KV
//   length; the midpoint between each pair of samples is also simulated and
//   held out, and the largest relative error of the interpolation there is
//   reported (decode_samples 0 simulates every step).
// - Each step's memory roofline bound is the bytes it must move (weights
//   once, embedding rows gathered, KV cache read and the new positions
//   written) over the machine's peak DRAM bandwidth.
#include <string>
#include <vector>

#include "sim/experiment/backend.h"
#include "sim/experiment/experiment_config.h"
#include "sim/report/generation.h"
#include "sim/report/results.h"

namespace xpu::experiment {

struct GenerationRun {
  report::GenerationResult result;
  // The prefill and the first and last simulated decode steps, each as a
  // run with its per-layer rows (the simulated subset, not scaled).
  std::vector<report::RunResult> runs;
};

// Throws config::ConfigError for a model file that is not a config.json or
// a generation that does not fit (context, tensor limits), and
// lowering::LoweringError when the machine cannot run a step.
GenerationRun run_generation(Backend& be, const std::string& accelerator, const std::string& model_file, DType dtype,
                             int64_t batch, const GenerationSpec& g, const LayerRunOptions& lo, bool quiet);

}  // namespace xpu::experiment
