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


# hypothesis: reproducible property tests (same examples on every run and in CI), no
# per-example deadline (numba compiles on first use); the per-test example counts are set in
# the test modules so that the property tests stay within their time budget on 2 cores
try:
    from hypothesis import HealthCheck, settings as _hyp_settings
except ImportError:  # hypothesis is a test extra; modules that need it import it themselves
    pass
else:
    _hyp_settings.register_profile(
        "spikelens", derandomize=True, deadline=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    _hyp_settings.load_profile(os.environ.get("SPIKELENS_HYPOTHESIS_PROFILE", "spikelens"))
