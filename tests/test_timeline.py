"""A series of visits in date order, and redness that persists past the expected 48 hours."""

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from skinscan import InputError, timeline
from skinscan.cli import run

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
TRUTH = json.loads((SAMPLES / "truth.json").read_text())
ROI = tuple(TRUTH["needling_day0.jpg"]["roi"])
DAYS = [SAMPLES / f"needling_day{day}.jpg" for day in range(3)]


def test_photos_are_put_in_exif_date_order_and_compared_with_the_first():
    series = timeline([DAYS[2], DAYS[0], DAYS[1]], roi=ROI, chart="mini24")
    rows = [visit.row() for visit in series.visits]
    assert [Path(r["photo"]).name for r in rows] == ["needling_day0.jpg", "needling_day1.jpg", "needling_day2.jpg"]
    assert [r["hours_since_first"] for r in rows] == [0.0, 24.0, 48.0]
    # Redness settles: Δa* falls visit after visit, and resolution rises (truth: 9.9 -> 4.9 -> 1.9).
    assert rows[0]["delta_a"] > rows[1]["delta_a"] > rows[2]["delta_a"]
    assert rows[1]["redness_resolution_percent"] == pytest.approx(100 * (1 - 4.90 / 9.87), abs=8)
    assert not series.persistent_redness


def test_a_photo_that_cannot_be_measured_does_not_end_the_series(monkeypatch):
    """One follow-up refused for a reason other than its alignment (far too dark, the area off the photo)
    is listed without numbers, with its reason; the others are measured (a review: one very dark photo
    ended the whole series)."""
    from skinscan import pipeline

    compare, calls = pipeline.compare, []

    def refusing_day1(baseline, followup, **options):
        calls.append(followup)
        if len(calls) == 1:  # the series' second photo (day 1) is compared first
            raise InputError("the treated area falls (partly) outside the follow-up photo")
        return compare(baseline, followup, **options)

    monkeypatch.setattr(pipeline, "compare", refusing_day1)
    series = timeline(DAYS, roi=ROI, chart="mini24")
    rows = [visit.row() for visit in series.visits]
    assert rows[1]["error"] == "the treated area falls (partly) outside the follow-up photo"
    assert rows[1]["delta_a"] is None and rows[1]["fade_percent"] is None and rows[1]["aligned"]
    assert rows[2]["delta_a"] is not None and rows[2]["fade_percent"] is not None and rows[2]["error"] == ""
    assert any("could not be measured against the first" in w and "needling_day1.jpg" in w for w in series.warnings)


def test_redness_still_present_after_48_hours_is_flagged():
    start = datetime(2026, 10, 5, 10, 30)
    series = timeline([DAYS[0], DAYS[1]], roi=ROI, chart="mini24", dates=[start, start + timedelta(hours=72)])
    assert series.visits[1].persistent_redness and series.persistent_redness
    assert any("refer" in w for w in series.warnings)
    settled = timeline([DAYS[0], DAYS[2]], roi=ROI, chart="mini24", dates=[start, start + timedelta(hours=72)])
    assert not settled.persistent_redness
    early = timeline([DAYS[0], DAYS[1]], roi=ROI, chart="mini24", dates=[start, start + timedelta(hours=24)])
    assert not early.persistent_redness  # still red, but within the expected window


def test_the_delta_a_line_is_called_redness_only_when_the_area_started_redder_than_its_skin():
    """A fading ink's Δa* rises from below 0 towards 0: a line called "redness" would show redness rising."""
    from skinscan import constants, report

    fading_ink = [{"delta_a": -6.0}, {"delta_a": -3.5}, {"delta_a": -1.0}]
    settling_redness = [{"delta_a": 9.0}, {"delta_a": 4.0}, {"delta_a": 0.5}]
    assert report.delta_a_line_name(fading_ink) == report.RED_GREEN_LINE
    assert report.delta_a_line_name(settling_redness) == report.REDNESS_LINE
    assert report.delta_a_line_name([{"delta_a": None}]) == report.REDNESS_LINE
    # The same bound as "no redness at baseline" (redness resolution not defined): noise at 0 is not red.
    assert report.delta_a_name(0.3) == report.RED_GREEN_LINE
    assert report.delta_a_name(constants.REDNESS_MIN_DELTA_A) == report.REDNESS_LINE
    assert "redness" not in report.RED_GREEN_LINE


def test_photo_without_a_date_needs_dates(tmp_path):
    undated = tmp_path / "undated.png"
    from PIL import Image

    Image.open(DAYS[1]).save(undated)
    with pytest.raises(InputError, match="--dates"):
        timeline([DAYS[0], undated], roi=ROI, chart="mini24")


def test_cli_timeline_csv(capsys):
    code = run(["timeline", *map(str, DAYS), "--roi", ",".join(map(str, ROI)), "--chart", "mini24", "--csv"])
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 3 and rows[0]["fade_percent"] == "" and float(rows[2]["fade_percent"]) > 50


def test_cli_timeline_bad_dates_exit_2(capsys):
    assert run(["timeline", *map(str, DAYS[:2]), "--roi", ",".join(map(str, ROI)), "--dates", "yesterday,today"]) == 2
    assert "--dates" in capsys.readouterr().err
