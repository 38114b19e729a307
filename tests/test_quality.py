"""Capture-quality verdict rules, on a real calibration with one fact changed at a time."""

import dataclasses

import numpy as np
import pytest

from scene import Camera, CardPlacement, render_scene
from skinscan import calibrate
from skinscan.quality import card_quality


@pytest.fixture(scope="module")
def good():
    scene = render_scene(1000, 750, card=CardPlacement(width_fraction=0.35), seed=31)
    result = calibrate(Camera(seed=31, exposure=0.8).capture(scene.linear))
    assert result.quality.verdict == "good", result.quality.reasons
    return result


def test_no_card_means_retake():
    verdict = card_quality(None, None)
    assert verdict.verdict == "retake" and "no colour card" in verdict.reasons[0]


def test_small_card_means_usable_then_retake(good):
    small = dataclasses.replace(good.reading, pitch_px=18.0)
    assert card_quality(small, good.fit).verdict == "usable"
    tiny = dataclasses.replace(good.reading, pitch_px=9.0)
    verdict = card_quality(tiny, good.fit)
    assert verdict.verdict == "retake" and any("too small" in r for r in verdict.reasons)


def test_high_residual_means_retake(good):
    residual = good.fit.residual_de00.copy()
    residual[good.fit.usable] = 4.0
    verdict = card_quality(good.reading, dataclasses.replace(good.fit, residual_de00=residual))
    assert verdict.verdict == "retake" and any("residual" in r for r in verdict.reasons)


def test_clipped_patches_and_clipped_photo_mean_usable(good):
    clipped = np.zeros(24, bool)
    clipped[18] = True
    verdict = card_quality(dataclasses.replace(good.reading, clipped=clipped), good.fit)
    assert verdict.verdict == "usable" and any("clipped" in r and "19" in r for r in verdict.reasons)
    assert card_quality(good.reading, good.fit, photo_clipped_fraction=0.05).verdict == "usable"
