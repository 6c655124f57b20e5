"""Property-based tests (hypothesis) of the inputs: SpikeTrains construction, binning, IO
round trips, SPOTDis invariants, ASSET matrices and assembly p-values.

Reproducible: the ``spikelens`` hypothesis profile (tests/conftest.py) derandomizes the
examples; the example counts below keep this module within ~40 s on 2 cores.
"""

import importlib.util
import math
import pathlib
import tempfile

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from analysis import SpikeTrains
from analysis.assembly import AssemblyNeurons
from analysis.asset import (intersection_matrix, joint_probability_matrix,
                            probability_matrix_analytical, spike_probabilities)
from analysis.errors import SpikeDataError
from analysis.io import load, save
from analysis.spiketrains import BIN_TOLERANCE
from analysis.spotdis import spotdis

try:  # pytest's default (prepend) import mode puts this folder on sys.path
    from test_spotdis import brute_spotdis, from_epoch_lists
except ImportError:  # pragma: no cover - other import modes
    _spec = importlib.util.spec_from_file_location(
        "_spikelens_test_spotdis", pathlib.Path(__file__).with_name("test_spotdis.py"))
    _mod = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_mod)
    brute_spotdis, from_epoch_lists = _mod.brute_spotdis, _mod.from_epoch_lists

FAST = settings(max_examples=40)
MEDIUM = settings(max_examples=15)
FEW = settings(max_examples=4)


def one_line(exc):
    msg = str(exc)
    assert msg and "\n" not in msg and "\r" not in msg, repr(msg)
    return msg


# ====================================================================== strategies
finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def bounds(draw):
    t0 = draw(st.floats(-100, 100, **finite))
    dur = draw(st.floats(1e-3, 100, **finite))
    t1 = t0 + dur
    assume(t1 > t0)
    return t0, t1


@st.composite
def spike_lists(draw, max_units=5, max_spikes=12):
    """(lists of unsorted spike times per unit, t_start, t_stop)."""
    t0, t1 = draw(bounds())
    n = draw(st.integers(0, max_units))
    lists = [draw(st.lists(st.floats(t0, t1, **finite), max_size=max_spikes))
             for _ in range(n)]
    return lists, t0, t1


unit_id = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)),
                  min_size=1, max_size=6)
label = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=5)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 53, 2 ** 53),
                        st.floats(**finite), st.text(max_size=8))


@st.composite
def spike_trains(draw, max_units=4, max_spikes=8, rich=True):
    """A valid SpikeTrains with arbitrary ids, epochs, annotations and truth."""
    lists, t0, t1 = draw(spike_lists(max_units, max_spikes))
    n = len(lists)
    ids = draw(st.lists(unit_id, min_size=n, max_size=n, unique=True))
    kwargs = {}
    if rich and draw(st.booleans()):
        m = draw(st.integers(0, 3))
        a = draw(st.lists(st.floats(t0, t1, **finite), min_size=m, max_size=m))
        b = draw(st.lists(st.floats(t0, t1, **finite), min_size=m, max_size=m))
        labels = draw(st.lists(label, min_size=m, max_size=m))
        kwargs["epochs"] = {"start": np.minimum(a, b), "stop": np.maximum(a, b),
                            "label": labels}
    if rich:
        kwargs["annotations"] = draw(st.dictionaries(st.text(min_size=1, max_size=5),
                                                     json_scalar, max_size=3))
        if n and draw(st.booleans()):
            kwargs["truth"] = {"ordering": np.asarray(draw(st.permutations(range(n))),
                                                      dtype=np.int64)}
        if n and draw(st.booleans()):
            kwargs["unit_annotations"] = {
                "group": np.asarray(draw(st.lists(label, min_size=n, max_size=n)), dtype=str),
                "depth": np.asarray(draw(st.lists(st.integers(-10 ** 6, 10 ** 6),
                                                  min_size=n, max_size=n)), dtype=np.int64)}
    return SpikeTrains.from_lists(lists, t_start=t0, t_stop=t1, unit_ids=ids, **kwargs)


