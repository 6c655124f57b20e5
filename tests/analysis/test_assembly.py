"""Assembly-neuron identification: exactness, calibration, detection, bad input."""

import numpy as np
import pytest

from analysis import SpikeTrains, simulate
from analysis.assembly import AssemblyNeurons, adjust_p_values, evaluate, sweep


# ----------------------------------------------------------------- plain reference
def dense(data, bin_size):
    return data.bin(bin_size, binary=True).toarray().astype(np.int64)


def reference_cpc(x, power):
    """Mean of (z^(-i))^r over the bins where i fires minus its mean over all bins."""
    z = x.sum(axis=0)
    out = np.full(x.shape[0], np.nan)
    for i in range(x.shape[0]):
        zi = (z - x[i]).astype(np.float64) ** power
        if x[i].sum():
            out[i] = zi[x[i] == 1].mean() - zi.mean()
    return out


def reference_csf(x, power, normalized=False):
    n_bins = x.shape[1]
    counts = x.sum(axis=1).astype(np.float64)
    out = np.full(x.shape[0], np.nan)
    for i in range(x.shape[0]):
        if not counts[i]:
            continue
        total = 0.0
        for j in range(x.shape[0]):
            if j == i:
                continue
            e = counts[i] * counts[j] / n_bins
            excess = max(0.0, float(np.sum(x[i] & x[j])) - e)
            if excess > 0:
                total += excess ** power / e if normalized else excess ** power
        out[i] = total
    return out


@pytest.fixture(scope="module")
def small_sip():
    return simulate.sip(n_units=25, assembly_size=6, coincidence_rate=3.0, rate=12.0,
                        t_stop=4.0, seed=4)


