#include "sim/config/machine_interconnect.h"

namespace xpu::config {

InterconnectSpec read_interconnect(Reader& root) {
  InterconnectSpec s;
  Reader r = root.map("interconnect", false);
  s.topology = r.choice("topology", {"ring", "torus2d"}, std::string("ring"));
  s.links = int(r.integer("links", 0, 0, 64));
  s.link_gbps = r.number("link_gbps", 0.0, 0.0, 1e6);
  s.link_latency_us = r.number("link_latency_us", 0.0, 0.0, 1e6);
  if (s.links > 0 && !(s.link_gbps > 0)) r.error("link_gbps", "links need a bandwidth above 0");
  return s;
}

}  // namespace xpu::config