# ====================================================================== construction
@FAST
@given(spike_lists())
def test_from_lists_sorts_counts_and_respects_bounds(case):
    lists, t0, t1 = case
    s = SpikeTrains.from_lists(lists, t_start=t0, t_stop=t1)
    assert s.n_units == len(lists)
    np.testing.assert_array_equal(s.spike_counts, [len(x) for x in lists])
    assert s.t_start == t0 and s.t_stop == t1
    assert s.offsets[0] == 0 and s.offsets[-1] == s.n_spikes
    for i, x in enumerate(lists):
        np.testing.assert_array_equal(s[i], np.sort(np.asarray(x, dtype=float)))
        assert np.all(np.diff(s[i]) >= 0)
    assert np.all((s.times >= t0) & (s.times <= t1))
    assert not s.times.flags.writeable and not s.offsets.flags.writeable
    with pytest.raises(AttributeError):
        s.t_start = 0.0
    # the flat-column constructor agrees
    units = np.repeat(np.arange(len(lists)), [len(x) for x in lists])
    flat = np.concatenate([np.asarray(x, dtype=float) for x in lists]) if lists else []
    s2 = SpikeTrains.from_spikes(flat, units, t_start=t0, t_stop=t1,
                                 unit_ids=list(range(len(lists))))
    assert s2.equals(s)
    # validated again on replace: still the same object
    assert s.replace().equals(s)


@FAST
@given(spike_lists(max_units=3), st.data())
def test_invalid_construction_raises_one_line_spike_data_error(case, data):
    lists, t0, t1 = case
    assume(any(len(x) for x in lists))
    unit = data.draw(st.sampled_from([i for i, x in enumerate(lists) if x]))
    kind = data.draw(st.sampled_from(["before", "after", "nan", "inf", "unsorted",
                                      "dup_ids", "bounds", "offsets"]))
    lists = [list(x) for x in lists]
    kwargs = {}
    if kind == "before":
        lists[unit][0] = t0 - data.draw(st.floats(1e-6, 1e6, **finite)) - abs(t0) * 1e-12
    elif kind == "after":
        lists[unit][-1] = t1 + data.draw(st.floats(1e-6, 1e6, **finite)) + abs(t1) * 1e-12
    elif kind == "nan":
        lists[unit][0] = math.nan
    elif kind == "inf":
        lists[unit][-1] = data.draw(st.sampled_from([math.inf, -math.inf]))
    elif kind == "unsorted":
        assume(len(set(lists[unit])) > 1)
        lists[unit] = sorted(lists[unit], reverse=True)
    elif kind == "dup_ids":
        assume(len(lists) > 1)
        kwargs["unit_ids"] = ["u"] * len(lists)
    elif kind == "bounds":
        t0, t1 = t1 + 1.0, t0
    if kind == "offsets":
        times = np.sort(np.concatenate([np.asarray(x, float) for x in lists]))
        with pytest.raises(SpikeDataError) as err:
            SpikeTrains(times, [0, times.size + 1], t0, max(t1, times.max()))
    else:
        with pytest.raises(SpikeDataError) as err:
            SpikeTrains.from_lists(lists, t_start=t0, t_stop=t1, sort=False, **kwargs)
    one_line(err.value)
    assert isinstance(err.value, ValueError)


@FAST
@given(spike_lists(max_units=3, max_spikes=10),
       st.sampled_from(["owned", "slice", "reshape", "strided", "read_only_view"]),
       st.sampled_from([None, True]))
def test_times_never_share_writeable_memory_with_the_caller(case, kind, copy):
    """Whatever array the caller passes, writing to it (or to any writeable alias it
    holds) afterwards does not change the SpikeTrains."""
    lists, t0, t1 = case
    flat = np.concatenate([np.sort(np.asarray(x, float)) for x in lists]) if lists else \
        np.empty(0)
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(int)
    expected = flat.copy()
    if kind == "owned":
        arg, aliases = flat, [flat]
    elif kind == "slice":
        buf = np.concatenate([[t0], flat, [t1]])
        arg, aliases = buf[1:-1], [buf]
    elif kind == "reshape":
        buf = flat.copy().reshape(1, -1)
        arg, aliases = buf, [buf]
    elif kind == "strided":
        buf = np.repeat(flat, 2)
        arg, aliases = buf[::2], [buf]
    else:
        buf = flat.copy()
        arg = buf[:]
        arg.flags.writeable = False
        aliases = [buf]
    s = SpikeTrains(arg, offsets, t0, t1, copy=copy)
    assert not s.times.flags.writeable
    for a in aliases:
        if a.flags.writeable and a.size:
            a[...] = np.nan
    np.testing.assert_array_equal(s.times, expected)


