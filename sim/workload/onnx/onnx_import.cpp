#include "sim/workload/onnx/onnx_import.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "sim/workload/onnx/onnx_gelu_fusion.h"
#include "sim/workload/onnx/onnx_node_attributes.h"
#include "sim/workload/onnx/onnx_tensor_proto.h"
#include "sim/workload/op_table.h"

namespace xpu::workload {

namespace {

using TP = onnx::TensorProto;
using onnx_import::Attributes;
using onnx_import::NodeError;

std::optional<DType> dtype_of(int onnx_type) {
  switch (onnx_type) {
    case TP::FLOAT: return DType::fp32;
    case TP::FLOAT16: return DType::fp16;
    case TP::BFLOAT16: return DType::bf16;
    case TP::INT8: return DType::int8;
    case TP::INT32: return DType::int32;
    default: return std::nullopt;
  }
}

class Importer {
 public:
  Importer(const onnx::ModelProto& model, const std::string& file, const OnnxImportOptions& opts)
      : model_(model), file_(file), opts_(opts) {}

  Workload run() {
    const auto& g = model_.graph();
    w_.name = g.name().empty() ? file_ : g.name();
    w_.source_file = file_;
    for (const auto& op : model_.opset_import())
      if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
    for (const auto& init : g.initializer()) {
      try {
        initializers_[init.name()] = from_proto(init);
      } catch (const std::runtime_error& e) {
        fail_file("initializer '" + init.name() + "': " + e.what());
      }
    }
    for (const auto& n : g.node())
      if (n.op_type() == "BatchNormalization")
        for (int i = 3; i < n.input_size() && i < 5; ++i) buffers_.insert(n.input(i));
    for (const auto& in : g.input())
      if (!initializers_.count(in.name())) add_graph_input(in);
    nodes_.assign(g.node().begin(), g.node().end());
    // A copy in: scalar_constant reads the Constant nodes in nodes_.
    nodes_ = onnx_import::fuse_erf_gelu_chains(nodes_, g, [this](const std::string& n) { return scalar_constant(n); });
    check_operators();
    for (size_t i = 0; i < nodes_.size(); ++i) node(nodes_[i], int(i));
    for (const auto& out : g.output()) {
      if (!w_.find_tensor(out.name())) fail_file("graph output '" + out.name() + "' is not produced by any node");
      w_.outputs.push_back(out.name());
    }
    return std::move(w_);
  }

 private:
  [[noreturn]] void fail_file(const std::string& msg) const {
    throw config::ConfigError(config::Diagnostic{file_, 0, 0, "", msg});
  }

  // ONNX Runtime's RMSNorm (com.microsoft SimplifiedLayerNormalization, as
  // its transformer optimizer and LLM exporters write it; standard ONNX has
  // RMSNormalization only from opset 23).
  static bool microsoft_rmsnorm(const onnx::NodeProto& n) {
    return n.domain() == "com.microsoft" && n.op_type() == "SimplifiedLayerNormalization";
  }

  static std::string layer_name(const onnx::NodeProto& n, int index) {
    return n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
  }

  // Every node whose operator the importer does not know, in one error: an
  // exported model often has several, and one at a time would hide the rest.
  void check_operators() const {
    static const std::set<std::string> known = {
        "Conv", "Gemm", "MatMul", "Gelu", "Add", "Mul", "MaxPool", "AveragePool", "GlobalAveragePool",
        "Flatten", "Reshape", "Transpose", "Softmax", "BatchNormalization", "LayerNormalization", "Concat",
        "Clip", "Constant", "Identity", "Dropout", "Gather", "ArgMax"};
    std::vector<config::Diagnostic> diags;
    std::map<std::string, int> count;
    std::set<std::string> constants;  // initializers and Constant nodes' outputs
    for (const auto& [name, d] : initializers_) constants.insert(name);
    for (const auto& [name, d] : opts_.known_inputs) constants.insert(name);
    for (const auto& n : nodes_)
      if (n.op_type() == "Constant" && n.output_size() > 0) constants.insert(n.output(0));
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const auto& n = nodes_[i];
      const bool domain_ok = n.domain().empty() || n.domain() == "ai.onnx";
      // A Gather over indices computed at run time (shape arithmetic) is
      // not an embedding lookup the IR can hold.
      const bool runtime_gather = n.op_type() == "Gather" && n.input_size() > 1 && !constants.count(n.input(1));
      if (domain_ok && !runtime_gather && (known.count(n.op_type()) || activation_by_onnx(n.op_type()))) continue;
      if (microsoft_rmsnorm(n)) continue;
      const std::string what = runtime_gather ? "unsupported ONNX operator 'Gather' over run-time indices (only constant indices: an embedding lookup)"
                               : domain_ok ? "unsupported ONNX operator '" + n.op_type() + "'"
                                           : "operator domain '" + n.domain() + "' is not supported";
      diags.push_back(config::Diagnostic{file_, 0, 0, "node '" + layer_name(n, int(i)) + "' (" + n.op_type() + ")", what});
      ++count[n.op_type()];
    }
    if (diags.empty()) return;
    std::string summary;
    for (const auto& [op, c] : count) summary += (summary.empty() ? "" : ", ") + op + " x" + std::to_string(c);
    diags.push_back(config::Diagnostic{file_, 0, 0, "", std::to_string(diags.size()) +
                                                           " node(s) use operators xpusim cannot import: " + summary});
    throw config::ConfigError(diags);
  }

