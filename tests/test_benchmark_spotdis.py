"""benchmarks/spotdis.py: the optional LGro/spot comparison says why it is skipped, and the
machine description includes the caches (the grid kernel's speed depends on them)."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("bench_spotdis",
                                                  ROOT / "benchmarks" / "spotdis.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_spot_checkout_is_reported(tmp_path):
    fn, why = _bench().lgro_spot(tmp_path / "nowhere")
    assert fn is None
    assert why.startswith("--spot ") and "no LGro/spot checkout" in why and "skipping" in why


def test_cache_sizes_and_load_are_described():
    bench = _bench()
    assert "L" in bench.cache_sizes() or "unknown" in bench.cache_sizes()
    assert bench.load_average().startswith("load average ")


def test_spot_checkout_gives_spot_spot_distances(tmp_path, monkeypatch):
    (tmp_path / "spot").mkdir()
    (tmp_path / "spot" / "__init__.py").write_text("")
    (tmp_path / "spot" / "spot.py").write_text(
        "def distances(spike_times, ii_spike_times, epoch_length=1.0, "
        "metric='SPOTD_xcorr'):\n    return 'stand-in'\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in ("spot", "spot.spot"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    fn, why = _bench().lgro_spot(tmp_path)
    assert why is None and fn([], []) == "stand-in"


def test_spot_layout_index_ranges_select_each_epochs_unit_spikes():
    from analysis import simulate
    data = simulate.spot_patterns(n_patterns=1, epochs_per_pattern=3, n_noise_epochs=2,
                                  n_units=4, seed=1)
    times, index = _bench().spot_layout(data)
    assert index.shape == (5, 4, 2)
    for k in range(5):
        t, o = data.epoch_spikes(k)
        for i in range(4):
            assert list(times[index[k, i, 0]:index[k, i, 1]]) == list(t[o[i]:o[i + 1]])
