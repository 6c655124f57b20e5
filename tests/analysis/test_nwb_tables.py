"""NWB interval tables as epochs and electrode information as unit annotations."""

from datetime import UTC, datetime

import numpy as np
import pytest

from analysis.errors import SpikeDataError
from analysis.io import load

pynwb = pytest.importorskip("pynwb")


@pytest.fixture(scope="module")
def nwb_file(tmp_path_factory):
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.epoch import TimeIntervals

    nwb = NWBFile(session_description="tables", identifier="t",
                  session_start_time=datetime(2026, 1, 1, tzinfo=UTC))
    device = nwb.create_device("probe")
    groups = [nwb.create_electrode_group(f"shank{k}", "shank", area, device)
              for k, area in enumerate(["CA1", "V1"])]
    for i in range(4):
        nwb.add_electrode(group=groups[i // 2], location=["CA1", "V1"][i // 2])
    nwb.add_unit_column("quality", "curation")
    nwb.add_unit(spike_times=[0.1, 0.2], electrodes=[0, 1], quality="good")
    nwb.add_unit(spike_times=[0.3], electrodes=[3], quality="mua")
    nwb.add_unit(spike_times=[0.35], electrodes=[], quality="noise")
    nwb.add_trial_column("label", "outcome")
    nwb.add_trial(start_time=0.0, stop_time=0.5, label="go")
    nwb.add_epoch(start_time=0.0, stop_time=1.0, tags=["pre", "quiet"])
    stim = TimeIntervals(name="stimulus", description="gratings")
    stim.add_column("orientation", "degrees")
    stim.add_row(start_time=0.1, stop_time=0.2, orientation=45.0)
    stim.add_row(start_time=0.3, stop_time=0.4, orientation=90.0)
    nwb.add_time_intervals(stim)
    path = tmp_path_factory.mktemp("nwb") / "tables.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def test_trials_by_default_and_any_table_by_name(nwb_file):
    assert load(nwb_file).epochs.label.tolist() == ["go"]
    st = load(nwb_file, epochs="stimulus", epoch_label="orientation")
    assert st.epochs.start.tolist() == [0.1, 0.3]
    assert st.epochs.label.tolist() == ["45.0", "90.0"]
    assert load(nwb_file, epochs="stimulus").epochs.label.tolist() == ["0", "1"]
    assert load(nwb_file, epochs="epochs", epoch_label="tags").epochs.label.tolist() == \
        ["pre,quiet"]


def test_electrode_location_and_group_per_unit(nwb_file):
    st = load(nwb_file)
    ann = st.unit_annotations
    assert ann["electrode"].tolist() == [0, 3, -1]
    assert ann["location"].tolist() == ["CA1", "V1", ""]
    assert ann["electrode_group"].tolist() == ["shank0", "shank1", ""]
    assert ann["quality"].tolist() == ["good", "mua", "noise"]
    v1 = st.select_units(np.flatnonzero(ann["location"] == "V1"))
    assert v1.n_units == 1 and v1.n_spikes == 1


def test_unknown_table_or_column_is_a_one_line_error(nwb_file, tmp_path):
    with pytest.raises(SpikeDataError, match="no interval table 'nope'.*'stimulus'") as info:
        load(nwb_file, epochs="nope")
    assert "\n" not in str(info.value) and str(nwb_file) in str(info.value)
    with pytest.raises(SpikeDataError, match="intervals/stimulus.*no column 'x'"):
        load(nwb_file, epochs="stimulus", epoch_label="x")
    table = tmp_path / "t.csv"
    table.write_text("time,unit\n0.1,1\n")
    with pytest.raises(ValueError, match="only NWB"):
        load(table, epochs="trials")


def test_electrode_rows_outside_the_table_are_refused(nwb_file, tmp_path):
    import shutil

    import h5py

    bad = tmp_path / "bad.nwb"
    shutil.copy(nwb_file, bad)
    with h5py.File(bad, "r+") as f:
        f["units/electrodes"][0] = 99
    with pytest.raises(SpikeDataError, match="outside the electrodes table") as info:
        load(bad)
    assert "\n" not in str(info.value)


def test_interval_tables_are_listed_with_their_columns(nwb_file):
    from analysis.io import nwb_interval_tables

    tables = nwb_interval_tables(nwb_file)
    assert set(tables) == {"trials", "epochs", "stimulus"}
    assert tables["trials"] == ["label"]
    assert tables["stimulus"] == ["orientation"]
    assert "start_time" not in tables["epochs"] and "tags" not in tables["epochs"]
