// Standalone GEMM layers as one-GEMM network layers (network.h).
#include <algorithm>
#include <memory>

#include "sim/lowering/tpu/gemm.h"
#include "sim/lowering/tpu/network.h"

namespace xpu::lowering {

bool standalone_gemms(const workload::Workload& w) {
  for (const auto& l : w.layers) {
    if (l.gemm_form != workload::GemmForm::gemm || l.gemm_count != 1 || l.attrs.trans_a || l.attrs.trans_b) return false;
    if (std::find(w.inputs.begin(), w.inputs.end(), l.inputs[0]) == w.inputs.end()) return false;
  }
  return true;
}

NetworkPlan lower_standalone_gemms(const tpu::TpuConfig& cfg, const workload::Workload& w, DType dtype, bool resident,
                                   const std::vector<GemmOperands>* operands) {
  NetworkPlan net;
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const workload::Layer& l = w.layers[i];
    GemmSpec spec;
    spec.name = l.name;
    spec.m = l.m;
    spec.n = l.n;
    spec.k = l.k;
    spec.dtype = dtype;
    // Raw accumulators come back, so results can be checked bit for bit.
    spec.out_dtype = dtype == DType::int8 ? DType::int32 : DType::fp32;
    spec.io = resident && fits_resident(cfg, spec) ? GemmIo::resident : GemmIo::host;
    if (prefer_streamed(cfg, spec)) spec.io = GemmIo::streamed;
    // Without values (a timing run) the program streams: nothing to keep.
    TpuGemmPlan g = lower_gemm(cfg, spec, operands != nullptr);
    const bool host = spec.io != GemmIo::resident;
    const bool blocked = spec.io == GemmIo::streamed;

    LayerPlan lp;
    lp.name = l.name;
    lp.layers = {l.name};
    lp.op = "gemm";
    lp.shape = l.shape();
    lp.macs = l.macs();
    lp.io = gemm_io_name(spec.io);
    lp.array_cols_used = std::min<uint64_t>(l.n, cfg.mxu.cols);
    lp.array_rows_used = std::min<uint64_t>(l.k, cfg.mxu.rows);
    lp.ub_bytes = g.layout.ub_bytes;
    ProgramStep step;
    step.program = std::move(g.program);
    step.weight_bytes = g.layout.weight_bytes;
    if (!operands) {
      step.stream = [shape = g.shape]() -> std::unique_ptr<tpu::ProgramSource> {
        return std::make_unique<GemmStream>(shape);
      };
      step.streamed_instructions = g.instructions;
    }
    GemmCheck c;
    c.m = l.m;
    c.n = l.n;
    c.k = l.k;
    c.a_host = c.c_host = host;
    c.a_ub = host ? g.layout.host_a : g.layout.ub_a;
    c.a_stride = l.k * dtype_bytes(dtype);
    c.c_ub = host ? g.layout.host_c : g.layout.ub_c;
    c.c_stride = l.n * 4;
    c.out_dtype = spec.out_dtype;
    if (blocked) {
      c.a_blocked = {g.layout.m_block, cfg.mxu.rows};
      c.c_blocked = {g.layout.m_block, cfg.mxu.cols};
    }
    if (operands) {
      const GemmOperands& v = operands->at(i);
      step.weight_image = pack_weights(cfg, spec, g.layout, v.b.data());
      (host ? step.host_constants : step.ub_preloads)
          .push_back(HostConstant{c.a_ub, blocked ? to_blocked(v.a, l.m, l.k, dtype_bytes(dtype), g.layout.m_block,
                                                               cfg.mxu.rows)
                                                  : v.a});
      c.b = std::make_shared<const std::vector<uint8_t>>(v.b);
    }
    lp.steps.push_back(std::move(step));
    lp.gemms.push_back(std::move(c));
    net.layers.push_back(std::move(lp));
  }
  return net;
}

}  // namespace xpu::lowering
