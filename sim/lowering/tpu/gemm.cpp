#include "sim/lowering/tpu/gemm.h"

#include <algorithm>
#include <cstring>

namespace xpu::lowering {

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
uint64_t align_up(uint64_t a, uint64_t b) { return ceil_div(a, b) * b; }

bool mxu_supports(const tpu::MxuConfig& m, DType t) {
  switch (t) {
    case DType::int8: return m.supports_int8;
    case DType::bf16: return m.supports_bf16;
    case DType::fp16: return m.supports_fp16;
    default: return false;
  }
}

std::string shape_of(const GemmSpec& s) {
  return std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
}

}  // namespace

bool os_whole_k(const tpu::MxuConfig& mxu, uint64_t k) {
  return mxu.dataflow == tpu::Dataflow::os && k > mxu.rows;
}

void set_k_chunk_flags(tpu::Instruction& mm, const tpu::MxuConfig& mxu, uint64_t k, uint64_t kc) {
  const uint64_t chunks = ceil_div(k, mxu.rows);
  if (os_whole_k(mxu, k)) {
    // One dot product over the whole K per output, drained once.
    mm.accumulate = false;
    mm.continue_psums = kc > 0;
    mm.keep_psums = kc + 1 < chunks;
  } else {
    mm.accumulate = kc > 0;  // chunks meet in the accumulators
  }
}

const char* gemm_io_name(GemmIo io) { return io == GemmIo::resident ? "resident" : "host"; }

bool fits_resident(const tpu::TpuConfig& cfg, const GemmSpec& spec) {
  // C starts at the first 256-byte boundary after A (the layout below).
  const uint64_t bytes =
      align_up(spec.m * spec.k * dtype_bytes(spec.dtype), 256) + spec.m * spec.n * dtype_bytes(spec.out_dtype);
  return bytes <= cfg.unified_buffer.capacity_bytes;
}

namespace {

// Fetch of weight tile (K chunk kc, N tile nt): kk x nn elements.
tpu::Instruction read_weights_of(const TpuGemmLayout& L, uint64_t kc, uint64_t nt, uint64_t kk, uint64_t nn, DType t) {
  tpu::Instruction w;
  w.op = tpu::Opcode::read_weights;
  w.weight_addr = L.tile_addr[kc * L.n_tiles + nt];
  w.k = static_cast<uint32_t>(kk);
  w.n = static_cast<uint32_t>(nn);
  w.dtype = t;
  return w;
}

// An input-stationary array whose folds do not overlap: each stationary
// input tile (at most C rows of A, one K chunk) serves every N tile before
// the next one is loaded, as SCALE-Sim's IS folds do; N tile t accumulates
// into accumulator rows t * C (alternating halves per input tile).
void emit_is_input_major(std::vector<tpu::Instruction>& code, const tpu::TpuConfig& cfg, const GemmSpec& spec,
                         const TpuGemmLayout& L, uint64_t abuf, uint64_t cbuf, uint64_t rows) {
  using tpu::Instruction;
  using tpu::Opcode;
  const uint64_t R = cfg.mxu.rows, C = cfg.mxu.cols;
  const uint64_t eb = dtype_bytes(spec.dtype), ob = dtype_bytes(spec.out_dtype);
  for (uint64_t m0 = 0, f = 0; m0 < rows; m0 += C, ++f) {
    const uint64_t mr = std::min(C, rows - m0);
    const uint64_t half = (f % 2) * L.n_tiles * C;
    for (uint64_t kc = 0; kc < L.k_chunks; ++kc) {
      const uint64_t kk = std::min(R, spec.k - kc * R);
      for (uint64_t nt = 0; nt < L.n_tiles; ++nt) {
        const uint64_t nn = std::min(C, spec.n - nt * C);
        code.push_back(read_weights_of(L, kc, nt, kk, nn, spec.dtype));
        Instruction mm;
        mm.op = Opcode::matmul;
        mm.ub_addr = abuf + (m0 * spec.k + kc * R) * eb;
        mm.ub_stride = spec.k * eb;
        mm.acc_addr = static_cast<uint32_t>(half + nt * C);
        mm.rows = static_cast<uint32_t>(mr);
        mm.k = static_cast<uint32_t>(kk);
        mm.n = static_cast<uint32_t>(nn);
        mm.dtype = spec.dtype;
        mm.accumulate = kc > 0;
        mm.load_weights = true;
        code.push_back(mm);
      }
    }
    for (uint64_t nt = 0; nt < L.n_tiles; ++nt) {
      Instruction act;
      act.op = Opcode::activate;
      act.acc_addr = static_cast<uint32_t>(half + nt * C);
      act.ub_addr = cbuf + (m0 * spec.n + nt * C) * ob;
      act.ub_stride = spec.n * ob;
      act.rows = static_cast<uint32_t>(mr);
      act.n = static_cast<uint32_t>(std::min(C, spec.n - nt * C));
      act.fn = spec.fn;
      act.out_dtype = spec.out_dtype;
      act.scale = spec.scale;
      code.push_back(act);
    }
  }
}

}  // namespace

