"""Exceptions raised by spikelens."""


class SpikeDataError(ValueError):
    """Spike data (a file, an array or a table) is malformed.

    The message names the source (file or argument), the location (row, unit, field) and
    the reason, on one line, so that the CLI and the dashboard can show it as it is.
    """

    def __init__(self, reason, source=None, where=None):
        self.reason = reason
        self.source = source
        self.where = where
        parts = [str(p) for p in (source, where) if p not in (None, "")]
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {reason}" if prefix else reason)


class MemoryBudgetError(ValueError, MemoryError):
    """A step would need more memory than its budget allows; raised before it starts.

    The message says how much the step needs, the budget, and which parameter to change.
    It is a ``ValueError`` (bad parameters for this machine) and a ``MemoryError``.
    """


def available_memory():
    """Bytes of memory available now (Linux /proc/meminfo; 4 GB if unknown)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4e9


def check_memory(what, need, budget, advice):
    """Raise ``MemoryBudgetError`` when ``need`` bytes exceed ``budget``."""
    if need > budget:
        raise MemoryBudgetError(
            f"memory_budget: {what} needs about {need / 1e9:.2f} GB, more than the budget of "
            f"{budget / 1e9:.2f} GB; {advice}")
