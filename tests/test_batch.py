"""`skinscan batch`: a task per photo over the same pipeline, serially and on a real Dask LocalCluster."""

import csv
import io
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from skinscan import InputError, analyze
from skinscan.batch import (
    MANIFEST_COLUMNS,
    BatchItem,
    Progress,
    input_hash,
    items_from_manifest,
    json_path,
    local_cluster,
    measure_item,
    run_batch,
)
from skinscan.cli import run
from skinscan.demo import DEMO_AREAS
from skinscan.io import load_mask
from skinscan.store import Store

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
TRUTH = json.loads((SAMPLES / "truth.json").read_text())
REAL_SKIN = Path(__file__).resolve().parents[2] / "shared" / "real_skin"
REAL_TATTOOS = ("102_1", "10_2", "105_1")
REAL_WOUNDS = ("0113.png", "0156.png")


def _link(target, link):
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


@pytest.fixture(scope="session")
def batch_folder(tmp_path_factory):
    """A manifest over a sample series (an analysis, two comparisons), the card check (calibration),
    broken files and a box outside its photo (error rows) and, when shared/ is there, real photos
    with their boxes and expert masks."""
    folder = tmp_path_factory.mktemp("batch")
    rows = []
    for name in ("needling_day0.jpg", "needling_day1.jpg", "needling_day2.jpg"):
        _link(SAMPLES / name, folder / "samples" / name)
        taken = TRUTH[name]["taken"]
        rows.append({"photo": f"samples/{name}", "roi": ",".join(map(str, TRUTH[name]["roi"])), "chart": "mini24",
                     "client": "Series", "area": "cheek", "date": taken[:10].replace(":", "-") + "T" + taken[11:16]})
    _link(SAMPLES / "card_check.jpg", folder / "samples" / "card_check.jpg")
    rows.append({"photo": "samples/card_check.jpg"})
    _link(SAMPLES / "card_check.jpg", folder / "samples" / "outside.jpg")
    rows.append({"photo": "samples/outside.jpg", "roi": "5000,5000,20,20"})
    (folder / "broken").mkdir()
    (folder / "broken" / "empty.jpg").write_bytes(b"")
    (folder / "broken" / "text.jpg").write_text("not a photo")
    data = (SAMPLES / "scar_session1.jpg").read_bytes()
    (folder / "broken" / "truncated.jpg").write_bytes(data[: len(data) // 3])
    rows += [{"photo": f"broken/{n}", "roi": "10,10,50,50"} for n in ("empty.jpg", "text.jpg", "truncated.jpg", "gone.jpg")]
    if REAL_SKIN.is_dir():
        for stem in REAL_TATTOOS:
            x1, y1, x2, y2 = map(int, (REAL_SKIN / "tattoo" / "boxes" / f"{stem}.txt").read_text().split()[:4])
            photo = next((REAL_SKIN / "tattoo" / "images").glob(f"{stem}.*"))
            _link(photo, folder / "real" / "tattoo" / photo.name)
            rows.append({"photo": f"real/tattoo/{photo.name}", "roi": f"{x1},{y1},{x2 - x1},{y2 - y1}"})
        for name in REAL_WOUNDS:
            _link(REAL_SKIN / "wound" / "images" / name, folder / "real" / "wound" / name)
            _link(REAL_SKIN / "wound" / "labels" / name, folder / "real" / "wound-labels" / name)
            rows.append({"photo": f"real/wound/{name}", "mask": f"real/wound-labels/{name}"})
    with open(folder / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return folder


@pytest.fixture(scope="session")
def serial_run(batch_folder):
    items = items_from_manifest(batch_folder / "manifest.csv")
    return items, run_batch(items, batch_folder / "serial", progress=False)


@pytest.fixture(scope="session")
def dask_client():
    """One real LocalCluster (2 worker processes) for the session."""
    client = local_cluster(2)
    yield client
    cluster = client.cluster
    client.close()
    cluster.close()


@pytest.fixture(scope="session")
def cluster_run(batch_folder, dask_client):
    items = items_from_manifest(batch_folder / "manifest.csv")
    return run_batch(items, batch_folder / "cluster", client=dask_client, progress=False)


def _without_time(rows):
    return [{key: value for key, value in row.items() if key != "seconds"} for row in rows]


def _outcome(folder, item):
    data = json.loads(json_path(folder, item).read_text())
    data["outcome"].pop("seconds")
    data["row"].pop("seconds")
    return data


def test_local_cluster_gives_the_serial_results(batch_folder, serial_run, cluster_run):
    items, serial = serial_run
    assert _without_time(cluster_run) == _without_time(serial)
    for item in items:  # the whole per-photo JSON too, not only the flattened row
        assert _outcome(batch_folder / "cluster", item) == _outcome(batch_folder / "serial", item)
    assert pq.read_table(batch_folder / "cluster" / "results.parquet").drop(["seconds"]).equals(
        pq.read_table(batch_folder / "serial" / "results.parquet").drop(["seconds"]))


def test_rows_hold_the_pipeline_numbers(batch_folder, serial_run):
    items, rows = serial_run
    by_photo = {row["photo"]: row for row in rows}
    kinds = {row["photo"]: row["kind"] for row in rows}
    assert kinds["samples/needling_day0.jpg"] == "analysis" and kinds["samples/card_check.jpg"] == "calibration"
    assert kinds["samples/needling_day1.jpg"] == kinds["samples/needling_day2.jpg"] == "comparison"
    assert by_photo["samples/needling_day2.jpg"]["baseline"] == "samples/needling_day0.jpg"
    # Flattened fields are the command's JSON fields ...
    for item in items[:3]:
        outcome = _outcome(batch_folder / "serial", item)["outcome"]
        row = by_photo[item.key]
        analysis = outcome["result"]["followup"] if outcome["kind"] == "comparison" else outcome["result"]
        assert row["contrast_delta_a"] == analysis["contrast"]["delta_a"]
        assert row["treated_lab_a"] == analysis["treated"]["lab"][1] and row["card_found"] is True
        if outcome["kind"] == "comparison":
            assert row["fade_percent"] == outcome["result"]["fade_percent"]
            assert row["registration_ok"] == outcome["result"]["registration"]["ok"]
    # ... and they measure what was rendered (sample truth, the tolerance of test_samples.py).
    day0 = by_photo["samples/needling_day0.jpg"]
    assert day0["contrast_delta_a"] == pytest.approx(TRUTH["needling_day0.jpg"]["delta_a"], abs=1.5)
    assert day0["contrast_delta_l"] == pytest.approx(TRUTH["needling_day0.jpg"]["delta_l"], abs=1.5)
    # Redness resolves over the series: day 2 keeps less of day 0's Δa* than day 1 did.
    day1, day2 = by_photo["samples/needling_day1.jpg"], by_photo["samples/needling_day2.jpg"]
    assert 0 < day1["redness_resolution_percent"] < day2["redness_resolution_percent"]


def test_errors_are_rows_with_one_line_reasons(serial_run):
    _, rows = serial_run
    errors = {row["photo"]: row["error"] for row in rows if row["status"] == "error" and not row["photo"].startswith("real/")}
    assert set(errors) == {"samples/outside.jpg", "broken/empty.jpg", "broken/text.jpg", "broken/truncated.jpg",
                           "broken/gone.jpg"}
    assert "empty" in errors["broken/empty.jpg"] and "no such file" in errors["broken/gone.jpg"]
    assert all("\n" not in e and "Traceback" not in e and not e.startswith("internal error") for e in errors.values())
    assert all(row["status"] == "ok" for row in rows if row["photo"].startswith("samples/") and row["photo"] not in errors)


def test_real_photos_are_measured_as_analyze_measures_them(batch_folder, serial_run):
    """Real photos without a card (boxes and expert wound masks): uncalibrated rows, the numbers
    `skinscan analyze` gives, and where the pipeline refuses a photo, a row with its one-line reason."""
    if not REAL_SKIN.is_dir():
        pytest.skip(f"{REAL_SKIN} not available")
    items, rows = serial_run
    real = [(item, row) for item, row in zip(items, rows) if row["photo"].startswith("real/")]
    assert len(real) == len(REAL_TATTOOS) + len(REAL_WOUNDS)
    measured = [(item, row) for item, row in real if row["status"] == "ok"]
    assert any("/tattoo/" in row["photo"] for _, row in measured) and any("/wound/" in row["photo"] for _, row in measured)
    assert all(row["card_found"] is False and "not colour-calibrated" in row["warnings"] for _, row in measured)
    assert all(not row["error"].startswith("internal") for _, row in real if row["status"] == "error")
    for item, row in (measured[0], measured[-1]):  # a tattoo with a box, a wound with its mask
        direct = analyze(item.photo, roi=item.roi, mask=load_mask(item.mask) if item.mask else None).to_dict()
        assert row["contrast_delta_l"] == direct["contrast"]["delta_l"]
        assert row["contrast_delta_a"] == direct["contrast"]["delta_a"]
        assert row["treated_pixels"] == direct["treated"]["pixels"]


def test_csv_and_parquet_hold_the_same_table(batch_folder, serial_run):
    _, rows = serial_run
    with open(batch_folder / "serial" / "results.csv", newline="") as handle:
        from_csv = list(csv.DictReader(handle))
    table = pq.read_table(batch_folder / "serial" / "results.parquet")
    assert table.num_rows == len(from_csv) == len(rows)
    assert table.column_names == list(from_csv[0].keys())
    assert str(table.schema.field("contrast_delta_a").type) == "double"
    assert str(table.schema.field("card_found").type) == "bool"
    for row, line in zip(table.to_pylist(), from_csv):
        for key, value in row.items():
            text = line[key]
            if value is None:
                assert text == ""
            elif isinstance(value, float):
                assert float(text) == pytest.approx(value, rel=1e-12)
            else:
                assert text == str(value)


def test_a_rerun_skips_what_is_done_and_redoes_what_changed(batch_folder, serial_run):
    items, rows = serial_run
    folder = batch_folder / "resumed"
    shutil.copytree(batch_folder / "serial", folder)
    progress = Progress(len(items), stream=io.StringIO())  # counts the photos measured in this run
    assert run_batch(items, folder, progress=progress) == rows and progress.done == 0
    changed = [replace(item, roi=(520, 380, 120, 90)) if item.key == "samples/card_check.jpg" else item
               for item in items]
    assert input_hash(changed[3]) != input_hash(items[3])
    progress = Progress(len(items), stream=io.StringIO())
    redone = run_batch(changed, folder, progress=progress)
    assert progress.done == 1 and redone[3]["kind"] == "analysis" and redone[:3] == rows[:3]


def test_progress_shows_rate_and_time_left():
    stream = io.StringIO()
    progress = Progress(4, skipped=1, stream=stream, every=0)
    for _ in range(3):
        progress.update(error=_ == 0)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("batch: 2/4 photos (50 %), 1 already done") and "photos/s" in lines[0]
    assert "left" in lines[0] and "1 error" in lines[0]
    assert lines[-1].startswith("batch: 4/4 photos (100 %)") and "left" not in lines[-1]


def test_import_an_archive_into_the_record(tmp_path, capsys):
    """Folder per client and area; dates from EXIF; a re-run imports nothing twice."""
    archive = tmp_path / "archive"
    for name in ("brow_year0.jpg", "brow_year1.jpg"):
        _link(SAMPLES / name, archive / "Anna Example" / "left brow" / name)
    (archive / "Anna Example" / "left brow" / "notes.txt").write_text("not a photo")
    _link(SAMPLES / "card_check.jpg", archive / ".hidden" / "x" / "card_check.jpg")
    data, out = tmp_path / "data", tmp_path / "out"
    command = ["--data", str(data), "batch", str(archive), "--out", str(out), "--serial", "--import",
               "--roi", ",".join(map(str, TRUTH["brow_year0.jpg"]["roi"])), "--chart", "mini24", "--json"]
    assert run(command) == 0
    assert json.loads(capsys.readouterr().out) == {
        "photos": 2, "ok": 2, "errors": 0, "csv": str(out / "results.csv"), "parquet": str(out / "results.parquet")}
    assert run(command) == 0
    with Store(data) as store:
        [client] = store.clients()
        [area] = store.areas(client["id"])
        visits = store.visits(area["id"])
        assert (client["name"], area["name"]) == ("Anna Example", "left brow")
        assert [v["taken"][:10] for v in visits] == ["2024-06-20", "2025-06-20"]  # from EXIF
        assert [[m["kind"] for m in v["photos"][0]["measurements"]] for v in visits] == [
            ["analysis"], ["analysis", "comparison"]]
        first = visits[0]["photos"][0]["measurements"][0]["result"]
        assert first["roi"] == TRUTH["brow_year0.jpg"]["roi"] and first["outline"]
        # The comparison names the stored photo it was made against (the timeline checks it is still first).
        assert visits[1]["photos"][0]["measurements"][1]["result"]["baseline_file"] == visits[0]["photos"][0]["file"]
        assert store.check() == []


def test_a_comparison_that_failed_is_recorded_as_tried(tmp_path, monkeypatch):
    """Issue 9: a photo whose comparison with its series' first photo failed was imported with its analysis
    only, and the timeline called it "not aligned (other skin?)"; the record now says it was tried, why it
    failed and whether the alignment was refused (here it was not: the area fell outside the photo)."""
    from skinscan import pipeline
    from skinscan.batch import BatchItem, import_photo, measure_item
    from skinscan.store import stored_file_name

    outside = "the treated area falls (partly) outside the follow-up photo"

    def fail(*args, **kwargs):
        raise InputError(outside)

    monkeypatch.setattr(pipeline, "compare", fail)
    first, second = (BatchItem(photo=str(SAMPLES / name), key=name, roi=tuple(TRUTH[name]["roi"]), chart="mini24",
                               client="Anna", area="left brow") for name in ("brow_year0.jpg", "brow_year1.jpg"))
    item = replace(second, baseline=first)
    outcome = measure_item(item)
    assert outcome["kind"] == "analysis" and outcome["error"] is None
    assert outcome["warnings"] == [f"not compared with brow_year0.jpg: {outside}"]
    with Store(tmp_path / "data") as store:
        ids = import_photo(store, item, outcome)
        [photo] = store.visit(ids["visit_id"])["photos"]
    saved = {m["kind"]: m["result"] for m in photo["measurements"]}
    assert saved["analysis"]["roi"] == TRUTH["brow_year1.jpg"]["roi"]
    assert saved["comparison"] == {"aligned": False, "alignment_refused": False, "error": outside,
                                   "baseline_file": stored_file_name((SAMPLES / "brow_year0.jpg").read_bytes())}


def test_cli_batch_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("photo,colour\nx.jpg,red\n")
    (tmp_path / "date.csv").write_text("photo,date\nx.jpg,yesterday\n")
    (tmp_path / "box.csv").write_text("photo,roi\nx.jpg,\"1,2,3\"\n")
    (tmp_path / "empty").mkdir()
    for source, words in (("bad.csv", "unknown: colour"), ("date.csv", "line 2: date"), ("box.csv", "four numbers"),
                          ("empty", "no photos"), ("missing", "neither a folder")):
        assert run(["batch", str(tmp_path / source), "--out", str(tmp_path / "out"), "--serial"]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    (tmp_path / "file").write_text("x")
    assert run(["batch", str(SAMPLES), "--out", str(tmp_path / "file"), "--serial"]) == 2
    assert "not a folder" in capsys.readouterr().err
    with pytest.raises(InputError, match="unknown"):
        items_from_manifest(tmp_path / "bad.csv")


def test_sample_manifest_matches_the_truth():
    items = items_from_manifest(SAMPLES / "manifest.csv")
    assert sorted(item.key for item in items) == sorted(TRUTH)
    area_of = {name: area for area, names in DEMO_AREAS for name in names}
    for item in items:
        truth = TRUTH[item.key]
        assert item.roi == (tuple(truth["roi"]) if "roi" in truth else None)
        assert item.chart == truth.get("chart", "classic24") and item.area == area_of.get(item.key)
        if "taken" in truth:
            assert item.date.replace("-", ":").replace("T", " ") == truth["taken"]


def test_cli_sends_the_batch_to_an_existing_scheduler(tmp_path, capsys, dask_client):
    """`--scheduler ADDRESS`: the tasks run on a cluster the command did not start (and leaves running)."""
    (tmp_path / "manifest.csv").write_text(f"photo\n{SAMPLES / 'card_check.jpg'}\n")
    address = dask_client.scheduler.address
    assert run(["batch", str(tmp_path / "manifest.csv"), "--out", str(tmp_path / "out"), "--scheduler", address,
                "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] == 1
    [row] = pq.read_table(tmp_path / "out" / "results.parquet").to_pylist()
    assert row["kind"] == "calibration" and row["card_found"] is True
    assert dask_client.submit(sum, [1, 2]).result() == 3  # the cluster still serves


def test_a_new_result_format_remeasures(serial_run, monkeypatch):
    """A batch's cached results were measured by an older pipeline when RESULT_FORMAT moved on: their
    input hash differs, so a re-run measures them again."""
    from skinscan import batch

    items, _ = serial_run
    current = input_hash(items[0])
    monkeypatch.setattr(batch, "RESULT_FORMAT", batch.RESULT_FORMAT - 1)
    assert input_hash(items[0]) != current


def test_an_area_given_as_a_mask_is_saved_as_such(tmp_path):
    """A manifest row with a mask and a chosen patch is saved as the app saves an outline: the record keeps
    ``measured_on_outline`` and the patch, so the app compares later visits over that area and patch (a
    review found the batch's records said neither)."""
    import cv2
    import numpy as np

    truth = json.loads((SAMPLES / "truth.json").read_text())["needling_day0.jpg"]
    x, y, w, h = truth["roi"]
    mask = np.zeros((720, 960), np.uint8)
    mask[y : y + h, x : x + w // 2] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    item = BatchItem(photo=str(SAMPLES / "needling_day0.jpg"), key="day0.jpg", roi=(x, y, w, h),
                     mask=str(tmp_path / "mask.png"), reference_roi=(700, 100, 120, 80), chart="mini24")
    outcome = measure_item(item)
    assert outcome["error"] is None, outcome["error"]
    saved = outcome["records"][0]["result"]
    assert saved["measured_on_outline"] is True and saved["reference_roi"] == [700, 100, 120, 80]
    boxed = measure_item(replace(item, mask=None, reference_roi=None))["records"][0]["result"]
    assert "measured_on_outline" not in boxed and "reference_roi" not in boxed
