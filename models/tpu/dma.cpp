#include "models/tpu/dma.h"
#include "sim/trace/trace.h"

#include <algorithm>
#include <cmath>

namespace xpu::tpu {

Dma::Dma(sc_core::sc_module_name name, Direction dir, const TpuConfig& cfg, const Clock& clock, Controller& ctrl,
         UnifiedBuffer& ub, Dram& dram, HostMemory& host, stats::Group& tpu)
    : sc_module(name),
      dir_(dir),
      cfg_(cfg),
      clock_(clock),
      ctrl_(ctrl),
      ub_(ub),
      dram_(dram),
      host_(host),
      bytes_(dir == Direction::in
                 ? tpu.child("dma").counter("in_bytes", stats::Unit::bytes, "bytes moved host -> unified buffer")
                 : tpu.child("dma").counter("out_bytes", stats::Unit::bytes, "bytes moved unified buffer -> host")),
      busy_cycles_(tpu.child("dma").counter("busy_cycles", stats::Unit::cycles,
                                            "cycles the DMA engines moved data (both directions, summed)")) {
  SC_THREAD(run);
}

void Dma::run() {
  const bool in_dir = dir_ == Direction::in;
  const UnitId unit = in_dir ? UnitId::dma_in : UnitId::dma_out;
  const auto port = in_dir ? UnifiedBuffer::Port::write : UnifiedBuffer::Port::read;
  const bool pcie = cfg_.host.path == HostPath::pcie;
  // cycles per byte on the link: MHz / (GB/s * 1e3), exact for round figures.
  const double link_cpb = cfg_.clock_mhz / (cfg_.host.bandwidth_gbps * 1e3);
  const double port_bpc = ub_.port_bytes_per_cycle(port);
  const uint64_t chunk = ub_.dma_chunk_bytes(port);
  const Dram::Requester requester = in_dir ? Dram::dma_in : Dram::dma_out;
  // Per transfer: the placement (DRAM or CMEM) may change between programs.
  auto latency = [&] { return pcie ? cfg_.host_latency_cycles() : dram_.latency_cycles(requester); };

  for (;;) {
    DepTimes dt;
    const Issued& e = ctrl_.wait_ready(unit, dt);
    const Instruction& in = *e.inst;
    const uint32_t index = e.index;
    const uint64_t start = clock_.now();  // = max(issue, dependencies, engine free)
    ctrl_.queue(unit).pop();

    if (fidelity_ != Fidelity::timing && in.bytes > 0) {
      if (in_dir) {
        host_.read(in.host_addr, ub_.data() + in.ub_addr, in.bytes);
      } else {
        host_.write(in.host_addr, ub_.data() + in.ub_addr, in.bytes);
      }
    }

    // Back-to-back transfers continue from the previous one's fractional end.
    double cur = start == free_at_ ? std::max(double(start) - 1.0, last_end_) : double(start);
    const double old_conflict = conflict_total_;
    for (uint64_t off = 0; off < in.bytes;) {
      const uint64_t c = std::min(chunk, in.bytes - off);
      const double begin = cur;
      uint64_t t = clock_.now();
      uint32_t avail = ub_.available(port, t);
      while (avail == 0) {
        clock_.wait_until(ub_.next_release(port, t));
        t = clock_.now();
        cur = std::max(cur, double(t));
        avail = ub_.available(port, t);
      }
      const double ub_end = cur + double(c) / avail;
      double host_end;
      if (pcie) {
        host_end = std::max(link_free_, cur) + double(c) * link_cpb;
        link_free_ = host_end;
      } else {
        host_end = dram_.access(requester, in.host_addr + off, c, !in_dir, cur);
      }
      const double end = std::max(ub_end, host_end);
      const double full_port = std::max(begin + double(c) / port_bpc, host_end);
      conflict_total_ += std::max(0.0, end - full_port);
      cur = end;
      off += c;
      clock_.wait_until(ceil_cycles(cur));
    }
    const uint64_t done_moving = ceil_cycles(cur);
    last_end_ = cur;
    free_at_ = done_moving;
    const uint64_t completion = ceil_cycles(cur + latency());
    ub_.port_conflict_cycles += uint64_t(std::llround(conflict_total_)) - uint64_t(std::llround(old_conflict));
    (in_dir ? ub_.write_bytes : ub_.read_bytes) += in.bytes;
    bytes_ += in.bytes;
    busy_cycles_ += done_moving - start;
    // Strings made once (a span per transfer goes to every run's cycle accounting).
    static const std::string kTrack[2] = {"dma_out", "dma_in"}, kName[2] = {"write_host_memory", "read_host_memory"},
                             kLatencyTrack[2] = {"dma_out_latency", "dma_in_latency"}, kLatency = "latency";
    trace::span(kTrack[in_dir], kName[in_dir], start, done_moving);
    trace::span(kLatencyTrack[in_dir], kLatency, done_moving, completion);
    ctrl_.complete(index, completion);
  }
}

}  // namespace xpu::tpu
