"""SPOTDisClust at the scale of Fig 2 of Grossberger et al. (2018): graph mode, stage by stage.

Data: ``simulate.spot_patterns`` with 500 patterns x 30 epochs + 15,000 homogeneous noise
epochs (30,000 epochs), 50 neurons, 300 samples of 1 ms, rate_in 0.2, rate_out 0.02,
pulses of 30 samples (the Fig 1 settings at Fig 2's size), seed 0.

spikelens runs ``SpotDisClust`` in graph mode with the chosen dissimilarity (``--dissimilarity
spikeship``, the default, or ``spotdis``): candidates from quartile vectors, the exact
dissimilarity on the candidate pairs, each epoch's 90 nearest neighbours, HDBSCAN on that
graph, openTSNE on it, and the scores (ARI with noise as a cluster of its own; the
silhouette on the exact dissimilarity of a seeded sample of ``silhouette_sample`` epochs).
Each stage is printed with its wall time, the CPU time of the process (all threads) in it,
the load average after it and the peak resident memory so far; then the cached steps'
sizes. On a machine shared with other jobs the CPU time is the steadier figure: on an idle
2-core machine a stage takes about max(CPU time / 2, its serial part).

The reference (``--ref-epochs R``, 0 to skip) is the full-matrix path: the full matrix of
the same dissimilarity on a random subset of R epochs, its time scaled by the ratio of
epoch pairs (marked "scaled"); at 30,000 epochs its matrices alone would need about 20 GB.

    python benchmarks/spotdis_fig2.py                              # 30,000 epochs, SpikeShip
    python benchmarks/spotdis_fig2.py --scale 0.1                  # 3,000 epochs
    python benchmarks/spotdis_fig2.py --dissimilarity spotdis      # SPOTDis (about 40 min)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from analysis import simulate  # noqa: E402
from analysis.spiketrains import Epochs  # noqa: E402
from analysis.spotdis import SpotDisClust, spikeship, spotdis  # noqa: E402
from machine import cpu_s, load, machine, peak_gb  # noqa: E402


def nbytes(value):
    """Bytes of the arrays in a cached value (dataclass, tuple or array)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return sum(nbytes(getattr(value, f)) for f in value.__dataclass_fields__)
    return 0


class Stages:
    def __init__(self):
        self.rows = []

    def run(self, name, call):
        w, c = time.perf_counter(), cpu_s()
        out = call()
        wall, cpu = time.perf_counter() - w, cpu_s() - c
        self.rows.append((name, wall, cpu))
        print(f"  {name:<34} {wall:8.1f} s wall {cpu:8.1f} s CPU   load {load()}   "
              f"peak {peak_gb():.2f} GB", flush=True)
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0,
                    help="fraction of Fig 2's 500 patterns and 15,000 noise epochs")
    ap.add_argument("--dissimilarity", choices=["spikeship", "spotdis"], default="spikeship")
    ap.add_argument("--ref-epochs", type=int, default=2000,
                    help="epochs on which the full-matrix reference is measured (0: skip)")
    args = ap.parse_args()
    n_pat = max(2, int(round(500 * args.scale)))
    n_noise = int(round(15000 * args.scale))
    import numba
    print(f"machine: {machine()}, numba {numba.get_num_threads()} threads")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}   load average {load()} (start)")
    t = time.perf_counter()
    data = simulate.spot_patterns(n_patterns=n_pat, epochs_per_pattern=30,
                                  n_noise_epochs=n_noise, seed=0)
    M = len(data.epochs)
    print(f"data: {M} epochs ({n_pat} patterns x 30 + {n_noise} noise), {data.n_units} "
          f"neurons, {data.n_spikes:,} spikes; simulated in {time.perf_counter() - t:.1f} s; "
          f"peak {peak_gb():.2f} GB")

    # warm the numba kernels on a small problem so compile time is not counted
    small = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=10, n_noise_epochs=10,
                                   seed=1)
    SpotDisClust(data=small, max_full_epochs=10, perplexity=3,
                 dissimilarity=args.dissimilarity).run()

    clust = SpotDisClust(data=data, max_full_epochs=min(5000, M - 1),
                         dissimilarity=args.dissimilarity)
    print(f"\nspikelens graph mode, {args.dissimilarity}:")
    wall0, cpu0 = time.perf_counter(), cpu_s()
    st = Stages()
    graph = st.run("neighbour graph (3 stages below)", clust.graph)
    for name, sec in graph.seconds.items():
        print(f"    {name:<32} {sec:8.1f} s wall")
    labels = st.run("HDBSCAN (sparse graph)", clust.cluster)
    st.run("t-SNE (openTSNE, kNN graph)", clust.embed)
    scores = st.run("scores (ARI, sampled silhouette)", lambda: clust.scores(labels))
    wall, cpu = time.perf_counter() - wall0, cpu_s() - cpu0
    print(f"  {'total':<34} {wall:8.1f} s wall {cpu:8.1f} s CPU   peak {peak_gb():.2f} GB")
    print(f"  {graph.n_pairs:,} exact epoch pairs ({graph.n_pairs / (M * (M - 1) / 2):.3%} "
          f"of all), {graph.n_undefined} undefined, k = {graph.neighbors.shape[1]}, "
          f"kernel {graph.method}; silhouette sample {clust.silhouette_sample} epochs")
    print(f"  ARI {scores['ari']:.4f}  silhouette {scores['silhouette']:.3f}  "
          f"clusters {scores['n_clusters']}  noise epochs {scores['n_noise']}")
    print("  cached steps: " + ", ".join(
        f"{name} {nbytes(value) / 1e6:.1f} MB" for name, (_, value) in clust._cache.items()))
    print(f"  spike data: {data.times.nbytes / 1e6:.0f} MB of spike times")

    if args.ref_epochs > 0:
        rng = np.random.default_rng(0)
        R = min(args.ref_epochs, M)
        pick = np.sort(rng.choice(M, R, replace=False))
        ep = data.epochs
        sub = data.replace(epochs=Epochs(ep.start[pick], ep.stop[pick], ep.label[pick]),
                           truth={})
        full = spikeship if args.dissimilarity == "spikeship" else spotdis
        t = time.perf_counter()
        full(sub)
        ref = time.perf_counter() - t
        scaled = ref * (M * (M - 1)) / (R * (R - 1))
        print(f"\nreference: full {args.dissimilarity} matrix, measured on {R} epochs: "
              f"{ref:.1f} s; scaled to {M} epochs: {scaled:.0f} s (scaled), "
              f"{8 * 2.5 * M * M / 1e9:.0f} GB of matrices")
        print(f"ratio (full matrix alone, scaled / spikelens graph mode total): "
              f"{scaled / wall:.1f}x")
    print(f"load average {load()} (end)")


if __name__ == "__main__":
    main()
