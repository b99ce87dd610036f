// The cycle accounting's sweep (sim/experiment/cycle_accounting.cpp: each
// kind's intervals merged into runs, boundary to boundary) against the rules
// of cycle_accounting.h applied cycle by cycle, on random spans of every
// track, out of order and overlapping, with settled() calls in between.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "sim/experiment/cycle_accounting.h"

namespace {

using xpu::experiment::CycleAccounting;

struct Span {
  std::string track, name;
  uint64_t b, e;
};

// The cause of cycle c by the rules of cycle_accounting.h, from the spans
// that cover it.
std::string cause_at(const std::vector<Span>& spans, uint64_t c) {
  auto on = [&](const std::string& track, const char* name = nullptr) {
    for (const auto& s : spans)
      if (s.track == track && (name == nullptr || s.name == name) && s.b <= c && c < s.e) return true;
    return false;
  };
  auto any = [&](std::initializer_list<const char*> tracks) {
    for (const char* t : tracks)
      if (on(t)) return true;
    return false;
  };
  const bool vec = on("activation"), host = any({"dma_in", "dma_out", "dma_in_latency", "dma_out_latency"});
  if (on("mxu")) return "mxu_compute";
  if (on("mxu_stall", "weights_dram")) return "weight_dram";
  if (on("mxu_stall", "weights_shift")) return "weight_shift";
  if (on("mxu_stall", "accumulators")) return "accumulators";
  if (on("mxu_stall", "drain")) return "fill_drain";
  if (on("mxu_stall", "activations")) return vec ? "vector_unit" : host ? "host_dma" : "activations";
  if (on("mxu_fill_drain")) return "fill_drain";
  if (vec) return "vector_unit";
  if (host) return "host_dma";
  if (any({"weight_fetch", "weight_fetch_latency"})) return "weight_dram";
  if (on("weight_shift")) return "weight_shift";
  return "idle";
}

}  // namespace

TEST_CASE("cycle accounting's sweep equals the cause of every single cycle", "[accounting]") {
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"mxu", "matmul"},
      {"mxu_fill_drain", "fill/drain"},
      {"weight_shift", "shift tile"},
      {"weight_fetch", "read_weights"},
      {"weight_fetch_latency", "DRAM latency"},
      {"activation", "vector"},
      {"dma_in", "read_host_memory"},
      {"dma_out_latency", "latency"},
      {"mxu_stall", "weights_dram"},
      {"mxu_stall", "weights_shift"},
      {"mxu_stall", "activations"},
      {"mxu_stall", "accumulators"},
      {"mxu_stall", "drain"},
      {"other_unit", "ignored"},  // not a kind: no effect
  };
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    CycleAccounting acc;
    const uint64_t start = 100 + rng() % 50, len = 50 + rng() % 400;
    std::vector<Span> all;
    // Spans in rounds; after each round the accounting is told that nothing
    // later begins before the earliest begin of the next round.
    std::vector<std::vector<Span>> rounds(1 + rng() % 4);
    for (auto& r : rounds) {
      const size_t n = rng() % 60;
      for (size_t i = 0; i < n; ++i) {
        const auto& k = kinds[rng() % kinds.size()];
        const uint64_t b = start + rng() % len, e = b + rng() % 40;
        r.push_back({k.first, k.second, b, e});
      }
    }
    for (size_t i = 0; i < rounds.size(); ++i) {
      for (const auto& s : rounds[i]) {
        acc.span(s.track, s.name, s.b, s.e);
        all.push_back(s);
      }
      uint64_t next_begin = start + len;
      for (size_t j = i + 1; j < rounds.size(); ++j)
        for (const auto& s : rounds[j]) next_begin = std::min(next_begin, s.b);
      acc.settled(start, std::max(start, next_begin - std::min<uint64_t>(next_begin - start, rng() % 5)));
    }
    acc.span("program", "p", start, start + len);
    std::map<std::string, uint64_t> want;
    for (const auto& c : CycleAccounting::causes()) want[c] = 0;
    for (uint64_t c = start; c < start + len; ++c) want[cause_at(all, c)] += 1;
    INFO("trial " << trial);
    CHECK(acc.cycles() == want);
    CHECK(acc.total() == len);
  }
}
