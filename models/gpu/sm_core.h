#pragma once
// One streaming multiprocessor, simulated cycle by cycle inside a quantum
// (run_until) without SystemC events: sub-cores with a warp scheduler each
// (GTO or loose round-robin), a per-warp scoreboard kept as register ready
// times, register-bank conflicts, pipelines with issue intervals and
// latencies, tensor cores per sub-core (instructions of the config's
// MmaShape), the shared-memory/L1 data path (MIO) with bank-conflict
// serialisation, a sectored L1, barriers, and a SIMT reconvergence stack per
// warp. Values are computed per thread when enabled.
//
// Time never runs backwards and nothing outside the SM is consulted inside a
// quantum: L1 misses and stores are posted as MemReqs, answered at the
// quantum barrier by the MemorySystem (respond()).
#include <array>
#include <cstdint>
#include <vector>

#include "models/gpu/global_memory.h"
#include "models/gpu/gpu_config.h"
#include "models/gpu/isa.h"
#include "models/gpu/l1_cache.h"
#include "models/gpu/memory_system.h"
#include "models/gpu/mma_shape.h"
#include "models/gpu/sm_counters.h"

namespace xpu::gpu {

// Per-instruction facts the scheduler needs every cycle, decoded once per
// launch: one host cache line, so that issuing an HMMA step (most of a
// GEMM's instructions) does not read the Instr at all.
constexpr uint8_t kCtlExit = 1, kCtlCpWait = 2;

struct alignas(64) Decoded {
  Unit unit = Unit::none;
  uint8_t issue = 1;      // cycles the pipe stays busy
  uint8_t latency = 1;    // result latency
  uint8_t bank_extra = 0;  // register-bank conflict cycles
  uint8_t nregs = 0;
  uint8_t guard = kPT;     // Instr::guard
  std::array<uint16_t, 24> regs{};  // registers (and 256 + predicates) that must be ready
  uint16_t rf_reads = 0;   // register reads per active lane (HMMA: per warp, see decode)
  uint16_t rf_writes = 0;
  uint8_t dst_first = 255, dst_count = 0;  // HMMA: the accumulator pair written
  uint8_t ctl = 0;         // kCtlExit / kCtlCpWait: extra readiness rules in earliest()
  bool guard_neg = false;  // Instr::guard_neg
  Ctr mac_ctr = Ctr::mac_fp16;  // HMMA: MAC counter of the step ...
  uint8_t mac_log2 = 0;         // ... and log2 of its MACs
};
static_assert(sizeof(Decoded) == 64, "Decoded is one host cache line");

// Static facts of one launch shared by all SMs.
struct LaunchGeometry {
  const Launch* launch = nullptr;
  std::vector<Decoded> decoded;
  // Per pc: fragment lane offsets of fragment memory ops (mma_shape.h); one
  // table for all SMs keeps it in the host cache.
  std::vector<std::array<uint32_t, 32>> frag_off;
  uint32_t slots = 1;          // resident CTAs per SM (occupancy)
  uint32_t warps_per_cta = 1;
  uint32_t smem_per_cta = 0;   // allocation, rounded up
  uint64_t l1_bytes = 0;       // unified array minus the shared carve-out
  const char* limiter = "";    // occupancy limit that bound `slots`
};

class SmCore {
 public:
  SmCore(const GpuConfig& cfg, uint32_t id, GlobalMemory* gmem);

  uint32_t id() const { return id_; }
  void prepare(const LaunchGeometry* g, bool values, uint64_t now);
  bool slot_busy(uint32_t s) const { return slots_[s].busy; }
  uint32_t slots() const { return static_cast<uint32_t>(slots_.size()); }
  void start_cta(uint32_t slot, uint32_t cta, uint64_t t);
  bool busy() const { return resident_ > 0; }

  // Simulates cycles [now, end).
  void run_until(uint64_t end);
  std::vector<MemReq>& requests() { return reqs_; }
  void respond(const MemReq& r);
  // CTAs retired since the last call: (cycle, slot).
  std::vector<std::pair<uint64_t, uint32_t>>& finished() { return finished_; }

  const SmCounters& counters() const { return ctr_; }
  void clear_counters() { ctr_ = SmCounters{}; }
  uint64_t last_retire() const { return last_retire_; }
  // Sub-cores count stall cycles up to the end of the SM's last quantum;
  // those after the launch's end (every warp retired: all 'idle') are not
  // the launch's and are taken back.
  void trim_idle_after(uint64_t end);

