"""Benchmark: start-up of ``import skinscan`` and ``skinscan --help``, beside a bare interpreter start
measured in the same run.

Run: ``.venv/bin/python bench/bench_startup.py [--runs 9]``. Each figure is the median wall time of
fresh processes. Targets (issue 10): ``skinscan --help`` <= 0.3 s, ``import skinscan`` <= 0.5 s.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def process_seconds(command, runs):
    """Median wall seconds of ``runs`` fresh runs of ``command``."""
    measured = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        measured.append(time.perf_counter() - start)
    return statistics.median(measured)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    python = sys.executable
    script = Path(python).with_name("skinscan")
    help_command = [str(script), "--help"] if script.exists() else [python, "-m", "skinscan.cli", "--help"]
    figures = {
        "bare interpreter (baseline)": process_seconds([python, "-c", "pass"], args.runs),
        "import skinscan": process_seconds([python, "-c", "import skinscan"], args.runs),
        "skinscan --help": process_seconds(help_command, args.runs),
        "import skinscan.pipeline (what a measurement loads)": process_seconds([python, "-c", "import skinscan.pipeline"], args.runs),
    }
    baseline = figures["bare interpreter (baseline)"]
    print(f"{args.runs} fresh processes each, medians")
    for name, seconds in figures.items():
        print(f"{name:<52}: {seconds:.3f} s  (x{seconds / baseline:.1f} the bare interpreter)")
    print(f"target import skinscan <= 0.5 s : {'met' if figures['import skinscan'] <= 0.5 else 'NOT met'}")
    print(f"target skinscan --help <= 0.3 s : {'met' if figures['skinscan --help'] <= 0.3 else 'NOT met'}")


if __name__ == "__main__":
    main()
