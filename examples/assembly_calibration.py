"""Calibration of the assembly-neuron test on the project's simulators (Berger et al. 2010).

Prints false-positive and false-negative rates for: independent Poisson data with uniform,
weighted (baseline 0, 0.1, 1) and trial shuffling (5 trials: exact test over all 119 other
orders; 8 trials: random distinct orders), SIP, MIP and mSIP assemblies, and rate-modulated
data where every neuron follows a common rate profile (uniform against weighted spike
shuffling). The settings are those of tests/analysis/test_assembly.py, with more seeds.

    python examples/assembly_calibration.py [--seeds 5] [--surrogates 999]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from analysis import simulate
from analysis.assembly import AssemblyNeurons, evaluate


def modulated(seed):
    times = np.arange(0.0, 20.0, 0.05)
    factors = np.where(np.arange(times.size) % 2 == 0, 0.2, 1.8)
    return simulate.sip(n_units=100, assembly_size=10, coincidence_rate=2.0, rate=15.0,
                        t_stop=20.0, rate_profile=(times, factors), seed=seed)


def poisson(seed):
    return simulate.poisson(n_units=300, rate=10.0, t_stop=20.0, seed=100 + seed)


def poisson_trials(seed):
    return simulate.poisson(n_units=300, rate=10.0, t_stop=12.0, seed=200 + seed)


CASES = {
    "Poisson, 300 units, 20 s": (poisson, {}),
    "same, weighted b=0": (poisson, {"surrogate": "weighted", "baseline": 0.0}),
    "same, weighted b=0.1": (poisson, {"surrogate": "weighted", "baseline": 0.1}),
    "same, weighted b=1": (poisson, {"surrogate": "weighted", "baseline": 1.0}),
    "Poisson 300 units, 12 s, 5 trials": (poisson_trials, {"surrogate": "trial",
                                                           "trial_length": 12.0 / 5}),
    "same, 8 trials": (poisson_trials, {"surrogate": "trial", "trial_length": 12.0 / 8}),
    "SIP 10/100, 2 Hz": (lambda s: simulate.sip(n_units=100, assembly_size=10,
                                                coincidence_rate=2.0, rate=15.0,
                                                t_stop=30.0, seed=s), {}),
    "MIP 10/100, 4 Hz x 0.5": (lambda s: simulate.mip(n_units=100, assembly_size=10,
                                                      coincidence_rate=4.0, copy_prob=0.5,
                                                      rate=15.0, t_stop=30.0, seed=s), {}),
    "mSIP 3 x 10/100, 2 Hz": (lambda s: simulate.msip(n_units=100, n_assemblies=3,
                                                      assembly_size=10, coincidence_rate=2.0,
                                                      rate=15.0, t_stop=30.0, seed=s), {}),
    "modulated rates, uniform": (modulated, {}),
    "modulated rates, weighted b=0.1": (modulated, {"surrogate": "weighted",
                                                   "baseline": 0.1}),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--surrogates", type=int, default=999)
    args = parser.parse_args()
    rows = []
    for name, (make, settings) in CASES.items():
        counts = {st: {"fp": 0, "fn": 0, "nonmembers": 0, "members": 0} for st in ("cpc", "csf")}
        for seed in range(args.seeds):
            data = make(seed)
            truth = data.truth.get("assembly_membership", np.zeros((1, data.n_units), bool))
            member = truth.any(axis=0)
            det = AssemblyNeurons(data=data, seed=seed, n_surrogates=args.surrogates,
                                  **settings)
            for statistic, c in counts.items():
                det.statistic = statistic  # the same surrogates serve both statistics
                res = det.run()
                ev = evaluate(res, truth)
                c["fp"] += ev["false_positives"]
                c["fn"] += ev["false_negatives"]
                c["nonmembers"] += int((~member).sum())
                c["members"] += int(member.sum())
        for statistic, c in counts.items():
            rows.append({"case": name, "statistic": statistic,
                         "FP": f"{c['fp']}/{c['nonmembers']}",
                         "FP rate": c["fp"] / max(c["nonmembers"], 1),
                         "FN": f"{c['fn']}/{c['members']}" if c["members"] else "-",
                         "S used": res.n_surrogates})  # trial shuffling: at most k! - 1
    table = pd.DataFrame(rows)
    print(f"alpha = 0.01, {args.surrogates} surrogates asked, {args.seeds} seeds per case")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
