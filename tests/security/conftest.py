"""Run a load in a child process with little address space, so that a bomb that gets past
the checks fails its test with MemoryError instead of taking the test run down."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADROOM = 1_500_000_000  # address space the child may add after its imports (bytes)

_CHILD = r"""
import importlib, json, resource, sys
module, func, path, kwargs = json.loads(sys.argv[1])
fn = getattr(importlib.import_module(module), func)
with open("/proc/self/status") as fh:
    vm = next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + int(sys.argv[2]),) * 2)
try:
    fn(path, **kwargs)
    out = {"type": None, "message": ""}
except BaseException as exc:
    out = {"type": type(exc).__name__, "message": str(exc)}
print(json.dumps(out))
"""


@pytest.fixture
def limited():
    """``limited(path, func="analysis.io.load", **kwargs)`` -> (exception type name, message)
    of the call in a child whose address space may grow by at most ``HEADROOM`` bytes."""
    def run(path, func="analysis.io.load", **kwargs):
        module, name = func.rsplit(".", 1)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps([module, name, str(path), kwargs]),
             str(HEADROOM)], capture_output=True, text=True, env=env, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        return out["type"], out["message"]
    return run
