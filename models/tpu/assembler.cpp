#include "models/tpu/assembler.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "sim/config/diagnostics.h"  // did_you_mean

namespace xpu::tpu {

AssemblyError::AssemblyError(std::string file, int line, std::string token, const std::string& message)
    : std::runtime_error(file + ":" + std::to_string(line) + ": " + message +
                         (token.empty() ? std::string() : " (at '" + token + "')")),
      file_(std::move(file)),
      line_(line),
      token_(std::move(token)) {}

namespace {

const std::vector<std::string>& opcode_names() {
  static const std::vector<std::string> names = {"read_host_memory", "write_host_memory", "read_weights",
                                                 "matmul", "activate", "sync", "halt", "vector"};
  return names;
}

// Keys each opcode accepts.
const std::vector<std::string>& keys_for(Opcode op) {
  static const std::map<Opcode, std::vector<std::string>> keys = {
      {Opcode::read_host_memory, {"host", "ub", "bytes"}},
      {Opcode::write_host_memory, {"ub", "host", "bytes"}},
      {Opcode::read_weights, {"weights", "k", "n", "dtype"}},
      {Opcode::matmul, {"ub", "stride", "acc", "rows", "k", "n", "dtype", "accumulate", "load_weights"}},
      {Opcode::activate, {"acc", "rows", "n", "ub", "stride", "fn", "out_dtype", "scale", "bias", "in_scale", "p0", "p1"}},
      {Opcode::vector, {"op", "rows", "n", "ub", "stride", "estride", "dtype", "in_scale", "ub2", "stride2", "estride2",
                        "dtype2", "in_scale2", "dst", "dst_stride", "dst_estride", "out_dtype", "fn", "scale", "p0",
                        "p1", "affine", "k"}},
      {Opcode::sync, {}},
      {Opcode::halt, {}}};
  return keys.at(op);
}

class LineParser {
 public:
  LineParser(const std::string& file, int line) : file_(file), line_(line) {}

  [[noreturn]] void fail(const std::string& token, const std::string& msg) const {
    throw AssemblyError(file_, line_, token, msg);
  }

  Instruction parse(const std::vector<std::string>& tokens) {
    Instruction in;
    in.source_line = line_;
    const std::string& opname = tokens[0];
    bool found = false;
    for (size_t i = 0; i < opcode_names().size(); ++i) {
      if (opname == opcode_names()[i]) {
        in.op = static_cast<Opcode>(i);
        found = true;
      }
    }
    if (!found) {
      std::string msg = "unknown opcode";
      const std::string hint = config::did_you_mean(opname, opcode_names());
      if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
      fail(opname, msg);
    }
    const auto& allowed = keys_for(in.op);
    for (size_t i = 1; i < tokens.size(); ++i) {
      const std::string& tok = tokens[i];
      const size_t eq = tok.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == tok.size()) {
        fail(tok, "expected key=value");
      }
      const std::string key = tok.substr(0, eq);
      bool ok = false;
      for (const auto& a : allowed) ok = ok || a == key;
      if (!ok) {
        std::string msg = "unknown key '" + key + "' for " + opname;
        const std::string hint = config::did_you_mean(key, allowed);
        if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
        if (allowed.empty()) msg += " (it takes no fields)";
        fail(tok, msg);
      }
      if (fields_.count(key)) fail(tok, "duplicate key '" + key + "'");
      fields_[key] = tok;
    }

    switch (in.op) {
      case Opcode::read_host_memory:
      case Opcode::write_host_memory:
        in.host_addr = u64("host");
        in.ub_addr = u64("ub");
        in.bytes = u64("bytes");
        break;
      case Opcode::read_weights:
        in.weight_addr = u64("weights");
        in.k = u32("k");
        in.n = u32("n");
        in.dtype = dtype("dtype", DType::int8);
        break;
      case Opcode::matmul:
        in.ub_addr = u64("ub");
        in.acc_addr = u32("acc");
        in.rows = u32("rows");
        in.k = u32("k");
        in.n = u32("n");
        in.dtype = dtype("dtype", DType::int8);
        in.ub_stride = has("stride") ? u64("stride") : uint64_t(in.k) * dtype_bytes(in.dtype);
        in.accumulate = boolean("accumulate", false);
        in.load_weights = boolean("load_weights", true);
        break;
      case Opcode::activate: {
        in.acc_addr = u32("acc");
        in.rows = u32("rows");
        in.n = u32("n");
        in.ub_addr = u64("ub");
        in.out_dtype = dtype("out_dtype", DType::int32);
        in.ub_stride = has("stride") ? u64("stride") : uint64_t(in.n) * dtype_bytes(in.out_dtype);
        in.fn = act_fn("fn");
        in.scale = has("scale") ? real("scale") : 1.0f;
        if (has("bias")) {
          in.bias = true;
          in.bias_addr = u64("bias");
        }
        in.in_scale = has("in_scale") ? real("in_scale") : 1.0f;
        in.p0 = has("p0") ? real("p0") : 0.0f;
        in.p1 = has("p1") ? real("p1") : 0.0f;
        break;
      }
      case Opcode::vector: {
        require("op");
        bool found_op = false;
        std::vector<std::string> names;
        for (int i = 0; i <= int(VectorOp::argmax); ++i) {
          names.push_back(vector_op_name(VectorOp(i)));
          if (value("op") == names.back()) {
            in.vop = VectorOp(i);
            found_op = true;
          }
        }
        if (!found_op) fail(fields_.at("op"), "unknown vector op" + hint(value("op"), names));
        in.rows = u32("rows");
        in.n = u32("n");
        in.dtype = dtype("dtype", DType::int8);
        in.out_dtype = dtype("out_dtype", in.dtype);
        in.ub_addr = has("ub") ? u64("ub") : 0;
        in.elem_stride = has("estride") ? u32("estride") : 1;
        in.ub_stride = has("stride") ? u64("stride") : uint64_t(in.n) * dtype_bytes(in.dtype);
        in.ub_addr2 = has("ub2") ? u64("ub2") : 0;
        in.dtype2 = dtype("dtype2", DType::fp32);
        in.elem_stride2 = has("estride2") ? u32("estride2") : 1;
        in.ub_stride2 = has("stride2") ? u64("stride2") : 0;
        in.dst_addr = u64("dst");
        in.dst_elem_stride = has("dst_estride") ? u32("dst_estride") : 1;
        in.dst_stride = has("dst_stride") ? u64("dst_stride") : uint64_t(in.n) * dtype_bytes(in.out_dtype);
        in.in_scale = has("in_scale") ? real("in_scale") : 1.0f;
        in.in_scale2 = has("in_scale2") ? real("in_scale2") : 1.0f;
        in.fn = act_fn("fn");
        in.scale = has("scale") ? real("scale") : 1.0f;
        in.p0 = has("p0") ? real("p0") : 0.0f;
        in.p1 = has("p1") ? real("p1") : 0.0f;
        in.bias = boolean("affine", false);
        in.k = has("k") ? u32("k") : 0;  // rope: the head dimension
        break;
      }
      case Opcode::sync:
      case Opcode::halt:
        break;
    }
    return in;
  }

