"""Align a follow-up photo to its baseline on the skin that holds the treated area, and verify it.

Method
------
1. **Views.** Each photo is read as a contrast-normalised grey image at a working scale set by the
   baseline's box (its longer side about ``WORK_BOX_LONG_SIDE`` pixels), the follow-up also at the
   scale the cards give when both photos have one. Features are taken only on the *body*
   (:func:`skinscan.skin.registration_body`: the skin-coloured parts holding the area; background,
   clothing, padding and the card excluded), within ``NEIGHBOURHOOD_BOXES`` box sizes of the area in
   the baseline. Backgrounds move relative to limbs;
   a residual measured on them proves nothing about the skin.
2. **Matches.** RootSIFT descriptors (Arandjelović & Zisserman 2012), Lowe's ratio test, then matches
   whose keypoint rotation (and, with cards, size ratio) disagree with the rest are dropped.
3. **Model ladder.** Similarity, affine and homography are fitted robustly (RANSAC / MAGSAC++), each
   refined and verified (steps 4-5); the most confident is kept, so a freer model wins only when the
   skin confirms it (extra inliers on a background or a fold do not). The follow-up is tried at
   further scales (``RETRY_SCALES``) when the first gives no verified alignment (a follow-up taken
   much closer or further).
4. **Local refinement.** ECC (Evangelidis & Psarakis 2008, IEEE TPAMI 30:1858) refines the mapping by
   intensity on the body around the area (the box grown by ``REFINE_MARGIN_BOXES``; masks on both
   photos), so the mapping is right where the numbers are read even when a limb bends elsewhere.
   A fit on fewer than ``MIN_INLIERS`` matches (method "texture") is judged on the intensity check
   alone, with stricter bounds. There is no search without features: a correlation search over the
   follow-up (scales, rotations, then ECC) aligned none of the real pairs of the same tattoo nor the
   rendered low-texture limbs, and accepted a different person's tattoo (2026-11-27).
5. **Verification** before any number: inliers spread around the area (angular sectors), a
   photometric check (band-passed baseline skin against the warped follow-up, local normalised
   cross-correlation, i.e. after a local gain and offset), a plausible scale and tilt (from features, a
   tilt of at most ``AUTO_MAX_ANISOTROPY``; landmarks may show more). These combine
   into ``Registration.confidence`` (0..1); below ``constants.MIN_REGISTRATION_CONFIDENCE`` (below
   TEXTURE_MIN_CONFIDENCE for a fit on fewer than MIN_INLIERS matches) the alignment is refused with a
   message saying what to do.

Landmarks (3-4 pairs clicked by the user) give the same :class:`Registration` through
:func:`from_landmarks`.
"""

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.spatial import cKDTree

from . import constants
from .errors import InputError
from .io import to_unit_float

#: Working resolution: the baseline's box's longer side is read at about this many pixels (pores
#: must survive: at most a few-fold reduction of a phone photo).
WORK_BOX_LONG_SIDE = 240
#: Neighbourhood of the area in the baseline where features are taken, in box sizes on each side.
NEIGHBOURHOOD_BOXES = 1.0
#: Most features kept per view (the strongest): matching cost grows with the product of the counts.
MAX_FEATURES = 2000
#: Lowe's ratio test (Lowe 2004, IJCV 60:91), and the fewest inliers that make a feature alignment.
RATIO_TEST = 0.85
MIN_INLIERS = 10
#: Guided matching (a second round from the first fit): follow-up features within this many working
#: pixels of where the fit puts a baseline feature compete (twice the robust fits' reprojection
#: threshold: the first fit is only roughly right); the nearest descriptor wins when it passes this
#: ratio test among them (looser than the photo-wide RATIO_TEST, as only a few neighbours compete)
#: and is no further than this percentile of the first matches' distances (the descriptor distances
#: the same skin gave in this pair). Chosen on the real pairs (tests/test_register.py): 10_1 -> 10_2
#: aligned, no different view accepted.
GUIDED_RADIUS_PX = 6.0
GUIDED_RATIO = 0.9
GUIDED_DISTANCE_PERCENTILE = 90
#: Fewest consistent matches from which models are fitted (fewer: refused, "too few skin features").
MIN_SEED_MATCHES = 4
#: Matches must agree with the expected scale (from the cards) within this factor, and with the
#: matches' common rotation within this many degrees.
SCALE_TOLERANCE = 1.6
ROTATION_TOLERANCE_DEG = 30.0
#: Seed of OpenCV's random generator for the robust fits (results reproducible run to run).
RANDOM_SEED = 20261126
#: Robust-fit reprojection threshold, in working pixels.
RANSAC_THRESHOLD_PX = 3.0
#: The local refinement reads the box grown by this many box sizes on each side.
REFINE_MARGIN_BOXES = 0.5
#: The refinement leaves the area out when the body around it covers at least this fraction of the
#: refined region.
RING_MIN_FRACTION = 0.3
#: The refinement may move the box's corners by at most this fraction of the box's longer side from
#: where the features put them (otherwise it converged elsewhere and is ignored).
REFINE_MAX_MOVE_BOXES = 0.15
#: How many of the fitted models (best verified first) are refined by ECC.
REFINED_CANDIDATES = 2
#: Follow-up working scales tried after the first, relative to it.
RETRY_SCALES = (0.5, 2.0)
#: A fit on fewer than MIN_INLIERS matches (method "texture") has little geometric support: its
#: correlation must clear stricter bounds, TEXTURE_NCC_NONE..TEXTURE_NCC_FULL.
TEXTURE_NCC_NONE = 0.15
TEXTURE_NCC_FULL = 0.35
#: ... and its confidence must reach this, not constants.MIN_REGISTRATION_CONFIDENCE: with no geometry to
#: vouch for it, a middling correlation is not enough. On the real same-view pairs changed a little
#: (bench/eval_pair_stability.py, 2026-11-27), fits on 9 matches at 0.51-0.58 read an unchanged tattoo as
#: -84 %, -17 % and +23 % fade where the photos as taken aligned on 36-46 matches; the one such fit
#: of the real pairs as taken, 4_2 -> 4_1, scores 0.91.
TEXTURE_MIN_CONFIDENCE = 0.75
#: Band-pass for the photometric check (Gaussian sigmas in working pixels) and the window of the local
#: normalised cross-correlation (working pixels).
BANDPASS_SIGMAS = (2.0, 8.0)
NCC_WINDOW_PX = 15
#: Photometric score: median local NCC mapped linearly from NCC_NONE (score 0) to NCC_FULL (score 1).
#: Unrelated skin textures correlate about 0; the same skin re-photographed 0.3-0.7.
NCC_NONE = 0.05
NCC_FULL = 0.35
#: Coverage: the fraction of the baseline's body around the area that lands on the follow-up's body;
#: below COVERAGE_FULL the photometric score shrinks in proportion (another side of a limb shows only
#: part of the same skin, the rest landing on background).
COVERAGE_FULL = 0.5
#: Spread: the area's surroundings are cut into this many angular sectors around its centre; inliers
#: in SECTORS_FULL of them (or inside the box on both diagonals) give a full score.
SECTORS = 8
SECTORS_FULL = 5
#: Support: inliers for a full score.
INLIERS_FULL = 20


