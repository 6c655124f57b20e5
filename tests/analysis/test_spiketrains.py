import neo
import numpy as np
import pytest
import quantities as pq

from analysis import Epochs, SpikeDataError, SpikeTrains


def small():
    return SpikeTrains.from_lists([[0.1, 0.2, 0.95], [], [0.5]], t_start=0.0, t_stop=1.0,
                                  unit_ids=["a", "b", "c"])


def test_csr_layout_and_accessors():
    st = small()
    assert st.n_units == 3 and st.n_spikes == 4
    np.testing.assert_array_equal(st.offsets, [0, 3, 3, 4])
    np.testing.assert_array_equal(st[0], [0.1, 0.2, 0.95])
    assert st["c"].tolist() == [0.5]
    assert st[1].size == 0
    np.testing.assert_array_equal(st.units, [0, 0, 0, 2])
    np.testing.assert_allclose(st.rates, [3.0, 0.0, 1.0])


def test_immutable():
    st = small()
    with pytest.raises(AttributeError):
        st.t_stop = 2.0
    with pytest.raises(ValueError):
        st.times[0] = 5.0


@pytest.mark.parametrize("times, reason", [
    ([[0.1, np.nan]], "not finite"),
    ([[0.1, np.inf]], "not finite"),
    ([[-0.1]], "outside"),
    ([[1.5]], "outside"),
    ([[0.5, 0.2]], "not sorted"),
])
def test_validation_names_unit_and_reason(times, reason):
    with pytest.raises(SpikeDataError, match=reason) as info:
        SpikeTrains.from_lists(times, t_start=0.0, t_stop=1.0, unit_ids=["u7"], sort=False)
    assert "u7" in str(info.value)


def test_sort_option_sorts_within_units():
    st = SpikeTrains.from_lists([[0.5, 0.2], [0.9, 0.1]], t_stop=1.0, sort=True)
    assert st[0].tolist() == [0.2, 0.5] and st[1].tolist() == [0.1, 0.9]


def test_unit_id_validation():
    with pytest.raises(SpikeDataError, match="used twice"):
        SpikeTrains.from_lists([[0.1], [0.2]], t_stop=1, unit_ids=["x", "x"])
    with pytest.raises(SpikeDataError, match="empty"):
        SpikeTrains.from_lists([[0.1]], t_stop=1, unit_ids=[""])


def test_from_spikes_refuses_unsorted_rows_without_sort():
    with pytest.raises(SpikeDataError, match="row 2"):
        SpikeTrains.from_spikes([0.3, 0.1, 0.2], ["a", "b", "a"], sort=False, t_stop=1)
    st = SpikeTrains.from_spikes([0.3, 0.1, 0.2], ["a", "b", "a"], t_stop=1)
    assert st["a"].tolist() == [0.2, 0.3]


def brute_force_bin(st, bin_size):
    n_bins = int(np.floor((st.t_stop - st.t_start) / bin_size + 1e-8))
    out = np.zeros((st.n_units, n_bins), dtype=int)
    for i, train in enumerate(st):
        for t in train:
            k = int(np.floor((t - st.t_start) / bin_size + 1e-8))
            if k < n_bins:
                out[i, k] += 1
    return out


def test_bin_matches_brute_force_and_binary_clips():
    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(0.0, 2.0, rng.integers(0, 40))) for _ in range(12)]
    st = SpikeTrains.from_lists(trains, t_start=0.0, t_stop=2.0)
    counts = st.bin(0.013).toarray()
    np.testing.assert_array_equal(counts, brute_force_bin(st, 0.013))
    assert counts.max() > 1  # the case where clipping matters occurs
    np.testing.assert_array_equal(st.bin(0.013, binary=True).toarray(), np.minimum(counts, 1))


def test_bin_matches_elephant():
    from elephant import conversion  # test-only oracle

    rng = np.random.default_rng(1)
    # spike times on the bin grid (the case where rounding tolerance matters)
    trains = [np.unique(rng.integers(0, 1000, 50)) * 0.003 for _ in range(8)]
    st = SpikeTrains.from_lists(trains, t_start=0.0, t_stop=3.0)
    neo_trains = [neo.SpikeTrain(t * pq.s, t_start=0 * pq.s, t_stop=3.0 * pq.s) for t in trains]
    expected = conversion.BinnedSpikeTrain(neo_trains, bin_size=3 * pq.ms).to_array()
    np.testing.assert_array_equal(st.bin(0.003).toarray(), expected)


def test_bin_size_errors_name_parameter():
    st = small()
    for bad in (0, -1, np.nan, 5.0):
        with pytest.raises(ValueError, match="bin_size"):
            st.bin(bad)


def test_select_units_carries_truth():
    st = SpikeTrains.from_lists([[0.1], [0.2], [0.3], [0.4]], t_stop=1.0,
                                truth={"ordering": np.array([2, 0, 3, 1]),
                                       "chain_group": np.array([1, -1, 0, 1])})
    sub = st.select_units([0, 2])
    assert sub.unit_ids.tolist() == ["0", "2"]
    assert sub.truth["ordering"].tolist() == [1, 0]
    assert sub.truth["chain_group"].tolist() == [1, 0]
    assert st.select_units(["3"])[0].tolist() == [0.4]


