"""Sweeps through the parallel, resumable sweep machinery."""
import csv
import os
import time

import pytest

import xpusim
from conftest import Interruptible, children, gemm_experiment, gone, repo


def sweep_dict():
    d = gemm_experiment(kind="sweep", name="py_sweep")
    d["sweep"] = {"grid": {"mxu.rows": [8, 16]}, "zip": {"dram.bandwidth_gbps": [17, 34]}}
    return d


def test_sweep_points_dataframe(tmp_path):
    sw = xpusim.load_sweep(sweep_dict())
    assert sw.points == 4  # 2 grid values x 2 zip tuples
    res = sw.run(output_dir=tmp_path / "s", jobs=2)
    with open(os.path.join(res.directory, "points.csv")) as f:
        assert list(res.points.columns) == next(csv.reader(f))
    assert len(res.points) == 4 and res.failed == []
    assert {"mxu.rows", "dram.bandwidth_gbps", "pareto"} <= set(res.points.columns)
    assert sorted(res.points["mxu.rows"]) == [8, 8, 16, 16]
    assert res.pareto["pareto"].all() and len(res.pareto) >= 1
    assert len(res.layers) == 4  # one GEMM layer per point


def test_sweep_resume_runs_only_missing_points(tmp_path):
    sw = xpusim.load_sweep(sweep_dict())
    out = tmp_path / "s"
    first = sw.run(output_dir=out, jobs=2)
    points = sorted(os.listdir(out / "points"))
    os.remove(out / "points" / points[0])  # as if that point had been killed
    # A sweep loaded again from the same dict (a new session) resumes.
    again = xpusim.load_sweep(sweep_dict()).run(output_dir=out, jobs=1, resume=True)
    assert sorted(os.listdir(out / "points")) == points
    assert again.points.equals(first.points)
    with open(out / "points.log") as f:
        assert sum(" done " in l for l in f) == 5  # 4 points, then the removed one again


def test_sweep_in_use_directory_is_an_error(tmp_path):
    sw = xpusim.load_sweep(sweep_dict())
    sw.run(output_dir=tmp_path / "s", jobs=2)
    with pytest.raises(xpusim.SweepError):
        sw.run(output_dir=tmp_path / "s", jobs=2)  # holds results: needs resume=True


def test_ctrl_c_stops_a_sweep_and_its_workers(tmp_path):
    # MobileNetV2 on the 8x8 tpu_small takes many seconds per point: interrupt it.
    p = Interruptible(f"""
        import xpusim
        sw = xpusim.load_sweep({{
            "kind": "sweep", "name": "long", "energy": {repo('configs/energy/horowitz_45nm.yaml')!r},
            "fidelity": "timing", "accelerators": [{repo('configs/accelerators/tpu_small.yaml')!r}],
            "workloads": [{repo('workloads/nets/mobilenet_v2.yaml')!r}], "precisions": ["int8"],
            "sweep": {{"grid": {{"dram.bandwidth_gbps": [16, 32]}}}}}})
        """, f"sw.run(output_dir={str(tmp_path / 'long')!r}, jobs=2)")
    # Poll rather than sleep a fixed time: a loaded machine starts the workers late.
    deadline = time.monotonic() + 60
    coordinator, workers = [], []
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.2)
        coordinator = children(p.proc.pid)
        workers = children(coordinator[0]) if len(coordinator) == 1 else []
    assert len(coordinator) == 1
    assert len(workers) == 2  # -j 2, one per point
    rc, out, _ = p.interrupt()
    assert rc == 42 and "interrupted" in out
    assert all(gone(w) for w in coordinator + workers)
    assert not [f for f in os.listdir(tmp_path / "long" / "points") if f.endswith(".json")]
