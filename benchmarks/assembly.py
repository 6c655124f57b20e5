"""Assembly-neuron statistics: spikelens' numba kernel against a plain numpy implementation.

Both compute CPC and CSF (power 2) for every neuron against uniform spike-shuffling
surrogates. The numpy reference does what a straightforward implementation does: for each
surrogate it draws the neuron's bins and recomputes the statistics from the dense binary
matrix (O(N x n_i) per surrogate). At the goal size it would take hours, so it runs on a
subset of neurons and surrogates in the same process and its time is scaled per
neuron-surrogate; the printout says which figures are scaled.

    python benchmarks/assembly.py            # goal size: N=1000, 100 s at 1 ms, S=1000
    python benchmarks/assembly.py --quick    # a small problem, for a smoke test
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from analysis import simulate
from machine import machine
from analysis.assembly import AssemblyNeurons


def numpy_reference(x, units, n_surrogates, seed=0):
    """Per-surrogate CPC and CSF with dense numpy arrays (the straightforward way)."""
    rng = np.random.default_rng(seed)
    n_units, n_bins = x.shape
    z = x.sum(axis=0)
    counts = x.sum(axis=1).astype(np.float64)
    out = np.empty((len(units), n_surrogates, 2))
    for q, i in enumerate(units):
        z_minus = (z - x[i]).astype(np.float64) ** 2
        others = np.delete(np.arange(n_units), i)
        expected = counts[i] * counts[others] / n_bins
        n_i = int(counts[i])
        for s in range(n_surrogates):
            bins = rng.choice(n_bins, n_i, replace=False)
            out[q, s, 0] = z_minus[bins].mean() - z_minus.mean()
            coinc = x[others][:, bins].sum(axis=1)
            out[q, s, 1] = np.sum(np.maximum(coinc - expected, 0.0) ** 2)
    return out


def time_spikelens(data, n_surrogates, bin_size):
    det = AssemblyNeurons(data=data, n_surrogates=n_surrogates, bin_size=bin_size)
    start = time.perf_counter()
    det.statistics()
    return time.perf_counter() - start




def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-units", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=100.0, help="seconds")
    parser.add_argument("--surrogates", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="Hz")
    parser.add_argument("--reference-units", type=int, default=5)
    parser.add_argument("--reference-surrogates", type=int, default=20)
    args = parser.parse_args()
    if args.quick:
        args.n_units, args.duration, args.surrogates = 100, 10.0, 100
    bin_size = 0.001
    print(f"machine: {machine()}")

    warm = simulate.poisson(n_units=10, t_stop=2.0, seed=0)
    t0 = time.perf_counter()
    AssemblyNeurons(data=warm, n_surrogates=5).statistics()
    print(f"first call (numba compile or cache load): {time.perf_counter() - t0:.2f} s")

    data = simulate.poisson(n_units=args.n_units, rate=args.rate, t_stop=args.duration,
                            seed=1)
    n_bins = data.n_bins(bin_size)
    print(f"\ngoal problem: N={args.n_units} units, T={n_bins} bins of 1 ms, "
          f"{args.rate:g} Hz, S={args.surrogates} surrogates, CPC and CSF")
    t_ours = time_spikelens(data, args.surrogates, bin_size)

    x = data.bin(bin_size, binary=True).toarray().astype(np.int8)
    units = np.arange(min(args.reference_units, args.n_units))
    t0 = time.perf_counter()
    numpy_reference(x, units, args.reference_surrogates)
    t_ref_part = time.perf_counter() - t0
    scale = (args.n_units * args.surrogates) / (len(units) * args.reference_surrogates)
    t_ref = t_ref_part * scale
    print(f"{'':28s}{'seconds':>12s}")
    print(f"{'spikelens (numba)':28s}{t_ours:12.2f}")
    print(f"{'numpy reference (scaled)':28s}{t_ref:12.1f}   "
          f"(measured {t_ref_part:.2f} s on {len(units)} units x "
          f"{args.reference_surrogates} surrogates, x{scale:,.0f})")
    print(f"{'ratio reference/spikelens':28s}{t_ref / t_ours:12.0f}x")

    print("\nscaling of spikelens (one factor changed at a time, from the goal problem / 4):")
    base = dict(n_units=max(args.n_units // 4, 10), duration=args.duration / 4,
                surrogates=max(args.surrogates // 4, 10))
    print(f"{'N':>6s} {'T (bins)':>9s} {'S':>6s} {'seconds':>9s}")
    for factor in ("base", "n_units", "duration", "surrogates"):
        p = dict(base)
        if factor != "base":
            p[factor] = p[factor] * 2
        d = simulate.poisson(n_units=p["n_units"], rate=args.rate, t_stop=p["duration"],
                             seed=2)
        t = time_spikelens(d, p["surrogates"], bin_size)
        print(f"{p['n_units']:6d} {d.n_bins(bin_size):9d} {p['surrogates']:6d} {t:9.2f}")


if __name__ == "__main__":
    main()
