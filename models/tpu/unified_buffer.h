#pragma once
// The unified buffer: functional byte storage of unified_buffer.capacity_bytes
// (allocated zeroed on first use, then at a fixed address so array passes may
// hold pointers into it) and two ports with a bandwidth each.
//
// Port arbitration (fixed priorities, deterministic):
// - read port  (read_bytes_per_cycle):  MXU input streaming first, then DMA out;
// - write port (write_bytes_per_cycle): activation results first, then DMA in.
// The priority user never waits: when it schedules work it reserves
// `bytes_per_cycle` over [start, end). A DMA moves data in chunks and, at the
// start of each chunk (cycle t), gets what the reservations covering t leave
// (available()); the chunk's duration follows from that rate, and the next
// chunk re-evaluates. Only reservations decided before cycle t count for a
// chunk starting at t, so the outcome does not depend on the order in which
// the kernel runs processes within one cycle; a reservation decided at t or
// during a chunk takes effect from the next chunk (chunk-granular
// arbitration, chunks are 16 port-widths: 4 KiB on TPU v1).
#include <cstdint>
#include <memory>
#include <vector>

#include "models/tpu/tpu_config.h"
#include "sim/stats/stats.h"

namespace xpu::tpu {

class UnifiedBuffer {
 public:
  enum class Port { read, write };

  UnifiedBuffer(const UnifiedBufferConfig& cfg, stats::Group& group);

  uint64_t capacity() const { return cfg_.capacity_bytes; }
  uint8_t* data();
  bool allocated() const { return data_ != nullptr; }

  uint32_t port_bytes_per_cycle(Port p) const {
    return p == Port::read ? cfg_.read_bytes_per_cycle : cfg_.write_bytes_per_cycle;
  }
  // DMA chunk size: 16 port-widths.
  uint64_t dma_chunk_bytes(Port p) const { return uint64_t(port_bytes_per_cycle(p)) * 16; }

  void reserve(Port p, uint64_t start, uint64_t end, uint32_t bytes_per_cycle, uint64_t decided_at);
  // Bytes per cycle left for a DMA chunk starting at cycle t (reservations
  // decided before t). Forgets reservations that ended at or before t, so t
  // must not decrease between calls for one port (one DMA per port).
  uint32_t available(Port p, uint64_t t);
  // Earliest end of a visible reservation covering t (kNever if none).
  uint64_t next_release(Port p, uint64_t t) const;

  stats::Counter& read_bytes;
  stats::Counter& write_bytes;
  stats::Counter& port_conflict_cycles;

 private:
  struct Reservation {
    uint64_t start, end;
    uint32_t bytes_per_cycle;
    uint64_t decided_at;
  };
  std::vector<Reservation>& list(Port p) { return p == Port::read ? read_res_ : write_res_; }
  const std::vector<Reservation>& list(Port p) const { return p == Port::read ? read_res_ : write_res_; }

  UnifiedBufferConfig cfg_;
  std::unique_ptr<uint8_t[]> data_;
  std::vector<Reservation> read_res_, write_res_;
};

}  // namespace xpu::tpu
