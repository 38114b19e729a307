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
#: Reference ring: a gap, then a band, as fractions of the treated area's equivalent radius, and their
#: least widths in pixels (a small area still gets a ring a few pixels wide beyond its blurred edge).
RING_GAP_FRACTION = 0.25
RING_BAND_FRACTION = 0.5
RING_MIN_GAP_PX = 2.0
RING_MIN_BAND_PX = 3.0
#: Fraction of a box's pixels that must differ from the skin by more than 5 robust deviations of the
#: skin's own variation for an area to count as standing out (chance gives well under 1 %; the
#: faintest rendered lesions give 15 %, a blended-in camouflage 0.1 %).
STANDS_OUT_FRACTION = 0.05
#: Fewest reference pixels that make a reliable median.
MIN_REFERENCE_PIXELS = 50
#: A follow-up is compared with its baseline's reference skin, mapped, when at least this fraction of
#: the mapped pixels is skin in the follow-up (else with its own ring): a majority, so the reference
#: stays mostly the same skin; below it the mapped skin is mostly hidden (clothing, out of frame).
MAPPED_REFERENCE_FRACTION = 0.5
#: The reference ring is widened outward (its band multiplied by these factors in turn) until it holds
#: this fraction of the treated area's pixel count in skin (real photos seldom have skin all round).
REFERENCE_ENOUGH_FRACTION = 0.3
REFERENCE_WIDENING = (1.0, 2.0, 3.0, 5.0)
#: Warn when the reference holds fewer pixels than this fraction of the treated area (or fewer than
#: REFERENCE_THIN_PIXELS), or when its L* interquartile range exceeds REFERENCE_UNEVEN_IQR_L (even
#: skin spans 2-4 L* units; shading, a vein or a tan line beyond that moves its median).
REFERENCE_THIN_FRACTION = 0.1
REFERENCE_THIN_PIXELS = 200
REFERENCE_UNEVEN_IQR_L = 8.0
#: A reference pixel further than this (CIE76, smoothed) from the ring's median is another lesion,
#: a mole, a vein or a shadow, and is left out.
REFERENCE_OUTLIER_DE76 = 6.0
#: At most this many more rounds of the outlier screen, each against the median of what the last kept.
OUTLIER_ROUNDS = 5
#: With a skin map, the area is judged against the skin's colour where it is (:func:`skin_field`),
#: carried with a Gaussian of this fraction of the box's longer side.
SKIN_FIELD_FRACTION = 0.15
#: ... on a grid with at least this many cells per σ (interpolated back to the full grid).
SKIN_FIELD_GRID_STEPS = 8.0
#: Line-work (fine-line tattoos, microblading strokes): when the most distinct LINE_WORK_CORE_PERCENT
#: of the first area's pixels on a sharp pass differ from the skin by more than
#: LINE_WORK_CONTRAST_RATIO times its coarse core, and pixels past half that contrast cover under
#: LINE_WORK_MAX_COVER of the first area, the area is the lines themselves (holes kept). Rendered solid
#: lesions give ratios 1.05-1.2 and cover 0.92-1.0; 2 px line-work 2.0 and 0.3.
LINE_WORK_CORE_PERCENT = 20
LINE_WORK_CONTRAST_RATIO = 1.5
LINE_WORK_MAX_COVER = 0.6
#: ... and only when the lines' colour lies in the area's own colour direction (cosine at least this):
#: hairs across a red patch are dark, not red, and are not its line-work.
LINE_WORK_MIN_COSINE = 0.8
#: GrabCut refinement of the area (:func:`grabcut_area`): iterations, the box's growth each way, and
#: the longest side of the grid it runs on. On the shared wound photos 3 iterations at 160 px scored
#: as well as 5 at full size (Dice median 0.80 against 0.80) in a third of the time.
GRABCUT_ITERATIONS = 3
GRABCUT_MARGIN = 0.2
GRABCUT_LONG_SIDE = 160
GRABCUT_SEED = 0
#: GrabCut's outline is kept only when its area is within this factor of the first one (either way):
#: a refinement, not a different answer.
GRABCUT_MAX_CHANGE = 3.0
#: ... and it runs only when the box's non-skin pixels left out of the first area amount to this
#: fraction of it (a wound's other tissues): on rendered one-colour lesions they are 0-0.18 and the
#: half-blend outline is the truth; on the shared wound photos the rule keeps Dice at 0.83 (0.84
#: refining every photo, 0.64 never).
GRABCUT_MISSED_FRACTION = 0.3
#: ... read on a pass smoothed only against noise (σ in pixels of the working grid).
LINE_WORK_SIGMA_PX = 0.7


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


