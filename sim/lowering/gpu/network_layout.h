#pragma once
// The byte layout in which each kernel of a network reads and writes its
// tensors' device buffers (network_stream.h), so the run can tell where a
// consumer reads exactly what its producer wrote (values flow through the
// device memory) and where it would not (a different element type, order or
// row pitch: the consumer would read other values than the tensor's).
//
// A layout is named canonically, so equal names mean equal bytes: the
// element type, the order ("" row-major in the workload's shape, "nhwc" for
// a 4-D NCHW tensor stored NHWC, "T" for a matrix stored transposed, or a
// kernel's own packing of a weight) and, where rows are padded, the pitch.
// Orders that coincide are folded: NHWC of a tensor with H W = 1 or C = 1 is
// its row-major order, a pitch equal to the row's bytes is dense, batches
// whose stride is the batch's dense size are one dense tensor.
#include <string>
#include <vector>

#include "sim/lowering/gpu/network.h"
#include "sim/lowering/gpu/network_stream.h"

namespace xpu::lowering::gpu {

// How a kernel lays a tensor out in its buffer: `batches` of `rows` x `cols`
// elements of `elem` bytes in `order`, rows `pitch` bytes apart, batches
// `stride` apart; `shape` is the tensor's (for "nhwc": N, C, H, W; rows are
// its N H W pixels, cols its C channels).
struct TensorLayout {
  uint32_t elem = 2;
  std::string type;  // the elements' type: "fp16", "bf16", "fp32", "int32", "int8"
  std::string order;
  uint64_t rows = 1, cols = 1, pitch = 0, batches = 1, stride = 0;
  workload::Shape shape;

  bool dense_rows() const { return rows <= 1 || pitch == cols * elem; }
  bool dense() const { return dense_rows() && (batches <= 1 || stride == rows * cols * elem); }
  // The canonical name: equal names, equal bytes.
  std::string name() const;
  // Whether offset() knows the order ("" and "nhwc"; not a transpose or a packing).
  bool addressable() const { return order.empty() || order == "nhwc"; }
  // The byte offset of the element at row-major index i of `shape`.
  uint64_t offset(uint64_t i) const;
};

struct TensorAccess {
  std::string key;     // the buffer (PlanPiece::key)
  uint64_t local = 0;  // where the layer's local space has it (a batched GEMM: batch 0's)
  bool write = false;  // the kernel writes it (its output); else reads it
  TensorLayout layout;
};

// Whether lower_relayout converts `from` to `to`: both orders addressable,
// one element type of 2 or 4 bytes.
bool relayout_converts(const TensorLayout& from, const TensorLayout& to);

// A copy kernel (map_copy, nn_kernels.h) moving `count` elements of a tensor
// from layout `from` at device address `src` to layout `to` at `dst`:
// rows of equal length along `to`'s storage order, each read at a constant
// stride. Throws InternalError unless relayout_converts(from, to).
void lower_relayout(const xpu::gpu::GpuConfig& cfg, const TensorLayout& from, uint64_t src, const TensorLayout& to,
                    uint64_t dst, uint64_t count, NnPlan& plan);

// Every tensor buffer layer `index` (planned as L, fusion f, pieces) reads
// or writes, with its layout; private buffers ("l<i>.*") are left out. A
// view has none.
std::vector<TensorAccess> plan_accesses(const workload::Workload& w, size_t index, const GpuLayerPlan& L,
                                        const Fusion& f, const std::vector<PlanPiece>& pieces);

}  // namespace xpu::lowering::gpu
