"""The demo measurements shipped with the sample photos equal what the pipeline gives today."""

import json
import math
import subprocess
import sys

import pytest

from skinscan import demo
from skinscan.store import Store


def _differences(shipped, measured, path="", tolerance=0.02):
    """Where two JSON trees differ: numbers beyond ``tolerance`` (absolute, or relative for large
    values), other values unequal; outlines are compared by their bounding boxes (±2 px)."""
    if path.endswith("outline"):
        def bounds(polygons):
            points = [p for polygon in polygons for p in polygon]
            return [min(x for x, _ in points), min(y for _, y in points), max(x for x, _ in points),
                    max(y for _, y in points)] if points else []
        return _differences(bounds(shipped), bounds(measured), path + "(bounds)", tolerance=2)
    if isinstance(shipped, dict) and isinstance(measured, dict):
        if shipped.keys() != measured.keys():
            return [f"{path}: keys {sorted(shipped.keys() ^ measured.keys())}"]
        return [d for key in shipped for d in _differences(shipped[key], measured[key], f"{path}.{key}", tolerance)]
    if isinstance(shipped, list) and isinstance(measured, list):
        if len(shipped) != len(measured):
            return [f"{path}: {len(shipped)} items vs {len(measured)}"]
        return [d for i, (a, b) in enumerate(zip(shipped, measured)) for d in _differences(a, b, f"{path}[{i}]", tolerance)]
    numbers = (int, float)
    if isinstance(shipped, numbers) and isinstance(measured, numbers) and not isinstance(shipped, bool):
        if not math.isclose(shipped, measured, rel_tol=1e-3, abs_tol=tolerance):
            return [f"{path}: shipped {shipped} vs measured {measured}"]
        return []
    return [] if shipped == measured else [f"{path}: shipped {shipped!r} vs measured {measured!r}"]


def test_shipped_demo_record_matches_the_pipeline():
    shipped = demo.shipped_visits()
    assert shipped is not None, "sample_images/demo_record.json is missing or made from other photos: " \
                                "run python -m skinscan.demo"
    # Measured in a fresh process, as `python -m skinscan.demo` made the record: registration draws
    # from OpenCV's and the C library's random generators, whose state depends on what this test
    # process ran before (seen: 40 vs 43 inliers after tests/test_batch.py's in-process runs).
    fresh = subprocess.run([sys.executable, "-c", "import json; from skinscan import demo; "
                            "print(json.dumps(demo.demo_visits()))"], capture_output=True, text=True, check=True)
    measured = json.loads(fresh.stdout)
    differences = _differences(shipped, measured)
    assert not differences, ("the shipped demo record no longer matches the pipeline (run python -m "
                             "skinscan.demo): " + "; ".join(differences[:8]))


def test_the_comparison_helper_sees_a_changed_number():
    shipped = demo.shipped_visits()
    changed = json.loads(json.dumps(shipped))
    changed[0]["visits"][1]["measurements"][0]["result"]["contrast"]["delta_a"] += 0.5
    assert any("delta_a" in d for d in _differences(shipped, changed))
    changed[0]["visits"][1]["measurements"][0]["result"]["contrast"]["delta_a"] -= 0.5
    assert not _differences(shipped, changed)


def test_seeding_uses_the_shipped_record_and_measures_when_it_does_not_fit(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(demo, "demo_visits", lambda samples, progress=None: calls.append(samples) or [])
    with Store(tmp_path / "a") as store:
        client = demo.seed_demo(store)
        areas = store.areas(client)
        assert [a["name"] for a in areas] == [name for name, _ in demo.DEMO_AREAS]
        assert sum(len(store.visits(a["id"])) for a in areas) == sum(len(files) for _, files in demo.DEMO_AREAS)
        assert demo.seed_demo(store) is None  # not empty any more
    assert not calls
    # Photos that are not the ones measured (a sample image re-rendered): measure them, never trust the file.
    samples = tmp_path / "samples"
    samples.mkdir()
    for path in demo.SAMPLES.iterdir():
        (samples / path.name).write_bytes(path.read_bytes())
    (samples / "brow_year2.jpg").write_bytes((demo.SAMPLES / "brow_year1.jpg").read_bytes())
    assert demo.shipped_visits(samples) is None
    with Store(tmp_path / "b") as store:
        demo.seed_demo(store, samples)
    assert calls == [samples]


@pytest.mark.parametrize("index", [0, 2])
def test_shipped_visits_keep_the_series_order_and_dates(index):
    area = demo.shipped_visits()[index]
    taken = [visit["taken"] for visit in area["visits"]]
    assert taken == sorted(taken) and all(taken)
    assert [v["file"] for v in area["visits"]] == list(demo.DEMO_AREAS[index][1])
