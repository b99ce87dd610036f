#include "models/tpu/controller.h"

#include <algorithm>
#include <sstream>

namespace xpu::tpu {

const char* unit_name(UnitId u) {
  switch (u) {
    case UnitId::dma_in: return "dma_in";
    case UnitId::weight_fetch: return "weight_fetch";
    case UnitId::mxu: return "mxu";
    case UnitId::activation: return "activation";
    case UnitId::dma_out: return "dma_out";
  }
  return "?";
}

UnitId unit_of(Opcode op) {
  switch (op) {
    case Opcode::read_host_memory: return UnitId::dma_in;
    case Opcode::write_host_memory: return UnitId::dma_out;
    case Opcode::read_weights: return UnitId::weight_fetch;
    case Opcode::matmul: return UnitId::mxu;
    case Opcode::activate: return UnitId::activation;
    case Opcode::vector: return UnitId::activation;  // the vector ops run on the activation unit
    default: return UnitId::mxu;  // sync/halt never reach a unit
  }
}

Controller::Controller(sc_core::sc_module_name name, const TpuConfig& cfg, const Clock& clock,
                       stats::Group& tpu)
    : sc_module(name),
      cfg_(cfg),
      clock_(clock),
      issued_(tpu.child("controller").counter("issued", stats::Unit::instructions,
                                              "instructions issued to a unit, sync or halt")),
      stall_queue_full_(tpu.child("controller").counter(
          "stall.queue_full", stats::Unit::cycles, "issue cycles lost to a full unit queue")),
      stall_sync_(tpu.child("controller").counter(
          "stall.sync", stats::Unit::cycles, "issue cycles spent waiting in sync/halt for earlier instructions")),
      programs_(tpu.counter("programs", stats::Unit::count, "programs run")),
      cycles_(tpu.counter("cycles", stats::Unit::cycles, "cycles from program start to halt, summed over programs")) {
  for (size_t i = 0; i < kUnitCount; ++i) {
    queues_.push_back(std::make_unique<UnitQueue>(cfg.controller.unit_queue_depth));
  }
  SC_THREAD(run);
  SC_METHOD(retire_due);
  sensitive << due_event_;
  dont_initialize();
}

void Controller::load(const Program* program) {
  program_ = program;
  pending_ = true;
  halted_ = false;
  start_event_.notify(sc_core::SC_ZERO_TIME);
}

void Controller::fail(const std::string& what) {
  if (error_.empty()) error_ = what;
  sc_core::sc_pause();
}

Controller::Ranges Controller::ranges_of(const Instruction& in) {
  Ranges r;
  switch (in.op) {
    case Opcode::read_host_memory:
      r.ub_w_lo = in.ub_addr;
      r.ub_w_hi = in.ub_addr + in.bytes;
      break;
    case Opcode::write_host_memory:
      r.ub_r_lo = in.ub_addr;
      r.ub_r_hi = in.ub_addr + in.bytes;
      break;
    case Opcode::matmul:
      r.ub_r_lo = in.ub_addr;
      r.ub_r_hi = in.ub_addr + uint64_t(in.rows - 1) * in.ub_stride + uint64_t(in.k) * dtype_bytes(in.dtype);
      r.acc_w_lo = in.acc_addr;
      r.acc_w_hi = uint64_t(in.acc_addr) + in.rows;
      if (in.accumulate) {
        r.acc_r_lo = r.acc_w_lo;
        r.acc_r_hi = r.acc_w_hi;
      }
      break;
    case Opcode::activate:
      r.acc_r_lo = in.acc_addr;
      r.acc_r_hi = uint64_t(in.acc_addr) + in.rows;
      r.ub_w_lo = in.ub_addr;
      r.ub_w_hi = in.ub_addr + uint64_t(in.rows - 1) * in.ub_stride + uint64_t(in.n) * dtype_bytes(in.out_dtype);
      if (in.bias) {  // the bias row it reads
        r.ub_r_lo = in.bias_addr;
        r.ub_r_hi = in.bias_addr + uint64_t(in.n) * 4;
      }
      break;
    case Opcode::vector: {  // UB -> UB (isa.h)
      const UbRange rd = vector_read_range(in), wr = vector_write_range(in);
      r.ub_r_lo = rd.lo;
      r.ub_r_hi = rd.hi;
      r.ub_w_lo = wr.lo;
      r.ub_w_hi = wr.hi;
      break;
    }
    default:
      break;
  }
  return r;
}

namespace {
bool overlap(uint64_t a_lo, uint64_t a_hi, uint64_t b_lo, uint64_t b_hi) {
  return a_lo < a_hi && b_lo < b_hi && a_lo < b_hi && b_lo < a_hi;
}
}  // namespace

bool Controller::deps_done(const Issued& e, DepTimes& t) const {
  t = DepTimes{};
  for (const Dep& d : e.deps) {
    const uint64_t c = completion_[d.index];
    if (c == kNever) return false;
    t.all = std::max(t.all, c);
    if (d.kinds & kDepUb) {
      t.ub = std::max(t.ub, c);
    } else {
      t.acc = std::max(t.acc, c);
    }
  }
  return true;
}

void Controller::mark(uint32_t index, uint64_t cycle) {
  if (completion_[index] != kNever) return;
  completion_[index] = cycle;
  max_completion_ = std::max(max_completion_, cycle);
  inflight_.erase(std::remove_if(inflight_.begin(), inflight_.end(), [&](const InFlight& f) { return f.index == index; }),
                  inflight_.end());
  completed_.notify();
}

void Controller::complete(uint32_t index, uint64_t cycle) {
  const uint64_t now = clock_.now();
  if (cycle <= now) {
    mark(index, cycle);
    return;
  }
  due_.push({cycle, index});
  due_event_.notify(clock_.span(cycle - now));  // an earlier pending notification wins
}

// SC_METHOD: marks the completions that fell due.
void Controller::retire_due() {
  const uint64_t now = clock_.now();
  while (!due_.empty() && due_.top().first <= now) {
    mark(due_.top().second, due_.top().first);
    due_.pop();
  }
  if (!due_.empty()) due_event_.notify(clock_.span(due_.top().first - now));
}

const Issued& Controller::wait_ready(UnitId u, DepTimes& t) {
  UnitQueue& q = queue(u);
  for (;;) {
    if (q.empty()) {
      sc_core::wait(q.pushed_event());  // completions cannot ready an empty queue
      continue;
    }
    if (deps_done(q.front(), t)) return q.front();
    sc_core::wait(completed_);  // only this unit pops: the head stays until then
  }
}

void Controller::run() {
  for (;;) {
    while (!pending_) sc_core::wait(start_event_);
    pending_ = false;
    const Program& prog = *program_;
    const uint32_t n = uint32_t(prog.code.size());
    start_ = align_up(clock_.now_ceil(), phase_);
    clock_.wait_until(start_);
    completion_.assign(n, kNever);
    inflight_.clear();
    max_completion_ = start_;

    const uint64_t first = start_ + cfg_.controller.pipeline_stages - 1;
    uint64_t t = first;  // issue cycle of the current instruction
    uint64_t end = 0;
    bool halted = false;
    for (uint32_t i = 0; i < n && !halted; ++i) {
      issuing_ = i;
      // One per cycle, in order, after the fetch/decode/read-operands stages.
      t = std::max(first + i, i == 0 ? first : t + 1);
      const Instruction& in = prog.code[i];
      const bool to_unit = in.op != Opcode::sync && in.op != Opcode::halt;
      // A queue full now stays full until its unit pops: sleep until the pop
      // rather than until t and then again until the pop (no pop before t:
      // full at t; a pop before t: not full at t, issue at t).
      if (to_unit && queue(unit_of(in.op)).full() && clock_.now() < t) {
        blocked_on_queue_ = true;
        sc_core::wait(queue(unit_of(in.op)).popped_event());
        blocked_on_queue_ = false;
      }
      clock_.wait_until(t);
      if (!to_unit) {
        // Waits until every earlier instruction has completed.
        while (!inflight_.empty()) sc_core::wait(completed_);
        const uint64_t ready = std::max(t, max_completion_);
        clock_.wait_until(ready);
        stall_sync_ += ready - t;
        t = ready;
        completion_[i] = t;
        issued_ += 1;
        if (in.op == Opcode::halt) {
          halted = true;
          end = t;
        }
        continue;
      }
      UnitQueue& q = queue(unit_of(in.op));
      blocked_on_queue_ = true;
      while (q.full()) sc_core::wait(q.popped_event());
      blocked_on_queue_ = false;
      const uint64_t now = clock_.now();
      stall_queue_full_ += now - t;
      t = now;
      Issued e;
      e.index = i;
      e.inst = &in;
      e.issue = t;
      const Ranges a = ranges_of(in);
      const UnitId my_unit = unit_of(in.op);
      for (const InFlight& f : inflight_) {
        if (f.unit == my_unit) continue;
        const uint32_t j = f.index;
        const Ranges& b = f.ranges;
        uint8_t kinds = 0;
        if (overlap(a.ub_w_lo, a.ub_w_hi, b.ub_w_lo, b.ub_w_hi) ||
            overlap(a.ub_w_lo, a.ub_w_hi, b.ub_r_lo, b.ub_r_hi) ||
            overlap(a.ub_r_lo, a.ub_r_hi, b.ub_w_lo, b.ub_w_hi)) {
          kinds |= kDepUb;
        }
        if (overlap(a.acc_w_lo, a.acc_w_hi, b.acc_w_lo, b.acc_w_hi) ||
            overlap(a.acc_w_lo, a.acc_w_hi, b.acc_r_lo, b.acc_r_hi) ||
            overlap(a.acc_r_lo, a.acc_r_hi, b.acc_w_lo, b.acc_w_hi)) {
          kinds |= kDepAcc;
        }
        if (kinds) e.deps.push_back(Dep{j, kinds});
      }
      inflight_.push_back(InFlight{i, my_unit, a});
      issued_ += 1;
      q.push(std::move(e));
    }
    if (!halted) {
      // Implicit halt after the last instruction.
      issuing_ = n;
      t = n == 0 ? first : std::max(first + n, t + 1);
      clock_.wait_until(t);
      while (!inflight_.empty()) sc_core::wait(completed_);
      const uint64_t ready = std::max(t, max_completion_);
      clock_.wait_until(ready);
      stall_sync_ += ready - t;
      end = ready;
    }
    end_ = end;
    cycles_ += end_ - start_;
    programs_ += 1;
    for (auto& h : end_hooks_) h(start_, end_);
    halted_ = true;
    sc_core::sc_pause();
  }
}

std::string Controller::describe_state() const {
  std::ostringstream os;
  if (program_ != nullptr) {
    os << "controller at instruction " << issuing_;
    if (issuing_ < program_->code.size()) {
      os << " (" << program_->code[issuing_].to_string() << ")";
      if (blocked_on_queue_) os << ", waiting for a slot in the " << unit_name(unit_of(program_->code[issuing_].op)) << " queue";
    }
    os << "; in flight:";
    for (const InFlight& f : inflight_) os << " " << f.index << " (" << opcode_name(program_->code[f.index].op) << ")";
  }
  for (size_t u = 0; u < kUnitCount; ++u) {
    os << "; " << unit_name(UnitId(u)) << " queue " << queues_[u]->size();
    if (!queues_[u]->empty()) os << " (head " << queues_[u]->front().index << ")";
  }
  return os.str();
}

}  // namespace xpu::tpu
