// Launch reuse (models/gpu/launch_reuse.h): the key matches identical
// launches and tells apart launches that differ in any field that sets
// their timing; a reused launch gets its donor's cycles and counters; reuse
// happens only under sampled timing; and a network of repeated layers
// reuses them, close to its fully simulated run.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tests/temp_path.h"
#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "models/gpu/launch_reuse.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/gpu_backend.h"
#include "sim/lowering/gpu/network.h"
#include "sim/workload/workload.h"

using namespace xpu;

namespace {

gpu::Kernel tiny_kernel() {
  gpu::Kernel k;
  k.name = "tiny";
  gpu::Instr ld;
  ld.op = gpu::Op::mov;
  ld.dst = 1;
  ld.b_imm = true;
  ld.imm = 7;
  gpu::Instr add;
  add.op = gpu::Op::iadd;
  add.dst = 2;
  add.a = 1;
  add.b = 1;
  k.code = {ld, add};
  return k;
}

// 4 CTAs, 2 buffers: buffer 0 at 0x10000 + 4 KiB per CTA, buffer 1 at
// 0x80000 + 1 KiB per CTA.
gpu::Launch tiny_launch(const gpu::Kernel* k) {
  gpu::Launch l;
  l.kernel = k;
  l.ctas = 4;
  l.threads = 64;
  l.shared_bytes = 1024;
  l.nbufs = 2;
  for (uint32_t c = 0; c < l.ctas; ++c) {
    l.bases.push_back(0x10000 + 4096 * c);
    l.bases.push_back(0x80000 + 1024 * c);
  }
  return l;
}

workload::Workload workload_of(const std::string& name, const std::string& yaml) {
  const std::string path = xpu_test::tmp_prefix() + "xpusim_test_launch_reuse_" + name + ".yaml";
  {
    std::ofstream f(path);
    f << yaml;
  }
  workload::Workload w = workload::load_workload(path);
  std::remove(path.c_str());
  return w;
}

// Five equal 512 x 512 x 512 fp16 layers in a chain: each its own weight
// (its own buffers), all the same kernel and shapes.
workload::Workload chain() {
  return workload_of("chain",
                     "kind: workload\nname: chain\ninputs:\n  - {name: x, shape: [512, 512], dtype: fp16}\n"
                     "layers:\n  - {name: fc1, op: gemm, out: 512}\n  - {name: fc2, op: gemm, out: 512}\n"
                     "  - {name: fc3, op: gemm, out: 512}\n  - {name: fc4, op: gemm, out: 512}\n"
                     "  - {name: fc5, op: gemm, out: 512}\n");
}

// Backends for each set of config overrides (all made before any runs:
// SystemC modules cannot be added once a simulation has started).
std::vector<std::unique_ptr<experiment::Backend>> backends(const std::vector<std::vector<std::string>>& overrides) {
  const auto table =
      energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  std::vector<std::unique_ptr<experiment::Backend>> out;
  for (const auto& o : overrides)
    out.push_back(
        experiment::make_gpu_backend(gpu::test::load("gpu_small.yaml", o), table, "reuse_" + std::to_string(out.size())));
  return out;
}

std::vector<report::LayerResult> run_chain(experiment::Backend& be, Fidelity fidelity = Fidelity::timing) {
  experiment::LayerRunOptions o;
  o.fidelity = fidelity;
  o.verify = false;
  return gpu::test::layer_rows(be.run_workload(chain(), DType::fp16, o));
}

}  // namespace

