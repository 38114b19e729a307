"""Benchmark: re-measuring after the practitioner edits the box, with the photo's calibration kept
(as the app keeps it per photo in the session), on a 12-megapixel photo.

Run: ``.venv/bin/python bench/bench_remeasure.py [--runs 9]``. Baseline in the same run: the first
measurement of the photo, which also finds the card and fits the correction.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from bench_analyze import photo_with_lesion  # noqa: E402

from skinscan import analyze, calibrate, load_photo  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    array, (x, y, w, h) = photo_with_lesion(0.03)
    photo = load_photo(array)
    analyze(photo, roi=(x, y, w, h))  # warm-up
    first, again = [], []
    for run in range(args.runs):
        start = time.perf_counter()
        calibration = calibrate(photo)
        analyze(None, roi=(x, y, w, h), calibration=calibration)
        first.append(time.perf_counter() - start)
        # The practitioner nudges the box: a few pixels each way, a little larger.
        edited = (x - 5 - run, y + 3, w + 12, h + 8)
        start = time.perf_counter()
        analyze(None, roi=edited, calibration=calibration)
        again.append(time.perf_counter() - start)
    first_median, again_median = statistics.median(first), statistics.median(again)
    print(f"12 MP photo, box {w}x{h} px, {args.runs} runs, medians")
    print(f"first measurement (card + correction + area) : {first_median:.3f} s")
    print(f"re-measure after a box edit (calibration kept): {again_median:.3f} s  (ratio {again_median / first_median:.2f})")
    print(f"target <= 0.3 s                               : {'met' if again_median <= 0.3 else 'NOT met'}")


if __name__ == "__main__":
    main()
