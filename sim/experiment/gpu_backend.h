#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "models/gpu/global_memory.h"
#include "models/gpu/gpu_config.h"
#include "sim/experiment/backend.h"

namespace xpu::experiment {

// Workloads on models/gpu as one stream of kernels in one device memory (a
// workload of standalone GEMMs is a network of one-GEMM layers): each layer
// lowered by sim/lowering/gpu/network.h (tensor cores for fp16/bf16/int8
// GEMM views and implicit-GEMM convs with fused epilogues, SIMT FFMA for
// fp32, nn_kernels.h kernels for the rest), its buffers placed by
// network_stream.h, the L2 carried over from kernel to kernel. Fidelity
// `timing` runs without values; `tile` and `pe` compute them: each kernel
// reads what its producers left in device memory (the host writes graph
// inputs and weights once), a layout change between producer and consumer
// is a copy kernel of its own (network_layout.h), and each layer is checked
// by sim/check/gpu_layer_check.h against a reference fed with the operands
// it read (bit for bit against the GPU-order references, or the fp32
// reference executor within documented tolerances). GEMM launches use the
// fast path (exact by construction); the implicit-GEMM conv reads %ctaid
// and is simulated in full.
std::unique_ptr<Backend> make_gpu_backend(const gpu::GpuConfig& cfg, const energy::EnergyTable& table,
                                          const std::string& instance);

// For tests: called at tile fidelity after each layer has run and been
// checked, with the device memory and each tensor's buffer address (by
// tensor name), so a test can change what the layers after it will read.
using GpuAfterLayer = std::function<void(const std::string& layer, gpu::GlobalMemory& mem,
                                         const std::function<uint64_t(const std::string& tensor)>& address)>;
// `b` must come from make_gpu_backend.
void set_gpu_after_layer(Backend& b, GpuAfterLayer hook);

}  // namespace xpu::experiment
