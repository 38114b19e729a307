"""Make the demo photos in sample_images/ with their true values (truth.json), deterministically.

Run from the repository root: ``.venv/bin/python sample_images/make_samples.py``. Uses the rendered-
scene generator of the tests (tests/scene.py): every photo holds a ColorChecker Classic.
"""

import json
import sys
from pathlib import Path

import cv2

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from scene import Camera, CardPlacement, render_scene  # noqa: E402


def write_jpeg(path, rgb, quality=85):
    cv2.imwrite(str(path), rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])


def card_check():
    """A warm-lit photo of forearm skin with the card, for ``skinscan calibrate``."""
    skin = (62.0, 13.0, 18.0)
    scene = render_scene(
        1200, 900,
        background_lab=skin,
        card=CardPlacement(centre=(0.32, 0.36), width_fraction=0.34, rotation_deg=-8, perspective=0.08),
        seed=21,
    )
    photo = Camera(cct=3800, white_balance=0.6, exposure=0.8, seed=21).capture(scene.linear)
    write_jpeg(HERE / "card_check.jpg", photo)
    return {
        "card_check.jpg": {
            "skin_lab_d65": list(skin),
            "card_corners": scene.chart_corners.round(2).tolist(),
            "camera": {"cct_k": 3800, "white_balance": 0.6, "exposure": 0.8},
        }
    }


def main():
    truth = {}
    truth.update(card_check())
    (HERE / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")


if __name__ == "__main__":
    main()
