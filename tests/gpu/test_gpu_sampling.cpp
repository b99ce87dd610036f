// Sampled timing (models/gpu/wave_sampler.h) against full simulation on a
// few kernels of bench/gpu_sampling_cases.h on the small configs (the
// benchmark runs all of them on every config): cycles and DRAM bytes within
// 2 %, waves actually skipped, counters extrapolated consistently; and the
// control: sim.sampling: off, values (tile fidelity) never sampled; and the
// measurement interval rule (whole raster periods and whole waves).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include "tests/temp_path.h"
#include "bench/gpu_sampling_cases.h"
#include "gpu_test_util.h"
#include "models/gpu/gpu.h"
#include "models/gpu/wave_sampler.h"
#include "sim/config/gpu_config.h"
#include "sim/energy/energy_table.h"
#include "sim/experiment/gpu_backend.h"
#include "sim/lowering/gpu/network.h"
#include "sim/workload/workload.h"

using namespace xpu;

namespace {

workload::Workload case_workload(const std::string& name, uint64_t scale) {
  for (const bench::SamplingCase& c : bench::sampling_cases(scale))
    if (c.name == name) {
      const std::string path = xpu_test::tmp_prefix() + "xpusim_test_gpu_sampling_" + name + ".yaml";
      {
        std::ofstream f(path);
        f << c.yaml;
      }
      workload::Workload w = workload::load_workload(path);
      std::remove(path.c_str());
      return w;
    }
  FAIL("no sampling case " << name);
  return {};
}

gpu::LaunchResult run(gpu::Gpu& g, const lowering::gpu::GpuLayerPlan& p, bool sample) {
  gpu::RunOptions o;
  o.values = false;
  o.fast_path = true;
  o.sample = sample;
  return g.run_stream(p.launches(), o);
}

// Gpu modules must all exist before the first simulation starts.
gpu::Gpu& gpu_for(const std::string& config) {
  static std::map<std::string, std::unique_ptr<gpu::Gpu>> gpus;
  if (gpus.empty())
    for (const char* c : {"gpu_small.yaml", "ampere_small.yaml"})
      gpus[c] = std::make_unique<gpu::Gpu>((std::string("sampling_") + std::to_string(gpus.size())).c_str(),
                                           gpu::test::load(c));
  return *gpus.at(config);
}

}  // namespace

TEST_CASE("sampled timing: within 2 % of full simulation with waves skipped and counters consistent", "[gpu][sampling]") {
  // Kernels the benchmark samples on these configs, one of each family
  // that is quick to simulate in full. (The batched attention GEMMs write
  // 16-bit C: the smaller context/scores cases no longer reach a sampled
  // steady state on these configs and run in full, so larger ones stand in.)
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"gpu_small.yaml", "gemm_skinny_262144x128x64"},    {"gpu_small.yaml", "attn_scores_b32_s2048_d128"},
      {"gpu_small.yaml", "scale_16384x1024"},             {"ampere_small.yaml", "softmax_65536x128"},
      {"ampere_small.yaml", "gemm_skinny_262144x128x64"}, {"ampere_small.yaml", "attn_scores_b32_s2048_d128"},
  };
  for (const auto& [config, name] : cases) {
    gpu::Gpu& g = gpu_for(config);
    const gpu::GpuConfig& cfg = g.config();
    const workload::Workload w = case_workload(name, bench::sampling_scale(cfg.sms));
    lowering::gpu::GpuLayerPlan p;
    lowering::gpu::lower_layer(cfg, w, w.layers.at(0), DType::fp16, p);
    const gpu::LaunchResult full = run(g, p, false);
    const gpu::LaunchResult samp = run(g, p, true);
    INFO(config << " " << name << ": " << samp.waves_simulated << " of " << samp.waves_total << " waves; cycles "
                << samp.cycles << " vs " << full.cycles);
    const gpu::Launch& l = *p.launches().front();
    // One launch: waves = ceil(CTAs / (SMs x CTAs per SM)).
    const uint32_t wave = cfg.sms * full.ctas_per_sm;
    CHECK(samp.waves_total == (l.ctas + wave - 1) / wave);
    CHECK(!full.sampled);
    CHECK(full.waves_simulated == full.waves_total);
    REQUIRE(samp.sampled);
    CHECK(samp.waves_simulated < samp.waves_total);
    // Fewer warp instructions executed on the host than the kernel holds.
    CHECK(samp.simulated_warp_insts < full.simulated_warp_insts);
    const double dram_full = double(full.mem.dram_read_bytes + full.mem.dram_write_bytes);
    const double dram_samp = double(samp.mem.dram_read_bytes + samp.mem.dram_write_bytes);
    CHECK(std::fabs(double(samp.cycles) - double(full.cycles)) <= 0.02 * double(full.cycles));
    CHECK(std::fabs(dram_samp - dram_full) <= 0.02 * dram_full);
    // Skipped CTAs are counted once each: the window's CTA count scaled by
    // (skipped / window CTAs) is the skipped count exactly.
    CHECK(samp.sm[gpu::Ctr::ctas] == full.sm[gpu::Ctr::ctas]);
    CHECK(full.sm[gpu::Ctr::ctas] == l.ctas);
    // Every CTA of these kernels runs the same instructions, so the
    // extrapolated work is the full run's to within the rounding of a few
    // counters (1e-3 of it).
    CHECK(std::fabs(double(samp.sm[gpu::Ctr::warp_insts]) - double(full.sm[gpu::Ctr::warp_insts])) <=
          1e-3 * double(full.sm[gpu::Ctr::warp_insts]));
    // The statistics carry the extrapolated totals (energy is priced from them).
    CHECK(samp.stats.get("gpu.cycles") == double(samp.cycles));
    CHECK(samp.stats.get("gpu.sm.ctas") == double(l.ctas));
  }
}

