// Dram::stream (a shared-DRAM transfer whose groups are booked lazily, when
// another requester posts or the transfer ends, with one wake-up of its
// requester) against what it replaces: the requester's own loop of access()
// and a wait until each group's end. Two identical Drams run side by side
// in one simulation, each with a streaming requester (the weight fetcher)
// and two competitors (the DMA engines) posting groups at random cycles
// with cursors up to a cycle behind, as the DMA engines do. Every group
// must end at the same fractional cycle, every requester come back at the
// same cycle, and the busy cycles and byte counters agree.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <systemc>

#include "models/tpu/clock.h"
#include "models/tpu/dram.h"
#include "sim/config/tpu_config.h"

using namespace xpu;
using namespace xpu::tpu;

namespace {

std::string src(const std::string& rel) { return std::string(XPUSIM_SOURCE_DIR) + "/" + rel; }

struct Job {
  uint64_t at;  // earliest cycle to start
  uint64_t addr, bytes;
};

// Log entry: (cycle the call returned, bits of the end it returned).
using Log = std::vector<std::pair<uint64_t, uint64_t>>;

uint64_t bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

struct Requester : sc_core::sc_module {
  SC_HAS_PROCESS(Requester);
  Requester(sc_core::sc_module_name n, Dram& dram, const Clock& clock, Dram::Requester who, bool use_stream,
            std::vector<Job> jobs)
      : sc_module(n), dram(dram), clock(clock), who(who), use_stream(use_stream), jobs(std::move(jobs)) {
    SC_THREAD(run);
  }
  void run() {
    uint64_t free_at = 0;
    double last_end = 0;
    for (const Job& j : jobs) {
      clock.wait_until(j.at);
      const uint64_t start = clock.now();
      // Back to back: continue from the previous transfer's fractional end.
      double cursor = start == free_at ? std::max(double(start) - 1.0, last_end) : double(start);
      if (use_stream) {
        cursor = dram.stream(who, j.addr, j.bytes, false, cursor);
      } else {
        const uint64_t group = who == Dram::weight_fetch ? dram.group_bytes() : j.bytes;
        for (uint64_t off = 0; off < j.bytes; off += group) {
          cursor = dram.access(who, j.addr + off, std::min(group, j.bytes - off), false, cursor);
          clock.wait_until(ceil_cycles(cursor));
        }
      }
      last_end = cursor;
      free_at = ceil_cycles(cursor);
      log.emplace_back(clock.now(), bits(cursor));
    }
  }
  Dram& dram;
  const Clock& clock;
  Dram::Requester who;
  bool use_stream;
  std::vector<Job> jobs;
  Log log;
};

std::vector<Job> random_jobs(std::mt19937_64& rng, int n, uint64_t max_gap, uint64_t max_bytes, uint64_t align) {
  std::vector<Job> jobs;
  uint64_t at = 0;
  for (int i = 0; i < n; ++i) {
    at += rng() % (max_gap + 1);
    const uint64_t bytes = align * (1 + rng() % (max_bytes / align));
    jobs.push_back(Job{at, align * (rng() % 4096), bytes});
  }
  return jobs;
}

struct Side {
  Side(const std::string& name, const TpuConfig& cfg, const Clock& clock, bool use_stream,
       const std::vector<Job> (&jobs)[3])
      : stats(name) {
    dram = std::make_unique<Dram>((name + "_dram").c_str(), cfg, clock, stats);
    fetch = std::make_unique<Requester>((name + "_fetch").c_str(), *dram, clock, Dram::weight_fetch, use_stream,
                                        jobs[0]);
    in = std::make_unique<Requester>((name + "_in").c_str(), *dram, clock, Dram::dma_in, false, jobs[1]);
    out = std::make_unique<Requester>((name + "_out").c_str(), *dram, clock, Dram::dma_out, false, jobs[2]);
  }
  stats::Group stats;
  std::unique_ptr<Dram> dram;
  std::unique_ptr<Requester> fetch, in, out;
};

}  // namespace

TEST_CASE("DRAM stream: the same bookings and return cycles as a loop of accesses, against competing requesters") {
  // host.path dram: the DMA engines share the DRAM with the weight fetcher.
  // One simulation for both configs (one elaboration per process).
  // Fetcher tiles at any 64-byte address, and whole aligned tiles (whole
  // groups on channels that start together: the O(1) booking).
  const std::vector<std::string> names = {"tpu_v2_like", "tpu_v1", "tpu_v2_like", "tpu_v1"};
  const std::vector<uint64_t> align = {64, 64, 4096, 512};
  std::vector<std::unique_ptr<Clock>> clocks;
  std::vector<std::vector<Job>> all_jobs;
  std::vector<std::unique_ptr<Side>> ref, str, alone;
  for (size_t c = 0; c < names.size(); ++c) {
    const std::string& name = names[c];
    const std::string side = name + "_" + std::to_string(align[c]);
    TpuConfig cfg = config::load_tpu_config(src("configs/accelerators/" + name + ".yaml"));
    cfg.host.path = HostPath::dram;
    clocks.push_back(std::make_unique<Clock>(cfg.cycle_ns()));
    std::mt19937_64 rng(name.size() + c);
    // Fetcher: whole tiles of 64 B .. 64 KiB (up to 16 groups), back to back
    // or with gaps; competitors: DMA-sized chunks at random cycles, often in
    // the cycles the fetcher posts.
    const std::vector<Job> jobs[3] = {random_jobs(rng, 300, 40, 65536, align[c]), random_jobs(rng, 2000, 12, 2048, 32),
                                      random_jobs(rng, 2000, 12, 1024, 32)};
    const std::vector<Job> solo[3] = {jobs[0], {}, {}};
    ref.push_back(std::make_unique<Side>("ref_" + side, cfg, *clocks.back(), false, jobs));
    str.push_back(std::make_unique<Side>("stream_" + side, cfg, *clocks.back(), true, jobs));
    alone.push_back(std::make_unique<Side>("alone_" + side, cfg, *clocks.back(), true, solo));
    all_jobs.push_back(jobs[0]);
  }
  sc_core::sc_start();
  for (size_t i = 0; i < names.size(); ++i) {
    INFO(names[i] << ", fetcher tiles aligned to " << align[i] << " bytes");
    REQUIRE(ref[i]->fetch->log.size() == all_jobs[i].size());
    CHECK(str[i]->fetch->log == ref[i]->fetch->log);
    CHECK(str[i]->in->log == ref[i]->in->log);
    CHECK(str[i]->out->log == ref[i]->out->log);
    CHECK(str[i]->dram->busy_cycles.value() == ref[i]->dram->busy_cycles.value());
    CHECK(str[i]->dram->read_bytes.value() == ref[i]->dram->read_bytes.value());
    // The competitors did delay the fetcher (else this compared nothing
    // shared): alone, its transfers end differently.
    CHECK(alone[i]->fetch->log != ref[i]->fetch->log);
  }
}
