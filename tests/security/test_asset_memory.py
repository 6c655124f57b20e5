"""ASSET keeps to its memory budget on shapes the dashboard accepts, or refuses up front.

The security review measured 8.4 GB of RSS for 40,000 units x 5,000 bins (a 1.7 MB CSV)
against an estimate of 1.12 GB: the units x bins arrays were not counted, and a tiled run
with ``memory_budget=1e9`` reached 5.5 GB. Here the same shape of problem, scaled down to
10,000 units x 2,000 bins with sparse spikes, runs in a fresh process whose peak RSS (above
what it held after imports and a warm-up run) must stay within the budget plus ``SLACK``.
"""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from analysis.asset import Asset
from analysis.errors import MemoryBudgetError
from analysis.spiketrains import SpikeTrains

ROOT = pathlib.Path(__file__).resolve().parents[2]
N_UNITS, N_BINS, BIN_SIZE = 10_000, 2_000, 0.003
#: allocator slack and thread stacks: what the child's RSS may exceed its budget by
SLACK = 150e6

CHILD = """
import json, resource, sys
import numpy as np
from analysis.asset import Asset
from analysis.errors import MemoryBudgetError
from analysis.spiketrains import SpikeTrains

n_units, n_bins, bin_size, budget, tiled = json.loads(sys.argv[1])

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

def sparse_trains(n_units, n_bins, per_unit, seed):
    rng = np.random.default_rng(seed)
    units = np.repeat(np.arange(n_units), per_unit)
    t_stop = n_bins * bin_size
    return SpikeTrains.from_spikes(rng.uniform(0, t_stop, units.size), units, 0.0, t_stop)

data = sparse_trains(n_units, n_bins, 5, seed=0)
warm = sparse_trains(50, 200, 20, seed=1)  # loads numba's caches, scikit-learn, BLAS
Asset(data=warm).run(tiled=False)
Asset(data=warm).run(tiled=True)
base = peak()
try:
    Asset(data=data, memory_budget=budget).run(tiled=tiled)
    refused = None
except MemoryBudgetError as err:
    refused = str(err)
print(json.dumps({"growth": peak() - base, "refused": refused}))
"""


def run_child(budget, tiled):
    args = json.dumps([N_UNITS, N_BINS, BIN_SIZE, budget, tiled])
    proc = subprocess.run([sys.executable, "-c", CHILD, args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "NUMBA_NUM_THREADS": "2",
                               "OMP_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.parametrize("budget, tiled", [(400e6, None), (250e6, True)])
def test_run_stays_within_its_budget(budget, tiled):
    out = run_child(budget, tiled)
    assert out["refused"] is None
    assert out["growth"] <= budget + SLACK, f"peak RSS grew by {out['growth'] / 1e6:.0f} MB"


def test_tiled_run_refused_when_units_x_bins_alone_exceed_the_budget():
    # the spike probabilities alone take 8 bytes x 10,000 units x 2,000 bins = 160 MB
    out = run_child(100e6, True)
    assert out["refused"] is not None, f"ran; peak RSS grew by {out['growth'] / 1e6:.0f} MB"
    assert out["refused"].startswith(f"memory_budget: ASSET on {N_UNITS} units x {N_BINS} "
                                     f"bins in row tiles needs about 0.18 GB")
    assert "bin_size" in out["refused"] and "\n" not in out["refused"]
    assert out["growth"] < SLACK


def sparse_trains(n_units, n_bins, per_unit=5, seed=0):
    rng = np.random.default_rng(seed)
    units = np.repeat(np.arange(n_units), per_unit)
    t_stop = n_bins * BIN_SIZE
    return SpikeTrains.from_spikes(rng.uniform(0, t_stop, units.size), units, 0.0, t_stop)


@pytest.mark.parametrize("tiled", [False, True])
def test_estimate_counts_the_units_x_bins_arrays(tiled):
    few, many = (Asset(data=sparse_trains(n, N_BINS)) for n in (1_000, 4_000))
    grown = many.memory_needed(tiled=tiled) - few.memory_needed(tiled=tiled)
    # at least the float64 spike probabilities of the 3,000 extra units
    assert grown >= 8 * 3_000 * N_BINS


def test_monte_carlo_refused_over_budget():
    asset = Asset(data=sparse_trains(100, N_BINS), memory_budget=50e6)
    with pytest.raises(MemoryBudgetError, match=r"^memory_budget: the Monte Carlo pmat of "
                                                r"100 units x 2000 bins .*bin_size"):
        asset.probability_matrix_montecarlo(n_surrogates=8)
    assert "counts" not in asset.computations  # refused before the observed counts
