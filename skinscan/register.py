"""Align a follow-up photo to its baseline: find the same skin in both.

Features of the skin's own texture (pores, hairs, freckles, creases) around the treated area are
matched between the photos; the card is masked out of both (it moves between visits, and its strong
edges would outvote the skin), and so is the treated area itself, which changes between visits.
A homography is fitted robustly (MAGSAC++); when too few features agree, 3-4 landmark pairs given by
the user define the mapping instead.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import InputError

#: Working resolution: the baseline's neighbourhood of the area is read so that the box's longer side
#: has about this many pixels (pores must survive: at most a few-fold reduction of a phone photo).
WORK_BOX_LONG_SIDE = 240
#: Neighbourhood of the area used for matching, in box sizes on each side.
NEIGHBOURHOOD_BOXES = 2.0
#: Lowe's ratio test, and the fewest inliers that make an alignment.
RATIO_TEST = 0.85
MIN_INLIERS = 12
#: With fewer inliers than MIN_INLIERS (but at least MIN_SEED_INLIERS), the mapping is refined by
#: intensity (ECC, Evangelidis & Psarakis 2008) and accepted when the skin around the area then
#: correlates at least this well between the photos.
MIN_SEED_INLIERS = 6
ECC_ACCEPT = 0.6
#: Matches must agree with the expected scale (from the cards) within this factor, and with the
#: matches' common rotation within this many degrees: skin does not turn or zoom piecewise.
SCALE_TOLERANCE = 1.6
ROTATION_TOLERANCE_DEG = 30.0
#: RANSAC reprojection threshold, in working pixels.
RANSAC_THRESHOLD_PX = 3.0


@dataclass(frozen=True)
class Registration:
    """Mapping from baseline pixels to follow-up pixels.

    Attributes
    ----------
    ok : bool
    method : str
        "features" (SIFT + MAGSAC++), "features+ecc" (few features, refined and verified by intensity
        correlation), "landmarks" (user pairs).
    homography : numpy.ndarray or None, shape (3, 3)
        x_followup ~ H · x_baseline (homogeneous pixel coordinates of the stored photos).
    inliers : int
    residual_px : float
        Median reprojection error of the inliers (or landmarks), follow-up pixels.
    message : str
    """

    ok: bool
    method: str
    homography: np.ndarray | None
    inliers: int
    residual_px: float
    message: str = ""

    def to_dict(self):
        """The contract's ``registration`` object."""
        return {
            "ok": bool(self.ok),
            "method": self.method,
            "inliers": int(self.inliers),
            "residual_px": round(float(self.residual_px), 3) if np.isfinite(self.residual_px) else None,
        }

    def map_points(self, points):
        """Baseline pixel coordinates (n, 2) -> follow-up pixel coordinates (n, 2)."""
        return cv2.perspectiveTransform(np.asarray(points, np.float64)[None], self.homography)[0]

    def area_scale(self, point):
        """Local area magnification of the mapping at a baseline point (follow-up px² per baseline px²)."""
        x, y = point
        h = self.homography
        w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
        jacobian = (h[:2, :2] * w - np.outer(h[:2, :2] @ [x, y] + h[:2, 2], h[2, :2])) / w**2
        return float(abs(np.linalg.det(jacobian)))


