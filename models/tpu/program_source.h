#pragma once
// A program delivered in pieces. The controller fetches a bounded chunk of
// instructions at a time (Controller::kFetchChunk) and keeps only the
// instructions in flight, so a program of any length -- a lowering that
// generates its instructions as they are asked for -- runs in bounded host
// memory. A whole Program is one source among others (ProgramView).
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "models/tpu/isa.h"

namespace xpu::tpu {

class ProgramSource {
 public:
  virtual ~ProgramSource() = default;
  virtual const std::string& name() const = 0;
  // Copies the next instructions, at most `max` (>= 1), to `out` and returns
  // how many; 0 once the program is exhausted (and on every later call).
  virtual size_t fetch(Instruction* out, size_t max) = 0;
  // The same without the copy, where the instructions already lie in order
  // in memory: points `*out` at the next ones, at most `max`, and returns how
  // many (valid until the next call). false: not supported, use fetch().
  virtual bool borrow(const Instruction** out, size_t max, size_t* n) {
    (void)out, (void)max, (void)n;
    return false;
  }
  // A feed (below): more instructions may still come, and how many are
  // waiting now.
  virtual bool open() const { return false; }
  virtual size_t buffered() const { return 0; }
};

// A materialized program, fetched in order.
class ProgramView final : public ProgramSource {
 public:
  explicit ProgramView(const Program& p) : p_(p) {}
  const std::string& name() const override { return p_.name; }
  size_t fetch(Instruction* out, size_t max) override {
    size_t n = 0;
    for (; n < max && pos_ < p_.code.size(); ++n) out[n] = p_.code[pos_++];
    return n;
  }
  bool borrow(const Instruction** out, size_t max, size_t* n) override {
    *n = std::min(max, p_.code.size() - pos_);
    *out = p_.code.data() + pos_;
    pos_ += *n;
    return true;
  }

 private:
  const Program& p_;
  size_t pos_ = 0;
};

// Instructions handed over while the program runs, by a producer that
// emits them as the TPU consumes (Tpu::start / resume). The producer keeps
// at least Controller::kFetchChunk * 2 waiting whenever the simulation runs,
// or has closed the feed, so the controller never waits for one.
class ProgramFeed final : public ProgramSource {
 public:
  explicit ProgramFeed(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  void push(const Instruction* p, size_t n) {
    // The producer refills before the buffer drains, so it is rarely empty:
    // drop the consumed front once it is at least half the buffer (each
    // instruction moves at most once on average), or the buffer would grow
    // with everything the layer ever emitted.
    if (pos_ > 0 && 2 * pos_ >= buf_.size()) {
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
      pos_ = 0;
    }
    buf_.insert(buf_.end(), p, p + n);
  }
  void close() { closed_ = true; }
  size_t fetch(Instruction* out, size_t max) override {
    const size_t n = std::min(max, buf_.size() - pos_);
    std::copy_n(buf_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out);
    pos_ += n;
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    return n;
  }
  bool open() const override { return !closed_; }
  size_t buffered() const override { return buf_.size() - pos_; }
  // Instructions held, consumed ones not yet dropped included.
  size_t held() const { return buf_.size(); }

 private:
  std::string name_;
  std::vector<Instruction> buf_;
  size_t pos_ = 0;
  bool closed_ = false;
};

}  // namespace xpu::tpu
