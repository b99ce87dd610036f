#include "sim/workload/yaml_spec.h"

#include "sim/workload/op_kind.h"
#include "sim/workload/op_table.h"

namespace xpu::workload::yaml {

namespace {

const std::vector<std::string> kDtypes = {"int8", "bf16", "fp16", "fp32", "int32"};

DType dtype_from(const std::string& s) {
  if (s == "int8") return DType::int8;
  if (s == "bf16") return DType::bf16;
  if (s == "fp16") return DType::fp16;
  if (s == "int32") return DType::int32;
  return DType::fp32;
}

std::vector<std::string> string_or_list(config::Reader& r, const std::string& key, std::optional<Value>& where) {
  std::vector<std::string> out;
  YAML::Node n = r.node(key);
  if (!n.IsDefined()) return out;
  where = Value{n, r.path().empty() ? key : r.path() + "." + key};
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence() && n.size() > 0) {
    for (size_t i = 0; i < n.size(); ++i) {
      if (!n[i].IsScalar()) {
        r.error(key, "expected a list of tensor or layer names");
        return {};
      }
      out.push_back(n[i].Scalar());
    }
  } else {
    r.error(key, "expected a tensor or layer name, or a non-empty list of them");
  }
  return out;
}

std::map<std::string, Value> free_map(config::Reader& parent, const std::string& key) {
  std::map<std::string, Value> out;
  if (!parent.has(key)) return out;
  config::Reader m = parent.map(key, false);
  for (const auto& k : m.keys()) out[k] = Value{m.node(k), m.path() + "." + k};
  return out;
}

LayerSpec read_layer(config::Reader& r, size_t index) {
  LayerSpec s;
  s.key_path = r.path();
  s.mark = r.node("name").IsDefined() ? r.node("name").Mark() : YAML::Mark::null_mark();
  s.name = r.string("name", "");
  if (!s.name.empty() && (s.name.find('.') != std::string::npos || s.name == "in"))
    r.error("name", "layer names may not contain '.' nor be 'in' (reserved for a block's input)");
  const bool has_op = r.has("op"), has_block = r.has("block");
  if (has_op == has_block) r.error("", "a layer needs exactly one of 'op' or 'block'");
  if (has_op) {
    const YAML::Node op_node = r.node("op");
    const bool known_op = op_node.IsScalar() && op_from_name(op_node.Scalar());
    s.op = r.choice("op", op_names());
    if (!known_op) r.keys();  // an unknown op's keys cannot be checked: report the op only
    if (s.mark.is_null()) s.mark = r.node("op").Mark();
    for (const auto& key : op_keys(s.op))
      if (r.has(key)) s.attrs[key] = Value{r.node(key), r.path() + "." + key};
  } else if (has_block) {
    s.block = r.string("block");
    if (s.mark.is_null()) s.mark = r.node("block").Mark();
    s.args = free_map(r, "args");
    s.first = free_map(r, "first");
  }
  s.inputs = string_or_list(r, "input", s.input_node);
  if (r.has("if")) s.cond = Value{r.node("if"), r.path() + ".if"};
  if (r.has("repeat")) s.repeat = Value{r.node("repeat"), r.path() + ".repeat"};
  if (!s.first.empty() && !s.repeat) r.error("first", "'first' needs 'repeat'");
  (void)index;
  r.finish();
  return s;
}

std::vector<LayerSpec> read_layers(config::Reader& parent) {
  std::vector<LayerSpec> out;
  auto list = parent.map_list("layers");
  if (list.empty() && parent.has("layers")) parent.error("layers", "expected at least one layer");
  for (size_t i = 0; i < list.size(); ++i) out.push_back(read_layer(list[i], i));
  return out;
}

}  // namespace

