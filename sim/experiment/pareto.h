#pragma once
// Pareto front of points to be minimised in both coordinates (latency,
// energy). A point is on the front when no other point is at least as good
// in both and strictly better in one; equal points are all on the front.
// Points with a non-finite coordinate are never on the front and dominate
// nothing. O(n log n).
#include <utility>
#include <vector>

namespace xpu::experiment {

std::vector<bool> pareto_front(const std::vector<std::pair<double, double>>& points);

}  // namespace xpu::experiment
