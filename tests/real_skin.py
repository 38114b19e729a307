"""The shared real photos of skin (../shared/real_skin, see its README): loaders and the figures the
issue asks for, used by tests/test_real_skin.py (a subset) and bench/eval_real_skin.py (all of them).

Never copied into the repository: read from ``<repo>/../shared/real_skin``.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from skinscan import InputError, analyze, pipeline

REAL_SKIN = Path(__file__).resolve().parents[1].parent / "shared" / "real_skin"
#: The loose box drawn around a wound's expert mask: its extent times this each way, clipped to the
#: photo (as a practitioner draws it: the wound with some skin around).
WOUND_BOX_SCALE = 1.4


def wound_names():
    """Stems of the wound photos with a mask (sorted)."""
    return sorted(p.stem for p in (REAL_SKIN / "wound" / "labels").glob("*.png"))


def tattoo_names():
    """Stems of the tattoo photos with boxes (sorted)."""
    return sorted(p.stem for p in (REAL_SKIN / "tattoo" / "boxes").glob("*.txt"))


def load_rgb(path):
    """A photo as uint8 RGB."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(bgr[..., ::-1])


def wound(name):
    """(photo, expert mask, loose box x, y, w, h) of a wound photo."""
    photo = load_rgb(REAL_SKIN / "wound" / "images" / f"{name}.png")
    mask = cv2.imread(str(REAL_SKIN / "wound" / "labels" / f"{name}.png"), cv2.IMREAD_GRAYSCALE) > 127
    return photo, mask, loose_box(mask, WOUND_BOX_SCALE)


def tattoo(name):
    """(photo, [boxes x, y, w, h]) of a tattoo photo."""
    matches = list((REAL_SKIN / "tattoo" / "images").glob(f"{name}.*"))
    photo = load_rgb(matches[0])
    height, width = photo.shape[:2]
    boxes = []
    for line in (REAL_SKIN / "tattoo" / "boxes" / f"{name}.txt").read_text().split("\n"):
        if line.strip():
            x1, y1, x2, y2 = (int(round(float(v))) for v in line.split()[:4])
            x1, y1, x2, y2 = max(0, x1), max(0, y1), min(width, x2), min(height, y2)
            if x2 - x1 >= 8 and y2 - y1 >= 8:
                boxes.append((x1, y1, x2 - x1, y2 - y1))
    return photo, boxes


