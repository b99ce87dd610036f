#include "sim/workload/llm/hf_config.h"

#include <cmath>
#include <fstream>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/common/errors.h"
#include "sim/config/diagnostics.h"
#include "sim/workload/workload.h"

namespace xpu::workload::llm {

const char* family_name(Family f) {
  switch (f) {
    case Family::gpt2: return "gpt2";
    case Family::llama: return "llama";
    case Family::opt: return "opt";
  }
  return "?";
}

uint64_t LlmConfig::layer_params() const {
  const uint64_t D = uint64_t(hidden), q = uint64_t(heads * head_dim()), kv = uint64_t(kv_heads * head_dim()),
                 F = uint64_t(ffn);
  uint64_t p = D * q + 2 * D * kv + q * D;   // W_q, W_k, W_v, W_o
  if (attn_bias) p += q + 2 * kv + D;
  p += (gated ? 3 : 2) * D * F;              // W_gate, W_up, W_down or W_in, W_out
  if (mlp_bias) p += (gated ? 2 : 1) * F + D;
  p += 2 * (rms_norm ? D : 2 * D);           // two norms
  return p;
}

uint64_t LlmConfig::other_params() const {
  const uint64_t D = uint64_t(hidden), V = uint64_t(vocab);
  uint64_t p = V * D;                                                    // token embedding
  if (!rotary) p += uint64_t(max_positions + position_offset) * D;      // learned positions
  p += rms_norm ? D : 2 * D;                                             // final norm
  if (!tie_embeddings) p += V * D;                                       // LM head
  return p;
}

namespace {

using nlohmann::json;

class ConfigReader {
 public:
  ConfigReader(std::string path, std::string text, json j)
      : path_(std::move(path)), text_(std::move(text)), j_(std::move(j)) {}

  // Where "key": first appears in the text (JSON keys of a config are unique).
  config::Diagnostic at(const std::string& key, const std::string& msg) const {
    int line = 0, col = 0;
    const std::string quoted = "\"" + key + "\"";
    for (size_t pos = text_.find(quoted); pos != std::string::npos; pos = text_.find(quoted, pos + 1)) {
      size_t after = pos + quoted.size();
      while (after < text_.size() && std::isspace(static_cast<unsigned char>(text_[after]))) ++after;
      if (after < text_.size() && text_[after] == ':') {
        line = 1;
        size_t bol = 0;
        for (size_t i = 0; i < pos; ++i)
          if (text_[i] == '\n') ++line, bol = i + 1;
        col = int(pos - bol) + 1;
        break;
      }
    }
    return config::Diagnostic{path_, line, col, key, msg};
  }
  void error(const std::string& key, const std::string& msg) { diags_.add(at(key, msg)); }

  bool has(const std::string& key) const { return j_.contains(key) && !j_[key].is_null(); }
  const json& raw(const std::string& key) {
    read_.insert(key);
    return j_[key];
  }
  void ignore(const std::vector<std::string>& keys) { read_.insert(keys.begin(), keys.end()); }

  int64_t integer(const std::string& key, std::optional<int64_t> def, int64_t max = int64_t(1) << 31) {
    read_.insert(key);
    if (!has(key)) {
      if (!def) error(key, "missing required key");
      return def.value_or(1);
    }
    const json& v = j_[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > max) {
      error(key, "expected an integer in [1, " + std::to_string(max) + "], got " + v.dump());
      return 1;
    }
    return v.get<int64_t>();
  }
  double number(const std::string& key, double def, double lo, double hi) {
    read_.insert(key);
    if (!has(key)) return def;
    const json& v = j_[key];
    if (!v.is_number() || !(v.get<double>() >= lo && v.get<double>() <= hi)) {
      error(key, "expected a number in [" + json(lo).dump() + ", " + json(hi).dump() + "], got " + v.dump());
      return def;
    }
    return v.get<double>();
  }
  bool boolean(const std::string& key, bool def) {
    read_.insert(key);
    if (!has(key)) return def;
    if (!j_[key].is_boolean()) {
      error(key, "expected true or false, got " + j_[key].dump());
      return def;
    }
    return j_[key].get<bool>();
  }
  std::string string(const std::string& key, const std::string& def) {
    read_.insert(key);
    if (!has(key)) return def;
    if (!j_[key].is_string()) {
      error(key, "expected a string, got " + j_[key].dump());
      return def;
    }
    return j_[key].get<std::string>();
  }
  // A key xpusim reads only to refuse values that change the computation.
  void require(const std::string& key, const json& expected, const std::string& why) {
    read_.insert(key);
    if (has(key) && j_[key] != expected)
      error(key, "value " + j_[key].dump() + " is not modelled (" + why + "); expected " + expected.dump());
  }

