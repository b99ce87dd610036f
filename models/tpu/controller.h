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
// The controller is not a thread: it issues from an SC_METHOD woken at the
// cycle the next instruction may issue, and, when it waits for a slot in a
// full queue, from inside the unit's pop() (in steady state every issue is
// such a hand-off: no process switch per instruction). Either way it issues
// in the cycle the thread it replaces did, after the completions due by then.
// Host memory: the program streams in (program_source.h), kFetchChunk
// instructions at a time; the controller keeps a copy of each instruction
// only while it is in flight (issued, not completed), and each queued
// instruction counts its pending dependencies, so nothing grows with the
// program's length.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include <systemc>

#include "models/tpu/clock.h"
#include "models/tpu/isa.h"
#include "models/tpu/program_check.h"
#include "models/tpu/program_source.h"
#include "models/tpu/tpu_config.h"
#include "sim/common/errors.h"
#include "sim/stats/stats.h"

namespace xpu::tpu {

enum class UnitId : uint8_t { dma_in, weight_fetch, mxu, activation, dma_out };
constexpr size_t kUnitCount = 5;
const char* unit_name(UnitId u);
// The unit that executes `op` (not for sync / halt).
UnitId unit_of(Opcode op);

// What a dependency orders: unified-buffer bytes, accumulator rows, or both.
enum DepKind : uint8_t { kDepUb = 1, kDepAcc = 2 };

// Latest completion cycle over an instruction's dependencies.
struct DepTimes {
  uint64_t all = 0;
  uint64_t ub = 0;   // over dependencies on unified-buffer ranges
  uint64_t acc = 0;  // over dependencies on accumulator rows only
};

// An instruction in a unit queue. `inst` stays valid until the unit calls
// Controller::complete() for it (its last use by the unit).
struct Issued {
  uint32_t index = 0;  // position in the program
  const Instruction* inst = nullptr;
  uint64_t issue = 0;  // cycle it entered the queue
  uint32_t waiting = 0;  // dependencies not yet completed
  DepTimes times;        // over the completed ones
};

class Controller;

class UnitQueue {
 public:
  explicit UnitQueue(uint32_t capacity) : capacity_(capacity) {}
  bool empty() const { return q_.empty(); }
  bool full() const { return q_.size() >= capacity_; }
  size_t size() const { return q_.size(); }
  const Issued& front() const { return q_.front(); }
  // The queued entry stays where it is until popped (the scoreboard counts
  // its dependencies down through this reference).
  Issued& push(Issued e) {
    q_.push_back(std::move(e));
    pushed_.notify();
    return q_.back();
  }
  // Dispatched by its unit. A controller waiting for the slot issues into
  // it at once, inside this call (controller.h: no process switch).
  void pop();
  const sc_core::sc_event& pushed_event() const { return pushed_; }
  // The controller waits for the next pop (once).
  void listen(Controller* c) { listener_ = c; }