def _grey(rgb, scale):
    """Contrast-normalised grey working image (CLAHE evens out light differences between visits)."""
    if scale != 1.0:
        # Sub-sample by a whole step first (cheap: three quarters of the reduction), then area-average
        # the rest of the way to the working size.
        step = max(1, int(0.75 / scale))
        height, width = rgb.shape[:2]
        rgb = cv2.resize(np.ascontiguousarray(rgb[::step, ::step]), (round(width * scale), round(height * scale)),
                         interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    return cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(grey)


def _quad_mask(shape, quads, grow=1.6):
    """255 everywhere except inside the grown card quads (working coordinates)."""
    mask = np.full(shape[:2], 255, np.uint8)
    for quad in quads:
        if quad is None:
            continue
        centre = quad.mean(axis=0)
        cv2.fillConvexPoly(mask, np.round(centre + (quad - centre) * grow).astype(np.int32), 0)
    return mask


@dataclass(frozen=True)
class Features:
    """SIFT features of one photo, read at a working scale.

    Attributes
    ----------
    keypoints : tuple of cv2.KeyPoint
        In working pixels.
    descriptors : numpy.ndarray or None
        RootSIFT descriptors.
    grey : numpy.ndarray
        The working grey image; ``mask`` marks where features were taken.
    mask : numpy.ndarray
    offset : numpy.ndarray, shape (2,)
        Photo coordinates of the working image's origin.
    scale : float
        Working pixels per photo pixel.
    """

    keypoints: tuple
    descriptors: np.ndarray | None
    grey: np.ndarray
    mask: np.ndarray
    offset: np.ndarray
    scale: float

    def photo_points(self, indices):
        """Photo coordinates of some keypoints."""
        return np.array([self.keypoints[i].pt for i in indices], np.float64) / self.scale + self.offset


def working_scale(area_box):
    """Working pixels per photo pixel for an area of this size (both photos are read at this scale)."""
    return min(1.0, WORK_BOX_LONG_SIDE / max(area_box[2], area_box[3]))


def baseline_features(rgb, area_box, card=None):
    """Features of the skin around the treated area in the baseline (card and area masked out)."""
    x, y, w, h = area_box
    height, width = rgb.shape[:2]
    margin = NEIGHBOURHOOD_BOXES * max(w, h)
    x0, y0 = int(max(0, x - margin)), int(max(0, y - margin))
    x1, y1 = int(min(width, x + w + margin)), int(min(height, y + h + margin))
    scale = working_scale(area_box)
    grey = _grey(rgb[y0:y1, x0:x1], scale)
    offset = np.array([x0, y0], np.float64)
    mask = _quad_mask(grey.shape, [None if card is None else (card - offset) * scale])
    # The treated area itself changes between visits: match on the skin around it.
    inner = (np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64) - offset) * scale
    cv2.fillConvexPoly(mask, np.round(inner).astype(np.int32), 0)
    return _features(grey, mask, offset, scale)


def followup_features(rgb, area_box, card=None):
    """Features of the whole follow-up photo (card masked out), at the baseline's working scale."""
    scale = working_scale(area_box)
    grey = _grey(rgb, scale)
    mask = _quad_mask(grey.shape, [None if card is None else card * scale])
    return _features(grey, mask, np.zeros(2), scale)


def _features(grey, mask, offset, scale):
    sift = cv2.SIFT_create(nfeatures=2500, contrastThreshold=0.02)
    keypoints, descriptors = sift.detectAndCompute(grey, mask)
    return Features(tuple(keypoints), None if descriptors is None else _root_sift(descriptors), grey, mask, offset, scale)


def align(baseline_rgb, followup_rgb, area_box, baseline_card=None, followup_card=None,
          expected_scale=None):
    """Find the homography taking baseline pixels to follow-up pixels around a treated area.

    Parameters
    ----------
    baseline_rgb, followup_rgb : numpy.ndarray, shape (H, W, 3), float 0..1
    area_box : tuple (x, y, w, h)
        The treated area's box in the baseline.
    baseline_card, followup_card : numpy.ndarray, shape (4, 2), optional
        Card corners in each photo, masked out of the matching.
    expected_scale : float, optional
        Rough follow-up/baseline scale (from the cards' pitches): matches must agree with it.

    Returns
    -------
    Registration
        ``ok`` False with a message when the skin could not be matched.
    """
    return match(
        baseline_features(baseline_rgb, area_box, baseline_card),
        followup_features(followup_rgb, area_box, followup_card),
        area_box,
        expected_scale,
    )


def match(features_b, features_f, area_box, expected_scale=None):
    """Match baseline and follow-up features and fit the homography (see :func:`align`)."""
    keys_b, desc_b, keys_f, desc_f = features_b.keypoints, features_b.descriptors, features_f.keypoints, features_f.descriptors
    if desc_b is None or desc_f is None or len(keys_b) < MIN_INLIERS or len(keys_f) < MIN_INLIERS:
        return Registration(False, "features", None, 0, float("nan"), "too little skin texture to match")
    matches = cv2.BFMatcher(cv2.NORM_L2).knnMatch(desc_b, desc_f, k=2)
    good = [m for m, n in (pair for pair in matches if len(pair) == 2) if m.distance < RATIO_TEST * n.distance]
    size_ratio = features_f.scale / features_b.scale * (expected_scale or 1.0)
    good = _consistent(good, keys_b, keys_f, size_ratio, expected_scale is not None)
    if len(good) < MIN_INLIERS:
        return Registration(False, "features", None, len(good), float("nan"), "the photos share too few skin features")
    points_b = features_b.photo_points([m.queryIdx for m in good])
    points_f = features_f.photo_points([m.trainIdx for m in good])
    homography, inlier_mask = cv2.findHomography(
        points_b, points_f, cv2.USAC_MAGSAC, RANSAC_THRESHOLD_PX / features_f.scale, maxIters=5000, confidence=0.999
    )
    if homography is None:
        return Registration(False, "features", None, 0, float("nan"), "no consistent mapping between the photos")
    inliers = inlier_mask.ravel().astype(bool)
    registration = _checked(homography, points_b[inliers], points_f[inliers], "features", area_box)
    if registration.ok and registration.inliers < MIN_INLIERS:
        if registration.inliers >= MIN_SEED_INLIERS:
            refined = _refine_by_intensity(registration, features_b, features_f)
            if refined is not None:
                return _checked(refined, points_b[inliers], points_f[inliers], "features+ecc", area_box)
        return Registration(False, "features", None, registration.inliers, registration.residual_px,
                            "the photos share too few skin features")
    return registration


