// DRAM booking in closed form (DramChannels, dram_channels.h) against the chunk-by-
// chunk booking it replaced (RefChannels below: every interleave chunk
// booked on its channel in address order, its [floor(start), ceil(end))
// merged into the busy set): the same end of every request, the same
// channel state and the same busy cycles, on the shipped configs and on
// awkward ones, over random request streams.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "models/tpu/dram.h"
#include "sim/config/tpu_config.h"

using namespace xpu;
using namespace xpu::tpu;

namespace {

std::string src(const std::string& rel) { return std::string(XPUSIM_SOURCE_DIR) + "/" + rel; }

struct RefChannels {
  explicit RefChannels(const TpuConfig& cfg) : cfg(cfg) {
    cpb = double(cfg.dram.channels) * cfg.clock_mhz / (cfg.dram.bandwidth_gbps * 1e3);
    busy_until.assign(cfg.dram.channels, 0.0);
  }
  void add_busy(uint64_t from, uint64_t to) {
    if (to <= from) return;
    auto it = busy.upper_bound(from);
    if (it != busy.begin()) {
      auto prev = std::prev(it);
      if (prev->second >= from) {
        from = prev->first;
        to = std::max(to, prev->second);
        it = prev;
      }
    }
    uint64_t covered = 0;
    while (it != busy.end() && it->first <= to) {
      covered += it->second - it->first;
      to = std::max(to, it->second);
      from = std::min(from, it->first);
      it = busy.erase(it);
    }
    busy[from] = to;
    busy_cycles += (to - from) - covered;
  }
  double book(uint64_t addr, uint64_t left, double cursor, uint64_t now) {
    while (!busy.empty() && busy.begin()->second + 4 < now) busy.erase(busy.begin());
    const uint64_t il = cfg.dram.interleave_bytes, burst = cfg.dram.burst_bytes;
    double group_end = cursor;
    std::vector<std::pair<uint64_t, uint64_t>> spans;
    while (left > 0) {
      const uint64_t len = std::min<uint64_t>(left, il - addr % il);
      const uint64_t timed = (len + burst - 1) / burst * burst;
      const size_t ch = size_t((addr / il) % cfg.dram.channels);
      const double start = std::max(busy_until[ch], cursor);
      const double end = start + double(timed) * cpb;
      busy_until[ch] = end;
      spans.emplace_back(floor_cycles(start), ceil_cycles(end));
      group_end = std::max(group_end, end);
      addr += len;
      left -= len;
    }
    if (spans.empty()) return group_end;
    std::sort(spans.begin(), spans.end());
    uint64_t from = spans.front().first, to = spans.front().second;
    for (size_t i = 1; i < spans.size(); ++i) {
      if (spans[i].first > to) {
        add_busy(from, to);
        from = spans[i].first;
      }
      to = std::max(to, spans[i].second);
    }
    add_busy(from, to);
    return group_end;
  }
  TpuConfig cfg;
  double cpb;
  std::vector<double> busy_until;
  std::map<uint64_t, uint64_t> busy;
  uint64_t busy_cycles = 0;
};

// Random streams of requests as the requesters make them: groups of up to
// group_bytes at any address, cursors near the current cycle, sometimes
// from the previous end (back to back), time moving forward.
// `aligned`: mostly whole groups at aligned addresses, back to back (a
// weight tile's groups), which the channels book in O(1) when they all
// start together; otherwise any size at any address.
void compare_streams(const TpuConfig& cfg, uint64_t seed, bool aligned = false) {
  std::mt19937_64 rng(seed);
  RefChannels ref(cfg);
  DramChannels got(cfg);
  uint64_t busy = 0;
  double now = 0, last = 0;
  const uint64_t round = uint64_t(cfg.dram.channels) * cfg.dram.interleave_bytes;
  const uint64_t group = std::max<uint64_t>(round, (4096 + round - 1) / round * round);
  for (int i = 0; i < 20000; ++i) {
    uint64_t addr = rng() % 3 == 0 ? rng() % (1 << 20) * 64 : rng() % (1 << 24);
    uint64_t bytes = rng() % 4 == 0 ? group : rng() % (group + 1);
    if (aligned && rng() % 8 != 0) {
      addr = rng() % (1 << 16) * round;
      bytes = round * (1 + rng() % (group / round));
    }
    now += double(rng() % 5 == 0 ? rng() % 200 : rng() % 3);
    const double cursor = rng() % 2 || (aligned && rng() % 4 != 0) ? std::max(last, now - 1)
                                                                    : now + double(rng() % 1000) / 1000.0;
    const uint64_t cycle = uint64_t(now);
    const double want = ref.book(addr, bytes, cursor, cycle);
    const double have = got.book(addr, bytes, cursor, cycle);
    busy += got.take_busy_cycles();
    INFO("request " << i << ": addr " << addr << ", " << bytes << " bytes, cursor " << cursor);
    REQUIRE(have == want);  // bit for bit
    REQUIRE(busy == ref.busy_cycles);
    last = want;
    now = std::max(now, std::floor(want) - double(rng() % 3));
  }
  CHECK(busy > 0);
}

TpuConfig shipped(const std::string& name) { return config::load_tpu_config(src("configs/accelerators/" + name + ".yaml")); }

}  // namespace

