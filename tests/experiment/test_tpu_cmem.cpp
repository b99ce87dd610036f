// The CMEM as a memory level of its own (tpu_config.h, CmemConfig; dram.h;
// lowering/tpu/cmem_placement.h): a network's weights, then the data behind
// the DMA engines, sit in the CMEM when they fit; their transfers move to
// the CMEM's counters, bandwidth and latency, and energy prices them.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <memory>

#include "tests/temp_path.h"
#include "sim/config/tpu_config.h"
#include "sim/experiment/tpu_backend.h"
#include "sim/lowering/tpu/cmem_placement.h"
#include "sim/lowering/tpu/gemm.h"
#include "sim/workload/workload.h"
#include "tests/experiment/tpu_core_fixture.h"

using namespace xpu;

namespace {

// tpu_small with its activations in DRAM (host.path dram) and a CMEM of
// `cmem` bytes at 4x the DRAM's bandwidth and a quarter of its latency.
tpu::TpuConfig small(uint64_t cmem) {
  tpu::TpuConfig c = xt::tpu_small();
  c.host.path = tpu::HostPath::dram;
  c.cmem.capacity_bytes = cmem;
  c.cmem.bandwidth_gbps = 4 * c.dram.bandwidth_gbps;
  c.cmem.latency_ns = c.dram.latency_ns / 4;
  return c;
}

struct Core : xt::TpuCore {
  using TpuCore::TpuCore;
  // Totals of the run's counters over every row.
  std::map<std::string, double> run(const workload::Workload& w, uint64_t* cycles, double* cmem_pj) {
    experiment::NetworkRunner r = runner();
    experiment::LayerRunOptions o;
    o.fidelity = Fidelity::timing;
    std::map<std::string, double> s;
    *cycles = 0;
    *cmem_pj = 0;
    for (const auto& row : r.run(w, DType::bf16, o)) {
      *cycles += row.cycles;
      for (const char* k : {"tpu.dram.read_bytes", "tpu.dram.write_bytes", "tpu.cmem.read_bytes", "tpu.cmem.write_bytes"})
        s[k] += row.stats.get(k);
      auto it = row.energy.by_component_op_class.find("tpu.cmem");
      if (it != row.energy.by_component_op_class.end())
        for (const auto& [cls, pj] : it->second) *cmem_pj += pj;
    }
    return s;
  }
};

}  // namespace

TEST_CASE("tpu cmem: placement, weights first, then the DMA engines' data", "[tpu][cmem]") {
  lowering::NetworkPlan plan;
  plan.layers.resize(2);
  plan.layers[0].steps.resize(2);
  plan.layers[0].steps[0].weight_bytes = 300;
  plan.layers[0].steps[1].weight_bytes = 200;
  plan.layers[1].steps.resize(1);
  plan.layers[1].steps[0].weight_bytes = 100;
  plan.host_bytes = 250;
  // Weights 300 + 200 + 100 = 600 bytes, DMA data 250.
  struct Case {
    uint64_t cap;
    bool weights, dma;
  } cases[] = {{0, false, false},    // no CMEM
               {599, false, true},   // weights do not fit; 250 do
               {600, true, false},   // weights fill it
               {849, true, false},   // 249 left for 250
               {850, true, true}};   // both
  for (const auto& c : cases) {
    INFO("capacity " << c.cap);
    tpu::TpuConfig cfg = small(c.cap);
    const auto p = lowering::place_in_cmem(cfg, plan);
    CHECK(p.weight_bytes == 600);
    CHECK(p.dma_bytes == 250);
    CHECK(p.weights == c.weights);
    CHECK(p.dma == c.dma);
  }
  // Through PCIe the DMA engines reach the host: only weights can move.
  tpu::TpuConfig pcie = small(1 << 20);
  pcie.host.path = tpu::HostPath::pcie;
  CHECK_FALSE(lowering::place_in_cmem(pcie, plan).dma);
}

