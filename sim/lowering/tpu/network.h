#pragma once
// Lowering of a whole workload graph to TPU programs, one program (or two,
// see weight-path operands) per layer group, with tensors flowing from layer
// to layer in the unified buffer.
//
// How a network becomes programs:
// - Layers are grouped: a conv2d / gemm / matmul absorbs a following
//   batchnorm (folded into its weights and bias: w' = w g / sqrt(v + eps),
//   b' = (b - mean) g / sqrt(v + eps) + beta) and a following elementwise
//   function (relu, relu6, clip, sigmoid, tanh, gelu) when each is the only
//   reader of the previous output: matmul + bias + activation run in the
//   Activate step. An add followed by such a function fuses the function
//   into the vector add (ResNet's residual add + relu).
// - Matrix ops: conv2d through im2col (Toeplitz) materialized in the UB by
//   vector copies (row m = (n, oh, ow), column (c * Kh + kh) * Kw + kw, the
//   order of sim/workload/im2col.h; 1x1 stride-1 unpadded convs read their
//   input directly), then per group one GEMM (network_gemm.cpp). Depthwise
//   (one input channel per group) is what the array really does with it:
//   per channel a GEMM with K = Kh * Kw rows and N = 1 column of the array.
//   A matmul whose B is an activation (attention) writes B to host memory
//   tile by tile (write_host_memory, program 1), the host copies it into
//   weight DRAM (ProgramStep::copies_before), and program 2 reads it as
//   weights (read_weights) -- the honest weight path of a weight-stationary
//   array; the bytes are reported (LayerPlan::weight_path_bytes).
// - Vector ops run on the activation unit (vector opcode, activation_unit.h)
//   UB to UB: elementwise functions; add/mul with numpy broadcasting of
//   either operand (scalar, per-column and same-shape operands as one packed
//   instruction; any other broadcast, or operands in different layouts
//   (NHWC image and row-major), as strided instructions: the output's dims in
//   its storage order, contiguous ones merged, the innermost as the
//   elements, the largest other as the rows (row / element stride 0 repeats
//   a broadcast operand), one instruction per index of the rest
//   (strided_nest.h); the operand that repeats more is source B, whose
//   repeated row the unit reads once; the output keeps the layout of an
//   image operand on either side); batchnorm as scale_shift; softmax along
//   the last axis of a row-major tensor as one instruction, along any other
//   axis (the IR's single-axis semantics) or of an NHWC image as strided
//   rows, the axis's elements its stride apart (no transposes: the vector
//   unit's element strides are what a transpose would use); layernorm along
//   the last axes and its optional Mean / InvStdDev outputs (the moments vop
//   into an fp32 scratch, a copy per output); max/avg pooling as max/add
//   chains over the window taps into an fp32 scratch, global average
//   pooling, transposes, concatenation; reshape/flatten are views.
// - Tensors live in the UB (first-fit allocation, 64-byte aligned, freed
//   after their last reader). When a layer's working set does not fit, the
//   live tensors the layer does not read are spilled to host memory
//   (write_host_memory), farthest next use first, and read back
//   (read_host_memory) by their next reader; LayerPlan::io says what moved.
//   Graph inputs are staged in host memory and read in by an "input" step
//   (one that does not fit what the earlier ones left stays in host memory);
//   graph outputs are written back by an "output" step (nothing moves for one
//   already in host memory).
// - Blocking and streaming (network_conv.cpp, network_stream.cpp,
//   network_stream_rows.cpp), for a layer that does not fit as a whole:
//   * Residency: a conv keeps its input X and output Y in the UB if both fit
//     together with one block buffer of one output row (everything else
//     spilled); otherwise Y streams to host memory, else X streams from it,
//     else both; if one output row fits in none of these, the same order
//     with a block of one output pixel (sub-row blocks, below). A gemm / matmul with constant B, one batch and no transA
//     streams A rows and output rows by the same rule once A and Y together
//     exceed the UB. A streamed output lives in host memory (the spill
//     machinery's Live::on_host): the next layer reads it back whole if it
//     fits, a conv / gemm / elementwise / pooling layer streams it again,
//     other layers fail as below.
//   * im2col blocking: with X and Y resident, the Toeplitz matrix is built
//     whole if it fits the largest free extent of the UB, else in blocks.
//   * A block is r whole output rows of one image (conv: GEMM rows
//     m = (n, oh, 0..Wo), so blocks = N * ceil(Ho / r); gemm: r A rows,
//     blocks = ceil(M / r)). r is the largest count for which two block
//     buffers fit the largest free extent of the UB after X / Y / constants
//     are placed (double-buffered), else one buffer (no overlap), else other
//     tensors are spilled; and at most one accumulator half of GEMM rows
//     (conv: acc_rows / Wo output rows, at least one): the passes reload the
//     weights per such chunk anyway, and smaller blocks shorten the
//     pipeline's fill and drain. A buffer holds the block's im2col rows
//     (r * Wo * Cin * Kh * Kw elements), its input band when X streams (the
//     input rows [oh0 * sh - pad_top, (oh0 + r - 1) * sh - pad_top +
//     (Kh - 1) * dh] clipped to the image: the kernel halo is read again by
//     the next block) and its output rows when Y streams.
//   * Sub-row blocks: when not even one output row fits with every other
//     tensor spilled, a block is c < Wo output pixels [ow0, ow0 + c) of one
//     output row (GEMM rows m = (n, oh, ow0..ow0+c); blocks = N * Ho *
//     ceil(Wo / c)), c the most that two (else one) buffers fit, at most
//     one accumulator half. Its input band is the kernel rows of that
//     output row, columns [ow0 * sw - pad_left, (ow0 + c - 1) * sw -
//     pad_left + (Kw - 1) * dw] clipped to the image, read row by row (one
//     read_host_memory per input row); its output pixels are contiguous
//     (NHWC) and written back in one piece. Depthwise and grouped convs
//     alike; reported as "N blocks of c output pixels" and
//     LayerPlan::block_cols. A conv of which one output pixel cannot fit
//     fails (LoweringError "one output pixel needs ...").
//   * Per block: read_host_memory of the band, the vector copies of its
//     im2col rows, per group the GEMM passes over its rows into Y (or the
//     output buffer), write_host_memory of its output rows to Y's host place.
//     Double-buffered, the band of block b + 2 (1x1 convs and gemms: b + 1)
//     is read and block b + 1's copies run on the vector unit (slotted
//     between block b's passes in program order) while the MXU works on
//     block b, and block b's output drains during block b + 1; the
//     controller's scoreboard orders every reuse of a buffer (UB ranges), so
//     the overlap and the waits are the modelled units' own timing.
//   * The arithmetic is the unblocked lowering's: same weights, same passes
//     per row, so the results are bit-identical; LayerPlan::gemms has one
//     check per block and group, whose A is rebuilt from X (GemmCheck::im2col)
//     or read from host memory, since block buffers are reused.
//   * Reported: LayerPlan::io ("im2col in 25 blocks of 9 output rows
//     (double-buffered)", "streamed: 56 blocks of 2 output rows ..., in 0.20
//     MB, out 1.20 MB"), blocks, block_rows, stream_in_bytes /
//     stream_out_bytes (also counted in spill_bytes), im2col_bytes (the
//     Toeplitz bytes written, all blocks).
//   * Elementwise layers (relu ... gelu; add / mul of same-shape activations
//     or with a constant scalar, incl. a fused function) whose operands and
//     output exceed the UB stream too: the flat tensor in rows of the vector
//     unit's width, resident operands stay, operands in host memory and (if
//     it does not fit) the output stream block by block, double-buffered.
//     Max / avg pooling whose input, output and scratch exceed the UB runs
//     in bands of output rows exactly like a conv (same residency rule, the
//     band of input rows its windows read, the scratch per band, taps in
//     the resident order, so the sums round the same).
//   * Row-streamed vector layers (network_stream_rows.cpp), when their
//     operands and output exceed the UB; each element sees the resident
//     lowering's instructions in the same order, so the bits match:
//     global average pooling reads its input in bands of pixels (double-
//     buffered) and adds each pixel into the per-channel fp32 sums (the
//     resident order), the output and sums staying in the UB; softmax and
//     layernorm along the last axes of a row-major tensor (without
//     layernorm's Mean / InvStdDev outputs) run on blocks of rows, input
//     and output streamed; a transpose reads bands of its input's outermost
//     axis of more than one index (or copies from the input kept resident
//     if it fits half the UB), copies each band into a dense block of the
//     output by the resident strided copies and writes that block's runs to
//     the output in host memory; concat passes each operand's slices
//     (whole slices of several outer indices, or part of one) through a
//     buffer, requantized in place, into the output's slices in host
//     memory. Broadcasts and softmax along other axes do not stream: their
//     operands must fit the UB (a LoweringError otherwise).
//   * A matmul of two activations (attention; no bias) whose operands and
//     output exceed the UB runs batch by batch (network_gemm.cpp): program
//     1 reads each B batch from host memory into a UB buffer and writes it
//     back in weight-tile layout (the resident weight path's writes),
//     program 2 per batch reads A_g, runs the passes into an output buffer
//     and writes C_g to the output in host memory; the checks find A and C
//     in host memory. Reported as "streamed: G batches".
// - Layout: image tensors (rank 4, NCHW in the IR) are NHWC in the UB
//   (rows = pixels, columns = channels: what the MXU consumes); other
//   tensors are row-major in their logical order.
// - Precision: int8 networks hold activations as int8 with a per-tensor
//   symmetric scale (x ~= q * s; NetworkOptions::scales, calibrated by the
//   caller, default 1), weights as int8 with a per-tensor scale max|w| / 127,
//   biases as int32 in units of s_x * s_w; the Activate step dequantizes
//   (in_scale = s_x s_w), applies the function in fp32 and requantizes
//   (scale = 1 / s_y). Views keep their input's scale. bf16/fp16 networks
//   hold activations and weights in that type, biases and vector constants in
//   fp32; scratch (pool sums) is fp32.
// - Core split (NetworkOptions::cores > 1: one sample on every TensorCore
//   of a chip, sim/experiment/tpu_chip_run.h): the plan is core `core`'s.
//   A matrix layer with constant weights whose input and output are
//   resident and unblocked (a conv's one-pass path, a gemm / matmul without
//   a full C) is shared by the cores: along N in whole logical-array tiles
//   of mxu.cols columns (each core loads only its tiles' weights) when every
//   core gets a tile and the busiest core's passes take no longer than with
//   a row split (a pass per N tile and K chunk of max(its rows,
//   mxu.weight_load_cycles) cycles), else along M (every core loads all the
//   weights and computes a contiguous share of the output rows, a conv in
//   whole output image rows; a conv's groups all split by rows). Shares are
//   contiguous, the first cores taking one more when they do not divide.
//   Each core builds its A (a conv's im2col rows: its own rows in a row
//   split, all of them in a column split). After its passes a core writes its share of the
//   output to an exchange buffer in host memory (HBM, or the CMEM where the
//   DMA data is placed) and reads the other cores' shares back into its
//   unified buffer, so every core holds the whole output for the next layer
//   (a column share moves row by row). Every other layer runs whole on
//   every core (the same program). All cores' plans place every tensor at
//   the same addresses, so a runner that runs the cores' programs of a
//   layer one after the other on one model finds the whole output in place
//   (an earlier core's read of a later core's share brings stale bytes that
//   the later core's passes overwrite). Rows and columns are independent,
//   so every share is bit-exact. LayerPlan::share says what this core did.
// Errors (LoweringError naming the layer, before anything runs): operators
// or attributes the TPU lowering does not support (e.g. layernorm of an NHWC
// image), a vector layer whose operands cannot fit the unified buffer
// even with everything else spilled (or one row block of a streamed one), a
// matrix layer of which not even one block of one output pixel fits (e.g.
// one pixel's im2col row larger than the UB), dtypes the MXU lacks.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/tpu/isa.h"
#include "models/tpu/program_source.h"
#include "models/tpu/tpu_config.h"
#include "sim/lowering/lowering_error.h"
#include "sim/numerics/mac.h"
#include "sim/workload/reference_executor.h"
#include "sim/workload/workload.h"

