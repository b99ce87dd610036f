#include "models/tpu/tpu.h"

#include <numeric>
#include <stdexcept>

#include "models/tpu/program_check.h"
#include "sim/common/errors.h"
#include "sim/common/sanitizer_stack.h"
#include "sim/trace/trace.h"

namespace xpu::tpu {

namespace {
stats::Group& make_child(stats::Group& parent) { return parent.child("tpu"); }
}  // namespace

Tpu::Tpu(const TpuConfig& cfg, sc_core::sc_module_name)
    : cfg_(cfg),
      own_stats_(std::make_unique<stats::Group>("tpu")),
      stats_(own_stats_.get()),
      clock_(cfg.cycle_ns()),
      ub_(cfg.unified_buffer, stats_->child("ub")),
      acc_(cfg.accumulators, cfg.mxu.cols, stats_->child("acc")) {
  build();
}

Tpu::Tpu(const TpuConfig& cfg, stats::Group& parent, sc_core::sc_module_name)
    : cfg_(cfg),
      stats_(&make_child(parent)),
      clock_(cfg.cycle_ns()),
      ub_(cfg.unified_buffer, stats_->child("ub")),
      acc_(cfg.accumulators, cfg.mxu.cols, stats_->child("acc")) {
  build();
}

Tpu::~Tpu() = default;

void Tpu::build() {
  stats::Group& g = *stats_;
  dram_ = std::make_unique<Dram>("dram", cfg_, clock_, g.child("dram"),
                                 cfg_.cmem.capacity_bytes > 0 ? &g.child("cmem") : nullptr);
  ctrl_ = std::make_unique<Controller>("controller", cfg_, clock_, g);
  fifo_ = std::make_unique<WeightFifo>("weight_fifo", cfg_, clock_, *ctrl_, *dram_, weights_, g);
  mxu_ = std::make_unique<Mxu>("mxu", cfg_, clock_, *ctrl_, *fifo_, ub_, acc_, g);
  uint64_t phase = 1;
  for (DType t : {DType::int8, DType::bf16, DType::fp16}) phase = std::lcm(phase, uint64_t(mxu_->step(t)));
  ctrl_->set_start_phase(phase);
  act_ = std::make_unique<ActivationUnit>("activation", cfg_, clock_, *ctrl_, ub_, acc_, g);
  dma_in_ = std::make_unique<Dma>("dma_in", Dma::Direction::in, cfg_, clock_, *ctrl_, ub_, *dram_, host_, g);
  dma_out_ = std::make_unique<Dma>("dma_out", Dma::Direction::out, cfg_, clock_, *ctrl_, ub_, *dram_, host_, g);
  Mxu* mxu = mxu_.get();
  ctrl_->on_program_end([mxu](uint64_t start, uint64_t end) { mxu->end_program(start, end); });

  // Utilization: useful MACs over the array's MAC slots during every cycle run.
  stats::Counter& cycles = g.counter("cycles", stats::Unit::cycles);
  const Mxu* m = mxu_.get();
  const double slots = cfg_.peak_macs_per_cycle();
  g.child("mxu").formula("utilization", stats::Unit::ratio, "useful MACs / (rows * cols * tpu.cycles)",
                         [m, &cycles, slots]() {
                           const double macs = double(m->mac_int8.value()) + double(m->mac_bf16.value()) +
                                               double(m->mac_fp16.value());
                           return cycles.value() == 0 ? 0.0 : macs / (slots * double(cycles.value()));
                         });
}

void Tpu::set_fidelity(Fidelity f) {
  fidelity_ = f;
  mxu_->set_fidelity(f);
  fifo_->set_fidelity(f);
  act_->set_fidelity(f);
  dma_in_->set_fidelity(f);
  dma_out_->set_fidelity(f);
}

void Tpu::validate(const Program& program) const { validate_program(program, cfg_); }

RunResult Tpu::run(const Program& program) {
  if (broken_) throw xpu::InternalError("tpu: a previous run failed; construct a new Tpu (one per process)");
  validate(program);
  ProgramView view(program);
  return simulate(view, nullptr);
}

RunResult Tpu::run(ProgramSource& program) {
  if (broken_) throw xpu::InternalError("tpu: a previous run failed; construct a new Tpu (one per process)");
  ProgramChecker checker(program.name(), cfg_);
  return simulate(program, &checker);
}

RunResult Tpu::simulate(ProgramSource& program, ProgramChecker* checker) {
  begin(program, checker);
  if (ctrl_->wants_more()) throw xpu::InternalError("tpu: program '" + running_ + "' asked for more instructions");
  return end();
}

void Tpu::start(ProgramFeed& feed) {
  if (broken_) throw xpu::InternalError("tpu: a previous run failed; construct a new Tpu (one per process)");
  feed_checker_ = std::make_unique<ProgramChecker>(feed.name(), cfg_);
  begin(feed, feed_checker_.get());
}

void Tpu::resume() {
  ctrl_->more_added();
  kernel();
}

RunResult Tpu::finish() {
  RunResult r = end();
  feed_checker_.reset();
  return r;
}

void Tpu::begin(ProgramSource& program, ProgramChecker* checker) {
  running_ = program.name();
  before_ = stats_->snapshot();
  ctrl_->load(&program, checker);
  kernel();
}

void Tpu::kernel() {
  sc_core::sc_start();
  restore_stack_bounds_after_simulation();
  if (!ctrl_->error().empty()) {
    broken_ = true;
    throw xpu::InternalError("tpu: " + ctrl_->error());
  }
  if (!ctrl_->halted() && !ctrl_->wants_more()) {
    broken_ = true;
    throw xpu::InternalError("tpu: program '" + running_ + "' deadlocked at cycle " +
                             std::to_string(clock_.now()) + ": " + ctrl_->describe_state());
  }
}

RunResult Tpu::end() {
  if (!ctrl_->halted()) throw xpu::InternalError("tpu: program '" + running_ + "' has not halted");
  RunResult r;
  r.program = running_;
  r.start_cycle = ctrl_->program_start();
  r.end_cycle = ctrl_->program_end();
  r.cycles = r.end_cycle - r.start_cycle;
  trace::span("program", running_, r.start_cycle, r.end_cycle);
  r.seconds = double(r.cycles) * cfg_.cycle_ns() * 1e-9;
  r.stats = stats_->snapshot().minus(before_);
  return r;
}

}  // namespace xpu::tpu
