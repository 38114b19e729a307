"""The colour card: find it, read its 24 patches, verify it is really the chart.

Detection runs OpenCV's ``mcc`` detector on a reduced copy (it needs only the card's outline), then
everything that measures is done at full resolution by our own geometry: a homography from the chart's
patch grid to the photo, a robust read of each patch's centre, the orientation decided by the patch
colours (patch 1 is always "dark skin", whatever the card's rotation or a mirrored selfie), and a
verification that the colours fit the chart. A detection that does not verify is reported as no card.
"""

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from . import color, constants
from .calibrate import fit_correction, screen_outliers
from .errors import InputError
from .io import to_unit_float

#: Long side, in pixels, of the reduced copy detection runs on first.
DETECTION_LONG_SIDE = 1600
#: Largest copy the detector is ever given (a full-resolution 12 MP frame took it 2.5 s; 100 MP ones
#: several GB).
DETECTION_MAX_LONG_SIDE = 4000


def detection_attempts(long_side):
    """(long side, median filter px) pairs to run the detector with, cheapest first, until one verifies.

    OpenCV's mcc detector is sensitive to fine lines touching the card (hairs) and to the card's size
    in pixels; on rendered and real photos, one of these variants found every card it missed at first:
    median-filtered copies (3 and 5 px) remove hairs, a smaller copy helps when patches are large, a
    larger one when the card is small in the frame. No copy is larger than DETECTION_MAX_LONG_SIDE
    (the detector's memory grows with the pixels it is given).
    """
    first = min(DETECTION_LONG_SIDE, long_side)
    attempts = [(first, 0), (first, 3), (first, 5), (int(first * 0.75), 5), (int(first * 0.75), 0)]
    if long_side > first:
        largest = min(long_side, DETECTION_MAX_LONG_SIDE)
        attempts += [(min(2 * first, largest), 0)] + ([(largest, 0)] if largest > 2 * first else [])
    return attempts


#: Long side, in pixels, of the regular sample the colour pre-screen looks at.
PRESCREEN_LONG_SIDE = 1000
#: A pixel is "chart-coloured" for the pre-screen when its HSV saturation and value reach these
#: (0..1). Low on purpose: an uncorrected warm or cool cast desaturates the card's greens and blues.
PRESCREEN_MIN_SATURATION = 0.25
PRESCREEN_MIN_VALUE = 0.15
#: Hue families (degrees) skin never has, but a ColorChecker always shows: greens (foliage, green,
#: yellow green, bluish green) and blues (blue sky, blue flower, purplish blue, blue, cyan).
PRESCREEN_GREEN_HUES = (70.0, 170.0)
PRESCREEN_BLUE_HUES = (170.0, 290.0)
#: Each family needs at least this many chart-coloured pixels on the reduced copy: a few pixels of
#: each of two patches of the smallest card the detector reads (about 12 px pitch at full size).
PRESCREEN_MIN_PIXELS = 6


def chart_colours_present(pixels):
    """A quick colour pre-screen: could there be a ColorChecker in the photo at all?

    Parameters
    ----------
    pixels : numpy.ndarray, shape (H, W, 3)
        uint8, uint16 or float 0..1.

    Returns
    -------
    bool
        True when both saturated greens and saturated blues are present (PRESCREEN_* thresholds) on a
        regular sample of about PRESCREEN_LONG_SIDE pixels along the longer side. Skin, lesions, scars and redness are all warm hues: a photo
        of skin alone is decided in a few tens of milliseconds instead of the detector's retries.
    """
    step = int(np.ceil(max(pixels.shape[:2]) / PRESCREEN_LONG_SIDE))
    small = np.ascontiguousarray(to_uint8(pixels[::step, ::step]))  # sampled, not averaged: colours stay pure
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV_FULL)  # hue 0..255 for 0..360 degrees
    hue = hsv[..., 0].astype(np.float32) * (360.0 / 256.0)
    coloured = (hsv[..., 1] >= PRESCREEN_MIN_SATURATION * 255) & (hsv[..., 2] >= PRESCREEN_MIN_VALUE * 255)
    greens = coloured & (hue >= PRESCREEN_GREEN_HUES[0]) & (hue < PRESCREEN_GREEN_HUES[1])
    blues = coloured & (hue >= PRESCREEN_BLUE_HUES[0]) & (hue < PRESCREEN_BLUE_HUES[1])
    return int(greens.sum()) >= PRESCREEN_MIN_PIXELS and int(blues.sum()) >= PRESCREEN_MIN_PIXELS


