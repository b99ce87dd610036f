"""The PyTorch models the ONNX tests export (random weights, fixed seed)."""
import math

import torch
from torch import nn


class EncoderBlock(nn.Module):
    """A post-LN Transformer encoder block (multi-head self-attention, then a
    ReLU feed-forward layer, as in Vaswani et al. 2017 and PyTorch's
    nn.TransformerEncoderLayer default), written with torch.nn layers and
    static shapes: BERT-base's structure at a small size."""

    def __init__(self, d_model=64, heads=4, d_ff=256):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d_model, d_model) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.ff1, self.ff2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)

    def forward(self, x):
        b, s, d = x.shape
        h, hd = self.heads, d // self.heads
        q = self.q(x).reshape(b, s, h, hd).transpose(1, 2)
        k = self.k(x).reshape(b, s, h, hd).permute(0, 2, 3, 1)
        v = self.v(x).reshape(b, s, h, hd).transpose(1, 2)
        a = torch.softmax((q @ k) * (1.0 / math.sqrt(hd)), dim=-1)
        y = (a @ v).transpose(1, 2).reshape(b, s, d)
        x = self.ln1(x + self.o(y))
        return self.ln2(x + self.ff2(torch.relu(self.ff1(x))))
