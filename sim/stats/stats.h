#pragma once
// Hierarchical statistics: named counters with units, grouped like the
// hardware (tpu.mxu.mac.int8). Models only count; energy and reports read
// counters through snapshots.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xpu::stats {

enum class Unit { count, cycles, bytes, ops, flops, picojoules, ratio, seconds, instructions };
const char* unit_name(Unit u);

class Counter {
 public:
  Counter(std::string name, Unit unit, std::string desc)
      : name_(std::move(name)), unit_(unit), desc_(std::move(desc)) {}
  void add(uint64_t n = 1) { value_ += n; }
  Counter& operator+=(uint64_t n) { value_ += n; return *this; }
  void set(uint64_t v) { value_ = v; }
  uint64_t value() const { return value_; }
  void reset() { value_ = 0; }
  const std::string& name() const { return name_; }
  Unit unit() const { return unit_; }
  const std::string& desc() const { return desc_; }

 private:
  std::string name_;
  Unit unit_;
  std::string desc_;
  uint64_t value_ = 0;
};

// A value computed from counters when read (utilization, rates).
class Formula {
 public:
  Formula(std::string name, Unit unit, std::string desc, std::function<double()> fn)
      : name_(std::move(name)), unit_(unit), desc_(std::move(desc)), fn_(std::move(fn)) {}
  double value() const { return fn_(); }
  const std::string& name() const { return name_; }
  Unit unit() const { return unit_; }
  const std::string& desc() const { return desc_; }

 private:
  std::string name_;
  Unit unit_;
  std::string desc_;
  std::function<double()> fn_;
};

// One flat, ordered view of every statistic: what energy and reports consume.
struct Entry {
  std::string path;  // dotted, e.g. "tpu.mxu.mac.int8"
  Unit unit;
  double value;
  bool derived;  // true for formulas
  std::string desc;
};
class Snapshot {
 public:
  void add(Entry e);
  const std::vector<Entry>& entries() const { return entries_; }
  // Value of a path, or `fallback` when absent.
  double get(const std::string& path, double fallback = 0.0) const;
  bool has(const std::string& path) const;
  // Sum over every entry whose path starts with `prefix` and ends with `suffix`.
  double sum(const std::string& prefix, const std::string& suffix = "") const;
  // Element-wise difference (this - before) of non-derived entries; derived
  // entries keep this snapshot's value.
  Snapshot minus(const Snapshot& before) const;
  nlohmann::json to_json() const;  // nested objects: {"tpu":{"mxu":{...}}}

 private:
  std::vector<Entry> entries_;
  std::map<std::string, size_t> index_;
};

class Group {
 public:
  explicit Group(std::string name, Group* parent = nullptr);
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  // Registers a counter; the name may contain dots ("mac.int8").
  // Registering the same name twice returns the existing counter.
  Counter& counter(const std::string& name, Unit unit, const std::string& desc = "");
  Formula& formula(const std::string& name, Unit unit, const std::string& desc,
                   std::function<double()> fn);
  Group& child(const std::string& name);

  const std::string& name() const { return name_; }
  std::string path() const;  // "tpu.mxu"
  void reset();              // counters to zero, recursively
  Snapshot snapshot() const;
  nlohmann::json to_json() const { return snapshot().to_json(); }

 private:
  void collect(Snapshot& out) const;

  std::string name_;
  Group* parent_;
  std::vector<std::unique_ptr<Counter>> counters_;
  std::vector<std::unique_ptr<Formula>> formulas_;
  std::vector<std::unique_ptr<Group>> children_;
};

}  // namespace xpu::stats
