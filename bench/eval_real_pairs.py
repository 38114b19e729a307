"""Evaluate alignment and fade on the shared real tattoo pairs (shared/real_skin/tattoo/pairs.json).

Run: ``.venv/bin/python bench/eval_real_pairs.py``. For every pair judged by eye: ``same`` (the
unchanged tattoo seen again: should align, |fade| <= 15 %, the mapped box on the follow-up's tattoo
box), ``different`` (should be refused), ``same_changed`` (should align). Prints one line per pair
and the totals the issue asks for.

``--reverse``: the same pairs the other way round (the follow-up as the baseline, with the first
tattoo box of that photo): as many pairs again that the method was not tuned on. The first box of a
photo may frame the tattoo differently (or another part of it) than its partner's.
"""

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from skinscan import InputError, compare, load_photo  # noqa: E402
from skinscan.pipeline import align_photos  # noqa: E402

REAL = ROOT.parent / "shared" / "real_skin" / "tattoo"


def tattoo_box(name):
    """The first tattoo box of a photo, (x, y, w, h)."""
    x1, y1, x2, y2 = (int(v) for v in (REAL / "boxes" / f"{Path(name).stem}.txt").read_text().split()[:4])
    return (x1, y1, x2 - x1, y2 - y1)


def box_overlap(mapped_corners, box):
    """Fraction of the mapped box's bounding rectangle that lies inside ``box`` (x, y, w, h)."""
    x0, y0 = mapped_corners.min(axis=0)
    x1, y1 = mapped_corners.max(axis=0)
    ix = max(0.0, min(x1, box[0] + box[2]) - max(x0, box[0]))
    iy = max(0.0, min(y1, box[1] + box[3]) - max(y0, box[1]))
    return ix * iy / max((x1 - x0) * (y1 - y0), 1e-9)


def evaluate(pair):
    """Align (and, when aligned, compare) one pair; a dict of what was found."""
    base_name, follow_name = pair["baseline"], pair["followup"]
    baseline, followup = load_photo(REAL / "images" / base_name), load_photo(REAL / "images" / follow_name)
    box = tattoo_box(base_name)
    start = time.perf_counter()
    registration = align_photos(baseline, followup, box)
    seconds = time.perf_counter() - start
    found = {"view": pair["view"], "pair": f"{base_name} -> {follow_name}", "aligned": registration.ok,
             "confidence": registration.confidence, "checks": registration.checks, "message": registration.message,
             "seconds": seconds, "fade": None, "on_box": None}
    if registration.ok:
        x, y, w, h = box
        corners = registration.map_points([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
        found["on_box"] = box_overlap(corners, tattoo_box(follow_name))
        try:
            found["fade"] = compare(baseline, followup, roi=box).fade_percent
        except InputError as error:
            found["fade"] = str(error)
    return found


def main():
    pairs = json.loads((REAL / "pairs.json").read_text())["pairs"]
    if "--reverse" in sys.argv[1:]:
        pairs = [{**pair, "baseline": pair["followup"], "followup": pair["baseline"]} for pair in pairs]
    results = [evaluate(pair) for pair in pairs]
    for r in results:
        fade = r["fade"] if not isinstance(r["fade"], float) else f"{r['fade']:+.1f} %"
        on_box = "" if r["on_box"] is None else f" on-box {r['on_box']:.2f}"
        print(f"{r['view']:<13}{r['pair']:<24}{'aligned' if r['aligned'] else 'refused':<9}"
              f"conf {r['confidence']:.2f} {r['checks']} fade {fade}{on_box} {r['message']} ({r['seconds']:.2f} s)")
    same = [r for r in results if r["view"] == "same"]
    different = [r for r in results if r["view"] == "different"]
    changed = [r for r in results if r["view"] == "same_changed"]
    good_same = [r for r in same if r["aligned"] and isinstance(r["fade"], float) and abs(r["fade"]) <= 15
                 and r["on_box"] >= 0.5]
    print(f"same aligned {sum(r['aligned'] for r in same)}/{len(same)}, of which |fade| <= 15 % and on the box "
          f"{len(good_same)}/{len(same)}")
    print(f"different refused {sum(not r['aligned'] for r in different)}/{len(different)} "
          f"(highest confidence {max(r['confidence'] for r in different):.2f})")
    print(f"same_changed aligned {sum(r['aligned'] for r in changed)}/{len(changed)}")
    print(f"median align time {np.median([r['seconds'] for r in results]):.2f} s")


if __name__ == "__main__":
    main()
