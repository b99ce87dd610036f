#include "sim/experiment/pareto.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace xpu::experiment {

std::vector<bool> pareto_front(const std::vector<std::pair<double, double>>& pts) {
  std::vector<bool> front(pts.size(), false);
  std::vector<size_t> idx;
  for (size_t i = 0; i < pts.size(); ++i)
    if (std::isfinite(pts[i].first) && std::isfinite(pts[i].second)) idx.push_back(i);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return pts[a] < pts[b]; });
  // best: lowest y among points with strictly smaller x.
  double best = std::numeric_limits<double>::infinity();
  for (size_t g = 0; g < idx.size();) {
    size_t e = g;
    while (e < idx.size() && pts[idx[e]].first == pts[idx[g]].first) ++e;
    const double group_min = pts[idx[g]].second;  // sorted by y within equal x
    for (size_t k = g; k < e; ++k) {
      const double y = pts[idx[k]].second;
      front[idx[k]] = !(best <= y) && !(group_min < y);
    }
    best = std::min(best, group_min);
    g = e;
  }
  return front;
}

}  // namespace xpu::experiment
