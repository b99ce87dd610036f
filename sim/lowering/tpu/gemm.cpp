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

const char* gemm_io_name(GemmIo io) {
  return io == GemmIo::resident ? "resident" : io == GemmIo::streamed ? "streamed" : "host";
}

bool fits_resident(const tpu::TpuConfig& cfg, const GemmSpec& spec) {
  // C starts at the first 256-byte boundary after A (the layout below).
  const uint64_t bytes =
      align_up(spec.m * spec.k * dtype_bytes(spec.dtype), 256) + spec.m * spec.n * dtype_bytes(spec.out_dtype);
  return bytes <= cfg.unified_buffer.capacity_bytes;
}

bool is_input_major(const tpu::MxuConfig& mxu) { return mxu.dataflow == tpu::Dataflow::is && !mxu.fold_overlap; }

namespace {

uint64_t acc_half_rows(const tpu::TpuConfig& cfg) {
  return cfg.accumulators.double_buffered ? cfg.accumulators.entries / 2 : cfg.accumulators.entries;
}

// Slab buffers of streamed io: the one the MXU reads and two in flight.
constexpr uint64_t kSlabBuffers = 3;

// The largest rows <= start, halving, for which fits(rows) holds (0: none).
template <class Fits>
uint64_t halve_to_fit(uint64_t start, Fits fits) {
  uint64_t mb = start;
  while (mb > 0 && !fits(mb)) mb = (mb == 1) ? 0 : mb / 2;
  return mb;
}

}  // namespace

uint64_t host_block_rows(const tpu::TpuConfig& cfg, const GemmSpec& spec) {
  const uint64_t acc_rows = acc_half_rows(cfg);
  const uint64_t row_bytes = spec.k * dtype_bytes(spec.dtype) + spec.n * dtype_bytes(spec.out_dtype);
  return halve_to_fit(std::min<uint64_t>(spec.m, os_whole_k(cfg.mxu, spec.k) ? std::min<uint64_t>(acc_rows, cfg.mxu.rows)
                                                                            : acc_rows),
                      [&](uint64_t rows) {
                        const uint64_t depth = rows < spec.m ? 2 : 1;  // double-buffer blocks when there are several
                        return depth * rows * row_bytes <= cfg.unified_buffer.capacity_bytes;
                      });
}

uint64_t streamed_block_rows(const tpu::TpuConfig& cfg, const GemmSpec& spec) {
  if (cfg.mxu.dataflow != tpu::Dataflow::ws) return 0;
  // Three slabs of rows x mxu.rows inputs and two C tiles of rows x mxu.cols outputs.
  const uint64_t row_bytes = kSlabBuffers * std::min<uint64_t>(cfg.mxu.rows, spec.k) * dtype_bytes(spec.dtype) +
                             2 * std::min<uint64_t>(cfg.mxu.cols, spec.n) * dtype_bytes(spec.out_dtype);
  return halve_to_fit(std::min<uint64_t>(spec.m, acc_half_rows(cfg)),
                      [&](uint64_t rows) { return rows * row_bytes <= cfg.unified_buffer.capacity_bytes; });
}

bool prefer_streamed(const tpu::TpuConfig& cfg, const GemmSpec& spec) {
  if (cfg.host.path != tpu::HostPath::dram || spec.io != GemmIo::host) return false;
  const uint64_t host = host_block_rows(cfg, spec), streamed = streamed_block_rows(cfg, spec);
  return host < uint64_t(cfg.mxu.rows) + cfg.mxu.cols - 1 && streamed > host;
}

uint64_t blocked_offset(uint64_t i, uint64_t j, uint64_t rows, uint64_t cols, uint64_t block_rows,
                        uint64_t chunk_cols) {
  const uint64_t b = i / block_rows, rb = std::min(block_rows, rows - b * block_rows);
  const uint64_t c = j / chunk_cols, cw = std::min(chunk_cols, cols - c * chunk_cols);
  return b * block_rows * cols + c * chunk_cols * rb + (i % block_rows) * cw + j % chunk_cols;
}