  // ---- Fast path (fast_path.h) ----
  // Address class of a global access: (CTA instance on this SM, buffer);
  // kAbsClass for absolute addresses (never translated).
  static constexpr uint32_t kAbsClass = ~0u;
  struct Twin {
    SmCore* sm = nullptr;
    std::vector<int64_t> delta;  // per class gen * kMaxBufs + buf: line offset twin - leader
    int64_t of(uint32_t cls) const { return cls == kAbsClass ? 0 : delta[cls]; }
  };
  // Leader side.
  void add_twin(SmCore* twin, std::vector<int64_t> delta);
  std::vector<Twin>& twins() { return twins_; }
  // Splits twins_[i] off: it becomes this SM's exact state translated
  // (mid_quantum: inside run_until, before the instruction at hand issues;
  // the twin is then queued in split_now() to finish the quantum).
  void split_twin(size_t i, bool mid_quantum);
  // Removes twins_[i] without touching its state (the caller re-homes it).
  Twin detach_twin(size_t i);
  // Makes this SM T(leader): the leader's state with this SM's identity,
  // CTA ids and translated line addresses.
  void become_copy(const SmCore& leader, const Twin& map);
  std::vector<SmCore*>& split_now() { return split_now_; }
  uint32_t next_gen() const { return gen_; }
  // Twin side.
  bool is_twin() const { return leader_ != nullptr; }
  SmCore* leader() const { return leader_; }
  void twin_start_cta(uint32_t slot, uint32_t cta) { slots_[slot].cta = cta; }
  uint32_t slot_cta(uint32_t slot) const { return slots_[slot].cta; }
  uint32_t slot_gen(uint32_t slot) const { return slots_[slot].gen; }
  // Warp instructions this SM executed itself (not inherited at a split).
  uint64_t simulated_warp_insts() const { return ctr_.c[static_cast<int>(Ctr::warp_insts)] - inherited_insts_; }
  // Values of one CTA, warps in program order barrier to barrier (the fast
  // path's values pass; needs prepare(values = true) on a one-slot geometry).
  void run_functional(uint32_t cta);

 private:
  struct SimtEntry {
    int32_t pc, rpc;
    uint32_t mask;
  };
  struct Warp {
    bool live = false, at_bar = false;
    uint32_t slot = 0, index = 0;  // CTA slot, warp index within the CTA
    uint64_t age = 0;
    uint64_t next_issue = 0;
    uint32_t pending = 0;  // outstanding load records
    // Operand readiness of the instruction at `cached_pc` (register ready
    // times only change when the warp issues or a load completes).
    int32_t cached_pc = -1;
    uint64_t cached_ready = 0;
    Stall cached_why = Stall::branch;
    // Lower bound on the next issue cycle from the last evaluation; other
    // warps' issues only push pipes' free times later, so it stays a valid
    // bound until this warp issues, a load completes or a barrier opens.
    uint64_t lb = 0;
    Stall lb_why = Stall::branch;
    std::vector<SimtEntry> stack;
    uint32_t pred[8] = {};
    // Scoreboard, 256 registers + 8 predicates: ready cycle << 1 | (last
    // writer was a load); one array, in place, for the host cache's sake.
    std::array<uint64_t, 256 + 8> sb{};
    // cp.async groups: the open one, the committed ones not yet known
    // complete (oldest first), and the latest completion of those dropped.
    struct CpGroup {
      uint64_t id = 0;
      uint32_t outstanding = 0;
      uint64_t done = 0;
    };
    CpGroup cp_open;
    std::vector<CpGroup> cp_groups;
    uint64_t cp_floor = 0;
  };
  struct Slot {
    bool busy = false;
    uint32_t cta = 0, live = 0, at_bar = 0;
    uint32_t gen = 0;  // CTA instance number on this SM (address classes)
    uint32_t smem_base = 0;
    bool rf_zeroed = false;  // its warps' registers zeroed in this launch (at its first CTA)
  };
  struct SubCore {
    std::vector<uint32_t> warps;  // warp slots, oldest first
    uint64_t next = 0;
    int last = -1;  // index into warps of the last issuer
    uint64_t unit_free[8] = {};
  };
  struct Pending {
    uint32_t warp = 0, outstanding = 0;
    uint8_t dst = 0, nregs = 0;
    uint64_t done = 0;
    uint64_t cp_group = 0;  // cp.async: the warp's group id (0: a register load)
  };