@dataclass(frozen=True)
class Registration:
    """Mapping from baseline pixels to follow-up pixels, with how far it can be trusted.

    Attributes
    ----------
    ok : bool
        True when the mapping was found and verified (confidence at least the minimum; from features, a
        tilt of at most AUTO_MAX_ANISOTROPY).
    method : str
        "features" (matched skin features, fitted and refined), "texture" (few features: intensity
        refinement from a seed, verified), "landmarks" (user pairs).
    homography : numpy.ndarray or None, shape (3, 3)
        x_followup ~ H · x_baseline (homogeneous pixel coordinates of the stored photos).
    inliers : int
    residual_px : float
        Median reprojection error of the inliers (or landmarks), follow-up pixels.
    message : str
        Why it was refused, and what to do (empty when ok).
    confidence : float
        0..1: product of the verification scores (photometric, spread, support, plausibility).
    model : str
        "similarity", "affine" or "homography".
    checks : dict
        The verification's named scores, for display and tests.
    """

    ok: bool
    method: str
    homography: np.ndarray | None
    inliers: int
    residual_px: float
    message: str = ""
    confidence: float = 0.0
    model: str = ""
    checks: dict = field(default_factory=dict)

    def to_dict(self):
        """The contract's ``registration`` object (``confidence`` and ``message`` are additions)."""
        return {
            "ok": bool(self.ok),
            "method": self.method,
            "inliers": int(self.inliers),
            "residual_px": round(float(self.residual_px), 3) if np.isfinite(self.residual_px) else None,
            "confidence": round(float(self.confidence), 3),
            "message": self.message,
        }

    def map_points(self, points):
        """Baseline pixel coordinates (n, 2) -> follow-up pixel coordinates (n, 2)."""
        return cv2.perspectiveTransform(np.asarray(points, np.float64)[None], self.homography)[0]

    def area_scale(self, point):
        """Local area magnification of the mapping at a baseline point (follow-up px² per baseline px²)."""
        return _area_scale(self.homography, point)

    def inverse(self):
        """This registration the other way round: follow-up pixels -> baseline pixels."""
        return Registration(self.ok, self.method, np.linalg.inv(self.homography), self.inliers, self.residual_px,
                            self.message, self.confidence, self.model, self.checks)

    def refused(self, message):
        """This registration, refused with ``message``."""
        return Registration(False, self.method, self.homography, self.inliers, self.residual_px, message,
                            self.confidence, self.model, self.checks)


class AlignmentError(InputError):
    """The follow-up could not be aligned (or not verified) on the skin: one line saying what to do.

    Attributes
    ----------
    registration : Registration or None
        The refused registration (its confidence and checks), when there was one.
    """

    def __init__(self, message, registration=None):
        super().__init__(message)
        self.registration = registration


def alignment_advice(registration):
    """The one-line message of a refused alignment, with what the practitioner can do."""
    return (f"could not align the follow-up on the skin around the area ({registration.message}; "
            f"confidence {registration.confidence:.2f}): retake it with the same framing and distance, "
            "or give 3-4 matching points (--landmarks)")


def _area_scale(homography, point):
    x, y = point
    h = homography
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    jacobian = (h[:2, :2] * w - np.outer(h[:2, :2] @ [x, y] + h[:2, 2], h[2, :2])) / w**2
    return float(abs(np.linalg.det(jacobian)))


def _jacobian(homography, point):
    x, y = point
    h = homography
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    return (h[:2, :2] * w - np.outer(h[:2, :2] @ [x, y] + h[:2, 2], h[2, :2])) / w**2


