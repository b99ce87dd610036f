"""`cmake --install` gives a working package: it finds its own xpusim
executable and bundled configs, with nothing from the build tree on the path."""
import os
import subprocess
import sys
import textwrap


def test_installed_package_runs_and_sweeps(tmp_path):
    prefix = tmp_path / "prefix"
    subprocess.run([os.environ["CMAKE_COMMAND"], "--install", os.environ["XPUSIM_BUILD_DIR"], "--prefix", str(prefix)],
                   check=True, capture_output=True)
    site = prefix / os.environ["XPUSIM_PYTHON_INSTALL_DIR"]
    script = textwrap.dedent("""
        import os, xpusim
        assert xpusim.executable().startswith(os.environ["PREFIX"]), xpusim.executable()
        d = {"kind": "sweep", "name": "inst", "energy": xpusim.data_file("configs/energy/horowitz_45nm.yaml"),
             "fidelity": "timing", "accelerators": [xpusim.data_file("configs/accelerators/tpu_small.yaml")],
             "workloads": [{"kind": "workload", "name": "g", "layers": [
                 {"name": "g", "op": "gemm", "m": 16, "n": 16, "k": 16}]}],
             "precisions": ["int8"], "sweep": {"grid": {"mxu.rows": [8, 16]}}}
        res = xpusim.load_sweep(d).run(output_dir="sweep", jobs=2)
        print(xpusim.__file__, len(res.points))
        """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(site), PREFIX=str(prefix))
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=True, capture_output=True,
                         text=True).stdout.split()
    assert out[0].startswith(str(site)) and out[1] == "2"
