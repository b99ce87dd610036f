#include "sim/experiment/cycle_accounting.h"

#include <algorithm>
#include <array>
#include <string_view>

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

struct Named {
  std::string_view name;
  int kind;
};
constexpr Named kUnits[] = {{"mxu", kStream},           {"mxu_fill_drain", kInFlight},        {"weight_shift", kShift},
                            {"weight_fetch", kFetch},    {"weight_fetch_latency", kFetch},     {"activation", kVector},
                            {"dma_in", kHost},           {"dma_out", kHost},                   {"dma_in_latency", kHost},
                            {"dma_out_latency", kHost}};
constexpr Named kStalls[] = {{"weights_dram", kStallDram},
                             {"weights_shift", kStallShift},
                             {"activations", kStallInput},
                             {"accumulators", kStallAcc},
                             {"drain", kStallDrain}};

template <size_t N>
int find_kind(const Named (&table)[N], std::string_view key) {
  // A scan of a few short names (most differ in length): cheaper than a map
  // lookup, and spans arrive several times per weight tile.
  for (const Named& e : table)
    if (e.name == key) return e.kind;
  return -1;
}

int kind_of(const std::string& track, const std::string& name) {
  return track == "mxu_stall" ? find_kind(kStalls, name) : find_kind(kUnits, track);
}

// Causes, as indices into CycleAccounting::causes().
enum Cause : size_t {
  kMxuCompute,
  kFillDrain,
  kWeightShift,
  kWeightDram,
  kActivations,
  kAccumulators,
  kVectorUnit,
  kHostDma,
  kIdle,
  kCauses
};

// The cause of a cycle in which the kinds `open` are active (the rules in
// cycle_accounting.h).
Cause cause_of(const std::array<int, kKinds>& open) {
  auto on = [&](Kind k) { return open[k] > 0; };
  if (on(kStream)) return kMxuCompute;
  if (on(kStallDram)) return kWeightDram;
  if (on(kStallShift)) return kWeightShift;
  if (on(kStallAcc)) return kAccumulators;
  if (on(kStallDrain)) return kFillDrain;
  if (on(kStallInput)) return on(kVector) ? kVectorUnit : on(kHost) ? kHostDma : kActivations;
  if (on(kInFlight)) return kFillDrain;
  if (on(kVector)) return kVectorUnit;
  if (on(kHost)) return kHostDma;
  if (on(kFetch)) return kWeightDram;
  if (on(kShift)) return kWeightShift;
  return kIdle;
}

// An interval edge packed into one word, so that sorting compares integers:
// the cycle above, the kind and whether it opens below.
constexpr unsigned kEdgeShift = 5;  // 4 bits of kind (kKinds <= 16), 1 of open/close
static_assert(kKinds <= 16);
constexpr uint64_t kMaxEdgeCycle = ~uint64_t(0) >> kEdgeShift;

}  // namespace

const std::vector<std::string>& CycleAccounting::causes() {
  static const std::vector<std::string> c = {"mxu_compute", "fill_drain",   "weight_shift", "weight_dram", "activations",
                                             "accumulators", "vector_unit", "host_dma",     "idle"};
  return c;
}

CycleAccounting::CycleAccounting() : next_(trace::g_sink), busy_(kKinds), counts_(kCauses, 0) {
  trace::g_sink = this;
}

const std::map<std::string, uint64_t>& CycleAccounting::cycles() const {
  for (size_t c = 0; c < kCauses; ++c) cycles_[causes()[c]] = counts_[c];
  return cycles_;
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
  if (end > kMaxEdgeCycle)
    throw InternalError("cycle accounting: cycle " + std::to_string(end) + " is beyond " +
                        std::to_string(kMaxEdgeCycle));
  // The edges as runs, each in arrival order: per kind its openings, then
  // its closings. A unit reports its intervals nearly in order, so most
  // runs are sorted already; merging them costs a few passes where a sort
  // of all edges costs ~log2(edges).
  edges_.clear();  // reused, as are the others: their capacity stays
  bounds_.assign(1, 0);
  for (size_t k = 0; k < busy_.size(); ++k)
    for (const int opening : {1, 0}) {
      for (const auto& [b, e] : busy_[k]) {
        const uint64_t lo = std::max(b, start), hi = std::min(e, end);
        if (hi <= lo) continue;
        edges_.push_back((opening ? lo : hi) << kEdgeShift | k << 1 | uint64_t(opening));
      }
      if (edges_.size() == bounds_.back()) continue;
      const auto first = edges_.begin() + long(bounds_.back());
      if (!std::is_sorted(first, edges_.end())) std::sort(first, edges_.end());
      bounds_.push_back(edges_.size());
    }
  // Merge neighbouring runs until one is left (edges at one cycle are all
  // applied before that cycle is attributed, so their order does not matter).
  while (bounds_.size() > 2) {
    scratch_.resize(edges_.size());
    std::vector<size_t> merged{0};
    for (size_t r = 0; r + 1 < bounds_.size(); r += 2) {
      const auto a = edges_.begin() + long(bounds_[r]);
      const auto m = edges_.begin() + long(bounds_[r + 1]);
      const auto b = r + 2 < bounds_.size() ? edges_.begin() + long(bounds_[r + 2]) : m;
      std::merge(a, m, m, b, scratch_.begin() + long(bounds_[r]));
      merged.push_back(size_t(b - edges_.begin()));
    }
    edges_.swap(scratch_);
    bounds_.swap(merged);
  }
  std::array<int, kKinds> open{};
  uint64_t at = start;
  size_t i = 0;
  while (at < end) {
    for (; i < edges_.size() && (edges_[i] >> kEdgeShift) <= at; ++i)
      open[(edges_[i] >> 1) & 15] += (edges_[i] & 1) ? 1 : -1;
    const uint64_t next = i < edges_.size() ? std::min(edges_[i] >> kEdgeShift, end) : end;
    counts_[cause_of(open)] += next - at;
    at = next;
  }
}

}  // namespace xpu::experiment
