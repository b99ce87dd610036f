// Golden cycle counts: every expected number is derived in a comment from
// the timing rules (controller.h, weight_fifo.h, mxu.h, activation_unit.h,
// dma.h, dram.h) and the config values.
#include <catch2/catch.hpp>

#include "tests/tpu/tpu_test_util.h"

using namespace xpu;
using namespace xpu::tpu;
using namespace xpu::tpu::test;

// tpu_small: 8x8, 1 GHz, weight_load 8, FIFO 4, UB ports 16 B/cycle, act 8
// elements/cycle + 2 latency, DRAM 2 ch x 8 B/cycle, 20 cycles latency, host
// PCIe 8 B/cycle + 50 cycles, 4 pipeline stages.
TEST_CASE("tpu golden: one int8 tile on tpu_small", "[tpu][golden]") {
  Tpu tpu(load("tpu_small"));
  const Program p = parse_assembly(R"(
    read_host_memory host=0 ub=0 bytes=64
    read_weights weights=0 k=8 n=8 dtype=int8
    matmul ub=0 stride=8 acc=0 rows=8 k=8 n=8 dtype=int8 accumulate=0 load_weights=1
    activate acc=0 rows=8 n=8 ub=64 stride=32 fn=none out_dtype=int32
    write_host_memory ub=64 host=4096 bytes=256
    halt
  )", "one_tile");
  const RunResult r = tpu.run(p);
  // Issue: instruction i at 3 + i (4 stages): 3, 4, 5, 6, 7, halt 8.
  // dma_in  (issue 3): 64 B, one chunk; UB side 64/16 = 4, link 64/8 = 8
  //         -> data moved at 3 + 8 = 11, complete at 11 + 50 = 61.
  // fetch   (issue 4): 64 B tile at address 0: one 64 B interleave chunk on
  //         channel 0, 64/8 = 8 cycles -> 12; arrival 12 + 20 = 32.
  // shift   32 .. 40 (8 cycles), latch 40.
  // matmul  (issue 5): start = max(issue 5, latch 40, UB input 61) = 61;
  //         completion = 61 + (m 8 + R 8 + n 8 - 2) + 1 = 84.
  // act     (issue 6): start 84, 2 + 8 rows * max(8/8, 32 B/16) = 18 -> 102.
  // dma_out (issue 7): start 102, 256 B: UB 256/16 = 16, link 256/8 = 32
  //         -> 134, complete 134 + 50 = 184.
  // halt    184.
  CHECK(r.cycles == 184);
  // MXU: idle [0, 5) + [69, 184) = 120, stall.activations [5, 61) = 56,
  // busy 8: 120 + 56 + 8 = 184.
  CHECK(u(r, "tpu.mxu.busy_cycles") == 8);
  CHECK(u(r, "tpu.mxu.stall.activations") == 56);
  CHECK(u(r, "tpu.mxu.idle_cycles") == 120);
  CHECK(u(r, "tpu.mxu.mac.int8") == 512);
  CHECK(u(r, "tpu.act.busy_cycles") == 18);
  CHECK(u(r, "tpu.dma.busy_cycles") == 8 + 32);
  CHECK(u(r, "tpu.dram.read_bytes") == 64);
  CHECK(u(r, "tpu.dram.busy_cycles") == 8);
}

