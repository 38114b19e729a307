"""Rendered visit pairs with known truth: the same skin photographed twice, re-posed and re-lit, with
the treated area faded (or its redness settled) by a known amount.

A "body" (skin, pores, hairs, the lesion) is rendered larger than the photo; each visit photographs it
through its own pose (rotation, scale, perspective, shift), with its own card placement and camera.
The true baseline -> follow-up mapping is pose_followup · pose_baseline⁻¹.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from scene import (
    Camera, CardPlacement, Lesion, add_hair, add_lesions, add_pores, draw_card, lab_to_linear, lesion_alpha,
    linear_to_lab, loose_box, pose, region_truth, render_scene, skin_background, view,
)
from skinscan import color

PHOTO = (800, 600)
BODY = (1300, 1000)


@dataclass
class VisitPair:
    baseline: np.ndarray  # uint8 photos
    followup: np.ndarray
    roi: tuple  # loose box in the baseline
    true_homography: np.ndarray  # baseline px -> follow-up px
    true_fade_percent: float
    true_delta_a: tuple  # (baseline, follow-up)
    true_area_change_percent: float
    true_treated_lab: tuple  # (baseline, follow-up) medians over the true areas
    true_delta_e00: tuple  # (baseline, follow-up)


def _mix(lab_a, lab_b, fraction_b):
    mix = (1 - fraction_b) * lab_to_linear(lab_a) + fraction_b * lab_to_linear(lab_b)
    return tuple(float(v) for v in linear_to_lab(mix))


def _body(skin, lesion, seed):
    body = render_scene(*BODY, background_lab=skin, card=None, seed=seed)
    (_, true_mask), = add_lesions(body, [lesion])
    body.linear = add_pores(body.linear, density=0.006, depth=0.2, seed=seed)
    truth = region_truth(body.linear, true_mask)
    body.linear = add_hair(body.linear, count=25, seed=seed)
    return body.linear, true_mask, truth


def visit_pair(index, fade=0.5, skin=(62.0, 12.0, 17.0), lesion_lab=None, spread=1.0, fade_to=None, upscale=1,
               softness=(0.3, 0.3)):
    """One re-posed, re-lit pair; ``fade`` is the fraction of the lesion's colour difference gone
    (blend towards the skin in linear light, or towards ``fade_to`` for a colour drift); ``spread``
    scales the lesion's radii at follow-up; ``upscale`` enlarges both photos (and the truth mapping)
    by a whole factor after capture, for benchmarks at 12 megapixels; ``softness`` is the edge softness
    (fraction of the radius) at baseline and follow-up."""
    rng = np.random.default_rng(500 + index)
    seed = 500 + index
    lesion_lab = lesion_lab or (skin[0] - 4.0, skin[1] + 10.0, skin[2] + 1.0)
    base_lesion = Lesion(centre=(0.5, 0.5), radii=(0.07, 0.055), lab=lesion_lab, softness=softness[0], seed=seed)
    follow_lesion = Lesion(
        centre=(0.5, 0.5), radii=(0.07 * spread, 0.055 * spread), lab=_mix(lesion_lab, fade_to or skin, fade),
        softness=softness[1], seed=seed,
    )
    body_b, mask_b, (treated_b, reference_b) = _body(skin, base_lesion, seed)
    body_f, mask_f, (treated_f, reference_f) = _body(skin, follow_lesion, seed)
    centre = (BODY[0] / 2, BODY[1] / 2)
    to_photo = np.array([[1, 0, PHOTO[0] / 2 - centre[0]], [0, 1, PHOTO[1] / 2 - centre[1]], [0, 0, 1]], float)
    pose_b = to_photo @ pose(rotation_deg=rng.uniform(-5, 5), centre=centre, shift=(rng.uniform(40, 80), 30))
    scale_f = rng.uniform(0.8, 1.25)
    pose_f = to_photo @ pose(
        rotation_deg=rng.uniform(-20, 20), scale=scale_f, centre=centre,
        shift=(rng.uniform(20, 90), rng.uniform(-10, 40)), perspective=(rng.uniform(-1e-4, 1e-4), rng.uniform(-1e-4, 1e-4)),
    )
    photos = []
    # The card lies on the skin: it is as much nearer or further as the skin between the visits.
    for body, body_pose, card_centre, card_scale, camera in (
        (body_b, pose_b, (0.2, 0.25), 1.0, Camera(cct=5200, white_balance=0.7, seed=seed)),
        (body_f, pose_f, (0.2, 0.75) if index % 2 else (0.78, 0.22), scale_f,
         Camera(cct=float(rng.uniform(3200, 6800)), white_balance=0.6, seed=seed + 1, exposure=float(rng.uniform(0.75, 0.95)))),
    ):
        scene = view(body, body_pose, PHOTO)
        placement = CardPlacement(centre=card_centre, width_fraction=0.24 * card_scale, rotation_deg=rng.uniform(-30, 30))
        scene, _, _ = draw_card(scene, placement)
        photos.append(camera.capture(scene))
    true_mask_b = cv2.warpPerspective(mask_b.astype(np.uint8), pose_b, PHOTO, flags=cv2.INTER_NEAREST).astype(bool)
    zoom = np.diag([upscale, upscale, 1.0])
    if upscale != 1:
        photos = [cv2.resize(photo, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC) for photo in photos]
        true_mask_b = cv2.resize(true_mask_b.astype(np.uint8), None, fx=upscale, fy=upscale,
                                 interpolation=cv2.INTER_NEAREST).astype(bool)
    de_b = float(color.delta_e_ciede2000(treated_b, reference_b))
    de_f = float(color.delta_e_ciede2000(treated_f, reference_f))
    return VisitPair(
        baseline=photos[0],
        followup=photos[1],
        roi=loose_box(true_mask_b, 1.4),
        true_homography=zoom @ pose_f @ np.linalg.inv(pose_b) @ np.linalg.inv(zoom),
        true_fade_percent=100 * (1 - de_f / de_b),
        true_delta_a=(float(treated_b[1] - reference_b[1]), float(treated_f[1] - reference_f[1])),
        true_area_change_percent=100 * (mask_f.sum() / mask_b.sum() - 1),
        true_treated_lab=(treated_b, treated_f),
        true_delta_e00=(de_b, de_f),
    )


# --- registration scenes: a limb over a patterned background -----------------------------------------

LIMB_PHOTO = (640, 480)
LIMB_BODY = (1000, 800)


@dataclass
class LimbPair:
    """Two photos of one limb over a background that moves on its own, with the true mapping."""

    baseline: np.ndarray  # uint8 photos
    followup: np.ndarray
    roi: tuple  # loose box around the area in the baseline
    true_homography: np.ndarray  # baseline px -> follow-up px, exact on the limb around the area
    true_fade_percent: float


def _tiles(width, height, seed, tile=48):
    """A patterned floor: grey and blue tiles with speckles and grout (strong, repeated features)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    chequer = ((xs // tile + ys // tile) % 2).astype(np.float32)
    floor = np.where(chequer[..., None] > 0, lab_to_linear((75.0, -2.0, -12.0)), lab_to_linear((35.0, 1.0, -8.0)))
    grout = ((xs % tile) < 3) | ((ys % tile) < 3)
    floor[grout] = lab_to_linear((90.0, 0.0, 2.0))
    speckle = rng.random((height, width)) < 0.01
    floor[speckle] *= 0.4
    return floor.astype(np.float32)


def _bend(photo_linear, centre, radius, angle_deg):
    """Bend the limb beyond ``radius`` of ``centre`` (photo pixels): points turn about the centre by an
    angle growing from 0 at ``radius`` to ``angle_deg`` at twice it (a joint near the area)."""
    height, width = photo_linear.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    dx, dy = xs - centre[0], ys - centre[1]
    distance = np.sqrt(dx**2 + dy**2)
    turn = np.deg2rad(angle_deg) * np.clip((distance - radius) / radius, 0, 1)
    # Inverse map: the output pixel at angle a comes from the input at angle a - turn.
    cos, sin = np.cos(-turn), np.sin(-turn)
    map_x = (centre[0] + cos * dx - sin * dy).astype(np.float32)
    map_y = (centre[1] + sin * dx + cos * dy).astype(np.float32)
    return cv2.remap(photo_linear, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def limb_pair(kind, seed=0, fade=0.4):
    """A rendered visit pair for registration tests.

    kind : "background" (the tiled floor moves differently from the limb), "bent" (the limb bends at a
        joint just beyond the area's surroundings), "closer" (follow-up taken twice as close), "dark"
        (dark skin, L* 35, half the pores at lower contrast and fewer hairs: little texture).
    The limb is a band of skin (pores, hairs, a lesion faded by ``fade`` at follow-up) across a tiled
    floor; each photo sees the limb through its own pose and the floor through another.
    """
    rng = np.random.default_rng(900 + seed)
    skin = (35.0, 11.0, 16.0) if kind == "dark" else (64.0, 12.0, 17.0)
    lesion_lab = (skin[0] - 12.0, skin[1] + 2.0, skin[2] - 2.0)
    pores = dict(density=0.003, depth=0.15) if kind == "dark" else dict(density=0.006, depth=0.2)
    bodies = []
    truth = []
    for visit_fade in (0.0, fade):
        lesion = Lesion(centre=(0.5, 0.5), radii=(0.06, 0.045), lab=_mix(lesion_lab, skin, visit_fade),
                        softness=0.3, seed=seed)
        body = render_scene(*LIMB_BODY, background_lab=skin, card=None, seed=seed)
        (_, mask), = add_lesions(body, [lesion])
        body.linear = add_pores(body.linear, seed=seed, **pores)
        truth.append(region_truth(body.linear, mask))
        body.linear = add_hair(body.linear, count=10 if kind == "dark" else 25, seed=seed)
        bodies.append(body.linear)
    # The limb: a band 55 % of the body's height, tilted.
    limb = np.zeros(LIMB_BODY[::-1], np.uint8)
    cx, cy = LIMB_BODY[0] / 2, LIMB_BODY[1] / 2
    half = 0.275 * LIMB_BODY[1]
    band = np.array([[-LIMB_BODY[0], -half], [LIMB_BODY[0], -half], [LIMB_BODY[0], half], [-LIMB_BODY[0], half]])
    angle = np.deg2rad(15)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    cv2.fillConvexPoly(limb, np.round(band @ rotation.T + [cx, cy]).astype(np.int32), 1)
    floor = _tiles(*LIMB_BODY, seed=seed)
    to_photo = np.array([[1, 0, LIMB_PHOTO[0] / 2 - cx], [0, 1, LIMB_PHOTO[1] / 2 - cy], [0, 0, 1]], float)
    scale_f = 2.0 if kind == "closer" else float(rng.uniform(0.85, 1.15))
    pose_b = to_photo @ pose(rotation_deg=rng.uniform(-5, 5), centre=(cx, cy), shift=(rng.uniform(-20, 20), 0))
    pose_f = to_photo @ pose(rotation_deg=rng.uniform(-15, 15), scale=scale_f, centre=(cx, cy),
                             shift=(rng.uniform(-30, 30), rng.uniform(-20, 20)),
                             perspective=(rng.uniform(-8e-5, 8e-5), rng.uniform(-8e-5, 8e-5)))
    floor_poses = (to_photo @ pose(shift=(0, 0)), to_photo @ pose(rotation_deg=rng.uniform(10, 25),
                                                                  shift=(rng.uniform(60, 120), rng.uniform(-80, -40))))
    photos = []
    for index, (body, body_pose, floor_pose) in enumerate(zip(bodies, (pose_b, pose_f), floor_poses)):
        seen = view(body, body_pose, LIMB_PHOTO)
        on_limb = cv2.warpPerspective(limb, body_pose, LIMB_PHOTO, flags=cv2.INTER_LINEAR).astype(np.float32)[..., None]
        if kind == "bent" and index == 1:
            centre_f = cv2.perspectiveTransform(np.array([[[cx, cy]]]), pose_f)[0, 0]
            seen = _bend(seen, centre_f, radius=0.3 * LIMB_PHOTO[0], angle_deg=12.0)
            on_limb = _bend(on_limb, centre_f, radius=0.3 * LIMB_PHOTO[0], angle_deg=12.0)[..., None]
        scene = seen * on_limb + view(floor, floor_pose, LIMB_PHOTO) * (1 - on_limb)
        camera = Camera(cct=5200 if index == 0 else float(rng.uniform(4000, 6500)), white_balance=0.7,
                        seed=seed + 10 * index, exposure=0.9 if index == 0 else float(rng.uniform(0.75, 0.95)))
        photos.append(camera.capture(scene.astype(np.float32)))
    lesion_b = cv2.warpPerspective((lesion_alpha(*LIMB_BODY, Lesion(centre=(0.5, 0.5), radii=(0.06, 0.045), seed=seed))
                                    >= 0.5).astype(np.uint8), pose_b, LIMB_PHOTO, flags=cv2.INTER_NEAREST).astype(bool)
    de_b = float(color.delta_e_ciede2000(*truth[0]))
    de_f = float(color.delta_e_ciede2000(*truth[1]))
    return LimbPair(photos[0], photos[1], loose_box(lesion_b, 1.5), pose_f @ np.linalg.inv(pose_b),
                    100 * (1 - de_f / de_b))


# --- reference skin hidden at follow-up: a sleeve over the shaded side --------------------------------


def hidden_reference_pair(seed=0, sleeve="below_right", light_falloff=0.5):
    """An unchanged tattoo on a body lit from the left, photographed twice under the same light; at
    the follow-up a sleeve hides part of the skin around the area.

    sleeve : "below_right" (the skin below and right of the area: most of the baseline's reference
        ring still shows) or "all_but_left" (all but a band of skin left of the area: too little of
        the baseline's ring shows, the follow-up falls back to its own).
    The light falls off linearly from left to right across the area's surroundings (to
    ``1 - light_falloff`` over 4 radii): the skin left of the area is lighter than the skin right of
    it. Returns a LimbPair (true fade 0: the same tattoo under the same light).
    """
    rng = np.random.default_rng(1200 + seed)
    skin, ink = (66.0, 12.0, 17.0), (34.0, 3.0, -2.0)
    lesion = Lesion(centre=(0.5, 0.5), radii=(0.06, 0.045), lab=ink, softness=0.2, mottle=0.0, seed=seed)
    body = render_scene(*LIMB_BODY, background_lab=skin, card=None, seed=seed)
    add_lesions(body, [lesion])
    linear = add_pores(body.linear, density=0.006, depth=0.2, seed=seed)
    linear = add_hair(linear, count=25, seed=seed)
    cx, cy = LIMB_BODY[0] / 2, LIMB_BODY[1] / 2
    radius_x, radius_y = lesion.radii[0] * LIMB_BODY[0], lesion.radii[1] * LIMB_BODY[0]
    columns = (np.arange(LIMB_BODY[0], dtype=np.float32) - (cx - 2 * radius_x)) / (4 * radius_x)
    light = 1 - light_falloff * np.clip(columns, 0, 1)
    linear = (linear * light[None, :, None]).astype(np.float32)
    # The sleeve, in body coordinates, just beyond the area's edge.
    ys, xs = np.mgrid[0 : LIMB_BODY[1], 0 : LIMB_BODY[0]]
    hidden = (ys > cy + 1.15 * radius_y) | (xs > cx + 1.15 * radius_x)
    if sleeve == "all_but_left":
        hidden |= ys < cy - 1.15 * radius_y
    fabric = add_pores(skin_background(*LIMB_BODY, (30.0, 2.0, -18.0), seed=seed + 5, texture=0.1),
                       density=0.01, depth=0.3, seed=seed + 6)
    covered = np.where(hidden[..., None], fabric, linear).astype(np.float32)
    to_photo = np.array([[1, 0, LIMB_PHOTO[0] / 2 - cx], [0, 1, LIMB_PHOTO[1] / 2 - cy], [0, 0, 1]], float)
    pose_b = to_photo @ pose(rotation_deg=rng.uniform(-5, 5), centre=(cx, cy))
    pose_f = to_photo @ pose(rotation_deg=rng.uniform(-10, 10), scale=float(rng.uniform(0.9, 1.1)), centre=(cx, cy),
                             shift=(rng.uniform(-30, 30), rng.uniform(-20, 20)))
    photos = [Camera(cct=5200, white_balance=0.7, seed=seed + 10 * index).capture(view(scene, body_pose, LIMB_PHOTO))
              for index, (scene, body_pose) in enumerate(((linear, pose_b), (covered, pose_f)))]
    lesion_b = cv2.warpPerspective((lesion_alpha(*LIMB_BODY, lesion) >= 0.5).astype(np.uint8), pose_b, LIMB_PHOTO,
                                   flags=cv2.INTER_NEAREST).astype(bool)
    return LimbPair(photos[0], photos[1], loose_box(lesion_b, 1.5), pose_f @ np.linalg.inv(pose_b), 0.0)


def filled_frame_pair(seed=0, shadow=0.35, outside=-5):
    """An unchanged tattoo that fills the baseline's frame but for a sliver of skin at its top-left
    corner, seen again from further away (the skin all round it in view); at the follow-up a shadow
    (``shadow``: the fraction of light lost at its centre) falls on that sliver's skin only. ``outside``:
    how far (px) the baseline's frame starts outside the ink's top-left corner (-5: inside it, only the
    corner's skin in view; 10 or 20: strips of skin along the top and left too). Returns a LimbPair
    (true fade 0: the same ink, and the skin around it under the same light but for the shadow).
    """
    rng = np.random.default_rng(1300 + seed)
    skin, ink = (64.0, 13.0, 17.0), (33.0, 3.0, 2.0)
    body = render_scene(*LIMB_BODY, background_lab=skin, card=None, seed=seed).linear
    # The ink: a 650 x 550 rectangle whose top-left corner is rounded off (a circle of radius 300 px).
    x0, y0, x1, y1, radius = 250, 150, 900, 700, 300
    ys, xs = np.mgrid[0 : LIMB_BODY[1], 0 : LIMB_BODY[0]].astype(np.float32)
    inside = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
    corner = (xs < x0 + radius) & (ys < y0 + radius) & (np.hypot(xs - x0 - radius, ys - y0 - radius) > radius)
    alpha = cv2.GaussianBlur((inside & ~corner).astype(np.float32), (0, 0), 2.0)[..., None]
    body = ((1 - alpha) * body + alpha * lab_to_linear(ink)).astype(np.float32)
    body = add_hair(add_pores(body, density=0.006, depth=0.2, seed=seed), count=25, seed=seed)
    # The baseline's frame starts 5 px inside the ink's top-left corner: its only skin is the rounded-off
    # corner. The follow-up's shadow is centred on that corner's tip.
    origin = (x0 - outside, y0 - outside)
    shade = 1 - shadow * np.exp(-((xs - origin[0] - 30) ** 2 + (ys - origin[1] - 30) ** 2) / (2 * 40.0**2))
    shaded = (body * shade[..., None]).astype(np.float32)
    pose_b = np.array([[1, 0, -origin[0]], [0, 1, -origin[1]], [0, 0, 1]], float)
    # The follow-up is taken from further away, the whole tattoo and the skin round it in view.
    centre = (0.5 * (x0 + x1), 0.5 * (y0 + y1))
    to_photo = np.array([[1, 0, LIMB_PHOTO[0] / 2 - centre[0]], [0, 1, LIMB_PHOTO[1] / 2 - centre[1]], [0, 0, 1]],
                        float)
    pose_f = to_photo @ pose(rotation_deg=rng.uniform(-6, 6), scale=float(rng.uniform(0.55, 0.62)), centre=centre,
                             shift=(rng.uniform(-20, 20), rng.uniform(-15, 15)))
    photos = [Camera(cct=5200, white_balance=0.7, seed=seed + 10 * index).capture(view(scene, body_pose, LIMB_PHOTO))
              for index, (scene, body_pose) in enumerate(((body, pose_b), (shaded, pose_f)))]
    ink_b = cv2.warpPerspective((alpha[..., 0] >= 0.5).astype(np.uint8), pose_b, LIMB_PHOTO,
                                flags=cv2.INTER_NEAREST).astype(bool)
    return LimbPair(photos[0], photos[1], loose_box(ink_b, 1.0), pose_f @ np.linalg.inv(pose_b), 0.0)