bool is_input_major(const tpu::MxuConfig& mxu) { return mxu.dataflow == tpu::Dataflow::is && !mxu.fold_overlap; }

TpuGemmPlan lower_gemm(const tpu::TpuConfig& cfg, const GemmSpec& spec) {
  const std::string who = "layer '" + spec.name + "' (" + shape_of(spec) + " " +
                          std::string(dtype_name(spec.dtype)) + ")";
  if (spec.m == 0 || spec.n == 0 || spec.k == 0)
    throw LoweringError(who + ": every GEMM dimension must be at least 1");
  if (!mxu_supports(cfg.mxu, spec.dtype))
    throw LoweringError(who + ": the MXU of '" + cfg.name + "' has no " +
                        std::string(dtype_name(spec.dtype)) + " mode");
  const bool float_in = spec.dtype != DType::int8;
  if (spec.out_dtype == DType::int32 && float_in)
    throw LoweringError(who + ": float inputs accumulate in fp32; int32 output is not possible");
  if (spec.out_dtype == DType::fp32 && !float_in)
    throw LoweringError(who + ": int8 inputs accumulate in int32; ask for int32 or int8 output");

  const uint64_t R = cfg.mxu.rows, C = cfg.mxu.cols;
  const uint64_t eb = dtype_bytes(spec.dtype), ob = dtype_bytes(spec.out_dtype);
  const uint64_t acc_rows = cfg.accumulators.double_buffered ? cfg.accumulators.entries / 2
                                                              : cfg.accumulators.entries;
  if (acc_rows == 0) throw LoweringError(who + ": accumulators too small to hold one row");

  TpuGemmLayout L;
  L.k_chunks = ceil_div(spec.k, R);
  L.n_tiles = ceil_div(spec.n, C);
  if (is_input_major(cfg.mxu) && 2 * L.n_tiles * C > cfg.accumulators.entries)
    throw LoweringError(who + ": an input-stationary array without fold overlap keeps " +
                        std::to_string(L.n_tiles) + " N tiles of " + std::to_string(C) +
                        " rows in each accumulator half; it has " + std::to_string(cfg.accumulators.entries) +
                        " entries");

  const uint64_t ub = cfg.unified_buffer.capacity_bytes;
  const bool resident = spec.io == GemmIo::resident;
  if (resident && !fits_resident(cfg, spec))
    throw LoweringError(who + ": A and C need " +
                        std::to_string(spec.m * spec.k * eb + spec.m * spec.n * ob) +
                        " bytes together, more than the unified buffer's " + std::to_string(ub) +
                        " bytes; it cannot stay resident (use host io)");
  // Largest M block that fits the accumulators and (host io) the unified buffer.
  const uint64_t row_bytes = spec.k * eb + spec.n * ob;  // one input row + one output row
  uint64_t mb = std::min<uint64_t>(spec.m, os_whole_k(cfg.mxu, spec.k) ? std::min(acc_rows, R) : acc_rows);
  auto fits = [&](uint64_t rows) {
    const uint64_t depth = rows < spec.m ? 2 : 1;  // double-buffer blocks when there are several
    return depth * rows * row_bytes <= ub;
  };
  while (!resident && mb > 0 && !fits(mb)) mb = (mb == 1) ? 0 : mb / 2;
  if (mb == 0)
    throw LoweringError(who + ": one input row and one output row need " + std::to_string(row_bytes) +
                        " bytes, more than the unified buffer's " + std::to_string(ub) + " bytes");
  L.m_block = mb;
  L.m_blocks = ceil_div(spec.m, mb);
  L.weight_tiles = L.m_blocks * L.k_chunks * L.n_tiles;

  // Unified buffer. host io: [A block 0][A block 1][C block 0][C block 1];
  // resident io: [A][C], whole, block b at its rows' offset.
  L.io = spec.io;
  const uint64_t depth = L.m_blocks > 1 ? 2 : 1;
  const uint64_t a_block_bytes = mb * spec.k * eb, c_block_bytes = mb * spec.n * ob;
  std::vector<uint64_t> ub_a(depth), ub_c(depth);
  for (uint64_t i = 0; i < depth; ++i) {
    ub_a[i] = i * a_block_bytes;
    ub_c[i] = depth * a_block_bytes + i * c_block_bytes;
  }
  L.ub_bytes = depth * (a_block_bytes + c_block_bytes);
  if (resident) {
    L.ub_a = 0;
    L.ub_c = align_up(spec.m * spec.k * eb, 256);
    L.ub_bytes = L.ub_c + spec.m * spec.n * ob;
  }

  // Host memory: A then C, page aligned. Weight DRAM: tiles in use order.
  if (!resident) {
    L.host_a = 0;
    L.host_c = align_up(spec.m * spec.k * eb, 4096);
    L.host_bytes = L.host_c + spec.m * spec.n * ob;
  }
  L.tile_addr.resize(L.k_chunks * L.n_tiles);
  uint64_t waddr = 0;
  for (uint64_t nt = 0; nt < L.n_tiles; ++nt)
    for (uint64_t kc = 0; kc < L.k_chunks; ++kc) {
      L.tile_addr[kc * L.n_tiles + nt] = waddr;
      waddr += std::min(R, spec.k - kc * R) * std::min(C, spec.n - nt * C) * eb;
    }
  L.weight_bytes = waddr;

  using tpu::Instruction;
  using tpu::Opcode;
  TpuGemmPlan plan;
  plan.program.name = spec.name;
  auto& code = plan.program.code;
  // Exactly the instructions below (a doubling vector would hold up to twice).
  code.reserve(L.m_blocks * ((resident ? 0 : 2) + L.n_tiles * (2 * L.k_chunks + 1)) + 1);
  uint64_t acc_half = 0;  // alternates per N tile when double buffered
  for (uint64_t b = 0; b < L.m_blocks; ++b) {
    const uint64_t m0 = b * mb, rows = std::min(mb, spec.m - m0);
    const uint64_t abuf = resident ? L.ub_a + m0 * spec.k * eb : ub_a[b % depth];
    const uint64_t cbuf = resident ? L.ub_c + m0 * spec.n * ob : ub_c[b % depth];
    if (!resident) {
      Instruction in;
      in.op = Opcode::read_host_memory;
      in.host_addr = L.host_a + m0 * spec.k * eb;
      in.ub_addr = abuf;
      in.bytes = rows * spec.k * eb;
      code.push_back(in);
    }
    if (is_input_major(cfg.mxu)) {
      emit_is_input_major(code, cfg, spec, L, abuf, cbuf, rows);
    } else
    for (uint64_t nt = 0; nt < L.n_tiles; ++nt) {
      const uint64_t nn = std::min(C, spec.n - nt * C);
      const uint32_t acc_base = static_cast<uint32_t>(acc_half * acc_rows);
      for (uint64_t kc = 0; kc < L.k_chunks; ++kc) {
        const uint64_t kk = std::min(R, spec.k - kc * R);
        code.push_back(read_weights_of(L, kc, nt, kk, nn, spec.dtype));
        Instruction mm;
        mm.op = Opcode::matmul;
        mm.ub_addr = abuf + kc * R * eb;
        mm.ub_stride = spec.k * eb;
        mm.acc_addr = acc_base;
        mm.rows = static_cast<uint32_t>(rows);
        mm.k = static_cast<uint32_t>(kk);
        mm.n = static_cast<uint32_t>(nn);
        mm.dtype = spec.dtype;
        set_k_chunk_flags(mm, cfg.mxu, spec.k, kc);
        mm.load_weights = true;
        code.push_back(mm);
      }
      Instruction act;
      act.op = Opcode::activate;
      act.acc_addr = acc_base;
      act.ub_addr = cbuf + nt * C * ob;
      act.ub_stride = spec.n * ob;
      act.rows = static_cast<uint32_t>(rows);
      act.n = static_cast<uint32_t>(nn);
      act.fn = spec.fn;
      act.out_dtype = spec.out_dtype;
      act.scale = spec.scale;
      code.push_back(act);
      if (cfg.accumulators.double_buffered) acc_half ^= 1;
    }
    if (!resident) {
      Instruction out;
      out.op = Opcode::write_host_memory;
      out.ub_addr = cbuf;
      out.host_addr = L.host_c + m0 * spec.n * ob;
      out.bytes = rows * spec.n * ob;
      code.push_back(out);
    }
  }
  Instruction halt;
  halt.op = Opcode::halt;
  code.push_back(halt);
  plan.layout = std::move(L);
  return plan;
}

std::vector<uint8_t> pack_weights(const tpu::TpuConfig& cfg, const GemmSpec& spec,
                                  const TpuGemmLayout& layout, const uint8_t* b) {
  const uint64_t R = cfg.mxu.rows, C = cfg.mxu.cols, eb = dtype_bytes(spec.dtype);
  std::vector<uint8_t> image(layout.weight_bytes);
  for (uint64_t nt = 0; nt < layout.n_tiles; ++nt)
    for (uint64_t kc = 0; kc < layout.k_chunks; ++kc) {
      const uint64_t kk = std::min(R, spec.k - kc * R), nn = std::min(C, spec.n - nt * C);
      uint8_t* dst = image.data() + layout.tile_addr[kc * layout.n_tiles + nt];
      for (uint64_t r = 0; r < kk; ++r)
        std::memcpy(dst + r * nn * eb, b + ((kc * R + r) * spec.n + nt * C) * eb, nn * eb);
    }
  return image;
}

}  // namespace xpu::lowering
