"""ASSET on a long recording: 1000 neurons x 60 s at 3 ms (20,000 bins), tiled.

Full 20,000 x 20,000 float64 matrices take 3.2 GB each; spikelens' tiled run keeps only
the significant entries and reports its peak memory. Elephant is not run: it needs the
full matrices and an all-pairs distance matrix for clustering. Its joint-probability time
is extrapolated from the tutorial-size measurement (entries scale with bins squared), and
the printout says so.

    python benchmarks/asset_large.py [--n-units 1000] [--duration 60] [--seed 7]
"""

from __future__ import annotations

import argparse
import resource
import time

from analysis import simulate
from analysis.asset import Asset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-units", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--activations", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--elephant-jmat-s", type=float, default=632.6, help="""
        Elephant's measured joint-probability time at 1666 bins (benchmarks/results)""")
    args = parser.parse_args()

    data = simulate.synfire_chain(n_units=args.n_units, n_groups=10, group_size=50,
                                  t_stop=args.duration, n_activations=args.activations,
                                  seed=args.seed)
    asset = Asset(data=data)
    n_bins = asset.n_bins[0]
    print(f"data: {data}; {n_bins} bins of 3 ms")
    print(f"a full run would need {asset.memory_needed() / 1e9:.1f} GB "
          f"(one float64 matrix: {n_bins ** 2 * 8 / 1e9:.1f} GB)")
    start = time.perf_counter()
    # tiles, as the full run needs far more than this machine has (forced, so a larger
    # machine measures the same thing)
    result = asset.run(tiled=True)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"spikelens tiled run: {elapsed:.1f} s, peak RSS {peak:.2f} GiB")
    print(f"significant entries {len(result.significant['rows'])}, SSEs {len(result.sses)}, "
          f"ordering score against ground truth {result.score:.3f}")
    scale = (n_bins / 1666) ** 2  # the measured time already covers the lower triangle
    print(f"Elephant: not run. Its jmat alone, extrapolated from {args.elephant_jmat_s:.0f} s "
          f"at 1666 bins by the number of entries: about {args.elephant_jmat_s * scale / 3600:.0f} "
          f"h; its clustering's dense distance matrix over the significant entries would need "
          f"{len(result.significant['rows']) ** 2 * 8 / 1e9:.0f} GB")


if __name__ == "__main__":
    main()
