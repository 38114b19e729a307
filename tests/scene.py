"""Rendered test scenes with known truth: a ColorChecker, skin-coloured surfaces, a camera model.

Small and deterministic (every random draw comes from a seeded generator). The scene is described in
linear sRGB reflectance (D65 white = 1); the camera model turns it into an 8-bit sRGB photo the way a
phone does, badly:

1. illuminant: a black body of the given colour temperature (Planckian locus by the cubic
   approximation of Kim et al., US patent 7,024,034), as a per-channel gain, green = 1;
2. sensor cross-talk: a 3x3 matrix with rows summing to 1;
3. white balance that removes only a fraction of the cast (in log gain);
4. exposure, shot and read noise, clipping;
5. sRGB encoding followed by a contrast S-curve;
6. 8-bit quantisation and JPEG.

The chart geometry is this module's own (patch 0.88 of the pitch, a black border 0.35 pitch wide),
so a detector is tested against the card, not against its own constants.
"""

from dataclasses import dataclass, field

import cv2
import numpy as np
from skimage import color as skcolor

from skinscan.constants import COLORCHECKER_2014_LAB_D50

PATCH_FRACTION = 0.88
BORDER = 0.35  # card border around the patch area, in pitches
XYZ_TO_LINEAR_SRGB = np.linalg.inv(
    np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
)


def lab_to_linear(lab):
    """CIE L*a*b* (D65) to linear sRGB, unclipped (scene-side twin of the pipeline's conversion)."""
    return skcolor.lab2xyz(np.asarray(lab, float), illuminant="D65") @ XYZ_TO_LINEAR_SRGB.T


def linear_to_lab(linear):
    """Linear sRGB to CIE L*a*b* (D65)."""
    return skcolor.xyz2lab(np.asarray(linear, float) @ np.linalg.inv(XYZ_TO_LINEAR_SRGB).T, illuminant="D65")


def chart_reference_linear():
    """The 24 ColorChecker 2014 colours, Bradford-adapted D50 -> D65, as linear sRGB reflectance."""
    xyz_d50 = skcolor.lab2xyz(COLORCHECKER_2014_LAB_D50, illuminant="D50")
    bradford = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
    d50 = skcolor.xyz_tristimulus_values(illuminant="D50", observer="2")
    d65 = skcolor.xyz_tristimulus_values(illuminant="D65", observer="2")
    adapt = np.linalg.inv(bradford) @ np.diag((bradford @ d65) / (bradford @ d50)) @ bradford
    return (xyz_d50 @ adapt.T) @ XYZ_TO_LINEAR_SRGB.T


def blackbody_rgb(cct):
    """Linear sRGB of a black body at ``cct`` kelvin (1667-25000 K), normalised to green = 1."""
    t = float(cct)
    if t <= 4000:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    rgb = XYZ_TO_LINEAR_SRGB @ np.array([x / y, 1.0, (1 - x - y) / y])
    return np.maximum(rgb, 0.02) / rgb[1]


