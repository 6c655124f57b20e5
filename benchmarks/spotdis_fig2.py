"""SPOTDisClust at the scale of Fig 2 of Grossberger et al. (2018): graph mode vs full matrix.

Data: ``simulate.spot_patterns`` with 500 patterns x 30 epochs + 15,000 homogeneous noise
epochs (30,000 epochs), 50 neurons, 300 samples of 1 ms, rate_in 0.2, rate_out 0.02,
pulses of 30 samples (the Fig 1 settings at Fig 2's size), seed 0.

spikelens runs ``SpotDisClust`` in graph mode (candidates from quartile vectors, exact
SPOTDis on candidates, HDBSCAN and openTSNE on the 90-nearest-neighbour graph) and prints
the time of each stage, the ARI (noise as a cluster of its own), the sampled silhouette and
the peak memory.

The reference is the full-matrix path at the same size: SPOTDis on all M (M - 1) / 2 epoch
pairs with the full grid kernel, then HDBSCAN and t-SNE on the M x M matrix. At 30,000
epochs its matrices alone need about 20 GB, so it is *measured* on a random subset of
``--ref-epochs`` epochs and its SPOTDis time scaled by the ratio of epoch pairs; the
printout marks the scaled figure. (HDBSCAN and t-SNE on a dense 30,000^2 matrix are not
included in the reference, which flatters it.)

    python benchmarks/spotdis_fig2.py                 # the full size (about 10-20 min)
    python benchmarks/spotdis_fig2.py --scale 0.1     # 3,000 epochs, a quick look
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import simulate  # noqa: E402
from analysis.spiketrains import Epochs  # noqa: E402
from analysis.spotdis import SpotDisClust, spotdis  # noqa: E402
from machine import machine  # noqa: E402


def peak_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0,
                    help="fraction of Fig 2's 500 patterns and 15,000 noise epochs")
    ap.add_argument("--ref-epochs", type=int, default=2000,
                    help="epochs on which the full-matrix reference is measured")
    args = ap.parse_args()
    n_pat = max(2, int(round(500 * args.scale)))
    n_noise = int(round(15000 * args.scale))
    print(f"machine: {machine()}")
    t = time.perf_counter()
    data = simulate.spot_patterns(n_patterns=n_pat, epochs_per_pattern=30,
                                  n_noise_epochs=n_noise, seed=0)
    M = len(data.epochs)
    print(f"data: {M} epochs ({n_pat} patterns x 30 + {n_noise} noise), {data.n_units} "
          f"neurons, {data.n_spikes:,} spikes; simulated in {time.perf_counter() - t:.1f} s")

    # warm the numba kernels on a small problem so compile time is not counted
    small = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=10, n_noise_epochs=10,
                                   seed=1)
    SpotDisClust(data=small, max_full_epochs=10, perplexity=3).run()
    spotdis(small)

    clust = SpotDisClust(data=data, max_full_epochs=min(5000, M - 1))
    times = {}
    t = time.perf_counter()
    graph = clust.graph()
    times["neighbour graph"] = time.perf_counter() - t
    t = time.perf_counter()
    labels = clust.cluster()
    times["HDBSCAN (sparse)"] = time.perf_counter() - t
    t = time.perf_counter()
    clust.embed()
    times["t-SNE (openTSNE, kNN)"] = time.perf_counter() - t
    t = time.perf_counter()
    scores = clust.scores(labels)
    times["scores (sampled silhouette)"] = time.perf_counter() - t
    total = sum(times.values())
    print(f"\nspikelens graph mode: {graph.n_pairs:,} exact epoch pairs "
          f"({graph.n_pairs / (M * (M - 1) / 2):.3%} of all), k = "
          f"{graph.neighbors.shape[1]}, kernel {graph.method}")
    for name, sec in graph.seconds.items():
        print(f"  {'  ' + name:<30} {sec:9.1f} s")
    for name, sec in times.items():
        print(f"  {name:<30} {sec:9.1f} s")
    print(f"  {'total':<30} {total:9.1f} s   peak memory {peak_gb():.1f} GB")
    print(f"  ARI {scores['ari']:.4f}  silhouette {scores['silhouette']:.3f}  "
          f"clusters {scores['n_clusters']}  noise epochs {scores['n_noise']}")

    # reference: the full grid kernel on a subset, scaled by epoch pairs
    rng = np.random.default_rng(0)
    R = min(args.ref_epochs, M)
    pick = np.sort(rng.choice(M, R, replace=False))
    ep = data.epochs
    sub = data.replace(epochs=Epochs(ep.start[pick], ep.stop[pick], ep.label[pick]),
                       truth={})
    t = time.perf_counter()
    spotdis(sub)
    ref = time.perf_counter() - t
    scaled = ref * (M * (M - 1)) / (R * (R - 1))
    print(f"\nreference: full SPOTDis matrix (grid kernel), measured on {R} epochs: "
          f"{ref:.1f} s; scaled to {M} epochs: {scaled:.0f} s (scaled), "
          f"{8 * 2.5 * M * M / 1e9:.0f} GB of matrices")
    print(f"ratio (full SPOTDis alone, scaled / spikelens graph mode total): "
          f"{scaled / total:.1f}x")


if __name__ == "__main__":
    main()
