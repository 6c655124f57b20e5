"""Assembly-neuron identification (Berger et al. 2010).

Berger D, Borgelt C, Louis S, Morrison A, Grün S (2010), "Efficient identification of
assembly neurons within massively parallel spike trains", Computational Intelligence and
Neuroscience 2010:439648.

Per neuron i, on binned and clipped data x[i, t] (T bins, n_i spikes, z_t neurons firing in
bin t, z_t^(-i) = z_t - x[i, t]):

* CPC (conditional pattern complexity), power r: the mean of (z_t^(-i))^r over the bins
  where i fires minus its mean over all bins;
* CSF (conditional spike frequency), power r: the average over the N - 1 other neurons j
  of max(0, c_ij - e_ij)^r, c_ij the bins where i and j both fire, e_ij = n_i n_j / T
  (``normalized``: each term divided by e_ij), as in the paper (Sec. 3.2). Before
  2026-12 spikelens reported the sum, N - 1 times this; p-values are the same.

Each statistic is compared with surrogates that move only neuron i's spikes:
uniform spike shuffling, weighted spike shuffling (bin t with probability proportional to
z_t^(-i) + baseline) or trial shuffling. The weights use z^(-i), the population *without*
neuron i: with i's own spikes in the weights a surrogate would be drawn back towards i's
original bins, which shrinks the difference the test looks for (more false negatives).

Trial shuffling with k trials has only k! - 1 orders other than the identity. When
``n_surrogates`` >= k! - 1 every one of them is used once (the exact permutation test:
p = (1 + #{orders with statistic >= original}) / k!, S reduced to k! - 1); otherwise
``n_surrogates`` distinct random orders are drawn. A test whose smallest p-value, 1 / k!,
exceeds alpha is refused (``ValueError`` naming ``trial_length``).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import param
import scipy.sparse as sp

from .base import CachedSteps, SavedResult
from .errors import check_memory
from .kernels import assembly as kernels
from .parallel import map_blocks
from .spiketrains import SpikeTrains, _floor_with_tolerance

__all__ = ["AssemblyNeurons", "AssemblyResult", "adjust_p_values", "assembly_membership",
           "evaluate", "evaluation_sweeps", "pairwise_coincidences", "ranked", "sweep"]

QUANTILES = (0.01, 0.05, 0.5, 0.95, 0.99)


def adjust_p_values(p, method):
    """Adjusted p-values across neurons: None, "holm" or "bh" (Benjamini-Hochberg).

    NaN entries (neurons without spikes) are left out and stay NaN.
    """
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    q = p[ok]
    m = q.size
    if method in (None, "none"):
        out[ok] = q
        return out
    if m == 0:
        return out
    order = np.argsort(q)
    ranked = q[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1]
    else:
        raise ValueError(f"correction: expected None, 'holm' or 'bh', got {method!r}")
    result = np.empty(m)
    result[order] = np.minimum(adj, 1.0)
    out[ok] = result
    return out


@dataclass
class AssemblyResult(SavedResult):
    """Per-neuron table and the surrogate distributions behind it."""

    table: pd.DataFrame
    surrogates: np.ndarray  # units x surrogates, the chosen statistic
    statistic: str
    params: dict
    #: trial shuffling used every trial order other than the recorded one once (k! - 1
    #: surrogates for k trials): an exact permutation test
    all_trial_orders: bool = False
    #: the data of the run (``analysis.base.data_summary``, with ``bins``); empty in
    #: files saved before results recorded it
    data_summary: dict = field(default_factory=dict)
    #: seconds the run took; None in files saved before results recorded it
    elapsed: float | None = None

    @property
    def n_surrogates(self):
        """Surrogates per neuron actually used: ``n_surrogates``, or k! - 1 for trial
        shuffling of k trials when that is fewer (all trial orders)."""
        return int(self.surrogates.shape[1])

    @property
    def significant_units(self):
        return self.table.index[self.table["significant"]].to_numpy()


class AssemblyNeurons(CachedSteps):
    """Which neurons take part in coincident firing (Berger et al. 2010).

    ``run()`` returns an ``AssemblyResult``; the surrogate computation is cached on the
    parameters it depends on, so changing the statistic, alpha or the correction only
    rebuilds the table.
    """

    data = param.ClassSelector(class_=SpikeTrains, allow_None=True, doc="Spike trains.")
    statistic = param.Selector(default="cpc", objects=["cpc", "csf"], doc="""
        cpc: conditional pattern complexity; csf: conditional spike frequency.""")
    power = param.Number(default=2.0, bounds=(1, None), doc="""
        Power r of the statistic. The paper uses r = 1; spikelens defaults to r = 2, which
        weights bins where many others fire more and finds weak assemblies more often:
        on SIP recordings (10 of 100 units, 15 Hz, 10 s, 3 seeds, S = 999, alpha = 1%),
        CPC missed 15 of 30 members at 0.5 Hz coincidences with r = 1 and 0 with r = 2
        (CSF 10 and 9), with false positives within the level either way
        (examples/assembly_defaults.py, benchmarks/results/assembly_defaults_2026-12-05.txt).""")
    normalized = param.Boolean(default=False, doc="""
        CSF only: divide each pair's excess coincidences by their expected number.""")
    bin_size = param.Number(default=0.001, bounds=(0, None), inclusive_bounds=(False, True),
                            label="Bin size (ms)", doc="Bin size in seconds.")
    surrogate = param.Selector(default="uniform", objects=["uniform", "weighted", "trial"],
                               doc="How neuron i's spikes are moved.")
    baseline = param.Number(default=1.0, bounds=(0, None), doc="""
        Weighted shuffling: Laplace baseline b; 0 follows the population histogram, large
        values approach uniform shuffling (inf is uniform).""")
    trial_length = param.Number(default=None, allow_None=True, bounds=(0, None),
                                inclusive_bounds=(False, True), label="Trial length (s)",
                                doc="Trial shuffling: the length of one trial in seconds.")
    n_surrogates = param.Integer(default=1000, bounds=(1, 1_000_000), doc="""
        Surrogates S per neuron (at most 10^6: enough for Holm at N = 10,000 neurons and
        alpha = 0.01). The smallest p-value is 1/(S + 1): the default 1,000 reaches
        alpha = 1% without correction or with Benjamini-Hochberg; Holm needs
        S >= N/alpha - 1 whatever the default (10^5 at N = 1,000), and ``run`` says so. The
        paper's 5,000 costs 4-5x the time (time grows linearly with S; 4.0 s against
        1.0 s on 100 units x 10 s) for p-values on a finer grid than alpha = 1% needs.""")
    alpha = param.Number(default=0.01, bounds=(0, 1), inclusive_bounds=(False, False),
                         doc="Significance level.")
    correction = param.Selector(default=None, objects=[None, "holm", "bh"], doc="""
        Multiple-testing correction across neurons.""")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed.")

    def _check(self):
        if self.data is None:
            raise ValueError("data: no spike trains given")
        if self.data.n_units == 0:
            raise ValueError("data: the recording has no units")
        if self.bin_size > self.data.duration:
            raise ValueError(f"bin_size: {self.bin_size} s is longer than the recording "
                             f"({self.data.duration} s)")

    def _surrogate_key(self):
        trial = self.trial_length if self.surrogate == "trial" else None
        base = self.baseline if self.surrogate == "weighted" else None
        return (self.data, self.bin_size, self.power, self.normalized, self.surrogate, base,
                trial, self.n_surrogates, self.seed)

    def binned(self):
        """Binary binned spikes (units x bins, CSR)."""
        def compute():
            self._check()
            return self.data.bin(self.bin_size, binary=True).tocsr()
        return self._cached("binned", (self.data, self.bin_size), compute)

    def statistics(self):
        """Original CPC and CSF per unit and their surrogate values (units x surrogates)."""
        return self._cached("statistics", self._surrogate_key(), self._compute_statistics)

    def statistics_bytes(self):
        """Estimated peak bytes of ``statistics``: CPC and CSF for every unit and surrogate
        (twice while the batches are joined), each unit's trial orders (trial shuffling
        with distinct random orders), the binned spikes both ways, and per-thread bin
        maps."""
        self._check()
        n_units, n_bins = self.data.n_units, self.data.n_bins(self.bin_size)
        per_surrogate = 40.0 if self._distinct_orders() else 32.0
        return (per_surrogate * n_units * self.n_surrogates + 40.0 * self.data.n_spikes
                + 16.0 * n_bins * 8)

    def _distinct_orders(self):
        """Whether trial shuffling draws distinct random orders: at most
        ``MAX_TRIALS_DISTINCT`` trials, and more orders than surrogates."""
        if self.surrogate != "trial":
            return False
        n_trials = self._n_trials()
        return (n_trials <= kernels.MAX_TRIALS_DISTINCT
                and not _all_orders(n_trials, self.n_surrogates))

    def _kernel_inputs(self):
        """The arrays and settings the kernel needs, shared by all units."""
        x = self.binned()
        n_units, n_bins = x.shape
        unit_ptr, unit_bins = x.indptr.astype(np.int64), x.indices.astype(np.int64)
        xt = sp.csr_matrix(x.T)
        # narrow unit ids shrink the memory the bin lookups walk through
        unit_dtype = np.int16 if n_units < 2 ** 15 else np.int32
        bin_ptr, bin_units = xt.indptr.astype(np.int64), xt.indices.astype(unit_dtype)
        z = np.diff(bin_ptr)
        kind, trial_bins = kernels.UNIFORM, 0
        alias_prob, alias_idx, z_weight = np.ones(1), np.zeros(1, np.int64), np.ones(1)
        trial_perms = np.zeros((0, 1), dtype=np.int64)
        n_trials = 0
        n_surrogates = int(self.n_surrogates)
        if self.surrogate == "weighted" and np.isfinite(self.baseline):
            kind = kernels.WEIGHTED
            z_weight = z + float(self.baseline)
            if z_weight.sum() <= 0:
                raise ValueError("baseline: no bin has weight (no spikes and baseline 0)")
            if self.baseline == 0:
                self._check_enough_bins(x, z)
            alias_prob, alias_idx = kernels.alias_table(z_weight)
        elif self.surrogate == "trial":
            kind = kernels.TRIAL
            trial_bins = self._trial_bins(n_bins)
            n_trials = n_bins // trial_bins
            if _all_orders(n_trials, n_surrogates):  # exact: each order once
                self._report(0.0, f"surrogates: listing the {math.factorial(n_trials) - 1:,} "
                                  f"orders of {n_trials} trials")
                trial_perms = kernels.trial_orders(n_trials)
                n_surrogates = trial_perms.shape[0]
        seeds = np.random.SeedSequence(self.seed).generate_state(n_units, dtype=np.uint32)
        return {"unit_ptr": unit_ptr, "unit_bins": unit_bins, "bin_ptr": bin_ptr,
                "bin_units": bin_units, "z": z, "n_bins": n_bins,
                "power": float(self.power), "normalized": bool(self.normalized),
                "kind": kind, "n_surrogates": n_surrogates, "seeds": seeds.astype(np.int64),
                "alias_prob": alias_prob, "alias_idx": alias_idx,
                "z_weight": z_weight.astype(np.float64), "baseline": float(self.baseline),
                "reject_factor": kernels.REJECT_FACTOR, "trial_bins": trial_bins,
                "trial_perms": trial_perms, "n_trials": n_trials,
                # distinct random trial orders: filled in by ``_trial_codes``
                "trial_codes": np.zeros((n_units, 0), dtype=np.int64)}

    def _compute_statistics(self):
        check_memory(f"{self.n_surrogates} surrogates of {self.data.n_units} units",
                     self.statistics_bytes(), self._budget(),
                     "lower n_surrogates or raise memory_budget")
        self._report(0.0, "surrogates: preparing")
        shared = self._kernel_inputs()
        n_surr, n_trials = shared.pop("n_surrogates"), shared.pop("n_trials")
        n_units, spikes = self.data.n_units, np.diff(shared["unit_ptr"])
        sizes = {"per_bin": shared["bin_units"].size / max(shared["n_bins"], 1),
                 "n_bins": shared["n_bins"], "kind": shared["kind"], "n_trials": n_trials}
        blocks = work_blocks(spikes, n_surr, **sizes)
        cost = surrogate_work(spikes, **sizes)
        # progress: the trial orders (if drawn here) and the blocks by their share of the work
        orders = self._distinct_orders()
        order_work = n_units * n_surr * order_work_per_surrogate(n_trials) if orders else 0.0
        share = order_work / (order_work + float(cost.sum()) * n_surr + 1.0)
        if orders:
            with self._progress_span(0.0, share):
                shared["trial_codes"] = self._trial_codes(shared["seeds"], spikes, n_trials,
                                                          n_surr)
        # not filled: the blocks write every entry (NaN for silent units), so the memory is
        # first touched block by block, between progress reports, not all before the first
        out = {"cpc": np.full(n_units, np.nan), "csf": np.full(n_units, np.nan),
               "cpc_s": np.empty((n_units, n_surr)), "csf_s": np.empty((n_units, n_surr))}
        # each surrogate has its own seed, so the result depends neither on the blocks nor on
        # the backend; progress is reported (and a run can be cancelled) after each block
        with self._progress_span(share, 1.0):
            map_blocks(_statistics_block, blocks, backend="serial", scheduler=self.scheduler,
                       shared=shared, reduce=_gather, initial=out,
                       label=f"block ({n_units} units x {n_surr} surrogates)",
                       progress=lambda f, m: self._report(f, f"surrogates: {m}"))
        return {"cpc": (out["cpc"], out["cpc_s"]), "csf": (out["csf"], out["csf_s"])}

    def _trial_codes(self, seeds, spikes, n_trials, n_surrogates):
        """Each unit's distinct random trial orders (``kernels.distinct_trial_orders``), a
        (units x surrogates) array of codes, drawn for a few units at a time in ranges of
        surrogates of about ``BLOCK_WORK``, with a progress report after each range."""
        import numba

        n_units = seeds.size
        codes = np.zeros((n_units, n_surrogates), dtype=np.int64)
        size = 2 ** max(1, (2 * n_surrogates + 1).bit_length())  # >= 2 (S + 1)
        group = max(1, min(numba.get_num_threads(), SEEN_BYTES // (8 * size)))
        step = max(1, int(BLOCK_WORK / (order_work_per_surrogate(n_trials) * group)))
        seen = np.empty((group, size), dtype=np.int64)
        active = np.flatnonzero(spikes > 0)  # a silent unit has no surrogates to order
        for a in range(0, active.size, group):
            units = active[a:a + group]
            seen[:units.size] = -1
            unit_codes = np.empty((units.size, n_surrogates), dtype=np.int64)
            for first in range(0, n_surrogates, step):
                count = min(step, n_surrogates - first)
                kernels.distinct_trial_orders(seeds[units], n_trials, first, count,
                                              seen[:units.size], unit_codes)
                done = (a + units.size * (first + count) / n_surrogates) / active.size
                self._report(done, f"surrogates: trial orders of units "
                                   f"{a + 1}-{a + units.size} of {active.size}")
            codes[units] = unit_codes
        return codes

    @contextlib.contextmanager
    def _progress_span(self, low, high):
        """Within the block, progress fractions 0..1 are reported as ``low``..``high`` of
        the enclosing span (the whole run outside any block)."""
        outer = self._span
        width = outer[1] - outer[0]
        self._span = (outer[0] + low * width, outer[0] + high * width)
        try:
            yield
        finally:
            self._span = outer

    _span = (0.0, 1.0)

    def _report(self, fraction, message):
        low, high = self._span
        super()._report(low + (high - low) * min(max(fraction, 0.0), 1.0), message)

    def surrogate_bins(self, unit, reject_factor=None):
        """For checking: the bins each surrogate of one unit occupies, with its statistics.

        Runs the same per-unit code with the same seed as ``statistics`` (so the values
        equal its row for this unit) and also records the bins drawn.

        Parameters
        ----------
        unit : int, the unit's position (row), not its id
        reject_factor : float, optional
            Weighted shuffling only: rejected proposals per spike after which a surrogate's
            remaining bins are drawn group-wise (default ``kernels.REJECT_FACTOR``); inf
            draws by rejection only (slow where little weight is left), a negative value
            group-wise only. Every setting draws from the same distribution; tests use
            this to compare them.

        Returns
        -------
        dict: ``bins`` (surrogates x spikes, each row sorted), ``cpc``, ``csf`` (original
        values) and ``cpc_surrogates``, ``csf_surrogates``.
        """
        self._check()
        inputs = self._kernel_inputs()
        unit = int(unit)
        if not 0 <= unit < self.data.n_units:
            raise ValueError(f"unit: expected a row in 0..{self.data.n_units - 1}, got {unit}")
        seeds = inputs.pop("seeds")
        n_trials = inputs.pop("n_trials")
        codes = inputs.pop("trial_codes")[unit]
        if self._distinct_orders() and inputs["unit_ptr"][unit + 1] > inputs["unit_ptr"][unit]:
            spikes = np.zeros(self.data.n_units, dtype=np.int64)
            spikes[unit] = 1
            codes = self._trial_codes(seeds, spikes, n_trials, inputs["n_surrogates"])[unit]
        if reject_factor is not None:
            inputs["reject_factor"] = float(reject_factor)
        cpc, csf, cpc_s, csf_s, bins = kernels.unit_surrogate_bins(
            **inputs, seed=seeds[unit], trial_codes=codes, unit=unit)
        return {"bins": bins, "cpc": cpc, "csf": csf, "cpc_surrogates": cpc_s,
                "csf_surrogates": csf_s}

    def _trial_bins(self, n_bins):
        if self.trial_length is None:
            raise ValueError("trial_length: trial shuffling needs the trial length (s)")
        ratio = self.trial_length / self.bin_size
        trial_bins = int(_floor_with_tolerance(ratio))
        if trial_bins < 1 or abs(ratio - round(ratio)) > 1e-6:
            raise ValueError(f"trial_length: {self.trial_length} s is not a whole number of "
                             f"{self.bin_size} s bins")
        if n_bins % trial_bins:
            raise ValueError(f"trial_length: {self.trial_length} s does not divide the "
                             f"recording ({n_bins} bins of {self.bin_size} s)")
        if n_bins // trial_bins < 2:
            raise ValueError("trial_length: trial shuffling needs at least 2 trials")
        return trial_bins

    def _n_trials(self):
        n_bins = self.data.n_bins(self.bin_size)
        return n_bins // self._trial_bins(n_bins)

    def _check_trial_alpha(self):
        """Refuse trial shuffling whose smallest possible p-value, 1 / k!, exceeds alpha."""
        n_trials = self._n_trials()
        need = _trials_needed(self.alpha)
        if n_trials < need:
            orders = math.factorial(n_trials)
            raise ValueError(
                f"trial_length: {n_trials} trials give only {orders} trial orders, so no "
                f"p-value can fall below 1/{orders} = {1 / orders:.3g} > alpha = "
                f"{self.alpha:g}; use at least {need} trials or a larger alpha")

    def _surrogates_used(self):
        """S that ``statistics`` will use: ``n_surrogates``, or k! - 1 for trial shuffling
        of k trials when that is fewer (every order once)."""
        if self.surrogate == "trial" and _all_orders(self._n_trials(), self.n_surrogates):
            return math.factorial(self._n_trials()) - 1
        return int(self.n_surrogates)

    def _check_surrogates_reach_alpha(self):
        """Refuse a run in which no neuron could be flagged (a silent empty result).

        The smallest p-value is 1 / (S + 1). With N tested neurons (those with spikes):
        Holm multiplies the smallest p by N, so it needs 1 / (S + 1) <= alpha / N;
        Benjamini-Hochberg flags the k smallest p when p_(k) <= k alpha / N, which with all
        N neurons at the smallest p needs only 1 / (S + 1) <= alpha (a single neuron needs
        alpha / N, as for Holm); the uncorrected test needs 1 / (S + 1) <= alpha.
        """
        n_tested = int(np.count_nonzero(np.diff(self.binned().indptr)))
        if n_tested == 0:
            return
        s = self._surrogates_used()
        divisor, rule = (n_tested, "alpha/N") if self.correction == "holm" else (1, "alpha")
        # S + 1 >= divisor / alpha, with a margin for the rounding of divisor / alpha
        need = max(math.ceil(divisor / self.alpha * (1 - 1e-12)) - 1, 1)
        if s < need:
            if s < self.n_surrogates:  # trial shuffling that already uses every order
                raise ValueError(
                    f"trial_length: {self._n_trials()} trials give only {s:,} trial orders, "
                    f"but with {n_tested} neurons and alpha = {self.alpha:g} a neuron can be "
                    f"flagged only with at least {need:,} (1/(S+1) <= {rule}); use more "
                    f"trials")
            method = {"holm": "Holm", "bh": "Benjamini-Hochberg"}.get(self.correction,
                                                                     "the uncorrected test")
            raise ValueError(
                f"n_surrogates: with {n_tested} neurons and alpha = {self.alpha:g}, {method} "
                f"can flag a neuron only with at least {need:,} surrogates "
                f"(1/(S+1) <= {rule}); got {s:,}")

    def _surrogate_summary(self, original, surr):
        """The table's columns from the surrogates: quantiles, min, max, rank score and
        p-value per unit, in row blocks of about ``TABLE_BLOCK`` values with a progress
        report before each (a million surrogates of 150 units take seconds)."""
        n_units, n_surr = surr.shape
        columns = [f"q{round(q * 100):02d}" for q in QUANTILES] + ["min", "max"]
        out = {name: np.full(n_units, np.nan) for name in columns + ["p_value"]}
        rows = max(1, TABLE_BLOCK // max(n_surr, 1))
        for a in range(0, n_units, rows):
            b = min(a + rows, n_units)
            self._report(a / n_units, f"table: p-values and quantiles of units {a + 1}-{b} "
                                      f"of {n_units}")
            part, stat = surr[a:b], original[a:b]
            with np.errstate(invalid="ignore"):
                n_ge = np.sum(part >= stat[:, None], axis=1)
            out["p_value"][a:b] = (1.0 + n_ge) / (1.0 + n_surr)
            if not part.size:
                continue
            with np.errstate(invalid="ignore"), _quiet_nan_warnings():
                for q, values in zip(QUANTILES, np.nanquantile(part, QUANTILES, axis=1)):
                    out[f"q{round(q * 100):02d}"][a:b] = values
                out["min"][a:b] = np.nanmin(part, axis=1)
                out["max"][a:b] = np.nanmax(part, axis=1)
        out["p_value"][~np.isfinite(original)] = np.nan
        width = out["q99"] - out["q01"]
        with np.errstate(invalid="ignore", divide="ignore"):
            out["rank_score"] = np.where(width > 0, original / width, np.nan)
        return {name: out[name] for name in columns + ["rank_score", "p_value"]}

    def _check_enough_bins(self, x, z):
        """With baseline 0 a neuron can only move to bins where others fire."""
        busy = int(np.sum(z > 0))
        for i in range(x.shape[0]):
            bins = x.indices[x.indptr[i]:x.indptr[i + 1]]
            available = busy - int(np.sum(z[bins] == 1))
            if bins.size > available:
                raise ValueError(
                    f"baseline: with baseline 0, unit {self.data.unit_ids[i]} has "
                    f"{bins.size} spikes but others fire in only {available} other bins; "
                    f"use a baseline > 0")

    def run(self):
        """The per-neuron table for the chosen statistic.

        Returns an ``AssemblyResult`` whose ``table`` has one row per unit: ``unit``,
        ``spikes`` (occupied bins), ``statistic``, the surrogate quantiles ``q01``, ``q05``,
        ``q50``, ``q95``, ``q99``, ``min``, ``max``, ``p_value`` = (1 + #{surrogates >=
        statistic}) / (1 + S), ``p_adjusted`` (``correction``), ``significant``
        (``p_adjusted <= alpha``) and ``rank_score`` = statistic / (q99 - q01), the
        paper's rank score (Berger et al. 2010, Sec. 4.3, Fig. 8c). S is ``result.n_surrogates``: ``n_surrogates``, or k! - 1 with trial
        shuffling of k trials when that is fewer (every order once).

        NaN entries: a unit without spikes has NaN statistic, quantiles, p-values and rank
        score and is never significant. ``rank_score`` is also NaN when q99 == q01 (the
        surrogate distribution has no width, e.g. a sparse unit whose surrogates nearly
        all give the same value); its p-value and significance are still defined. The
        dashboard lists such units after the ranked ones if not significant and before
        them if significant (by p-value).

        Raises
        ------
        ValueError
            For bad parameters, naming the parameter; for trial shuffling with too few
            trials to reach ``alpha`` (1 / k! > alpha), naming ``trial_length``; when no
            neuron could pass the (corrected) threshold with S surrogates (Holm:
            1 / (S + 1) > alpha / N; Benjamini-Hochberg and no correction:
            1 / (S + 1) > alpha), naming ``n_surrogates`` and the S needed.
        """
        started = time.perf_counter()
        self._check()
        self._report(0.0, "binning the spikes")
        if self.surrogate == "trial":
            self._check_trial_alpha()
        self._check_surrogates_reach_alpha()
        with self._progress_span(0.0, STATISTICS_SHARE):
            stats = self.statistics()
        original, surr = stats[self.statistic]
        table = pd.DataFrame({"unit": self.data.unit_ids,
                              "spikes": np.diff(self.binned().indptr),
                              "statistic": original})
        with self._progress_span(STATISTICS_SHARE, 1.0):
            summary = self._surrogate_summary(original, surr)
        for name, values in summary.items():
            table[name] = values
        table["p_adjusted"] = adjust_p_values(table["p_value"].to_numpy(), self.correction)
        table["significant"] = np.nan_to_num(table["p_adjusted"].to_numpy(),
                                             nan=1.0) <= self.alpha
        all_orders = self.surrogate == "trial" and _all_orders(self._n_trials(),
                                                                self.n_surrogates)
        return AssemblyResult(table, surr, self.statistic, all_trial_orders=all_orders,
                              **self._provenance(started, bins=int(self.binned().shape[1])))


def _all_orders(n_trials, n_surrogates):
    """Whether trial shuffling uses every order once: k! - 1 <= n_surrogates (k <= 20
    checked first, so a long run of short trials never computes a huge factorial)."""
    return n_trials <= 20 and math.factorial(n_trials) - 1 <= n_surrogates


def _trials_needed(alpha):
    """The fewest trials k whose smallest p-value 1 / k! is at most ``alpha``."""
    k, orders = 2, 2
    while 1 / orders > alpha:  # exact integer division: no overflow for any k
        k += 1
        orders *= k
    return k


#: Share of a run's progress bar for the surrogates; the table takes the rest
STATISTICS_SHARE = 0.98
#: Surrogate values per row block of the table's quantiles (32 MB of float64)
TABLE_BLOCK = 2 ** 22

#: Work of one kernel call (a block), in bin visits (see ``surrogate_work``): 0.05-0.35 CPU
#: seconds on the 2-core test machine with uniform or trial shuffling, up to twice that with
#: weighted shuffling, whatever the data (measured from 150 units x 3 s with 200,000
#: surrogates, one spike in 10^6 bins or 10^4 trials to 1,000 units x 500 s and 5,000
#: units), so a Cancel (the progress callback raises) acts well within 2 s. The goal problem
#: (1,000 units x 100 s, 1,000 surrogates) keeps about the blocks it had before the terms
#: besides the visits were counted (484 against 506).
BLOCK_WORK = 2.5e7
#: Items per block: enough for the threads of one call to share the work
ITEMS_PER_BLOCK = 8
#: Work of a surrogate besides its spikes, in bin visits (one visit: one neuron looked up in
#: one bin, 5-15 ns here): seeding its random generator (MT19937, about 2 us) and the rest
#: of its fixed cost ...
SURROGATE_WORK = 300.0
#: ... reading the bitmap of its drawn bins, per 64 bins (a word: about 1 ns) ...
MASK_WORD_WORK = 0.25
#: ... and per trial, trial shuffling's order (a random number per trial)
TRIAL_WORK = 2.0
#: Bytes of the sets of trial orders drawn so far, for the units whose distinct random
#: orders are drawn together (``AssemblyNeurons._trial_codes``)
SEEN_BYTES = 64 * 2 ** 20


def surrogate_work(spikes, per_bin, n_bins=0, kind=kernels.UNIFORM, n_trials=0):
    """Estimated work of one surrogate of each unit, in bin visits.

    A surrogate of unit i visits each of its n_i bins and the neurons firing there
    (n_i x (1 + ``per_bin``)); besides, it seeds its random generator, reads out its bitmap
    of drawn bins (``n_bins`` / 64 words), computes CSF over every neuron where the kernel
    counts coincidences densely (n_i x ``per_bin`` > units / 4) and, with trial shuffling,
    draws or decodes its trial order (a step per trial). Without the terms besides the
    visits a block of sparse units (200,000 surrogates of 150 units x 3 s) took 3-4 times
    as long as one of the goal problem, one with 10^4 trials of 1 ms 6.8 CPU s, and one
    holding a unit with one spike in 10^6 bins and 10^6 surrogates 18 CPU s.
    Weighted shuffling's draws cost up to as much again as the visits; they are left out,
    so that its blocks stay as long as they were (within the bound above).

    Parameters
    ----------
    spikes : (units,) occupied bins per unit
    per_bin : float, mean neurons per bin
    n_bins : int, bins of the recording
    kind : ``kernels.UNIFORM``, ``WEIGHTED`` or ``TRIAL``
    n_trials : int, trials (trial shuffling)

    Returns
    -------
    (units,) float array; 0 for silent units (their surrogates cost nothing)
    """
    n_i = np.asarray(spikes, dtype=np.float64)
    dense = n_i * per_bin > n_i.size / 4
    work = (n_i * (1.0 + per_bin) + SURROGATE_WORK + MASK_WORD_WORK * n_bins / 64
            + np.where(dense, n_i.size, 0.0))
    if kind == kernels.TRIAL:
        work += TRIAL_WORK * n_trials
    return np.where(n_i > 0, work, 0.0)


def order_work_per_surrogate(n_trials):
    """Work (bin visits) of drawing one distinct random trial order: a seeded generator,
    a draw per trial and a look-up in the set of orders drawn before."""
    return SURROGATE_WORK + TRIAL_WORK * n_trials


def work_blocks(spikes, n_surrogates, per_bin, block_work=BLOCK_WORK,
                items_per_block=ITEMS_PER_BLOCK, *, n_bins=0, kind=kernels.UNIFORM,
                n_trials=0):
    """Split the surrogates of all units into kernel calls of bounded work.

    Each block is a tuple of arrays (units, first surrogate, count) with about
    ``block_work`` bin visits (``surrogate_work`` per surrogate) in ``items_per_block``
    items, so a block's threads share the work; a unit's surrogates are split across items
    and blocks where one unit alone exceeds an item's share.

    Parameters
    ----------
    spikes : (units,) occupied bins per unit
    n_surrogates : int
    per_bin : float, mean neurons per bin
    n_bins, kind, n_trials : see ``surrogate_work``

    Returns
    -------
    list of (units, first, count) int64 arrays
    """
    item_work = block_work / items_per_block
    costs = surrogate_work(spikes, per_bin, n_bins, kind, n_trials)
    items = []
    for unit, per_surrogate in enumerate(costs):
        step = n_surrogates if per_surrogate == 0 else \
            int(np.clip(item_work // per_surrogate, 1, n_surrogates))
        items += [(unit, first, min(step, n_surrogates - first), per_surrogate)
                  for first in range(0, n_surrogates, step)]
    blocks, current, work = [], [], 0.0
    for item in items:
        current.append(item[:3])
        work += item[2] * item[3]
        if work >= block_work or len(current) >= 4 * items_per_block:
            blocks.append(current)
            current, work = [], 0.0
    if current:
        blocks.append(current)
    return [tuple(np.array(col, dtype=np.int64) for col in zip(*b)) for b in blocks]


def _statistics_block(block, unit_ptr, unit_bins, bin_ptr, bin_units, z, n_bins, power,
                      normalized, kind, seeds, alias_prob, alias_idx, z_weight, baseline,
                      reject_factor, trial_bins, trial_perms, trial_codes):
    """CPC and CSF (and their surrogates) of one block of work items: one task."""
    units, first, count = block
    return block, kernels.assembly_statistics(
        unit_ptr, unit_bins, bin_ptr, bin_units, z, n_bins, power, normalized, kind, seeds,
        alias_prob, alias_idx, z_weight, baseline, reject_factor, trial_bins, trial_perms,
        trial_codes, units, first, count)


def _gather(out, part):
    """Write one block's results into the full (units x surrogates) arrays."""
    (units, first, count), (cpc, csf, cpc_s, csf_s) = part
    for q, (i, f, c) in enumerate(zip(units, first, count)):
        if f == 0:
            out["cpc"][i], out["csf"][i] = cpc[q], csf[q]
        out["cpc_s"][i, f:f + c] = cpc_s[q, :c]
        out["csf_s"][i, f:f + c] = csf_s[q, :c]
    return out


class _quiet_nan_warnings:
    """Silence numpy's all-NaN-slice warnings for neurons without spikes."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def evaluate(result, membership):
    """False-positive and false-negative rates of a result against ground truth.

    Parameters
    ----------
    result : AssemblyResult
    membership : bool array (assemblies x units) or (units,), from
        ``data.truth['assembly_membership']``

    Returns
    -------
    dict: detected, true_positives, false_positives, false_negatives, fp_rate (of
    non-members), fn_rate (of members), missed (unit ids)
    """
    member = np.asarray(membership, dtype=bool)
    if member.ndim == 2:
        member = member.any(axis=0)
    sig = result.table["significant"].to_numpy()
    units = result.table["unit"].to_numpy()
    tp, fp = int(np.sum(sig & member)), int(np.sum(sig & ~member))
    fn = int(np.sum(~sig & member))
    return {"detected": int(sig.sum()), "true_positives": tp, "false_positives": fp,
            "false_negatives": fn,
            "fp_rate": fp / max(int(np.sum(~member)), 1),
            "fn_rate": fn / max(int(np.sum(member)), 1) if member.any() else float("nan"),
            "missed": units[~sig & member].tolist()}


def sweep(values, name, data=None, make_data=None, seeds=(0,), **detector):
    """Detections against one parameter, as in the paper's figures.

    Either a detector parameter (e.g. ``name="baseline"`` on fixed ``data``) or a simulator
    parameter (``make_data(value, seed) -> SpikeTrains``, e.g. assembly size or
    coincidence rate). Returns a DataFrame with one row per value and seed.
    """
    rows = []
    for value in values:
        for seed in seeds:
            recording = make_data(value, seed) if make_data is not None else data
            settings = dict(detector)
            if make_data is None:
                settings[name] = value
            det = AssemblyNeurons(data=recording, seed=seed, **settings)
            result = det.run()
            row = {name: value, "seed": seed, "detected": int(result.table.significant.sum())}
            if "assembly_membership" in recording.truth:
                row.update({k: v for k, v in
                            evaluate(result, recording.truth["assembly_membership"]).items()
                            if k != "missed"})
            rows.append(row)
    return pd.DataFrame(rows)


def assembly_membership(data):
    """Per-unit ground-truth membership in any assembly.

    Parameters
    ----------
    data : SpikeTrains or None
        Spike trains whose ``truth`` may hold ``assembly_membership`` (assemblies x units,
        or one row per unit).

    Returns
    -------
    numpy.ndarray or None
        Bool per unit, True for a member of any assembly; None without that ground truth
        (or when its shape does not fit the units).
    """
    if data is None or not data.truth or "assembly_membership" not in data.truth:
        return None
    member = np.asarray(data.truth["assembly_membership"], dtype=bool)
    if member.ndim == 2:
        member = member.any(axis=0)
    return member if member.shape == (data.n_units,) else None


def ranked(table):
    """``table`` sorted by rank score, best first.

    A unit's rank score is NaN when its surrogates have no width (q99 == q01) or it has
    no spikes. Such units go before the ranked ones if significant (their statistic lies
    outside a degenerate surrogate distribution) and after them otherwise; among
    themselves (and between equal scores) by p-value, then in table order, so the order
    is always the same (Berger et al. 2010 rank the units by this score).

    Parameters
    ----------
    table : pandas.DataFrame
        An ``AssemblyResult.table`` (columns ``rank_score``, ``significant``, ``p_value``).

    Returns
    -------
    pandas.DataFrame
        The same rows, reordered.
    """
    score = table["rank_score"].to_numpy(dtype=float)
    unscored = np.isnan(score)
    significant = table["significant"].to_numpy(dtype=bool)
    group = np.where(unscored, np.where(significant, 0, 2), 1)
    p = table["p_value"].to_numpy(dtype=float)
    order = np.lexsort((np.arange(len(table)), np.where(np.isnan(p), np.inf, p),
                        np.where(unscored, 0.0, -score), group))
    return table.iloc[order]


#: Settings of the simulated evaluation (``evaluation_sweeps``): SIP assemblies as in the
#: paper's Sec. 4.1 (independent Poisson background, one assembly with injected
#: coincidences), small enough for the dashboard
EVALUATION_SETTINGS = {"n_units": 40, "assembly_size": 6, "coincidence_rate": 2.0,
                       "rate": 10.0, "t_stop": 10.0}
EVALUATION_VALUES = {"coincidence_rate": [0.25, 0.5, 1.0, 2.0],
                     "assembly_size": [2, 4, 6, 10],
                     "n_units": [20, 40, 80],
                     "baseline": [0.1, 1.0, 10.0, float("inf")]}


def evaluation_sweeps(values=None, settings=None, seeds=(0,), progress=None, **detector):
    """False-positive and false-negative rates against coincidence rate, assembly size,
    number of neurons and baseline, as in the paper's evaluation (Berger et al. 2010,
    Sec. 4, Figs. 4-7), on SIP recordings from ``analysis.simulate.sip``.

    Parameters
    ----------
    values : dict factor -> list, default ``EVALUATION_VALUES``; the factors are simulator
        settings, except ``baseline`` (weighted shuffling's b; inf: uniform)
    settings : dict, the simulator settings held fixed (``EVALUATION_SETTINGS``)
    seeds : simulator and detector seeds, one recording per value and seed
    progress : callable(fraction, message), optional
    **detector : ``AssemblyNeurons`` parameters for every run

    Returns
    -------
    DataFrame with one row per factor, value and seed: ``factor``, ``value``, ``seed`` and
    the columns of ``evaluate``; ``frame.attrs["settings"]`` holds the simulator settings
    and ``frame.attrs["detector"]`` the detector's.
    """
    from . import simulate

    values = dict(EVALUATION_VALUES if values is None else values)
    settings = dict(EVALUATION_SETTINGS if settings is None else settings)
    frames = []
    for k, (factor, levels) in enumerate(values.items()):
        def make(value, seed, factor=factor):
            sim = dict(settings)
            if factor in sim:
                sim[factor] = value
            return simulate.sip(seed=seed, **sim)

        runs = dict(detector)
        if progress is not None:  # each run reports, so a raising callback stops it
            runs["progress"] = lambda f, m, k=k, factor=factor: progress(
                (k + f) / len(values), f"{factor}: {m}")
        if factor == "baseline":
            table = sweep(levels, "baseline", data=make(None, seeds[0]), seeds=seeds,
                          surrogate="weighted", **runs)
        else:
            table = sweep(levels, factor, make_data=make, seeds=seeds, **runs)
        frames.append(table.rename(columns={factor: "value"}).assign(factor=factor))
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs["settings"] = settings
    frame.attrs["detector"] = dict(detector)
    return frame


def pairwise_coincidences(result, data):
    """The paper's comparison with pairwise correlation (Berger et al. 2010, Sec. 4.3,
    Figs. 8c and 9b): each neuron's coincidences with all others, sum over j != i of c_ij,
    and the Spearman rank correlation between those counts and the rank scores.

    Returns
    -------
    coincidences : (units,) int array
    rho : float, Spearman's rho over the neurons with a finite rank score (NaN if fewer
        than 3)
    """
    from scipy.stats import spearmanr

    x = data.bin(result.params["bin_size"], binary=True).tocsr()
    z = np.asarray(x.sum(axis=0)).ravel()
    coincidences = np.asarray(x @ z).ravel() - np.diff(x.indptr)  # sum_t x_it (z_t - 1)
    score = result.table["rank_score"].to_numpy(dtype=float)
    ok = np.isfinite(score)
    rho = float(spearmanr(score[ok], coincidences[ok])[0]) if ok.sum() >= 3 else np.nan
    return coincidences, rho
