#include "sim/lowering/tpu/gemm.h"

#include <algorithm>
#include <cstring>

#include "sim/common/errors.h"

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

bool is_input_major(const tpu::MxuConfig& mxu) { return mxu.dataflow == tpu::Dataflow::is && !mxu.fold_overlap; }

// What the program of a lowered GEMM is a function of.
struct GemmProgramShape {
  tpu::MxuConfig mxu;
  GemmSpec spec;
  TpuGemmLayout L;
  bool resident = false, double_buffered = false, input_major = false;
  uint64_t acc_rows = 0;
  std::vector<uint64_t> ub_a, ub_c;  // host io: the block buffers, b % depth

  uint64_t rows(uint64_t b) const;       // A rows of M block b
  uint64_t block_len(uint64_t b) const;  // its instructions
  tpu::Instruction at(uint64_t b, uint64_t j) const;
};

TpuGemmPlan lower_gemm(const tpu::TpuConfig& cfg, const GemmSpec& spec, bool materialize) {
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

  auto shape = std::make_shared<GemmProgramShape>();
  GemmProgramShape& g = *shape;
  g.mxu = cfg.mxu;
  g.spec = spec;
  g.L = L;
  g.resident = resident;
  g.double_buffered = cfg.accumulators.double_buffered;
  g.input_major = is_input_major(cfg.mxu);
  g.acc_rows = acc_rows;
  g.ub_a = std::move(ub_a);
  g.ub_c = std::move(ub_c);
  TpuGemmPlan plan;
  plan.program.name = spec.name;
  plan.instructions = 1;  // halt
  for (uint64_t b = 0; b < L.m_blocks; ++b) plan.instructions += g.block_len(b);
  plan.shape = std::move(shape);
  if (materialize) {
    auto& code = plan.program.code;
    code.resize(plan.instructions);
    GemmStream stream(plan.shape);
    if (stream.fetch(code.data(), code.size()) != code.size() || stream.fetch(code.data(), 1) != 0)
      throw InternalError("gemm '" + spec.name + "': the program's length is not the one counted");
  }
  plan.layout = std::move(L);
  return plan;
}

uint64_t GemmProgramShape::rows(uint64_t b) const { return std::min(L.m_block, spec.m - b * L.m_block); }

uint64_t GemmProgramShape::block_len(uint64_t b) const {
  const uint64_t body = input_major ? ceil_div(rows(b), mxu.cols) * (2 * L.k_chunks * L.n_tiles + L.n_tiles)
                                    : L.n_tiles * (2 * L.k_chunks + 1);
  return body + (resident ? 0 : 2);
}

