#pragma once
// A one-line progress bar with ETA on stderr, for runs and sweeps:
//   [##########----------]  50%  12/24 points  elapsed 0:07  ETA 0:07  last: p0011
// It appears only once the work has taken more than `delay_s` (2 s), only
// when stderr is a terminal, and never when disabled (-q); it redraws at
// most 10 times a second and clears its line when finished.
#include <chrono>
#include <string>

namespace xpu::report {

class Progress {
 public:
  // `unit`: what `total` counts ("points", "MMACs").
  Progress(std::string unit, double total, bool enabled, double delay_s = 2.0);
  ~Progress();
  // Terminal check for callers: enabled = !quiet && stderr_is_terminal().
  static bool stderr_is_terminal();
  void update(double done, const std::string& note = "");
  void finish();
  // The line as it would be drawn (for tests), with `elapsed_s` given.
  std::string line(double done, double elapsed_s, const std::string& note) const;

 private:
  std::string unit_;
  double total_;
  bool enabled_, shown_ = false, finished_ = false;
  double delay_s_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace xpu::report
