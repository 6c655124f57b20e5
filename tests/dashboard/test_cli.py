"""The command line: results, and errors as one line on stderr with a non-zero exit
(2 for usage errors, 1 for everything else) and never a traceback."""

import subprocess
import sys

import numpy as np
import pytest

import analysis
from analysis import simulate
from dashboard import cli
from dashboard.cli import main


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "dashboard.cli", *args],
                          check=False, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_simulate_then_info(tmp_path, capsys):
    out = tmp_path / "p.npz"
    assert main(["simulate", "poisson", "n_units=7", "--t-stop", "2.5", "seed=3",
                 "-o", str(out)]) == 0
    data = analysis.load(out)
    assert data.n_units == 7 and data.t_stop == 2.5
    # the same seed gives the same data
    out2 = tmp_path / "q.npz"
    main(["simulate", "poisson", "-o", str(out2), "n_units=7", "t_stop=2.5", "seed=3"])
    assert analysis.load(out2).equals(data)
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "units" in printed and " 7" in printed


def test_simulate_forwards_variant_options(tmp_path):
    out = tmp_path / "v.npz"
    assert main(["simulate", "spot_patterns", "variant=bimodal", "n_patterns=2",
                 "epochs_per_pattern=3", "n_noise_epochs=2", "seed=1", "-o", str(out)]) == 0
    data = analysis.load(out)
    assert len(data.epochs) == 8 and data.annotations["variant"] == "bimodal"


@pytest.mark.parametrize("args, needle", [
    (["simulate", "poisson", "rate=-4", "-o", "x.npz"], "rate"),
    (["info", "does-not-exist.npz"], "does-not-exist.npz"),
])
def test_errors_are_one_line_with_nonzero_exit(tmp_path, args, needle):
    rc, _, err = run_cli(*[a if not a.endswith(".npz") else str(tmp_path / a) for a in args])
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "x.npz").exists()  # nothing half-written


def test_info_on_bad_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,unit\n0.1,a\nnan,b\n")
    rc, _, err = run_cli("info", str(bad))
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "bad.csv" in err


def _bad_npz_beyond_t_stop(path):
    np.savez(path, times=np.array([0.5, 2.5]), offsets=np.array([0, 2]),
             t_start=0.0, t_stop=1.0, unit_ids=np.array(["a"]))


def _truncated_npz(path):
    analysis.save(simulate.poisson(n_units=5, t_stop=5.0, seed=1), path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _not_phy_folder(path):
    path.mkdir()
    (path / "notes.txt").write_text("not spike data\n")
    np.save(path / "spike_clusters.npy", np.array([1, 2]))  # spike_times.npy is missing


BAD_FILES = {
    "empty.csv": lambda p: p.write_text(""),
    "truncated.npz": _truncated_npz,
    "late.npz": _bad_npz_beyond_t_stop,
    "columns.csv": lambda p: p.write_text("time,unit,colour\n0.1,a,red\n"),
    "notphy": _not_phy_folder,
    "negative.csv": lambda p: p.write_text("time,unit\n0.5,a\n-1.0,b\n"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_info_on_bad_files_is_one_line_exit_1(tmp_path, name):
    path = tmp_path / name
    BAD_FILES[name](path)
    rc, out, err = run_cli("info", str(path))
    assert rc == 1, (rc, out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("spikelens info: error: ") and name in err
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("args, needle", [
    (["info"], "the following arguments are required: file"),
    (["simulate", "poisson"], "required: -o/--output"),
    (["info", "--colour", "x.npz"], "unrecognized arguments: --colour"),
    (["serve", "--port", "many"], "argument --port: invalid int value: 'many'"),
    (["report", "demo:sip", "--method", "nope", "-o", "r.html"], "invalid choice: 'nope'"),
    (["simulate", "nosuchkind", "-o", "x.npz"], "unknown simulator 'nosuchkind'"),
    (["simulate", "poisson", "bogus=1", "-o", "x.npz"], "unknown parameter 'bogus'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: COMMAND"),
])
def test_usage_errors_are_one_line_exit_2(tmp_path, capsys, args, needle):
    args = [str(tmp_path / a) if a.endswith(".npz") else a for a in args]
    assert main(args) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err
    command = args[0] if args and args[0] != "frobnicate" else None
    prog = f"spikelens {command}" if command else "spikelens"
    assert err.startswith(f"{prog}: error: ") and f"(see {prog} --help)" in err
    assert "Traceback" not in err and captured.out == ""
    assert not (tmp_path / "x.npz").exists()


def test_usage_error_in_a_subprocess(tmp_path):
    rc, out, err = run_cli("simulate", "poisson")
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spikelens simulate: error: "), err
    assert "-o/--output" in err and "(see spikelens simulate --help)" in err
    assert "usage:" not in err and "Traceback" not in err


def test_help_mentions_the_debug_switch_and_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "SPIKELENS_DEBUG=1" in capsys.readouterr().out
    assert main(["info", "--help"]) == 0
    assert "SPIKELENS_DEBUG=1" in capsys.readouterr().out


class _ArrayMemoryError(MemoryError):
    """Like numpy's private class of the same name: shown as its public base."""


@pytest.mark.parametrize("exc, shown", [
    (RuntimeError("numba could not compile\nthe kernel"),
     "RuntimeError: numba could not compile the kernel"),
    (MemoryError(), "MemoryError"),
    (KeyError("t_stop"), "KeyError: 't_stop'"),
    (_ArrayMemoryError("Unable to allocate 7.3 TiB"), "MemoryError: Unable to allocate"),
])
def test_unexpected_exceptions_are_one_line_exit_1(monkeypatch, capsys, tmp_path, exc, shown):
    def boom(args):
        raise exc

    monkeypatch.delenv("SPIKELENS_DEBUG", raising=False)
    monkeypatch.setattr(cli, "cmd_info", boom)
    assert main(["info", str(tmp_path / "x.npz")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"spikelens info: error: {shown}"), err
    assert "SPIKELENS_DEBUG=1" in err and "Traceback" not in err


def test_debug_switch_reraises(monkeypatch, tmp_path):
    def boom(args):
        raise RuntimeError("for developers")

    monkeypatch.setattr(cli, "cmd_info", boom)
    monkeypatch.setenv("SPIKELENS_DEBUG", "1")
    with pytest.raises(RuntimeError, match="for developers"):
        main(["info", str(tmp_path / "x.npz")])


def test_report_and_other_commands_share_exit_codes(tmp_path, capsys):
    # a missing input is a runtime error (1) for report as for info
    assert main(["report", str(tmp_path / "nope.nix"), "-o", str(tmp_path / "r.html")]) == 1
    assert main(["info", str(tmp_path / "nope.nix")]) == 1
    # a bad setting in the report's --param: 1 as a bad simulator value is
    assert main(["report", "demo:sip", "--param", "assembly.n_surrogates=many",
                 "-o", str(tmp_path / "r.html")]) == 1
    assert main(["simulate", "poisson", "rate=-4", "-o", str(tmp_path / "x.npz")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(": error: " in line for line in err)
    assert not list(tmp_path.iterdir())


def test_serve_open_needs_a_file(tmp_path, capsys):
    from dashboard.cli import main

    code = main(["serve", "--open", str(tmp_path / "missing.spikelens")])
    assert code != 0
    err = capsys.readouterr().err
    assert "--open:" in err and "is not a file" in err and "Traceback" not in err
