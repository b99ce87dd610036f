#include "sim/report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace xpu::report::svg {

namespace {

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

// Axis ticks: 1, 2 or 5 times a power of ten, about `n` of them.
std::vector<double> nice_ticks(double lo, double hi, int n = 5) {
  std::vector<double> t;
  if (!(hi > lo)) {
    t.push_back(lo);
    return t;
  }
  const double raw = (hi - lo) / n;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  double step = p;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) {
      step = m * p;
      break;
    }
  for (double v = std::ceil(lo / step) * step; v <= hi * (1 + 1e-9); v += step) t.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return t;
}

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double px0 = 0, px1 = 1;  // pixel range
  double map(double v) const {
    double f;
    if (log) f = (std::log10(std::max(v, 1e-300)) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
    else f = (v - lo) / (hi - lo);
    return px0 + f * (px1 - px0);
  }
  std::vector<double> ticks() const {
    if (!log) return nice_ticks(lo, hi);
    std::vector<double> t;
    for (double d = std::ceil(std::log10(lo) - 1e-9); d <= std::log10(hi) + 1e-9; d += 1) t.push_back(std::pow(10.0, d));
    return t;
  }
};

Axis make_axis(double lo, double hi, double px0, double px1, bool allow_log) {
  Axis a;
  a.px0 = px0;
  a.px1 = px1;
  if (!(lo > 0) || !std::isfinite(lo) || !std::isfinite(hi)) allow_log = false;
  if (allow_log && hi / lo > 30) {
    a.log = true;
    a.lo = std::pow(10.0, std::floor(std::log10(lo)));
    a.hi = std::pow(10.0, std::ceil(std::log10(hi)));
    if (a.hi <= a.lo) a.hi = a.lo * 10;
  } else {
    const double span = hi - lo;
    a.lo = lo - 0.08 * (span > 0 ? span : std::fabs(lo) + 1);
    a.hi = hi + 0.08 * (span > 0 ? span : std::fabs(hi) + 1);
    if (lo >= 0 && a.lo < 0) a.lo = 0;
  }
  return a;
}

std::string header(int w, int h, const std::string& title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(w) + "\" height=\"" +
         std::to_string(h) + "\" viewBox=\"0 0 " + std::to_string(w) + " " + std::to_string(h) +
         "\" font-family=\"sans-serif\" font-size=\"11\" role=\"img\"><title>" + escape(title) +
         "</title><text x=\"8\" y=\"16\" font-size=\"13\" font-weight=\"bold\">" + escape(title) + "</text>";
}

}  // namespace

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  return o;
}

std::string color(size_t i) {
  static const char* const c[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
                                  "#ff9da7", "#9c755f", "#bab0ac", "#1f3b5a", "#8c4a0f", "#7a1f21", "#2f6b66",
                                  "#2b5a26", "#8a7420", "#5b3a55", "#a0525b", "#4f3a2e", "#6b6560"};
  return c[i % (sizeof c / sizeof c[0])];
}

