#include "models/tpu/controller.h"

#include <algorithm>
#include <sstream>

#include "sim/trace/trace.h"

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
  SC_METHOD(wake);
  sensitive << wake_;
  dont_initialize();
  SC_METHOD(retire_due);
  sensitive << due_event_;
  dont_initialize();
}

void UnitQueue::pop() {
  // A waiting entry still has dependencies pointing at it.
  if (q_.front().waiting != 0)
    throw xpu::InternalError("instruction " + std::to_string(q_.front().index) +
                             " left its queue before its dependencies completed");
  q_.pop_front();
  if (listener_ != nullptr) {
    Controller* c = listener_;
    listener_ = nullptr;
    c->popped();
  }
}

void Controller::load(ProgramSource* program, ProgramChecker* checker) {
  program_ = program;
  checker_ = checker;
  state_ = State::starting;
  halted_ = false;
  wake_.notify(sc_core::SC_ZERO_TIME);
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

void Controller::mark(uint32_t index, uint64_t cycle) {
  const auto at = std::find_if(scan_.begin(), scan_.end(), [&](const Scan& f) { return f.index == index; });
  if (at == scan_.end()) return;  // marked already
  const auto it = inflight_.begin() + (at - scan_.begin());
  max_completion_ = std::max(max_completion_, cycle);
  // Its waiters are still queued: a unit pops an entry only once it waits
  // for nothing.
  for (const Waiter& w : (*it)->waiters) {
    DepTimes& t = w.issued->times;
    t.all = std::max(t.all, cycle);
    if (w.kinds & kDepUb) {
      t.ub = std::max(t.ub, cycle);
    } else {
      t.acc = std::max(t.acc, cycle);
    }
    --w.issued->waiting;
  }
  // The unit is done with the instruction (complete() was its last use).
  (*it)->waiters.clear();
  free_slots_.push_back(std::move(*it));
  inflight_.erase(it);
  scan_.erase(at);
  completed_.notify();
  // A sync / halt waiting for this: the controller goes on in this delta
  // cycle, as its thread woken by completed_ did.
  if (sync_waiting_ && inflight_.empty() && !stepping_) wake_.notify();
}

const Instruction* Controller::fetch() {
  if (fetched_pos_ == fetched_len_) {
    if (program_ == nullptr) return nullptr;
    // Every interval a unit reports later begins at or after the issue of
    // an instruction then in flight (the oldest is here, or issued from now
    // on): trace sinks may fold what came before.
    if (trace::enabled()) {
      const uint64_t now = clock_.now();
      trace::settled(start_, inflight_.empty() ? now : std::min(now, inflight_.front()->issue));
    }
    if (!program_->borrow(&chunk_, kFetchChunk, &fetched_len_)) {
      if (fetched_.size() < kFetchChunk) fetched_.resize(kFetchChunk);
      fetched_len_ = program_->fetch(fetched_.data(), kFetchChunk);
      chunk_ = fetched_.data();
    }
    fetched_pos_ = 0;
    if (fetched_len_ == 0 && program_->open())
      throw xpu::InternalError("program '" + program_->name() + "': its feed ran dry while open");
    // A feed running low: pause the kernel after this delta cycle (this
    // process goes on with the chunk just fetched), so its producer can add
    // more; the simulation resumes exactly where it stopped.
    if (program_->open() && program_->buffered() < kFetchChunk && !wants_more_) {
      wants_more_ = true;
      sc_core::sc_pause();
    }
    if (fetched_len_ > kFetchChunk) throw xpu::InternalError("program source returned more than it was asked for");
    fetched_peak_ = std::max(fetched_peak_, fetched_len_);
    if (fetched_len_ == 0) {
      program_ = nullptr;  // exhausted: no further calls
      if (checker_ != nullptr) checker_->finish();
      return nullptr;
    }
    if (checker_ != nullptr)
      for (size_t j = 0; j < fetched_len_; ++j) checker_->check(chunk_[j]);
  }
  return &chunk_[fetched_pos_++];
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
  drain_due(now);
  if (!due_.empty()) due_event_.notify(clock_.span(due_.top().first - now));
}

void Controller::drain_due(uint64_t now) {
  while (!due_.empty() && due_.top().first <= now) {
    const Pending p = due_.top();
    due_.pop();
    mark(p.second, p.first);
  }
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

bool Controller::wait_for(uint64_t cycle) {
  const uint64_t stamp = sc_core::sc_time_stamp().value(), target = cycle * clock_.ticks_per_cycle();
  if (target <= stamp) return false;
  wake_.notify(sc_core::sc_time::from_value(target - stamp));
  return true;
}

void Controller::wake() { step(); }

void Controller::step() {
  if (stepping_) throw xpu::InternalError("controller: issue re-entered");
  stepping_ = true;
  try {
    advance();
  } catch (const std::exception& ex) {
    // A streamed instruction failed its check: the run stops here (also when
    // this runs inside a unit's pop()).
    state_ = State::failed;
    fail(std::string("controller: ") + ex.what());
  }
  stepping_ = false;
}

// Issues in order, one instruction per cycle, each at the cycle the
// controller's thread did: instruction i at max(first + i, issue(i-1) + 1),
// later while its queue is full (until the pop, then at once) or, for sync /
// halt, until every earlier instruction completed. Returns whenever the next
// step lies ahead: a cycle (wake_), a pop (listen) or a completion (mark).
void Controller::advance() {
  if (state_ == State::idle || state_ == State::failed) return;
  if (state_ == State::starting) {
    start_ = align_up(clock_.now_ceil(), phase_);
    state_ = State::issuing;
    for (auto& f : inflight_) {  // none after a halt; kept for the pool
      f->waiters.clear();
      free_slots_.push_back(std::move(f));
    }
    inflight_.clear();
    scan_.clear();
    fetched_len_ = fetched_pos_ = 0;
    max_completion_ = start_;
    first_ = start_ + cfg_.controller.pipeline_stages - 1;
    t_ = first_;
    issuing_ = 0;
    next_ = nullptr;
    at_end_ = sync_waiting_ = false;
    if (wait_for(start_)) return;
  }
  // Completions due by now are marked before anything issues (the thread ran
  // after the SC_METHOD that marks them).
  drain_due(clock_.now());
  for (;;) {
    if (next_ == nullptr && !at_end_) {
      next_ = fetch();
      if (issuing_ == UINT32_MAX && next_ != nullptr)
        throw xpu::InternalError("program longer than 2^32 - 1 instructions");
      const uint32_t i = issuing_;
      t_ = i == 0 ? first_ : std::max(first_ + i, t_ + 1);
      current_ = next_;
      at_end_ = next_ == nullptr;  // an implicit halt follows the last instruction
    }
    const bool implicit_halt = next_ == nullptr;
    if (!implicit_halt && next_->op != Opcode::sync && next_->op != Opcode::halt) {
      const UnitId u = unit_of(next_->op);
      UnitQueue& q = queue(u);
      // A full queue stays full until its unit pops (only this pushes).
      if (q.full()) {
        blocked_on_queue_ = true;
        q.listen(this);
        return;
      }
      blocked_on_queue_ = false;
      if (wait_for(t_)) return;
      const uint64_t now = clock_.now();
      stall_queue_full_ += now - t_;
      t_ = now;
      issue(*next_, q, u);
      ++issuing_;
      next_ = nullptr;
      continue;
    }
    // sync / halt: issues once every earlier instruction has completed.
    if (wait_for(t_)) return;
    sync_waiting_ = !inflight_.empty();
    if (sync_waiting_) return;
    const uint64_t ready = std::max(t_, max_completion_);
    if (wait_for(ready)) return;
    stall_sync_ += ready - t_;
    t_ = ready;
    if (implicit_halt || next_->op == Opcode::halt) {
      if (!implicit_halt) issued_ += 1;
      finish_program(t_, !implicit_halt);
      return;
    }
    issued_ += 1;
    ++issuing_;
    next_ = nullptr;
  }
}

void Controller::issue(const Instruction& in, UnitQueue& q, UnitId my_unit) {
  const uint32_t i = issuing_;
  const uint64_t t = t_;
  const Ranges a = ranges_of(in);
  deps_.clear();
  for (size_t fi = 0; fi < scan_.size(); ++fi) {
    const Scan& f = scan_[fi];
    if (f.unit == my_unit) continue;
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
    if (kinds) deps_.emplace_back(fi, kinds);
  }
  // The unit reads the instruction from a copy held while it is in flight
  // (the fetched chunk is refilled meanwhile).
  std::unique_ptr<InFlight> slot;
  if (free_slots_.empty()) {
    slot = std::make_unique<InFlight>();
    ++slots_allocated_;
  } else {
    slot = std::move(free_slots_.back());
    free_slots_.pop_back();
  }
  slot->index = i;
  slot->unit = my_unit;
  slot->issue = t;
  slot->inst = in;
  Issued e;
  e.index = i;
  e.inst = &slot->inst;
  e.issue = t;
  e.waiting = uint32_t(deps_.size());
  inflight_.push_back(std::move(slot));
  scan_.push_back(Scan{i, my_unit, a});
  issued_ += 1;
  Issued& queued = q.push(std::move(e));
  for (const auto& [fi, kinds] : deps_) inflight_[fi]->waiters.push_back(Waiter{&queued, kinds});
}

void Controller::finish_program(uint64_t end, bool explicit_halt) {
  current_ = nullptr;
  if (explicit_halt && checker_ != nullptr) fetch();  // checks what follows halt (nothing may) and the end
  program_ = nullptr;
  end_ = end;
  cycles_ += end_ - start_;
  programs_ += 1;
  for (auto& h : end_hooks_) h(start_, end_);
  state_ = State::idle;
  halted_ = true;
  sc_core::sc_pause();
}

std::string Controller::describe_state() const {
  std::ostringstream os;
  if (!halted_) {
    os << "controller at instruction " << issuing_;
    if (current_ != nullptr) {
      os << " (" << current_->to_string() << ")";
      if (blocked_on_queue_) os << ", waiting for a slot in the " << unit_name(unit_of(current_->op)) << " queue";
    }
    os << "; in flight:";
    for (const auto& f : inflight_) os << " " << f->index << " (" << opcode_name(f->inst.op) << ")";
  }
  for (size_t u = 0; u < kUnitCount; ++u) {
    os << "; " << unit_name(UnitId(u)) << " queue " << queues_[u]->size();
    if (!queues_[u]->empty()) os << " (head " << queues_[u]->front().index << ")";
  }
  return os.str();
}

}  // namespace xpu::tpu
