"""Restricting a recording to a window and units (issue 15 item 2), checked against
selections made by hand with the data model's own primitives."""

import numpy as np
import pytest

from analysis import simulate
from analysis.asset import Asset
from analysis.restrict import parse_units, restrict


@pytest.fixture(scope="module")
def data():
    d = simulate.poisson(n_units=30, rate=5.0, t_stop=20.0, seed=3)
    area = np.array(["CA1"] * 10 + ["V1"] * 20)
    return d.replace(unit_annotations={"location": area})


def test_units_by_ids_and_ranges(data):
    assert parse_units("0-4, 7 9:11", data).tolist() == [0, 1, 2, 3, 4, 7, 9, 10, 11]
    with pytest.raises(ValueError, match="units: 'x1' is not a unit id"):
        parse_units("x1", data)
    with pytest.raises(ValueError, match="runs backwards"):
        parse_units("5-2", data)


def test_window_units_rate_and_annotation_match_a_selection_by_hand(data):
    r = restrict(data, window=(2.5, 12.0), units="0-19", rate=(4.0, None),
                 where=("location", "V1"))
    sliced = data.time_slice(2.5, 12.0)
    rates = sliced.spike_counts / sliced.duration
    keep = np.flatnonzero((np.arange(30) <= 19) & (rates >= 4.0)
                          & (np.arange(30) >= 10))
    expected = sliced.select_units(keep)
    assert r.unit_ids.tolist() == expected.unit_ids.tolist()
    np.testing.assert_array_equal(r.times, expected.times)
    assert (r.t_start, r.t_stop) == (2.5, 12.0)
    text = r.annotations["restriction"]
    assert text.startswith("time 2.5-12 s; ") and f"{keep.size} of 30 units" in text
    assert "location = V1" in text and "rate >= 4 Hz" in text


def test_bad_choices_are_one_line_errors(data):
    with pytest.raises(ValueError, match="window: need start < stop"):
        restrict(data, window=(5, 1))
    with pytest.raises(ValueError, match="does not overlap"):
        restrict(data, window=(50, 60))
    with pytest.raises(ValueError, match="where: no unit annotation 'region'"):
        restrict(data, where=("region", "CA1"))
    with pytest.raises(ValueError, match="keeps no unit"):
        restrict(data, rate=(1000, None))


def test_results_say_they_were_computed_on_the_restriction(data):
    r = restrict(data, window=(0, 5), units="0-9")
    result = Asset(data=r, bin_size=0.05).run()
    assert result.data_summary["restriction"] == r.annotations["restriction"]
    assert result.data_summary["units"] == 10
    assert "restriction" not in Asset(data=data, bin_size=0.05).run().data_summary


def test_units_by_id_with_a_provenance_label_chain_onto_a_window(data):
    windowed = restrict(data, window=(0, 10))
    ids = data.unit_ids[[3, 5, 8]].astype(str)
    r = restrict(windowed, units=ids, label="3 significant units of the assembly run")
    assert r.unit_ids.tolist() == ids.tolist() and (r.t_start, r.t_stop) == (0.0, 10.0)
    assert r.annotations["restriction"] == (
        "time 0-10 s; then 3 of 30 units (3 significant units of the assembly run)")
    with pytest.raises(ValueError, match="units: no unit 'nope'"):
        restrict(data, units=np.array(["nope"]))


def test_one_cluster_s_epochs_and_cluster_labels_as_epoch_labels():
    d = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=4, n_noise_epochs=2,
                               n_units=6, seed=1)
    M = len(d.epochs)
    clusters = np.arange(M) % 3 - 1  # -1 is noise
    r = restrict(d, epoch_labels=clusters, epochs_label="cluster labels of the SPOTDis run")
    assert r.epochs.label.tolist() == [str(c) for c in clusters]
    np.testing.assert_array_equal(r.epochs.start, d.epochs.start)
    assert r.annotations["restriction"] == "cluster labels of the SPOTDis run"
    pick = np.flatnonzero(clusters == 1)
    one = restrict(d, epochs=pick)
    np.testing.assert_array_equal(one.epochs.start, d.epochs.start[pick])
    assert one.truth["epoch_labels"].tolist() == np.asarray(
        d.truth["epoch_labels"])[pick].tolist()
    assert one.annotations["restriction"] == f"{pick.size} of {M} epochs"
    with pytest.raises(ValueError, match="epoch_labels: need one label per epoch"):
        restrict(d, epoch_labels=[1, 2])
