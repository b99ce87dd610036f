"""Loading accelerators, workloads, experiments and sweeps; running them."""
import os
import tempfile
from typing import Mapping, Optional

import pandas as pd

from . import _inputs, _paths
from . import _xpusim as _core
from .results import RunResult, SweepResult


def data_file(relative: str) -> str:
    """A file shipped with xpusim, e.g. ``data_file("configs/energy/horowitz_45nm.yaml")``."""
    return os.path.join(_paths.DATA_DIR, relative)


def executable() -> str:
    """The xpusim command-line executable ($XPUSIM_EXE first)."""
    return os.environ.get("XPUSIM_EXE") or _paths.EXECUTABLE


def _progress(progress: Optional[bool]) -> bool:
    """The CLI's progress bar (on stderr, for runs over ~2 s): by default when
    stderr is a terminal; `quiet` only silences the log."""
    return os.isatty(2) if progress is None else progress


class Accelerator:
    """An accelerator config (``kind: tpu``, ``kind: gpu``, ...), validated
    with its overrides applied. ``path`` is the file (written from the dict
    when given one); ``overrides`` travel with it into experiments."""

    def __init__(self, src, overrides=None, base_dir: Optional[str] = None):
        self._scratch = _inputs.Scratch()
        self.path = _inputs.file_of(src, self._scratch, "accelerator", base_dir or os.getcwd())
        self.overrides = _inputs.override_list(overrides)
        info = _core.accelerator_info(self.path, self.overrides)
        self.kind, self.name = info["kind"], info["name"]

    def __repr__(self):
        return f"Accelerator({self.name!r}, kind={self.kind!r}, path={self.path!r})"


class Workload:
    """A workload (YAML, ONNX or SCALE-Sim CSV) as the simulator reads it:
    ``layers`` (a DataFrame with each layer's op, GEMM shape and MACs),
    ``macs``, ``inputs``, ``outputs``. ``overrides`` as for -p workload.KEY
    (``{"params.batch": 4}``)."""

    def __init__(self, src, overrides=None, base_dir: Optional[str] = None):
        self._scratch = _inputs.Scratch()
        self.path = _inputs.file_of(src, self._scratch, "workload", base_dir or os.getcwd())
        self.overrides = [o if o.startswith("workload.") else "workload." + o
                          for o in _inputs.override_list(overrides)]
        self.info = _core.workload_info(self.path, self.overrides)
        self.name = self.info["name"]
        self.macs = self.info["macs"]
        self.params = self.info["params"]
        self.inputs = self.info["inputs"]
        self.outputs = self.info["outputs"]
        self.layers = pd.DataFrame(self.info["layers"])

    def reference(self, feeds: Mapping[str, object], all_tensors: bool = False) -> dict:
        """Runs the fp32 reference executor (the functional definition every
        model is checked against) on numpy inputs; returns the graph outputs
        (or every tensor) as float32 arrays. Releases the GIL while it runs."""
        import numpy as np
        arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in feeds.items()}
        return _core.reference(self.path, self.overrides, arrays, all_tensors)

    def __repr__(self):
        return f"Workload({self.name!r}, {len(self.layers)} layers, {self.macs} MACs)"


