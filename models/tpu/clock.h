#pragma once
// Time in the TPU model. Every unit keeps timestamps as uint64_t cycles; the
// SystemC kernel only orders events. One cycle is mapped to a whole number
// of kernel ticks (the clock period rounded to the time resolution, 1 ps by
// default: 1429 ps at 700 MHz), so cycle <-> sc_time conversions are exact
// integer arithmetic and never drift. Reported seconds use cycles x the true
// period (TpuConfig::cycle_ns), not the rounded kernel time.
//
// Fractional cycle counts appear only inside bandwidth models (a 4 KiB chunk
// over a 20 B/cycle link takes 204.8 cycles); they are turned into event
// times with ceil_cycles(), which treats values within 1e-6 of an integer as
// that integer so that binary rounding (69.99999999999999) cannot add a
// cycle.
#include <cmath>
#include <cstdint>
#include <limits>

#include <systemc>

namespace xpu::tpu {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

inline uint64_t ceil_cycles(double t) {
  if (!(t > 0)) return 0;
  const double r = std::nearbyint(t);
  if (std::fabs(t - r) < 1e-6) return static_cast<uint64_t>(r);
  return static_cast<uint64_t>(std::ceil(t));
}

inline uint64_t floor_cycles(double t) {
  if (!(t > 0)) return 0;
  const double r = std::nearbyint(t);
  if (std::fabs(t - r) < 1e-6) return static_cast<uint64_t>(r);
  return static_cast<uint64_t>(std::floor(t));
}

inline uint64_t align_up(uint64_t t, uint64_t step) { return step <= 1 ? t : (t + step - 1) / step * step; }

class Clock {
 public:
  explicit Clock(double cycle_ns) {
    ticks_ = sc_core::sc_time(cycle_ns, sc_core::SC_NS).value();
    if (ticks_ == 0) ticks_ = 1;
  }
  // Current cycle (kernel time / period, rounded down).
  uint64_t now() const { return sc_core::sc_time_stamp().value() / ticks_; }
  // The first whole cycle at or after the current kernel time.
  uint64_t now_ceil() const { return (sc_core::sc_time_stamp().value() + ticks_ - 1) / ticks_; }
  sc_core::sc_time span(uint64_t cycles) const { return sc_core::sc_time::from_value(cycles * ticks_); }
  // From an SC_THREAD: returns at `cycle` (at once if it is not in the future).
  void wait_until(uint64_t cycle) const {
    const uint64_t t = sc_core::sc_time_stamp().value();
    const uint64_t target = cycle * ticks_;
    if (target > t) sc_core::wait(sc_core::sc_time::from_value(target - t));
  }
  uint64_t ticks_per_cycle() const { return ticks_; }

 private:
  uint64_t ticks_ = 1;
};

}  // namespace xpu::tpu
