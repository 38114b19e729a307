"""The treated area and the skin it is compared against.

All functions work on a crop of the photo (the pipeline cuts it around the box or mask, so the cost
grows with the area measured, not with the photo) in colour-corrected CIE L*a*b*.
"""

import cv2
import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.morphology import skeletonize

from .errors import InputError

#: Structuring element for hair detection (black-hat on L*), pixels: hairs thinner than about a third
#: of this are found, ink and lesions wider than it are not.
HAIR_KERNEL_PX = 11
#: A pixel darker than its closing by this many L* units, in a thin structure, is hair.
HAIR_DEPTH_L = 6.0
#: Reference ring: a gap, then a band, as fractions of the treated area's equivalent radius.
RING_GAP_FRACTION = 0.25
RING_BAND_FRACTION = 0.5
#: Fraction of a box's pixels that must differ from the skin by more than 5 robust deviations of the
#: skin's own variation for an area to count as standing out (chance gives well under 1 %; the
#: faintest rendered lesions give 15 %, a blended-in camouflage 0.1 %).
STANDS_OUT_FRACTION = 0.05
#: Fewest reference pixels that make a reliable median.
MIN_REFERENCE_PIXELS = 50
#: A reference pixel further than this (CIE76, smoothed) from the ring's median is another lesion,
#: a mole, a vein or a shadow, and is left out.
REFERENCE_OUTLIER_DE76 = 6.0


def parse_box(text, option="--roi"):
    """Parse ``X,Y,W,H`` (pixels) into a tuple of ints.

    Raises
    ------
    InputError
        Not four numbers, or a non-positive width or height.
    """
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"{option} takes X,Y,W,H in pixels, got {text!r}") from None
    if len(values) != 4:
        raise InputError(f"{option} takes four numbers X,Y,W,H, got {len(values)}")
    if not all(np.isfinite(values)):
        raise InputError(f"{option} takes four finite numbers X,Y,W,H in pixels, got {text!r}")
    return tuple(int(round(v)) for v in values)


def validate_box(box, shape, option="--roi"):
    """Check that a box (x, y, w, h) lies inside an image of ``shape``; return it as ints.

    Raises
    ------
    InputError
        Zero or negative size, or any part outside the photo.
    """
    try:
        x, y, w, h = (int(round(float(v))) for v in box)
    except (TypeError, ValueError, OverflowError):  # not numbers, NaN, infinity
        raise InputError(f"{option} must be four finite numbers x, y, w, h") from None
    height, width = shape[:2]
    if w <= 0 or h <= 0:
        raise InputError(f"{option} {x},{y},{w},{h} has no area (width and height must be positive)")
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise InputError(f"{option} {x},{y},{w},{h} is outside the {width}x{height} photo")
    if w * h < 16:
        raise InputError(f"{option} {x},{y},{w},{h} is too small to measure (under 16 pixels)")
    return x, y, w, h


def box_mask(box, shape):
    """Boolean mask of a box (x, y, w, h) in an image of ``shape``."""
    mask = np.zeros(shape[:2], dtype=bool)
    x, y, w, h = box
    mask[max(y, 0) : y + h, max(x, 0) : x + w] = True
    return mask