  // The value of a scalar constant (an initializer or a Constant node's),
  // before the node loop has seen the Constant nodes.
  std::optional<float> scalar_constant(const std::string& name) const {
    if (const auto it = initializers_.find(name); it != initializers_.end())
      return it->second.floats.size() == 1 ? std::optional<float>(it->second.floats[0]) : std::nullopt;
    for (const auto& n : nodes_)
      if (n.op_type() == "Constant" && n.output_size() == 1 && n.output(0) == name && n.attribute_size() == 1 &&
          n.attribute(0).name() == "value") {
        try {
          const TensorData d = from_proto(n.attribute(0).t());
          return d.floats.size() == 1 ? std::optional<float>(d.floats[0]) : std::nullopt;
        } catch (const std::runtime_error&) {
          return std::nullopt;
        }
      }
    return std::nullopt;
  }

  // Constant: its value becomes an initializer (Clip bounds, Reshape shapes
  // and weights in exports that use Constant nodes for them).
  void constant(const onnx::NodeProto& n) {
    if (n.output_size() != 1 || n.attribute_size() != 1)
      throw NodeError("Constant needs one output and exactly one value attribute");
    const auto& a = n.attribute(0);
    TensorData d;
    if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR) {
      try {
        d = from_proto(a.t());
      } catch (const std::runtime_error& e) {
        throw NodeError(e.what());
      }
    } else if (a.name() == "value_float" || a.name() == "value_floats") {
      d.onnx_type = TP::FLOAT;
      if (a.name() == "value_float") d.floats = {a.f()};
      else d.floats.assign(a.floats().begin(), a.floats().end()), d.shape = {int64_t(d.floats.size())};
    } else if (a.name() == "value_int" || a.name() == "value_ints") {
      d.onnx_type = TP::INT64;
      if (a.name() == "value_int") d.ints = {a.i()};
      else d.ints.assign(a.ints().begin(), a.ints().end()), d.shape = {int64_t(d.ints.size())};
      for (auto v : d.ints) d.floats.push_back(float(v));
    } else {
      throw NodeError("unsupported Constant attribute '" + a.name() + "'");
    }
    d.name = n.output(0);
    initializers_[n.output(0)] = std::move(d);
  }

  // Identity and inference-mode Dropout: a constant input is the same
  // initializer under a second name; an activation is copied (a reshape to
  // its own shape).
  bool alias_constant(const onnx::NodeProto& n) {
    if (n.op_type() == "Dropout") {
      if (n.input_size() > 2 && !n.input(2).empty()) {
        const TensorData* t = constant_value(n.input(2));
        if (!t || (!t->floats.empty() && t->floats[0] != 0.0f))
          throw NodeError("Dropout in training mode is not supported (inference only)");
      }
      if (n.output_size() > 1 && !n.output(1).empty()) throw NodeError("Dropout's mask output is not supported");
    }
    auto it = initializers_.find(n.input(0));
    if (it == initializers_.end()) return false;
    TensorData d = it->second;
    d.name = n.output(0);
    initializers_[n.output(0)] = std::move(d);
    return true;
  }