TEST_CASE("tpu cmem: a network's DRAM traffic moves to the CMEM, faster, priced as SRAM", "[tpu][cmem]") {
  const workload::Workload w = workload::load_workload(xt::kSource + "/workloads/nets/lenet5.yaml");
  // Footprints of the plan on this core (bf16).
  lowering::NetworkOptions lo;
  lo.dtype = DType::bf16;
  lo.values = false;
  const auto at = lowering::place_in_cmem(small(1 << 30), lowering::lower_network(small(0), w, lo));
  REQUIRE(at.weight_bytes > 0);
  REQUIRE(at.dma_bytes > 0);
  // No CMEM; a CMEM too small for either; one that holds the weights only;
  // one that holds both.
  Core none(small(0), "cmem_none"), tiny(small(std::min(at.weight_bytes, at.dma_bytes) - 1), "cmem_tiny"),
      weights(small(at.weight_bytes), "cmem_weights"), both(small(at.weight_bytes + at.dma_bytes), "cmem_both");
  uint64_t c_none, c_tiny, c_weights, c_both;
  double e_none, e_tiny, e_weights, e_both;
  const auto s_none = none.run(w, &c_none, &e_none);
  const auto s_tiny = tiny.run(w, &c_tiny, &e_tiny);
  const auto s_weights = weights.run(w, &c_weights, &e_weights);
  const auto s_both = both.run(w, &c_both, &e_both);
  // Nothing placed: the same cycles and traffic as without a CMEM, and no CMEM energy.
  CHECK(c_tiny == c_none);
  CHECK(s_tiny.at("tpu.dram.read_bytes") == s_none.at("tpu.dram.read_bytes"));
  CHECK(s_tiny.at("tpu.cmem.read_bytes") == 0);
  CHECK(e_tiny == 0);
  // Weights in the CMEM: their reads leave DRAM (the bytes moved are the same).
  CHECK(s_weights.at("tpu.cmem.read_bytes") > 0);
  CHECK(s_weights.at("tpu.cmem.write_bytes") == 0);
  CHECK(s_weights.at("tpu.dram.read_bytes") + s_weights.at("tpu.cmem.read_bytes") ==
        s_none.at("tpu.dram.read_bytes"));
  CHECK(s_weights.at("tpu.dram.write_bytes") == s_none.at("tpu.dram.write_bytes"));
  CHECK(c_weights < c_none);
  // Everything in the CMEM: no DRAM traffic at all.
  CHECK(s_both.at("tpu.dram.read_bytes") == 0);
  CHECK(s_both.at("tpu.dram.write_bytes") == 0);
  CHECK(s_both.at("tpu.cmem.read_bytes") == s_none.at("tpu.dram.read_bytes"));
  CHECK(s_both.at("tpu.cmem.write_bytes") == s_none.at("tpu.dram.write_bytes"));
  CHECK(c_both <= c_weights);
  // Energy: CMEM bytes x the SRAM price of the CMEM's capacity (64-bit
  // accesses), read and write priced apart (timing run: no static power in tpu_small).
  const auto& t = both.model.table();
  const uint64_t cap = at.weight_bytes + at.dma_bytes;
  CHECK(e_both == Approx(s_both.at("tpu.cmem.read_bytes") * energy::sram_bytes_pj(t, cap, 64, false) +
                         s_both.at("tpu.cmem.write_bytes") * energy::sram_bytes_pj(t, cap, 64, true)));
}

TEST_CASE("tpu cmem: a standalone GEMM's placement, weights first, then A and C", "[tpu][cmem]") {
  lowering::LayerPlan lp;
  lp.steps.resize(1);
  lp.steps[0].weight_bytes = 300;
  lp.gemms.resize(1);
  lp.gemms[0].m = 10;
  lp.gemms[0].a_host = lp.gemms[0].c_host = true;
  lp.gemms[0].a_stride = 8;   // A: 10 rows of 8 bytes = 80
  lp.gemms[0].c_stride = 12;  // C: 10 rows of 12 bytes = 120; DMA data 200
  struct Case {
    uint64_t cap;
    bool weights, dma;
  } cases[] = {{0, false, false},    // no CMEM
               {299, false, true},   // weights 300 do not fit; the 200 do
               {499, true, false},   // weights 300, 199 left for 200
               {500, true, true}};   // both
  for (const auto& c : cases) {
    INFO("capacity " << c.cap);
    const auto p = lowering::place_gemm_in_cmem(small(c.cap), lp);
    CHECK(p.weight_bytes == 300);
    CHECK(p.dma_bytes == 200);
    CHECK(p.weights == c.weights);
    CHECK(p.dma == c.dma);
  }
}

