#pragma once
// Sweeps across machines: `mpirun -np N xpusim sweep sweep.yaml`. Rank 0
// owns the output directory (lock, plan, resume); it broadcasts the pending
// point indices, which are dealt round-robin over the ranks; every rank runs
// its share with -j worker processes (workers never call MPI) and sends each
// result text to rank 0 as it finishes; rank 0 commits it to points/ exactly
// as a local sweep would and finally writes the reports. Results are
// byte-identical to a local run of the same sweep.
#include "sim/experiment/sweep.h"

namespace xpu::experiment {

// True when this process was started by mpirun/mpiexec (OpenMPI, MPICH or
// PMI environment).
bool launched_by_mpi();
// True when built with MPI (CMake option XPUSIM_WITH_MPI).
bool mpi_built();
// Only when mpi_built(). Returns the exit code (same on every rank).
int run_sweep_mpi(const std::string& sweep_file, const SweepOptions& opts);

}  // namespace xpu::experiment
