"""Benchmark: ``skinscan.compare`` of two 12-megapixel photos (re-posed, re-lit, faded).

Run: ``.venv/bin/python bench/bench_compare.py [--runs 5]``. Baseline in the same run: ``analyze`` of
the baseline photo alone (what a single visit costs), so the ratio shows what comparing adds.
The pair comes from the test generator (tests/visits.py), rendered at 800 x 600 and enlarged 5x to
4000 x 3000.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from visits import visit_pair  # noqa: E402

from timing import median_time  # noqa: E402

from skinscan import analyze, compare, load_photo  # noqa: E402



def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pair = visit_pair(1, fade=0.5, upscale=5)
    baseline, followup = load_photo(pair.baseline), load_photo(pair.followup)
    result = compare(baseline, followup, roi=pair.roi)  # warm-up, and a check that it aligned
    assert result.registration.ok
    single = median_time(lambda: analyze(baseline, roi=pair.roi), args.runs)
    both = median_time(lambda: compare(baseline, followup, roi=pair.roi), args.runs)
    print(f"two {baseline.width}x{baseline.height} photos, box {pair.roi[2]}x{pair.roi[3]} px, {args.runs} runs, medians")
    print(f"analyze baseline alone (baseline)  : {single:.3f} s")
    print(f"compare baseline + follow-up       : {both:.3f} s  (ratio {both / single:.2f})")
    print(f"target <= 0.8 s                    : {'met' if both <= 0.8 else 'NOT met'}")
    print(f"(fade {result.fade_percent:.1f} %, truth {pair.true_fade_percent:.1f} %; {result.registration.inliers} matches)")


if __name__ == "__main__":
    main()
