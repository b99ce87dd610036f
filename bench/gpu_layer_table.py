#!/usr/bin/env python3
"""Per-layer table (markdown) of a GPU run's summary.json, as in README.md:
kernel and tile, CTAs, waves, time, launch share, L2 hit rate, DRAM GB/s,
then the totals (time, launch, kernels).
    bench/gpu_layer_table.py reports/resnet50_v100/summary.json
"""
import json
import re
import sys


def main(path):
    run = json.load(open(path))["runs"][0]
    print("| layer | op | kernel | CTAs | waves | us | launch share | L2 hit | DRAM GB/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    total_s = launch_c = 0.0
    kernels = 0
    for l in run["layers"]:
        k = l.get("kernel")
        if not k:
            continue
        kernels += 2 if "split-K reduction" in k else 1
        name, rest = k.split(";", 1)
        ctas = re.search(r"(\d+) CTAs, ([\d.]+) waves", rest)
        l2 = re.search(r"L2 hit ([\d.]+) %", rest)
        dram = re.search(r"DRAM (\d+) GB/s", rest)
        launch = l.get("stall_cycles", {}).get("launch", 0.0)
        share = launch / l["cycles"] if l["cycles"] else 0.0
        total_s += l["seconds"]
        launch_c += launch
        op = l["op"].split(" [")[0]
        print(f"| {l['name']} | {op} | `{name}` | {ctas.group(1)} | {ctas.group(2)} | {l['seconds'] * 1e6:.2f} | "
              f"{100 * share:.0f} % | {l2.group(1)} % | {dram.group(1)} |")
    cycles = sum(l["cycles"] for l in run["layers"])
    print(f"\nTotal {total_s * 1e6:.1f} us over {kernels} kernels; launch waits {100 * launch_c / cycles:.1f} % "
          f"({launch_c / cycles * total_s * 1e6:.1f} us).")


if __name__ == "__main__":
    main(sys.argv[1])
