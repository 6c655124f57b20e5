"""Correctness tests of ASSET (analysis/asset.py, analysis/kernels/asset.py).

Three kinds of reference:

* Elephant 1.2.1 (``elephant.asset``), the field's reference implementation, run live on
  small data sets (parity tests), at small filters and at the default filter (11, 3).
  Elephant's ``joint_probability_matrix`` casts the probability matrix to float32 and takes
  ``log`` of the interval widths in float32 even with ``precision='double'``, which moves
  its jmat by up to 3.3e-6 at (11, 3). So jmat parity is checked three ways: against
  Elephant's own summation over index sequences fed with the float64 pmat and float64
  logarithms (``sum64`` of ``_elephant_references``, within 1e-12, far inside the
  issue's 1e-6); against Elephant's own neighbour search and summation on the float32-rounded pmat, which is what
  Elephant really sees (``jmat64``, within 1e-12 when spikelens gets the same
  rounded input); and against the public ``precision='double'`` result within 5e-6.
* Expected values published in Elephant's own test suite (``test/test_asset.py``),
  written here from the values, not from its code.
* Exact references written here: the joint survival function by enumerating multinomial
  occupation counts, plus a Monte Carlo check.

Everything is seeded, so every statistical check is deterministic; tolerances are derived
next to each check.
"""

import itertools
import math
import time
import warnings

import neo
import numpy as np
import pytest
import quantities as pq
from elephant.asset import asset as ea

from analysis import SpikeTrains
from analysis import simulate as sim
from analysis.asset import (Asset, cluster_matrix_entries, extract_synchronous_events,
                            intersection_matrix, joint_probability_matrix, mask_matrices,
                            ordering_score, probability_matrix_analytical,
                            spike_probabilities, sse_neurons, sse_time_bins)
from analysis.kernels import asset as kernels

ASSET = ea.ASSET
ea.logger.setLevel("ERROR")

MIN_P = 1e-5
#: Elephant clips the d largest pmat values at float32(1 - min_p_value), not 1 - min_p_value.
ELEPHANT_MIN_P = 1.0 - float(np.float32(1.0 - MIN_P))


# ============================================================================ helpers
def _neo(data):
    """Elephant input: one neo.SpikeTrain per unit, in seconds (identical binning)."""
    return [neo.SpikeTrain(np.asarray(data[i]) * pq.s, t_start=data.t_start * pq.s,
                           t_stop=data.t_stop * pq.s) for i in range(data.n_units)]


def _n_cells(filter_shape):
    length, width = filter_shape
    return length * (1 + 2 * width) - width * (width + 1)


