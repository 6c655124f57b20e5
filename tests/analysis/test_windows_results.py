"""Sliding-window results as results files: exact round trips, table, hostile files."""

import json
import re

import numpy as np
import pytest
from test_results import assert_identical

from analysis import SpikeDataError, results, simulate
from analysis.results import load_result, result_table, save_result
from analysis.spotdis import SlidingWindows, SlidingWindowsResult


@pytest.fixture(scope="module")
def runs():
    data = simulate.embedded_sequences(n_units=20, occurrences=12, t_stop=40.0, seed=2)
    ship = SlidingWindows(data=data, length=0.2, step=0.05, dissimilarity="spikeship",
                          min_active=10, min_cluster_size=5).run()
    spot = SlidingWindows(data=data, length=0.2, step=0.1, dissimilarity="spotdis",
                          events_only=True, min_cluster_size=4).run()
    # each holds what the round trip must carry
    assert ship.sequences and ship.truth is not None and ship.events is None
    assert next(iter(ship.sequences.values())).measure == "flow"
    assert spot.events is not None and spot.events.size > 0
    return {"spikeship": ship, "spotdis-events": spot}


@pytest.mark.parametrize("kind", ["spikeship", "spotdis-events"])
@pytest.mark.parametrize("compress", [True, False])
def test_sliding_windows_round_trip_is_exact(runs, kind, compress, tmp_path):
    r = runs[kind]
    back = load_result(save_result(r, tmp_path / "w.npz", compress=compress))
    assert_identical(r, back)
    again = SlidingWindowsResult.load(r.save(tmp_path / "v.npz"))
    assert_identical(r, again)
    # it behaves as the original: the same band and time course
    assert back.segments().equals(r.segments())
    assert result_table(back).equals(r.time_course())
    with open(tmp_path / "w.npz", "rb") as fh:
        assert fh.read(2) == b"PK"


def _rewrite(src, dst, change):
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays[results.HEADER][()]))
    change(header, arrays)
    arrays[results.HEADER] = np.array(json.dumps(header))
    np.savez(dst, **arrays)
    return dst


def test_hostile_sliding_windows_files_give_one_line(runs, tmp_path):
    good = save_result(runs["spikeship"], tmp_path / "good.npz")
    fields = lambda h: h["result"]["fields"]

    def case(name, change, pattern):
        path = _rewrite(good, tmp_path / f"{name}.npz", change)
        with pytest.raises(SpikeDataError) as info:
            load_result(path)
        msg = str(info.value)
        assert msg.startswith(f"{path}: ") and "\n" not in msg, msg
        assert re.search(pattern, msg), msg

    key = fields(json.loads(str(np.load(good)[results.HEADER][()])))["labels"]["__array__"]
    case("short", lambda h, a: a.update({key: a[key][:-3]}),
         r"SlidingWindowsResult\.labels: expected one value per window")
    case("seq", lambda h, a: fields(h).update(sequences={"0": 1}),
         r"SlidingWindowsResult\.sequences")
    case("step", lambda h, a: fields(h).update(step=-1.0), r"SlidingWindowsResult\.step")
    case("class", lambda h, a: fields(h).update(
        sequences={"__dict__": [[0, {"__dataclass__": "subprocess.Popen", "fields": {}}]]}),
        "corrupted: unknown object type")
    case("field", lambda h, a: fields(h).update(extra=1),
         "SlidingWindowsResult has no field.* extra")
    with pytest.raises(SpikeDataError, match="holds a SlidingWindowsResult, not a "):
        from analysis.spotdis import SpotDisClustResult
        SpotDisClustResult.load(good)


def test_hostile_sequences_scores_and_windows_give_one_line(runs, tmp_path):
    """What a report or a page draws from a windows file is checked when it is read: a
    sequence's per-unit arrays, the scores, the windows' bounds (before: these loaded and
    failed later, inside a plot)."""
    r = runs["spikeship"]
    good = save_result(r, tmp_path / "good.npz")
    header = json.loads(str(np.load(good)[results.HEADER][()]))
    f = header["result"]["fields"]
    label = next(iter(r.sequences))
    seq = next(v for k, v in f["sequences"]["__dict__"] if k == label)["fields"]

    def case(name, change, pattern):
        path = _rewrite(good, tmp_path / f"{name}.npz", change)
        with pytest.raises(SpikeDataError) as info:
            load_result(path)
        msg = str(info.value)
        assert msg.startswith(f"{path}: ") and "\n" not in msg, msg
        assert re.search(pattern, msg), msg

    counts = seq["n_windows"]["__array__"]
    case("seq-short", lambda h, a: a.update({counts: a[counts][:-2]}),
         r"PatternSequence\.n_windows: expected one number per unit \(20\)")
    ids = seq["unit_ids"]["__array__"]
    case("seq-ids", lambda h, a: a.update({ids: a[ids][:3]}),
         r"PatternSequence\.(value|n_windows|unit_ids)")

    def measure(h, a):
        for k, v in h["result"]["fields"]["sequences"]["__dict__"]:
            v["fields"]["measure"] = "<b>x</b>"
    case("seq-measure", measure, r"PatternSequence\.measure")

    def relabel(h, a):
        h["result"]["fields"]["sequences"]["__dict__"][0][0] = 99
    case("seq-label", relabel, r"SlidingWindowsResult\.sequences")
    case("scores", lambda h, a: h["result"]["fields"].update(scores={"ari": "x"}),
         r"SlidingWindowsResult\.scores")
    start = f["start"]["__array__"]

    def nan_start(h, a):
        x = a[start].copy()
        x[0] = np.nan
        a[start] = x
    case("nan", nan_start, r"SlidingWindowsResult\.start, stop")
    case("elapsed", lambda h, a: h["result"]["fields"].update(elapsed="soon"),
         r"SlidingWindowsResult\.elapsed")
