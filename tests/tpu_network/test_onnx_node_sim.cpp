// The ONNX backend node tests (Debian's libonnx-testdata, ONNX 1.12) of the
// operators the importer supports, run on the TPU model (tpu_small, tile
// fidelity: values move through the MXU, accumulators, vector unit and
// unified buffer) in bf16, fp16 and int8, and compared with the tests'
// expected outputs. tests/workload/test_onnx_node_tests.cpp runs the same
// tests on the fp32 reference executor (exact / rtol 1e-5); the TPU has no
// fp32 MXU path, so here every run is reduced precision.
//
// Setup: each test's inputs are fed as they are; graph inputs that are the
// weights/bias of Conv/Gemm/MatMul or BatchNormalization/LayerNormalization
// parameters become constants (the TPU holds weights in its weight memory,
// not in the unified buffer; the node tests pass them as graph inputs).
//
// Tolerance: max|got - want| <= tol * max|want| over each output tensor
// (relative to the tensor's largest magnitude, not per element: sums with
// cancellation have errors proportional to sum |a_i b_i|, not to |sum|):
//   bf16: 8 significand bits, unit roundoff u = 2^-9 ~ 0.002. An element
//     sees the rounding of each operand (2u per product), fp32 accumulation
//     (negligible), and the rounding of the stored result (u); vector-unit
//     functions (sigmoid, tanh, exp in softmax) read and write bf16 (2u).
//     Summed |a_i b_i| over a few terms is up to ~4x max|out| for the node
//     tests' N(0, 1) data -> tol = 4u * 4 ~ 0.03.
//   fp16: 11 significand bits, u = 2^-11 ~ 0.0005; same reasoning -> 0.008.
//   int8: per-tensor scale s = max|x| / 127 (calibrated on the run's own
//     values), rounding error s / 2 = max|x| / 254 on each operand and on the
//     re-quantized output: ~3 half-steps relative to max|out|, times the
//     same accumulation factor ~4 -> 3 * 4 / 254 ~ 0.05; nonlinear functions
//     of quantized inputs (sigmoid, softmax) amplify a half step by their
//     slope, kept within the same bound.
// A run that exceeds its tolerance fails the test unless listed in
// kExpectedFail with the reason; a LoweringError (an operator or attribute
// the TPU lowering does not support) counts as "not run on the TPU" and
// fails the test unless listed in kNotLowered with the reason.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "models/tpu/tpu.h"
#include "models/tpu/tpu_energy.h"
#include "net_test_util.h"
#include "sim/energy/energy_model.h"
#include "sim/experiment/tpu_network_run.h"
#include "sim/lowering/lowering_error.h"
#include "sim/workload/onnx/onnx_import.h"

using namespace xpu;
using namespace xpu::workload;

