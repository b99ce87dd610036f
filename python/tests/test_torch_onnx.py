"""PyTorch models through ONNX: torchvision's ResNet-50 and MobileNetV2 and a
Transformer encoder block, exported here (random weights, fixed seed, no
downloads), imported, run through the fp32 reference executor and compared
with PyTorch, and simulated on the TPU and GPU models with every layer
checked against the reference executor."""
import os

import numpy as np
import pytest
import torch
import torchvision

import xpusim
from xpusim import torch_onnx
from conftest import repo
from torch_models import EncoderBlock

# The fp32 reference executor against PyTorch's fp32 output: both round every
# product and sum in fp32, in different orders (PyTorch blocks its GEMMs), so
# they agree to a few ulps per accumulation, far inside 1e-4 relative.
REL_TOL = 1e-4

MODELS = {
    "resnet50": (torchvision.models.resnet50, (3, 224, 224)),
    "mobilenet_v2": (torchvision.models.mobilenet_v2, (3, 224, 224)),
    "encoder": (EncoderBlock, (16, 64)),  # seq 16, d_model 64
}


def build(name):
    torch.manual_seed(0)
    return MODELS[name][0]().eval()


def example(name, spatial=None):
    torch.manual_seed(1)
    shape = MODELS[name][1]
    if spatial:
        shape = (shape[0], spatial, spatial)
    return torch.randn(1, *shape)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    cache = {}

    def get(name, spatial=None):
        key = (name, spatial)
        if key not in cache:
            model, x = build(name), example(name, spatial)
            path = str(out / f"{name}_{spatial or 'full'}.onnx")
            cache[key] = (model, x, torch_onnx.export(model, x, path))
        return cache[key]
    return get


# torchvision's published compute per image at 224x224, in GMACs (its model
# pages list them as "GFLOPS"; they count one multiply-add as one operation):
# https://pytorch.org/vision/stable/models/generated/torchvision.models.resnet50.html (4.09)
# https://pytorch.org/vision/stable/models/generated/torchvision.models.mobilenet_v2.html (0.30)
@pytest.mark.parametrize("name,gmacs", [("resnet50", 4.09), ("mobilenet_v2", 0.30)])
def test_macs_equal_torchvision(exported, name, gmacs):
    _, _, wl = exported(name)
    assert round(wl.macs / 1e9, 2) == gmacs


def test_encoder_macs(exported):
    _, _, wl = exported("encoder")
    # seq 16, d 64, 4 heads of 16, d_ff 256: Q, K, V, O projections 4 x 16x64x64
    # = 262,144; scores 4 x 16x16x16 = 16,384; context the same 16,384; FFN
    # 16x64x256 x 2 = 524,288. Total 819,200.
    assert wl.macs == 819_200


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "encoder"])
def test_reference_executor_matches_pytorch(exported, name):
    model, x, wl = exported(name)
    err = torch_onnx.max_rel_error(wl, model, x)
    print(f"{name}: max |xpusim - torch| / max |torch| = {err:.2e}")
    assert err <= REL_TOL


def run_on(wl_path, accelerator, precisions, tmp_path):
    exp = xpusim.load_experiment({
        "kind": "experiment", "name": "torch_onnx", "energy": repo("configs/energy/horowitz_45nm.yaml"),
        "fidelity": "tile", "accelerators": [repo("configs/accelerators", accelerator)],
        "workloads": [wl_path], "precisions": precisions})
    return exp.run(output_dir=tmp_path / accelerator)


# The simulated machines: every layer's output compared with the reference
# executor (whose outputs match PyTorch above) within the documented
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


def test_unsupported_operators_are_listed_by_node(tmp_path):
    # PyTorch's own nn.TransformerEncoderLayer exports its attention with
    # shape arithmetic (Shape, Gather, Slice) and a Div: every such node is
    # named in one error.
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(64, 4, 256, batch_first=True)
    with pytest.raises(xpusim.ConfigError) as e:
        torch_onnx.export(layer, torch.randn(1, 16, 64), str(tmp_path / "tel.onnx"))
    diags = e.value.diagnostics
    unsupported = [d for d in diags if d.key]
    assert {d.key.split("(")[-1].rstrip(")") for d in unsupported} >= {"Shape", "Gather", "Slice", "Div"}
    assert all(d.key.startswith("node '") and "unsupported ONNX operator" in d.message for d in unsupported)
    assert "cannot import" in diags[-1].message