// tpu_v1: 700 MHz; DRAM 34 GB/s = 48.57 B/cycle over 2 channels (7/170
// cycles per byte per channel), 100 ns = 70 cycles; PCIe 14 GB/s = 20
// B/cycle, 500 ns = 350 cycles; UB ports 256 B/cycle (DMA chunks 4 KiB).
TEST_CASE("tpu golden: one int8 tile on tpu_v1", "[tpu][golden]") {
  Tpu tpu(load("tpu_v1"));
  const Program p = parse_assembly(R"(
    read_host_memory host=0 ub=0 bytes=65536
    read_weights weights=0 k=256 n=256 dtype=int8
    matmul ub=0 stride=256 acc=0 rows=256 k=256 n=256 dtype=int8 accumulate=0 load_weights=1
    activate acc=0 rows=256 n=256 ub=65536 stride=256 fn=relu out_dtype=int8 scale=0.01
    write_host_memory ub=65536 host=1048576 bytes=65536
    halt
  )", "one_tile_v1");
  const RunResult r = tpu.run(p);
  // Issue at 3 + i: dma_in 3, fetch 4, matmul 5, activate 6, dma_out 7, halt 8.
  // dma_in: 16 chunks of 4 KiB; PCIe 4096/20 = 204.8 cycles each (UB side
  //   4096/256 = 16, hidden): 3 + 16 * 204.8 = 3279.8 -> moved at 3280,
  //   complete ceil(3279.8 + 350) = 3630.
  // fetch: 64 KiB = 16 groups of 4 KiB, each 8 x 256 B per channel at 7/170
  //   cycles/B: 32768 * 7/170 = 1349.27 per channel -> 4 + 1349.27 = 1353.27,
  //   arrival ceil(1353.27 + 70) = 1424.
  // shift 1424 .. 1680 (256 cycles), latch 1680.
  // matmul: start = max(5, latch 1680, UB input 3630) = 3630; completion =
  //   3630 + (256 + 256 + 256 - 2) + 1 = 4397; input_free 3886.
  // activate: 4397 + 8 + 256 rows * max(256/256, 256 B/256) = 4397 + 264 = 4661.
  // dma_out: 4661 + 16 * 204.8 = 7937.8 -> complete ceil(7937.8 + 350) = 8288.
  CHECK(r.cycles == 8288);
  CHECK(r.end_cycle == 8288);
  // MXU: busy 256; stall.activations [5, 3630) = 3625; idle [0, 5) +
  // [3886, 8288) = 5 + 4402 = 4407; 256 + 3625 + 4407 = 8288.
  CHECK(u(r, "tpu.mxu.busy_cycles") == 256);
  CHECK(u(r, "tpu.mxu.stall.activations") == 3625);
  CHECK(u(r, "tpu.mxu.idle_cycles") == 4407);
  CHECK(u(r, "tpu.mxu.stall.weights_dram") == 0);
  CHECK(u(r, "tpu.mxu.mac.int8") == 256ull * 256 * 256);
  CHECK(u(r, "tpu.weight_fifo.busy_cycles") == 1354 - 4);
  CHECK(u(r, "tpu.act.busy_cycles") == 264);
  CHECK(u(r, "tpu.dma.busy_cycles") == (3280 - 3) + (7938 - 4661));
  CHECK(u(r, "tpu.dram.read_bytes") == 65536);
  CHECK(u(r, "tpu.ub.read_bytes") == 65536 + 65536);   // MXU inputs + DMA out
  CHECK(u(r, "tpu.ub.write_bytes") == 65536 + 65536);  // DMA in + activation
  CHECK(u(r, "tpu.acc.write_bytes") == 256ull * 256 * 4);
  CHECK(u(r, "tpu.acc.read_bytes") == 256ull * 256 * 4);
  CHECK(u(r, "tpu.cycles") == 8288);
}

namespace {
// M = 32, K = N = 16 int8 on tpu_small: 2 x 2 tiles of 8 x 8, K-chunks
// accumulated into the same accumulator rows.
const char* kFourTiles = R"(
    read_host_memory host=0 ub=0 bytes=512                 # A: 32 rows x 16 B
    read_weights weights=0 k=8 n=8                         # tile (k0, n0)
    read_weights weights=64 k=8 n=8                        # tile (k1, n0)
    read_weights weights=128 k=8 n=8                       # tile (k0, n1)
    read_weights weights=192 k=8 n=8                       # tile (k1, n1)
    matmul ub=0 stride=16 acc=0 rows=32 k=8 n=8 accumulate=0
    matmul ub=8 stride=16 acc=0 rows=32 k=8 n=8 accumulate=1
    matmul ub=0 stride=16 acc=32 rows=32 k=8 n=8 accumulate=0
    matmul ub=8 stride=16 acc=32 rows=32 k=8 n=8 accumulate=1
    activate acc=0 rows=32 n=8 ub=1024 stride=64 out_dtype=int32
    activate acc=32 rows=32 n=8 ub=1056 stride=64 out_dtype=int32
    write_host_memory ub=1024 host=8192 bytes=2048
    halt
)";
}  // namespace

