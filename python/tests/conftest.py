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


class Interruptible:
    """A Python process that runs `call` (source text using `xpusim`) after
    printing "started", and exits 42 on KeyboardInterrupt: for Ctrl-C tests."""

    def __init__(self, setup: str, call: str):
        import subprocess
        import sys
        import textwrap
        script = textwrap.dedent(setup) + textwrap.dedent(f"""
            import sys
            print("started", flush=True)
            try:
                {call}
            except KeyboardInterrupt:
                print("interrupted", flush=True)
                sys.exit(42)
            """)
        self.proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                                     env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        assert self.proc.stdout.readline().strip() == "started"

    def interrupt(self):
        """Sends SIGINT; returns (exit code, output, seconds until it exited)."""
        import signal
        import time
        t0 = time.time()
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=30)
        return self.proc.returncode, out, time.time() - t0


def children(pid):
    import subprocess
    return subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()


def gone(pid, wait_s=5.0):
    """Whether process `pid` exits (or is a zombie) within wait_s seconds."""
    import time
    deadline = time.time() + wait_s
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split()[2] == "Z":
                    return True
        except FileNotFoundError:
            return True
        if time.time() > deadline:
            return False
        time.sleep(0.1)
