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
        annotations={"experiment": "demo", "channels": [1, 2], "rig": {"id": 3}},
        unit_annotations={"group": np.array(["good", "mua", "good"])},
        epochs=Epochs([0.0], [0.5], ["trial"]),
        truth={"ordering": np.array([2, 0, 1])})
    block = st.to_neo()
    assert block.segments[0].spiketrains[0].annotations["unit_id"] == "a"
    # lists and dicts stay what they are (NIX files turn what they cannot store into JSON)
    assert block.annotations["channels"] == [1, 2] and block.annotations["rig"] == {"id": 3}
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


# ---------------------------------------------------------------------- foreign neo Blocks
def foreign_block():
    """A Block not written by spikelens: ms, annotations on every level, an Epoch, names."""
    block = neo.Block(name="session 7", description="recorded elsewhere")
    block.annotate(experimenter="ada", channels=[1, 2, 3], name="not the block's name")
    seg = neo.Segment(name="asset showcase", description="one recording")
    seg.annotate(spiketrain_ordering=[2, 0, 1], stimulus="grating", sampling_rate_hz=30000.0)
    for i, t in enumerate([[10.0, 250.0, 900.0], [5.0, 400.0], [100.0]]):
        st = neo.SpikeTrain(t * pq.ms, t_start=0 * pq.ms, t_stop=1000 * pq.ms, name=f"n{i}")
        st.annotate(layer=["L2/3", "L4", "L5"][i], channel=i + 1, good=i != 1)
        seg.spiketrains.append(st)
    epoch = neo.Epoch(times=[0, 500] * pq.ms, durations=[400, 300] * pq.ms,
                      labels=np.array(["go", "stop"]), name="trials")
    epoch.annotate(paradigm="go/no-go")
    seg.epochs.append(epoch)
    seg.epochs.append(neo.Epoch(times=[950] * pq.ms, durations=[50] * pq.ms, name="tail"))
    block.segments.append(seg)
    return block


def plain_value(v):
    v = getattr(v, "magnitude", v)
    return v.tolist() if isinstance(v, np.ndarray) else v.item() if isinstance(v, np.generic) \
        else v


def plain_annotations(obj):
    return {k: plain_value(v) for k, v in obj.annotations.items()}


def assert_same_block(a, b):
    """Names, annotations at every level, times in seconds, epochs with labels."""
    assert (a.name, a.description) == (b.name, b.description)
    assert plain_annotations(a) == plain_annotations(b)
    assert len(a.segments) == len(b.segments)
    for sa, sb in zip(a.segments, b.segments):
        assert (sa.name, sa.description) == (sb.name, sb.description)
        assert plain_annotations(sa) == plain_annotations(sb)
        assert len(sa.spiketrains) == len(sb.spiketrains)
        for ta, tb in zip(sa.spiketrains, sb.spiketrains):
            assert ta.name == tb.name
            assert plain_annotations(ta) == plain_annotations(tb)
            np.testing.assert_array_equal(ta.rescale("s").magnitude, tb.rescale("s").magnitude)
            assert ta.t_start.rescale("s") == tb.t_start.rescale("s")
            assert ta.t_stop.rescale("s") == tb.t_stop.rescale("s")
        assert [e.name for e in sa.epochs] == [e.name for e in sb.epochs]
        for ea, eb in zip(sa.epochs, sb.epochs):
            np.testing.assert_array_equal(ea.times.rescale("s").magnitude,
                                          eb.times.rescale("s").magnitude)
            np.testing.assert_allclose(ea.durations.rescale("s").magnitude,
                                       eb.durations.rescale("s").magnitude, rtol=1e-12)
            assert np.asarray(ea.labels).tolist() == np.asarray(eb.labels).tolist()
            assert plain_annotations(ea) == plain_annotations(eb)


