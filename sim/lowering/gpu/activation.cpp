#include "sim/lowering/gpu/activation.h"

#include "sim/lowering/gpu/gemm_tc.h"
#include "sim/numerics/float_bits.h"
#include "sim/workload/layer.h"
#include "sim/workload/op_table.h"

namespace xpu::lowering::gpu {

using namespace xpu::gpu;

namespace {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kSqrt2OverPi = 0.7978845608028654f;

int32_t fbits(float f) { return static_cast<int32_t>(float_to_bits(f)); }

// tanh(z) = 2 sigmoid(2z) - 1 into d (t scratch; m1 holds -1.0f).
void emit_tanh(KernelBuilder& kb, uint8_t d, uint8_t z, uint8_t t, uint8_t m1) {
  kb.alui(Op::fmul, t, z, fbits(-2.0f * kLog2e));
  kb.alu(Op::ex2, t, t, kRZ);
  kb.alui(Op::fadd, t, t, fbits(1.0f));
  kb.alu(Op::rcp, t, t, kRZ);
  kb.alui(Op::ffma, d, t, fbits(2.0f), m1);
}

// Workload function -> GPU activation. Fixed parameters (relu6 is clip(0, 6))
// replace the layer's; tolerances per activation.h.
struct Row {
  const char* fn;
  Activation act;
  bool fixed;
  float p0, p1;
  double tol_rel, tol_abs;
};
const Row kRows[] = {
    {"relu", Activation::relu, false, 0, 0, 0, 0},
    {"relu6", Activation::clip, true, 0, 6, 0, 0},
    {"clip", Activation::clip, false, 0, 0, 0, 0},
    {"sigmoid", Activation::sigmoid, false, 0, 0, 1e-6, 1e-7},
    {"tanh", Activation::tanh, false, 0, 0, 0, 2e-6},
    {"gelu", Activation::gelu, false, 0, 0, 0, 1e-3},  // the erf form, computed in the tanh form
    {"gelu_tanh", Activation::gelu, false, 0, 0, 0, 5e-6},
    {"silu", Activation::silu, false, 0, 0, 2e-6, 1e-7},
    {"leaky_relu", Activation::leaky_relu, false, 0, 0, 0, 0},
};

}  // namespace

const char* activation_name(Activation a) {
  static const char* const names[] = {
#define XPU_GPU_ACT_NAME_(n) #n,
      XPU_GPU_ACTIVATIONS(XPU_GPU_ACT_NAME_)
#undef XPU_GPU_ACT_NAME_
  };
  return names[static_cast<size_t>(a)];
}

GpuActivation gpu_activation(const workload::Layer& l) {
  const std::string name = workload::activation_fn(l.op, l.attrs);
  for (const Row& r : kRows) {
    if (name != r.fn) continue;
    GpuActivation g;
    g.act = r.act;
    if (r.fixed) {
      g.p0 = r.p0;
      g.p1 = r.p1;
    } else {
      workload::act_params(l.op, l.attrs, g.p0, g.p1);
    }
    g.tol_rel = r.tol_rel;
    g.tol_abs = r.tol_abs;
    return g;
  }
  throw GpuLoweringError("layer '" + l.name + "': no GPU kernel for activation '" + name + "'");
}

ActNeeds activation_needs(Activation a) {
  switch (a) {
    case Activation::none:
    case Activation::relu:
    case Activation::clip:
    case Activation::sigmoid: return {};
    case Activation::tanh: return {false, true, false};
    case Activation::gelu: return {true, true, false};
    case Activation::silu: return {true, false, false};
    case Activation::leaky_relu: return {true, false, true};
  }
  return {true, true, true};
}

void emit_activation(KernelBuilder& kb, Activation a, float p0, float p1, uint8_t y, uint8_t x, const ActScratch& s) {
  switch (a) {
    case Activation::none:
      if (y != x) kb.mov_r(y, x);
      break;
    case Activation::relu: kb.alui(Op::fmax, y, x, 0); break;
    case Activation::clip:
      kb.alui(Op::fmax, y, x, fbits(p0));
      kb.alui(Op::fmul, s.t, y, fbits(-1.0f));
      kb.alui(Op::fmax, s.t, s.t, fbits(-p1));
      kb.alui(Op::fmul, y, s.t, fbits(-1.0f));
      break;
    case Activation::sigmoid:
      kb.alui(Op::fmul, s.t, x, fbits(-kLog2e));
      kb.alu(Op::ex2, s.t, s.t, kRZ);
      kb.alui(Op::fadd, s.t, s.t, fbits(1.0f));
      kb.alu(Op::rcp, y, s.t, kRZ);
      break;
    case Activation::tanh: emit_tanh(kb, y, x, s.t, s.m1); break;
    case Activation::gelu:
      kb.alu(Op::fmul, s.t, x, x);
      kb.alu(Op::fmul, s.t, s.t, x);
      kb.alui(Op::ffma, s.u, s.t, fbits(0.044715f), x);
      kb.alui(Op::fmul, s.u, s.u, fbits(kSqrt2OverPi));
      emit_tanh(kb, s.u, s.u, s.t, s.m1);
      kb.alui(Op::fmul, s.t, x, fbits(0.5f));
      kb.alu(Op::ffma, y, s.t, s.u, s.t);
      break;
    case Activation::silu:
      emit_activation(kb, Activation::sigmoid, p0, p1, s.t, x, ActScratch{s.t, s.u, s.m1, s.p});
      kb.alu(Op::fmul, y, x, s.t);
      break;
    case Activation::leaky_relu:  // p0: alpha
      kb.setpi(Op::fsetp, s.p, Cmp::lt, x, fbits(0.0f));
      kb.alui(Op::fmul, s.t, x, fbits(p0));
      kb.alu(Op::sel, y, s.t, x, s.p);
      break;
  }
}

}  // namespace xpu::lowering::gpu
