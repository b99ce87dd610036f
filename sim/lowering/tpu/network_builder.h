#pragma once
// Internal to the network lowering (network.h): the state of one lowering
// pass and its three parts --
//   tensor placement and spilling (network_placement.cpp): where each tensor
//     lives (unified buffer or host memory), spilled and read back in one place;
//   block planning (network_blocks.cpp): block buffers of streamed layers;
//   emitters, one file per op family: network_gemm.cpp (the GEMM emitter,
//     gemm / matmul), network_conv.cpp, network_vector.cpp, and the streamed
//     variants network_stream.cpp, network_stream_rows.cpp;
// network.cpp analyses and groups the graph and drives the pass.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sim/lowering/tpu/network.h"

namespace xpu::lowering::detail {

// Unified-buffer allocations are aligned to this many bytes.
constexpr uint64_t kUbAlign = 64;

// First-fit allocator over [0, capacity) in 64-byte units.
class UbAllocator {
 public:
  explicit UbAllocator(uint64_t capacity);
  std::optional<uint64_t> alloc(uint64_t bytes);
  void free(uint64_t addr);
  uint64_t free_bytes() const;
  uint64_t largest_free() const;  // the largest contiguous free extent

 private:
  uint64_t capacity_;
  std::map<uint64_t, uint64_t> used_;  // addr -> size
};

uint64_t ceil_div(uint64_t a, uint64_t b);
// "1.20 MB", "16.1 KB", "512 B" (decimal units), for LayerPlan::io.
std::string size_text(uint64_t bytes);
// The Activate function of a fusable elementwise layer (none otherwise).
tpu::ActFn act_of(const workload::Layer& l, float& p0, float& p1);
uint64_t align_up(uint64_t a, uint64_t b);
// Values in a tensor type: int8 quantized with `scale`, bf16/fp16 RNE, fp32 raw.
std::vector<uint8_t> to_dtype(const std::vector<float>& v, DType t, float scale);
// A host-memory DMA (read_host_memory: host -> UB; write_host_memory: UB -> host).
tpu::Instruction host_dma(tpu::Opcode op, uint64_t host_addr, uint64_t ub_addr, uint64_t bytes);

// A layer's GEMM: C[m, n] (+ bias) -> fn -> out, A rows in the UB.
struct GemmJob {
  uint64_t m = 0, n = 0, k = 0;
  uint64_t a_ub = 0, a_stride = 0;
  const std::vector<float>* b = nullptr;  // K x N row-major fp32 values (nullptr: zeros)
  std::vector<uint8_t> b_bytes;           // filled by the emitter: B in the MXU dtype
  float b_scale = 1.0f;                   // int8 weights: per-tensor scale
  const std::vector<float>* bias = nullptr;  // n values (nullptr: no bias)
  uint64_t c_ub = 0, c_stride = 0;
  tpu::ActFn fn = tpu::ActFn::none;
  float p0 = 0, p1 = 0;
  float x_scale = 1.0f, y_scale = 1.0f;   // int8 activation scales
  bool weights_from_host = false;         // B is an activation already in weight DRAM at weight_base
  uint64_t weight_base = 0;
  // Set by prepare_gemm: B's place in weight DRAM, the bias row (bias_bytes,
  // placed at bias_ub by the caller or by emit_gemm), the check's template.
  uint64_t wbase = 0;
  std::vector<uint8_t> bias_bytes;
  uint64_t bias_ub = 0;
  GemmCheck check;
  uint64_t acc_half = 0;  // accumulator half of the next pass (double-buffered), kept across row blocks
};

// Weight-only int8 (int8 weight tensors in a 16-bit run, llm_graph.h's
// weight_bits 8) is a LoweringError naming the first such layer: the MXU
// multiplies int8 x int8 or bf16 x bf16, both operands of one type, so int8
// weights would have to be widened to bf16 before the weight path (a vector
// pass per weight tile, or a load-time conversion), which is not modelled.
void reject_weight_only_int8(const workload::Workload& w, DType dtype);

class NetBuilder {
 public:
  NetBuilder(const tpu::TpuConfig& cfg, const workload::Workload& w, const NetworkOptions& opts);
  NetworkPlan run();

  // ---- used by the emitters ----
  const tpu::TpuConfig& cfg() const { return cfg_; }
  const workload::Workload& wl() const { return w_; }
  DType dt() const { return opts_.dtype; }
  bool int8() const { return opts_.dtype == DType::int8; }
  uint64_t eb() const { return dtype_bytes(opts_.dtype); }
  [[noreturn]] void fail(const workload::Layer& l, const std::string& msg) const;

