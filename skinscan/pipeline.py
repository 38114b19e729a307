"""The method, end to end. The CLI and the app call these functions and nothing else.

``calibrate``: photo -> card (detected, or from four corners) -> verified colour correction.
``analyze``: calibrate -> crop around the area -> correct only the crop -> exclusions (card, hair,
glare, clipped) -> treated area (found in a box, or given) -> reference skin (ring or chosen patch)
-> region medians -> contrast and uncertainty.
``compare``: analyze the baseline -> calibrate the follow-up -> align it on the skin around the area
-> the baseline's area mapped into the follow-up, measured against the baseline's reference skin
mapped there too (the follow-up's own ring when that skin is hidden or thin) -> what changed (fade, redness
resolution, hue drift, spread).
"""

import dataclasses
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from . import card, color, constants, metrics, quality, register, segment, skin
from .errors import InputError
from .io import Photo, load_photo, require_measurable
from .segment import validate_box


@dataclass(frozen=True)
class Calibration:
    """A photo with its card and colour correction.

    Attributes
    ----------
    photo : Photo
    reading : card.CardReading or None
        None when no card was found (or the corners given held no readable chart).
    fit : calibrate.CorrectionFit or None
    quality : quality.QualityVerdict
    warnings : tuple of str
    """

    photo: Photo
    reading: object
    fit: object
    quality: quality.QualityVerdict
    warnings: tuple

    @property
    def found(self):
        """True when a verified card calibrates the photo."""
        return self.fit is not None

    @property
    def leave_one_out(self):
        """The card's corrections with each usable patch left out (for jackknife uncertainties)."""
        return self.fit.leave_one_out if self.found else ()

    def corrected_linear(self, srgb_pixels):
        """Colour-corrected linear sRGB of some pixels (uncorrected, decoded, when there is no card).

        Parameters
        ----------
        srgb_pixels : numpy.ndarray, shape (..., 3)
            Pixels of ``photo.rgb``.

        Returns
        -------
        numpy.ndarray, shape (..., 3)
        """
        if self.fit is None:
            return color.srgb_to_linear(np.asarray(srgb_pixels, dtype=np.float32))
        return self.fit.correction.to_linear_image(srgb_pixels)

    def corrected_image(self):
        """The whole photo colour-corrected, sRGB-encoded float32 (the photo itself without a card)."""
        if self.fit is None:
            return self.photo.rgb
        return self.fit.correction.apply_to_image(self.photo.pixels)

    def card_dict(self):
        """The ``card`` object of the CLI contract."""
        if not self.found:
            return {
                "found": False, "chart": None, "corners": None, "patches": None,
                "patch_rgb": None, "residual_de00": None, "px_per_mm": None,
            }
        reading, fit = self.reading, self.fit
        return {
            "found": True,
            "chart": reading.chart,
            "corners": _rounded(reading.corners, 2),
            "patches": _rounded(reading.centres, 2),
            "patch_rgb": _rounded(reading.patch_srgb, 5),
            "residual_de00": {
                "mean": round(fit.mean_residual, 3),
                "max": round(fit.max_residual, 3),
                "per_patch": _rounded(fit.residual_de00, 3),
            },
            "px_per_mm": round(float(reading.px_per_mm), 4),
        }

    def to_dict(self):
        """The JSON of ``skinscan calibrate --json``."""
        return {
            "card": self.card_dict(),
            "quality": {**self.quality.to_dict(), "photo": self.photo.facts()},
            "warnings": list(self.warnings),
        }


def _rounded(array, digits):
    return np.round(np.asarray(array, dtype=np.float64), digits).tolist()


def calibrate(photo, corners=None, chart="classic24"):
    """Find the colour card in a photo and fit the colour correction on it.

    Parameters
    ----------
    photo : str, os.PathLike, bytes, numpy.ndarray or Photo
        The photo (see :func:`skinscan.io.load_photo`).
    corners : array_like, shape (4, 2), optional
        The four outer corners of the card's patch area, any order, when detection fails.
    chart : str
        "classic24" (default), "mini24" or "passport24": sets the scale (``px_per_mm``).

    Returns
    -------
    Calibration

    Raises
    ------
    InputError
        Unreadable photo, corners outside it, unknown chart.
    """
    photo = require_measurable(load_photo(photo))
    warnings = []
    if corners is not None:
        reading = card.reading_from_corners(photo.pixels, corners, chart=chart, method="manual")
        fit = card.verify(reading)
        if fit is None:
            reading = None
            warnings.append("no chart could be read inside the corners given: colours are not calibrated")
        else:
            reading = dataclasses.replace(reading, usable=fit.usable)
    else:
        if chart not in constants.PATCH_PITCH_MM:
            raise InputError(f"unknown chart {chart!r}")
        reading, fit = card.detect(photo.pixels, chart=chart)
        if reading is None:
            warnings.append("no colour card found: measurements are not colour-calibrated")
    verdict = quality.card_quality(reading, fit, photo.clipped_fraction)
    return Calibration(photo, reading, fit, verdict, tuple(warnings))


#: Skin kept around the box or mask for the reference ring and the skin estimate, as a fraction of
#: the box's longer side (the ring reaches at most 0.42 of it: 0.75 of the equivalent radius).
WORK_MARGIN_FRACTION = 0.6
#: Larger areas are segmented and measured on a regular sub-grid that puts about this many pixels
#: along the box's longer side: medians over a sub-grid are as good, and the cost stays bounded.
WORK_BOX_LONG_SIDE = 200


@dataclass(frozen=True)
class Analysis:
    """A treated area measured against its reference skin.

    Attributes
    ----------
    calibration : Calibration
    crop : tuple of slice
        The part of the photo that was measured (rows, columns).
    treated_mask, reference_mask : numpy.ndarray of bool
        Full resolution, in crop coordinates.
    sample_step : int
        Sub-grid step the area was segmented and measured on (1 = every pixel).
    work : WorkRegion
        The corrected, screened crop the numbers come from.
    edge_width_px : float or None
        Mean width of the area's edge, photo pixels (:func:`segment.edge_width_px`).
    treated, reference : metrics.RegionMeasurement
    contrast : metrics.Contrast
    uncertainty : dict
    warnings : tuple of str
    reference_source : str
        Where the reference skin is: "ring" (around the area), "box" (the patch given), "mapped" (a
        baseline's reference mapped into this follow-up), "shared" (re-measured on skin this photo shares
        with the other visit of a comparison: :func:`shared_reference`).
    """

    calibration: Calibration
    crop: tuple
    treated_mask: np.ndarray
    reference_mask: np.ndarray
    sample_step: int
    work: object
    edge_width_px: float | None
    treated: object
    reference: object
    contrast: object
    uncertainty: dict
    warnings: tuple
    reference_source: str = "ring"

    def full_mask(self, which="treated"):
        """A photo-sized boolean mask of the treated area or the reference skin."""
        mask = np.zeros(self.calibration.photo.shape[:2], dtype=bool)
        mask[self.crop] = self.treated_mask if which == "treated" else self.reference_mask
        return mask

    def to_dict(self):
        """The JSON of ``skinscan analyze --json``."""
        return {
            "card": self.calibration.card_dict(),
            "treated": self.treated.to_dict(with_area=True),
            "reference": {**self.reference.to_dict(with_area=False, with_spread=True), "source": self.reference_source},
            "contrast": self.contrast.to_dict(),
            "quality": {**self.calibration.quality.to_dict(), "photo": self.calibration.photo.facts()},
            "warnings": list(self.warnings),
            "uncertainty": self.uncertainty,
            "skin_tone": {
                "treated": self.treated.ita_category,
                "reference": self.reference.ita_category,
            },
        }


