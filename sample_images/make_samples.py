"""Make the demo photos in sample_images/ with their true values (truth.json), deterministically.

Run from the repository root: ``.venv/bin/python sample_images/make_samples.py``. Uses the rendered-
scene generator of the tests (tests/scene.py). Every photo holds a ColorChecker Classic and carries
its visit date in EXIF (DateTimeOriginal). Four demo series plus one card check:

- ``needling_*``: microneedling redness on light skin, right after, day 1, day 2;
- ``scar_*``: a hypopigmented scar on tan skin through three skin-needling sessions;
- ``tattoo_*``: black tattoo ink fading over four removal sessions;
- ``brow_*``: a permanent-makeup brow drifting from warm brown to ash over three years.

The card in the demo photos is a ColorChecker Classic Mini (``--chart mini24``): at the scale of a
close-up of skin, a full-size Classic would not fit beside the area.
"""

import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from scene import (  # noqa: E402
    Camera, CardPlacement, Lesion, add_hair, add_lesions, add_pores, lab_to_linear, loose_box, region_truth,
    render_scene,
)

WIDTH, HEIGHT = 960, 720


def write_jpeg(path, rgb, taken=None, quality=85):
    """Save as JPEG with the visit date as EXIF DateTimeOriginal (``YYYY:MM:DD HH:MM:SS``)."""
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
        exif[0x0132] = taken
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality, exif=exif)
    path.write_bytes(buffer.getvalue())


def visit(name, taken, skin, lesion, camera, card, hair=False, seed=0):
    """Render one visit photo; return its truth record."""
    scene = render_scene(WIDTH, HEIGHT, background_lab=skin, card=card, seed=seed)
    (_, true_mask), = add_lesions(scene, [lesion])
    scene.linear = add_pores(scene.linear, density=0.006, depth=0.2, seed=seed)
    treated, reference = region_truth(scene.linear, true_mask)
    scene.linear = add_hair(scene.linear, count=10 if hair else 4, seed=seed, region=(380, 200, 900, 700))
    write_jpeg(HERE / name, camera.capture(scene.linear), taken)
    delta = treated - reference
    return {
        "taken": taken,
        "roi": list(loose_box(true_mask, 1.4)),
        "true_area_px": int(true_mask.sum()),
        "treated_lab": [round(float(v), 2) for v in treated],
        "reference_lab": [round(float(v), 2) for v in reference],
        "delta_l": round(float(delta[0]), 2),
        "delta_a": round(float(delta[1]), 2),
        "delta_b": round(float(delta[2]), 2),
        "camera": {"cct_k": camera.cct, "white_balance": camera.white_balance},
        "chart": "mini24",
    }


def blend_lab(lab_a, lab_b, fraction_b):
    """The colour of a mix of two surfaces (in linear light), as L*a*b*."""
    from scene import linear_to_lab

    mix = (1 - fraction_b) * lab_to_linear(lab_a) + fraction_b * lab_to_linear(lab_b)
    return tuple(float(v) for v in linear_to_lab(mix))


