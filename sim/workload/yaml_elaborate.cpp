#include "sim/workload/yaml_elaborate.h"

#include <cmath>
#include <cstdlib>
#include <set>

#include "sim/common/errors.h"
#include "sim/workload/expr.h"
#include "sim/workload/graph_builder.h"
#include "sim/workload/op_table.h"

namespace xpu::workload::yaml {

namespace {

// Thrown after the first error is recorded: later layers would only repeat it.
struct Abort {};

struct Scope {
  std::map<std::string, int64_t> vars;        // block arguments (empty at the top level)
  std::map<std::string, std::string> names;   // local layer name -> tensor name
  std::string prefix;                         // "layer1.0." inside a block instance
  std::string input;                          // tensor bound to `in` ("" at the top level)
  std::string call_site;                      // " (in block 'x' called at ...)" for messages
  bool top = true;
};

class Elaborator {
 public:
  Elaborator(const WorkloadSpec& spec, const config::Document& doc, config::Diagnostics& diags, Workload& w)
      : spec_(spec), doc_(doc), diags_(diags), w_(w) {}

  void run() {
    w_.name = spec_.name;
    w_.source_file = spec_.file;
    w_.dtype = spec_.dtype;
    Scope top;
    for (const auto& [name, value] : spec_.params) {
      if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_'))
        fail(value, "parameter names must start with a letter");
      params_[name] = integer(value, top, "parameter");
      w_.params[name] = params_[name];
    }
    for (const auto& in : spec_.inputs) {
      Shape shape;
      for (const auto& d : in.shape) {
        const int64_t v = integer(d, top, "dimension");
        if (v < 1) fail(d, "dimensions must be >= 1, got " + std::to_string(v));
        shape.push_back(v);
      }
      try {
        w_.add_input(in.name, shape, in.dtype);
      } catch (const std::invalid_argument& e) {
        fail_at(in.mark, in.key_path, e.what());
      }
    }
    const std::string first = w_.inputs.size() == 1 ? w_.inputs[0] : "";
    layers(spec_.layers, top, first);
    outputs(top);
    for (const auto& [name, value] : spec_.params)
      if (!used_.count(name) && !doc_.override_for(value.key_path).empty()) {
        std::vector<std::string> others;
        for (const auto& p : spec_.params)
          if (p.first != name) others.push_back(p.first);
        const std::string hint = config::did_you_mean(name, others);
        fail(value, "parameter '" + name + "' is set on the command line but never used" +
                        (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)"));
      }
  }

 private:
  // ---------------------------------------------------------------- errors
  [[noreturn]] void fail_at(const YAML::Mark& m, const std::string& key_path, const std::string& message) {
    if (!doc_.override_for(key_path).empty()) {
      diags_.add(doc_.override_diagnostic(key_path, message));
    } else {
      diags_.add({spec_.file, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1, key_path, message});
    }
    throw Abort{};
  }
  [[noreturn]] void fail(const Value& v, const std::string& message) {
    fail_at(v.node.IsDefined() ? v.node.Mark() : YAML::Mark::null_mark(), v.key_path, message);
  }

  // ---------------------------------------------------------------- values
  std::optional<int64_t> lookup(const std::string& name, const Scope& s) {
    auto it = s.vars.find(name);
    if (it != s.vars.end()) return it->second;
    auto p = params_.find(name);
    if (p != params_.end()) {
      used_.insert(name);
      return p->second;
    }
    return std::nullopt;
  }

  int64_t integer(const Value& v, const Scope& s, const std::string& what) {
    if (!v.node.IsScalar()) fail(v, "expected an integer or an integer expression for " + what);
    std::string err;
    auto r = eval_expr(v.node.Scalar(), [&](const std::string& n) { return lookup(n, s); }, err);
    if (!r) {
      std::string hint;
      const auto pos = err.find("unknown name '");
      if (pos != std::string::npos) {
        const std::string name = err.substr(pos + 14, err.find('\'', pos + 14) - pos - 14);
        std::vector<std::string> known;
        for (const auto& kv : s.vars) known.push_back(kv.first);
        for (const auto& kv : params_) known.push_back(kv.first);
        const std::string dym = config::did_you_mean(name, known);
        if (!dym.empty()) hint = " (did you mean '" + dym + "'?)";
      }
      fail(v, err + hint);
    }
    return *r;
  }

  int64_t attr_int(const LayerSpec& l, const std::string& key, std::optional<int64_t> def, const Scope& s,
                   int64_t min = 1) {
    auto it = l.attrs.find(key);
    if (it == l.attrs.end()) {
      if (!def) fail_at(l.mark, l.key_path + "." + key, "missing required key '" + key + "' for op " + l.op);
      return *def;
    }
    const int64_t v = integer(it->second, s, key);
    if (v < min) fail(it->second, key + " must be >= " + std::to_string(min) + ", got " + std::to_string(v));
    return v;
  }

  // An int, or a list of `n` ints (n = 2: [h, w]).
  std::vector<int64_t> attr_ints(const LayerSpec& l, const std::string& key, const std::vector<size_t>& sizes,
                                 std::vector<int64_t> def, const Scope& s, int64_t min) {
    auto it = l.attrs.find(key);
    if (it == l.attrs.end()) return def;
    const Value& v = it->second;
    std::vector<int64_t> out;
    if (v.node.IsSequence()) {
      for (size_t i = 0; i < v.node.size(); ++i) {
        const int64_t x = integer(Value{v.node[i], v.key_path + "[" + std::to_string(i) + "]"}, s, key);
        if (x < min) fail(v, key + " values must be >= " + std::to_string(min));
        out.push_back(x);
      }
      bool ok = false;
      for (size_t n : sizes) ok = ok || out.size() == n;
      if (!ok) {
        std::string want;
        for (size_t n : sizes) want += (want.empty() ? "" : " or ") + std::to_string(n);
        fail(v, key + " must be one integer or a list of " + want);
      }
      return out;
    }
    const int64_t x = integer(v, s, key);
    if (x < min) fail(v, key + " must be >= " + std::to_string(min) + ", got " + std::to_string(x));
    return std::vector<int64_t>(sizes.front(), x);
  }

  std::vector<int64_t> attr_list(const LayerSpec& l, const std::string& key, const Scope& s) {
    auto it = l.attrs.find(key);
    if (it == l.attrs.end()) fail_at(l.mark, l.key_path + "." + key, "missing required key '" + key + "' for op " + l.op);
    const Value& v = it->second;
    if (!v.node.IsSequence()) fail(v, "expected a list of integers");
    std::vector<int64_t> out;
    for (size_t i = 0; i < v.node.size(); ++i)
      out.push_back(integer(Value{v.node[i], v.key_path + "[" + std::to_string(i) + "]"}, s, key));
    return out;
  }

  bool attr_bool(const LayerSpec& l, const std::string& key, bool def) {
    auto it = l.attrs.find(key);
    if (it == l.attrs.end()) return def;
    const Value& v = it->second;
    if (v.node.IsScalar()) {
      const std::string t = v.node.Scalar();
      if (t == "true" || t == "yes" || t == "on") return true;
      if (t == "false" || t == "no" || t == "off") return false;
    }
    fail(v, "expected true or false");
  }

  double attr_number(const LayerSpec& l, const std::string& key, std::optional<double> def) {
    auto it = l.attrs.find(key);
    if (it == l.attrs.end()) {
      if (!def) fail_at(l.mark, l.key_path + "." + key, "missing required key '" + key + "' for op " + l.op);
      return *def;
    }
    const Value& v = it->second;
    if (v.node.IsScalar()) {
      const std::string t = v.node.Scalar();
      char* end = nullptr;
      const double d = std::strtod(t.c_str(), &end);
      if (!t.empty() && *end == '\0' && std::isfinite(d)) return d;
    }
    fail(v, "expected a finite number");
  }

  void window(const LayerSpec& l, const Scope& s, Attrs& a, bool pool) {
    Window2d& w = a.window;
    const auto kernel = attr_ints(l, "kernel", {2}, {}, s, 1);
    if (kernel.empty()) fail_at(l.mark, l.key_path + ".kernel", "missing required key 'kernel' for op " + l.op);
    w.kernel_h = kernel[0];
    w.kernel_w = kernel[1];
    const auto stride = attr_ints(l, "stride", {2}, pool ? kernel : std::vector<int64_t>{1, 1}, s, 1);
    w.stride_h = stride[0];
    w.stride_w = stride[1];
    const auto dil = attr_ints(l, "dilation", {2}, {1, 1}, s, 1);
    w.dilation_h = dil[0];
    w.dilation_w = dil[1];
    auto it = l.attrs.find("pad");
    if (it != l.attrs.end() && it->second.node.IsScalar() &&
        (it->second.node.Scalar() == "same" || it->second.node.Scalar() == "valid")) {
      w.auto_pad = it->second.node.Scalar() == "same" ? AutoPad::same_upper : AutoPad::valid;
    } else {
      const auto pad = attr_ints(l, "pad", {1, 2, 4}, {0}, s, 0);
      if (pad.size() == 1) {
        w.pad_top = w.pad_left = w.pad_bottom = w.pad_right = pad[0];
      } else if (pad.size() == 2) {
        w.pad_top = w.pad_bottom = pad[0];
        w.pad_left = w.pad_right = pad[1];
      } else {
        w.pad_top = pad[0];
        w.pad_left = pad[1];
        w.pad_bottom = pad[2];
        w.pad_right = pad[3];
      }
    }
  }

  // ---------------------------------------------------------------- names
  std::string resolve(const std::string& name, const Scope& s, const LayerSpec& l) {
    if (name == "in" && !s.top) return s.input;
    auto it = s.names.find(name);
    if (it != s.names.end()) return it->second;
    if (s.top && w_.find_tensor(name)) return name;
    std::vector<std::string> known(s.top ? w_.inputs : std::vector<std::string>{"in"});
    for (const auto& kv : s.names) known.push_back(kv.first);
    std::string msg = "unknown tensor or layer '" + name + "'";
    const std::string dym = config::did_you_mean(name, known);
    if (!dym.empty()) msg += " (did you mean '" + dym + "'?)";
    if (!s.top) msg += " (a block sees its own layers and 'in')";
    fail(*l.input_node, msg + s.call_site);
  }

  // ---------------------------------------------------------------- layers
  std::string layers(const std::vector<LayerSpec>& specs, Scope& s, std::string prev) {
    for (size_t i = 0; i < specs.size(); ++i) {
      const LayerSpec& l = specs[i];
      const std::string base = l.name.empty() ? (l.op.empty() ? l.block : l.op) + "_" + std::to_string(i) : l.name;
      if (s.names.count(base))
        fail_at(l.mark, l.key_path + ".name", "duplicate layer name '" + base + "'" + s.call_site);
      std::vector<std::string> inputs;
      for (const auto& n : l.inputs) inputs.push_back(resolve(n, s, l));
      if (l.cond && integer(*l.cond, s, "if") == 0) {
        // An omitted layer is the identity: its name stands for its input.
        count_instance(l, s);
        s.names[base] = inputs.empty() ? prev : inputs.front();
        prev = s.names[base];
        continue;
      }
      int64_t count = 1;
      if (l.repeat) {
        count = integer(*l.repeat, s, "repeat");
        if (count < 1) fail(*l.repeat, "repeat must be >= 1, got " + std::to_string(count));
        if (count > kMaxRepeat)
          fail(*l.repeat, "repeat must be <= " + std::to_string(kMaxRepeat) + ", got " + std::to_string(count));
      }
      for (int64_t r = 0; r < count; ++r) {
        count_instance(l, s);
        const std::string inst = l.repeat ? base + "." + std::to_string(r) : base;
        std::vector<std::string> ins = r == 0 ? inputs : std::vector<std::string>{};
        const bool standalone = l.op == "gemm" && (l.attrs.count("m") || l.attrs.count("n") || l.attrs.count("k"));
        if (ins.empty() && !standalone) {
          if (prev.empty())
            fail_at(l.mark, l.key_path, "layer '" + s.prefix + inst + "' has no input: name one with 'input'" +
                                            (w_.inputs.empty() ? " and declare it under 'inputs'" : ""));
          ins = {prev};
        }
        prev = l.block.empty() ? op(l, s, s.prefix + inst, ins) : call(l, s, s.prefix + inst, ins, r == 0);
      }
      s.names[base] = prev;
    }
    return prev;
  }

  // Omitted layers (if: 0) add nothing to the graph but still cost time:
  // the instances visited are bounded, not only the layers built.
  void count_instance(const LayerSpec& l, const Scope& s) {
    if (++instances_ > kMaxInstances)
      fail_at(l.mark, l.key_path, "more than " + std::to_string(kMaxInstances) +
                                      " layer instances (repeats and block calls multiplied out), the limit" +
                                      s.call_site);
  }

  SourceLocation location(const LayerSpec& l, const Scope& s) {
    SourceLocation loc;
    loc.file = spec_.file;
    loc.line = l.mark.is_null() ? 0 : l.mark.line + 1;
    loc.column = l.mark.is_null() ? 0 : l.mark.column + 1;
    loc.key_path = l.key_path;
    (void)s;
    return loc;
  }

  std::string op(const LayerSpec& l, const Scope& s, const std::string& name, const std::vector<std::string>& in) {
    const SourceLocation loc = location(l, s);
    const OpKind kind = *op_from_name(l.op);
    auto arity = [&](size_t n) {
      if (in.size() != n)
        fail(l.input_node ? *l.input_node : Value{YAML::Node(), l.key_path + ".input"},
             "op " + l.op + " takes " + std::to_string(n) + " input(s), got " + std::to_string(in.size()) + s.call_site);
    };
    try {
      Attrs a;
      switch (kind) {
        case OpKind::gemm:
          if (l.attrs.count("m") || l.attrs.count("n") || l.attrs.count("k")) {
            if (l.attrs.count("out") || l.attrs.count("bias") || l.input_node)
              fail_at(l.mark, l.key_path, "a standalone gemm (m, n, k) takes no 'out', 'bias' nor 'input'");
            return build::standalone_gemm(w_, name, attr_int(l, "m", std::nullopt, s), attr_int(l, "n", std::nullopt, s),
                                          attr_int(l, "k", std::nullopt, s), loc);
          }
          [[fallthrough]];
        case OpKind::matmul:
          if (in.size() == 2 && kind == OpKind::matmul) {
            if (l.attrs.count("out") || l.attrs.count("bias"))
              fail_at(l.mark, l.key_path, "matmul of two tensors takes no 'out' nor 'bias'");
            return build::op(w_, name, kind, in, a, loc);
          }
          arity(1);
          return build::linear(w_, name, in[0], attr_int(l, "out", std::nullopt, s), attr_bool(l, "bias", true), kind,
                               loc);
        case OpKind::conv2d: {
          arity(1);
          window(l, s, a, false);
          a.groups = attr_int(l, "groups", 1, s);
          return build::conv2d(w_, name, in[0], attr_int(l, "out", std::nullopt, s), a.window.kernel_h,
                               a.window.kernel_w, a, attr_bool(l, "bias", true), loc);
        }
        case OpKind::max_pool:
        case OpKind::avg_pool:
          arity(1);
          window(l, s, a, true);
          a.window.ceil_mode = attr_bool(l, "ceil_mode", false);
          a.count_include_pad = attr_bool(l, "count_include_pad", false);
          return build::op(w_, name, kind, in, a, loc);
        XPU_ACTIVATION_CASES {  // parameters from op_table.cpp
          for (const auto& p : activation(kind).params)
            a.*p.field = float(attr_number(l, p.key, p.def ? std::optional<double>(*p.def) : std::nullopt));
          auto it = l.attrs.find("approximation");  // gelu
          if (it != l.attrs.end()) {
            const std::string v = it->second.node.IsScalar() ? it->second.node.Scalar() : "";
            if (v != "none" && v != "tanh") fail(it->second, "expected none (erf form) or tanh");
            a.gelu_tanh = v == "tanh";
          }
          arity(1);
          return build::op(w_, name, kind, in, a, loc);
        }
        case OpKind::add:
        case OpKind::mul:
          if (l.attrs.count("scalar")) {
            arity(1);
            return build::scalar_binary(w_, name, kind, in[0], float(attr_number(l, "scalar", std::nullopt)), loc);
          }
          arity(2);
          return build::op(w_, name, kind, in, a, loc);
        case OpKind::softmax:
          arity(1);
          a.axis = attr_int(l, "axis", -1, s, INT64_MIN);
          return build::op(w_, name, kind, in, a, loc);
        case OpKind::layernorm:
          arity(1);
          return build::layernorm(w_, name, in[0], attr_int(l, "axis", -1, s, INT64_MIN),
                                  float(attr_number(l, "epsilon", 1e-5)), attr_bool(l, "bias", true), loc);
        case OpKind::batchnorm:
          arity(1);
          return build::batchnorm(w_, name, in[0], float(attr_number(l, "epsilon", 1e-5)), loc);
        case OpKind::reshape:
          arity(1);
          a.target_shape = attr_list(l, "shape", s);
          return build::op(w_, name, kind, in, a, loc);
        case OpKind::flatten:
          arity(1);
          a.axis = attr_int(l, "axis", 1, s, INT64_MIN);
          return build::op(w_, name, kind, in, a, loc);
        case OpKind::transpose:
          arity(1);
          a.perm = attr_list(l, "perm", s);
          return build::op(w_, name, kind, in, a, loc);
        case OpKind::concat:
          if (in.empty()) arity(2);
          a.axis = attr_int(l, "axis", std::nullopt, s, INT64_MIN);
          return build::op(w_, name, kind, in, a, loc);
        case OpKind::global_avg_pool:
          arity(1);
          return build::op(w_, name, kind, in, a, loc);
        case OpKind::rmsnorm:
          arity(1);
          return build::rmsnorm(w_, name, in[0], attr_int(l, "axis", -1, s, INT64_MIN),
                                float(attr_number(l, "epsilon", 1e-6)), loc);
        case OpKind::rope:  // x, cos, sin
          arity(3);
          return build::op(w_, name, kind, in, a, loc);
        case OpKind::gather:  // data, indices
          arity(2);
          a.axis = attr_int(l, "axis", 0, s, INT64_MIN);
          return build::op(w_, name, kind, in, a, loc);
        case OpKind::argmax:
          arity(1);
          a.axis = attr_int(l, "axis", -1, s, INT64_MIN);
          return build::op(w_, name, kind, in, a, loc);
      }
      throw InternalError("op " + l.op + " has no YAML elaboration");
    } catch (const config::ConfigError& e) {
      for (auto d : e.diagnostics()) {
        d.message += s.call_site;
        diags_.add(d);
      }
      throw Abort{};
    }
  }

  std::string call(const LayerSpec& l, const Scope& caller, const std::string& name,
                   const std::vector<std::string>& in, bool first_rep) {
    auto it = spec_.blocks.find(l.block);
    if (it == spec_.blocks.end()) {
      std::vector<std::string> known;
      for (const auto& kv : spec_.blocks) known.push_back(kv.first);
      std::string msg = "unknown block '" + l.block + "'";
      const std::string dym = config::did_you_mean(l.block, known);
      if (!dym.empty()) msg += " (did you mean '" + dym + "'?)";
      fail_at(l.mark, l.key_path + ".block", msg);
    }
    const BlockSpec& b = it->second;
    for (const auto& active : stack_)
      if (active == b.name) fail_at(l.mark, l.key_path + ".block", "block '" + b.name + "' calls itself");
    if (stack_.size() >= size_t(kMaxBlockDepth))
      fail_at(l.mark, l.key_path + ".block",
              "blocks nested more than " + std::to_string(kMaxBlockDepth) + " deep, the limit");
    if (in.size() != 1)
      fail(*l.input_node, "a block takes one input ('in'), got " + std::to_string(in.size()));
    Scope inner;
    inner.top = false;
    inner.prefix = name + ".";
    inner.input = in[0];
    inner.call_site = " (in block '" + b.name + "' as '" + name + "', called at " + l.key_path + ", line " +
                      std::to_string(l.mark.line + 1) + ")" + caller.call_site;
    std::vector<std::string> param_names;
    for (const auto& [p, def] : b.params) param_names.push_back(p);
    auto check_keys = [&](const std::map<std::string, Value>& m) {
      for (const auto& [k, v] : m) {
        bool known = false;
        for (const auto& p : param_names) known = known || p == k;
        if (!known) {
          std::string msg = "block '" + b.name + "' has no parameter '" + k + "'";
          const std::string dym = config::did_you_mean(k, param_names);
          if (!dym.empty()) msg += " (did you mean '" + dym + "'?)";
          fail(v, msg);
        }
      }
    };
    check_keys(l.args);
    check_keys(l.first);
    for (const auto& [p, def] : b.params) {
      const Value* v = nullptr;
      if (first_rep && l.first.count(p)) v = &l.first.at(p);
      else if (l.args.count(p)) v = &l.args.at(p);
      if (v) {
        inner.vars[p] = integer(*v, caller, "argument " + p);
      } else if (def) {
        inner.vars[p] = integer(*def, inner, "default of " + p);  // defaults may use earlier parameters
      } else {
        fail_at(l.mark, l.key_path + ".args", "block '" + b.name + "' needs argument '" + p + "'");
      }
    }
    stack_.push_back(b.name);
    const std::string out = layers(b.layers, inner, inner.input);
    stack_.pop_back();
    return out;
  }

  void outputs(const Scope& top) {
    if (!spec_.outputs.empty()) {
      LayerSpec where;
      where.input_node = spec_.outputs_node;
      for (const auto& o : spec_.outputs) w_.outputs.push_back(resolve(o, top, where));
      return;
    }
    std::set<std::string> consumed;
    for (const auto& l : w_.layers)
      for (const auto& i : l.inputs) consumed.insert(i);
    for (const auto& l : w_.layers)
      for (const auto& o : l.outputs)
        if (!o.empty() && !consumed.count(o)) w_.outputs.push_back(o);
  }

  const WorkloadSpec& spec_;
  const config::Document& doc_;
  config::Diagnostics& diags_;
  Workload& w_;
  std::map<std::string, int64_t> params_;
  std::set<std::string> used_;
  std::vector<std::string> stack_;
  int64_t instances_ = 0;
};

}  // namespace

bool elaborate(const WorkloadSpec& spec, const config::Document& doc, config::Diagnostics& diags, Workload& out) {
  try {
    Elaborator(spec, doc, diags, out).run();
    return true;
  } catch (const Abort&) {
    return false;
  }
}

}  // namespace xpu::workload::yaml
