"""A file dropper whose limits hold on the server, whatever the browser sends.

Panel's ``FileDropper`` checks ``max_file_size`` in the browser only; its server side keeps
every chunk it is sent, under any name, until a last chunk arrives, and keeps earlier files in
``value``. A visitor who calls the upload handler from the page's JavaScript could fill the
server's memory. ``BoundedFileDropper`` counts bytes as chunks arrive and stops at the limit,
accepts chunks of one upload at a time and only in order, drops an upload whose next chunk
does not come within ``stall_timeout`` seconds (see :meth:`expire`), and holds only the last
complete file in ``value``.
"""

from __future__ import annotations

import time

import param
from panel.widgets import FileDropper


class BoundedFileDropper(FileDropper):
    """``FileDropper`` that enforces ``max_bytes`` on the server, chunk by chunk."""

    max_bytes = param.Integer(default=None, allow_None=True, bounds=(1, None), doc="""
        Largest upload in bytes, counted on the server as chunks arrive.""")

    stall_timeout = param.Number(default=60.0, bounds=(0, None), doc="""
        Seconds an unfinished upload may wait for its next chunk before it is dropped.""")

    refused = param.String(default="", doc="""
        Why the last upload was dropped (one line naming the file), or "".""")

    # server-side only: the browser's model has no such properties
    _rename = {**FileDropper._rename, "max_bytes": None, "stall_timeout": None,
               "refused": None}

    def __init__(self, **params):
        super().__init__(**params)
        self._upload = None  # [name, chunks, bytes so far, time of the last chunk]
        self._dropped = None  # name of the upload dropped last: its later chunks are ignored

    def _process_event(self, event):
        if event.event_name != "upload_event":
            return super()._process_event(event)
        data = event.data if isinstance(event.data, dict) else {}
        name, chunk, total, payload = (data.get(k) for k in ("name", "chunk",
                                                               "total_chunks", "data"))
        if not (isinstance(name, str) and isinstance(chunk, int) and isinstance(total, int)
                and isinstance(payload, (bytes, bytearray, memoryview)) and
                1 <= chunk <= total):
            self._refuse(str(name)[:200], "malformed upload message")
            return
        if chunk == 1:  # a new upload replaces any unfinished one
            self._upload, self._dropped = [name, [], 0, time.monotonic()], None
        elif name == self._dropped:
            return  # the browser keeps sending a file that was refused: keep the reason
        upload = self._upload
        if upload is None or upload[0] != name or chunk != len(upload[1]) + 1:
            self._refuse(name, "chunk out of order")
            return
        upload[2] += len(payload)
        if self.max_bytes is not None and upload[2] > self.max_bytes:
            self._refuse(name, f"more than this server's upload limit of "
                               f"{self.max_bytes / 1e6:g} MB")
            return
        upload[1].append(bytes(payload))
        upload[3] = time.monotonic()
        if chunk < total:
            return
        self._upload = None
        self.refused = ""
        content = b"".join(upload[1])
        self.mime_type = {name: str(data.get("type", ""))}
        self.value = {name: content}  # only this file: an earlier one is not analysed again

    def _refuse(self, name, reason):
        self._upload, self._dropped = None, name  # the chunks received so far are released
        self.refused = f"{name}: {reason}; upload dropped"

    def expire(self, now=None):
        """Drop an upload whose next chunk is overdue; True if one was dropped. The Data
        page calls this periodically."""
        upload = self._upload
        now = time.monotonic() if now is None else now
        if upload is None or now - upload[3] <= self.stall_timeout:
            return False
        self._refuse(upload[0], f"no data for {self.stall_timeout:g} s")
        return True

    @property
    def buffered_bytes(self):
        """Bytes of the unfinished upload held in memory."""
        return 0 if self._upload is None else self._upload[2]