@pytest.mark.parametrize("power", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("normalized", [False, True])
def test_statistics_equal_plain_reference(small_sip, power, normalized):
    det = AssemblyNeurons(data=small_sip, power=power, normalized=normalized, n_surrogates=3,
                          bin_size=0.002)
    stats = det.statistics()
    x = dense(small_sip, 0.002)
    np.testing.assert_allclose(stats["cpc"][0], reference_cpc(x, power), rtol=1e-12,
                               atol=1e-9)
    np.testing.assert_allclose(stats["csf"][0], reference_csf(x, power, normalized),
                               rtol=1e-12, atol=1e-9)


def test_trial_shuffle_surrogate_equals_reference():
    # with two trials the only non-identity permutation swaps them: the surrogate is known
    data = simulate.sip(n_units=12, assembly_size=4, t_stop=2.0, seed=8)
    det = AssemblyNeurons(data=data, surrogate="trial", trial_length=1.0, n_surrogates=4)
    stats = det.statistics()
    x = dense(data, 0.001)
    half = x.shape[1] // 2
    for i in range(x.shape[0]):
        swapped = x.copy()
        swapped[i] = np.concatenate([x[i, half:], x[i, :half]])
        assert np.allclose(stats["cpc"][1][i], reference_cpc(swapped, 2.0)[i])
        assert np.allclose(stats["csf"][1][i], reference_csf(swapped, 2.0)[i])


def test_uniform_surrogates_are_centred_and_reproducible(small_sip):
    det = AssemblyNeurons(data=small_sip, n_surrogates=400, seed=5)
    stats = det.statistics()
    cpc_s = stats["cpc"][1]
    # E[CPC] = 0 under uniform shuffling; the standard error of the mean over 400
    # surrogates bounds the deviation (5 SE)
    se = cpc_s.std(axis=1) / np.sqrt(cpc_s.shape[1])
    assert np.all(np.abs(cpc_s.mean(axis=1)) < 5 * se + 1e-12)
    again = AssemblyNeurons(data=small_sip, n_surrogates=400, seed=5).statistics()
    np.testing.assert_array_equal(again["csf"][1], stats["csf"][1])
    other = AssemblyNeurons(data=small_sip, n_surrogates=400, seed=6).statistics()
    assert not np.array_equal(other["csf"][1], stats["csf"][1])


def test_p_values_and_ranking_follow_their_definitions(small_sip):
    det = AssemblyNeurons(data=small_sip, n_surrogates=99, statistic="csf")
    res = det.run()
    orig, surr = det.statistics()["csf"]
    k = 3
    assert res.table.p_value[k] == (1 + np.sum(surr[k] >= orig[k])) / 100
    width = np.quantile(surr[k], 0.99) - np.quantile(surr[k], 0.01)
    assert res.table.rank_score[k] == pytest.approx((orig[k] - surr[k].mean()) / width)
    assert np.all((res.table.p_value > 0) & (res.table.p_value <= 1))


def test_p_value_corrections():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    # Holm: sorted p times (m - rank), made monotone; Benjamini-Hochberg: p * m / rank
    np.testing.assert_allclose(adjust_p_values(p, "holm")[:4], [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(adjust_p_values(p, "bh")[:4],
                               [0.02, 0.04, 0.04, 0.02])
    assert np.isnan(adjust_p_values(p, "bh")[4])
    with pytest.raises(ValueError, match="correction"):
        adjust_p_values(p, "sidak")


# ----------------------------------------------------------------- calibration
@pytest.mark.slow
def test_false_positive_rate_on_independent_poisson():
    # 5 seeds x 300 neurons = 1500 tests at alpha = 1%: expected 15 false positives; the
    # acceptance band [0.5%, 2%] is [7.5, 30], beyond 2 binomial SDs (3.9) either way
    rates = []
    for seed in range(5):
        data = simulate.poisson(n_units=300, rate=10.0, t_stop=20.0, seed=100 + seed)
        res = AssemblyNeurons(data=data, n_surrogates=999, seed=seed, alpha=0.01).run()
        rates.append(res.table.significant.to_numpy())
    fp = np.concatenate(rates).mean()
    assert 0.005 <= fp <= 0.02, fp


@pytest.mark.slow
@pytest.mark.parametrize("statistic", ["cpc", "csf"])
def test_sip_assembly_has_no_false_negatives(statistic):
    for seed in range(3):
        data = simulate.sip(n_units=100, assembly_size=10, coincidence_rate=2.0, rate=15.0,
                            t_stop=30.0, seed=seed)
        res = AssemblyNeurons(data=data, statistic=statistic, n_surrogates=999,
                              seed=seed).run()
        ev = evaluate(res, data.truth["assembly_membership"])
        assert ev["false_negatives"] == 0, ev
        assert ev["fp_rate"] <= 0.05, ev


@pytest.mark.slow
def test_mip_and_msip_detection_rates():
    mip = simulate.mip(n_units=100, assembly_size=10, coincidence_rate=4.0, copy_prob=0.5,
                       rate=15.0, t_stop=30.0, seed=1)
    msip = simulate.msip(n_units=100, n_assemblies=3, assembly_size=10, coincidence_rate=2.0,
                         rate=15.0, t_stop=30.0, seed=1)
    for data in (mip, msip):
        res = AssemblyNeurons(data=data, statistic="csf", n_surrogates=499).run()
        ev = evaluate(res, data.truth["assembly_membership"])
        # documented in docs/assembly.md: these settings are detected without misses
        assert ev["fn_rate"] <= 0.1, ev
        assert ev["fp_rate"] <= 0.05, ev


@pytest.mark.slow
def test_weighted_shuffling_controls_common_rate_covariation():
    # all neurons share a fast rate modulation (50 ms segments alternating x0.2 and x1.8):
    # uniform shuffling mistakes co-variation for coincidences, weighted shuffling with a
    # small baseline follows the population histogram and does not (Berger et al. 2010)
    times = np.arange(0.0, 20.0, 0.05)
    factors = np.where(np.arange(times.size) % 2 == 0, 0.2, 1.8)
    data = simulate.sip(n_units=100, assembly_size=10, coincidence_rate=2.0, rate=15.0,
                        t_stop=20.0, rate_profile=(times, factors), seed=3)
    member = data.truth["assembly_membership"].any(axis=0)
    uniform = AssemblyNeurons(data=data, n_surrogates=499).run()
    weighted = AssemblyNeurons(data=data, n_surrogates=499, surrogate="weighted",
                               baseline=0.1).run()
    fp_uniform = evaluate(uniform, member)["fp_rate"]
    fp_weighted = evaluate(weighted, member)["fp_rate"]
    assert fp_uniform > 0.3, fp_uniform
    assert fp_weighted <= 0.04, fp_weighted
    assert evaluate(weighted, member)["fn_rate"] <= 0.2


def test_sweep_over_baseline(small_sip):
    table = sweep([0.1, 10.0], "baseline", data=small_sip, surrogate="weighted",
                  n_surrogates=99)
    assert list(table.baseline) == [0.1, 10.0]
    assert {"detected", "fp_rate", "fn_rate"} <= set(table.columns)


# ----------------------------------------------------------------- bad input
def test_bad_parameters_raise_clear_errors(small_sip):
    with pytest.raises(ValueError, match="bin_size"):
        AssemblyNeurons(data=small_sip, bin_size=0.0)
    with pytest.raises(ValueError, match="n_surrogates"):
        AssemblyNeurons(data=small_sip, n_surrogates=0)
    with pytest.raises(ValueError, match="trial_length"):
        AssemblyNeurons(data=small_sip, surrogate="trial", trial_length=0.3).run()
    with pytest.raises(ValueError, match="trial_length"):
        AssemblyNeurons(data=small_sip, surrogate="trial").run()
    with pytest.raises(ValueError, match="bin_size"):
        AssemblyNeurons(data=small_sip, bin_size=10.0).run()
    with pytest.raises(ValueError, match="data"):
        AssemblyNeurons().run()


def test_silent_neuron_gives_documented_nan_row():
    data = SpikeTrains.from_lists([[0.1, 0.5], [], [0.1, 0.7, 0.9]], t_stop=1.0)
    res = AssemblyNeurons(data=data, n_surrogates=20).run()
    row = res.table.iloc[1]
    assert np.isnan(row.statistic) and np.isnan(row.p_value) and not row.significant
    assert np.isfinite(res.table.statistic[0])