# --- views --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """One photo as registration reads it: a working grey image, where features may be taken, features.

    Attributes
    ----------
    grey : numpy.ndarray of uint8
        Contrast-normalised (CLAHE) grey at the working scale.
    body : numpy.ndarray of bool
        Working pixels that belong to the body holding the area (card excluded).
    offset : numpy.ndarray, shape (2,)
        Photo coordinates of the working image's origin.
    scale : float
        Working pixels per photo pixel.
    keypoints : tuple of cv2.KeyPoint
    descriptors : numpy.ndarray or None
        RootSIFT descriptors.
    source : tuple
        (rgb, body, card) the view was read from, for re-reading at another scale.
    """

    grey: np.ndarray
    body: np.ndarray
    offset: np.ndarray
    scale: float
    keypoints: tuple
    descriptors: np.ndarray | None
    source: tuple = ()

    def photo_points(self, indices):
        """Photo coordinates of some keypoints."""
        return np.array([self.keypoints[i].pt for i in indices], np.float64).reshape(-1, 2) / self.scale + self.offset

    def bandpassed(self, region):
        """The band-passed grey (:func:`_bandpass`) of a region (x0, y0, x1, y1) of the working image,
        computed once per region (every candidate mapping is checked against the same baseline skin)."""
        cache = self.__dict__.setdefault("_bandpassed", {})  # frozen dataclass: a private cache
        if region not in cache:
            x0, y0, x1, y1 = region
            cache[region] = _bandpass(self.grey[y0:y1, x0:x1])
            cache[region].setflags(write=False)  # shared by every check: callers copy before writing
        return cache[region]

    def to_photo(self):
        """3x3 matrix: working pixels -> photo pixels."""
        return np.array([[1 / self.scale, 0, self.offset[0]], [0, 1 / self.scale, self.offset[1]], [0, 0, 1]])


def working_scale(area_box):
    """Working pixels per photo pixel for an area of this size (the baseline is read at this scale)."""
    return min(1.0, WORK_BOX_LONG_SIDE / max(area_box[2], area_box[3]))


def _grey(rgb):
    """Contrast-normalised grey (CLAHE evens out light differences between visits)."""
    grey = cv2.cvtColor(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    return cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(grey)


def _resized(image, scale, size):
    """Area-average ``image`` to ``size`` (width, height), float32 in 0..1; a whole-step sub-sample
    first (cheap), and integer pixels are converted only after it (:func:`io.to_unit_float`: a
    quarter or less of a 12 MP photo, the same values as converting all of it first)."""
    if scale == 1.0 and image.shape[1] == size[0] and image.shape[0] == size[1]:
        return to_unit_float(image)
    step = max(1, int(0.75 / scale))
    image = to_unit_float(image[::step, ::step])
    interpolation = cv2.INTER_AREA if scale * step < 1 else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(image), size, interpolation=interpolation)


def _card_free(shape, card, offset, scale, grow=1.6):
    """True everywhere except inside the grown card quad (working coordinates)."""
    keep = np.full(shape[:2], 1, np.uint8)
    if card is not None:
        quad = (np.asarray(card, np.float64) - offset) * scale
        centre = quad.mean(axis=0)
        cv2.fillConvexPoly(keep, np.round(centre + (quad - centre) * grow).astype(np.int32), 0)
    return keep.astype(bool)


def read_view(rgb, scale, region=None, body=None, card=None):
    """Read a photo (or a region of it) for registration.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
        float sRGB in 0..1, or a photo's integer pixels (uint8 or uint16; converted after the
        sub-sampling, see :func:`_resized`).
    scale : float
        Working pixels per photo pixel.
    region : tuple (x0, y0, x1, y1), optional
        Part of the photo to read (default: all of it).
    body : numpy.ndarray of bool or callable, optional
        Photo-sized mask of the body holding the area, or a function ``body(rgb_work, offset, scale)``
        that takes the working-scale RGB image of the region (its photo origin and scale) and returns
        its body mask (read at the working scale: cheap on a 12 MP photo). Default:
        everything is body.
    card : numpy.ndarray, shape (4, 2), optional
        Card corners, masked out.

    Returns
    -------
    View
    """
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = region if region is not None else (0, 0, width, height)
    size = (max(8, round((x1 - x0) * scale)), max(8, round((y1 - y0) * scale)))
    small = _resized(rgb[y0:y1, x0:x1], scale, size)
    grey = _grey(small)
    offset = np.array([x0, y0], np.float64)
    keep = _card_free(grey.shape, card, offset, scale)
    if callable(body):
        keep &= np.asarray(body(small, offset, scale), dtype=bool)
    elif body is not None:
        keep &= cv2.resize(body[y0:y1, x0:x1].astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    sift = cv2.SIFT_create(nfeatures=MAX_FEATURES, contrastThreshold=0.02)
    keypoints, descriptors = sift.detectAndCompute(grey, keep.astype(np.uint8) * 255)
    return View(grey, keep, offset, float(scale), tuple(keypoints),
                None if descriptors is None else _root_sift(descriptors), (rgb, body, card))


def neighbourhood(area_box, shape):
    """The baseline region (x0, y0, x1, y1) whose skin is matched: the box grown by NEIGHBOURHOOD_BOXES."""
    x, y, w, h = area_box
    margin = NEIGHBOURHOOD_BOXES * max(w, h)
    height, width = shape[:2]
    return (int(max(0, x - margin)), int(max(0, y - margin)),
            int(min(width, x + w + margin)), int(min(height, y + h + margin)))


def baseline_view(rgb, area_box, body=None, card=None):
    """The baseline's skin around the treated area, at the working scale its box sets."""
    return read_view(rgb, working_scale(area_box), neighbourhood(area_box, rgb.shape), body, card)


def followup_view(rgb, area_box, body=None, card=None, expected_scale=None):
    """The whole follow-up photo, at the baseline's working scale (times the cards' scale ratio when
    known: the skin's texture then has the same size in working pixels in both)."""
    scale = working_scale(area_box) / (expected_scale or 1.0)
    return read_view(rgb, min(1.0, scale), None, body, card)


def _root_sift(descriptors):
    """RootSIFT: L1-normalise, then square-root (Arandjelović & Zisserman 2012, CVPR): Hellinger
    distance between descriptors, which matches textures more reliably than L2 on raw SIFT."""
    descriptors = descriptors / np.maximum(descriptors.sum(axis=1, keepdims=True), 1e-7)
    return np.sqrt(descriptors).astype(np.float32)


