"""benchmarks/spikeship.py: a missing checkout of the authors' code is reported, a checkout
is imported under its own package name (the script, also called spikeship.py, must not
shadow it), and the index layout selects each epoch's spikes."""

import importlib.util
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("bench_spikeship",
                                                  ROOT / "benchmarks" / "spikeship.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_checkout_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    fn, why = _bench().authors_code(tmp_path / "nowhere")
    assert fn is None and why.startswith("--spikeship ") and "no SpikeShip checkout" in why


def test_checkout_is_not_shadowed_by_the_script(tmp_path, monkeypatch):
    (tmp_path / "spikeship").mkdir()
    (tmp_path / "spikeship" / "__init__.py").write_text("")
    (tmp_path / "spikeship" / "spikeship.py").write_text(
        "def distances(spike_times, ii_spike_times, num_threads=-1):\n"
        "    return 'stand-in'\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in ("spikeship", "spikeship.spikeship"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    bench = _bench()
    fn, why = bench.authors_code(tmp_path)
    assert why is None and fn([], []) == "stand-in"


def test_index_layout_selects_each_epochs_unit_spikes():
    from analysis import simulate
    data = simulate.spot_patterns(n_patterns=1, epochs_per_pattern=3, n_noise_epochs=2,
                                  n_units=4, seed=1)
    times, index = _bench().index_layout(data)
    assert index.shape == (5, 4, 2)
    for k in range(5):
        t, o = data.epoch_spikes(k)
        for i in range(4):
            np.testing.assert_array_equal(times[index[k, i, 0]:index[k, i, 1]], t[o[i]:o[i + 1]])