const std::vector<std::string>& op_keys(const std::string& op) {
  static const std::map<std::string, std::vector<std::string>> keys = [] {
    std::map<std::string, std::vector<std::string>> k = {
      {"gemm", {"out", "bias", "m", "n", "k"}},
      {"matmul", {"out", "bias"}},
      {"conv2d", {"out", "kernel", "stride", "pad", "dilation", "groups", "bias"}},
      {"max_pool", {"kernel", "stride", "pad", "dilation", "ceil_mode"}},
      {"avg_pool", {"kernel", "stride", "pad", "ceil_mode", "count_include_pad"}},
      {"gelu", {"approximation"}},
      {"add", {"scalar"}},
      {"mul", {"scalar"}},
      {"softmax", {"axis"}},
      {"layernorm", {"axis", "epsilon", "bias"}},
      {"batchnorm", {"epsilon"}},
      {"reshape", {"shape"}},
      {"flatten", {"axis"}},
      {"transpose", {"perm"}},
      {"concat", {"axis"}},
      {"rmsnorm", {"axis", "epsilon"}},
      {"gather", {"axis"}},
      {"argmax", {"axis"}},
    };
    for (const auto& row : activations())  // an activation's parameters (op_table.cpp)
      for (const auto& p : row.params) k[op_name(row.op)].push_back(p.key);
    return k;
  }();
  static const std::vector<std::string> none;
  auto it = keys.find(op);
  return it == keys.end() ? none : it->second;
}

WorkloadSpec read_spec(config::Reader& root) {
  WorkloadSpec w;
  w.file = root.document().file();
  root.choice("kind", {"workload"});
  w.name = root.string("name");
  root.string("description", "");
  w.dtype = dtype_from(root.choice("dtype", kDtypes, "fp32"));
  if (root.has("sparsity")) {
    const YAML::Mark m = root.node("sparsity").Mark();
    const std::string sp = root.choice("sparsity", {"none", "2:4"}, std::string("none"));
    w.sparsity = sp == "none" ? "" : sp;
    w.sparsity_at = w.file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  if (root.has("params")) {
    config::Reader p = root.map("params", false);
    for (const auto& k : p.keys()) w.params.emplace_back(k, Value{p.node(k), p.path() + "." + k});
  }
  for (auto& in : root.map_list("inputs", false)) {
    InputSpec s;
    s.key_path = in.path();
    s.name = in.string("name");
    s.mark = in.node("name").IsDefined() ? in.node("name").Mark() : YAML::Mark::null_mark();
    s.dtype = dtype_from(in.choice("dtype", kDtypes, std::string(dtype_name(w.dtype))));
    YAML::Node shape = in.node("shape");
    if (!shape.IsDefined()) {
      in.error("shape", "missing required key in '" + in.path() + "'");
    } else if (!shape.IsSequence()) {
      in.error("shape", "expected a list of dimensions");
    } else {
      for (size_t i = 0; i < shape.size(); ++i)
        s.shape.push_back(Value{shape[i], in.path() + ".shape[" + std::to_string(i) + "]"});
    }
    in.finish();
    w.inputs.push_back(std::move(s));
  }
  if (root.has("blocks")) {
    config::Reader blocks = root.map("blocks", false);
    for (const auto& name : blocks.keys()) {
      config::Reader b = blocks.map(name);
      BlockSpec spec;
      spec.name = name;
      spec.key_path = b.path();
      if (b.has("params")) {
        config::Reader p = b.map("params", false);
        for (const auto& k : p.keys()) {
          YAML::Node n = p.node(k);
          std::optional<Value> def;
          if (n.IsDefined() && !n.IsNull()) def = Value{n, p.path() + "." + k};
          spec.params.emplace_back(k, def);
        }
      }
      spec.layers = read_layers(b);
      b.finish();
      w.blocks[name] = std::move(spec);
    }
  }
  w.layers = read_layers(root);
  std::optional<Value> where;
  w.outputs = string_or_list(root, "outputs", where);
  w.outputs_node = where;
  root.finish();
  return w;
}

}  // namespace xpu::workload::yaml
