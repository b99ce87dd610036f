#pragma once
// Network-layer kernels for the GPU model besides the GEMMs (gemm_tc.h,
// gemm_simt.h): elementwise maps, row reductions (softmax, layernorm, global
// average pooling) and 2-D pooling, on fp32 or 16-bit (fp16/bf16) tensors in
// device memory (`io`). 16-bit tensors are read with 2-byte loads and widened
// (exact); all math is fp32; the rounding point is the one conversion of each
// result before its store (half_io.h), so a kernel's 16-bit output is its
// fp32 output rounded once. Parameters (batchnorm's folded scale and shift,
// layernorm's scale and bias, depthwise weights) stay fp32. Every
// kernel runs functionally on the model (values) and is timed like any
// other; except pooling none reads %ctaid: per-CTA buffer bases carry the
// CTA's rows, so they qualify for the fast path (fast_path.h).
//
// Arithmetic and its distance to the fp32 reference executor
// (sim/workload/reference_executor.h), as checked by tests/gpu/test_gpu_nn.cpp
// (16-bit io: against the reference rounded at the same point; exact ops stay
// exact, the others may differ by one 16-bit step more):
//   activation functions: activation.h
//   add, mul, copies (reshape, flatten, transpose)
//       bit-exact: FADD, FMUL are IEEE single operations.
//   batchnorm  folded on the host to y = x s + t with s = scale / sqrtf(var + eps),
//            t = bias - mean s, one FFMA:                  <= 1e-5 relative
//   softmax  max, e = ex2((x - max) log2 e), sum in the order below,
//            e rcp(sum):                                   <= 1e-5 relative
//   layernorm  sums in the order below, mean = sum (1/n),
//            rsq(var + eps):                               <= 1e-4 absolute
//   (both bit-exact against a host model of that order: the row kernels' note)
//   max_pool bit-exact; avg_pool / global_avg_pool: window sums in the
//            reference's order, times rcp(count)           <= 1e-6 relative
//   depthwise conv2d  FFMA chain in the reference's order (the reference
//            rounds products separately)                   <= 1e-5 relative + 1e-6
#include <cstdint>
#include <string>
#include <vector>

#include "models/gpu/gpu_config.h"
#include "models/gpu/isa.h"
#include "models/gpu/kernel_builder.h"
#include "sim/lowering/gpu/activation.h"
#include "sim/lowering/gpu/half_io.h"

