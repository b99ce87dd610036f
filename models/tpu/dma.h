#pragma once
// DMA engines between host memory and the unified buffer: one for
// read_host_memory (host -> UB, the UB write port) and one for
// write_host_memory (UB -> host, the UB read port).
//
// Timing (dma.cpp): a transfer starts at max(issue, its dependencies'
// completion, the engine free) and moves data in chunks of 16 UB port
// widths. For a chunk starting at cycle t (fractional cursor c <= t):
// - UB side: C / available(t) cycles, where available(t) is what the
//   priority user (MXU inputs / activation results) leaves of the port
//   (unified_buffer.h); if nothing is left the chunk waits until a
//   reservation ends;
// - host side, host.path pcie: a link of its own per direction (PCIe is full
//   duplex) at host.bandwidth_gbps, C / bandwidth cycles after the link is
//   free; host.path dram: the shared DRAM (dram.h);
// - the chunk ends at max(UB side end, host side end) (both pipelined), and
//   the next chunk is evaluated then. Cycles beyond what a free UB port would
//   have taken count as tpu.ub.port_conflict_cycles.
// The engine is free for its next transfer when the last chunk ends; the
// transfer completes one latency later (host.latency_ns for pcie,
// dram.latency_ns for dram, or the CMEM's when the data was placed there,
// dram.h), once per transfer.
// Functional: the bytes are copied when the transfer starts (dependencies
// keep everyone else off the range until it completes); timing fidelity
// skips the copy.
// Counters: tpu.dma.in_bytes, out_bytes, busy_cycles (both engines: cycles
// from start to the last chunk's end).
#include <cstdint>

#include <systemc>

#include "models/tpu/clock.h"
#include "models/tpu/controller.h"
#include "models/tpu/dram.h"
#include "models/tpu/host_memory.h"
#include "models/tpu/mxu_array.h"
#include "models/tpu/tpu_config.h"
#include "models/tpu/unified_buffer.h"
#include "sim/stats/stats.h"

namespace xpu::tpu {

class Dma : public sc_core::sc_module {
 public:
  enum class Direction { in, out };

  SC_HAS_PROCESS(Dma);
  Dma(sc_core::sc_module_name name, Direction dir, const TpuConfig& cfg, const Clock& clock, Controller& ctrl,
      UnifiedBuffer& ub, Dram& dram, HostMemory& host, stats::Group& tpu);
  void set_fidelity(Fidelity f) { fidelity_ = f; }

 private:
  void run();

  Direction dir_;
  TpuConfig cfg_;
  const Clock& clock_;
  Controller& ctrl_;
  UnifiedBuffer& ub_;
  Dram& dram_;
  HostMemory& host_;
  Fidelity fidelity_ = Fidelity::tile;
  double link_free_ = 0;       // pcie: fractional cycle the link is free
  uint64_t free_at_ = 0;       // engine free (last chunk ended)
  double last_end_ = 0;        // fractional end of the previous transfer
  double conflict_total_ = 0;  // fractional port-conflict cycles
  stats::Counter& bytes_;
  stats::Counter& busy_cycles_;
};

}  // namespace xpu::tpu
