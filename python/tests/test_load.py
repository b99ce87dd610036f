"""Loading files and dicts: the same validation as the CLI, errors as
exceptions that carry file, line and key."""
import pytest
import yaml

import xpusim
from conftest import gemm_experiment, repo


def test_accelerator_from_file_and_overrides():
    acc = xpusim.load_accelerator(repo("configs/accelerators/tpu_v1.yaml"), overrides={"mxu.rows": 128})
    assert acc.kind == "tpu" and acc.name == "tpu_v1"
    assert acc.overrides == ["mxu.rows=128"]
    assert "tpu" in xpusim.machine_kinds() and "gpu" in xpusim.machine_kinds()


def test_accelerator_from_dict_is_validated_like_a_file():
    with open(repo("configs/accelerators/tpu_small.yaml")) as f:
        cfg = yaml.safe_load(f)
    assert xpusim.load_accelerator(cfg).name == "tpu_small"
    cfg["mxu"]["colums"] = 8
    with pytest.raises(xpusim.ConfigError) as e:
        xpusim.load_accelerator(cfg)
    d = e.value.diagnostics[0]
    # The dict is written as a file; the error points into it, at the key.
    assert d.key == "mxu.colums" and d.line > 0 and d.file.endswith("accelerator.yaml")
    assert "did you mean 'cols'" in d.message


def test_file_errors_are_located():
    # configs/examples/tpu_v1_typo.yaml: line 5 "clock_mhz: fast" (value at
    # column 12), line 8 "colums:" (key at column 3), as the CLI prints them.
    with pytest.raises(xpusim.ConfigError) as e:
        xpusim.validate(repo("configs/examples/tpu_v1_typo.yaml"))
    diags = {d.key: d for d in e.value.diagnostics}
    assert (diags["clock_mhz"].line, diags["clock_mhz"].column) == (5, 12)
    assert (diags["mxu.colums"].line, diags["mxu.colums"].column) == (8, 3)
    assert e.value.file.endswith("tpu_v1_typo.yaml")
    assert isinstance(e.value, ValueError)  # a bad-input error, catchable as such


def test_bad_override_is_blamed_on_the_command_line():
    with pytest.raises(xpusim.ConfigError) as e:
        xpusim.load_accelerator(repo("configs/accelerators/tpu_v1.yaml"), overrides={"mxu.rowz": 64})
    assert e.value.key == "mxu.rowz" and e.value.file.startswith("command line")
    with pytest.raises(xpusim.ConfigError, match="positive integer"):
        xpusim.load_accelerator(repo("configs/accelerators/tpu_v1.yaml"), overrides=["mxu.rows=abc"])


def test_experiment_dict_and_its_errors():
    exp = xpusim.load_experiment(gemm_experiment())
    assert exp.name == "py_small" and exp.info["fidelity"] == "timing"
    assert exp.info["precisions"] == ["int8"]
    with pytest.raises(xpusim.ConfigError) as e:
        xpusim.load_experiment(gemm_experiment(fidelty="timing"))
    assert e.value.key == "fidelty" and e.value.line > 0
    # An accelerator override no accelerator takes is an error, never ignored.
    with pytest.raises(xpusim.ConfigError) as e:
        xpusim.load_experiment(gemm_experiment(), overrides={"mxu.rowz": 4})
    assert e.value.key == "mxu.rowz"


def test_missing_file_is_a_config_error():
    with pytest.raises(xpusim.ConfigError) as e:
        xpusim.load_experiment(gemm_experiment(workloads=["no/such/file.yaml"]))
    assert any("file.yaml" in str(d) for d in e.value.diagnostics)


def test_workload_layers_and_macs():
    w = xpusim.load_workload(repo("workloads/nets/resnet50.yaml"))
    # The README's figure for the bundled ResNet-50 (batch 1, 224x224).
    assert w.macs == 4_089_184_256
    assert list(w.layers.columns)[:3] == ["name", "op", "inputs"]
    assert w.layers["macs"].sum() == w.macs
    w2 = xpusim.load_workload(repo("workloads/nets/resnet50.yaml"), overrides={"params.batch": 2})
    assert w2.macs == 2 * w.macs


def test_workload_dict_and_its_errors():
    w = xpusim.load_workload({"kind": "workload", "name": "two", "layers": [
        {"name": "a", "op": "gemm", "m": 4, "n": 8, "k": 16},
        {"name": "b", "op": "gemm", "m": 2, "n": 2, "k": 2}]})
    assert w.macs == 4 * 8 * 16 + 2 * 2 * 2 and list(w.layers["name"]) == ["a", "b"]
    with pytest.raises(xpusim.ConfigError) as e:
        xpusim.validate({"kind": "workload", "name": "bad", "layers": [{"name": "a", "op": "gemm", "m": 4, "n": 8}]})
    assert "layers[0]" in e.value.key and e.value.line > 0
