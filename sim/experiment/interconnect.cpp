#include "sim/experiment/interconnect.h"

#include <cmath>

namespace xpu::experiment {

double allreduce_seconds(const Interconnect& ic, int n, double bytes) {
  if (n <= 1 || bytes <= 0) return 0;
  const double lat = ic.link_latency_us * 1e-6, bw = ic.link_gbps * 1e9;
  if (ic.topology == "torus2d") {
    int x = int(std::sqrt(double(n)));
    while (n % x != 0) --x;
    const int y = n / x;
    const double bw_dim = double(ic.links) / 2.0 * bw;
    return 2.0 * (x - 1) / x * bytes / bw_dim + 2.0 * (y - 1) / y * (bytes / x) / bw_dim +
           2.0 * ((x - 1) + (y - 1)) * lat;
  }
  return 2.0 * (n - 1) / n * bytes / (double(ic.links) * bw) + 2.0 * (n - 1) * lat;
}

}  // namespace xpu::experiment
