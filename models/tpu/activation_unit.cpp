#include "models/tpu/activation_unit.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "sim/numerics/int8_quant.h"
#include "sim/trace/trace.h"

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
      vector_ops(grp(tpu).counter("vector_ops", stats::Unit::instructions, "vector instructions executed")),
      vector_elements(grp(tpu).counter("vector_elements", stats::Unit::count, "elements written by vector instructions")),
      fp32_adds(grp(tpu).counter("fp32_adds", stats::Unit::ops, "fp32 adds/compares of vector ops and activate functions")),
      fp32_mults(grp(tpu).counter("fp32_mults", stats::Unit::ops, "fp32 multiplies of vector ops and activate functions")),
      cfg_(cfg),
      clock_(clock),
      ctrl_(ctrl),
      ub_(ub),
      acc_(acc) {
  SC_THREAD(run);
}

uint32_t act_fn_passes(const ActivationConfig& c, ActFn fn) {
  const ActFnPasses p = act_fn_pass_counts(fn);  // act_fn.cpp
  return p.exp * c.passes_exp + p.reciprocal * c.passes_reciprocal + p.erf * c.passes_erf + p.extra;
}

namespace {

using Ops = ActFnOps;
constexpr Ops kExp = kExpOps, kRecip = kRecipOps;

// Elements a vector writes: rows x n, but two per row for moments.
uint64_t vector_outputs(const Instruction& in) {
  return uint64_t(in.rows) * (in.vop == VectorOp::moments ? 2 : in.vop == VectorOp::argmax ? 1 : in.n);
}

bool is_data_movement(const Instruction& in) {
  return in.vop == VectorOp::fill || in.vop == VectorOp::transpose || (in.vop == VectorOp::copy && in.fn == ActFn::none);
}

// Element converters (isa.h: vector numerics).
float load(const uint8_t* p, DType t, float scale) {
  switch (t) {
    case DType::int8: {
      const float q = static_cast<float>(static_cast<int8_t>(*p));
      return scale == 1.0f ? q : mul_fp32(q, scale);
    }
    case DType::bf16: {
      uint16_t b;
      std::memcpy(&b, p, 2);
      return bf16::from_bits(b).to_float();
    }
    case DType::fp16: {
      uint16_t b;
      std::memcpy(&b, p, 2);
      return fp16::from_bits(b).to_float();
    }
    case DType::fp32: {
      uint32_t w;
      std::memcpy(&w, p, 4);
      return bits_to_float(w);
    }
    case DType::int32: {
      uint32_t w;
      std::memcpy(&w, p, 4);
      const float f = static_cast<float>(int32_from_u32(w));
      return scale == 1.0f ? f : mul_fp32(f, scale);
    }
  }
  return 0.0f;
}

void store(uint8_t* o, DType t, float y) {
  switch (t) {
    case DType::int8: {
      const int8_t q = std::isnan(y) ? int8_t{0} : quantize(y, 1.0f);
      std::memcpy(o, &q, 1);
      break;
    }
    case DType::bf16: {
      const uint16_t b = bf16::from_float(y).bits;
      std::memcpy(o, &b, 2);
      break;
    }
    case DType::fp16: {
      const uint16_t b = fp16::from_float(y).bits;
      std::memcpy(o, &b, 2);
      break;
    }
    case DType::fp32:
    case DType::int32: {  // int32 destinations are rejected by program_check
      std::memcpy(o, &y, 4);
      break;
    }
  }
}

}  // namespace

uint64_t ActivationUnit::duration(const Instruction& in) const {
  const uint64_t row_bytes = uint64_t(in.n) * dtype_bytes(in.out_dtype);
  const uint64_t per_row = std::max(ceil_div(uint64_t(in.n) * act_fn_passes(cfg_.activation, in.fn),
                                             cfg_.activation.elements_per_cycle),
                                    ceil_div(row_bytes, cfg_.unified_buffer.write_bytes_per_cycle));
  return cfg_.activation.latency_cycles + uint64_t(in.rows) * per_row;
}