namespace xpu::lowering::gpu {

struct NnPlan {
  xpu::gpu::Kernel kernel;
  xpu::gpu::Launch launch;  // launch.kernel points into this plan: do not copy after lowering
  // Ends kb's code with EXIT, keeps the kernel and points the launch at it
  // with its CTA size and shared memory; the caller sets the grid.
  xpu::gpu::Launch& finish(xpu::gpu::KernelBuilder& kb, uint32_t threads, uint32_t shared_bytes);
};

// Elementwise over `rows` rows of `n` elements: row r reads operand o at
// base[o][r] + i * stride[o] * in_bytes(o) and writes y at out[r] + i * eb,
// eb = act_bytes(io) (half_io.h).
enum class MapOp { act, add, mul, affine, copy };
struct MapSpec {
  MapOp op = MapOp::copy;
  // Type of x, add/mul's b and y: fp32, or fp16/bf16 (2-byte loads widened
  // to fp32, the result rounded once to 16 bits before its store; a copy
  // moves the bits). Affine's scale and shift stay fp32 (folded parameters).
  DType io = DType::fp32;
  uint32_t in_bytes(size_t o) const { return op == MapOp::affine && o > 0 ? 4u : act_bytes(io); }
  Activation act = Activation::none;  // act: the function (activation.h) and its parameters
  float p0 = 0, p1 = 0;
  uint64_t rows = 0, n = 0;
  // Operands: x; add/mul: x, b; affine: x, scale, shift (y = x scale + shift).
  std::vector<std::vector<uint64_t>> in;  // per operand: per-row base addresses
  std::vector<uint32_t> stride;           // per operand, in elements (0: one value per row)
  std::vector<uint64_t> out;              // per-row output base
};
void lower_map(const xpu::gpu::GpuConfig& cfg, const MapSpec& s, NnPlan& plan);

// One CTA per row of n elements at x[r] (y[r] out), of type io (x, y;
// scale and bias fp32). fp32 rows (and mean, argmax): 128 threads, one
// 4-byte load a loop trip, a pass over the row per reduction and one for
// the output (softmax and layernorm read the row 2-3 times).
// 16-bit softmax, layernorm and rmsnorm: single pass, shaped by
// rows16_shape: thread tid loads its vectors u T + tid (u < per) of V
// elements (one 2V-byte load each: 16 bytes for V = 8) into registers once,
// all in flight, widens them to fp32 there, and after the reductions writes
// each result rounded once to 16 bits (the only rounding point), packed V
// to a store. Rows whose register row does not fit are refused (the
// lowering runs them as fp32 rows). mean reads 16-bit and rounds its one
// result. rmsnorm: sum of x*x (FFMA), mean = sum (1/n), rsq(mean + eps),
// x inv scale; argmax: y[r] is one element, the first index of the row's
// maximum as a float (bit-exact).
//
// Accumulation order (what tests/gpu/test_gpu_rows16.cpp reproduces on the
// host, bit for bit): thread tid accumulates its own elements in load order
// (vector u ascending, then element j of the vector) from 0 (max: -inf).
// The fp32 kernel (T = 128, V = 1) then runs the shared-memory tree of
// emit_cta_reduce: at stride st = T/2, T/4, .., 1, s[i] = s[i] op s[i + st]
// for i < st, a barrier a level. The 16-bit kernel reduces in two levels,
// as warp-shuffle kernels do (two barriers): each warp's tree,
// s[32w + i] op= s[32w + i + st] for st = 16 .. 1, then warp 0's over the
// warp results, s[32i] op= s[32(i + st)] for st = T/64 .. 1. s[0] is the
// row's sum (max).
enum class RowOp { softmax, layernorm, mean, rmsnorm, argmax };
struct RowSpec {
  RowOp op = RowOp::softmax;
  uint64_t rows = 0, n = 0;
  float eps = 1e-5f;
  DType io = DType::fp32;
  std::vector<uint64_t> x, y;  // per row (mean: y[r] is one element)
  uint64_t scale = 0, bias = 0;  // layernorm, rmsnorm: n-element vectors (bias 0 with has_bias false)
  bool has_bias = false;
};
void lower_rows(const xpu::gpu::GpuConfig& cfg, const RowSpec& s, NnPlan& plan);

// The single-pass 16-bit row kernel's shape, the rule of vLLM's
// layernorm/rmsnorm launchers (csrc/layernorm_kernels.cu) with the row held
// in registers: V = gcd(8, n) elements a load (16 bytes; narrower where n
// or the bases' alignment `align` (bytes) forbid, as their vectorized path
// falls back), one CTA per row (no serving kernel splits a normalized row
// over CTAs: the reduction would need a second launch or atomics), and
// T = the smallest power of two >= 32 covering the row's n / V vectors, at
// most 1024 threads for fewer than 256 rows (decode: few rows, each spread
// over the most threads, latency-bound) and 256 for more (occupancy).
// T then doubles (to 1024) until a thread's registers fit the budget of 64
// (a 1024-thread CTA fits a 64K register file): 14 (eleven scalars, up to
// three skipped for alignment) + per V + the fp32 scale (and bias) of all
// its vectors (prefetch, loaded with the row) or of one vector at a time. threads == 0: no shape fits (with 16-byte loads:
// softmax n > 49152, rmsnorm n > 40960, layernorm with a bias n > 32768):
// the lowering runs such rows as fp32 rows.
// GPT-3's 12288: 1024 threads (decode, 8 rows, prefetched) or 512
// (prefill), two or three 16-byte loads a thread.
struct Rows16Shape {
  uint32_t threads = 0, vec = 0, per = 0;  // T, V, vectors a thread
  bool prefetch = false;
};
Rows16Shape rows16_shape(const xpu::gpu::GpuConfig& cfg, RowOp op, uint64_t rows, uint64_t n, bool has_bias,
                         uint32_t align = 16);

// 2-D max/avg pooling: a thread per output column, one CTA per block of
// output rows of an (n, c) plane (blocks from %ctaid: no fast path).
struct PoolSpec {
  bool max = true;
  // Depthwise convolution instead (groups = channels, one filter per
  // channel): acc = fma(x, w, acc) over the window's in-input positions in
  // row-major order from +0, then + bias; filter of plane p at
  // w + (p % channels) kh kw 4, bias at bias + (p % channels) 4.
  bool depthwise = false;
  uint64_t channels = 1, w_addr = 0, bias = 0;
  bool has_bias = false;
  bool count_include_pad = false;
  uint64_t planes = 0;
  int64_t h = 0, w = 0, ho = 0, wo = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0, pb = 0, pr = 0;
  uint64_t x = 0, y = 0;  // plane p at x + p h w eb, y + p ho wo eb
  // Type of x and y (eb = act_bytes(io)): 16-bit loads widened, the result
  // rounded once; depthwise weights and bias stay fp32.
  DType io = DType::fp32;
  // NHWC instead (max/avg pooling only): x is planes / channels images of
  // h x w x channels, y of ho x wo x channels. Threads run over channels
  // (a warp reads 32 consecutive channels of one pixel: coalesced, as
  // cuDNN's NHWC pooling), one CTA per (image, output row, run of output
  // columns, block of 32 to 128 channels), sized for 8 CTAs per SM; the
  // run's columns in a loop, each column's window taps all loaded before
  // they are reduced (row-major order), row and column validity hoisted.
  // The output row and run come from %ctaid (IMUL/SHR division), so no
  // fast path.
  bool nhwc = false;
};
void lower_pool(const xpu::gpu::GpuConfig& cfg, const PoolSpec& s, NnPlan& plan);

// Shared by the kernel emitters: per-CTA buffer bases (buffer b of CTA c is
// per_cta[b][c], or fixed[b] where per_cta has no list), and a counted loop
// whose body runs `iters` >= 1 times.
void set_bases(xpu::gpu::Launch& l, uint32_t ctas, uint32_t nbufs,
               const std::vector<const std::vector<uint64_t>*>& per_cta, const std::vector<uint64_t>& fixed);
// Tree reduction of r over the CTA's `threads` (a power of two) through
// shared memory at soff (this thread's 4-byte word from address 0), with a
// barrier per level; every thread gets the result in r. `reuse_shared`: one
// more barrier after the final read, so the words may be written again.
// a, b: scratch registers; q: a scratch predicate; tid: the thread index.
void emit_cta_reduce(xpu::gpu::KernelBuilder& kb, uint8_t r, xpu::gpu::Op op, uint32_t threads, uint8_t tid,
                     uint8_t soff, uint8_t a, uint8_t b, uint8_t q, bool reuse_shared);
template <typename F>
void loop(xpu::gpu::KernelBuilder& kb, uint8_t counter, uint8_t pred, uint64_t iters, F body) {
  using xpu::gpu::Cmp;
  using xpu::gpu::Op;
  kb.mov(counter, static_cast<int32_t>(iters));
  const int top = kb.label(), done = kb.label();
  kb.bind(top);
  body();
  kb.alui(Op::iadd, counter, counter, -1);
  kb.setpi(Op::isetp, pred, Cmp::gt, counter, 0);
  kb.bra(top, done, pred);
  kb.bind(done);
}

}  // namespace xpu::lowering::gpu