std::string si(double v) {
  if (v == 0) return "0";
  if (!std::isfinite(v)) return "-";
  static const struct { double f; const char* s; } units[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"},
                                                              {1, ""},     {1e-3, "m"}, {1e-6, "u"}, {1e-9, "n"},
                                                              {1e-12, "p"}};
  const double a = std::fabs(v);
  for (const auto& u : units)
    if (a >= u.f * 0.9995) {
      char b[32];
      std::snprintf(b, sizeof b, "%.3g%s", v / u.f, u.s);
      return b;
    }
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

std::string stacked_bars(const std::string& title, const std::vector<Bar>& bars, const std::string& unit,
                         const std::vector<std::string>& legend) {
  const int left = 300, right = 30, top = 30, row = 24, w = 960;
  const int legend_rows = legend.empty() ? 0 : int((legend.size() + 3) / 4);
  const int h = top + int(bars.size()) * row + 40 + legend_rows * 16 + 8;
  double maxv = 0;
  for (const auto& b : bars) {
    double s = 0;
    for (const auto& seg : b.segments) s += std::max(0.0, seg.value);
    maxv = std::max(maxv, s);
  }
  if (maxv <= 0) maxv = 1;
  Axis x;
  x.lo = 0;
  x.hi = maxv * 1.02;
  x.px0 = left;
  x.px1 = w - right;
  std::string o = header(w, h, title);
  const int axis_y = top + int(bars.size()) * row + 4;
  for (double t : x.ticks()) {
    const double px = x.map(t);
    o += "<line x1=\"" + num(px) + "\" y1=\"" + std::to_string(top) + "\" x2=\"" + num(px) + "\" y2=\"" +
         std::to_string(axis_y) + "\" stroke=\"#ddd\"/><text x=\"" + num(px) + "\" y=\"" + std::to_string(axis_y + 14) +
         "\" text-anchor=\"middle\">" + escape(si(t)) + "</text>";
  }
  o += "<text x=\"" + num((x.px0 + x.px1) / 2) + "\" y=\"" + std::to_string(axis_y + 30) +
       "\" text-anchor=\"middle\">" + escape(unit) + "</text>";
  for (size_t i = 0; i < bars.size(); ++i) {
    const int y = top + int(i) * row;
    o += "<text x=\"" + std::to_string(left - 6) + "\" y=\"" + std::to_string(y + 15) + "\" text-anchor=\"end\">" +
         escape(bars[i].label) + "</text>";
    double acc = 0, total = 0;
    for (const auto& seg : bars[i].segments) total += std::max(0.0, seg.value);
    for (const auto& seg : bars[i].segments) {
      const double v = std::max(0.0, seg.value);
      if (v <= 0) continue;
      const double x0 = x.map(acc), x1 = x.map(acc + v);
      acc += v;
      o += "<rect x=\"" + num(x0) + "\" y=\"" + std::to_string(y + 3) + "\" width=\"" + num(std::max(x1 - x0, 0.0)) +
           "\" height=\"" + std::to_string(row - 6) + "\" fill=\"" + color(seg.color) +
           "\" stroke=\"#fff\" stroke-width=\"0.3\"><title>" + escape(bars[i].label + ": " + seg.name + ": " + si(v) +
           " " + unit + " (" + si(100 * v / (total > 0 ? total : 1)) + " %)") + "</title></rect>";
    }
    o += "<text x=\"" + num(x.map(acc) + 4) + "\" y=\"" + std::to_string(y + 15) + "\">" + escape(si(total)) + "</text>";
  }
  for (size_t i = 0; i < legend.size(); ++i) {
    const int lx = 10 + int(i % 4) * 235, ly = axis_y + 40 + int(i / 4) * 16;
    o += "<rect x=\"" + std::to_string(lx) + "\" y=\"" + std::to_string(ly - 9) + "\" width=\"10\" height=\"10\" fill=\"" +
         color(i) + "\"/><text x=\"" + std::to_string(lx + 14) + "\" y=\"" + std::to_string(ly) + "\">" +
         escape(legend[i]) + "</text>";
  }
  return o + "</svg>";
}

std::string roofline(const std::string& title, double peak_tops, double dram_gbps, const std::vector<RoofPoint>& pts) {
  const int w = 600, h = 400, left = 70, right = 20, top = 30, bottom = 60;
  const double ridge = dram_gbps > 0 ? peak_tops * 1e3 / dram_gbps : 0;
  double xlo = ridge > 0 ? ridge : 1, xhi = xlo, ylo = peak_tops > 0 ? peak_tops : 1;
  size_t unplaced = 0;
  for (const auto& p : pts) {
    if (!(p.ops_per_byte > 0) || !(p.tops > 0)) {
      ++unplaced;
      continue;
    }
    xlo = std::min(xlo, p.ops_per_byte);
    xhi = std::max(xhi, p.ops_per_byte);
    ylo = std::min(ylo, p.tops);
  }
  Axis x = make_axis(xlo / 4, xhi * 4, left, w - right, true);
  x.log = true;
  x.lo = std::pow(10.0, std::floor(std::log10(xlo / 4)));
  x.hi = std::pow(10.0, std::ceil(std::log10(xhi * 4)));
  Axis y;
  y.log = true;
  y.px0 = h - bottom;
  y.px1 = top;
  y.lo = std::pow(10.0, std::floor(std::log10(ylo / 4)));
  y.hi = std::pow(10.0, std::ceil(std::log10(std::max(peak_tops, ylo) * 1.5)));
  if (y.hi <= y.lo) y.hi = y.lo * 10;
  std::string o = header(w, h, title);
  for (double t : x.ticks())
    o += "<line x1=\"" + num(x.map(t)) + "\" y1=\"" + std::to_string(top) + "\" x2=\"" + num(x.map(t)) + "\" y2=\"" +
         std::to_string(h - bottom) + "\" stroke=\"#e4e4e4\"/><text x=\"" + num(x.map(t)) + "\" y=\"" +
         std::to_string(h - bottom + 14) + "\" text-anchor=\"middle\">" + escape(si(t)) + "</text>";
  for (double t : y.ticks())
    o += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + num(y.map(t)) + "\" x2=\"" + std::to_string(w - right) +
         "\" y2=\"" + num(y.map(t)) + "\" stroke=\"#e4e4e4\"/><text x=\"" + std::to_string(left - 4) + "\" y=\"" +
         num(y.map(t) + 4) + "\" text-anchor=\"end\">" + escape(si(t)) + "</text>";
  o += "<text x=\"" + num((left + w - right) / 2.0) + "\" y=\"" + std::to_string(h - bottom + 32) +
       "\" text-anchor=\"middle\">operational intensity (ops per DRAM byte, log)</text>";
  o += "<text transform=\"translate(14," + num((top + h - bottom) / 2.0) +
       ") rotate(-90)\" text-anchor=\"middle\">TOPS (log)</text>";
  if (peak_tops > 0) {
    if (dram_gbps > 0) {
      const double x0 = x.lo, y0 = dram_gbps * x0 / 1e3;
      o += "<polyline fill=\"none\" stroke=\"#333\" stroke-width=\"2\" points=\"" + num(x.map(x0)) + "," +
           num(y.map(std::max(y0, y.lo))) + " " + num(x.map(ridge)) + "," + num(y.map(peak_tops)) + " " +
           num(x.map(x.hi)) + "," + num(y.map(peak_tops)) + "\"><title>" +
           escape("roof: min(" + si(peak_tops) + " TOPS, " + si(dram_gbps) + " GB/s x intensity)") +
           "</title></polyline>";
      o += "<circle cx=\"" + num(x.map(ridge)) + "\" cy=\"" + num(y.map(peak_tops)) +
           "\" r=\"5\" fill=\"#fff\" stroke=\"#333\" stroke-width=\"2\"><title>" +
           escape("ridge point: " + si(ridge) + " ops/byte") + "</title></circle><text x=\"" +
           num(x.map(ridge) + 6) + "\" y=\"" + num(y.map(peak_tops) + 16) + "\">ridge " + escape(si(ridge)) +
           " ops/B</text>";
    } else {
      o += "<line x1=\"" + num(x.map(x.lo)) + "\" y1=\"" + num(y.map(peak_tops)) + "\" x2=\"" + num(x.map(x.hi)) +
           "\" y2=\"" + num(y.map(peak_tops)) + "\" stroke=\"#333\" stroke-width=\"2\"/>";
    }
    o += "<text x=\"" + num(x.map(x.hi) - 4) + "\" y=\"" + num(y.map(peak_tops) - 5) +
         "\" text-anchor=\"end\">peak " + escape(si(peak_tops)) + " TOPS</text>";
  }
  size_t k = 0;
  for (const auto& p : pts) {
    if (!(p.ops_per_byte > 0) || !(p.tops > 0)) continue;
    const double cx = x.map(p.ops_per_byte), cy = y.map(p.tops);
    const std::string tip = "<title>" + escape(p.label + ": " + si(p.ops_per_byte) + " ops/B, " + si(p.tops) +
                                               " TOPS" + (peak_tops > 0 ? " (" + si(100 * p.tops / peak_tops) + " % of peak)" : "")) +
                            "</title>";
    if (p.aggregate)
      o += "<path d=\"M" + num(cx) + "," + num(cy - 7) + " l7,7 l-7,7 l-7,-7 z\" fill=\"#e15759\" stroke=\"#000\">" + tip + "</path>";
    else
      o += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"3.5\" fill=\"" + color(k++ % 10) +
           "\" fill-opacity=\"0.8\" stroke=\"#333\" stroke-width=\"0.5\">" + tip + "</circle>";
  }
  o += "<text x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(h - 8) + "\">dots: layers; diamond: whole run" +
       (unplaced ? "; " + std::to_string(unplaced) + " with no DRAM traffic (operands on chip) not placed" : std::string()) +
       "</text>";
  return o + "</svg>";
}

std::string pareto_scatter(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<ScatterPoint>& pts) {
  const int w = 600, h = 400, left = 80, right = 20, top = 30, bottom = 56;
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  for (const auto& p : pts) {
    xlo = std::min(xlo, p.x);
    xhi = std::max(xhi, p.x);
    ylo = std::min(ylo, p.y);
    yhi = std::max(yhi, p.y);
  }
  if (pts.empty()) xlo = ylo = 0, xhi = yhi = 1;
  Axis x = make_axis(xlo, xhi, left, w - right, true);
  Axis y = make_axis(ylo, yhi, h - bottom, top, true);
  std::string o = header(w, h, title);
  for (double t : x.ticks())
    o += "<line x1=\"" + num(x.map(t)) + "\" y1=\"" + std::to_string(top) + "\" x2=\"" + num(x.map(t)) + "\" y2=\"" +
         std::to_string(h - bottom) + "\" stroke=\"#e4e4e4\"/><text x=\"" + num(x.map(t)) + "\" y=\"" +
         std::to_string(h - bottom + 14) + "\" text-anchor=\"middle\">" + escape(si(t)) + "</text>";
  for (double t : y.ticks())
    o += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + num(y.map(t)) + "\" x2=\"" + std::to_string(w - right) +
         "\" y2=\"" + num(y.map(t)) + "\" stroke=\"#e4e4e4\"/><text x=\"" + std::to_string(left - 4) + "\" y=\"" +
         num(y.map(t) + 4) + "\" text-anchor=\"end\">" + escape(si(t)) + "</text>";
  o += "<text x=\"" + num((left + w - right) / 2.0) + "\" y=\"" + std::to_string(h - bottom + 32) +
       "\" text-anchor=\"middle\">" + escape(x_label + (x.log ? " (log)" : "")) + "</text>";
  o += "<text transform=\"translate(14," + num((top + h - bottom) / 2.0) + ") rotate(-90)\" text-anchor=\"middle\">" +
       escape(y_label + (y.log ? " (log)" : "")) + "</text>";
  std::vector<const ScatterPoint*> front;
  for (const auto& p : pts)
    if (p.front) front.push_back(&p);
  std::sort(front.begin(), front.end(), [](auto* a, auto* b) { return a->x < b->x || (a->x == b->x && a->y < b->y); });
  if (!front.empty()) {
    std::string poly;
    for (size_t i = 0; i < front.size(); ++i) {
      if (i > 0) poly += num(x.map(front[i]->x)) + "," + num(y.map(front[i - 1]->y)) + " ";
      poly += num(x.map(front[i]->x)) + "," + num(y.map(front[i]->y)) + " ";
    }
    o += "<polyline fill=\"none\" stroke=\"#e15759\" stroke-width=\"1.5\" points=\"" + poly +
         "\"><title>Pareto front</title></polyline>";
  }
  for (const auto& p : pts) {
    const std::string tip = "<title>" + escape(p.label + ": " + si(p.x) + ", " + si(p.y) + (p.front ? " (Pareto)" : "")) + "</title>";
    o += "<circle cx=\"" + num(x.map(p.x)) + "\" cy=\"" + num(y.map(p.y)) + "\" r=\"" + (p.front ? "5" : "3.5") +
         "\" fill=\"" + (p.front ? "#e15759" : "#4e79a7") + "\" fill-opacity=\"" + (p.front ? "1" : "0.6") +
         "\" stroke=\"#333\" stroke-width=\"0.5\">" + tip + "</circle>";
  }
  o += "<text x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(h - 6) +
       "\">red: Pareto-optimal (no other point is at least as good in both and better in one)</text>";
  return o + "</svg>";
}

}  // namespace xpu::report::svg