namespace {

const char* const kNodeDir = "/usr/share/libonnx-testdata/data/node";

// As in tests/workload/test_onnx_node_tests.cpp.
const std::set<std::string> kSupported = {
    "Conv",    "Gemm",        "MatMul",  "Relu",    "Sigmoid",           "Tanh",               "Add",
    "Mul",     "MaxPool",     "AveragePool", "GlobalAveragePool", "Flatten", "Reshape",     "Softmax",
    "BatchNormalization", "Concat", "Clip", "LayerNormalization", "Transpose", "Gelu", "LeakyRelu"};

double tolerance(DType t) {
  switch (t) {
    case DType::bf16: return 0.03;
    case DType::fp16: return 0.008;
    default: return 0.05;  // int8
  }
}

// "test/precision" -> why it exceeds its tolerance.
// Inherent to the input precision, not to the simulator: the inputs
// 10000..10003 of a softmax row round to one value (bf16 spacing 64 at 2^13,
// fp16 spacing 8, int8 step max|x| / 127 ~ 79), so the row's softmax is
// uniform (0.25) where fp32 gives 0.64 / 0.24 / 0.09 / 0.03.
const std::map<std::string, std::string> kExpectedFail = {
    {"test_softmax_large_number/bf16", "inputs 10000..10003 are one bf16 value"},
    {"test_softmax_large_number/fp16", "inputs 10000..10003 are one fp16 value"},
    {"test_softmax_large_number/int8", "inputs 10000..10003 are one int8 step"},
};

// "test/precision" -> why the TPU lowering rejects it. Empty: every node test
// of the supported operators lowers (broadcast activation operands, softmax
// over a non-last axis and LayerNormalization's Mean / InvStdDev outputs are
// lowered by network_vector.cpp).
const std::map<std::string, std::string> kNotLowered = {};

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> list(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n.rfind(prefix, 0) == 0) out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

enum class Result { pass, fail, unsupported, not_imported };

struct Outcome {
  Result result = Result::pass;
  std::string detail;
  double worst = 0;  // max|got - want| / max|want| over outputs and data sets
};

// Graph inputs that are weights/parameters of a matrix or normalization op
// become constants (values come from the feeds).
void weights_to_constants(Workload& w) {
  std::set<std::string> params;
  for (const Layer& l : w.layers) {
    const bool param_op = is_matrix_op(l.op) || l.op == OpKind::batchnorm || l.op == OpKind::layernorm;
    if (!param_op) continue;
    for (size_t i = 1; i < l.inputs.size(); ++i)
      if (!l.inputs[i].empty()) params.insert(l.inputs[i]);
  }
  for (auto it = w.inputs.begin(); it != w.inputs.end();) {
    if (params.count(*it)) {
      for (auto& t : w.tensors)
        if (t.name == *it) t.role = TensorRole::weight;
      it = w.inputs.erase(it);
    } else {
      ++it;
    }
  }
}

struct Machine {
  tpu::TpuConfig cfg;
  energy::EnergyTable table;
  energy::EnergyModel model;
  std::vector<energy::EnergyTerm> terms;
  tpu::Tpu tpu;
  explicit Machine(const std::string& name)
      : cfg(config::load_tpu_config(test::src("configs/accelerators/" + name + ".yaml"))),
        table(energy::EnergyTable::from_document(config::Document::load(test::src("configs/energy/horowitz_45nm.yaml")))),
        model(table), terms(tpu::tpu_energy_terms(cfg, table)), tpu(cfg, "node_sim") {}
};

Outcome run_case(Machine& m, const std::string& dir, const onnx::ModelProto& model, DType dtype) {
  Outcome r;
  std::set<std::string> inits;
  for (const auto& i : model.graph().initializer()) inits.insert(i.name());
  std::vector<std::string> inputs;
  for (const auto& i : model.graph().input())
    if (!inits.count(i.name())) inputs.push_back(i.name());
  const auto sets = list(dir, "test_data_set_");
  if (sets.empty()) {
    r.result = Result::not_imported;
    r.detail = "no test_data_set_*";
    return r;
  }
  const double tol = tolerance(dtype);
  for (const auto& set : sets) {
    const std::string sd = dir + "/" + set;
    OnnxImportOptions opts;
    TensorValues feeds;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string pb = sd + "/input_" + std::to_string(i) + ".pb";
      if (!std::ifstream(pb)) continue;
      TensorData d = read_tensor_pb(pb);
      d.name = inputs[i];
      feeds[inputs[i]] = d.floats;
      opts.known_inputs[inputs[i]] = d;
    }
    Workload w;
    try {
      w = import_onnx(dir + "/model.onnx", opts);
    } catch (const config::ConfigError& e) {
      r.result = Result::not_imported;
      r.detail = e.what();
      return r;
    }
    for (auto it = feeds.begin(); it != feeds.end();)
      it = w.find_tensor(it->first) ? std::next(it) : feeds.erase(it);
    weights_to_constants(w);
    TensorValues got;
    experiment::NetworkRunner runner{m.cfg, m.tpu, m.model, m.terms, 1.0};
    runner.feeds = &feeds;
    runner.outputs = &got;
    experiment::LayerRunOptions o;
    o.fidelity = tpu::Fidelity::tile;
    try {
      runner.run(w, dtype, o);
    } catch (const lowering::LoweringError& e) {
      r.result = Result::unsupported;
      r.detail = e.what();
      return r;
    } catch (const std::exception& e) {
      r.result = Result::fail;
      r.detail = std::string("simulation error: ") + e.what();
      return r;
    }
    for (int oi = 0; oi < model.graph().output_size(); ++oi) {
      const std::string name = model.graph().output(oi).name();
      const TensorData want = read_tensor_pb(sd + "/output_" + std::to_string(oi) + ".pb");
      if (!got.count(name) || got.at(name).size() != want.floats.size()) {
        r.result = Result::fail;
        r.detail = "output '" + name + "' missing or of the wrong size";
        return r;
      }
      const auto& g = got.at(name);
      double max_want = 0, max_err = 0;
      size_t at = 0;
      for (size_t i = 0; i < g.size(); ++i) {
        max_want = std::max(max_want, double(std::fabs(want.floats[i])));
        const double e = std::fabs(double(g[i]) - double(want.floats[i]));
        if (!(e <= max_err)) {
          max_err = e;
          at = i;
        }
      }
      const double rel = max_want > 0 ? max_err / max_want : max_err;
      r.worst = std::max(r.worst, rel);
      if (!(rel <= tol)) {
        std::ostringstream ss;
        ss << set << " output '" << name << "'[" << at << "]: got " << g[at] << ", expected " << want.floats[at]
           << " (max error " << rel << " of max|want| > " << tol << ")";
        r.result = Result::fail;
        r.detail = ss.str();
        return r;
      }
    }
  }
  return r;
}

}  // namespace

