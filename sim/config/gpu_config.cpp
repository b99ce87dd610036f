#include "sim/config/gpu_config.h"

#include <cstdint>
#include <string>
#include <vector>

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

bool power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

void pipe(Reader& parent, const std::string& key, gpu::PipeConfig& p) {
  Reader r = parent.map(key, false);
  p.lanes = u32(r.integer("lanes", p.lanes, 1, 32));
  p.latency = u32(r.integer("latency", p.latency, 1, 1000));
}

uint64_t sized(Reader& r, const std::string& key, uint64_t def, uint64_t lo, uint64_t hi) {
  const uint64_t v = r.bytes(key, def);
  if (v < lo || v > hi)
    r.error(key, "value " + std::to_string(v) + " out of range: expected in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "] bytes");
  return v;
}

}  // namespace

gpu::GpuConfig parse_gpu_config(Reader& r) {
  gpu::GpuConfig c;  // defaults: V100
  r.choice("kind", {"gpu"});
  c.source_file = r.document().file();
  c.name = r.string("name", file_stem(c.source_file));
  c.description = r.string("description", "");
  c.clock_mhz = r.number("clock_mhz", c.clock_mhz, 1.0, 100000.0);
  c.sms = u32(r.integer("sms", c.sms, 1, 1024));
  c.sub_cores = u32(r.integer("sub_cores", c.sub_cores, 1, 16));
  {
    Reader s = r.map("sub_core", false);
    auto& x = c.sub_core;
    const std::string pol = s.choice("scheduler", {"gto", "lrr"}, std::string("gto"));
    x.scheduler = pol == "lrr" ? gpu::SchedPolicy::lrr : gpu::SchedPolicy::gto;
    pipe(s, "fp32", x.fp32);
    pipe(s, "int32", x.int32);
    pipe(s, "fp64", x.fp64);
    pipe(s, "sfu", x.sfu);
    pipe(s, "ldst", x.ldst);
    x.branch_latency = u32(s.integer("branch_latency", x.branch_latency, 1, 1000));
    x.tensor_cores = u32(s.integer("tensor_cores", x.tensor_cores, 0, 16));
    x.register_file_bytes = sized(s, "register_file_bytes", x.register_file_bytes, 1024, 1ull << 24);
    x.register_banks = u32(s.integer("register_banks", x.register_banks, 1, 64));
  }
  {
    Reader t = r.map("tensor_core", false);
    auto& x = c.tensor_core;
    // The instruction shape by name (models/gpu/mma_shape.h describes each).
    std::vector<std::string> shapes;
    for (int i = 0; i < static_cast<int>(gpu::MmaKind::count); ++i)
      shapes.push_back(gpu::mma_kind_name(static_cast<gpu::MmaKind>(i)));
    const std::string mma = t.choice("mma", shapes, std::string(gpu::mma_kind_name(x.mma)));
    for (int i = 0; i < static_cast<int>(gpu::MmaKind::count); ++i)
      if (shapes[i] == mma) x.mma = static_cast<gpu::MmaKind>(i);
    x.fma_per_clock = u32(t.integer("fma_per_clock", x.fma_per_clock, 1, 1 << 16));
    x.ii_f32_acc = u32(t.integer("ii_f32_acc", x.ii_f32_acc, 1, 1000));
    x.ii_f16_acc = u32(t.integer("ii_f16_acc", x.ii_f16_acc, 1, 1000));
    x.latency_f32_acc = u32(t.integer("latency_f32_acc", x.latency_f32_acc, 1, 1000));
    x.latency_f16_acc = u32(t.integer("latency_f16_acc", x.latency_f16_acc, 1, 1000));
    x.fp16 = t.boolean("fp16", x.fp16);
    x.bf16 = t.boolean("bf16", x.bf16);
    x.int8 = t.boolean("int8", x.int8);
    x.ii_int8 = u32(t.integer("ii_int8", x.ii_int8, 1, 1000));
    x.latency_int8 = u32(t.integer("latency_int8", x.latency_int8, 1, 1000));
    x.tf32 = t.boolean("tf32", x.tf32);
    x.ii_tf32 = u32(t.integer("ii_tf32", x.ii_tf32, 1, 1000));
    x.latency_tf32 = u32(t.integer("latency_tf32", x.latency_tf32, 1, 1000));
    x.sparse_2_4 = t.boolean("sparse_2_4", x.sparse_2_4);
  }
  {
    Reader s = r.map("shared", false);
    auto& x = c.shared;
    x.unified_bytes = sized(s, "unified_bytes", x.unified_bytes, 1024, 1ull << 24);
    x.max_shared_bytes = sized(s, "max_shared_bytes", x.max_shared_bytes, 0, 1ull << 24);
    if (x.max_shared_bytes > x.unified_bytes)
      s.error("max_shared_bytes", "must not exceed unified_bytes");
    x.banks = u32(s.integer("banks", x.banks, 1, 256));
    x.bank_bytes = u32(s.integer("bank_bytes", x.bank_bytes, 1, 64));
    if (!power_of_two(x.banks)) s.error("banks", "must be a power of two");
    if (!power_of_two(x.bank_bytes)) s.error("bank_bytes", "must be a power of two");
    x.latency = u32(s.integer("latency", x.latency, 1, 10000));
  }
  {
    Reader l = r.map("l1", false);
    auto& x = c.l1;
    x.line_bytes = u32(l.integer("line_bytes", x.line_bytes, 16, 4096));
    x.sector_bytes = u32(l.integer("sector_bytes", x.sector_bytes, 4, 4096));
    if (!power_of_two(x.line_bytes)) l.error("line_bytes", "must be a power of two");
    if (!power_of_two(x.sector_bytes) || x.sector_bytes > x.line_bytes || x.line_bytes / x.sector_bytes > 32)
      l.error("sector_bytes", "must be a power of two dividing line_bytes into at most 32 sectors");
    x.assoc = u32(l.integer("assoc", x.assoc, 1, 256));
    x.latency = u32(l.integer("latency", x.latency, 1, 10000));
    x.bytes_per_cycle = u32(l.integer("bytes_per_cycle", x.bytes_per_cycle, 1, 1 << 16));
  }
  {
    Reader l = r.map("l2", false);
    auto& x = c.l2;
    x.capacity_bytes = sized(l, "capacity_bytes", x.capacity_bytes, 1024, 1ull << 34);
    x.slices = u32(l.integer("slices", x.slices, 1, 4096));
    x.line_bytes = u32(l.integer("line_bytes", x.line_bytes, 16, 4096));
    x.assoc = u32(l.integer("assoc", x.assoc, 1, 256));
    x.latency = u32(l.integer("latency", x.latency, 2, 100000));
    x.bytes_per_cycle_per_slice = l.number("bytes_per_cycle_per_slice", x.bytes_per_cycle_per_slice, 0.01, 1e6);
    x.partitions = u32(l.integer("partitions", x.partitions, 1, 2));
    x.far_extra_latency = u32(l.integer("far_extra_latency", x.far_extra_latency, 0, 100000));
    if (x.partitions == 2 && (x.slices % 2 != 0 || c.sms < 2))
      l.error("partitions", "two partitions need an even number of slices and at least 2 SMs");
    if (x.line_bytes != c.l1.line_bytes) l.error("line_bytes", "must equal l1.line_bytes");
    if (x.capacity_bytes % (uint64_t(x.slices) * x.line_bytes * x.assoc) != 0)
      l.error("capacity_bytes", "must be a multiple of slices x line_bytes x assoc");
  }
  {
    Reader d = r.map("dram", false);
    auto& x = c.dram;
    x.channels = u32(d.integer("channels", x.channels, 1, 1024));
    x.bandwidth_gbps = d.number("bandwidth_gbps", x.bandwidth_gbps, 0.001, 1e6);
    x.efficiency = d.number("efficiency", x.efficiency, 0.01, 1.0);
    x.latency = u32(d.integer("latency", x.latency, 0, 100000));
    x.interleave_bytes = u32(d.integer("interleave_bytes", x.interleave_bytes, 32, 1 << 24));
  }
  {
    Reader o = r.map("occupancy", false);
    auto& x = c.occupancy;
    x.max_warps = u32(o.integer("max_warps", x.max_warps, 1, 1024));
    x.max_ctas = u32(o.integer("max_ctas", x.max_ctas, 1, 1024));
    x.max_threads = u32(o.integer("max_threads", x.max_threads, 32, 1 << 16));
    x.max_registers = u32(o.integer("max_registers", x.max_registers, 256, 1 << 24));
    x.max_registers_per_thread = u32(o.integer("max_registers_per_thread", x.max_registers_per_thread, 16, 255));
    x.register_alloc_unit = u32(o.integer("register_alloc_unit", x.register_alloc_unit, 1, 1 << 16));
    x.shared_alloc_unit = u32(o.integer("shared_alloc_unit", x.shared_alloc_unit, 1, 1 << 16));
    if (uint64_t(x.max_registers) * 4 > c.sub_core.register_file_bytes * c.sub_cores)
      o.error("max_registers", "exceeds the register files (sub_cores x sub_core.register_file_bytes / 4)");
  }
  {
    Reader s = r.map("sim", false);
    auto& x = c.sim;
    x.quantum = u32(s.integer("quantum", x.quantum, 0, 1 << 20));
    x.cta_launch_cycles = u32(s.integer("cta_launch_cycles", x.cta_launch_cycles, 0, 1 << 20));
    x.barrier_latency = u32(s.integer("barrier_latency", x.barrier_latency, 0, 1000));
    x.host_threads = u32(s.integer("host_threads", x.host_threads, 1, 64));
    x.sampling = s.choice("sampling", {"auto", "off"}, std::string("auto")) == "off" ? gpu::Sampling::off
                                                                                    : gpu::Sampling::automatic;
    x.launch_reuse = s.choice("launch_reuse", {"auto", "off"}, std::string("auto")) == "auto";
    x.reuse_min_warp_insts = uint64_t(s.integer("reuse_min_warp_insts", int64_t(x.reuse_min_warp_insts), 0, int64_t(1) << 50));
  }
  {
    Reader l = r.map("launch", false);
    auto& x = c.launch;
    x.host_launch_us = l.number("host_launch_us", x.host_launch_us, 0, 1e6);
    x.grid_latency_us = l.number("grid_latency_us", x.grid_latency_us, 0, 1e6);
    x.dependent_gap_us = l.number("dependent_gap_us", x.dependent_gap_us, 0, 1e6);
    x.cuda_graph = l.boolean("cuda_graph", x.cuda_graph);
    x.graph_gap_us = l.number("graph_gap_us", x.graph_gap_us, 0, 1e6);
  }
  // Static power: the SMs, the L2, the memory interface, and the rest.
  c.energy = read_machine_energy(r, "gpu", {"sm", "l2", "dram", "other"});
  c.interconnect = read_interconnect(r);
  return c;
}

gpu::GpuConfig load_gpu_config(const std::string& path, const std::vector<std::string>& overrides) {
  return load_typed(path, overrides, [](Reader& r) { return parse_gpu_config(r); });
}

}  // namespace xpu::config
