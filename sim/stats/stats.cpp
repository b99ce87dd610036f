#include "sim/stats/stats.h"

#include <stdexcept>

namespace xpu::stats {

const char* unit_name(Unit u) {
  switch (u) {
    case Unit::count: return "count";
    case Unit::cycles: return "cycles";
    case Unit::bytes: return "bytes";
    case Unit::ops: return "ops";
    case Unit::flops: return "flops";
    case Unit::picojoules: return "pJ";
    case Unit::ratio: return "ratio";
    case Unit::seconds: return "s";
    case Unit::instructions: return "instructions";
  }
  return "?";
}

void Snapshot::add(Entry e) {
  auto it = index_.find(e.path);
  if (it != index_.end()) {
    entries_[it->second] = std::move(e);
    return;
  }
  index_.emplace(e.path, entries_.size());
  entries_.push_back(std::move(e));
}

double Snapshot::get(const std::string& path, double fallback) const {
  auto it = index_.find(path);
  return it == index_.end() ? fallback : entries_[it->second].value;
}

bool Snapshot::has(const std::string& path) const { return index_.count(path) != 0; }

double Snapshot::sum(const std::string& prefix, const std::string& suffix) const {
  double total = 0;
  for (const auto& e : entries_) {
    if (e.derived) continue;
    if (e.path.compare(0, prefix.size(), prefix) != 0) continue;
    if (suffix.size() > e.path.size() ||
        e.path.compare(e.path.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    total += e.value;
  }
  return total;
}

Snapshot Snapshot::minus(const Snapshot& before) const {
  Snapshot out;
  for (const auto& e : entries_) {
    Entry d = e;
    if (!e.derived) d.value = e.value - before.get(e.path, 0.0);
    out.add(std::move(d));
  }
  return out;
}

nlohmann::json Snapshot::to_json() const {
  nlohmann::json root = nlohmann::json::object();
  for (const auto& e : entries_) {
    nlohmann::json* node = &root;
    size_t start = 0;
    for (;;) {
      size_t dot = e.path.find('.', start);
      std::string part = e.path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (dot == std::string::npos) {
        // A leaf may share its name with a group ("mac" and "mac.int8"): keep both.
        if (node->contains(part) && (*node)[part].is_object()) part += "_total";
        (*node)[part] = e.value;
        break;
      }
      auto& next = (*node)[part];
      if (!next.is_object()) {
        nlohmann::json leaf = next;
        next = nlohmann::json::object();
        if (!leaf.is_null()) next["_total"] = leaf;
      }
      node = &next;
      start = dot + 1;
    }
  }
  return root;
}

Group::Group(std::string name, Group* parent) : name_(std::move(name)), parent_(parent) {}

Counter& Group::counter(const std::string& name, Unit unit, const std::string& desc) {
  for (auto& c : counters_)
    if (c->name() == name) {
      if (c->unit() != unit)
        throw std::logic_error("stats: counter " + path() + "." + name + " registered with two units");
      return *c;
    }
  counters_.push_back(std::make_unique<Counter>(name, unit, desc));
  return *counters_.back();
}

Formula& Group::formula(const std::string& name, Unit unit, const std::string& desc,
                        std::function<double()> fn) {
  formulas_.push_back(std::make_unique<Formula>(name, unit, desc, std::move(fn)));
  return *formulas_.back();
}

Group& Group::child(const std::string& name) {
  for (auto& g : children_)
    if (g->name() == name) return *g;
  children_.push_back(std::make_unique<Group>(name, this));
  return *children_.back();
}

std::string Group::path() const {
  if (!parent_) return name_;
  std::string p = parent_->path();
  return p.empty() ? name_ : p + "." + name_;
}

void Group::reset() {
  for (auto& c : counters_) c->reset();
  for (auto& g : children_) g->reset();
}

Snapshot Group::snapshot() const {
  Snapshot s;
  collect(s);
  return s;
}

void Group::collect(Snapshot& out) const {
  const std::string base = path();
  auto full = [&](const std::string& n) { return base.empty() ? n : base + "." + n; };
  for (const auto& c : counters_)
    out.add({full(c->name()), c->unit(), static_cast<double>(c->value()), false, c->desc()});
  for (const auto& f : formulas_) out.add({full(f->name()), f->unit(), f->value(), true, f->desc()});
  for (const auto& g : children_) g->collect(out);
}

}  // namespace xpu::stats
