#pragma once
// A decoder-only language model described by a Hugging Face-style
// config.json: the GPT-2 family (model_type gpt2: n_embd, n_layer, n_head,
// n_positions, activation_function, layernorm, learned positions), the Llama
// family (model_type llama: hidden_size, num_hidden_layers,
// num_attention_heads, num_key_value_heads, intermediate_size, rms_norm_eps,
// rope_theta, hidden_act silu, vocab_size, tie_word_embeddings) and OPT
// (model_type opt: learned positions offset by 2, pre-layernorm, relu).
// Every key is read or listed as harmless (dropout, token ids, training
// settings); an unknown model_type, an unknown key, or a value that would
// change the computation in a way xpusim does not model (rope_scaling,
// post-layernorm OPT, a projection of the embeddings, ...) is an error naming
// the file, its line and the key (exit 1): never a silently different model.
#include <cstdint>
#include <string>

#include "sim/numerics/mac.h"
#include "sim/workload/op_kind.h"

namespace xpu::workload::llm {

enum class Family { gpt2, llama, opt };
const char* family_name(Family f);

struct LlmConfig {
  std::string file;
  std::string model_type;
  Family family = Family::gpt2;
  int64_t hidden = 0;         // d_model
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;       // = heads without grouped-query attention
  int64_t ffn = 0;            // MLP inner width
  int64_t vocab = 0;
  int64_t max_positions = 0;  // context length the position table / rope was built for
  bool rms_norm = false;      // RMSNorm (no bias) instead of LayerNorm (scale and bias)
  float norm_eps = 1e-5f;
  bool rotary = false;        // RoPE on q and k instead of a learned position table
  int64_t position_offset = 0;  // learned table rows before position 0 (OPT: 2)
  double rope_theta = 10000.0;
  OpKind act = OpKind::gelu;  // MLP activation
  bool gelu_tanh = false;
  bool gated = false;         // SwiGLU: act(x W_gate) * (x W_up), then W_down
  bool tie_embeddings = false;  // LM head = token embedding transposed
  bool attn_bias = false, mlp_bias = false;
  DType dtype = DType::fp16;  // torch_dtype (float32 maps to fp32)

  int64_t head_dim() const { return hidden / heads; }
  int64_t group() const { return heads / kv_heads; }
  // Parameters, analytically: embeddings + layers x per_layer + final norm
  // + an untied LM head.
  uint64_t layer_params() const;
  uint64_t other_params() const;
  uint64_t param_count() const { return other_params() + uint64_t(layers) * layer_params(); }
};

// Reads and checks a config.json; throws config::ConfigError naming the
// file, line and key of every problem.
LlmConfig read_hf_config(const std::string& path);

}  // namespace xpu::workload::llm