void ActivationUnit::compute(const Instruction& in) {
  uint8_t* ub = ub_.data();
  const size_t ob = dtype_bytes(in.out_dtype);
  if (in.bias || in.in_scale != 1.0f || (in.fn != ActFn::none && in.fn != ActFn::relu)) {
    // General path: bias, dequantization, any fn (activation_unit.h).
    const uint32_t* bias = in.bias ? reinterpret_cast<const uint32_t*>(ub + in.bias_addr) : nullptr;
    for (uint32_t r = 0; r < in.rows; ++r) {
      const uint32_t a = in.acc_addr + r;
      const uint32_t* src = acc_.row(a);
      const bool fp = acc_.row_type(a) == DType::fp32;
      uint8_t* dst = ub + in.ub_addr + uint64_t(r) * in.ub_stride;
      for (uint32_t c = 0; c < in.n; ++c) {
        uint32_t bw = 0;
        if (bias) std::memcpy(&bw, bias + c, 4);
        float x;
        if (fp) {
          x = bits_to_float(src[c]);
          if (bias) x = add_fp32(x, bits_to_float(bw));
        } else {
          const int32_t v = int32_from_u32(src[c] + bw);  // wrap-around int32 add
          x = static_cast<float>(v);
        }
        if (in.in_scale != 1.0f) x = mul_fp32(x, in.in_scale);
        const float y = apply_act_fn(in.fn, x, in.p0, in.p1);
        store(dst + size_t(c) * ob, in.out_dtype, in.out_dtype == DType::int8 ? mul_fp32(y, in.scale) : y);
      }
    }
    return;
  }
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

ActivationUnit::VectorWork ActivationUnit::vector_work(const Instruction& in) const {
  const ActivationConfig& a = cfg_.activation;
  const uint64_t L = a.elements_per_cycle;
  const uint64_t rport = cfg_.unified_buffer.read_bytes_per_cycle, wport = cfg_.unified_buffer.write_bytes_per_cycle;
  const uint64_t rows = in.rows, n = in.n, elems = rows * n;
  VectorWork w;
  const uint64_t a_bytes = in.vop == VectorOp::fill ? 0 : elems * dtype_bytes(in.dtype);
  uint64_t b_bytes = 0, b_row_bytes = 0;
  if (vector_reads_b(in)) {
    const bool per_column = in.vop == VectorOp::scale_shift || in.vop == VectorOp::layernorm;
    if (in.vop == VectorOp::rmsnorm) {
      b_bytes = n * dtype_bytes(in.dtype2);  // the scale row, read once
    } else if (in.vop == VectorOp::rope) {
      b_row_bytes = uint64_t(in.k) * dtype_bytes(in.dtype2);  // one cos/sin row per row
      b_bytes = rows * b_row_bytes;
    } else if (per_column) {
      b_bytes = 2 * n * dtype_bytes(in.dtype2);  // read once, held in the lanes
    } else if (in.ub_stride2 == 0) {
      b_bytes = (in.elem_stride2 == 0 ? 1 : n) * dtype_bytes(in.dtype2);
    } else {
      b_row_bytes = (in.elem_stride2 == 0 ? 1 : n) * dtype_bytes(in.dtype2);
      b_bytes = rows * b_row_bytes;
    }
  }
  w.read_bytes = a_bytes + b_bytes;
  w.write_bytes = vector_outputs(in) * dtype_bytes(in.out_dtype);
  if (is_data_movement(in)) {
    w.stream_cycles = std::max({ceil_div(elems, L), ceil_div(w.read_bytes, rport), ceil_div(w.write_bytes, wport)});
    return w;
  }
  const bool row_op = in.vop == VectorOp::softmax || in.vop == VectorOp::layernorm || in.vop == VectorOp::moments ||
                      in.vop == VectorOp::rmsnorm || in.vop == VectorOp::argmax;
  const uint64_t vecs = ceil_div(n, L);
  uint64_t sweeps = act_fn_passes(a, in.fn), scalar = 0;
  Ops per_elem = act_fn_ops(in.fn), per_row{};
  switch (in.vop) {
    case VectorOp::add: per_elem = per_elem + Ops{1, 0}; break;
    case VectorOp::max: per_elem = per_elem + Ops{1, 0}; break;
    case VectorOp::mul: per_elem = per_elem + Ops{0, 1}; break;
    case VectorOp::scale_shift: per_elem = per_elem + Ops{1, 1}; break;
    case VectorOp::softmax:
      sweeps = 2 + a.passes_exp;
      scalar = a.passes_reciprocal;
      per_elem = Ops{3, 1} + kExp;
      per_row = kRecip;
      break;
    case VectorOp::layernorm:
      sweeps = in.bias ? 4 : 3;
      scalar = a.passes_rsqrt;
      per_elem = in.bias ? Ops{5, 3} : Ops{4, 2};
      per_row = kRecip;  // rsqrt: two Newton steps, like the reciprocal
      break;
    case VectorOp::moments:  // layernorm's first two sweeps and its rsqrt
      sweeps = 2;
      scalar = a.passes_rsqrt;
      per_elem = Ops{3, 1};
      per_row = kRecip;
      break;
    case VectorOp::rmsnorm:  // square-and-sum; normalize and scale; the rsqrt once per row
      sweeps = 2;
      scalar = a.passes_rsqrt;
      per_elem = Ops{1, 3};
      per_row = kRecip;
      break;
    case VectorOp::rope:  // two products and an add per element
      sweeps = 3;
      per_elem = Ops{1, 2};
      break;
    case VectorOp::argmax:  // one compare-and-select sweep
      sweeps = 1;
      per_elem = Ops{1, 0};
      break;
    default: break;
  }
  if (row_op) {
    const uint64_t row_out = in.vop == VectorOp::moments ? 2 : in.vop == VectorOp::argmax ? 1 : n;
    const uint64_t row_cycles = std::max({sweeps * vecs + scalar,
                                          ceil_div(n * dtype_bytes(in.dtype) + b_row_bytes, rport),
                                          ceil_div(row_out * dtype_bytes(in.out_dtype), wport)});
    w.stream_cycles = rows * row_cycles;
  } else {
    // Elementwise: lanes are position-agnostic, short rows are packed.
    w.stream_cycles = std::max({ceil_div(elems * sweeps, L), ceil_div(w.read_bytes, rport), ceil_div(w.write_bytes, wport)});
  }
  w.fp32_adds = elems * per_elem.add + rows * per_row.add;
  w.fp32_mults = elems * per_elem.mult + rows * per_row.mult;
  return w;
}

void ActivationUnit::compute_vector(const Instruction& in) {
  uint8_t* ub = ub_.data();
  const size_t ea = dtype_bytes(in.dtype), eb = dtype_bytes(in.dtype2), eo = dtype_bytes(in.out_dtype);
  auto A = [&](uint64_t r, uint64_t e) {
    return load(ub + in.ub_addr + r * in.ub_stride + e * in.elem_stride * ea, in.dtype, in.in_scale);
  };
  auto B = [&](uint64_t r, uint64_t e) {
    return load(ub + in.ub_addr2 + r * in.ub_stride2 + e * in.elem_stride2 * eb, in.dtype2, in.in_scale2);
  };
  auto put = [&](uint64_t r, uint64_t e, float y) {
    if (in.scale != 1.0f) y = mul_fp32(y, in.scale);
    store(ub + in.dst_addr + r * in.dst_stride + e * in.dst_elem_stride * eo, in.out_dtype, y);
  };
  auto fn = [&](float x) { return apply_act_fn(in.fn, x, in.p0, in.p1); };
  std::vector<float> row(in.n);
  for (uint64_t r = 0; r < in.rows; ++r) {
    switch (in.vop) {
      case VectorOp::copy:
      case VectorOp::act:
        for (uint64_t e = 0; e < in.n; ++e) put(r, e, fn(A(r, e)));
        break;
      case VectorOp::fill:
        for (uint64_t e = 0; e < in.n; ++e) put(r, e, in.p0);
        break;
      case VectorOp::add:
        for (uint64_t e = 0; e < in.n; ++e) put(r, e, fn(add_fp32(A(r, e), B(r, e))));
        break;
      case VectorOp::mul:
        for (uint64_t e = 0; e < in.n; ++e) put(r, e, fn(mul_fp32(A(r, e), B(r, e))));
        break;
      case VectorOp::max:
        for (uint64_t e = 0; e < in.n; ++e) {
          const float x = A(r, e), y = B(r, e);
          put(r, e, fn(y > x ? y : x));
        }
        break;
      case VectorOp::scale_shift:
        for (uint64_t e = 0; e < in.n; ++e) put(r, e, fn(add_fp32(mul_fp32(A(r, e), B(0, e)), B(1, e))));
        break;
      case VectorOp::transpose:
        for (uint64_t e = 0; e < in.n; ++e)
          store(ub + in.dst_addr + e * in.dst_stride + r * in.dst_elem_stride * eo, in.out_dtype,
                in.scale != 1.0f ? mul_fp32(A(r, e), in.scale) : A(r, e));
        break;
      case VectorOp::softmax: {  // the reference executor's order
        for (uint64_t e = 0; e < in.n; ++e) row[e] = A(r, e);
        float m = row[0];
        for (uint64_t e = 1; e < in.n; ++e) m = row[e] > m ? row[e] : m;
        float sum = 0.0f;
        for (uint64_t e = 0; e < in.n; ++e) {
          row[e] = std::exp(row[e] - m);
          sum = sum + row[e];
        }
        for (uint64_t e = 0; e < in.n; ++e) put(r, e, row[e] / sum);
        break;
      }
      case VectorOp::layernorm:
      case VectorOp::moments: {
        for (uint64_t e = 0; e < in.n; ++e) row[e] = A(r, e);
        float sum = 0.0f;
        for (uint64_t e = 0; e < in.n; ++e) sum = sum + row[e];
        const float mean = sum / float(in.n);
        float sq = 0.0f;
        for (uint64_t e = 0; e < in.n; ++e) {
          const float d = row[e] - mean;
          const float d2 = d * d;
          sq = sq + d2;
        }
        const float var = sq / float(in.n);
        const float inv = 1.0f / std::sqrt(var + in.p0);
        if (in.vop == VectorOp::moments) {
          put(r, 0, mean);
          put(r, 1, inv);
          break;
        }
        for (uint64_t e = 0; e < in.n; ++e) {
          const float d = row[e] - mean;
          const float normed = d * inv;
          put(r, e, in.bias ? add_fp32(mul_fp32(normed, B(0, e)), B(1, e)) : normed);
        }
        break;
      }
      case VectorOp::rmsnorm: {  // the reference executor's order (llm_ops.h)
        for (uint64_t e = 0; e < in.n; ++e) row[e] = A(r, e);
        float ss = 0.0f;
        for (uint64_t e = 0; e < in.n; ++e) ss = add_fp32(ss, mul_fp32(row[e], row[e]));
        const float inv = 1.0f / std::sqrt(ss / float(in.n) + in.p0);
        for (uint64_t e = 0; e < in.n; ++e) put(r, e, mul_fp32(mul_fp32(row[e], inv), B(0, e)));
        break;
      }
      case VectorOp::rope: {
        const uint64_t h = in.k / 2;
        for (uint64_t e = 0; e < in.n; ++e) row[e] = A(r, e);  // both halves before any write (in place)
        for (uint64_t v = 0; v + in.k <= in.n; v += in.k)
          for (uint64_t j = 0; j < h; ++j) {
            const float a = row[v + j], b = row[v + j + h], c = B(r, j), sn = B(r, j + h);
            put(r, v + j, add_fp32(mul_fp32(a, c), -mul_fp32(b, sn)));
            put(r, v + j + h, add_fp32(mul_fp32(b, c), mul_fp32(a, sn)));
          }
        break;
      }
      case VectorOp::argmax: {  // the reference executor's rule: first maximum, NaN never wins
        uint64_t best = 0;
        for (uint64_t e = 1; e < in.n; ++e) {
          const float v = A(r, e), b = A(r, best);
          if (v > b || (std::isnan(b) && !std::isnan(v))) best = e;
        }
        put(r, 0, float(best));
        break;
      }
    }
  }
}

void ActivationUnit::run_vector(const Issued& e) {
  const Instruction& in = *e.inst;
  const uint32_t index = e.index;
  const uint64_t start = std::max(clock_.now(), last_was_vector_ ? stream_free_ : last_completion_);
  clock_.wait_until(start);
  ctrl_.queue(UnitId::activation).pop();
  const VectorWork w = vector_work(in);
  const uint64_t stream_end = start + w.stream_cycles;
  const uint64_t end = stream_end + cfg_.activation.latency_cycles;
  if (w.stream_cycles > 0) {
    ub_.reserve(UnifiedBuffer::Port::read, start, stream_end, uint32_t(ceil_div(w.read_bytes, w.stream_cycles)), start);
    ub_.reserve(UnifiedBuffer::Port::write, start, stream_end, uint32_t(ceil_div(w.write_bytes, w.stream_cycles)),
                start);
  }
  if (fidelity_ != Fidelity::timing) compute_vector(in);
  const uint64_t elems = uint64_t(in.rows) * in.n;
  elements += elems;
  vector_ops += 1;
  vector_elements += vector_outputs(in);
  fp32_adds += w.fp32_adds;
  fp32_mults += w.fp32_mults;
  ub_.read_bytes += w.read_bytes;
  ub_.write_bytes += w.write_bytes;
  busy_cycles += w.stream_cycles;
  trace::span("activation", "vector", start, end);
  stream_free_ = stream_end;
  last_completion_ = end;
  last_was_vector_ = true;
  ctrl_.complete(index, end);
}

void ActivationUnit::run() {
  for (;;) {
    DepTimes dt;
    const Issued& e = ctrl_.wait_ready(UnitId::activation, dt);
    if (e.inst->op == Opcode::vector) {
      run_vector(e);
      continue;
    }
    clock_.wait_until(std::max(clock_.now(), last_completion_));  // after a vector: wait for it to complete
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
    if (in.fn != ActFn::none && in.fn != ActFn::relu) {
      const Ops o = act_fn_ops(in.fn);
      fp32_adds += values * o.add;
      fp32_mults += values * o.mult;
    }
    if (in.bias) ub_.read_bytes += uint64_t(in.n) * 4;
    acc_.read_bytes += values * 4;
    ub_.write_bytes += uint64_t(in.rows) * row_bytes;
    busy_cycles += dur;
    trace::span("activation", "activate", start, end);
    clock_.wait_until(end);
    last_completion_ = end;
    last_was_vector_ = false;
    ctrl_.complete(index, end);
  }
}

}  // namespace xpu::tpu
