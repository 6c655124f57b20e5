"""Power r and surrogate count S of the assembly-neuron test: detection on weak assemblies.

Berger et al. (2010) use r = 1 and S = 5,000; spikelens defaults to r = 2 and S = 1,000.
This prints false negatives (of 10 members) and false positives (of 90 non-members),
summed over seeds, on SIP recordings with weak coincidences, for r = 1 and r = 2, CPC and
CSF, uniform shuffling, alpha = 0.01 without correction, and the run time per S.

    python examples/assembly_defaults.py [--seeds 3] [--surrogates 999]
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd

from analysis import simulate
from analysis.assembly import AssemblyNeurons, evaluate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--surrogates", type=int, default=999)
    args = parser.parse_args()
    print("load average at start: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    rows = []
    for rate in (0.25, 0.5, 1.0):
        for seed in range(args.seeds):
            data = simulate.sip(n_units=100, assembly_size=10, coincidence_rate=rate,
                                rate=15.0, t_stop=10.0, seed=seed)
            for power in (1.0, 2.0):
                det = AssemblyNeurons(data=data, power=power, seed=seed,
                                      n_surrogates=args.surrogates)
                for statistic in ("cpc", "csf"):
                    det.statistic = statistic
                    ev = evaluate(det.run(), data.truth["assembly_membership"])
                    rows.append({"coincidence Hz": rate, "r": power, "statistic": statistic,
                                 "FN": ev["false_negatives"], "FP": ev["false_positives"]})
    table = pd.DataFrame(rows).groupby(["coincidence Hz", "statistic", "r"])[
        ["FN", "FP"]].sum()
    print(f"SIP 10 of 100 units, 15 Hz, 10 s; {args.seeds} seeds; S = {args.surrogates}; "
          f"FN of {10 * args.seeds} members, FP of {90 * args.seeds} non-members")
    print(table.to_string())
    data = simulate.sip(n_units=100, assembly_size=10, coincidence_rate=1.0, rate=15.0,
                        t_stop=10.0, seed=0)
    AssemblyNeurons(data=data, n_surrogates=10).statistics()  # compiled / loaded
    for s in (1000, 5000):
        start = time.perf_counter()
        AssemblyNeurons(data=data, n_surrogates=s).statistics()
        print(f"S = {s}: {time.perf_counter() - start:.2f} s (same recording)")
    print("load average at end: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
