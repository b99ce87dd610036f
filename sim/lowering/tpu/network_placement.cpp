// Tensor placement of the network lowering (network.h): the unified buffer's
// first-fit allocator, host memory, and the one place where tensors are
// spilled to host memory and read back.
#include <algorithm>

#include "sim/common/errors.h"
#include "sim/lowering/tpu/network_builder.h"

namespace xpu::lowering::detail {

using workload::Layer;

tpu::Instruction host_dma(tpu::Opcode op, uint64_t host_addr, uint64_t ub_addr, uint64_t bytes) {
  tpu::Instruction in;
  in.op = op;
  in.host_addr = host_addr;
  in.ub_addr = ub_addr;
  in.bytes = bytes;
  return in;
}

// ---- allocator ----

UbAllocator::UbAllocator(uint64_t capacity) : capacity_(capacity / kUbAlign * kUbAlign) {}

std::optional<uint64_t> UbAllocator::alloc(uint64_t bytes) {
  const uint64_t size = align_up(std::max<uint64_t>(bytes, 1), kUbAlign);
  uint64_t at = 0;
  for (const auto& [addr, sz] : used_) {
    if (addr >= at + size) break;
    at = std::max(at, addr + sz);
  }
  if (at + size > capacity_) return std::nullopt;
  used_[at] = size;
  return at;
}

void UbAllocator::free(uint64_t addr) { used_.erase(addr); }

uint64_t UbAllocator::largest_free() const {
  uint64_t at = 0, best = 0;
  for (const auto& [addr, sz] : used_) {
    best = std::max(best, addr - at);
    at = addr + sz;
  }
  return std::max(best, capacity_ - at);
}

uint64_t UbAllocator::free_bytes() const {
  uint64_t u = 0;
  for (const auto& kv : used_) u += kv.second;
  return capacity_ - u;
}

// ---- host memory ----

uint64_t NetBuilder::host_alloc(uint64_t bytes) {
  const uint64_t a = host_next_;
  host_next_ = align_up(host_next_ + bytes, 4096);
  result_.host_bytes = host_next_;
  return a;
}

// ---- spilling ----

void NetBuilder::note_io(const std::string& what) { cur_->io = cur_->io == "resident" ? what : cur_->io + ", " + what; }

size_t NetBuilder::next_use(const std::string& r) const {
  auto it = reads_.find(r);
  if (it != reads_.end())
    for (size_t g : it->second)
      if (g >= cur_group_) return g;
  return graph_outputs_.count(r) ? groups_.size() : size_t(-1);
}

void NetBuilder::spill(const std::string& r, Live& lv) {
  const auto kept = in_place_host_.find(r);  // an in-place append's buffer holds it already
  lv.host_addr = kept != in_place_host_.end() ? kept->second : host_alloc(lv.place.bytes);
  alloc_.free(lv.place.ub);
  lv.on_host = true;
  if (kept != in_place_host_.end()) {
    note_io("dropped " + r + " (kept in host memory)");
    return;
  }
  emit(host_dma(tpu::Opcode::write_host_memory, lv.host_addr, lv.place.ub, lv.place.bytes));
  cur_->spill_bytes += lv.place.bytes;
  note_io("spilled " + r);
}

void NetBuilder::read_back(const std::string& r, Live& lv) {
  lv.place.ub = ub_alloc(lv.place.bytes, "reading back '" + r + "'");
  emit(host_dma(tpu::Opcode::read_host_memory, lv.host_addr, lv.place.ub, lv.place.bytes));
  lv.on_host = false;
  cur_->spill_bytes += lv.place.bytes;
  note_io("read back " + r);
}

bool NetBuilder::try_spill_one() {
  // Farthest next use first among resident tensors this layer does not use.
  std::string victim;
  size_t best = 0;
  for (const auto& [name, lv] : live_) {
    if (lv.on_host || pinned_.count(name)) continue;
    const size_t nu = next_use(name);
    if (victim.empty() || nu > best) {
      victim = name;
      best = nu;
    }
  }
  if (victim.empty()) return false;
  spill(victim, live_[victim]);
  return true;
}

void NetBuilder::spill_one(const std::string& what, uint64_t need) {
  if (try_spill_one()) return;
  const Layer& l = *groups_[cur_group_].front();
  fail(l, what + " needs " + std::to_string(need) + " bytes of the unified buffer (" +
              std::to_string(cfg_.unified_buffer.capacity_bytes) + " bytes, " + std::to_string(alloc_.free_bytes()) +
              " free) with every other tensor spilled: its operands cannot be tiled to fit");
}

uint64_t NetBuilder::ub_alloc(uint64_t bytes, const std::string& what) {
  for (;;) {
    if (auto a = alloc_.alloc(bytes)) return *a;
    spill_one(what, bytes);
  }
}

bool NetBuilder::fits_with(const std::string& in, uint64_t out_bytes) const {
  const uint64_t a = align_up(tensor_bytes(in), 64), y = align_up(out_bytes, 64);
  if (a + y > ub_capacity()) return false;
  const std::string& r = root(in);
  const auto it = live_.find(r);
  // Read back into a buffer emptied by spills: the allocator places both.
  if (it == live_.end() || it->second.on_host) return true;
  UbAllocator al = alloc_;
  for (const auto& [name, lv] : live_)
    if (!lv.on_host && !pinned_.count(name) && name != r) al.free(lv.place.ub);
  return al.largest_free() >= y;
}

uint64_t NetBuilder::ub_extent_after_spills() const {
  UbAllocator a = alloc_;
  for (const auto& [name, lv] : live_)
    if (!lv.on_host && !pinned_.count(name)) a.free(lv.place.ub);
  return a.largest_free();
}

// ---- tensors ----

bool NetBuilder::resident(const std::string& tensor) const {
  auto it = live_.find(root(tensor));
  return it != live_.end() && !it->second.on_host;
}

uint64_t NetBuilder::tensor_bytes(const std::string& tensor) const {
  return workload::numel(w_.tensor(tensor).shape) * dtype_bytes(tensor_dtype(tensor));
}

// An argmax's output is a vocabulary index: fp32, exact (a 16-bit type is not).
DType NetBuilder::tensor_dtype(const std::string& tensor) const {
  const workload::Tensor& t = w_.tensor(tensor);
  const workload::Layer* p = t.producer.empty() ? nullptr : w_.find_layer(t.producer);
  return p && p->op == workload::OpKind::argmax ? DType::fp32 : dt();
}

TensorPlace NetBuilder::place_of(const std::string& tensor, const Live& lv) const {
  TensorPlace p = lv.place;
  p.tensor = tensor;
  p.shape = w_.tensor(tensor).shape;
  p.nhwc = p.shape.size() == 4 && is_nhwc(tensor);
  if (lv.on_host) p.ub = lv.host_addr;
  return p;
}

NetBuilder::Live& NetBuilder::pin(const std::string& r) {
  auto it = live_.find(r);
  if (it == live_.end()) throw InternalError("network lowering: tensor '" + r + "' has no place");
  pinned_.insert(r);
  return it->second;
}

TensorPlace NetBuilder::use(const std::string& tensor) {
  const std::string& r = root(tensor);
  Live& lv = pin(r);
  if (lv.on_host) read_back(r, lv);
  return place_of(tensor, lv);
}

TensorPlace NetBuilder::use_on_host(const std::string& tensor) {
  const std::string& r = root(tensor);
  Live& lv = pin(r);
  // Resident but the layer streams it: one write out, then bands come back.
  if (!lv.on_host) spill(r, lv);
  return place_of(tensor, lv);
}

TensorPlace NetBuilder::new_place(const std::string& tensor, bool nhwc) const {
  const workload::Tensor& t = w_.tensor(tensor);
  TensorPlace p;
  p.tensor = tensor;
  p.shape = t.shape;
  p.dtype = tensor_dtype(tensor);
  p.scale = p.dtype == DType::fp32 ? 1.0f : scale_of(tensor);
  p.nhwc = nhwc;
  p.bytes = workload::numel(t.shape) * dtype_bytes(p.dtype);
  return p;
}

TensorPlace NetBuilder::produce(const std::string& tensor, bool nhwc) {
  TensorPlace p = new_place(tensor, nhwc);
  p.ub = ub_alloc(p.bytes, "output '" + tensor + "'");
  Live lv;
  lv.place = p;
  live_[tensor] = lv;
  pinned_.insert(tensor);
  return p;
}

TensorPlace NetBuilder::produce_on_host(const std::string& tensor, bool nhwc) {
  Live lv;
  lv.place = new_place(tensor, nhwc);
  lv.on_host = true;
  lv.host_addr = host_alloc(lv.place.bytes);
  live_[tensor] = lv;
  pinned_.insert(tensor);
  TensorPlace p = lv.place;
  p.ub = lv.host_addr;
  return p;
}

TensorPlace NetBuilder::output_to_host(const std::string& tensor) {
  Live& lv = live_.at(tensor);
  alloc_.free(lv.place.ub);
  lv.on_host = true;
  lv.host_addr = host_alloc(lv.place.bytes);
  TensorPlace p = lv.place;
  p.ub = lv.host_addr;
  return p;
}

uint64_t NetBuilder::scratch(uint64_t bytes, const std::string& what) {
  const uint64_t a = ub_alloc(bytes, what);
  scratch_.push_back(a);
  return a;
}

uint64_t NetBuilder::constant(std::vector<uint8_t> bytes, const std::string& what) {
  const uint64_t ub = scratch(bytes.size(), what);
  HostConstant hc;
  hc.host_addr = host_alloc(bytes.size());
  emit(host_dma(tpu::Opcode::read_host_memory, hc.host_addr, ub, bytes.size()));
  if (opts_.values) hc.bytes = std::move(bytes);
  step_->host_constants.push_back(std::move(hc));
  return ub;
}

uint64_t NetBuilder::host_constant(uint64_t bytes, std::vector<uint8_t> values) {
  HostConstant hc;
  hc.host_addr = host_alloc(bytes);
  if (opts_.values) hc.bytes = std::move(values);
  step_->host_constants.push_back(std::move(hc));
  return step_->host_constants.back().host_addr;
}

void NetBuilder::free_dead_tensors() {
  for (uint64_t a : scratch_) alloc_.free(a);
  scratch_.clear();
  pinned_.clear();
  // Free tensors no later group reads (graph outputs stay until staged out).
  for (auto it = live_.begin(); it != live_.end();) {
    bool needed = graph_outputs_.count(it->first) != 0;
    for (size_t g : reads_[it->first]) needed = needed || g > cur_group_;
    if (!needed) {
      if (!it->second.on_host) alloc_.free(it->second.place.ub);
      it = live_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace xpu::lowering::detail
