#include "tests/fuzz/targets.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "sim/cli/validate.h"
#include "sim/common/errors.h"
#include "sim/config/diagnostics.h"
#include "sim/experiment/scalesim_run.h"
#include "sim/workload/expr.h"
#include "sim/workload/scalesim/scale_config.h"

namespace xpu::fuzz {

namespace {

// A finding: the message goes to stderr and abort() makes libFuzzer (or
// ctest) keep the input.
[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what.c_str());
  std::abort();
}

// A located error names its file and says what is wrong.
void check_located(const std::vector<config::Diagnostic>& diags) {
  for (const auto& d : diags)
    if (d.file.empty() || d.message.empty()) finding("diagnostic without file or message: " + d.to_string());
}

// validate_file reads a path: the bytes go to one scratch file per process
// and suffix (the suffix picks the format, as on the command line).
std::string scratch_file(const char* suffix, const uint8_t* data, size_t size) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/xpusim_fuzz_" + std::to_string(::getpid()) +
                           suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) finding("cannot write the scratch file " + path);
  if (size && std::fwrite(data, 1, size, f) != size) finding("cannot write the scratch file " + path);
  std::fclose(f);
  return path;
}

void validate_bytes(const char* suffix, const uint8_t* data, size_t size) {
  const std::string path = scratch_file(suffix, data, size);
  try {
    check_located(cli::validate_file(path, {}));
  } catch (const config::ConfigError& e) {
    check_located(e.diagnostics());
  } catch (const IoError&) {
  }
  std::remove(path.c_str());
}

void yaml(const uint8_t* d, size_t n) { validate_bytes(".yaml", d, n); }
void csv(const uint8_t* d, size_t n) { validate_bytes(".csv", d, n); }
void onnx(const uint8_t* d, size_t n) { validate_bytes(".onnx", d, n); }
void hf_config(const uint8_t* d, size_t n) { validate_bytes(".json", d, n); }

// Expressions as in a workload's params: a few names, extreme values included.
void expr(const uint8_t* d, size_t n) {
  const std::string text(reinterpret_cast<const char*>(d), n);
  std::string err;
  const auto v = workload::eval_expr(
      text,
      [](const std::string& name) -> std::optional<int64_t> {
        if (name == "batch") return 8;
        if (name == "neg") return -3;
        if (name == "big") return INT64_MAX;
        if (name == "small") return INT64_MIN;
        return std::nullopt;
      },
      err);
  if (!v && err.empty()) finding("an expression failed without a message");
}

// SCALE-Sim cfg: parsed, then mapped onto the TPU config the way `run
// --scalesim-cfg` does.
void scalesim_cfg(const uint8_t* d, size_t n) {
  try {
    const auto cfg = workload::scalesim::parse_scale_config(std::string(reinterpret_cast<const char*>(d), n), "fuzz.cfg");
    (void)experiment::tpu_config_from_scalesim(cfg);
  } catch (const config::ConfigError& e) {
    check_located(e.diagnostics());
  }
}

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> t = {
      {"accelerator", yaml}, {"energy", yaml},     {"workload", yaml},         {"experiment", yaml},
      {"sweep", yaml},       {"expr", expr},       {"scalesim_cfg", scalesim_cfg}, {"scalesim_csv", csv},
      {"onnx", onnx},        {"hf_config", hf_config},
  };
  return t;
}

const Target* find_target(const std::string& name) {
  for (const auto& t : targets())
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace xpu::fuzz