def _as_mask(mask, shape):
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.any(axis=2)
    if mask.shape != tuple(shape[:2]):
        raise InputError(
            f"the mask is {mask.shape[1]}x{mask.shape[0]} but the photo is {shape[1]}x{shape[0]}"
        )
    mask = mask.astype(bool)
    if not mask.any():
        raise InputError("the mask is empty: nothing is marked as treated")
    return mask


def _mask_box(mask):
    """Bounding box (x, y, w, h) of a non-empty mask."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (int(columns[0]), int(rows[0]), int(columns[-1] - columns[0] + 1), int(rows[-1] - rows[0] + 1))


def _work_crop(shape, boxes, margin):
    height, width = shape[:2]
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    x0, y0 = max(0, int(x0 - margin)), max(0, int(y0 - margin))
    x1, y1 = min(width, int(np.ceil(x1 + margin))), min(height, int(np.ceil(y1 + margin)))
    return (slice(y0, y1), slice(x0, x1))


def _card_zone(reading, offset, step, work_shape):
    """The card and its border on the working grid: the patch area grown by about a pitch all round."""
    zone = np.zeros(work_shape[:2], dtype=np.uint8)
    if reading is None:
        return zone.astype(bool)
    centre = reading.corners.mean(axis=0)
    grown = centre + (reading.corners - centre) * (1 + 2.0 / 5.0)
    grown = (grown - offset) / step
    card.cv2.fillConvexPoly(zone, np.round(grown).astype(np.int32), 1)
    return zone.astype(bool)


def _pool_any(mask, work_shape):
    """A finer-grid mask -> the working grid: a cell is set when any of the fine pixels it covers is."""
    if mask.shape[:2] == tuple(work_shape[:2]):
        return mask
    coverage = cv2.resize(mask.astype(np.float32), (work_shape[1], work_shape[0]), interpolation=cv2.INTER_AREA)
    return coverage > 0


def _to_full_resolution(work_mask, step, crop_shape):
    """A working-grid mask back on every pixel of the crop (nearest neighbour)."""
    if step == 1:
        return work_mask
    full = np.repeat(np.repeat(work_mask, step, axis=0), step, axis=1)
    return full[: crop_shape[0], : crop_shape[1]]


def analyze(
    photo,
    roi=None,
    mask=None,
    reference_roi=None,
    whole_roi=False,
    corners=None,
    chart="classic24",
    calibration=None,
):
    """Measure a treated area against the skin around it (or a chosen reference patch).

    Parameters
    ----------
    photo : str, os.PathLike, bytes, numpy.ndarray or Photo
    roi : tuple (x, y, w, h), optional
        A loose box around the treated area; the area is found inside it.
    mask : numpy.ndarray of bool, optional
        The treated area exactly, photo-sized (takes precedence over ``roi``).
    reference_roi : tuple (x, y, w, h), optional
        A patch of untreated skin to compare with instead of the automatic ring.
    whole_roi : bool
        The whole box is the treated area.
    corners, chart
        As for :func:`calibrate`.
    calibration : Calibration, optional
        A calibration of this photo already made (the app keeps one per photo).

    Returns
    -------
    Analysis

    Raises
    ------
    InputError
        Unreadable photo; no box or mask; a box (almost) all outside the photo (one that runs off it
        is clipped to it, with a warning); an empty mask or one of another size; too little skin to
        compare with.
    """
    if calibration is None:
        calibration = calibrate(photo, corners=corners, chart=chart)
    return _analyze(calibration, roi, mask, reference_roi, whole_roi)


@dataclass(frozen=True)
class WorkRegion:
    """The part of a photo an analysis works on: a crop around the area, read on a sub-grid.

    Attributes
    ----------
    crop : tuple of slice
    step : int
        Sub-grid step (1 = every pixel).
    camera, linear, lab : numpy.ndarray
        The crop's pixels as read, colour-corrected linear sRGB, and L*a*b*, on the sub-grid.
    valid : numpy.ndarray of bool
        Pixels that may be measured (not card, hair, glare or clipped).
    skin : skin.SkinMap
        Which pixels are skin of the body part holding the area, lesion on it, card, background, hair.
    """

    crop: tuple
    step: int
    camera: np.ndarray
    linear: np.ndarray
    lab: np.ndarray
    valid: np.ndarray
    skin: skin.SkinMap

    @property
    def offset(self):
        """Photo coordinates (x, y) of the crop's top-left pixel."""
        return np.array([self.crop[1].start, self.crop[0].start])

    @property
    def crop_shape(self):
        """(height, width) of the crop at full resolution."""
        return (self.crop[0].stop - self.crop[0].start, self.crop[1].stop - self.crop[1].start)

    def to_work(self, box):
        """A box (x, y, w, h) in photo pixels -> on the working grid."""
        return _box_on_grid(box, self.offset, self.step)

    def find_area(self, box):
        """The treated area in a box (photo pixels), searched on this region's skin map
        (:func:`segment.treated_area_from_box`): (mask on the working grid, stands_out)."""
        return segment.treated_area_from_box(self.lab, self.valid, self.to_work(box),
                                             self.skin if self.skin.found else None)


def _box_on_grid(box, offset, step):
    """A box (x, y, w, h) in photo pixels -> on a grid of ``step`` whose origin is at ``offset``."""
    x, y = (box[0] - offset[0]) / step, (box[1] - offset[1]) / step
    return (int(round(x)), int(round(y)), max(1, int(round(box[2] / step))), max(1, int(round(box[3] / step))))


#: A mask's bounding box is grown by this fraction each way to seed the skin map: a loose box has
#: skin in its border band, a mask's tight box has the area there.
MASK_BOX_GROWTH = 0.25


