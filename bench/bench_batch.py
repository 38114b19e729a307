"""Benchmark: `skinscan batch` photos per second, serial against a Dask LocalCluster, and the per-photo
overhead of the cluster path.

Run: ``.venv/bin/python bench/bench_batch.py [--manifest sample_images/manifest.csv] [--runs 3]``.

Each run measures the whole manifest into a fresh output folder (nothing resumed), in this order:
serially (the baseline of the same run), on a LocalCluster of 1 worker process (same work, so the
difference is what the cluster path costs: task dispatch, moving results back, a worker's cold
caches) and on a LocalCluster of 2 worker processes (what a 2-core machine gains). Clusters are
started once, before their runs; their start-up time is reported on its own. Medians over the runs;
the results of the three paths are checked to be identical.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skinscan.batch import items_from_manifest, local_cluster, run_batch  # noqa: E402


def _timed_runs(items, runs, client=None):
    seconds, rows = [], None
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            rows = run_batch(items, out, client=client, progress=False)
            seconds.append(time.perf_counter() - start)
    return seconds, [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", default=str(ROOT / "sample_images" / "manifest.csv"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    items = items_from_manifest(args.manifest)
    count = len(items)
    run_batch(items[:1], tempfile.mkdtemp(), progress=False)  # warm-up: imports, first decode
    results = {}
    serial, serial_rows = _timed_runs(items, args.runs)
    results["serial"] = serial
    identical = True
    for workers in (1, 2):
        start = time.perf_counter()
        client = local_cluster(workers)
        client.wait_for_workers(workers)
        started = time.perf_counter() - start
        try:
            seconds, rows = _timed_runs(items, args.runs, client)
        finally:
            cluster = client.cluster
            client.close()
            cluster.close()
        identical = identical and rows == serial_rows
        results[f"{workers} worker{'s' if workers > 1 else ''}"] = seconds
        print(f"LocalCluster with {workers} worker(s) started in {started:.1f} s", flush=True)
    base = statistics.median(serial)
    print(f"{count} photos from {args.manifest}, {args.runs} runs each, medians:")
    for name, seconds in results.items():
        median = statistics.median(seconds)
        print(f"  {name:10s} {median:7.2f} s  {count / median:5.2f} photos/s  "
              f"{median / base:4.2f}x serial time   (runs: {', '.join(f'{s:.2f}' for s in seconds)})")
    overhead = (statistics.median(results["1 worker"]) - base) / count
    print(f"cluster-path overhead per photo (1 worker - serial): {overhead * 1000:.0f} ms")
    print(f"results identical on every path: {identical}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