def hair_mask(lightness, kernel_px=HAIR_KERNEL_PX, depth=HAIR_DEPTH_L):
    """Thin dark structures (hairs) by a morphological black-hat on L*.

    Parameters
    ----------
    lightness : numpy.ndarray, shape (H, W)
        L* of the crop.

    Returns
    -------
    numpy.ndarray of bool
        Hair pixels, dilated by one pixel to take the anti-aliased fringe.

    Notes
    -----
    L* is lightly smoothed (σ 0.8 px) against noise, then
    black-hat = closing(L*) − L* with an elliptical element of ``kernel_px``: large where a structure
    narrower than the element is darker than its surroundings (Lee et al. 1997, DullRazor, Comput.
    Biol. Med. 27(6), 533-543, use the same idea on dermoscopy images).
    """
    element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel_px, kernel_px))
    lightness = cv2.GaussianBlur(lightness.astype(np.float32), (0, 0), 0.8)
    black_hat = cv2.morphologyEx(lightness, cv2.MORPH_CLOSE, element) - lightness
    hair = (black_hat > depth).astype(np.uint8)
    # Hairs are long and thin: keep components whose skeleton is at least an element long and whose
    # mean width (area / skeleton length) is under 0.7 of an element. Pores, noise and ink mottling are
    # compact (short skeleton, large width); crossing hairs stay thin, so they are kept too.
    count, labels = cv2.connectedComponents(hair, connectivity=8)
    if count <= 1:
        return np.zeros(hair.shape, dtype=bool)
    area = np.bincount(labels.ravel(), minlength=count)
    skeleton_length = np.bincount(labels[skeletonize(hair.astype(bool))], minlength=count)
    mean_width = area / np.maximum(skeleton_length, 1)
    keep = (skeleton_length >= kernel_px) & (mean_width <= 0.7 * kernel_px)
    keep[0] = False
    hair = keep[labels]
    return cv2.dilate(hair.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def glare_mask(lab, skin_lab):
    """Specular highlights: near-white, low-chroma pixels far brighter than the skin.

    Parameters
    ----------
    lab : numpy.ndarray, shape (H, W, 3)
    skin_lab : array_like, shape (3,)

    Returns
    -------
    numpy.ndarray of bool
    """
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    return (lab[..., 0] > max(skin_lab[0] + 25.0, 85.0)) & (chroma < 10.0)


def _fill_invalid(lab, valid, sigma):
    """Replace invalid pixels by a Gaussian-weighted average of valid neighbours (normalised convolution)."""
    weight = cv2.GaussianBlur(valid.astype(np.float32), (0, 0), sigma)
    filled = np.empty_like(lab, dtype=np.float32)
    for channel in range(3):
        numerator = cv2.GaussianBlur((lab[..., channel] * valid).astype(np.float32), (0, 0), sigma)
        filled[..., channel] = np.where(valid, lab[..., channel], numerator / np.maximum(weight, 1e-6))
    return filled


def treated_area_from_box(lab, valid, box):
    """Find the treated area inside a loose box.

    Parameters
    ----------
    lab : numpy.ndarray, shape (H, W, 3)
        Colour-corrected L*a*b* of a crop that holds the box and a margin of skin around it.
    valid : numpy.ndarray of bool, shape (H, W)
        Pixels that may be measured (not hair, glare, clipped, card).
    box : tuple
        (x, y, w, h) in crop pixels.

    Returns
    -------
    mask : numpy.ndarray of bool, shape (H, W)
    stands_out : bool
        False when the area does not stand out from the skin (a camouflage that blends in, or an
        empty box): the mask is then the whole box.

    Raises
    ------
    InputError
        No skin left around the box to compare with.

    Notes
    -----
    0. Does anything stand out? Skin pixels rarely lie more than 5 scaled MADs above the margin's
       median distance from the skin colour (a robust bound that stray hairs in the margin do not
       inflate); when fewer than STANDS_OUT_FRACTION of the box's pixels do, the area is not
       distinguishable from the skin and the whole box is returned.
    1. Skin colour = median of the valid pixels in the margin outside the box.
    2. Invalid pixels (hair, glare, clipped, card) are filled from their neighbours; step 0 is taken
       on a fine pass smoothed with σ = 1 % of the box (at least 1.5 px).
    3. Coarse pass, smoothed with σ = 4 % of the box: a first area where the CIE76 distance from the
       skin exceeds Otsu's threshold (and the margin's own 99th percentile) inside the box.
    4. The area's core colour (its most distinct 40 %) gives the direction skin -> lesion; on the fine
       pass every pixel is projected on it and the area is where
       the projection exceeds half the core's: the outline at half contrast, which is where a soft
       edge is half blended.
    5. Components under a tenth of the largest are dropped; holes are filled.
    """
    x, y, w, h = box
    inside = box_mask(box, lab.shape)
    margin = valid & ~inside
    if margin.sum() < MIN_REFERENCE_PIXELS:
        raise InputError("the box leaves no skin around it to compare with: draw it with some margin")
    skin = np.median(lab[margin], axis=0)
    filled = _fill_invalid(lab, valid, max(3.0, 0.02 * min(w, h)))
    # Fine pass (σ 1 % of the box, at least 1.5 px): does anything stand out; later, the outline.
    difference = cv2.GaussianBlur(filled, (0, 0), max(1.5, 0.01 * min(w, h))) - skin
    fine_distance = np.linalg.norm(difference, axis=2)
    typical = np.median(fine_distance[margin])
    spread = 1.4826 * np.median(np.abs(fine_distance[margin] - typical))
    if np.mean(fine_distance[inside] > typical + 5.0 * spread) < STANDS_OUT_FRACTION:
        return inside, False
    # Coarse pass (σ 4 % of the box): where the area is and in which colour direction, blind to thin
    # things (stray hairs, pores) that the fine pass would mistake for the area.
    coarse = cv2.GaussianBlur(filled, (0, 0), max(2.0, 0.04 * min(w, h))) - skin
    distance = np.linalg.norm(coarse, axis=2)
    in_box = distance[inside]
    noise_floor = float(np.percentile(distance[margin], 99))
    try:
        threshold = max(float(threshold_otsu(in_box)), noise_floor)
    except ValueError:
        threshold = noise_floor
    first = inside & (distance > threshold)
    if first.sum() < 16:
        return inside, False
    core = first & valid & (distance >= np.percentile(distance[first], 60))
    if core.sum() < 9:
        core = first & (distance >= np.percentile(distance[first], 60))
    core_difference = np.median(difference[core], axis=0)
    contrast = float(np.linalg.norm(core_difference))
    direction = core_difference / contrast
    projection = difference @ direction
    area = inside & (projection > contrast / 2)
    return _clean_mask(area), True


def _clean_mask(mask):
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, dtype=bool)
    keep[1:] = areas >= max(0.1 * areas.max(), 9)
    return ndimage.binary_fill_holes(keep[labels])