  void add_graph_input(const onnx::ValueInfoProto& in) {
    const auto& tt = in.type().tensor_type();
    if (!in.type().has_tensor_type()) fail_file("graph input '" + in.name() + "' is not a tensor");
    const auto dt = dtype_of(tt.elem_type());
    // A known input of a type the IR does not model (Reshape's int64 shape)
    // can only be folded into attributes: it does not become a tensor.
    if (!dt && opts_.known_inputs.count(in.name())) return;
    if (!dt)
      fail_file("graph input '" + in.name() + "' has element type " + TensorData::type_name(tt.elem_type()) +
                ", which the IR does not model (float, float16, bfloat16, int8, int32)");
    Shape shape;
    if (!tt.has_shape()) fail_file("graph input '" + in.name() + "' has no shape");
    for (int d = 0; d < tt.shape().dim_size(); ++d) {
      const auto& dim = tt.shape().dim(d);
      if (dim.has_dim_value() && dim.dim_value() > 0) {
        shape.push_back(dim.dim_value());
      } else if (dim.has_dim_param() && opts_.dims.count(dim.dim_param())) {
        shape.push_back(opts_.dims.at(dim.dim_param()));
      } else if (d == 0) {
        shape.push_back(opts_.batch);
      } else {
        fail_file("graph input '" + in.name() + "' dimension " + std::to_string(d) + " is unknown" +
                  (dim.has_dim_param() ? " ('" + dim.dim_param() + "'): give its value in OnnxImportOptions::dims" : ""));
      }
    }
    try {
      w_.add_input(in.name(), shape, *dt);
    } catch (const std::invalid_argument& e) {
      fail_file(e.what());
    }
  }

  // Makes an initializer a tensor of the graph the first time a layer uses it.
  void ensure_constant(const std::string& name) {
    if (name.empty() || w_.find_tensor(name)) return;
    auto it = initializers_.find(name);
    if (it == initializers_.end()) throw NodeError("input '" + name + "' is neither a graph input, an initializer nor an earlier node's output");
    const TensorData& d = it->second;
    const auto dt = dtype_of(d.onnx_type);
    if (!dt) throw NodeError("initializer '" + name + "' has element type " + TensorData::type_name(d.onnx_type) + ", which the IR does not model");
    try {
      w_.add_constant(name, d.shape, *dt, buffers_.count(name) ? TensorRole::buffer : TensorRole::weight,
                      std::make_shared<const std::vector<float>>(d.floats));
    } catch (const std::invalid_argument& e) {
      throw NodeError(e.what());
    }
  }

  // Gather's indices: an int32/int64 initializer becomes an fp32 buffer of
  // the same values (the IR's tensors are float; ids below 2^24 are exact).
  void constant_indices(const std::string& name) {
    if (w_.find_tensor(name)) {
      if (!w_.tensor(name).values) throw NodeError("the indices '" + name + "' must be a constant (initializer)");
      return;
    }
    const TensorData* d = constant_value(name);
    if (!d) throw NodeError("the indices '" + name + "' must be a constant (initializer)");
    if (d->onnx_type != TP::INT64 && d->onnx_type != TP::INT32) throw NodeError("the indices must be int32 or int64");
    for (int64_t v : d->ints)
      if (v >= (int64_t(1) << 24) || v < -(int64_t(1) << 24)) throw NodeError("index " + std::to_string(v) + " exceeds 2^24");
    try {
      w_.add_constant(name, d->shape, DType::fp32, TensorRole::buffer, std::make_shared<const std::vector<float>>(d->floats));
    } catch (const std::invalid_argument& e) {
      throw NodeError(e.what());
    }
  }

  // A constant operand the IR folds into attributes (Reshape shape, Clip bounds).
  const TensorData* constant_value(const std::string& name) const {
    auto it = initializers_.find(name);
    if (it != initializers_.end()) return &it->second;
    auto k = opts_.known_inputs.find(name);
    return k == opts_.known_inputs.end() ? nullptr : &k->second;
  }