#: Half-width of the sampled window around a patch centre, in pitch units (the patch itself is
#: PATCH_FRACTION_OF_PITCH wide): the central 57% of the patch, clear of edges and registration error.
_SAMPLE_HALF_WIDTH = 0.25

_MARGIN = (1.0 - constants.PATCH_FRACTION_OF_PITCH) / 2.0
#: Outer corners of the patch area in chart units (1 = patch pitch): next to patch 1, patch 6,
#: patch 24, patch 19.
CHART_CORNERS = np.array(
    [
        [_MARGIN, _MARGIN],
        [constants.CHART_COLUMNS - _MARGIN, _MARGIN],
        [constants.CHART_COLUMNS - _MARGIN, constants.CHART_ROWS - _MARGIN],
        [_MARGIN, constants.CHART_ROWS - _MARGIN],
    ]
)
#: Patch centres in chart units, chart order.
CHART_CENTRES = np.array(
    [[column + 0.5, row + 0.5] for row in range(constants.CHART_ROWS) for column in range(constants.CHART_COLUMNS)]
)

#: A neutral whose tint (log r/g, log b/g of decoded values) is further than this from the neutrals'
#: median tint is not read as grey (a finger or leaf over it).
_NEUTRAL_TINT_TOLERANCE = 0.25
#: A patch whose interquartile range exceeds this (sRGB units) in any channel is not uniform: an edge,
#: a shadow line or something over it.
_PATCH_SPREAD_LIMIT = 0.08


@dataclass(frozen=True)
class CardReading:
    """The chart as read from a photo.

    Attributes
    ----------
    chart : str
        Chart model: "classic24", "mini24" or "passport24".
    corners : numpy.ndarray, shape (4, 2)
        Outer corners of the patch area, photo pixels, in chart order: beside patch 1 (dark skin),
        patch 6, patch 24 (black), patch 19 (white).
    centres : numpy.ndarray, shape (24, 2)
        Patch centres, chart order.
    patch_srgb : numpy.ndarray, shape (24, 3)
        Median colour of each patch's centre, sRGB 0..1, uncorrected.
    patch_spread : numpy.ndarray, shape (24, 3)
        Interquartile range of each patch's pixels.
    clipped : numpy.ndarray of bool, shape (24,)
        Patches with a clipped channel.
    usable : numpy.ndarray of bool, shape (24,)
        Patches fit to calibrate on.
    pitch_px : float
        Mean distance between neighbouring patch centres, pixels.
    method : str
        "detected" or "manual".
    """

    chart: str
    corners: np.ndarray
    centres: np.ndarray
    patch_srgb: np.ndarray
    patch_spread: np.ndarray
    clipped: np.ndarray
    usable: np.ndarray
    pitch_px: float
    method: str

    @property
    def px_per_mm(self):
        """Photo scale at the card, pixels per millimetre, from the chart's patch pitch."""
        return self.pitch_px / constants.PATCH_PITCH_MM[self.chart]