# --- alignment ----------------------------------------------------------------------------------------


def align(baseline_rgb, followup_rgb, area_box, baseline_body=None, followup_body=None, baseline_card=None,
          followup_card=None, expected_scale=None):
    """Find and verify the mapping of baseline pixels to follow-up pixels around a treated area.

    Parameters
    ----------
    baseline_rgb, followup_rgb : numpy.ndarray, shape (H, W, 3)
        float sRGB in 0..1, or the photos' integer pixels (:func:`read_view`).
    area_box : tuple (x, y, w, h)
        The treated area's box in the baseline.
    baseline_body, followup_body : numpy.ndarray of bool, optional
        Each photo's body mask (:func:`skinscan.skin.registration_body`): features only there.
    baseline_card, followup_card : numpy.ndarray, shape (4, 2), optional
        Card corners in each photo, masked out of the matching.
    expected_scale : float, optional
        Follow-up/baseline linear scale from the cards' pitches: matches must agree with it.

    Returns
    -------
    Registration
        ``ok`` False with a message (and the confidence reached) when refused.
    """
    view_b = baseline_view(baseline_rgb, area_box, baseline_body, baseline_card)
    view_f = followup_view(followup_rgb, area_box, followup_body, followup_card, expected_scale)
    return match(view_b, view_f, area_box, expected_scale)


def match(view_b, view_f, area_box, expected_scale=None):
    """Match two views, fit, refine and verify (see :func:`align`). Retries the follow-up at other
    scales when the first reading gives no verified alignment."""
    best = _match_once(view_b, view_f, area_box, expected_scale)
    if not best.ok and expected_scale is None and view_f.source:
        rgb, body, card = view_f.source
        for factor in RETRY_SCALES:
            scale = min(1.0, view_f.scale * factor)
            if abs(scale - view_f.scale) < 0.05 * view_f.scale:
                continue
            attempt = _match_once(view_b, read_view(rgb, scale, None, body, card), area_box, None)
            if _rank(attempt) > _rank(best):
                best = attempt
            if best.ok:
                break
    return best


def _fail(message, inliers=0, confidence=0.0, checks=None):
    return Registration(False, "features", None, inliers, float("nan"), message, confidence, "", checks or {})


def _match_once(view_b, view_f, area_box, expected_scale):
    good = []
    if view_b.descriptors is not None and view_f.descriptors is not None and len(view_b.keypoints) >= 2 \
            and len(view_f.keypoints) >= 2:
        # Exact nearest neighbours: FLANN's randomised trees would make the same photos give different
        # results from run to run (and between a batch's workers).
        pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(view_b.descriptors, view_f.descriptors, k=2)
        good = [m for m, n in (p for p in pairs if len(p) == 2) if m.distance < RATIO_TEST * n.distance]
    size_ratio = view_f.scale / view_b.scale * (expected_scale or 1.0)
    good = _consistent(good, view_b.keypoints, view_f.keypoints, size_ratio, expected_scale is not None)
    fitted = _fit_and_verify(good, view_b, view_f, area_box, expected_scale)
    best = _refine_best(fitted, view_b, view_f, area_box, expected_scale)
    if best is not None and not best.ok and fitted[0][0].checks.get("plausible", False):
        # Guided matching from the most confident fit: repeated patterns (line-work, geometric ink)
        # fail the ratio test over the whole photo but match where the fit predicts them.
        warp = np.linalg.inv(view_f.to_photo()) @ fitted[0][0].homography @ view_b.to_photo()
        guided = _fit_and_verify(_guided_matches(view_b, view_f, warp, good), view_b, view_f, area_box, expected_scale)
        again = _refine_best(guided, view_b, view_f, area_box, expected_scale)
        if again is not None and _rank(again) > _rank(best):
            best = again
    return best or _fail("the photos share too few skin features", len(good))


def _refine_best(fitted, view_b, view_f, area_box, expected_scale):
    """The best of some verified fits (best first) once the first REFINED_CANDIDATES are refined by ECC
    and verified again (stops at the first accepted); None when there are none."""
    best = fitted[0][0] if fitted else None
    for attempt, points_b, points_f in fitted[:REFINED_CANDIDATES]:
        if attempt.homography is None or not attempt.checks.get("plausible", False):
            continue
        refined = _refine(attempt.homography, view_b, view_f, area_box, attempt.model)
        if refined is None:
            continue
        again = verify(refined, view_b, view_f, area_box, points_b, points_f, attempt.method, attempt.model,
                       expected_scale)
        if _rank(again) >= _rank(best) or not best.ok:
            best = again
        if best.ok:
            break
    return best


def _fit_and_verify(matches, view_b, view_f, area_box, expected_scale):
    """Every model the matches support (:func:`_fit_models`, in working pixels of each view: thresholds
    in pixels mean the same in both), verified as fitted.

    Returns
    -------
    list of (Registration, inlier points in the baseline, in the follow-up), photo pixels
        Most confident first (:func:`_rank`).
    """
    cv2.setRNGSeed(RANDOM_SEED)  # the robust fits sample at random: the same photos give the same result
    work_b = np.array([view_b.keypoints[m.queryIdx].pt for m in matches], np.float64).reshape(-1, 2)
    work_f = np.array([view_f.keypoints[m.trainIdx].pt for m in matches], np.float64).reshape(-1, 2)
    candidates = _fit_models(work_b, work_f) if len(matches) >= MIN_SEED_MATCHES else []
    to_photo_b, to_photo_f = view_b.to_photo(), view_f.to_photo()
    fitted = []
    for model, warp, inliers in candidates:
        method = "features" if inliers.sum() >= MIN_INLIERS else "texture"
        points_b = view_b.photo_points([m.queryIdx for m, k in zip(matches, inliers) if k])
        points_f = view_f.photo_points([m.trainIdx for m, k in zip(matches, inliers) if k])
        homography = to_photo_f @ warp @ np.linalg.inv(to_photo_b)
        attempt = verify(homography, view_b, view_f, area_box, points_b, points_f, method, model, expected_scale)
        fitted.append((attempt, points_b, points_f))
    return sorted(fitted, key=lambda item: _rank(item[0]), reverse=True)


