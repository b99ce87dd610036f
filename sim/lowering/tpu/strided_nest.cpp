#include "sim/lowering/tpu/strided_nest.h"

#include <algorithm>

namespace xpu::lowering::detail {

std::vector<StridedDim> merge_dims(const std::vector<StridedDim>& dims, size_t operands) {
  std::vector<StridedDim> out;
  for (const StridedDim& d : dims) {
    if (d.size == 1) continue;
    if (!out.empty()) {
      StridedDim& o = out.back();
      bool contiguous = true;
      for (size_t k = 0; k < operands && contiguous; ++k) contiguous = o.stride[k] == d.stride[k] * d.size;
      if (contiguous) {
        o.size *= d.size;
        o.stride = d.stride;
        continue;
      }
    }
    out.push_back(d);
  }
  return out;
}

uint64_t StridedNest::instructions() const {
  uint64_t n = 1;
  for (const auto& l : loops) n *= l.size;
  return n;
}

std::vector<uint64_t> StridedNest::offsets(uint64_t i) const {
  std::vector<uint64_t> off(elem.stride.size(), 0);
  for (size_t d = loops.size(); d-- > 0;) {
    const uint64_t idx = i % loops[d].size;
    i /= loops[d].size;
    for (size_t k = 0; k < off.size(); ++k) off[k] += idx * loops[d].stride[k];
  }
  return off;
}

StridedNest make_nest(const StridedDim& elem, std::vector<StridedDim> rest, size_t operands) {
  StridedNest s;
  s.elem = elem;
  s.row.stride.assign(operands, 0);
  if (!rest.empty()) {
    const auto big = std::max_element(rest.begin(), rest.end(),
                                      [](const StridedDim& a, const StridedDim& b) { return a.size < b.size; });
    s.row = *big;
    rest.erase(big);
  }
  s.loops = std::move(rest);
  return s;
}

}  // namespace xpu::lowering::detail
