#pragma once
// The `kind: workload` YAML format, phase 1: the file's syntax, read strictly
// (unknown keys, wrong types) into specs whose values stay unevaluated YAML
// nodes. Phase 2 (yaml_elaborate.h) evaluates them per block instance.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "sim/config/reader.h"
#include "sim/numerics/mac.h"

namespace xpu::workload::yaml {

// A raw value and where it is: evaluated later, errors reported at its mark.
struct Value {
  YAML::Node node;
  std::string key_path;
};

struct LayerSpec {
  std::string key_path;  // "layers[3]", "blocks.bottleneck.layers[2]"
  YAML::Mark mark;
  std::string name;      // "" = automatic (<op or block>_<index>)
  std::string op;        // one of op_names() plus the YAML-only forms; "" for a block call
  std::string block;     // block called, "" for an op
  std::vector<std::string> inputs;  // explicit operands; empty = the previous layer's output
  std::optional<Value> input_node;  // where `input` was written
  std::map<std::string, Value> attrs;
  std::optional<Value> cond;    // `if`
  std::optional<Value> repeat;  // `repeat`
  std::map<std::string, Value> args, first;  // block arguments; `first` overrides repetition 0
};

struct BlockSpec {
  std::string name;
  std::string key_path;
  YAML::Mark mark;
  std::vector<std::pair<std::string, std::optional<Value>>> params;  // nullopt = required
  std::vector<LayerSpec> layers;
};

struct InputSpec {
  std::string name;
  std::vector<Value> shape;
  DType dtype = DType::fp32;
  std::string key_path;
  YAML::Mark mark;
};

struct WorkloadSpec {
  std::string name;
  std::string file;
  DType dtype = DType::fp32;
  std::string sparsity, sparsity_at;  // "2:4" or "" (workload.h)
  std::vector<std::pair<std::string, Value>> params;  // in file order
  std::vector<InputSpec> inputs;
  std::map<std::string, BlockSpec> blocks;
  std::vector<LayerSpec> layers;
  std::vector<std::string> outputs;  // "" = every unconsumed layer output
  std::optional<Value> outputs_node;
};

// Reads the document; problems go to root's Diagnostics.
WorkloadSpec read_spec(config::Reader& root);

// Keys each op accepts besides name/op/input/if/repeat.
const std::vector<std::string>& op_keys(const std::string& op);

}  // namespace xpu::workload::yaml
