"""SpikeTrains from and to SpikeInterface and pynapple (analysis/ecosystem.py)."""

import numpy as np
import pytest

from analysis.errors import SpikeDataError
from analysis.spiketrains import Epochs, SpikeTrains


def _data():
    return SpikeTrains.from_lists(
        [[0.1, 0.5, 1.25], [0.2], []], t_start=0.0, t_stop=2.0, unit_ids=["a", "7", "z"],
        unit_annotations={"depth": np.array([10.0, 20.0, 30.0]),
                          "quality": np.array(["good", "mua", "good"])},
        epochs=Epochs([0.0, 1.0], [0.5, 1.5], ["left", "right"]))


def test_spikeinterface_sorting_round_trip():
    si = pytest.importorskip("spikeinterface.core")
    sorting = si.NumpySorting.from_unit_dict(
        {"a": np.array([100, 500, 1250]), "7": np.array([200]), "z": np.array([], int)},
        sampling_frequency=1000.0)
    sorting.set_property("quality", ["good", "mua", "good"])
    st = SpikeTrains.from_spikeinterface(sorting)
    assert st.unit_ids.tolist() == ["a", "7", "z"]
    np.testing.assert_allclose(st["a"], [0.1, 0.5, 1.25])
    assert st.unit_annotations["quality"].tolist() == ["good", "mua", "good"]
    assert st.annotations["sampling_frequency"] == 1000.0
    assert (st.t_start, st.t_stop) == (0.0, 1.25)


def test_spikeinterface_bad_segment_and_object():
    si = pytest.importorskip("spikeinterface.core")
    sorting = si.NumpySorting.from_unit_dict({"a": np.array([1])}, sampling_frequency=10.0)
    with pytest.raises(SpikeDataError, match="no segment 1"):
        SpikeTrains.from_spikeinterface(sorting, segment=1)
    with pytest.raises(SpikeDataError, match="not a SpikeInterface sorting"):
        SpikeTrains.from_spikeinterface(object())


def test_pynapple_round_trip():
    pytest.importorskip("pynapple")
    st = _data()
    group, epochs = st.to_pynapple()
    assert list(group.keys()) == [0, 1, 2]
    np.testing.assert_array_equal(group[0].t, [0.1, 0.5, 1.25])
    back = SpikeTrains.from_pynapple(group, epochs=epochs)
    assert back.equals(st)


def test_pynapple_foreign_group_uses_keys_and_labels():
    nap = pytest.importorskip("pynapple")
    group = nap.TsGroup({3: nap.Ts(t=np.array([0.1, 0.4])), 8: nap.Ts(t=np.array([0.2]))},
                        time_support=nap.IntervalSet(0.0, 1.0))
    st = SpikeTrains.from_pynapple(group)
    assert st.unit_ids.tolist() == ["3", "8"] and st.epochs is None
    assert (st.t_start, st.t_stop) == (0.0, 1.0)
    with pytest.raises(SpikeDataError, match="not a pynapple TsGroup"):
        SpikeTrains.from_pynapple([1, 2])
    with pytest.raises(SpikeDataError, match="not a pynapple IntervalSet"):
        SpikeTrains.from_pynapple(group, epochs=[(0, 1)])