class Experiment:
    """A ``kind: experiment`` file or dict, validated whole (its accelerators
    and workloads with the overrides) when loaded. ``run()`` simulates it."""

    kind = "experiment"

    def __init__(self, src, overrides=None, base_dir: Optional[str] = None):
        self._scratch = _inputs.Scratch()
        base = base_dir or os.getcwd()
        if isinstance(src, Mapping):
            self.path = _inputs.experiment_file(src, self._scratch, self.kind, base)
        else:
            self.path = _inputs.absolute(os.fspath(src), base)
        self.overrides = _inputs.override_list(overrides)
        self.info = _core.experiment_info(self.path, self._experiment_overrides(self.overrides), self.kind)
        _core.validate(self.path, self.overrides)
        self.name = self.info["name"]

    @staticmethod
    def _experiment_overrides(overrides):
        return [o for o in overrides if o.startswith("experiment.")]

    def _all_overrides(self, overrides, fidelity=None):
        ov = self.overrides + _inputs.override_list(overrides)
        if fidelity is not None:
            ov.append(f"experiment.fidelity={fidelity}")
        return ov

    def run(self, output_dir: Optional[str] = None, overrides=None, fidelity: Optional[str] = None,
            force: bool = False, quiet: bool = True, progress: Optional[bool] = None,
            trace: bool = False) -> RunResult:
        """Runs every accelerator x workload x precision in a worker process
        (SystemC elaborates once per process) with the GIL released; Ctrl-C
        stops it (KeyboardInterrupt). Reports go to `output_dir` (a new
        temporary directory when None; an existing report there is kept and
        the run writes <dir>-2 unless `force`, as with the CLI)."""
        ov = self._all_overrides(overrides, fidelity)
        if ov != self.overrides:
            _core.validate(self.path, ov)
        if output_dir is None:
            out = tempfile.mkdtemp(prefix=f"xpusim-{self.name}-")
        else:
            out = _core.report_dir_for(os.fspath(output_dir), force)
        _core.run(self.path, ov, out, quiet, _progress(progress), trace)
        return RunResult(out)

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}, path={self.path!r})"


class Sweep(Experiment):
    """A ``kind: sweep`` file or dict. ``run()`` runs its points with the
    sweep machinery of ``xpusim sweep``: worker processes, results committed
    point by point, ``resume=True`` runs only the missing points."""

    kind = "sweep"

    @property
    def points(self) -> int:
        return self.info["points"]

    def run(self, output_dir: Optional[str] = None, overrides=None, jobs: Optional[int] = None,
            resume: bool = False, quiet: bool = True, progress: Optional[bool] = None,
            check: bool = True) -> SweepResult:
        """Runs the pending points, `jobs` worker processes at a time (default:
        every core). With `check`, failed points raise SweepError (the
        results that exist are on disk; ``resume=True`` reruns the rest)."""
        from .errors import SweepError
        ov = self._all_overrides(overrides)
        if ov != self.overrides:
            _core.validate(self.path, ov)
        out = os.fspath(output_dir) if output_dir is not None else tempfile.mkdtemp(prefix=f"xpusim-{self.name}-")
        rc = _core.sweep(self.path, ov, out, jobs or os.cpu_count() or 1, resume, quiet, _progress(progress))
        result = SweepResult(out, rc) if os.path.exists(os.path.join(out, "summary.json")) else None
        if rc != 0 and check:
            failed = result.failed if result else []
            raise SweepError(f"{len(failed)} point(s) of sweep '{self.name}' failed; logs in {out}/points/ "
                             "(run again with resume=True to retry them)")
        return result


def load_accelerator(src, overrides=None, base_dir=None) -> Accelerator:
    return Accelerator(src, overrides, base_dir)


def load_workload(src, overrides=None, base_dir=None) -> Workload:
    return Workload(src, overrides, base_dir)


def load_experiment(src, overrides=None, base_dir=None) -> Experiment:
    return Experiment(src, overrides, base_dir)


def load_sweep(src, overrides=None, base_dir=None) -> Sweep:
    return Sweep(src, overrides, base_dir)


def validate(src, overrides=None, base_dir=None) -> None:
    """Checks a file (any kind ``xpusim validate`` takes); raises ConfigError
    with every problem."""
    scratch = _inputs.Scratch()
    base = base_dir or os.getcwd()
    path = _inputs.file_of(src, scratch, "input", base) if not isinstance(src, Mapping) or \
        src.get("kind") not in ("experiment", "sweep") else _inputs.experiment_file(src, scratch, "input", base)
    _core.validate(path, _inputs.override_list(overrides))
