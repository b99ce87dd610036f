#include "python/src/errors.h"

#include <pybind11/pybind11.h>

#include <stdexcept>

#include "sim/common/errors.h"
#include "sim/experiment/sweep.h"
#include "sim/lowering/lowering_error.h"

namespace py = pybind11;

namespace xpu::python {

ErrorRecord record_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const config::ConfigError& x) {
    return {"ConfigError", x.what(), x.diagnostics()};
  } catch (const lowering::LoweringError& x) {
    return {"LoweringError", x.what(), {}};
  } catch (const experiment::SweepError& x) {
    return {"SweepError", x.what(), {}};
  } catch (const IoError& x) {
    return {"IoError", x.what(), {}};
  } catch (const InternalError& x) {
    return {"InternalError", x.what(), {}};
  } catch (const std::invalid_argument& x) {
    // Readers of user data that report bad values this way (the CLI: exit 1).
    return {"InputError", x.what(), {}};
  } catch (const std::exception& x) {
    return {"InternalError", x.what(), {}};
  } catch (...) {
    return {"InternalError", "unknown exception", {}};
  }
}

nlohmann::json to_json(const ErrorRecord& r) {
  nlohmann::json d = nlohmann::json::array();
  for (const auto& x : r.diagnostics)
    d.push_back({{"file", x.file}, {"line", x.line}, {"column", x.column}, {"key", x.key_path}, {"message", x.message}});
  return {{"type", r.type}, {"message", r.message}, {"diagnostics", d}};
}

ErrorRecord from_json(const nlohmann::json& j) {
  ErrorRecord r{j.at("type").get<std::string>(), j.at("message").get<std::string>(), {}};
  for (const auto& d : j.at("diagnostics"))
    r.diagnostics.push_back(config::Diagnostic{d.at("file").get<std::string>(), d.at("line").get<int>(),
                                               d.at("column").get<int>(), d.at("key").get<std::string>(),
                                               d.at("message").get<std::string>()});
  return r;
}

void set_python_error(const ErrorRecord& r) {
  py::object errors = py::module_::import("xpusim.errors");
  py::list diags;
  for (const auto& d : r.diagnostics)
    diags.append(errors.attr("Diagnostic")(d.file, d.line, d.column, d.key_path, d.message));
  py::object cls = errors.attr(r.type.c_str());
  py::object exc = cls(r.message, diags);
  PyErr_SetObject(cls.ptr(), exc.ptr());
}

}  // namespace xpu::python
