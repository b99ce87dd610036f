#include "sim/trace/trace_event_writer.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

namespace xpu::trace {

namespace {

// Fixed-point microseconds: deterministic text, picosecond resolution.
std::string us(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }

}  // namespace

void TraceEventWriter::begin_run(const std::string& label, double clock_mhz) {
  Run r;
  r.label = label;
  r.clock_mhz = clock_mhz > 0 ? clock_mhz : 1;
  runs_.push_back(std::move(r));
  current_ = long(runs_.size()) - 1;
}

void TraceEventWriter::span(const std::string& track, const std::string& name, uint64_t begin, uint64_t end) {
  if (current_ < 0) {
    ++outside_;  // activity outside any run (e.g. a warm-up): not attributable
    return;
  }
  if (total_ >= max_spans_) {
    ++dropped_;
    return;
  }
  ++total_;
  runs_[size_t(current_)].spans.push_back(Span{track, name, begin, std::max(begin, end)});
}

void TraceEventWriter::begin(const std::string& track, const std::string& name, uint64_t cycle) {
  if (current_ < 0) {
    ++outside_;
    return;
  }
  runs_[size_t(current_)].open[track] = Span{track, name, cycle, cycle};
}

void TraceEventWriter::end(const std::string& track, uint64_t cycle) {
  if (current_ < 0) return;
  auto& open = runs_[size_t(current_)].open;
  auto it = open.find(track);
  if (it == open.end()) return;  // began outside this run
  const Span s = it->second;
  open.erase(it);
  span(s.track, s.name, s.begin, cycle);
}

std::string TraceEventWriter::json() const {
  std::string o;
  o += "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"xpusim\",\"spans\":" + std::to_string(total_) +
       ",\"dropped_spans\":" + std::to_string(dropped_) + ",\"time\":\"simulated microseconds from each run's "
       "first span\"},\n\"traceEvents\":[\n";
  bool first = true;
  auto emit = [&](const std::string& e) {
    if (!first) o += ",\n";
    first = false;
    o += e;
  };
  for (size_t p = 0; p < runs_.size(); ++p) {
    const Run& run = runs_[p];
    const std::string pid = std::to_string(p + 1);
    emit("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":" + pid + ",\"tid\":0,\"args\":{\"name\":" +
         quoted(run.label) + "}}");
    emit("{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":" + pid + ",\"tid\":0,\"args\":{\"sort_index\":" +
         pid + "}}");
    std::vector<const Span*> spans;
    spans.reserve(run.spans.size());
    for (const auto& s : run.spans) spans.push_back(&s);
    // "program" first, then the units by name.
    auto rank = [](const std::string& t) { return t == "program" ? 0 : 1; };
    std::sort(spans.begin(), spans.end(), [&](const Span* a, const Span* b) {
      return std::make_tuple(rank(a->track), std::cref(a->track), a->begin, a->end, std::cref(a->name)) <
             std::make_tuple(rank(b->track), std::cref(b->track), b->begin, b->end, std::cref(b->name));
    });
    uint64_t base = UINT64_MAX;
    for (const auto* s : spans) base = std::min(base, s->begin);
    std::map<std::string, int> tids;
    for (const auto* s : spans) {
      if (tids.count(s->track)) continue;
      const int tid = int(tids.size()) + 1;
      tids[s->track] = tid;
      emit("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":" + pid + ",\"tid\":" + std::to_string(tid) +
           ",\"args\":{\"name\":" + quoted(s->track) + "}}");
      emit("{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":" + pid + ",\"tid\":" + std::to_string(tid) +
           ",\"args\":{\"sort_index\":" + std::to_string(tid) + "}}");
    }
    const double us_per_cycle = 1.0 / run.clock_mhz;
    for (const auto* s : spans) {
      emit("{\"ph\":\"X\",\"pid\":" + pid + ",\"tid\":" + std::to_string(tids[s->track]) + ",\"name\":" +
           quoted(s->name) + ",\"ts\":" + us(double(s->begin - base) * us_per_cycle) + ",\"dur\":" +
           us(double(s->end - s->begin) * us_per_cycle) + ",\"args\":{\"begin_cycle\":" + std::to_string(s->begin) +
           ",\"end_cycle\":" + std::to_string(s->end) + "}}");
    }
  }
  o += "\n]}\n";
  return o;
}

}  // namespace xpu::trace