def test_foreign_neo_block_round_trips_block_to_spiketrains_to_block():
    original = foreign_block()
    st = SpikeTrains.from_neo(original)
    # in: seconds, ids from names, train annotations per unit, ordering as truth
    assert st.unit_ids.tolist() == ["n0", "n1", "n2"]
    assert st[0].tolist() == [0.010, 0.250, 0.900] and (st.t_start, st.t_stop) == (0.0, 1.0)
    assert st.unit_annotations["layer"].tolist() == ["L2/3", "L4", "L5"]
    assert st.unit_annotations["channel"].tolist() == [1, 2, 3]
    assert st.unit_annotations["good"].dtype == bool
    assert st.truth["ordering"].tolist() == [2, 0, 1]
    assert st.annotations["experimenter"] == "ada" and st.annotations["stimulus"] == "grating"
    assert st.epochs.label.tolist() == ["go", "stop", "0"]
    np.testing.assert_allclose(st.epochs.stop, [0.4, 0.8, 1.0])
    # out: the same Block (annotations at their own level, names, epochs, ordering)
    back = st.to_neo()
    assert_same_block(original, back)
    assert "spiketrain_ordering" in back.segments[0].annotations
    assert not any(k.startswith("spikelens") for k in back.annotations)
    # and SpikeTrains -> neo -> SpikeTrains stays exact for such data too
    assert SpikeTrains.from_neo(back).equals(st)


def test_foreign_neo_partial_annotations_and_unit_id_annotation():
    seg = neo.Segment(name="s")
    for i, extra in enumerate([{"depth": 10.5}, {}, {"depth": 3}]):
        t = neo.SpikeTrain([0.1 * (i + 1)] * pq.s, t_stop=1 * pq.s, name=f"electrode {i}")
        t.annotate(unit_id=f"u{i}", **extra)
        seg.spiketrains.append(t)
    block = neo.Block(name="b")
    block.segments.append(seg)
    st = SpikeTrains.from_neo(block)
    assert st.unit_ids.tolist() == ["u0", "u1", "u2"]
    # a key missing on a train, or values of two types: object array, None for missing
    assert st.unit_annotations["depth"].tolist() == [10.5, None, 3]
    assert "unit_id" not in st.unit_annotations
    assert_same_block(block, st.to_neo())


def test_foreign_neo_spikelens_block_stays_exact_and_is_marked():
    st = small().replace(annotations={"name": "rec", "x": 1},
                         unit_annotations={"group": np.array(["a", "b", "c"])})
    block = st.to_neo()
    assert "spikelens_unit_annotations" in block.annotations
    assert SpikeTrains.from_neo(block).equals(st)
    assert SpikeTrains.from_neo(small().to_neo()).equals(small())


def trial_block(overlap=False, units=("u0", "u1")):
    block = neo.Block(name="trials")
    for k in range(3):
        t0 = 0.0 if overlap else 1000.0 * k
        seg = neo.Segment(name=f"trial {k}")
        seg.annotate(condition=["a", "b", "a"][k], rig="r1")
        for i, uid in enumerate(units if k == 0 else ("u0", "u1")):
            st = neo.SpikeTrain((t0 + np.array([10.0 * (i + 1), 1000.0])) * pq.ms,
                                t_start=t0 * pq.ms, t_stop=(t0 + 1000) * pq.ms, name=uid)
            st.annotate(quality="good", snr=float(k + i))
            seg.spiketrains.append(st)
        seg.epochs.append(neo.Epoch(times=[t0 + 100] * pq.ms, durations=[50] * pq.ms,
                                    labels=["stim"], name="stim"))
        block.segments.append(seg)
    return block


def test_neo_block_of_consecutive_trials_is_joined_with_one_epoch_per_segment():
    block = trial_block()
    st = SpikeTrains.from_neo(block)
    assert (st.t_start, st.t_stop) == (0.0, 3.0) and st.unit_ids.tolist() == ["u0", "u1"]
    # times keep the block's time axis; a spike on a shared bound (1 s) occurs twice
    np.testing.assert_allclose(st["u0"], [0.01, 1.0, 1.01, 2.0, 2.01, 3.0])
    assert st.epochs.label.tolist() == ["trial 0", "trial 1", "trial 2", "stim", "stim",
                                        "stim"]
    np.testing.assert_allclose(st.epochs.start[:3], [0.0, 1.0, 2.0])
    assert st.annotations["rig"] == "r1" and "condition" not in st.annotations
    assert st.unit_annotations["quality"].tolist() == ["good", "good"]
    assert "snr" not in st.unit_annotations  # differs between trials: kept per segment
    # back: one Segment per trial again; the spikes at 1 s and 2 s lie on the bound of two
    # touching segments and go back to the trial they came from
    back = st.to_neo()
    assert_same_block(block, back)
    assert SpikeTrains.from_neo(back).equals(st)


@pytest.mark.parametrize("kwargs, reason", [
    ({"overlap": True}, "overlap in time"),
    ({"units": ("u0", "other")}, "different units"),
])
def test_neo_block_with_segments_that_are_not_consecutive_trials_is_refused(kwargs, reason):
    with pytest.raises(SpikeDataError) as info:
        SpikeTrains.from_neo(trial_block(**kwargs), source="x.nix")
    msg = str(info.value)
    assert "block 'trials'" in msg and "3 segments" in msg and reason in msg
    assert msg.startswith("x.nix: ") and "\n" not in msg