@MEDIUM
@given(st.lists(st.tuples(st.floats(-5, 5, **finite), st.integers(0, 3)), min_size=1,
                max_size=12))
def test_from_spikes_and_load_agree_on_negative_times(rows):
    """Without t_start both start at 0 s and refuse a negative time, naming the time."""
    times = np.array([r[0] for r in rows])
    units = np.array([r[1] for r in rows])
    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "spikes.csv"
        lines = ["time,unit"] + [f"{t!r},{u}" for t, u in rows]
        path.write_text("\n".join(lines) + "\n")
        try:
            loaded = load(path, sort=True)
        except SpikeDataError as exc:
            loaded = exc
        try:
            built = SpikeTrains.from_spikes(times, units)
        except SpikeDataError as exc:
            built = exc
    if times.min() < 0:
        assert isinstance(loaded, SpikeDataError) and isinstance(built, SpikeDataError)
        assert "negative time" in one_line(loaded) and "negative time" in one_line(built)
        assert "t_start=" in str(built) and built.where == "times"
    else:
        assert loaded.t_start == built.t_start == 0.0
        np.testing.assert_array_equal(loaded.times, built.times)


annotation_key = st.sampled_from(["a", "b", "lab", "depth", "name", "units"])
annotation_value = st.one_of(st.booleans(), st.integers(-2 ** 53, 2 ** 53),
                             st.floats(**finite), st.text(max_size=6),
                             st.lists(st.integers(-9, 9), max_size=3))


@st.composite
def foreign_blocks(draw):
    """A neo Block not written by spikelens: ms, annotations on every level."""
    import neo
    import quantities as pq

    t0 = draw(st.floats(-1000, 1000, **finite))
    t1 = t0 + draw(st.floats(1, 1000, **finite))
    block = neo.Block(name=draw(st.one_of(st.none(), st.text(max_size=5))))
    block.annotate(**draw(st.dictionaries(annotation_key, annotation_value, max_size=3)))
    seg = neo.Segment(name=draw(st.one_of(st.none(), st.text(max_size=5))))
    seg.annotate(**draw(st.dictionaries(annotation_key, annotation_value, max_size=3)))
    n = draw(st.integers(1, 3))
    names = draw(st.lists(st.one_of(st.none(), st.sampled_from(["x", "y", "z"])),
                          min_size=n, max_size=n))
    for i in range(n):
        times = np.sort(draw(st.lists(st.floats(t0, t1, **finite), max_size=6)))
        train = neo.SpikeTrain(np.asarray(times, float) * pq.ms, t_start=t0 * pq.ms,
                               t_stop=t1 * pq.ms, name=names[i])
        train.annotate(**draw(st.dictionaries(annotation_key, annotation_value, max_size=3)))
        seg.spiketrains.append(train)
    if draw(st.booleans()):
        m = draw(st.integers(0, 3))
        start = draw(st.lists(st.floats(t0, t1, **finite), min_size=m, max_size=m))
        labels = draw(st.lists(st.text(max_size=4), min_size=m, max_size=m))
        seg.epochs.append(neo.Epoch(times=np.asarray(start, float) * pq.ms,
                                    durations=np.zeros(m) * pq.ms,
                                    labels=np.asarray(labels, dtype=str) if m else None,
                                    name=draw(st.one_of(st.none(), st.text(max_size=4)))))
    block.segments.append(seg)
    return block


def _plain_annotations(obj):
    def plain(v):
        v = getattr(v, "magnitude", v)
        return v.tolist() if isinstance(v, np.ndarray) else v
    return {k: plain(v) for k, v in obj.annotations.items()}