TEST_CASE("tpu cmem: a GEMM whose A does not fit the unified buffer streams it through the CMEM, bit-exact",
          "[tpu][cmem][stream]") {
  // 64 x 32 x 1024 bf16 on tpu_small (8 x 8 MXU, 64 KiB unified buffer, 64
  // accumulator rows double-buffered: halves of 32) with host.path dram.
  // A is 64 x 1024 x 2 B = 128 KiB, twice the unified buffer. Host io would
  // need two blocks of (1024 x 2 + 32 x 4) = 2304 B rows: 8 rows (2 x 16
  // rows = 72 KiB do not fit), shorter than the 8 + 8 - 1 = 15 vectors that
  // hide a weight switch. Streamed: three slabs of 8 x 2 B and two C tiles
  // of 8 x 4 B per row, 112 B: blocks of all 32 accumulator rows (3.5 KiB).
  const std::string path = xpu_test::tmp_prefix() + "xpusim_test_cmem_stream.yaml";
  std::ofstream(path) << "kind: workload\nname: s\nlayers:\n  - {name: s, op: gemm, m: 64, n: 32, k: 1024}\n";
  const workload::Workload w = workload::load_workload(path);
  std::remove(path.c_str());
  lowering::GemmSpec spec;
  spec.m = 64;
  spec.n = 32;
  spec.k = 1024;
  spec.dtype = DType::bf16;
  spec.out_dtype = DType::fp32;
  CHECK(lowering::host_block_rows(small(0), spec) == 8);
  CHECK(lowering::streamed_block_rows(small(0), spec) == 32);
  CHECK(lowering::prefer_streamed(small(0), spec));
  // Over PCIe (TPU v1's host link) A is not read again for every N tile.
  tpu::TpuConfig pcie = small(0);
  pcie.host.path = tpu::HostPath::pcie;
  CHECK_FALSE(lowering::prefer_streamed(pcie, spec));
  const auto plan = lowering::lower_standalone_gemms(small(0), w, DType::bf16, false, nullptr);
  CHECK(plan.layers[0].io == "streamed");
  CHECK(plan.layers[0].ub_bytes == 32 * 112);

  // Traffic: 2 M blocks x 4 N tiles, each reading its block's A (32 x 1024
  // x 2 B = 64 KiB) slab by slab: 512 KiB of A, four times A. B (1024 x 32
  // x 2 B = 64 KiB) once per M block: 128 KiB. C (64 x 32 x 4 B = 8 KiB)
  // written once.
  const double a_reads = 2 * 4 * 65536.0, b_reads = 2 * 65536.0, c_writes = 8192.0;
  // CMEM sizes: none; B only (64 KiB); B, A and C (64 + 128 + 8 KiB).
  struct Case {
    uint64_t cap;
    double cmem_read, cmem_write, dram_read, dram_write;
  } cases[] = {{0, 0, 0, a_reads + b_reads, c_writes},
               {64 << 10, b_reads, 0, a_reads, c_writes},
               {200 << 10, a_reads + b_reads, c_writes, 0, 0}};
  // Every model is built before any runs (one SystemC elaboration).
  std::vector<std::unique_ptr<Core>> tile, pe;
  for (const auto& c : cases) {
    const std::string name = "cmem_stream_" + std::to_string(c.cap);
    tile.push_back(std::make_unique<Core>(small(c.cap), (name + "_tile").c_str()));
    pe.push_back(std::make_unique<Core>(small(c.cap), (name + "_pe").c_str()));
  }
  uint64_t cycles_none = 0, cycles_all = 0;
  for (size_t i = 0; i < 3; ++i) {
    const Case& c = cases[i];
    INFO("CMEM " << c.cap << " bytes");
    experiment::NetworkRunner r = tile[i]->runner();
    experiment::LayerRunOptions o;
    o.fidelity = Fidelity::tile;
    const auto rows = r.run_gemms(w, DType::bf16, o);
    REQUIRE(rows.size() == 1);
    const auto& row = rows[0];
    // Every output bit for bit against the reference (K in chunks of 8, in order).
    CHECK(row.verdict == report::Verdict::bit_exact);
    CHECK(row.stats.get("tpu.cmem.read_bytes") == c.cmem_read);
    CHECK(row.stats.get("tpu.cmem.write_bytes") == c.cmem_write);
    CHECK(row.stats.get("tpu.dram.read_bytes") == c.dram_read);
    CHECK(row.stats.get("tpu.dram.write_bytes") == c.dram_write);
    CHECK(row.stats.get("tpu.dma.in_bytes") == a_reads);
    // The PE-level array computes the same values in the same cycles.
    experiment::NetworkRunner rp = pe[i]->runner();
    o.fidelity = Fidelity::pe;
    const auto pe_rows = rp.run_gemms(w, DType::bf16, o);
    CHECK(pe_rows[0].verdict == report::Verdict::bit_exact);
    CHECK(pe_rows[0].cycles == row.cycles);
    if (i == 0) cycles_none = row.cycles;
    if (i == 2) cycles_all = row.cycles;
  }
  // The CMEM's 4x bandwidth feeds the slabs sooner.
  CHECK(cycles_all < cycles_none);
}

