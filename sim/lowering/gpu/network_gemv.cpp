#include "sim/lowering/gpu/network_internal.h"

namespace xpu::lowering::gpu {

namespace {

// Int8 weights (weight-only int8, llm_graph.h's weight_bits 8) run only as
// the int8-weight GEMV: the tensor-core GEMMs take 16-bit operands on both
// sides.
bool gemv_w8(LayerBuild& b, DType dtype, const TcEpilogue& ep) {
  const workload::Layer& l = b.l;
  GemvW8Spec& s = b.L.gemv_w8_spec;
  s.m = l.m, s.n = l.n, s.k = l.k;
  s.in = dtype;
  s.ep = ep;
  const auto it = b.w.params.find("gemv");
  std::string why = it == b.w.params.end() || it->second != 1 ? "GEMV kernels are off (params.gemv = 0)"
                    : (l.op != OpKind::matmul && l.op != OpKind::gemm) || l.gemm_count != 1 || l.m == 0
                        ? "not a single matrix product"
                        : gemv_w8_unsupported(b.cfg, s);
  if (!why.empty())
    unsupported(l, "int8 weights (weight-only int8) run only as the int8-weight GEMV of at most 4 rows: " + why);
  try {
    lower_gemv_w8(b.cfg, s, b.L.gemv_w8, b.L.nn);
  } catch (const GpuLoweringError& e) {
    unsupported(l, e.what());
  }
  b.L.is_gemv_w8 = true;
  b.L.kernel = "gemv_w8";
  b.L.out_addr = b.L.gemv_w8.y;
  b.L.bytes = b.L.gemv_w8.bytes;
  return true;
}

}  // namespace

// A matrix product of at most 4 rows (a decode step's projections and LM
// head) as the GEMV kernel (gemv.h) where the workload asks for it
// (params.gemv = 1, set by the LLM builder) and the kernel takes it; the
// epilogue's bias and activation are applied in the kernel. Otherwise (a
// residual, more rows, too long a K for shared memory) the tensor-core GEMM
// view runs.
bool LayerBuild::gemv(DType dtype, const TcEpilogue& ep) {
  if (l.inputs.size() > 1 && w.tensor(l.inputs[1]).dtype == DType::int8 && dtype != DType::int8)
    return gemv_w8(*this, dtype, ep);
  const auto it = w.params.find("gemv");
  if (it == w.params.end() || it->second != 1) return false;
  if ((l.op != OpKind::matmul && l.op != OpKind::gemm) || l.gemm_form == workload::GemmForm::none ||
      l.gemm_count != 1 || l.m == 0 || l.n == 0 || l.k == 0)
    return false;
  GemvSpec& s = L.gemv_spec;
  s.m = l.m, s.n = l.n, s.k = l.k;
  s.in = dtype;
  s.ep = ep;
  if (!gemv_unsupported(cfg, s).empty()) return false;
  gemv_kernel();
  return true;
}

void LayerBuild::gemv_kernel() {
  try {
    lower_gemv(cfg, L.gemv_spec, L.gemv, L.nn);
  } catch (const GpuLoweringError& e) {
    unsupported(l, e.what());
  }
  L.is_gemv = true;
  L.kernel = L.gemv_spec.norm ? "rmsnorm+gemv" : "gemv";
  L.out_addr = L.gemv.y;
  L.bytes = L.gemv.bytes;
}

}  // namespace xpu::lowering::gpu
