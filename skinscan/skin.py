"""What is skin: the skin map of the body part that holds the treated area.

A photo region in, boolean masks out: which pixels are skin of the body part that holds the box, which
are lesion or ink on that body part, which are the colour card, which are background (a wall, a floor,
clothing, black padding, another body part), which are hair. Segmentation, the reference skin and
registration all take this map; none of them re-derives "what is skin" on its own.

The model needs no training data and no card: skin is the dominant colour of the box's border band and
its surroundings among plausible skin colours, chosen and then grown for spatial coherence with the
box (the body part holding the area is one connected surface).
"""

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from . import color
from .segment import hair_mask

#: The skin map is computed on a grid of at most this many pixels along the region's longer side;
#: masks are returned at the input's size (nearest neighbour).
SKIN_MAP_LONG_SIDE = 480

#: Plausible skin colours (any tone, lit or shaded): CIE L*a*b* (D65) lightness, chroma and hue angle
#: h_ab. Measured skin spans h_ab about 25-75 degrees and chroma about 8-35 over ITA -60..+70 (Del Bino
#: et al. 2006, Pigment Cell Res 19:606-614; Xiao et al. 2017, Skin Res Technol 23:21-29); the bounds
#: are widened for uncalibrated photos (white balance off by a few hundred kelvin moves h_ab ~10°).
SKIN_L_RANGE = (12.0, 96.0)
SKIN_CHROMA_RANGE = (4.0, 60.0)
SKIN_HUE_RANGE_DEG = (5.0, 95.0)

#: Border band of the box the skin colour is seeded from, as fractions of the box's half-size measured
#: from its centre (1 = the box edge): from 0.7 inside to 1.3 outside.
SEED_BAND = (0.7, 1.3)

#: A pixel is skin-coloured when its Mahalanobis distance from the skin model in (a*, b*) is at most
#: this (a χ² with 2 degrees of freedom leaves 1.1 % beyond 3.0) and its L* lies within
#: SKIN_LIGHTNESS_SIGMAS robust deviations (shading moves L* far more than chromaticity).
SKIN_MAHALANOBIS = 3.0
#: Hysteresis: pixels within this looser distance are skin when connected to the strict surface
#: (blush, shade and callus at the edge of the seed colour, not a wall across a strong colour gap).
SKIN_MAHALANOBIS_LOOSE = 4.5
#: Candidate skin colours covering at least this share of the best one's border band compete on
#: lightness (the lightest wins: ink, bruising and wounds darken skin). On the shared real photos 0.25
#: read ink darker in 89 % of tattoo boxes against 88 % at 0.5, wounds Dice 0.85 against 0.83.
SKIN_CANDIDATE_SHARE = 0.25
#: A candidate this much darker (L*) and less chromatic (C*ab) than another covering at least
#: SKIN_CANDIDATE_MIN_SHARE of the best one's band is that one's ink or shadow
#: (:func:`_without_ink_candidates`). Black-grey ink under skin reads 20-40 L* darker and 10-30 C*ab
#: greyer than the skin around it on the shared tattoo photos; shading of one skin changes L* at
#: nearly constant chroma, and slough, callus or blush are not both lighter and 8 C*ab more chromatic.
SKIN_INK_DARKER_L = 10.0
SKIN_INK_GREYER_CHROMA = 8.0
SKIN_CANDIDATE_MIN_SHARE = 0.1
#: ... and so is one as much greyer whose lightness spreads (robust σ) over more than this: one
#: skin's shading in a box's border band spreads 5-17 L* on the shared tattoo photos (the skin models
#: chosen there); grey ink and a grey wall in one chromaticity mode spread 20-35.
SKIN_MAX_LIGHTNESS_SIGMA = 25.0
#: ... and so is a near-neutral candidate (C*ab under this) as much lighter and less chromatic: a
#: wall, a sheet or a towel beside the skin. Skin of any tone has C*ab above about 8 when calibrated
#: (Del Bino et al. 2006); uncalibrated pale plantar skin reads down to about 6 on the shared wound
#: photos, a white sheet beside a foot 5.8 there (so that sheet is still taken for skin).
SKIN_NEUTRAL_CHROMA = 5.0
#: ... and so is a cream, beige or white surface (a* at most SKIN_CREAM_MAX_A: no blood red in it),
#: at least SKIN_CREAM_LIGHTER_L lighter (white and cream surfaces reflect more than skin), beside a
#: candidate at least SKIN_REDDER_A redder in a* whose colour is skin's (L* at least
#: SKIN_REDDER_MIN_L, hue angle at least SKIN_REDDER_MIN_HUE_DEG, C*ab at most
#: SKIN_REDDER_MAX_CHROMA: not red ink, not a wound bed): haemoglobin makes skin of every tone redder
#: than a white or cream surface under the same light. On the shared photos, the floor tiles, plastic
#: wrap, walls, sheet and clothing that won over the limb read a* 0-4 and 8-34 L* lighter beside skin at
#: a* 18-22 (13_2, 45_1, 66_1, wounds 0135, 0428). Kept: untreated skin at a* 1 beside a fresh
#: tattoo's reddened halo 5 L* darker (4_2); pale skin under cool light at a* 2-4 beside a wall or a
#: door at most 8 redder (72_1, 17_8, wound 0688); skin beside red ink or a wound bed 12 redder, which
#: is darker, more chromatic or redder in hue (51_1, 17_5, 120_1, wounds 0919, 0932).
SKIN_CREAM_MAX_A = 5.0
SKIN_CREAM_LIGHTER_L = 6.0
SKIN_REDDER_A = 12.0
SKIN_REDDER_MIN_L = 40.0
SKIN_REDDER_MIN_HUE_DEG = 25.0
SKIN_REDDER_MAX_CHROMA = 45.0
SKIN_LIGHTNESS_SIGMAS = 4.0
#: A candidate skin colour agrees with a skin hint (:func:`skin_map`) when at least this fraction of
#: its surface lies on the hint.
SKIN_HINT_PRECISION = 0.5
#: Floors on the model's robust spread, a* b* and L* units (JPEG and sensor noise alone give ~1-2).
SKIN_CHROMA_SIGMA_FLOOR = 1.5
SKIN_LIGHTNESS_SIGMA_FLOOR = 5.0

