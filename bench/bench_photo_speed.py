"""Benchmark: a 12 MP photo from its JPEG file: a photo with no card decided, and ``analyze`` end to end,
each against ``cv2.imread`` of the same file measured in the same run.

Run: ``.venv/bin/python bench/bench_photo_speed.py [--runs 7]``. The photos are rendered by the test
scene generator (tests/scene.py) and written as JPEG (quality 92). Targets (issue 10): no-card 12 MP
decided in <= 0.4 s; analyze from a 12 MP JPEG <= 0.35 s (about 5x ``cv2.imread``).
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

from bench_analyze import photo_with_lesion  # noqa: E402
from scene import Camera, Lesion, add_lesions, render_scene  # noqa: E402
from timing import median_time  # noqa: E402

from skinscan import analyze, calibrate, load_photo  # noqa: E402


def photo_without_card():
    """4000 x 3000 skin with a reddened area and no card."""
    scene = render_scene(4000, 3000, background_lab=(62.0, 13.0, 17.0), card=None, seed=5)
    add_lesions(scene, [Lesion(centre=(0.5, 0.5), radii=(0.05, 0.04), lab=(55.0, 22.0, 16.0), seed=5)])
    return Camera(cct=4500, white_balance=0.7, seed=5).capture(scene.linear)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with_card, roi = photo_with_lesion(0.03)
    no_card = photo_without_card()
    with tempfile.TemporaryDirectory() as folder:
        card_path, bare_path = str(Path(folder) / "card.jpg"), str(Path(folder) / "no_card.jpg")
        cv2.imwrite(card_path, with_card[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
        cv2.imwrite(bare_path, no_card[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
        assert analyze(card_path, roi=roi).calibration.found  # warm-up, and the card is really read
        assert not calibrate(bare_path).found
        imread = median_time(lambda: cv2.imread(card_path), args.runs)
        load = median_time(lambda: load_photo(card_path), args.runs)
        decided = median_time(lambda: calibrate(bare_path), args.runs)
        measured = median_time(lambda: analyze(card_path, roi=roi), args.runs)
    print(f"12 MP JPEGs (4000x3000, quality 92), {args.runs} runs each, medians")
    print(f"cv2.imread (baseline)              : {imread:.3f} s")
    print(f"load_photo                         : {load:.3f} s  (x{load / imread:.2f} cv2.imread)")
    print(f"calibrate, photo without a card    : {decided:.3f} s  (x{decided / imread:.2f} cv2.imread)")
    print(f"analyze, photo with card, box {roi[2]}x{roi[3]}: {measured:.3f} s  (x{measured / imread:.2f} cv2.imread)")
    print(f"target no-card <= 0.4 s            : {'met' if decided <= 0.4 else 'NOT met'}")
    print(f"target analyze <= 0.35 s           : {'met' if measured <= 0.35 else 'NOT met'}")


if __name__ == "__main__":
    main()
