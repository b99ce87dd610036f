import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def repo(*parts):
    return os.path.join(REPO, *parts)


@pytest.fixture
def energy():
    return repo("configs", "energy", "horowitz_45nm.yaml")


def gemm_experiment(**extra):
    """A small experiment dict: one 64x64x64 GEMM on tpu_small, timing fidelity."""
    d = {
        "kind": "experiment",
        "name": "py_small",
        "energy": repo("configs", "energy", "horowitz_45nm.yaml"),
        "fidelity": "timing",
        "accelerators": [repo("configs", "accelerators", "tpu_small.yaml")],
        "workloads": [{"kind": "workload", "name": "g64", "layers": [
            {"name": "g", "op": "gemm", "m": 64, "n": 64, "k": 64}]}],
        "precisions": ["int8"],
    }
    d.update(extra)
    return d
