// Pareto front (minimise both coordinates) against a brute-force check.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "sim/experiment/pareto.h"
#include "sim/experiment/sweep.h"

using xpu::experiment::pareto_front;

namespace {
std::vector<bool> brute(const std::vector<std::pair<double, double>>& p) {
  std::vector<bool> f(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    if (!std::isfinite(p[i].first) || !std::isfinite(p[i].second)) continue;
    bool dom = false;
    for (size_t j = 0; j < p.size(); ++j)
      if (std::isfinite(p[j].first) && std::isfinite(p[j].second) && p[j].first <= p[i].first &&
          p[j].second <= p[i].second && (p[j].first < p[i].first || p[j].second < p[i].second))
        dom = true;
    f[i] = !dom;
  }
  return f;
}
}  // namespace

TEST_CASE("pareto front: hand-made cases", "[pareto]") {
  // (1,5) (2,3) (3,4) (4,1) (2,3) duplicate, (5,5) dominated by all
  std::vector<std::pair<double, double>> p = {{1, 5}, {2, 3}, {3, 4}, {4, 1}, {2, 3}, {5, 5}};
  CHECK(pareto_front(p) == std::vector<bool>{true, true, false, true, true, false});
  // Same x: only the lowest y survives.
  CHECK(pareto_front({{1, 2}, {1, 1}}) == std::vector<bool>{false, true});
  CHECK(pareto_front({}).empty());
  CHECK(pareto_front({{NAN, 1}, {2, 2}}) == std::vector<bool>{false, true});
}

TEST_CASE("pareto front equals brute force on random sets with ties", "[pareto]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> d(0, 12);
  for (int t = 0; t < 300; ++t) {
    std::vector<std::pair<double, double>> p(size_t(1 + t % 40));
    for (auto& x : p) x = {double(d(rng)), double(d(rng))};
    REQUIRE(pareto_front(p) == brute(p));
  }
}

TEST_CASE("sweep point ids are stable and independent of axis order", "[sweep]") {
  using xpu::experiment::point_id;
  const auto a = point_id({{"mxu.rows", "64"}, {"dram.bandwidth_gbps", "34"}});
  CHECK(a == point_id({{"dram.bandwidth_gbps", "34"}, {"mxu.rows", "64"}}));
  CHECK(a != point_id({{"mxu.rows", "65"}, {"dram.bandwidth_gbps", "34"}}));
  CHECK(a.size() == 13);
  CHECK(a[0] == 'p');
  CHECK(xpu::experiment::scalar_json("64") == 64);
  CHECK(xpu::experiment::scalar_json("0.5") == 0.5);
  CHECK(xpu::experiment::scalar_json("true") == true);
  CHECK(xpu::experiment::scalar_json("tile") == "tile");
  CHECK(xpu::experiment::scalar_json("[1, 2]") == "[1, 2]");
}