TEST_CASE("launch reuse: the key matches identical launches and tells each field apart", "[gpu][reuse]") {
  const gpu::Kernel k = tiny_kernel();
  const gpu::Launch a = tiny_launch(&k);
  const uint64_t m = 256;  // lcm(DRAM interleave 256, L2 line 128) on the shipped configs
  const std::string key = gpu::launch_key(a, m, true);
  // The same launch, and its kernel copied under another name: the same key.
  gpu::Kernel renamed = k;
  renamed.name = "other";
  CHECK(gpu::launch_key(tiny_launch(&renamed), m, true) == key);
  // Every buffer moved by whole multiples of M (256 B): the same key.
  gpu::Launch moved = a;
  for (uint32_t c = 0; c < a.ctas; ++c) moved.bases[c * 2 + 1] += 5 * m;
  CHECK(gpu::launch_key(moved, m, true) == key);

  // Each field that sets the timing changes it.
  auto differs = [&](const gpu::Launch& l) { return gpu::launch_key(l, m, true) != key; };
  CHECK(gpu::launch_key(a, m, false) != key);  // cold instead of warm
  gpu::Kernel code = k;
  code.code[0].imm = 8;
  CHECK(differs(tiny_launch(&code)));
  gpu::Kernel op = k;
  op.code[1].op = gpu::Op::isub;
  CHECK(differs(tiny_launch(&op)));
  gpu::Kernel regs = k;
  regs.regs_per_thread = 64;
  CHECK(differs(tiny_launch(&regs)));
  gpu::Kernel trips = k;
  trips.trips = 3;
  CHECK(differs(tiny_launch(&trips)));
  gpu::Launch l = a;
  l.threads = 128;
  CHECK(differs(l));
  l = a;
  l.shared_bytes = 2048;
  CHECK(differs(l));
  // One CTA fewer (bases shortened to match).
  l = a;
  l.ctas = 3;
  l.bases.resize(6);
  CHECK(differs(l));
  // A leading dimension / tile stride: CTA 1's buffer 0 one row further.
  l = a;
  l.bases[2] += 128;
  CHECK(differs(l));
  // A buffer moved by half of M (128 B): another L2-line/DRAM-chunk phase.
  l = a;
  for (uint32_t c = 0; c < a.ctas; ++c) l.bases[c * 2] += m / 2;
  CHECK(differs(l));
  // Buffers swapped: the relative layouts differ per buffer.
  l = a;
  for (uint32_t c = 0; c < a.ctas; ++c) std::swap(l.bases[c * 2], l.bases[c * 2 + 1]);
  CHECK(differs(l));
}

TEST_CASE("launch reuse: a reused launch takes its donor's cycles and counters", "[gpu][reuse]") {
  const gpu::GpuConfig cfg = gpu::test::load("gpu_small.yaml");
  gpu::Gpu g("reuse_gpu", cfg);
  const workload::Workload w = workload_of(
      "one", "kind: workload\nname: one\nlayers:\n  - {name: g, op: gemm, m: 512, n: 512, k: 512}\n");
  lowering::gpu::GpuLayerPlan p;
  lowering::gpu::lower_layer(cfg, w, w.layers.at(0), DType::fp16, p);
  REQUIRE(p.launches().size() == 1);
  const gpu::Launch& L = *p.launches().front();
  gpu::ReuseParams rp;
  rp.min_warp_insts = 0;  // every launch may be a donor
  gpu::LaunchReuse reuse(rp);
  gpu::RunOptions o;
  o.values = false;
  o.fast_path = true;
  o.sample = true;
  o.reuse = &reuse;
  // The same launch four times in a stream: the first starts cold, the
  // second follows a cold launch, the third and fourth a warm one (the key
  // holds the predecessor's): the fourth reuses the third.
  const gpu::LaunchResult first = g.run(L, o);
  o.warm = true;
  const gpu::LaunchResult before = g.run(L, o);
  const gpu::LaunchResult second = g.run(L, o);
  const gpu::LaunchResult third = g.run(L, o);
  CHECK(first.reused == 0);
  CHECK(before.reused == 0);  // warm; the first was cold
  CHECK(second.reused == 0);  // its predecessor warm; the one before's cold
  REQUIRE(third.reused == 1);
  CHECK(third.simulated_warp_insts == 0);
  CHECK(second.simulated_warp_insts > 0);
  CHECK(third.cycles == second.cycles);
  for (int i = 0; i < static_cast<int>(gpu::Ctr::count); ++i)
    CHECK(third.sm[static_cast<gpu::Ctr>(i)] == second.sm[static_cast<gpu::Ctr>(i)]);
  CHECK(third.mem.l2_read_hits == second.mem.l2_read_hits);
  CHECK(third.mem.l2_read_misses == second.mem.l2_read_misses);
  CHECK(third.mem.l2_write_bytes == second.mem.l2_write_bytes);
  CHECK(third.mem.slice_bytes == second.mem.slice_bytes);
  // Same addresses and the same predecessor: the L2 the third finds is the
  // one the second found, so the DRAM corrections cancel (rebase_dram).
  CHECK(third.mem.dram_read_bytes == second.mem.dram_read_bytes);
  CHECK(third.mem.dram_write_bytes == second.mem.dram_write_bytes);
  CHECK(third.mem.channel_bytes == second.mem.channel_bytes);
  CHECK(third.stats.to_json() == second.stats.to_json());
  CHECK(third.waves_simulated == 0);
  CHECK(third.sampled);

  // Values (tile fidelity) and unsampled runs never reuse.
  gpu::RunOptions v = o;
  v.sample = false;
  CHECK(g.run(L, v).reused == 0);
  CHECK(g.run(L, v).reused == 0);
}