  void finish() {
    std::vector<std::string> known(read_.begin(), read_.end());
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!read_.count(it.key())) {
        std::string msg = "unknown key for model_type \"" + j_.value("model_type", std::string()) +
                          "\": xpusim does not know whether it changes the computation";
        const std::string dym = config::did_you_mean(it.key(), known);
        if (!dym.empty()) msg += " (did you mean '" + dym + "'?)";
        error(it.key(), msg);
      }
    diags_.throw_if_any();
  }
  bool ok() const { return diags_.empty(); }

 private:
  std::string path_, text_;
  json j_;
  std::set<std::string> read_;
  config::Diagnostics diags_;
};

// Keys that change nothing the simulator computes: training settings,
// dropout, token ids, bookkeeping.
const std::vector<std::string> kHarmless = {
    "_name_or_path", "architectures", "bos_token_id", "eos_token_id", "pad_token_id", "initializer_range",
    "transformers_version", "use_cache", "torch_dtype", "model_type", "attention_dropout"};

void activation(ConfigReader& r, const std::string& key, const std::string& def, LlmConfig& c) {
  const std::string a = r.string(key, def);
  if (a == "gelu_new" || a == "gelu_pytorch_tanh" || a == "gelu_fast") c.act = OpKind::gelu, c.gelu_tanh = true;
  else if (a == "gelu") c.act = OpKind::gelu;
  else if (a == "relu") c.act = OpKind::relu;
  else if (a == "silu" || a == "swish") c.act = OpKind::silu;
  else r.error(key, "unknown activation \"" + a + "\": expected gelu, gelu_new, gelu_pytorch_tanh, relu or silu");
}

void read_gpt2(ConfigReader& r, LlmConfig& c) {
  c.family = Family::gpt2;
  c.hidden = r.integer("n_embd", std::nullopt);
  c.layers = r.integer("n_layer", std::nullopt);
  c.heads = r.integer("n_head", std::nullopt);
  c.kv_heads = c.heads;
  c.max_positions = r.integer("n_positions", std::nullopt);
  c.vocab = r.integer("vocab_size", std::nullopt);
  c.ffn = r.integer("n_inner", 4 * c.hidden);
  c.norm_eps = float(r.number("layer_norm_epsilon", 1e-5, 0, 1));
  activation(r, "activation_function", "gelu_new", c);
  c.tie_embeddings = r.boolean("tie_word_embeddings", true);
  c.attn_bias = c.mlp_bias = true;
  r.require("scale_attn_weights", true, "scores are always scaled by 1/sqrt(head_dim)");
  r.require("scale_attn_by_inverse_layer_idx", false, "no per-layer score scaling");
  r.require("reorder_and_upcast_attn", false, "no reordered upcast attention");
  r.require("add_cross_attention", false, "decoder-only models");
  r.ignore({"n_ctx", "attn_pdrop", "embd_pdrop", "resid_pdrop", "summary_activation", "summary_first_dropout",
            "summary_proj_to_labels", "summary_type", "summary_use_proj", "task_specific_params"});
}

void read_llama(ConfigReader& r, LlmConfig& c) {
  c.family = Family::llama;
  c.hidden = r.integer("hidden_size", std::nullopt);
  c.layers = r.integer("num_hidden_layers", std::nullopt);
  c.heads = r.integer("num_attention_heads", std::nullopt);
  c.kv_heads = r.integer("num_key_value_heads", c.heads);
  c.ffn = r.integer("intermediate_size", std::nullopt);
  c.vocab = r.integer("vocab_size", std::nullopt);
  c.max_positions = r.integer("max_position_embeddings", 2048);
  c.rms_norm = true;
  c.norm_eps = float(r.number("rms_norm_eps", 1e-6, 0, 1));
  c.rotary = true;
  c.rope_theta = r.number("rope_theta", 10000.0, 1.0, 1e12);
  activation(r, "hidden_act", "silu", c);
  c.gated = true;
  c.tie_embeddings = r.boolean("tie_word_embeddings", false);
  c.attn_bias = r.boolean("attention_bias", false);
  c.mlp_bias = r.boolean("mlp_bias", false);
  if (r.has("head_dim") && r.integer("head_dim", 1) * c.heads != c.hidden)
    r.error("head_dim", "must equal hidden_size / num_attention_heads (" + std::to_string(c.hidden / c.heads) + ")");
  r.ignore({"head_dim"});
  r.require("rope_scaling", nullptr, "rotary embeddings without scaling");
  r.require("pretraining_tp", 1, "one tensor-parallel slice of the projections");
}

void read_opt(ConfigReader& r, LlmConfig& c) {
  c.family = Family::opt;
  c.hidden = r.integer("hidden_size", std::nullopt);
  c.layers = r.integer("num_hidden_layers", std::nullopt);
  c.heads = r.integer("num_attention_heads", std::nullopt);
  c.kv_heads = c.heads;
  c.ffn = r.integer("ffn_dim", std::nullopt);
  c.vocab = r.integer("vocab_size", std::nullopt);
  c.max_positions = r.integer("max_position_embeddings", std::nullopt);
  c.position_offset = 2;  // OPTLearnedPositionalEmbedding: two rows before position 0
  activation(r, "activation_function", "relu", c);
  c.tie_embeddings = r.boolean("tie_word_embeddings", true);
  c.attn_bias = c.mlp_bias = r.boolean("enable_bias", true);
  if (r.has("word_embed_proj_dim") && r.integer("word_embed_proj_dim", 1) != c.hidden)
    r.error("word_embed_proj_dim", "must equal hidden_size (projected embeddings are not modelled)");
  r.ignore({"word_embed_proj_dim"});
  r.require("do_layer_norm_before", true, "pre-layernorm blocks only");
  r.require("layer_norm_elementwise_affine", true, "layernorm with scale and bias");
  r.require("_remove_final_layer_norm", false, "a final layernorm");
  r.ignore({"dropout", "init_std", "layerdrop", "prefix", "activation_dropout"});
}

}  // namespace

