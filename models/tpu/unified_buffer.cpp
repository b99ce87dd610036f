#include "models/tpu/unified_buffer.h"

#include <algorithm>

#include "models/tpu/clock.h"

namespace xpu::tpu {

UnifiedBuffer::UnifiedBuffer(const UnifiedBufferConfig& cfg, stats::Group& g)
    : read_bytes(g.counter("read_bytes", stats::Unit::bytes,
                           "bytes read from the unified buffer (MXU inputs + DMA out)")),
      write_bytes(g.counter("write_bytes", stats::Unit::bytes,
                            "bytes written to the unified buffer (activation results + DMA in)")),
      port_conflict_cycles(g.counter("port_conflict_cycles", stats::Unit::cycles,
                                     "cycles DMA transfers lost to MXU/activation traffic on the UB ports")),
      cfg_(cfg) {}

uint8_t* UnifiedBuffer::data() {
  if (!data_) data_.reset(new uint8_t[cfg_.capacity_bytes]());
  return data_.get();
}

void UnifiedBuffer::reserve(Port p, uint64_t start, uint64_t end, uint32_t bpc, uint64_t decided_at) {
  auto& l = list(p);
  // Reservations over by now can no longer affect a chunk (chunks start now or later).
  l.erase(std::remove_if(l.begin(), l.end(), [&](const Reservation& r) { return r.end <= decided_at; }), l.end());
  if (end > start && bpc > 0) l.push_back(Reservation{start, end, bpc, decided_at});
}

uint32_t UnifiedBuffer::available(Port p, uint64_t t) {
  auto& l = list(p);
  l.erase(std::remove_if(l.begin(), l.end(), [t](const Reservation& r) { return r.end <= t; }), l.end());
  uint64_t used = 0;
  for (const auto& r : l) {
    if (r.decided_at < t && r.start <= t && t < r.end) used += r.bytes_per_cycle;
  }
  const uint64_t port = port_bytes_per_cycle(p);
  return used >= port ? 0 : uint32_t(port - used);
}

uint64_t UnifiedBuffer::next_release(Port p, uint64_t t) const {
  uint64_t best = kNever;
  for (const auto& r : list(p)) {
    if (r.decided_at < t && r.start <= t && t < r.end) best = std::min(best, r.end);
  }
  return best;
}

}  // namespace xpu::tpu
