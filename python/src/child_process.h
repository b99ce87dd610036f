#pragma once
// Runs a simulation in a forked child process and waits for it with the GIL
// released. SystemC elaborates once per process, so each run needs a fresh
// process; the child also keeps Ctrl-C clean: the parent polls Python's
// signal handlers while it waits and, on KeyboardInterrupt, kills the child
// (which takes its sweep workers with it) before the exception propagates.
#include <functional>

namespace xpu::python {

// Calls `work` in a child process and returns its result (an exit code).
// An exception `work` throws is carried back and raised as the matching
// xpusim.errors exception (pybind11::error_already_set); so is a Python
// exception from a signal handler (KeyboardInterrupt) while waiting. A child
// that dies of a signal is an InternalError.
int run_in_child(const std::function<int()>& work);

}  // namespace xpu::python
