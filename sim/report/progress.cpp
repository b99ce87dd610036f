#include "sim/report/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace xpu::report {

namespace {

std::string clock_text(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--";
  const long t = long(s + 0.5);
  char b[32];
  if (t >= 3600) std::snprintf(b, sizeof b, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(b, sizeof b, "%ld:%02ld", t / 60, t % 60);
  return b;
}

std::string amount(double v) {
  char b[32];
  if (v == std::floor(v) && v < 1e12) std::snprintf(b, sizeof b, "%.0f", v);
  else std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

}  // namespace

Progress::Progress(std::string unit, double total, bool enabled, double delay_s)
    : unit_(std::move(unit)), total_(total), enabled_(enabled), delay_s_(delay_s),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() { finish(); }

bool Progress::stderr_is_terminal() { return ::isatty(2) == 1; }

std::string Progress::line(double done, double elapsed_s, const std::string& note) const {
  const double f = total_ > 0 ? std::clamp(done / total_, 0.0, 1.0) : 0.0;
  const int width = 24, filled = int(f * width + 1e-9);
  std::string bar(size_t(filled), '#');
  bar += std::string(size_t(width - filled), '-');
  const double eta = f > 0 ? elapsed_s * (1 - f) / f : NAN;
  char pct[16];
  std::snprintf(pct, sizeof pct, "%3d%%", int(f * 100));
  std::string s = "[" + bar + "] " + pct + "  " + amount(done) + "/" + amount(total_) + " " + unit_ + "  elapsed " +
                  clock_text(elapsed_s) + "  ETA " + clock_text(eta);
  if (!note.empty()) s += "  " + note;
  return s;
}

void Progress::update(double done, const std::string& note) {
  if (!enabled_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < delay_s_) return;
  if (shown_ && std::chrono::duration<double>(now - last_draw_).count() < 0.1 && done < total_) return;
  last_draw_ = now;
  shown_ = true;
  std::string l = line(done, elapsed, note);
  if (l.size() > 150) l.resize(150);
  std::fprintf(stderr, "\r\033[2K%s", l.c_str());
  std::fflush(stderr);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (shown_) {
    std::fprintf(stderr, "\r\033[2K");
    std::fflush(stderr);
  }
}

}  // namespace xpu::report
