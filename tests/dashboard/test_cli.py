import subprocess
import sys

import pytest

import analysis
from dashboard.cli import main


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "dashboard.cli", *args],
                          capture_output=True, text=True, timeout=120)
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
    (["simulate", "poisson", "bogus=1", "-o", "x.npz"], "unknown parameter 'bogus'"),
    (["simulate", "poisson", "rate=-4", "-o", "x.npz"], "rate"),
    (["simulate", "nosuchkind", "-o", "x.npz"], "unknown simulator"),
    (["info", "does-not-exist.npz"], "does-not-exist.npz"),
])
def test_errors_are_one_line_with_nonzero_exit(tmp_path, args, needle):
    rc, out, err = run_cli(*[a if not a.endswith(".npz") else str(tmp_path / a) for a in args])
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
