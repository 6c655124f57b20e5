"""Assembly-neuron statistics: spikelens' numba kernel against plain numpy implementations.

All compute CPC and CSF (power 2) of every neuron against spike-shuffling surrogates.

The references are what a straightforward numpy implementation does, without copying the
whole matrix per surrogate: the data are kept once as a bins x units array, z (neurons per
bin) is computed once and, per neuron, (z^(-i))^2 and the expected coincidences once; per
surrogate only the drawn bins are touched: CPC is the mean of (z^(-i))^2 at the drawn bins,
CSF comes from the column sums of the drawn rows (coincidences with every other neuron).

* ``numpy dense``: the rows come from a dense uint8 bins x units array (O(n_i x N) per
  surrogate);
* ``scipy sparse``: the rows come from a CSR bins x units matrix (O(n_i x neurons per bin)
  per surrogate, the same work as the kernel, with numpy/scipy overhead per call).

At the goal size a reference would take many minutes, so each runs on a subset of neurons
and surrogates in the same process; the time is split into a per-neuron part (set-up) and a
per-surrogate part, measured separately, and extrapolated linearly:
N x (set-up per neuron) + N x S x (time per surrogate). The printout says which figures are
extrapolated. The references are first checked against spikelens on the original data.

    python benchmarks/assembly.py            # goal size: N=1000, 100 s at 1 ms, S=1000
    python benchmarks/assembly.py --quick    # a small problem, for a smoke test
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import time

import numpy as np
import scipy.sparse as sp
from machine import machine

from analysis import simulate
from analysis.assembly import AssemblyNeurons
from analysis.kernels import assembly as kernels


class Reference:
    """Per-surrogate CPC and CSF of one neuron with numpy (the straightforward way)."""

    def __init__(self, x, sparse):
        self.n_units, self.n_bins = x.shape
        self.counts = np.asarray(x.sum(axis=1)).ravel().astype(np.float64)
        csr = sp.csr_matrix(x)
        self.rows = csr.indices, csr.indptr
        if sparse:
            self.xt = sp.csr_matrix(x.T)
        else:
            self.xt = np.ascontiguousarray(x.T.toarray().astype(np.uint8))
        self.sparse = sparse
        self.z = np.asarray(x.sum(axis=0)).ravel().astype(np.float64)

    def setup(self, i):
        """What does not change between neuron i's surrogates."""
        indices, indptr = self.rows
        own = np.zeros(self.n_bins)
        own[indices[indptr[i]:indptr[i + 1]]] = 1
        z_minus_pow = (self.z - own) ** 2
        expected = self.counts[i] * self.counts / self.n_bins
        return int(self.counts[i]), z_minus_pow, z_minus_pow.mean(), expected

    def statistics(self, i, state, bins):
        """CPC and CSF of neuron i placed at ``bins``."""
        _, z_minus_pow, all_mean, expected = state
        cpc = z_minus_pow[bins].mean() - all_mean
        if self.sparse:
            coinc = np.asarray(self.xt[bins].sum(axis=0)).ravel()
        else:
            coinc = self.xt[bins].sum(axis=0, dtype=np.int32)
        excess = np.maximum(coinc - expected, 0.0)
        excess[i] = 0.0
        return cpc, float(np.sum(excess ** 2))

    def original(self, i):
        indices, indptr = self.rows
        return self.statistics(i, self.setup(i), indices[indptr[i]:indptr[i + 1]])


def time_reference(ref, units, n_surrogates, seed=0):
    """Seconds per neuron set-up and per surrogate (uniform shuffling), and the CPU
    seconds of the whole measurement over its wall seconds."""
    rng = np.random.default_rng(seed)
    t_setup = t_surr = 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    for i in units:
        t0 = time.perf_counter()
        state = ref.setup(i)
        t1 = time.perf_counter()
        for _ in range(n_surrogates):
            bins = rng.choice(ref.n_bins, state[0], replace=False)
            ref.statistics(i, state, bins)
        t_setup += t1 - t0
        t_surr += time.perf_counter() - t1
    cpu_share = (time.process_time() - cpu) / (time.perf_counter() - wall)
    return t_setup / len(units), t_surr / (len(units) * n_surrogates), cpu_share


def cache_sizes():
    """The CPU caches of cpu0 as the kernel sees them (Linux sysfs), e.g. 'L1d 32K, L2 1024K,
    L3 8192K'; 'unknown' elsewhere."""
    root = pathlib.Path("/sys/devices/system/cpu/cpu0/cache")
    out = []
    try:
        for entry in sorted(root.glob("index*")):
            kind, level, size = ((entry / name).read_text().strip()
                                 for name in ("type", "level", "size"))
            if kind != "Instruction":
                out.append(f"L{level}{'d' if kind == 'Data' else ''} {size}")
    except OSError:
        return "unknown"
    return ", ".join(out) or "unknown"


