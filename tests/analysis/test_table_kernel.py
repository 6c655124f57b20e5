"""The counting sort that groups a spike table's rows by unit."""

import numpy as np
import pytest

from analysis.kernels.table import group_times_by_unit


def _offsets(unit_idx, n_units):
    counts = np.bincount(unit_idx, minlength=n_units)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32])
def test_equals_a_stable_argsort_and_keeps_file_order_within_units(dtype):
    rng = np.random.default_rng(3)
    n_units = 7 if dtype == np.uint8 else 300
    unit_idx = rng.integers(0, n_units, 5000).astype(dtype)
    times = rng.uniform(0, 10, 5000)  # not sorted: file order must be kept as it is
    out, ordered = group_times_by_unit(unit_idx, times, _offsets(unit_idx, n_units))
    np.testing.assert_array_equal(out, times[np.argsort(unit_idx, kind="stable")])
    assert not ordered


def test_reports_time_order_within_every_unit():
    unit_idx = np.array([1, 0, 1, 0, 2], dtype=np.uint16)
    times = np.array([0.1, 0.2, 0.3, 0.4, 0.0])  # time goes back between units only
    out, ordered = group_times_by_unit(unit_idx, times, _offsets(unit_idx, 3))
    np.testing.assert_array_equal(out, [0.2, 0.4, 0.1, 0.3, 0.0])
    assert ordered
    times[2] = 0.05  # unit 1 now goes back
    assert not group_times_by_unit(unit_idx, times, _offsets(unit_idx, 3))[1]
