#pragma once
// Per-SM L1 data cache tags (sectored, set-associative, LRU). Data values
// live in the functional global memory; the cache only decides timing.
// Global loads allocate; stores write through without allocating (Volta).
// A line being filled keeps the ids of the loads waiting on it (its MSHR).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace xpu::gpu {

constexpr uint64_t kNever = ~0ull >> 2;  // "not yet known" ready time

class L1Cache {
 public:
  struct Line {
    uint64_t tag = 0;
    uint64_t lru = 0;
    uint64_t ready = 0;      // when the last fill arrives; kNever while pending
    uint32_t sectors = 0;    // valid (or being filled) sectors
    bool valid = false;
    uint32_t fills = 0;         // outstanding fills (a sector miss can add one)
    uint64_t fill_max = 0;      // latest fill arrival so far
    uint32_t cls = 0;           // fast path: the (slot, buffer) class that allocated it (fast_path.h)
    std::vector<uint32_t> waiters;  // pending-load ids
  };
  enum class Outcome { hit, hit_pending, miss };
  struct Result {
    Outcome outcome;
    uint32_t line;     // index of the line
    uint32_t missing;  // sectors to fetch on a miss
  };

  void configure(uint64_t bytes, uint32_t line_bytes, uint32_t assoc);
  void clear();
  uint32_t line_bytes() const { return line_bytes_; }
  // Load lookup; on a miss allocates (evicting LRU) and marks the sectors.
  Result load(uint64_t line_addr, uint32_t sectors, uint64_t now, uint32_t cls = 0);
  // Same decision without changing any state (fast-path comparisons).
  Outcome probe(uint64_t line_addr, uint32_t sectors) const;
  // A store: updates sectors of a present line, never allocates.
  void store(uint64_t line_addr, uint32_t sectors);
  Line& line(uint32_t i) { return lines_[i]; }
  // The ways of the set `line_addr` maps to (fast-path checks and translation).
  const Line* set_lines(uint64_t line_addr) const { return &lines_[(line_addr % sets_) * assoc_]; }
  uint32_t assoc() const { return assoc_; }
  uint32_t sets() const { return sets_; }
  // Fast path: adds off(cls) to the tag of every valid line.
  template <class F>
  void retag(F off) {
    for (size_t i = 0; i < lines_.size(); ++i)
      if (lines_[i].valid) tags_[i] = lines_[i].tag += uint64_t(off(lines_[i].cls));
  }
  // A fill for line i arrived at `t`; true when it was the last one (the
  // line is then ready at fill_max and its waiters can be released).
  bool fill(uint32_t i, uint64_t t) {
    Line& l = lines_[i];
    if (t > l.fill_max) l.fill_max = t;
    if (--l.fills != 0) return false;
    l.ready = l.fill_max;
    return true;
  }

 private:
  int find(uint64_t line_addr) const;
  uint32_t line_bytes_ = 128, assoc_ = 1, sets_ = 1;
  uint64_t tick_ = 0;
  std::vector<Line> lines_;
  // Tags of lines_ (kNoTag: invalid), packed so that a lookup reads one
  // host cache line instead of `assoc` Lines.
  static constexpr uint64_t kNoTag = ~0ull;
  std::vector<uint64_t> tags_;
};

}  // namespace xpu::gpu
