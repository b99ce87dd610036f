#pragma once
// Lowering of one layer of a workload graph to a GPU kernel launch, layer by
// layer (the experiment runner places them in one device memory, runs and
// checks each, network_stream.h):
// - conv2d with groups = 1 on the tensor cores as an implicit GEMM
//   (conv_implicit.h), a following batchnorm folded into a per-channel bias
//   and a relu/relu6/clip fused into its epilogue (fusion_after);
// - other matrix ops as their GEMM view (tensor cores, or SIMT FFMA for
//   fp32; batched GEMMs and grouped convs as gemm_count batches in one
//   launch), a per-column bias and activation fused into the epilogue
//   (network_matrix.cpp);
// - depthwise convs and pooling on the SIMT pipes (network_rows.cpp);
// - softmax, layernorm and global average pooling as row kernels
//   (network_rows.cpp); elementwise ops, batchnorm, concat and transposes as
//   map kernels (network_map.cpp) (nn_kernels.h);
// - on fp16/bf16 runs every activation between kernels is 16-bit: the
//   conv/GEMM epilogues round their fp32 result once and write 16-bit C
//   (TcEpilogue::out16; fp32 C on 2:4 sparse kernels), the SIMT kernels read
//   and write 16-bit (GpuLayerPlan::io), pooling in NHWC; softmax and
//   layernorm single-pass (rows up to 4096). int8 and fp32 runs keep 32-bit
//   tensors, and so do the decoder's own kernels (GEMV, fused attention,
//   rmsnorm, rope, gather, argmax: network_llm.cpp, network_gemv.cpp);
// - reshape/flatten as views (no kernel);
// - a decoder's attention chain as one flash-attention kernel where the
//   workload asks for it (network_attention.cpp), and its matrix products
//   of at most 4 rows as GEMVs (network_gemv.cpp), sibling GEMVs of one
//   row that read the same input merged into one (q, k and v as vLLM's
//   QKVParallelLinear: network_gemv_group.cpp), an RMSNorm whose output
//   only such a group reads folded into it (gemv.h, norm); a decode step's rope of q
//   and of k, and its cache appends of k and v, as one launch each
//   (launch_sibling, network_llm.cpp).
// Each layer gets its own device memory, allocated from 0 (256-byte aligned);
// network_stream.h places it in the network's device memory.
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "models/gpu/gpu_config.h"
#include "sim/lowering/gpu/conv_implicit.h"
#include "sim/lowering/gpu/flash_attention.h"
#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/lowering/gpu/gemv.h"
#include "sim/lowering/gpu/gemv_w8.h"
#include "sim/lowering/gpu/nn_kernels.h"
#include "sim/numerics/mac.h"
#include "sim/workload/workload.h"

namespace xpu::lowering::gpu {

// One layer lowered on its own (not copyable after lowering: launches point
// into their plan).
struct GpuLayerPlan {
  GpuLayerPlan() = default;
  GpuLayerPlan(const GpuLayerPlan&) = delete;
  GpuLayerPlan& operator=(const GpuLayerPlan&) = delete;