  void window(Attributes& a, Window2d& w, bool has_dilation) {
    if (auto k = a.ints("kernel_shape")) {
      if (k->size() != 2) throw NodeError("only 2-D windows are supported (kernel_shape has " + std::to_string(k->size()) + " entries)");
      w.kernel_h = (*k)[0];
      w.kernel_w = (*k)[1];
    }
    if (auto s = a.ints("strides")) {
      if (s->size() != 2) throw NodeError("strides must have 2 entries");
      w.stride_h = (*s)[0];
      w.stride_w = (*s)[1];
    }
    if (has_dilation)
      if (auto d = a.ints("dilations")) {
        if (d->size() != 2) throw NodeError("dilations must have 2 entries");
        w.dilation_h = (*d)[0];
        w.dilation_w = (*d)[1];
      }
    if (auto p = a.ints("pads")) {
      if (p->size() != 4) throw NodeError("pads must have 4 entries");
      w.pad_top = (*p)[0];
      w.pad_left = (*p)[1];
      w.pad_bottom = (*p)[2];
      w.pad_right = (*p)[3];
    }
    const std::string mode = a.s("auto_pad").value_or("NOTSET");
    if (mode == "NOTSET") w.auto_pad = AutoPad::explicit_pads;
    else if (mode == "SAME_UPPER") w.auto_pad = AutoPad::same_upper;
    else if (mode == "SAME_LOWER") w.auto_pad = AutoPad::same_lower;
    else if (mode == "VALID") w.auto_pad = AutoPad::valid;
    else throw NodeError("unknown auto_pad '" + mode + "'");
  }

  void require_4d(const std::string& x, const std::string& what) const {
    const Tensor* t = w_.find_tensor(x);
    if (t && t->shape.size() != 4)
      throw NodeError(what + " supports 2-D (NCHW) inputs only; '" + x + "' is " + shape_to_string(t->shape));
  }

  void node(const onnx::NodeProto& n, int index) {
    Layer l;
    l.name = layer_name(n, index);
    if (w_.find_layer(l.name)) l.name += "_" + std::to_string(index);
    l.loc.file = file_;
    l.loc.key_path = "node '" + l.name + "' (" + n.op_type() + ")";
    try {
      if (!n.domain().empty() && n.domain() != "ai.onnx" && !microsoft_rmsnorm(n))
        throw NodeError("operator domain '" + n.domain() + "' is not supported");
      for (const auto& in : n.input()) l.inputs.push_back(in);
      for (const auto& out : n.output()) l.outputs.push_back(out);
      if (n.op_type() == "Constant") return constant(n);
      if (l.inputs.empty() || l.inputs[0].empty()) throw NodeError("has no (first) input");
      if ((n.op_type() == "Identity" || n.op_type() == "Dropout") && alias_constant(n)) return;
      Attributes a(n);
      translate(n, a, l);
      a.finish();
      for (const auto& in : l.inputs) ensure_constant(in);
    } catch (const NodeError& e) {
      throw config::ConfigError(config::Diagnostic{file_, 0, 0, l.loc.key_path, e.what()});
    }
    w_.add_layer(std::move(l));
  }

  void outputs(const Layer& l, size_t max) const {
    size_t used = 0;
    for (size_t i = 0; i < l.outputs.size(); ++i)
      if (!l.outputs[i].empty()) used = i + 1;
    if (used > max) throw NodeError("only the first " + std::to_string(max) + " output(s) are supported");
  }

