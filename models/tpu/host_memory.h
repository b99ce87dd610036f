#pragma once
// Functional, byte-addressed storage that grows on demand: host memory (DMA
// source and destination) and, via WeightMemory (dram.h), the contents of
// the weight DRAM. Sparse 64 KiB pages; never-written bytes read as zero.
// Timing lives elsewhere (dma.h, dram.h): this is storage only.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace xpu::tpu {

class ByteMemory {
 public:
  static constexpr uint64_t kPageBytes = 64 * 1024;

  void write(uint64_t addr, const void* src, size_t n);
  void read(uint64_t addr, void* dst, size_t n) const;
  std::vector<uint8_t> read(uint64_t addr, size_t n) const;
  template <class T>
  void write_vector(uint64_t addr, const std::vector<T>& v) {
    write(addr, v.data(), v.size() * sizeof(T));
  }
  void clear() { pages_.clear(); }
  size_t pages() const { return pages_.size(); }

 private:
  uint8_t* page(uint64_t index);  // allocated (zeroed) on first use
  std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> pages_;
};

class HostMemory : public ByteMemory {};

}  // namespace xpu::tpu