#: A box that runs off the photo is clipped to it; it is refused only when less than this fraction of
#: it lies inside the photo (or fewer than 16 pixels): a box mostly off the photo was given in another
#: photo's coordinates (another size or orientation), and a sliver of it is not what was meant.
MIN_BOX_INSIDE_FRACTION = 0.1
#: Fewest pixels of a box inside the photo that can be measured (a 4 x 4 patch).
MIN_BOX_PIXELS = 16


def box_on_photo(box, shape, option="--roi"):
    """A box (x, y, w, h) clipped to an image of ``shape``, and a warning when it had to be clipped.

    Parameters
    ----------
    box : sequence of 4 numbers
        x, y, w, h in pixels (rounded to integers).
    shape : tuple
        The photo's shape (height, width, ...).
    option : str
        How the box was given (``--roi``, ``--reference-roi``), for the messages.

    Returns
    -------
    box : tuple of 4 ints
        The part of the box inside the photo.
    warning : str or None
        "the box ran off the photo: clipped to x,y,w,h" when it was clipped.

    Raises
    ------
    InputError
        Not finite numbers, zero or negative size, less than MIN_BOX_INSIDE_FRACTION of the box (or
        under 16 pixels) inside the photo.
    """
    try:
        x, y, w, h = (int(round(float(v))) for v in box)
    except (TypeError, ValueError, OverflowError):  # not numbers, NaN, infinity
        raise InputError(f"{option} must be four finite numbers x, y, w, h") from None
    height, width = shape[:2]
    if w <= 0 or h <= 0:
        raise InputError(f"{option} {x},{y},{w},{h} has no area (width and height must be positive)")
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    inside = max(x1 - x0, 0) * max(y1 - y0, 0)
    if inside < MIN_BOX_INSIDE_FRACTION * w * h:
        where = "outside" if inside == 0 else "almost all outside"
        raise InputError(f"{option} {x},{y},{w},{h} is {where} the {width}x{height} photo")
    if inside < MIN_BOX_PIXELS:
        raise InputError(f"{option} {x},{y},{w},{h} is too small to measure (under {MIN_BOX_PIXELS} pixels in the photo)")
    if (x0, y0, x1, y1) == (x, y, x + w, y + h):
        return (x, y, w, h), None
    clipped = (x0, y0, x1 - x0, y1 - y0)
    name = "the box" if option == "--roi" else f"the box {option}"
    return clipped, f"{name} ran off the photo: clipped to {','.join(map(str, clipped))}"


def validate_box(box, shape, option="--roi"):
    """A box (x, y, w, h) as ints, clipped to an image of ``shape`` (:func:`box_on_photo` without its warning).

    Raises
    ------
    InputError
        As :func:`box_on_photo`.
    """
    return box_on_photo(box, shape, option)[0]


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


