"""Card detection and colour correction on rendered scenes with known truth, and on real photos.

Ground truth: tests/scene.py renders the 2014 ColorChecker and skin-coloured surfaces of known
CIE L*a*b*, photographs them with a camera model (illuminant 2900-7200 K, partial white balance,
cross-talk, S-curve, noise, JPEG), and knows where every patch lies.
"""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from scene import Camera, CardPlacement, render_scene
from skinscan import calibrate as calibrate_photo
from skinscan import card, color
from skinscan.calibrate import fit_correction
from skinscan.cli import run

# Skin-coloured surfaces from very light to dark (ITA from about 60 to -40 degrees), L*a*b* D65.
SKIN_LABS = [
    (75.0, 8.0, 14.0),
    (66.0, 13.0, 17.0),
    (58.0, 16.0, 22.0),
    (48.0, 17.0, 24.0),
    (38.0, 14.0, 20.0),
    (28.0, 10.0, 13.0),
    (55.0, 24.0, 18.0),  # erythematous
]
SURFACES = [
    (0.62 + 0.12 * (i % 3), 0.08 + 0.2 * (i // 3), 0.1, 0.15, lab) for i, lab in enumerate(SKIN_LABS)
]

# (camera, card placement, frame size): colour casts, rotations, perspective, mirror, small cards.
SCENES = {
    "daylight_square": (Camera(cct=6500, white_balance=0.9), CardPlacement(), (1200, 900)),
    "tungsten_weak_wb": (
        Camera(cct=2900, white_balance=0.3, seed=1),
        CardPlacement(rotation_deg=23, perspective=0.12),
        (1200, 900),
    ),
    "shade_blue_cast": (
        Camera(cct=7200, white_balance=0.0, contrast=0.35, seed=2),
        CardPlacement(rotation_deg=-70, perspective=0.2, centre=(0.3, 0.5)),
        (1200, 900),
    ),
    "fluorescent_upside_down": (
        Camera(cct=4000, white_balance=0.6, seed=3, jpeg_quality=80),
        CardPlacement(rotation_deg=180),
        (1200, 900),
    ),
    "portrait_mirrored": (
        Camera(cct=5000, white_balance=0.7, seed=4),
        CardPlacement(rotation_deg=90, mirrored=True, centre=(0.3, 0.5), width_fraction=0.4),
        (1200, 900),
    ),
    "small_card_8_percent": (
        Camera(cct=5500, white_balance=0.8, seed=5, noise=0.002),
        CardPlacement(width_fraction=0.08, rotation_deg=12, perspective=0.1, centre=(0.25, 0.3)),
        (3000, 2250),
    ),
    "small_card_tilted_warm": (
        Camera(cct=3400, white_balance=0.5, seed=6),
        CardPlacement(width_fraction=0.12, rotation_deg=-140, perspective=0.25, centre=(0.3, 0.6)),
        (2400, 1800),
    ),
}


def _photograph(name):
    camera, placement, (width, height) = SCENES[name]
    scene = render_scene(width, height, card=placement, surfaces=SURFACES, seed=camera.seed)
    return scene, camera.capture(scene.linear)


def _photograph_and_calibrate(name):
    scene, photo = _photograph(name)
    return name, (scene, photo, calibrate_photo(photo))


@pytest.fixture(scope="module")
def calibrated_scenes():
    # Two scenes at a time (the card detector leaves a core idle); each scene has its own seed.
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(_photograph_and_calibrate, SCENES))


@pytest.mark.parametrize("name", sorted(SCENES))
def test_chart_found_with_patches_in_order(calibrated_scenes, name):
    scene, _, result = calibrated_scenes[name]
    assert result.found, result.warnings
    true_centres = card.cv2.perspectiveTransform(
        card.CHART_CENTRES[None], card.chart_homography(scene.chart_corners)
    )[0]
    # Every patch centre, in chart order, within a fifth of a pitch of where it truly is.
    error = np.linalg.norm(result.reading.centres - true_centres, axis=1) / scene.chart_pitch_px
    assert error.max() < 0.2, error.round(3)
    grid = true_centres.reshape(4, 6, 2)
    true_pitch = np.mean(
        np.concatenate([np.linalg.norm(np.diff(grid, axis=a), axis=2).ravel() for a in (0, 1)])
    )
    assert result.reading.pitch_px == pytest.approx(true_pitch, rel=0.03)


def test_skin_surfaces_recovered_within_median_0_8_de00(calibrated_scenes):
    """Median over all surfaces and scenes <= 0.8 CIEDE2000 (the issue's bar); as a guard against one
    catastrophic surface, none worse than 2.5 (the worst seen: 2.1, JPEG q80 with white clipped)."""
    errors = {}
    for name, (scene, photo, result) in calibrated_scenes.items():
        for index, (mask, lab) in enumerate(scene.truth_regions):
            corrected = result.corrected_linear(result.photo.rgb[mask])
            measured = np.median(color.linear_srgb_to_lab(corrected), axis=0)
            errors[(name, index)] = float(color.delta_e_ciede2000(measured, lab))
    values = np.array(list(errors.values()))
    assert np.median(values) <= 0.8, errors
    assert values.max() <= 2.5, {k: round(v, 2) for k, v in errors.items() if v > 2.5}


def test_uncorrected_photo_is_far_from_truth_so_the_test_can_fail(calibrated_scenes):
    """The camera model really distorts: without the correction the same surfaces are far off."""
    scene, photo, result = calibrated_scenes["tungsten_weak_wb"]
    mask, lab = scene.truth_regions[1]
    raw = np.median(color.linear_srgb_to_lab(color.srgb_to_linear(result.photo.rgb[mask])), axis=0)
    assert color.delta_e_ciede2000(raw, lab) > 8


def test_leave_one_out_residual_is_honest(calibrated_scenes):
    """The reported residual is not the fit's own loss: it exceeds the in-sample error."""
    _, _, result = calibrated_scenes["shade_blue_cast"]
    fit = result.fit
    in_sample = color.delta_e_ciede2000(
        color.linear_srgb_to_lab(fit.correction.to_linear(result.reading.patch_srgb)),
        color.chart_reference_lab_d65(),
    )
    assert fit.mean_residual > np.mean(in_sample[fit.usable])
    assert fit.mean_residual < 1.5


@pytest.mark.parametrize(
    "kind", ["skin_only", "decoy_grid"],
)
def test_no_card_reported_in_scenes_without_one(kind):
    scene = render_scene(card=None, surfaces=SURFACES, decoy_grid=(kind == "decoy_grid"), seed=11)
    result = calibrate_photo(Camera(seed=11).capture(scene.linear))
    assert not result.found
    assert result.to_dict()["card"]["found"] is False
    assert result.quality.verdict == "retake"
    assert any("no colour card" in warning for warning in result.warnings)


def test_partly_shadowed_card_is_found_in_order():
    placement = CardPlacement(centre=(0.35, 0.4), width_fraction=0.35)
    scene = render_scene(card=placement, surfaces=SURFACES, shadow=(0.42, 0.35), seed=12)
    result = calibrate_photo(Camera(seed=12).capture(scene.linear))
    assert result.found
    true_centres = card.cv2.perspectiveTransform(
        card.CHART_CENTRES[None], card.chart_homography(scene.chart_corners)
    )[0]
    assert (np.linalg.norm(result.reading.centres - true_centres, axis=1) / scene.chart_pitch_px).max() < 0.2


def test_manual_corners_in_any_order_give_the_detected_result(calibrated_scenes):
    scene, photo, detected = calibrated_scenes["tungsten_weak_wb"]
    shuffled = scene.chart_corners[[2, 0, 3, 1]]
    manual = calibrate_photo(photo, corners=shuffled)
    assert manual.found and manual.reading.method == "manual"
    assert np.abs(manual.reading.corners - scene.chart_corners).max() < 0.03 * scene.chart_pitch_px
    assert np.allclose(manual.reading.patch_srgb, detected.reading.patch_srgb, atol=0.01)


def test_corners_outside_the_photo_exit_2(tmp_path, capsys):
    scene, photo = _photograph("daylight_square")
    path = tmp_path / "photo.png"
    card.cv2.imwrite(str(path), photo[..., ::-1])
    assert run(["calibrate", str(path), "--corners", "10,10,5000,10,5000,800,10,800"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "outside" in err[0]


def test_fit_recovers_an_exactly_known_camera():
    """Noise-free patches from a camera the model can represent: residual near zero."""
    reference = color.chart_reference_linear_srgb()
    camera = np.array([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]]) * [1.2, 1.0, 0.7]
    encoded = color.linear_to_srgb(np.clip((reference @ camera.T) * 0.8, 0, 1)) ** 1.1
    fit = fit_correction(encoded, np.ones(24, bool))
    assert fit.mean_residual < 0.6


def test_cli_json_follows_the_contract_and_writes_images(tmp_path, capsys):
    scene, photo = _photograph("fluorescent_upside_down")
    path = tmp_path / "photo.jpg"
    card.cv2.imwrite(str(path), photo[..., ::-1], [card.cv2.IMWRITE_JPEG_QUALITY, 95])
    out = tmp_path / "out"
    assert run(["calibrate", str(path), "--json", "--out", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"card", "quality", "warnings"}
    card_info = result["card"]
    assert set(card_info) == {"found", "chart", "corners", "patches", "patch_rgb", "residual_de00", "px_per_mm"}
    assert card_info["found"] and card_info["chart"] == "classic24"
    assert np.array(card_info["corners"]).shape == (4, 2)
    assert np.array(card_info["patches"]).shape == (24, 2)
    assert np.array(card_info["patch_rgb"]).shape == (24, 3)
    assert len(card_info["residual_de00"]["per_patch"]) == 24
    # px_per_mm from the chart's pitch: the scene's pitch over the Classic's 43.3 mm pitch.
    assert card_info["px_per_mm"] == pytest.approx(scene.chart_pitch_px / (38.1 / 0.88), rel=0.03)
    assert result["quality"]["verdict"] in {"good", "usable"}
    assert (out / "corrected.png").exists() and (out / "card.png").exists()


def test_cli_human_summary(tmp_path, capsys):
    _, photo = _photograph("daylight_square")
    path = tmp_path / "photo.png"
    card.cv2.imwrite(str(path), photo[..., ::-1])
    assert run(["calibrate", str(path)]) == 0
    text = capsys.readouterr().out
    assert "card: classic24 found" in text and "quality:" in text


# --- real photos (shared/real_cards) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["arcu_classic_1.jpg", "arcu_classic_2.jpg", "arcu_mini_1.jpg", "arcu_mini_2.jpg",
             "ccdetector_small_card.jpg"],
)
def test_real_cards_found_in_order(real_card, name):
    result = calibrate_photo(real_card(name))
    assert result.found
    # Right way round: the fitted chart explains the colours (a wrong order leaves residuals > 10).
    assert result.fit.mean_residual < 4.0
    srgb = result.reading.patch_srgb
    # Patch 1 (dark skin) is darker and redder than patch 2 (light skin); white brighter than black.
    assert srgb[0].sum() < srgb[1].sum() and srgb[0][0] > srgb[0][2]
    assert srgb[18].sum() > srgb[23].sum() * 2


def test_real_photo_without_card_reports_none(real_card):
    result = calibrate_photo(real_card("arcu_no_card.jpg"))
    assert not result.found


def test_real_partly_covered_card_does_not_trust_covered_patches(real_card):
    result = calibrate_photo(real_card("plantcv_partial_card.png"))
    if result.found:
        covered = [7, 8, 13, 14, 19, 20]  # under the leaf
        assert not result.fit.usable[[n - 1 for n in covered]].any()
        assert result.quality.verdict in {"usable", "retake"}
