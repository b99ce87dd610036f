#include "sim/lowering/gpu/network_internal.h"

#include "sim/common/errors.h"

namespace xpu::lowering::gpu {

bool depthwise(const LayerBuild& b) {
  const workload::Layer& l = b.l;
  return l.op == OpKind::conv2d && l.attrs.groups > 1 && l.attrs.groups == b.in_shape(0).at(1) &&
         b.out.at(1) == b.in_shape(0).at(1);
}

// Softmax, layernorm and global average pooling as row kernels; max/avg
// pooling and depthwise convolution on the SIMT pipes (nn_kernels.h).
void LayerBuild::row_op() {
  auto pool = [&](const PoolSpec& s) {
    try {
      lower_pool(cfg, s, L.nn);
    } catch (const GpuLoweringError& e) {
      unsupported(l, e.what());
    }
  };
  if (depthwise(*this)) {
    // Depthwise: one filter per channel, FFMA on the SIMT pipes (what GPU
    // libraries do: a GEMM view would have n = 1).
    const Shape& X = in_shape(0);
    const auto& wd = l.attrs.window;
    PoolSpec s;
    s.depthwise = true;
    s.max = false;
    s.planes = uint64_t(X[0]) * uint64_t(X[1]);
    s.channels = uint64_t(X[1]);
    s.h = X[2], s.w = X[3], s.ho = out[2], s.wo = out[3];
    s.kh = wd.kernel_h, s.kw = wd.kernel_w, s.sh = wd.stride_h, s.sw = wd.stride_w;
    s.dh = wd.dilation_h, s.dw = wd.dilation_w;
    s.pt = wd.pad_top, s.pl = wd.pad_left, s.pb = wd.pad_bottom, s.pr = wd.pad_right;
    for (size_t i = 0; i < l.inputs.size(); ++i)
      if (!l.inputs[i].empty()) {
        L.in_bytes[i] = i == 0 ? eb() : 4;  // weights and bias fp32
        L.in_addr[i] = mem.take(workload::numel(in_shape(i)) * L.in_bytes[i]);
      }
    s.io = L.io;
    s.x = L.in_addr[0];
    s.w_addr = L.in_addr[1];
    s.has_bias = l.inputs.size() > 2 && !l.inputs[2].empty();
    s.bias = s.has_bias ? L.in_addr[2] : 0;
    s.y = output();
    L.kernel = "dwconv_ffma";
    L.tol_rel = 1e-5;
    L.tol_abs = 1e-6;
    pool(s);
    return;
  }
  switch (l.op) {
    case OpKind::softmax:
    case OpKind::layernorm: {
      const Shape& X = in_shape(0);
      const int64_t axis = workload::normalize_axis(l.attrs.axis, int64_t(X.size()));
      uint64_t n = 1;
      for (size_t d = size_t(axis); d < X.size(); ++d) n *= uint64_t(X[d]);
      if (l.op == OpKind::softmax && size_t(axis) != X.size() - 1) unsupported(l, "softmax over a non-last axis");
      RowSpec s;
      s.op = l.op == OpKind::softmax ? RowOp::softmax : RowOp::layernorm;
      s.rows = count / n;
      s.has_bias = l.op == OpKind::layernorm && l.inputs.size() > 2 && !l.inputs[2].empty();
      // 16-bit rows run single-pass where the row fits the threads' registers
      // (rows16_shape, nn_kernels.h); longer ones as fp32 rows.
      if (is_act16(L.io) && rows16_shape(cfg, s.op, s.rows, n, s.has_bias).threads == 0) L.io = DType::fp32;
      s.io = L.io;
      s.n = n;
      s.eps = l.attrs.epsilon;
      const uint64_t x = input(0);
      if (l.op == OpKind::layernorm) {
        if (workload::numel(in_shape(1)) != n) unsupported(l, "layernorm scale must cover the normalized axes");
        s.scale = input(1, 4);
        if (s.has_bias) {
          if (workload::numel(in_shape(2)) != n) unsupported(l, "layernorm bias must cover the normalized axes");
          s.bias = input(2, 4);
        }
        L.tol_abs = 1e-4;
      } else {
        L.tol_rel = 1e-5;
        L.tol_abs = 1e-7;
      }
      L.kernel = l.op == OpKind::softmax ? "row_softmax" : "row_layernorm";
      output();
      for (uint64_t r = 0; r < s.rows; ++r) {
        s.x.push_back(x + r * n * eb());
        s.y.push_back(L.out_addr + r * n * eb());
      }
      lower_rows(cfg, s, L.nn);
      break;
    }
    case OpKind::global_avg_pool: {
      const Shape& X = in_shape(0);
      if (is_act16(L.io) && X.size() == 4) {
        // 16-bit: NHWC, as an average pool over the whole image (threads over channels).
        PoolSpec s;
        s.max = false;
        s.nhwc = L.nhwc = true;
        s.io = L.io;
        s.channels = uint64_t(X[1]);
        s.planes = uint64_t(X[0]) * uint64_t(X[1]);
        s.h = X[2], s.w = X[3], s.ho = 1, s.wo = 1;
        s.kh = X[2], s.kw = X[3];
        s.x = input(0);
        s.y = output();
        L.kernel = "avg_pool_nhwc";
        L.tol_rel = 1e-5;
        L.tol_abs = 1e-6;
        pool(s);
        break;
      }
      const uint64_t planes = uint64_t(X[0]) * uint64_t(X[1]), n = workload::numel(X) / planes;
      const uint64_t x = input(0);
      output();
      RowSpec s;
      s.io = L.io;
      s.op = RowOp::mean;
      s.rows = planes;
      s.n = n;
      for (uint64_t r = 0; r < planes; ++r) {
        s.x.push_back(x + r * n * eb());
        s.y.push_back(L.out_addr + r * eb());
      }
      L.kernel = "row_mean";
      L.tol_rel = 1e-5;
      L.tol_abs = 1e-6;
      lower_rows(cfg, s, L.nn);
      break;
    }
    case OpKind::max_pool:
    case OpKind::avg_pool: {
      const Shape& X = in_shape(0);
      if (X.size() != 4) unsupported(l, "pooling needs NCHW");
      const auto& wd = l.attrs.window;
      PoolSpec s;
      s.max = l.op == OpKind::max_pool;
      s.count_include_pad = l.attrs.count_include_pad;
      s.planes = uint64_t(X[0]) * uint64_t(X[1]);
      s.h = X[2], s.w = X[3], s.ho = out[2], s.wo = out[3];
      s.kh = wd.kernel_h, s.kw = wd.kernel_w, s.sh = wd.stride_h, s.sw = wd.stride_w;
      s.dh = s.max ? wd.dilation_h : 1, s.dw = s.max ? wd.dilation_w : 1;
      s.pt = wd.pad_top, s.pl = wd.pad_left, s.pb = wd.pad_bottom, s.pr = wd.pad_right;
      s.io = L.io;
      // 16-bit: NHWC (threads over channels), as the convolutions' tensors.
      s.nhwc = L.nhwc = is_act16(L.io);
      s.channels = uint64_t(X[1]);
      s.x = input(0);
      s.y = output();
      L.kernel = std::string(s.max ? "max_pool" : "avg_pool") + (s.nhwc ? "_nhwc" : "");
      if (!s.max) L.tol_rel = 1e-6, L.tol_abs = 1e-7;
      pool(s);
      break;
    }
    default:
      throw InternalError("layer '" + l.name + "': no row kernel for " + workload::op_name(l.op));
  }
}

}  // namespace xpu::lowering::gpu
