#pragma once
// A network as one stream of kernels in one device memory.
//
// Each layer is lowered on its own into a local address space from 0
// (network.h); here its buffers are placed in the network's device memory:
// every workload tensor has one device buffer for the whole run, so a
// consumer's input buffer is its producer's output buffer (a view's output
// is its input's), and a weight tensor is one buffer, loaded once and read
// by every layer that names it. Buffers private to a layer (folded
// batchnorm bias, split-K partial sums) get their own. relocate() moves a
// layer's launches there (every kernel addresses memory through per-CTA
// buffer bases, isa.h, so moving the bases moves the kernel).
//
// With the L2 (dirty lines included) carried over from kernel to kernel
// (gpu::RunOptions::warm), a consumer then hits on the lines its producer
// left in the L2, and a weight read by several layers comes from DRAM once
// while it stays resident.
//
// Tensors are 16-bit on fp16/bf16 runs (network.h): convolutions and
// pooling NHWC, GEMM operands row-major, the other SIMT kernels in the
// workload's (NCHW) order. network_layout.h names the layout each kernel
// writes and reads; where a consumer reads a tensor in another layout than
// its producer wrote, the run converts it with a copy kernel into a buffer
// of its own, or (another element type, a packed order) says it cannot
// (gpu_backend.h).
//
// Values (tile fidelity): the kernels read and write the placed buffers
// directly. copy_out gives the check a window on a layer's buffers in its
// local layout (the operands as earlier kernels left them); copy_in writes
// what the host stages there (graph inputs and weights once, a layer's
// private parameters).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/gpu/global_memory.h"
#include "sim/lowering/gpu/network.h"

namespace xpu::lowering::gpu {

// One contiguous part of a layer's local address space and the device
// buffer it lives in: `key` names the buffer ("t:" + tensor, or a layer's
// own "l<index>.<part>"), `offset` the part's place in it.
struct PlanPiece {
  uint64_t local = 0, bytes = 0;
  std::string key;
  uint64_t offset = 0;
};

// The tensor the consumers of layer `index` read: the last fused layer's output.
std::string fused_output(const workload::Workload& w, size_t index, const Fusion& f);
// The pieces of layer `index` (w.layers[index], planned as L with fusion
// f), in local address order, covering [0, L.bytes). A view has none.
std::vector<PlanPiece> plan_pieces(const workload::Workload& w, size_t index, const GpuLayerPlan& L, const Fusion& f);

// Device buffers of a network's run, 256-byte aligned (no L2 line shared).
class StreamPlacement {
 public:
  // Every piece of every layer first (sizes: the largest need), then finish().
  void need(const std::vector<PlanPiece>& pieces);
  // A view: `view` is the buffer of `of`.
  void alias(const std::string& view, const std::string& of);
  // Addresses in first-need order.
  void finish();
  uint64_t address(const std::string& key) const;
  uint64_t bytes() const { return bytes_; }
  // The buffer a key names (through its aliases).
  const std::string& resolve(const std::string& key) const;

 private:
  std::map<std::string, std::string> alias_;
  std::map<std::string, uint64_t> size_, addr_;
  std::vector<std::string> order_;
  uint64_t bytes_ = 0;
  bool done_ = false;
};

// Moves every launch of L to the placed buffers.
void relocate(GpuLayerPlan& L, const std::vector<PlanPiece>& pieces, const StreamPlacement& p);
// The layer's local image `local` into the device memory (the pieces
// given), and back.
void copy_in(const std::vector<PlanPiece>& pieces, const StreamPlacement& p, const xpu::gpu::GlobalMemory& local,
             xpu::gpu::GlobalMemory& device);
void copy_out(const std::vector<PlanPiece>& pieces, const StreamPlacement& p, const xpu::gpu::GlobalMemory& device,
              xpu::gpu::GlobalMemory& local);

}  // namespace xpu::lowering::gpu