  // Values of a constant tensor (nullptr: unknown, or no value work).
  const std::vector<float>* values(const std::string& tensor) const;
  // Whether this pass computes values (NetworkOptions::values).
  bool with_values() const { return opts_.values; }
  float scale_of(const std::string& tensor) const;
  bool is_nhwc(const std::string& tensor) const { return nhwc_.count(root(tensor)) != 0; }
  const std::string& root(const std::string& tensor) const;

  void emit(const tpu::Instruction& in) {
    if (discarding()) return;
    step_->program.code.push_back(in);
    if (opts_.on_code && pins_ == 0 && step_->program.code.size() >= NetworkOptions::kCodeFlush) flush_code(false);
  }
  // NetworkOptions::discard_code: instructions are dropped as they come.
  bool discarding() const { return opts_.discard_code && *opts_.discard_code; }
  // Emitted code is rewritten later (interleave, a GEMM's activates): kept
  // back from NetworkOptions::on_code until unpinned.
  void pin_code() { ++pins_; }
  void unpin_code() { --pins_; }
  void flush_code(bool last);
  // Ends the current program and starts another (weight-path operands).
  void new_step();
  ProgramStep& step() { return *step_; }
  size_t step_index() const { return cur_->steps.size() - 1; }
  LayerPlan& plan() { return *cur_; }
  // Appends to LayerPlan::io ("resident" until something moves).
  void note_io(const std::string& what);

  // ---- tensor placement and spilling (network_placement.cpp) ----
  // The tensor in the UB (read back from host if spilled); pinned for the layer.
  TensorPlace use(const std::string& tensor);
  // Allocates the group's output.
  TensorPlace produce(const std::string& tensor, bool nhwc);
  // Scratch UB bytes until the end of the layer.
  uint64_t scratch(uint64_t bytes, const std::string& what);
  // Stages constant bytes through host memory into the UB (read_host_memory).
  uint64_t constant(std::vector<uint8_t> bytes, const std::string& what);
  uint64_t host_alloc(uint64_t bytes);
  // A constant of `bytes` kept in host memory only (its rows streamed from
  // there); `values` its bytes, empty without values. Returns its address.
  uint64_t host_constant(uint64_t bytes, std::vector<uint8_t> values);
  bool resident(const std::string& tensor) const;  // in the UB now
  uint64_t tensor_bytes(const std::string& tensor) const;
  DType tensor_dtype(const std::string& tensor) const;  // the network's type; fp32 for an argmax output
  // The tensor's bytes in host memory (written out first if resident); it
  // stays there (Live::on_host) and is pinned for the layer.
  TensorPlace use_on_host(const std::string& tensor);
  // The group's output, living in host memory (ub = its host address).
  TensorPlace produce_on_host(const std::string& tensor, bool nhwc);
  // The group's output, produced in the UB but not written yet, moved to a
  // place in host memory (ub = its host address).
  TensorPlace output_to_host(const std::string& tensor);
  // Spills the live tensor with the farthest next use; false if none is left.
  bool try_spill_one();
  uint64_t ub_free_extent() const { return alloc_.largest_free(); }
  // The largest free extent once every unpinned resident tensor is spilled.
  uint64_t ub_extent_after_spills() const;
  // Whether `in` and a new tensor of `out_bytes` can be resident at once,
  // every other unpinned tensor spilled: one contiguous extent for the new
  // tensor next to `in`, not just enough bytes in total.
  bool fits_with(const std::string& in, uint64_t out_bytes) const;
  uint64_t ub_capacity() const { return cfg_.unified_buffer.capacity_bytes / 64 * 64; }

  // ---- emitters ----

  // Emitters. emit_gemm = prepare_gemm, the bias row as a constant, and
  // emit_gemm_rows over all of A; a blocked layer calls the parts itself.
  // `share`: this core's part of the GEMM (core split, network.h).
  void emit_gemm(const workload::Layer& l, GemmJob& job, const CoreShare& share = {});
  void prepare_gemm(const workload::Layer& l, GemmJob& job);
  // The passes over `rows` rows of A at a_ub into C at c_ub; records `chk`.
  // N tiles [nt_lo, nt_hi) only (a core's column share).
  void emit_gemm_rows(const workload::Layer& l, GemmJob& job, uint64_t rows, uint64_t a_ub, uint64_t c_ub,
                      GemmCheck chk, uint64_t nt_lo = 0, uint64_t nt_hi = UINT64_MAX);

