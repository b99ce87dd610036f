#include "sim/experiment/tpu_network_run.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

#include "sim/experiment/gemm_data.h"
#include "sim/numerics/int8_quant.h"

namespace xpu::experiment {

using workload::Layer;
using workload::OpKind;

double network_tolerance(DType dtype) {
  switch (dtype) {
    case DType::bf16: return 0.05;
    case DType::fp16: return 0.02;
    default: return 0.15;
  }
}

workload::TensorValues make_network_values(const workload::Workload& w, uint64_t seed) {
  workload::TensorValues v;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto fill = [&](const std::string& name, auto gen) {
    if (v.count(name)) return;
    const auto& t = w.tensor(name);
    if (t.values) return;
    std::vector<float> x(workload::numel(t.shape));
    for (auto& e : x) e = gen();
    v[name] = std::move(x);
  };
  for (const auto& in : w.inputs) fill(in, [&] { return nd(rng); });
  for (const Layer& l : w.layers) {
    for (size_t i = 0; i < l.inputs.size(); ++i) {
      const std::string& name = l.inputs[i];
      if (name.empty() || !w.tensor(name).is_constant()) continue;
      const auto& s = w.tensor(name).shape;
      const bool weight = i == 1 && workload::is_matrix_op(l.op);
      const bool norm = l.op == OpKind::batchnorm || l.op == OpKind::layernorm;
      if (weight) {
        const uint64_t fan_in = s.size() == 4 ? uint64_t(s[1] * s[2] * s[3]) : (l.attrs.trans_b ? uint64_t(s.back()) : uint64_t(s[s.size() - 2]));
        const float sd = std::sqrt(2.0f / float(std::max<uint64_t>(fan_in, 1)));
        fill(name, [&] { return sd * nd(rng); });
      } else if (norm && i == 1) {
        fill(name, [&] { return 1.0f + 0.1f * nd(rng); });
      } else if (l.op == OpKind::batchnorm && i == 4) {
        fill(name, [&] { return 1.0f + std::fabs(0.1f * nd(rng)); });
      } else {
        fill(name, [&] { return 0.1f * nd(rng); });
      }
    }
  }
  return v;
}

namespace {

float load_elem(const uint8_t* p, DType t, float scale) {
  switch (t) {
    case DType::int8: return dequantize(static_cast<int8_t>(*p), scale);
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
    default: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
  }
}

// Physical element index of logical index i (NCHW -> NHWC for images).
uint64_t physical_index(const lowering::TensorPlace& p, uint64_t i) {
  if (!p.nhwc) return i;
  const uint64_t C = p.shape[1], HW = uint64_t(p.shape[2] * p.shape[3]);
  const uint64_t n = i / (C * HW), c = (i / HW) % C, s = i % HW;
  return (n * HW + s) * C + c;
}

std::vector<uint8_t> encode(const std::vector<float>& x, const lowering::TensorPlace& p) {
  const size_t e = dtype_bytes(p.dtype);
  std::vector<uint8_t> out(x.size() * e);
  for (uint64_t i = 0; i < x.size(); ++i) {
    uint8_t* o = out.data() + physical_index(p, i) * e;
    switch (p.dtype) {
      case DType::int8: {
        const int8_t q = quantize(x[i], p.scale);
        std::memcpy(o, &q, 1);
        break;
      }
      case DType::bf16: {
        const uint16_t b = bf16::from_float(x[i]).bits;
        std::memcpy(o, &b, 2);
        break;
      }
      case DType::fp16: {
        const uint16_t b = fp16::from_float(x[i]).bits;
        std::memcpy(o, &b, 2);
        break;
      }
      default: std::memcpy(o, &x[i], 4);
    }
  }
  return out;
}

struct ErrorStats {
  double rel_rms = 0, rel_max = 0;
};
ErrorStats compare(const std::vector<float>& got, const std::vector<float>& want) {
  double se = 0, sw = 0, me = 0, mw = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = double(got[i]) - double(want[i]);
    se += d * d;
    sw += double(want[i]) * want[i];
    me = std::max(me, std::fabs(d));
    mw = std::max(mw, std::fabs(double(want[i])));
  }
  ErrorStats s;
  s.rel_rms = sw > 0 ? std::sqrt(se / sw) : std::sqrt(se);
  s.rel_max = mw > 0 ? me / mw : me;
  if (!std::isfinite(s.rel_rms)) s.rel_rms = INFINITY;
  return s;
}

// The Activate step's arithmetic on one accumulator value (activation_unit.h).
void replay_activate(uint32_t acc, bool fp, const lowering::GemmCheck& g, uint64_t j, uint8_t* out) {
  const bool extended = g.bias || g.in_scale != 1.0f || (g.fn != tpu::ActFn::none && g.fn != tpu::ActFn::relu);
  float y;
  uint32_t raw = acc;
  if (!extended) {
    if (g.fn == tpu::ActFn::relu && (fp ? bits_to_float(raw) < 0.0f : int32_from_u32(raw) < 0)) raw = 0;
    if (g.out_dtype == DType::fp32 || g.out_dtype == DType::int32) {
      std::memcpy(out, &raw, 4);
      return;
    }
    y = fp ? bits_to_float(raw) : static_cast<float>(int32_from_u32(raw));
  } else {
    float x;
    if (fp) {
      x = bits_to_float(acc);
      if (g.bias) x = add_fp32(x, bits_to_float(g.bias_bits[j]));
    } else {
      x = static_cast<float>(int32_from_u32(acc + (g.bias ? g.bias_bits[j] : 0u)));
    }
    if (g.in_scale != 1.0f) x = mul_fp32(x, g.in_scale);
    y = tpu::apply_act_fn(g.fn, x, g.p0, g.p1);
  }
  switch (g.out_dtype) {
    case DType::int8: {
      const float s = mul_fp32(y, g.scale);
      const int8_t q = std::isnan(s) ? int8_t{0} : quantize(s, 1.0f);
      std::memcpy(out, &q, 1);
      break;
    }
    case DType::bf16: {
      const uint16_t b = bf16::from_float(y).bits;
      std::memcpy(out, &b, 2);
      break;
    }
    case DType::fp16: {
      const uint16_t b = fp16::from_float(y).bits;
      std::memcpy(out, &b, 2);
      break;
    }
    default: std::memcpy(out, &y, 4);
  }
}

// Bit-exact check of one GEMM (+ Activate) on the operands in the UB.
// R x C: the array (K chunk and weight-tile width).
std::string check_gemm(tpu::Tpu& tpu, const lowering::GemmCheck& g, DType dt, uint64_t R, uint64_t C) {
  if (!g.b_in_weights && (!g.b || g.b->empty())) return "";
  const uint8_t* ub = tpu.unified_buffer().data();
  const size_t e = dtype_bytes(dt), o = dtype_bytes(g.out_dtype);
  GemmData d;
  d.dtype = dt;
  d.m = g.m;
  d.n = g.n;
  d.k = g.k;
  d.a.assign(g.m * g.k * e, 0);
  // Bytes at `addr` in host memory or the UB.
  auto load = [&](bool host, uint64_t addr, uint8_t* dst, uint64_t n) {
    if (host)
      tpu.host().read(addr, dst, n);
    else
      std::memcpy(dst, ub + addr, n);
  };
  if (g.im2col.on) {
    // A rebuilt from the conv input as sim/workload/im2col.h defines it (zeros in the padding).
    const auto& s = g.im2col;
    const uint64_t cg = g.k / (s.kh * s.kw);
    for (uint64_t i = 0; i < g.m; ++i) {
      const uint64_t m = s.m0 + i, n = m / (s.ho * s.wo), oh = m / s.wo % s.ho, ow = m % s.wo;
      for (uint64_t c = 0; c < cg; ++c)
        for (uint64_t kh = 0; kh < s.kh; ++kh)
          for (uint64_t kw = 0; kw < s.kw; ++kw) {
            const int64_t ih = int64_t(oh * s.sh + kh * s.dh) - s.pad_top;
            const int64_t iw = int64_t(ow * s.sw + kw * s.dw) - s.pad_left;
            if (ih < 0 || iw < 0 || ih >= int64_t(s.h) || iw >= int64_t(s.w)) continue;
            const uint64_t src = s.addr + (((n * s.h + uint64_t(ih)) * s.w + uint64_t(iw)) * s.c + s.c0 + c) * e;
            load(s.host, src, &d.a[(i * g.k + (c * s.kh + kh) * s.kw + kw) * e], e);
          }
    }
  } else {
    for (uint64_t i = 0; i < g.m; ++i) load(g.a_host, g.a_ub + i * g.a_stride, &d.a[i * g.k * e], g.k * e);
  }
  if (g.b_in_weights) {
    const auto tiles = tpu.weights().read(g.b_weight_addr, g.k * g.n * e);
    d.b = lowering::weight_tiles_to_matrix(tiles.data(), g.k, g.n, R, C, e);
  } else {
    d.b = *g.b;
  }
  const auto acc = reference_gemm(d, R);
  uint8_t want[4];
  std::vector<uint8_t> row(g.n * o);
  for (uint64_t i = 0; i < g.m; ++i) {
    load(g.c_host, g.c_ub + i * g.c_stride, row.data(), row.size());
    for (uint64_t j = 0; j < g.n; ++j) {
      replay_activate(acc[i * g.n + j], dt != DType::int8, g, j, want);
      const uint8_t* got = row.data() + j * o;
      if (std::memcmp(got, want, o) != 0) {
        std::ostringstream os;
        os << "MISMATCH gemm " << g.m << "x" << g.n << "x" << g.k << " at (" << i << ", " << j << ")";
        return os.str();
      }
    }
  }
  return "ok";
}

// Stats entries of `after` minus `before` over a whole layer (several programs).
stats::Snapshot delta(const stats::Snapshot& after, const stats::Snapshot& before) { return after.minus(before); }

const char* const kStallCauses[] = {"weights_dram", "weights_shift", "activations", "accumulators", "drain"};

}  // namespace

