#include "models/gpu/memory_system.h"

#include <algorithm>
#include <unordered_set>

namespace xpu::gpu {

namespace {
uint32_t popcount(uint32_t x) { return static_cast<uint32_t>(__builtin_popcount(x)); }
// XOR-folding hash, as GPUs use to spread strided streams over slices/channels.
uint64_t fold(uint64_t x) { return x ^ (x >> 7) ^ (x >> 13) ^ (x >> 19); }
}  // namespace

MemorySystem::MemorySystem(const GpuConfig& cfg) : cfg_(cfg) {
  assoc_ = cfg.l2.assoc;
  sectors_per_line_ = cfg.l2.line_bytes / cfg.l1.sector_bytes;
  sector_bytes_ = cfg.l1.sector_bytes;
  sets_ = static_cast<uint32_t>(cfg.l2.capacity_bytes / (uint64_t(cfg.l2.slices) * cfg.l2.line_bytes * assoc_));
  if (sets_ == 0) sets_ = 1;
  const uint32_t sl = cfg.l2.slices;
  slice_shift_ = sl && (sl & (sl - 1)) == 0 ? static_cast<uint32_t>(__builtin_ctz(sl)) : ~0u;
  reset();
}

void MemorySystem::reset() {
  lines_.assign(size_t(cfg_.l2.slices) * sets_ * assoc_, Line{});
  tags_.assign(lines_.size(), kNoTag);
  lru_.assign(lines_.size(), 0);
  l2_backlog_ = dram_backlog_ = 0;
  tick_ = 0;
  clear_counters();
}

void MemorySystem::next_kernel() {
  l2_backlog_ = dram_backlog_ = 0;
  clear_counters();
}

void MemorySystem::clear_counters() {
  kernel_tick_ = tick_;
  evicted_.clear();
  inherited_.assign(cfg_.dram.channels, 0);
  c_ = MemCounters{};
  c_.slice_bytes.assign(cfg_.l2.slices, 0);
  c_.channel_bytes.assign(cfg_.dram.channels, 0);
}

uint32_t MemorySystem::slice_of(uint64_t line) const {
  if (slice_shift_ != ~0u) return static_cast<uint32_t>(fold(line) & ((1ull << slice_shift_) - 1));
  return static_cast<uint32_t>(fold(line) % cfg_.l2.slices);
}

uint32_t MemorySystem::channel_of(uint64_t line) const {
  const uint64_t chunk = line * cfg_.l2.line_bytes / cfg_.dram.interleave_bytes;
  return static_cast<uint32_t>(fold(chunk) % cfg_.dram.channels);
}

bool MemorySystem::far(uint32_t sm, uint64_t line) const {
  if (cfg_.l2.partitions < 2) return false;
  const uint32_t home = slice_of(line) * 2 / cfg_.l2.slices, near = static_cast<uint32_t>(uint64_t(sm) * 2 / cfg_.sms);
  return home != near;
}

size_t MemorySystem::set_of(uint64_t line) const {
  const uint64_t above = slice_shift_ != ~0u ? line >> slice_shift_ : line / cfg_.l2.slices;
  return (size_t(slice_of(line)) * sets_ + above % sets_) * assoc_;
}

MemorySystem::Line* MemorySystem::find(size_t set, uint64_t line) {
  const uint64_t* t = &tags_[set];
  for (uint32_t w = 0; w < assoc_; ++w)
    if (t[w] == line) return &lines_[set + w];
  return nullptr;
}

size_t MemorySystem::victim(size_t set) const {
  const uint64_t* t = &tags_[set];
  const uint64_t* u = &lru_[set];
  uint32_t v = 0;
  for (uint32_t w = 0; w < assoc_; ++w) {
    if (t[w] == kNoTag) return set + w;
    if (u[w] < u[v]) v = w;
  }
  return set + v;
}

std::vector<MemorySystem::LineState> MemorySystem::used_since(uint64_t since, size_t limit) const {
  std::vector<LineState> all;
  for (const LineState& e : evicted_)
    if (e.tick > since) all.push_back(e);
  for (size_t i = 0; i < lines_.size(); ++i)
    if (tags_[i] != kNoTag && lru_[i] > since)
      all.push_back({lines_[i].tag, lines_[i].sectors, lines_[i].dirty && lines_[i].written > since, lru_[i]});
  std::sort(all.begin(), all.end(), [](const LineState& a, const LineState& b) { return a.tick < b.tick; });
  // Each line once, at its last use; the most recent `limit`.
  std::vector<LineState> out;
  std::unordered_set<uint64_t> seen;
  for (size_t i = all.size(); i-- > 0 && out.size() < limit;)
    if (seen.insert(all[i].line).second) out.push_back(all[i]);
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<uint64_t> MemorySystem::resident_read_bytes(const std::vector<LineState>& lines) {
  std::vector<uint64_t> out(cfg_.dram.channels, 0);
  for (const LineState& s : lines) {
    if (s.dirty) continue;
    const Line* l = find(set_of(s.line), s.line);
    if (l) out[channel_of(s.line)] += popcount(l->sectors & s.sectors) * sector_bytes_;
  }
  return out;
}

void MemorySystem::install(const std::vector<LineState>& lines, std::vector<uint64_t>& writeback) {
  writeback.resize(cfg_.dram.channels, 0);
  const uint64_t t0 = tick_;
  for (const LineState& s : lines) {
    const size_t set = set_of(s.line);
    Line* l = find(set, s.line);
    if (!l) {
      l = &lines_[victim(set)];
      // An installed line evicted by a later one was the donor's own write-back.
      if (l->valid && l->dirty && l->written <= t0) writeback[channel_of(l->tag)] += popcount(l->sectors) * sector_bytes_;
      *l = Line{};
      l->valid = true;
      l->tag = s.line;
      tags_[size_t(l - lines_.data())] = s.line;
    }
    l->sectors |= s.sectors;
    l->ready = 0;
    lru_[size_t(l - lines_.data())] = ++tick_;
    if (s.dirty) {
      l->dirty = true;
      l->written = tick_;
    }
  }
}

void MemorySystem::resolve(std::vector<MemReq>& reqs, uint64_t quantum) {
  if (reqs.empty()) {
    // Idle quantum: the queues drain.
    l2_backlog_ = std::max(0.0, l2_backlog_ - cfg_.l2_bytes_per_cycle() * double(quantum));
    dram_backlog_ = std::max(0.0, dram_backlog_ - cfg_.dram_bytes_per_cycle() * double(quantum));
    return;
  }
  auto before = [](const MemReq& a, const MemReq& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.sm != b.sm) return a.sm < b.sm;
    return a.seq < b.seq;
  };
  // Issue times span about one quantum: bucket by time (stable), then order
  // each bucket by (SM, sequence) -- the same order as one full sort.
  uint64_t t0 = reqs.front().time, t1 = t0;
  for (const MemReq& r : reqs) t0 = std::min(t0, r.time), t1 = std::max(t1, r.time);
  if (t1 - t0 < 65536 && reqs.size() > 64) {
    const size_t span = size_t(t1 - t0) + 1;
    bucket_.assign(span + 1, 0);
    for (const MemReq& r : reqs) ++bucket_[r.time - t0 + 1];
    for (size_t i = 1; i <= span; ++i) bucket_[i] += bucket_[i - 1];
    sorted_.resize(reqs.size());
    for (const MemReq& r : reqs) sorted_[bucket_[r.time - t0]++] = r;
    size_t lo = 0;
    for (size_t i = 0; i < span; ++i) {
      const size_t hi = bucket_[i];
      if (hi - lo > 1 && !std::is_sorted(sorted_.begin() + long(lo), sorted_.begin() + long(hi), before))
        std::sort(sorted_.begin() + long(lo), sorted_.begin() + long(hi), before);
      lo = hi;
    }
    reqs.swap(sorted_);
  } else {
    std::sort(reqs.begin(), reqs.end(), before);
  }
  // Pass 1: tags decide hits and misses and the quantum's demand per level.
  enum : uint8_t { kHit, kMiss, kWrite };
  kind_.resize(reqs.size());
  set_.resize(reqs.size());
  double l2_demand = 0, dram_demand = 0;
  for (size_t i = 0; i < reqs.size(); ++i) {
    MemReq& r = reqs[i];
    const uint32_t bytes = popcount(r.sectors) * sector_bytes_;
    l2_demand += bytes;
    c_.slice_bytes[slice_of(r.line)] += bytes;
    const size_t set = set_[i] = set_of(r.line);
    Line* l = find(set, r.line);
    if (!l) {
      l = &lines_[victim(set)];
      if (track_ && l->valid && lru_[size_t(l - lines_.data())] > kernel_tick_)
        evicted_.push_back({l->tag, l->sectors, l->dirty && l->written > kernel_tick_, lru_[size_t(l - lines_.data())]});
      if (l->valid && l->dirty) {
        // Write-back of the victim's dirty sectors.
        const uint32_t wb = popcount(l->sectors) * sector_bytes_;
        dram_demand += wb;
        c_.dram_write_bytes += wb;
        c_.channel_bytes[channel_of(l->tag)] += wb;
        if (l->written <= kernel_tick_) inherited_[channel_of(l->tag)] += wb;
      }
      if (!l->valid) c_.l2_cold_fill_bytes += cfg_.l2.line_bytes;
      *l = Line{};
      l->valid = true;
      l->tag = r.line;
      tags_[size_t(l - lines_.data())] = r.line;
    }
    lru_[size_t(l - lines_.data())] = ++tick_;
    if (r.write) {
      // Write-allocate without fetching: sectors are written whole.
      l->sectors |= r.sectors;
      l->dirty = true;
      l->written = tick_;
      kind_[i] = kWrite;
      ++c_.l2_writes;
      c_.l2_write_bytes += bytes;
      continue;
    }
    c_.l2_read_bytes += bytes;
    const uint32_t missing = r.sectors & ~l->sectors;
    if (missing == 0) {
      kind_[i] = kHit;
      ++c_.l2_read_hits;
    } else {
      kind_[i] = kMiss;
      ++c_.l2_read_misses;
      l->sectors |= missing;
      const uint32_t mb = popcount(missing) * sector_bytes_;
      dram_demand += mb;
      c_.dram_read_bytes += mb;
      c_.channel_bytes[channel_of(r.line)] += mb;
    }
  }
  // Fluid queues: every request of the quantum sees the same delay per level.
  const double l2_bw = cfg_.l2_bytes_per_cycle(), dram_bw = cfg_.dram_bytes_per_cycle();
  const uint64_t l2_delay = static_cast<uint64_t>((l2_backlog_ + l2_demand / 2) / l2_bw);
  const uint64_t dram_delay = static_cast<uint64_t>((dram_backlog_ + dram_demand / 2) / dram_bw);
  l2_backlog_ = std::max(0.0, l2_backlog_ + l2_demand - l2_bw * double(quantum));
  dram_backlog_ = std::max(0.0, dram_backlog_ + dram_demand - dram_bw * double(quantum));
  // Pass 2, same order: completion times; a hit on a line still being
  // filled waits for the fill (L2 MSHR merge).
  for (size_t i = 0; i < reqs.size(); ++i) {
    MemReq& r = reqs[i];
    if (kind_[i] == kWrite) continue;
    Line* l = find(set_[i], r.line);
    const bool is_far = far(r.sm, r.line);
    c_.l2_far_reads += is_far;
    const uint64_t hit_done = r.time + cfg_.l2.latency + (is_far ? cfg_.l2.far_extra_latency : 0) + l2_delay;
    c_.l2_queue_cycles += l2_delay;
    if (kind_[i] == kHit) {
      r.done = l ? std::max(hit_done, l->ready) : hit_done;
    } else {
      r.done = hit_done + cfg_.dram.latency + dram_delay;
      c_.dram_queue_cycles += dram_delay;
      if (l) l->ready = std::max(l->ready, r.done);
    }
  }
}

}  // namespace xpu::gpu
