// The network lowering's driver (network.h): graph analysis (layouts, views,
// layer groups, readers), staging of graph inputs and outputs, and one layer
// group after another through the emitters.
#include "sim/lowering/tpu/network.h"

#include <algorithm>

#include "sim/lowering/tpu/network_builder.h"
#include "sim/workload/op_table.h"

namespace xpu::lowering {

namespace detail {

using workload::Layer;
using workload::OpKind;

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// By name: the TPU's function of the op (op_table.h: activation_fn).
tpu::ActFn act_of(const Layer& l, float& p0, float& p1) {
  if (!workload::is_activation(l.op)) return tpu::ActFn::none;
  const std::string name = workload::activation_fn(l.op, l.attrs);
  const auto fn = tpu::act_fn_from_name(name);
  if (!fn) throw LoweringError("layer '" + l.name + "': the activation unit has no function '" + name + "'");
  workload::act_params(l.op, l.attrs, p0, p1);
  return *fn;
}
uint64_t align_up(uint64_t a, uint64_t b) { return ceil_div(a, b) * b; }

namespace {

bool is_fusable_fn(OpKind k) { return workload::fuses_into(k, workload::fuse_tpu_activate); }
bool is_image_op(OpKind k) {
  return k == OpKind::conv2d || k == OpKind::max_pool || k == OpKind::avg_pool || k == OpKind::global_avg_pool ||
         k == OpKind::batchnorm;
}
bool keeps_layout(OpKind k) {
  return workload::is_activation(k) || k == OpKind::add || k == OpKind::mul || k == OpKind::concat;
}
}  // namespace

// ---- builder ----

NetBuilder::NetBuilder(const tpu::TpuConfig& cfg, const workload::Workload& w, const NetworkOptions& opts)
    : cfg_(cfg), w_(w), opts_(opts), alloc_(cfg.unified_buffer.capacity_bytes) {}

void NetBuilder::fail(const Layer& l, const std::string& msg) const {
  std::string where;
  if (!l.loc.file.empty()) {
    where = l.loc.file;
    if (l.loc.line > 0) where += ":" + std::to_string(l.loc.line) + ":" + std::to_string(l.loc.column);
    where += ": ";
  }
  throw LoweringError(where + "layer '" + l.name + "' (" + workload::op_name(l.op) + "): " + msg + " [on '" +
                      cfg_.name + "', " + std::string(dtype_name(dt())) + "]");
}

const std::vector<float>* NetBuilder::values(const std::string& tensor) const {
  if (!opts_.values) return nullptr;
  const workload::Tensor& t = w_.tensor(tensor);
  if (t.values) return t.values.get();
  if (opts_.constants) {
    auto it = opts_.constants->find(tensor);
    if (it != opts_.constants->end()) return &it->second;
  }
  return nullptr;
}

const std::string& NetBuilder::root(const std::string& tensor) const {
  auto it = alias_.find(tensor);
  return it == alias_.end() ? tensor : root(it->second);
}

float NetBuilder::scale_of(const std::string& tensor) const {
  if (!int8()) return 1.0f;
  auto it = opts_.scales.find(root(tensor));
  return it == opts_.scales.end() ? 1.0f : it->second;
}

void NetBuilder::analyse() {
  // Readers by tensor name, for fusion.
  std::map<std::string, int> readers;
  for (const auto& l : w_.layers)
    for (const auto& in : l.inputs)
      if (!in.empty()) readers[in] += 1;
  std::set<std::string> outs(w_.outputs.begin(), w_.outputs.end());
  auto single_reader = [&](const std::string& t) { return readers[t] == 1 && !outs.count(t); };

  // Layouts (forward) and views.
  for (const auto& in : w_.inputs) {
    const auto& t = w_.tensor(in);
    if (t.shape.size() != 4) continue;
    for (const auto& l : w_.layers)
      if (!l.inputs.empty() && l.inputs[0] == in && is_image_op(l.op)) nhwc_.insert(in);
  }
  for (const auto& l : w_.layers) {
    const bool rank4 = l.out_shape.size() == 4;
    if (l.op == OpKind::reshape || l.op == OpKind::flatten) {
      const std::string& r = root(l.inputs[0]);
      const auto& xs = w_.tensor(l.inputs[0]).shape;
      const bool plain_bytes = !nhwc_.count(r) || (xs.size() == 4 && xs[2] * xs[3] == 1);
      if (plain_bytes && !outs.count(l.output())) alias_[l.output()] = l.inputs[0];
      continue;
    }
    // add / mul keep the layout of an image operand on either side (Add(bias, x)).
    bool image_in = is_nhwc(l.inputs[0]);
    if (l.op == OpKind::add || l.op == OpKind::mul)
      for (const auto& in : l.inputs) image_in = image_in || (w_.tensor(in).shape == l.out_shape && is_nhwc(in));
    if (rank4 && (is_image_op(l.op) || (keeps_layout(l.op) && image_in))) nhwc_.insert(l.output());
  }

  // Groups.
  std::set<const Layer*> absorbed;
  auto next_reader = [&](const std::string& t) -> const Layer* {
    if (!single_reader(t)) return nullptr;
    for (const auto& l : w_.layers)
      for (const auto& in : l.inputs)
        if (in == t) return &l;
    return nullptr;
  };
  for (const auto& l : w_.layers) {
    if (absorbed.count(&l)) continue;
    std::vector<const Layer*> g{&l};
    const bool matrix = workload::is_matrix_op(l.op);
    if (matrix || l.op == OpKind::add) {
      const Layer* nx = next_reader(l.output());
      if (matrix && l.op == OpKind::conv2d && nx && nx->op == OpKind::batchnorm && nx->inputs[0] == l.output()) {
        g.push_back(nx);
        nx = next_reader(nx->output());
      }
      if (nx && is_fusable_fn(nx->op)) g.push_back(nx);
    }
    for (const Layer* x : g) absorbed.insert(x);
    groups_.push_back(g);
  }
  // Readers per root, by group; graph outputs.
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (const Layer* l : groups_[gi])
      for (const auto& in : l->inputs) {
        if (in.empty() || w_.tensor(in).is_constant()) continue;
        reads_[root(in)].push_back(gi);
      }
  for (const auto& o : w_.outputs) graph_outputs_.insert(root(o));
}

void NetBuilder::new_step() {
  tpu::Instruction h;
  h.op = tpu::Opcode::halt;
  emit(h);
  if (opts_.on_code) flush_code(true);
  handed_ = 0;
  step_open_ = true;
  cur_->steps.emplace_back();
  step_ = &cur_->steps.back();
  step_->program.name = cur_->name + ".part" + std::to_string(cur_->steps.size());
}

tpu::Instruction NetBuilder::vec(tpu::VectorOp op, uint32_t rows, uint32_t n) const {
  tpu::Instruction in;
  in.op = tpu::Opcode::vector;
  in.vop = op;
  in.rows = rows;
  in.n = n;
  in.dtype = dt();
  in.out_dtype = dt();
  return in;
}

void NetBuilder::begin_layer(LayerPlan lp, const std::string& program) {
  result_.layers.push_back(std::move(lp));
  cur_ = &result_.layers.back();
  handed_ = 0;
  step_open_ = true;
  cur_->steps.emplace_back();
  step_ = &cur_->steps.back();
  step_->program.name = program;
}

void NetBuilder::begin_staging(const std::string& name, const std::string& op) {
  LayerPlan lp;
  lp.name = name;
  lp.op = op;
  lp.io = "host";
  begin_layer(std::move(lp), name);
}

void NetBuilder::end_layer() {
  free_dead_tensors();
  if (step_ && (step_->program.code.empty() || step_->program.code.back().op != tpu::Opcode::halt)) {
    tpu::Instruction h;
    h.op = tpu::Opcode::halt;
    emit(h);
  }
  // A layer that emitted nothing (a view) has no program.
  if (cur_->steps.size() == 1 && handed_ == 0 && cur_->steps[0].program.code.size() == 1) cur_->steps.clear();
}

void NetBuilder::flush_code(bool last) {
  if (opts_.on_code(*step_, last)) {
    handed_ += step_->program.code.size();
    step_->program.code.clear();
  }
  if (last) step_open_ = false;
}

void NetBuilder::stage_inputs() {
  begin_staging("stage_in", "host->ub");
  std::string shapes;
  for (const auto& name : w_.inputs) {
    if (!reads_.count(name)) continue;
    if (stage_in_place_input(name)) {  // a cache's past, already in its concat's buffer
      shapes += (shapes.empty() ? "" : ", ") + workload::shape_to_string(w_.tensor(name).shape) + " (in place)";
      continue;
    }
    // An input that does not fit what the earlier ones left stays in host
    // memory: its reader reads it back or streams it (network_stream.cpp).
    const workload::Tensor& t = w_.tensor(name);
    const uint64_t bytes = workload::numel(t.shape) * eb();
    if (alloc_.largest_free() < align_up(std::max<uint64_t>(bytes, 1), kUbAlign)) {
      const TensorPlace p = produce_on_host(name, nhwc_.count(name) != 0);
      step_->host_inputs.push_back(HostInput{p.ub, p});
      shapes += (shapes.empty() ? "" : ", ") + workload::shape_to_string(p.shape) + " (kept in host memory)";
      continue;
    }
    TensorPlace p = produce(name, nhwc_.count(name) != 0);
    HostInput hi;
    hi.host_addr = host_alloc(p.bytes);
    hi.place = p;
    emit(host_dma(tpu::Opcode::read_host_memory, hi.host_addr, p.ub, p.bytes));
    step_->host_inputs.push_back(hi);
    shapes += (shapes.empty() ? "" : ", ") + workload::shape_to_string(p.shape);
  }
  cur_->shape = shapes;
  cur_group_ = 0;
  pinned_.clear();
  tpu::Instruction h;
  h.op = tpu::Opcode::halt;
  emit(h);
}

void NetBuilder::stage_outputs() {
  begin_staging("stage_out", "ub->host");
  cur_group_ = groups_.size();
  for (const auto& name : w_.outputs) {
    auto lv = live_.find(root(name));
    const auto kept = in_place_host_.find(root(name));  // an in-place append's buffer: current in host memory
    if (lv != live_.end() && (lv->second.on_host || kept != in_place_host_.end())) {
      // Already in host memory (streamed or spilled): nothing to move.
      TensorPlace p = place_of(name, lv->second);
      if (kept != in_place_host_.end()) p.ub = kept->second;
      result_.outputs[name] = p;
      cur_->shape += (cur_->shape.empty() ? "" : ", ") + workload::shape_to_string(p.shape);
      continue;
    }
    TensorPlace p = use(name);
    const uint64_t host = host_alloc(p.bytes);
    emit(host_dma(tpu::Opcode::write_host_memory, host, p.ub, p.bytes));
    p.ub = host;
    result_.outputs[name] = p;
    cur_->shape += (cur_->shape.empty() ? "" : ", ") + workload::shape_to_string(p.shape);
  }
  tpu::Instruction h;
  h.op = tpu::Opcode::halt;
  emit(h);
}

void NetBuilder::lower_group(const std::vector<const Layer*>& group) {
  const Layer& l = *group.front();
  LayerPlan lp;
  lp.name = l.name;
  for (const Layer* x : group) {
    lp.layers.push_back(x->name);
    lp.op += (lp.op.empty() ? "" : "+") + std::string(workload::op_name(x->op));
    lp.macs += x->macs();
  }
  lp.shape = l.shape();
  begin_layer(std::move(lp), l.name);
  if (alias_.count(l.output())) {
    cur_->op += " (view)";
  } else if (l.op == OpKind::conv2d) {
    lower_conv(group);
  } else if (l.op == OpKind::gemm || l.op == OpKind::matmul) {
    lower_dense(group);
  } else {
    lower_vector(group);
  }
  if (!alias_.count(l.output())) {
    const std::string& out = group.back()->output();
    auto it = live_.find(out);
    if (it != live_.end()) {
      cur_->output = it->second.place;
      cur_->has_output = true;
      if (it->second.on_host) {  // streamed to host memory
        cur_->output.ub = it->second.host_addr;
        cur_->output_on_host = true;
      }
    }
  }
  end_layer();
}

NetworkPlan NetBuilder::run() {
  if (dt() != DType::int8 && dt() != DType::bf16 && dt() != DType::fp16)
    throw LoweringError("network '" + w_.name + "': precision " + std::string(dtype_name(dt())) +
                        " is not an MXU input type (int8, bf16, fp16)");
  const bool ok = dt() == DType::int8 ? cfg_.mxu.supports_int8 : dt() == DType::bf16 ? cfg_.mxu.supports_bf16
                                                                                     : cfg_.mxu.supports_fp16;
  if (!ok)
    throw LoweringError("network '" + w_.name + "': the MXU of '" + cfg_.name + "' has no " +
                        std::string(dtype_name(dt())) + " mode");
  analyse();
  result_.layers.reserve(groups_.size() + 2);
  stage_inputs();
  hand_over();
  for (cur_group_ = 0; cur_group_ < groups_.size(); ++cur_group_) {
    lower_group(groups_[cur_group_]);
    hand_over();
  }
  stage_outputs();
  hand_over();
  return std::move(result_);
}

void NetBuilder::hand_over() {
  if (opts_.on_code && step_open_ && !cur_->steps.empty()) flush_code(true);
  if (!opts_.on_layer || !opts_.on_layer(*cur_)) return;
  for (auto& st : cur_->steps) st.program.code = {};
  if (!with_values()) cur_->gemms = {};
}

}  // namespace detail

NetworkPlan lower_network(const tpu::TpuConfig& cfg, const workload::Workload& w, const NetworkOptions& opts) {
  detail::reject_weight_only_int8(w, opts.dtype);
  detail::NetBuilder b(cfg, w, opts);
  return b.run();
}

}  // namespace xpu::lowering
