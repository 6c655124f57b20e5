"""The thread that writes each session's kept work runs at a lower CPU priority than the
server's other threads, so compressing a result does not take a core from a page drawing it
(Linux keeps a nice value per thread)."""

import os
import threading

from dashboard import work


def test_the_writer_thread_yields_the_cpu_to_the_sessions():
    here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    writer = work._writer.submit(
        lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result(30)
    assert writer == min(19, here + work.WRITER_NICENESS) > here or here == 19
    # this thread (and so the server's event loop) keeps its own priority
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == here
