"""examples/pareto_sweep.py runs headless and marks the right Pareto front."""
import importlib.util

from conftest import repo


def load_example():
    spec = importlib.util.spec_from_file_location("pareto_sweep", repo("examples", "pareto_sweep.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_pareto_example(tmp_path, capsys):
    ex = load_example()
    fig = tmp_path / "p.png"
    assert ex.main(["--out", str(tmp_path / "s"), "--figure", str(fig), "-j", "2"]) == 0
    with open(fig, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    import xpusim
    pts = xpusim.SweepResult(str(tmp_path / "s")).points
    assert len(pts) == len(ex.ARRAY) * len(ex.DRAM_GBPS)
    # The front is exactly the points no other point beats in both latency and energy.
    def dominated(p):
        return any((q["seconds"] <= p["seconds"] and q["energy_pj"] <= p["energy_pj"]) and
                   (q["seconds"] < p["seconds"] or q["energy_pj"] < p["energy_pj"]) for _, q in pts.iterrows())
    for _, p in pts.iterrows():
        assert p["pareto"] == (not dominated(p))
    assert "on the Pareto front" in capsys.readouterr().out