  void translate(const onnx::NodeProto& n, Attributes& a, Layer& l) {
    const std::string& t = n.op_type();
    if (t == "Conv") {
      l.op = OpKind::conv2d;
      require_4d(l.inputs.at(0), "Conv");
      window(a, l.attrs.window, true);
      l.attrs.groups = a.i("group").value_or(1);
      if (a.ints("kernel_shape")) check_conv_kernel(l);
    } else if (t == "Gemm") {
      l.op = OpKind::gemm;
      l.attrs.alpha = a.f("alpha").value_or(1.0f);
      l.attrs.beta = a.f("beta").value_or(1.0f);
      l.attrs.trans_a = a.i("transA").value_or(0) != 0;
      l.attrs.trans_b = a.i("transB").value_or(0) != 0;
    } else if (t == "MatMul") {
      l.op = OpKind::matmul;
    } else if (const ActivationRow* act = activation_by_onnx(t)) {  // op_table.cpp: Relu, Sigmoid, ...
      l.op = act->op;
      for (const auto& p : act->params) {
        const std::optional<float> v = a.f(p.key);
        if (!v && !p.def) throw NodeError(std::string("attribute '") + p.key + "' is required");
        l.attrs.*p.field = v ? *v : *p.def;
      }
    } else if (t == "Gelu") {
      l.op = OpKind::gelu;
      const std::string ap = a.s("approximate").value_or("none");
      if (ap != "none" && ap != "tanh") throw NodeError("unknown approximate '" + ap + "'");
      l.attrs.gelu_tanh = ap == "tanh";
    } else if (t == "Add") {
      l.op = OpKind::add;
    } else if (t == "Mul") {
      l.op = OpKind::mul;
    } else if (t == "MaxPool" || t == "AveragePool") {
      l.op = t == "MaxPool" ? OpKind::max_pool : OpKind::avg_pool;
      require_4d(l.inputs.at(0), t);
      if (!a.ints("kernel_shape")) throw NodeError("kernel_shape is required");
      window(a, l.attrs.window, t == "MaxPool");
      l.attrs.window.ceil_mode = a.i("ceil_mode").value_or(0) != 0;
      if (t == "MaxPool" && a.i("storage_order").value_or(0) != 0) throw NodeError("storage_order = 1 is not supported");
      if (t == "AveragePool") l.attrs.count_include_pad = a.i("count_include_pad").value_or(0) != 0;
    } else if (t == "GlobalAveragePool") {
      l.op = OpKind::global_avg_pool;
    } else if (t == "Flatten") {
      l.op = OpKind::flatten;
      l.attrs.axis = a.i("axis").value_or(1);
    } else if (t == "Reshape") {
      l.op = OpKind::reshape;
      if (l.inputs.size() != 2) throw NodeError("Reshape needs 2 inputs (data, shape)");
      const TensorData* s = constant_value(l.inputs[1]);
      if (!s) throw NodeError("the shape input '" + l.inputs[1] + "' must be a constant (initializer)");
      if (s->onnx_type != TP::INT64) throw NodeError("the shape input must be int64");
      l.attrs.target_shape = s->ints;
      l.attrs.allow_zero = a.i("allowzero").value_or(0) != 0;
      l.inputs.resize(1);
    } else if (t == "Identity" || t == "Dropout") {
      l.op = OpKind::reshape;
      const Tensor* x = w_.find_tensor(l.inputs.at(0));
      if (!x) throw NodeError("input '" + l.inputs.at(0) + "' is not produced by an earlier node");
      l.attrs.target_shape = x->shape;
      a.f("ratio");
      a.i("seed");
      l.inputs.resize(1);
      l.outputs.resize(1);
    } else if (t == "Transpose") {
      l.op = OpKind::transpose;
      if (auto p = a.ints("perm")) l.attrs.perm = *p;
    } else if (t == "Softmax") {
      l.op = OpKind::softmax;
      const Tensor* x = w_.find_tensor(l.inputs.at(0));
      const int64_t rank = x ? int64_t(x->shape.size()) : 0;
      if (opset_ >= 13) {
        l.attrs.axis = a.i("axis").value_or(-1);
      } else {
        // Before opset 13 Softmax flattened the input at `axis` to 2-D: the
        // same as a single-axis softmax only when axis is the last one.
        const int64_t axis = a.i("axis").value_or(1);
        if (normalize_axis(axis, rank) != rank - 1)
          throw NodeError("opset " + std::to_string(opset_) + " Softmax over axes [" + std::to_string(axis) +
                          ", rank) (coerced to 2-D) is not supported; only the last axis");
        l.attrs.axis = rank - 1;
      }
    } else if (t == "BatchNormalization") {
      l.op = OpKind::batchnorm;
      l.attrs.epsilon = a.f("epsilon").value_or(1e-5f);
      a.f("momentum");  // training only
      if (a.i("training_mode").value_or(0) != 0) throw NodeError("training_mode = 1 is not supported (inference only)");
      if (a.i("spatial").value_or(1) != 1) throw NodeError("spatial = 0 is not supported");
      a.i("is_test");
      a.ints("consumed_inputs");
      outputs(l, 1);
      l.outputs.resize(1);
    } else if (t == "LayerNormalization") {
      l.op = OpKind::layernorm;
      l.attrs.axis = a.i("axis").value_or(-1);
      l.attrs.epsilon = a.f("epsilon").value_or(1e-5f);
      if (a.i("stash_type").value_or(1) != 1) throw NodeError("stash_type other than 1 (float) is not supported");
    } else if (t == "Concat") {
      l.op = OpKind::concat;
      const auto axis = a.i("axis");
      if (!axis) throw NodeError("axis is required");
      l.attrs.axis = *axis;
    } else if (t == "Clip") {
      clip(n, a, l);
    } else if (t == "SimplifiedLayerNormalization") {
      l.op = OpKind::rmsnorm;
      l.attrs.axis = a.i("axis").value_or(-1);
      l.attrs.epsilon = a.f("epsilon").value_or(1e-5f);
      if (a.i("stash_type").value_or(1) != 1) throw NodeError("stash_type other than 1 (float) is not supported");
      if (l.inputs.size() != 2) throw NodeError("needs 2 inputs (X, scale)");
    } else if (t == "Gather") {
      // An embedding lookup: the indices (int64 token ids) must be a
      // constant; the IR holds them as exact fp32 values.
      l.op = OpKind::gather;
      l.attrs.axis = a.i("axis").value_or(0);
      if (l.inputs.size() != 2) throw NodeError("Gather needs 2 inputs (data, indices)");
      constant_indices(l.inputs[1]);
    } else if (t == "ArgMax") {
      // The greedy next token; the IR writes the index as a float (exact below 2^24).
      l.op = OpKind::argmax;
      l.attrs.axis = a.i("axis").value_or(0);
      if (a.i("keepdims").value_or(1) != 1) throw NodeError("keepdims = 0 is not supported (follow it with a Reshape)");
      if (a.i("select_last_index").value_or(0) != 0) throw NodeError("select_last_index = 1 is not supported (the first maximum is taken)");
    } else {
      throw NodeError("unsupported ONNX operator '" + t + "'");
    }
    if (l.op != OpKind::layernorm) outputs(l, 1);
  }

