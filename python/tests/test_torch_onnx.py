"""PyTorch models through ONNX: torchvision's ResNet-50 and MobileNetV2 and a
Transformer encoder block, exported here (random weights, fixed seed, no
downloads), imported (MAC counts) and run through the fp32 reference
executor, compared with PyTorch's output."""
import pytest
import torch

import xpusim
from xpusim import torch_onnx
from torch_models import exported  # noqa: F401 (a fixture)

# The fp32 reference executor against PyTorch's fp32 output: both round every
# product and sum in fp32, in different orders (PyTorch blocks its GEMMs), so
# they agree to a few ulps per accumulation, far inside 1e-4 relative.
REL_TOL = 1e-4

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


# ResNet-50 at 112x112 (every layer, a quarter of the MACs: the reference
# executor's plain loops take ~35 s at 224x224 on a loaded 2-core machine).
@pytest.mark.parametrize("name,spatial", [("resnet50", 112), ("mobilenet_v2", None), ("encoder", None)])
def test_reference_executor_matches_pytorch(exported, name, spatial):
    model, x, wl = exported(name, spatial)
    err = torch_onnx.max_rel_error(wl, model, x)
    print(f"{name}: max |xpusim - torch| / max |torch| = {err:.2e}")
    assert err <= REL_TOL


def test_unsupported_operators_are_listed_by_node(tmp_path):
    # PyTorch's own nn.TransformerEncoderLayer exports its attention with
    # shape arithmetic (Shape, Gather, Slice) and a Div: every unsupported
    # node is named in one error. (Its Gathers take constant indices, which
    # import as embedding lookups, so Shape, Slice and Div are the ones named.)
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(64, 4, 256, batch_first=True)
    with pytest.raises(xpusim.ConfigError) as e:
        torch_onnx.export(layer, torch.randn(1, 16, 64), str(tmp_path / "tel.onnx"))
    diags = e.value.diagnostics
    unsupported = [d for d in diags if d.key]
    assert {d.key.split("(")[-1].rstrip(")") for d in unsupported} >= {"Shape", "Slice", "Div"}
    assert all(d.key.startswith("node '") and "unsupported ONNX operator" in d.message for d in unsupported)
    assert "cannot import" in diags[-1].message
