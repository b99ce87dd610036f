#pragma once
// The workload IR of one forward pass of a decoder-only model (hf_config.h):
// a prefill of `seq` tokens (past 0) or a decode step (seq 1) after `past`
// cached positions. Per layer, in Hugging Face's order:
//   norm -> q, k, v projections (matmul on the last axis) -> heads
//   [rope on q and k] -> K and V appended to the cache (concat) ->
//   grouped-query attention as batched matmuls: q is regrouped to
//   [B, kv_heads, group x S, d] so each K/V head serves its group of query
//   heads without copies (multi-query: kv_heads 1); prefill: q K^T, decode:
//   (K q^T)^T (no transposed copy of the cache) -> x 1/sqrt(d) ->
//   [+ causal mask, prefill only] -> softmax -> x V -> merge heads -> W_o ->
//   + residual -> norm -> MLP (SwiGLU: silu(x W_gate) * (x W_up) W_down; or
//   act(x W_in) W_out) -> + residual.
// Then the last position only (gather), the final norm, the LM head (gemm
// with the embedding, or the untied head, transposed: [V, D] as stored) and
// argmax: the greedy next token.
// KV cache layout (documented for traffic): per layer two tensors in the
// run's precision, K and V each [B, kv_heads, positions, d] (a position's
// head vector contiguous, as paged/contiguous caches of serving engines
// keep it); inputs "h<i>.past_k"/"h<i>.past_v" of `past` positions, outputs
// "h<i>.present_k"/"h<i>.present_v" of past + seq ("h<i>.k_new"/"v_new" in
// a prefill). The concat that appends the new positions is marked in place
// (Attrs::in_place): the cache buffer already holds the past, so both
// machines write only the new positions and the attention reads the cache
// (the TPU stages the past straight into the cache buffer: network_llm.cpp).
// Token ids are constants (prompt token t: (t * 7919 + 13) mod vocab): the
// gathers' addresses are fixed at lowering; nothing timed depends on them.
#include <cstdint>

#include "sim/workload/llm/hf_config.h"
#include "sim/workload/workload.h"

namespace xpu::workload::llm {

struct LlmShape {
  int64_t batch = 1;
  int64_t seq = 1;      // new tokens this pass (prompt length in prefill, 1 in decode)
  int64_t past = 0;     // cached positions before them
  int64_t layers = 0;   // decoder layers built (0: all); a subset is scaled by the caller
  bool lm_head = true;  // final norm, LM head and argmax
  // Tensor parallelism (Megatron): the graph is one device's shard of
  // `tp`: column-parallel q/k/v and MLP-in (heads, KV heads and the MLP
  // width divided; fewer KV heads than devices: one replicated per device),
  // row-parallel W_o and MLP-out (their outputs are partial sums: an
  // all-reduce follows each, timed by the caller), the LM head's vocabulary
  // split (rounded up); the embedding is replicated.
  int64_t tp = 1;
  // Attention kernels the machine may use, recorded as params.attention
  // (1: the chain q K^T .. x V may run as one fused kernel, 0: op by op):
  // -1 (auto) fuses decode steps only.
  int64_t attention = -1;
  // params.gemv: matrix products of at most 4 rows may run as GEMV kernels (1) or as GEMMs (0).
  int64_t gemv = 1;
  // params.weight_bits: 16 (weights in the run's precision) or 8: weight-only
  // int8, the decoder layers' projection weights (rank 2) int8 with a
  // per-output-channel fp32 scale (the scales are the kernel's, not tensors
  // of the graph); embedding, norms and the LM head stay 16-bit.
  int64_t weight_bits = 16;
};

// Every layer of decoder layer i is named "h<i>.<op>"; the rest "embed.*",
// "final.*", "lm_head*". Throws config::ConfigError (at the config file)
// when a shape is impossible or the workload crosses its size limits.
Workload build_llm(const LlmConfig& c, const LlmShape& s);

// True for a report row that belongs to a decoder layer (scaled when only a
// subset of layers is simulated).
bool is_decoder_layer_row(const std::string& layer_name);

// The `.json` input format: builds the model of a config.json with
// -p workload.params.{batch, seq, past, layers}=N (defaults 1, 1, 0, all)
// and -p workload.params.{attention, gemv}=0|1 (defaults: fused attention
// in decode steps, GEMV kernels for matrix products of at most 4 rows), and
// -p workload.params.weight_bits=8 for weight-only int8 (default 16).
Workload load_hf_workload(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace xpu::workload::llm