# ---------------------------------------------------------------------- immutability
def test_times_do_not_share_writeable_memory_with_the_caller():
    buf = np.array([0.1, 0.2, 0.3, 0.9])
    view = buf[:]  # a writeable view
    st = SpikeTrains(view, [0, 4], 0.0, 1.0)
    buf[0] = 0.5
    view[1] = 0.6
    assert st[0].tolist() == [0.1, 0.2, 0.3, 0.9]
    assert not np.shares_memory(st.times, buf)


def test_the_callers_arrays_are_copied_and_stay_writeable():
    times = np.array([0.1, 0.2])
    view = times[:]  # a writeable view made before the call
    st = SpikeTrains(times, [0, 2], 0.0, 1.0)
    assert not np.shares_memory(st.times, times)
    assert times.flags.writeable and view.flags.writeable  # never made read-only
    times[0], view[1] = 0.5, 0.6
    assert st[0].tolist() == [0.1, 0.2]
    x = np.arange(3.0)
    v = x[:]
    st = SpikeTrains(x, [0, 3], 0.0, 5.0)
    v[0] = 4.0
    assert st.times.tolist() == [0.0, 1.0, 2.0]
    # the other arrays passed in are not made read-only either
    start, stop, order, group = (np.array([0.0]), np.array([0.5]), np.array([1, 0]),
                                 np.array(["a", "b"]))
    SpikeTrains.from_lists([[0.1], [0.2]], t_stop=1.0, epochs=Epochs(start, stop, ["e"]),
                           truth={"ordering": order}, unit_annotations={"group": group})
    assert all(a.flags.writeable for a in (start, stop, order, group))


def test_copy_false_hands_an_owned_array_over_without_a_copy():
    times = np.array([0.1, 0.2])
    st = SpikeTrains(times, [0, 2], 0.0, 1.0, copy=False)
    assert np.shares_memory(st.times, times)
    assert not times.flags.writeable  # handed over: read-only now
    with pytest.raises(ValueError):
        times[0] = 0.5
    # a list or another dtype is converted once, not copied again
    assert SpikeTrains([0.1, 0.2], [0, 2], 0.0, 1.0).times.base is None


def test_read_only_arrays_are_not_copied_again():
    st = small()
    assert np.shares_memory(st.replace(t_stop=2.0).times, st.times)
    assert np.shares_memory(SpikeTrains(st.times, st.offsets, 0.0, 1.0).times, st.times)
    ro = np.array([0.1, 0.2])
    ro.flags.writeable = False
    ro_view = ro[:]
    assert np.shares_memory(SpikeTrains(ro_view, [0, 2], 0.0, 1.0).times, ro)


def test_epoch_truth_and_unit_annotation_arrays_are_private():
    start, stop = np.array([0.0, 0.5, 9.0]), np.array([0.4, 0.9, 9.5])
    order = np.array([[2, 0, 1]])
    group = np.array(["x", "y", "z", "w"])
    st = small().replace(epochs=Epochs(start[:2], stop[:2], ["a", "b"]),
                         truth={"ordering": order[0]},
                         unit_annotations={"group": group[:3]})
    start[0], order[0, 0], group[0] = 0.3, 1, "changed"
    assert st.epochs.start[0] == 0.0 and st.truth["ordering"][0] == 2
    assert st.unit_annotations["group"][0] == "x"
    for a in (st.epochs.start, st.truth["ordering"], st.unit_annotations["group"]):
        assert not a.flags.writeable


def test_annotation_dicts_are_read_only_but_behave_like_dicts():
    import copy
    import json

    st = small().replace(annotations={"experiment": "demo", "n": [1, 2]},
                         unit_annotations={"group": np.array(["a", "b", "c"])},
                         truth={"ordering": np.array([2, 0, 1])})
    for d in (st.annotations, st.unit_annotations, st.truth):
        with pytest.raises(TypeError, match="read-only"):
            d["new"] = 1
        for method, args in (("update", ({"x": 1},)), ("pop", ("x",)), ("clear", ()),
                             ("setdefault", ("x", 1)), ("popitem", ())):
            with pytest.raises(TypeError, match="replace"):
                getattr(d, method)(*args)
        with pytest.raises(TypeError):
            del d[next(iter(d))]
        assert isinstance(d, dict)
    with pytest.raises(TypeError):
        st.annotations |= {"x": 1}
    assert json.loads(json.dumps(st.annotations)) == {"experiment": "demo", "n": [1, 2]}
    mutable = dict(st.annotations)
    mutable["x"] = 1  # a copy is an ordinary dict
    assert "x" not in st.annotations
    assert copy.deepcopy(st.annotations) == st.annotations
    assert st.replace(annotations={**st.annotations, "x": 1}).annotations["x"] == 1


