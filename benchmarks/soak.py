"""Soak test: several browser sessions at once on one spikelens server (loopback).

Starts ``spikelens serve`` on a free localhost port, then opens ``--sessions`` headless
Chromium contexts at once (Debian's /usr/bin/chromium). Each session loads the SIP demo,
runs the assembly-neuron analysis (``--surrogates`` surrogates) and SPOTDis on the pulse
demo, then closes. Meanwhile a probe requests the app's page every 0.5 s and times the
answer: the server must stay responsive while the sessions compute.

A warm-up session runs first (numba loads its compiled kernels, the demos are simulated
once per process), so the baseline memory is that of a server that has served before.
Each page request opens a new (unused) session, which the server drops after about 30 s.

Printed: sessions, analyses completed, the probe's response-time percentiles (the time to
answer a new visitor's page while the sessions compute), each session's time per step, and
the server's resident memory at the baseline, at its peak and ``--cleanup`` seconds after
the sessions closed.

    python benchmarks/soak.py                       # 4 sessions, ~3-5 min on 2 cores
    python benchmarks/soak.py --sessions 2 --surrogates 100    # a quick look

``--closed-tabs N`` runs another scenario: N visitors start a long assembly run (200,000
surrogates) and close their tab while it runs. Printed: the time another visitor needs to
load the SIP demo on an idle server and right after the tabs closed, and their ratio (the
server's promise: at most 2x).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Probe(threading.Thread):
    """GET the app page every ``period`` s; keep the response times and the peak RSS."""

    def __init__(self, url, pid, period=1.0):
        super().__init__(daemon=True)
        self.url, self.pid, self.period = url, pid, period
        self.times, self.failures, self.peak = [], 0, 0.0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            t = time.perf_counter()
            try:
                urllib.request.urlopen(self.url, timeout=30).read()
                self.times.append(time.perf_counter() - t)
            except OSError:
                self.failures += 1
            self.peak = max(self.peak, rss_mb(self.pid))
            self.stop.wait(self.period)


async def start_assembly_run(page, surrogates):
    """Open the Assembly neurons page, set the surrogate count and press Run."""
    await page.get_by_role("button", name="Assembly neurons", exact=True).click()
    field = page.locator(".bk-input-group:visible", has_text="N surrogates").locator("input").first
    await field.fill(str(surrogates))
    await field.press("Enter")
    await page.wait_for_timeout(300)
    await page.get_by_role("button", name="Run", exact=True).click()


async def session(browser, url, k, surrogates, log):
    """One user: SIP demo + assembly neurons, then pulse demo + SPOTDis."""
    steps = {}
    ctx = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await ctx.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    async def timed(name, coro):
        t = time.perf_counter()
        await coro
        steps[name] = time.perf_counter() - t

    async def units(n, timeout=120_000):
        await page.get_by_text(re.compile(rf"\b{n} units\b")).first.wait_for(timeout=timeout)

    async def load_demo(name, n):
        await page.locator("select").first.select_option(name)
        await page.get_by_role("button", name="Load demo").click()
        await units(n)

    done = 0
    try:
        await timed("open", page.goto(url))
        await timed("first page", units(500))
        await page.get_by_role("button", name="Data", exact=True).click()
        await timed("load SIP demo", load_demo("SIP assembly (100 units, 20 s)", 100))
        await start_assembly_run(page, surrogates)
        await timed("assembly run", page.get_by_text(re.compile(r"units significant"))
                    .first.wait_for(timeout=600_000))
        done += 1
        await page.get_by_role("button", name="Data", exact=True).click()
        await timed("load pulse demo", load_demo("Pulse patterns (300 epochs, 50 units)", 50))
        await page.get_by_role("button", name="SPOTDis", exact=True).click()
        await page.get_by_role("button", name="Run", exact=True).click()
        await timed("SPOTDis run", page.get_by_text(re.compile(r"\bclusters?\b.*ARI"))
                    .first.wait_for(timeout=600_000))
        done += 1
    except Exception as exc:   # report and go on: a soak test counts failures
        log.append(f"session {k}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        await ctx.close()
    if errors:
        log.append(f"session {k}: page errors: {errors[:3]}")
    return done, steps


async def drive(url, n_sessions, surrogates, log):
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=["--no-sandbox", "--disable-gpu"])
        try:
            return await asyncio.gather(*(session(browser, url, k, surrogates, log)
                                          for k in range(n_sessions)))
        finally:
            await browser.close()


async def demo_load_time(browser, url):
    """A new visitor opens the app and loads the SIP demo: seconds from click to summary."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await ctx.new_page()
    try:
        await page.goto(url)
        await page.get_by_text(re.compile(r"\b500 units\b")).first.wait_for(timeout=120_000)
        t = time.perf_counter()
        await page.locator("select").first.select_option("SIP assembly (100 units, 20 s)")
        await page.get_by_role("button", name="Load demo").click()
        await page.get_by_text(re.compile(r"\b100 units\b")).first.wait_for(timeout=600_000)
        return time.perf_counter() - t
    finally:
        await ctx.close()


