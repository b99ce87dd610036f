#pragma once
// Shared by the GPU network lowering files (network*.cpp): device memory of
// one layer, row helpers of the map kernels, and the per-layer build context.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "sim/lowering/gpu/activation.h"
#include "sim/lowering/gpu/network.h"

namespace xpu::lowering::gpu {

using workload::OpKind;
using workload::Shape;

std::vector<int64_t> strides_of(const Shape& s);

class DeviceAlloc {
 public:
  uint64_t take(uint64_t bytes) {
    const uint64_t a = next_;
    next_ = (next_ + bytes + 255) / 256 * 256;
    return a;
  }
  uint64_t size() const { return next_; }

 private:
  uint64_t next_ = 0;
};

// Tensor t is read by exactly one layer (once) and is no workload output.
bool single_use(const workload::Workload& w, const std::string& t);
// Largest divisor of n that is <= cap (rows of a contiguous map).
uint64_t chunk_of(uint64_t n, uint64_t cap);
// Row length cap of a map over `count` elements: several CTAs per SM on small tensors.
uint64_t row_cap(const xpu::gpu::GpuConfig& cfg, uint64_t count);
// Rows longer than `cap` cut into equal contiguous parts (one CTA each).
void split_rows(MapSpec& s, uint64_t cap);

// A decoder attention chain fused into one flash-attention kernel
// (network_attention.cpp): layer `prefix` (a transpose) becomes a view,
// `first` (a matmul) the kernel, first + 1 .. last its fused rows.
struct AttentionChain {
  size_t prefix = 0, first = 0, last = 0;
  std::string q, k, v;  // [B, KV, rows, d], [B, KV, L, d] x 2
  FlashSpec spec;       // shape, positions and scale (no addresses)
};
// The chain layer i belongs to as its prefix or first layer, if the
// workload asks for fused attention (params.attention = 1) and it matches.
std::optional<AttentionChain> attention_chain(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t i,
                                              DType dtype);

// Sibling matrix products run as one GEMV over their concatenated weight
// rows, as serving stacks merge q, k and v (vLLM's QKVParallelLinear,
// TensorRT-LLM's fused QKV GEMM): layer `first` and the layers up to `last`
// (network_gemv_group.cpp). Each part keeps its rows' accumulation order,
// so every output is bit for bit the unmerged GEMV's.
struct GemvGroup {
  size_t first = 0, last = 0;
  std::vector<size_t> members;                   // the merged layers, first included
  std::vector<GpuLayerPlan::GemvPart> parts;     // per member: rows, weight, output (after its views)
  // A SwiGLU MLP's gate (with its activation) and up projection, then
  // their product (gemv.h's gated GEMV): parts gate and up; the gate part's
  // output is the product's.
  bool gated = false;
  GpuActivation act;
  bool bias = false;  // every part adds its per-column bias (concatenated, as vLLM's merged bias)
  // The group starts at an RMSNorm (layer `first`) whose output only the
  // members read: folded into the GEMV (gemv.h, norm), with its epsilon.
  bool norm = false;
  float eps = 0;
};
// The group layer i starts, if the workload runs GEMVs (params.gemv = 1)
// and i is followed by siblings: matrix products of one row that read i's
// input with 16-bit constant weights of the same K, each with a bias or
// none, with only views of their outputs between them; or i, an
// activation of it, a sibling of as many rows and the product of the two
// (gate, act, up, mul as a Llama MLP is built), each output read once; or
// i an RMSNorm of one row whose output only such a group at i + 1 reads
// (the norm folded into the GEMV).
std::optional<GemvGroup> gemv_group(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t i,
                                    DType dtype);

// The layer whose kernel joins layer i's launch, if any: in a decode step
// (params.seq = 1) of a 16-bit run, i and i + 1 both rope over the same
// tables and head dimension (vLLM's rotary_embedding kernel takes q and k
// in one launch), or both the in-place cache append of one new position
// with the same shapes (its reshape_and_cache writes k and v in one); the
// second reads nothing the first writes (network_llm.cpp). Their kernels
// are the same code, so one grid runs both layers' CTAs.
std::optional<size_t> launch_sibling(const workload::Workload& w, size_t i, DType dtype);
// Lowers layer j into `L` as a sibling of the layer L holds (L.bytes: its
// memory so far): appends its CTAs to L's launch (network_llm.cpp).
void lower_sibling(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t j, DType dtype,
                   GpuLayerPlan& L);

// One layer being lowered: its device memory and operands.
struct LayerBuild {
  const xpu::gpu::GpuConfig& cfg;
  const workload::Workload& w;
  const workload::Layer& l;
  GpuLayerPlan& L;
  DeviceAlloc mem;
  const Shape& out;
  uint64_t count;

  LayerBuild(const xpu::gpu::GpuConfig& c, const workload::Workload& wl, const workload::Layer& layer, GpuLayerPlan& plan)
      : cfg(c), w(wl), l(layer), L(plan), out(layer.out_shape), count(workload::numel(layer.out_shape)) {
    L.in_addr.assign(l.inputs.size(), 0);
    L.in_bytes.assign(l.inputs.size(), 4);
  }
  const Shape& in_shape(size_t i) const { return w.tensor(l.inputs.at(i)).shape; }
  // Bytes of an activation element (L.io: fp32, or the run's 16-bit type).
  uint32_t eb() const { return act_bytes(L.io); }
  // Device address of input i, of `bytes` per element (0: an activation,
  // eb(); 4: an fp32 parameter); an operand named twice (add [x, x], concat
  // [a, a]) is one buffer: the host stages each distinct tensor once.
  uint64_t input(size_t i, uint32_t bytes = 0);
  // The layer's output buffer (L.io elements).
  uint64_t output() { return L.out_addr = mem.take(count * eb()); }
  // A map of activation `a` over the whole contiguous input.
  void contiguous_map(const GpuActivation& a);

  // Per op family (lower_layer dispatches by op): matrix() is false when
  // the layer is no implicit conv and has no GEMM view.
  bool matrix(DType dtype, const TcEpilogue& ep);  // network_matrix.cpp
  void map_op();                                   // network_map.cpp: activations, add, mul, batchnorm, concat, views, transpose
  void row_op();                                   // network_rows.cpp: softmax, layernorm, pools, depthwise conv
  void llm_op();                                   // network_llm.cpp: rmsnorm, rope, gather, argmax
  void attention(const AttentionChain& c);         // network_attention.cpp: the fused kernel
  bool gemv(DType dtype, const TcEpilogue& ep);    // network_gemv.cpp: false when it does not apply
  void gemv_merged(DType dtype, const GemvGroup& g);  // network_gemv_group.cpp
  void gemv_kernel();  // network_gemv.cpp: L.gemv_spec as the GEMV kernel
};

// A conv2d with one input channel per group and as many outputs.
bool depthwise(const LayerBuild& b);

}  // namespace xpu::lowering::gpu