LlmConfig read_hf_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, "cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  if (text.size() > (size_t(1) << 20))
    throw config::ConfigError(config::Diagnostic{path, 0, 0, "", "larger than 1 MiB: not a model config.json"});
  json j;
  try {
    j = json::parse(text, nullptr, true, false);
  } catch (const json::parse_error& e) {
    int line = 1;
    for (size_t i = 0; i < e.byte && i < text.size(); ++i) line += text[i] == '\n';
    throw config::ConfigError(config::Diagnostic{path, line, 0, "", std::string("invalid JSON: ") + e.what()});
  }
  if (!j.is_object())
    throw config::ConfigError(config::Diagnostic{path, 1, 1, "", "expected a JSON object (a model's config.json)"});
  ConfigReader r(path, text, j);
  LlmConfig c;
  c.file = path;
  c.model_type = r.string("model_type", "");
  r.ignore(kHarmless);
  if (c.model_type == "gpt2") read_gpt2(r, c);
  else if (c.model_type == "llama") read_llama(r, c);
  else if (c.model_type == "opt") read_opt(r, c);
  else {
    r.error("model_type", (c.model_type.empty() ? std::string("missing") : "unknown architectures \"" + c.model_type + "\"") +
                              ": expected gpt2, llama or opt (decoder-only families xpusim builds)");
    r.finish();
  }
  const std::string dt = r.string("torch_dtype", "float16");
  if (dt == "float32") c.dtype = DType::fp32;
  else if (dt == "bfloat16") c.dtype = DType::bf16;
  else if (dt == "float16") c.dtype = DType::fp16;
  else r.error("torch_dtype", "expected float16, bfloat16 or float32, got \"" + dt + "\"");
  if (r.ok()) {
    const std::string hk = c.family == Family::gpt2 ? "n_head" : "num_attention_heads";
    if (c.hidden % c.heads != 0) r.error(hk, "hidden size " + std::to_string(c.hidden) + " is not divisible by " + std::to_string(c.heads) + " heads");
    else if (c.heads % c.kv_heads != 0)
      r.error("num_key_value_heads", std::to_string(c.heads) + " attention heads are not a multiple of " +
                                         std::to_string(c.kv_heads) + " key/value heads");
    else if (c.rotary && c.head_dim() % 2 != 0)
      r.error(hk, "rotary embeddings need an even head dimension, got " + std::to_string(c.head_dim()));
  }
  r.finish();
  return c;
}

}  // namespace xpu::workload::llm
