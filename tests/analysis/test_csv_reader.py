"""CSV read through pyarrow's parser: one-line errors with row and line, spaced files."""

import pytest

from analysis.errors import SpikeDataError
from analysis.io import load


def _error(path, *fragments):
    with pytest.raises(SpikeDataError) as info:
        load(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    for f in fragments:
        assert f in msg, msg


def test_row_with_too_many_or_too_few_fields(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("# comment\ntime,unit\n0.1,1\n0.2,1,9\n")
    _error(path, "the row has 3 fields, the header 2", "row 1 (line 4)")
    path.write_text("time,unit,epoch\n0.1,1,0\n0.2\n")
    _error(path, "unit is missing (the row has 1 of 3 fields)", "row 1 (line 3)")


def test_spaces_after_commas_are_skipped_when_the_header_has_them(tmp_path):
    path = tmp_path / "spaced.csv"
    path.write_text("time, unit, epoch, label\n0.1, 3, 0, go\n0.2, 10, 0, go\n")
    st = load(path)
    assert st.unit_ids.tolist() == ["3", "10"]
    assert st.epochs.label.tolist() == ["go"]


def test_quoted_values_keep_commas_and_spaces(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('time,unit\n0.1," a,b"\n0.2,"x"\n')
    assert load(path).unit_ids.tolist() == [" a,b", "x"]


def test_invalid_utf8_and_header_only(tmp_path):
    path = tmp_path / "bytes.csv"
    path.write_bytes(b"time,unit\n0.1,\xff\n")
    _error(path, "cannot read as CSV: UnicodeDecodeError")
    path = tmp_path / "header.csv"
    path.write_text("time,unit\n")
    _error(path, "contains no spikes")