// Instruction j of M block b. host io: the block's A rows come in first and
// its C rows go out last. Per N tile, the K chunks' weight fetches and
// matmuls alternate, then the activate; an input-stationary array without
// fold overlap instead keeps each input tile (at most C rows of A, one K
// chunk) for every N tile before the next is loaded, as SCALE-Sim's IS
// folds do, N tile t accumulating into rows t * C (halves alternate per
// input tile).
tpu::Instruction GemmProgramShape::at(uint64_t b, uint64_t j) const {
  using tpu::Instruction;
  using tpu::Opcode;
  const uint64_t R = mxu.rows, C = mxu.cols;
  const uint64_t eb = dtype_bytes(spec.dtype), ob = dtype_bytes(spec.out_dtype);
  const uint64_t m0 = b * L.m_block, rows = this->rows(b);
  const uint64_t depth = ub_a.size();
  const uint64_t abuf = resident ? L.ub_a + m0 * spec.k * eb : ub_a[b % depth];
  const uint64_t cbuf = resident ? L.ub_c + m0 * spec.n * ob : ub_c[b % depth];
  Instruction in;
  if (!resident) {
    if (j == 0) {
      in.op = Opcode::read_host_memory;
      in.host_addr = L.host_a + m0 * spec.k * eb;
      in.ub_addr = abuf;
      in.bytes = rows * spec.k * eb;
      return in;
    }
    if (j + 1 == block_len(b)) {
      in.op = Opcode::write_host_memory;
      in.ub_addr = cbuf;
      in.host_addr = L.host_c + m0 * spec.n * ob;
      in.bytes = rows * spec.n * ob;
      return in;
    }
    --j;
  }
  // (m rows from row r0 of the block, K chunk kc, N tile nt) -> matmul
  auto matmul = [&](uint64_t r0, uint64_t mr, uint64_t kc, uint64_t nt, uint64_t acc) {
    in.op = Opcode::matmul;
    in.ub_addr = abuf + (r0 * spec.k + kc * R) * eb;
    in.ub_stride = spec.k * eb;
    in.acc_addr = static_cast<uint32_t>(acc);
    in.rows = static_cast<uint32_t>(mr);
    in.k = static_cast<uint32_t>(std::min(R, spec.k - kc * R));
    in.n = static_cast<uint32_t>(std::min(C, spec.n - nt * C));
    in.dtype = spec.dtype;
    in.load_weights = true;
  };
  auto fetch = [&](uint64_t kc, uint64_t nt) {
    in.op = Opcode::read_weights;
    in.weight_addr = L.tile_addr[kc * L.n_tiles + nt];
    in.k = static_cast<uint32_t>(std::min(R, spec.k - kc * R));
    in.n = static_cast<uint32_t>(std::min(C, spec.n - nt * C));
    in.dtype = spec.dtype;
  };
  auto activate = [&](uint64_t r0, uint64_t mr, uint64_t nt, uint64_t acc) {
    in.op = Opcode::activate;
    in.acc_addr = static_cast<uint32_t>(acc);
    in.ub_addr = cbuf + (r0 * spec.n + nt * C) * ob;
    in.ub_stride = spec.n * ob;
    in.rows = static_cast<uint32_t>(mr);
    in.n = static_cast<uint32_t>(std::min(C, spec.n - nt * C));
    in.fn = spec.fn;
    in.out_dtype = spec.out_dtype;
    in.scale = spec.scale;
  };
  if (input_major) {
    const uint64_t passes = 2 * L.k_chunks * L.n_tiles;
    const uint64_t f = j / (passes + L.n_tiles), r = j % (passes + L.n_tiles);
    const uint64_t r0 = f * C, mr = std::min(C, rows - r0);
    const uint64_t half = (f % 2) * L.n_tiles * C;
    if (r >= passes) {
      const uint64_t nt = r - passes;
      activate(r0, mr, nt, half + nt * C);
      return in;
    }
    const uint64_t kc = r / (2 * L.n_tiles), nt = (r / 2) % L.n_tiles;
    if (r % 2 == 0) {
      fetch(kc, nt);
    } else {
      matmul(r0, mr, kc, nt, half + nt * C);
      in.accumulate = kc > 0;
    }
    return in;
  }
  const uint64_t nt = j / (2 * L.k_chunks + 1), r = j % (2 * L.k_chunks + 1);
  // The accumulator half alternates per N tile over the whole GEMM.
  const uint64_t acc_base = double_buffered ? ((b * L.n_tiles + nt) % 2) * acc_rows : 0;
  if (r == 2 * L.k_chunks) {
    activate(0, rows, nt, acc_base);
  } else if (r % 2 == 0) {
    fetch(r / 2, nt);
  } else {
    matmul(0, rows, r / 2, nt, acc_base);
    set_k_chunk_flags(in, mxu, spec.k, r / 2);
  }
  return in;
}

GemmStream::GemmStream(std::shared_ptr<const GemmProgramShape> shape) : s_(std::move(shape)) {}

const std::string& GemmStream::name() const { return s_->spec.name; }

size_t GemmStream::fetch(tpu::Instruction* out, size_t max) {
  size_t n = 0;
  while (n < max && !done_) {
    if (block_ == s_->L.m_blocks) {
      out[n++] = tpu::Instruction{};  // halt
      done_ = true;
      break;
    }
    out[n++] = s_->at(block_, pos_);
    if (++pos_ == s_->block_len(block_)) {
      ++block_;
      pos_ = 0;
    }
  }
  return n;
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
