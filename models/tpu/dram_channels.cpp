#include "models/tpu/dram_channels.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/common/errors.h"

namespace xpu::tpu {

double repeat_add(double x, double d, uint64_t m) {
  constexpr uint64_t kBinade = uint64_t(1) << 53;  // a binade's span in its ulps (2^e / u)
  while (m > 0) {
    // A few (a handful of additions is cheaper than the binade arithmetic),
    // or zero / subnormal: one step.
    if (m <= 16 || !(x >= std::numeric_limits<double>::min())) {
      x += d;
      --m;
      continue;
    }
    int e = 0;
    std::frexp(x, &e);                         // x in [2^(e-1), 2^e)
    const double u = std::ldexp(1.0, e - 53);  // its ulp
    const double q = d / u;                    // exact: a power-of-two scaling
    const double r = std::floor(q);
    if (!(q < double(kBinade)) || q - r == 0.5) {  // leaves the binade at once, or a tie
      x += d;
      --m;
      continue;
    }
    const uint64_t step = uint64_t(q - r < 0.5 ? r : r + 1);  // d on the grid, in ulps
    if (step == 0) return x;                                   // every addition rounds back to x
    const uint64_t xi = uint64_t(x / u);                       // exact, in [2^52, 2^53)
    // Additions whose rounded result stays <= 2^e - u: their exact sum is
    // below 2^e, so it rounds on this binade's grid.
    const uint64_t k = std::min<uint64_t>(m, (kBinade - 1 - xi) / step);
    if (k == 0) {
      x += d;
      --m;
      continue;
    }
    x = double(xi + k * step) * u;  // exact: an integer below 2^53 times a power of two
    m -= k;
  }
  return x;
}

DramChannels::DramChannels(const TpuConfig& cfg)
    : channels_(cfg.dram.channels), interleave_(cfg.dram.interleave_bytes), burst_(cfg.dram.burst_bytes) {
  // cycles per byte on one channel = channels / (GB/s per cycle) =
  // channels * MHz / (GB/s * 1e3); written so that round figures stay exact.
  cycles_per_byte_per_channel_ = double(cfg.dram.channels) * cfg.clock_mhz / (cfg.dram.bandwidth_gbps * 1e3);
  times_.until.assign(channels_, 0.0);
  d_full_ = double((interleave_ + burst_ - 1) / burst_ * burst_) * cycles_per_byte_per_channel_;
}

void DramChannels::add_busy(uint64_t from, uint64_t to) {
  if (to <= from) return;
  // Merge [from, to) into the disjoint interval set; count only new cycles.
  // An interval it touches grows in place (busy DRAM: the latest one).
  auto it = busy_.upper_bound(from);
  std::map<uint64_t, uint64_t>::iterator h;
  uint64_t covered = 0;
  if (it != busy_.begin() && std::prev(it)->second >= from) {
    h = std::prev(it);
    covered = h->second - h->first;
    h->second = std::max(h->second, to);
  } else {
    h = busy_.emplace_hint(it, from, to);  // no interval starts at `from`: it would touch
  }
  for (auto nx = std::next(h); nx != busy_.end() && nx->first <= h->second; nx = busy_.erase(nx)) {
    covered += nx->second - nx->first;
    h->second = std::max(h->second, nx->second);
  }
  busy_new_ += (h->second - h->first) - covered;
}

double DramChannels::advance(Times& tm, uint64_t addr, uint64_t bytes, double cursor,
                             std::vector<std::pair<double, double>>* spans) const {
  const uint64_t il = interleave_, C = channels_;
  // Whole groups of aligned chunks (q on every channel) on channels that all
  // start together (all free at the same cycle, or all by the cursor): every
  // channel adds the same q chunk durations from the same start, so they all
  // end together -- one interval, whatever the channel count.
  if (addr % il == 0 && bytes % (il * C) == 0 && (tm.uniform || tm.max_until <= cursor)) {
    const double start = tm.uniform ? std::max(tm.max_until, cursor) : cursor;
    const double end = repeat_add(start, d_full_, bytes / (il * C));
    tm.uniform = true;
    tm.max_until = end;
    if (spans) spans->emplace_back(start, end);
    return end;
  }
  if (tm.uniform) {
    std::fill(tm.until.begin(), tm.until.end(), tm.max_until);
    tm.uniform = false;
  }

  // Chunk j of the transfer goes to channel (first + j) % channels; the
  // first and the last chunk may be partial, the others are whole.
  const double cpb = cycles_per_byte_per_channel_;
  auto duration = [&](uint64_t len) { return double((len + burst_ - 1) / burst_ * burst_) * cpb; };
  const uint64_t first_len = std::min<uint64_t>(bytes, il - addr % il);
  const uint64_t rest = bytes - first_len;
  const uint64_t n = 1 + (rest + il - 1) / il;
  const double d_first = duration(first_len), d_full = d_full_;
  const double d_last = n > 1 ? duration(rest - (n - 2) * il) : 0.0;
  // Chunk n - 1 = q * C + r: channels j0 <= r hold q + 1 chunks (j0 = r the
  // last one), the others q.
  const uint64_t q = (n - 1) / C, r = (n - 1) % C;

  double group_end = cursor;
  size_t ch = size_t((addr / il) % C);
  for (uint64_t j0 = 0; j0 < std::min(n, C); ++j0, ch = ch + 1 == C ? 0 : ch + 1) {
    // This channel's chunks j0, j0 + C, ...: back to back from its first start.
    const uint64_t count = j0 <= r ? q + 1 : q;
    const bool has_last = n > 1 && j0 == r;
    const double start = std::max(tm.until[ch], cursor);
    double end = start;
    uint64_t whole = count;
    if (j0 == 0) {
      end += d_first;
      --whole;
    }
    if (has_last) --whole;
    end = repeat_add(end, d_full, whole);
    if (has_last) end += d_last;
    tm.until[ch] = end;
    group_end = std::max(group_end, end);
    if (!spans) continue;
    // Into the disjoint intervals of this group (channels mostly overlap: one).
    double s = start, t = end;
    for (size_t i = 0; i < spans->size();) {
      auto& sp = (*spans)[i];
      if (s <= sp.second && sp.first <= t) {
        s = std::min(s, sp.first);
        t = std::max(t, sp.second);
        sp = spans->back();
        spans->pop_back();
        i = 0;
      } else {
        ++i;
      }
    }
    spans->emplace_back(s, t);
  }
  tm.max_until = std::max(tm.max_until, group_end);
  return group_end;
}

void DramChannels::prune(uint64_t now) {
  // Bookings start no earlier than a requester's cursor, which trails the
  // current cycle by less than two: older busy intervals can no longer grow.
  while (!busy_.empty() && busy_.begin()->second + 4 < now) busy_.erase(busy_.begin());
}

bool DramChannels::run_span(uint64_t addr, uint64_t bytes, uint64_t group, double cursor, uint64_t t,
                            double& start, double& end) const {
  const uint64_t round = interleave_ * channels_;
  if (bytes == 0 || addr % interleave_ != 0 || bytes % round != 0 || group % round != 0) return false;
  if (!(times_.uniform || times_.max_until <= cursor) || !(cursor + 2 >= double(t))) return false;
  // The shortest group (the last may be partial) lasts at least 4 cycles.
  const uint64_t last = bytes % group == 0 ? group : bytes % group;
  if (!(double(last / round) * d_full_ >= 4.0)) return false;
  start = times_.uniform ? std::max(times_.max_until, cursor) : cursor;
  // Each group adds its chunk durations to the previous group's end: one
  // chain of additions over all of them.
  end = repeat_add(start, d_full_, bytes / round);
  return true;
}

bool DramChannels::book_run(uint64_t addr, uint64_t bytes, uint64_t group, double& cursor, uint64_t& t) {
  double start = 0, end = 0;
  if (!run_span(addr, bytes, group, cursor, t, start, end)) return false;
  prune(t + 1);
  times_.uniform = true;
  times_.max_until = end;
  add_busy(floor_cycles(start), ceil_cycles(end));
  cursor = end;
  t = ceil_cycles(end);
  return true;
}

bool DramChannels::dry_run(uint64_t addr, uint64_t bytes, uint64_t group, double& cursor, uint64_t& t) const {
  double start = 0, end = 0;
  if (!run_span(addr, bytes, group, cursor, t, start, end)) return false;
  cursor = end;
  t = ceil_cycles(end);
  return true;
}

double DramChannels::book(uint64_t addr, uint64_t bytes, double cursor, uint64_t now) {
  prune(now);
  if (bytes == 0) return cursor;
  spans_.clear();
  const double end = advance(times_, addr, bytes, cursor, &spans_);
  for (const auto& [s, t] : spans_) add_busy(floor_cycles(s), ceil_cycles(t));
  return end;
}

double DramChannels::dry_book(Times& scratch, uint64_t addr, uint64_t bytes, double cursor) const {
  if (bytes == 0) return cursor;
  return advance(scratch, addr, bytes, cursor, nullptr);
}

}  // namespace xpu::tpu
