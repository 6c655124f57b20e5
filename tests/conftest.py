import os
import pathlib

import pytest

ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts_dir():
    """Where tests leave screenshots and reports for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_configure(config):
    # numba: keep compilation on both cores but do not oversubscribe the 2-core CI machine
    os.environ.setdefault("NUMBA_NUM_THREADS", "2")
