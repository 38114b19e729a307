"""Benchmark: ``skinscan.analyze`` end to end on a 12-megapixel photo, and how its cost grows with
the region measured (not the frame).

Run: ``.venv/bin/python bench/bench_analyze.py [--runs 7]``. Baseline in the same run: ``calibrate``
alone on the same photo (what every analysis pays once), so the ratio shows what the area costs.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from scene import Camera, CardPlacement, Lesion, add_lesions, render_scene  # noqa: E402

from timing import median_time  # noqa: E402

from skinscan import analyze, calibrate, load_photo  # noqa: E402


def photo_with_lesion(radius_fraction):
    scene = render_scene(
        4000, 3000, background_lab=(62.0, 13.0, 17.0),
        card=CardPlacement(centre=(0.22, 0.3), width_fraction=0.25, rotation_deg=10),
        seed=4,
    )
    lesion = Lesion(centre=(0.62, 0.6), radii=(radius_fraction, radius_fraction * 0.8), lab=(58.0, 24.0, 16.0), seed=4)
    (_, mask), = add_lesions(scene, [lesion])
    photo = Camera(cct=4500, white_balance=0.7, seed=4).capture(scene.linear)
    ys, xs = mask.nonzero()
    w, h = (xs.max() - xs.min()) * 1.4, (ys.max() - ys.min()) * 1.4
    roi = (int((xs.min() + xs.max()) / 2 - w / 2), int((ys.min() + ys.max()) / 2 - h / 2), int(w), int(h))
    return photo, roi



def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    photo_array, roi = photo_with_lesion(0.03)
    photo = load_photo(photo_array)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "photo.jpg"
        cv2.imwrite(str(path), photo_array[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
        analyze(photo, roi=roi)  # warm-up
        baseline = median_time(lambda: calibrate(photo), args.runs)
        from_photo = median_time(lambda: analyze(photo, roi=roi), args.runs)
        from_file = median_time(lambda: analyze(str(path), roi=roi), args.runs)
        load_only = median_time(lambda: load_photo(str(path)), args.runs)
    print(f"12 MP photo, treated area box {roi[2]}x{roi[3]} px, {args.runs} runs, medians")
    print(f"calibrate only (baseline)          : {baseline:.3f} s")
    print(f"analyze, photo already loaded      : {from_photo:.3f} s  (ratio to baseline {from_photo / baseline:.2f})")
    print(f"analyze from the JPEG file         : {from_file:.3f} s  (of which load_photo {load_only:.3f} s)")
    print(f"target <= 0.35 s (loaded photo)     : {'met' if from_photo <= 0.35 else 'NOT met'}")
    print("cost against the size of the area (same 12 MP frame):")
    for radius in (0.015, 0.03, 0.06, 0.12):
        array, box = photo_with_lesion(radius)
        loaded = load_photo(array)
        calibration = calibrate(loaded)
        seconds = median_time(lambda: analyze(loaded, roi=box, calibration=calibration), max(3, args.runs // 2))
        print(f"  box {box[2]:>4}x{box[3]:<4} px ({box[2] * box[3] / 1e6:5.2f} MP): analyze after calibration {seconds:.3f} s")


if __name__ == "__main__":
    main()
