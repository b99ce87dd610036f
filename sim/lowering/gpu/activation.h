#pragma once
// The GPU's activation functions, emitted by the elementwise map kernel
// (nn_kernels.h) and the tensor-core epilogue (gemm_tc.h) alike. One name in
// XPU_GPU_ACTIVATIONS, one case in emit_activation and one row in
// activation.cpp (which workload functions it implements, with which fixed
// parameters, and its distance to the fp32 reference) each. The arithmetic
// (IEEE single FADD/FMUL/FFMA/FMNMX; ex2 and rcp on the SFU):
//   relu     FMNMX(x, +0)                                  bit-exact
//   clip     -FMNMX(-FMNMX(x, lo), -hi) (no FMIN)          bit-exact
//   sigmoid  rcp(1 + ex2(-x log2 e))                       <= 1e-6 relative
//   tanh     2 sigmoid(2x) - 1                             <= 2e-6 absolute
//   gelu     tanh form 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))); the erf
//            form's reference differs by <= 1e-3 absolute (the approximation
//            itself), the tanh form's by <= 5e-6 absolute.
//   silu     x rcp(1 + ex2(-x log2 e))                     <= 2e-6 relative
//   leaky_relu  SEL(x < 0 ? FMUL(x, alpha) : x)            bit-exact
// tc_reference.h re-implements each independently for the epilogue's check.
#include <cstdint>
#include <string>

#include "models/gpu/kernel_builder.h"

#define XPU_GPU_ACTIVATIONS(X) X(none) X(relu) X(clip) X(sigmoid) X(tanh) X(gelu) X(silu) X(leaky_relu)

namespace xpu::workload {
struct Layer;
}

namespace xpu::lowering::gpu {

enum class Activation : uint8_t {
#define XPU_GPU_ACT_ENUM_(n) n,
  XPU_GPU_ACTIVATIONS(XPU_GPU_ACT_ENUM_)
#undef XPU_GPU_ACT_ENUM_
};

const char* activation_name(Activation a);

// A layer's function on the GPU: the activation, its parameters (clip: lo,
// hi) and the tolerance of its check against the fp32 reference (0, 0:
// bit-exact).
struct GpuActivation {
  Activation act = Activation::none;
  float p0 = 0, p1 = 0;
  double tol_rel = 0, tol_abs = 0;
};
// By the workload function's name (sim/workload/op_table.h: activation_fn);
// throws GpuLoweringError when the GPU has none.
GpuActivation gpu_activation(const workload::Layer& l);

// Registers emit_activation may use besides y and x (y may equal x): scratch
// t (may equal y) and u, m1 holding -1.0f, predicate p. ActNeeds says which
// a function needs beyond t == x (running in place) and u.
struct ActScratch {
  uint8_t t = xpu::gpu::kRZ, u = xpu::gpu::kRZ, m1 = xpu::gpu::kRZ, p = xpu::gpu::kPT;
};
struct ActNeeds {
  bool scratch = false;    // t distinct from x (x is read after t is written)
  bool minus_one = false;  // m1
  bool predicate = false;  // p
};
ActNeeds activation_needs(Activation a);
// y = act(x) (p0, p1: parameters).
void emit_activation(xpu::gpu::KernelBuilder& kb, Activation a, float p0, float p1, uint8_t y, uint8_t x,
                     const ActScratch& s);

}  // namespace xpu::lowering::gpu
