#pragma once
// A machine's chip-to-chip links as its accelerator config describes them
// (`interconnect:` section, sim/config/machine_interconnect.h), for the
// tensor-parallel all-reduce model (sim/experiment/interconnect.h). Never
// read by the machine models.
#include <string>

namespace xpu {

struct InterconnectSpec {
  std::string topology = "ring";  // ring | torus2d
  int links = 0;                  // links per device (0: the config has none)
  double link_gbps = 0;           // GB/s per link and direction
  double link_latency_us = 0;     // per all-reduce step
  bool present() const { return links > 0; }
};

}  // namespace xpu
