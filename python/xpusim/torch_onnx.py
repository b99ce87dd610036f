"""PyTorch models into xpusim through ONNX.

    import torch, torchvision, xpusim.torch_onnx as xo
    model = torchvision.models.resnet50()            # any torch.nn.Module
    x = torch.randn(1, 3, 224, 224)
    wl = xo.export(model, x, "resnet50.onnx")        # an xpusim.Workload
    wl.macs                                          # 4,089,184,256
    err = xo.max_rel_error(wl, model, x)             # reference executor vs PyTorch fp32

The export uses settings whose output xpusim imports: eval mode (batchnorm
folded into the convolutions by PyTorch's exporter), constant folding (shape
arithmetic becomes constants), static shapes, opset 17 (LayerNormalization
as one operator). A model that uses an operator xpusim cannot import fails
to load with a ConfigError listing every such node by name.
"""

from .api import Workload

OPSET = 17


def export(model, example_input, path: str, opset: int = OPSET, overrides=None) -> Workload:
    """torch.onnx.export of `model` at `example_input`'s shape, then loaded."""
    import torch
    model.eval()
    # Not under torch.no_grad(): there, some modules (nn.TransformerEncoderLayer)
    # switch to fused kernels that have no ONNX export.
    torch.onnx.export(model, (example_input,), path, opset_version=opset, do_constant_folding=True,
                      input_names=["input"], output_names=["output"])
    return Workload(path, overrides)


def torch_output(model, example_input):
    import torch
    model.eval()
    with torch.no_grad():
        return model(example_input).numpy()


def max_rel_error(workload: Workload, model, example_input, want=None) -> float:
    """max|xpusim reference - PyTorch| / max|PyTorch| over the model's output."""
    import numpy as np
    if want is None:
        want = torch_output(model, example_input)
    got = workload.reference({workload.inputs[0]["name"]: example_input.numpy()})[workload.outputs[0]["name"]]
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