  // ---- core split (network.h, "Core split"; network_core_split.cpp) ----
  bool splitting() const { return opts_.cores > 1; }
  // Core `core`'s share of a GEMM of m rows and n columns (cols_ok: a
  // column split is allowed; a row share is whole units of row_unit rows,
  // a conv's output image rows); dim none without a split.
  CoreShare core_share(uint32_t core, uint64_t m, uint64_t n, bool cols_ok, uint64_t row_unit = 1) const;
  // This core's passes of the GEMM: emit_gemm_rows over its rows or N tiles
  // of the m rows of A at a_ub into C at c_ub, the check cut to match.
  void emit_gemm_share(const workload::Layer& l, GemmJob& job, const CoreShare& s, uint64_t m, uint64_t a_ub,
                       uint64_t c_ub, GemmCheck chk);
  // After a split layer's passes: this core's share of Y (rows of
  // row_bytes; a column share of n columns within each row) out to the
  // exchange buffer, every other core's share in; records LayerPlan::share.
  void exchange_shares(const TensorPlace& Y, uint64_t rows, uint64_t row_bytes, uint64_t n, bool cols_ok,
                       uint64_t row_unit = 1);
  // B (K x N row-major at b_ub in the UB) written to a new host buffer in
  // weight-tile layout, the copy into weight DRAM at wnext (advanced).
  WeightCopy weight_path_copy(uint64_t b_ub, uint64_t K, uint64_t N, uint64_t& wnext);
  void lower_conv(const std::vector<const workload::Layer*>& group);
  void lower_dense(const std::vector<const workload::Layer*>& group);  // gemm, matmul
  void lower_vector(const std::vector<const workload::Layer*>& group);

  // Blocked and streamed emitters (network_stream.cpp).
  void lower_dense_streamed(const std::vector<const workload::Layer*>& group);
  // A matmul of two activations (B via weight DRAM) whose operands and
  // output do not fit: batch by batch through host memory (network_gemm.cpp).
  void lower_matmul_streamed(const std::vector<const workload::Layer*>& group);
  // Elementwise layers (functions; add / mul of same-shape activations or a
  // scalar) whose operands do not fit: row blocks. False: not such a case.
  bool lower_vector_streamed(const std::vector<const workload::Layer*>& group);
  // Max / avg pooling whose input, output and scratch do not fit: bands of
  // output rows (the input rows their windows read). False: it fits.
  bool lower_pool_streamed(const workload::Layer& l);
  // Global average pooling, softmax / layernorm along the last axes,
  // transposes and concat whose operands do not fit: row blocks through host
  // memory (network_stream_rows.cpp). False: it fits, or not such a case.
  bool lower_rows_streamed(const std::vector<const workload::Layer*>& group);
  // Vector instruction helpers.
  tpu::Instruction vec(tpu::VectorOp op, uint32_t rows, uint32_t n) const;

  // In-place cache append (network_llm.cpp): a graph input whose one reader
  // is a concat marked in place (a KV cache's past) is staged straight into
  // that concat's output buffer in host memory; the concat then writes only
  // the new positions. False: not such a case.
  bool stage_in_place_input(const std::string& input);
  bool lower_concat_in_place(const workload::Layer& l);