@MEDIUM
@given(foreign_blocks())
def test_foreign_neo_block_to_spiketrains_to_block_keeps_everything(block):
    s = SpikeTrains.from_neo(block)
    back = s.to_neo()
    assert back.name == block.name and _plain_annotations(back) == _plain_annotations(block)
    sa, sb = block.segments[0], back.segments[0]
    assert sb.name == sa.name and _plain_annotations(sb) == _plain_annotations(sa)
    assert [t.name for t in sb.spiketrains] == [t.name for t in sa.spiketrains]
    for ta, tb in zip(sa.spiketrains, sb.spiketrains):
        assert _plain_annotations(tb) == _plain_annotations(ta)
        np.testing.assert_array_equal(tb.rescale("s").magnitude, ta.rescale("s").magnitude)
        assert float(tb.t_stop.rescale("s")) == float(ta.t_stop.rescale("s"))
    assert len(sb.epochs) == len(sa.epochs)
    for ea, eb in zip(sa.epochs, sb.epochs):
        assert eb.name == ea.name
        np.testing.assert_array_equal(eb.times.rescale("s").magnitude,
                                      ea.times.rescale("s").magnitude)
        assert np.asarray(eb.labels).tolist() == np.asarray(ea.labels).tolist()
    assert SpikeTrains.from_neo(back).equals(s)


# ====================================================================== binning
def brute_bin(times_per_unit, t0, t1, b):
    """Per-spike bin index by np.floor, with the documented 1e-8 edge tolerance."""
    def idx(x):
        k = np.floor(x)
        return int(k + 1) if x - k >= 1 - BIN_TOLERANCE else int(k)

    nb = idx((t1 - t0) / b)
    counts = np.zeros((len(times_per_unit), nb), dtype=np.int64)
    for i, ts in enumerate(times_per_unit):
        for t in ts:
            k = idx((t - t0) / b)
            if 0 <= k < nb:
                counts[i, k] += 1
    return counts


@FAST
@given(spike_lists(max_units=4, max_spikes=15), st.floats(0.01, 1.0), st.booleans())
def test_bin_matches_brute_force_and_conserves_counts(case, rel_bin, binary):
    lists, t0, t1 = case
    s = SpikeTrains.from_lists(lists, t_start=t0, t_stop=t1)
    b = rel_bin * (t1 - t0)
    m = s.bin(b, binary=binary).toarray()
    ref = brute_bin([s[i] for i in range(s.n_units)], t0, t1, b)
    np.testing.assert_array_equal(m, np.minimum(ref, 1) if binary else ref)
    assert m.shape == (s.n_units, s.n_bins(b))
    # conservation: every spike is counted except those past the last whole bin
    last_edge = t0 + m.shape[1] * b
    if not binary:
        dropped = np.sum(s.times >= last_edge + 1e-9 * b)
        maybe = np.sum(np.abs(s.times - last_edge) <= 1e-9 * b)  # on the edge itself
        assert s.n_spikes - dropped - maybe <= m.sum() <= s.n_spikes - dropped
    # away from bin edges the tolerance does not matter: plain np.floor agrees
    pos = (s.times - t0) / b
    frac = pos - np.floor(pos)
    away = (frac > 1e-6) & (frac < 1 - 1e-6)
    k = np.floor(pos[away]).astype(int)
    keep = k < m.shape[1]
    plain = np.zeros_like(ref)
    np.add.at(plain, (s.units[away][keep], k[keep]), 1)
    near = np.zeros_like(ref)
    kn = np.floor(pos[~away] + 0.5).astype(int)  # the edge a near-edge spike sits on
    for u, kk in zip(s.units[~away], kn):
        for c in (kk - 1, kk):
            if 0 <= c < m.shape[1]:
                near[u, c] += 1
    if not binary:
        assert np.all(m >= plain) and np.all(m <= plain + near)