def _guided_matches(view_b, view_f, warp, matches):
    """Matches searched where a first mapping puts each baseline feature (guided matching, Hartley &
    Zisserman 2004, Multiple View Geometry, 2nd ed., §4.8).

    Parameters
    ----------
    view_b, view_f : View
    warp : numpy.ndarray, shape (3, 3)
        Baseline working pixels -> follow-up working pixels.
    matches : list of cv2.DMatch
        The matches the first mapping was fitted on (they set the largest descriptor distance allowed).

    Returns
    -------
    list of cv2.DMatch
        For each baseline feature, the nearest follow-up descriptor among the features within
        GUIDED_RADIUS_PX of where ``warp`` puts it, kept when it passes the ratio test among those
        (GUIDED_RATIO) and is no further than the first matches' GUIDED_DISTANCE_PERCENTILE-th
        percentile distance; at most one per follow-up feature (the nearest), and only those whose
        keypoint rotation agrees with the others' (:func:`_consistent`).
    """
    if not matches or view_b.descriptors is None or view_f.descriptors is None:
        return list(matches)
    limit = float(np.percentile([m.distance for m in matches], GUIDED_DISTANCE_PERCENTILE))
    points_b = np.array([k.pt for k in view_b.keypoints], np.float64)
    points_f = np.array([k.pt for k in view_f.keypoints], np.float64)
    predicted = cv2.perspectiveTransform(points_b[None], warp)[0]
    found = []
    for index, near in enumerate(cKDTree(points_f).query_ball_point(predicted, GUIDED_RADIUS_PX)):
        if not near:
            continue
        distances = np.linalg.norm(view_f.descriptors[near] - view_b.descriptors[index], axis=1)
        order = np.argsort(distances)
        best = distances[order[0]]
        second = distances[order[1]] if len(near) > 1 else np.inf
        if best <= limit and best < GUIDED_RATIO * second:
            found.append(cv2.DMatch(index, near[order[0]], float(best)))
    # One baseline feature per follow-up feature (the nearest), then the same rotation screen as the
    # photo-wide matches.
    nearest = {}
    for match in found:
        if match.trainIdx not in nearest or match.distance < nearest[match.trainIdx].distance:
            nearest[match.trainIdx] = match
    found = sorted(nearest.values(), key=lambda match: match.queryIdx)
    return _consistent(found, view_b.keypoints, view_f.keypoints, view_f.scale / view_b.scale, False)


def _rank(registration):
    """Order of preference between candidate mappings: accepted first (a fit on few matches is refused
    below TEXTURE_MIN_CONFIDENCE, above others' threshold: it must not outrank an accepted one), then
    confidence, then the raw correlation."""
    ncc = registration.checks.get("ncc")
    return (registration.ok, round(registration.confidence, 2), -1.0 if ncc is None else ncc,
            registration.homography is not None)


def _fit_models(work_b, work_f):
    """Similarity, affine and homography fitted robustly (as many as the matches allow).

    Returns
    -------
    list of (model name, 3x3 warp in working pixels, inlier mask)
    """
    candidates = []
    n = len(work_b)
    options = dict(method=cv2.RANSAC, ransacReprojThreshold=RANSAC_THRESHOLD_PX, maxIters=4000, confidence=0.999)
    if n >= 2:
        similarity, mask = cv2.estimateAffinePartial2D(work_b, work_f, **options)
        if similarity is not None:
            candidates.append(("similarity", np.vstack([similarity, [0, 0, 1]]), mask.ravel().astype(bool)))
    if n >= 6:
        affine, mask = cv2.estimateAffine2D(work_b, work_f, **options)
        if affine is not None:
            candidates.append(("affine", np.vstack([affine, [0, 0, 1]]), mask.ravel().astype(bool)))
    if n >= 8:
        homography, mask = cv2.findHomography(work_b, work_f, cv2.USAC_MAGSAC, RANSAC_THRESHOLD_PX, maxIters=5000,
                                              confidence=0.999)
        if homography is not None:
            candidates.append(("homography", homography, mask.ravel().astype(bool)))
    return candidates


def _around_area(view, area_box):
    """The working-pixel rectangle (x0, y0, x1, y1) of a baseline view around the area: the box grown
    by REFINE_MARGIN_BOXES on each side (where the mapping is refined and checked)."""
    x, y, w, h = area_box
    margin = REFINE_MARGIN_BOXES * max(w, h)
    corners = np.array([[[x - margin, y - margin], [x + w + margin, y + h + margin]]], np.float64)
    (gx0, gy0), (gx1, gy1) = cv2.perspectiveTransform(corners, np.linalg.inv(view.to_photo()))[0]
    height, width = view.grey.shape
    return max(0, int(gx0)), max(0, int(gy0)), min(width, int(np.ceil(gx1))), min(height, int(np.ceil(gy1)))