def reference_ring(treated, valid, lab):
    """Untreated skin around the treated area: a gap, then a band, both scaled to the area's size.

    Parameters
    ----------
    treated : numpy.ndarray of bool, shape (H, W)
    valid : numpy.ndarray of bool, shape (H, W)
        Pixels that may be measured (hair, glare, clipped and card already excluded).
    lab : numpy.ndarray, shape (H, W, 3)

    Returns
    -------
    numpy.ndarray of bool

    Raises
    ------
    InputError
        Too little untreated skin around the area.

    Notes
    -----
    With r = sqrt(area / π) the equivalent radius, the ring holds pixels at a distance from the area
    between 0.25 r (at least 2 px) and 0.25 r + 0.5 r (at least 3 px more). Pixels more than
    REFERENCE_OUTLIER_DE76 from the ring's median (after light smoothing) are other lesions and are
    left out.
    """
    radius = np.sqrt(treated.sum() / np.pi)
    gap = max(2.0, RING_GAP_FRACTION * radius)
    band = max(3.0, RING_BAND_FRACTION * radius)
    distance = cv2.distanceTransform((~treated).astype(np.uint8), cv2.DIST_L2, 5)
    ring = (distance > gap) & (distance <= gap + band) & valid
    return _without_outliers(ring, lab)


def reference_from_box(box, treated, valid, lab):
    """The reference skin from a chosen patch of untreated skin (x, y, w, h in crop pixels)."""
    region = box_mask(box, lab.shape) & valid & ~treated
    return _without_outliers(region, lab)


def _without_outliers(region, lab):
    if region.sum() < MIN_REFERENCE_PIXELS:
        raise InputError(
            "too little untreated skin to compare with: choose a reference patch (--reference-roi)"
        )
    smooth = cv2.GaussianBlur(lab.astype(np.float32), (0, 0), 1.5)
    centre = np.median(smooth[region], axis=0)
    far = np.linalg.norm(smooth - centre, axis=2) > REFERENCE_OUTLIER_DE76
    kept = region & ~far
    if kept.sum() < MIN_REFERENCE_PIXELS:
        raise InputError(
            "the skin around the area is too uneven to compare with: choose a reference patch (--reference-roi)"
        )
    return kept


def draw_regions(rgb, treated, reference):
    """The photo with the treated area outlined (green) and the reference skin tinted (blue).

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3), float 0..1
    treated, reference : numpy.ndarray of bool, shape (H, W)

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), uint8
    """
    canvas = np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8).copy()
    tint = np.array([40, 120, 255], np.float32)
    canvas[reference] = (0.6 * canvas[reference] + 0.4 * tint).astype(np.uint8)
    thickness = max(1, int(round(max(rgb.shape[:2]) / 600)))
    contours, _ = cv2.findContours(treated.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(canvas, contours, -1, (40, 255, 80), thickness)
    return canvas


def edge_width_px(lab, treated, reference):
    """Mean width of the area's edge: how far it takes to go from 75 % to 25 % of the contrast.

    Parameters
    ----------
    lab : numpy.ndarray, shape (H, W, 3)
    treated, reference : numpy.ndarray of bool

    Returns
    -------
    float or None
        Pixels of ``lab``'s grid; None when the area has no contrast to speak of (under 2 ΔE76).

    Notes
    -----
    With u the unit colour direction from the reference's median to the area's median and c their
    distance, every pixel (lightly smoothed, σ 1 px) gets a fraction f = (Lab − ref)·u / c. Within a
    band of half the area's equivalent radius around its outline, the pixels with 0.25 < f < 0.75
    form the edge; its area divided by the outline's length is the mean edge width. A permanent
    makeup stroke that blurs ("spreads") widens it; a sharp tattoo line keeps it near one pixel.
    """
    treated_colour = np.median(lab[treated], axis=0)
    reference_colour = np.median(lab[reference], axis=0)
    difference = treated_colour - reference_colour
    contrast = float(np.linalg.norm(difference))
    if contrast < 2.0:
        return None
    smooth = cv2.GaussianBlur(lab.astype(np.float32), (0, 0), 1.0)
    fraction = ((smooth - reference_colour) @ (difference / contrast)) / contrast
    radius = np.sqrt(treated.sum() / np.pi)
    outline = treated.astype(np.uint8)
    inside = cv2.distanceTransform(outline, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(1 - outline, cv2.DIST_L2, 5)
    band = np.maximum(inside, outside) <= max(2.0, 0.5 * radius)
    edge = band & (fraction > 0.25) & (fraction < 0.75)
    contours, _ = cv2.findContours(outline, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    length = sum(cv2.arcLength(c, True) for c in contours)
    return float(edge.sum() / max(length, 1.0))