std::vector<uint8_t> to_blocked(const std::vector<uint8_t>& row_major, uint64_t rows, uint64_t cols, uint64_t elem,
                                uint64_t block_rows, uint64_t chunk_cols) {
  if (row_major.size() != rows * cols * elem) throw InternalError("to_blocked: the matrix is not rows x cols");
  std::vector<uint8_t> out(row_major.size());
  for (uint64_t i = 0; i < rows; ++i)
    for (uint64_t j = 0; j < cols; j += chunk_cols)
      std::memcpy(out.data() + blocked_offset(i, j, rows, cols, block_rows, chunk_cols) * elem,
                  row_major.data() + (i * cols + j) * elem, std::min(chunk_cols, cols - j) * elem);
  return out;
}

// What the program of a lowered GEMM is a function of.
struct GemmProgramShape {
  tpu::MxuConfig mxu;
  GemmSpec spec;
  TpuGemmLayout L;
  bool resident = false, double_buffered = false, input_major = false, streamed = false;
  uint64_t acc_rows = 0;
  // host io: the block buffers, b % depth; streamed: the slab buffers, slab
  // q % 3, and the C tile buffers, (b n_tiles + nt) % 2.
  std::vector<uint64_t> ub_a, ub_c;

  uint64_t rows(uint64_t b) const;       // A rows of M block b
  uint64_t block_len(uint64_t b) const;  // its instructions
  tpu::Instruction at(uint64_t b, uint64_t j) const;

