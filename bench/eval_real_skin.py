"""Evaluation on the shared real skin photos (../shared/real_skin): the issue's figures.

Run: ``.venv/bin/python bench/eval_real_skin.py [--limit N] [--verbose]``. Prints, for the wound photos
(expert masks, a loose box 1.4x each mask's extent): the found area's Dice median against the box's own
(the baseline), refusals, wounds read redder, reference pixels on black padding or on the wound; for the
tattoo photos (hand-drawn boxes): ink read darker than the skin, the found area's share inside its box,
refusals, reference on padding; and the skin map's share of analyze's time.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import real_skin  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N photos of each kind")
    parser.add_argument("--verbose", action="store_true", help="one line per photo")
    args = parser.parse_args()
    if not real_skin.REAL_SKIN.exists():
        sys.exit(f"{real_skin.REAL_SKIN} not found")
    wounds = [real_skin.read_wound(name) for name in real_skin.wound_names()[: args.limit]]
    tattoos = [r for name in real_skin.tattoo_names()[: args.limit] for r in real_skin.read_tattoo(name)]
    if args.verbose:
        for r in wounds:
            print(f"wound {r.name:>6}: " + (f"refused: {r.refused}" if r.refused else
                  f"Dice {r.dice:.3f} (box {r.box_dice:.3f}) ΔL* {r.delta_l:+.1f} Δa* {r.delta_a:+.1f} "
                  f"ref on pad {r.reference_on_padding} on wound {r.reference_on_truth} of {r.reference_pixels}"))
        for r in tattoos:
            print(f"tattoo {r.name:>8}: " + (f"refused: {r.refused}" if r.refused else
                  f"ΔL* {r.delta_l:+.1f} Δa* {r.delta_a:+.1f} inside box {100 * r.inside_box:.0f}%"))
    figures = real_skin.summary(wounds, tattoos)
    dice = [r.dice for r in wounds if r.refused is None]
    print(f"wounds: {figures['wounds']} photos, refusals {figures['wound_refusals']}")
    print(f"  Dice median {figures['wound_dice_median']:.3f} (target >= 0.75; the box alone {figures['wound_box_dice_median']:.3f});"
          f" quartiles {np.percentile(dice, 25):.3f} / {np.percentile(dice, 75):.3f}")
    print(f"  read redder than the skin: {figures['wound_redder_percent']:.0f} %")
    print(f"  reference pixels on black padding: {figures['wound_reference_on_padding']}, on the wound: "
          f"{figures['wound_reference_on_wound']} of {figures['wound_reference_pixels']}")
    print(f"tattoos: {figures['tattoo_boxes']} boxes, refusals {figures['tattoo_refusals']}")
    print(f"  ink darker than the skin: {figures['ink_darker_percent']:.0f} % (target >= 90 %)")
    print(f"  found area inside its box: at least {figures['inside_box_percent_min']:.0f} % (target >= 85 %)")
    print(f"  reference pixels on black padding: {figures['tattoo_reference_on_padding']}")
    print(f"skin map share of analyze time: {figures['skin_map_share_percent']:.0f} % (target <= 30 %)")


if __name__ == "__main__":
    main()
