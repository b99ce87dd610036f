#pragma once
// The fast path: SMs whose simulations are provably identical up to a
// translation of global addresses are simulated once ("leader") and the
// others ("twins") are replayed from it; a twin whose equivalence cannot be
// proved at some step is split off at exactly that step, with the state it
// would have had, and simulated on its own from there. Cycles, every counter
// and every result are those of the full simulation (tests/gpu/
// test_gpu_fast_path.cpp checks this on several grids and kernels).
//
// 1. Kernel rule (data-obliviousness, fast_path_check below). A register is
//    *data* if it may hold a value that timing-only simulation does not
//    compute or that differs between CTAs: results of LDG/LDS/HMMA and of
//    the fp32/fp64/SFU pipes, %ctaid and %clock, and (to a fixed point) any
//    integer result computed from data or written under a data guard. The
//    kernel qualifies iff no data register or predicate is ever used as a
//    memory address, an instruction guard or a branch condition, and the
//    kernel does not read %clock (its value would differ in the values pass).
//    Then the sequence of issue decisions, masks and addresses of a CTA does
//    not depend on any data, so simulation with values off has the same
//    timing as with values on, and values can be computed separately.
//
// 2. State equivalence. Each SM's state S (warps, scoreboards, pipes, MIO,
//    pending loads, L1 tags, posted requests, retired slots, counters) evolves
//    by a deterministic function of S and of its inputs: CTA starts (slot,
//    cycle) and, at quantum barriers, the completion cycles of its L2
//    requests. Global addresses enter only through base[cta][buf] + offsets,
//    where offsets are CTA-independent (rule 1). Let slot s of SM j host CTA
//    c_j(s) and of the leader i host c_i(s); for every class (s, buf) let
//    d(s, buf) = base[c_j(s)][buf] - base[c_i(s)][buf]. An L1 line records
//    the class that allocated it, and T maps a leader line l of class x to
//    l + d(x) / line_bytes. The twin's state is T(S_i) (same everything, lines
//    and requests translated, its own CTA ids). T commutes with every step
//    of the SM except L1 lookups, provided each d is a multiple of
//    line_bytes x L1 sets (checked when twins are formed or refilled): then
//    sector masks, coalescing and the set index are preserved. An L1 lookup
//    of line l (class x) by the leader gives the twin's outcome iff inside
//    l's set T is well defined and injective: a present line with tag l has
//    the same d (d(x) = d(x')), and no other present line, nor an earlier
//    line of the same instruction, maps to T_x(l). SmCore checks this for
//    every twin before each global access is executed (split_check). The
//    memory system serves the twin's translated requests like any others;
//    at the barrier every twin request's completion cycle must equal its
//    leader request's; CTA refills must give the twin the same (slot, cycle)
//    starts as the leader, with valid d.
//
// 3. Proof sketch (induction over steps). Initially (launch) all SMs start
//    from the empty state at the same cycle, so S_j = T(S_i) for SMs that got
//    CTAs in the same slots. Inside a quantum, SMs do not interact. Each step
//    the leader takes is either address-free (then the twin takes the
//    T-image of it) or an L1 access, for which the check above holds or the
//    twin is split before the access. At a barrier, equal completion cycles
//    and equal refills keep S_j = T(S_i); otherwise the twin is split before
//    the responses/refills are applied. Splitting builds T(S_i) -- exactly
//    the twin's state at that point by the induction hypothesis -- and from
//    there the twin is simulated in full. Twins split off at the same
//    barrier that got the same completion cycles (or the same refills) as
//    each other stay together under the first of them: S_b = T_b(S_i) and
//    S_a = T_a(S_i) give S_b = T_(d_b - d_a)(S_a), and the inputs that follow
//    are equal, so the argument applies to the new group unchanged. Hence
//    every SM's trajectory, and so every counter and the launch's cycle
//    count, equals the full simulation's. (Independent SMs are never merged:
//    that would need a state comparison.)
//
// 5. Where it helps. Grids whose SMs see identical L2 answers, e.g. GEMMs
//    whose grid is one or two waves of CTAs that do not share operand
//    panels across SMs differently (test: up to 4x fewer host warp
//    instructions). Large GEMMs (4096^3, 8192^3 on v100) split their twins
//    within a few thousand cycles -- SM s and SM s + 32 host CTAs whose A
//    panels are shared with other SMs' CTAs in other slots, so their L2
//    answers differ -- and gain about 10 %.
//
// 4. Values. Twins run no values, so with the fast path all SMs simulate
//    timing only and values are computed by a functional pass that executes
//    each CTA's warps in program order (barrier to barrier) with the same
//    instruction semantics (SmCore::run_functional). Results equal the timed
//    run's for kernels without intra-CTA races (shared-memory accesses
//    ordered by bar.sync) and without communication between CTAs of a launch
//    -- the CUDA programming model's contract, which every lowering here
//    follows.
#include <string>

#include "models/gpu/isa.h"

namespace xpu::gpu {

// Empty when the kernel satisfies rule 1, else why not.
std::string fast_path_check(const Kernel& k);

}  // namespace xpu::gpu