def parse_corners(text):
    """Parse ``X1,Y1,...,X4,Y4`` into a (4, 2) array.

    Parameters
    ----------
    text : str

    Returns
    -------
    numpy.ndarray, shape (4, 2)

    Raises
    ------
    InputError
        Not eight numbers.
    """
    try:
        values = [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--corners takes eight numbers X1,Y1,...,X4,Y4, got {text!r}") from None
    if len(values) != 8 or not np.all(np.isfinite(values)):
        raise InputError(f"--corners takes eight numbers X1,Y1,...,X4,Y4, got {len(values)}")
    return np.array(values).reshape(4, 2)


def order_quad(points):
    """Order four points clockwise (in image coordinates, y down) around their centroid.

    Parameters
    ----------
    points : array_like, shape (4, 2)

    Returns
    -------
    numpy.ndarray, shape (4, 2)
    """
    points = np.asarray(points, dtype=np.float64)
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    return points[np.argsort(angles)]


def chart_homography(corners):
    """Homography from chart units to photo pixels, given the patch-area corners in chart order."""
    return cv2.getPerspectiveTransform(CHART_CORNERS.astype(np.float32), np.asarray(corners, np.float32))


def _transform(homography, points):
    points = np.asarray(points, dtype=np.float64)
    return cv2.perspectiveTransform(points[None], homography)[0]


def read_patches(rgb, corners, max_pixels_per_patch=900):
    """Read the 24 patches of a chart whose patch-area corners are given in chart order.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
        The photo's pixels: uint8, uint16, or float in 0..1 (only the patch windows are converted).
    corners : numpy.ndarray, shape (4, 2)
    max_pixels_per_patch : int
        Larger windows are read on a regular sub-grid of about this many pixels (a median of a
        thousand pixels is as good as of a hundred thousand, and the cost stays fixed).

    Returns
    -------
    centres, median, spread, clipped : numpy.ndarray
        Shapes (24, 2), (24, 3), (24, 3), (24,). A patch with no pixels inside the photo has NaN colour.
    """
    homography = chart_homography(corners)
    centres = _transform(homography, CHART_CENTRES)
    offsets = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * _SAMPLE_HALF_WIDTH
    median = np.full((24, 3), np.nan)
    spread = np.full((24, 3), np.nan)
    clipped = np.zeros(24, dtype=bool)
    height, width = rgb.shape[:2]
    for index, centre in enumerate(CHART_CENTRES):
        window = _transform(homography, centre + offsets)
        x0, y0 = np.floor(window.min(axis=0)).astype(int)
        x1, y1 = np.ceil(window.max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        step = max(1, int(np.sqrt((x1 - x0) * (y1 - y0) / max_pixels_per_patch)))
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, np.round(window - [x0, y0]).astype(np.int32), 1)
        pixels = to_unit_float(rgb[y0:y1:step, x0:x1:step][mask[::step, ::step].astype(bool)])
        if len(pixels) == 0:
            pixels = to_unit_float(rgb[int(np.clip(centre[1], 0, height - 1)), int(np.clip(centre[0], 0, width - 1))][None])
        median[index], spread[index], clipped[index] = robust_patch_colour(pixels)
    return centres, median, spread, clipped


def robust_patch_colour(pixels):
    """Median colour of a patch's pixels with clipped pixels and glare excluded.

    Parameters
    ----------
    pixels : numpy.ndarray, shape (n, 3)

    Returns
    -------
    median : numpy.ndarray, shape (3,)
    spread : numpy.ndarray, shape (3,)
        Interquartile range per channel.
    clipped : bool
        True when more than a fifth of the pixels (or the median) is clipped.

    Notes
    -----
    Glare: pixels whose brightness (channel mean) lies more than 4 scaled MADs (minimum 0.02) above
    the median are specular highlights and are dropped before the final median.
    """
    at_clip = np.any(pixels >= constants.CLIPPED_LEVEL, axis=1)
    clipped = bool(at_clip.mean() > 0.2)
    kept = pixels[~at_clip] if (~at_clip).sum() >= 4 else pixels
    brightness = kept.mean(axis=1)
    centre = np.median(brightness)
    mad = 1.4826 * np.median(np.abs(brightness - centre))
    not_glare = brightness <= centre + max(4.0 * mad, 0.02)
    if not_glare.sum() >= 4:
        kept = kept[not_glare]
    median = np.median(kept, axis=0)
    q75, q25 = np.percentile(kept, [75, 25], axis=0)
    if np.any(median >= constants.CLIPPED_LEVEL):
        clipped = True
    return median, q75 - q25, clipped


def _quick_patch_colours(rgb, corners):
    """Mean of a 5 x 5 grid of pixels over each patch's central window: enough to tell orientation."""
    homography = chart_homography(corners)
    offsets = np.stack(np.meshgrid(np.linspace(-0.2, 0.2, 5), np.linspace(-0.2, 0.2, 5)), -1).reshape(-1, 2)
    points = _transform(homography, (CHART_CENTRES[:, None, :] + offsets[None]).reshape(-1, 2))
    height, width = rgb.shape[:2]
    xs, ys = np.round(points[:, 0]).astype(int), np.round(points[:, 1]).astype(int)
    inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    samples = np.full((len(points), 3), np.nan)
    samples[inside] = to_unit_float(rgb[ys[inside], xs[inside]])
    samples = samples.reshape(24, len(offsets), 3)
    colours = np.full((24, 3), np.nan)
    enough = np.isfinite(samples[..., 0]).sum(axis=1) >= len(offsets) // 2
    colours[enough] = np.nanmean(samples[enough], axis=1)
    return colours


def _orientation_score(patch_srgb, reference_linear, reference_lab):
    """Mean CIE76 error of a quick affine fit from the read colours to the chart: low = right way up."""
    seen = np.all(np.isfinite(patch_srgb), axis=1)
    if seen.sum() < constants.MIN_USABLE_PATCHES:
        return np.inf
    linear = color.srgb_to_linear(patch_srgb[seen])
    # Cube roots make the affine fit tolerant of the camera's tone curve.
    terms = np.column_stack([np.cbrt(linear), np.ones(int(seen.sum()))])
    matrix, *_ = np.linalg.lstsq(terms, np.cbrt(np.maximum(reference_linear[seen], 0)), rcond=None)
    predicted = np.maximum(terms @ matrix, 0) ** 3
    return float(np.mean(np.linalg.norm(color.linear_srgb_to_lab(predicted) - reference_lab[seen], axis=1)))


def orient_corners(rgb, quad):
    """Decide which corner of a quadrilateral is beside patch 1, by the patch colours.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
    quad : array_like, shape (4, 2)
        The patch area's outer corners, any order.

    Returns
    -------
    numpy.ndarray, shape (4, 2)
        The corners in chart order. All four rotations and their mirror images (front cameras mirror)
        are tried.
    """
    ordered = order_quad(quad)
    reference_lab = color.chart_reference_lab_d65()
    reference_linear = color.lab_to_linear_srgb(reference_lab)
    best, best_score = ordered, np.inf
    for candidate_base in (ordered, ordered[::-1]):
        for shift in range(4):
            candidate = np.roll(candidate_base, -shift, axis=0)
            median = _quick_patch_colours(rgb, candidate)
            score = _orientation_score(median, reference_linear, reference_lab)
            if score < best_score:
                best, best_score = candidate, score
    return best


def refine_corners(rgb, corners):
    """Refine the patch-area corners at full resolution from the patches' own outlines.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
    corners : numpy.ndarray, shape (4, 2)
        Corners in chart order, accurate to a fraction of a patch (from a reduced copy or clicks).

    Returns
    -------
    numpy.ndarray, shape (4, 2)
        Corners from a homography fitted (RANSAC) to the centroids of the patches found around their
        predicted centres; the input when fewer than 8 patches could be outlined.

    Notes
    -----
    A patch is outlined as the connected region of pixels within a colour tolerance of its centre's
    median colour, inside a window 1.5 pitches wide; it counts when its area is 40-130 % of the
    patch's expected area. Patches as dark as the card's black face (black, neutral 3.5) fail that
    test and are simply not used.
    """
    homography = chart_homography(corners)
    centres = _transform(homography, CHART_CENTRES)
    height, width = rgb.shape[:2]
    found_model, found_image = [], []
    for model_centre, centre in zip(CHART_CENTRES, centres):
        around = _transform(homography, model_centre + np.array([[-0.75, -0.75], [0.75, -0.75], [0.75, 0.75], [-0.75, 0.75]]))
        expected_area = cv2.contourArea(
            _transform(homography, model_centre + np.array([[-0.44, -0.44], [0.44, -0.44], [0.44, 0.44], [-0.44, 0.44]])).astype(np.float32)
        )
        x0, y0 = np.floor(around.min(axis=0)).astype(int)
        x1, y1 = np.ceil(around.max(axis=0)).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 - x0 < 6 or y1 - y0 < 6:
            continue
        step = max(1, int(np.sqrt((x1 - x0) * (y1 - y0) / 6000)))
        crop = to_unit_float(rgb[y0:y1:step, x0:x1:step])
        cx, cy = int((centre[0] - x0) / step), int((centre[1] - y0) / step)
        if not (0 <= cx < crop.shape[1] and 0 <= cy < crop.shape[0]):
            continue
        radius = max(1, int(0.15 * np.sqrt(expected_area) / step))
        core = crop[max(cy - radius, 0) : cy + radius + 1, max(cx - radius, 0) : cx + radius + 1].reshape(-1, 3)
        reference = np.median(core, axis=0)
        distance = np.abs(crop - reference).max(axis=2)
        tolerance = max(0.06, 3.0 * float(np.median(np.abs(core - reference).max(axis=1))))
        inside = (distance < tolerance).astype(np.uint8)
        count, labels = cv2.connectedComponents(inside, connectivity=4)
        label = labels[cy, cx]
        if label == 0:
            continue
        ys, xs = np.nonzero(labels == label)
        area = len(xs) * step * step
        if not 0.4 * expected_area <= area <= 1.3 * expected_area:
            continue
        found_model.append(model_centre)
        found_image.append([x0 + (xs.mean() + 0.5) * step - 0.5, y0 + (ys.mean() + 0.5) * step - 0.5])
    if len(found_model) < 8:
        return np.asarray(corners, dtype=np.float64)
    pitch = np.sqrt(cv2.contourArea(np.asarray(corners, np.float32)) / 24.0)
    refined, inliers = cv2.findHomography(
        np.array(found_model), np.array(found_image), cv2.RANSAC, max(1.0, 0.08 * pitch)
    )
    if refined is None or inliers.sum() < 8:
        return np.asarray(corners, dtype=np.float64)
    return _transform(refined, CHART_CORNERS)


def _neutral_checks(patch_srgb, usable):
    """Drop neutrals that are tinted unlike the others or break the light-to-dark order."""
    usable = usable.copy()
    neutral = np.array(constants.NEUTRAL_PATCH_INDICES)
    linear = np.maximum(color.srgb_to_linear(patch_srgb[neutral]), 1e-4)
    tint = np.column_stack([np.log10(linear[:, 0] / linear[:, 1]), np.log10(linear[:, 2] / linear[:, 1])])
    candidates = usable[neutral]
    if candidates.sum() >= 2:
        median_tint = np.median(tint[candidates], axis=0)
        off_tint = np.linalg.norm(tint - median_tint, axis=1) > _NEUTRAL_TINT_TOLERANCE
        usable[neutral[off_tint]] = False
    # Light to dark: keep the longest chain of usable neutrals that darkens in every channel.
    chain = [i for i in range(6) if usable[neutral[i]]]
    keep = _longest_decreasing_chain(linear, chain)
    for i in chain:
        if i not in keep:
            usable[neutral[i]] = False
    return usable


def _longest_decreasing_chain(values, indices):
    best = {}
    for position, i in enumerate(indices):
        best[i] = [i]
        for j in indices[:position]:
            if np.all(values[i] < values[j]) and len(best[j]) + 1 > len(best[i]):
                best[i] = best[j] + [i]
    return max(best.values(), key=len) if best else []


def reading_from_corners(rgb, quad, chart="classic24", method="manual"):
    """Read and pre-check a chart from its four patch-area corners (any order).

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
    quad : array_like, shape (4, 2)
    chart : str
    method : str
        "manual" corners must lie inside the photo; "detected" ones may not (a card partly out of
        the frame: the patches outside are simply not usable).

    Returns
    -------
    CardReading
    """
    if chart not in constants.PATCH_PITCH_MM:
        raise InputError(f"unknown chart {chart!r}; choose one of {', '.join(constants.CHART_TYPES)}")
    quad = np.asarray(quad, dtype=np.float64)
    height, width = rgb.shape[:2]
    outside = np.any(quad < -0.5) or np.any(quad[:, 0] > width - 0.5) or np.any(quad[:, 1] > height - 0.5)
    if outside and method == "manual":
        raise InputError(f"the card corners fall outside the {width}x{height} photo")
    if cv2.contourArea(order_quad(quad).astype(np.float32)) < 24 * 16:
        raise InputError("the card corners enclose almost no area")
    corners = refine_corners(rgb, orient_corners(rgb, quad))
    centres, median, spread, clipped = read_patches(rgb, corners)
    finite = np.all(np.isfinite(median), axis=1)
    uniform = np.all(np.nan_to_num(spread, nan=1.0) <= _PATCH_SPREAD_LIMIT, axis=1)
    usable = finite & ~clipped & uniform
    usable = _neutral_checks(np.nan_to_num(median), usable)
    grid = centres.reshape(constants.CHART_ROWS, constants.CHART_COLUMNS, 2)
    pitch = float(
        np.mean(
            np.concatenate(
                [
                    np.linalg.norm(np.diff(grid, axis=1), axis=2).ravel(),
                    np.linalg.norm(np.diff(grid, axis=0), axis=2).ravel(),
                ]
            )
        )
    )
    return CardReading(
        chart=chart,
        corners=corners,
        centres=centres,
        patch_srgb=np.nan_to_num(median),
        patch_spread=np.nan_to_num(spread),
        clipped=clipped,
        usable=usable,
        pitch_px=pitch,
        method=method,
    )


def to_uint8(pixels):
    """uint8 pixels (0..255) from uint8, uint16 or float 0..1 pixels (rounded)."""
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.clip(pixels * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _reduced(pixels, long_side):
    """A copy whose longer side is at most ``long_side`` (area-averaged), in the pixels' own type; and its scale."""
    height, width = pixels.shape[:2]
    scale = min(1.0, long_side / max(height, width))
    if scale >= 1.0:
        return pixels, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    factor = int(1.0 / scale)
    if factor >= 2 and min(height, width) >= 2 * factor:
        # Area-average by a whole factor first (OpenCV's fast path, every pixel counted), then
        # interpolate the remaining less-than-2x reduction.
        whole = pixels[: height - height % factor, : width - width % factor]
        pixels = cv2.resize(whole, (whole.shape[1] // factor, whole.shape[0] // factor), interpolation=cv2.INTER_AREA)
        return cv2.resize(pixels, size, interpolation=cv2.INTER_LINEAR), scale
    return cv2.resize(np.ascontiguousarray(pixels), size, interpolation=cv2.INTER_AREA), scale


def _detector_copy(pixels, long_side):
    """(uint8 RGB copy reduced to ``long_side``, its scale): what the detector is given."""
    small, scale = _reduced(pixels, long_side)
    return to_uint8(small), scale


def _mcc_candidate_quads(rgb, long_side, median_px=0, reduced=None):
    """Run OpenCV's mcc detector on a reduced copy; return candidate patch-area quads in full-res pixels.

    ``median_px`` > 0 median-filters the copy first: hairs and fine lines that touch the card break
    the detector's square contours, and a median filter removes them while keeping the patches.
    ``reduced`` is (uint8 RGB copy, scale) when the caller has made it already.
    """
    if reduced is None:
        reduced = _detector_copy(rgb, long_side)
    small, scale = reduced
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    if median_px:
        bgr = cv2.medianBlur(bgr, median_px)
    detector = cv2.mcc.CCheckerDetector.create()
    detector.setColorChartType(cv2.mcc.MCC24)
    if not detector.process(bgr, 2):
        return []
    quads = []
    for checker in detector.getListColorChecker():
        points = np.asarray(checker.getColorCharts(), dtype=np.float64).reshape(24, 4, 2)
        centres = points.mean(axis=1) / scale
        homography, _ = cv2.findHomography(CHART_CENTRES, centres, 0)
        if homography is None:
            continue
        quads.append(_transform(homography, CHART_CORNERS))
    return quads


def verify(reading):
    """Fit the correction on a reading and decide whether it really is the chart.

    Parameters
    ----------
    reading : CardReading

    Returns
    -------
    calibrate.CorrectionFit or None
        None when too few patches are usable or the fit leaves a mean leave-one-out error over
        RESIDUAL_REJECT_DE00 (not the chart).

    Notes
    -----
    Patches that do not fit the chart are first screened out one at a time
    (:func:`calibrate.screen_outliers`), then the correction is fitted on the rest.
    """
    usable = screen_outliers(reading.patch_srgb, reading.usable)
    try:
        fit = fit_correction(reading.patch_srgb, usable)
    except ValueError:
        return None
    if fit.mean_residual > constants.RESIDUAL_REJECT_DE00:
        return None
    return fit


def detect(rgb, chart="classic24"):
    """Find the chart in a photo and verify it.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
        The photo's pixels: uint8, uint16 or float 0..1.
    chart : str
        Which chart the practitioner uses; sets the physical scale.

    Returns
    -------
    (CardReading, calibrate.CorrectionFit) or (None, None)
        The verified card with the usable patches the fit kept, or nothing when no card verifies.

    Notes
    -----
    A photo without the chart's colours (:func:`chart_colours_present`) is not searched. A candidate
    that cannot be read or verified (corners off the photo, degenerate geometry, a fit that fails)
    counts as no card: detection never raises on what the detector returns.
    """
    if min(rgb.shape[:2]) < constants.MIN_PHOTO_SIDE_PX:
        return None, None
    attempts = detection_attempts(max(rgb.shape[:2]))
    copies = {attempts[0][0]: _detector_copy(rgb, attempts[0][0])}
    if not chart_colours_present(copies[attempts[0][0]][0]):  # screened on the first copy: no extra pass
        return None, None
    for long_side, median_px in attempts:
        if long_side not in copies:
            copies[long_side] = _detector_copy(rgb, long_side)
        best = (None, None)
        for quad in _mcc_candidate_quads(rgb, long_side, median_px, reduced=copies[long_side]):
            try:
                reading = reading_from_corners(rgb, quad, chart=chart, method="detected")
                fit = verify(reading)
            except (InputError, ValueError, ArithmeticError, np.linalg.LinAlgError, cv2.error):
                continue
            if fit is not None and (best[1] is None or fit.mean_residual < best[1].mean_residual):
                best = (dataclasses.replace(reading, usable=fit.usable), fit)
        if best[0] is not None:
            return best
    return None, None


def draw_reading(rgb, reading):
    """Draw the detected chart on a copy of the photo: outline, patch windows, patch numbers.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
        uint8, uint16 or float 0..1.
    reading : CardReading

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), uint8 RGB
    """
    canvas = to_uint8(rgb).copy()
    thickness = max(1, int(round(reading.pitch_px / 30)))
    cv2.polylines(canvas, [np.round(reading.corners).astype(np.int32)], True, (255, 255, 0), thickness * 2)
    font_scale = max(0.3, reading.pitch_px / 70)
    for index, centre in enumerate(reading.centres):
        colour = (25, 230, 50) if reading.usable[index] else (255, 40, 40)  # green used, red left out
        x, y = (int(round(v)) for v in centre)
        cv2.circle(canvas, (x, y), max(2, int(reading.pitch_px * 0.12)), colour, thickness)
        label = str(index + 1)
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        cv2.putText(canvas, label, (x - tw // 2, y - int(reading.pitch_px * 0.2)), cv2.FONT_HERSHEY_SIMPLEX,
                    font_scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
        cv2.putText(canvas, label, (x - tw // 2, y - int(reading.pitch_px * 0.2)), cv2.FONT_HERSHEY_SIMPLEX,
                    font_scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return canvas