#: Outside the box, holes in the skin up to (this fraction of the box's longer side)² pixels are body
#: (hairs, pores, moles, freckles); larger ones are something lying on it (a card, a hand).
HOLE_FILL_FRACTION = 0.25

#: The background around the box is read from its non-skin pixels up to this many box half-sizes from
#: its centre, and lesion colours are told from it on L*a*b* bins of these sizes (L*, a*, b*).
BACKGROUND_BAND = 2.0
LESION_BINS = (8.0, 6.0, 6.0)

#: A thin dark line pixel is hair only when at least this fraction of the pixels around it (Gaussian
#: σ in pixels of the map's grid) is skin (:func:`_lesion_texture`): within a tattoo's shading, a
#: wound bed or a scar the lines are its texture.
HAIR_SKIN_AROUND_FRACTION = 0.5
HAIR_SKIN_AROUND_SIGMA_PX = 2.0

#: Black padding around a cropped photo: near-black, flat pixels connected to the photo's edge.
PADDING_MAX_L = 6.0

#: Hair found by black-hat is ink when the box holds this many times more thin dark lines (per body
#: pixel) than the body outside it, and they cover at least INK_LINE_MIN_DENSITY of it: hair grows at
#: about the same density inside and outside a loose box, line-work ink and microblading strokes are
#: only inside. Measured: rendered line-work 4.5-4.6 times (15-17 % of the box); hairs alone over a
#: small box up to 3.5 times (a few hairs across the demo scar's box: 3.4 times, 7 %).
INK_LINE_DENSITY_RATIO = 4.0
INK_LINE_MIN_DENSITY = 0.08
#: ... and a line counts as ink (where it is inside the box) when this fraction of it lies inside the
#: box: a hair crossing the box goes on outside it, the box encloses the line-work (a hair across
#: the line-work joins it, and is taken for ink inside the box only).
INK_LINE_INSIDE_FRACTION = 0.5
#: Local line density is read with a Gaussian of this fraction of the box's longer side.
INK_LINE_LOCAL_FRACTION = 0.1


@dataclass(frozen=True)
class SkinMap:
    """Which pixels of a region are skin of the body part holding the area, and which are not.

    All masks are boolean arrays of the input's shape[:2].

    Attributes
    ----------
    skin : numpy.ndarray of bool
        Skin of the body part that holds the box (not lesion, ink, hair, card or background).
    body : numpy.ndarray of bool
        ``skin`` plus the lesion or ink on it (what is not skin-coloured but is enclosed by or
        attached to that skin inside the box): where a treated area may be.
    card : numpy.ndarray of bool
        The colour card and its border.
    background : numpy.ndarray of bool
        Everything that is not ``body``: walls, floors, clothing, padding, card, other body parts.
    hair : numpy.ndarray of bool
        Thin dark hairs on the body (excluded from measurement; never ink lines).
    padding : numpy.ndarray of bool
        Black padding of a cropped or letter-boxed photo (part of ``background``).
    skin_lab : numpy.ndarray, shape (3,)
        Centre of the skin model (median L*, a*, b* of the seed skin).
    skin_sigma : numpy.ndarray, shape (3,)
        Robust standard deviations of L*, a*, b* of the seed skin (scaled MAD, with floors).
    seed_pixels : int
        Pixels (on the map's grid) the skin model was fitted on; 0 when no plausible skin was found.
    """

    skin: np.ndarray
    body: np.ndarray
    card: np.ndarray
    background: np.ndarray
    hair: np.ndarray
    padding: np.ndarray
    skin_lab: np.ndarray
    skin_sigma: np.ndarray
    seed_pixels: int

    @property
    def found(self):
        """True when some skin was found."""
        return bool(self.seed_pixels > 0 and self.skin.any())


