"""Sampling grid found from the spike times (analysis/grid.py) and used by SPOTDis:
on-grid data through neo without annotation and through CSV take the grid kernel;
jittered times never get a grid."""

import numpy as np
import pytest

from analysis import SpikeTrains, simulate
from analysis.grid import detect_period
from analysis.io import load
from analysis.spotdis import spotdis


@pytest.mark.parametrize("rate", [1000.0, 30000.0, 64.0, 24414.0625])
def test_period_of_times_on_a_grid(rate):
    rng = np.random.default_rng(1)
    n = np.sort(rng.integers(0, int(rate * 50), 2000))
    assert detect_period(n / rate) == pytest.approx(1.0 / rate, rel=1e-12)
    assert detect_period(n * (1.0 / rate)) == pytest.approx(1.0 / rate, rel=1e-12)


def test_coarsest_grid_is_reported():
    rng = np.random.default_rng(2)
    n = np.sort(rng.integers(0, 20_000, 500)) * 30      # 1 ms written at 30 kHz
    assert detect_period(n / 30000) == pytest.approx(1e-3, rel=1e-12)


def test_no_grid_for_jittered_or_too_few_times():
    rng = np.random.default_rng(3)
    n = np.sort(rng.integers(0, 30000 * 20, 1000))
    assert detect_period(n / 30000 + rng.normal(0, 1e-7, n.size)) is None
    assert detect_period(rng.uniform(0, 10, 50)) is None
    assert detect_period(np.array([0.25])) is None
    assert detect_period(np.zeros(3)) is None


def _plain(data):
    """The same spikes and epochs, without any annotation."""
    return SpikeTrains(data.times, data.offsets, data.t_start, data.t_stop,
                       epochs=data.epochs)


def test_spiketrains_carry_the_grid_and_jitter_removes_it():
    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=4, n_noise_epochs=4,
                                  n_units=8, epoch_samples=60, pulse_samples=8, seed=1)
    assert _plain(data).sampling_period == pytest.approx(1e-3, rel=1e-12)
    rng = np.random.default_rng(0)
    jitter = np.clip(data.times + rng.uniform(-2e-4, 2e-4, data.n_spikes), data.t_start,
                     data.t_stop)
    jittered = SpikeTrains(jitter, data.offsets, data.t_start, data.t_stop,
                           epochs=data.epochs, sort=True)
    assert jittered.sampling_period is None
    assert spotdis(jittered).method == "continuous"


def test_grid_path_through_neo_without_annotation():
    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=5, n_noise_epochs=5,
                                  n_units=10, epoch_samples=80, pulse_samples=8, seed=4)
    back = SpikeTrains.from_neo(_plain(data).to_neo())
    assert "sample_time" not in back.annotations
    d = spotdis(back)
    assert d.method == "grid" and d.sampling_period == pytest.approx(1e-3, rel=1e-12)
    ref = spotdis(data, method="continuous")
    np.testing.assert_allclose(d.matrix, ref.matrix, rtol=0, atol=1e-12)


def test_grid_path_through_csv(tmp_path):
    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=5, n_noise_epochs=5,
                                  n_units=10, epoch_samples=80, pulse_samples=8, seed=6)
    units = np.repeat(np.arange(data.n_units), np.diff(data.offsets))
    path = tmp_path / "spikes.csv"
    rows = "".join(f"{float(t)!r},{u}\n" for t, u in zip(data.times, units))
    path.write_text("time,unit\n" + rows)
    back = load(path, t_stop=data.t_stop).replace(epochs=data.epochs)
    d = spotdis(back)
    assert d.method == "grid"
    np.testing.assert_allclose(d.matrix, spotdis(data).matrix, rtol=0, atol=1e-12)
