#include "sim/lowering/gpu/network_internal.h"

#include <tuple>

#include "sim/lowering/gpu/activation.h"
#include "sim/lowering/gpu/gemm_simt.h"
#include "sim/lowering/gpu/int8_epilogue.h"
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

// Whether every reader of tensor t is an int8 tensor-core layer reading it
// as its A operand in the layout the producer writes (an implicit-GEMM
// convolution's NHWC input, a GEMM's row-major A), so t can stay int8 in
// device memory; a graph output, or any other reader (SIMT kernels compute
// in fp32, an im2col GEMM's A is built by the host), keeps int32 C.
bool int8_readers(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, const std::string& t) {
  for (const auto& o : w.outputs)
    if (o == t) return false;
  size_t readers = 0;
  for (const workload::Layer& c : w.layers)
    for (size_t q = 0; q < c.inputs.size(); ++q) {
      if (c.inputs[q] != t) continue;
      ++readers;
      if (q != 0) return false;
      const bool gemm_a = (c.op == OpKind::gemm || c.op == OpKind::matmul) && !c.attrs.trans_a &&
                          c.gemm_form == workload::GemmForm::gemm && c.gemm_count == 1;
      if (!gemm_a && !implicit_conv(cfg, w, c, DType::int8)) return false;
    }
  return readers > 0;
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

// An int8 layer's epilogue: where its output (after a following batchnorm
// and activation, fused as on 16-bit runs) is read only by int8
// tensor-core layers, the requantizing epilogue (int8_epilogue.h) writes
// int8 C for them; else none (raw int32 C, the other ops as kernels of
// their own). No residual add fuses on int8. The kernel must take the
// epilogue (not the 2:4 sparse kernels, not a split-K GEMM): tried here.
Fusion int8_fusion(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t i) {
  Fusion f, none;
  const workload::Layer& l = w.layers[i];
  if (w.sparsity == "2:4") return none;
  const bool has_bias = l.inputs.size() > 2 && !l.inputs[2].empty();
  const bool gemm = (l.op == OpKind::gemm || l.op == OpKind::matmul) && l.gemm_form == workload::GemmForm::gemm &&
                    l.gemm_count == 1 && l.m > 0 && l.n > 0;
  const bool conv = !gemm && implicit_conv(cfg, w, l, DType::int8);
  if (!gemm && !conv) return none;
  if (gemm && has_bias && workload::numel(w.tensor(l.inputs[2]).shape) != l.n) return none;
  f.ep.bias = has_bias;
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
  if (sole_consumer(t, j) && workload::fuses_into(w.layers[j].op, workload::fuse_gpu_tc_epilogue)) {
    const auto a = gpu_activation(w.layers[j]);
    f.ep.act = a.act;
    f.ep.p0 = a.p0;
    f.ep.p1 = a.p1;
    f.layers.push_back(j);
    t = w.layers[j].output();
  }
  if (!int8_readers(cfg, w, t)) return none;
  f.ep.out8 = true;
  const ConvSpec cs = conv ? conv_spec(w, l, DType::int8) : ConvSpec{};
  const uint64_t fan_in = conv ? uint64_t(cs.r) * cs.s * cs.c : l.k;
  std::tie(f.ep.dq, f.ep.qs) = int8_layer_scales(fan_in);
  try {
    if (gemm) {
      GpuGemmPlan plan;
      lower_gemm_tc(cfg, gemm_spec(l, DType::int8), plan, f.ep);
    } else {
      ConvSpec s = cs;
      s.ep = f.ep;
      ConvPlan plan;
      lower_conv_implicit(cfg, s, plan);
    }
  } catch (const GpuLoweringError&) {
    return none;
  }
  return f;
}

}  // namespace

Fusion fusion_after(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t i, DType dtype) {
  Fusion f;
  if (const auto c = attention_chain(cfg, w, i, dtype); c && c->first == i) {
    for (size_t j = c->first + 1; j <= c->last; ++j) f.layers.push_back(j);
    return f;
  }
  if (const auto g = gemv_group(cfg, w, i, dtype)) {  // merged sibling GEMVs and their views
    for (size_t j = g->first + 1; j <= g->last; ++j) f.layers.push_back(j);
    return f;
  }
  const workload::Layer& l = w.layers[i];
  if (dtype == DType::int8) return int8_fusion(cfg, w, i);
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
