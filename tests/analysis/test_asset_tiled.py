"""The tiled ASSET run finds exactly what the full-matrix run finds, in less memory."""

import numpy as np
import pytest

from analysis import simulate
from analysis.asset import Asset


@pytest.fixture(scope="module")
def chain():
    return simulate.synfire_chain(n_units=200, n_groups=6, group_size=25, t_stop=2.5,
                                  n_activations=3, seed=11)


@pytest.mark.parametrize("tile_bytes", [2e5, 3e6, 1e9])
def test_tiled_equals_full(chain, tile_bytes):
    full = Asset(data=chain, filter_shape=(7, 2), min_neighbors=5).run(tiled=False)
    asset = Asset(data=chain, filter_shape=(7, 2), min_neighbors=5)
    sig = asset.significant_entries(tile_bytes=tile_bytes)
    rows, cols = np.nonzero(np.tril(full.mask, -1))
    assert rows.size > 50  # the chain gives significant entries, so the check means something
    assert set(zip(rows.tolist(), cols.tolist())) == \
        set(zip(sig["rows"].tolist(), sig["cols"].tolist()))
    order = np.lexsort((sig["cols"], sig["rows"]))
    np.testing.assert_allclose(sig["pmat"][order], full.pmat[rows, cols], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sig["jmat"][order], full.jmat[rows, cols], rtol=0, atol=1e-12)


def test_run_switches_to_tiles_over_budget(chain):
    asset = Asset(data=chain, filter_shape=(7, 2), min_neighbors=5)
    full = Asset(data=chain, filter_shape=(7, 2), min_neighbors=5).run()
    asset.memory_budget = asset.memory_needed() / 2
    tiled = asset.run()
    assert full.imat is not None and tiled.imat is None
    as_sets = lambda sses: {frozenset(v.items()) for v in sses.values()}  # noqa: E731
    assert len(full.sses) >= 1 and as_sets(tiled.sses) == as_sets(full.sses)
    assert tiled.score == pytest.approx(full.score)