def _elephant_references(pmat, filter_shape, n_largest, min_p_value=MIN_P):
    """Two jmats by Elephant's own summation over index sequences with float64 logs.

    ``jmat64``: Elephant's neighbour search (``_PMatNeighbors``) on the float32 pmat, as in
    its ``joint_probability_matrix``, clip at float32(1 - min_p_value), then its CPU
    summation (``_JSFUniformOrderStat3D.cpu``) fed with float64 log interval widths
    instead of float32 ones: Elephant's result without its float32 logarithms.

    ``sum64``: the d largest values of every l x l band window found here by brute force
    on the float64 pmat (``_PMatNeighbors`` only takes float32), clipped at
    1 - min_p_value in float64, and the same summation: Elephant's algorithm without any
    float32 step. Entries whose window does not fit stay 0 (compare through
    ``_valid_windows``).

    Both go through one call of the summation (its cost is per index sequence).
    """
    length, width = filter_shape
    p32 = np.asarray(pmat, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lmat = ea._PMatNeighbors(filter_shape=tuple(filter_shape),
                                 n_largest=n_largest).compute(p32)
    lmat = np.minimum(lmat, np.float32(1.0 - min_p_value)).reshape(-1, n_largest)

    p64 = np.asarray(pmat, dtype=np.float64)
    band = np.abs(np.subtract.outer(np.arange(length), np.arange(length))) <= width
    windows = np.lib.stride_tricks.sliding_window_view(p64, (length, length))
    top = np.sort(windows[..., band], axis=-1)[..., -n_largest:]  # ascending, as lmat
    top = np.minimum(top, 1.0 - min_p_value).reshape(-1, n_largest)

    rows = np.concatenate([lmat.astype(np.float64), top])
    u, inverse = np.unique(rows, axis=0, return_inverse=True)
    du = np.diff(u, prepend=0.0, append=1.0, axis=1)
    jsf = ea._JSFUniformOrderStat3D(n=_n_cells(filter_shape), d=n_largest,
                                    precision="double")
    with np.errstate(divide="ignore"):
        prob = 1.0 - jsf.cpu(np.log(du))[inverse.ravel()]
    jmat64 = prob[:len(lmat)].reshape(np.shape(pmat))
    sum64 = np.zeros_like(p64)
    half = length // 2
    sum64[half:half + windows.shape[0], half:half + windows.shape[1]] = \
        prob[len(lmat):].reshape(windows.shape[:2])
    return jmat64, sum64


def _sse_set(sses):
    """SSEs as a set of frozensets of (pixel, neurons): cluster labels do not matter."""
    return {frozenset((tuple(int(x) for x in pixel), frozenset(int(n) for n in neurons))
                      for pixel, neurons in sse.items()) for sse in sses.values()}


def _partition(cmat):
    """Clusters of a cluster matrix as a set of frozensets of (row, col) members."""
    cmat = np.asarray(cmat)
    return {frozenset(zip(*(a.tolist() for a in np.nonzero(cmat == k))))
            for k in np.unique(cmat[cmat > 0])}


def _noise(cmat):
    return set(zip(*(a.tolist() for a in np.nonzero(np.asarray(cmat) == -1))))


def _exact_top_d_survival(u, n):
    """P(k-th largest of n iid U(0,1) >= u[k-1] for every k) by exact enumeration.

    ``u`` descending. The unit interval is cut at the thresholds into d + 1 pieces
    [0, u_d), [u_d, u_{d-1}), ..., [u_1, 1]; every occupation (c_0, ..., c_d) with
    sum n has multinomial probability n! prod(w_m^c_m / c_m!), and the event holds
    iff for every k at least k samples lie in the pieces above u_k.
    """
    u = [float(x) for x in u]
    d = len(u)
    edges = [0.0] + u[::-1] + [1.0]
    widths = [edges[m + 1] - edges[m] for m in range(d + 1)]
    total = 0.0
    for cuts in itertools.combinations_with_replacement(range(n + 1), d):
        counts = np.diff((0,) + cuts + (n,))
        if all(counts[d - k + 1:].sum() >= k for k in range(1, d + 1)):
            coef = math.factorial(n)
            term = 1.0
            for c, w in zip(counts, widths):
                coef //= math.factorial(int(c))
                term *= w ** int(c)
            total += coef * term
    return total


def _chain_groups(n_groups=3, group_size=3, times_ms=(10.0, 28.0), t_stop_ms=60.0,
                  t_start_ms=0.0):
    """Elephant's integration-test data: neuron g*3+s spikes at t + 3 s ms for t in times."""
    trains = [[(t + 3.0 * s) / 1000.0 for t in times_ms]
              for _ in range(n_groups) for s in range(group_size)]
    return SpikeTrains.from_lists(trains, t_start=t_start_ms / 1000.0,
                                  t_stop=t_stop_ms / 1000.0)


# ================================================================ 1. parity with Elephant
def _chain(seed, t_stop=1.0, n_units=60, n_groups=5, group_size=8, **kw):
    return sim.synfire_chain(n_units=n_units, n_groups=n_groups, group_size=group_size,
                             t_stop=t_stop, seed=seed, **kw)


PARITY_CASES = {
    # symmetric, counts (the chain data has multi-spike bins), filter (5, 2)
    "chain-sym-counts": dict(data=lambda: (_chain(1), None), binary=False, kernel_width=0.05,
                             filter_shape=(5, 2), n_largest=3, alpha=0.9,
                             clustering=(3.0, 3, 5.0)),
    # symmetric, even rate kernel (10 bins), filter (5, 1), other clustering
    "chain-sym-even-kernel": dict(data=lambda: (_chain(3), None), binary=False,
                                  kernel_width=0.03, filter_shape=(5, 1), n_largest=2,
                                  alpha=0.95, clustering=(5.0, 4, 2.0)),
    # symmetric, default binary bins on data without multi-spike bins, even filter length
    "chain-sym-binary": dict(data=lambda: (_chain(2, refractory=0.004), None), binary=True,
                             kernel_width=0.05, filter_shape=(4, 1), n_largest=2, alpha=0.9,
                             clustering=(3.0, 3, 5.0)),
    # symmetric, chain-free Poisson data
    "poisson-sym": dict(data=lambda: (sim.poisson(n_units=40, rate=20.0, t_stop=1.0, seed=5),
                                      None),
                        binary=False, kernel_width=0.05, filter_shape=(5, 1), n_largest=3,
                        alpha=0.8, clustering=(3.0, 3, 5.0)),
    # non-symmetric: two halves of one recording, same units
    "chain-nonsym": dict(data=lambda: _halves(_chain(4, t_stop=1.2, n_activations=4), 0.6),
                         binary=False, kernel_width=0.05, filter_shape=(5, 2), n_largest=3,
                         alpha=0.9, clustering=(3.0, 3, 5.0)),
    # the defaults of the tutorial and of Asset: binary bins, filter (11, 3), n_largest 3
    "chain-sym-default": dict(data=lambda: (_chain(11, n_units=100, n_groups=10,
                                                   t_stop=0.6, n_activations=3,
                                                   refractory=0.004), None),
                              binary=True, kernel_width=0.05, filter_shape=(11, 3),
                              n_largest=3, alpha=0.99, clustering=(11.0, 10, 5.0)),
    "chain-nonsym-default": dict(data=lambda: _halves(_chain(11, n_units=100, n_groups=10,
                                                             t_stop=1.2, n_activations=5,
                                                             refractory=0.004), 0.6),
                                 binary=True, kernel_width=0.05, filter_shape=(11, 3),
                                 n_largest=3, alpha=0.99, clustering=(11.0, 10, 5.0)),
    # non-symmetric and rectangular (different lengths)
    "chain-nonsym-rect": dict(data=lambda: _halves(_chain(4, t_stop=1.2, n_activations=4),
                                                   0.45),
                              binary=False, kernel_width=0.05, filter_shape=(5, 1),
                              n_largest=2, alpha=0.9, clustering=(3.0, 3, 5.0)),
}


def _halves(data, t_split):
    return data.time_slice(data.t_start, t_split), data.time_slice(t_split, data.t_stop)


@pytest.fixture(scope="module", params=sorted(PARITY_CASES))
def parity(request):
    """spikelens' and Elephant's results for one parity case (computed once)."""
    case = PARITY_CASES[request.param]
    x, y = case["data"]()
    alpha, (max_distance, min_neighbors, stretch) = case["alpha"], case["clustering"]
    obj = Asset(data=x, data_j=y, bin_size=0.003, binary=case["binary"],
                kernel_width=case["kernel_width"], filter_shape=case["filter_shape"],
                n_largest=case["n_largest"], alpha_p=alpha, alpha_j=alpha,
                max_distance=max_distance, min_neighbors=min_neighbors, stretch=stretch)
    ours = obj.run(tiled=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        el = ASSET(_neo(x), spiketrains_j=None if y is None else _neo(y),
                   bin_size=0.003 * pq.s)
        imat = el.intersection_matrix()
        pmat = el.probability_matrix_analytical(imat, kernel_width=case["kernel_width"] * pq.s)
        jmat = el.joint_probability_matrix(pmat, filter_shape=case["filter_shape"],
                                           n_largest=case["n_largest"], precision="double")
        mask = ASSET.mask_matrices([pmat, jmat], [alpha, alpha])
        cmat = ASSET.cluster_matrix_entries(mask, max_distance, min_neighbors, stretch)
        sses = el.extract_synchronous_events(cmat)
    theirs = dict(imat=imat, pmat=pmat, jmat=jmat, mask=mask, cmat=cmat, sses=sses,
                  **dict(zip(("jmat64", "sum64"), _elephant_references(
                      pmat, case["filter_shape"], case["n_largest"]))))
    return dict(name=request.param, case=case, x=x, y=y, obj=obj, ours=ours, theirs=theirs,
                symmetric=y is None)


def _valid_windows(shape, length, symmetric):
    """Centres (i, j) whose l x l window (rows i - l//2 .. i - l//2 + l - 1, same for
    columns) lies inside the matrix, and, symmetric, strictly below the diagonal."""
    half = length // 2
    i, j = np.indices(shape)
    ok = ((i - half >= 0) & (i - half + length <= shape[0])
          & (j - half >= 0) & (j - half + length <= shape[1]))
    if symmetric:
        ok &= (i - half) - (j - half + length - 1) >= 1
    return ok


def _region(parity):
    """Entries Elephant computes: the lower triangle if symmetric, else all."""
    shape = parity["ours"].pmat.shape
    if parity["symmetric"]:
        return np.tril(np.ones(shape, dtype=bool), -1)
    return np.ones(shape, dtype=bool)


def test_parity_intersection_matrix(parity):
    ours, theirs = parity["ours"], parity["theirs"]
    assert ours.imat.shape == theirs["imat"].shape
    if parity["case"]["binary"]:
        # the default (binary) imat equals Elephant's counts only without multi-spike bins
        for d in (parity["x"], parity["y"]):
            if d is not None:
                assert d.bin(0.003).max() == 1
    np.testing.assert_array_equal(ours.imat, theirs["imat"])
    if not parity["case"]["binary"]:
        # and the data set really tests counts (some bins hold 2 spikes)
        assert parity["x"].bin(0.003).max() > 1
        by = None if parity["y"] is None else parity["y"].bin(0.003, binary=True)
        clipped = intersection_matrix(parity["x"].bin(0.003, binary=True), by)
        assert np.any(ours.imat != clipped)


def test_parity_probability_matrix(parity):
    ours, theirs = parity["ours"], parity["theirs"]
    np.testing.assert_allclose(ours.pmat, theirs["pmat"], rtol=0, atol=1e-9)
    if parity["symmetric"]:
        assert np.all(np.diagonal(ours.pmat) == 0.5)
        np.testing.assert_array_equal(ours.pmat, ours.pmat.T)


def test_parity_joint_probability_matrix(parity):
    ours, theirs = parity["ours"], parity["theirs"]
    region = _region(parity)
    jmat = ours.jmat
    assert jmat.shape == theirs["jmat"].shape
    valid = _valid_windows(jmat.shape, parity["case"]["filter_shape"][0], parity["symmetric"])
    # Elephant's summation on the float64 pmat (no float32 casts): far within the issue's
    # 1e-6; both are exact up to rounding (measured <= 2.5e-14)
    np.testing.assert_allclose(jmat[region & valid], theirs["sum64"][region & valid],
                               rtol=0, atol=1e-12)
    # Elephant's public double-precision result: it casts pmat to float32 before looking
    # for the largest neighbours (elephant/asset/asset.py, joint_probability_matrix) and
    # takes float32 logs, which moves jmat by up to 3.3e-6 at the default filter (11, 3)
    # (measured 3.25e-6 symmetric, 2.84e-6 non-symmetric; below 1.1e-6 at smaller filters)
    np.testing.assert_allclose(jmat[region], theirs["jmat"][region], rtol=0, atol=5e-6)
    # 0 wherever the whole window does not fit (or, symmetric, reaches the diagonal)
    # (Elephant's "0" is 1 - P with P = 1 up to its float64 log-factorial sums: <= 4e-15)
    assert np.all(np.abs(theirs["jmat"][~valid]) < 1e-12)
    computed = (valid | valid.T) if parity["symmetric"] else valid
    assert np.all(jmat[~computed] == 0)
    assert np.count_nonzero(jmat[valid]) > 0
    # fed what Elephant sees (float32 pmat, float32 clip), spikelens is exact
    case = parity["case"]
    j32 = joint_probability_matrix(ours.pmat.astype(np.float32).astype(np.float64),
                                   case["filter_shape"], case["n_largest"],
                                   min_p_value=ELEPHANT_MIN_P, symmetric=parity["symmetric"])
    np.testing.assert_allclose(j32[region], theirs["jmat64"][region], rtol=0, atol=1e-12)
    if parity["symmetric"]:
        # spikelens returns the full symmetric matrix, Elephant only the lower triangle
        np.testing.assert_array_equal(jmat, jmat.T)
        assert np.all(np.abs(np.triu(theirs["jmat"])) < 1e-12)
        assert np.all(np.diagonal(jmat) == 0)


def test_parity_mask(parity):
    ours, theirs = parity["ours"], parity["theirs"]
    alpha = parity["case"]["alpha"]
    region = _region(parity)
    # "near" a threshold: our (exact) or Elephant's value within 1e-6 of it
    near = np.zeros(ours.mask.shape, dtype=bool)
    for name in ("pmat", "jmat"):
        near |= ((np.abs(theirs[name] - alpha) <= 1e-6)
                 | (np.abs(getattr(ours, name) - alpha) <= 1e-6))
    differ = (ours.mask != theirs["mask"]) & region
    assert not np.any(differ & ~near), np.argwhere(differ & ~near)[:10]
    assert theirs["mask"][region].sum() > 0
    if parity["symmetric"]:
        np.testing.assert_array_equal(ours.mask, ours.mask.T)
        assert not np.any(np.triu(theirs["mask"]))


def test_parity_clusters(parity):
    ours, theirs = parity["ours"], parity["theirs"]
    region = _region(parity)
    # the data sets are chosen with no entry within 1e-6 of a threshold: masks agree
    np.testing.assert_array_equal(ours.mask[region], theirs["mask"][region])
    cmat = np.where(region, ours.cmat, 0)
    assert _partition(cmat) == _partition(theirs["cmat"])
    assert _noise(cmat) == _noise(theirs["cmat"])
    if parity["symmetric"]:
        np.testing.assert_array_equal(ours.cmat, ours.cmat.T)


def test_parity_synchronous_events(parity):
    ours, theirs = parity["ours"], parity["theirs"]
    assert _sse_set(ours.sses) == _sse_set(theirs["sses"])
    for sse in ours.sses.values():
        for (i, j) in sse:
            if parity["symmetric"]:
                assert i > j  # each SSE once, from the lower triangle


def test_parity_tiled_run_equals_full(parity):
    """The tiled run (small tiles: several per matrix) finds the same entries and SSEs."""
    obj, ours = parity["obj"], parity["ours"]
    sig = obj.significant_entries(tile_bytes=2e4)
    region = _region(parity)
    assert set(zip(sig["rows"].tolist(), sig["cols"].tolist())) == \
        set(zip(*(a.tolist() for a in np.nonzero(ours.mask & region))))
    tiled = obj.run(tiled=True)
    assert tiled.pmat is None
    assert _sse_set(tiled.sses) == _sse_set(ours.sses)


def test_parity_cases_find_structure():
    """Guard against vacuous parity: the chain cases must yield SSEs in both programs."""
    found = {}
    for name, case in PARITY_CASES.items():
        if name.startswith("chain"):
            x, y = case["data"]()
            max_distance, min_neighbors, stretch = case["clustering"]
            r = Asset(data=x, data_j=y, binary=case["binary"],
                      kernel_width=case["kernel_width"], filter_shape=case["filter_shape"],
                      n_largest=case["n_largest"], alpha_p=case["alpha"],
                      alpha_j=case["alpha"], max_distance=max_distance,
                      min_neighbors=min_neighbors, stretch=stretch).run(tiled=False)
            found[name] = len(r.sses)
    assert all(v >= 1 for v in found.values()), found


def test_parity_spike_probabilities_and_pmat_function():
    """Module functions on their own: rates / probabilities / pmat match Elephant."""
    data = _chain(6)
    bx = data.bin(0.003)
    for kernel_width in (0.006, 0.012, 0.05):  # k = 2, 4, 16 bins
        k = math.floor(kernel_width / 0.003 + 1e-9)
        probs = spike_probabilities((bx > 0).toarray(), k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            el = ASSET(_neo(data), bin_size=0.003 * pq.s)
            rate = el._rate_of_binned_spiketrain(el.spiketrains_binned_i.to_bool_array(),
                                                 kernel_width * pq.s)
            imat = el.intersection_matrix()
            pmat = el.probability_matrix_analytical(imat, kernel_width=kernel_width * pq.s)
        expected = 1.0 - np.exp(-(rate * 0.003 * pq.s).simplified.magnitude)
        np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-12)
        ours = probability_matrix_analytical(intersection_matrix(bx), probs)
        np.testing.assert_allclose(ours, pmat, rtol=0, atol=1e-9)
    # a 1-bin kernel is the binary train itself (on purpose unlike Elephant, which
    # overwrites each row with its last value)
    binary = (bx > 0).toarray()
    np.testing.assert_array_equal(kernels.boxcar_rates(binary, 1), binary)


# ---------------------------------------------------------------------- jmat on a random pmat
def _random_pmat(symmetric):
    """Float32-representable pmat with values at and near the clip (like Elephant's tests)."""
    rng = np.random.default_rng(42)
    p = rng.random((12, 12)).astype(np.float32).astype(np.float64)
    p[3, 4] = 1.0
    p[6, 6] = float(np.float32(0.9999999))
    p[7, 2] = 1.0
    if symmetric:
        p = np.tril(p, -1) + np.tril(p, -1).T
        np.fill_diagonal(p, 0.5)
    return p


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("filter_shape, n_largest", [((5, 2), 3), ((5, 1), 2), ((3, 0), 1),
                                                     ((4, 1), 3)])
def test_jmat_random_pmat_matches_elephant(symmetric, filter_shape, n_largest):
    pmat = _random_pmat(symmetric)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        el_float = ASSET.joint_probability_matrix(None, pmat, filter_shape=filter_shape,
                                                  n_largest=n_largest)
        el_double = ASSET.joint_probability_matrix(None, pmat, filter_shape=filter_shape,
                                                   n_largest=n_largest, precision="double")
    el64, sum64 = _elephant_references(pmat, filter_shape, n_largest)
    ours = joint_probability_matrix(pmat, filter_shape, n_largest)  # symmetry auto-detected
    exact = joint_probability_matrix(pmat, filter_shape, n_largest,
                                     min_p_value=ELEPHANT_MIN_P)
    region = np.tril(np.ones(pmat.shape, bool), -1) if symmetric else np.ones(pmat.shape, bool)
    np.testing.assert_allclose(exact[region], el64[region], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours[region], el_double[region], rtol=0, atol=2e-6)
    np.testing.assert_allclose(ours[region], el_float[region], rtol=0, atol=1e-5)
    valid = _valid_windows(pmat.shape, filter_shape[0], symmetric)
    np.testing.assert_allclose(ours[region & valid], sum64[region & valid], rtol=0,
                               atol=1e-12)
    assert np.all(np.abs(el_double[~valid]) < 1e-12)
    computed = (valid | valid.T) if symmetric else valid
    assert np.all(ours[~computed] == 0)
    assert np.count_nonzero(ours[valid]) > 0
    if symmetric:
        np.testing.assert_array_equal(ours, ours.T)


# ======================================================== 2. Elephant's published cases
def _integration_asset(x, y=None):
    return Asset(data=x, data_j=y, bin_size=0.003, kernel_width=0.009, filter_shape=(5, 1),
                 n_largest=3, alpha_p=0.9, alpha_j=0.9, max_distance=3.0, min_neighbors=3,
                 stretch=5.0)


def _pairs(rows, cols):
    return sorted(zip(rows, cols))


def test_elephant_integration_symmetric():
    """Elephant test_asset.py test_integration: 3 groups of 3 neurons, 20 bins of 3 ms."""
    obj = _integration_asset(_chain_groups())
    r = obj.run(tiled=False)
    imat_nonzero = [(3, 3), (3, 9), (4, 4), (4, 10), (5, 5), (5, 11), (9, 3), (9, 9),
                    (10, 4), (10, 10), (11, 5), (11, 11)]
    assert _pairs(*np.nonzero(r.imat)) == imat_nonzero
    assert np.all(r.imat[tuple(np.array(imat_nonzero).T)] == 3)
    assert _pairs(*np.nonzero(r.pmat > 0.9)) == _pairs([3, 4, 5, 9, 10, 11],
                                                       [9, 10, 11, 3, 4, 5])
    for (i, j), v in {(3, 9): 0.986931, (5, 11): 0.986931, (4, 10): 0.962976}.items():
        assert r.pmat[i, j] == pytest.approx(v, abs=1e-6)
        assert r.pmat[j, i] == pytest.approx(v, abs=1e-6)
    assert np.all(np.diagonal(r.pmat) == 0.5)

    low = np.tril(r.jmat, -1)
    np.testing.assert_array_equal(r.jmat, low + low.T)
    assert _pairs(*np.nonzero(low > 0.98)) == _pairs([9, 9, 10, 10, 10, 11, 11],
                                                     [3, 4, 3, 4, 5, 4, 5])
    assert _pairs(*np.nonzero(low > 0.9)) == _pairs(
        [8, 8, 9, 9, 9, 10, 10, 10, 11, 11, 11, 12, 12], [2, 3, 2, 3, 4, 3, 4, 5, 4, 5, 6, 5, 6])
    above_08 = _pairs([7, 8, 8, 9, 9, 9, 10, 10, 10, 11, 11, 11, 12, 12, 12, 13, 13],
                      [2, 2, 3, 2, 3, 4, 3, 4, 5, 4, 5, 6, 5, 6, 7, 6, 7])
    assert _pairs(*np.nonzero(low > 0.8)) == above_08
    assert _pairs(*np.nonzero(low)) == above_08  # all other entries are exactly 0
    values = {0.84281: [(7, 2), (12, 7), (13, 6), (13, 7)],
              0.95084: [(8, 2), (8, 3), (9, 2), (11, 6), (12, 5), (12, 6)],
              0.99669: [(9, 3), (9, 4), (10, 3), (10, 4), (10, 5), (11, 4), (11, 5)]}
    for v, pixels in values.items():
        for i, j in pixels:
            assert low[i, j] == pytest.approx(v, abs=1e-5), (i, j)

    assert _pairs(*np.nonzero(np.tril(r.mask))) == [(9, 3), (10, 4), (11, 5)]
    assert _partition(np.tril(r.cmat)) == {frozenset({(9, 3), (10, 4), (11, 5)})}
    assert _sse_set(r.sses) == _sse_set({1: {(9, 3): {0, 3, 6}, (10, 4): {1, 4, 7},
                                             (11, 5): {2, 5, 8}}})


def test_integration_ordering_and_sse_table():
    """The SSE of the integration data puts the neurons in firing order: 0, 3, 6 fire in
    bin 3, then 1, 4, 7, then 2, 5, 8."""
    r = _integration_asset(_chain_groups()).run(tiled=False)
    assert r.order[:9].tolist() == [0, 3, 6, 1, 4, 7, 2, 5, 8] and r.n_found == 9
    chain_group = np.array([0, 1, 2] * 3)
    assert ordering_score(r.order, r.n_found, chain_group) == 1.0
    assert ordering_score(r.order[::-1], 9, chain_group) == pytest.approx(3 / 9)
    assert ordering_score(r.order, 3, chain_group) == pytest.approx(3 / 9)
    table = r.sse_table()
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["entries"], row["neurons"]) == (3, 9)
    assert row["start i (s)"] == pytest.approx(0.027) and row["end i (s)"] == pytest.approx(0.036)
    assert row["start j (s)"] == pytest.approx(0.009) and row["end j (s)"] == pytest.approx(0.018)


def test_elephant_integration_nonsymmetric():
    """Elephant test_integration_nonsymmetric: delay 18 ms, two windows of 45 ms."""
    x = _chain_groups(times_ms=(18.0,), t_stop_ms=45.0)
    y = _chain_groups(times_ms=(63.0,), t_start_ms=45.0, t_stop_ms=90.0)
    r = _integration_asset(x, y).run(tiled=False)
    assert r.imat.shape == (15, 15)
    assert _pairs(*np.nonzero(r.pmat > 0.9)) == [(6, 6), (7, 7), (8, 8)]
    assert [r.pmat[k, k] for k in (6, 7, 8)] == pytest.approx([0.986931, 0.962976, 0.986931],
                                                              abs=1e-6)
    assert _pairs(*np.nonzero(r.jmat > 0.98)) == _pairs([6, 6, 7, 7, 7, 8, 8],
                                                        [6, 7, 6, 7, 8, 7, 8])
    assert _pairs(*np.nonzero(r.jmat > 0.9)) == _pairs(
        [5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9], [5, 6, 5, 6, 7, 6, 7, 8, 7, 8, 9, 8, 9])
    above_08 = _pairs([4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9, 10, 10],
                      [4, 5, 4, 5, 6, 5, 6, 7, 6, 7, 8, 7, 8, 9, 8, 9, 10, 9, 10])
    assert _pairs(*np.nonzero(r.jmat > 0.8)) == above_08
    assert _pairs(*np.nonzero(r.jmat)) == above_08
    # diagonal pixels are kept: the case is not symmetric
    assert _sse_set(r.sses) == _sse_set({1: {(6, 6): {0, 3, 6}, (7, 7): {1, 4, 7},
                                             (8, 8): {2, 5, 8}}})


def test_sse_table_times_non_symmetric():
    """Bins 6..8 of the i axis start at 0 s, those of the j axis at 45 ms: the SSE spans
    18..27 ms on the i axis and 63..72 ms on the j axis."""
    x = _chain_groups(times_ms=(18.0,), t_stop_ms=45.0)
    y = _chain_groups(times_ms=(63.0,), t_start_ms=45.0, t_stop_ms=90.0)
    row = _integration_asset(x, y).run(tiled=False).sse_table().iloc[0]
    assert row["start i (s)"] == pytest.approx(0.018) and row["end i (s)"] == pytest.approx(0.027)
    assert row["start j (s)"] == pytest.approx(0.063) and row["end j (s)"] == pytest.approx(0.072)


def test_elephant_integration_montecarlo_agrees_with_analytical():
    """As in Elephant's integration test: MC (20 surrogates, dither 9 ms) > 0.9 where
    the analytical pmat is > 0.9."""
    obj = _integration_asset(_chain_groups())
    pmat = obj.probability_matrix_analytical()
    mc = obj.probability_matrix_montecarlo(n_surrogates=20, dither=0.009, seed=1)
    assert _pairs(*np.nonzero(mc > 0.9)) == _pairs(*np.nonzero(pmat > 0.9))


# ---------------------------------------------------------------------- intersection matrix
def _st12(t_start=0.0):
    ms = 1e-3
    return SpikeTrains.from_lists([np.array([1, 2, 4]) * ms + t_start,
                                   np.array([1, 3, 4]) * ms + t_start],
                                  t_start=t_start, t_stop=t_start + 5 * ms)


SQ = math.sqrt(2) / 2
IMAT_ELEPHANT = {
    None: [[0, 0, 0, 0, 0], [0, 2, 1, 1, 2], [0, 1, 1, 0, 1], [0, 1, 0, 1, 1], [0, 2, 1, 1, 2]],
    "intersection": [[0, 0, 0, 0, 0], [0, 1, 1, 1, 1], [0, 1, 1, 0, 1], [0, 1, 0, 1, 1],
                     [0, 1, 1, 1, 1]],
    "mean": [[0, 0, 0, 0, 0], [0, 1, SQ, SQ, 1], [0, SQ, 1, 0, SQ], [0, SQ, 0, 1, SQ],
             [0, 1, SQ, SQ, 1]],
    "union": [[0, 0, 0, 0, 0], [0, 1, .5, .5, 1], [0, .5, 1, 0, .5], [0, .5, 0, 1, .5],
              [0, 1, .5, .5, 1]],
}


@pytest.mark.parametrize("normalization", list(IMAT_ELEPHANT))
def test_intersection_matrix_elephant_cases(normalization):
    """Elephant test_intersection_matrix: st1 = [1, 2, 4] ms, st2 = [1, 3, 4] ms, 1 ms bins."""
    data = _st12()
    expected = np.array(IMAT_ELEPHANT[normalization], dtype=float)
    got = intersection_matrix(data.bin(0.001), normalization=normalization)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    obj = Asset(data=data, bin_size=0.001, normalization=normalization)
    np.testing.assert_allclose(obj.intersection_matrix(), expected, rtol=0, atol=1e-12)
    # non-symmetric: the same trains shifted by 6 ms as the j axis
    nonsym = Asset(data=data, data_j=_st12(t_start=0.006), bin_size=0.001,
                   normalization=normalization)
    np.testing.assert_allclose(nonsym.intersection_matrix(), expected, rtol=0, atol=1e-12)


def test_intersection_matrix_counts_and_normalizations_of_counts():
    """Spike counts (binary=False) as Elephant: st1 = [1.2, 1.5, 3.3] ms,
    st2 = [1.1, 3.4, 5.0] ms and a silent unit, 1 ms bins over 6 ms. 'intersection' and
    'mean' divide by spike counts, 'union' by the number of distinct neurons."""
    ms = 1e-3
    data = SpikeTrains.from_lists([np.array([1.2, 1.5, 3.3]) * ms,
                                   np.array([1.1, 3.4, 5.0]) * ms, []], t_stop=6 * ms)
    s3, s6, s2 = math.sqrt(3), math.sqrt(6), math.sqrt(2)
    expected_rows = {
        None: {1: [0, 5, 0, 3, 0, 1], 3: [0, 3, 0, 2, 0, 1], 5: [0, 1, 0, 1, 0, 1]},
        "intersection": {1: [0, 5 / 3, 0, 1.5, 0, 1], 3: [0, 1.5, 0, 1, 0, 1],
                         5: [0, 1, 0, 1, 0, 1]},
        "mean": {1: [0, 5 / 3, 0, 3 / s6, 0, 1 / s3], 3: [0, 3 / s6, 0, 1, 0, 1 / s2],
                 5: [0, 1 / s3, 0, 1 / s2, 0, 1]},
        "union": {1: [0, 2.5, 0, 1.5, 0, 0.5], 3: [0, 1.5, 0, 1, 0, 0.5],
                  5: [0, 0.5, 0, 0.5, 0, 1]},
    }
    for normalization, rows in expected_rows.items():
        got = Asset(data=data, bin_size=ms, binary=False,
                    normalization=normalization).intersection_matrix()
        assert got.shape == (6, 6)
        for i, row in rows.items():
            np.testing.assert_allclose(got[i], row, rtol=0, atol=1e-12,
                                       err_msg=f"{normalization} row {i}")
        for i in (0, 2, 4):  # bins without spikes
            assert np.all(got[i] == 0) and np.all(got[:, i] == 0)
    # the default (binary) counts neurons, not spikes
    binary = Asset(data=data, bin_size=ms).intersection_matrix()
    assert binary[1, 1] == 2 and binary[1, 3] == 2 and binary[5, 5] == 1
    with pytest.raises(ValueError, match="normalization"):
        intersection_matrix(data.bin(ms), normalization="max")


def test_intersection_matrix_normalized_parity_with_elephant():
    # (Elephant normalizes row by row in Python: keep the data small)
    data = _chain(8, t_stop=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        el = ASSET(_neo(data), bin_size=0.003 * pq.s)
        for normalization in ("intersection", "mean", "union"):
            expected = el.intersection_matrix(normalization=normalization)
            got = Asset(data=data, binary=False,
                        normalization=normalization).intersection_matrix()
            # Elephant returns float32
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7,
                                       err_msg=normalization)


# ---------------------------------------------------------------------- stretched distance
def _all_pairs(n):
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return i.ravel().astype(np.int64), j.ravel().astype(np.int64)


def _stretched(x, y, stretch):
    x, y = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
    pi, pj = _all_pairs(x.size)
    return kernels.stretched_distances(x, y, pi, pj, float(stretch)).reshape(x.size, x.size)


def _euclid(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    return np.hypot(np.subtract.outer(x, x), np.subtract.outer(y, y))


def test_stretched_distance_elephant_cases():
    # x = y = arange(4), stretch 1: a (4, 4) matrix equal to the Euclidean distance
    x = np.arange(4)
    d = _stretched(x, x, 1)
    assert d.shape == (4, 4)
    np.testing.assert_allclose(d, _euclid(x, x), rtol=1e-12)
    # along 45 degrees the factor is 1, across it it is `stretch` (Elephant's ref_angle=0
    # case rotated to the 45-degree reference that spikelens uses)
    d = _stretched([0, 1, 1], [0, 1, -1], 10)
    assert d[0, 1] == pytest.approx(math.sqrt(2), rel=1e-12)
    assert d[0, 2] == pytest.approx(10 * math.sqrt(2), rel=1e-12)
    # a pure row or column step: 1 + (stretch - 1) sin(45 deg)
    d = _stretched([0, 1, 0], [0, 0, 1], 10)
    assert d[0, 1] == pytest.approx(1 + 9 * math.sin(math.pi / 4), rel=1e-12)
    assert d[0, 2] == pytest.approx(1 + 9 * math.sin(math.pi / 4), rel=1e-12)
    # symmetric to 6 decimals
    d = _stretched([1, 2, 2], [1, 2, 0], 10)
    np.testing.assert_array_almost_equal(d, d.T, decimal=6)
    # stretch 1 is the Euclidean distance
    x = np.arange(10)
    y = x ** 2 - 2 * x - 4
    np.testing.assert_array_almost_equal(_stretched(x, y, 1), _euclid(x, y), decimal=5)


def test_stretched_distance_matches_elephant_metric():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 40, 60)
    y = rng.integers(0, 40, 60)
    for stretch in (1.0, 2.0, 5.0, 10.0):
        expected = ea._stretched_metric_2d(x, y, stretch=stretch, ref_angle=45)
        got = _stretched(x, y, stretch)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        assert np.all(got >= _euclid(x, y) - 1e-12)


# ---------------------------------------------------------------------- clustering
CLUSTER_CASES = [
    ([[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]], (1.5, 2, 1),
     [[0, 0, 1, 0], [0, 0, 0, 1], [2, 0, 0, 0], [0, 2, 0, 0]]),
    ([[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1], [0, 1, 0, 0]], (1.5, 3, 1),
     [[0, 1, 0, 0], [0, 0, 1, 0], [-1, 0, 0, 1], [0, -1, 0, 0]]),
    ([[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1], [0, 1, 0, 0]], (1.5, 2, 1),
     [[0, 1, 0, 0], [0, 0, 1, 0], [2, 0, 0, 1], [0, 2, 0, 0]]),
    (np.zeros((4, 4)), (1.5, 2, 1), np.zeros((4, 4))),
]


@pytest.mark.parametrize("mask, params, expected", CLUSTER_CASES)
def test_cluster_matrix_entries_elephant_cases(mask, params, expected):
    got = cluster_matrix_entries(np.asarray(mask, bool), *params)
    expected = np.asarray(expected)
    assert got.shape == expected.shape
    assert _partition(got) == _partition(expected)
    assert _noise(got) == _noise(expected)
    np.testing.assert_array_equal(got == 0, expected == 0)


@pytest.mark.parametrize("size, params", [(50, (5, 4, 2)), (100, (2, 2, 2))])
def test_cluster_matrix_entries_random_masks_match_elephant(size, params):
    """Elephant's chunked-clustering data: RandomState(12).randn(size, size) > 0."""
    mask = np.random.RandomState(12).randn(size, size) > 0
    expected = ASSET.cluster_matrix_entries(mask, *params, working_memory=50)
    got = cluster_matrix_entries(mask, *params)
    assert got.dtype == np.int32
    assert _partition(got) == _partition(expected)
    assert _noise(got) == _noise(expected)
    assert len(_partition(got)) >= 1


def test_cluster_matrix_entries_sparse_mask_tutorial_parameters():
    mask = np.random.default_rng(3).random((120, 120)) < 0.08
    expected = ASSET.cluster_matrix_entries(mask, 11, 10, 5)
    got = cluster_matrix_entries(mask, 11, 10, 5)
    assert _partition(got) == _partition(expected)
    assert _noise(got) == _noise(expected)
    assert len(_partition(got)) > 5 and len(_noise(got)) > 0


def test_cluster_matrix_entries_symmetric_mirrors_lower_triangle():
    rng = np.random.default_rng(11)
    low = np.tril(rng.random((60, 60)) < 0.15, -1)
    mask = low | low.T
    got = cluster_matrix_entries(mask, 3, 3, 5, symmetric=True)
    np.testing.assert_array_equal(got, got.T)
    assert np.all(np.diagonal(got) == 0)
    expected = ASSET.cluster_matrix_entries(low, 3, 3, 5)
    assert _partition(np.tril(got, -1)) == _partition(expected)
    assert _noise(np.tril(got, -1)) == _noise(expected)


def test_cluster_radius_is_inclusive():
    """DBSCAN's eps is inclusive (as in Elephant): diagonal neighbours at exactly sqrt(2)
    are linked, and min_neighbors counts the entry itself."""
    mask = np.eye(5, dtype=bool)
    linked = cluster_matrix_entries(mask, math.sqrt(2), 2, 1)
    assert _partition(linked) == {frozenset((k, k) for k in range(5))}
    apart = cluster_matrix_entries(mask, math.sqrt(2) - 1e-9, 2, 1)
    assert _partition(apart) == set() and len(_noise(apart)) == 5
    # the ends of the line have 2 entries within reach (themselves included), the rest 3
    ends = cluster_matrix_entries(mask, math.sqrt(2), 3, 1)
    assert _partition(ends) == {frozenset((k, k) for k in range(5))}
    none = cluster_matrix_entries(mask, math.sqrt(2), 4, 1)
    assert _partition(none) == set() and len(_noise(none)) == 5


def test_cluster_parameters_are_checked():
    mask = np.eye(4, dtype=bool)
    with pytest.raises(ValueError, match="max_distance"):
        cluster_matrix_entries(mask, 0, 2, 1)
    with pytest.raises(ValueError, match="min_neighbors"):
        cluster_matrix_entries(mask, 1.5, 0, 1)
    with pytest.raises(ValueError, match="stretch"):
        cluster_matrix_entries(mask, 1.5, 2, 0.5)


# ---------------------------------------------------------------------- mask, SSE helpers
def test_mask_matrices_elephant_cases():
    mat1 = np.array([[0, 1], [1, 2]])
    mat2 = np.array([[2, 1], [1, 3]])
    got = mask_matrices([mat1, mat2], [1, 2])
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, [[False, False], [False, True]])
    # strict comparison, scalar threshold for all matrices
    np.testing.assert_array_equal(mask_matrices([mat1, mat2], 1.0),
                                  [[False, False], [False, True]])
    with pytest.raises(ValueError):
        mask_matrices([], [])
    with pytest.raises(ValueError):
        mask_matrices([np.arange(5)], [])