@FAST
@given(st.integers(1, 40), st.integers(1, 3), st.data())
def test_spikes_on_a_grid_bin_like_integer_division(n_bins, per_bin, data):
    """Spikes at exact multiples of the bin size (up to rounding) land in that bin; a spike
    at t_stop (the closing edge) is dropped, as documented."""
    b = data.draw(st.sampled_from([0.001, 0.002, 0.005, 0.1, 0.3]))
    k = np.asarray(data.draw(st.lists(st.integers(0, n_bins), min_size=1, max_size=30)))
    times = np.sort(k * b)
    s = SpikeTrains.from_lists([times], t_start=0.0, t_stop=n_bins * b)
    m = s.bin(b).toarray()[0]
    assert m.size == n_bins
    np.testing.assert_array_equal(m, np.bincount(k[k < n_bins], minlength=n_bins))
    assert m.sum() == np.sum(k < n_bins)


# ====================================================================== IO round trips
def _roundtrip(s, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / f"x.{fmt}"
        assert save(s, path) == path
        assert [p.name for p in pathlib.Path(tmp).iterdir()] == [path.name]  # no temp left
        return load(path)


AWKWARD = SpikeTrains.from_lists(  # CSV regression: stripped/split unit ids and labels
    [[0.1, 0.6], [0.2], []], t_start=0.0, t_stop=1.0, unit_ids=[" a", "x\r\ny", '"q",'],
    epochs={"start": [0.0], "stop": [0.5], "label": ["\r "]})


@MEDIUM
@pytest.mark.parametrize("fmt", ["npz", "csv", "parquet"])
@given(s=spike_trains())
@example(s=AWKWARD)
def test_table_and_npz_round_trip_is_exact(fmt, s):
    back = _roundtrip(s, fmt)
    assert back.equals(s), (s, back)


@FEW
@pytest.mark.slow
@given(s=spike_trains(max_units=3, max_spikes=5))
def test_nix_round_trip_is_exact(s):
    back = _roundtrip(s, "nix")
    assert back.equals(s), (s, back)


@FEW
@pytest.mark.slow
@given(s=spike_trains(max_units=3, max_spikes=5))
def test_nwb_round_trip_keeps_spikes_ids_bounds_and_epochs(s):
    if not s.n_units:  # an NWB units table cannot be empty: refused with a clear message
        with pytest.raises(SpikeDataError, match="without units"):
            _roundtrip(s, "nwb")
        return
    back = _roundtrip(s, "nwb")
    np.testing.assert_array_equal(back.times, s.times)
    np.testing.assert_array_equal(back.offsets, s.offsets)
    np.testing.assert_array_equal(back.unit_ids, s.unit_ids)
    if s.n_units:  # bounds are stored per unit (obs_intervals)
        assert (back.t_start, back.t_stop) == (s.t_start, s.t_stop)
    if s.epochs is not None and len(s.epochs):
        assert back.epochs.equals(s.epochs)


# ====================================================================== SPOTDis
@st.composite
def epoch_lists(draw, max_epochs=4, max_units=3, max_spikes=3):
    """Per-epoch spike lists in [0, 0.5) of unit-length epochs (room for a shift)."""
    m = draw(st.integers(2, max_epochs))
    n = draw(st.integers(2, max_units))
    grid = st.integers(0, 499).map(lambda k: k / 1000)
    return [[sorted(draw(st.lists(grid, max_size=max_spikes, unique=True)))
             for _ in range(n)] for _ in range(m)]


@MEDIUM
@given(epoch_lists(), st.data())
def test_spotdis_invariants_and_brute_force(ep, data):
    rec = from_epoch_lists(ep, t_gap=0.25)
    d = spotdis(rec, method="continuous")
    M = len(ep)
    assert d.matrix.shape == (M, M)
    np.testing.assert_array_equal(d.matrix, d.matrix.T)
    np.testing.assert_array_equal(d.counts, d.counts.T)
    assert np.all(np.diagonal(d.matrix) == 0)
    assert np.all((d.matrix >= 0) & (d.matrix <= 1))
    ref, ref_counts = brute_spotdis(rec)
    np.testing.assert_allclose(d.matrix, ref, rtol=0, atol=1e-12)
    off = ~np.eye(M, dtype=bool)
    np.testing.assert_array_equal(d.counts[off], ref_counts[off])
    # a common shift of all spikes of one epoch, staying inside it, changes nothing
    k = data.draw(st.integers(0, M - 1))
    shift = data.draw(st.integers(1, 499)) / 1000
    shifted = [list(e) for e in ep]
    shifted[k] = [[t + shift for t in u] for u in ep[k]]
    d2 = spotdis(from_epoch_lists(shifted, t_gap=0.25), method="continuous")
    np.testing.assert_allclose(d2.matrix, d.matrix, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(d2.counts, d.counts)


# ====================================================================== ASSET
@st.composite
def binned(draw, max_units=6, max_bins=40):
    n = draw(st.integers(1, max_units))
    nb = draw(st.integers(8, max_bins))
    cells = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, nb - 1)),
                          max_size=n * nb // 2))
    x = np.zeros((n, nb), dtype=np.int64)
    for i, j in cells:
        x[i, j] += 1
    return x


