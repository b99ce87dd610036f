#include "models/gpu/launch_reuse.h"

#include <algorithm>
#include <cstdlib>
#include <numeric>

namespace xpu::gpu {

struct LaunchReuse::Donor {
  Given given;
  uint32_t run = 0;
  std::string workload, layer;
  std::vector<Placed> lines;  // least recently used first
};

namespace {

template <typename T>
void put(std::string& k, const T& v) {
  k.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// Field by field (an Instr has padding, whose bytes are not its value).
void put_instr(std::string& k, const Instr& in) {
  for_each_field(in, [&k](const auto& v) { put(k, v); });
}

}  // namespace

uint64_t reuse_alignment(const GpuConfig& cfg) {
  return std::lcm(uint64_t(std::max<uint32_t>(1, cfg.dram.interleave_bytes)),
                  uint64_t(std::max<uint32_t>(1, cfg.l2.line_bytes)));
}

std::vector<uint64_t> buffer_origins(const Launch& l) {
  std::vector<uint64_t> o(l.nbufs, ~0ull);
  for (uint32_t c = 0; c < l.ctas; ++c)
    for (uint32_t b = 0; b < l.nbufs; ++b) o[b] = std::min(o[b], l.base(c, b));
  return o;
}

std::string launch_key(const Launch& l, uint64_t alignment, bool warm) {
  std::string k;
  const Kernel& kn = *l.kernel;
  k.reserve(kn.code.size() * 40 + size_t(l.ctas) * l.nbufs * 8 + 64);
  put(k, warm);
  put(k, l.ctas), put(k, l.threads), put(k, l.shared_bytes), put(k, l.nbufs);
  put(k, kn.regs_per_thread), put(k, kn.reads_ctaid), put(k, kn.trip_pc), put(k, kn.trips);
  put(k, reinterpret_cast<uintptr_t>(kn.mma));
  put(k, kn.code.size());
  for (const Instr& in : kn.code) put_instr(k, in);
  const std::vector<uint64_t> o = buffer_origins(l);
  for (uint32_t b = 0; b < l.nbufs; ++b) put(k, o[b] % alignment);
  for (uint32_t c = 0; c < l.ctas; ++c)
    for (uint32_t b = 0; b < l.nbufs; ++b) put(k, l.base(c, b) - o[b]);
  return k;
}

LaunchReuse::LaunchReuse(const ReuseParams& p) : p_(p) {}

LaunchReuse::~LaunchReuse() = default;

std::string at_addresses(const std::string& key, const Launch& launch) {
  std::string k = key;
  k += '@';
  for (uint64_t o : buffer_origins(launch)) put(k, o);
  return k;
}

void LaunchReuse::begin_run(const std::string& workload) {
  ++run_;
  workload_ = workload;
  layer_.clear();
}

void rebase_dram(MemCounters& m, const LaunchReuse::Given& donor, const std::vector<uint64_t>& writebacks,
                 const std::vector<uint64_t>& resident) {
  auto at = [](const std::vector<uint64_t>& v, size_t i) { return int64_t(i < v.size() ? v[i] : 0); };
  auto add = [](uint64_t& x, int64_t d) { x = d < 0 && uint64_t(-d) > x ? 0 : uint64_t(int64_t(x) + d); };
  for (size_t ch = 0; ch < m.channel_bytes.size(); ++ch) {
    // Writes: the donor's write-backs of older lines out, this launch's in.
    const int64_t w = at(writebacks, ch) - at(donor.writebacks, ch);
    // Reads: the donor did not fetch the lines it found resident, this
    // launch does not fetch those it finds.
    const int64_t r = at(donor.resident, ch) - at(resident, ch);
    add(m.channel_bytes[ch], w + r);
    add(m.dram_write_bytes, w);
    add(m.dram_read_bytes, r);
  }
}

bool rebase_within(const MemCounters& m, const LaunchReuse::Given& donor, const std::vector<uint64_t>& writebacks,
                   const std::vector<uint64_t>& resident, double bound) {
  int64_t shift = 0;
  auto sum = [](const std::vector<uint64_t>& v) {
    uint64_t t = 0;
    for (uint64_t x : v) t += x;
    return int64_t(t);
  };
  shift = std::llabs(sum(writebacks) - sum(donor.writebacks)) + std::llabs(sum(donor.resident) - sum(resident));
  return double(shift) <= bound * double(m.dram_read_bytes + m.dram_write_bytes);
}

void LaunchReuse::clear() {
  donors_.clear();
  footprint_bytes_ = 0;
}

bool LaunchReuse::find(const std::string& key, Given& out) const {
  const auto it = donors_.find(key);
  if (it == donors_.end()) return false;
  const Donor& d = *it->second;
  out = d.given;
  out.name = d.run == run_ ? d.layer : d.workload + ": " + d.layer;
  return true;
}

bool LaunchReuse::wants(size_t lines) const {
  return footprint_bytes_ + lines * sizeof(Placed) <= p_.max_footprint_bytes;
}

std::vector<MemorySystem::LineState> LaunchReuse::footprint(const std::string& key, const Launch& launch,
                                                            uint32_t line_bytes) const {
  std::vector<MemorySystem::LineState> out;
  const auto it = donors_.find(key);
  if (it == donors_.end()) return out;
  const std::vector<uint64_t> o = buffer_origins(launch);
  out.reserve(it->second->lines.size());
  for (const Placed& p : it->second->lines) out.push_back({(o[p.buf] + p.offset) / line_bytes, p.sectors, p.dirty, 0});
  return out;
}

void LaunchReuse::record(const std::string& key, const Launch& launch, Given g,
                         const std::vector<MemorySystem::LineState>& used, uint32_t line_bytes) {
  // A launch simulated although a donor had its key (out of the rebase
  // bound) replaces it: the later one is the likelier match for what follows.
  if (auto it = donors_.find(key); it != donors_.end()) {
    footprint_bytes_ -= it->second->lines.size() * sizeof(Placed) + key.size();
    donors_.erase(it);
  }
  auto d = std::make_unique<Donor>();
  d->given = std::move(g);
  d->run = run_;
  d->workload = workload_;
  d->layer = layer_;
  // Buffers by origin, to find the one each line belongs to.
  const std::vector<uint64_t> o = buffer_origins(launch);
  std::vector<uint16_t> by(o.size());
  std::iota(by.begin(), by.end(), uint16_t(0));
  std::sort(by.begin(), by.end(), [&](uint16_t a, uint16_t b) { return o[a] < o[b]; });
  d->lines.reserve(used.size());
  for (const MemorySystem::LineState& s : used) {
    const uint64_t at = s.line * line_bytes;
    auto hi = std::upper_bound(by.begin(), by.end(), at, [&](uint64_t a, uint16_t b) { return a < o[b]; });
    if (hi == by.begin()) continue;  // below every buffer: not the launch's
    const uint16_t b = *(hi - 1);
    d->lines.push_back({at - o[b], s.sectors, b, s.dirty});
  }
  footprint_bytes_ += d->lines.size() * sizeof(Placed) + key.size();
  donors_.emplace(key, std::move(d));
}

}  // namespace xpu::gpu
