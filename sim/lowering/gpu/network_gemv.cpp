#include "sim/lowering/gpu/network_internal.h"

namespace xpu::lowering::gpu {

// A matrix product of at most 4 rows (a decode step's projections and LM
// head) as the GEMV kernel (gemv.h) where the workload asks for it
// (params.gemv = 1, set by the LLM builder) and the kernel takes it; the
// epilogue's bias and activation are applied in the kernel. Otherwise (a
// residual, more rows, too long a K for shared memory) the tensor-core GEMM
// view runs.
bool LayerBuild::gemv(DType dtype, const TcEpilogue& ep) {
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
  try {
    lower_gemv(cfg, s, L.gemv, L.nn);
  } catch (const GpuLoweringError& e) {
    unsupported(l, e.what());
  }
  L.is_gemv = true;
  L.kernel = "gemv";
  L.out_addr = L.gemv.y;
  L.bytes = L.gemv.bytes;
  return true;
}

}  // namespace xpu::lowering::gpu