@dataclass
class Camera:
    """A phone-like camera. Defaults are a mild, honest one."""

    cct: float = 5500.0
    white_balance: float = 0.8  # fraction of the cast removed, 0..1
    crosstalk: np.ndarray = field(
        default_factory=lambda: np.array([[0.86, 0.11, 0.03], [0.07, 0.85, 0.08], [0.02, 0.13, 0.85]])
    )
    exposure: float = 0.9  # scales the white-balanced scene before encoding
    contrast: float = 0.25  # S-curve strength, 0 = plain sRGB
    noise: float = 0.003  # read-noise sigma in linear units (shot noise scales with it)
    jpeg_quality: int | None = 90
    seed: int = 0

    def capture(self, scene_linear):
        """Photograph a linear scene: returns uint8 RGB (after JPEG when jpeg_quality is set)."""
        rng = np.random.default_rng(self.seed)
        light = blackbody_rgb(self.cct)
        raw = (scene_linear * light) @ self.crosstalk.T
        grey_response = self.crosstalk @ light
        gains = grey_response ** (-self.white_balance)
        gains = gains / gains[1]
        raw = raw * gains * self.exposure
        sigma = np.sqrt(self.noise**2 + 0.5 * self.noise * np.maximum(raw, 0))
        raw = raw + rng.standard_normal(raw.shape).astype(np.float32) * sigma
        encoded = _srgb_encode(np.clip(raw, 0, 1))
        toned = (1 - self.contrast) * encoded + self.contrast * (3 * encoded**2 - 2 * encoded**3)
        photo = np.clip(np.round(toned * 255), 0, 255).astype(np.uint8)
        if self.jpeg_quality:
            ok, data = cv2.imencode(".jpg", photo[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            photo = cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]
        return np.ascontiguousarray(photo)


def _srgb_encode(linear):
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


@dataclass
class CardPlacement:
    """Where the card lies: centre (fractions of the frame), width of the patch area as a fraction of
    the frame width, rotation in degrees, perspective (fraction by which the far edge shrinks)."""

    centre: tuple = (0.3, 0.35)
    width_fraction: float = 0.3
    rotation_deg: float = 0.0
    perspective: float = 0.0
    mirrored: bool = False


def chart_corners_in_frame(placement, width, height):
    """Patch-area corners (beside patch 1, 6, 24, 19) in frame pixels, and the patch pitch in px."""
    pitch = placement.width_fraction * width / (6 - (1 - PATCH_FRACTION))
    half_w = (6 - (1 - PATCH_FRACTION)) * pitch / 2
    half_h = (4 - (1 - PATCH_FRACTION)) * pitch / 2
    shrink = placement.perspective
    local = np.array(
        [
            [-half_w * (1 - shrink), -half_h],
            [half_w * (1 - shrink), -half_h],
            [half_w, half_h],
            [-half_w, half_h],
        ]
    )
    if placement.mirrored:
        local[:, 0] *= -1
    angle = np.deg2rad(placement.rotation_deg)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([placement.centre[0] * width, placement.centre[1] * height])
    return local @ rotation.T + centre, pitch


def _chart_image(pixels_per_pitch):
    """The card in chart units rendered at ``pixels_per_pitch``: linear reflectance and its frame."""
    reference = chart_reference_linear()
    size_w = int(round((6 + 2 * BORDER) * pixels_per_pitch))
    size_h = int(round((4 + 2 * BORDER) * pixels_per_pitch))
    image = np.full((size_h, size_w, 3), 0.035, np.float32)  # black card face
    gap = (1 - PATCH_FRACTION) / 2
    for index in range(24):
        row, column = divmod(index, 6)
        x0 = int(round((BORDER + column + gap) * pixels_per_pitch))
        y0 = int(round((BORDER + row + gap) * pixels_per_pitch))
        side = int(round(PATCH_FRACTION * pixels_per_pitch))
        image[y0 : y0 + side, x0 : x0 + side] = reference[index]
    # Patch-area corners of this image, in its pixels, in chart order.
    a = (BORDER + gap) * pixels_per_pitch
    corners = np.array(
        [[a, a], [size_w - a, a], [size_w - a, size_h - a], [a, size_h - a]], np.float64
    )
    return image, corners


def draw_card(linear, placement):
    """Composite the ColorChecker into a linear scene; returns (scene, patch-area corners, pitch px)."""
    height, width = linear.shape[:2]
    corners, pitch = chart_corners_in_frame(placement, width, height)
    chart, chart_corners = _chart_image(max(12, int(pitch * 1.5)))
    homography = cv2.getPerspectiveTransform(chart_corners.astype(np.float32), corners.astype(np.float32))
    warped = cv2.warpPerspective(chart, homography, (width, height), flags=cv2.INTER_AREA)
    coverage = cv2.warpPerspective(
        np.ones(chart.shape[:2], np.float32), homography, (width, height), flags=cv2.INTER_LINEAR
    )
    return linear * (1 - coverage[..., None]) + warped * coverage[..., None], corners, pitch


@dataclass
class Scene:
    """A rendered scene and its truth."""

    linear: np.ndarray  # scene reflectance, linear sRGB, (H, W, 3) float32
    truth_regions: list  # [(mask, lab_d65)] surfaces of known colour
    chart_corners: np.ndarray | None  # (4, 2) in chart order, or None
    chart_pitch_px: float | None


def skin_background(width, height, lab, seed=0, texture=0.02):
    """A skin-coloured field with soft, low-frequency mottling of relative amplitude ``texture``."""
    rng = np.random.default_rng(seed)
    base = lab_to_linear(lab).astype(np.float32)
    small = rng.standard_normal((max(2, height // 64), max(2, width // 64))).astype(np.float32)
    mottle = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return base * (1 + texture * mottle[..., None])


def render_scene(
    width=1200,
    height=900,
    background_lab=(62.0, 14.0, 17.0),
    card=CardPlacement(),
    surfaces=(),
    decoy_grid=False,
    shadow=None,
    seed=0,
):
    """Lay out a scene in linear reflectance.

    Parameters
    ----------
    surfaces : sequence of (x, y, w, h, lab)
        Uniform skin-coloured rectangles (fractions of the frame) whose colour is the truth.
    decoy_grid : bool
        Add a 4 x 6 grid of random coloured squares (not a ColorChecker).
    shadow : None or (x0_fraction, strength)
        Darken everything right of x0 (a soft edge) by ``strength`` (0.4 = 40 % less light).
    """
    scene = skin_background(width, height, background_lab, seed=seed)
    truth = []
    for x, y, w, h, lab in surfaces:
        x0, y0 = int(x * width), int(y * height)
        x1, y1 = int((x + w) * width), int((y + h) * height)
        scene[y0:y1, x0:x1] = lab_to_linear(lab)
        mask = np.zeros((height, width), bool)
        mask[y0 + 3 : y1 - 3, x0 + 3 : x1 - 3] = True
        truth.append((mask, np.asarray(lab, float)))
    corners = pitch = None
    if card is not None:
        scene, corners, pitch = draw_card(scene, card)
    if decoy_grid:
        rng = np.random.default_rng(seed + 99)
        step = width // 16
        for index in range(24):
            row, column = divmod(index, 6)
            x0, y0 = int(0.55 * width) + column * step, int(0.55 * height) + row * step
            scene[y0 : y0 + int(step * 0.85), x0 : x0 + int(step * 0.85)] = rng.uniform(0.03, 0.8, 3)
    if shadow is not None:
        x_start, strength = shadow
        ramp = np.clip((np.arange(width) / width - x_start) / 0.05, 0, 1).astype(np.float32)
        scene = scene * (1 - strength * ramp)[None, :, None]
    return Scene(scene.astype(np.float32), truth, corners, pitch)


@dataclass
class Lesion:
    """A treated area: an irregular ellipse of core colour ``lab`` blended into the skin.

    centre and radii are fractions of the frame width; softness is the edge width as a fraction of
    the radius (0 = sharp); the true area is where the blend is at least one half.
    """

    centre: tuple = (0.5, 0.5)
    radii: tuple = (0.08, 0.06)
    lab: tuple = (55.0, 25.0, 18.0)
    softness: float = 0.2
    angle_deg: float = 0.0
    irregularity: float = 0.08
    mottle: float = 0.02  # relative variation inside (ink and scars are not flat)
    seed: int = 0


def lesion_alpha(width, height, lesion):
    """Blend weight (0..1) of a lesion over the frame; >= 0.5 is the true treated area."""
    rng = np.random.default_rng(lesion.seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = lesion.centre[0] * width, lesion.centre[1] * height
    angle = np.deg2rad(lesion.angle_deg)
    dx, dy = xs - cx, ys - cy
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    rx, ry = lesion.radii[0] * width, lesion.radii[1] * width
    theta = np.arctan2(v / ry, u / rx)
    wobble = np.zeros_like(theta)
    for harmonic in (2, 3, 5):
        wobble += np.cos(harmonic * theta + rng.uniform(0, 2 * np.pi)) / harmonic
    rho = np.sqrt((u / rx) ** 2 + (v / ry) ** 2) / (1 + lesion.irregularity * wobble)
    if lesion.softness <= 0:
        return (rho <= 1).astype(np.float32)
    t = np.clip((rho - (1 - lesion.softness / 2)) / lesion.softness, 0, 1)
    return (1 - (3 * t**2 - 2 * t**3)).astype(np.float32)


def add_lesions(scene, lesions):
    """Blend lesions into a Scene in place; returns the list of (alpha, truth mask) per lesion."""
    height, width = scene.linear.shape[:2]
    out = []
    for lesion in lesions:
        alpha = lesion_alpha(width, height, lesion)
        colour = lab_to_linear(lesion.lab).astype(np.float32)
        if lesion.mottle:
            rng = np.random.default_rng(lesion.seed + 7)
            small = rng.standard_normal((max(2, height // 24), max(2, width // 24))).astype(np.float32)
            texture = 1 + lesion.mottle * cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
            colour = colour * texture[..., None]
        scene.linear = scene.linear * (1 - alpha[..., None]) + colour * alpha[..., None]
        out.append((alpha, alpha >= 0.5))
    return out


def add_pores(linear, density=0.003, depth=0.15, seed=0):
    """Small dark dots (pores, follicles), 1-2 px, multiplied into the scene."""
    rng = np.random.default_rng(seed + 31)
    height, width = linear.shape[:2]
    count = int(density * height * width)
    shade = np.ones((height, width), np.float32)
    for x, y, r in zip(rng.integers(0, width, count), rng.integers(0, height, count), rng.integers(1, 3, count)):
        cv2.circle(shade, (int(x), int(y)), int(r), 1 - depth, -1, lineType=cv2.LINE_AA)
    return linear * shade[..., None]


def add_hair(linear, count=12, lab=(22.0, 6.0, 8.0), width_px=2, seed=0, region=None):
    """Dark hairs: gently curved anti-aliased strokes across the frame (or inside ``region`` x0,y0,x1,y1)."""
    rng = np.random.default_rng(seed + 53)
    height, width = linear.shape[:2]
    x0, y0, x1, y1 = region if region is not None else (0, 0, width, height)
    layer = np.zeros((height, width), np.float32)
    for _ in range(count):
        start = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
        direction = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(0.15, 0.35) * (x1 - x0)
        bend = rng.uniform(-0.6, 0.6)
        points = []
        for t in np.linspace(0, 1, 20):
            angle = direction + bend * t
            points.append(start + length * t * np.array([np.cos(angle), np.sin(angle)]))
        cv2.polylines(layer, [np.round(np.array(points) * 4).astype(np.int32)], False, 1.0, width_px, cv2.LINE_AA, shift=2)
    colour = lab_to_linear(lab).astype(np.float32)
    return linear * (1 - layer[..., None]) + colour * layer[..., None]


def region_truth(linear, true_mask, ring=(0.25, 0.75)):
    """True median L*a*b* of a treated area and of a ring of skin around it (0.25-0.75 of the area's
    equivalent radius), computed on the scene itself (before hair and camera)."""
    lab = linear_to_lab(linear)
    radius = np.sqrt(true_mask.sum() / np.pi)
    distance = cv2.distanceTransform((~true_mask).astype(np.uint8), cv2.DIST_L2, 5)
    ring_mask = (distance > ring[0] * radius) & (distance <= ring[1] * radius)
    return np.median(lab[true_mask], axis=0), np.median(lab[ring_mask], axis=0)


def loose_box(true_mask, scale=1.4):
    """A box (x, y, w, h) around the true area, ``scale`` times its extent each way."""
    ys, xs = np.nonzero(true_mask)
    cx, cy = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2
    w, h = (xs.max() - xs.min()) * scale, (ys.max() - ys.min()) * scale
    return (int(cx - w / 2), int(cy - h / 2), int(w), int(h))


def pose(rotation_deg=0.0, scale=1.0, shift=(0.0, 0.0), perspective=(0.0, 0.0), centre=(0.0, 0.0)):
    """A homography: rotate and scale about ``centre`` (pixels), shift (pixels), tilt (perspective terms)."""
    cx, cy = centre
    angle = np.deg2rad(rotation_deg)
    to_origin = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], float)
    similar = np.array(
        [[scale * np.cos(angle), -scale * np.sin(angle), 0], [scale * np.sin(angle), scale * np.cos(angle), 0], [0, 0, 1]]
    )
    back = np.array([[1, 0, cx + shift[0]], [0, 1, cy + shift[1]], [0, 0, 1]], float)
    tilt = np.array([[1, 0, 0], [0, 1, 0], [perspective[0], perspective[1], 1]], float)
    return back @ tilt @ similar @ to_origin


def view(body_linear, homography, size):
    """Photograph a body (a larger linear scene) through a pose: out(x) = body(H^-1 x)."""
    return cv2.warpPerspective(
        body_linear, homography, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    ).astype(np.float32)


# --- what real photos have around the area: background, padding, patterns, line-work -----------------


def limb_mask(width, height, top=0.3, bottom=0.75, bend=0.04, seed=0):
    """A limb crossing the frame left to right: rows between ``top`` and ``bottom`` (fractions of the
    height), its outline gently curved by up to ``bend`` of the height. Returns a boolean mask."""
    rng = np.random.default_rng(seed + 71)
    xs = np.arange(width) / width
    phase = rng.uniform(0, 2 * np.pi, 2)
    upper = (top + bend * np.sin(2 * np.pi * xs + phase[0])) * height
    lower = (bottom + bend * np.sin(2 * np.pi * xs * 0.7 + phase[1])) * height
    ys = np.arange(height)[:, None]
    return (ys >= upper[None, :]) & (ys <= lower[None, :])


def add_backdrop(linear, body, lab, texture=0.03, seed=0):
    """Everything outside ``body`` (a boolean mask) becomes a backdrop of colour ``lab``: a wall, a
    floor or clothing, with its own low-frequency shading. Returns the new linear scene."""
    height, width = linear.shape[:2]
    backdrop = skin_background(width, height, lab, seed=seed + 13, texture=texture)
    return np.where(body[..., None], linear, backdrop).astype(np.float32)


def add_chequer(linear, region, size_px, lab_a, lab_b):
    """A chequered floor (squares of ``size_px`` in two colours) over the boolean mask ``region``."""
    height, width = linear.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    odd = ((xs // size_px + ys // size_px) % 2).astype(bool)
    floor = np.where(odd[..., None], lab_to_linear(lab_a), lab_to_linear(lab_b)).astype(np.float32)
    return np.where(region[..., None], floor, linear).astype(np.float32)


def add_padding(photo, left=0, top=0, right=0, bottom=0):
    """Black bars (value 0) over the edges of an 8-bit photo, as a cropped or letter-boxed photo has."""
    padded = photo.copy()
    height, width = padded.shape[:2]
    padded[:top] = 0
    padded[height - bottom :] = 0
    padded[:, :left] = 0
    padded[:, width - right :] = 0
    return padded


def add_line_work(linear, region, lab=(28.0, 1.0, -2.0), width_px=2, count=10, length=(0.3, 0.8), seed=0,
                  direction=None):
    """Fine-line ink (or microblading strokes): straight anti-aliased lines of ``width_px`` inside
    ``region`` (x0, y0, x1, y1 pixels), each ``length`` (fractions of the region's width) long, at
    random angles or all near ``direction`` degrees (strokes of a brow run one way). Returns the scene
    and the truth mask of the lines (coverage ≥ 1/2)."""
    rng = np.random.default_rng(seed + 97)
    height, width = linear.shape[:2]
    x0, y0, x1, y1 = region
    layer = np.zeros((height, width), np.float32)
    for _ in range(count):
        angle = np.deg2rad(rng.uniform(0, 180) if direction is None else direction + rng.uniform(-12, 12))
        size = rng.uniform(*length) * (x1 - x0)
        centre = np.array([rng.uniform(x0 + size / 3, x1 - size / 3), rng.uniform(y0 + 0.1 * (y1 - y0), y1 - 0.1 * (y1 - y0))])
        offset = 0.5 * size * np.array([np.cos(angle), np.sin(angle)])
        start = np.clip(centre - offset, [x0, y0], [x1, y1])
        end = np.clip(centre + offset, [x0, y0], [x1, y1])
        cv2.line(layer, tuple(np.round(start * 4).astype(int)), tuple(np.round(end * 4).astype(int)), 1.0, width_px,
                 cv2.LINE_AA, shift=2)
    colour = lab_to_linear(lab).astype(np.float32)
    return linear * (1 - layer[..., None]) + colour * layer[..., None], layer >= 0.5