 private:
  uint32_t capacity_;
  std::deque<Issued> q_;
  sc_core::sc_event pushed_;
  Controller* listener_ = nullptr;
};

class Controller : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Controller);
  Controller(sc_core::sc_module_name name, const TpuConfig& cfg, const Clock& clock, stats::Group& tpu);

  // Instructions fetched from a program source at a time.
  static constexpr size_t kFetchChunk = 1024;

  // Tpu::run(): hands over a program; the controller starts it at the current
  // cycle and pauses the kernel when it halts. With a checker, every
  // instruction is checked as it is fetched (a failure stops the run: fail()).
  void load(ProgramSource* program, ProgramChecker* checker);
  // Host-memory bounds of the last programs: the most instructions fetched
  // at once (<= kFetchChunk) and the instruction copies ever held for
  // instructions in flight (the slot pool, reused from program to program).
  size_t fetched_peak() const { return fetched_peak_; }
  // The program is an open feed running low: the controller paused the
  // kernel (at the end of the current delta cycle, nothing delayed) for its
  // producer to add more.
  bool wants_more() const { return wants_more_; }
  void more_added() { wants_more_ = false; }
  size_t instruction_slots() const { return slots_allocated_; }
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
  bool deps_done(const Issued& e, DepTimes& t) const {
    t = e.times;
    return e.waiting == 0;
  }
  // Marks instruction `index` completed at `cycle`: at once if cycle <= now,
  // otherwise when the kernel reaches it.
  void complete(uint32_t index, uint64_t cycle);
  const sc_core::sc_event& completed_event() const { return completed_; }

  // From a unit's SC_THREAD: blocks until the unit's queue has a head whose
  // dependencies completed, then returns it (still queued; pop() on dispatch).
  const Issued& wait_ready(UnitId u, DepTimes& t);

 private:
  friend class UnitQueue;
  struct Ranges {
    uint64_t ub_r_lo = 0, ub_r_hi = 0, ub_w_lo = 0, ub_w_hi = 0;
    uint64_t acc_r_lo = 0, acc_r_hi = 0, acc_w_lo = 0, acc_w_hi = 0;
  };
  static Ranges ranges_of(const Instruction& in);
  // The issue state machine: step() issues as far as the current cycle
  // allows and returns waiting for a cycle (wake_), a pop (listen) or the
  // last completion before a sync / halt.
  enum class State : uint8_t { idle, starting, issuing, failed };
  void wake();  // SC_METHOD on wake_
  void step();
  void advance();
  void issue(const Instruction& in, UnitQueue& q, UnitId u);
  void finish_program(uint64_t end, bool explicit_halt);
  bool wait_for(uint64_t cycle);  // true: cycle is ahead, wake_ notified for it
  void popped() { step(); }      // from UnitQueue::pop
  const Instruction* fetch();  // the next instruction, nullptr at the end
  void retire_due();
  void drain_due(uint64_t now);
  void mark(uint32_t index, uint64_t cycle);

  TpuConfig cfg_;
  const Clock& clock_;
  std::vector<std::unique_ptr<UnitQueue>> queues_;

  ProgramSource* program_ = nullptr;
  ProgramChecker* checker_ = nullptr;
  std::vector<Instruction> fetched_;  // the current chunk when copied (fetch)
  const Instruction* chunk_ = nullptr;  // the current chunk (fetched_ or borrowed)
  size_t fetched_len_ = 0, fetched_pos_ = 0, fetched_peak_ = 0;
  const Instruction* current_ = nullptr;  // being issued (for describe_state)
  State state_ = State::idle;
  bool stepping_ = false;
  bool at_end_ = false;        // the source is exhausted: the implicit halt is next
  bool sync_waiting_ = false;  // a sync / halt waits for the in-flight instructions
  uint64_t first_ = 0;         // issue cycle of instruction 0
  uint64_t t_ = 0;             // issue cycle (target, then actual) of the instruction being issued
  const Instruction* next_ = nullptr;  // fetched, not issued yet
  bool wants_more_ = false;
  bool halted_ = true;
  uint64_t start_ = 0, end_ = 0;
  std::string error_;
  uint32_t issuing_ = 0;  // next instruction to issue (for describe_state)
  bool blocked_on_queue_ = false;

  // Issued, not completed, in issue order, with what the scoreboard compares,
  // the instruction's copy and the queued instructions waiting for it.
  struct Waiter {
    Issued* issued;
    uint8_t kinds;
  };
  // Pooled: an instruction's slot (its copy and its waiter list, capacity
  // kept) is reused by a later one, so issuing allocates nothing.
  struct InFlight {
    uint32_t index;
    UnitId unit;
    uint64_t issue;
    Instruction inst;
    std::vector<Waiter> waiters;
  };
  std::vector<std::unique_ptr<InFlight>> inflight_;
  // What the scoreboard compares, by inflight_'s position (kept alongside):
  // one contiguous scan per issue instead of a pointer per instruction.
  struct Scan {
    uint32_t index;
    UnitId unit;
    Ranges ranges;
  };
  std::vector<Scan> scan_;
  std::vector<std::unique_ptr<InFlight>> free_slots_;
  size_t slots_allocated_ = 0;
  std::vector<std::pair<size_t, uint8_t>> deps_;  // scratch: (inflight_ position, kinds)
  uint64_t max_completion_ = 0;

  using Pending = std::pair<uint64_t, uint32_t>;  // (cycle, index)
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> due_;

  sc_core::sc_event wake_, completed_, due_event_;
  std::vector<std::function<void(uint64_t, uint64_t)>> end_hooks_;

  stats::Counter& issued_;
  stats::Counter& stall_queue_full_;
  stats::Counter& stall_sync_;
  stats::Counter& programs_;
  stats::Counter& cycles_;
  uint64_t phase_ = 1;
};

}  // namespace xpu::tpu
