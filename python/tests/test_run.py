"""Runs: results as DataFrames with the report files' columns; Ctrl-C."""
import csv
import os
import subprocess
import time

import xpusim
from conftest import Interruptible, children, gemm_experiment, gone, repo


def header(path):
    with open(path) as f:
        return next(csv.reader(f))


def test_run_dataframes_match_the_csv_reports(tmp_path):
    res = xpusim.load_experiment(gemm_experiment(precisions=["int8", "bf16"])).run(output_dir=tmp_path / "r")
    assert list(res.layers.columns) == header(os.path.join(res.directory, "layers.csv"))
    assert list(res.layer_energy.columns) == header(os.path.join(res.directory, "layer_energy.csv"))
    assert len(res.summary) == 2 and list(res.summary["precision"]) == ["int8", "bf16"]
    # 64x64x64 = 262,144 MACs per run.
    assert list(res.summary["macs"]) == [262144, 262144]
    assert (res.summary["cycles"] > 0).all()
    # Energy by component sums to the run's total.
    by_run = res.energy.groupby("precision")["energy_pj"].sum()
    for _, r in res.summary.iterrows():
        assert abs(by_run[r["precision"]] - r["energy_pj"]) <= 1e-9 * r["energy_pj"]
    assert set(res.verdicts) == {"unchecked"}  # timing fidelity computes no values


def test_run_at_tile_fidelity_checks_values_and_overrides_apply(tmp_path):
    exp = xpusim.load_experiment(gemm_experiment())
    tile = exp.run(output_dir=tmp_path / "a", fidelity="tile")
    assert tile.verdicts == ["bit_exact"]
    bigger = exp.run(output_dir=tmp_path / "b", overrides={"mxu.rows": 16, "mxu.cols": 16})
    # Same timing at every fidelity; a 16x16 array takes fewer cycles than 8x8.
    timing = exp.run(output_dir=tmp_path / "c")
    assert timing.summary["cycles"][0] == tile.summary["cycles"][0]
    assert bigger.summary["cycles"][0] < timing.summary["cycles"][0]


def test_existing_report_is_not_replaced(tmp_path):
    exp = xpusim.load_experiment(gemm_experiment())
    first = exp.run(output_dir=tmp_path / "r")
    second = exp.run(output_dir=tmp_path / "r")
    assert second.directory == str(tmp_path / "r") + "-2" and first.directory == str(tmp_path / "r")


def test_same_results_as_the_cli(tmp_path):
    exp_file = repo("configs/experiments/default.yaml")
    py = xpusim.load_experiment(exp_file, overrides={"experiment.fidelity": "timing"}).run(tmp_path / "py")
    subprocess.run([xpusim.executable(), "run", exp_file, "-q", "-o", str(tmp_path / "cli"),
                    "-p", "experiment.fidelity=timing"], check=True)
    with open(tmp_path / "cli" / "summary.json") as a, open(os.path.join(py.directory, "summary.json")) as b:
        assert a.read() == b.read()  # summary.json is byte-identical on reruns


def test_ctrl_c_stops_a_run_cleanly(tmp_path):
    # ResNet-50 at tile fidelity on the 8x8 tpu_small takes minutes: interrupt it.
    p = Interruptible(f"""
        import xpusim
        exp = xpusim.load_experiment({{
            "kind": "experiment", "name": "long", "energy": {repo('configs/energy/horowitz_45nm.yaml')!r},
            "accelerators": [{repo('configs/accelerators/tpu_small.yaml')!r}],
            "workloads": [{repo('workloads/nets/resnet50.yaml')!r}], "precisions": ["int8"]}})
        """, f"exp.run(output_dir={str(tmp_path / 'long')!r})")
    time.sleep(2)
    workers = children(p.proc.pid)
    assert len(workers) == 1  # the run's worker process
    rc, out, seconds = p.interrupt()
    assert rc == 42 and "interrupted" in out and seconds < 5
    assert gone(workers[0])  # not orphaned


def test_a_run_releases_the_gil(tmp_path):
    import threading
    # A 1024^3 GEMM on tpu_v1 at tile fidelity takes a large fraction of a second or more; a Python
    # thread keeps running meanwhile only if the run released the GIL.
    exp = xpusim.load_experiment(gemm_experiment(
        fidelity="tile", accelerators=[repo("configs/accelerators/tpu_v1.yaml")],
        workloads=[{"kind": "workload", "name": "g1024", "layers": [
            {"name": "g", "op": "gemm", "m": 1024, "n": 1024, "k": 1024}]}]))
    done = threading.Event()
    result = {}

    def work():
        result["r"] = exp.run(output_dir=tmp_path / "r")
        done.set()
    t = threading.Thread(target=work)
    t.start()
    ticks = 0
    start = time.monotonic()
    while not done.is_set():
        ticks += 1
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    t.join()
    assert len(result["r"].summary) == 1
    # 10 ms ticks: about elapsed / 10 ms of them while the GIL is free (a
    # fifth of that allows for a loaded machine), one or two if it were held.
    assert ticks >= max(5, 0.2 * elapsed / 0.01)
