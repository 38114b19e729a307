"""How steady fade is on the shared real tattoo pairs when the follow-up photo changes a little.

Run: ``.venv/bin/python bench/eval_pair_stability.py [--reverse]``. For every ``same`` pair of
shared/real_skin/tattoo/pairs.json (an unchanged tattoo photographed twice), the follow-up is compared as
it is and after each of five changes a photo goes through anyway: saved again as JPEG (quality 92),
1.05 and 0.95 times as bright, cropped by 0.5 % on each side and scaled back, blurred (Gaussian σ 0.6 px);
each is saved as JPEG quality 92 before it is read. Prints the fade (and the alignment's confidence, and
"few features" for a fit on fewer than register.MIN_INLIERS matches) of each version, then, over all of them, how many were aligned with |fade| <= 15 %, and per pair the range of
fade (the largest minus the smallest): what a photo taken again a moment later could read.
"""

import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from eval_real_pairs import REAL, tattoo_box  # noqa: E402

from skinscan import InputError, compare, load_photo  # noqa: E402

CHANGES = ("as taken", "saved again", "brighter", "darker", "cropped", "blurred")


def changed(rgb, change):
    """``rgb`` (uint8) after one of CHANGES, through a JPEG at quality 92 (but "as taken")."""
    if change == "as taken":
        return rgb
    height, width = rgb.shape[:2]
    if change == "brighter":
        rgb = np.clip(rgb * 1.05, 0, 255).astype(np.uint8)
    elif change == "darker":
        rgb = np.clip(rgb * 0.95, 0, 255).astype(np.uint8)
    elif change == "cropped":
        dy, dx = int(height * 0.005), int(width * 0.005)
        rgb = cv2.resize(rgb[dy:height - dy, dx:width - dx], (width, height), interpolation=cv2.INTER_LINEAR)
    elif change == "blurred":
        rgb = cv2.GaussianBlur(rgb, (0, 0), 0.6)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def main():
    pairs = [p for p in json.loads((REAL / "pairs.json").read_text())["pairs"] if p["view"] == "same"]
    if "--reverse" in sys.argv[1:]:
        pairs = [{**pair, "baseline": pair["followup"], "followup": pair["baseline"]} for pair in pairs]
    within, total, ranges = 0, 0, []
    for pair in pairs:
        baseline = load_photo(REAL / "images" / pair["baseline"])
        followup = load_photo(REAL / "images" / pair["followup"]).pixels
        box = tattoo_box(pair["baseline"])
        fades, shown = [], []
        for change in CHANGES:
            try:
                comparison = compare(baseline, load_photo(changed(followup, change)), roi=box)
                if comparison.fade_percent is None:  # the area did not stand out at the baseline
                    shown.append(f"{change} fade not defined")
                    continue
                fades.append(comparison.fade_percent)
                registration = comparison.registration
                shown.append(f"{change} {comparison.fade_percent:+.0f} ({registration.confidence:.2f}"
                             + (", few features" if registration.method == "texture" else "") + ")")
            except InputError:
                shown.append(f"{change} refused")
        total += len(CHANGES)
        within += sum(abs(fade) <= 15 for fade in fades)
        ranges.append(max(fades) - min(fades) if fades else float("nan"))
        print(f"{pair['baseline']} -> {pair['followup']}: " + ", ".join(shown) + f"; range {ranges[-1]:.0f} points")
    print(f"aligned with |fade| <= 15 %: {within} of {total}; fade range per pair: median {np.nanmedian(ranges):.0f}, "
          f"largest {np.nanmax(ranges):.0f} points")


if __name__ == "__main__":
    main()