SSE_A = {(1, 2): {1, 2, 3}, (3, 4): {5, 6}, (6, 7): {0, 1}}


def test_sse_helpers_elephant_cases():
    assert sse_time_bins(SSE_A) == ([1, 2], [6, 7])
    assert sse_neurons(SSE_A) == [0, 1, 2, 3, 5, 6]
    assert sse_neurons({}) == []
    with pytest.raises(ValueError, match="sse"):
        sse_time_bins({})
    assert sse_neurons({(4, 1): set(), (5, 2): {9}}) == [9]


def test_extract_synchronous_events_matches_elephant():
    """Hand-made cluster matrices on real data: diagonal-touching clusters are dropped in
    the symmetric case only, empty neuron sets are kept."""
    data = _chain(9)
    bx = data.bin(0.003)
    n = bx.shape[1]
    rng = np.random.default_rng(5)
    low = np.zeros((n, n), dtype=np.int32)
    for k in range(1, 8):
        i = rng.integers(20, n - 20)
        j = rng.integers(0, i - 10)
        for s in range(5):
            low[i + s, j + s] = k
    low[40, 40] = low[41, 41] = 8  # touches the diagonal: dropped when symmetric
    low[42, 30] = 8
    el = ASSET(_neo(data), bin_size=0.003 * pq.s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = el.extract_synchronous_events(low)
    got = extract_synchronous_events(low + np.tril(low, -1).T, bx)
    assert 8 not in got and 8 not in expected
    assert _sse_set(got) == _sse_set(expected)
    assert any(len(v) == 0 for sse in got.values() for v in sse.values())  # kept
    assert any(len(v) > 0 for sse in got.values() for v in sse.values())
    # non-symmetric (different j data), nothing is dropped
    x, y = _halves(data, 0.5)
    bx, by = x.bin(0.003), y.bin(0.003)
    cm = low[:bx.shape[1], :by.shape[1]]
    el = ASSET(_neo(x), spiketrains_j=_neo(y), bin_size=0.003 * pq.s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = el.extract_synchronous_events(cm)
    got = extract_synchronous_events(cm, bx, by)
    assert 8 in got
    # Elephant also lists labels that no longer occur in cm (cut off above) as empty SSEs
    assert _sse_set(got) == _sse_set({k: v for k, v in expected.items() if v})


def test_poisson_cdf_below_matches_scipy():
    """pmat's Poisson step, P(Poisson(mu) < k), against scipy over a wide grid."""
    from scipy.stats import poisson
    k = np.array([0, 1, 2, 3, 5, 10, 30, 100, 300, 600])
    mu = np.concatenate([[0.0], np.logspace(-10, np.log10(700), 40)])
    kk, mm = np.meshgrid(k, mu, indexing="ij")
    got = kernels.poisson_cdf_below(np.ascontiguousarray(kk, dtype=np.int64),
                                    np.ascontiguousarray(mm))
    expected = np.where(kk >= 1, poisson.cdf(kk - 1, mm), 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-13)
    assert np.all(got[kk == 0] == 0) and np.all(got[(kk >= 1) & (mm == 0)] == 1)


# ============================================================= 3. joint survival function
def _jsf_cases():
    rng = np.random.default_rng(0)
    cases = []
    for n, d in [(1, 1), (5, 1), (13, 2), (13, 3), (19, 3), (10, 4), (5, 5), (8, 2)]:
        for k in range(6):
            if k < 3:
                u = np.sort(rng.random(d))[::-1]
            elif k == 3:  # close to the clip
                u = np.sort(1 - rng.random(d) * 1e-4)[::-1]
            elif k == 4:  # ties
                u = np.full(d, rng.random())
            else:  # zeros at the bottom
                u = np.concatenate([np.sort(rng.random(d - d // 2))[::-1], np.zeros(d // 2)])
            cases.append((n, np.ascontiguousarray(u, dtype=np.float64)))
    return cases


JSF_CASES = _jsf_cases()


def test_top_d_survival_exact_enumeration():
    worst = 0.0
    for n, u in JSF_CASES:
        got = kernels.top_d_survival(u, n)
        expected = _exact_top_d_survival(u, n)
        worst = max(worst, abs(got - expected))
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-13), (n, u)
    assert worst < 1e-12


def test_top_d_survival_known_values():
    # d = 1: P(max >= u) = 1 - u^n
    for u, n in [(0.3, 1), (0.9, 19), (0.5, 7)]:
        assert kernels.top_d_survival(np.array([u]), n) == pytest.approx(1 - u ** n, rel=1e-12)
    # d = n: every sample above its threshold
    u = np.array([0.9, 0.6, 0.2])
    assert kernels.top_d_survival(u, 3) == pytest.approx(
        _exact_top_d_survival(u, 3), rel=1e-12)
    # all thresholds 0: certain; largest threshold 1: impossible (Elephant's point masses)
    assert kernels.top_d_survival(np.array([1 / 3, 0.0]), 50) == pytest.approx(1.0, abs=1e-12)
    assert kernels.top_d_survival(np.array([1.0, 2 / 3]), 50) == pytest.approx(0.0, abs=1e-12)
    assert kernels.top_d_survival(np.zeros(3), 19) == pytest.approx(1.0, abs=1e-12)
    # monotone: raising a threshold lowers the probability
    base = kernels.top_d_survival(np.array([0.9, 0.8, 0.7]), 13)
    assert kernels.top_d_survival(np.array([0.95, 0.8, 0.7]), 13) < base
    assert kernels.top_d_survival(np.array([0.9, 0.8, 0.75]), 13) < base


def test_top_d_survival_monte_carlo():
    """Sampling check: 200,000 draws, so the standard error is at most 0.0011; 5 SE."""
    rng = np.random.default_rng(123)
    n_draws = 200_000
    for u, n in [((0.97, 0.9, 0.8), 19), ((0.99, 0.6, 0.5), 19), ((0.9, 0.5), 13)]:
        u = np.array(u)
        top = -np.sort(-rng.random((n_draws, n)), axis=1)[:, :u.size]
        freq = np.mean(np.all(top >= u, axis=1))
        expected = kernels.top_d_survival(u, n)
        se = math.sqrt(expected * (1 - expected) / n_draws)
        assert abs(freq - expected) < 5 * se + 1e-12, (u, n, freq, expected)


def test_top_d_survival_matches_elephant_jsf():
    # Elephant's summation with float64 logs: the same probability to 1e-12
    for n, u in JSF_CASES:
        jsf = ea._JSFUniformOrderStat3D(n=n, d=u.size, precision="double")
        du = np.diff(u[::-1], prepend=0.0, append=1.0)[None, :]
        with np.errstate(divide="ignore"):
            expected = jsf.cpu(np.log(du))[0]
        assert kernels.top_d_survival(u, n) == pytest.approx(expected, rel=1e-10, abs=1e-12)
    # Elephant's public path (float32 input and logs) on the u rows of Elephant's examples
    rows = np.array([[0.8, 0.9, 0.97], [0.5, 0.6, 0.99], [0, 0, 0], [0.3, 0.3, 0.3],
                     [0.99999, 0.99999, 0.99999]], dtype=np.float32)
    jsf = ea._JSFUniformOrderStat3D(n=19, d=3, precision="double")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = jsf.compute(rows)
    got = [kernels.top_d_survival(r[::-1].astype(np.float64).copy(), 19) for r in rows]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-7)
    # values Elephant's documentation checks by Monte Carlo
    assert got[0] == pytest.approx(0.334195, abs=1e-6)
    assert got[1] == pytest.approx(0.173802, abs=1e-6)


# ============================================================================ 4. ground truth
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synfire_chain_ordering_score(seed):
    """Tutorial setting (500 units, 10 x 50 chain, 5 s) with the Asset defaults."""
    data = sim.synfire_chain(seed=seed)
    obj = Asset(data=data)  # the default run (full matrices, or tiles if memory is short)
    assert (obj.bin_size, obj.kernel_width, tuple(obj.filter_shape), obj.n_largest,
            obj.alpha_p, obj.alpha_j, obj.max_distance, obj.min_neighbors, obj.stretch) == \
        (0.003, 0.05, (11, 3), 3, 0.99, 0.99, 11.0, 10, 5.0)
    r = obj.run()
    assert r.score is not None and r.score >= 0.9, r.score
    assert len(r.sses) >= 1
    assert sorted(r.order.tolist()) == list(range(data.n_units))


@pytest.mark.parametrize("seed", [0, 1])
def test_poisson_without_chain_has_no_sse(seed):
    data = sim.poisson(n_units=500, rate=15.0, t_stop=5.0, seed=seed)
    r = Asset(data=data).run(tiled=False)
    assert r.sses == {}
    assert r.n_found == 0 and r.score is None
    # not vacuous: the pmat does cross alpha_p in many places
    assert np.count_nonzero(r.pmat > 0.99) > 1000


# ============================================================================ 5. parameter errors
@pytest.fixture(scope="module")
def small():
    return sim.poisson(n_units=10, rate=15.0, t_stop=1.0, seed=0)


@pytest.mark.parametrize("name, value", [("alpha_p", 1.5), ("alpha_p", 1.0), ("alpha_p", 0.0),
                                         ("alpha_j", -0.1), ("alpha_j", 1.0),
                                         ("alpha_j", 0.0)])
def test_alpha_outside_unit_interval(small, name, value):
    with pytest.raises(ValueError, match=name):
        Asset(data=small, **{name: value})
    obj = Asset(data=small)
    with pytest.raises(ValueError, match=name):
        setattr(obj, name, value)


@pytest.mark.parametrize("params, name", [
    (dict(bin_size=2.0), "bin_size"),
    (dict(filter_shape=(200, 3)), "filter_shape"),
    (dict(filter_shape=(5, 5)), "filter_shape"),
    (dict(kernel_width=0.002), "kernel_width"),
    (dict(kernel_width=1.5), "kernel_width"),  # longer than the recording's 333 bins
    (dict(filter_shape=(5, 1), n_largest=14), "n_largest"),
    (dict(filter_shape=(3, 0), n_largest=4), "n_largest"),
])
@pytest.mark.parametrize("tiled", [False, True])
def test_bad_parameters(small, params, name, tiled):
    with pytest.raises(ValueError, match=name):
        Asset(data=small, **params).run(tiled=tiled)


def test_bad_parameters_non_symmetric(small):
    x, y = _halves(small, 0.5)
    with pytest.raises(ValueError, match="data_j: the recording has no spikes"):
        Asset(data=x, data_j=SpikeTrains.from_lists([[]] * x.n_units, t_stop=1.0)).run()
    with pytest.raises(ValueError, match="filter_shape"):
        Asset(data=x, data_j=y, filter_shape=(170, 3)).run(tiled=False)
    with pytest.raises(ValueError, match="bin_size"):
        Asset(data=x, data_j=SpikeTrains.from_lists([[0.5005]] * x.n_units, t_start=0.5,
                                                    t_stop=0.501)).run(tiled=False)
    with pytest.raises(ValueError, match="data_j"):
        Asset(data=x, data_j=y.select_units(range(9))).run(tiled=False)


def test_kernel_longer_than_data_j():
    """A rate kernel longer than the j recording is refused like one longer than data.

    data has 300 bins, data_j 33; a 0.12 s kernel spans 40 bins, a 0.2 s kernel 66.
    """
    x, y = _halves(sim.poisson(n_units=10, rate=15.0, t_stop=1.0, seed=0), 0.9)
    for kernel_width in (0.12, 0.2):
        with pytest.raises(ValueError, match="kernel_width"):
            Asset(data=x, data_j=y, kernel_width=kernel_width, filter_shape=(5, 1),
                  n_largest=2).run(tiled=False)


@pytest.mark.parametrize("tiled", [None, False, True])
def test_empty_data(tiled):
    with pytest.raises(ValueError, match="data"):
        Asset().run(tiled=tiled)
    with pytest.raises(ValueError, match="data"):
        Asset(data=None).run(tiled=tiled)
    with pytest.raises(ValueError, match="data"):
        Asset(data=SpikeTrains.from_lists([[], []], t_stop=1.0)).run(tiled=tiled)


def test_bad_function_arguments():
    pmat = _random_pmat(False)
    with pytest.raises(ValueError, match="filter_shape"):
        joint_probability_matrix(pmat, (13, 1), 2)
    with pytest.raises(ValueError, match="filter_shape"):
        joint_probability_matrix(pmat, (5, 5), 2)
    with pytest.raises(ValueError, match="n_largest"):
        joint_probability_matrix(pmat, (5, 1), 14)
    with pytest.raises(ValueError, match="min_p_value"):
        joint_probability_matrix(pmat, (5, 1), 2, min_p_value=0)


# ============================================================================ 6. caching
def test_caching_thresholds_recompute_only_mask_clusters_sses():
    data = _chain(1)
    obj = Asset(data=data, filter_shape=(5, 2), n_largest=3, alpha_p=0.9, alpha_j=0.9,
                max_distance=3.0, min_neighbors=3, stretch=5.0)
    first = obj.run(tiled=False)
    base = dict(obj.computations)
    assert all(base[k] == 1 for k in ("binned", "counts", "probabilities", "pmat", "jmat",
                                      "mask", "cmat", "sses"))
    obj.run(tiled=False)
    assert obj.computations == base  # nothing recomputed

    for name, value in [("alpha_p", 0.95), ("alpha_j", 0.95)]:
        before = dict(obj.computations)
        setattr(obj, name, value)
        r = obj.run(tiled=False)
        after = obj.computations
        for step in ("binned", "counts", "probabilities", "pmat", "jmat"):
            assert after[step] == before[step], (name, step)
        for step in ("mask", "cmat", "sses"):
            assert after[step] == before[step] + 1, (name, step)
        assert r.pmat is first.pmat and r.jmat is first.jmat
        fresh = Asset(data=data, filter_shape=(5, 2), n_largest=3, alpha_p=obj.alpha_p,
                      alpha_j=obj.alpha_j, max_distance=3.0, min_neighbors=3,
                      stretch=5.0).run(tiled=False)
        np.testing.assert_array_equal(r.mask, fresh.mask)
        assert _sse_set(r.sses) == _sse_set(fresh.sses)
    assert not np.array_equal(r.mask, first.mask)

    before = dict(obj.computations)
    obj.filter_shape = (5, 1)
    r = obj.run(tiled=False)
    after = obj.computations
    for step in ("binned", "counts", "probabilities", "pmat"):
        assert after[step] == before[step], step
    for step in ("jmat", "mask", "cmat", "sses"):
        assert after[step] == before[step] + 1, step
    np.testing.assert_array_equal(
        r.jmat, joint_probability_matrix(r.pmat, (5, 1), 3, symmetric=True))

    before = dict(obj.computations)
    obj.kernel_width = 0.03
    obj.run(tiled=False)
    assert obj.computations["pmat"] == before["pmat"] + 1
    assert obj.computations["jmat"] == before["jmat"] + 1
    assert obj.computations["binned"] == before["binned"]
    assert obj.computations["counts"] == before["counts"]

    # counts instead of binary bins: new imat and pmat, same rates
    before = dict(obj.computations)
    obj.binary = False
    r = obj.run(tiled=False)
    assert obj.computations["counts"] == before["counts"] + 1
    assert obj.computations["pmat"] == before["pmat"] + 1
    assert obj.computations["probabilities"] == before["probabilities"]
    np.testing.assert_array_equal(r.imat, intersection_matrix(data.bin(0.003)))

    # new data: everything again, and no stale result
    before = dict(obj.computations)
    other = _chain(2)
    obj.data = other
    r = obj.run(tiled=False)
    assert all(obj.computations[k] == before[k] + 1 for k in before)
    np.testing.assert_array_equal(r.imat, intersection_matrix(other.bin(0.003)))


# ============================================================================ 7. Monte Carlo pmat
@pytest.fixture(scope="module")
def mc_data():
    data = sim.poisson(n_units=40, rate=15.0, t_stop=1.0, seed=0)
    obj = Asset(data=data, kernel_width=0.05)
    mc = obj.probability_matrix_montecarlo(n_surrogates=100, seed=1, backend="serial")
    return obj, mc


def test_montecarlo_same_seed_same_result_on_every_backend(mc_data):
    obj, mc = mc_data
    threads = obj.probability_matrix_montecarlo(n_surrogates=100, seed=1, backend="threads")
    np.testing.assert_array_equal(mc, threads)
    again = obj.probability_matrix_montecarlo(n_surrogates=100, seed=1, backend="serial")
    np.testing.assert_array_equal(mc, again)


def test_montecarlo_agrees_with_analytical_on_poisson(mc_data):
    """Without a chain both estimate P(overlap < observed) under independence.

    Where imat is 0 both are exactly 0 (strict inequality). Elsewhere the MC value is a
    binomial frequency over 100 surrogates: its mean absolute error is at most
    sqrt(2 / pi) * 0.5 / sqrt(100) = 0.04 (measured: 0.030, with a bias of -0.010 from
    Le Cam's approximation and the dither null). A second MC run with another seed
    differs from the first by as much (measured 0.031), which calibrates the check:
    the analytical pmat is no farther from MC than MC is from itself, within 50 %.
    """
    obj, mc = mc_data
    pmat = obj.probability_matrix_analytical()
    imat = obj.intersection_matrix()
    off = ~np.eye(pmat.shape[0], dtype=bool)
    assert np.all(mc[(imat == 0) & off] == 0)
    assert np.all(np.diagonal(mc) == 0.5)
    assert np.corrcoef(pmat[off], mc[off])[0, 1] > 0.9
    sel = (imat >= 1) & off
    assert sel.sum() > 5000
    diff = mc[sel] - pmat[sel]
    assert np.abs(diff).mean() < 0.04
    assert abs(diff.mean()) < 0.02
    other = obj.probability_matrix_montecarlo(n_surrogates=100, seed=2, backend="serial")
    assert not np.array_equal(other, mc)
    assert np.abs(diff).mean() < 1.5 * np.abs(other[sel] - mc[sel]).mean()


def test_montecarlo_non_symmetric():
    data = sim.poisson(n_units=30, rate=15.0, t_stop=0.6, seed=3)
    x, y = _halves(data, 0.3)
    obj = Asset(data=x, data_j=y, kernel_width=0.05)
    mc = obj.probability_matrix_montecarlo(n_surrogates=30, seed=4, backend="serial")
    imat = obj.intersection_matrix()
    assert mc.shape == imat.shape
    assert np.all(mc[imat == 0] == 0)
    assert not np.all(np.diagonal(mc) == 0.5)  # no diagonal fill
    np.testing.assert_array_equal(
        mc, obj.probability_matrix_montecarlo(n_surrogates=30, seed=4, backend="threads"))
    with pytest.raises(ValueError, match="n_surrogates"):
        obj.probability_matrix_montecarlo(n_surrogates=0)
    with pytest.raises(ValueError, match="dither"):
        obj.probability_matrix_montecarlo(n_surrogates=5, dither=0.0)


def test_montecarlo_dither_is_uniform_over_plus_minus_five_bins():
    """Exact expectation of the surrogate test on a constructed case.

    Unit m spikes at the centres of bins b_m and b_m + 10 (b_m = 20 + 14 m, far enough
    apart that no other unit can reach its pixel), so imat[b_m, b_m + 10] = 1 and the
    surrogate count there is 1 iff both dithered spikes stay in their 3 ms bins. With the
    default dither of 5 bins (uniform over +-15 ms) each stays with probability
    3 / 30 = 0.1, so 1 - pmat_mc has expectation 0.01 at each of the 30 pixels. Over
    30 x 200 surrogate tests the mean has a standard error of sqrt(0.01 * 0.99 / 6000)
    = 0.0013; the check allows 4 of them (a dither of +-7.5 ms would give 0.04, an
    asymmetric one of -15..+7.5 ms 0.018).
    """
    bs = 0.003
    starts = 20 + 14 * np.arange(30)
    trains = [[(b + 0.5) * bs, (b + 10.5) * bs] for b in starts]
    data = SpikeTrains.from_lists(trains, t_stop=(starts[-1] + 30) * bs)
    obj = Asset(data=data, bin_size=bs)
    imat = obj.intersection_matrix()
    assert np.all(imat[starts, starts + 10] == 1)
    mc = obj.probability_matrix_montecarlo(n_surrogates=200, seed=3)
    miss = 1.0 - mc[starts, starts + 10]
    assert abs(miss.mean() - 0.01) < 4 * math.sqrt(0.01 * 0.99 / miss.size / 200)
    # and where imat is 0 the probability is 0 (strict inequality)
    off = ~np.eye(imat.shape[0], dtype=bool)
    assert np.all(mc[(imat == 0) & off] == 0)


def test_montecarlo_jitter_keeps_each_spike_in_its_window():
    """Exact expectation for ``method="jitter_spikes"`` on the constructed case above.

    With a 15 ms window (the default 5 bins) each spike lands uniformly inside its own
    window, so it stays in its 3 ms bin with probability 3 / 15 = 0.2 and both spikes of
    a unit stay with probability 0.04 (dithering gives 0.01). Over 30 x 200 tests the
    standard error of the mean is sqrt(0.04 * 0.96 / 6000) = 0.0025; 4 of them allowed.
    """
    bs = 0.003
    starts = 20 + 14 * np.arange(30)
    trains = [[(b + 0.5) * bs, (b + 10.5) * bs] for b in starts]
    data = SpikeTrains.from_lists(trains, t_stop=(starts[-1] + 30) * bs)
    obj = Asset(data=data, bin_size=bs)
    mc = obj.probability_matrix_montecarlo(n_surrogates=200, seed=3, method="jitter_spikes")
    miss = 1.0 - mc[starts, starts + 10]
    assert abs(miss.mean() - 0.04) < 4 * math.sqrt(0.04 * 0.96 / miss.size / 200)
    with pytest.raises(ValueError, match="method"):
        obj.probability_matrix_montecarlo(n_surrogates=5, method="shuffle")


#: parameters of the Elephant-style call tests: SSEs on _chain(1) at a small filter
ELEPHANT_STYLE = dict(bin_size=0.003, kernel_width=0.04, filter_shape=(5, 2), n_largest=2,
                      alpha_p=0.9, alpha_j=0.9, max_distance=3.0, min_neighbors=3, stretch=5.0)


def test_elephant_style_calls_give_the_run_results():
    """The call sequence of Elephant's docstring and tutorial (positional imat and pmat,
    quantities) works on Asset; with arguments equal to the parameters it gives run()'s
    results and fills run()'s cache."""
    data = _chain(1)
    asset = Asset(data=data, **ELEPHANT_STYLE)
    imat = asset.intersection_matrix()
    pmat = asset.probability_matrix_analytical(imat, kernel_width=40 * pq.ms)
    jmat = asset.joint_probability_matrix(pmat, filter_shape=(5, 2), n_largest=2,
                                          min_p_value=1e-5, precision="double")
    mask = Asset.mask_matrices([pmat, jmat], [0.9, 0.9])
    cmat = asset.cluster_matrix_entries(mask, max_distance=3, min_neighbors=3, stretch=5)
    sses = asset.extract_synchronous_events(cmat)
    ref = Asset(data=data, **ELEPHANT_STYLE).run(tiled=False)
    np.testing.assert_array_equal(imat, ref.imat)
    np.testing.assert_array_equal(pmat, ref.pmat)
    np.testing.assert_array_equal(jmat, ref.jmat)
    np.testing.assert_array_equal(mask, ref.mask)
    np.testing.assert_array_equal(cmat, ref.cmat)
    assert len(sses) > 0 and _sse_set(sses) == _sse_set(ref.sses)
    # the same object's run() reuses the matrices of those calls
    own = asset.run(tiled=False)
    assert asset.computations["jmat"] == 1 and asset.computations["pmat"] == 1
    np.testing.assert_array_equal(own.cmat, ref.cmat)
    # ids name the neurons, as in Elephant
    ids = [f"n{k}" for k in range(data.n_units)]
    named = asset.extract_synchronous_events(cmat, ids=ids)
    assert {c: {px: frozenset(f"n{k}" for k in m) for px, m in sse.items()}
            for c, sse in sses.items()} == named


def _equal_results(a, b):
    if isinstance(a, dict):  # SSEs
        return _sse_set(a) == _sse_set(b)
    return np.array_equal(a, b)


_OTHER_CLUSTERING = dict(max_distance=2.0, min_neighbors=2, stretch=3.0)

#: name: (parameters of a fresh Asset, the Elephant-style call with those values as
#: arguments on an Asset of ELEPHANT_STYLE, the fresh Asset's own step)
ELEPHANT_STYLE_CALLS = {
    "normalization": (dict(normalization="mean"),
                      lambda a: a.intersection_matrix(normalization="mean"),
                      lambda a: a.intersection_matrix()),
    "kernel_width": (dict(kernel_width=0.03),
                     lambda a: a.probability_matrix_analytical(kernel_width=30 * pq.ms),
                     lambda a: a.probability_matrix_analytical()),
    "imat and kernel_width": (dict(kernel_width=0.03),
                              lambda a: a.probability_matrix_analytical(
                                  a.intersection_matrix(), kernel_width=0.03),
                              lambda a: a.probability_matrix_analytical()),
    "jmat arguments": (dict(filter_shape=(5, 1), n_largest=3, min_p_value=1e-4),
                       lambda a: a.joint_probability_matrix(filter_shape=[5, 1], n_largest=3,
                                                            min_p_value=1e-4),
                       lambda a: a.joint_probability_matrix()),
    "pmat of another kernel_width": (
        dict(kernel_width=0.03, filter_shape=(5, 1)),
        lambda a: a.joint_probability_matrix(
            a.probability_matrix_analytical(kernel_width=0.03), filter_shape=(5, 1)),
        lambda a: a.joint_probability_matrix()),
    "monte carlo": (dict(bin_size=0.003),
                    lambda a: a.probability_matrix_montecarlo(
                        8, surrogate_dt=6 * pq.ms, seed=2, backend="serial"),
                    lambda a: a.probability_matrix_montecarlo(8, dither=0.006, seed=2,
                                                              backend="serial")),
    "clustering": (_OTHER_CLUSTERING,
                   lambda a: a.cluster_matrix_entries(a.mask_matrix(), **_OTHER_CLUSTERING),
                   lambda a: a.cluster_matrix()),
    "synchronous events": (_OTHER_CLUSTERING,
                           lambda a: a.extract_synchronous_events(a.cluster_matrix_entries(
                               a.mask_matrix(), 2, 2, 3)),
                           lambda a: a.synchronous_events()),
}


@pytest.mark.parametrize("case", list(ELEPHANT_STYLE_CALLS))
def test_elephant_style_calls_leave_the_object_as_it_was(case):
    """An Elephant-style call with arguments other than the parameters returns what a fresh
    Asset with those parameters computes, and changes neither the parameters nor what
    run() returns or recomputes."""
    params, call, own_step = ELEPHANT_STYLE_CALLS[case]
    data = _chain(1)
    asset = Asset(data=data, **ELEPHANT_STYLE)
    before = asset.run(tiled=False)
    values = asset.param.values()
    computations = dict(asset.computations)
    got = call(asset)
    assert asset.param.values() == values
    after = asset.run(tiled=False)
    assert asset.computations == computations  # the steps' own cache is untouched
    for name in ("imat", "pmat", "jmat", "mask", "cmat"):
        np.testing.assert_array_equal(getattr(after, name), getattr(before, name))
    assert _sse_set(after.sses) == _sse_set(before.sses)
    expected = own_step(Asset(data=data, **{**ELEPHANT_STYLE, **params}))
    assert _equal_results(got, expected)
    # the arguments matter: the object's own step gives something else (Monte Carlo takes
    # no parameter of the object, only its data)
    assert case == "monte carlo" or not _equal_results(got, own_step(asset))


def test_intersection_matrix_normalization_none_means_none():
    """As in Elephant, normalization=None asks for the counts; left out, the parameter."""
    asset = Asset(data=_chain(1), bin_size=0.003, normalization="union")
    np.testing.assert_array_equal(asset.intersection_matrix(normalization=None),
                                  Asset(data=_chain(1), bin_size=0.003).intersection_matrix())
    np.testing.assert_array_equal(
        asset.intersection_matrix(),
        Asset(data=_chain(1), bin_size=0.003, normalization="union").intersection_matrix())
    assert asset.normalization == "union"


def test_elephant_style_jmat_of_a_monte_carlo_pmat_and_refused_inputs():
    data = _chain(1)
    asset = Asset(data=data, bin_size=0.003, filter_shape=(5, 2), n_largest=2)
    mc = asset.probability_matrix_montecarlo(20, surrogate_method="dither_spikes",
                                             surrogate_dt=15 * pq.ms, seed=3,
                                             backend="serial")
    np.testing.assert_array_equal(
        mc, asset.probability_matrix_montecarlo(20, dither=0.015, seed=3, backend="serial"))
    # a pmat other than the analytical one: jmat from it, and the cached jmat is untouched
    jmat_mc = asset.joint_probability_matrix(mc)
    np.testing.assert_array_equal(
        jmat_mc, joint_probability_matrix(mc, (5, 2), 2, asset.min_p_value, symmetric=True))
    assert "jmat" not in asset.computations
    with pytest.raises(ValueError, match="^imat: differs"):
        asset.probability_matrix_analytical(asset.intersection_matrix() + 1)
    with pytest.raises(ValueError, match="^firing_rates_x: "):
        asset.probability_matrix_analytical(firing_rates_x=np.ones(3))
    with pytest.raises(ValueError, match="^ids: expected 60 ids"):
        asset.extract_synchronous_events(asset.cluster_matrix(), ids=["a"])


def test_jitter_windows_keep_every_spike_in_its_own_window():
    """Jittered spikes stay in their window, the last (partial) window ends at t_stop, and
    spikes on a window's edge (on a 1 ms grid, 25 ms windows) stay in the window it starts."""
    from analysis.asset import _move_spikes

    rng = np.random.default_rng(0)
    t_start, t_stop, window = 0.0, 1.0, 0.3          # windows 0-0.3-0.6-0.9 and 0.9-1.0
    times = np.sort(rng.uniform(t_start, t_stop, 20_000))
    moved = _move_spikes(times, t_start, t_stop, window, "jitter_spikes", rng)
    assert np.all((moved >= t_start) & (moved < t_stop))
    np.testing.assert_array_equal(np.minimum(times // window, 3), np.minimum(moved // window, 3))
    last = times >= 0.9
    # the 0.1 s last window keeps its spikes (none is pushed past t_stop and lost)
    assert np.all(moved[last] >= 0.9 - 1e-12)
    grid = np.arange(0, 1000) * 0.001                 # spikes on a 1 ms grid
    on_edge = grid[np.isclose(grid / 0.025, np.round(grid / 0.025))]
    moved = _move_spikes(on_edge, 0.0, 1.0, 0.025, "jitter_spikes", rng)
    np.testing.assert_array_equal(np.round(on_edge / 0.025).astype(int),
                                  np.floor(moved / 0.025 + 1e-9).astype(int))


def test_elephant_style_calls_check_their_arguments():
    asset = Asset(data=_chain(1), bin_size=0.003)
    with pytest.raises(ValueError):
        asset.joint_probability_matrix(filter_shape=(7, 2), n_largest=0)
    with pytest.raises(ValueError, match="^kernel_width: expected a number"):
        asset.probability_matrix_analytical(kernel_width=np.ones(2))
    assert tuple(asset.filter_shape) == (11, 3) and asset.n_largest == 3


# ------------------------------------------------------- progress at the page's largest size
class _Cancelled(Exception):
    pass


@pytest.mark.slow
def test_progress_reports_are_frequent_and_cancel_is_quick_at_5000_bins():
    """The dashboard cancels a run at its next progress report: on the 500-unit demo at
    1 ms bins (5,000 bins, the ASSET page's cap) the reports come well under 2 s apart
    through binning, the probability matrix and the joint-probability blocks, and a report
    that raises reaches the caller at once."""
    from analysis import demo

    data = demo.load_demo(demo.DEFAULT)
    calls = []

    def cancel_after_first(fraction, message):
        calls.append(time.perf_counter())
        if len(calls) > 1:
            raise _Cancelled
    with pytest.raises(_Cancelled):
        Asset(data=data, bin_size=0.001, progress=cancel_after_first).run()
    assert time.perf_counter() - calls[0] < 2.0

    reports = []

    def record(fraction, message):
        reports.append((time.perf_counter(), message))
        if sum(m.startswith("joint probability: block") for _, m in reports) == 4:
            raise _Cancelled
    started = time.perf_counter()
    with pytest.raises(_Cancelled):
        Asset(data=data, bin_size=0.001, progress=record).run()
    raised = time.perf_counter()
    messages = [m for _, m in reports]
    assert sum(m.startswith("probability matrix: rows") for m in messages) >= 50
    assert messages[-1].startswith("joint probability: block of centres 4/")
    times = [started] + [t for t, _ in reports]
    gaps = np.diff(times)
    assert gaps.max() < 2.0, list(zip(gaps.round(2).tolist(), messages))
    assert np.median(gaps) < 0.5, list(zip(gaps.round(2).tolist(), messages))
    assert raised - times[-1] < 0.1


@pytest.mark.slow
def test_clustering_a_5000_bin_mask_is_quick():
    """Clustering has no progress report inside: ~10,000 significant entries of a
    5,000 x 5,000 mask (stripes and noise) are clustered in well under 2 s, without
    importing scikit-learn (2-3 s of imports on the 2-core machine)."""
    import os
    import subprocess
    import sys

    code = ("import sys, numpy as np; from analysis.asset import cluster_matrix_entries; "
            "cluster_matrix_entries(np.eye(30, k=-5, dtype=bool), 3, 2); "
            "print('sklearn' in sys.modules)")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=repo)  # python -c finds the package there
    assert out.stdout.strip() == "False"
    rng = np.random.default_rng(0)
    mask = np.zeros((5000, 5000), dtype=bool)
    for start in rng.integers(100, 4800, 40):
        offset = int(rng.integers(50, start))
        k = np.arange(start, min(start + 100, 5000))
        for w in range(2):
            mask[k, np.clip(k - offset + w, 0, 4999)] = True
    mask[rng.integers(0, 5000, 3000), rng.integers(0, 5000, 3000)] = True
    mask |= mask.T
    cluster_matrix_entries(mask[:200, :200], symmetric=True)  # numba compiled or loaded
    started = time.perf_counter()
    cmat = cluster_matrix_entries(mask, symmetric=True)
    assert time.perf_counter() - started < 1.5
    assert cmat.max() >= 20