async def start_run_and_close(browser, url, surrogates):
    """A visitor starts a long assembly run, then closes the tab while it runs."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await ctx.new_page()
    try:
        await page.goto(url)
        await page.get_by_text(re.compile(r"\b500 units\b")).first.wait_for(timeout=120_000)
        await start_assembly_run(page, surrogates)
        cancel = page.get_by_role("button", name="Cancel")
        await page.wait_for_function("b => !b.disabled", arg=await cancel.element_handle(),
                                     timeout=60_000)
    finally:
        await ctx.close()


async def closed_tabs(url, n_tabs, surrogates=200_000, repeats=3):
    """Demo-load times of a new visitor: idle, and right after ``n_tabs`` tabs closed
    mid-run."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=["--no-sandbox", "--disable-gpu"])
        try:
            idle = [await demo_load_time(browser, url) for _ in range(repeats)]
            await asyncio.gather(*(start_run_and_close(browser, url, surrogates)
                                   for _ in range(n_tabs)))
            after = [await demo_load_time(browser, url) for _ in range(repeats)]
        finally:
            await browser.close()
    return idle, after


def pct(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--surrogates", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2,
                    help="rounds of --sessions sessions: memory that grows round after round "
                         "would be a leak; memory that plateaus is the allocator keeping "
                         "freed memory")
    ap.add_argument("--closed-tabs", type=int, default=0, metavar="N",
                    help="instead of the rounds: N tabs close mid-run; another visitor's "
                         "demo load is timed idle and right after")
    ap.add_argument("--cleanup", type=float, default=45.0,
                    help="seconds to wait after the sessions close before measuring memory")
    args = ap.parse_args()
    if not os.path.exists(CHROMIUM):
        sys.exit(f"{CHROMIUM} is missing (make chromium installs it)")
    port = free_port()
    url = f"http://localhost:{port}/"
    logfile = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    server = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--port",
                               str(port)], cwd=ROOT, stdout=logfile, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    logfile.seek(0)
                    sys.exit("server did not start:\n" + logfile.read()[-2000:])
                time.sleep(0.5)
        print(f"machine: {machine()}")
        cold = rss_mb(server.pid)
        warm_log = []
        asyncio.run(drive(url, 1, args.surrogates, warm_log))
        time.sleep(args.cleanup)
        base = rss_mb(server.pid)
        print(f"server: spikelens serve on {url} (pid {server.pid}); RSS {cold:.0f} MB after "
              f"start, {base:.0f} MB after a warm-up session and {args.cleanup:g} s (baseline)")
        for line in warm_log:
            print("  warm-up " + line)
        if args.closed_tabs:
            print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            idle, after = asyncio.run(closed_tabs(url, args.closed_tabs))
            ratio = np.median(after) / np.median(idle)
            print(f"\n{args.closed_tabs} tabs started an assembly run (200,000 surrogates) "
                  f"and closed mid-run")
            print(f"new visitor's SIP demo load, idle server: median {np.median(idle):.2f} s "
                  f"({', '.join(f'{v:.2f}' for v in idle)})")
            print(f"right after the tabs closed:            median {np.median(after):.2f} s "
                  f"({', '.join(f'{v:.2f}' for v in after)})")
            print(f"ratio {ratio:.2f}x (promise: at most 2x): "
                  f"{'kept' if max(after) <= 2 * np.median(idle) else 'NOT kept'}")
            return
        probe = Probe(url, server.pid)
        probe.start()
        log, results, after = [], [], []
        t0 = time.perf_counter()
        for _ in range(args.rounds):
            results += asyncio.run(drive(url, args.sessions, args.surrogates, log))
            time.sleep(args.cleanup)
            after.append(rss_mb(server.pid))
        wall = time.perf_counter() - t0 - args.rounds * args.cleanup
        probe.stop.set()
        probe.join()
        completed = sum(d for d, _ in results)
        print(f"\n{args.rounds} rounds of {args.sessions} concurrent sessions, each: SIP demo "
              f"+ assembly neurons ({args.surrogates} surrogates), pulse demo + SPOTDis; "
              f"{wall:.0f} s of sessions in all")
        print(f"analyses completed: {completed} of {2 * args.sessions * args.rounds}")
        for line in log:
            print("  " + line)
        names = sorted({n for _, s in results for n in s}, key=lambda n: [
            "open", "first page", "load SIP demo", "assembly run", "load pulse demo",
            "SPOTDis run"].index(n))
        print("\nper-session step times (s), median [min, max] over sessions:")
        for n in names:
            v = [s[n] for _, s in results if n in s]
            print(f"  {n:<16} {np.median(v):7.1f}  [{min(v):.1f}, {max(v):.1f}]")
        t = probe.times
        print(f"\nnew-visitor page requests during the soak (sessions and cleanup waits): {len(t)} answered, "
              f"{probe.failures} failed; response time p50 {pct(t, 50) * 1e3:.0f} ms, p90 "
              f"{pct(t, 90) * 1e3:.0f} ms, p99 {pct(t, 99) * 1e3:.0f} ms, max "
              f"{max(t, default=float('nan')) * 1e3:.0f} ms")
        rounds = ", ".join(f"{a:.0f} MB" for a in after)
        print(f"server memory (RSS): baseline {base:.0f} MB, peak {probe.peak:.0f} MB; "
              f"{args.cleanup:g} s after each round: {rounds} "
              f"({after[-1] - base:+.0f} MB over the baseline, {after[-1] - after[0]:+.0f} MB "
              f"from the first round to the last)")
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        logfile.close()
        os.unlink(logfile.name)


if __name__ == "__main__":
    main()
