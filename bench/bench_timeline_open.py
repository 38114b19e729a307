"""Benchmark: opening the Timeline page on the demo client (target: usable within 2 s).

Run: ``.venv/bin/python bench/bench_timeline_open.py [--runs 5] [--area 0]``. Each run is a fresh
session (nothing cached from a previous run: client photos are cached per session only), timed from
the switch to the Timeline page to the end of its script run (every visit's colour-corrected photos,
the chosen pair aligned and its wipe built), through Streamlit's AppTest. Baseline in the same run:
the Clients page opened in the same session. The demo record is built once, before timing.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--area", type=int, default=0, help="which demo area (0 = the first, as the page opens)")
    args = parser.parse_args()
    os.environ["SKINSCAN_DATA"] = tempfile.mkdtemp(prefix="skinscan-bench-")
    from streamlit.testing.v1 import AppTest

    from skinscan.demo import seed_demo
    from skinscan.store import Store

    with Store() as store:
        seed_demo(store)
        area_id = store.areas(store.clients()[0]["id"])[args.area]["id"]
    clients_page, timeline_page = [], []
    for _ in range(args.runs + 1):  # the first run warms imports up and is not counted
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.session_state["area_id"] = area_id
        start = time.perf_counter()
        at.run()
        clients_page.append(time.perf_counter() - start)
        start = time.perf_counter()
        at.switch_page("app_pages/timeline.py").run()
        timeline_page.append(time.perf_counter() - start)
        assert not at.exception, at.exception
        assert at.get("iframe") or at.warning, "the page showed neither the wipe nor why not"
    clients_median, timeline_median = statistics.median(clients_page[1:]), statistics.median(timeline_page[1:])
    print(f"demo area {args.area}, {args.runs} fresh sessions, medians")
    print(f"Clients page (baseline)           : {clients_median:.2f} s")
    print(f"Timeline page, whole script run   : {timeline_median:.2f} s  (ratio {timeline_median / clients_median:.1f})")
    print(f"target <= 2 s                     : {'met' if timeline_median <= 2.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
