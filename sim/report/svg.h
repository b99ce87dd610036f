#pragma once
// Charts as inline SVG text, generated here (no JavaScript, no fonts or
// scripts fetched): the HTML report works offline and renders the same in
// every browser. Hover text comes from SVG <title> elements.
#include <string>
#include <vector>

namespace xpu::report::svg {

std::string escape(const std::string& s);
// A distinct colour per index (Tableau-10 then a second darker set).
std::string color(size_t i);
// Short number for axes and labels: 3 significant digits with k/M/G/T or
// m/u/n/p suffixes ("1.23M", "4.5u").
std::string si(double v);

struct Segment {
  std::string name;  // hover text / legend
  double value = 0;
  size_t color = 0;
};
struct Bar {
  std::string label;
  std::vector<Segment> segments;
};
// Horizontal stacked bars, one per row, sharing a linear axis in `unit`.
// `legend`: names by colour index (empty: no legend, hover only).
std::string stacked_bars(const std::string& title, const std::vector<Bar>& bars, const std::string& unit,
                         const std::vector<std::string>& legend = {});

struct RoofPoint {
  std::string label;
  double ops_per_byte = 0;  // x
  double tops = 0;          // y
  bool aggregate = false;   // drawn as a diamond (whole run) rather than a dot (a layer)
};
// Log-log roofline: roof min(peak, bandwidth x intensity), ridge point
// marked; points with intensity <= 0 (no DRAM traffic) are counted in the
// caption instead of being placed.
std::string roofline(const std::string& title, double peak_tops, double dram_gbps, const std::vector<RoofPoint>& pts);

struct ScatterPoint {
  std::string label;
  double x = 0, y = 0;
  bool front = false;  // on the Pareto front: filled, and joined by the front line
};
// Scatter with the Pareto front (lower x and lower y better) drawn as a
// step line through the front points. Axes go logarithmic when the values
// span more than a factor of 30.
std::string pareto_scatter(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<ScatterPoint>& pts);

}  // namespace xpu::report::svg