TEST_CASE("sampled timing: values and sim.sampling: off are never sampled", "[gpu][sampling]") {
  gpu::Gpu& g = gpu_for("gpu_small.yaml");
  const gpu::GpuConfig& cfg = g.config();
  const workload::Workload w = case_workload("scale_16384x1024", bench::sampling_scale(cfg.sms));
  lowering::gpu::GpuLayerPlan p;
  lowering::gpu::lower_layer(cfg, w, w.layers.at(0), DType::fp16, p);
  gpu::RunOptions o;
  o.values = true;
  o.sample = true;
  g.memory().resize(p.bytes);
  const gpu::LaunchResult r = g.run_stream(p.launches(), o);
  CHECK(!r.sampled);
  CHECK(r.waves_simulated == r.waves_total);
  CHECK(r.sm[gpu::Ctr::ctas] == p.launches().front()->ctas);

  // The config key: "off" parses, anything else is a located error.
  CHECK(gpu::test::load("gpu_small.yaml", {"sim.sampling=off"}).sim.sampling == gpu::Sampling::off);
  CHECK(gpu::test::load("gpu_small.yaml").sim.sampling == gpu::Sampling::automatic);
  CHECK_THROWS_WITH(gpu::test::load("gpu_small.yaml", {"sim.sampling=sometimes"}),
                    Catch::Matchers::Contains("sim.sampling"));
}

TEST_CASE("sampled timing: each layer's report row says whether it was sampled and how many waves ran",
          "[gpu][sampling]") {
  const auto table =
      energy::load_energy_table(std::string(XPUSIM_SOURCE_DIR) + "/configs/energy/horowitz_45nm.yaml");
  auto on = experiment::make_gpu_backend(gpu::test::load("gpu_small.yaml"), table, "gpu_on");
  auto off = experiment::make_gpu_backend(gpu::test::load("gpu_small.yaml", {"sim.sampling=off"}), table, "gpu_off");
  const workload::Workload w = case_workload("add_8192x2048", bench::sampling_scale(2));
  experiment::LayerRunOptions o;
  o.fidelity = Fidelity::timing;
  const auto a = on->run_workload(w, DType::fp16, o);
  const auto b = off->run_workload(w, DType::fp16, o);
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  INFO("sampled " << a[0].waves_simulated << " of " << a[0].waves_total << " waves");
  CHECK(a[0].sampled);
  CHECK(a[0].waves_simulated < a[0].waves_total);
  CHECK(!b[0].sampled);
  CHECK(b[0].waves_simulated == b[0].waves_total);
  CHECK(a[0].waves_total == b[0].waves_total);
  CHECK(std::fabs(double(a[0].cycles) - double(b[0].cycles)) <= 0.02 * double(b[0].cycles));
  // Energy is priced from the extrapolated counters: it follows them.
  CHECK(std::fabs(a[0].energy.dynamic_pj - b[0].energy.dynamic_pj) <= 0.02 * b[0].energy.dynamic_pj);
}

namespace {

// A grid of `ctas` CTAs with one buffer whose offset repeats every
// `period` CTAs (a row-major GEMM's A panel: one per tile row of `period`
// tiles), 1 MiB per row.
gpu::Launch periodic_launch(uint32_t ctas, uint32_t period) {
  gpu::Launch l;
  l.ctas = ctas;
  l.nbufs = 1;
  for (uint32_t c = 0; c < ctas; ++c) l.bases.push_back(uint64_t(c / period) << 20);
  return l;
}

// The dispatched-CTA counts at which the sampler takes its first n
// snapshots (no steady state: an L2 of 2^40 bytes never turns over).
std::vector<uint32_t> snapshot_marks(const gpu::Launch& l, uint32_t wave, size_t n) {
  gpu::WaveSampler s;
  s.begin(l, wave, 1ull << 40, 1, true);
  std::vector<uint32_t> marks;
  for (uint32_t d = 0; d <= l.ctas && marks.size() < n; ++d)
    if (s.due(d)) {
      marks.push_back(d);
      gpu::WaveTotals t;
      t.dispatched = d;
      t.cycle = uint64_t(d) * 1000;  // intervals far above 64 quanta of 1 cycle: no doubling
      s.observe(t);
    }
  return marks;
}

}  // namespace

TEST_CASE("sampled timing: measurement intervals are whole raster periods and whole waves", "[gpu][sampling]") {
  // A row-major GEMM of 64 x 64 tiles: period 64 CTAs (one tile row).
  const gpu::Launch l = periodic_launch(4096, 64);
  CHECK(gpu::grid_period(l) == 64);
  // Wave 160 (the V100's 80 SMs x 2): lcm(64, 160) = 320 <= 4 waves, so
  // after the first wave's snapshot (at 160) one every 320 CTAs (a
  // one-wave interval would end at 480).
  CHECK(snapshot_marks(l, 160, 4) == std::vector<uint32_t>{160, 320, 640, 960});
  // Wave 108 (the A100's 108 SMs x 1): lcm(64, 108) = 1728 = 16 waves is
  // too long, so the intervals are the whole periods that span a wave:
  // ceil(108 / 64) x 64 = 128 CTAs.
  CHECK(snapshot_marks(l, 108, 4) == std::vector<uint32_t>{108, 128, 256, 384});
  // A grid with no period (offsets c^2): whole waves.
  gpu::Launch n = periodic_launch(4096, 1);
  for (uint32_t c = 0; c < n.ctas; ++c) n.bases[c] = uint64_t(c) * c;
  CHECK(gpu::grid_period(n) == 0);
  CHECK(snapshot_marks(n, 160, 3) == std::vector<uint32_t>{160, 320, 480});
}
