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
