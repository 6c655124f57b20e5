"""One line describing the machine a benchmark ran on (imported by the scripts here)."""

import os
import platform


def machine():
    """Cores, CPU model and Python version."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def peak_gb():
    """Peak resident memory of this process so far (GB; Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def cpu_s():
    """CPU seconds of this process so far (all threads, user and system)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def load():
    """The load averages over 1, 5 and 15 minutes, as ``"1.2 1.5 1.9"``."""
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
