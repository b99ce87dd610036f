#include "sim/workload/llm/llm_graph.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>

#include "sim/config/diagnostics.h"
#include "sim/config/overrides.h"
#include "sim/workload/graph_builder.h"

namespace xpu::workload::llm {

namespace {

using Values = std::vector<float>;

class Builder {
 public:
  Builder(const LlmConfig& c, const LlmShape& s, Workload& w)
      : c_(c), s_(s), w_(w), B(s.batch), S(s.seq), P(s.past), L(s.past + s.seq), D(c.hidden), H(c.heads / s.tp),
        KV(c.kv_heads >= s.tp ? c.kv_heads / s.tp : 1), hd(c.head_dim()), G(H / KV), F(c.ffn / s.tp),
        V((c.vocab + s.tp - 1) / s.tp) {
    loc_.file = c.file;
    loc_.key_path = "model";
  }

  void build() {
    std::string x = embed();
    const int64_t layers = s_.layers > 0 ? s_.layers : c_.layers;
    for (int64_t i = 0; i < layers; ++i) x = layer(i, x);
    if (s_.lm_head) x = head(x);
    w_.outputs.insert(w_.outputs.begin(), x);
  }

 private:
  std::string op(const std::string& name, OpKind k, const std::vector<std::string>& in, const Attrs& a = {}) {
    return build::op(w_, name, k, in, a, loc_);
  }
  std::string reshape(const std::string& name, const std::string& x, const Shape& shape) {
    Attrs a;
    a.target_shape = shape;
    return op(name, OpKind::reshape, {x}, a);
  }
  std::string transpose(const std::string& name, const std::string& x, const std::vector<int64_t>& perm) {
    Attrs a;
    a.perm = perm;
    return op(name, OpKind::transpose, {x}, a);
  }
  std::string axis_op(const std::string& name, OpKind k, const std::vector<std::string>& in, int64_t axis) {
    Attrs a;
    a.axis = axis;
    return op(name, k, in, a);
  }
  std::string linear(const std::string& name, const std::string& x, int64_t out, bool bias) {
    return build::linear(w_, name, x, out, bias, OpKind::matmul, loc_);
  }
  std::string norm(const std::string& name, const std::string& x) {
    return c_.rms_norm ? build::rmsnorm(w_, name, x, -1, c_.norm_eps, loc_)
                       : build::layernorm(w_, name, x, -1, c_.norm_eps, true, loc_);
  }
  void constant(const std::string& name, const Shape& shape, DType dt, TensorRole role, Values v = {}) {
    try {
      w_.add_constant(name, shape, dt, role, v.empty() ? nullptr : std::make_shared<const Values>(std::move(v)));
    } catch (const std::invalid_argument& e) {
      throw config::ConfigError(config::Diagnostic{c_.file, 0, 0, name, e.what()});
    }
  }
  void input(const std::string& name, const Shape& shape) {
    try {
      w_.add_input(name, shape, c_.dtype);
    } catch (const std::invalid_argument& e) {
      throw config::ConfigError(config::Diagnostic{c_.file, 0, 0, name, e.what()});
    }
  }

  std::string embed() {
    Values ids;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < S; ++t) ids.push_back(float(((P + t) * 7919 + 13 + b * 104729) % c_.vocab));
    constant("embed.ids", {B, S}, DType::fp32, TensorRole::buffer, std::move(ids));
    constant("embed.weight", {c_.vocab, D}, c_.dtype, TensorRole::weight);
    std::string x = axis_op("embed", OpKind::gather, {"embed.weight", "embed.ids"}, 0);
    if (!c_.rotary) {
      Values pos;
      for (int64_t t = 0; t < S; ++t) pos.push_back(float(P + t + c_.position_offset));
      constant("embed.positions", {S}, DType::fp32, TensorRole::buffer, std::move(pos));
      constant("embed.pos_weight", {c_.max_positions + c_.position_offset, D}, c_.dtype, TensorRole::weight);
      const std::string p = axis_op("embed.pos", OpKind::gather, {"embed.pos_weight", "embed.positions"}, 0);
      x = op("embed.sum", OpKind::add, {x, p});
    } else {
      // cos/sin of positions P.. as Hugging Face computes them in fp32:
      // inv_freq_j = 1 / theta^(2j/d), angle = position x inv_freq_j.
      Values cs, sn;
      for (int64_t t = 0; t < S; ++t)
        for (int64_t j = 0; j < hd / 2; ++j) {
          const float inv = 1.0f / std::pow(float(c_.rope_theta), float(2 * j) / float(hd));
          const float ang = float(P + t) * inv;
          cs.push_back(std::cos(ang));
          sn.push_back(std::sin(ang));
        }
      constant("rope.cos", {S, hd / 2}, c_.dtype, TensorRole::buffer, std::move(cs));
      constant("rope.sin", {S, hd / 2}, c_.dtype, TensorRole::buffer, std::move(sn));
    }
    if (S > 1) {
      // Causal mask over the regrouped scores [group x S, past + S]: row
      // g S + s (query position P + s) sees cache positions <= P + s.
      Values m;
      for (int64_t g = 0; g < G; ++g)
        for (int64_t q = 0; q < S; ++q)
          for (int64_t k = 0; k < L; ++k) m.push_back(k <= P + q ? 0.0f : -std::numeric_limits<float>::infinity());
      constant("attn.mask", {G * S, L}, c_.dtype, TensorRole::buffer, std::move(m));
    }
    return x;
  }

