#include "models/tpu/activation_unit.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sim/numerics/int8_quant.h"

namespace xpu::tpu {

namespace {
stats::Group& grp(stats::Group& tpu) { return tpu.child("act"); }
uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
}  // namespace

ActivationUnit::ActivationUnit(sc_core::sc_module_name name, const TpuConfig& cfg, const Clock& clock,
                               Controller& ctrl, UnifiedBuffer& ub, Accumulators& acc, stats::Group& tpu)
    : sc_module(name),
      busy_cycles(grp(tpu).counter("busy_cycles", stats::Unit::cycles, "cycles the activation unit was busy")),
      elements(grp(tpu).counter("elements", stats::Unit::count, "accumulator values processed")),
      relu_ops(grp(tpu).counter("ops.relu", stats::Unit::ops, "relu applications")),
      cfg_(cfg),
      clock_(clock),
      ctrl_(ctrl),
      ub_(ub),
      acc_(acc) {
  SC_THREAD(run);
}

uint64_t ActivationUnit::duration(const Instruction& in) const {
  const uint64_t row_bytes = uint64_t(in.n) * dtype_bytes(in.out_dtype);
  const uint64_t per_row = std::max(ceil_div(in.n, cfg_.activation.elements_per_cycle),
                                    ceil_div(row_bytes, cfg_.unified_buffer.write_bytes_per_cycle));
  return cfg_.activation.latency_cycles + uint64_t(in.rows) * per_row;
}

void ActivationUnit::compute(const Instruction& in) {
  uint8_t* ub = ub_.data();
  const size_t ob = dtype_bytes(in.out_dtype);
  for (uint32_t r = 0; r < in.rows; ++r) {
    const uint32_t a = in.acc_addr + r;
    const uint32_t* src = acc_.row(a);
    const bool fp = acc_.row_type(a) == DType::fp32;
    uint8_t* dst = ub + in.ub_addr + uint64_t(r) * in.ub_stride;
    for (uint32_t c = 0; c < in.n; ++c) {
      uint32_t w = src[c];
      if (in.fn == ActFn::relu) {
        if (fp ? bits_to_float(w) < 0.0f : int32_from_u32(w) < 0) w = 0;
      }
      const float f = fp ? bits_to_float(w) : static_cast<float>(int32_from_u32(w));
      uint8_t* o = dst + size_t(c) * ob;
      switch (in.out_dtype) {
        case DType::int32:
        case DType::fp32:
          std::memcpy(o, &w, 4);
          break;
        case DType::bf16: {
          const uint16_t b = bf16::from_float(f).bits;
          std::memcpy(o, &b, 2);
          break;
        }
        case DType::fp16: {
          const uint16_t b = fp16::from_float(f).bits;
          std::memcpy(o, &b, 2);
          break;
        }
        case DType::int8: {
          const float y = mul_fp32(f, in.scale);
          const int8_t q = std::isnan(y) ? int8_t{0} : quantize(y, 1.0f);
          std::memcpy(o, &q, 1);
          break;
        }
      }
    }
  }
}

void ActivationUnit::run() {
  for (;;) {
    DepTimes dt;
    const Issued& e = ctrl_.wait_ready(UnitId::activation, dt);
    const Instruction& in = *e.inst;
    const uint32_t index = e.index;
    const uint64_t start = clock_.now();  // = max(issue, dependencies, previous activate)
    ctrl_.queue(UnitId::activation).pop();
    const uint64_t dur = duration(in);
    const uint64_t end = start + dur;
    const uint64_t row_bytes = uint64_t(in.n) * dtype_bytes(in.out_dtype);
    const uint64_t row_cycles = in.rows == 0 ? 1 : (dur - cfg_.activation.latency_cycles) / in.rows;
    ub_.reserve(UnifiedBuffer::Port::write, start + cfg_.activation.latency_cycles, end,
                uint32_t(ceil_div(row_bytes, std::max<uint64_t>(row_cycles, 1))), start);
    if (fidelity_ != Fidelity::timing) compute(in);
    const uint64_t values = uint64_t(in.rows) * in.n;
    elements += values;
    if (in.fn == ActFn::relu) relu_ops += values;
    acc_.read_bytes += values * 4;
    ub_.write_bytes += uint64_t(in.rows) * row_bytes;
    busy_cycles += dur;
    clock_.wait_until(end);
    ctrl_.complete(index, end);
  }
}

}  // namespace xpu::tpu