def test_time_slice_and_epochs():
    ep = Epochs([0.0, 0.5], [0.5, 1.0], ["x", "y"])
    st = small().replace(epochs=ep, truth={"epoch_labels": np.array([0, 1])})
    sl = st.time_slice(0.4, 1.0)
    assert sl[0].tolist() == [0.95] and sl[2].tolist() == [0.5]
    assert len(sl.epochs) == 1 and sl.truth["epoch_labels"].tolist() == [1]
    times, offsets = st.epoch_spikes(1)
    np.testing.assert_allclose(times, [0.45, 0.0])
    assert offsets.tolist() == [0, 1, 1, 2]


def test_epochs_outside_recording_rejected():
    with pytest.raises(SpikeDataError, match="outside"):
        small().replace(epochs=Epochs([0.5], [1.5], ["x"]))


def test_neo_round_trip_keeps_times_units_annotations():
    st = small().replace(
        annotations={"experiment": "demo"},
        unit_annotations={"group": np.array(["good", "mua", "good"])},
        epochs=Epochs([0.0], [0.5], ["trial"]),
        truth={"ordering": np.array([2, 0, 1])})
    block = st.to_neo()
    assert block.segments[0].spiketrains[0].annotations["unit_id"] == "a"
    back = SpikeTrains.from_neo(block)
    assert back.equals(st)


def test_from_neo_converts_quantities_and_reads_elephant_ordering():
    seg = neo.Segment()
    seg.spiketrains.append(neo.SpikeTrain([10, 250] * pq.ms, t_start=0 * pq.ms,
                                          t_stop=1000 * pq.ms))
    seg.spiketrains.append(neo.SpikeTrain([0.5] * pq.s, t_start=0 * pq.s, t_stop=1 * pq.s))
    seg.annotate(spiketrain_ordering=[1, 0])
    st = SpikeTrains.from_neo(seg)
    np.testing.assert_allclose(st[0], [0.01, 0.25])
    assert st.t_stop == 1.0
    assert st.truth["ordering"].tolist() == [1, 0]


def test_population_rate():
    st = SpikeTrains.from_lists([[0.1, 0.6], [0.7]], t_stop=1.0)
    centres, rate = st.population_rate(0.5)
    np.testing.assert_allclose(centres, [0.25, 0.75])
    np.testing.assert_allclose(rate, [1.0, 2.0])  # spikes / s / unit


def test_epochs_from_events_sorts_labels_and_allows_overlap():
    ep = Epochs.from_events([0.5, 0.1, 0.3], offset=-0.05, length=0.3, t_start=0.0, t_stop=1.0)
    np.testing.assert_allclose(ep.start, [0.05, 0.25, 0.45])
    np.testing.assert_allclose(ep.stop, [0.35, 0.55, 0.75])      # windows overlap: fine
    assert ep.label.tolist() == ["event 0", "event 1", "event 2"]
    # given labels follow their events through the sort
    ep = Epochs.from_events([0.5, 0.1], 0.0, 0.1, labels=["late", "early"])
    assert ep.label.tolist() == ["early", "late"]
    np.testing.assert_allclose(ep.start, [0.1, 0.5])
    # a window may touch the recording's bounds exactly; the result works as epochs
    ep = Epochs.from_events([0.0, 0.9], 0.0, 0.1, t_start=0.0, t_stop=1.0)
    st = small().replace(epochs=ep)
    assert len(st.epochs) == 2 and st.epoch_spikes(1)[0].tolist() == pytest.approx([0.05])


def test_epochs_from_events_puts_bounds_on_the_sample_grid():
    events = 0.3 * np.arange(4)                 # 0.8999999999999999, not 0.9
    assert events[3] != 0.9
    ep = Epochs.from_events(events, 0.0, 0.3, sampling_period=0.001)
    # bounds are sample * period, as spike times on the grid are
    assert ep.start[3] == 900 * 0.001 and ep.stop[2] == 900 * 0.001
    # off-grid times stay where they are
    ep = Epochs.from_events([0.10049], 0.0, 0.1, sampling_period=0.001)
    assert ep.start[0] == 0.10049


@pytest.mark.parametrize("kwargs, name, reason", [
    ({"events": []}, "events", "at least one"),
    ({"events": ["a", "b"]}, "events", "expected event times"),
    ({"events": [0.1, np.nan]}, "events", "finite"),
    ({"length": 0.0}, "length", "> 0"),
    ({"length": -0.1}, "length", "> 0"),
    ({"length": "x"}, "length", "number of seconds"),
    ({"offset": np.inf}, "offset", "finite"),
    ({"offset": -0.2}, "offset", "before the recording's start"),
    ({"length": 0.6}, "length", "after the recording's end"),
    ({"labels": ["a"]}, "labels", "1 labels for 2 events"),
])
def test_epochs_from_events_errors_name_the_parameter(kwargs, name, reason):
    args = {"events": [0.1, 0.5], "offset": 0.0, "length": 0.2, "t_start": 0.0,
            "t_stop": 1.0, **kwargs}
    with pytest.raises(ValueError) as info:
        Epochs.from_events(**args)
    text = str(info.value)
    assert text.startswith(f"{name}: ") and reason in text and "\n" not in text