// Common to both: issue at 3 + i. dma_in (3): 2 chunks of 256 B, PCIe 32
// cycles each -> 67, complete 117. Fetches (one 64 B chunk each, channels
// 0, 1, 0, 1, 8 cycles each, back to back): [4,12) [12,20) [20,28) [28,36),
// arrivals 32, 40, 48, 56. Pass P_i: m 32 -> input_free = start + 32,
// switch_done = start + (8 + 8 - 2) + 1 = start + 15, completion = start +
// (32 + 8 + 8 - 2) + 1 = start + 47. P0 starts at 117 (UB input) either way.
// Activation: 2 + 32 rows * max(8/8, 32 B/16) = 66 cycles. dma_out: 8
// chunks of 256 B, PCIe-bound at 32 cycles: 256, + 50 latency.
// (SystemC elaborates once per process: one Tpu per TEST_CASE, no SECTIONs.)
TEST_CASE("tpu golden: four tiles, weight double buffering on", "[tpu][golden]") {
  {
    Tpu tpu(load("tpu_small"));
    const RunResult r = tpu.run(parse_assembly(kFourTiles, "four_tiles"));
    // Shift 0 [32,40) latch 40; shift 1 [40,48), latch 1 = max(48, switch_done
    // P0 = 132) = 132; shift 2 [132,140), latch = max(140, sd P1) ...
    // P0 117 (done 164), P1 = input_free(P0) = 149 (done 196, sd 164),
    // P2 = 181 (latch 2 = max(140, 164) = 164; done 228, sd 196),
    // P3 = 213 (latch 3 = max(172, 196) = 196; done 260).
    // act 1: after P1 (196) -> 262; act 2: after P3 (260) and act 1 -> 262
    // .. 328; dma_out 328 + 256 = 584, + 50 = 634.
    CHECK(r.cycles == 634);
    // MXU: idle [0, 8) + [245, 634) = 397; stall.activations [8, 117) = 109;
    // busy 4 x 32 = 128; 397 + 109 + 128 = 634. No weight stalls.
    CHECK(u(r, "tpu.mxu.busy_cycles") == 128);
    CHECK(u(r, "tpu.mxu.stall.activations") == 109);
    CHECK(u(r, "tpu.mxu.idle_cycles") == 397);
    CHECK(u(r, "tpu.mxu.stall.weights_shift") == 0);
    CHECK(u(r, "tpu.mxu.stall.weights_dram") == 0);
    CHECK(u(r, "tpu.mxu.weight_tiles") == 4);
    CHECK(u(r, "tpu.mxu.passes") == 4);
  }
}

TEST_CASE("tpu golden: four tiles, weight double buffering off", "[tpu][golden]") {
  {
    Tpu tpu(load("tpu_small", {"mxu.double_buffer_weights=false"}));
    const RunResult r = tpu.run(parse_assembly(kFourTiles, "four_tiles"));
    // Tile j shifts once P_j is at the queue head and every earlier pass has
    // completed: shift = completion(P_{j-1}) .. + 8, start = shift end.
    // P0: shift [32,40) (head at issue 8), start 117, done 164.
    // P1: shift [164,172), start 172 (done 219); P2: [219,227), 227 (274);
    // P3: [274,282), 282 (done 329). Each of P1..P3 starts 23 cycles later
    // relative to input_free of its predecessor (47 - 32 + 8 = 23): 3 x 23 = 69.
    // act 1: 219 .. 285; act 2: 329 .. 395; dma_out 395 + 256 + 50 = 701.
    CHECK(r.cycles == 701);
    // Difference: act 2 starts at 329 instead of 262 (act 1 was binding
    // there): 701 - 634 = 67 = 69 - 2.
    CHECK(u(r, "tpu.mxu.stall.weights_shift") == 69);
    CHECK(u(r, "tpu.mxu.stall.weights_dram") == 0);
    CHECK(u(r, "tpu.mxu.busy_cycles") == 128);
    CHECK(u(r, "tpu.mxu.stall.activations") == 109);
    // idle [0,8) + [314, 701) = 8 + 387 = 395; 395 + 109 + 69 + 128 = 701.
    CHECK(u(r, "tpu.mxu.idle_cycles") == 395);
  }
}