  // kernel_shape, when given, must agree with the weight (the IR takes the weight's).
  void check_conv_kernel(const Layer& l) {
    if (l.inputs.size() < 2) return;
    const Shape ks{l.attrs.window.kernel_h, l.attrs.window.kernel_w};
    const Tensor* wt = w_.find_tensor(l.inputs[1]);
    const TensorData* wd = wt ? nullptr : (initializers_.count(l.inputs[1]) ? &initializers_.at(l.inputs[1]) : nullptr);
    const Shape ws = wt ? wt->shape : (wd ? wd->shape : Shape{});
    if (ws.size() == 4 && (ws[2] != ks[0] || ws[3] != ks[1]))
      throw NodeError("kernel_shape " + shape_to_string(ks) + " disagrees with the weight " + shape_to_string(ws));
  }

  void clip(const onnx::NodeProto& n, Attributes& a, Layer& l) {
    (void)n;
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    if (opset_ < 11) {
      lo = a.f("min").value_or(lo);
      hi = a.f("max").value_or(hi);
    } else {
      for (size_t i = 1; i < l.inputs.size() && i < 3; ++i) {
        if (l.inputs[i].empty()) continue;
        const TensorData* v = constant_value(l.inputs[i]);
        if (!v) throw NodeError(std::string("the ") + (i == 1 ? "min" : "max") + " input '" + l.inputs[i] + "' must be a constant (initializer)");
        if (v->floats.size() != 1) throw NodeError("min and max must be scalars");
        (i == 1 ? lo : hi) = v->floats[0];
      }
      l.inputs.resize(1);
    }
    l.attrs.clip_min = lo;
    l.attrs.clip_max = hi;
    l.op = (lo == 0.0f && hi == 6.0f) ? OpKind::relu6 : OpKind::clip;
  }

  const onnx::ModelProto& model_;
  std::string file_;
  const OnnxImportOptions& opts_;
  int64_t opset_ = 13;
  std::map<std::string, TensorData> initializers_;
  std::set<std::string> buffers_;
  std::vector<onnx::NodeProto> nodes_;  // the graph's nodes after fuse_erf_gelu()
  Workload w_;
};

}  // namespace

Workload import_onnx_bytes(const std::string& bytes, const std::string& name, const OnnxImportOptions& opts) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes))
    throw config::ConfigError(config::Diagnostic{name, 0, 0, "", "not a serialized ONNX ModelProto"});
  return Importer(model, name, opts).run();
}

Workload import_onnx(const std::string& path, const OnnxImportOptions& opts) {
  return import_onnx_bytes(config::read_input_file(path, config::kMaxBinaryFileBytes), path, opts);
}

}  // namespace xpu::workload