TEST_CASE("launch reuse: the DRAM bytes that depend on the L2 before the launch are rebased", "[gpu][reuse]") {
  gpu::MemCounters m;
  m.dram_read_bytes = 1000;
  m.dram_write_bytes = 600;
  m.channel_bytes = {900, 700};
  gpu::LaunchReuse::Given d;
  d.writebacks = {100, 50};  // the donor wrote back 150 B its predecessors left dirty
  d.resident = {40, 0};      // and found 40 B of its reads resident
  // This launch writes back 30 + 0 B of its predecessors' lines and finds 0 + 10 B resident:
  // the bytes move by |30 - 150| + |40 - 10| = 150 of the donor's 1600 (9.4 %).
  CHECK(gpu::rebase_within(m, d, {30, 0}, {0, 10}, 0.10));
  CHECK(!gpu::rebase_within(m, d, {30, 0}, {0, 10}, 0.09));
  gpu::rebase_dram(m, d, {30, 0}, {0, 10});
  // writes: 600 - 150 + 30 = 480; reads: 1000 + 40 - 10 = 1030;
  // channel 0: 900 - 100 + 30 + 40 = 870; channel 1: 700 - 50 - 10 = 640.
  CHECK(m.dram_write_bytes == 480);
  CHECK(m.dram_read_bytes == 1030);
  CHECK(m.channel_bytes == std::vector<uint64_t>{870, 640});
  CHECK(m.dram_read_bytes + m.dram_write_bytes == m.channel_bytes[0] + m.channel_bytes[1]);
}

TEST_CASE("launch reuse: repeated layers of a network reuse, close to the full simulation", "[gpu][reuse]") {
  const std::string gate0 = "sim.reuse_min_warp_insts=0";
  auto be = backends({{gate0}, {gate0, "sim.launch_reuse=off"}, {}, {gate0, "sim.sampling=off"}, {gate0}});
  // (be[2]: the default gate; be[3]: sampling off; be[4]: tile fidelity.)
  const auto on = run_chain(*be[0]);
  const auto off = run_chain(*be[1]);
  REQUIRE(on.size() == 5);
  REQUIRE(off.size() == 5);
  // fc1 starts cold, fc2 follows a cold launch, fc3 a warm one of the same
  // key: fc4 and fc5 follow what fc3 followed, and reuse it.
  CHECK(on[0].reused_from.empty());
  CHECK(on[1].reused_from.empty());
  CHECK(on[2].reused_from.empty());
  CHECK(on[3].reused_from == "fc3");
  CHECK(on[4].reused_from == "fc3");
  CHECK(on[3].sampled);
  uint64_t c_on = 0, c_off = 0;
  double d_on = 0, d_off = 0;
  for (size_t i = 0; i < on.size(); ++i) {
    CHECK(off[i].reused_from.empty());
    INFO(on[i].name << ": " << on[i].cycles << " vs " << off[i].cycles << " cycles, " << on[i].dram_bytes() << " vs "
                    << off[i].dram_bytes() << " DRAM bytes");
    // The bounds measured on whole networks (BENCHMARKS.md, "GPU launch
    // reuse": per layer at most 1.6 % in cycles, 3.8 % in DRAM bytes).
    CHECK(std::fabs(double(on[i].cycles) - double(off[i].cycles)) <= 0.02 * double(off[i].cycles));
    CHECK(std::fabs(on[i].dram_bytes() - off[i].dram_bytes()) <= 0.04 * off[i].dram_bytes());
    c_on += on[i].cycles, c_off += off[i].cycles;
    d_on += on[i].dram_bytes(), d_off += off[i].dram_bytes();
  }
  CHECK(std::fabs(double(c_on) - double(c_off)) <= 0.01 * double(c_off));
  CHECK(std::fabs(d_on - d_off) <= 0.01 * d_off);

  // The cost gate: with the default, launches this small are simulated...
  for (const auto& r : run_chain(*be[2])) CHECK(r.reused_from.empty());
  // ...unless at their donor's very addresses: the same network again on
  // the same backend (its buffers where they were) reuses every layer
  // from its first run, fc1 included (cold after cold).
  const auto again = run_chain(*be[2]);
  REQUIRE(again.size() == 5);
  for (size_t i = 0; i < again.size(); ++i) CHECK(again[i].reused_from == "chain: fc" + std::to_string(i + 1));
  // Sampling off, and tile fidelity: never reused.
  for (const auto& r : run_chain(*be[3])) CHECK(r.reused_from.empty());
  for (const auto& r : run_chain(*be[4], Fidelity::tile)) CHECK(r.reused_from.empty());
}
