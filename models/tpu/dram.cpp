#include "models/tpu/dram.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/common/errors.h"

namespace xpu::tpu {

namespace {

// The CMEM as a DRAM-like level: its bandwidth and latency on dram.channels
// channels (dram.h).
TpuConfig cmem_level(const TpuConfig& cfg) {
  TpuConfig c = cfg;
  c.dram.bandwidth_gbps = cfg.cmem.bandwidth_gbps;
  c.dram.latency_ns = cfg.cmem.latency_ns;
  c.dram.burst_bytes = 32;
  return c;
}

}  // namespace

Dram::Cmem::Cmem(const TpuConfig& level, stats::Group& g)
    : channels(level),
      latency_cycles(level.dram_latency_cycles()),
      read_bytes(g.counter("read_bytes", stats::Unit::bytes, "bytes read from the CMEM")),
      write_bytes(g.counter("write_bytes", stats::Unit::bytes, "bytes written to the CMEM")),
      busy_cycles(g.counter("busy_cycles", stats::Unit::cycles, "cycles with at least one CMEM channel busy")) {}

Dram::Dram(sc_core::sc_module_name name, const TpuConfig& cfg, const Clock& clock, stats::Group& g,
           stats::Group* cmem_group)
    : sc_module(name),
      read_bytes(g.counter("read_bytes", stats::Unit::bytes, "bytes read from DRAM")),
      write_bytes(g.counter("write_bytes", stats::Unit::bytes, "bytes written to DRAM")),
      busy_cycles(g.counter("busy_cycles", stats::Unit::cycles, "cycles with at least one channel busy")),
      cfg_(cfg),
      clock_(clock),
      shared_(cfg.host.path == HostPath::dram),
      channels_(cfg) {
  latency_cycles_ = cfg.dram_latency_cycles();
  const uint64_t round = uint64_t(cfg.dram.channels) * cfg.dram.interleave_bytes;
  group_bytes_ = std::max<uint64_t>(round, (4096 + round - 1) / round * round);
  if (cfg.cmem.capacity_bytes > 0) {
    if (!cmem_group) throw InternalError("dram: a CMEM without a counter group");
    cmem_ = std::make_unique<Cmem>(cmem_level(cfg), *cmem_group);
  }
}

double Dram::book(Requester who, uint64_t addr, uint64_t bytes, double cursor, uint64_t now) {
  const double end = channels(who).book(addr, bytes, cursor, now);
  take_busy(who);
  return end;
}

void Dram::take_busy(Requester who) {
  (in_cmem_[who] ? cmem_->busy_cycles : busy_cycles) += channels(who).take_busy_cycles();
}

void Dram::count(Requester who, uint64_t bytes, bool write) {
  if (in_cmem_[who])
    (write ? cmem_->write_bytes : cmem_->read_bytes) += bytes;
  else
    (write ? write_bytes : read_bytes) += bytes;
}

namespace {
// A requester's group, posted at cycle `at` (booked from the next cycle on).
template <class Request>
void post(Request& r, uint64_t addr, uint64_t bytes, bool write, double cursor, uint64_t at) {
  r.pending = true;
  r.addr = addr;
  r.bytes = bytes;
  r.write = write;
  r.cursor = cursor;
  r.posted = at;
}
}  // namespace

double Dram::access(Requester who, uint64_t addr, uint64_t bytes, bool write, double cursor) {
  Request& r = req_[who];
  const uint64_t now = clock_.now();
  // Stream groups booked by now do not see this request; a stream with a
  // group still to book may, so its wake-up is projected again once this
  // request is booked.
  catch_up(now + 1);
  for (Stream& st : streams_) {
    if (st.active && st.projected) {
      st.done.cancel();
      st.projected = false;
    }
  }
  post(r, addr, bytes, write, cursor, now);
  // Booked one cycle later by whichever requester of that cycle runs first
  // (the booking order is the arbitration order, not the threads' order).
  sc_core::wait(clock_.span(1));
  if (r.pending) arbitrate();
  count(who, bytes, write);
  return r.end;
}

double Dram::transfer(Requester who, uint64_t addr, uint64_t bytes, bool write, double cursor) {
  uint64_t back = 0;
  cursor = book_transfer(who, addr, bytes, write, cursor, back);
  clock_.wait_until(back);
  return cursor;
}

double Dram::book_transfer(Requester who, uint64_t addr, uint64_t bytes, bool write, double cursor, uint64_t& back) {
  // access() posts at cycle t, is booked and granted at t + 1, and the
  // requester posts its next group at max(t + 1, ceil(end)).
  uint64_t t = clock_.now();
  DramChannels& ch = channels(who);
  if (ch.book_run(addr, bytes, group_bytes_, cursor, t)) {
    take_busy(who);
    count(who, bytes, write);
    back = t;
    return cursor;
  }
  for (uint64_t off = 0; off < bytes; off += group_bytes_) {
    cursor = book(who, addr + off, std::min(group_bytes_, bytes - off), cursor, t + 1);
    t = std::max(t + 1, ceil_cycles(cursor));
  }
  count(who, bytes, write);
  back = t;
  return cursor;
}

double Dram::stream(Requester who, uint64_t addr, uint64_t bytes, bool write, double cursor) {
  if (bytes == 0) return cursor;
  const sc_core::sc_event& done = start_stream(who, addr, bytes, write, cursor);
  sc_core::wait(done);
  return end_stream(who, bytes, write);
}

const sc_core::sc_event& Dram::start_stream(Requester who, uint64_t addr, uint64_t bytes, bool write,
                                            double cursor) {
  Stream& st = streams_[who];
  Request& r = req_[who];
  const uint64_t first = std::min(group_bytes_, bytes);
  post(r, addr, first, write, cursor, clock_.now());
  st.active = true;
  st.projected = false;
  st.next = addr + first;
  st.end = addr + bytes;
  project_streams();
  return st.done;
}

double Dram::end_stream(Requester who, uint64_t bytes, bool write) {
  const Stream& st = streams_[who];
  const Request& r = req_[who];
  // The groups booked before this cycle, then the last one if it is booked
  // in this cycle (with whatever else was posted in the previous one).
  catch_up(clock_.now());
  if (r.pending) arbitrate();
  if (st.active || st.back != clock_.now()) {
    throw InternalError("dram: a stream woke at cycle " + std::to_string(clock_.now()) + ", its transfer " +
                        (st.active ? "not booked" : "done at cycle " + std::to_string(st.back)));
  }
  count(who, bytes, write);
  return r.end;
}

// access() returns at the booking cycle; its caller waits until the group's
// end and posts the next group from there.
void Dram::stream_booked(int who, uint64_t now) {
  Stream& st = streams_[who];
  Request& r = req_[who];
  const uint64_t back = std::max(now, ceil_cycles(r.end));
  if (st.next >= st.end) {
    st.active = false;
    st.back = back;
    return;
  }
  post(r, st.next, std::min(group_bytes_, st.end - st.next), r.write, r.end, back);
  st.next += r.bytes;
}

void Dram::catch_up(uint64_t upto) {
  // A stream alone, all of whose groups are booked before `upto`: the rest
  // of it as one run (the groups as stream_booked() posts them, each booked
  // the cycle after it is posted, are book_run()'s groups).
  for (int i = 0; i < kRequesters; ++i) {
    Stream& st = streams_[i];
    if (!st.active || !st.projected || st.at > upto) continue;
    bool alone = true;
    for (int j = 0; j < kRequesters; ++j) alone = alone && (j == i || !req_[j].pending);
    Request& r = req_[i];
    if (!alone || r.addr + r.bytes != st.next) break;
    double cursor = r.cursor;
    uint64_t t = r.posted;
    if (channels(Requester(i)).book_run(r.addr, st.end - r.addr, group_bytes_, cursor, t)) {
      take_busy(Requester(i));
      r.end = cursor;
      r.pending = false;
      st.active = false;
      st.back = t;
    }
    break;
  }
  for (;;) {
    uint64_t posted = kNever;
    for (int i = 0; i < kRequesters; ++i) {
      if (streams_[i].active && req_[i].pending) posted = std::min(posted, req_[i].posted);
    }
    if (posted == kNever || posted + 1 >= upto) return;
    book_due(posted + 1);
  }
}

uint64_t Dram::project(int who) {
  const Stream& st = streams_[who];
  const Request& r = req_[who];
  if (!st.active) return st.back;
  DramChannels& ch = channels(Requester(who));
  int others = 0;
  for (int i = 0; i < kRequesters; ++i) others += i != who && req_[i].pending;
  if (others == 0 && r.addr + r.bytes == st.next) {
    double cursor = r.cursor;
    uint64_t t = r.posted;
    if (ch.dry_run(r.addr, st.end - r.addr, group_bytes_, cursor, t)) return t;
  }
  ch.copy_times(scratch_);
  // The other requests posted and not booked yet (nobody posts another
  // before they are booked): each is booked at its posted cycle + 1, with
  // the stream's group of that cycle in (cursor, id) order.
  std::array<int, kRequesters> other;
  int n = 0;
  for (int i = 0; i < kRequesters; ++i) {
    if (i != who && req_[i].pending && &channels(Requester(i)) == &ch) other[n++] = i;
  }
  auto before = [&](int a, int b) {
    const Request &x = req_[a], &y = req_[b];
    if (x.posted != y.posted) return x.posted < y.posted;
    return x.cursor != y.cursor ? x.cursor < y.cursor : a < b;
  };
  for (int a = 1; a < n; ++a)  // insertion sort of at most two
    for (int j = a; j > 0 && before(other[j], other[j - 1]); --j) std::swap(other[j], other[j - 1]);
  int k = 0;
  // The stream's groups as stream_booked() would post them.
  uint64_t posted = r.posted, addr = r.addr, bytes = r.bytes, next = st.next;
  double cursor = r.cursor;
  for (;;) {
    for (; k < n; ++k) {
      const Request& o = req_[other[k]];
      if (o.posted > posted || (o.posted == posted && !(o.cursor != cursor ? o.cursor < cursor : other[k] < who))) break;
      ch.dry_book(scratch_, o.addr, o.bytes, o.cursor);
    }
    cursor = ch.dry_book(scratch_, addr, bytes, cursor);
    const uint64_t back = std::max(posted + 1, ceil_cycles(cursor));
    if (next >= st.end) return back;
    posted = back;
    addr = next;
    bytes = std::min(group_bytes_, st.end - next);
    next += bytes;
  }
}

void Dram::project_streams() {
  int streams = 0;
  for (const Stream& st : streams_) streams += st.active;
  // Two streams at once would need their groups interleaved in the projection.
  if (streams > 1) throw InternalError("dram: two requesters stream at once");
  const uint64_t now = clock_.now();
  for (int i = 0; i < kRequesters; ++i) {
    Stream& st = streams_[i];
    if (st.projected) continue;
    const uint64_t back = project(i);
    if (back < now) throw InternalError("dram: a stream's projected end " + std::to_string(back) + " is past");
    st.done.notify(clock_.span(back - now));
    st.projected = true;
    st.at = back;
  }
}

void Dram::arbitrate() {
  const uint64_t now = clock_.now();
  catch_up(now);
  book_due(now);
  project_streams();
}

void Dram::book_due(uint64_t now) {
  // Every request posted before this cycle, by (cursor, requester id).
  std::array<int, kRequesters> due;
  int n = 0;
  for (int i = 0; i < kRequesters; ++i) {
    if (req_[i].pending && req_[i].posted < now) due[n++] = i;
  }
  auto before = [&](int a, int b) {
    return req_[a].cursor != req_[b].cursor ? req_[a].cursor < req_[b].cursor : a < b;
  };
  for (int k = 1; k < n; ++k)  // insertion sort of at most three
    for (int j = k; j > 0 && before(due[j], due[j - 1]); --j) std::swap(due[j], due[j - 1]);
  for (int k = 0; k < n; ++k) {
    const int i = due[k];
    req_[i].end = book(Requester(i), req_[i].addr, req_[i].bytes, req_[i].cursor, now);
    req_[i].pending = false;
  }
  for (int k = 0; k < n; ++k) {
    if (streams_[due[k]].active) stream_booked(due[k], now);
  }
}

}  // namespace xpu::tpu