def loose_box(mask, scale):
    """Box (x, y, w, h) around a mask's pixels, ``scale`` times their extent each way, inside the photo."""
    ys, xs = np.nonzero(mask)
    cx, cy = (xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2
    w, h = (xs.max() - xs.min() + 1) * scale, (ys.max() - ys.min() + 1) * scale
    x0, y0 = max(0, int(round(cx - w / 2))), max(0, int(round(cy - h / 2)))
    x1, y1 = min(mask.shape[1], int(round(cx + w / 2))), min(mask.shape[0], int(round(cy + h / 2)))
    return (x0, y0, x1 - x0, y1 - y0)


def padding(photo):
    """Black padding of a photo (every channel ≤ 8 of 255, connected to the edge): truth independent
    of the skin map."""
    dark = (photo.max(axis=2) <= 8).astype(np.uint8)
    count, labels = cv2.connectedComponents(dark, connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    touching = np.zeros(count, bool)
    touching[edge] = True
    touching[0] = False
    return touching[labels]


def dice(found, truth):
    """2|A∩B| / (|A| + |B|)."""
    return float(2 * (found & truth).sum() / max(found.sum() + truth.sum(), 1))


def box_mask(box, shape):
    """Boolean mask of a box."""
    mask = np.zeros(shape[:2], bool)
    x, y, w, h = box
    mask[y : y + h, x : x + w] = True
    return mask


@dataclass
class Reading:
    """One analysed box of a real photo."""

    name: str
    refused: str | None  # the one-line message when analyze refused
    dice: float | None = None  # wounds: found area against the expert mask
    box_dice: float | None = None  # wounds: the box itself against the mask (the baseline)
    delta_l: float | None = None
    delta_a: float | None = None
    inside_box: float | None = None  # fraction of the found area inside the box
    reference_on_padding: int = 0  # reference pixels on black padding
    reference_on_truth: int = 0  # wounds: reference pixels inside the expert mask
    reference_pixels: int = 0
    seconds: float = 0.0
    skin_map_seconds: float = 0.0


class SkinMapTimer:
    """Times every skin map the pipeline computes (to report its share of analyze)."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        self._original = pipeline.skin.skin_map

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return self._original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        pipeline.skin.skin_map = timed
        return self

    def __exit__(self, *exc):
        pipeline.skin.skin_map = self._original


def _timed_analysis(photo, box, reading):
    """Analyse ``photo`` in ``box``, noting on ``reading`` the time taken (and the skin map's share)
    or the refusal; returns the analysis, or None when it was refused."""
    with SkinMapTimer() as timer:
        start = time.perf_counter()
        try:
            analysis = analyze(photo, roi=box)
        except InputError as error:
            reading.refused = str(error)
            return None
        reading.seconds = time.perf_counter() - start
    reading.skin_map_seconds = timer.seconds
    return analysis


def read_wound(name):
    """Analyse a wound photo in its loose box; the reading against its expert mask."""
    photo, truth, box = wound(name)
    reading = Reading(name, None, box_dice=dice(box_mask(box, truth.shape), truth))
    analysis = _timed_analysis(photo, box, reading)
    if analysis is None:
        return reading
    found, reference = analysis.full_mask(), analysis.full_mask("reference")
    reading.dice = dice(found, truth)
    reading.delta_l, reading.delta_a = analysis.contrast.delta_l, analysis.contrast.delta_a
    reading.inside_box = float(found[box_mask(box, truth.shape)].sum() / max(found.sum(), 1))
    reading.reference_on_padding = int((reference & padding(photo)).sum())
    reading.reference_on_truth = int((reference & truth).sum())
    reading.reference_pixels = int(reference.sum())
    return reading


def read_tattoo(name):
    """Analyse every labelled box of a tattoo photo; a reading per box."""
    photo, boxes = tattoo(name)
    pad = padding(photo)
    readings = []
    for index, box in enumerate(boxes):
        reading = Reading(f"{name}#{index}", None)
        analysis = _timed_analysis(photo, box, reading)
        if analysis is None:
            readings.append(reading)
            continue
        found, reference = analysis.full_mask(), analysis.full_mask("reference")
        reading.delta_l, reading.delta_a = analysis.contrast.delta_l, analysis.contrast.delta_a
        reading.inside_box = float(found[box_mask(box, photo.shape)].sum() / max(found.sum(), 1))
        reading.reference_on_padding = int((reference & pad).sum())
        readings.append(reading)
    return readings


def summary(wounds, tattoos):
    """The issue's figures from wound and tattoo readings (a dict of numbers)."""
    measured_w = [r for r in wounds if r.refused is None]
    measured_t = [r for r in tattoos if r.refused is None]
    out = {
        "wounds": len(wounds),
        "wound_refusals": len(wounds) - len(measured_w),
        "wound_dice_median": float(np.median([r.dice for r in measured_w])) if measured_w else None,
        "wound_box_dice_median": float(np.median([r.box_dice for r in wounds])) if wounds else None,
        "wound_redder_percent": 100.0 * np.mean([r.delta_a > 0 for r in measured_w]) if measured_w else None,
        "wound_reference_on_padding": sum(r.reference_on_padding for r in measured_w),
        "wound_reference_on_wound": sum(r.reference_on_truth for r in measured_w),
        "wound_reference_pixels": sum(r.reference_pixels for r in measured_w),
        "tattoo_boxes": len(tattoos),
        "tattoo_refusals": len(tattoos) - len(measured_t),
        "ink_darker_percent": 100.0 * np.mean([r.delta_l < 0 for r in measured_t]) if measured_t else None,
        "inside_box_percent_min": 100.0 * min(r.inside_box for r in measured_t) if measured_t else None,
        "tattoo_reference_on_padding": sum(r.reference_on_padding for r in measured_t),
    }
    timed = [r for r in measured_w + measured_t if r.seconds > 0]
    out["skin_map_share_percent"] = 100.0 * sum(r.skin_map_seconds for r in timed) / max(sum(r.seconds for r in timed), 1e-9)
    return out