def plausible_skin(lab):
    """Pixels whose colour could be skin of any tone, lit or shaded (a loose prior, not a classifier).

    Parameters
    ----------
    lab : numpy.ndarray, shape (H, W, 3)
        CIE L*a*b* (D65).

    Returns
    -------
    numpy.ndarray of bool

    Notes
    -----
    SKIN_L_RANGE, SKIN_CHROMA_RANGE and SKIN_HUE_RANGE_DEG (see the constants). Whites, greys, blues
    and greens fail it; beige walls, wood and skin-coloured fabrics pass: spatial coherence decides
    those.
    """
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    chroma = np.hypot(a, b)
    hue = np.degrees(np.arctan2(b, a))
    return (
        (lightness >= SKIN_L_RANGE[0]) & (lightness <= SKIN_L_RANGE[1])
        & (chroma >= SKIN_CHROMA_RANGE[0]) & (chroma <= SKIN_CHROMA_RANGE[1])
        & (hue >= SKIN_HUE_RANGE_DEG[0]) & (hue <= SKIN_HUE_RANGE_DEG[1])
    )


def padding_mask(lab):
    """Black padding: near-black (L* ≤ PADDING_MAX_L), flat pixels connected to the photo's edge.

    Parameters
    ----------
    lab : numpy.ndarray, shape (H, W, 3)

    Returns
    -------
    numpy.ndarray of bool
    """
    dark = lab[..., 0] <= PADDING_MAX_L
    if not dark.any():
        return dark
    count, labels = cv2.connectedComponents(dark.astype(np.uint8), connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    touching = np.zeros(count, bool)
    touching[edge] = True
    touching[0] = False
    return touching[labels]


def _box_distance(shape, box):
    """Chebyshev distance of every pixel from the box centre in units of the box's half-size."""
    x, y, w, h = box
    ys = (np.arange(shape[0], dtype=np.float32) + 0.5 - (y + h / 2)) / max(h / 2, 1.0)
    xs = (np.arange(shape[1], dtype=np.float32) + 0.5 - (x + w / 2)) / max(w / 2, 1.0)
    return np.maximum(np.abs(ys)[:, None], np.abs(xs)[None, :])


def _robust_centre(values):
    """Median and scaled MAD (1.4826 · MAD, a Gaussian σ) of each column."""
    centre = np.median(values, axis=0)
    sigma = 1.4826 * np.median(np.abs(values - centre), axis=0)
    return centre, sigma


def _chroma_modes(ab, count=3, bin_size=1.0, smooth=2.0, min_share=0.08):
    """The strongest modes of a 2-D (a*, b*) histogram: list of (a, b, share of pixels)."""
    low = np.floor(ab.min(axis=0)) - 3 * smooth
    bins = np.ceil((ab.max(axis=0) - low) / bin_size).astype(int) + int(6 * smooth) + 1
    index = np.clip(((ab - low) / bin_size).astype(int), 0, bins - 1)
    histogram = np.zeros(bins, np.float32)
    np.add.at(histogram, (index[:, 0], index[:, 1]), 1.0)
    histogram = cv2.GaussianBlur(histogram, (0, 0), smooth / bin_size)
    peaks = (histogram == ndimage.maximum_filter(histogram, size=int(4 * smooth / bin_size) | 1)) & (histogram > 0)
    coordinates = np.argwhere(peaks)
    heights = histogram[peaks]
    order = np.argsort(heights)[::-1][:count]
    total = histogram.sum()
    modes = []
    for i in order:
        centre = low + (coordinates[i] + 0.5) * bin_size
        near = np.hypot(*(ab - centre).T) <= 3 * smooth
        share = near.mean()
        if share >= min_share or not modes:
            modes.append((centre, share))
    return modes if total > 0 else []


def _fit_model(lab_pixels, mode):
    """Skin model from the seed pixels near a chromaticity mode: centre, robust σ and (a*, b*) covariance."""
    near = np.hypot(*(lab_pixels[:, 1:] - mode).T) <= 5.0
    chosen = lab_pixels[near] if near.sum() >= 20 else lab_pixels
    centre, sigma = _robust_centre(chosen)
    sigma = np.maximum(sigma, [SKIN_LIGHTNESS_SIGMA_FLOOR, SKIN_CHROMA_SIGMA_FLOOR, SKIN_CHROMA_SIGMA_FLOOR])
    # Covariance of a*, b* from the robust spreads and a rank correlation (shading couples them).
    a, b = chosen[:, 1], chosen[:, 2]
    if len(chosen) > 10 and np.std(a) > 0 and np.std(b) > 0:
        rank_a, rank_b = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
        rho = float(np.corrcoef(rank_a, rank_b)[0, 1])
        rho = float(np.clip(2 * np.sin(np.pi * rho / 6), -0.9, 0.9))  # Spearman -> Pearson
    else:
        rho = 0.0
    covariance = np.array(
        [[sigma[1] ** 2, rho * sigma[1] * sigma[2]], [rho * sigma[1] * sigma[2], sigma[2] ** 2]]
    )
    return centre, sigma, covariance, int(len(chosen))


def _without_ink_candidates(candidates, cream=True):
    """Candidate skin colours without those that are another one's ink or shadow, or a wall beside it.

    Parameters
    ----------
    candidates : list of tuple
        (band coverage in pixels, centre L*a*b*, ...) per candidate skin colour.
    cream : bool
        Drop a cream surface beside redder skin (below). Only on a first photo without a card. A
        follow-up's skin map does without it: its baseline's skin, mapped, chooses there (in 4_1 -> 4_2 a
        realistic tattoo's own flesh-toned shading in the follow-up's band met the rule and would have
        dropped the untreated skin). So does a photo with a card: calibrated pale skin at a* 3-5 beside
        the redness halo of a needled patch that fills the box's border band met it too (a review's
        rendered scenes: the halo taken for the skin, Δa* +9.4 read as −5.6), and every real photo it
        helped has no card.

    Returns
    -------
    list of tuple

    Notes
    -----
    Skin is lighter and more saturated-warm than the ink in it and than the shadow on it (melanin and
    blood give skin its chroma; black and grey ink, shadow and dark hair take it away). A candidate
    at least SKIN_INK_DARKER_L darker and SKIN_INK_GREYER_CHROMA less chromatic than another that
    covers at least SKIN_CANDIDATE_MIN_SHARE of the best's band is that one's ink or shadow, however
    much of the band it covers (a sleeve of ink, a box drawn across the whole limb). So is a
    near-neutral one (C*ab under SKIN_NEUTRAL_CHROMA) as much lighter and greyer (a wall, a sheet),
    and one as much greyer whose lightness spreads beyond SKIN_MAX_LIGHTNESS_SIGMA: grey ink and a
    grey wall (or chair, or floor) share one chromaticity mode and are not one skin surface. A cream
    surface (a* ≤ SKIN_CREAM_MAX_A: a floor tile, a wrap, a wall, a sheet) is not skin beside an
    eligible candidate at least SKIN_CREAM_LIGHTER_L darker and SKIN_REDDER_A redder in a* whose
    colour is skin's, not red ink's or a wound's (L* ≥ SKIN_REDDER_MIN_L, hue ≥
    SKIN_REDDER_MIN_HUE_DEG, C*ab ≤ SKIN_REDDER_MAX_CHROMA), however little greyer the cream is.
    """
    top = max(candidate[0] for candidate in candidates)
    eligible = [candidate for candidate in candidates if candidate[0] >= SKIN_CANDIDATE_MIN_SHARE * top]

    def chroma(candidate):
        return float(np.hypot(candidate[1][1], candidate[1][2]))

    def shadow_of(candidate, other):  # darker and greyer: ink, shadow, dark hair
        return other[1][0] - candidate[1][0] >= SKIN_INK_DARKER_L

    def mixture(candidate):  # one hue over several surfaces (ink and a wall), not one skin
        return candidate[2][0] > SKIN_MAX_LIGHTNESS_SIGMA

    def white_beside(candidate, other):  # lighter and near-neutral: a wall, a sheet, a towel
        return candidate[1][0] - other[1][0] >= SKIN_INK_DARKER_L and chroma(candidate) < SKIN_NEUTRAL_CHROMA

    def skin_coloured(candidate):  # not red ink, not a wound bed
        lightness, a, b = candidate[1]
        return (lightness >= SKIN_REDDER_MIN_L and chroma(candidate) <= SKIN_REDDER_MAX_CHROMA
                and np.degrees(np.arctan2(b, a)) >= SKIN_REDDER_MIN_HUE_DEG)

    def cream_beside(candidate, other):  # no blood red in it, beside skin that has it
        return (candidate[1][1] <= SKIN_CREAM_MAX_A and other[1][1] - candidate[1][1] >= SKIN_REDDER_A
                and candidate[1][0] - other[1][0] >= SKIN_CREAM_LIGHTER_L and skin_coloured(other))

    kept = [
        candidate for candidate in candidates
        if not any(((shadow_of(candidate, other) or mixture(candidate) or white_beside(candidate, other))
                    and chroma(other) - chroma(candidate) >= SKIN_INK_GREYER_CHROMA)
                   or (cream and cream_beside(candidate, other)) for other in eligible)
    ]
    return kept or candidates


def _skin_coloured(lab, centre, sigma, covariance, limit=None):
    difference = lab[..., 1:] - centre[1:]
    inverse = np.linalg.inv(covariance)
    mahalanobis_sq = (
        inverse[0, 0] * difference[..., 0] ** 2
        + 2 * inverse[0, 1] * difference[..., 0] * difference[..., 1]
        + inverse[1, 1] * difference[..., 1] ** 2
    )
    lightness_ok = np.abs(lab[..., 0] - centre[0]) <= SKIN_LIGHTNESS_SIGMAS * sigma[0]
    limit = SKIN_MAHALANOBIS if limit is None else limit
    return (mahalanobis_sq <= limit**2) & lightness_ok


def _components_touching(mask, seed):
    """The connected components of ``mask`` that overlap ``seed``."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(mask.shape, bool)
    hit = np.zeros(count, bool)
    hit[np.unique(labels[seed & mask])] = True
    hit[0] = False
    return hit[labels]


def _lesion_in_box(lab, skin, inside, distance, excluded):
    """Non-skin pixels inside the box whose colour is not the background's around it, attached to the skin.

    Parameters
    ----------
    lab : numpy.ndarray, shape (H, W, 3)
    skin, inside, excluded : numpy.ndarray of bool
    distance : numpy.ndarray
        Distance from the box's centre in half-sizes (:func:`_box_distance`).

    Returns
    -------
    numpy.ndarray of bool

    Notes
    -----
    Histogram back-projection (Swain & Ballard 1991, Int J Comput Vis 7:11-32): the non-skin pixels in
    the box and those in the band around it (BACKGROUND_BAND box half-sizes from its centre) give two
    colour histograms over coarse L*a*b* bins (LESION_BINS); a pixel in the box is lesion when its
    colour is more frequent among the box's non-skin pixels than among the background's (equal
    priors). A wound's red, yellow and black tissue and ink are rare around a loose box; the wall, the
    sheet and the floor are not. Kept only where connected to the skin (a lesion lies on the body).
    """
    other = ~skin & ~excluded
    in_box = other & inside
    around = other & (distance > 1.0) & (distance <= BACKGROUND_BAND)
    if in_box.sum() < 16:
        return np.zeros(skin.shape, bool)
    steps = np.array(LESION_BINS, np.float32)
    index = np.floor((lab - np.array([0.0, -64.0, -64.0], np.float32)) / steps).astype(np.int32)
    index = np.clip(index, 0, np.array([int(100 / steps[0]), int(128 / steps[1]), int(128 / steps[2])]))
    flat = (index[..., 0] * 64 + index[..., 1]) * 64 + index[..., 2]
    in_histogram = np.bincount(flat[in_box], minlength=64**3).astype(np.float32) / in_box.sum()
    if around.sum() >= 16:
        around_histogram = np.bincount(flat[around], minlength=64**3).astype(np.float32) / around.sum()
    else:
        around_histogram = np.zeros_like(in_histogram)
    lesion_colour = in_histogram > around_histogram
    lesion = in_box & lesion_colour[flat]
    lesion = cv2.morphologyEx(lesion.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    return _components_touching(lesion, cv2.dilate(skin.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool))


def _lesion_texture(lines, skin):
    """The thin dark line pixels that lie within a lesion rather than on skin (not hair).

    Parameters
    ----------
    lines : numpy.ndarray of bool
        Thin dark lines (black-hat, :func:`skinscan.segment.hair_mask`).
    skin : numpy.ndarray of bool

    Returns
    -------
    numpy.ndarray of bool

    Notes
    -----
    A hair lies on skin: of the pixels around it that are not lines themselves, most are skin
    (HAIR_SKIN_AROUND_FRACTION, read with a Gaussian of σ HAIR_SKIN_AROUND_SIGMA_PX, a normalised
    convolution). The shading strokes inside a dark tattoo, the cracks and strands of a wound bed, the
    grooves of a scar are lines too, but the lesion lies around them; where a hair crosses a lesion,
    the part over the lesion is measured with it (it is as dark as the ink under it).
    """
    if not lines.any():
        return lines.copy()
    background = (~lines).astype(np.float32)
    around = cv2.GaussianBlur((skin & ~lines).astype(np.float32), (0, 0), HAIR_SKIN_AROUND_SIGMA_PX)
    total = cv2.GaussianBlur(background, (0, 0), HAIR_SKIN_AROUND_SIGMA_PX)
    return lines & (around < HAIR_SKIN_AROUND_FRACTION * np.maximum(total, 1e-6))


def _fill_small_holes(mask, max_area):
    """``mask`` with its holes of at most ``max_area`` pixels filled."""
    holes = ndimage.binary_fill_holes(mask) & ~mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8), connectivity=4)
    small = stats[:, cv2.CC_STAT_AREA] <= max_area
    small[0] = False
    return mask | small[labels]


def _card_mask(shape, card_quad, scale):
    zone = np.zeros(shape[:2], np.uint8)
    if card_quad is None:
        return zone.astype(bool)
    quad = np.asarray(card_quad, np.float64).reshape(4, 2)
    centre = quad.mean(axis=0)
    grown = (centre + (quad - centre) * (1 + 2.0 / 5.0)) * scale  # the patch area grown by ~a pitch
    cv2.fillConvexPoly(zone, np.round(grown).astype(np.int32), 1)
    return zone.astype(bool)


def skin_map(rgb, box=None, card_quad=None, lab=None, lines=None, skin_hint=None):
    """The skin map of the body part that holds ``box``.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
        float32 sRGB in 0..1: colour-corrected when a card was found, else as taken.
    box : tuple (x, y, w, h), optional
        The loose box around the treated area, in ``rgb``'s pixels (it may hold card, background or
        run off the edge). Default: the middle half of the region.
    card_quad : array_like, shape (4, 2), optional
        The card's patch-area corners in ``rgb``'s pixels; the card and its border are excluded.
    lab : numpy.ndarray, shape (H, W, 3), optional
        CIE L*a*b* of ``rgb`` when the caller has it (saves a conversion).
    lines : numpy.ndarray of bool, shape (H, W), or callable, optional
        Thin dark lines (:func:`skinscan.segment.hair_mask`) when the caller found them on a finer
        grid, or a function of no arguments returning them (called only at the hair step, so that a
        caller can find them in another thread while the skin is mapped); default: found here on L*.
    skin_hint : numpy.ndarray of bool, shape (H, W), optional
        Where the skin is known to be (a follow-up: its baseline's skin map, mapped into it): the skin
        model is chosen among the candidates lying mostly there (step 3).

    Returns
    -------
    SkinMap

    Notes
    -----
    1. The map is computed on a grid of at most SKIN_MAP_LONG_SIDE pixels along the longer side, L*a*b*
       lightly smoothed (σ 1 px).
    2. Seed: the plausible-skin pixels (:func:`plausible_skin`) of the box's border band SEED_BAND,
       card and padding excluded. The strongest modes of their (a*, b*) histogram are candidate skin
       colours; each gets a model (median, scaled-MAD σ, rank-correlated (a*, b*) covariance).
    3. Candidates that are another's ink or shadow (much darker and greyer), a near-neutral wall or
       sheet beside it (much lighter and greyer), a mixture of surfaces of one hue (lightness
       spread beyond SKIN_MAX_LIGHTNESS_SIGMA, greyer than another) or, without a ``skin_hint`` nor a
       card, a cream surface (a floor tile, a wrap, a wall) lighter than redder skin beside it are
       dropped
       (:func:`_without_ink_candidates`). Spatial coherence chooses among the rest: of those whose
       skin-coloured pixels (Mahalanobis ≤ SKIN_MAHALANOBIS in (a*, b*), |ΔL*| ≤
       SKIN_LIGHTNESS_SIGMAS σ) connected to the box cover at least SKIN_CANDIDATE_SHARE of the best
       coverage of the border band, the lightest wins (a beige wall at a corner loses to the arm that
       runs through; ink, bruising and wounds darken skin). With a ``skin_hint``, only candidates of
       which at least SKIN_HINT_PRECISION of the surface lies on the hint compete, when any does: a
       follow-up's skin is the colour found where its baseline's skin lands (a cream floor tile or a
       plastic wrap lighter than a leg can otherwise win in one photo of a pair and not the other).
    4. Skin = that surface, opened and closed (3 px) and limited to components overlapping the box.
    5. Body = skin with its small holes filled (hairs, pores, moles; HOLE_FILL_FRACTION) plus, inside
       the box, what the skin encloses once closed by a tenth of the box, and the non-skin pixels whose
       colour is not the background's around the box (:func:`_lesion_in_box`): the lesion or ink on it.
    6. Hair = thin dark lines (black-hat, :func:`skinscan.segment.hair_mask`) lying on the skin of the
       body (not within a lesion: :func:`_lesion_texture`), except the lines lying
       (INK_LINE_INSIDE_FRACTION) inside the box, or where lines inside it are locally that dense,
       when the box holds INK_LINE_DENSITY_RATIO times their density outside it: those are the
       line-work or strokes of the treatment.
    """
    rgb = np.asarray(rgb, dtype=np.float32)
    height, width = rgb.shape[:2]
    scale = min(1.0, SKIN_MAP_LONG_SIDE / max(height, width))
    if lab is None:
        small_rgb = rgb if scale == 1.0 else cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
        lab_small = color.linear_srgb_to_lab(color.srgb_to_linear(np.clip(small_rgb, 0, 1))).astype(np.float32)
    else:
        lab = np.asarray(lab, dtype=np.float32)
        lab_small = lab if scale == 1.0 else cv2.resize(lab, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    grid = lab_small.shape[:2]
    if box is None:
        box = (width / 4, height / 4, width / 2, height / 2)
    box_small = tuple(float(v) * scale for v in box)
    smooth = cv2.GaussianBlur(lab_small, (0, 0), 1.0)

    card = _card_mask(grid, card_quad, scale)
    padding = padding_mask(lab_small)
    excluded = card | padding
    distance = _box_distance(grid, box_small)
    inside = distance <= 1.0
    band = (distance >= SEED_BAND[0]) & (distance <= SEED_BAND[1]) & ~excluded
    prior = plausible_skin(smooth) & ~excluded
    seeds = band & prior
    if seeds.sum() < 20:
        seeds = (distance <= 2.0) & prior
    empty = np.zeros(grid, bool)
    if seeds.sum() < 20:
        return _at_size(
            SkinMap(empty, empty, card, ~empty, empty, padding, np.full(3, np.nan), np.full(3, np.nan), 0),
            (height, width),
        )

    seed_lab = smooth[seeds]
    element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    candidates = []
    for mode, _share in _chroma_modes(seed_lab[:, 1:]):
        centre, sigma, covariance, used = _fit_model(seed_lab, mode)
        coloured = _skin_coloured(smooth, centre, sigma, covariance) & ~excluded
        coloured = cv2.morphologyEx(coloured.astype(np.uint8), cv2.MORPH_OPEN, element).astype(bool)
        surface = _components_touching(coloured, inside)
        candidates.append((int((surface & band).sum()), centre, sigma, covariance, surface, used))
    candidates = _without_ink_candidates(candidates, cream=skin_hint is None and card_quad is None)
    # Ink, bruising and wounds darken skin: of the candidates that cover the band nearly as well as the
    # best, the lightest is the untreated skin.
    top = max(candidate[0] for candidate in candidates)
    close = [candidate for candidate in candidates if candidate[0] >= SKIN_CANDIDATE_SHARE * top]
    if skin_hint is not None:
        hint = cv2.resize(np.asarray(skin_hint, np.uint8), (grid[1], grid[0]), interpolation=cv2.INTER_NEAREST) > 0
        on_hint = [candidate for candidate in close
                   if (candidate[4] & hint).sum() >= SKIN_HINT_PRECISION * max(candidate[4].sum(), 1)]
        close = on_hint or close
    _, centre, sigma, covariance, surface, used = max(close, key=lambda candidate: candidate[1][0])
    # Hysteresis: skin-coloured within the loose bound and connected to the strict surface.
    loose = _skin_coloured(smooth, centre, sigma, covariance, SKIN_MAHALANOBIS_LOOSE) & ~excluded
    loose = cv2.morphologyEx(loose.astype(np.uint8), cv2.MORPH_OPEN, element).astype(bool)
    surface = _components_touching(loose | surface, surface)
    skin = cv2.morphologyEx(surface.astype(np.uint8), cv2.MORPH_CLOSE, element).astype(bool) & ~excluded

    # Body: what the skin encloses inside the box (lesion, ink), holes filled.
    radius = max(1, int(round(0.1 * min(box_small[2], box_small[3]))))
    closing = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    padded = np.pad(skin, radius + 1).astype(np.uint8)
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, closing)[radius + 1 : -radius - 1, radius + 1 : -radius - 1]
    enclosed = ndimage.binary_fill_holes(closed.astype(bool) | skin)
    # Outside the box the body is the skin with its holes (hairs, moles, pores) filled.
    hole_limit = (HOLE_FILL_FRACTION * max(box_small[2], box_small[3])) ** 2
    lesion = _lesion_in_box(smooth, skin, inside, distance, excluded)
    body = (_fill_small_holes(skin, hole_limit) | (enclosed & inside) | lesion) & ~excluded

    # Hair: thin dark lines on the body; inside the box only when they are as dense outside it.
    if callable(lines):
        lines = lines()
    if lines is None:
        lines = hair_mask(smooth[..., 0])
    elif scale != 1.0:
        lines = cv2.resize(lines.astype(np.uint8), (grid[1], grid[0]), interpolation=cv2.INTER_NEAREST).astype(bool)
    lines = lines & body & ~_lesion_texture(lines, skin)
    outside_body = body & ~inside
    density_out = lines[outside_body].mean() if outside_body.sum() >= 50 else 0.0
    density_in = lines[body & inside].mean() if (body & inside).any() else 0.0
    if density_in > max(INK_LINE_DENSITY_RATIO * density_out, INK_LINE_MIN_DENSITY):
        # Lines that stay inside the box are the treatment's; those crossing its edge are hair.
        count, labels = cv2.connectedComponents(lines.astype(np.uint8), connectivity=8)
        total = np.bincount(labels.ravel(), minlength=count)
        within = np.bincount(labels[inside], minlength=count)
        ink = within >= INK_LINE_INSIDE_FRACTION * np.maximum(total, 1)
        ink[0] = False
        # ... and so are lines where the box's line-work is dense (a hair across it joins it).
        reach = max(2.0, INK_LINE_LOCAL_FRACTION * max(box_small[2], box_small[3]))
        local = cv2.GaussianBlur(lines.astype(np.float32), (0, 0), reach) / np.maximum(
            cv2.GaussianBlur(body.astype(np.float32), (0, 0), reach), 1e-6)
        dense = local > max(INK_LINE_DENSITY_RATIO * density_out, INK_LINE_MIN_DENSITY)
        lines &= ~((ink[labels] | dense) & inside)
    hair = lines
    skin = skin & ~hair
    result = SkinMap(skin, body, card, ~body, hair, padding, centre.astype(np.float64), sigma.astype(np.float64), used)
    return _at_size(result, (height, width))


def _at_size(result, shape):
    """A skin map on a smaller grid, brought to ``shape`` (nearest neighbour)."""
    if result.skin.shape == tuple(shape):
        return result
    fields = {}
    for name in ("skin", "body", "card", "background", "hair", "padding"):
        mask = getattr(result, name).astype(np.uint8)
        fields[name] = cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)
    return SkinMap(**fields, skin_lab=result.skin_lab, skin_sigma=result.skin_sigma, seed_pixels=result.seed_pixels)


#: Skin-coloured pixels for registration (:func:`registration_body`): the Cr/Cb box of Chai & Ngan
#: (1999, IEEE TCSVT 9:551), a fixed rule that needs neither a seed nor a box.
REGISTRATION_CR_RANGE = (133, 180)
REGISTRATION_CB_RANGE = (77, 135)
#: Gaps up to this fraction of the image's longer side are closed (ink lines, hairs); inside the box,
#: three times as far (a tattoo's dark fields).
REGISTRATION_CLOSING_FRACTION = 0.03
#: Parts kept: with a box, those covering more than this fraction of it (a speck of skin colour on the
#: card or the clothing inside the box is not the body); without one, those covering more than this
#: fraction of the photo (the body part is a large surface, specks of skin-coloured background are not).
REGISTRATION_MIN_PART_OF_BOX = 0.05
REGISTRATION_MIN_PART_OF_PHOTO = 0.02


def registration_body(rgb, box=None):
    """The body registration takes features on: skin-coloured by a fixed rule, closed, the parts that
    hold the box (or, without a box, every large part).

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
        float sRGB in 0..1 (a working-scale image).
    box : tuple (x, y, w, h), optional
        The area's box on ``rgb`` (the baseline); None for a follow-up, where nothing says where the
        area is.

    Returns
    -------
    numpy.ndarray of bool

    Notes
    -----
    Pixels with Cr in REGISTRATION_CR_RANGE and Cb in REGISTRATION_CB_RANGE (ITU-R BT.601 YCrCb),
    closed by a disc of REGISTRATION_CLOSING_FRACTION of the longer side (three times that inside the
    box); with a box, the components covering more than REGISTRATION_MIN_PART_OF_BOX of it, without
    one those covering more than REGISTRATION_MIN_PART_OF_PHOTO of the image.

    Why not :func:`skin_map`: the follow-up has no box to seed a skin model from, and a model carried
    over from the baseline fails when the skin reddens between visits (a fresh tattoo). Measured on the
    24 shared real pairs (bench/eval_real_pairs.py; "same" pairs with |fade| ≤ 15 % on the box /
    "different" pairs refused): this rule on both photos 4/6 and 16/16; the skin map's body in the
    baseline with the baseline's model carried to the follow-up 3/6 and 16/16; the skin map's body
    with the plausible-skin prior in the follow-up 2/6 and 15/16.
    """
    ycrcb = cv2.cvtColor(np.clip(rgb * 255, 0, 255).astype(np.uint8), cv2.COLOR_RGB2YCrCb)
    coloured = ((ycrcb[..., 1] >= REGISTRATION_CR_RANGE[0]) & (ycrcb[..., 1] <= REGISTRATION_CR_RANGE[1])
                & (ycrcb[..., 2] >= REGISTRATION_CB_RANGE[0]) & (ycrcb[..., 2] <= REGISTRATION_CB_RANGE[1])).astype(np.uint8)
    size = max(3, int(REGISTRATION_CLOSING_FRACTION * max(rgb.shape[:2])) | 1)
    coloured = cv2.morphologyEx(coloured, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    if box is not None:
        x, y, w, h = box
        height, width = coloured.shape
        inside = (slice(min(max(0, y), height), min(max(0, y + h), height)),
                  slice(min(max(0, x), width), min(max(0, x + w), width)))
        coloured[inside] |= cv2.morphologyEx(coloured[inside], cv2.MORPH_CLOSE, np.ones((3 * size, 3 * size), np.uint8))
    count, labels = cv2.connectedComponents(coloured)
    if box is None:
        areas = np.bincount(labels.ravel())
        keep = [i for i in range(1, count) if areas[i] > REGISTRATION_MIN_PART_OF_PHOTO * coloured.size]
    else:
        inside_labels = labels[inside]
        keep = [i for i in np.unique(inside_labels)
                if i > 0 and (inside_labels == i).sum() > REGISTRATION_MIN_PART_OF_BOX * inside_labels.size]
    return np.isin(labels, keep)