std::vector<float> read_tensor(tpu::Tpu& tpu, const lowering::TensorPlace& p, bool from_host) {
  const uint64_t n = workload::numel(p.shape);
  const size_t e = dtype_bytes(p.dtype);
  std::vector<uint8_t> bytes(n * e);
  if (from_host)
    tpu.host().read(p.ub, bytes.data(), bytes.size());
  else
    std::memcpy(bytes.data(), tpu.unified_buffer().data() + p.ub, bytes.size());
  std::vector<float> out(n);
  for (uint64_t i = 0; i < n; ++i) out[i] = load_elem(bytes.data() + physical_index(p, i) * e, p.dtype, p.scale);
  return out;
}

std::vector<report::LayerResult> NetworkRunner::run(const workload::Workload& w, DType dtype,
                                                    const LayerRunOptions& opts) {
  const bool values = opts.fidelity != tpu::Fidelity::timing;
  tpu.set_fidelity(opts.fidelity);
  workload::TensorValues feeds, ref;
  lowering::NetworkOptions lo;
  lo.dtype = dtype;
  if (values) {
    feeds = make_network_values(w, opts.seed);
    if (this->feeds)
      for (const auto& [name, v] : *this->feeds) feeds[name] = v;
    ref = workload::execute(w, feeds);
    lo.constants = &feeds;
    if (dtype == DType::int8)
      for (const auto& t : w.tensors) {
        if (t.is_constant()) continue;
        auto it = ref.find(t.name);
        if (it != ref.end()) lo.scales[t.name] = scale_for(tensor_max_abs(it->second.data(), it->second.size()));
      }
  }
  const lowering::NetworkPlan plan = lowering::lower_network(cfg, w, lo);
  const double tol = network_tolerance(dtype);

  std::vector<report::LayerResult> out;
  for (const auto& lp : plan.layers) {
    report::LayerResult r;
    r.name = lp.name;
    r.op = lp.op;
    r.shape = lp.shape;
    r.io = lp.io;
    r.macs = lp.macs;
    r.fused = lp.layers;
    const stats::Snapshot before = tpu.stats().snapshot();
    for (const auto& st : lp.steps) {
      if (!st.weight_image.empty()) tpu.weights().write(0, st.weight_image.data(), st.weight_image.size());
      for (const auto& c : st.copies_before) {
        const auto b = tpu.host().read(c.host_addr, c.bytes);
        tpu.weights().write(c.weight_addr, b.data(), b.size());
      }
      if (values) {
        for (const auto& hc : st.host_constants) tpu.host().write(hc.host_addr, hc.bytes.data(), hc.bytes.size());
        for (const auto& hi : st.host_inputs) {
          const auto b = encode(feeds.at(hi.place.tensor), hi.place);
          tpu.host().write(hi.host_addr, b.data(), b.size());
        }
      }
      r.cycles += tpu.run(st.program).cycles;
    }
    r.stats = delta(tpu.stats().snapshot(), before);
    r.seconds = double(r.cycles) * cfg.cycle_ns() * 1e-9;
    r.utilization = r.cycles && peak_macs_per_cycle > 0 ? double(r.macs) / (peak_macs_per_cycle * double(r.cycles)) : 0;
    double worst = 0;
    for (const char* cause : kStallCauses) {
      const double c = r.stats.get(std::string("tpu.mxu.stall.") + cause);
      r.stalls[cause] = c;
      if (c > worst) {
        worst = c;
        r.stall_cause = cause;
      }
    }
    r.energy = model.evaluate(r.stats, terms);
    r.bytes["ub_read"] = r.stats.get("tpu.ub.read_bytes");
    r.bytes["ub_write"] = r.stats.get("tpu.ub.write_bytes");
    r.bytes["acc_read"] = r.stats.get("tpu.acc.read_bytes");
    r.bytes["acc_write"] = r.stats.get("tpu.acc.write_bytes");
    r.bytes["weight_fifo_write"] = r.stats.get("tpu.weight_fifo.write_bytes");
    r.bytes["dram_read"] = r.stats.get("tpu.dram.read_bytes");
    r.bytes["dram_write"] = r.stats.get("tpu.dram.write_bytes");
    r.bytes["host_in"] = r.stats.get("tpu.dma.in_bytes");
    r.bytes["host_out"] = r.stats.get("tpu.dma.out_bytes");
    r.bytes["weight_path"] = double(lp.weight_path_bytes);
    r.bytes["im2col"] = double(lp.im2col_bytes);
    r.bytes["spill"] = double(lp.spill_bytes);
    r.bytes["array_rows_used"] = double(lp.array_rows_used);
    r.bytes["array_cols_used"] = double(lp.array_cols_used);

    if (!values) {
      r.verified = "skipped (timing fidelity)";
    } else if (!opts.verify) {
      r.verified = "not checked";
    } else {
      std::string v;
      bool bad = false;
      size_t gemm_ok = 0, gemm_skipped = 0;
      for (const auto& g : lp.gemms) {
        const std::string c = check_gemm(tpu, g, dtype, cfg.mxu.rows, cfg.mxu.cols);
        if (c.empty()) {
          ++gemm_skipped;
        } else if (c == "ok") {
          ++gemm_ok;
        } else {
          v += c + "; ";
          bad = true;
        }
      }
      if (!lp.gemms.empty() && !bad)
        v += "gemm bit-exact (" + std::to_string(gemm_ok) + (gemm_skipped ? ", " + std::to_string(gemm_skipped) + " weight-path not replayed" : "") + "); ";
      if (lp.has_output && ref.count(lp.output.tensor)) {
        const auto es = compare(read_tensor(tpu, lp.output, lp.output_on_host), ref.at(lp.output.tensor));
        char buf[160];
        std::snprintf(buf, sizeof buf, "vs fp32 reference: rel_rms %.3g, rel_max %.3g (tol %.3g)", es.rel_rms,
                      es.rel_max, tol);
        if (!(es.rel_rms <= tol)) {
          bad = true;
          v = "MISMATCH " + v + buf;
        } else {
          v += buf;
        }
      } else if (lp.name == "stage_out") {
        std::string s;
        for (const auto& [name, place] : plan.outputs) {
          const auto got = read_tensor(tpu, place, true);
          const auto& want = ref.at(name);
          const auto es = compare(got, want);
          const auto am = [](const std::vector<float>& x) {
            return size_t(std::max_element(x.begin(), x.end()) - x.begin());
          };
          char buf[200];
          std::snprintf(buf, sizeof buf, "%s: rel_rms %.3g, rel_max %.3g (tol %.3g), argmax %s; ", name.c_str(),
                        es.rel_rms, es.rel_max, tol, am(got) == am(want) ? "equal" : "differs");
          s += buf;
          if (!(es.rel_rms <= tol)) bad = true;
        }
        v = (bad ? "MISMATCH " : "") + s;
      }
      if (v.empty()) v = lp.steps.empty() ? "view (no data moved)" : "ok";
      r.verified = v;
    }
    out.push_back(std::move(r));
  }
  if (values && outputs)
    for (const auto& [name, place] : plan.outputs) (*outputs)[name] = read_tensor(tpu, place, true);
  return out;
}

}  // namespace xpu::experiment