TEST_CASE("repeat_add equals the addition loop, ties and binade crossings included") {
  std::mt19937_64 rng(7);
  auto loop = [](double x, double d, uint64_t m) {
    for (uint64_t i = 0; i < m; ++i) x += d;
    return x;
  };
  // Ties: x on a grid of ulp 1 (2^52 <= x < 2^53) and d = 1.5 ulp, rounding
  // to even alternately up and down; d = 0.5 ulp never moves an even x.
  const double big = 4503599627370496.0;  // 2^52
  CHECK(repeat_add(big + 1, 1.5, 1001) == loop(big + 1, 1.5, 1001));
  CHECK(repeat_add(big, 0.5, 77) == big);
  CHECK(repeat_add(big + 1, 0.25, 5) == big + 1);  // below half an ulp: absorbed
  CHECK(repeat_add(0.0, 0.1, 10) == loop(0.0, 0.1, 10));
  CHECK(repeat_add(DBL_MIN / 4, 1e-310, 1000) == loop(DBL_MIN / 4, 1e-310, 1000));
  // The durations the DRAM adds (bytes x cycles per byte) from cycle counts
  // of every size, across many binades.
  for (int i = 0; i < 20000; ++i) {
    const double x = std::ldexp(double(rng() % 100000) + double(rng() % 1000) / 997.0, int(rng() % 30) - 5);
    const double d = double(64 * (1 + rng() % 8)) * (double(1 + rng() % 32) * 700.0 / (double(1 + rng() % 900) * 1e3));
    const uint64_t m = rng() % 3 == 0 ? rng() % 5 : rng() % 5000;
    INFO("x " << x << " d " << d << " m " << m);
    REQUIRE(repeat_add(x, d, m) == loop(x, d, m));
  }
}

TEST_CASE("DRAM booking in closed form equals chunk-by-chunk booking on the shipped configs") {
  compare_streams(shipped("tpu_v1"), 1);         // 2 channels, 256 B interleave, 64 B bursts
  compare_streams(shipped("tpu_v2_like"), 2);    // 16 channels, 32 B bursts
  compare_streams(shipped("tpu_small"), 3);      // 2 channels, 64 B interleave
  // Mostly whole aligned groups back to back: the channels' O(1) booking.
  compare_streams(shipped("tpu_v1"), 11, true);
  compare_streams(shipped("tpu_v2_like"), 12, true);
}