def _refine(homography, view_b, view_f, area_box, model):
    """ECC refinement on the body around the area (box grown by REFINE_MARGIN_BOXES); None when it fails
    or moves the box's corners further than REFINE_MAX_MOVE_BOXES box sizes from where it started."""
    x, y, w, h = area_box
    to_work_b = np.linalg.inv(view_b.to_photo())
    gx0, gy0, gx1, gy1 = _around_area(view_b, area_box)
    if gx1 - gx0 < 16 or gy1 - gy0 < 16:
        return None
    template_mask = view_b.body[gy0:gy1, gx0:gx1].astype(np.uint8)
    if template_mask.sum() < 0.2 * template_mask.size:
        return None
    # The area itself changes between visits (fading, settling redness): refine on the skin around it
    # when there is enough of it; a tattoo filling its body part is its own best texture.
    (ax0, ay0), (ax1, ay1) = cv2.perspectiveTransform(np.array([[[x, y], [x + w, y + h]]], np.float64), to_work_b)[0]
    ring = template_mask.copy()
    ring[max(0, int(ay0) - gy0):max(0, int(np.ceil(ay1)) - gy0), max(0, int(ax0) - gx0):max(0, int(np.ceil(ax1)) - gx0)] = 0
    if ring.sum() >= RING_MIN_FRACTION * template_mask.size:
        template_mask = ring
    shift = np.array([[1, 0, gx0], [0, 1, gy0], [0, 0, 1]], np.float64)
    warp = np.linalg.inv(view_f.to_photo()) @ homography @ view_b.to_photo() @ shift
    warp /= warp[2, 2]
    motion = cv2.MOTION_HOMOGRAPHY if model == "homography" else cv2.MOTION_AFFINE
    template = cv2.GaussianBlur(view_b.grey[gy0:gy1, gx0:gx1], (0, 0), 1.0).astype(np.float32)
    image = cv2.GaussianBlur(view_f.grey, (0, 0), 1.0).astype(np.float32)
    start = warp.astype(np.float32) if motion == cv2.MOTION_HOMOGRAPHY else warp[:2].astype(np.float32)
    try:
        # Masks for both: the baseline's body around the area, the follow-up's body.
        _, refined = cv2.findTransformECCWithMask(template, image, template_mask, view_f.body.astype(np.uint8), start,
                                                  motion, (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4), 3)
    except cv2.error:
        return None
    warp = refined.astype(np.float64)
    if motion != cv2.MOTION_HOMOGRAPHY:
        warp = np.vstack([warp, [0, 0, 1]])
    result = view_f.to_photo() @ warp @ np.linalg.inv(shift) @ np.linalg.inv(view_b.to_photo())
    corners = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64)
    before = cv2.perspectiveTransform(corners[None], homography)[0]
    after = cv2.perspectiveTransform(corners[None], result)[0]
    box_f = max(np.ptp(before[:, 0]), np.ptp(before[:, 1]))
    limit = REFINE_MAX_MOVE_BOXES * box_f
    if not np.all(np.isfinite(after)) or np.abs(after - before).max() > limit:
        return None
    return result / result[2, 2]


# --- verification -------------------------------------------------------------------------------------


def _bandpass(grey):
    low, high = BANDPASS_SIGMAS
    grey = grey.astype(np.float32)
    return cv2.GaussianBlur(grey, (0, 0), low) - cv2.GaussianBlur(grey, (0, 0), high)