 private:
  bool has(const std::string& key) const { return fields_.count(key) != 0; }
  std::string value(const std::string& key) const {
    const std::string& tok = fields_.at(key);
    return tok.substr(tok.find('=') + 1);
  }
  void require(const std::string& key) const {
    if (!has(key)) fail("", "missing required key '" + key + "'");
  }

  uint64_t u64(const std::string& key) const {
    require(key);
    const std::string v = value(key);
    if (v.empty() || v[0] == '-' || v[0] == '+') fail(fields_.at(key), "expected a non-negative integer");
    errno = 0;
    char* end = nullptr;
    const unsigned long long x = std::strtoull(v.c_str(), &end, 0);
    if (errno != 0 || end == v.c_str() || *end != '\0') {
      fail(fields_.at(key), "expected a non-negative integer (decimal or 0x hex)");
    }
    return x;
  }
  uint32_t u32(const std::string& key) const {
    const uint64_t x = u64(key);
    if (x > 0xFFFFFFFFull) fail(fields_.at(key), "value does not fit in 32 bits");
    return static_cast<uint32_t>(x);
  }
  static std::string hint(const std::string& v, const std::vector<std::string>& names) {
    const std::string h = config::did_you_mean(v, names);
    return h.empty() ? std::string() : " (did you mean '" + h + "'?)";
  }
  ActFn act_fn(const std::string& key) const {
    if (!has(key)) return ActFn::none;
    if (const auto fn = act_fn_from_name(value(key))) return *fn;
    const std::vector<std::string>& names = act_fn_names();
    std::string list;
    for (size_t i = 0; i < names.size(); ++i)
      list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    fail(fields_.at(key), "unknown activation function (expected " + list + ")" + hint(value(key), names));
  }
  bool boolean(const std::string& key, bool def) const {
    if (!has(key)) return def;
    const std::string v = value(key);
    if (v == "1" || v == "true") return true;
    if (v == "0" || v == "false") return false;
    fail(fields_.at(key), "expected 0, 1, true or false");
  }
  DType dtype(const std::string& key, DType def) const {
    if (!has(key)) return def;
    const auto t = parse_dtype(value(key));
    if (!t) fail(fields_.at(key), "unknown dtype (expected int8, bf16, fp16, fp32 or int32)");
    return *t;
  }
  float real(const std::string& key) const {
    const std::string v = value(key);
    char* end = nullptr;
    const float f = std::strtof(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0') fail(fields_.at(key), "expected a number");
    return f;
  }

  const std::string& file_;
  int line_;
  std::map<std::string, std::string> fields_;
};

}  // namespace

Program parse_assembly(const std::string& text, const std::string& name) {
  Program p;
  p.name = name;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    std::istringstream ls(line);
    std::vector<std::string> tokens;
    for (std::string t; ls >> t;) tokens.push_back(t);
    if (tokens.empty()) continue;
    LineParser lp(name, lineno);
    p.code.push_back(lp.parse(tokens));
  }
  return p;
}

Program load_assembly(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw AssemblyError(path, 0, "", "cannot open file");
  std::ostringstream ss;
  ss << f.rdbuf();
  Program p = parse_assembly(ss.str(), path);
  const size_t slash = path.find_last_of('/');
  std::string stem = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = stem.find_last_of('.');
  if (dot != std::string::npos && dot > 0) stem.erase(dot);
  p.name = stem;
  return p;
}

std::string to_assembly(const Program& program) {
  std::string s;
  for (const Instruction& in : program.code) s += in.to_string() + "\n";
  return s;
}

}  // namespace xpu::tpu