# ---------------------------------------------------------------------- from_spikes bounds
def test_from_spikes_refuses_negative_times_without_t_start_like_load():
    with pytest.raises(SpikeDataError) as info:
        SpikeTrains.from_spikes([0.2, -0.5, 0.1], ["a", "b", "a"], source="arrays")
    msg = str(info.value)
    assert msg.startswith("arrays: times: ") and "negative time -0.5 s in row 1" in msg
    assert "t_start=" in msg
    st = SpikeTrains.from_spikes([0.2, -0.5, 0.1], ["a", "b", "a"], t_start=-1.0)
    assert st.t_start == -1.0 and st["b"].tolist() == [-0.5]
    assert SpikeTrains.from_spikes([0.2, 0.1], ["a", "a"]).t_start == 0.0


# ---------------------------------------------------------------------- neo layout by unit id
def two_trial_block(names=True, unit_ids=False):
    """A foreign Block: 2 consecutive trials of 3 units; per-train names, bounds that
    differ from the segment's, and a train annotation that differs per segment."""
    block = neo.Block(name="b")
    for k, (t0, t1) in enumerate([(0.0, 1.0), (1.0, 2.0)]):
        seg = neo.Segment(name=f"trial{k}")
        for i in range(3):
            st = neo.SpikeTrain(np.array([t0 + 0.1 * (i + 1), t0 + 0.5]) * pq.s,
                                t_start=(t0 + 0.01 * i) * pq.s, t_stop=(t0 + 0.6 + 0.1 * i) * pq.s,
                                name=f"n{i}" if names else None)
            st.annotate(depth=float(i), seg_specific=f"s{k}u{i}")
            if unit_ids:
                st.annotate(unit_id=f"u{i}")
            seg.spiketrains.append(st)
        block.segments.append(seg)
    return block


@pytest.mark.parametrize("unit_ids", [False, True])
@pytest.mark.parametrize("index", [[2, 0, 1], [2, 0], [1]])
def test_to_neo_maps_per_train_layout_by_unit_id(tmp_path, unit_ids, index):
    from analysis.io import load, save

    d = SpikeTrains.from_neo(two_trial_block(names=not unit_ids, unit_ids=unit_ids))
    orig = {uid: i for i, uid in enumerate(d.unit_ids.tolist())}
    p = d.select_units(index)
    block = p.to_neo()
    for k, seg in enumerate(block.segments):
        for t, uid in zip(seg.spiketrains, p.unit_ids.tolist()):
            i = orig[uid]
            assert t.annotations["seg_specific"] == f"s{k}u{i}"
            assert t.annotations["depth"] == float(i)
            assert float(t.t_start) == pytest.approx(k + 0.01 * i)
            assert float(t.t_stop) == pytest.approx(k + 0.6 + 0.1 * i)
            if unit_ids:
                assert t.annotations["unit_id"] == uid
            else:
                assert t.name == uid
    back = SpikeTrains.from_neo(block)
    assert back.unit_ids.tolist() == p.unit_ids.tolist()
    for i in range(p.n_units):
        np.testing.assert_array_equal(back[i], p[i])
    save(p, tmp_path / "p.nix")
    again = load(tmp_path / "p.nix")
    assert again.unit_ids.tolist() == p.unit_ids.tolist()


def test_to_neo_index_ids_keep_names_and_are_written_after_select_units(tmp_path):
    from analysis.io import save

    block = two_trial_block(names=False)
    for k, seg in enumerate(block.segments):
        for i, t in enumerate(seg.spiketrains):
            t.name = ["x", "x", "y"][i]  # not distinct: ids from positions
    d = SpikeTrains.from_neo(block)
    assert d.annotations["neo_layout"]["unit_id"] == "index"
    # unchanged: no unit_id written, names as recorded
    t0 = d.to_neo().segments[0].spiketrains
    assert [t.name for t in t0] == ["x", "x", "y"]
    assert all("unit_id" not in t.annotations for t in t0)
    for index, names in (([0, 2], ["x", "y"]), ([2, 0, 1], ["y", "x", "x"]),
                         ([0, 1], ["x", "x"])):
        q = d.select_units(index)
        b = q.to_neo()
        assert [t.name for t in b.segments[1].spiketrains] == names
        assert SpikeTrains.from_neo(b).unit_ids.tolist() == q.unit_ids.tolist()
    save(d.select_units([0, 2]), tmp_path / "q.nix")


