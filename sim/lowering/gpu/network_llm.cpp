#include "sim/lowering/gpu/network_internal.h"

#include <cmath>

#include "sim/common/errors.h"
#include "sim/lowering/gpu/llm_kernels.h"

namespace xpu::lowering::gpu {

// The decoder-LLM ops on fp32 tensors: rmsnorm and argmax as row kernels
// over the last axis, rope as its own kernel, gather as a copy map whose row
// sources are the constant indices' rows (an index that only exists at run
// time cannot be lowered here: its rows' addresses are baked into the map).
void LayerBuild::llm_op() {
  switch (l.op) {
    case OpKind::rmsnorm:
    case OpKind::argmax: {
      const Shape& X = in_shape(0);
      if (size_t(l.attrs.axis) != X.size() - 1) unsupported(l, "only the last axis");
      const uint64_t n = uint64_t(X.back()), rows = workload::numel(X) / n;
      RowSpec s;
      s.op = l.op == OpKind::rmsnorm ? RowOp::rmsnorm : RowOp::argmax;
      s.rows = rows;
      s.n = n;
      s.eps = l.attrs.epsilon;
      const uint64_t x = input(0);
      if (l.op == OpKind::rmsnorm) {
        s.scale = input(1);
        L.tol_abs = 1e-4;  // tree sum and rsq, as layernorm
        L.kernel = "row_rmsnorm";
      } else {
        L.kernel = "row_argmax";  // bit-exact
      }
      L.out_addr = mem.take(count * 4);
      const uint64_t per_row = count / rows;
      for (uint64_t r = 0; r < rows; ++r) {
        s.x.push_back(x + r * n * 4);
        s.y.push_back(L.out_addr + r * per_row * 4);
      }
      if (l.op == OpKind::rmsnorm && rmsnorm_vectorizes(n)) {
        L.kernel = "row_rmsnorm_vec";
        lower_rmsnorm_vec(cfg, s, L.nn);
      } else if (l.op == OpKind::argmax && argmax_vectorizes(cfg, n)) {
        L.kernel = "row_argmax_vec";
        lower_argmax_vec(cfg, s, L.nn);
      } else {
        lower_rows(cfg, s, L.nn);
      }
      break;
    }
    case OpKind::rope: {
      const Shape& X = in_shape(0);
      const uint64_t d = uint64_t(X.back()), H = uint64_t(X[X.size() - 2]), S = uint64_t(X[X.size() - 3]);
      const uint64_t rows = workload::numel(X) / (H * d);
      const uint64_t x = input(0), c = input(1), sn = input(2);
      L.out_addr = mem.take(count * 4);
      // A CTA per (position, head): a decode step's few positions still
      // spread over many SMs, and each thread loads its pair once.
      RopeSpec s;
      s.rows = rows * H;
      s.heads = 1;
      s.d = d;
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t h = 0; h < H; ++h) {
          s.x.push_back(x + (r * H + h) * d * 4);
          s.y.push_back(L.out_addr + (r * H + h) * d * 4);
          s.cos.push_back(c + (r % S) * (d / 2) * 4);
          s.sin.push_back(sn + (r % S) * (d / 2) * 4);
        }
      L.kernel = "rope";
      try {
        lower_rope(cfg, s, L.nn);
      } catch (const GpuLoweringError& e) {
        unsupported(l, e.what());
      }
      break;
    }
    case OpKind::gather: {
      const workload::Tensor& idx = w.tensor(l.inputs[1]);
      if (!idx.values) unsupported(l, "gather indices must be constants with values");
      const Shape& X = in_shape(0);
      const size_t axis = size_t(l.attrs.axis);
      const uint64_t outer = workload::numel(Shape(X.begin(), X.begin() + long(axis))), len = uint64_t(X[axis]),
                     inner = workload::numel(Shape(X.begin() + long(axis) + 1, X.end()));
      const uint64_t x = input(0);
      input(1);
      L.out_addr = mem.take(count * 4);
      MapSpec s;
      s.op = MapOp::copy;
      s.n = inner;
      s.in.assign(1, {});
      s.stride = {1};
      const auto& ids = *idx.values;
      for (uint64_t o = 0; o < outer; ++o)
        for (uint64_t k = 0; k < ids.size(); ++k) {
          const float f = ids[k];
          if (!(f == std::floor(f)) || f < -float(len) || f >= float(len))
            unsupported(l, "index " + std::to_string(f) + " out of range");
          const uint64_t at = uint64_t(f < 0 ? int64_t(f) + int64_t(len) : int64_t(f));
          s.in[0].push_back(x + (o * len + at) * inner * 4);
          s.out.push_back(L.out_addr + (o * ids.size() + k) * inner * 4);
        }
      s.rows = s.out.size();
      split_rows(s, row_cap(cfg, count));
      L.kernel = "gather_copy";
      lower_map(cfg, s, L.nn);
      break;
    }
    default: throw InternalError("layer '" + l.name + "': no LLM kernel for " + workload::op_name(l.op));
  }
}

}  // namespace xpu::lowering::gpu
