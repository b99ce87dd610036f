// A program streams from the lowering to the TPU in bounded chunks: the
// controller never asks for more than Controller::kFetchChunk instructions
// at once, holds copies only of the instructions in flight, and the cycle
// accounting folds its intervals as the program runs -- so host memory does
// not grow with the program. Counters, not timings.
#include <catch2/catch.hpp>

#include <algorithm>

#include "models/tpu/tpu.h"
#include "sim/config/tpu_config.h"
#include "sim/experiment/cycle_accounting.h"
#include "sim/lowering/tpu/gemm.h"

using namespace xpu;

namespace {

// Passes a stream through and counts what the controller asked for.
class Counting final : public tpu::ProgramSource {
 public:
  explicit Counting(tpu::ProgramSource& s) : s_(s) {}
  const std::string& name() const override { return s_.name(); }
  size_t fetch(tpu::Instruction* out, size_t max) override {
    largest_request = std::max(largest_request, max);
    const size_t n = s_.fetch(out, max);
    delivered += n;
    calls += 1;
    return n;
  }
  size_t largest_request = 0, delivered = 0, calls = 0;

 private:
  tpu::ProgramSource& s_;
};

}  // namespace

TEST_CASE("a large GEMM's program is consumed in bounded chunks, with the whole program's cycles") {
  const auto cfg = config::load_tpu_config(std::string(XPUSIM_SOURCE_DIR) + "/configs/accelerators/tpu_small.yaml");
  lowering::GemmSpec spec;
  spec.name = "big";
  spec.m = spec.n = spec.k = 256;  // 32 x 32 tiles of 8 x 8
  const auto plan = lowering::lower_gemm(cfg, spec);
  // M blocks of 16 rows (two blocks of 16 x (256 + 4 * 256) bytes fit the
  // 64 KiB unified buffer, two of 32 do not): 16 blocks x (2 DMAs + 32 N
  // tiles x (32 x (fetch + matmul) + activate)) + halt = 33313.
  const size_t n = plan.program.code.size();
  REQUIRE(n == 16 * (2 + 32 * (2 * 32 + 1)) + 1);

  tpu::Tpu t(cfg);
  t.set_fidelity(Fidelity::timing);
  const tpu::RunResult whole = t.run(plan.program);

  auto gen = plan.stream();
  Counting counting(*gen);
  experiment::CycleAccounting accounting;
  const tpu::RunResult streamed = t.run(counting);

  // The same program: cycles and counters equal (a program's count does not
  // depend on when it starts: both start on the array's phase).
  CHECK(streamed.cycles == whole.cycles);
  CHECK(streamed.stats.get("tpu.mxu.passes") == whole.stats.get("tpu.mxu.passes"));
  CHECK(streamed.stats.get("tpu.mxu.busy_cycles") == whole.stats.get("tpu.mxu.busy_cycles"));
  CHECK(streamed.stats.get("tpu.controller.issued") == double(n));
  CHECK(accounting.total() == streamed.cycles);

  // Bounded: every request at most one chunk, the whole program delivered in
  // about n / kFetchChunk requests (the last one finds the end).
  const size_t chunk = tpu::Controller::kFetchChunk;
  CHECK(counting.largest_request == chunk);
  CHECK(counting.delivered == n);
  CHECK(counting.calls == (n + chunk - 1) / chunk + 1);
  CHECK(t.controller().fetched_peak() <= chunk);
  // Instruction copies: one per instruction in flight -- at most a queue of
  // unit_queue_depth (4) per unit (5) plus the dispatched ones not yet
  // complete (the weight FIFO's 4 tiles, a few MXU passes, one per DMA and
  // the activation unit) -- not one per program instruction (33 313).
  CHECK(t.controller().instruction_slots() <= 64);
  // The accounting's intervals: those reported since the last settled cycle
  // (the controller settles once per chunk: about 2.5 spans for each of a
  // chunk's instructions) plus the ones still open, not ~2.5 per program
  // instruction (about 80 000 here).
  CHECK(accounting.held_peak() <= 4 * chunk);
  CHECK(accounting.held_peak() > 0);
}

TEST_CASE("a program feed holds a bounded window while its producer keeps it topped up") {
  // The network runner pushes a step's code whenever it has some and lets the
  // TPU run only while at least 2 x kFetchChunk wait, so the feed is never
  // empty while the producer is active. Pushes of 700 and fetches of
  // kFetchChunk (1024) under that rule, for 10,000 rounds (7 M instructions):
  // with the consumed front dropped once it is half the buffer, the buffer
  // never holds more than twice what waits (< 2 x (2048 + 1024 + 700)),
  // not everything pushed.
  tpu::ProgramFeed feed("window");
  const size_t chunk = tpu::Controller::kFetchChunk;
  std::vector<tpu::Instruction> block(700);
  std::vector<tpu::Instruction> out(chunk);
  size_t pushed = 0, fetched = 0, most = 0;
  for (int round = 0; round < 10000; ++round) {
    feed.push(block.data(), block.size());
    pushed += block.size();
    while (feed.buffered() >= 2 * chunk) fetched += feed.fetch(out.data(), chunk);
    most = std::max(most, feed.held());
  }
  CHECK(pushed == 7000000);
  CHECK(fetched + feed.buffered() == pushed);
  CHECK(most < 2 * (2 * chunk + chunk + block.size()));
}
