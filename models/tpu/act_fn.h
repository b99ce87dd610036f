#pragma once
// The activation unit's functions: the `fn` of activate and vector (isa.h).
// One name in XPU_TPU_ACT_FNS and one row in act_fn.cpp each:
//   the fp32 arithmetic the unit applies (apply_act_fn), in the unit's fp32
//     datapath with every operation rounded separately (the build forbids
//     FMA contraction), the same formulas as the fp32 reference executor
//     (reference_executor.h), so the fp32 datapath reproduces it bit for bit;
//   its passes through the lanes (act_fn_passes, activation_unit.h: timing);
//   its fp32 adds/compares and multiplies per element (act_fn_ops: counted
//     in tpu.act.fp32_adds / fp32_mults and priced by tpu_energy.h, its
//     energy class).
// A lowering finds a function by its name (act_fn_from_name), which is the
// workload op's (sim/workload/op_table.h: activation_fn).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#define XPU_TPU_ACT_FNS(X) X(none) X(relu) X(relu6) X(clip) X(sigmoid) X(tanh) X(gelu) X(gelu_tanh) X(silu) X(leaky_relu)

namespace xpu::tpu {

enum class ActFn {
#define XPU_TPU_ACT_ENUM_(n) n,
  XPU_TPU_ACT_FNS(XPU_TPU_ACT_ENUM_)
#undef XPU_TPU_ACT_ENUM_
};

// Passes of one element through the lanes: exp, reciprocal and erf
// evaluations (each ActivationConfig::passes_* passes) plus `extra` single
// passes (a select shares the op's pass).
struct ActFnPasses {
  uint32_t exp = 0, reciprocal = 0, erf = 0, extra = 1;
};
// fp32 operations per element.
struct ActFnOps {
  uint64_t add = 0, mult = 0;
  constexpr ActFnOps operator+(ActFnOps o) const { return {add + o.add, mult + o.mult}; }
};

// exp: range reduction + degree-6 Horner (8 mult-adds); reciprocal (and
// rsqrt): two Newton steps (3 mult + 2 add).
constexpr ActFnOps kExpOps{8, 8}, kRecipOps{2, 3};

const char* act_fn_name(ActFn fn);
std::optional<ActFn> act_fn_from_name(const std::string& name);
// Every name, in enum order (for messages).
const std::vector<std::string>& act_fn_names();
// How many of p0, p1 the function reads (clip: 2, its bounds).
uint32_t act_fn_params(ActFn fn);
// fn(x) in fp32 as the activation unit computes it (p0, p1: its parameters).
float apply_act_fn(ActFn fn, float x, float p0, float p1);
ActFnPasses act_fn_pass_counts(ActFn fn);
ActFnOps act_fn_ops(ActFn fn);

}  // namespace xpu::tpu
