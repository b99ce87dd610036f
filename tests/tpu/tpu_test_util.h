#pragma once
// Helpers shared by the TPU tests.
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "models/tpu/assembler.h"
#include "models/tpu/tpu.h"
#include "sim/config/tpu_config.h"

namespace xpu::tpu::test {

inline std::string config_path(const std::string& name) {
  return std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/" + name + ".yaml";
}
inline TpuConfig load(const std::string& name, const std::vector<std::string>& overrides = {}) {
  return config::load_tpu_config(config_path(name), overrides);
}

inline double counter(const RunResult& r, const std::string& path) { return r.stats.get(path, -1.0); }
inline uint64_t u(const RunResult& r, const std::string& path) { return uint64_t(r.stats.get(path, 0.0)); }

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

template <class T>
std::vector<T> read_host(Tpu& tpu, uint64_t addr, size_t count) {
  std::vector<T> v(count);
  tpu.host().read(addr, v.data(), count * sizeof(T));
  return v;
}

}  // namespace xpu::tpu::test
