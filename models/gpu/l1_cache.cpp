#include "models/gpu/l1_cache.h"

namespace xpu::gpu {

void L1Cache::configure(uint64_t bytes, uint32_t line_bytes, uint32_t assoc) {
  line_bytes_ = line_bytes;
  assoc_ = assoc;
  const uint64_t lines = bytes / line_bytes;
  sets_ = static_cast<uint32_t>(lines / assoc ? lines / assoc : 1);
  lines_.assign(size_t(sets_) * assoc_, Line{});
  tags_.assign(lines_.size(), kNoTag);
  tick_ = 0;
}

void L1Cache::clear() { configure(uint64_t(sets_) * assoc_ * line_bytes_, line_bytes_, assoc_); }

int L1Cache::find(uint64_t line_addr) const {
  const size_t first = size_t(line_addr % sets_) * assoc_;
  const uint64_t* t = &tags_[first];
  for (uint32_t w = 0; w < assoc_; ++w)
    if (t[w] == line_addr) return static_cast<int>(first + w);
  return -1;
}

L1Cache::Outcome L1Cache::probe(uint64_t line_addr, uint32_t sectors) const {
  const int i = find(line_addr);
  if (i < 0 || (lines_[i].sectors & sectors) != sectors) return Outcome::miss;
  return lines_[i].ready == kNever ? Outcome::hit_pending : Outcome::hit;
}

L1Cache::Result L1Cache::load(uint64_t line_addr, uint32_t sectors, uint64_t /*now*/, uint32_t cls) {
  int i = find(line_addr);
  if (i >= 0) {
    Line& l = lines_[i];
    l.lru = ++tick_;
    const uint32_t missing = sectors & ~l.sectors;
    if (missing == 0)
      return {l.ready == kNever ? Outcome::hit_pending : Outcome::hit, uint32_t(i), 0};
    // Sector miss in a present line: fetch the missing sectors; the line
    // becomes pending again until they arrive.
    l.sectors |= missing;
    l.ready = kNever;
    ++l.fills;
    return {Outcome::miss, uint32_t(i), missing};
  }
  const uint64_t set = line_addr % sets_;
  uint32_t victim = 0;
  uint64_t oldest = ~0ull;
  for (uint32_t w = 0; w < assoc_; ++w) {
    const Line& l = lines_[set * assoc_ + w];
    // Lines with loads waiting cannot be evicted; an invalid way is best.
    if (!l.valid) { victim = w; oldest = 0; break; }
    if (l.waiters.empty() && l.lru < oldest) { oldest = l.lru; victim = w; }
  }
  Line& l = lines_[set * assoc_ + victim];
  if (l.valid && !l.waiters.empty()) {
    // Every way is waiting on a fill: do not allocate (the load bypasses).
    return {Outcome::miss, ~0u, sectors};
  }
  // Field by field, not `l = Line{}`: the waiters list (empty here) keeps
  // its allocation instead of being freed and allocated again per miss.
  l.valid = true;
  l.tag = line_addr;
  tags_[set * assoc_ + victim] = line_addr;
  l.cls = cls;
  l.lru = ++tick_;
  l.sectors = sectors;
  l.ready = kNever;
  l.fills = 1;
  l.fill_max = 0;
  l.waiters.clear();
  return {Outcome::miss, uint32_t(set * assoc_ + victim), sectors};
}

void L1Cache::store(uint64_t line_addr, uint32_t sectors) {
  const int i = find(line_addr);
  if (i >= 0 && lines_[i].ready != kNever) lines_[i].sectors |= sectors;
}

}  // namespace xpu::gpu