// M = 8, K = N = 4096 int8 on tpu_v1: 16 x 16 = 256 tiles of 64 KiB = 16 MiB
// of weights against 8 x 4096 x 4096 = 134 M MACs: 8 ops per weight byte,
// far below the ~1350 ridge point, so the run is weight-bandwidth bound.
TEST_CASE("tpu golden: weight-bound GEMM on tpu_v1 (M=8 K=N=4096)", "[tpu][golden]") {
  Tpu tpu(load("tpu_v1"));
  tpu.set_fidelity(Fidelity::timing);  // timing only: 256 full tiles
  Program p;
  p.name = "weight_bound";
  auto emit = [&](const std::string& line) { p.code.push_back(parse_assembly(line).code.at(0)); };
  emit("read_host_memory host=0 ub=0 bytes=32768");  // A: 8 x 4096 int8
  for (int nt = 0; nt < 16; ++nt) {
    for (int kt = 0; kt < 16; ++kt) {
      emit("read_weights weights=" + std::to_string((nt * 16 + kt) * 65536) + " k=256 n=256");
      emit("matmul ub=" + std::to_string(kt * 256) + " stride=4096 acc=" + std::to_string(nt * 8) +
           " rows=8 k=256 n=256 accumulate=" + (kt ? "1" : "0"));
    }
  }
  // acc row nt*8 + r holds C[r][nt*256 .. +256]: 128 rows of 256 int32 = 128 KiB.
  emit("activate acc=0 rows=128 n=256 ub=32768 stride=1024 out_dtype=int32");
  emit("write_host_memory ub=32768 host=1048576 bytes=131072");
  emit("halt");
  const RunResult r = tpu.run(p);
  // DRAM: 34e9 / 700e6 = 48.571 B/cycle. The fetcher streams the 256 tiles
  // back to back (FIFO slots free long before they are needed): each tile
  // 65536 B / 48.571 = 1349.27 cycles, 16 MiB / 48.571 = 345,413.27 cycles.
  // Tile j arrives at ceil(4 + (j + 1) * 1349.27 + 70); the last at
  // ceil(345,487.27) = 345,488, is latched at +256 = 345,744 and its pass
  // completes at 345,744 + (8 + 256 + 256 - 2) + 1 = 346,263.
  // activate: 8 + 128 rows * (1024 B / 256 B per cycle) = 520 -> 346,783.
  // write_host_memory 128 KiB over PCIe: 32 x 204.8 = 6553.6 -> 353,336.6,
  // complete ceil(353,336.6 + 350) = 353,687.
  CHECK(r.cycles == 353687);
  CHECK(u(r, "tpu.dram.read_bytes") == 16ull << 20);
  CHECK(u(r, "tpu.dram.busy_cycles") == 345414);  // [4, 345,417.27) on some channel: 345,418 - 4
  // MXU accounting: P0 waits for its input (dma_in: 8 x 204.8 -> 1641.4,
  // complete 1992): idle [0,5), stall.activations [5, 1992) = 1987.
  // P_j (j >= 1) starts at latch_j = arrival_j + 256: stall.weights_dram =
  // arrival_j - input_free(P_{j-1}), stall.weights_shift = 256 each:
  // shift = 255 * 256 = 65,280; dram = (2773 - 2000) + (345,488 - 2773) -
  // 254 * (256 + 8) = 773 + 342,715 - 67,056 = 276,432.
  CHECK(u(r, "tpu.mxu.stall.activations") == 1987);
  CHECK(u(r, "tpu.mxu.stall.weights_shift") == 65280);
  CHECK(u(r, "tpu.mxu.stall.weights_dram") == 276432);
  CHECK(u(r, "tpu.mxu.busy_cycles") == 256 * 8);
  // idle: [0,5) + [345,752, 353,687) = 5 + 7935.
  CHECK(u(r, "tpu.mxu.idle_cycles") == 7940);
  // Weights-DRAM stalls dominate: 78% of all cycles.
  CHECK(double(u(r, "tpu.mxu.stall.weights_dram")) / double(r.cycles) > 0.75);
  // Runtime vs weight bytes / bandwidth: 345,413 of 353,687 cycles.
  CHECK(double(r.cycles) == Approx(345413.27 + 8274).epsilon(1e-3));
  CHECK(u(r, "tpu.mxu.mac.int8") == 8ull * 4096 * 4096);
  CHECK(u(r, "tpu.weight_fifo.stall.full") == 0);
}

