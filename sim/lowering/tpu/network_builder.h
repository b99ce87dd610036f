#pragma once
// Internal to the network lowering (network.h): the state of one lowering
// pass -- tensor placement in the unified buffer, spilling, the program being
// emitted -- and the per-op emitters (network_gemm.cpp, network_vector.cpp).
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sim/lowering/tpu/network.h"

namespace xpu::lowering::detail {

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

  // Values of a constant tensor (nullptr: unknown, timing run).
  const std::vector<float>* values(const std::string& tensor) const;
  float scale_of(const std::string& tensor) const;
  bool is_nhwc(const std::string& tensor) const { return nhwc_.count(root(tensor)) != 0; }
  const std::string& root(const std::string& tensor) const;

  // The tensor in the UB (read back from host if spilled); pinned for the layer.
  TensorPlace use(const std::string& tensor);
  // Allocates the group's output.
  TensorPlace produce(const std::string& tensor, bool nhwc);
  // Scratch UB bytes until the end of the layer.
  uint64_t scratch(uint64_t bytes, const std::string& what);
  // Stages constant bytes through host memory into the UB (read_host_memory).
  uint64_t constant(std::vector<uint8_t> bytes, const std::string& what);
  void emit(const tpu::Instruction& in) { step_->program.code.push_back(in); }
  // Ends the current program and starts another (weight-path operands).
  void new_step();
  ProgramStep& step() { return *step_; }
  size_t step_index() const { return cur_->steps.size() - 1; }
  LayerPlan& plan() { return *cur_; }
  uint64_t host_alloc(uint64_t bytes);

  // Emitters. emit_gemm = prepare_gemm, the bias row as a constant, and
  // emit_gemm_rows over all of A; a blocked layer calls the parts itself.
  void emit_gemm(const workload::Layer& l, GemmJob& job);
  void prepare_gemm(const workload::Layer& l, GemmJob& job);
  // The passes over `rows` rows of A at a_ub into C at c_ub; records `chk`.
  void emit_gemm_rows(const workload::Layer& l, GemmJob& job, uint64_t rows, uint64_t a_ub, uint64_t c_ub,
                      GemmCheck chk);
  void lower_conv(const std::vector<const workload::Layer*>& group);
  void lower_dense(const std::vector<const workload::Layer*>& group);  // gemm, matmul
  void lower_vector(const std::vector<const workload::Layer*>& group);

  // Blocking and streaming (network_stream.cpp).
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
  // Units of `unit_bytes` per block buffer (at most max_units): two buffers
  // if they fit the largest free extent (nbuf = 2), else one, else other
  // tensors are spilled; fails naming the layer when nothing is left.
  uint64_t stream_block_units(const workload::Layer& l, uint64_t unit_bytes, uint64_t max_units, uint64_t& nbuf);
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
  bool resident(const std::string& tensor) const;  // in the UB now
  uint64_t tensor_bytes(const std::string& tensor) const;
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
  // Moves program.code[from, end) apart to slot `extra` evenly between its
  // instructions (the next block's copies between this block's passes).
  void interleave(size_t from, std::vector<tpu::Instruction> extra);
  uint64_t ub_free_extent() const { return alloc_.largest_free(); }
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
  // The largest free extent once every unpinned resident tensor is spilled.
  uint64_t ub_extent_after_spills() const;
  // GEMM rows per accumulator half: the M chunk of emit_gemm_rows, after
  // which the weights are loaded again anyway -- the largest useful block.
  uint64_t acc_chunk_rows() const {
    return cfg_.accumulators.double_buffered ? cfg_.accumulators.entries / 2 : cfg_.accumulators.entries;
  }
  uint64_t ub_capacity() const { return cfg_.unified_buffer.capacity_bytes / 64 * 64; }
  // Vector instruction helpers.
  tpu::Instruction vec(tpu::VectorOp op, uint32_t rows, uint32_t n) const;

 private:
  struct Live {
    TensorPlace place;
    bool on_host = false;
    uint64_t host_addr = 0;
  };
  void analyse();
  void make_groups();
  void lower_group(const std::vector<const workload::Layer*>& group);
  uint64_t ub_alloc(uint64_t bytes, const std::string& what);
  void spill_one(const std::string& what, uint64_t need);
  size_t next_use(const std::string& root_tensor) const;
  void end_layer();
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
  std::set<std::string> pinned_;
  std::vector<uint64_t> scratch_;
  size_t cur_group_ = 0;
  LayerPlan* cur_ = nullptr;
  ProgramStep* step_ = nullptr;
};

}  // namespace xpu::lowering::detail
