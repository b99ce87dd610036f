#pragma once
// The DRAM channels' bookings without SystemC (dram.h has the timing rules).
//
// Booking arithmetic (DramChannels): a group is booked per channel in closed
// form, not chunk by chunk. A channel's chunks of one group run back to back
// (each starts when the previous one ends), so they cover one interval
// [floor(first start), ceil(last end)); its end is the chunk durations added
// one by one in floating point, which repeat_add() computes exactly without
// the loop. The busy-cycle count is the measure of the union of these
// intervals, whatever their grouping. Whole groups of aligned chunks on
// channels that start together (a weight tile's groups, back to back) end
// together on every channel: O(1) per group, and a whole transfer of them
// is one chain of additions and one interval (book_run()) when each group
// lasts long enough (4 cycles) that its requester comes back at its end.
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "models/tpu/clock.h"
#include "models/tpu/tpu_config.h"

namespace xpu::tpu {

// fl(...fl(fl(x + d) + d)... + d) with m additions (x >= 0, d > 0), exactly
// as the loop rounds, in a few steps per binade of x: inside one binade
// [2^e, 2^(e+1)) every double is a multiple of its ulp u, so an addition
// whose result stays there adds d rounded to a multiple of u -- the same
// amount each time (a tie, d an odd multiple of u / 2, rounds to even and
// is stepped singly).
double repeat_add(double x, double d, uint64_t m);

// The channels' bookings (timing rules above), without SystemC.
class DramChannels {
 public:
  // When each channel is free (fractional cycle). `uniform`: all of them at
  // `max_until` (then `until` is stale): the state a run of whole, aligned
  // groups leaves, so that the next such group is booked in O(1).
  struct Times {
    std::vector<double> until;
    double max_until = 0;
    bool uniform = true;
  };

  explicit DramChannels(const TpuConfig& cfg);
  // Books the chunks of [addr, addr + bytes) no earlier than `cursor`;
  // returns the fractional cycle at which the last one ends (>= cursor).
  // `now` (the current cycle, <= cursor + 2) lets old busy intervals go.
  double book(uint64_t addr, uint64_t bytes, double cursor, uint64_t now);
  // book() of [addr, addr + bytes) group by group (`group` bytes each), each
  // group from the previous one's end, its requester back at t = max(t + 1,
  // ceil(end)) after each (`t` in: the cycle the first one is booked less
  // one; out: the cycle after the last): in O(1) when every group is whole
  // aligned chunks on channels that start together and lasts at least 4
  // cycles (then t = ceil(end) after each, and the groups' intervals
  // touch). Returns false, booking nothing, when that does not hold.
  bool book_run(uint64_t addr, uint64_t bytes, uint64_t group, double& cursor, uint64_t& t);
  // What book_run() would give (cursor, t), booking nothing.
  bool dry_run(uint64_t addr, uint64_t bytes, uint64_t group, double& cursor, uint64_t& t) const;
  // The end book() would return, on a copy of the channel state that
  // `scratch` holds (copy_times() fills it); books nothing.
  double dry_book(Times& scratch, uint64_t addr, uint64_t bytes, double cursor) const;
  void copy_times(Times& scratch) const { scratch = times_; }
  // Cycles with at least one busy channel booked since the last call.
  uint64_t take_busy_cycles() {
    const uint64_t b = busy_new_;
    busy_new_ = 0;
    return b;
  }

 private:
  void add_busy(uint64_t from, uint64_t to);
  void prune(uint64_t now);
  // book_run()'s conditions and chain: false, or the run's start and end.
  bool run_span(uint64_t addr, uint64_t bytes, uint64_t group, double cursor, uint64_t t, double& start,
                double& end) const;
  // Advances `t` by one request; returns its end. Each channel's interval
  // goes to spans_ when `spans` (book(); dry_book() passes false).
  double advance(Times& t, uint64_t addr, uint64_t bytes, double cursor, std::vector<std::pair<double, double>>* spans) const;

  uint64_t channels_, interleave_, burst_;
  double cycles_per_byte_per_channel_;
  double d_full_;  // cycles of a whole interleave chunk
  Times times_;
  std::map<uint64_t, uint64_t> busy_;  // disjoint [from, to) intervals with a busy channel
  std::vector<std::pair<double, double>> spans_;  // scratch for book(): disjoint channel intervals
  uint64_t busy_new_ = 0;
};

}  // namespace xpu::tpu
