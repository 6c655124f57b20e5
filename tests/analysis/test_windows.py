"""Sliding windows (analysis.spotdis.windows): the ground truth of issue #16 (patterns
embedded at known times in a long Poisson recording are found), graph mode, the windows,
their truth, population events and the one-line errors."""


import numpy as np
import pytest
from scipy.stats import spearmanr

from analysis import simulate
from analysis.errors import MemoryBudgetError
from analysis.spiketrains import SpikeTrains
from analysis.spotdis import SlidingWindows, population_events, window_epochs, window_truth
from analysis.spotdis.windows import window_starts


@pytest.fixture(scope="module")
def recording():
    # 30 units at 2 Hz for 120 s; 3 sequences x 20 occurrences of 100 ms, 24 members each
    return simulate.embedded_sequences(seed=1)


def _check_sequences(result, data, min_rho=0.8):
    """Each found pattern is mostly one true pattern, and its sequence orders that
    pattern's members as they were embedded (Spearman rho of the values against the
    embedded times)."""
    seq = data.truth["sequence_times"]
    matched = set()
    for lab, s in result.sequences.items():
        inside = result.truth[(result.labels == lab) & (result.truth >= 0)]
        true = int(np.bincount(inside).argmax())
        assert np.mean(inside == true) >= 0.9, (lab, np.bincount(inside))
        matched.add(true)
        members = np.isfinite(seq[true]) & np.isfinite(s.value)
        rho = spearmanr(seq[true][members], s.value[members]).statistic
        assert rho >= min_rho, (lab, true, rho)
        # the order starts with the leading members
        first = s.order()[0]
        assert np.isfinite(seq[true][first])
    assert matched == {0, 1, 2}


@pytest.mark.parametrize("dissimilarity, options", [
    ("spikeship", {"events_only": True, "event_bin": 0.02}),
    ("spotdis", {"min_active": 15}),
])
def test_embedded_patterns_are_found_by_sliding_windows(recording, dissimilarity, options):
    sw = SlidingWindows(data=recording, length=0.2, step=0.05, dissimilarity=dissimilarity,
                        **options)
    r = sw.run()
    assert r.scores["n_windows"] == len(r.labels) == r.start.size == 2397
    # the label time course matches the embedding times (ambiguous windows, which cut an
    # occurrence, are not scored)
    assert r.scores["ari"] >= 0.9, r.scores
    assert r.scores["n_clusters"] == 3
    assert r.scores["n_ambiguous"] == int(np.sum(r.truth == -2)) > 0
    _check_sequences(r, recording)
    assert {s.measure for s in r.sequences.values()} == \
        {"flow" if dissimilarity == "spikeship" else "delay"}
    # the time course: one row per window; the band's spans tile time, one per run
    tc = r.time_course()
    assert list(tc.columns) == ["start", "stop", "centre", "label", "truth"]
    assert np.allclose(tc["stop"] - tc["start"], 0.2)
    seg = r.segments()
    assert seg["windows"].sum() == len(r.labels)
    assert np.allclose(seg["start"].to_numpy()[1:], seg["stop"].to_numpy()[:-1])
    assert np.all(seg["label"].to_numpy()[1:] != seg["label"].to_numpy()[:-1])


def test_graph_mode_takes_the_windows(recording):
    sw = SlidingWindows(data=recording, length=0.2, step=0.05, min_active=15,
                        max_full_epochs=100, n_neighbors=15)
    r = sw.run()
    assert r.graph_mode and sw.clust.graph_mode()
    assert r.scores["n_clustered"] > 100
    assert "graph" in sw.clust.computations and "spotdis" not in sw.clust.computations
    assert r.scores["ari"] >= 0.9, r.scores


def test_cached_steps_and_settings_that_do_not_recut(recording):
    sw = SlidingWindows(data=recording, length=0.2, step=0.05, min_active=15,
                        dissimilarity="spikeship")
    sw.run()
    sw.min_cluster_size = 8
    sw.run()
    assert sw.computations["grid"] == 1 and sw.computations["windowed"] == 1
    assert sw.clust.computations["spikeship"] == 1
    assert sw.clust.computations["cluster"] == 2
    sw.sequence = "delay"
    r = sw.run()
    assert {s.measure for s in r.sequences.values()} == {"delay"}