def _refine_by_intensity(registration, features_b, features_f):
    """ECC refinement of a homography on the skin around the area; None unless it correlates well.

    The warp maps working baseline pixels to working follow-up pixels:
    W = S_f · H · T(offset_b) · S_b⁻¹.
    """
    grey_b, mask_b, grey_f = features_b.grey, features_b.mask, features_f.grey
    scale_b, scale_f, offset_b = features_b.scale, features_f.scale, features_b.offset
    to_full_b = np.array([[1 / scale_b, 0, offset_b[0]], [0, 1 / scale_b, offset_b[1]], [0, 0, 1]])
    to_work_f = np.diag([scale_f, scale_f, 1.0])
    warp = (to_work_f @ registration.homography @ to_full_b).astype(np.float32)
    template = cv2.GaussianBlur(grey_b, (0, 0), 1.0).astype(np.float32)
    image = cv2.GaussianBlur(grey_f, (0, 0), 1.0).astype(np.float32)
    try:
        correlation, warp = cv2.findTransformECC(
            template, image, warp, cv2.MOTION_HOMOGRAPHY,
            (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5), None, 5,
        )
    except cv2.error:
        return None
    # Correlation over the skin only (card and treated area masked), on the refined warp.
    warped = cv2.warpPerspective(image, warp, (template.shape[1], template.shape[0]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    valid = mask_b > 0
    a, b = template[valid] - template[valid].mean(), warped[valid] - warped[valid].mean()
    skin_correlation = float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-9))
    if skin_correlation < ECC_ACCEPT:
        return None
    return np.linalg.inv(to_work_f) @ warp.astype(np.float64) @ np.linalg.inv(to_full_b)


def _root_sift(descriptors):
    """RootSIFT: L1-normalise, then square-root (Arandjelović & Zisserman 2012, CVPR): Hellinger
    distance between descriptors, which matches textures more reliably than L2 on raw SIFT."""
    descriptors = descriptors / np.maximum(descriptors.sum(axis=1, keepdims=True), 1e-7)
    return np.sqrt(descriptors).astype(np.float32)


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


def _checked(homography, points_b, points_f, method, area_box):
    """Reject degenerate mappings: flipped, collapsed, or scaling the area beyond 0.4-2.5 times."""
    if len(points_b):
        mapped = cv2.perspectiveTransform(points_b[None], homography)[0]
        residual = float(np.median(np.linalg.norm(mapped - points_f, axis=1)))
    else:
        residual = float("nan")
    registration = Registration(True, method, homography, len(points_b), residual)
    x, y, w, h = area_box
    scale = registration.area_scale((x + w / 2, y + h / 2))
    linear = homography[:2, :2] / homography[2, 2]
    if not 0.16 <= scale <= 6.25 or np.linalg.det(linear) <= 0:
        return Registration(False, method, None, len(points_b), residual, "the mapping found is implausible")
    return registration


def from_landmarks(baseline_points, followup_points, area_box=(0, 0, 1, 1)):
    """A mapping from 3 (affine) or 4+ (homography) landmark pairs clicked by the user.

    Parameters
    ----------
    baseline_points, followup_points : array_like, shape (n, 2)

    Returns
    -------
    Registration

    Raises
    ------
    InputError
        Fewer than 3 pairs, unequal counts, or points in a line.
    """
    b = np.asarray(baseline_points, np.float64).reshape(-1, 2)
    f = np.asarray(followup_points, np.float64).reshape(-1, 2)
    if len(b) != len(f) or len(b) < 3:
        raise InputError("landmarks: give 3 or 4 pairs of points (baseline then follow-up)")
    if len(b) == 3:
        affine = cv2.getAffineTransform(b.astype(np.float32), f.astype(np.float32))
        if abs(np.linalg.det(affine[:, :2])) < 1e-9:
            raise InputError("landmarks: the three points lie on a line")
        homography = np.vstack([affine, [0, 0, 1]])
    else:
        homography, _ = cv2.findHomography(b, f, 0)
        if homography is None:
            raise InputError("landmarks: no mapping fits these points")
    registration = _checked(homography, b, f, "landmarks", area_box)
    if not registration.ok:
        raise InputError("landmarks: the mapping they give is implausible (check the order of the points)")
    return registration


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
