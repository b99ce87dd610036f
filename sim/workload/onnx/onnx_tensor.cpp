#include "sim/workload/onnx/onnx_tensor.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "sim/config/document.h"
#include "sim/numerics/bf16.h"
#include "sim/numerics/fp16.h"
#include "sim/workload/onnx/onnx_tensor_proto.h"

namespace xpu::workload {

namespace {

using TP = onnx::TensorProto;

template <typename T>
std::vector<T> raw_values(const std::string& raw, size_t count) {
  if (raw.size() != count * sizeof(T))
    throw std::runtime_error("raw_data holds " + std::to_string(raw.size()) + " bytes, expected " +
                             std::to_string(count * sizeof(T)));
  std::vector<T> v(count);
  if (count) std::memcpy(v.data(), raw.data(), raw.size());  // ONNX raw_data is little-endian, as is the host
  return v;
}

void check_count(size_t got, size_t want) {
  if (got != want)
    throw std::runtime_error("holds " + std::to_string(got) + " values for " + std::to_string(want) + " elements");
}

}  // namespace

bool TensorData::is_integer() const {
  switch (onnx_type) {
    case TP::UINT8: case TP::INT8: case TP::UINT16: case TP::INT16: case TP::INT32: case TP::INT64: case TP::BOOL:
      return true;
    default: return false;
  }
}

bool TensorData::is_floating() const {
  return onnx_type == TP::FLOAT || onnx_type == TP::FLOAT16 || onnx_type == TP::BFLOAT16 || onnx_type == TP::DOUBLE;
}

const char* TensorData::type_name(int t) {
  switch (t) {
    case TP::FLOAT: return "float";
    case TP::UINT8: return "uint8";
    case TP::INT8: return "int8";
    case TP::UINT16: return "uint16";
    case TP::INT16: return "int16";
    case TP::INT32: return "int32";
    case TP::INT64: return "int64";
    case TP::STRING: return "string";
    case TP::BOOL: return "bool";
    case TP::FLOAT16: return "float16";
    case TP::DOUBLE: return "double";
    case TP::UINT32: return "uint32";
    case TP::UINT64: return "uint64";
    case TP::BFLOAT16: return "bfloat16";
    default: return "unknown";
  }
}

TensorData from_proto(const onnx::TensorProto& t) {
  TensorData d;
  d.name = t.name();
  d.onnx_type = t.data_type();
  size_t count = 1;
  for (int64_t dim : t.dims()) {
    if (dim < 0) throw std::runtime_error("negative dimension");
    d.shape.push_back(dim);
    if (__builtin_mul_overflow(count, size_t(dim), &count) || count > kMaxTensorDataElements)
      throw std::runtime_error("more than " + std::to_string(kMaxTensorDataElements) + " elements (dims " +
                               shape_to_string(d.shape) + "...)");
  }
  if (t.data_location() == TP::EXTERNAL) throw std::runtime_error("external data is not supported");
  const bool raw = t.has_raw_data();
  switch (d.onnx_type) {
    case TP::FLOAT:
      d.floats = raw ? raw_values<float>(t.raw_data(), count) : std::vector<float>(t.float_data().begin(), t.float_data().end());
      break;
    case TP::DOUBLE: {
      const auto v = raw ? raw_values<double>(t.raw_data(), count)
                         : std::vector<double>(t.double_data().begin(), t.double_data().end());
      for (double x : v) d.floats.push_back(float(x));
      break;
    }
    case TP::FLOAT16:
    case TP::BFLOAT16: {
      std::vector<uint16_t> bits;
      if (raw) bits = raw_values<uint16_t>(t.raw_data(), count);
      else for (int32_t b : t.int32_data()) bits.push_back(uint16_t(b));
      for (uint16_t b : bits)
        d.floats.push_back(d.onnx_type == TP::FLOAT16 ? fp16::from_bits(b).to_float() : bf16::from_bits(b).to_float());
      break;
    }
    case TP::INT64:
      d.ints = raw ? raw_values<int64_t>(t.raw_data(), count) : std::vector<int64_t>(t.int64_data().begin(), t.int64_data().end());
      break;
    case TP::INT32:
      if (raw) for (int32_t x : raw_values<int32_t>(t.raw_data(), count)) d.ints.push_back(x);
      else d.ints.assign(t.int32_data().begin(), t.int32_data().end());
      break;
    case TP::INT8:
      if (raw) for (int8_t x : raw_values<int8_t>(t.raw_data(), count)) d.ints.push_back(x);
      else d.ints.assign(t.int32_data().begin(), t.int32_data().end());
      break;
    case TP::UINT8:
    case TP::BOOL:
      if (raw) for (uint8_t x : raw_values<uint8_t>(t.raw_data(), count)) d.ints.push_back(x);
      else d.ints.assign(t.int32_data().begin(), t.int32_data().end());
      break;
    default:
      throw std::runtime_error(std::string("element type ") + TensorData::type_name(d.onnx_type) + " is not supported");
  }
  if (d.is_integer())
    for (int64_t x : d.ints) d.floats.push_back(float(x));
  check_count(d.floats.size(), count);
  // A NaN or infinity has no int8 scale and poisons every result it reaches.
  for (size_t i = 0; i < d.floats.size(); ++i)
    if (!std::isfinite(d.floats[i]))
      throw std::runtime_error("element " + std::to_string(i) + " is " + (std::isnan(d.floats[i]) ? "NaN" : "infinite") +
                               ": tensor values must be finite");
  return d;
}

TensorData parse_tensor_bytes(const std::string& bytes, const std::string& where) {
  onnx::TensorProto t;
  if (!t.ParseFromString(bytes))
    throw config::ConfigError(config::Diagnostic{where, 0, 0, "", "not a serialized ONNX TensorProto"});
  try {
    return from_proto(t);
  } catch (const std::runtime_error& e) {
    throw config::ConfigError(config::Diagnostic{where, 0, 0, t.name(), "tensor '" + t.name() + "': " + e.what()});
  }
}

TensorData read_tensor_pb(const std::string& path) {
  return parse_tensor_bytes(config::read_input_file(path, config::kMaxBinaryFileBytes), path);
}

}  // namespace xpu::workload
