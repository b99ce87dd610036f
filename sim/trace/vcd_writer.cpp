#include "sim/trace/vcd_writer.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace xpu::trace {

namespace {

void bits32(char* out, uint32_t v) {
  // Leading zeros are dropped as VCD allows (zero-extension).
  int hi = 31;
  while (hi > 0 && !((v >> hi) & 1u)) --hi;
  int n = 0;
  for (int b = hi; b >= 0; --b) out[n++] = ((v >> b) & 1u) ? '1' : '0';
  out[n] = 0;
}

}  // namespace

VcdWriter::VcdWriter(const std::string& path, uint32_t rows, uint32_t cols, double clock_mhz,
                     const std::string& scope, uint64_t max_changes)
    : path_(path), tmp_(path + ".tmp"), rows_(rows), cols_(cols),
      ps_per_cycle_(uint64_t(std::llround(1e6 / (clock_mhz > 0 ? clock_mhz : 1)))), scope_(scope),
      max_changes_(max_changes), last_(size_t(rows) * cols * 3, 0) {
  if (ps_per_cycle_ == 0) ps_per_cycle_ = 1;
  f_ = std::fopen(tmp_.c_str(), "w");
  if (!f_) throw std::runtime_error(tmp_ + ": cannot create: " + std::strerror(errno));
  header();
}

VcdWriter::~VcdWriter() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

// Identifier codes: base-94 over the printable characters '!'..'~'.
std::string VcdWriter::id(size_t index) const {
  std::string s;
  do {
    s += char('!' + index % 94);
    index /= 94;
  } while (index > 0);
  return s;
}

void VcdWriter::header() {
  std::fprintf(f_, "$date xpusim $end\n$version xpusim PE-level systolic array registers $end\n");
  std::fprintf(f_, "$comment one cycle = %llu ps; registers sampled after every systolic step $end\n",
               static_cast<unsigned long long>(ps_per_cycle_));
  std::fprintf(f_, "$timescale 1ps $end\n$scope module tpu $end\n$scope module %s $end\n", scope_.c_str());
  const size_t pes = size_t(rows_) * cols_;
  std::fprintf(f_, "$var wire 64 %s cycle $end\n", id(pes * 3).c_str());
  for (uint32_t r = 0; r < rows_; ++r)
    for (uint32_t c = 0; c < cols_; ++c) {
      const size_t p = size_t(r) * cols_ + c;
      std::fprintf(f_, "$scope module pe_r%u_c%u $end\n", r, c);
      std::fprintf(f_, "$var reg 32 %s weight $end\n", id(3 * p).c_str());
      std::fprintf(f_, "$var reg 32 %s activation $end\n", id(3 * p + 1).c_str());
      std::fprintf(f_, "$var reg 32 %s psum $end\n", id(3 * p + 2).c_str());
      std::fprintf(f_, "$upscope $end\n");
    }
  std::fprintf(f_, "$upscope $end\n$upscope $end\n$enddefinitions $end\n");
}

void VcdWriter::sample(uint64_t cycle, const tpu::PeRegisterView& v) {
  if (!f_ || !v.weight || !v.activation || !v.psum || v.rows != rows_ || v.cols != cols_) return;
  ++samples_;
  if (truncated_) return;
  const size_t pes = size_t(rows_) * cols_;
  char buf[40];
  if (!started_) {
    std::fprintf(f_, "#%llu\n$dumpvars\n", static_cast<unsigned long long>(cycle * ps_per_cycle_));
    for (size_t p = 0; p < pes; ++p) {
      const uint32_t vals[3] = {v.weight[p], v.activation[p], v.psum[p]};
      for (int k = 0; k < 3; ++k) {
        last_[3 * p + k] = vals[k];
        bits32(buf, vals[k]);
        std::fprintf(f_, "b%s %s\n", buf, id(3 * p + k).c_str());
      }
    }
    std::fprintf(f_, "b");
    for (int b = 63; b >= 0; --b) std::fputc(((cycle >> b) & 1u) ? '1' : '0', f_);
    std::fprintf(f_, " %s\n$end\n", id(pes * 3).c_str());
    started_ = true;
    last_cycle_ = cycle;
    changes_ += pes * 3 + 1;
    return;
  }
  if (cycle < last_cycle_) return;
  bool stamped = false;
  auto stamp = [&] {
    if (stamped) return;
    stamped = true;
    if (cycle != last_cycle_ || changes_ == 0)
      std::fprintf(f_, "#%llu\n", static_cast<unsigned long long>(cycle * ps_per_cycle_));
  };
  for (size_t p = 0; p < pes; ++p) {
    const uint32_t vals[3] = {v.weight[p], v.activation[p], v.psum[p]};
    for (int k = 0; k < 3; ++k) {
      if (vals[k] == last_[3 * p + k]) continue;
      stamp();
      last_[3 * p + k] = vals[k];
      bits32(buf, vals[k]);
      std::fprintf(f_, "b%s %s\n", buf, id(3 * p + k).c_str());
      ++changes_;
    }
  }
  if (stamped) {
    std::string c;
    for (int b = 63; b >= 0; --b) c += ((cycle >> b) & 1u) ? '1' : '0';
    const auto nz = c.find('1');
    std::fprintf(f_, "b%s %s\n", nz == std::string::npos ? "0" : c.c_str() + nz, id(pes * 3).c_str());
    ++changes_;
  }
  last_cycle_ = cycle;
  if (changes_ >= max_changes_) {
    truncated_ = true;
    std::fprintf(f_, "$comment truncated after %llu value changes $end\n",
                 static_cast<unsigned long long>(changes_));
  }
}

void VcdWriter::close() {
  if (!f_) return;
  std::fprintf(f_, "#%llu\n", static_cast<unsigned long long>((last_cycle_ + 1) * ps_per_cycle_));
  const bool ok = std::fflush(f_) == 0;
  std::fclose(f_);
  f_ = nullptr;
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0)
    throw std::runtime_error(path_ + ": cannot write VCD: " + std::strerror(errno));
}

}  // namespace xpu::trace
