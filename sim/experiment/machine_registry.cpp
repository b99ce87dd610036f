#include "sim/experiment/machine_registry.h"

#include <algorithm>
#include <map>

#include "sim/common/errors.h"
#include "sim/config/file_kind.h"

namespace xpu::experiment {

namespace {
// Built on first use: registrations run from other files' static
// initializers, in an order the language leaves open.
std::map<std::string, MachineKind>& table() {
  static std::map<std::string, MachineKind> t;
  return t;
}
}  // namespace

bool register_machine(MachineKind kind) {
  if (kind.kind.empty() || !kind.check_config || !kind.make_backend)
    throw InternalError("machine kind '" + kind.kind + "' registered without a name, config loader or backend");
  const std::string name = kind.kind;
  if (!table().emplace(name, std::move(kind)).second)
    throw InternalError("machine kind '" + name + "' registered twice");
  return true;
}

const MachineKind* find_machine(const std::string& kind) {
  const auto it = table().find(kind);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<std::string> machine_kinds() {
  std::vector<std::string> out;
  for (const auto& [name, k] : table()) out.push_back(name);
  return out;  // std::map: sorted
}

const MachineKind& machine_kind_of(const config::Document& doc) {
  const config::FileKind k = config::file_kind(doc);
  if (const MachineKind* m = find_machine(k.value)) return *m;
  throw config::ConfigError(
      config::kind_error(doc, k, "expected an accelerator config, got kind", machine_kinds()));
}

}  // namespace xpu::experiment
