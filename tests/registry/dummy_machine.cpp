// A third machine kind that exists only in this test binary: its typed config,
// its backend and the one line that registers it. Nothing outside this file
// names it, which is the point: adding a kind touches no shared code.
//
// The machine: a matrix unit of `macs_per_cycle` MACs per cycle at every
// precision and nothing else, so a GEMM layer takes ceil(macs /
// macs_per_cycle) cycles.
#include <memory>

#include "sim/config/document.h"
#include "sim/config/reader.h"
#include "sim/experiment/machine_registry.h"

namespace xpu::experiment {

namespace {

struct DummyConfig {
  std::string name;
  double clock_mhz = 0;
  int64_t macs_per_cycle = 0;
  double dram_gbps = 0;
};

DummyConfig load_dummy_config(const std::string& file, const std::vector<std::string>& overrides) {
  config::Document doc = config::Document::load(file);
  doc.apply_overrides(overrides);
  config::Diagnostics diags;
  DummyConfig c;
  {
    config::Reader r(doc, diags);
    r.choice("kind", {"dummy"});
    c.name = r.string("name");
    c.clock_mhz = r.number("clock_mhz", std::nullopt, 1, 1e5);
    c.macs_per_cycle = r.positive("macs_per_cycle", std::nullopt, 1 << 20);
    c.dram_gbps = r.number("dram_gbps", 10.0, 0.001, 1e6);
    r.finish();
  }
  diags.throw_if_any();
  return c;
}

class DummyBackend : public Backend {
 public:
  explicit DummyBackend(DummyConfig c) : c_(std::move(c)) {}
  std::string kind() const override { return "dummy"; }
  std::string name() const override { return c_.name; }
  double clock_mhz() const override { return c_.clock_mhz; }
  double peak_macs_per_cycle(DType) const override { return double(c_.macs_per_cycle); }
  double dram_gbps() const override { return c_.dram_gbps; }
  MatrixUnit matrix_unit() const override { return MatrixUnit{"dummy unit", 1, unsigned(c_.macs_per_cycle), 1, false}; }
  void check_workload(const workload::Workload& w, DType) const override {
    for (const auto& l : w.layers) require_plain_gemm(l, "dummy");
  }
  std::vector<report::LayerResult> run_workload(const workload::Workload& w, DType,
                                                const LayerRunOptions&) override {
    std::vector<report::LayerResult> out;
    for (const auto& layer : w.layers) {
      report::LayerResult r;
      r.name = layer.name;
      r.op = "gemm";
      r.shape = layer.shape();
      r.macs = layer.macs();
      r.cycles = (r.macs + uint64_t(c_.macs_per_cycle) - 1) / uint64_t(c_.macs_per_cycle);
      r.seconds = double(r.cycles) / (c_.clock_mhz * 1e6);
      r.utilization = double(r.macs) / (double(c_.macs_per_cycle) * double(r.cycles));
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  DummyConfig c_;
};

std::unique_ptr<Backend> make_dummy_backend(const DummyConfig& c, const energy::EnergyTable&, const std::string&) {
  return std::make_unique<DummyBackend>(c);
}

}  // namespace

XPUSIM_REGISTER_MACHINE(dummy, load_dummy_config, make_dummy_backend);

}  // namespace xpu::experiment
