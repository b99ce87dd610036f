"""Results of runs and sweeps as pandas DataFrames.

The tables are the report files themselves (layers.csv, layer_energy.csv,
points.csv, summary.json), read back from the report directory, so their
columns are exactly those of reports/README.md.
"""
import json
import os
from typing import List

import pandas as pd

# summary.json run totals, in the order of the sweep's points.csv columns
# (then the rest of the totals); the per-run DataFrame adds run identity.
RUN_COLUMNS = ["experiment", "label", "accelerator", "workload", "precision", "fidelity"]
TOTAL_COLUMNS = ["cycles", "seconds", "tops", "utilization", "energy_pj", "pj_per_mac",
                 "energy_delay_product_js", "dram_bytes", "macs", "flops", "throughput_per_s",
                 "energy_per_inference_j", "operational_intensity"]
RUN_EXTRA = ["clock_mhz", "peak_tops", "peak_dram_gbps"]


def _read_csv(path: str) -> pd.DataFrame:
    # Keep text columns as text ("" stays "", not NaN).
    return pd.read_csv(path, keep_default_na=False, na_values=[])


def summary_frame(summary: dict) -> pd.DataFrame:
    rows = []
    for run in summary.get("runs", []):
        t = run.get("totals", {})
        row = {"experiment": summary.get("experiment")}
        row.update({k: run.get(k) for k in RUN_COLUMNS[1:]})
        row.update({k: t.get(k) for k in TOTAL_COLUMNS})
        row.update({k: run.get(k) for k in RUN_EXTRA})
        rows.append(row)
    return pd.DataFrame(rows, columns=RUN_COLUMNS + TOTAL_COLUMNS + RUN_EXTRA)


def energy_by_component_frame(summary: dict) -> pd.DataFrame:
    rows = []
    for run in summary.get("runs", []):
        for comp, pj in sorted(run.get("totals", {}).get("energy_by_component_pj", {}).items()):
            rows.append({"experiment": summary.get("experiment"), "accelerator": run.get("accelerator"),
                         "workload": run.get("workload"), "precision": run.get("precision"),
                         "component": comp, "energy_pj": pj})
    return pd.DataFrame(rows, columns=["experiment", "accelerator", "workload", "precision", "component",
                                       "energy_pj"])


class RunResult:
    """One experiment run: ``summary`` (a row per accelerator x workload x
    precision), ``layers`` (layers.csv), ``layer_energy`` (layer_energy.csv),
    ``energy`` (energy by component per run) and the raw ``summary_json``."""

    def __init__(self, directory: str):
        self.directory = directory
        with open(os.path.join(directory, "summary.json")) as f:
            self.summary_json = json.load(f)
        self.summary = summary_frame(self.summary_json)
        self.layers = _read_csv(os.path.join(directory, "layers.csv"))
        self.layer_energy = _read_csv(os.path.join(directory, "layer_energy.csv"))
        self.energy = energy_by_component_frame(self.summary_json)

    @property
    def verdicts(self) -> List[str]:
        """Every layer's value-check verdict (bit_exact, within_tolerance, ...)."""
        return [l.get("verdict") for r in self.summary_json["runs"] for l in r["layers"]]

    def __repr__(self):
        return f"RunResult({self.directory!r}, {len(self.summary)} runs, {len(self.layers)} layer rows)"


class SweepResult:
    """A sweep: ``points`` (points.csv: a row per point x run, with a column
    per swept key and the Pareto flag), ``layers`` (layers.csv), the raw
    ``summary_json``; ``failed`` lists the points without a result."""

    def __init__(self, directory: str, exit_code: int = 0):
        self.directory = directory
        self.exit_code = exit_code
        with open(os.path.join(directory, "summary.json")) as f:
            self.summary_json = json.load(f)
        self.points = _read_csv(os.path.join(directory, "points.csv"))
        self.layers = _read_csv(os.path.join(directory, "layers.csv"))

    @property
    def failed(self) -> list:
        """Points that failed (their logs are in points/)."""
        return list(self.summary_json.get("failed", []))

    @property
    def pareto(self) -> pd.DataFrame:
        return self.points[self.points["pareto"]]

    def __repr__(self):
        return f"SweepResult({self.directory!r}, {len(self.points)} point rows)"
