#!/usr/bin/env python3
"""Array size x DRAM bandwidth on ResNet-50 (TPU v1-like core, int8, timing
fidelity): sweeps with xpusim's parallel, resumable sweep machinery, then
plots latency against energy per inference and marks the Pareto front.

    PYTHONPATH=build/python python3 examples/pareto_sweep.py           # docs/pareto_resnet50.png
    PYTHONPATH=build/python python3 examples/pareto_sweep.py --out /tmp/s --figure /tmp/p.png -j 2

Rerunning with the same --out resumes the sweep (only missing points run).
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")  # headless: no display needed
import matplotlib.pyplot as plt  # noqa: E402

import xpusim  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARRAY = [64, 128, 256]          # square arrays; the weight shift takes one cycle per row (TPU v1: 256)
DRAM_GBPS = [17, 34, 68, 136]   # TPU v1's DDR3 is 34 GB/s (Jouppi et al. ISCA 2017); half, 2x and 4x


def sweep_dict():
    return {
        "kind": "sweep",
        "name": "pareto_resnet50",
        "energy": os.path.join(REPO, "configs/energy/horowitz_45nm.yaml"),
        "fidelity": "timing",
        "accelerators": [os.path.join(REPO, "configs/accelerators/tpu_v1.yaml")],
        "workloads": [os.path.join(REPO, "workloads/nets/resnet50.yaml")],
        "precisions": ["int8"],
        "sweep": {
            "grid": {"dram.bandwidth_gbps": DRAM_GBPS},
            "zip": {"mxu.rows": ARRAY, "mxu.cols": ARRAY, "mxu.weight_load_cycles": ARRAY},
        },
    }


def plot(points, figure):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    lat_ms = points["seconds"] * 1e3
    energy_mj = points["energy_pj"] * 1e-9
    markers = {64: "o", 128: "s", 256: "D"}
    for size, m in markers.items():
        sel = points["mxu.rows"] == size
        sc = ax.scatter(lat_ms[sel], energy_mj[sel], c=points["dram.bandwidth_gbps"][sel], cmap="viridis",
                        vmin=min(DRAM_GBPS), vmax=max(DRAM_GBPS), marker=m, s=60, edgecolors="k",
                        linewidths=0.5, label=f"{size}x{size} array")
    front = points[points["pareto"]].sort_values("seconds")
    ax.plot(front["seconds"] * 1e3, front["energy_pj"] * 1e-9, "r--", lw=1.2, zorder=0, label="Pareto front")
    ax.scatter(front["seconds"] * 1e3, front["energy_pj"] * 1e-9, s=160, facecolors="none", edgecolors="r",
               linewidths=1.5)
    fig.colorbar(sc, ax=ax, label="weight DRAM bandwidth (GB/s)")
    ax.set_xlabel("latency per inference (ms)")
    ax.set_ylabel("energy per inference (mJ)")
    ax.set_title("ResNet-50 int8 on a TPU v1-like core: array size x DRAM bandwidth")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper center", fontsize=8)
    fig.tight_layout()
    fig.savefig(figure, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "reports", "pareto_resnet50"), help="sweep directory")
    ap.add_argument("--figure", default=os.path.join(REPO, "docs", "pareto_resnet50.png"))
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count())
    args = ap.parse_args(argv)
    sweep = xpusim.load_sweep(sweep_dict())
    resume = os.path.exists(os.path.join(args.out, "sweep.json"))
    result = sweep.run(output_dir=args.out, jobs=args.jobs, resume=resume, quiet=True)
    points = result.points
    plot(points, args.figure)
    front = points[points["pareto"]].sort_values("seconds")
    print(f"{len(points)} points, {len(front)} on the Pareto front (latency vs energy):")
    for _, p in front.iterrows():
        print(f"  {p['mxu.rows']:>3}x{p['mxu.cols']:<3} {p['dram.bandwidth_gbps']:>4} GB/s: "
              f"{p['seconds'] * 1e3:7.3f} ms, {p['energy_pj'] * 1e-9:7.3f} mJ")
    print(f"figure: {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
