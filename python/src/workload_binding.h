#pragma once
// Workloads seen from Python: their layers (with the IR's cost counts) and
// the fp32 reference executor on numpy arrays.
#include <pybind11/pybind11.h>

namespace xpu::python {

void bind_workload(pybind11::module_& m);

}  // namespace xpu::python