@FAST
@given(binned(), st.sampled_from([None, "intersection", "mean", "union"]))
def test_intersection_matrix_of_x_with_itself_is_symmetric(x, norm):
    import scipy.sparse as sp

    b = sp.csr_matrix(x)
    imat = intersection_matrix(b, normalization=norm)
    np.testing.assert_array_equal(imat, imat.T)
    np.testing.assert_array_equal(imat, intersection_matrix(b, b, normalization=norm))
    if norm is None:
        np.testing.assert_array_equal(imat, x.T @ x)
    # on binary bins (the paper's definition) every normalization lies in [0, 1]
    ib = intersection_matrix(sp.csr_matrix((x > 0).astype(np.int64)), normalization=norm)
    np.testing.assert_array_equal(ib, ib.T)
    if norm is not None:
        assert np.all((ib >= 0) & (ib <= 1 + 1e-12))


@FAST
@given(binned(), st.integers(1, 4), st.sampled_from([(3, 1), (3, 0), (5, 1), (2, 1)]),
       st.integers(1, 3))
def test_probability_and_joint_probability_matrices_lie_in_unit_interval(x, kb, filt, d):
    import scipy.sparse as sp

    xb = sp.csr_matrix((x > 0).astype(np.int64))
    assume(kb <= x.shape[1])
    prob = spike_probabilities(xb.toarray(), kb)
    assert np.all((prob >= 0) & (prob <= 1))
    imat = intersection_matrix(xb)
    pmat = probability_matrix_analytical(imat, prob)
    assert pmat.shape == imat.shape
    assert np.all(np.isfinite(pmat)) and np.all((pmat >= 0) & (pmat <= 1))
    np.testing.assert_allclose(pmat, pmat.T, rtol=0, atol=1e-12)
    length, width = filt
    n_cells = length * (1 + 2 * width) - width * (width + 1)
    assume(d <= n_cells and x.shape[1] >= 2 * length - 1)
    jmat = joint_probability_matrix(pmat, filter_shape=filt, n_largest=d)
    assert jmat.shape == pmat.shape
    assert np.all(np.isfinite(jmat)) and np.all((jmat >= 0) & (jmat <= 1))


# ====================================================================== assembly
@settings(max_examples=8)
@pytest.mark.slow  # mostly numba compilation of the surrogate kernel
@given(spike_lists(max_units=4, max_spikes=20), st.sampled_from(["cpc", "csf"]),
       st.integers(1, 15), st.integers(0, 3))
def test_assembly_p_values_in_unit_interval(case, statistic, n_surrogates, seed):
    lists, t0, t1 = case
    assume(lists)
    s = SpikeTrains.from_lists(lists, t_start=t0, t_stop=t1)
    det = AssemblyNeurons(data=s, statistic=statistic, n_surrogates=n_surrogates,
                          bin_size=(t1 - t0) / 20, seed=seed, alpha=0.5)
    res = det.run()
    p = res.table.p_value.to_numpy()
    defined = np.isfinite(p)
    assert np.all((p[defined] > 0) & (p[defined] <= 1))
    # p is (1 + #surrogates >= observed) / (1 + n_surrogates): on that grid
    k = p[defined] * (1 + n_surrogates)
    np.testing.assert_allclose(k, np.round(k), rtol=0, atol=1e-9)
    # undefined exactly where the statistic is (units without spikes)
    np.testing.assert_array_equal(defined, np.isfinite(res.table.statistic.to_numpy()))
