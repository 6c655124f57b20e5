"""Memory budgets: a step too large for its budget is refused before it starts (with what it
needs and the parameter to change) or, for ASSET, runs in tiles; never killed half-way."""

import pytest

from analysis import simulate
from analysis.assembly import AssemblyNeurons
from analysis.errors import MemoryBudgetError, available_memory, check_memory
from analysis.spotdis import SpotDisClust, spotdis
from analysis.spotdis.epochs import _Epochs
from analysis.spotdis.matrix import _matrix_bytes
from analysis.spotdis.graph import graph_bytes


@pytest.fixture(scope="module")
def patterns():
    return simulate.spot_patterns(n_patterns=2, epochs_per_pattern=10, n_noise_epochs=10,
                                  epoch_samples=100, pulse_samples=10, seed=1)


def test_budget_error_is_one_line_with_the_parameter_to_change():
    with pytest.raises(MemoryBudgetError) as info:
        check_memory("a step", 3e9, 1e9, "raise memory_budget")
    text = str(info.value)
    assert text.startswith("memory_budget: a step needs about 3.00 GB, more than the "
                           "budget of 1.00 GB") and "\n" not in text
    assert isinstance(info.value, ValueError) and isinstance(info.value, MemoryError)
    assert available_memory() > 0


@pytest.mark.parametrize("method", ["grid", "continuous"])
def test_spotdis_matrix_refused_over_budget_and_estimate_is_an_upper_bound(patterns, method):
    ep = _Epochs(patterns)
    need = _matrix_bytes(ep, method == "grid")
    M = len(patterns.epochs)
    assert need >= 3 * 8 * M * M                       # at least the result matrices
    with pytest.raises(MemoryBudgetError, match=r"^memory_budget: the SPOTDis matrix of 30 "
                                                r"epochs .* max_full_epochs"):
        spotdis(patterns, method=method, memory_budget=need / 2)
    d = spotdis(patterns, method=method, memory_budget=need)   # exactly enough: runs
    assert d.matrix.shape == (M, M)


def test_spotdisclust_passes_its_budget(patterns):
    clust = SpotDisClust(data=patterns, memory_budget=1000.0)
    with pytest.raises(MemoryBudgetError, match="SPOTDis matrix"):
        clust.run()
    assert "spotdis" not in clust.computations       # nothing was computed
    graph = SpotDisClust(data=patterns, max_full_epochs=10, perplexity=3, memory_budget=1e3)
    with pytest.raises(MemoryBudgetError, match="neighbour graph of 30 epochs.*n_candidates"):
        graph.run()
    graph.memory_budget = graph_bytes(_Epochs(patterns), 9, 0.001) * 1.01
    assert graph.run().graph.neighbors.shape == (30, 9)


def test_assembly_refuses_too_many_surrogates():
    data = simulate.sip(n_units=20, assembly_size=5, t_stop=5.0, seed=1)
    det = AssemblyNeurons(data=data, n_surrogates=10 ** 6, memory_budget=1e8)
    need = det.statistics_bytes()
    assert need > 32 * 20 * 10 ** 6 * 0.99
    with pytest.raises(MemoryBudgetError, match=r"^memory_budget: 1000000 surrogates of "
                                                r"20 units needs about .* n_surrogates"):
        det.run()
    det.n_surrogates = 99  # the fewest that can reach alpha = 0.01
    assert det.run().table.shape[0] == 20


# ASSET over its budget runs in row tiles with the same SSEs:
# tests/analysis/test_asset_tiled.py::test_run_switches_to_tiles_over_budget
