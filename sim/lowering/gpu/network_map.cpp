#include "sim/lowering/gpu/network_internal.h"

#include <numeric>

#include "sim/common/errors.h"
#include "sim/workload/op_table.h"

namespace xpu::lowering::gpu {

// Elementwise functions, add/mul with broadcasting, batchnorm (folded to a
// per-channel affine map), concat, transposes and views: map kernels on
// tensors of the layer's io type (nn_kernels.h).
void LayerBuild::map_op() {
  switch (l.op) {
    XPU_ACTIVATION_CASES {
      const auto a = gpu_activation(l);  // op_table.cpp, activation.cpp
      L.kernel = std::string("map_") + activation_name(a.act);
      L.tol_rel = a.tol_rel;
      L.tol_abs = a.tol_abs;
      contiguous_map(a);
      break;
    }
    case OpKind::add:
    case OpKind::mul: {
      L.kernel = l.op == OpKind::add ? "map_add" : "map_mul";
      const uint64_t a = input(0), b = input(1);
      output();
      // Align both operands to the output's rank; a row is the longest
      // suffix over which each operand is either whole or broadcast.
      const size_t r = out.size();
      Shape sa(r, 1), sb(r, 1);
      const Shape &A = in_shape(0), &B = in_shape(1);
      std::copy(A.begin(), A.end(), sa.begin() + long(r - A.size()));
      std::copy(B.begin(), B.end(), sb.begin() + long(r - B.size()));
      auto kind = [&](const Shape& s, size_t d) { return s[d] == out[d] ? (out[d] == 1 ? 2 : 1) : 0; };  // 1 whole, 0 broadcast, 2 either
      size_t first = r;
      int ka = 2, kb2 = 2;
      while (first > 0) {
        const int x = kind(sa, first - 1), y = kind(sb, first - 1);
        const int nka = ka == 2 ? x : (x == 2 || x == ka ? ka : -1), nkb = kb2 == 2 ? y : (y == 2 || y == kb2 ? kb2 : -1);
        if (nka < 0 || nkb < 0) break;
        ka = nka, kb2 = nkb, --first;
      }
      uint64_t n = 1;
      for (size_t d = first; d < r; ++d) n *= uint64_t(out[d]);
      if (first == r) n = 1;
      const uint64_t rows = count / n;
      const auto sta = strides_of(sa), stb = strides_of(sb), sto = strides_of(out);
      MapSpec s;
      s.op = l.op == OpKind::add ? MapOp::add : MapOp::mul;
      s.io = L.io;
      s.rows = rows;
      s.n = n;
      s.in.assign(2, {});
      s.stride = {ka == 0 ? 0u : 1u, kb2 == 0 ? 0u : 1u};
      for (uint64_t row = 0; row < rows; ++row) {
        uint64_t rem = row * n, oa = 0, ob = 0;
        for (size_t d = 0; d < first; ++d) {
          const uint64_t idx = rem / uint64_t(sto[d]);
          rem %= uint64_t(sto[d]);
          if (sa[d] != 1) oa += idx * uint64_t(sta[d]);
          if (sb[d] != 1) ob += idx * uint64_t(stb[d]);
        }
        s.in[0].push_back(a + oa * eb());
        s.in[1].push_back(b + ob * eb());
        s.out.push_back(L.out_addr + row * n * eb());
      }
      split_rows(s, row_cap(cfg, count));
      lower_map(cfg, s, L.nn);
      break;
    }
    case OpKind::batchnorm: {
      L.kernel = "map_affine";
      L.tol_rel = 1e-5;
      L.tol_abs = 1e-6;
      const Shape& X = in_shape(0);
      if (X.size() < 2) unsupported(l, "batchnorm needs [N, C, ...]");
      const uint64_t x = input(0);
      for (size_t i = 1; i < l.inputs.size(); ++i) input(i, 4);  // fp32 parameters
      const uint64_t C = uint64_t(X[1]), N = uint64_t(X[0]), plane = count / (N * C);
      L.bn_s = mem.take(C * 4);
      L.bn_t = mem.take(C * 4);
      output();
      MapSpec s;
      s.op = MapOp::affine;
      s.io = L.io;
      s.rows = N * C;
      s.n = plane;
      s.in.assign(3, {});
      s.stride = {1, 0, 0};
      for (uint64_t r = 0; r < N * C; ++r) {
        s.in[0].push_back(x + r * plane * eb());
        s.in[1].push_back(L.bn_s + (r % C) * 4);
        s.in[2].push_back(L.bn_t + (r % C) * 4);
        s.out.push_back(L.out_addr + r * plane * eb());
      }
      split_rows(s, row_cap(cfg, count));
      lower_map(cfg, s, L.nn);
      break;
    }
    case OpKind::concat: {
      // Copies into the output's slices, all operands in one launch: operand
      // t is `outer` contiguous blocks of len_t x inner elements, block o
      // landing at (o len + offset_t) inner. Rows are cut to the largest
      // length g dividing every block, so one map kernel of g-element rows
      // (per-row bases) moves them all; bit-exact like any copy.
      L.kernel = l.attrs.in_place ? "map_copy (in place)" : "map_copy";
      const int64_t rank = int64_t(out.size());
      const size_t axis = size_t(workload::normalize_axis(l.attrs.axis, rank));
      uint64_t outer = 1, inner = 1;
      for (size_t d = 0; d < axis; ++d) outer *= uint64_t(out[d]);
      for (size_t d = axis + 1; d < out.size(); ++d) inner *= uint64_t(out[d]);
      const uint64_t len = uint64_t(out[axis]);
      uint64_t g = 0;
      std::vector<uint64_t> base(l.inputs.size());
      // In place: operand 0 already lies in the output buffer (staged there
      // by the check); only the others are copied.
      const size_t first = l.attrs.in_place ? 1 : 0;
      if (first == 1) output();
      for (size_t t = first; t < l.inputs.size(); ++t) {
        if (l.inputs[t].empty()) unsupported(l, "absent concat operand");
        base[t] = input(t);
        g = std::gcd(g, uint64_t(in_shape(t).at(axis)) * inner);
      }
      if (first == 0) output();
      if (g == 0) unsupported(l, "empty concat");
      MapSpec s;
      s.op = MapOp::copy;
      s.io = L.io;
      s.n = g;
      s.in.assign(1, {});
      s.stride = {1};
      uint64_t offset = 0;
      for (size_t t = 0; t < l.inputs.size(); ++t) {
        const uint64_t tl = uint64_t(in_shape(t).at(axis)), block = tl * inner;
        for (uint64_t o = 0; o < outer && t >= first; ++o)
          for (uint64_t j = 0; j < block; j += g) {
            s.in[0].push_back(base[t] + (o * block + j) * eb());
            s.out.push_back(L.out_addr + ((o * len + offset) * inner + j) * eb());
          }
        offset += tl;
      }
      s.rows = s.out.size();
      split_rows(s, row_cap(cfg, count));
      lower_map(cfg, s, L.nn);
      break;
    }
    case OpKind::reshape:
    case OpKind::flatten:
      L.view = true;
      L.kernel = "view";
      input(0);
      L.out_addr = L.in_addr[0];
      break;
    case OpKind::transpose: {
      const Shape& X = in_shape(0);
      std::vector<int64_t> perm = l.attrs.perm;
      if (perm.empty())
        for (size_t d = X.size(); d-- > 0;) perm.push_back(int64_t(d));
      // Only axes of extent 1 move (a decode step's [B, 1, H, d] -> [B, H,
      // 1, d]): the elements keep their memory order, so it is a view, as
      // frameworks make it (no copy kernel).
      int64_t prev = -1;
      bool ordered = true;
      for (int64_t d : perm)
        if (X[size_t(d)] != 1) ordered = ordered && d > prev, prev = d;
      if (ordered) {
        L.view = true;
        L.kernel = "view";
        input(0);
        L.out_addr = L.in_addr[0];
        break;
      }
      L.kernel = "map_copy";
      const uint64_t x = input(0);
      output();
      const auto sx = strides_of(X), so = strides_of(out);
      const size_t r = out.size();
      const uint64_t n = uint64_t(out[r - 1]), rows = count / n;
      MapSpec s;
      s.op = MapOp::copy;
      s.io = L.io;
      s.rows = rows;
      s.n = n;
      s.in.assign(1, {});
      s.stride = {static_cast<uint32_t>(sx[size_t(perm[r - 1])])};
      for (uint64_t row = 0; row < rows; ++row) {
        uint64_t rem = row * n, off = 0;
        for (size_t d = 0; d + 1 < r; ++d) {
          const uint64_t idx = rem / uint64_t(so[d]);
          rem %= uint64_t(so[d]);
          off += idx * uint64_t(sx[size_t(perm[d])]);
        }
        s.in[0].push_back(x + off * eb());
        s.out.push_back(L.out_addr + row * n * eb());
      }
      split_rows(s, row_cap(cfg, count));
      lower_map(cfg, s, L.nn);
      break;
    }
    default:
      throw InternalError("layer '" + l.name + "': no map kernel for " + workload::op_name(l.op));
  }
}

}  // namespace xpu::lowering::gpu
