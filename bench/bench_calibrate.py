"""Benchmark: ``skinscan.calibrate`` (detection + fit) on a 12-megapixel photo, beside OpenCV's own
mcc detection at full resolution, measured in the same run.

Run: ``.venv/bin/python bench/bench_calibrate.py [--runs 7]``. Prints medians and the ratio.
The photo is rendered by the test scene generator (tests/scene.py), so the run needs no data files.
"""

import argparse
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from scene import Camera, CardPlacement, render_scene  # noqa: E402

from skinscan import calibrate, load_photo  # noqa: E402
from timing import times  # noqa: E402


def twelve_megapixel_photo():
    """A 4000 x 3000 JPEG-like photo with a Classic card a quarter of the frame wide."""
    scene = render_scene(
        4000, 3000,
        card=CardPlacement(centre=(0.3, 0.35), width_fraction=0.25, rotation_deg=15, perspective=0.1),
        surfaces=[(0.6, 0.5, 0.2, 0.2, (60.0, 18.0, 20.0))],
        seed=3,
    )
    return Camera(cct=4500, white_balance=0.7, seed=3).capture(scene.linear)



def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    photo = load_photo(twelve_megapixel_photo())
    bgr_full = cv2.cvtColor(np.clip(photo.rgb * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR)

    def opencv_mcc_full_resolution():
        detector = cv2.mcc.CCheckerDetector.create()
        detector.setColorChartType(cv2.mcc.MCC24)
        assert detector.process(bgr_full, 1)

    def skinscan_calibrate():
        result = calibrate(photo)
        assert result.found

    calibrate(photo)  # warm-up (imports, lookup tables)
    baseline = times(opencv_mcc_full_resolution, args.runs)
    ours = times(skinscan_calibrate, args.runs)
    median_base, median_ours = statistics.median(baseline), statistics.median(ours)
    print(f"photo: {photo.width}x{photo.height} ({photo.width * photo.height / 1e6:.1f} MP), {args.runs} runs each")
    print(f"opencv mcc detect, full resolution : median {median_base:.3f} s  (min {min(baseline):.3f}, max {max(baseline):.3f})")
    print(f"skinscan calibrate (detect + fit)  : median {median_ours:.3f} s  (min {min(ours):.3f}, max {max(ours):.3f})")
    print(f"ratio skinscan / opencv mcc        : {median_ours / median_base:.2f}")
    print(f"target <= 0.25 s                   : {'met' if median_ours <= 0.25 else 'NOT met'}")


if __name__ == "__main__":
    main()