def series():
    truth = {}
    # Microneedling redness on light skin: settles over two days.
    skin = (66.0, 11.0, 16.0)
    for day, (da, dl, cct) in enumerate([(10.0, -3.0, 5200), (5.0, -1.5, 4300), (1.0, -0.3, 6000)]):
        lesion = Lesion(centre=(0.62, 0.58), radii=(0.12, 0.08), lab=(skin[0] + dl, skin[1] + da, skin[2] + 1),
                        softness=0.5, irregularity=0.05, seed=40)
        truth[f"needling_day{day}.jpg"] = visit(
            f"needling_day{day}.jpg", f"2026:10:{5 + day:02d} 10:30:00", skin, lesion,
            Camera(cct=cct, white_balance=0.7, exposure=0.8, seed=40 + day),
            CardPlacement(centre=(0.22, 0.28), width_fraction=0.3, rotation_deg=4 * day), seed=40,
        )
    # Hypopigmented scar on tan skin: blends in over three needling sessions.
    skin = (50.0, 16.0, 24.0)
    for session, (dl, db) in enumerate([(9.0, -5.0), (6.0, -3.5), (3.0, -1.5)], start=1):
        lesion = Lesion(centre=(0.6, 0.6), radii=(0.11, 0.035), lab=(skin[0] + dl, skin[1] - 2, skin[2] + db),
                        softness=0.15, angle_deg=20, seed=50)
        truth[f"scar_session{session}.jpg"] = visit(
            f"scar_session{session}.jpg", f"2026:0{2 + 2 * session}:12 15:00:00", skin, lesion,
            Camera(cct=4800 - 300 * session, white_balance=0.6, exposure=0.85, seed=50 + session),
            CardPlacement(centre=(0.22, 0.3), width_fraction=0.3, rotation_deg=-6), hair=True, seed=50,
        )
    # Tattoo removal: black ink fading towards the skin over four sessions.
    skin, ink = (64.0, 12.0, 17.0), (28.0, 1.0, -3.0)
    for session, fade in enumerate([0.0, 0.35, 0.6, 0.8], start=1):
        lesion = Lesion(centre=(0.63, 0.6), radii=(0.1, 0.09), lab=blend_lab(ink, skin, fade),
                        softness=0.05, irregularity=0.15, seed=60)
        truth[f"tattoo_session{session}.jpg"] = visit(
            f"tattoo_session{session}.jpg", f"2026:{session * 2:02d}:03 11:00:00", skin, lesion,
            Camera(cct=5500, white_balance=0.8, exposure=0.85, seed=60 + session),
            CardPlacement(centre=(0.22, 0.3), width_fraction=0.3, rotation_deg=8), seed=60,
        )
        truth[f"tattoo_session{session}.jpg"]["ink_fade_fraction"] = fade
    # Permanent-makeup brow drifting from warm brown to ash over three years.
    skin = (62.0, 13.0, 18.0)
    for year, lab in enumerate([(38.0, 10.0, 13.0), (42.0, 6.0, 6.0), (46.0, 2.0, -1.0)]):
        lesion = Lesion(centre=(0.62, 0.5), radii=(0.16, 0.035), lab=lab, softness=0.3, angle_deg=-8, seed=70)
        truth[f"brow_year{year}.jpg"] = visit(
            f"brow_year{year}.jpg", f"{2024 + year}:06:20 09:00:00", skin, lesion,
            Camera(cct=3600 + 600 * year, white_balance=0.6, exposure=0.85, seed=70 + year),
            CardPlacement(centre=(0.22, 0.3), width_fraction=0.3, rotation_deg=-3), seed=70,
        )
    return truth


def card_check():
    """A warm-lit photo of forearm skin with the card, for ``skinscan calibrate``."""
    skin = (62.0, 13.0, 18.0)
    scene = render_scene(
        WIDTH, HEIGHT, background_lab=skin,
        card=CardPlacement(centre=(0.32, 0.36), width_fraction=0.34, rotation_deg=-8, perspective=0.08),
        seed=21,
    )
    write_jpeg(HERE / "card_check.jpg", Camera(cct=3800, white_balance=0.6, exposure=0.8, seed=21).capture(scene.linear),
               "2026:11:02 14:00:00")
    return {"card_check.jpg": {"skin_lab_d65": list(skin), "card_corners": np.round(scene.chart_corners, 2).tolist(),
                               "camera": {"cct_k": 3800, "white_balance": 0.6}}}


def write_manifest(truth):
    """``manifest.csv`` for ``skinscan batch``: each photo with its box, chart, demo client, area, date."""
    import csv

    from skinscan.demo import DEMO_AREAS, DEMO_CLIENT

    area_of = {name: area for area, names in DEMO_AREAS for name in names}
    with open(HERE / "manifest.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["photo", "roi", "mask", "reference_roi", "chart", "client", "area", "date"])
        for name, record in truth.items():
            taken = record.get("taken", "")
            date = f"{taken[:10].replace(':', '-')}T{taken[11:16]}" if taken else ""
            writer.writerow([name, ",".join(map(str, record["roi"])) if "roi" in record else "", "", "",
                             record.get("chart", "classic24"), DEMO_CLIENT if name in area_of else "",
                             area_of.get(name, ""), date])


def main():
    truth = {**card_check(), **series()}
    (HERE / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    write_manifest(truth)


if __name__ == "__main__":
    main()