TEST_CASE("tpu golden: host.path dram shares the DRAM with the weight fetcher", "[tpu][golden]") {
  Tpu tpu(load("tpu_small", {"host.path=dram"}));
  const RunResult r = tpu.run(parse_assembly(R"(
    read_host_memory host=0 ub=0 bytes=64
    read_weights weights=0 k=8 n=8 dtype=int8
    matmul ub=0 stride=8 acc=0 rows=8 k=8 n=8 dtype=int8
    activate acc=0 rows=8 n=8 ub=64 stride=32 out_dtype=int32
    write_host_memory ub=64 host=4096 bytes=256
    halt
  )", "dram_path"));
  // dma_in (3): 64 B at address 0 -> channel 0, 64/8 = 8 cycles: [3, 11)
  //   (UB side 64/16 = 4 is hidden); complete 11 + 20 (DRAM latency) = 31.
  // fetch (4): its tile is also on channel 0, which the DMA booked first
  //   (posted at cycle 3, the fetch at 4): [11, 19), arrival 19 + 20 = 39
  //   (32 with the PCIe path: 7 cycles lost to sharing).
  // shift 39 .. 47, latch 47; matmul start max(5, 47, 31) = 47, done
  //   47 + 22 + 1 = 70; activate 70 + 18 = 88.
  // dma_out (88): 256 B at host 4096 -> 4 chunks of 64 B on channels 0, 1,
  //   0, 1: 128 B = 16 cycles per channel; UB side 256/16 = 16: [88, 104),
  //   complete 104 + 20 = 124.
  CHECK(r.cycles == 124);
  CHECK(u(r, "tpu.dram.read_bytes") == 64 + 64);
  CHECK(u(r, "tpu.dram.write_bytes") == 256);
  // Channel busy: [3, 19) and [88, 104).
  CHECK(u(r, "tpu.dram.busy_cycles") == 16 + 16);
  CHECK(u(r, "tpu.mxu.stall.weights_dram") == 39 - 5);
  CHECK(u(r, "tpu.mxu.stall.weights_shift") == 8);
}

TEST_CASE("tpu golden: DMA out shares the UB read port with MXU input streaming", "[tpu][golden]") {
  // Host link at 16 B/cycle, as fast as the UB port, so the port decides.
  Tpu tpu(load("tpu_small", {"host.bandwidth_gbps=16"}));
  const RunResult r = tpu.run(parse_assembly(R"(
    read_host_memory host=0 ub=0 bytes=512          # A: 64 rows x 8 B
    read_weights weights=0 k=8 n=8 dtype=int8
    matmul ub=0 stride=8 acc=0 rows=64 k=8 n=8 dtype=int8
    write_host_memory ub=4096 host=8192 bytes=4096  # unrelated UB data: no dependency
    halt
  )", "port_sharing"));
  // dma_in (3): 2 chunks of 256 B, 16 cycles each (UB and link) -> 35,
  //   complete 85. Tile arrives 32, latched 40. matmul starts 85 and streams
  //   64 rows of 8 B at step 1: it reserves 8 B/cycle of the 16 B/cycle read
  //   port over [85, 149); completion 85 + (64 + 8 + 8 - 2) + 1 = 164.
  // dma_out (6): 16 chunks of 256 B. Chunks at 6, 22, 38, 54, 70 take 16
  //   cycles each; the chunk at 86 sees the reservation (decided at 85 < 86)
  //   and gets 8 B/cycle: 32 cycles -> 118; the chunk at 118 likewise -> 150;
  //   the remaining 9 chunks run at full rate: 150 + 144 = 294; complete
  //   294 + 50 = 344.
  CHECK(r.cycles == 344);
  // Two chunks took 32 instead of 16 cycles.
  CHECK(u(r, "tpu.ub.port_conflict_cycles") == 32);
  CHECK(u(r, "tpu.dma.busy_cycles") == (35 - 3) + (294 - 6));
  CHECK(u(r, "tpu.ub.read_bytes") == 512 + 4096);
}

TEST_CASE("tpu golden: controller queue-full and sync stalls", "[tpu][golden]") {
  Tpu tpu(load("tpu_small"));
  // Six 64 B host reads into the dma_in queue (depth 4), then sync, one more
  // read and halt.
  const RunResult r = tpu.run(parse_assembly(R"(
    read_host_memory host=0 ub=0 bytes=64
    read_host_memory host=0 ub=64 bytes=64
    read_host_memory host=0 ub=128 bytes=64
    read_host_memory host=0 ub=192 bytes=64
    read_host_memory host=0 ub=256 bytes=64
    read_host_memory host=0 ub=320 bytes=64
    sync
    read_host_memory host=0 ub=384 bytes=64
    halt
  )", "queues"));
  // Each transfer moves 64 B over the 8 B/cycle link in 8 cycles, back to
  // back from cycle 3: transfer j moves during [3 + 8j, 11 + 8j) and
  // completes 50 cycles later. Issue: i0..i4 at 3..7 (i0 dispatched at once,
  // i1..i4 fill the queue); i5's slot is cycle 8 but the queue is full until
  // i1 is dispatched at 11: stall.queue_full = 3.
  // sync (slot 12) waits for transfer 5: moved at 51, complete 101.
  // i7 issues at 102, moves [102, 110), complete 160; halt (slot 103) waits
  // until 160.
  CHECK(r.cycles == 160);
  CHECK(u(r, "tpu.controller.stall.queue_full") == 3);
  // sync: 101 - 12 = 89; halt: 160 - 103 = 57.
  CHECK(u(r, "tpu.controller.stall.sync") == 89 + 57);
  CHECK(u(r, "tpu.controller.issued") == 9);
  CHECK(u(r, "tpu.dma.in_bytes") == 7 * 64);
}
