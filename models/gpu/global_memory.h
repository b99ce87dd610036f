#pragma once
// Functional device memory: a flat byte array used only when values are
// simulated (timing-only runs never touch data). Addresses are byte offsets.
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/common/errors.h"

namespace xpu::gpu {

class GlobalMemory {
 public:
  void resize(uint64_t bytes) { data_.assign(bytes, 0); }
  uint64_t size() const { return data_.size(); }
  void write(uint64_t addr, const void* src, uint64_t n) {
    check(addr, n);
    std::memcpy(data_.data() + addr, src, n);
  }
  void read(uint64_t addr, void* dst, uint64_t n) const {
    check(addr, n);
    std::memcpy(dst, data_.data() + addr, n);
  }
  uint8_t* at(uint64_t addr, uint64_t n) {
    check(addr, n);
    return data_.data() + addr;
  }

 private:
  void check(uint64_t addr, uint64_t n) const {
    if (addr + n > data_.size() || addr + n < addr)
      throw xpu::InternalError("global memory access [" + std::to_string(addr) + ", +" + std::to_string(n) +
                              ") outside the " + std::to_string(data_.size()) + "-byte device memory");
  }
  std::vector<uint8_t> data_;
};

}  // namespace xpu::gpu
