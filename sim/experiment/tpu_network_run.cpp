#include "sim/experiment/tpu_network_run.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

#include "sim/check/compare.h"
#include "sim/check/gemm_data.h"
#include "sim/check/tpu_gemm_check.h"
#include "sim/check/values.h"
#include "sim/common/errors.h"
#include "sim/lowering/tpu/cmem_placement.h"
#include "sim/lowering/tpu/gemm.h"
#include "sim/experiment/cycle_accounting.h"
#include "sim/experiment/layer_result.h"
#include "sim/experiment/tpu_prelowered.h"
#include "sim/experiment/scalesim_compat.h"
#include "sim/numerics/int8_quant.h"

namespace xpu::experiment {

using workload::Layer;
using workload::OpKind;

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

std::vector<report::LayerResult> NetworkRunner::run_gemms(const workload::Workload& w, DType dtype,
                                                          const LayerRunOptions& opts) {
  const bool values = opts.fidelity != Fidelity::timing;
  tpu.set_fidelity(opts.fidelity);
  // Fresh operands per layer, seeded from the workload's seed.
  std::vector<lowering::GemmOperands> ops;
  if (values)
    for (size_t i = 0; i < w.layers.size(); ++i) {
      const auto& l = w.layers[i];
      check::GemmData d = check::make_gemm_data(dtype, l.m, l.n, l.k, opts.seed * 1000003 + i);
      ops.push_back({std::move(d.a), std::move(d.b)});
    }
  // Each GEMM's operands in the CMEM where they fit (cmem_placement.h), for its run only.
  auto placed = [&](const lowering::NetworkPlan& plan) {
    std::vector<report::LayerResult> out;
    for (const auto& lp : plan.layers) {
      const lowering::CmemPlacement at = lowering::place_gemm_in_cmem(cfg, lp);
      tpu.place_in_cmem(at.weights, at.dma);
      try {
        out.push_back(run_layer(lp, {}, opts));
      } catch (...) {
        tpu.place_in_cmem(false, false);
        throw;
      }
      tpu.place_in_cmem(false, false);
      judge(out.back(), lp, plan, {}, dtype, opts);
    }
    return out;
  };
  if (!values)
    if (auto ahead = prelowered_plan(cfg, w, dtype, true, opts.io == "resident")) return placed(*ahead);
  const auto plan = !values && lowered ? std::move(*lowered)
                                       : lowering::lower_standalone_gemms(cfg, w, dtype, opts.io == "resident",
                                                                          values ? &ops : nullptr);
  return placed(plan);
}

lowering::NetworkOptions NetworkRunner::prepare(const workload::Workload& w, DType dtype, const LayerRunOptions& opts,
                                                workload::TensorValues& inputs, workload::TensorValues& ref) {
  const bool values = opts.fidelity != Fidelity::timing;
  tpu.set_fidelity(opts.fidelity);
  lowering::NetworkOptions lo;
  lo.dtype = dtype;
  lo.values = values;
  if (values) {
    inputs = check::make_network_values(w, opts.seed);
    if (this->feeds)
      for (const auto& [name, v] : *this->feeds) inputs[name] = v;
    ref = workload::execute(w, inputs);
    lo.constants = &inputs;
    if (dtype == DType::int8)
      for (const auto& t : w.tensors) {
        if (t.is_constant()) continue;
        auto it = ref.find(t.name);
        if (it != ref.end()) lo.scales[t.name] = scale_for(tensor_max_abs(it->second.data(), it->second.size()));
      }
  }
  return lo;
}

std::vector<report::LayerResult> NetworkRunner::run(const workload::Workload& w, DType dtype,
                                                    const LayerRunOptions& opts) {
  const bool values = opts.fidelity != Fidelity::timing;
  workload::TensorValues inputs, ref;
  lowering::NetworkOptions lo = prepare(w, dtype, opts, inputs, ref);
  // A network's weights and off-UB activations in the CMEM where they fit
  // (cmem_placement.h).
  auto placed = [&](const lowering::NetworkPlan& plan) {
    const lowering::CmemPlacement at = lowering::place_in_cmem(cfg, plan);
    tpu.place_in_cmem(at.weights, at.dma);
    auto rows = execute(plan, inputs, ref, dtype, opts);
    tpu.place_in_cmem(false, false);
    return rows;
  };
  if (!values)
    if (auto ahead = prelowered_plan(cfg, w, dtype, false, false)) return placed(*ahead);
  if (!values && lowered) return placed(*lowered);
  if (!values && cfg.cmem.capacity_bytes == 0) {
    // Lowered and run layer by layer: only one layer's programs are held.
    // (The CMEM placement reads the whole plan first: not with a CMEM.)
    // Each step's instructions are fed to the TPU as the lowering emits
    // them (ProgramFeed): no program is held whole. Nothing else of a
    // step matters at timing fidelity (no weight image; the copies into
    // weight DRAM move bytes no timing rule reads).
    std::vector<report::LayerResult> rows;
    const lowering::NetworkPlan none;
    std::unique_ptr<LayerProgress> progress;
    std::unique_ptr<tpu::ProgramFeed> feed;
    bool started = false;
    lo.on_code = [&](lowering::ProgramStep& st, bool last) {
      if (!progress) progress = std::make_unique<LayerProgress>(tpu);
      if (!feed) feed = std::make_unique<tpu::ProgramFeed>(st.program.name);
      feed->push(st.program.code.data(), st.program.code.size());
      if (last) feed->close();
      if (!last && feed->buffered() < 2 * tpu::Controller::kFetchChunk) return true;
      if (!started) {
        tpu.start(*feed);
        started = true;
      } else if (tpu.hungry()) {
        tpu.resume();
      }
      if (!last) return true;
      while (tpu.hungry()) tpu.resume();  // closed: runs to its halt
      progress->cycles += tpu.finish().cycles;
      feed.reset();
      started = false;
      return true;
    };
    lo.on_layer = [&](const lowering::LayerPlan& lp) {
      if (!progress) progress = std::make_unique<LayerProgress>(tpu);  // a view: nothing ran
      rows.push_back(layer_result(lp, opts, *progress));
      judge(rows.back(), lp, none, ref, dtype, opts);
      progress.reset();
      return true;
    };
    lowering::lower_network(cfg, w, lo);
    return rows;
  }
  return placed(lowering::lower_network(cfg, w, lo));
}

std::vector<report::LayerResult> NetworkRunner::execute(const lowering::NetworkPlan& plan,
                                                        const workload::TensorValues& inputs,
                                                        const workload::TensorValues& ref, DType dtype,
                                                        const LayerRunOptions& opts) {
  std::vector<report::LayerResult> out;
  for (const auto& lp : plan.layers) {
    out.push_back(run_layer(lp, inputs, opts));
    judge(out.back(), lp, plan, ref, dtype, opts);
  }
  read_outputs(plan, opts);
  return out;
}

void NetworkRunner::read_outputs(const lowering::NetworkPlan& plan, const LayerRunOptions& opts) {
  if (opts.fidelity != Fidelity::timing && outputs)
    for (const auto& [name, place] : plan.outputs) (*outputs)[name] = read_tensor(tpu, place, true);
}

report::LayerResult NetworkRunner::run_layer(const lowering::LayerPlan& lp, const workload::TensorValues& inputs,
                                             const LayerRunOptions& opts) {
  const bool values = opts.fidelity != Fidelity::timing;
  LayerProgress progress(tpu);
  for (const auto& st : lp.steps) {
    if (!st.weight_image.empty()) tpu.weights().write(0, st.weight_image.data(), st.weight_image.size());
    for (const auto& c : st.copies_before) {
      const auto b = tpu.host().read(c.host_addr, c.bytes);
      tpu.weights().write(c.weight_addr, b.data(), b.size());
    }
    if (values) {
      for (const auto& hc : st.host_constants) tpu.host().write(hc.host_addr, hc.bytes.data(), hc.bytes.size());
      for (const auto& u : st.ub_preloads) std::memcpy(tpu.unified_buffer().data() + u.host_addr, u.bytes.data(), u.bytes.size());
      for (const auto& hi : st.host_inputs) {
        const auto b = encode(inputs.at(hi.place.tensor), hi.place);
        if (hi.block_bytes == 0) {
          tpu.host().write(hi.host_addr, b.data(), b.size());
        } else {
          for (uint64_t o = 0; o * hi.block_bytes < b.size(); ++o)
            tpu.host().write(hi.host_addr + o * hi.block_pitch, b.data() + o * hi.block_bytes, hi.block_bytes);
        }
      }
    }
    progress.cycles += (st.stream ? tpu.run(*st.stream()) : tpu.run(st.program)).cycles;
  }
  return layer_result(lp, opts, progress);
}

NetworkRunner::LayerProgress::LayerProgress(tpu::Tpu& t)
    : before(t.stats().snapshot()), accounting(std::make_unique<CycleAccounting>()) {}

report::LayerResult NetworkRunner::layer_result(const lowering::LayerPlan& lp, const LayerRunOptions& opts,
                                                LayerProgress& progress) {
  const MachineRates rates{cfg.cycle_ns(), peak_macs_per_cycle, &model, &terms};
  const CycleAccounting& accounting = *progress.accounting;  // every cycle of the layer's programs to one cause
  report::LayerResult r;
  r.name = lp.name;
  r.op = lp.op;
  r.shape = lp.shape;
  r.io = lp.io;
  r.macs = lp.macs;
  r.fused = lp.layers;
  LayerRun run;
  run.cycles = progress.cycles;
  run.stats = tpu.stats().snapshot().minus(progress.before);
  uint64_t accounted = 0;
  for (const auto& [cause, c] : accounting.cycles()) accounted += c;
  if (accounted != run.cycles || accounting.total() != run.cycles)
    throw InternalError("layer '" + lp.name + "': cycle accounting covers " + std::to_string(accounted) + " of " +
                        std::to_string(run.cycles) + " cycles");
  if (opts.compat == "scalesim") {
    // SCALE-Sim's count is a window of the program: no breakdown of it.
    run.cycles = scalesim_total_cycles(uint64_t(run.stats.get("tpu.mxu.array_window_cycles")));
  } else {
    // The report's stall breakdown: every cause but the array computing.
    for (const auto& cause : CycleAccounting::causes())
      if (cause != "mxu_compute") run.stalls.emplace_back(cause, double(accounting.cycles().at(cause)));
  }
  fill_layer_result(r, run, rates);
  r.bytes["ub_read"] = r.stats.get("tpu.ub.read_bytes");
  r.bytes["ub_write"] = r.stats.get("tpu.ub.write_bytes");
  r.bytes["acc_read"] = r.stats.get("tpu.acc.read_bytes");
  r.bytes["acc_write"] = r.stats.get("tpu.acc.write_bytes");
  r.bytes["weight_fifo_write"] = r.stats.get("tpu.weight_fifo.write_bytes");
  r.bytes["dram_read"] = r.stats.get("tpu.dram.read_bytes");
  r.bytes["dram_write"] = r.stats.get("tpu.dram.write_bytes");
  if (cfg.cmem.capacity_bytes > 0) {
    r.bytes["cmem_read"] = r.stats.get("tpu.cmem.read_bytes");
    r.bytes["cmem_write"] = r.stats.get("tpu.cmem.write_bytes");
  }
  r.bytes["host_in"] = r.stats.get("tpu.dma.in_bytes");
  r.bytes["host_out"] = r.stats.get("tpu.dma.out_bytes");
  r.bytes["weight_path"] = double(lp.weight_path_bytes);
  r.bytes["im2col"] = double(lp.im2col_bytes);
  r.bytes["spill"] = double(lp.spill_bytes);
  r.bytes["array_rows_used"] = double(lp.array_rows_used);
  r.bytes["array_cols_used"] = double(lp.array_cols_used);
  return r;
}

void NetworkRunner::judge(report::LayerResult& r, const lowering::LayerPlan& lp, const lowering::NetworkPlan& plan,
                          const workload::TensorValues& ref, DType dtype, const LayerRunOptions& opts) {
  if (opts.fidelity == Fidelity::timing) {
    r.verdict = report::Verdict::unchecked;
  } else if (!opts.verify) {
    r.verdict = report::Verdict::skipped;
    r.verdict_detail = "not checked";
  } else {
    const check::Outcome o = check_layer(lp, plan, ref, dtype);
    r.verdict = o.verdict;
    r.verdict_detail = o.detail;
  }
}

check::Outcome NetworkRunner::check_layer(const lowering::LayerPlan& lp, const lowering::NetworkPlan& plan,
                                          const workload::TensorValues& ref, DType dtype) {
  using report::Verdict;
  const double tol = check::network_tolerance(dtype);
  std::string v;
  bool bad = false, compared = false;
  size_t gemm_ok = 0, gemm_skipped = 0;
  for (const auto& g : lp.gemms) {
    const std::string c = check::check_tpu_gemm(tpu, g, dtype, cfg.mxu.rows, cfg.mxu.cols,
                                                       lowering::reference_k_chunk(cfg.mxu, g.k));
    if (c.empty()) {
      ++gemm_skipped;
    } else if (c == "ok") {
      ++gemm_ok;
    } else {
      v += c + "; ";
      bad = true;
    }
  }
  // A standalone GEMM (no network tensors): its one bit-exact check is the verdict.
  if (ref.empty() && lp.gemms.size() == 1 && gemm_ok == 1) return {Verdict::bit_exact, "bit-exact"};
  if (!lp.gemms.empty() && !bad)
    v += "gemm bit-exact (" + std::to_string(gemm_ok) + (gemm_skipped ? ", " + std::to_string(gemm_skipped) + " weight-path not replayed" : "") + "); ";
  if (lp.has_output && ref.count(lp.output.tensor)) {
    compared = true;
    const auto es = check::relative_error(read_tensor(tpu, lp.output, lp.output_on_host), ref.at(lp.output.tensor));
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
    compared = true;
    std::string s;
    for (const auto& [name, place] : plan.outputs) {
      const auto got = read_tensor(tpu, place, true);
      const auto& want = ref.at(name);
      const auto es = check::relative_error(got, want);
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
  if (bad) return {Verdict::mismatch, v};
  if (compared) return {Verdict::within_tolerance, v};
  if (gemm_ok > 0) return {Verdict::bit_exact, v};
  // Nothing to compare: a view, or a layer whose output no reference names.
  return {Verdict::skipped, v.empty() ? (lp.steps.empty() ? "view (no data moved)" : "ok") : v};
}

}  // namespace xpu::experiment
