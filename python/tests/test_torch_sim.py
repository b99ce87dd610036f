"""PyTorch models through ONNX on the simulated machines: torchvision's
ResNet-50 and MobileNetV2 and a Transformer encoder block (random weights,
fixed seed), exported here and run on the TPU (int8, bf16) and GPU (fp16)
models at tile fidelity, every layer checked against the fp32 reference
executor (which test_torch_onnx.py checks against PyTorch)."""
import pytest

import xpusim
from conftest import repo
from torch_models import exported  # noqa: F401 (a fixture)


def run_on(wl_path, accelerator, precisions, tmp_path):
    exp = xpusim.load_experiment({
        "kind": "experiment", "name": "torch_onnx", "energy": repo("configs/energy/horowitz_45nm.yaml"),
        "fidelity": "tile", "accelerators": [repo("configs/accelerators", accelerator)],
        "workloads": [wl_path], "precisions": precisions})
    return exp.run(output_dir=tmp_path / accelerator)


# The simulated machines: every layer's output compared with the reference
# executor (whose outputs match PyTorch: test_torch_onnx.py) within the documented
# tolerances, rel_rms <= 0.15 int8, 0.05 bf16, 0.02 fp16 (README, "Checks"),
# and every GEMM bit-exact against the reference GEMM in hardware order.
# The CNNs at 32x32 inputs (same layers, 49x fewer MACs) keep the test short.
@pytest.mark.parametrize("name,spatial", [("resnet50", 32), ("mobilenet_v2", 32), ("encoder", None)])
def test_tpu_and_gpu_models_within_tolerance(exported, tmp_path, name, spatial):
    _, _, wl = exported(name, spatial)
    for acc, precisions in [("tpu_v1.yaml", ["int8", "bf16"]), ("v100.yaml", ["fp16"])]:
        res = run_on(wl.path, acc, precisions, tmp_path)
        assert len(res.summary) == len(precisions)
        assert (res.summary["macs"] == wl.macs).all()
        bad = [v for v in res.verdicts if v not in ("bit_exact", "within_tolerance", "skipped")]
        assert not bad, f"{name} on {acc}: {bad}"
        assert "within_tolerance" in res.verdicts or "bit_exact" in res.verdicts