  // One decoder layer (see llm_graph.h).
  std::string layer(int64_t i, const std::string& x) {
    const std::string p = "h" + std::to_string(i) + ".";
    const std::string n1 = norm(p + "norm_1", x);
    std::string q = reshape(p + "q_heads", linear(p + "q", n1, H * hd, c_.attn_bias), {B, S, H, hd});
    std::string k = reshape(p + "k_heads", linear(p + "k", n1, KV * hd, c_.attn_bias), {B, S, KV, hd});
    const std::string v = reshape(p + "v_heads", linear(p + "v", n1, KV * hd, c_.attn_bias), {B, S, KV, hd});
    if (c_.rotary) {
      q = op(p + "q_rope", OpKind::rope, {q, "rope.cos", "rope.sin"});
      k = op(p + "k_rope", OpKind::rope, {k, "rope.cos", "rope.sin"});
    }
    q = transpose(p + "q_t", q, {0, 2, 1, 3});  // [B, H, S, d]
    if (G > 1) q = reshape(p + "q_group", q, {B, KV, G * S, hd});
    std::string kc = transpose(p + "k_new", k, {0, 2, 1, 3});  // [B, KV, S, d]: the cache's layout
    std::string vc = transpose(p + "v_new", v, {0, 2, 1, 3});
    std::string a;
    if (P == 0) {
      // Prefill: the scores from K^T of the new positions, q K^T.
      a = op(p + "scores", OpKind::matmul, {q, transpose(p + "k_t", k, {0, 2, 3, 1})});  // [B, KV, G S, L]
    } else {
      // Decode: append to the cache along the positions (contiguous blocks
      // of d), then (K q^T)^T: the same dot products without a transposed
      // copy of the cache; only the small q and score tiles are transposed.
      input(p + "past_k", {B, KV, P, hd});
      input(p + "past_v", {B, KV, P, hd});
      Attrs app;
      app.axis = 2;
      app.in_place = true;  // the cache buffer holds the past: only the new positions are written
      kc = op(p + "present_k", OpKind::concat, {p + "past_k", kc}, app);
      vc = op(p + "present_v", OpKind::concat, {p + "past_v", vc}, app);
      const std::string qt = transpose(p + "q_cols", q, {0, 1, 3, 2});             // [B, KV, d, G S]
      a = transpose(p + "scores", op(p + "scores_t", OpKind::matmul, {kc, qt}), {0, 1, 3, 2});  // [B, KV, G S, L]
    }
    w_.outputs.push_back(kc);
    w_.outputs.push_back(vc);
    a = build::scalar_binary(w_, p + "scale", OpKind::mul, a, 1.0f / std::sqrt(float(hd)), loc_);
    if (S > 1) a = op(p + "mask", OpKind::add, {a, "attn.mask"});
    a = axis_op(p + "probs", OpKind::softmax, {a}, -1);
    a = op(p + "context", OpKind::matmul, {a, vc});  // [B, KV, G S, d]
    if (G > 1) a = reshape(p + "context_heads", a, {B, H, S, hd});
    a = transpose(p + "context_t", a, {0, 2, 1, 3});
    a = reshape(p + "merge", a, {B, S, H * hd});
    a = linear(p + "o", a, D, c_.attn_bias);
    const std::string x1 = op(p + "attn_residual", OpKind::add, {a, x});
    const std::string n2 = norm(p + "norm_2", x1);
    Attrs act;
    act.gelu_tanh = c_.gelu_tanh;
    std::string m;
    if (c_.gated) {
      const std::string g = op(p + "act", c_.act, {linear(p + "gate", n2, F, c_.mlp_bias)}, act);
      m = op(p + "gated", OpKind::mul, {g, linear(p + "up", n2, F, c_.mlp_bias)});
      m = linear(p + "down", m, D, c_.mlp_bias);
    } else {
      m = op(p + "act", c_.act, {linear(p + "fc", n2, F, c_.mlp_bias)}, act);
      m = linear(p + "proj", m, D, c_.mlp_bias);
    }
    return op(p + "out", OpKind::add, {m, x1});
  }

  std::string head(const std::string& x) {
    constant("final.last_index", {1}, DType::fp32, TensorRole::buffer, {float(S - 1)});
    std::string h = axis_op("final.last", OpKind::gather, {x, "final.last_index"}, 1);  // [B, 1, D]
    h = reshape("final.rows", norm("final.norm", h), {B, D});
    std::string wname = "embed.weight";
    if (!c_.tie_embeddings || s_.tp > 1) {  // a tied table's shard is a tensor of its own
      wname = "lm_head.weight";
      constant(wname, {V, D}, c_.dtype, TensorRole::weight);
    }
    Attrs a;
    a.trans_b = true;  // [V, D] as stored
    h = op("lm_head", OpKind::gemm, {h, wname}, a);
    return axis_op("lm_head.argmax", OpKind::argmax, {h}, -1);
  }

