#include "python/src/workload_binding.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "sim/config/overrides.h"
#include "sim/workload/op_kind.h"
#include "sim/workload/reference_executor.h"
#include "sim/workload/workload.h"

namespace py = pybind11;

namespace xpu::python {

namespace {

workload::Workload load(const std::string& path, const std::vector<std::string>& overrides) {
  std::vector<std::string> plain;
  for (const auto& o : overrides) plain.push_back(config::strip_role(o));
  return workload::load_workload(path, plain);
}

py::list shape_list(const workload::Shape& s) {
  py::list l;
  for (auto d : s) l.append(d);
  return l;
}

py::dict tensor_info(const workload::Tensor& t) {
  py::dict d;
  d["name"] = t.name;
  d["shape"] = shape_list(t.shape);
  d["dtype"] = std::string(dtype_name(t.dtype));
  d["role"] = workload::role_name(t.role);
  return d;
}

// Everything a notebook needs to look at a workload; costs as the IR counts them.
py::dict workload_info(const std::string& path, const std::vector<std::string>& overrides) {
  const workload::Workload w = load(path, overrides);
  py::dict d;
  d["name"] = w.name;
  d["source_file"] = w.source_file;
  d["dtype"] = std::string(dtype_name(w.dtype));
  d["macs"] = w.macs();
  d["vector_ops"] = w.vector_ops();
  d["params"] = w.param_count();
  d["buffers"] = w.buffer_count();
  py::list inputs, outputs, layers;
  for (const auto& n : w.inputs) inputs.append(tensor_info(w.tensor(n)));
  for (const auto& n : w.outputs) outputs.append(tensor_info(w.tensor(n)));
  for (const auto& l : w.layers) {
    py::dict r;
    r["name"] = l.name;
    r["op"] = workload::op_name(l.op);
    r["inputs"] = l.inputs;
    r["outputs"] = l.outputs;
    r["out_shape"] = shape_list(l.out_shape);
    r["shape"] = l.shape();
    r["macs"] = l.cost.macs;
    r["vector_ops"] = l.cost.vector_ops;
    r["params"] = l.cost.params;
    layers.append(r);
  }
  d["inputs"] = inputs;
  d["outputs"] = outputs;
  d["layers"] = layers;
  return d;
}

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// Runs the fp32 reference executor with the GIL released. Returns the graph
// outputs, or every tensor when `all`.
py::dict reference(const std::string& path, const std::vector<std::string>& overrides,
                   const std::map<std::string, FloatArray>& feeds, bool all) {
  const workload::Workload w = load(path, overrides);
  workload::TensorValues in;
  for (const auto& [name, a] : feeds) in[name] = std::vector<float>(a.data(), a.data() + a.size());
  workload::TensorValues out;
  {
    py::gil_scoped_release nogil;
    out = workload::execute(w, in);
  }
  py::dict r;
  auto put = [&](const std::string& name) {
    const auto it = out.find(name);
    if (it == out.end()) return;
    const workload::Tensor& t = w.tensor(name);
    std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end());
    FloatArray a(shape);
    if (size_t(a.size()) != it->second.size()) return;  // a tensor without values (no producer ran)
    std::copy(it->second.begin(), it->second.end(), a.mutable_data());
    r[py::str(name)] = a;
  };
  if (all) {
    for (const auto& t : w.tensors) put(t.name);
  } else {
    for (const auto& n : w.outputs) put(n);
  }
  return r;
}

}  // namespace

void bind_workload(py::module_& m) {
  m.def("workload_info", &workload_info, py::arg("path"), py::arg("overrides"));
  m.def("reference", &reference, py::arg("path"), py::arg("overrides"), py::arg("feeds"), py::arg("all") = false);
}

}  // namespace xpu::python
