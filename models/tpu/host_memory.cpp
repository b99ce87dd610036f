#include "models/tpu/host_memory.h"

#include <algorithm>
#include <cstring>

namespace xpu::tpu {

uint8_t* ByteMemory::page(uint64_t index) {
  auto& p = pages_[index];
  if (!p) p.reset(new uint8_t[kPageBytes]());  // value-initialised: zeros
  return p.get();
}

void ByteMemory::write(uint64_t addr, const void* src, size_t n) {
  const uint8_t* s = static_cast<const uint8_t*>(src);
  while (n > 0) {
    const uint64_t off = addr % kPageBytes;
    const size_t len = std::min<uint64_t>(n, kPageBytes - off);
    std::memcpy(page(addr / kPageBytes) + off, s, len);
    addr += len;
    s += len;
    n -= len;
  }
}

void ByteMemory::read(uint64_t addr, void* dst, size_t n) const {
  uint8_t* d = static_cast<uint8_t*>(dst);
  while (n > 0) {
    const uint64_t off = addr % kPageBytes;
    const size_t len = std::min<uint64_t>(n, kPageBytes - off);
    auto it = pages_.find(addr / kPageBytes);
    if (it == pages_.end()) {
      std::memset(d, 0, len);
    } else {
      std::memcpy(d, it->second.get() + off, len);
    }
    addr += len;
    d += len;
    n -= len;
  }
}

std::vector<uint8_t> ByteMemory::read(uint64_t addr, size_t n) const {
  std::vector<uint8_t> v(n);
  read(addr, v.data(), n);
  return v;
}

}  // namespace xpu::tpu