def time_spikelens(data, n_surrogates, bin_size, surrogate="uniform", baseline=1.0):
    det = AssemblyNeurons(data=data, n_surrogates=n_surrogates, bin_size=bin_size,
                          surrogate=surrogate, baseline=baseline)
    start, cpu = time.perf_counter(), time.process_time()
    stats = det.statistics()
    return time.perf_counter() - start, stats, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-units", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=100.0, help="seconds")
    parser.add_argument("--surrogates", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="Hz")
    parser.add_argument("--reference-units", type=int, default=50)
    parser.add_argument("--reference-surrogates", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per scaling point (the fastest is shown)")
    parser.add_argument("--baseline", type=float, default=1.0,
                        help="weighted shuffling's baseline b in the weighted timing")
    args = parser.parse_args()
    if args.quick:
        args.n_units, args.duration, args.surrogates = 100, 10.0, 100
        args.reference_units, args.reference_surrogates = 10, 10
    bin_size = 0.001
    now = datetime.datetime.now(datetime.UTC)
    print(f"# benchmarks/assembly.py, {now:%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"caches (cpu0): {cache_sizes()}; the kernel blocks its work to "
          f"{kernels.CHUNK_BYTES // 1024} KiB per chunk of surrogates + "
          f"{kernels.TILE_BYTES // 1024} KiB per tile of bins (fits a 1 MiB L2)")
    print("load average at start (1/5/15 min): "
          + " ".join(f"{v:.2f}" for v in os.getloadavg()))

    warm = simulate.poisson(n_units=10, t_stop=2.0, seed=0)
    t0 = time.perf_counter()
    AssemblyNeurons(data=warm, n_surrogates=5).statistics()
    AssemblyNeurons(data=warm, n_surrogates=5, surrogate="weighted").statistics()
    print(f"first calls (numba compile or cache load): {time.perf_counter() - t0:.2f} s")

    data = simulate.poisson(n_units=args.n_units, rate=args.rate, t_stop=args.duration,
                            seed=1)
    n_bins = data.n_bins(bin_size)
    n, s = args.n_units, args.surrogates
    print(f"\ngoal problem: N={n} units, T={n_bins} bins of 1 ms, {args.rate:g} Hz "
          f"({data.n_spikes} spikes), S={s} surrogates, CPC and CSF of every unit")
    t_uniform, stats, cpu_uniform = time_spikelens(data, s, bin_size)
    t_weighted, _, cpu_weighted = time_spikelens(data, s, bin_size, "weighted",
                                                  args.baseline)

    x = data.bin(bin_size, binary=True).tocsr()
    units = np.arange(min(args.reference_units, n))
    rows = []
    for name, sparse in (("numpy dense", False), ("scipy sparse", True)):
        ref = Reference(x, sparse)
        # the reference computes the same statistics: check it on the original data
        for i in units[:5]:
            cpc, csf = ref.original(i)
            csf /= n - 1  # the paper's CSF: the average over the other N - 1 neurons
            assert np.isclose(cpc, stats["cpc"][0][i], rtol=1e-9, atol=1e-9), (name, i)
            assert np.isclose(csf, stats["csf"][0][i], rtol=1e-9, atol=1e-9), (name, i)
        per_unit, per_surr, share = time_reference(ref, units, args.reference_surrogates)
        total = n * per_unit + n * s * per_surr
        rows.append((name, per_unit, per_surr, total, total * share))
        del ref

    print(f"{'':42s}{'seconds':>10s}")
    # CPU seconds too: with other work on the machine a 2-thread run loses more wall time
    # than a 1-thread reference, so the wall-time ratio understates the kernel's gain
    print(f"{'spikelens, uniform shuffling':42s}{t_uniform:10.2f}   "
          f"CPU {cpu_uniform:.1f} s")
    print(f"{f'spikelens, weighted (b = {args.baseline:g})':42s}{t_weighted:10.2f}   "
          f"CPU {cpu_weighted:.1f} s")
    for name, per_unit, per_surr, total, total_cpu in rows:
        print(f"{name + ' reference, uniform (extrapolated)':42s}{total:10.1f}   "
              f"CPU {total_cpu:.1f} s; ratio to spikelens uniform: "
              f"{total / t_uniform:.1f}x (wall), {total_cpu / cpu_uniform:.1f}x (CPU)")
    print(f"\nreferences measured on {len(units)} units x {args.reference_surrogates} "
          f"surrogates and extrapolated linearly to N={n}, S={s}:")
    for name, per_unit, per_surr, total, _ in rows:
        print(f"  {name}: {per_unit * 1e3:.2f} ms set-up per unit, {per_surr * 1e3:.3f} ms "
              f"per surrogate -> {n} x {per_unit * 1e3:.2f} ms + {n} x {s} x "
              f"{per_surr * 1e3:.3f} ms "
              f"= {total:.1f} s")

    print("\nscaling of spikelens, uniform shuffling (one factor changed at a time, from "
          f"the goal problem / 4; fastest of {args.repeat} runs):")
    base = {"n_units": max(n // 4, 10), "duration": args.duration / 4,
                "surrogates": max(s // 4, 10)}
    print(f"{'N':>6s} {'T (bins)':>9s} {'S':>6s} {'seconds':>9s}")
    runs = [("base", 1)] + [(f, m) for f in ("n_units", "duration", "surrogates")
                            for m in (2, 4)]
    for factor, mult in runs:
        p = dict(base)
        if factor != "base":
            p[factor] = p[factor] * mult
        d = simulate.poisson(n_units=p["n_units"], rate=args.rate, t_stop=p["duration"],
                             seed=2)
        t = min(time_spikelens(d, p["surrogates"], bin_size)[0]
                for _ in range(args.repeat))
        print(f"{p['n_units']:6d} {d.n_bins(bin_size):9d} {p['surrogates']:6d} {t:9.2f}")
    print("load average at end (1/5/15 min): "
          + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