TEST_CASE("DRAM booking in closed form equals chunk-by-chunk booking on awkward configs") {
  TpuConfig c = shipped("tpu_v1");
  c.dram.channels = 3;  // groups not a multiple of the channels
  c.dram.interleave_bytes = 96;
  c.dram.burst_bytes = 40;  // chunks not whole bursts
  c.dram.bandwidth_gbps = 33.3;
  c.clock_mhz = 940;
  compare_streams(c, 4);
  c.dram.channels = 1;
  c.dram.bandwidth_gbps = 7;
  compare_streams(c, 5);
  // Groups shorter than a cycle (4 KiB at 9 KB per cycle).
  c.dram.channels = 5;
  c.dram.bandwidth_gbps = 9000;
  c.clock_mhz = 1000;
  compare_streams(c, 6);
  compare_streams(c, 7, true);
  c.dram.channels = 3;
  c.dram.bandwidth_gbps = 33.3;
  compare_streams(c, 8, true);
}

namespace {

// DramChannels::book_run (a whole transfer in O(1)) against the loop it
// replaces in Dram::transfer: book() group by group, the requester back at
// max(t + 1, ceil(end)) after each. Random transfers, aligned or not, back
// to back or after gaps; where book_run declines, both sides take the loop.
void compare_runs(const TpuConfig& cfg, uint64_t seed) {
  std::mt19937_64 rng(seed);
  DramChannels loop(cfg), run(cfg);
  const uint64_t round = uint64_t(cfg.dram.channels) * cfg.dram.interleave_bytes;
  const uint64_t group = std::max<uint64_t>(round, (4096 + round - 1) / round * round);
  uint64_t t = 0, busy_loop = 0, busy_run = 0, runs = 0;
  double last = 0;
  for (int i = 0; i < 5000; ++i) {
    const bool aligned = rng() % 4 != 0;
    const uint64_t addr = aligned ? rng() % 4096 * round : rng() % (1 << 24);
    const uint64_t bytes = aligned ? round * (1 + rng() % (4 * group / round)) : 1 + rng() % (4 * group);
    t += rng() % 3 == 0 ? rng() % 300 : 0;
    const double cursor = rng() % 3 != 0 ? std::max(last, double(t) - 1) : double(t);
    double c_loop = cursor, c_run = cursor;
    uint64_t t_loop = t, t_run = t;
    for (uint64_t off = 0; off < bytes; off += group) {
      c_loop = loop.book(addr + off, std::min(group, bytes - off), c_loop, t_loop + 1);
      t_loop = std::max(t_loop + 1, ceil_cycles(c_loop));
    }
    if (run.book_run(addr, bytes, group, c_run, t_run)) {
      ++runs;
    } else {
      for (uint64_t off = 0; off < bytes; off += group) {
        c_run = run.book(addr + off, std::min(group, bytes - off), c_run, t_run + 1);
        t_run = std::max(t_run + 1, ceil_cycles(c_run));
      }
    }
    busy_loop += loop.take_busy_cycles();
    busy_run += run.take_busy_cycles();
    INFO("transfer " << i << ": addr " << addr << ", " << bytes << " bytes, cursor " << cursor);
    REQUIRE(c_run == c_loop);  // bit for bit
    REQUIRE(t_run == t_loop);
    REQUIRE(busy_run == busy_loop);
    last = c_loop;
    t = t_loop;
  }
  CHECK(runs > 1000);  // the closed form was taken, not only the loop
}

}  // namespace

TEST_CASE("DRAM: a whole transfer booked in closed form equals its groups booked one by one") {
  compare_runs(shipped("tpu_v1"), 21);       // 8 chunks per channel per group, 84 cycles
  compare_runs(shipped("tpu_v2_like"), 22);  // 1 chunk per channel per group, ~5.5 cycles
  compare_runs(shipped("tpu_small"), 23);
  TpuConfig c = shipped("tpu_v1");
  c.dram.channels = 3;
  c.dram.interleave_bytes = 96;
  c.dram.burst_bytes = 40;
  c.dram.bandwidth_gbps = 33.3;
  c.clock_mhz = 940;
  compare_runs(c, 24);
}