namespace xpu::lowering {

struct LayerPlan;
struct ProgramStep;

struct NetworkOptions {
  DType dtype = DType::int8;  // MXU input precision: int8, bf16 or fp16
  // int8: activation scale per tensor name (x ~= q * scale); missing: 1.
  std::map<std::string, float> scales;
  // Constant values (weights, biases, BN statistics) by tensor name, for
  // constants whose Tensor::values are empty; nullptr and no values: zeros.
  const workload::TensorValues* constants = nullptr;
  // false (timing runs, workload checks): no value work -- weights are not
  // folded, transposed, quantized or packed, constants not converted;
  // ProgramStep::weight_image, HostConstant::bytes and GemmCheck::b stay
  // empty. The programs are the same instruction for instruction (only the
  // activate / vector scales, which no timing rule reads, may differ).
  bool values = true;
  // Core split (see "Core split" above): `cores` TensorCores share each
  // sample; this plan is core `core`'s. 1: no split.
  uint32_t cores = 1, core = 0;
  // Set: each layer (staging steps included) is handed over as soon as it
  // is lowered, in order; when the call returns true its programs are
  // dropped from the plan (without values, its GEMM checks too), so a
  // network's programs need not be held whole (a timing run executes each
  // layer here).
  std::function<bool(const LayerPlan&)> on_layer;
  // Set (with on_layer): a step's instructions are offered while it is
  // being lowered, at least kCodeFlush at a time once no later emission
  // can change them; when the call returns true it took them and they are
  // dropped from step.program.code (false: they stay, offered again with
  // more). `last` marks the step's final part (its halt included). A timing
  // run feeds them to the TPU as they come: no step is held whole either.
  static constexpr size_t kCodeFlush = 4096;
  std::function<bool(ProgramStep& step, bool last)> on_code;
  // Set and true (it may turn true during the lowering, e.g. in on_code):
  // emitted instructions are dropped as they come, never kept or
  // rewritten; every other decision of the lowering, and so every error it
  // reports, is the same. For a check that keeps no programs.
  const bool* discard_code = nullptr;
};

// Where a tensor's bytes are.
struct TensorPlace {
  std::string tensor;
  workload::Shape shape;  // logical
  DType dtype = DType::int8;
  float scale = 1.0f;     // int8 only
  bool nhwc = false;      // image tensor stored NHWC
  uint64_t ub = 0;        // byte address in the unified buffer
  uint64_t bytes = 0;
};

// Bytes the runner writes to host memory before a program: a graph input,
// converted to the tensor's place (dtype, scale, layout).
struct HostInput {
  uint64_t host_addr = 0;
  TensorPlace place;
  // Nonzero: the bytes in blocks of block_bytes, block_pitch apart (a KV
  // cache's past inside the buffer its in-place append extends).
  uint64_t block_bytes = 0, block_pitch = 0;
};
// Constant bytes (bias rows, BN/LN rows, operands of add/mul) staged in host
// memory and read into the UB by the program.
struct HostConstant {
  uint64_t host_addr = 0;
  std::vector<uint8_t> bytes;  // empty without values (NetworkOptions::values)
};
// Weight-path operand: host memory -> weight DRAM between two programs.
struct WeightCopy {
  uint64_t host_addr = 0, weight_addr = 0, bytes = 0;
};

struct ProgramStep {
  tpu::Program program;
  // Set: the program is generated as the TPU fetches it and `program` holds
  // only its name (a standalone GEMM's timing run: its host memory does not
  // grow with the GEMM's size). Each call streams it from the start.
  std::function<std::unique_ptr<tpu::ProgramSource>()> stream;
  uint64_t streamed_instructions = 0;  // the streamed program's length
  std::vector<uint8_t> weight_image;  // written to weight DRAM at 0 before the program
  uint64_t weight_bytes = 0;          // the image's size (also when it is not materialized)
  std::vector<HostInput> host_inputs;
  std::vector<HostConstant> host_constants;
  // Operands already in the unified buffer when the program starts (a
  // standalone GEMM's resident A, left there by an earlier kernel): written
  // by the runner, no cycles. `host_addr` is the UB address here.
  std::vector<HostConstant> ub_preloads;
  std::vector<WeightCopy> copies_before;
};

// One GEMM of a layer, for the bit-exact check in hardware order: A rows in
// the UB (a_ub, a_stride), B (K x N, dtype) in the weight image of
// `step`, output rows in the UB; the activate parameters to replay.
struct GemmCheck {
  size_t step = 0;
  uint64_t m = 0, n = 0, k = 0;
  uint64_t a_ub = 0, a_stride = 0;
  std::shared_ptr<const std::vector<uint8_t>> b;  // K x N row-major, dtype (shared by a layer's block checks)
  // Weight-path operand (B an activation, `b` empty): B is read back from
  // weight DRAM at b_weight_addr in weight-tile layout (weight_tiles_to_matrix)
  // after the layer ran, i.e. exactly the bytes the MXU's tiles came from.
  bool b_in_weights = false;
  uint64_t b_weight_addr = 0;
  uint64_t c_ub = 0, c_stride = 0;
  bool bias = false;
  std::vector<uint32_t> bias_bits;  // n values (int32 or fp32 bits)
  tpu::ActFn fn = tpu::ActFn::none;
  float p0 = 0, p1 = 0, in_scale = 1, scale = 1;
  DType out_dtype = DType::int8;
  // Blocked / streamed layers (see "Blocking and streaming" above): their A
  // and C rows are no longer where the MXU saw them once the layer has run
  // (scratch buffers are reused), so the check finds them at their source.
  bool a_host = false;  // A rows in host memory at a_ub (a streamed input)
  bool c_host = false;  // C rows in host memory at c_ub (a streamed output)
  // A or C stored blocked (gemm.h, blocked_offset: rows per block, columns
  // per chunk) instead of one row every a_stride / c_stride bytes
  // (a standalone GEMM's streamed io); rows 0: row by row.
  struct Blocked {
    uint64_t rows = 0, cols = 0;
  } a_blocked, c_blocked;
  // A gathered from the conv input X (NHWC, in the UB or, `host`, in host
  // memory at `addr`) as sim/workload/im2col.h defines it: rows [m0, m0 + m)
  // of the Toeplitz matrix, columns of input channels [c0, c0 + k / (kh kw)).
  struct Im2col {
    bool on = false, host = false;
    uint64_t addr = 0;
    uint64_t h = 0, w = 0, c = 0, ho = 0, wo = 0, kh = 1, kw = 1;
    uint64_t sh = 1, sw = 1, dh = 1, dw = 1, c0 = 0, m0 = 0;
    int64_t pad_top = 0, pad_left = 0;
  } im2col;
};

// A core's share of a split matrix layer (see "Core split" above): rows or
// columns [lo, hi) of each of its GEMMs (of `total`).
struct CoreShare {
  enum class Dim { none, rows, cols };
  Dim dim = Dim::none;
  uint64_t lo = 0, hi = 0, total = 0;
};

// Rows [lo, hi) of `total` that core `core` of `cores` takes in contiguous
// shares (the first total % cores cores take one more).
CoreShare contiguous_share(uint64_t total, uint32_t cores, uint32_t core);

struct LayerPlan {
  std::string name;                 // first IR layer of the group ("input", "output" for staging)
  std::vector<std::string> layers;  // the IR layers it runs
  std::string op;                   // "conv2d+batchnorm+relu"
  std::string shape;                // GEMM view or output shape
  uint64_t macs = 0;
  std::string io = "resident";      // resident, or what was spilled / read back
  std::vector<ProgramStep> steps;
  TensorPlace output;               // where its result is right after it ran
  bool has_output = false;
  std::vector<GemmCheck> gemms;
  uint64_t weight_path_bytes = 0;   // activation operands sent to weight DRAM
  uint64_t im2col_bytes = 0;        // Toeplitz matrix bytes written in the UB
  uint64_t spill_bytes = 0;         // written to / read from host for capacity (incl. streaming)
  uint64_t blocks = 0;              // row blocks of a blocked / streamed layer (0: one pass)
  uint64_t block_rows = 0;          // output rows (conv: (n, oh) rows; gemm: A rows) per block
  uint64_t block_cols = 0;          // conv sub-row blocks: output pixels per block (0: whole rows)
  uint64_t stream_in_bytes = 0;     // input bands read from host memory block by block
  uint64_t stream_out_bytes = 0;    // output blocks written to host memory
  bool output_on_host = false;      // output streamed: `output.ub` is its host address
  uint64_t array_cols_used = 0;     // N of its GEMMs (depthwise: 1), 0 for vector layers
  uint64_t array_rows_used = 0;     // K per pass (<= mxu.rows)
  uint64_t ub_bytes = 0;            // standalone GEMM: unified-buffer bytes its operands' blocks occupy
  CoreShare share;                  // core split: this core's share (dim none: the whole layer)
  uint64_t exchange_bytes = 0;      // core split: shares written to and read from the exchange buffer
};

struct NetworkPlan {
  std::vector<LayerPlan> layers;
  std::map<std::string, TensorPlace> outputs;  // graph outputs, in host memory (ub = host address)
  uint64_t host_bytes = 0;
};

// B (K x N row-major, `eb` bytes per element) from the weight-tile layout the
// lowering writes to weight DRAM: N tiles outer, K chunks of R rows inner,
// each tile (<= R x C) dense row-major.
std::vector<uint8_t> weight_tiles_to_matrix(const uint8_t* tiles, uint64_t k, uint64_t n, uint64_t R, uint64_t C,
                                            uint64_t eb);

// Checks and lowers every layer; throws LoweringError naming the layer.
NetworkPlan lower_network(const tpu::TpuConfig& cfg, const workload::Workload& w, const NetworkOptions& opts);

// A workload of standalone GEMMs (every layer one plain GEMM reading a graph
// input: the GEMM suites, SCALE-Sim GEMM files) is a network of one-GEMM
// layers with fresh operands each (network_standalone.cpp).
bool standalone_gemms(const workload::Workload& w);

// One GEMM layer's operands (dtype bytes, row-major A m x k and B k x n).
struct GemmOperands {
  std::vector<uint8_t> a, b;
};

// Lowers a standalone-GEMM workload: each layer one GEMM (gemm.h) whose raw
// accumulators (int32 / fp32) come back for a bit-exact check, A and C
// resident in the unified buffer where they fit together (`resident`), else
// in host memory. `operands` (one per layer, or nullptr for timing runs)
// become the weight image and A's preload. Throws LoweringError.
NetworkPlan lower_standalone_gemms(const tpu::TpuConfig& cfg, const workload::Workload& w, DType dtype, bool resident,
                                   const std::vector<GemmOperands>* operands);

}  // namespace xpu::lowering
