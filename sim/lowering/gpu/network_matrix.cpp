#include "sim/lowering/gpu/network_internal.h"

#include <set>
#include <tuple>

#include "sim/lowering/gpu/activation.h"
#include "sim/lowering/gpu/gemm_simt.h"
#include "sim/lowering/gpu/int8_epilogue.h"
#include "sim/lowering/gpu/network_stream.h"
#include "sim/lowering/lowering_error.h"
#include "sim/workload/op_table.h"

namespace xpu::lowering::gpu {

namespace {

ConvSpec conv_spec(const workload::Workload& w, const workload::Layer& l, DType dtype) {
  const Shape& X = w.tensor(l.inputs.at(0)).shape;
  const auto& wd = l.attrs.window;
  ConvSpec s;
  s.name = l.name;
  s.batch = uint64_t(X[0]), s.c = uint64_t(X[1]), s.h = uint64_t(X[2]), s.w = uint64_t(X[3]);
  s.k = uint64_t(l.out_shape.at(1));
  s.r = uint32_t(wd.kernel_h), s.s = uint32_t(wd.kernel_w);
  s.stride_h = uint32_t(wd.stride_h), s.stride_w = uint32_t(wd.stride_w);
  s.dil_h = uint32_t(wd.dilation_h), s.dil_w = uint32_t(wd.dilation_w);
  s.pad_t = uint32_t(wd.pad_top), s.pad_l = uint32_t(wd.pad_left);
  s.pad_b = uint32_t(wd.pad_bottom), s.pad_r = uint32_t(wd.pad_right);
  s.in = dtype;
  s.acc = dtype == DType::int8 ? xpu::gpu::AccType::s32 : xpu::gpu::AccType::f32;
  s.sparse = w.sparsity == "2:4";  // weights pruned 2:4 (gemm_sm80_sparse.h)
  return s;
}

// A conv2d with groups = 1 on the tensor cores runs as an implicit GEMM
// where the kernel supports its shape (else as its GEMM view).
bool implicit_conv(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, const workload::Layer& l, DType dtype) {
  if (l.op != OpKind::conv2d || l.attrs.groups != 1 || dtype == DType::fp32) return false;
  ConvPlan plan;
  try {
    lower_conv_implicit(cfg, conv_spec(w, l, dtype), plan);
  } catch (const GpuLoweringError&) {
    return false;
  }
  return true;
}

// What the tensor-core epilogue of layer i absorbs: a convolution's bias, a
// following batchnorm (folded into the weights and a per-channel bias, as
// inference engines do), then a relu/relu6/clip, each the only consumer of

}  // namespace

GpuGemmSpec gemm_spec(const workload::Layer& layer, DType dtype) {
  GpuGemmSpec s;
  s.name = layer.name;
  s.m = layer.m;
  s.n = layer.n;
  s.k = layer.k;
  s.in = dtype;
  // Raw fp32/int32 accumulators come back so results can be checked bit for bit.
  s.acc = dtype == DType::int8 ? xpu::gpu::AccType::s32 : xpu::gpu::AccType::f32;
  return s;
}


namespace {

// Whether tensor t is read by a layer (and is not a graph output).
bool has_readers(const workload::Workload& w, const std::string& t) {
  for (const auto& o : w.outputs)
    if (o == t) return false;
  for (const workload::Layer& c : w.layers)
    for (const auto& in : c.inputs)
      if (in == t) return true;
  return false;
}

// An int8 layer's epilogue, given the tensors earlier layers write as int8
// (`int8`): a convolution or GEMM whose output is read by later layers
// writes int8 C through the requantizing epilogue (int8_epilogue.h), as
// int8 inference stacks keep activations int8 between kernels, with what
// fuses on 16-bit runs fused too: a following batchnorm (convolutions), a
// residual add whose other operand exists before the layer runs and is
// int8 (its scale the activations'), then an activation. Else none (raw
// int32 C; the other ops run as kernels of their own), also where nothing
// fuses and no int8 tensor-core layer reads the output. The kernel must
// take the epilogue (not the 2:4 sparse kernels, not a split-K GEMM):
// tried here, the residual first with, then without.
Fusion int8_chain(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t i,
                  const std::set<std::string>& int8) {
  Fusion f, none;
  const workload::Layer& l = w.layers[i];
  if (w.sparsity == "2:4") return none;
  const bool has_bias = l.inputs.size() > 2 && !l.inputs[2].empty();
  const bool gemm = (l.op == OpKind::gemm || l.op == OpKind::matmul) && l.gemm_form != workload::GemmForm::none &&
                    l.gemm_count == 1 && l.m > 0 && l.n > 0;
  const bool conv = !gemm && implicit_conv(cfg, w, l, DType::int8);
  if (!gemm && !conv) return none;
  if (gemm && has_bias && workload::numel(w.tensor(l.inputs[2]).shape) != l.n) return none;
  f.ep.bias = has_bias;
  const ConvSpec cs = conv ? conv_spec(w, l, DType::int8) : ConvSpec{};
  const uint64_t fan_in = conv ? uint64_t(cs.r) * cs.s * cs.c : l.k;
  std::tie(f.ep.dq, f.ep.qs) = int8_layer_scales(fan_in);
  f.ep.rs = 1.0f / f.ep.qs;  // every int8 activation has the one scale
  f.ep.out8 = true;
  const auto takes = [&](const TcEpilogue& ep) {
    try {
      if (gemm) {
        GpuGemmPlan plan;
        lower_gemm_tc(cfg, gemm_spec(l, DType::int8), plan, ep);
      } else {
        ConvSpec s = cs;
        s.ep = ep;
        ConvPlan plan;
        lower_conv_implicit(cfg, s, plan);
      }
    } catch (const GpuLoweringError&) {
      return false;
    }
    return true;
  };
  auto sole_consumer = [&](const std::string& t, size_t j) {
    return j < w.layers.size() && !w.layers[j].inputs.empty() && w.layers[j].inputs[0] == t && single_use(w, t);
  };
  std::string t = l.output();
  size_t j = i + 1;
  if (conv && sole_consumer(t, j) && w.layers[j].op == OpKind::batchnorm) {
    f.ep.bias = true;
    f.layers.push_back(j);
    t = w.layers[j++].output();
  }
  if (j < w.layers.size() && w.layers[j].op == OpKind::add && w.layers[j].inputs.size() == 2 && single_use(w, t)) {
    const workload::Layer& a = w.layers[j];
    const size_t mine = a.inputs[0] == t ? 0 : 1;
    const std::string& other = a.inputs[1 - mine];
    bool ready = a.inputs[mine] == t && other != t && int8.count(other) && w.tensor(other).shape == a.out_shape &&
                 w.tensor(t).shape == a.out_shape;
    for (size_t q = i; q < j && ready; ++q) ready = w.layers[q].output() != other;
    TcEpilogue ep = f.ep;
    ep.residual = true;
    if (ready && takes(ep)) {
      f.ep = ep;
      f.residual = other;
      f.layers.push_back(j);
      t = w.layers[j++].output();
    }
  }
  if (sole_consumer(t, j) && workload::fuses_into(w.layers[j].op, workload::fuse_gpu_tc_epilogue)) {
    const auto act = gpu_activation(w.layers[j]);
    f.ep.act = act.act;
    f.ep.p0 = act.p0;
    f.ep.p1 = act.p1;
    f.layers.push_back(j);
    t = w.layers[j].output();
  }
  // Without anything fused, int8 C pays only where an int8 tensor-core
  // layer reads it: a plain GEMM read by fp32 SIMT kernels alone keeps its
  // int32 C and the heuristic's kernel (split-K, which has no int8 epilogue).
  bool int8_reader = false;
  for (const workload::Layer& c : w.layers)
    int8_reader = int8_reader || (!c.inputs.empty() && c.inputs[0] == t &&
                                  (c.gemm_form == workload::GemmForm::gemm || c.gemm_form == workload::GemmForm::matmul ||
                                   implicit_conv(cfg, w, c, DType::int8)));
  if (!has_readers(w, t) || (f.layers.empty() && !int8_reader) || !takes(f.ep)) return none;
  return f;
}

// The chain at layer i as fusion_after finds it for an int8 run, and the
// tensors the chains before it write as int8 (walked from the first layer
// in the order the network runs them).
Fusion int8_fusion(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t i,
                   const std::set<std::string>* known) {
  if (known) return int8_chain(cfg, w, i, *known);
  std::set<std::string> int8;
  for (size_t j = 0; j < i;) {
    size_t skip = 0;
    if (const auto c = attention_chain(cfg, w, j, DType::int8); c && c->first == j) skip = c->last - j;
    else if (const auto g = gemv_group(cfg, w, j, DType::int8)) skip = g->last - j;
    else if (const Fusion f = int8_chain(cfg, w, j, int8); f.ep.out8) {
      int8.insert(fused_output(w, j, f));
      skip = f.layers.size();
    }
    j += 1 + skip;
  }
  return int8_chain(cfg, w, i, int8);
}

}  // namespace

Fusion fusion_after(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t i, DType dtype,
                    const std::set<std::string>* int8) {
  Fusion f;
  if (const auto j = launch_sibling(w, i, dtype)) {  // one launch, each layer its own row of results
    f.layers.push_back(*j);
    return f;
  }
  if (const auto c = attention_chain(cfg, w, i, dtype); c && c->first == i) {
    for (size_t j = c->first + 1; j <= c->last; ++j) f.layers.push_back(j);
    return f;
  }
  if (const auto g = gemv_group(cfg, w, i, dtype)) {  // merged sibling GEMVs and their views
    for (size_t j = g->first + 1; j <= g->last; ++j) f.layers.push_back(j);
    return f;
  }
  const workload::Layer& l = w.layers[i];
  if (dtype == DType::int8) return int8_fusion(cfg, w, i, int8);
  if (dtype != DType::fp16 && dtype != DType::bf16) return f;  // the epilogue needs fp32 accumulators
  const bool has_bias = l.inputs.size() > 2 && !l.inputs[2].empty();
  const bool gemm = (l.op == OpKind::gemm || l.op == OpKind::matmul) && l.gemm_form != workload::GemmForm::none &&
                    l.gemm_count == 1 && l.m > 0 && l.n > 0;
  if (!gemm && !implicit_conv(cfg, w, l, dtype)) return f;
  if (gemm && has_bias && workload::numel(w.tensor(l.inputs[2]).shape) != l.n) return f;  // not per column
  f.ep.bias = has_bias;
  auto sole_consumer = [&](const std::string& t, size_t j) {
    if (j >= w.layers.size() || w.layers[j].inputs.empty() || w.layers[j].inputs[0] != t) return false;
    return single_use(w, t);
  };
  std::string t = l.output();
  size_t j = i + 1;
  if (!gemm && sole_consumer(t, j) && w.layers[j].op == OpKind::batchnorm) {
    f.ep.bias = true;
    f.layers.push_back(j);
    t = w.layers[j++].output();
  }
  // A GEMM's residual: on decoder workloads (params.gemv) only where the
  // layer runs as the 16-bit GEMV kernel, whose epilogue adds it (the
  // tensor-core GEMMs of their larger batches and the int8-weight GEMV keep
  // the add as its own kernel).
  const auto gv = w.params.find("gemv");
  const bool decoder = gv != w.params.end() && gv->second == 1;
  GemvSpec gs;
  gs.m = l.m, gs.n = l.n, gs.k = l.k;
  gs.in = dtype;
  gs.ep.bias = has_bias;
  const bool as_gemv = decoder && gemm && l.inputs.size() > 1 && w.tensor(l.inputs[1]).dtype != DType::int8 &&
                       gemv_unsupported(cfg, gs).empty();
  const bool gemm_res = gemm && w.sparsity != "2:4" && (!decoder || as_gemv);
  if ((!gemm || gemm_res) && j < w.layers.size() && w.layers[j].op == OpKind::add && w.layers[j].inputs.size() == 2) {
    // A residual add: t is one operand, the other a same-shaped tensor that
    // exists before layer i runs (a graph input, a constant, or an earlier
    // layer's output), so the epilogue can read it.
    const workload::Layer& a = w.layers[j];
    const size_t mine = a.inputs[0] == t ? 0 : 1;
    const std::string& other = a.inputs[1 - mine];
    bool ready = a.inputs[mine] == t && other != t && !other.empty();
    for (size_t q = i; q < j && ready; ++q) ready = w.layers[q].output() != other;
    size_t uses = 0;
    for (const auto& x : w.layers)
      for (const auto& in : x.inputs) uses += in == t;
    for (const auto& o : w.outputs) uses += o == t;
    if (ready && uses == 1 && w.tensor(other).shape == a.out_shape && w.tensor(t).shape == a.out_shape) {
      TcEpilogue ep = f.ep;
      ep.residual = true;
      // Only where the kernel has the residual epilogue (it fits the registers).
      TcEpilogue built = ep;
      built.out16 = w.sparsity != "2:4";  // as matrix() builds it
      try {
        if (as_gemv) {
          // GemvSpec takes any residual (checked above).
        } else if (gemm) {
          GpuGemmPlan plan;
          lower_gemm_tc(cfg, gemm_spec(l, dtype), plan, built);
        } else {
          ConvSpec s = conv_spec(w, l, dtype);
          s.ep = built;
          ConvPlan plan;
          lower_conv_implicit(cfg, s, plan);
        }
        f.ep = ep;
        f.residual = other;
        f.layers.push_back(j);
        t = w.layers[j++].output();
      } catch (const GpuLoweringError&) {
      }
    }
  }
  if (sole_consumer(t, j) && workload::fuses_into(w.layers[j].op, workload::fuse_gpu_tc_epilogue)) {
    const auto a = gpu_activation(w.layers[j]);  // op_table.cpp, activation.cpp
    f.ep.act = a.act;
    f.ep.p0 = a.p0;
    f.ep.p1 = a.p1;
    f.layers.push_back(j);
  }
  return f;
}

bool LayerBuild::matrix(DType dtype, const TcEpilogue& fused) {
  // 16-bit runs write 16-bit C (the epilogue's one rounding point) for the
  // next kernel, except on the 2:4 sparse kernels (fp32 C).
  TcEpilogue ep = fused;
  ep.out16 = is_act16(dtype) && w.sparsity != "2:4";
  ep.out8 = fused.out8 && dtype == DType::int8;  // int8_fusion decided it
  L.ep = ep;
  if (implicit_conv(cfg, w, l, dtype)) {
    auto& s = L.conv;
    s = conv_spec(w, l, dtype);
    s.ep = ep;
    try {
      lower_conv_implicit(cfg, s, L.conv_plan);
    } catch (const GpuLoweringError& e) {
      unsupported(l, e.what());
    }
    L.is_conv = true;
    L.kernel = s.sparse ? "conv_implicit_tc_sp24" : "conv_implicit_tc";
    L.bytes = L.conv_plan.layout.g.bytes;
    return true;
  }
  if (l.gemm_form != workload::GemmForm::none) {
    L.is_gemm = true;
    L.count = l.gemm_count;
    L.spec = gemm_spec(l, dtype);
    // 2:4 sparsity prunes weights: a single GEMM whose B is a constant.
    L.spec.sparse = w.sparsity == "2:4" && dtype != DType::fp32 && L.count == 1 && l.inputs.size() > 1 &&
                    w.tensor(l.inputs[1]).is_constant();
    try {
      if (dtype == DType::fp32) lower_gemm_simt(cfg, L.spec, L.gemm);
      else lower_gemm_tc(cfg, L.spec, L.gemm, ep);
    } catch (const GpuLoweringError& e) {
      throw lowering::LoweringError(e.what());
    }
    L.kernel = dtype == DType::fp32 ? "gemm_ffma" : L.spec.sparse ? "gemm_tc_sp24" : "gemm_tc";
    // Batch: gemm_count copies of the layout, one launch (per pass).
    L.batch_bytes = L.gemm.layout.bytes;
    for (xpu::gpu::Launch* ln : {&L.gemm.launch, &L.gemm.reduce}) {
      if (ln == &L.gemm.reduce && !L.gemm.split()) break;
      const uint32_t per = ln->ctas;
      if (uint64_t(per) * L.count > 0xFFFFFFFFull) unsupported(l, "grid too large");
      std::vector<uint64_t> bases = ln->bases;
      ln->bases.resize(size_t(per) * L.count * ln->nbufs);
      for (uint64_t g = 1; g < L.count; ++g)
        for (size_t i = 0; i < bases.size(); ++i) ln->bases[g * bases.size() + i] = bases[i] + g * L.batch_bytes;
      ln->ctas = static_cast<uint32_t>(per * L.count);
    }
    L.bytes = L.batch_bytes * L.count;
    return true;
  }
  return false;
}

}  // namespace xpu::lowering::gpu
