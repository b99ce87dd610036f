"""Inputs given as paths or dicts, and overrides given as dicts or strings.

A dict is written as a YAML file (JSON is YAML), then read by the same C++
loader as any file, so it gets exactly the same validation and its errors
name that file, the line and the key path.
"""
import hashlib
import json
import os
import tempfile
from typing import Iterable, List, Mapping, Optional, Union

Overrides = Union[None, Mapping[str, object], Iterable[str]]


def _yaml_scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v)
    return str(v)


def override_list(overrides: Overrides) -> List[str]:
    """``{"mxu.rows": 128}`` or ``["mxu.rows=128"]`` -> ``["mxu.rows=128"]``."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, Mapping):
        return [f"{k}={_yaml_scalar(v)}" for k, v in overrides.items()]
    return [str(o) for o in overrides]


class Scratch:
    """Files written from dicts. A file's path is named after its content
    (SHA-256), so the same dict is the same file in every session: a sweep
    loaded again from the same dict can be resumed, since a sweep's plan
    records its input files by path and content."""

    def __init__(self):
        self.path = os.path.join(tempfile.gettempdir(), f"xpusim-dicts-{os.getuid()}")

    def write(self, name: str, doc: Mapping) -> str:
        text = json.dumps(doc, indent=2) + "\n"
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        directory = os.path.join(self.path, digest)
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, path)  # whole or not at all, also with concurrent writers
        return path


def absolute(path: str, base_dir: str) -> str:
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base_dir, path))


def file_of(src, scratch: Scratch, stem: str, base_dir: str) -> str:
    """A path for `src`: a path (relative to base_dir), an object with a
    ``path`` (Accelerator, Workload), or a dict written as a file."""
    if isinstance(src, (str, os.PathLike)):
        return absolute(os.fspath(src), base_dir)
    if hasattr(src, "path"):
        return src.path
    if isinstance(src, Mapping):
        return scratch.write(f"{stem}.yaml", dict(src))
    raise TypeError(f"{stem}: expected a path, a dict or an xpusim object, got {type(src).__name__}")


def experiment_file(doc: Mapping, scratch: Scratch, stem: str, base_dir: str) -> str:
    """Writes an experiment or sweep dict. Its file references (energy,
    accelerators, workloads) may be paths relative to base_dir, xpusim
    objects or dicts; they become absolute paths, since the loader resolves
    paths against the written file's directory."""
    doc = dict(doc)
    if isinstance(doc.get("energy"), (str, os.PathLike)):
        doc["energy"] = absolute(os.fspath(doc["energy"]), base_dir)
    accs = []
    for i, a in enumerate(doc.get("accelerators") or []):
        if isinstance(a, Mapping) and "file" in a:
            a = dict(a)
            a["file"] = file_of(a["file"], scratch, f"{stem}_accelerator{i}", base_dir)
            accs.append(a)
        elif isinstance(a, Mapping) and "kind" not in a:
            accs.append(dict(a))  # let the loader say what is missing
        else:
            accs.append(file_of(a, scratch, f"{stem}_accelerator{i}", base_dir))
    if "accelerators" in doc and isinstance(doc["accelerators"], (list, tuple)):
        doc["accelerators"] = accs
    if isinstance(doc.get("workloads"), (list, tuple)):
        doc["workloads"] = [file_of(w, scratch, f"{stem}_workload{i}", base_dir)
                            for i, w in enumerate(doc["workloads"])]
    return scratch.write(f"{stem}.yaml", doc)