def test_windows_and_their_truth():
    assert np.allclose(window_starts(0.0, 1.0, 0.25, 0.25), [0, 0.25, 0.5, 0.75])
    assert window_starts(0.0, 1.0, 0.3, 0.2).size == 4     # 0, .2, .4, .6 (end .9)
    truth = window_truth([0.0, 0.5, 1.0, 1.5, 2.0], [1.0, 1.5, 2.0, 2.5, 3.0],
                         [0.2, 2.1], [0.4, 2.9], [3, 5])
    # holds [0.2, 0.4]; cuts nothing but misses it... ; background; cuts [2.1, 2.9]; holds it
    assert truth.tolist() == [3, -1, -1, -2, 5]
    with pytest.raises(ValueError, match="^pattern_start: occurrences overlap"):
        window_truth([0.0], [1.0], [0.1, 0.2], [0.5, 0.6], [0, 1])
    data = simulate.poisson(n_units=3, rate=5, t_stop=1.0, seed=0)
    ep = window_epochs(data, 0.4, 0.3)
    assert np.allclose(ep.start, [0.0, 0.3, 0.6]) and np.allclose(ep.stop, [0.4, 0.7, 1.0])


def test_population_events_find_bursts():
    base = simulate.poisson(n_units=20, rate=2.0, t_stop=20.0, seed=3)
    bursts = np.array([3.005, 11.005, 17.005])
    times = [np.sort(np.concatenate([base[i], bursts + 0.001 * i])) for i in range(20)]
    offsets = np.concatenate([[0], np.cumsum([t.size for t in times])])
    data = SpikeTrains(np.concatenate(times), offsets, 0.0, 20.0)
    ev = population_events(data, bin_size=0.01, threshold=8.0)
    assert ev.size == 3 and np.allclose(ev, bursts, atol=0.01)
    assert population_events(base, 0.01, 8.0).size == 0
    with pytest.raises(ValueError, match="^bin_size: must be > 0 s"):
        population_events(data, 0.0)
    with pytest.raises(ValueError, match="^threshold: must be > 0"):
        population_events(data, 0.01, -1)


@pytest.mark.parametrize("params, message", [
    ({"length": 0.0}, "length' must be greater than 0"),
    ({"step": -1.0}, "step' must be greater than 0"),
    ({"length": 200.0}, "^length: a window of 200 s is longer than the recording"),
    ({"length": 119.9, "step": 1.0}, "^step: the recording .* holds only one window"),
    ({"memory_budget": 1e3}, "^memory_budget: 2397 windows of 0.2 s needs about"),
    ({"min_active": 31}, "^min_active: lower it"),
])
def test_one_line_errors(recording, params, message):
    base = {"length": 0.2, "step": 0.05}
    sw = SlidingWindows(data=recording)
    with pytest.raises((ValueError, MemoryBudgetError), match=message) as info:
        sw.param.update(**{**base, **params})
        sw.run()
    assert "\n" not in str(info.value)


def test_window_starts_errors():
    with pytest.raises(ValueError, match="^length: must be > 0 s, got 0"):
        window_starts(0.0, 1.0, 0.0, 0.1)
    with pytest.raises(ValueError, match="^step: must be > 0 s, got nan"):
        window_starts(0.0, 1.0, 0.1, float("nan"))
    with pytest.raises(ValueError, match="^length: expected a number"):
        window_starts(0.0, 1.0, "long", 0.1)


def test_no_data_and_no_events():
    with pytest.raises(ValueError, match="^data: no spike trains given"):
        SlidingWindows().run()
    flat = simulate.poisson(n_units=10, rate=5, t_stop=10.0, seed=0)
    sw = SlidingWindows(data=flat, length=0.2, step=0.1, events_only=True,
                        event_threshold=50.0)
    with pytest.raises(ValueError, match="^events_only: few windows hold a population event"):
        sw.run()


def test_memory_estimate_grows_with_windows(recording):
    from analysis.spotdis.windows import windows_bytes

    full = windows_bytes(recording, 1000, 0.2)
    assert windows_bytes(recording, 2000, 0.2) > 3.9 * full - 1e3
    # graph mode: linear in the windows
    g1 = windows_bytes(recording, 100_000, 0.2, n_neighbors=30)
    assert windows_bytes(recording, 200_000, 0.2, n_neighbors=30) == pytest.approx(2 * g1)
    assert g1 < 24e9