def photometric_correlation(homography, view_b, view_f, area_box):
    """Median local normalised cross-correlation of the baseline's body skin around the area (the box
    grown by REFINE_MARGIN_BOXES) and the follow-up warped onto it (band-passed: shading removed;
    local gain and offset removed by the normalisation).

    Returns
    -------
    ncc : float
        -1..1; about 0 for unrelated skin, 0.3-0.7 for the same skin re-photographed. NaN when the
        warped follow-up covers too little of the baseline's body.
    coverage : float
        Fraction of the baseline's body around the area that lands on the follow-up's body.
    """
    gx0, gy0, gx1, gy1 = _around_area(view_b, area_box)
    shift = np.array([[1, 0, gx0], [0, 1, gy0], [0, 0, 1]], np.float64)
    warp = np.linalg.inv(view_f.to_photo()) @ homography @ view_b.to_photo() @ shift
    size = (gx1 - gx0, gy1 - gy0)
    warped = cv2.warpPerspective(view_f.grey, warp, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    covered = cv2.warpPerspective(view_f.body.astype(np.uint8), warp, size,
                                  flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP) > 0
    body_b = view_b.body[gy0:gy1, gx0:gx1]
    valid = covered & body_b
    if valid.sum() < 0.05 * valid.size:
        return float("nan"), 0.0
    a, b = view_b.bandpassed((gx0, gy0, gx1, gy1)).copy(), _bandpass(warped)
    a[~valid], b[~valid] = 0, 0
    window = (NCC_WINDOW_PX, NCC_WINDOW_PX)
    weight = cv2.boxFilter(valid.astype(np.float32), -1, window)
    mean_a = cv2.boxFilter(a, -1, window) / np.maximum(weight, 1e-6)
    mean_b = cv2.boxFilter(b, -1, window) / np.maximum(weight, 1e-6)
    cov = cv2.boxFilter(a * b, -1, window) / np.maximum(weight, 1e-6) - mean_a * mean_b
    var_a = cv2.boxFilter(a * a, -1, window) / np.maximum(weight, 1e-6) - mean_a**2
    var_b = cv2.boxFilter(b * b, -1, window) / np.maximum(weight, 1e-6) - mean_b**2
    usable = valid & (weight > 0.5) & (var_a > 0.25) & (var_b > 0.25)
    coverage = float(valid.sum() / max(body_b.sum(), 1))
    if usable.sum() < 0.02 * valid.size:
        return float("nan"), coverage
    ncc = cov[usable] / np.sqrt(var_a[usable] * var_b[usable])
    return float(np.median(ncc)), coverage


def _spread(points_b, area_box):
    """Fraction of angular sectors around the area's centre holding inliers, scaled so SECTORS_FULL
    of SECTORS give 1."""
    if len(points_b) == 0:
        return 0.0
    x, y, w, h = area_box
    d = (points_b - [x + w / 2, y + h / 2]) / [max(w, 1), max(h, 1)]
    far = np.linalg.norm(d, axis=1) > 0.1
    sectors = np.unique((np.floor((np.arctan2(d[far, 1], d[far, 0]) + np.pi) / (2 * np.pi) * SECTORS)).astype(int) % SECTORS)
    return float(min(1.0, len(sectors) / SECTORS_FULL))


def plausibility(homography, area_box, expected_scale=None):
    """'' when the mapping is a plausible re-photograph of the area, else what is wrong with it.

    Checks (at the area's centre and corners): orientation kept (no mirror), linear scale within
    constants.REGISTRATION_SCALE_RANGE (and within SCALE_TOLERANCE of the cards' when known),
    anisotropy (tilt) at most constants.REGISTRATION_MAX_ANISOTROPY, local scale varying across the
    box by at most the same factor (strong perspective means another side of the limb).
    """
    x, y, w, h = area_box
    centre = (x + w / 2, y + h / 2)
    jacobian = _jacobian(homography, centre)
    if not np.all(np.isfinite(jacobian)) or np.linalg.det(jacobian) <= 0:
        return "the mapping found is mirrored or degenerate"
    singular = np.linalg.svd(jacobian, compute_uv=False)
    scale = float(np.sqrt(singular[0] * singular[1]))
    low, high = constants.REGISTRATION_SCALE_RANGE
    if not low <= scale <= high:
        return f"the mapping found scales the skin {scale:.2f} times"
    if expected_scale is not None and not 1 / SCALE_TOLERANCE <= scale / expected_scale <= SCALE_TOLERANCE:
        return f"the mapping found scales the skin {scale:.2f} times but the cards say {expected_scale:.2f}"
    if singular[0] / singular[1] > constants.REGISTRATION_MAX_ANISOTROPY:
        return "the mapping found tilts the skin implausibly"
    corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    scales = [_area_scale(homography, c) for c in corners]
    denominators = [homography[2] @ [cx, cy, 1] for cx, cy in corners]
    if min(denominators) * (homography[2] @ [*centre, 1]) <= 0 or \
            max(scales) / max(min(scales), 1e-12) > constants.REGISTRATION_MAX_ANISOTROPY**2:
        return "the mapping found is too strongly in perspective"
    return ""


#: Largest anisotropy (the ratio of the mapping's principal stretches at the area) an automatic alignment
#: is trusted with; landmarks may go to constants.REGISTRATION_MAX_ANISOTROPY. On the shared real pairs
#: (both ways, each follow-up as taken and after five small changes: 87 accepted alignments) the fits
#: beyond 1.5 were the four whose mapped box lay least on the follow-up's tattoo box (0.38-0.57).
AUTO_MAX_ANISOTROPY = 1.5


def _too_tilted_for_features(homography, area_box):
    """'' unless the mapping stretches the skin at the area's centre more than AUTO_MAX_ANISOTROPY times
    more one way than the other (a tilt of 48°): then why it is refused (a refusal's message asks for
    landmarks, :func:`alignment_advice`)."""
    x, y, w, h = area_box
    singular = np.linalg.svd(_jacobian(homography, (x + w / 2, y + h / 2)), compute_uv=False)
    if singular[0] / max(singular[1], 1e-12) > AUTO_MAX_ANISOTROPY:
        return "the mapping found tilts the skin more than an automatic alignment is trusted with"
    return ""


def verify(homography, view_b, view_f, area_box, points_b, points_f, method, model, expected_scale=None):
    """Score a mapping and accept or refuse it.

    confidence = photometric · spread · support, or 0 when implausible, where photometric maps the
    median local NCC (:func:`photometric_correlation`) from NCC_NONE..NCC_FULL onto 0..1, times
    min(1, coverage / COVERAGE_FULL), spread is
    the sector coverage of the inliers (:func:`_spread`) and support = min(1, inliers / INLIERS_FULL)
    raised to 1/2. A texture alignment (method "texture": fewer than MIN_INLIERS matches) is judged on the
    photometric score alone, with the stricter TEXTURE_NCC_NONE..TEXTURE_NCC_FULL, and accepted from
    TEXTURE_MIN_CONFIDENCE (others from constants.MIN_REGISTRATION_CONFIDENCE). A plausible mapping
    tilted beyond AUTO_MAX_ANISOTROPY is refused with its confidence kept: it is still refined and
    guided from like any other, and one it leads to may be accepted.

    Returns
    -------
    Registration
    """
    if len(points_b):
        mapped = cv2.perspectiveTransform(points_b[None], homography)[0]
        residual = float(np.median(np.linalg.norm(mapped - points_f, axis=1)))
    else:
        residual = float("nan")
    problem = plausibility(homography, area_box, expected_scale)
    ncc, coverage = photometric_correlation(homography, view_b, view_f, area_box) if not problem else (float("nan"), 0.0)
    none, full = (TEXTURE_NCC_NONE, TEXTURE_NCC_FULL) if method == "texture" else (NCC_NONE, NCC_FULL)
    photometric = 0.0 if not np.isfinite(ncc) else float(np.clip((ncc - none) / (full - none), 0, 1))
    photometric *= float(min(1.0, coverage / COVERAGE_FULL))
    if method == "texture":
        # No features to spread or count: the (stricter) photometric check alone decides.
        spread = support = 1.0
    else:
        spread = _spread(points_b, area_box)
        support = float(np.sqrt(min(1.0, len(points_b) / INLIERS_FULL)))
    confidence = 0.0 if problem else photometric * spread * support
    checks = {"ncc": None if not np.isfinite(ncc) else round(ncc, 3), "coverage": round(coverage, 3),
              "photometric": round(photometric, 3),
              "spread": round(spread, 3), "support": round(support, 3), "plausible": not problem}
    registration = Registration(True, method, homography, len(points_b), residual, "", confidence, model, checks)
    if problem:
        return registration.refused(problem)
    # Plausible (so still refined and guided from, and ranked by its confidence), but not trusted as it is.
    too_tilted = _too_tilted_for_features(homography, area_box)
    if too_tilted:
        return registration.refused(too_tilted)
    if confidence < (TEXTURE_MIN_CONFIDENCE if method == "texture" else constants.MIN_REGISTRATION_CONFIDENCE):
        weakest = min(("the skin does not look the same once aligned", photometric),
                      ("the matches cluster on one side of the area", spread),
                      ("too few skin features agree", support), key=lambda item: item[1])[0]
        return registration.refused(weakest)
    return registration


def _consistent(matches, keys_b, keys_f, expected_size_ratio, scale_known):
    """Keep matches whose keypoint rotation agrees with the others', and (when the cards give the
    scale) whose keypoint size ratio agrees with it."""
    if len(matches) < 3:
        return matches
    turn = np.array([(keys_f[m.trainIdx].angle - keys_b[m.queryIdx].angle) for m in matches])
    turn_rad = np.deg2rad(turn)
    common = np.rad2deg(np.arctan2(np.median(np.sin(turn_rad)), np.median(np.cos(turn_rad))))
    off = np.abs((turn - common + 180.0) % 360.0 - 180.0)
    keep = off <= ROTATION_TOLERANCE_DEG
    if scale_known:
        ratio = np.array([keys_f[m.trainIdx].size / keys_b[m.queryIdx].size for m in matches])
        keep &= (ratio / expected_size_ratio <= SCALE_TOLERANCE) & (expected_size_ratio / ratio <= SCALE_TOLERANCE)
    return [m for m, k in zip(matches, keep) if k]


# --- landmarks ----------------------------------------------------------------------------------------


def from_landmarks(baseline_points, followup_points, area_box=None):
    """A mapping from 3 (affine) or 4+ (homography) landmark pairs clicked by the user.

    Parameters
    ----------
    baseline_points, followup_points : array_like, shape (n, 2)
        Matching points, photo pixels of each photo, in the same order.
    area_box : tuple (x, y, w, h), optional
        The area's box in the baseline, where plausibility is checked (default: the points' box).

    Returns
    -------
    Registration
        ``method`` "landmarks", ``confidence`` 1 (the user vouches for it), residual over the points.

    Raises
    ------
    InputError
        Fewer than 3 pairs, unequal counts, points in a line, or an implausible mapping (mirrored,
        scaled beyond REGISTRATION_SCALE_RANGE: usually points given in a different order).
    """
    b = np.asarray(baseline_points, np.float64).reshape(-1, 2)
    f = np.asarray(followup_points, np.float64).reshape(-1, 2)
    if len(b) != len(f) or len(b) < 3:
        raise InputError("landmarks: give 3 or 4 pairs of points (baseline then follow-up)")
    if len(b) == 3:
        affine = cv2.getAffineTransform(b.astype(np.float32), f.astype(np.float32))
        if abs(np.linalg.det(affine[:, :2])) < 1e-9:
            raise InputError("landmarks: the three points lie on a line")
        homography, model = np.vstack([affine, [0, 0, 1]]), "affine"
    else:
        homography, _ = cv2.findHomography(b, f, 0)
        if homography is None:
            raise InputError("landmarks: no mapping fits these points")
        homography, model = homography / homography[2, 2], "homography"
    if area_box is None:
        low, high = b.min(axis=0), b.max(axis=0)
        area_box = (low[0], low[1], max(high[0] - low[0], 1.0), max(high[1] - low[1], 1.0))
    problem = plausibility(homography, area_box)
    if problem:
        raise InputError(f"landmarks: {problem} (check the order of the points)")
    residual = float(np.median(np.linalg.norm(cv2.perspectiveTransform(b[None], homography)[0] - f, axis=1)))
    return Registration(True, "landmarks", homography, len(b), residual, "", 1.0, model, {"landmarks": len(b)})


def parse_landmarks(text):
    """``X1,Y1,...`` (baseline points then follow-up points) -> two arrays of 3 or 4 points."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"--landmarks takes numbers, got {text!r}") from None
    if len(values) not in (12, 16):
        raise InputError("--landmarks takes 3 or 4 baseline points then as many follow-up points (12 or 16 numbers)")
    if not np.all(np.isfinite(values)):
        raise InputError(f"--landmarks takes finite numbers, got {text!r}")
    points = np.array(values).reshape(-1, 2)
    half = len(points) // 2
    return points[:half], points[half:]


def warp_mask(mask, registration, shape, offset=(0, 0)):
    """Map a baseline mask into the follow-up photo (nearest neighbour).

    Parameters
    ----------
    mask : numpy.ndarray of bool
        The baseline mask, or a crop of it whose top-left pixel is at ``offset`` (x, y) in the photo.
    registration : Registration
    shape : tuple
        The follow-up photo's shape.
    offset : tuple
        Photo coordinates of ``mask``'s origin.

    Returns
    -------
    numpy.ndarray of bool
        Follow-up-sized; only the rectangle where the mask lands is computed.
    """
    warped = np.zeros(shape[:2], dtype=bool)
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return warped
    x, y = columns[0] + offset[0], rows[0] + offset[1]
    w, h = columns[-1] - columns[0] + 1, rows[-1] - rows[0] + 1
    corners = registration.map_points([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 2, [shape[1], shape[0]])
    if x1 <= x0 or y1 <= y0:
        return warped
    to_target = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], float)
    from_source = np.array([[1, 0, offset[0]], [0, 1, offset[1]], [0, 0, 1]], float)
    part = cv2.warpPerspective(mask.astype(np.uint8), to_target @ registration.homography @ from_source,
                               (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_NEAREST)
    warped[y0:y1, x0:x1] = part.astype(bool)
    return warped