TEST_CASE("tpu cmem: TPU v4 standalone GEMMs read their operands from the CMEM where they fit", "[tpu][cmem]") {
  const tpu::TpuConfig v4 = config::load_tpu_config(xt::kSource + "/configs/accelerators/tpu_v4.yaml");
  auto be = experiment::make_tpu_backend(v4, xt::energy_table(), "cmem_gemm_v4");
  const std::string path = xpu_test::tmp_prefix() + "xpusim_test_cmem_gemm.yaml";
  std::ofstream(path) << "kind: workload\nname: g\nlayers:\n  - {name: g, op: gemm, m: 256, n: 1024, k: 1024}\n";
  const workload::Workload w = workload::load_workload(path);
  std::remove(path.c_str());
  experiment::LayerRunOptions o;
  o.fidelity = Fidelity::timing;
  o.io = "host";
  be->check_workload(w, DType::bf16);
  const auto rows = be->run_workload(w, DType::bf16, o);
  REQUIRE(rows.size() == 1);
  const auto& r = rows[0];
  // N = 1024 = 2 cores x 512 columns: each core takes 512 columns, B's
  // 1024 x 512 bf16 = 1 MiB, A (256 x 1024 bf16 = 512 KiB) in and its C
  // (256 x 512 fp32 = 512 KiB) out, all in one M block (256 rows): every
  // byte from and to the core's 64 MiB CMEM share, none from HBM.
  CHECK(r.stats.get("tpu.dram.read_bytes") == 0);
  CHECK(r.stats.get("tpu.dram.write_bytes") == 0);
  CHECK(r.stats.get("tpu.cmem.read_bytes") == 2.0 * ((1 << 20) + (512 << 10)));
  CHECK(r.stats.get("tpu.cmem.write_bytes") == 2.0 * (512 << 10));
  CHECK(r.unit_utilization.at("core1") == Approx(r.unit_utilization.at("core0")));

  // 8192^3: each core's 64 MiB of B (8192 x 4096 bf16) fills its CMEM
  // share exactly; A (128 MiB, all of it on each core) and C do not fit
  // and stream from and to HBM. A streams (host io's blocks would be 256
  // rows, 2 x 256 x (16 + 16) KiB = 16 MiB, short of the 128 + 512 - 1 rows
  // that hide a weight switch) in blocks of all 2048 accumulator rows: three
  // 512 KiB slabs and two 4 MiB C tiles (BENCHMARKS.md, the 8192^3 GEMM).
  const tpu::TpuConfig core = tpu::core_config(v4);
  workload::Workload big = w;
  big.layers[0].m = big.layers[0].k = 8192;
  big.layers[0].n = 4096;  // one core's columns
  const auto plan = lowering::lower_standalone_gemms(core, big, DType::bf16, false, nullptr);
  const auto at = lowering::place_gemm_in_cmem(core, plan.layers[0]);
  CHECK(plan.layers[0].io == "streamed");
  CHECK(plan.layers[0].ub_bytes == 3 * (512ull << 10) + 2 * (4ull << 20));
  CHECK(at.weight_bytes == 8192ull * 4096 * 2);
  CHECK(at.weights);
  CHECK_FALSE(at.dma);
}