def test_to_neo_drops_train_bounds_that_no_longer_hold_the_spikes(tmp_path):
    from analysis.io import save

    block = neo.Block(name="b")
    seg = neo.Segment()
    block.segments.append(seg)
    seg.spiketrains.append(neo.SpikeTrain([0.1, 0.2] * pq.s, t_start=0 * pq.s,
                                          t_stop=1 * pq.s, name="a", unit_id=7))
    seg.spiketrains.append(neo.SpikeTrain([1.5, 1.9] * pq.s, t_start=1 * pq.s,
                                          t_stop=2 * pq.s, name="b", unit_id=9))
    d = SpikeTrains.from_neo(block)
    p = d.select_units([1, 0])
    trains = p.to_neo().segments[0].spiketrains
    assert [(t.name, float(t.t_start), float(t.t_stop)) for t in trains] == \
        [("b", 1.0, 2.0), ("a", 0.0, 1.0)]
    save(p, tmp_path / "p.nix")
    # spikes moved out of a train's recorded bounds: the recording's bounds instead
    moved = d.replace(times=np.array([0.1, 1.2, 1.5, 1.9]))
    trains = moved.to_neo().segments[0].spiketrains
    assert [(float(t.t_start), float(t.t_stop)) for t in trains] == [(0.0, 2.0), (1.0, 2.0)]
    save(moved, tmp_path / "m.nix")
    sliced = d.time_slice(0.15, 1.6)
    trains = sliced.to_neo().segments[0].spiketrains
    assert all(sliced.t_start <= float(t.t_start) and float(t.t_stop) <= sliced.t_stop
               for t in trains)
    save(sliced, tmp_path / "s.nix")


# ---------------------------------------------------------------------- pickle and copy
def test_pickle_and_deepcopy_give_an_equal_immutable_object():
    import copy
    import pickle

    plain = small().replace(epochs=Epochs([0.0, 0.5], [0.4, 0.9], ["a", "b"]),
                            truth={"ordering": np.array([2, 0, 1]),
                                   "epoch_labels": np.array([0, 1])},
                            unit_annotations={"group": np.array(["a", "b", "c"])},
                            annotations={"experiment": "demo", "n": [1, 2]})
    foreign = SpikeTrains.from_neo(two_trial_block())
    for st in (plain, foreign, foreign.select_units([2, 0])):
        for other in (pickle.loads(pickle.dumps(st)), copy.deepcopy(st), copy.copy(st)):
            assert other.equals(st)
            assert not other.times.flags.writeable and not other.offsets.flags.writeable
            with pytest.raises(AttributeError):
                other.t_stop = 5.0
            with pytest.raises(TypeError):
                other.annotations["x"] = 1
            arrays = [*other.unit_annotations.values(), *other.truth.values()]
            if other.epochs is not None:
                arrays += [other.epochs.start, other.epochs.stop, other.epochs.label]
            assert not any(a.flags.writeable for a in arrays)
        assert pickle.loads(pickle.dumps(st)).to_neo().segments[0].spiketrains[0].name == \
            st.to_neo().segments[0].spiketrains[0].name


def test_annotations_can_be_dumped_with_yaml_safe_dump():
    yaml = pytest.importorskip("yaml")
    st = small().replace(annotations={"experiment": "demo", "n": [1, 2]})
    assert yaml.safe_load(yaml.safe_dump(st.annotations)) == {"experiment": "demo",
                                                              "n": [1, 2]}
    # nested inside a plain dict too (as in a report config)
    assert yaml.safe_load(yaml.safe_dump({"data": st.annotations})) == {
        "data": {"experiment": "demo", "n": [1, 2]}}


def test_time_slice_with_a_silent_last_unit():
    st = SpikeTrains.from_lists([[1.0], [0.5, 2.0], []], t_start=0.0, t_stop=3.0)
    part = st.time_slice(0.0, 1.0)
    assert part.offsets.tolist() == [0, 1, 2, 2] and part.times.tolist() == [1.0, 0.5]
