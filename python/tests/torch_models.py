"""The PyTorch models the ONNX tests export (random weights, fixed seed)."""
import math

import pytest
import torch
import torchvision
from torch import nn

from xpusim import torch_onnx


class EncoderBlock(nn.Module):
    """A BERT-style encoder block (Devlin et al. 2019): multi-head
    self-attention, then a GELU feed-forward layer, each with a residual add
    and a post-LayerNorm, written with torch.nn layers and static shapes;
    BERT-base's structure at a small size."""

    def __init__(self, d_model=64, heads=4, d_ff=256):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d_model, d_model) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.ff1, self.ff2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.act = nn.GELU()  # exported as its erf formula, which the importer fuses back

    def forward(self, x):
        b, s, d = x.shape
        h, hd = self.heads, d // self.heads
        q = self.q(x).reshape(b, s, h, hd).transpose(1, 2)
        k = self.k(x).reshape(b, s, h, hd).permute(0, 2, 3, 1)
        v = self.v(x).reshape(b, s, h, hd).transpose(1, 2)
        a = torch.softmax((q @ k) * (1.0 / math.sqrt(hd)), dim=-1)
        y = (a @ v).transpose(1, 2).reshape(b, s, d)
        x = self.ln1(x + self.o(y))
        return self.ln2(x + self.ff2(self.act(self.ff1(x))))


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
