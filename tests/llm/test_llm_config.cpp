// Hugging Face config.json models: parameter counts of the bundled configs
// against their published totals, FLOPs and weight/KV bytes of llama-2-7b
// prefill and decode against the formulas, and errors naming the key.
#include <catch2/catch.hpp>

#include <fstream>

#include "tests/temp_path.h"
#include "sim/config/diagnostics.h"
#include "sim/workload/llm/llm_graph.h"

using namespace xpu::workload;
using xpu::DType;
using namespace xpu::workload::llm;

namespace {

std::string bundled(const std::string& name) { return std::string(XPUSIM_SOURCE_DIR) + "/workloads/llm/" + name; }

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = xpu_test::tmp_prefix() + "xpusim_test_llm_" + name + ".json";
  std::ofstream(path) << text;
  return path;
}

// The message of the ConfigError that loading `path` throws.
std::string error_of(const std::string& path) {
  try {
    read_hf_config(path);
  } catch (const xpu::config::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

uint64_t weight_bytes(const Workload& w) {
  uint64_t b = 0;
  for (const auto& t : w.tensors)
    if (t.role == TensorRole::weight) b += numel(t.shape) * dtype_bytes(t.dtype);
  return b;
}

}  // namespace

TEST_CASE("bundled configs: parameter counts equal the published totals") {
  // gpt2: wte 50257 x 768 + wpe 1024 x 768 + 12 x (12 x 768^2 + 13 x 768)
  // + ln_f 2 x 768 = 38,597,376 + 786,432 + 85,054,464 + 1,536, LM head
  // tied: 124,439,808, the Hugging Face model's num_parameters().
  const LlmConfig gpt2 = read_hf_config(bundled("gpt2.json"));
  CHECK(gpt2.param_count() == 124439808ull);
  // llama-2-7b: embed and untied head 2 x 32000 x 4096 = 262,144,000; per
  // layer 4 x 4096^2 + 3 x 4096 x 11008 + 2 x 4096 = 202,383,360, x 32;
  // final norm 4096: 6,738,415,616, the checkpoint's safetensors total.
  const LlmConfig l2 = read_hf_config(bundled("llama-2-7b.json"));
  CHECK(l2.layer_params() == 202383360ull);
  CHECK(l2.param_count() == 6738415616ull);
  // llama-3-8b (GQA, 8 KV heads of 128): per layer 2 x 4096^2 + 2 x 4096 x
  // 1024 + 3 x 4096 x 14336 + 2 x 4096 = 218,112,000, x 32; embed and head
  // 2 x 128256 x 4096 = 1,050,673,152; final norm 4096: 8,030,261,248.
  const LlmConfig l3 = read_hf_config(bundled("llama-3-8b.json"));
  CHECK(l3.kv_heads == 8);
  CHECK(l3.param_count() == 8030261248ull);
  // gpt3-175b: 96 x (12 x 12288^2 + 13 x 12288) + 50257 x 12288 + 2048 x
  // 12288 + 2 x 12288 = 174,604,259,328. Brown et al. (2020) Table 2.1
  // prints "175.0B", which is this count rounded up (it is 0.23 % larger).
  const LlmConfig g3 = read_hf_config(bundled("gpt3-175b.json"));
  CHECK(g3.param_count() == 174604259328ull);
  CHECK(std::abs(double(g3.param_count()) - 175.0e9) / 175.0e9 < 0.0025);
}

TEST_CASE("built graphs hold the parameters the formula counts") {
  // The graph's weight tensors are the model's parameters: all of gpt2, and
  // one or two decoder layers of the Llama models (the rest is scaled).
  const LlmConfig gpt2 = read_hf_config(bundled("gpt2.json"));
  CHECK(build_llm(gpt2, LlmShape{}).param_count() == gpt2.param_count());
  for (const char* f : {"llama-2-7b.json", "llama-3-8b.json"}) {
    INFO(f);
    const LlmConfig c = read_hf_config(bundled(f));
    LlmShape one;
    one.layers = 1;
    LlmShape two = one;
    two.layers = 2;
    const uint64_t p1 = build_llm(c, one).param_count(), p2 = build_llm(c, two).param_count();
    CHECK(p2 - p1 == c.layer_params());
    CHECK(p1 == c.other_params() + c.layer_params());
  }
}

TEST_CASE("llama-2-7b prefill and decode: FLOPs and weight/KV bytes equal the formulas") {
  const LlmConfig c = read_hf_config(bundled("llama-2-7b.json"));
  const uint64_t D = 4096, F = 11008, H = 32, hd = 128, V = 32000;
  // One decoder layer simulated (layers: 1), in the config's fp16.
  LlmShape pre;
  pre.seq = 512;
  pre.layers = 1;
  const Workload p = build_llm(c, pre);
  // Prefill of S = 512: projections S x 4 D^2 (q, k, v, o; 32 KV heads),
  // MLP S x 3 D F, attention Q K^T and P V over the full S x S square (the
  // causal mask is added to the scores, nothing is skipped): 2 H S^2 d; the
  // LM head on the last position only: D V.
  const uint64_t S = 512;
  const uint64_t pre_macs = S * 4 * D * D + S * 3 * D * F + 2 * H * S * S * hd + D * V;
  CHECK(pre_macs == 34359738368ull + 69256347648ull + 2147483648ull + 131072000ull);
  CHECK(p.macs() == pre_macs);
  CHECK(2 * p.macs() == 211789283328ull);  // FLOPs: 2 x 105,894,641,664
  // Weights read: embedding, one layer, final norm and the untied head, 2 bytes each.
  CHECK(weight_bytes(p) == 2 * (2 * V * D + c.layer_params() + D));
  // The prefill writes the KV cache: K and V [1, 32, 512, 128], fp16.
  CHECK(numel(p.tensor("h0.k_new").shape) * 2 + numel(p.tensor("h0.v_new").shape) * 2 == 2 * H * S * hd * 2);

  // Decode step at KV length 512 (past 511 + the new token): projections
  // and MLP for one token, attention 2 H L d, LM head D V.
  LlmShape dec;
  dec.seq = 1;
  dec.past = 511;
  dec.layers = 1;
  const Workload d = build_llm(c, dec);
  const uint64_t L = 512;
  const uint64_t dec_macs = 4 * D * D + 3 * D * F + 2 * H * L * hd + D * V;
  CHECK(dec_macs == 67108864ull + 135266304ull + 4194304ull + 131072000ull);
  CHECK(d.macs() == dec_macs);
  CHECK(2 * d.macs() == 675282944ull);  // FLOPs of the step: 2 x 337,641,472
  CHECK(weight_bytes(d) == weight_bytes(p));      // the same weights in every step
  // KV bytes read by the step: the cache of 511 positions, K and V: 2 x 32 x
  // 511 x 128 x 2 bytes = 8,372,224; the step's cache grows to 512.
  const uint64_t past_bytes = (numel(d.tensor("h0.past_k").shape) + numel(d.tensor("h0.past_v").shape)) * 2;
  CHECK(past_bytes == 2 * H * 511 * hd * 2);
  CHECK(past_bytes == 8372224ull);
  CHECK(numel(d.tensor("h0.present_k").shape) * 2 == H * L * hd * 2);
}

TEST_CASE("config.json errors name the file, line and key") {
  const std::string base =
      R"("hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 96)";
  CHECK_THAT(error_of(write_temp("arch", "{\"model_type\": \"mamba\",\n" + base + "}")),
             Catch::Contains("model_type") && Catch::Contains("unknown architectures \"mamba\""));
  CHECK_THAT(error_of(write_temp("key", "{\"model_type\": \"llama\",\n" + base + ",\n\"sliding_window\": 4}")),
             Catch::Contains(":3:1: sliding_window: unknown key"));
  CHECK_THAT(error_of(write_temp("scaling", "{\"model_type\": \"llama\", " + base + ", \"rope_scaling\": {\"type\": \"linear\"}}")),
             Catch::Contains("rope_scaling: value {\"type\":\"linear\"} is not modelled"));
  CHECK_THAT(error_of(write_temp("gqa", "{\"model_type\": \"llama\", " + base + ", \"num_key_value_heads\": 3}")),
             Catch::Contains("num_key_value_heads: 4 attention heads are not a multiple of 3"));
  CHECK_THAT(error_of(write_temp("opt", R"({"model_type": "opt", "hidden_size": 64, "ffn_dim": 128, "num_hidden_layers": 2,
     "num_attention_heads": 4, "vocab_size": 96, "max_position_embeddings": 64, "do_layer_norm_before": false})")),
             Catch::Contains("do_layer_norm_before: value false is not modelled"));
  CHECK_THAT(error_of(write_temp("json", "{\"model_type\": \"llama\",\n \"hidden_size\": }")),
             Catch::Contains(":2:") && Catch::Contains("invalid JSON"));
  CHECK_THAT(error_of(write_temp("missing", R"({"model_type": "gpt2", "n_embd": 64})")),
             Catch::Contains("n_layer: missing required key"));
  // The full 7B model (13.5 GB of fp16 weights) builds: the 1 TiB build
  // limit is far above it; only runs that hold values stop at 4 GiB.
  const Workload full = load_hf_workload(bundled("llama-2-7b.json"), {});
  CHECK(full.tensor_bytes() > xpu::workload::kMaxValueTensorBytes);
  CHECK_THROWS_AS(xpu::workload::check_values_fit(full), xpu::config::ConfigError);
  // Asking for more than the build limit points at params.layers: 200
  // layers of 4 x 65536^2 + 3 x 65536 x 262144 = 2^36 fp16 weights (128
  // GiB) each: the tensors pass 1 TiB by the ninth layer.
  try {
    load_hf_workload(write_temp("huge", R"({"model_type": "llama", "hidden_size": 65536, "num_hidden_layers": 200,
      "num_attention_heads": 512, "intermediate_size": 262144, "vocab_size": 96})"), {});
    FAIL("the model should exceed the 1 TiB tensor limit");
  } catch (const xpu::config::ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("past 1 TiB") && Catch::Contains("params.layers=N"));
  }
}

TEST_CASE("OPT: learned positions offset by two, relu, tied head") {
  const std::string p = write_temp("opt_ok", R"({"model_type": "opt", "hidden_size": 64, "ffn_dim": 256,
    "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "max_position_embeddings": 32,
    "activation_function": "relu", "do_layer_norm_before": true, "word_embed_proj_dim": 64, "dropout": 0.1})");
  const LlmConfig c = read_hf_config(p);
  CHECK(c.act == OpKind::relu);
  // embed 100 x 64 + positions (32 + 2) x 64 + final LN 128 + 2 x (4 x 64^2 +
  // 4 x 64 + 2 x 64 x 256 + 256 + 64 + 2 x 128) = 6400 + 2176 + 128 + 2 x 49,984.
  CHECK(c.param_count() == 6400 + 2176 + 128 + 2 * 49984);
  const Workload w = build_llm(c, LlmShape{});
  CHECK(w.param_count() == c.param_count());
  CHECK(w.tensor("embed.pos_weight").shape == Shape{34, 64});
}
