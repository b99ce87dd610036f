"""xpusim from Python: load accelerators, workloads, experiments and sweeps
(files or dicts, validated like the CLI does), run them, and get the reports
as pandas DataFrames.

    import xpusim
    exp = xpusim.load_experiment("configs/experiments/default.yaml",
                                 overrides={"experiment.fidelity": "timing"})
    res = exp.run()
    res.summary        # a row per accelerator x workload x precision
    res.layers         # layers.csv
"""
from . import _xpusim as _core
from .api import (Accelerator, Experiment, Sweep, Workload, data_file, executable, load_accelerator,
                  load_experiment, load_sweep, load_workload, validate)
from .errors import (ConfigError, Diagnostic, InputError, InternalError, IoError, LoweringError, SweepError,
                     XpusimError)
from .results import RunResult, SweepResult

__version__ = _core.__version__


def machine_kinds():
    """The registered accelerator kinds (``kind:`` values)."""
    return _core.machine_kinds()
