#include "models/tpu/dram.h"

#include <algorithm>
#include <cmath>

namespace xpu::tpu {

Dram::Dram(sc_core::sc_module_name name, const TpuConfig& cfg, const Clock& clock, stats::Group& g)
    : sc_module(name),
      read_bytes(g.counter("read_bytes", stats::Unit::bytes, "bytes read from DRAM")),
      write_bytes(g.counter("write_bytes", stats::Unit::bytes, "bytes written to DRAM")),
      busy_cycles(g.counter("busy_cycles", stats::Unit::cycles, "cycles with at least one channel busy")),
      cfg_(cfg),
      clock_(clock) {
  // cycles per byte on one channel = channels / (GB/s per cycle) =
  // channels * MHz / (GB/s * 1e3); written so that round figures stay exact.
  cycles_per_byte_per_channel_ = double(cfg.dram.channels) * cfg.clock_mhz / (cfg.dram.bandwidth_gbps * 1e3);
  latency_cycles_ = cfg.dram_latency_cycles();
  const uint64_t round = uint64_t(cfg.dram.channels) * cfg.dram.interleave_bytes;
  group_bytes_ = std::max<uint64_t>(round, (4096 + round - 1) / round * round);
  busy_until_.assign(cfg.dram.channels, 0.0);
  SC_THREAD(arbiter);
}

double Dram::access(Requester who, uint64_t addr, uint64_t bytes, bool write, double cursor) {
  Request& r = req_[who];
  r.pending = true;
  r.addr = addr;
  r.bytes = bytes;
  r.write = write;
  r.cursor = cursor;
  r.posted = clock_.now();
  arbitrate_.notify(clock_.span(1));  // an earlier pending notification wins
  while (r.pending) sc_core::wait(granted_[who]);
  (write ? write_bytes : read_bytes) += bytes;
  return r.end;
}

void Dram::add_busy(uint64_t from, uint64_t to) {
  if (to <= from) return;
  // Merge [from, to) into the disjoint interval set; count only new cycles.
  auto it = busy_.upper_bound(from);
  if (it != busy_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= from) {
      from = prev->first;
      to = std::max(to, prev->second);
      it = prev;
    }
  }
  uint64_t covered = 0;
  while (it != busy_.end() && it->first <= to) {
    covered += it->second - it->first;
    to = std::max(to, it->second);
    from = std::min(from, it->first);
    it = busy_.erase(it);
  }
  busy_[from] = to;
  busy_cycles += (to - from) - covered;
}

double Dram::book(const Request& r) {
  // Bookings start no earlier than a requester's cursor, which trails the
  // current cycle by less than two: older busy intervals can no longer grow.
  const uint64_t now = clock_.now();
  while (!busy_.empty() && busy_.begin()->second + 4 < now) busy_.erase(busy_.begin());

  const uint64_t il = cfg_.dram.interleave_bytes;
  const uint64_t burst = cfg_.dram.burst_bytes;
  double group_end = r.cursor;
  uint64_t addr = r.addr;
  uint64_t left = r.bytes;
  // The group's chunks overlap across channels: merge them before touching
  // the interval set (one or two insertions per group instead of one per chunk).
  std::vector<std::pair<uint64_t, uint64_t>>& spans = spans_;
  spans.clear();
  while (left > 0) {
    const uint64_t len = std::min<uint64_t>(left, il - addr % il);
    const uint64_t timed = (len + burst - 1) / burst * burst;
    const size_t ch = size_t((addr / il) % cfg_.dram.channels);
    const double start = std::max(busy_until_[ch], r.cursor);
    const double end = start + double(timed) * cycles_per_byte_per_channel_;
    busy_until_[ch] = end;
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

void Dram::arbiter() {
  for (;;) {
    sc_core::wait(arbitrate_);
    const uint64_t now = clock_.now();
    // Every request posted before this cycle, by (cursor, requester id).
    std::vector<int> due;
    for (int i = 0; i < kRequesters; ++i) {
      if (req_[i].pending && req_[i].posted < now) due.push_back(i);
    }
    std::sort(due.begin(), due.end(), [&](int a, int b) {
      return req_[a].cursor != req_[b].cursor ? req_[a].cursor < req_[b].cursor : a < b;
    });
    for (int i : due) {
      req_[i].end = book(req_[i]);
      req_[i].pending = false;
      granted_[i].notify();
    }
    for (int i = 0; i < kRequesters; ++i) {
      if (req_[i].pending) arbitrate_.notify(clock_.span(1));
    }
  }
}

}  // namespace xpu::tpu
