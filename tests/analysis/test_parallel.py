"""Distributed execution: the same results on a dask cluster as locally, bit for bit.

One ``LocalCluster`` (2 worker processes, 1 thread each) serves the whole module; the
analysis objects reach it by address, through their ``scheduler`` parameter or the
``SPIKELENS_SCHEDULER`` environment variable, as a lab's cluster would be reached.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest

from analysis import parallel, simulate
from analysis.assembly import AssemblyNeurons
from analysis.asset import Asset
from analysis.spotdis import SpotDisClust, spotdis
from analysis.spotdis.graph import spotdis_pairs

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def address():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, worker_dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        parallel.close_clients()
        cluster.close()


def _square(x, offset=0):
    return x * x + offset


# ------------------------------------------------------------------- map_blocks itself
def test_map_blocks_local_orders_and_reduces():
    seen = []
    out = parallel.map_blocks(functools.partial(_square, offset=1), range(5),
                              backend="threads", n_workers=3,
                              progress=lambda f, m: seen.append(f))
    assert out == [1, 2, 5, 10, 17]
    assert sorted(seen) == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert parallel.map_blocks(_square, range(4), backend="serial",
                               reduce=lambda a, b: a * 10 + b) == 149
    assert parallel.map_blocks(_square, [], reduce=lambda a, b: a + b, initial=7) == 7


def test_large_shared_inputs_are_scattered(address, monkeypatch):
    """Shared inputs over parallel.SCATTER_BYTES go to the cluster once (scatter)."""
    client = parallel.get_client(address)
    calls = []
    scatter = client.scatter
    monkeypatch.setattr(client, "scatter", lambda *a, **k: calls.append(1) or scatter(*a, **k))
    offset = np.full(4, 3)
    assert parallel.map_blocks(_add_first, range(3), scheduler=address,
                               shared={"offset": offset}) == [3, 4, 5]
    assert calls == []                                   # small: inside each task
    monkeypatch.setattr(parallel, "SCATTER_BYTES", 0)
    assert parallel.map_blocks(_add_first, range(3), scheduler=address,
                               shared={"offset": offset}) == [3, 4, 5]
    assert calls == [1]
    # small, but many tasks' copies together reach SCATTER_TOTAL_BYTES: scattered too
    monkeypatch.setattr(parallel, "SCATTER_BYTES", 10 ** 9)
    monkeypatch.setattr(parallel, "SCATTER_TOTAL_BYTES", 3 * offset.nbytes)
    assert parallel.map_blocks(_add_first, range(2), scheduler=address,
                               shared={"offset": offset}) == [3, 4]
    assert calls == [1]
    assert parallel.map_blocks(_add_first, range(3), scheduler=address,
                               shared={"offset": offset}) == [3, 4, 5]
    assert calls == [1, 1]


def _add_first(block, offset):
    return int(block + offset[0])


def test_map_blocks_dask_by_address(address):
    seen = []
    out = parallel.map_blocks(_square, range(6), scheduler=address, shared={"offset": 3},
                              progress=lambda f, m: seen.append((f, m)))
    assert out == [3, 4, 7, 12, 19, 28]
    assert [f for f, _ in seen] == pytest.approx([k / 6 for k in range(1, 7)])
    assert seen[-1][1] == "block 6/6"
    # one cached client per address
    assert parallel.get_client(address) is parallel.get_client(address)


def test_task_errors_come_back(address):
    with pytest.raises(ZeroDivisionError):
        parallel.map_blocks(_inverse, [1, 0, 2], scheduler=address)


def _inverse(x):
    return 1 / x


def test_bad_address_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT", 1.0)
    bad = "tcp://127.0.0.1:9"
    with pytest.raises(ConnectionError, match="tcp://127.0.0.1:9") as info:
        parallel.map_blocks(_square, range(3), scheduler=bad)
    assert "\n" not in str(info.value)
    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=4, n_noise_epochs=4,
                                  seed=1)
    with pytest.raises(ConnectionError, match="cannot connect"):
        SpotDisClust(data=data, scheduler=bad).spotdis()


def test_resolution_parameter_env_local(monkeypatch, address):
    monkeypatch.delenv(parallel.SCHEDULER_ENV, raising=False)
    assert parallel.resolve_scheduler(None) is None
    assert parallel.get_client(None) is None
    monkeypatch.setenv(parallel.SCHEDULER_ENV, address)
    assert parallel.resolve_scheduler(None) == address
    assert parallel.resolve_scheduler("tcp://elsewhere:1") == "tcp://elsewhere:1"
    assert parallel.resolve_scheduler("local") is None
    client = parallel.get_client()
    assert client is not None and client.scheduler.address == address
    with pytest.raises(ValueError, match="backend"):
        parallel.map_blocks(_square, [1], backend="dask", scheduler="local")


# ------------------------------------------------------------------- the methods
def _assert_same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


@pytest.fixture(scope="module")
def spot_data():
    return simulate.spot_patterns(n_patterns=3, epochs_per_pattern=15, n_noise_epochs=15,
                                  seed=3)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["grid", "continuous"])
def test_spotdis_same_on_cluster(spot_data, address, method):
    local = spotdis(spot_data, method=method)
    seen = []
    remote = spotdis(spot_data, method=method, scheduler=address,
                     progress=lambda f, m: seen.append(f))
    _assert_same(local.matrix, remote.matrix)
    _assert_same(local.counts, remote.counts)
    _assert_same(local.undefined, remote.undefined)
    # a report per block: the grid kernel's cache-sized tiles are few on this small problem
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > (10 if method ==
                                                                    "continuous" else 2)


@pytest.mark.slow
def test_spotdisclust_env_var_and_graph_mode(spot_data, address, monkeypatch):
    monkeypatch.delenv(parallel.SCHEDULER_ENV, raising=False)
    params = dict(min_cluster_size=5, perplexity=5.0)
    local = SpotDisClust(data=spot_data, **params).run()
    monkeypatch.setenv(parallel.SCHEDULER_ENV, address)
    remote = SpotDisClust(data=spot_data, **params).run()
    _assert_same(local.spotdis.matrix, remote.spotdis.matrix)
    _assert_same(local.labels, remote.labels)
    _assert_same(local.embedding, remote.embedding)
    # graph mode (exact SPOTDis on candidate pairs): env var set, and by parameter
    monkeypatch.delenv(parallel.SCHEDULER_ENV)
    graph = dict(params, max_full_epochs=20, n_neighbors=8, n_candidates=12)
    g_local = SpotDisClust(data=spot_data, **graph).graph()
    g_remote = SpotDisClust(data=spot_data, scheduler=address, **graph).graph()
    _assert_same(g_local.neighbors, g_remote.neighbors)
    _assert_same(g_local.distances, g_remote.distances)
    rows, cols = np.triu_indices(len(spot_data.epochs), 1)
    a = spotdis_pairs(spot_data, rows, cols, method="continuous")
    b = spotdis_pairs(spot_data, rows, cols, method="continuous", scheduler=address)
    for x, y in zip(a, b):
        _assert_same(x, y)


@pytest.mark.slow
def test_assembly_same_on_cluster(address):
    data = simulate.sip(n_units=80, assembly_size=10, t_stop=5.0, seed=2)
    params = dict(n_surrogates=200, seed=4)
    seen = []
    local = AssemblyNeurons(data=data, **params).run()
    remote = AssemblyNeurons(data=data, scheduler=address,
                             progress=lambda f, m: seen.append(m), **params).run()
    _assert_same(local.surrogates, remote.surrogates)
    assert local.table.equals(remote.table)
    # progress from each block of work, the last one saying all blocks are done
    # the surrogate blocks report k/n up to n/n (the table's own steps follow them)
    assert len(seen) > 1 and any(re.search(r"\b(\d+)/\1\b", m) for m in seen), seen[-3:]


@pytest.mark.slow
def test_asset_same_on_cluster(address):
    data = simulate.synfire_chain(n_units=60, n_groups=5, group_size=8, t_stop=1.5, seed=1)
    local = Asset(data=data, bin_size=0.005)
    remote = Asset(data=data, bin_size=0.005, scheduler=address)
    a, b = local.run(tiled=False), remote.run(tiled=False)
    for name in ("pmat", "jmat", "mask", "cmat"):
        _assert_same(getattr(a, name), getattr(b, name))
    _assert_same(local.probability_matrix_montecarlo(n_surrogates=20, seed=5),
                 remote.probability_matrix_montecarlo(n_surrogates=20, seed=5))
    ta, tb = local.significant_entries(tile_bytes=2e4), remote.significant_entries(
        tile_bytes=2e4)
    for name in ("rows", "cols", "pmat", "jmat"):
        _assert_same(ta[name], tb[name])
