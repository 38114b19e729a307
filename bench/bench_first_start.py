"""Benchmark: the app's first start on a fresh data folder, until the demo client is listed.

Run: ``.venv/bin/python bench/bench_first_start.py [--runs 3]``. Each run starts ``streamlit run app.py``
on a new empty data folder and opens it in Debian's chromium (Playwright), timing from the launch of the
server to the demo client's name on the page (target <= 5 s). Baselines in the same run: the server
alone (its health endpoint answering), and the demo seeded in-process from the shipped measurements
versus measured by the pipeline (what the first start did before ``sample_images/demo_record.json``).
"""

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from timing import times  # noqa: E402

from skinscan import demo  # noqa: E402
from skinscan.store import Store  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic"]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def first_start(browser):
    """Seconds from launching the server to (health answering, demo client shown in the browser), and
    the server's CPU seconds for the whole run (a figure the other processes on a busy machine do not
    inflate much)."""
    port = _free_port()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as data:
        environment = {**os.environ, "SKINSCAN_DATA": data}
        start = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
             "--server.headless", "true", "--server.address", "127.0.0.1"],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            while True:
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                    break
                except OSError:
                    time.sleep(0.05)
            healthy = time.perf_counter() - start
            page = browser.new_page()
            page.goto(url)
            page.get_by_text(demo.DEMO_CLIENT).first.wait_for(timeout=120_000)
            shown = time.perf_counter() - start
            page.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return healthy, shown, cpu


def seed(measure):
    with tempfile.TemporaryDirectory() as folder, Store(folder) as store:
        if measure:
            original = demo.shipped_visits
            demo.shipped_visits = lambda samples=demo.SAMPLES: None
            try:
                demo.seed_demo(store)
            finally:
                demo.shipped_visits = original
        else:
            demo.seed_demo(store)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        first_start(browser)  # warm-up (imports, disk cache)
        results = [first_start(browser) for _ in range(args.runs)]
        browser.close()
    healthy = statistics.median(r[0] for r in results)
    shown = statistics.median(r[1] for r in results)
    cpu = statistics.median(r[2] for r in results)
    shipped = statistics.median(times(lambda: seed(False), args.runs))
    measured = statistics.median(times(lambda: seed(True), max(1, args.runs // 2)))
    print(f"first start on a fresh data folder, {args.runs} runs, medians")
    print(f"server answering (health)                 : {healthy:.2f} s")
    print(f"demo client shown in the browser          : {shown:.2f} s  (target <= 5 s: {'met' if shown <= 5 else 'NOT met'})")
    print(f"server CPU time, start to stop            : {cpu:.2f} s  (load average {os.getloadavg()[0]:.1f})")
    print(f"seeding the demo from the shipped record  : {shipped:.2f} s")
    print(f"seeding the demo by measuring (before)    : {measured:.2f} s  (ratio shipped/measured {shipped / measured:.2f})")


if __name__ == "__main__":
    main()