  std::string kernel;    // kernel family, for the report
  bool view = false;     // reshape/flatten: no data moves, no kernel
  bool is_gemm = false;  // GEMM view (gemm_count batches, batch_bytes apart)
  bool is_conv = false;  // implicit-GEMM convolution
  bool is_attention = false;  // a fused attention chain (flash_attention.h; kernel in nn)
  FlashSpec flash;
  FlashPlan flash_plan;
  std::string attn_q, attn_k, attn_v;  // the tensors it reads
  bool is_gemv = false;  // a decode-step matrix product as a GEMV (gemv.h; kernel in nn)
  GemvSpec gemv_spec;
  GemvLayout gemv;
  // Sibling GEMVs merged into this one (gemv_group, network_internal.h):
  // each one's weight rows, weight tensor and output tensor, in row order
  // (empty: the layer's own GEMV).
  struct GemvPart {
    uint64_t rows = 0;
    std::string weight, output;
  };
  std::vector<GemvPart> gemv_parts;
  bool is_gemv_w8 = false;  // the same with int8 weights (gemv_w8.h; kernel in nn)
  GemvW8Spec gemv_w8_spec;
  GemvW8Layout gemv_w8;
  ConvSpec conv;
  ConvPlan conv_plan;
  GpuGemmSpec spec;
  GpuGemmPlan gemm;
  uint64_t count = 1, batch_bytes = 0;
  NnPlan nn;
  std::vector<uint64_t> in_addr;  // per layer input (0: absent)
  std::vector<uint32_t> in_bytes;  // per layer input: bytes per element (2: 16-bit activation, 4: fp32)
  // SIMT kernels (map, row, pool): the activations' type (fp32, or the
  // run's fp16/bf16: half_io.h); the output is of this type.
  DType io = DType::fp32;
  // Pooling on 16-bit runs: input 0 and the output (4-D NCHW tensors) are
  // NHWC in device memory, as the convolutions write and read them.
  bool nhwc = false;
  // GEMM views and convolutions: the epilogue built (out16: 16-bit C).
  TcEpilogue ep;
  uint64_t out_addr = 0, bytes = 0;
  uint64_t bn_s = 0, bn_t = 0;      // batchnorm: folded per-channel scale and shift
  double tol_abs = 0, tol_rel = 0;  // against the fp32 reference (0, 0: bit-exact)
  // Layers whose CTAs join this layer's launch (launch_sibling,
  // network_internal.h: vLLM's one rotary kernel for q and k, one cache
  // write for k and v): each lowered as on its own, its buffers after this
  // layer's in one memory (operands it shares with this layer are this
  // layer's buffers), its CTAs after this layer's in nn.launch.
  struct Sibling {
    size_t layer = 0;
    std::unique_ptr<GpuLayerPlan> plan;
  };
  std::vector<Sibling> siblings;

  const xpu::gpu::Launch& launch() const { return is_conv ? conv_plan.launch : is_gemm ? gemm.launch : nn.launch; }
  // Every launch of the layer in stream order (a split-K GEMM has two).
  std::vector<const xpu::gpu::Launch*> launches() const {
    if (is_gemm) return gemm.launches();
    if (is_attention && flash_plan.splits > 1) return {&nn.launch, &flash_plan.combine.launch};
    return {&launch()};
  }
  // The kernel and its configuration, for the report: "gemm_tc 128x128x32_w64x64_s2".
  std::string kernel_config() const;
};

// What the tensor-core epilogue of layer i absorbs: a convolution's bias, a
// following batchnorm (folded into the weights and a per-channel bias, as
// inference engines do), then an add of a same-shaped tensor computed
// before layer i (a residual connection, as TensorRT fuses it), then a
// relu/relu6/clip, each the only consumer of the tensor before it; a single
// GEMM's per-column bias and the activation after it. On int8 runs the
// same chains with the requantizing epilogue (int8_epilogue.h), an int8
// residual only (network_matrix.cpp).
struct Fusion {
  std::vector<size_t> layers;  // indexes after i
  TcEpilogue ep;
  std::string residual;  // ep.residual: the add's other operand
};

// int8 runs: `int8` names the tensors the chains before layer i (in network
// order) write as int8 (an int8 residual fuses only where its operand is
// one); a caller lowering a network in order keeps that set. Null: found by
// walking the chains from layer 0 (quadratic over a whole network).
Fusion fusion_after(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, size_t i, DType dtype,
                    const std::set<std::string>* int8 = nullptr);

// Throws lowering::LoweringError naming the layer when it cannot run. The
// plan's launch points into it: lower into the plan that will run, do not copy.
void lower_layer(const xpu::gpu::GpuConfig& cfg, const workload::Workload& w, const workload::Layer& l, DType dtype,
                 GpuLayerPlan& plan, const TcEpilogue& ep = {});

// Throws the LoweringError naming layer `l` and why it cannot run on the GPU.
[[noreturn]] void unsupported(const workload::Layer& l, const std::string& why);

// The GEMM spec of a layer's GEMM view: raw fp32/int32 accumulators come
// back so results can be checked bit for bit.
GpuGemmSpec gemm_spec(const workload::Layer& layer, DType dtype);

}  // namespace xpu::lowering::gpu
