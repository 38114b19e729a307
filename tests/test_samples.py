"""The bundled demo photos measure as their truth.json says (they are what a new user first sees)."""

import json
from pathlib import Path

import pytest

from skinscan import analyze, calibrate

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
TRUTH = json.loads((SAMPLES / "truth.json").read_text())
VISITS = sorted(name for name, record in TRUTH.items() if "roi" in record)


def test_card_check_calibrates_well():
    result = calibrate(SAMPLES / "card_check.jpg")
    assert result.found and result.quality.verdict == "good"


@pytest.mark.parametrize("name", VISITS)
def test_sample_visit_matches_its_truth(name):
    """A sanity check of the demo data (accuracy itself is asserted in test_analyze.py): within 1.5."""
    record = TRUTH[name]
    analysis = analyze(SAMPLES / name, roi=tuple(record["roi"]), chart=record["chart"])
    assert analysis.calibration.found and analysis.calibration.quality.verdict == "good"
    if any("does not stand out" in w for w in analysis.warnings):
        # Settled almost completely: the whole box is measured, and it reads as even skin.
        assert analysis.contrast.pigmentation == "even" and abs(record["delta_a"]) < 2.5
        return
    assert analysis.contrast.delta_l == pytest.approx(record["delta_l"], abs=1.5)
    assert analysis.contrast.delta_a == pytest.approx(record["delta_a"], abs=1.5)
    assert analysis.treated.pixels == pytest.approx(record["true_area_px"], rel=0.15)
