"""benchmarks/spotdis.py: the optional LGro/spot comparison says why it is skipped, and the
machine description includes the caches (the grid kernel's speed depends on them)."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("bench_spotdis",
                                                  ROOT / "benchmarks" / "spotdis.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_spot_checkout_is_reported(tmp_path):
    fn, why = _bench().lgro_spot(tmp_path / "nowhere")
    assert fn is None
    assert why.startswith("--spot ") and "no LGro/spot checkout" in why and "skipping" in why


def test_cache_sizes_and_load_are_described():
    bench = _bench()
    assert "L" in bench.cache_sizes() or "unknown" in bench.cache_sizes()
    assert bench.load_average().startswith("load average ")