TEST_CASE("ONNX backend node tests run on the TPU model (tpu_small, tile) in bf16, fp16 and int8",
          "[tpu_network][onnx][node]") {
  if (!is_dir(kNodeDir)) FAIL("libonnx-testdata is not installed (" << kNodeDir << "): run scripts/install-deps.sh");
  Machine m("tpu_small");
  const std::vector<std::pair<DType, std::string>> precisions = {
      {DType::bf16, "bf16"}, {DType::fp16, "fp16"}, {DType::int8, "int8"}};
  // [op][precision] -> counts
  std::map<std::string, std::map<std::string, std::array<int, 4>>> counts;
  std::map<std::string, std::map<std::string, double>> worst;  // of the runs that passed
  std::vector<std::string> failures, unsupported, expected;
  std::set<std::string> seen_expected, seen_not_lowered;
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& test : list(kNodeDir, "test_")) {
    const std::string dir = std::string(kNodeDir) + "/" + test;
    onnx::ModelProto model;
    if (!model.ParseFromString(slurp(dir + "/model.onnx"))) continue;
    bool all_supported = model.graph().node_size() > 0;
    for (const auto& n : model.graph().node()) all_supported = all_supported && kSupported.count(n.op_type());
    if (!all_supported) continue;
    const std::string op = model.graph().node_size() == 1 ? model.graph().node(0).op_type() : "(composite)";
    for (const auto& [dtype, pname] : precisions) {
      const Outcome r = run_case(m, dir, model, dtype);
      if (r.result == Result::not_imported) break;  // the importer's own skips (test_onnx_node_tests.cpp)
      const std::string key = test + "/" + pname;
      auto& c = counts[op][pname];
      const auto xf = kExpectedFail.find(key);
      if (xf != kExpectedFail.end()) seen_expected.insert(key);
      const auto nl = kNotLowered.find(key);
      if (nl != kNotLowered.end()) {
        seen_not_lowered.insert(key);
        if (r.result != Result::unsupported) failures.push_back(key + ": in kNotLowered but lowers: update the list");
      }
      switch (r.result) {
        case Result::pass:
          ++c[0];
          worst[op][pname] = std::max(worst[op][pname], r.worst);
          if (xf != kExpectedFail.end()) failures.push_back(key + ": in kExpectedFail but passes: update the list");
          break;
        case Result::fail:
          if (xf != kExpectedFail.end()) {
            ++c[2];
            expected.push_back(key + ": " + xf->second + " [" + r.detail + "]");
          } else {
            ++c[1];
            failures.push_back(key + ": " + r.detail);
          }
          break;
        default:
          ++c[3];
          unsupported.push_back(key + ": " + r.detail);
          if (nl == kNotLowered.end()) failures.push_back(key + ": not lowered (and not in kNotLowered): " + r.detail);
          break;
      }
    }
  }
  for (const auto& [key, reason] : kExpectedFail)
    if (!seen_expected.count(key)) failures.push_back(key + ": in kExpectedFail but not run");
  for (const auto& [key, reason] : kNotLowered)
    if (!seen_not_lowered.count(key)) failures.push_back(key + ": in kNotLowered but not run");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::cout << "ONNX node tests on the TPU (tpu_small, tile): pass / fail / expected-fail / not run on the TPU"
               " [largest error of a passing run, relative to max|want|]\n";
  std::cout << "  op                    bf16                   fp16                   int8\n";
  std::array<std::map<std::string, int>, 4> totals;
  for (const auto& [op, per] : counts) {
    char line[200];
    std::string cells;
    for (const auto& [dtype, pname] : precisions) {
      const auto c = per.count(pname) ? per.at(pname) : std::array<int, 4>{};
      const double wv = worst.count(op) && worst.at(op).count(pname) ? worst.at(op).at(pname) : 0.0;
      std::snprintf(line, sizeof line, "  %3d/%d/%d/%-3d [%.1e]", c[0], c[1], c[2], c[3], wv);
      cells += line;
      for (int k = 0; k < 4; ++k) totals[k][pname] += c[k];
    }
    std::snprintf(line, sizeof line, "  %-20s", op.c_str());
    std::cout << line << cells << "\n";
  }
  std::cout << "  total               ";
  for (const auto& [dtype, pname] : precisions)
    std::cout << "  " << totals[0][pname] << "/" << totals[1][pname] << "/" << totals[2][pname] << "/"
              << totals[3][pname] << "   ";
  std::cout << "\n  (" << secs << " s)\n";
  for (const auto& u : unsupported) std::cout << "NOT RUN " << u << "\n";
  for (const auto& e : expected) std::cout << "EXPECTED FAIL " << e << "\n";
  for (const auto& f : failures) std::cout << "FAIL " << f << "\n";
  CHECK(failures.empty());
  for (const auto& [dtype, pname] : precisions) {
    INFO(pname);
    CHECK(totals[0][pname] > 0);
  }
}