  const LlmConfig& c_;
  const LlmShape& s_;
  Workload& w_;
  SourceLocation loc_;
  const int64_t B, S, P, L, D, H, KV, hd, G, F, V;  // H, KV, F, V: this device's shard
};

std::string stem(const std::string& path) {
  std::string s = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  if (s.size() > 5 && s.compare(s.size() - 5, 5, ".json") == 0) s.resize(s.size() - 5);
  if (s == "config") {  // a model directory's config.json: name it after the directory
    const std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
    if (!dir.empty()) return stem(dir);
  }
  return s;
}

}  // namespace

Workload build_llm(const LlmConfig& c, const LlmShape& s) {
  Workload w;
  w.name = stem(c.file);
  w.source_file = c.file;
  w.dtype = c.dtype;
  w.params = {{"batch", s.batch}, {"seq", s.seq}, {"past", s.past}, {"layers", s.layers > 0 ? s.layers : c.layers}, {"tp", s.tp},
              {"attention", s.attention >= 0 ? s.attention : int64_t(s.seq == 1 && s.past > 0)}, {"gemv", s.gemv},
              {"weight_bits", s.weight_bits}};
  const int64_t layers = s.layers > 0 ? s.layers : c.layers;
  auto bad = [&](const std::string& key, const std::string& msg) {
    throw config::ConfigError(config::Diagnostic{c.file, 0, 0, "params." + key, msg});
  };
  if (s.batch < 1 || s.seq < 1 || s.past < 0) bad("seq", "batch and seq must be >= 1 and past >= 0");
  if (s.tp < 1 || c.heads % s.tp != 0 || c.ffn % s.tp != 0 ||
      (c.kv_heads % s.tp != 0 && s.tp % c.kv_heads != 0))
    bad("tp", std::to_string(s.tp) + " devices do not divide the " + std::to_string(c.heads) + " heads, " +
                  std::to_string(c.kv_heads) + " KV heads and MLP width " + std::to_string(c.ffn));
  if (s.weight_bits != 16 && s.weight_bits != 8) bad("weight_bits", "16 (the run's precision) or 8 (weight-only int8)");
  if (layers > c.layers) bad("layers", std::to_string(layers) + " layers asked, the model has " + std::to_string(c.layers));
  if (!c.rotary && s.past + s.seq > c.max_positions)
    bad("seq", "past + seq = " + std::to_string(s.past + s.seq) + " exceeds the " + std::to_string(c.max_positions) +
                   " learned positions");
  try {
    Builder(c, s, w).build();
    if (s.weight_bits == 8)
      for (auto& t : w.tensors)
        if (t.role == TensorRole::weight && t.shape.size() == 2 && is_decoder_layer_row(t.name)) t.dtype = DType::int8;
  } catch (const config::ConfigError& e) {
    auto d = e.diagnostics();
    for (auto& x : d)
      if (x.message.find("bytes") != std::string::npos || x.message.find("limit") != std::string::npos)
        x.message += " (simulate fewer decoder layers: -p workload.params.layers=N, scaled in the report)";
    throw config::ConfigError(d);
  }
  return w;
}

bool is_decoder_layer_row(const std::string& name) {
  if (name.size() < 3 || name[0] != 'h' || !std::isdigit(static_cast<unsigned char>(name[1]))) return false;
  size_t i = 1;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
  return i < name.size() && name[i] == '.';
}

Workload load_hf_workload(const std::string& path, const std::vector<std::string>& overrides) {
  const LlmConfig c = read_hf_config(path);
  LlmShape s;
  for (const auto& written : overrides) {
    const std::string where = "command line (-p " + written + ")";
    std::string o = config::strip_role(written);
    if (o.rfind("params.", 0) == 0) o = o.substr(7);
    const auto eq = o.find('=');
    const std::string key = o.substr(0, eq);
    int64_t* field = key == "batch" ? &s.batch : key == "seq" ? &s.seq : key == "past" ? &s.past
                     : key == "layers" ? &s.layers : key == "attention" ? &s.attention : key == "gemv" ? &s.gemv
                     : key == "weight_bits" ? &s.weight_bits : nullptr;
    if (!field)
      throw config::ConfigError(config::Diagnostic{
          where, 0, 0, key, "a config.json workload takes -p workload.params.{batch, seq, past, layers, attention, gemv, weight_bits}=N"});
    const std::string v = eq == std::string::npos ? "" : o.substr(eq + 1);
    char* end = nullptr;
    const long long n = std::strtoll(v.c_str(), &end, 10);
    const long long lo = key == "past" || key == "attention" || key == "gemv" ? 0 : key == "weight_bits" ? 8 : 1,
                    hi = key == "attention" || key == "gemv" ? 1 : key == "weight_bits" ? 16 : 1 << 24;
    if (v.empty() || *end != '\0' || n < lo || n > hi)
      throw config::ConfigError(config::Diagnostic{
          where, 0, 0, key, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]"});
    *field = n;
  }
  return build_llm(c, s);
}

}  // namespace xpu::workload::llm
