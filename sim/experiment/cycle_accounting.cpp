#include "sim/experiment/cycle_accounting.h"

#include <algorithm>

#include "sim/common/errors.h"

namespace xpu::experiment {

namespace {

// Kinds of intervals collected.
enum Kind : size_t {
  kStream,       // "mxu": the array streams
  kInFlight,     // "mxu_fill_drain": a pass after its stream
  kShift,        // "weight_shift"
  kFetch,        // "weight_fetch", "weight_fetch_latency"
  kVector,       // "activation"
  kHost,         // "dma_in", "dma_out" and their latency
  kStallDram,    // "mxu_stall" by cause
  kStallShift,
  kStallInput,
  kStallAcc,
  kStallDrain,
  kKinds
};

int kind_of(const std::string& track, const std::string& name) {
  static const std::map<std::string, int> units = {
      {"mxu", kStream},        {"mxu_fill_drain", kInFlight}, {"weight_shift", kShift},
      {"weight_fetch", kFetch}, {"weight_fetch_latency", kFetch}, {"activation", kVector},
      {"dma_in", kHost},        {"dma_out", kHost},            {"dma_in_latency", kHost},
      {"dma_out_latency", kHost}};
  static const std::map<std::string, int> stalls = {{"weights_dram", kStallDram},
                                                     {"weights_shift", kStallShift},
                                                     {"activations", kStallInput},
                                                     {"accumulators", kStallAcc},
                                                     {"drain", kStallDrain}};
  const auto& m = track == "mxu_stall" ? stalls : units;
  auto it = m.find(track == "mxu_stall" ? name : track);
  return it == m.end() ? -1 : it->second;
}

// The cause of a cycle in which the kinds `open` are active (the rules in
// cycle_accounting.h).
const char* cause_of(const std::vector<int>& open) {
  auto on = [&](Kind k) { return open[k] > 0; };
  if (on(kStream)) return "mxu_compute";
  if (on(kStallDram)) return "weight_dram";
  if (on(kStallShift)) return "weight_shift";
  if (on(kStallAcc)) return "accumulators";
  if (on(kStallDrain)) return "fill_drain";
  if (on(kStallInput)) return on(kVector) ? "vector_unit" : on(kHost) ? "host_dma" : "activations";
  if (on(kInFlight)) return "fill_drain";
  if (on(kVector)) return "vector_unit";
  if (on(kHost)) return "host_dma";
  if (on(kFetch)) return "weight_dram";
  if (on(kShift)) return "weight_shift";
  return "idle";
}

}  // namespace

const std::vector<std::string>& CycleAccounting::causes() {
  static const std::vector<std::string> c = {"mxu_compute", "fill_drain",   "weight_shift", "weight_dram", "activations",
                                             "accumulators", "vector_unit", "host_dma",     "idle"};
  return c;
}

CycleAccounting::CycleAccounting() : next_(trace::g_sink), busy_(kKinds) {
  for (const auto& c : causes()) cycles_[c] = 0;
  trace::g_sink = this;
}

CycleAccounting::~CycleAccounting() { trace::g_sink = next_; }

void CycleAccounting::span(const std::string& track, const std::string& name, uint64_t b, uint64_t e) {
  if (next_) next_->span(track, name, b, e);
  if (track == "program") {
    account(open_ ? std::max(cursor_, b) : b, e);
    total_ += e - b;
    for (auto& x : busy_) x.clear();
    held_ = 0;
    open_ = false;
    return;
  }
  const int k = kind_of(track, name);
  if (k < 0 || e <= b) return;
  if (open_ && b < cursor_)
    throw InternalError("cycle accounting: a '" + track + "' interval begins at cycle " + std::to_string(b) +
                        ", before cycle " + std::to_string(cursor_) + " its model said was settled");
  busy_[size_t(k)].push_back({b, e});
  held_peak_ = std::max(held_peak_, ++held_);
}

void CycleAccounting::settled(uint64_t program_start, uint64_t cycle) {
  if (next_) next_->settled(program_start, cycle);
  if (!open_) {
    open_ = true;
    cursor_ = program_start;
  }
  if (cycle <= cursor_) return;
  account(cursor_, cycle);
  cursor_ = cycle;
  held_ = 0;
  for (auto& x : busy_) {
    x.erase(std::remove_if(x.begin(), x.end(), [&](const std::pair<uint64_t, uint64_t>& i) { return i.second <= cycle; }),
            x.end());
    held_ += x.size();
  }
}

void CycleAccounting::begin(const std::string& track, const std::string& name, uint64_t cycle) {
  if (next_) next_->begin(track, name, cycle);
}

void CycleAccounting::end(const std::string& track, uint64_t cycle) {
  if (next_) next_->end(track, cycle);
}

// One sweep over the program's cycles: between consecutive interval
// boundaries the set of active kinds is constant, and so is the cause.
void CycleAccounting::account(uint64_t start, uint64_t end) {
  struct Edge {
    uint64_t at;
    size_t kind;
    int delta;
  };
  std::vector<Edge> edges;
  for (size_t k = 0; k < busy_.size(); ++k)
    for (const auto& [b, e] : busy_[k]) {
      const uint64_t lo = std::max(b, start), hi = std::min(e, end);
      if (hi <= lo) continue;
      edges.push_back({lo, k, +1});
      edges.push_back({hi, k, -1});
    }
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) { return a.at < b.at; });
  std::vector<int> open(busy_.size(), 0);
  uint64_t at = start;
  size_t i = 0;
  while (at < end) {
    for (; i < edges.size() && edges[i].at <= at; ++i) open[edges[i].kind] += edges[i].delta;
    const uint64_t next = i < edges.size() ? std::min(edges[i].at, end) : end;
    cycles_[cause_of(open)] += next - at;
    at = next;
  }
}

}  // namespace xpu::experiment
