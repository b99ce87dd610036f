// One sample's matrix layers shared by a chip's TensorCores (network.h,
// "Core split"): each core's rows or N tiles of a GEMM, and the exchange of
// the output shares through host memory.
#include <algorithm>

#include "sim/lowering/tpu/network_builder.h"

namespace xpu::lowering {

CoreShare contiguous_share(uint64_t total, uint32_t cores, uint32_t core) {
  CoreShare s;
  s.total = total;
  const uint64_t base = total / cores, extra = total % cores;
  s.lo = core * base + std::min<uint64_t>(core, extra);
  s.hi = s.lo + base + (core < extra ? 1 : 0);
  return s;
}

}  // namespace xpu::lowering

namespace xpu::lowering::detail {

using workload::Layer;

CoreShare NetBuilder::core_share(uint32_t core, uint64_t m, uint64_t n, bool cols_ok, uint64_t row_unit) const {
  if (!splitting()) return {};
  const uint64_t C = cfg_.mxu.cols, cores = opts_.cores, nts = ceil_div(n, C);
  // A core's array time: per N tile (per K chunk), its rows, but never less
  // than loading the tile's weights. A column share runs every row through
  // its tiles, a row share its rows through every tile (loading them all);
  // the column share wins ties.
  const uint64_t unit = std::max<uint64_t>(1, row_unit), units = ceil_div(m, unit);
  const uint64_t load = cfg_.mxu.weight_load_cycles;
  const uint64_t by_cols = ceil_div(nts, cores) * std::max(m, load);
  const uint64_t by_rows = nts * std::max(ceil_div(units, cores) * unit, load);
  if (cols_ok && nts >= cores && by_cols <= by_rows) {
    // Whole N tiles per core: its weight tiles are a contiguous part of the layer's image.
    CoreShare t = contiguous_share(nts, opts_.cores, core);
    t.dim = CoreShare::Dim::cols;
    t.lo *= C;
    t.hi = std::min(n, t.hi * C);
    t.total = n;
    return t;
  }
  CoreShare r = contiguous_share(units, opts_.cores, core);
  r.dim = CoreShare::Dim::rows;
  r.lo = std::min(m, r.lo * unit);
  r.hi = std::min(m, r.hi * unit);
  r.total = m;
  return r;
}

void NetBuilder::emit_gemm_share(const Layer& l, GemmJob& job, const CoreShare& s, uint64_t m, uint64_t a_ub,
                                 uint64_t c_ub, GemmCheck chk) {
  switch (s.dim) {
    case CoreShare::Dim::none: emit_gemm_rows(l, job, m, a_ub, c_ub, std::move(chk)); return;
    case CoreShare::Dim::rows: {
      if (s.hi == s.lo) return;  // fewer rows than cores: nothing for this one
      chk.a_ub += s.lo * job.a_stride;
      chk.c_ub += s.lo * job.c_stride;
      chk.im2col.m0 += s.lo;
      emit_gemm_rows(l, job, s.hi - s.lo, a_ub + s.lo * job.a_stride, c_ub + s.lo * job.c_stride, std::move(chk));
      return;
    }
    case CoreShare::Dim::cols: {
      const uint64_t C = cfg_.mxu.cols, e = eb(), w = s.hi - s.lo;
      // The check sees this core's columns: B's, the bias's and C's.
      if (chk.b) {
        auto b = std::make_shared<std::vector<uint8_t>>(job.k * w * e);
        for (uint64_t i = 0; i < job.k; ++i)
          std::copy_n(chk.b->data() + (i * job.n + s.lo) * e, w * e, b->data() + i * w * e);
        chk.b = std::move(b);
      }
      if (!chk.bias_bits.empty())
        chk.bias_bits.assign(chk.bias_bits.begin() + long(s.lo), chk.bias_bits.begin() + long(s.hi));
      chk.n = w;
      chk.c_ub += s.lo * e;
      emit_gemm_rows(l, job, m, a_ub, c_ub, std::move(chk), s.lo / C, ceil_div(s.hi, C));
      return;
    }
  }
}

void NetBuilder::exchange_shares(const TensorPlace& Y, uint64_t rows, uint64_t row_bytes, uint64_t n, bool cols_ok,
                                 uint64_t row_unit) {
  const uint64_t bytes = rows * row_bytes;
  if (bytes > xchg_bytes_) {  // one buffer, reused by every split layer
    xchg_host_ = host_alloc(bytes);
    xchg_bytes_ = bytes;
  }
  const uint64_t e = n ? row_bytes / n : 0;
  // Share c's bytes: one run of its rows, or a run of its columns per row.
  auto move = [&](tpu::Opcode op, const CoreShare& s) {
    const bool cols = s.dim == CoreShare::Dim::cols;
    if (s.hi == s.lo) return;
    if (!cols) {
      const uint64_t off = s.lo * row_bytes, b = (s.hi - s.lo) * row_bytes;
      emit(host_dma(op, xchg_host_ + off, Y.ub + off, b));
      plan().exchange_bytes += b;
      return;
    }
    for (uint64_t r = 0; r < rows; ++r) {
      const uint64_t off = r * row_bytes + s.lo * e;
      emit(host_dma(op, xchg_host_ + off, Y.ub + off, (s.hi - s.lo) * e));
    }
    plan().exchange_bytes += rows * (s.hi - s.lo) * e;
  };
  const CoreShare mine = core_share(opts_.core, rows, n, cols_ok, row_unit);
  move(tpu::Opcode::write_host_memory, mine);
  for (uint32_t c = 0; c < opts_.cores; ++c)
    if (c != opts_.core) move(tpu::Opcode::read_host_memory, core_share(c, rows, n, cols_ok, row_unit));
  plan().share = mine;
  note_io(std::string("core ") + std::to_string(opts_.core) + " of " + std::to_string(opts_.cores) + ": " +
          (mine.dim == CoreShare::Dim::cols ? "columns " : "rows ") + std::to_string(mine.lo) + "-" +
          std::to_string(mine.hi) + " of " + std::to_string(mine.total) + ", exchanged " +
          size_text(plan().exchange_bytes));
}

}  // namespace xpu::lowering::detail