  uint32_t* reg(uint32_t w, uint8_t r) {
    return r == kRZ ? zero_.data() : &rf_[(size_t(w) * regs_per_thread_ + r) * 32];
  }
  uint32_t* wreg(uint32_t w, uint8_t r) {
    return r == kRZ ? scratch_.data() : &rf_[(size_t(w) * regs_per_thread_ + r) * 32];
  }
  // Earliest cycle >= t the warp's next instruction could issue, and why not sooner.
  inline uint64_t earliest(uint32_t wi, uint64_t t, SubCore& sc, Stall& why);
  void try_issue(uint32_t s, uint64_t t, uint64_t end);
  void issue(uint32_t wi, uint32_t s, uint64_t t);
  void exec_alu(const Instr& in, uint32_t wi, uint32_t mask);
  uint64_t exec_shared(const Instr& in, uint32_t wi, uint32_t mask, uint64_t t);
  uint64_t exec_global(const Instr& in, uint32_t wi, uint32_t mask, uint64_t t);
  // The values of lane l's LDG/STG at address a (a 2-byte load zero-extends).
  void global_copy(const Instr& in, uint32_t wi, uint32_t l, uint64_t a);
  void exec_branch(const Instr& in, Warp& w, uint32_t mask);
  void exec_exit(Warp& w, uint32_t mask, uint64_t t);
  void exec_bar(uint32_t wi, uint64_t t);
  void advance(Warp& w);
  // cp.async (sm_async.cpp): group bookkeeping, the wait rule, the copy's values.
  void cp_commit(Warp& w);
  uint64_t cp_wait_ready(const Warp& w, uint32_t allowed) const;
  void cp_complete(Warp& w, uint64_t group, uint64_t done);
  void cp_copy_values(const Instr& in, uint32_t wi, uint32_t mask);
  void ldsm_values(const Instr& in, uint32_t wi, uint32_t smem_base, const uint32_t* addrs);
  void complete(uint32_t rec, uint64_t t);
  uint32_t new_record();
  uint64_t lane_addr(const Instr& in, uint32_t wi, uint32_t lane, uint64_t base) const;
  uint32_t coalesce(const Instr& in, uint32_t wi, uint32_t mask, uint64_t base, uint64_t* lines, uint32_t* sectors);
  void split_check(const Instr& in, uint32_t wi, uint32_t mask);
  void exec_functional(uint32_t wi);

  GpuConfig cfg_;
  const MmaShape* mma_;  // mma_shape(cfg_.tensor_core.mma)
  uint32_t id_;
  GlobalMemory* gmem_;
  const LaunchGeometry* geo_ = nullptr;
  const Kernel* kernel_ = nullptr;
  const Decoded* dec_ = nullptr;  // geo_->decoded.data()
  const Instr* code_ = nullptr;   // kernel_->code.data()
  bool values_ = false;
  uint32_t regs_per_thread_ = 1;
  uint64_t now_ = 0, age_ = 0, mio_free_ = 0, issue_cycle_ = 0;
  uint32_t resident_ = 0, seq_ = 0;
  uint64_t last_retire_ = 0;

  std::vector<Warp> warps_;
  std::vector<Slot> slots_;
  std::vector<SubCore> subs_;
  std::vector<uint32_t> rf_;
  std::vector<uint8_t> smem_;
  std::array<uint32_t, 32> zero_{}, scratch_{};
  L1Cache l1_;
  std::vector<Pending> recs_;
  std::vector<uint32_t> free_recs_;
  std::vector<MemReq> reqs_;
  std::vector<std::pair<uint64_t, uint32_t>> finished_;
  SmCounters ctr_;
  // Shared-memory conflict memo per pc (exec_shared).
  // An entry is valid when its epoch is the launch's (memo_epoch_): a new
  // launch invalidates every entry without rewriting them.
  // The memos are direct-mapped on the pc (memo_mask_ + 1 slots, at most
  // kMaxMemoSlots): a kernel's code can be hundreds of thousands of
  // instructions long (unrolled K loops), and a slot per instruction on
  // every SM held gigabytes. An entry is the pc's (pc tag); a slot another
  // pc took is a miss, recomputed, so the results are the same.
  static constexpr uint32_t kMaxMemoSlots = 4096;
  uint32_t memo_mask_ = 0;
  uint32_t memo_epoch_ = 0;
  struct SmemMemo {
    uint32_t epoch = 0, pc = 0;
    uint32_t mask = 0, key = 0, wavefronts = 0, phases = 0;
    int64_t lo = 0, hi = 0;  // lane address extremes relative to the first active lane
  };
  std::vector<SmemMemo> smem_memo_;
  // The same for per-thread addresses: the last lane pattern per pc.
  struct SmemLaneMemo {
    uint32_t epoch = 0, pc = 0;
    uint32_t mask = 0, key = 0, wavefronts = 0, phases = 0;
    std::array<int32_t, 32> delta{};  // lane address - first lane's (both inside the CTA's shared memory)
  };
  std::vector<SmemLaneMemo> smem_lane_memo_;
  uint32_t bank_epoch_ = 0, bank_stamp_[256] = {}, bank_first_[256] = {}, bank_count_[256] = {};
  const std::array<uint32_t, 32>* frag_off_ = nullptr;  // geo_->frag_off.data()
  uint32_t pc_of(const Instr& in) const { return static_cast<uint32_t>(&in - code_); }
  // Fast path.
  uint32_t gen_ = 0;
  std::vector<Twin> twins_;
  SmCore* leader_ = nullptr;
  std::vector<SmCore*> split_now_;
  bool resume_ = false;  // split mid-quantum: run_until continues inside the cycle
  uint64_t inherited_insts_ = 0;
};

}  // namespace xpu::gpu
