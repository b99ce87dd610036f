#pragma once
// The TPU's instruction controller: a fetch / decode / read-operands / issue
// pipeline that issues one instruction per cycle, in program order, into
// per-unit in-order queues, and a scoreboard that orders instructions whose
// unified-buffer or accumulator ranges overlap.
//
// Timing rules (implemented in controller.cpp):
// - Instruction i issues no earlier than program start + (pipeline_stages-1)
//   + i, and at least one cycle after instruction i-1 issued.
// - A unit queue holds unit_queue_depth instructions; an instruction leaves
//   it when its unit dispatches it. Issuing into a full queue stalls the
//   pipeline until a slot frees (tpu.controller.stall.queue_full cycles).
// - sync issues once every earlier instruction has completed; the next
//   instruction issues one cycle later at the earliest. halt does the same
//   and ends the program: the program's cycle count is halt's issue cycle
//   minus its start. A program without halt gets an implicit one at its end.
// - Scoreboard: at issue, the instruction records a dependency on every
//   earlier instruction still in flight whose ranges overlap its own:
//     unified buffer (bytes): written by read_host_memory and activate, read
//       by matmul and write_host_memory; a strided access covers
//       [ub_addr, ub_addr + (rows-1)*stride + row_bytes);
//     accumulators (rows): written by matmul, read by activate.
//   RAW, WAR and WAW all order. Dependencies between two instructions of the
//   same unit are not recorded: every unit executes its queue in order, and
//   the only unit that overlaps instructions, the MXU, writes each
//   accumulator row in pass order through its pipeline (the array drains
//   before a precision change). A unit starts an instruction only once all
//   its dependencies have completed; completion times are exact cycles, so
//   the outcome does not depend on the order the kernel runs processes in.
#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <string>
#include <vector>

#include <systemc>

#include "models/tpu/clock.h"
#include "models/tpu/isa.h"
#include "models/tpu/tpu_config.h"
#include "sim/stats/stats.h"

namespace xpu::tpu {

enum class UnitId : uint8_t { dma_in, weight_fetch, mxu, activation, dma_out };
constexpr size_t kUnitCount = 5;
const char* unit_name(UnitId u);
// The unit that executes `op` (not for sync / halt).
UnitId unit_of(Opcode op);

// What a dependency orders: unified-buffer bytes, accumulator rows, or both.
enum DepKind : uint8_t { kDepUb = 1, kDepAcc = 2 };
struct Dep {
  uint32_t index;  // earlier instruction
  uint8_t kinds;
};

// An instruction in a unit queue.
struct Issued {
  uint32_t index = 0;  // position in the program
  const Instruction* inst = nullptr;
  uint64_t issue = 0;  // cycle it entered the queue
  std::vector<Dep> deps;
};

// Latest completion cycle over an instruction's dependencies.
struct DepTimes {
  uint64_t all = 0;
  uint64_t ub = 0;   // over dependencies on unified-buffer ranges
  uint64_t acc = 0;  // over dependencies on accumulator rows only
};

class UnitQueue {
 public:
  explicit UnitQueue(uint32_t capacity) : capacity_(capacity) {}
  bool empty() const { return q_.empty(); }
  bool full() const { return q_.size() >= capacity_; }
  size_t size() const { return q_.size(); }
  const Issued& front() const { return q_.front(); }
  void push(Issued e) {
    q_.push_back(std::move(e));
    pushed_.notify();
  }
  void pop() {
    q_.pop_front();
    popped_.notify();
  }
  const sc_core::sc_event& pushed_event() const { return pushed_; }
  const sc_core::sc_event& popped_event() const { return popped_; }

 private:
  uint32_t capacity_;
  std::deque<Issued> q_;
  sc_core::sc_event pushed_, popped_;
};

class Controller : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Controller);
  Controller(sc_core::sc_module_name name, const TpuConfig& cfg, const Clock& clock, stats::Group& tpu);

  // Tpu::run(): hands over a (validated) program; the controller starts it
  // at the current cycle and pauses the kernel when it halts.
  void load(const Program* program);
  // Programs start on a multiple of `cycles` (the array's datapath phase), so
  // a program's cycle count never depends on when the previous one ended.
  void set_start_phase(uint64_t cycles) { phase_ = cycles; }
  bool halted() const { return halted_; }
  uint64_t program_start() const { return start_; }
  uint64_t program_end() const { return end_; }
  // Called at halt with (start, end) before the kernel pauses.
  void on_program_end(std::function<void(uint64_t, uint64_t)> fn) { end_hooks_.push_back(std::move(fn)); }

  // An internal error inside a unit: recorded, the kernel pauses, run() throws.
  void fail(const std::string& what);
  const std::string& error() const { return error_; }
  // Human-readable state for deadlock reports.
  std::string describe_state() const;

  UnitQueue& queue(UnitId u) { return *queues_[size_t(u)]; }

  // Scoreboard. deps_done: true when every dependency of `e` completed;
  // fills the latest completion cycles.
  bool deps_done(const Issued& e, DepTimes& t) const;
  // Marks instruction `index` completed at `cycle`: at once if cycle <= now,
  // otherwise when the kernel reaches it.
  void complete(uint32_t index, uint64_t cycle);
  const sc_core::sc_event& completed_event() const { return completed_; }

  // From a unit's SC_THREAD: blocks until the unit's queue has a head whose
  // dependencies completed, then returns it (still queued; pop() on dispatch).
  const Issued& wait_ready(UnitId u, DepTimes& t);

 private:
  struct Ranges {
    uint64_t ub_r_lo = 0, ub_r_hi = 0, ub_w_lo = 0, ub_w_hi = 0;
    uint64_t acc_r_lo = 0, acc_r_hi = 0, acc_w_lo = 0, acc_w_hi = 0;
  };
  static Ranges ranges_of(const Instruction& in);
  void run();
  void retire_due();
  void mark(uint32_t index, uint64_t cycle);

  TpuConfig cfg_;
  const Clock& clock_;
  std::vector<std::unique_ptr<UnitQueue>> queues_;

  const Program* program_ = nullptr;
  bool pending_ = false;
  bool halted_ = true;
  uint64_t start_ = 0, end_ = 0;
  std::string error_;
  uint32_t issuing_ = 0;  // next instruction to issue (for describe_state)
  bool blocked_on_queue_ = false;

  std::vector<uint64_t> completion_;  // per instruction, kNever until completed
  // Issued, not completed, in issue order, with what the scoreboard compares
  // (kept only while in flight: a program's size does not matter).
  struct InFlight {
    uint32_t index;
    UnitId unit;
    Ranges ranges;
  };
  std::vector<InFlight> inflight_;
  uint64_t max_completion_ = 0;

  using Pending = std::pair<uint64_t, uint32_t>;  // (cycle, index)
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> due_;

  sc_core::sc_event start_event_, completed_, due_event_;
  std::vector<std::function<void(uint64_t, uint64_t)>> end_hooks_;

  stats::Counter& issued_;
  stats::Counter& stall_queue_full_;
  stats::Counter& stall_sync_;
  stats::Counter& programs_;
  stats::Counter& cycles_;
  uint64_t phase_ = 1;
};

}  // namespace xpu::tpu
