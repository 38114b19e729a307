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
    Camera, CardPlacement, Lesion, add_hair, add_lesions, add_pores, draw_card, lab_to_linear, linear_to_lab,
    loose_box, pose, region_truth, render_scene, view,
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