  // Streamed io. Slab q = (b n_tiles + nt) k_chunks + kc is M block b's K
  // chunk kc of A for N tile nt; its DMA is issued in the group of matmul
  // q - ahead (before its weight fetch), the first `ahead` before everything.
  uint64_t slabs() const { return L.m_blocks * L.n_tiles * L.k_chunks; }
  uint64_t ahead() const { return ub_a.size() - 1; }
  // Slabs q of N tile nt of block b whose group (read of slab q + ahead,
  // weight fetch, matmul) has the read: the first `full` of its k_chunks.
  uint64_t full_groups(uint64_t b, uint64_t nt) const;
  uint64_t tile_len(uint64_t b, uint64_t nt) const { return 2 * L.k_chunks + full_groups(b, nt) + 2; }
  tpu::Instruction slab_read(uint64_t q) const;
  tpu::Instruction streamed_at(uint64_t b, uint64_t j) const;
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
  const uint64_t acc_rows = acc_half_rows(cfg);
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
  const bool streamed = spec.io == GemmIo::streamed;
  if (streamed && cfg.mxu.dataflow != tpu::Dataflow::ws)
    throw LoweringError(who + ": streamed io is lowered for weight-stationary arrays only");
  // Largest M block that fits the accumulators and (host, streamed io) the unified buffer.
  const uint64_t row_bytes = spec.k * eb + spec.n * ob;  // one input row + one output row
  const uint64_t mb = resident ? std::min<uint64_t>(spec.m, os_whole_k(cfg.mxu, spec.k) ? std::min(acc_rows, R) : acc_rows)
                      : streamed ? streamed_block_rows(cfg, spec)
                                 : host_block_rows(cfg, spec);
  if (mb == 0)
    throw LoweringError(who + (streamed ? ": one row of three K slabs and two C tiles needs " +
                                              std::to_string(kSlabBuffers * std::min(R, spec.k) * eb +
                                                             2 * std::min(C, spec.n) * ob)
                                        : ": one input row and one output row need " + std::to_string(row_bytes)) +
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
  if (streamed) {
    // [slab 0][slab 1][slab 2][C tile 0][C tile 1]
    const uint64_t slab = mb * std::min(R, spec.k) * eb, tile = mb * std::min(C, spec.n) * ob;
    ub_a.resize(kSlabBuffers);
    ub_c.resize(2);
    for (uint64_t i = 0; i < kSlabBuffers; ++i) ub_a[i] = i * slab;
    for (uint64_t i = 0; i < 2; ++i) ub_c[i] = kSlabBuffers * slab + i * tile;
    L.ub_bytes = kSlabBuffers * slab + 2 * tile;
  }
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
  g.streamed = streamed;
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

uint64_t GemmProgramShape::full_groups(uint64_t b, uint64_t nt) const {
  const uint64_t first = (b * L.n_tiles + nt) * L.k_chunks, last_read = slabs() > ahead() ? slabs() - ahead() : 0;
  return first >= last_read ? 0 : std::min(L.k_chunks, last_read - first);
}

uint64_t GemmProgramShape::block_len(uint64_t b) const {
  if (streamed) {
    uint64_t len = b == 0 ? std::min(ahead(), slabs()) : 0;
    for (uint64_t nt = 0; nt < L.n_tiles; ++nt) len += tile_len(b, nt);
    return len;
  }
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
tpu::Instruction GemmProgramShape::slab_read(uint64_t q) const {
  const uint64_t R = mxu.rows, eb = dtype_bytes(spec.dtype);
  const uint64_t b = q / (L.n_tiles * L.k_chunks), kc = q % L.k_chunks;
  const uint64_t rows = this->rows(b), kk = std::min(R, spec.k - kc * R);
  tpu::Instruction in;
  in.op = tpu::Opcode::read_host_memory;
  in.host_addr = L.host_a + blocked_offset(b * L.m_block, kc * R, spec.m, spec.k, L.m_block, R) * eb;
  in.ub_addr = ub_a[q % ub_a.size()];
  in.bytes = rows * kk * eb;
  return in;
}

// Instruction j of M block b, streamed io: block 0 starts with the first
// slabs' reads; per N tile, groups (read of the slab `ahead` later while
// there is one, weight fetch, matmul) per K chunk, then the activate and
// the C tile's write.
tpu::Instruction GemmProgramShape::streamed_at(uint64_t b, uint64_t j) const {
  using tpu::Opcode;
  const uint64_t R = mxu.rows, C = mxu.cols;
  const uint64_t eb = dtype_bytes(spec.dtype), ob = dtype_bytes(spec.out_dtype);
  if (b == 0) {
    const uint64_t pro = std::min(ahead(), slabs());
    if (j < pro) return slab_read(j);
    j -= pro;
  }
  uint64_t nt = 0;
  while (j >= tile_len(b, nt)) j -= tile_len(b, nt++);
  const uint64_t rows = this->rows(b), nn = std::min(C, spec.n - nt * C);
  const uint64_t tile = b * L.n_tiles + nt;
  const uint64_t acc = double_buffered ? (tile % 2) * acc_rows : 0;
  const uint64_t full = full_groups(b, nt);
  tpu::Instruction in;
  uint64_t kc = 0, r = 0;  // r: 0 read, 1 fetch, 2 matmul
  if (j < 3 * full) {
    kc = j / 3;
    r = j % 3;
  } else if (j - 3 * full < 2 * (L.k_chunks - full)) {
    kc = full + (j - 3 * full) / 2;
    r = 1 + (j - 3 * full) % 2;
  } else {
    const uint64_t cbuf = ub_c[tile % ub_c.size()];
    if (j - 3 * full - 2 * (L.k_chunks - full) == 0) {
      in.op = Opcode::activate;
      in.acc_addr = static_cast<uint32_t>(acc);
      in.ub_addr = cbuf;
      in.ub_stride = nn * ob;
      in.rows = static_cast<uint32_t>(rows);
      in.n = static_cast<uint32_t>(nn);
      in.fn = spec.fn;
      in.out_dtype = spec.out_dtype;
      in.scale = spec.scale;
    } else {
      in.op = Opcode::write_host_memory;
      in.ub_addr = cbuf;
      in.host_addr = L.host_c + blocked_offset(b * L.m_block, nt * C, spec.m, spec.n, L.m_block, C) * ob;
      in.bytes = rows * nn * ob;
    }
    return in;
  }
  const uint64_t q = tile * L.k_chunks + kc, kk = std::min(R, spec.k - kc * R);
  if (r == 0) return slab_read(q + ahead());
  in.k = static_cast<uint32_t>(kk);
  in.n = static_cast<uint32_t>(nn);
  in.dtype = spec.dtype;
  if (r == 1) {
    in.op = Opcode::read_weights;
    in.weight_addr = L.tile_addr[kc * L.n_tiles + nt];
    return in;
  }
  in.op = Opcode::matmul;
  in.ub_addr = ub_a[q % ub_a.size()];
  in.ub_stride = kk * eb;
  in.acc_addr = static_cast<uint32_t>(acc);
  in.rows = static_cast<uint32_t>(rows);
  in.load_weights = true;
  set_k_chunk_flags(in, mxu, spec.k, kc);
  return in;
}

tpu::Instruction GemmProgramShape::at(uint64_t b, uint64_t j) const {
  using tpu::Instruction;
  using tpu::Opcode;
  if (streamed) return streamed_at(b, j);
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