def skin_field(lab, skin, sigma):
    """The skin's colour at every pixel, interpolated from the skin pixels (normalised convolution).

    Parameters
    ----------
    lab : numpy.ndarray, shape (H, W, 3)
    skin : numpy.ndarray of bool, shape (H, W)
        Pixels known to be skin.
    sigma : float
        Gaussian σ in pixels: how far the skin's colour is carried.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), float32

    Notes
    -----
    field = G_σ * (lab · skin) / G_σ * skin (Knutsson & Westin 1993, normalised convolution): a
    Gaussian-weighted mean of the skin around each pixel, which follows a shadow or a change of skin
    tone across the box, where one median for the whole margin does not.

    It is computed on a grid with at least SKIN_FIELD_GRID_STEPS cells per σ (area-averaged, padded
    to whole cells) and interpolated back: within 0.3 L*a*b* units of the full-grid result at σ up to
    36 px (tests/test_analyze.py), at a small fraction of the cost of a wide Gaussian.
    """
    height, width = skin.shape
    # The field is smooth at the scale σ: it is computed on a grid SKIN_FIELD_GRID_STEPS times finer
    # than σ (at most), then interpolated back (a wide Gaussian on the full grid costs far more).
    factor = max(1, int(sigma / SKIN_FIELD_GRID_STEPS))
    weights = skin.astype(np.float32)
    values = lab.astype(np.float32) * weights[..., None]
    if factor > 1:
        # Padded (mirrored) to whole cells, so the coarse cells' centres fall on the fine grid's.
        pad_y, pad_x = -height % factor, -width % factor
        weights = cv2.copyMakeBorder(weights, 0, pad_y, 0, pad_x, cv2.BORDER_REFLECT)
        values = cv2.copyMakeBorder(values, 0, pad_y, 0, pad_x, cv2.BORDER_REFLECT)
        size = (weights.shape[1] // factor, weights.shape[0] // factor)
        weights = cv2.resize(weights, size, interpolation=cv2.INTER_AREA)
        values = cv2.resize(values, size, interpolation=cv2.INTER_AREA)
    weight = cv2.GaussianBlur(weights, (0, 0), sigma / factor)
    field = cv2.GaussianBlur(values, (0, 0), sigma / factor) / np.maximum(weight, 1e-12)[..., None]
    if factor > 1:
        full = (size[0] * factor, size[1] * factor)
        field = cv2.resize(field, full, interpolation=cv2.INTER_LINEAR)[:height, :width]
        weight = cv2.resize(weight, full, interpolation=cv2.INTER_LINEAR)[:height, :width]
    empty = weight < 1e-12
    if empty.any():
        field[empty] = np.median(lab[skin], axis=0)
    return field.astype(np.float32)


def treated_area_from_box(lab, valid, box, skin_map=None):
    """Find the treated area inside a loose box.

    Parameters
    ----------
    lab : numpy.ndarray, shape (H, W, 3)
        Colour-corrected L*a*b* of a crop that holds the box and a margin of skin around it.
    valid : numpy.ndarray of bool, shape (H, W)
        Pixels that may be measured (not hair, glare, clipped, card).
    box : tuple
        (x, y, w, h) in crop pixels.
    skin_map : skin.SkinMap, optional
        The crop's skin map (:func:`skinscan.skin.skin_map`): the area is searched only on the body
        (skin and the lesion or ink on it), and "stands out" and the skin colour are judged from its
        skin only. Without it every pixel around the box is taken for skin.

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
    1. Skin colour = median of the valid pixels in the margin outside the box; with a skin map, the
       skin's own colour where each pixel is (:func:`skin_field` of the skin around the box, or of
       the skin inside it when too little is outside).
    2. Invalid pixels (hair, glare, clipped, card) are filled from their neighbours; step 0 is taken
       on a fine pass smoothed with σ = 1 % of the box (at least 1.5 px).
    3. Coarse pass, smoothed with σ = 4 % of the box: a first area where the CIE76 distance from the
       skin exceeds Otsu's threshold (and the margin's own 99th percentile) inside the box.
    4. The area's core colour (its most distinct 40 %) gives the direction skin -> lesion; on the fine
       pass every pixel is projected on it and the area is where
       the projection exceeds half the core's: the outline at half contrast, which is where a soft
       edge is half blended.
       Line-work: when the most distinct sharp-pass pixels (LINE_WORK_CORE_PERCENT) of the first area
       differ from the skin LINE_WORK_CONTRAST_RATIO times more than that core and cover little of it
       (LINE_WORK_MAX_COVER) while pointing the same way (LINE_WORK_MIN_COSINE), their colour sets the
       direction and contrast instead, on the sharp pass (the lines, not the skin between them).
    5. Components under a tenth of the largest are dropped; holes are filled (not in line-work).
    """
    x, y, w, h = box
    inside = box_mask(box, lab.shape)
    if skin_map is not None:
        # The skin's own pixels: around the box first, those inside the box when too few are outside
        # (a box drawn across the whole limb). The area is searched on the body only.
        margin = valid & skin_map.skin & ~inside
        if margin.sum() < MIN_REFERENCE_PIXELS:
            margin = valid & skin_map.skin
        inside = inside & skin_map.body
        valid = valid & skin_map.body
        if inside.sum() < 16:
            raise InputError("the box holds no skin: draw it over the treated area")
    else:
        margin = valid & ~inside
    if margin.sum() < MIN_REFERENCE_PIXELS:
        raise InputError("the box leaves no skin around it to compare with: draw it with some margin")
    if skin_map is not None:
        # The skin's colour where each pixel is (shading, a tan line and uneven skin move it across
        # the box), interpolated from the skin around it.
        skin = skin_field(lab, margin, max(4.0, SKIN_FIELD_FRACTION * max(w, h)))
    else:
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
    # Line-work: the coarse pass blurs fine lines into a faint cloud; their own colour is the fine
    # pass's most distinct pixels. When those stand out far more than the coarse core, the lines
    # (not the cloud, nor the skin they enclose) are the area.
    sharp = cv2.GaussianBlur(filled, (0, 0), LINE_WORK_SIGMA_PX) - skin
    sharp_distance = np.linalg.norm(sharp, axis=2)
    fine_core = first & valid & (sharp_distance >= np.percentile(sharp_distance[first], 100 - LINE_WORK_CORE_PERCENT))
    line_work = False
    if fine_core.sum() >= 9:
        fine_difference = np.median(sharp[fine_core], axis=0)
        fine_contrast = float(np.linalg.norm(fine_difference))
        covered = np.mean((sharp[first] @ (fine_difference / max(fine_contrast, 1e-6))) > fine_contrast / 2)
        cosine = float(fine_difference @ core_difference) / max(fine_contrast * contrast, 1e-6)
        if (fine_contrast > LINE_WORK_CONTRAST_RATIO * contrast and covered < LINE_WORK_MAX_COVER
                and cosine >= LINE_WORK_MIN_COSINE):
            core_difference, contrast, line_work = fine_difference, fine_contrast, True
            difference = sharp
    direction = core_difference / contrast
    projection = difference @ direction
    area = _clean_mask(inside & (projection > contrast / 2), fill_holes=not line_work) & inside
    if skin_map is not None and not line_work:
        # A wound is red, yellow and black at once: one colour direction finds one tissue. When much
        # of the box's non-skin is left out, GrabCut takes the area found and the body's non-skin
        # pixels as probable area, the box's skin as probable skin, and lets colour mixtures and
        # edges settle the outline.
        not_skin = inside & ~skin_map.skin
        not_skin = cv2.morphologyEx(not_skin.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
        missed = (not_skin & ~area).sum() / max(area.sum(), 1)
        refined = grabcut_area(lab, box, area | not_skin, inside) if missed > GRABCUT_MISSED_FRACTION else None
        if refined is not None and refined.any():
            refined = _clean_mask(refined) & inside
            change = refined.sum() / max(area.sum(), 1)
            if 1 / GRABCUT_MAX_CHANGE <= change <= GRABCUT_MAX_CHANGE and (refined & valid).sum() >= 9:
                area = refined
    return area, True


def grabcut_area(lab, box, probable, allowed):
    """Refine an area inside a box with GrabCut on L*a*b*.

    Parameters
    ----------
    lab : numpy.ndarray, shape (H, W, 3)
    box : tuple (x, y, w, h)
    probable : numpy.ndarray of bool
        Probable area (the rest of ``allowed`` is probable skin).
    allowed : numpy.ndarray of bool
        Where the area may be (the body inside the box); everything else is fixed background.

    Returns
    -------
    numpy.ndarray of bool or None
        None when GrabCut could not run (too few pixels of either kind).

    Notes
    -----
    Rother, Kolmogorov & Blake 2004, "GrabCut", ACM Trans. Graph. 23(3), 309-314 (``cv2.grabCut``,
    GRABCUT_ITERATIONS, 5-component Gaussian mixtures per class and a contrast-sensitive smoothness
    term), run on the box grown by GRABCUT_MARGIN each way and read on a grid of at most
    GRABCUT_LONG_SIDE pixels (cost stays flat with the photo's size). L*a*b* is coded into 8 bits
    (2.55 L*, a* + 128, b* + 128).
    """
    x, y, w, h = box
    height, width = lab.shape[:2]
    margin_x, margin_y = int(GRABCUT_MARGIN * w) + 2, int(GRABCUT_MARGIN * h) + 2
    rows = slice(max(0, y - margin_y), min(height, y + h + margin_y))
    columns = slice(max(0, x - margin_x), min(width, x + w + margin_x))
    labels = np.full((height, width), cv2.GC_BGD, np.uint8)
    labels[allowed] = cv2.GC_PR_BGD
    labels[allowed & probable] = cv2.GC_PR_FGD
    labels = labels[rows, columns]
    if (labels == cv2.GC_PR_FGD).sum() < 16 or (labels != cv2.GC_PR_FGD).sum() < 16:
        return None
    coded = np.empty(labels.shape + (3,), np.uint8)
    region = lab[rows, columns]
    coded[..., 0] = np.clip(region[..., 0] * 2.55, 0, 255)
    coded[..., 1:] = np.clip(region[..., 1:] + 128.0, 0, 255)
    scale = min(1.0, GRABCUT_LONG_SIDE / max(labels.shape))
    size = (max(1, round(labels.shape[1] * scale)), max(1, round(labels.shape[0] * scale)))
    small_labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
    small_image = cv2.resize(coded, size, interpolation=cv2.INTER_AREA)
    if (small_labels == cv2.GC_PR_FGD).sum() < 9 or (small_labels != cv2.GC_PR_FGD).sum() < 9:
        return None
    background, foreground = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(GRABCUT_SEED)  # its mixtures start from k-means: the same photo, the same area
    try:
        cv2.grabCut(small_image, small_labels, None, background, foreground, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return None
    found = np.isin(small_labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    found = cv2.resize(found, (labels.shape[1], labels.shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)
    result = np.zeros((height, width), bool)
    result[rows, columns] = found
    return result & allowed


def _clean_mask(mask, fill_holes=True):
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, dtype=bool)
    keep[1:] = areas >= max(0.1 * areas.max(), 9)
    return ndimage.binary_fill_holes(keep[labels]) if fill_holes else keep[labels]


def _ring_geometry(treated):
    """(r, gap, band, distance): the area's equivalent radius sqrt(area / π), the reference ring's gap
    and first band widths in pixels, and every pixel's distance from the area (L2 distance transform)."""
    radius = np.sqrt(treated.sum() / np.pi)
    gap = max(RING_MIN_GAP_PX, RING_GAP_FRACTION * radius)
    band = max(RING_MIN_BAND_PX, RING_BAND_FRACTION * radius)
    return radius, gap, band, cv2.distanceTransform((~treated).astype(np.uint8), cv2.DIST_L2, 5)


def reference_ring(treated, valid, lab):
    """Untreated skin around the treated area: a gap, then a band, widened outward until it holds enough skin.

    Parameters
    ----------
    treated : numpy.ndarray of bool, shape (H, W)
    valid : numpy.ndarray of bool, shape (H, W)
        Pixels that may serve as reference: skin of the body part (hair, glare, clipped, card and
        background already excluded).
    lab : numpy.ndarray, shape (H, W, 3)

    Returns
    -------
    numpy.ndarray of bool

    Raises
    ------
    InputError
        Too little untreated skin around the area, even widened.

    Notes
    -----
    With r = sqrt(area / π) the equivalent radius, the ring holds pixels at a distance from the area
    between 0.25 r (at least RING_MIN_GAP_PX) and 0.25 r + 0.5 r (at least RING_MIN_BAND_PX more). When fewer than
    REFERENCE_ENOUGH_FRACTION of the area's pixels (and MIN_REFERENCE_PIXELS) of it are skin, the band
    is widened outward (× REFERENCE_WIDENING, in turn) before giving up. Pixels more than
    REFERENCE_OUTLIER_DE76 from the ring's median (after light smoothing) are other lesions and are
    left out (:func:`without_outliers`).
    """
    radius, gap, band, distance = _ring_geometry(treated)
    enough = max(MIN_REFERENCE_PIXELS, REFERENCE_ENOUGH_FRACTION * treated.sum())
    for widening in REFERENCE_WIDENING:
        ring = (distance > gap) & (distance <= gap + widening * band) & valid
        if ring.sum() >= enough:
            break
    return without_outliers(ring, lab)


def reference_is_thin(reference, treated):
    """Whether the reference skin is too little to stand for the skin around the area.

    Parameters
    ----------
    reference, treated : metrics.RegionMeasurement

    Returns
    -------
    bool
        True when the reference holds fewer photo pixels (measured pixels × sample step²) than
        REFERENCE_THIN_PIXELS, or than REFERENCE_THIN_FRACTION of the treated area's. Its median then
        stands for a strip of skin (a frame filled with ink leaves a sliver at a corner): one spot's
        light, not the skin around the area.
    """
    return _photo_pixels(reference) < max(REFERENCE_THIN_PIXELS, REFERENCE_THIN_FRACTION * treated.pixels)


def _photo_pixels(region):
    """The photo pixels a region's medians stand for: its measured pixels × sample step²."""
    return region.measured_pixels * region.sample_step**2


def reference_warnings(reference, treated):
    """Warnings about the reference skin: too thin or too uneven to trust its median.

    Parameters
    ----------
    reference, treated : metrics.RegionMeasurement

    Returns
    -------
    list of str
    """
    warnings = []
    if reference_is_thin(reference, treated):
        warnings.append(
            f"the reference skin is thin ({_photo_pixels(reference)} pixels): check it on the overlay or choose a patch (--reference-roi)"
        )
    if reference.lab_iqr[0] > REFERENCE_UNEVEN_IQR_L:
        warnings.append(
            f"the reference skin is uneven (L* spread {reference.lab_iqr[0]:.1f}): check it on the overlay or choose a patch (--reference-roi)"
        )
    return warnings


def reference_distance_warning(reference, treated):
    """A warning when half the reference skin lies beyond the ring's first band: perhaps other skin.

    Parameters
    ----------
    reference, treated : numpy.ndarray of bool, shape (H, W)
        The reference skin and the treated area on the same grid.

    Returns
    -------
    list of str
        One warning, or none.

    Notes
    -----
    The ring's first band ends at d₁ = gap + band from the area's edge (:func:`reference_ring`); when
    the median distance of the reference pixels from the area's edge exceeds d₁, the band held too
    little skin (a sleeve, the photo's edge, a box over the whole limb) and the reference was taken
    further out: the hand, another limb, skin lit or toned otherwise. On the shared real tattoo photos
    (bench/eval_real_skin.py boxes, 2026-11-26) the median distance was 0.30-0.60 r for 70 of 73 boxes
    and 0.83-2.34 r for the other three (10_3, 17_2, 17_3: sleeves and a box over the whole photo).
    """
    if not reference.any() or not treated.any():
        return []
    _, gap, band, distance = _ring_geometry(treated)
    return [REFERENCE_FAR_WARNING] if np.median(distance[reference]) > gap + band else []


REFERENCE_FAR_WARNING = ("the reference skin had to be taken far from the area (too little skin right around it): it "
                         "may be other skin, lit or toned otherwise; check it on the overlay or choose a patch of "
                         "untreated skin (--reference-roi)")


def grown_box(box, fraction, shape):
    """A box (x, y, w, h) grown by ``fraction`` of its size on each side, clipped to a photo of ``shape``."""
    x, y, w, h = box
    x0, y0 = max(0.0, x - fraction * w), max(0.0, y - fraction * h)
    x1, y1 = min(float(shape[1]), x + w + fraction * w), min(float(shape[0]), y + h + fraction * h)
    return (x0, y0, x1 - x0, y1 - y0)


def fraction_inside(box, frame):
    """The fraction of ``box``'s area that lies inside ``frame`` (both (x, y, w, h), the same pixels)."""
    x, y, w, h = (float(v) for v in box)
    fx, fy, fw, fh = (float(v) for v in frame)
    inside_w = max(0.0, min(x + w, fx + fw) - max(x, fx))
    inside_h = max(0.0, min(y + h, fy + fh) - max(y, fy))
    return inside_w * inside_h / max(w * h, 1e-9)


#: A chosen reference patch is warned about when more than this fraction of it lies inside the box drawn
#: around the treated area: a loose box holds treated skin beyond the area found in it.
PATCH_IN_BOX_FRACTION = 0.5


def patch_in_box_warning(patch, area_box):
    """A warning when a chosen reference patch lies mostly inside the treated area's box.

    Parameters
    ----------
    patch, area_box : tuple (x, y, w, h)
        The same pixels (photo or crop).

    Returns
    -------
    list of str
        One warning when the fraction of the patch's area inside ``area_box`` exceeds
        PATCH_IN_BOX_FRACTION, else none.
    """
    if fraction_inside(patch, area_box) <= PATCH_IN_BOX_FRACTION:
        return []
    return ["the chosen reference patch lies mostly inside the treated area's box: it may hold treated skin; "
            "choose a patch of untreated skin outside the box"]


def reference_from_box(box, treated, valid, lab):
    """The reference skin from a chosen patch of untreated skin (x, y, w, h in crop pixels)."""
    region = box_mask(box, lab.shape) & valid & ~treated
    return without_outliers(region, lab)


def reference_mapped(mapped, treated, valid, lab):
    """The baseline's reference skin, mapped into a follow-up, as the follow-up's reference.

    Comparing a visit with the same skin as its baseline keeps a change of reference (a paler wrist,
    a tanned patch) out of the change reported for the area.

    Parameters
    ----------
    mapped : numpy.ndarray of bool, shape (H, W)
        The baseline's reference pixels mapped into the follow-up's work grid.
    treated, valid : numpy.ndarray of bool, shape (H, W)
        The follow-up's area, and the pixels that may serve as reference (its skin, hair, glare,
        clipped pixels and card excluded).
    lab : numpy.ndarray, shape (H, W, 3)

    Returns
    -------
    numpy.ndarray of bool or None
        The mapped pixels that are skin here and not the area (outliers removed as for the ring);
        None when fewer than MAPPED_REFERENCE_FRACTION of the mapped pixels, or MIN_REFERENCE_PIXELS,
        are (the skin is hidden or left the photo: the caller falls back to its own ring).
    """
    region = mapped & valid & ~treated
    if region.sum() < max(MIN_REFERENCE_PIXELS, MAPPED_REFERENCE_FRACTION * mapped.sum()):
        return None
    return without_outliers(region, lab)


def without_outliers(region, lab):
    """``region`` without the pixels more than REFERENCE_OUTLIER_DE76 from its median colour (after light
    smoothing): other lesions, moles, a shadow. The screen is repeated against the median of the pixels
    kept (at most OUTLIER_ROUNDS more times) until it keeps them all: screened again, as a baseline's
    reference mapped into a follow-up is, the same skin keeps the same pixels. Raises InputError when
    fewer than MIN_REFERENCE_PIXELS are left to start with; uneven skin keeps the half of it nearest its
    median."""
    if region.sum() < MIN_REFERENCE_PIXELS:
        raise InputError(
            "too little untreated skin to compare with: choose a reference patch (--reference-roi)"
        )
    smooth = cv2.GaussianBlur(lab.astype(np.float32), (0, 0), 1.5)
    # On the region's own pixels (the screen needs no others).
    values = smooth[region]
    centre = np.median(values, axis=0)
    keep = np.linalg.norm(values - centre, axis=1) <= REFERENCE_OUTLIER_DE76
    for _ in range(OUTLIER_ROUNDS):
        # Until every pixel kept is within the bound of the kept pixels' own median (a fixed point: the
        # same skin screened again, mapped into a follow-up, keeps the same pixels).
        if keep.sum() < MIN_REFERENCE_PIXELS:
            break
        centre = np.median(values[keep], axis=0)
        again = keep & (np.linalg.norm(values - centre, axis=1) <= REFERENCE_OUTLIER_DE76)
        if again.sum() == keep.sum():
            break
        keep = again
    if keep.sum() < MIN_REFERENCE_PIXELS:
        # Uneven skin (callus, maceration, a tan line): the half of it nearest its own median, which
        # reference_warnings then reports as uneven, rather than no answer.
        spread = np.linalg.norm(values - centre, axis=1)
        keep = spread <= np.median(spread)
    kept = np.zeros_like(region)
    kept[region] = keep
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
