#include "sim/config/tpu_config.h"

#include <cstdint>
#include <limits>

#include "sim/config/document.h"
#include "sim/config/machine_energy.h"
#include "sim/config/machine_interconnect.h"

namespace xpu::config {

namespace {

std::string file_stem(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = base.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
}

uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

}  // namespace

tpu::TpuConfig parse_tpu_config(Reader& r) {
  tpu::TpuConfig c;  // defaults: TPU v1 (models/tpu/tpu_config.h)
  r.choice("kind", {"tpu"});  // required
  c.source_file = r.document().file();
  c.name = r.string("name", file_stem(c.source_file));
  c.description = r.string("description", "");
  c.clock_mhz = r.number("clock_mhz", c.clock_mhz, 1.0, 100000.0);
  c.cores = u32(r.integer("cores", c.cores, 1, 64));

  {
    Reader m = r.map("mxu", false);
    auto& x = c.mxu;
    x.rows = u32(m.integer("rows", x.rows, 1, 4096));
    const uint32_t per_mxu = u32(m.integer("cols", x.cols, 1, 4096));
    x.count = u32(m.integer("count", x.count, 1, 64));
    x.cols = per_mxu * x.count;  // the logical array (tpu_config.h, MxuConfig::count)
    if (x.cols > 4096) m.error("count", "count x cols = " + std::to_string(x.cols) + " columns: at most 4096");
    const std::string df = m.choice("dataflow", {"ws", "os", "is"}, std::string("ws"));
    x.dataflow = df == "os" ? tpu::Dataflow::os : df == "is" ? tpu::Dataflow::is : tpu::Dataflow::ws;
    x.step_int8 = u32(m.integer("step_int8", x.step_int8, 1, 64));
    x.step_bf16 = u32(m.integer("step_bf16", x.step_bf16, 1, 64));
    x.step_fp16 = u32(m.integer("step_fp16", x.step_fp16, 1, 64));
    x.supports_int8 = m.boolean("supports_int8", x.supports_int8);
    x.supports_bf16 = m.boolean("supports_bf16", x.supports_bf16);
    x.supports_fp16 = m.boolean("supports_fp16", x.supports_fp16);
    if (!x.supports_int8 && !x.supports_bf16 && !x.supports_fp16) {
      m.error("", "the array must support at least one input dtype (supports_int8/bf16/fp16)");
    }
    x.weight_load_cycles = u32(m.integer("weight_load_cycles", x.weight_load_cycles, 1, 1 << 20));
    x.double_buffer_weights = m.boolean("double_buffer_weights", x.double_buffer_weights);
    x.fold_overlap = m.boolean("fold_overlap", x.fold_overlap);
    x.fold_clear_all_columns = m.boolean("fold_clear_all_columns", x.fold_clear_all_columns);
    x.input_load_cycles = u32(m.integer("input_load_cycles", x.input_load_cycles, 0, 1 << 20));
  }
  {
    Reader f = r.map("weight_fifo", false);
    c.weight_fifo.depth_tiles = u32(f.integer("depth_tiles", c.weight_fifo.depth_tiles, 1, kMaxWeightFifoTiles));
  }
  {
    Reader a = r.map("accumulators", false);
    c.accumulators.entries = u32(a.integer("entries", c.accumulators.entries, 1, 1 << 20));
    c.accumulators.double_buffered = a.boolean("double_buffered", c.accumulators.double_buffered);
  }
  {
    Reader u = r.map("unified_buffer", false);
    auto& x = c.unified_buffer;
    x.capacity_bytes = u.bytes("capacity_bytes", x.capacity_bytes);
    if (x.capacity_bytes < 64 || x.capacity_bytes > (4ull << 30)) {
      u.error("capacity_bytes", "value " + std::to_string(x.capacity_bytes) +
                                    " out of range: expected in [64 B, 4 GiB]");
    }
    x.read_bytes_per_cycle = u32(u.integer("read_bytes_per_cycle", x.read_bytes_per_cycle, 1, 1 << 16));
    x.write_bytes_per_cycle = u32(u.integer("write_bytes_per_cycle", x.write_bytes_per_cycle, 1, 1 << 16));
    x.banks = u32(u.integer("banks", x.banks, 1, 4096));
  }
  {
    Reader a = r.map("activation", false);
    c.activation.elements_per_cycle =
        u32(a.integer("elements_per_cycle", c.activation.elements_per_cycle, 1, 1 << 16));
    c.activation.latency_cycles = u32(a.integer("latency_cycles", c.activation.latency_cycles, 0, 1 << 20));
    auto& x = c.activation;  // optional vector-op costs (defaults in tpu_config.h)
    x.passes_exp = u32(a.integer("passes_exp", x.passes_exp, 1, 1024));
    x.passes_reciprocal = u32(a.integer("passes_reciprocal", x.passes_reciprocal, 1, 1024));
    x.passes_rsqrt = u32(a.integer("passes_rsqrt", x.passes_rsqrt, 1, 1024));
    x.passes_erf = u32(a.integer("passes_erf", x.passes_erf, 1, 1024));
  }
  {
    Reader d = r.map("dram", false);
    auto& x = c.dram;
    x.bandwidth_gbps = d.number("bandwidth_gbps", x.bandwidth_gbps, 0.001, 1e6);
    x.latency_ns = d.number("latency_ns", x.latency_ns, 0.0, 1e6);
    x.channels = u32(d.integer("channels", x.channels, 1, 1024));
    x.burst_bytes = u32(d.integer("burst_bytes", x.burst_bytes, 1, 1 << 16));
    x.interleave_bytes = u32(d.integer("interleave_bytes", x.interleave_bytes, 1, 1 << 24));
    if (x.burst_bytes > 0 && x.interleave_bytes % x.burst_bytes != 0) {
      d.error("interleave_bytes", "must be a multiple of burst_bytes (" +
                                      std::to_string(x.burst_bytes) + ")");
    }
  }
  {
    Reader h = r.map("host", false);
    auto& x = c.host;
    const std::string path = h.choice("path", {"pcie", "dram"}, std::string("pcie"));
    x.path = path == "dram" ? tpu::HostPath::dram : tpu::HostPath::pcie;
    x.bandwidth_gbps = h.number("bandwidth_gbps", x.bandwidth_gbps, 0.001, 1e6);
    x.latency_ns = h.number("latency_ns", x.latency_ns, 0.0, 1e6);
  }
  {
    Reader k = r.map("controller", false);
    c.controller.pipeline_stages = u32(k.integer("pipeline_stages", c.controller.pipeline_stages, 1, 64));
    c.controller.unit_queue_depth = u32(k.integer("unit_queue_depth", c.controller.unit_queue_depth, 1, 1024));
  }
  {
    Reader m = r.map("cmem", false);
    c.cmem.capacity_bytes = m.bytes("capacity_bytes", c.cmem.capacity_bytes);
    if (c.cmem.capacity_bytes > (4ull << 30))
      m.error("capacity_bytes", "value " + std::to_string(c.cmem.capacity_bytes) + " out of range: at most 4 GiB");
    c.cmem.bandwidth_gbps = m.number("bandwidth_gbps", c.cmem.bandwidth_gbps, 0.0, 1e6);
    c.cmem.latency_ns = m.number("latency_ns", c.cmem.latency_ns, 0.0, 1e6);
    if (c.cmem.capacity_bytes > 0 && !(c.cmem.bandwidth_gbps > 0))
      m.error("bandwidth_gbps", "a CMEM (capacity_bytes > 0) needs a bandwidth > 0");
  }
  // Static power is booked to the components tpu_energy.h prices, plus
  // "other" (control, clock tree, I/O: what no counted unit covers).
  c.energy = read_machine_energy(r, "tpu", {"mxu", "ub", "acc", "weight_fifo", "act", "dma", "dram", "cmem", "other"});
  c.interconnect = read_interconnect(r);
  return c;
}

tpu::TpuConfig load_tpu_config(const std::string& path, const std::vector<std::string>& overrides) {
  return load_typed(path, overrides, [](Reader& r) { return parse_tpu_config(r); });
}

}  // namespace xpu::config