  // ---- block planning (network_blocks.cpp) ----
  // Units of `unit_bytes` per block buffer (at most max_units): two buffers
  // if they fit the largest free extent (nbuf = 2), else one, else other
  // tensors are spilled; fails naming the layer when nothing is left.
  uint64_t stream_block_units(const workload::Layer& l, uint64_t unit_bytes, uint64_t max_units, uint64_t& nbuf);
  // A block's bytes from / to host memory (read_host_memory /
  // write_host_memory), counted in the plan's stream_in / stream_out bytes.
  void stream_in(uint64_t host_addr, uint64_t ub_addr, uint64_t bytes);
  void stream_out(uint64_t host_addr, uint64_t ub_addr, uint64_t bytes);
  // Records a streamed layer's blocks in the plan (LayerPlan::io "<label>:
  // B blocks of r <unit>", with the bytes streamed in and out).
  void note_streamed(uint64_t blocks, uint64_t rows, uint64_t nbuf, const std::string& unit,
                     const char* label = "streamed");
  // Emits blocks 0 .. B-1 (body) with their inputs (in): with two buffers
  // block b + 1's input is issued before block b's work, so the DMA overlaps
  // it (the scoreboard holds a read until the buffer's previous block is
  // done); with one, each input right before its block.
  template <class In, class Body>
  static void pipeline_blocks(uint64_t B, uint64_t nbuf, In&& in, Body&& body) {
    if (nbuf == 2) in(0);
    for (uint64_t b = 0; b < B; ++b) {
      if (nbuf == 1) in(b);
      else if (b + 1 < B) in(b + 1);
      body(b);
    }
  }
  // Moves program.code[from, end) apart to slot `extra` evenly between its
  // instructions (the next block's copies between this block's passes).
  void interleave(size_t from, std::vector<tpu::Instruction> extra);
  // The most block units u <= max_units (bytes_of(u): one buffer's bytes,
  // non-decreasing in u) of which two buffers fit the largest free extent
  // (nbuf = 2), else one (nbuf = 1); 0 when not even one unit fits.
  template <class BytesOf>
  uint64_t fit_block_units(uint64_t max_units, BytesOf&& bytes_of, uint64_t& nbuf) const {
    const uint64_t ext = ub_free_extent();
    for (nbuf = 2; nbuf >= 1; --nbuf) {
      uint64_t lo = 0, hi = max_units;  // largest u in [0, max_units] with bytes_of(u) <= ext / nbuf
      while (lo < hi) {
        const uint64_t mid = (lo + hi + 1) / 2;
        if (bytes_of(mid) <= ext / nbuf) lo = mid; else hi = mid - 1;
      }
      if (lo > 0) return lo;
    }
    nbuf = 1;
    return 0;
  }
  // The residency rule of a streamed layer (network.h): the first of X and Y
  // resident, Y streamed, X streamed, both streamed -- from mode `first` on
  // -- whose need(x_host, y_host) bytes fit the UB; false when none does.
  template <class Need>
  bool pick_residency(int first, Need&& need, bool& x_host, bool& y_host) const {
    for (int mode = first; mode < 4; ++mode) {
      const bool xh = mode >= 2, yh = mode % 2 == 1;
      if (need(xh, yh) <= ub_capacity()) {
        x_host = xh;
        y_host = yh;
        return true;
      }
    }
    return false;
  }
  // fit_block_units, spilling other tensors until one unit fits; fails
  // naming `what` and one unit's bytes when nothing is left to spill.
  template <class BytesOf>
  uint64_t fit_block_units_spilling(const workload::Layer& l, uint64_t max_units, BytesOf&& bytes_of, uint64_t& nbuf,
                                    const char* what) {
    for (;;) {
      const uint64_t units = fit_block_units(max_units, bytes_of, nbuf);
      if (units > 0) return units;
      if (!try_spill_one()) fail_unfit_block(l, what, bytes_of(1));
    }
  }
  [[noreturn]] void fail_unfit_block(const workload::Layer& l, const std::string& what, uint64_t bytes) const;
  // GEMM rows per accumulator half: the M chunk of emit_gemm_rows, after
  // which the weights are loaded again anyway -- the largest useful block.
  uint64_t acc_chunk_rows() const {
    return cfg_.accumulators.double_buffered ? cfg_.accumulators.entries / 2 : cfg_.accumulators.entries;
  }
 private:
  struct Live {
    TensorPlace place;
    bool on_host = false;
    uint64_t host_addr = 0;
  };
  void analyse();
  void lower_group(const std::vector<const workload::Layer*>& group);
  // Starts the plan of a layer (or staging step) with one empty program.
  void begin_layer(LayerPlan lp, const std::string& program);
  // The plan of the graph-input ("stage_in") or graph-output step.
  void begin_staging(const std::string& name, const std::string& op);
  void end_layer();
  void hand_over();  // NetworkOptions::on_layer
  // Placement internals (network_placement.cpp).
  uint64_t ub_alloc(uint64_t bytes, const std::string& what);
  void spill_one(const std::string& what, uint64_t need);
  // The one spill: the live tensor `root` to host memory, noted in the plan.
  void spill(const std::string& root, Live& lv);
  void read_back(const std::string& root, Live& lv);
  Live& pin(const std::string& root);  // its place, pinned for the layer
  TensorPlace place_of(const std::string& tensor, const Live& lv) const;
  TensorPlace new_place(const std::string& tensor, bool nhwc) const;  // not placed yet
  size_t next_use(const std::string& root_tensor) const;
  // Frees the layer's scratch and the tensors no later layer reads.
  void free_dead_tensors();
  void stage_inputs();
  void stage_outputs();

  tpu::TpuConfig cfg_;
  const workload::Workload& w_;
  NetworkOptions opts_;
  NetworkPlan result_;
  UbAllocator alloc_;
  uint64_t host_next_ = 0;

  std::map<std::string, std::string> alias_;           // view tensor -> its input
  std::set<std::string> nhwc_;                         // roots stored NHWC
  std::map<std::string, std::vector<size_t>> reads_;   // root -> group indices that read it
  std::set<std::string> graph_outputs_;                // roots
  std::vector<std::vector<const workload::Layer*>> groups_;
  std::map<std::string, Live> live_;                   // roots in UB or spilled
  std::map<std::string, uint64_t> in_place_host_;      // in-place concat output -> its host buffer
  std::set<std::string> pinned_;
  std::vector<uint64_t> scratch_;
  size_t cur_group_ = 0;
  LayerPlan* cur_ = nullptr;
  ProgramStep* step_ = nullptr;
  uint64_t xchg_host_ = 0, xchg_bytes_ = 0;  // core split: the exchange buffer in host memory
  size_t pins_ = 0;            // pin_code() depth
  uint64_t handed_ = 0;        // instructions of the current step handed to on_code
  bool step_open_ = false;     // the current step's last part not handed over yet
};

}  // namespace xpu::lowering::detail