def _thin_dark_lines(photo, crop, step, shape):
    """Hair candidates of a photo's region on its working grid ``shape`` (the crop read every
    ``step`` pixels): :func:`segment.hair_mask` on the encoded green channel (× 100, about L* for skin
    tones) read on a grid twice as fine (every ``max(1, step // 2)`` pixels: one or two pixels wide,
    hairs vanish on a coarse grid), pooled (any) onto the working grid."""
    hair_fine = segment.hair_mask(100.0 * photo.region(crop, max(1, step // 2))[..., 1])
    return _pool_any(hair_fine, shape)


def _work_region(calibration, area_box, boxes, tight=False, skin_seed=None, skin_hint=None):
    """Cut, correct and screen the region around ``area_box`` (and ``boxes``) of a calibrated photo.

    ``tight``: ``area_box`` is a mask's bounding box (grown by MASK_BOX_GROWTH to seed the skin map).
    ``skin_seed``: the box (photo pixels, one of ``boxes``) that seeds the skin map instead.
    ``skin_hint``: photo-sized bool, where the skin is known to be (:func:`skin.skin_map`).
    """
    photo = calibration.photo
    crop = _work_crop(photo.shape, [area_box, *boxes], WORK_MARGIN_FRACTION * max(area_box[2], area_box[3]) + 4)
    step = max(1, int(np.ceil(max(area_box[2], area_box[3]) / WORK_BOX_LONG_SIDE)))
    offset = np.array([crop[1].start, crop[0].start])
    camera = photo.region(crop, step)
    linear = calibration.corrected_linear(camera)
    lab = color.linear_srgb_to_lab(linear)
    clipped = np.any(camera >= constants.CLIPPED_LEVEL, axis=2)
    card_zone = _card_zone(calibration.reading, offset, step, camera.shape)
    box_on_grid = _box_on_grid(area_box, offset, step)
    seed_box = box_on_grid
    if tight:
        grow_x, grow_y = MASK_BOX_GROWTH * box_on_grid[2], MASK_BOX_GROWTH * box_on_grid[3]
        seed_box = (box_on_grid[0] - grow_x, box_on_grid[1] - grow_y,
                    box_on_grid[2] + 2 * grow_x, box_on_grid[3] + 2 * grow_y)
    if skin_seed is not None:
        seed_box = _box_on_grid(skin_seed, offset, step)
    card_quad = None if calibration.reading is None else (calibration.reading.corners - offset) / step
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Hairs are found in a second thread while the skin is mapped (the skin map needs them only
        # at its hair step).
        pending_lines = pool.submit(_thin_dark_lines, photo, crop, step, camera.shape)
        skin_map = skin.skin_map(color.linear_to_srgb(np.clip(linear, 0, 1)).astype(np.float32), seed_box,
                                 card_quad=card_quad, lab=lab, lines=pending_lines.result,
                                 skin_hint=None if skin_hint is None else skin_hint[crop][::step, ::step])
        lines = pending_lines.result()
    hair = skin_map.hair if skin_map.found else lines
    if skin_map.found:
        skin_estimate = skin_map.skin_lab
    else:
        outside = ~segment.box_mask(box_on_grid, lab.shape) & ~card_zone
        skin_estimate = np.median(lab[outside], axis=0) if outside.any() else np.median(lab.reshape(-1, 3), axis=0)
    glare = segment.glare_mask(lab, skin_estimate)
    return WorkRegion(crop, step, camera, linear, lab, ~(clipped | card_zone | hair | glare), skin_map)


def _analyze(calibration, roi=None, mask=None, reference_roi=None, whole_roi=False, extra_boxes=(),
             reference_mask=None, on_work=None, seed_box=None, skin_hint=None):
    """:func:`analyze` on a calibration; ``extra_boxes`` (photo pixels) are kept inside the work region.

    ``reference_mask`` (photo-sized bool): a follow-up's reference mapped from its baseline
    (:func:`segment.reference_mapped`); used when enough of it is skin here, else the ring.
    ``seed_box`` (photo pixels, one of ``extra_boxes``): with ``mask``, the box that seeds the skin map
    instead of the mask's bounds grown (a follow-up's: the baseline's box mapped, so that its skin map
    is made as the baseline's was). ``skin_hint`` (photo-sized bool): where the skin is known to be (a
    follow-up: its baseline's skin mapped), for the skin map (:func:`skin.skin_map`).
    ``on_work``: called with the :class:`WorkRegion` as soon as it is read (compare starts the
    follow-up's own segmentation on it while the measurement goes on).
    """
    shape = calibration.photo.shape
    warnings = list(calibration.warnings)
    if mask is None and roi is None:
        raise InputError("give the treated area: a box (--roi) or a mask (--mask)")
    if mask is not None:
        mask = _as_mask(mask, shape)
        area_box = _mask_box(mask)
    else:
        area_box, clipped = segment.box_on_photo(roi, shape, "--roi")
        warnings.extend([clipped] if clipped else [])
    boxes = list(extra_boxes)
    if reference_roi is not None:
        reference_roi, clipped = segment.box_on_photo(reference_roi, shape, "--reference-roi")
        warnings.extend([clipped] if clipped else [])
        boxes.append(reference_roi)
    work = _work_region(calibration, area_box, boxes, tight=mask is not None,
                        skin_seed=seed_box if mask is not None else None, skin_hint=skin_hint)
    if on_work is not None:
        on_work(work)
    crop, step, crop_shape, lab, linear, camera, valid = (
        work.crop, work.step, work.crop_shape, work.lab, work.linear, work.camera, work.valid
    )
    if mask is not None:
        treated_full = mask[crop]
        treated = treated_full[::step, ::step]
    elif whole_roi:
        offset = work.offset
        treated_full = segment.box_mask((area_box[0] - offset[0], area_box[1] - offset[1], *area_box[2:]), crop_shape)
        treated = treated_full[::step, ::step]
    else:
        treated, stands_out = work.find_area(area_box)
        if not stands_out:
            warnings.append("the area does not stand out from the skin around it: the whole box was measured")
        treated_full = _to_full_resolution(treated, step, crop_shape)
    treated_valid = treated & valid
    if treated_valid.sum() < 9 and (treated & work.skin.hair).sum() >= 9:
        # A small, narrow area (a fine wound, a single stroke) can look like a hair to the hair
        # filter: measure it with those pixels rather than not at all.
        treated_valid = treated & (valid | work.skin.hair)
        warnings.append("the area is as thin as a hair: pixels the hair filter marked were measured")
    if treated_valid.sum() < 9:
        raise InputError("the treated area has no measurable pixels (all hair, glare, clipped or card)")
    skin_only = valid & work.skin.skin if work.skin.found else valid
    reference, source = None, "ring"
    if reference_roi is not None:
        reference, source = segment.reference_from_box(work.to_work(reference_roi), treated, valid, lab), "box"
        warnings.extend(segment.patch_in_box_warning(reference_roi, area_box))
    elif reference_mask is not None:
        reference = segment.reference_mapped(reference_mask[crop][::step, ::step], treated, skin_only, lab)
        if reference is None:
            warnings.append(OWN_REFERENCE_WARNING)
        else:
            source = "mapped"
    if reference is None:
        reference = segment.reference_ring(treated, skin_only, lab)

    px_per_mm = calibration.reading.px_per_mm if calibration.found else None
    treated_measurement = metrics.measure_region(
        lab[treated_valid], linear[treated_valid], camera[treated_valid], px_per_mm,
        area_pixels=int(treated_full.sum()), sample_step=step,
    )
    excluded_fraction = 1.0 - treated_valid.sum() / max(treated.sum(), 1)
    excluded = []
    if excluded_fraction > 0.3:
        excluded.append(f"{100 * excluded_fraction:.0f}% of the treated area is hair, glare or clipped and was not measured")
    return _measured_against(calibration, work, treated_full, treated_measurement, reference, source, warnings,
                             excluded)


#: Said when a follow-up's reference had to be its own ring (the baseline's reference skin is not skin
#: in it); SHARED_OWN_REFERENCE_WARNING, when a comparison then measured the baseline on that same skin too.
OWN_REFERENCE_WARNING = ("the baseline's reference skin is not skin in this photo (hidden or out of frame): "
                         "this photo's own skin around the area was used")
#: Said when the baseline's reference skin was too thin to carry into a follow-up (:func:`compare`), by
#: how both visits were then measured: on the skin they share around the follow-up's area ("shared"; that
#: skin itself thin: "shared thin"), or, when the photos show too little of the same skin, each against
#: its own ("ring").
THIN_REFERENCE_WARNING = {
    "shared": ("the baseline's reference skin is thin (little skin around the area): both visits were measured "
               "against the skin around the area that both photos show"),
    "shared thin": ("the baseline's reference skin is thin (little skin around the area): both visits were "
                    "measured against the skin around the area that both photos show, itself thin; a reference "
                    "patch of untreated skin chosen at the first visit gives a steadier figure"),
    "ring": ("the baseline's reference skin is thin (little skin around the area) and the two photos show too "
             "little of the same skin: the baseline was measured against its thin reference, the follow-up "
             "against its own skin around the area, so the fade includes any difference of light between "
             "them; a reference patch of untreated skin chosen at the first visit avoids this"),
}
SHARED_OWN_REFERENCE_WARNING = ("the baseline's reference skin is not skin in this photo (hidden or out of frame): "
                                "this photo's own skin around the area was used, and the same skin in the baseline")


def _measured_against(calibration, work, treated_full, treated_measurement, reference, source, warnings,
                      later_warnings=()):
    """The Analysis of a measured area against the reference skin ``reference`` (working-grid mask, found
    as ``source`` says: :attr:`Analysis.reference_source`); its warnings are ``warnings``, the
    reference's, then ``later_warnings``."""
    step = work.step
    treated = treated_full[::step, ::step]
    reference_measurement = metrics.measure_region(
        work.lab[reference], work.linear[reference], work.camera[reference], sample_step=step
    )
    if reference_measurement.lab[0] < skin.SKIN_L_RANGE[0]:
        # A box on a black border or a dark background: every number would describe black, not skin.
        raise InputError(f"the skin around the area reads near-black (L* {reference_measurement.lab[0]:.1f}, under "
                         f"{skin.SKIN_L_RANGE[0]:.0f}): the box is on a black border or background, or the photo is "
                         "far too dark; draw the box on the skin, or retake the photo with more light")
    edge = segment.edge_width_px(work.lab, treated, reference)
    return Analysis(
        calibration=calibration,
        crop=work.crop,
        treated_mask=treated_full,
        reference_mask=_to_full_resolution(reference, step, work.crop_shape),
        sample_step=step,
        work=work,
        edge_width_px=None if edge is None else edge * step,
        treated=treated_measurement,
        reference=reference_measurement,
        contrast=metrics.contrast(treated_measurement, reference_measurement),
        uncertainty=metrics.uncertainty(treated_measurement, reference_measurement, calibration.leave_one_out),
        warnings=(*warnings, *segment.reference_warnings(reference_measurement, treated_measurement),
                  # A patch the user chose is theirs: not second-guessed as far from the area.
                  *([] if source == "box" else segment.reference_distance_warning(reference, treated)),
                  *later_warnings),
        reference_source=source,
    )


def _shared(analysis, reference, replace_warnings=None):
    """``analysis`` measured against the skin it shares with the other visit of a comparison
    (``reference``, working-grid mask); its reference warnings are redone, and any warning that is a key
    of ``replace_warnings`` replaced by its value."""
    replace_warnings = replace_warnings or {}
    stale = {*segment.reference_warnings(analysis.reference, analysis.treated), segment.REFERENCE_FAR_WARNING}
    warnings = [replace_warnings.get(warning, warning) for warning in analysis.warnings if warning not in stale]
    return _measured_against(analysis.calibration, analysis.work, analysis.treated_mask, analysis.treated,
                             reference, "shared", warnings)


def _on_grid(analysis, full_mask):
    """A photo-sized mask on an analysis's working grid."""
    return full_mask[analysis.crop][:: analysis.sample_step, :: analysis.sample_step]


def shared_reference(baseline, followup, registration):
    """Both visits measured against the same skin when the follow-up's reference had to be its own ring:
    the part of it that is untreated skin in the baseline too.

    Parameters
    ----------
    baseline, followup : Analysis
        The follow-up measured over the baseline's area mapped by ``registration``, against its own
        ring (the baseline's reference mapped into it was not skin there: hidden, out of frame, or
        skin the baseline's skin map took in and the follow-up's does not; or the baseline's reference
        was too thin to carry over, :func:`segment.reference_is_thin`).
    registration : register.Registration

    Returns
    -------
    (Analysis, Analysis)
        The two analyses re-measured on the shared skin, or unchanged when too little is shared.

    Notes
    -----
    A visit's contrast is ΔE00 between its area and its reference skin, so a fade computed on two
    different patches of skin reports their difference in light (one lit, one shaded side of a limb)
    as fade. The follow-up's reference R_f is mapped back into the baseline (inverse registration,
    nearest neighbour); of it, the pixels that are the baseline's reference or untreated, measurable,
    plausibly skin-coloured pixels (:func:`skin.plausible_skin`) form the baseline's reference R_b; the
    follow-up keeps the pixels of R_f where R_b lands. Used when R_b holds at least
    MAPPED_REFERENCE_FRACTION of the mapped R_f and both hold MIN_REFERENCE_PIXELS; R_b loses its
    outliers as every reference does (:func:`segment.without_outliers`).
    """
    base_work = baseline.work
    base_treated = _on_grid(baseline, baseline.full_mask("treated"))
    candidates = (_on_grid(baseline, baseline.full_mask("reference"))
                  | (skin.plausible_skin(base_work.lab) & base_work.valid & ~base_treated))
    back = register.warp_mask(followup.reference_mask, registration.inverse(), baseline.calibration.photo.shape,
                              offset=followup.work.offset)
    mapped = _on_grid(baseline, back)
    reference_b = mapped & candidates
    if reference_b.sum() < max(segment.MIN_REFERENCE_PIXELS, segment.MAPPED_REFERENCE_FRACTION * mapped.sum()):
        return baseline, followup
    reference_b = segment.without_outliers(reference_b, base_work.lab)
    forward = register.warp_mask(_to_full_resolution(reference_b, baseline.sample_step, base_work.crop_shape),
                                 registration, followup.calibration.photo.shape, offset=base_work.offset)
    reference_f = _on_grid(followup, followup.full_mask("reference") & forward)
    if reference_f.sum() < segment.MIN_REFERENCE_PIXELS:
        return baseline, followup
    return (_shared(baseline, reference_b),
            _shared(followup, reference_f, {OWN_REFERENCE_WARNING: SHARED_OWN_REFERENCE_WARNING}))


@dataclass(frozen=True)
class Comparison:
    """A follow-up visit measured over the same skin as its baseline.

    Attributes
    ----------
    baseline, followup : Analysis
        Both measured against the same skin: the follow-up against the baseline's reference mapped
        into it, or, when that is not skin there or is thin (:func:`segment.reference_is_thin`), both
        against the follow-up's own ring and the same skin in the baseline (:func:`shared_reference`;
        the baseline's numbers then differ from those of the baseline measured alone).
    registration : register.Registration
    area_change_percent : float or None
        Spread: 100 · (A_followup / A_baseline − 1), the follow-up's own found area mapped into baseline
        pixels by the registration's local area scale; both areas are found in their box (the box given,
        mapped), also when the baseline's area came as a mask (then A_baseline is the area found in the
        mask's bounds grown by MASK_BOX_GROWTH each way, not the mask). None when the area no longer
        stands out, and when either photo has no colour card (SPREAD_WITHOUT_CARDS_WARNING).
    warnings : tuple of str
    """

    baseline: Analysis
    followup: Analysis
    registration: object
    area_change_percent: float | None
    warnings: tuple

    def followup_mask(self):
        """The baseline's area mapped into the follow-up: a follow-up-sized boolean mask (where the
        follow-up's numbers come from; ``compare --out`` writes it as followup_mask.png)."""
        return self.followup.full_mask("treated")

    def edge_width_mm(self):
        """Edge width of the area at each visit, millimetres at the cards' scale (None without)."""
        widths = {}
        for name, analysis in (("baseline", self.baseline), ("followup", self.followup)):
            calibration = analysis.calibration
            if analysis.edge_width_px is None or not calibration.found:
                widths[name] = None
            else:
                widths[name] = round(analysis.edge_width_px / calibration.reading.px_per_mm, 3)
        return widths

    @property
    def fade_percent(self):
        """100 · (1 − ΔE00_followup / ΔE00_baseline) (:func:`metrics.percent_reduction`); None when the area
        did not stand out at the baseline (ΔE00 below constants.PIGMENTATION_EVEN_DE00, the skin
        acceptability threshold): it had no contrast to lose, and a ratio to a baseline near 0 runs to
        hundreds of per cent (a walk saw −360 % once a visit of settled redness became the first)."""
        return metrics.percent_reduction(self.baseline.contrast.delta_e00, self.followup.contrast.delta_e00,
                                         constants.PIGMENTATION_EVEN_DE00)

    @property
    def hue_shift_deg(self):
        """Hue drift of the area between the visits (:func:`metrics.hue_shift_degrees`); None unless both
        photos have a colour card: on uncorrected photos a change of white balance turns the hue as much
        (up to 22° on real card-less pairs of an unchanged tattoo), as a change of light moves the spread."""
        if not (self.baseline.calibration.found and self.followup.calibration.found):
            return None
        return metrics.hue_shift_degrees(self.baseline.treated.lab, self.followup.treated.lab)

    @property
    def redness_resolution_percent(self):
        """100 · (1 − Δa*_followup / Δa*_baseline); None when the baseline shows no redness (Δa* under
        constants.REDNESS_MIN_DELTA_A, 2.0)."""
        return metrics.percent_reduction(self.baseline.contrast.delta_a, self.followup.contrast.delta_a,
                                         constants.REDNESS_MIN_DELTA_A)

    def to_dict(self):
        """The JSON of ``skinscan compare --json``."""
        def rounded(value):
            return None if value is None else round(float(value), 3)

        return {
            "baseline": self.baseline.to_dict(),
            "followup": self.followup.to_dict(),
            "registration": self.registration.to_dict(),
            "fade_percent": rounded(self.fade_percent),
            "redness_resolution_percent": rounded(self.redness_resolution_percent),
            "delta_a_change": rounded(self.followup.contrast.delta_a - self.baseline.contrast.delta_a),
            "delta_e00_change": rounded(self.followup.contrast.delta_e00 - self.baseline.contrast.delta_e00),
            "hue_shift_deg": rounded(self.hue_shift_deg),
            "area_change_percent": rounded(self.area_change_percent),
            "edge_width_mm": self.edge_width_mm(),
            "warnings": list(self.warnings),
        }


#: A comparison's note when its baseline shows no redness: redness_resolution_percent is None. The app says
#: it where that number would be shown instead of as a warning (on every ink or pale scar's visit).
NO_BASELINE_REDNESS_WARNING = (f"no redness at baseline (Δa* < {constants.REDNESS_MIN_DELTA_A}): redness "
                               "resolution is not defined")


#: A comparison's note when its baseline did not stand out from its skin: fade_percent is None.
NO_BASELINE_CONTRAST_WARNING = (f"the area did not stand out at the baseline (ΔE00 under "
                                f"{constants.PIGMENTATION_EVEN_DE00:.1f}, the skin acceptability threshold): fade is "
                                "not defined")


#: A comparison's note when a photo has no colour card: area_change_percent and hue_shift_deg are None (the
#: areas found in two photos in their own light, and their hues, are not comparable).
SPREAD_WITHOUT_CARDS_WARNING = ("the spread and the hue drift were not measured: without a colour card in both "
                                "photos, the area found in each, and its hue, change with its light")


#: A comparison's note when the follow-up's own area no longer stands out in the mapped box (redness gone,
#: ink faded into the skin): area_change_percent is None. Often the hoped-for result, not a fault.
NO_LONGER_STANDS_OUT_WARNING = "the area no longer stands out in the follow-up: its spread was not measured"


#: A patch chosen at the baseline is used in a follow-up when at least this fraction of it, mapped,
#: lies inside the follow-up photo (else the follow-up is measured as without a patch, and says so).
PATCH_INSIDE_FRACTION = 0.5
PATCH_MISSING_WARNING = ("the reference patch chosen at the first visit is not wholly on skin in this photo, so it "
                         "was not used for this comparison")


def _inside_fraction(registration, box, shape):
    """The fraction of a baseline box's mapped bounding rectangle that lies inside a photo of ``shape``."""
    x0, y0, x1, y1 = _mapped_bounds(registration, box)
    return segment.fraction_inside((x0, y0, x1 - x0, y1 - y0), (0, 0, shape[1], shape[0]))


def _mapped_bounds(registration, box):
    """Pixel bounds (x0, y0, x1, y1) in the follow-up of a baseline box's four mapped corners (unclipped)."""
    x, y, w, h = box
    corners = registration.map_points([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    return int(x0), int(y0), int(x1), int(y1)


def mapped_box(registration, box, shape):
    """Bounding box (x, y, w, h) in the follow-up of a baseline box, clipped to the photo.

    Parameters
    ----------
    registration : register.Registration
        Baseline pixels -> follow-up pixels (its ``homography``).
    box : tuple (x, y, w, h)
        Baseline pixels.
    shape : tuple
        The follow-up photo's shape (height, width, ...).

    Returns
    -------
    tuple (x, y, w, h) or None
        The box around the four mapped corners, clipped to the follow-up; None when less than
        4 × 4 pixels of it lie on the photo.
    """
    x0, y0, x1, y1 = _mapped_bounds(registration, box)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    return (x0, y0, x1 - x0, y1 - y0)


@dataclass(frozen=True)
class AreaPlacement:
    """Where a baseline's area box lies on a follow-up photo, by a verified registration.

    Attributes
    ----------
    box : tuple (x, y, w, h) or None
        :func:`mapped_box` of the area's box: follow-up pixels, clipped to the photo. None when the
        area could not be placed (never a box from a refused alignment).
    refusal : str
        Why it could not be placed (the registration's ``message``, or the area falling outside the
        follow-up); empty when placed.
    warnings : tuple of str
        The area's box ran off the baseline photo (clipped there, as :func:`align_photos` aligns it);
        the mapped box runs off the follow-up (clipped to it).
    """

    box: tuple | None
    refusal: str
    warnings: tuple


def place_area(registration, area_box, baseline_shape, followup_shape, names=("baseline photo", "follow-up photo")):
    """The baseline's area box placed on the follow-up by a registration, saying what was clipped.

    Parameters
    ----------
    registration : register.Registration
        From :func:`align_photos` (or a :class:`Comparison`'s): a refused one (``ok`` False) places
        nothing and gives its ``message`` as the refusal.
    area_box : tuple (x, y, w, h)
        The area's box in the baseline, as given (it may run off the baseline photo).
    baseline_shape, followup_shape : tuple
        The two photos' shapes (height, width, ...).
    names : tuple of two str
        How the messages name the baseline and the follow-up photos.

    Returns
    -------
    AreaPlacement

    Raises
    ------
    InputError
        The area's box is not a box on the baseline photo (:func:`segment.box_on_photo`).
    """
    area_box, clipped = segment.box_on_photo(area_box, baseline_shape)
    warnings = []
    if clipped is not None:
        warnings.append(f"the area's box ran off the {names[0]}: aligned as {','.join(map(str, area_box))}")
    if not registration.ok:
        return AreaPlacement(None, registration.message, tuple(warnings))
    box = mapped_box(registration, area_box, followup_shape)
    if box is None:
        return AreaPlacement(None, f"the area falls outside the {names[1]}", tuple(warnings))
    x0, y0, x1, y1 = _mapped_bounds(registration, area_box)
    if (box[0], box[1], box[0] + box[2], box[1] + box[3]) != (x0, y0, x1, y1):
        warnings.append(f"the area runs off the {names[1]}: its box is clipped to {','.join(map(str, box))}")
    return AreaPlacement(box, "", tuple(warnings))


def _body_reader(area_box=None):
    """The body mask registration reads features on, as a function of a working-scale image (the
    card is masked by :func:`register.read_view` itself).

    Returns
    -------
    callable
        ``body(rgb_work, offset, scale) -> bool mask`` (see :func:`register.read_view`):
        :func:`skin.registration_body` of the working-scale image, with the area's box in the
        baseline (None in the follow-up, where nothing says where the area is).
    """

    def body(rgb_work, offset, scale):
        box = None if area_box is None else _box_on_grid(area_box, offset, 1.0 / scale)
        return skin.registration_body(rgb_work, box)

    return body


def _baseline_view(rgb, area_box, calibration=None):
    """The baseline's skin around the area as registration reads it (its card masked when found)."""
    return register.baseline_view(rgb, area_box, _body_reader(area_box), _card_corners(calibration))


def _followup_view(rgb, area_box, calibration=None, expected_scale=None):
    """The whole follow-up as registration reads it (its card masked when found; at the cards' scale
    ratio when known, :func:`register.followup_view`)."""
    return register.followup_view(rgb, area_box, _body_reader(None), _card_corners(calibration), expected_scale)


def _card_corners(calibration):
    return calibration.reading.corners if calibration is not None and calibration.found else None


def _expected_scale(calibration_b, calibration_f):
    """Follow-up/baseline linear scale from the two cards' pitches (None unless both have a card)."""
    if calibration_b is None or calibration_f is None or not (calibration_b.found and calibration_f.found):
        return None
    return calibration_f.reading.pitch_px / calibration_b.reading.pitch_px


def align_photos(baseline, followup, area_box, baseline_calibration=None, followup_calibration=None):
    """Align a follow-up photo to its baseline on the body holding the area, verified.

    The one entry the app and the CLI share: ``compare`` takes the same steps (its follow-up read in a
    second thread) and finds the same registration. Both read the follow-up at the baseline's working
    scale times the cards' scale ratio when both photos have a card (the skin's texture then has the
    same size in working pixels in both: a follow-up taken twice as close aligns as surely).

    Parameters
    ----------
    baseline, followup : photo (path, bytes, array or Photo)
    area_box : tuple (x, y, w, h)
        The area's box in the baseline (clipped to the baseline photo; :func:`place_area` says when).
    baseline_calibration, followup_calibration : Calibration, optional
        When given, their cards are masked out of the matching and their pitches set the expected scale.

    Returns
    -------
    register.Registration
        ``ok`` False, with ``message`` and ``confidence``, when refused.
    """
    baseline, followup = load_photo(baseline), load_photo(followup)
    area_box = validate_box(area_box, baseline.pixels.shape, "--roi")
    expected = _expected_scale(baseline_calibration, followup_calibration)
    view_b = _baseline_view(baseline.pixels, area_box, baseline_calibration)
    view_f = _followup_view(followup.pixels, area_box, followup_calibration, expected)
    return register.match(view_b, view_f, area_box, expected)


def light_change_warning(baseline_has_card, followup_has_card, baseline_skin_lab, followup_skin_lab, same_skin=True):
    """The warning a comparison carries when a photo has no colour card, naming which one.

    Parameters
    ----------
    baseline_has_card, followup_has_card : bool
        Whether each photo's colour card was read (its colours corrected on it).
    baseline_skin_lab, followup_skin_lab : array_like, shape (3,)
        The reference skin's CIE L*a*b* in each photo.
    same_skin : bool
        Whether the two references are the same skin (mapped or shared). When each visit kept its own
        (a thin or hidden reference, too little shared), how far apart they read says nothing of the
        light, and is left out: a walk read "0.9 apart" as reassurance beside a warning that the two
        photos showed too little of the same skin.

    Returns
    -------
    str
        '' when both photos have a card. Otherwise which photo has none, and (for the same skin) how
        far apart the skin around the area reads: its L* change (follow-up minus baseline) and CIEDE2000
        distance; on uncorrected photos a change of light moves every figure as much as the skin does.
    """
    if baseline_has_card and followup_has_card:
        return ""
    which = ("neither photo has a colour card" if not (baseline_has_card or followup_has_card)
             else "the baseline photo has no colour card" if not baseline_has_card
             else "the follow-up photo has no colour card")
    if not same_skin:
        return (f"{which}: the changes include any change of light between the visits; shoot both with the "
                "card for numbers you can compare")
    skin_change = color.delta_e_ciede2000(np.asarray(baseline_skin_lab, float), np.asarray(followup_skin_lab, float))
    lightness_change = float(followup_skin_lab[0] - baseline_skin_lab[0])
    return (f"{which}: the changes include any change of light between the visits (the skin around the area "
            f"reads {abs(lightness_change):.1f} L* {'lighter' if lightness_change >= 0 else 'darker'} at the "
            f"follow-up, ΔE00 {float(skin_change):.1f} apart; shoot both with the card for numbers you can compare)")


def compare(
    baseline,
    followup,
    roi=None,
    mask=None,
    reference_roi=None,
    whole_roi=False,
    landmarks=None,
    chart="classic24",
    baseline_calibration=None,
    followup_calibration=None,
    baseline_analysis=None,
):
    """Measure a follow-up photo over the same skin as its baseline, and what changed.

    Parameters
    ----------
    baseline, followup : photo (path, bytes, array or Photo)
    roi, mask, reference_roi, whole_roi
        As for :func:`analyze`, in baseline coordinates.
    landmarks : tuple of two (n, 2) arrays, optional
        3-4 pairs of matching points (baseline, follow-up) when the photos cannot be aligned by texture
        (:func:`register.from_landmarks`); they replace the automatic alignment.
    chart : str
    baseline_calibration, followup_calibration : Calibration, optional
    baseline_analysis : Analysis, optional
        The baseline already measured with these roi/mask/reference_roi (a series compares every
        visit with the same one): it is used as it is.

    Returns
    -------
    Comparison

    Raises
    ------
    register.AlignmentError
        The follow-up could not be aligned on the skin, or the alignment was not verified (its message
        says what to do: retake with the same framing, or give landmarks).
    InputError
        Bad input as for :func:`analyze`; the area falls outside the follow-up photo.
    """
    # The follow-up's card and skin features are read while the baseline is measured, and the
    # baseline's features once its card is known: most of this is OpenCV and numpy work that releases
    # the GIL, so the two cores share the three threads. Both photos' features are read at the scale
    # the baseline's box sets (the follow-up's times the cards' scale ratio, once the baseline's card is read).
    if baseline_analysis is not None:
        baseline_calibration = baseline_analysis.calibration
    baseline = baseline_calibration.photo if baseline_calibration is not None else load_photo(baseline)
    box_given = validate_box(roi, baseline.shape, "--roi") if roi is not None else None

    baseline_card_known = Future()  # the follow-up's view waits for the baseline's card (the scale ratio)

    def prepare_followup(area_box):
        follow_calibration = followup_calibration or calibrate(followup, chart=chart)
        if landmarks is not None or area_box is None:
            return follow_calibration, None
        expected = _expected_scale(baseline_card_known.result(), follow_calibration)
        return follow_calibration, _followup_view(follow_calibration.photo.pixels, area_box, follow_calibration, expected)

    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = pool.submit(prepare_followup, box_given)
        pending_view_b = None
        try:
            if baseline_analysis is None:
                baseline_calibration = baseline_calibration or calibrate(baseline, chart=chart)
        except BaseException as error:
            baseline_card_known.set_exception(error)
            raise
        baseline_card_known.set_result(baseline_calibration)
        if landmarks is None and box_given is not None:
            pending_view_b = pool.submit(_baseline_view, baseline_calibration.photo.pixels, box_given, baseline_calibration)
        base = baseline_analysis or analyze(baseline, roi=roi, mask=mask, reference_roi=reference_roi,
                                            whole_roi=whole_roi, chart=chart, calibration=baseline_calibration)
        mask_box = _mask_box(base.treated_mask)
        mask_box = (mask_box[0] + int(base.work.offset[0]), mask_box[1] + int(base.work.offset[1]), *mask_box[2:])
        area_box = box_given if box_given is not None else mask_box
        view_b = None
        if landmarks is None:
            view_b = pending_view_b.result() if pending_view_b is not None else \
                _baseline_view(base.calibration.photo.pixels, area_box, base.calibration)
        follow_calibration, view_f = pending.result()
    shape_f = follow_calibration.photo.shape
    centre = (mask_box[0] + mask_box[2] / 2, mask_box[1] + mask_box[3] / 2)
    if landmarks is not None:
        registration = register.from_landmarks(landmarks[0], landmarks[1], area_box)
    else:
        expected_scale = _expected_scale(base.calibration, follow_calibration)
        if view_f is None:  # the area came as a mask: its box is known only now (no second calibration)
            view_f = _followup_view(follow_calibration.photo.pixels, area_box, follow_calibration, expected_scale)
        registration = register.match(view_b, view_f, area_box, expected_scale)
        if not registration.ok:
            raise register.AlignmentError(register.alignment_advice(registration), registration)
    treated_f = register.warp_mask(base.treated_mask, registration, shape_f, offset=base.work.offset)
    if treated_f.sum() < 0.5 * base.treated.pixels * registration.area_scale(centre):
        raise InputError("the treated area falls (partly) outside the follow-up photo")
    reference_f = None
    patch_missing = False
    if reference_roi is not None:
        patch = validate_box(reference_roi, base.calibration.photo.shape, "--reference-roi")
        reference_f = mapped_box(registration, patch, shape_f)
        if _inside_fraction(registration, patch, shape_f) < PATCH_INSIDE_FRACTION:
            reference_f, patch_missing = None, True
    # The spread is found in a box: the box given, or a mask's bounds grown as its skin map's seed box is
    # (a loose box around the area, as a practitioner draws one), at the baseline and mapped at the follow-up.
    spread_box = area_box if box_given is not None else segment.grown_box(mask_box, MASK_BOX_GROWTH, base.calibration.photo.shape)
    search_box = mapped_box(registration, spread_box, shape_f)
    # The spread compares two areas found afresh, one in each photo: without a card in both, each is found
    # in its own light, and on real pairs of an unchanged tattoo it read -79 % to +374 %. Not measured then.
    spread_wanted = search_box is not None and not whole_roi
    spread_without_cards = spread_wanted and not (base.calibration.found and follow_calibration.found)
    measure_spread = spread_wanted and not spread_without_cards
    # The follow-up's skin map is made as the baseline's was: seeded by the box given, mapped, when the
    # baseline's was seeded by that box (with a mask, both are seeded by the mask's bounds grown); seeded by
    # the mapped area's bounds instead, the same photo compared with itself read Δa* 1.5 higher, or took a
    # floor tile for skin. Its skin is the colour found where the baseline's skin lands.
    seed_box = search_box if box_given is not None and mask is None else None
    skin_hint = (register.warp_mask(_to_full_resolution(base.work.skin.skin, base.sample_step, base.work.crop_shape),
                                    registration, shape_f, offset=base.work.offset) if base.work.skin.found else None)

    def own_area(work, box=search_box):
        """A photo's own area found in ``box`` (the follow-up's in the mapped box: its spread), in photo
        pixels, or None when it does not stand out there."""
        try:
            found, stands_out = work.find_area(box)
        except InputError:
            return None
        return found.sum() * work.step**2 if stands_out else None

    # A thin reference (a frame filled with ink leaves a sliver of skin) is one spot's light: carried into
    # the follow-up, a shadow falling there read as fade (+22 % on an unchanged real tattoo). The follow-up
    # takes its own ring then, and both visits the skin of it they share (shared_reference).
    # (A chosen patch, when used, is the reference whatever its size; when it is missing here, the
    # baseline's reference, that patch, is not carried over either when thin.)
    thin_reference = segment.reference_is_thin(base.reference, base.treated)

    def measure_followup(reference_box):
        """The follow-up over the mapped area against ``reference_box`` (the chosen patch mapped) or, when
        None, the baseline's reference skin mapped (its own ring when that is thin); with the follow-up's
        own area in pixels (None when not measured or no longer standing out)."""
        extra_boxes = [search_box] if search_box is not None else []
        reference_mask = None
        if reference_box is None and not thin_reference:
            # The same skin as the baseline's reference, where it lands in the follow-up.
            reference_mask = register.warp_mask(base.reference_mask, registration, shape_f, offset=base.work.offset)
            if reference_mask.any():
                extra_boxes.append(_mask_box(reference_mask))
        with ThreadPoolExecutor(max_workers=1) as pool:
            # The spread is segmented on the follow-up's work region while the follow-up is measured.
            pending_area = []
            measured = _analyze(follow_calibration, mask=treated_f, reference_roi=reference_box,
                                extra_boxes=extra_boxes, reference_mask=reference_mask, seed_box=seed_box,
                                skin_hint=skin_hint,
                                on_work=(lambda work: pending_area.append(pool.submit(own_area, work)))
                                if measure_spread else None)
            return measured, pending_area[0].result() if pending_area else None

    try:
        follow, own_pixels = measure_followup(reference_f)
    except InputError:
        if reference_f is None:
            raise
        # The chosen patch, mapped, holds too little skin here (clothing, the card, shadow): the
        # baseline's reference skin mapped, or the skin both photos share, instead.
        patch_missing = True
        follow, own_pixels = measure_followup(None)
    if follow.reference_source == "ring":
        # The follow-up's reference is its own ring, not the baseline's: measure the baseline there too.
        base, follow = shared_reference(base, follow, registration)

    warnings = [PATCH_MISSING_WARNING] if patch_missing else []
    if thin_reference and follow.reference_source in ("shared", "ring"):
        how = follow.reference_source
        if how == "shared" and segment.reference_is_thin(base.reference, base.treated):
            how = "shared thin"
        warnings.append(THIN_REFERENCE_WARNING[how])
    area_change = None
    # Like with like: the follow-up's area is found in the mapped box, so an area given as a mask (an
    # outline clicked or drawn by hand) is set against the area found in the same box at the baseline.
    base_pixels = base.treated.pixels if box_given is not None or not measure_spread else own_area(base.work, spread_box)
    if spread_without_cards:
        warnings.append(SPREAD_WITHOUT_CARDS_WARNING)
    elif measure_spread and own_pixels is None:
        warnings.append(NO_LONGER_STANDS_OUT_WARNING)
    elif measure_spread and base_pixels is None:
        warnings.append("the area given as a mask does not stand out in its box at the baseline: its spread was "
                        "not measured")
    elif own_pixels is not None:
        area_change = 100.0 * (own_pixels / registration.area_scale(centre) / base_pixels - 1.0)
    # Each visit against its own skin ("ring": the baseline's reference hidden or thin, too little shared).
    same_skin = follow.reference_source != "ring"
    light_warning = light_change_warning(base.calibration.found, follow.calibration.found, base.reference.lab,
                                         follow.reference.lab, same_skin)
    if light_warning:
        warnings.append(light_warning)
    if base.contrast.delta_a < constants.REDNESS_MIN_DELTA_A:
        warnings.append(NO_BASELINE_REDNESS_WARNING)
    if base.contrast.delta_e00 < constants.PIGMENTATION_EVEN_DE00:
        warnings.append(NO_BASELINE_CONTRAST_WARNING)
    return Comparison(base, follow, registration, area_change, tuple(warnings))


@dataclass(frozen=True)
class TimelineVisit:
    """One photo of a series, measured against the first.

    Attributes
    ----------
    name : str
        How the photo was given (file name or index): for display only.
    taken : datetime.datetime
    hours : float
        Hours since the first photo.
    analysis : Analysis or None
        None when the photo could not be aligned with the first, or measured (``error``): no numbers are
        shown for it.
    comparison : Comparison or None
        None for the first photo and for a photo that could not be aligned or measured.
    persistent_redness : bool
        More than 48 h after the first photo, Δa* still exceeds REDNESS_PERSISTENT_DELTA_A beyond its
        uncertainty.
    registration : register.Registration or None
        The alignment with the first photo (None for the first photo), refused ones included.
    error : str
        Why a photo aligned (or not tried) could not be measured against the first ('' when it was): a
        photo far too dark, the area falling outside it. It shows no numbers.
    """

    name: str
    taken: object
    hours: float
    analysis: Analysis | None
    comparison: object
    persistent_redness: bool
    registration: object = None
    error: str = ""

    @property
    def aligned(self):
        """True for the first photo and for every photo aligned (and verified) on the first."""
        return self.registration is None or self.registration.ok

    def row(self):
        """The visit's numbers as a flat dict (a CSV row); numbers are None for an unaligned visit."""
        compared = self.comparison.to_dict() if self.comparison is not None else {}
        registration = self.registration
        row = {
            "photo": self.name,
            "taken": self.taken.isoformat(),
            "hours_since_first": round(self.hours, 2),
            "aligned": self.aligned,
            "registration_confidence": None if registration is None else round(float(registration.confidence), 3),
            "alignment_message": "" if registration is None else registration.message,
            "error": self.error,
        }
        if self.analysis is None:
            numbers = dict.fromkeys(("delta_l", "delta_a", "delta_b", "delta_e00", "pigmentation",
                                     "erythema_index_difference"))
        else:
            contrast = self.analysis.contrast
            numbers = {
                "delta_l": round(contrast.delta_l, 3),
                "delta_a": round(contrast.delta_a, 3),
                "delta_b": round(contrast.delta_b, 3),
                "delta_e00": round(contrast.delta_e00, 3),
                "pigmentation": contrast.pigmentation,
                "erythema_index_difference": round(
                    self.analysis.treated.erythema_index - self.analysis.reference.erythema_index, 3),
            }
        return {
            **row,
            **numbers,
            "fade_percent": compared.get("fade_percent"),
            # The first visit's ΔE00 this fade was computed from: the first row's, unless the first
            # visit's reference skin was hidden in this photo (or thin) and both were measured on other skin.
            "baseline_delta_e00": (compared.get("baseline") or {}).get("contrast", {}).get("delta_e00"),
            "redness_resolution_percent": compared.get("redness_resolution_percent"),
            "hue_shift_deg": compared.get("hue_shift_deg"),
            "area_change_percent": compared.get("area_change_percent"),
            "persistent_redness": self.persistent_redness,
            "quality": None if self.analysis is None else self.analysis.calibration.quality.verdict,
        }


@dataclass(frozen=True)
class Timeline:
    """A series of photos of one treated area, in date order, each compared with the first."""

    visits: tuple
    warnings: tuple

    @property
    def persistent_redness(self):
        """True when any visit after the expected window still shows redness (refer the client)."""
        return any(visit.persistent_redness for visit in self.visits)

    def to_dict(self):
        """The JSON of ``skinscan timeline --json``."""
        return {
            "visits": [visit.row() for visit in self.visits],
            "persistent_redness": self.persistent_redness,
            "expected_window_hours": constants.REDNESS_EXPECTED_WINDOW_HOURS,
            "warnings": list(self.warnings),
        }

    def to_csv(self):
        """The visits as CSV text (one row per photo)."""
        import csv
        import io as text_io

        rows = [visit.row() for visit in self.visits]
        buffer = text_io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()


def timeline(photos, roi=None, mask=None, reference_roi=None, dates=None, names=None, chart="classic24"):
    """Measure a series of photos of one area in date order, each against the first.

    Parameters
    ----------
    photos : sequence of photo (path, bytes, array or Photo)
    roi, mask, reference_roi
        As for :func:`compare`, in the coordinates of the *first photo by date*.
    dates : sequence of datetime.datetime, optional
        When each photo was taken; default: from each photo's EXIF.
    names : sequence of str, optional
        Labels for the photos (default: paths as given, or their index).
    chart : str

    Returns
    -------
    Timeline

    Raises
    ------
    InputError
        Fewer than two photos, a photo that cannot be read or is too small to measure, a photo with no
        date and none given, or an error measuring the first photo. A later photo that cannot be
        measured against the first (far too dark, the area off it) is a visit with ``error`` instead.
    """
    if len(photos) < 2:
        raise InputError("a timeline needs at least two photos")
    # Bad files end the series (they are the user's to replace); a later photo's measurement does not.
    loaded = [require_measurable(load_photo(photo)) for photo in photos]
    if names is None:
        names = [os.fspath(p) if isinstance(p, (str, os.PathLike)) else f"photo {i + 1}" for i, p in enumerate(photos)]
    if dates is not None:
        if len(dates) != len(loaded):
            raise InputError(f"--dates gives {len(dates)} dates for {len(loaded)} photos")
        taken = list(dates)
    else:
        taken = [photo.taken for photo in loaded]
        missing = [names[i] for i, when in enumerate(taken) if when is None]
        if missing:
            raise InputError(f"{missing[0]}: no date in the photo's EXIF; give the dates with --dates")
    order = sorted(range(len(loaded)), key=lambda i: taken[i])
    first = order[0]
    first_calibration = calibrate(loaded[first], chart=chart)
    base = analyze(None, roi=roi, mask=mask, reference_roi=reference_roi, calibration=first_calibration)
    visits = [TimelineVisit(names[first], taken[first], 0.0, base, None, False)]
    for index in order[1:]:
        hours = (taken[index] - taken[first]).total_seconds() / 3600.0
        try:
            comparison = compare(loaded[first], loaded[index], roi=roi, mask=mask, reference_roi=reference_roi,
                                 chart=chart, baseline_analysis=base)
        except register.AlignmentError as error:
            # Shown as not aligned, never with numbers from a wrong alignment.
            visits.append(TimelineVisit(names[index], taken[index], hours, None, None, False, error.registration))
            continue
        except InputError as error:
            # One photo that cannot be measured (far too dark, the area off it) does not end the series.
            visits.append(TimelineVisit(names[index], taken[index], hours, None, None, False, error=str(error)))
            continue
        analysis = comparison.followup
        persistent = metrics.redness_persists(hours, analysis.contrast.delta_a, analysis.uncertainty["delta_a"])
        visits.append(TimelineVisit(names[index], taken[index], hours, analysis, comparison, persistent,
                                    comparison.registration))
    warnings = []
    unaligned = [visit.name for visit in visits if not visit.aligned]
    if unaligned:
        warnings.append(f"{len(unaligned)} photo(s) could not be aligned with the first and show no numbers "
                        f"({', '.join(unaligned)}): retake with the same framing, or compare them with --landmarks")
    unmeasured = [f"{visit.name} ({visit.error})" for visit in visits if visit.error]
    if unmeasured:
        warnings.append(f"{len(unmeasured)} photo(s) could not be measured against the first and show no numbers: "
                        + "; ".join(unmeasured))
    if any(v.persistent_redness for v in visits):
        warnings.append(
            f"redness persists beyond {constants.REDNESS_EXPECTED_WINDOW_HOURS:.0f} h: {constants.REFER_UNLESS_INK}"
        )
    return Timeline(tuple(visits), tuple(warnings))
