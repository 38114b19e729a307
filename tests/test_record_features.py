"""What practitioners expect of the record: edit and delete visits and photos (erased, audited),
treatment details per visit (schema v2, migrated from v1), a photo added to a saved visit, and an
export whose names are readable, unique and never run as formulas."""

import csv
import io
import json
import sqlite3
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skinscan import InputError
from skinscan.store import MIGRATIONS, Store, csv_safe

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"


def _png(seed):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _analysis(delta_a):
    return [{"kind": "analysis", "result": {"contrast": {"delta_a": delta_a, "delta_l": -1.0}}}]


@pytest.fixture
def record(tmp_path):
    store = Store(tmp_path / "record")
    client = store.add_client("=HYPERLINK(\"http://x\")")
    area = store.add_area(client, "left brow")
    yield store, client, area
    store.close()


def test_treatment_details_are_kept_validated_and_edited(record):
    store, _, area = record
    treatment = {"procedure": "microblading", "needle_depth_mm": "0.4", "pigment_brand": "Brand X",
                 "pigment_colour": "", "laser_wavelength_nm": None}
    visit = store.save_visit(area, datetime(2026, 10, 5, 10), [{"data": _png(1)}], notes="first", treatment=treatment)
    saved = store.visit(visit)
    # Numbers become numbers, empty fields are dropped.
    assert saved["treatment"] == {"procedure": "microblading", "needle_depth_mm": 0.4, "pigment_brand": "Brand X"}
    with pytest.raises(InputError, match="unknown treatment detail"):
        store.update_visit(visit, treatment={"colour": "red"})
    with pytest.raises(InputError, match="must be a number"):
        store.update_visit(visit, treatment={"fluence_j_cm2": "strong"})
    # Said with the field's own label, not its key; 500 µm in a field in mm is refused, not read as 500 mm.
    with pytest.raises(InputError, match=r"^Needle depth \(mm\) must be a number"):
        store.update_visit(visit, treatment={"needle_depth_mm": "500 µm"})
    # A comma that may be a thousands separator is not guessed at (1064 nm is not stored as 1.064 nm).
    with pytest.raises(InputError, match="1064, not 1,064"):
        store.update_visit(visit, treatment={"laser_wavelength_nm": "1,064 nm"})
    # A decimal comma and the field's unit after the number are read as typed.
    store.update_visit(visit, treatment={"fluence_j_cm2": "3,5 J/cm²", "laser_wavelength_nm": "1064 nm"})
    assert store.visits(area)[0]["treatment"] == {"fluence_j_cm2": 3.5, "laser_wavelength_nm": 1064.0}
    store.update_visit(visit, taken="2026-10-06T09:00:00", notes="second look",
                       treatment={"procedure": "laser", "laser_wavelength_nm": 1064, "fluence_j_cm2": 3.5})
    edited = store.visits(area)[0]
    assert edited["taken"] == "2026-10-06T09:00:00" and edited["notes"] == "second look"
    assert edited["treatment"] == {"procedure": "laser", "laser_wavelength_nm": 1064.0, "fluence_j_cm2": 3.5}
    edits = [e for e in store.audit() if e["action"] == "edit visit"]
    assert len(edits) == 2 and "taken, notes, treatment changed" in edits[1]["detail"]
    assert "laser" not in edits[1]["detail"]  # which fields, never their (possibly personal) values
    store.update_visit(visit, notes="second look")  # nothing changed: nothing logged
    assert len([e for e in store.audit() if e["action"] == "edit visit"]) == 2


def test_a_version_1_record_is_migrated_with_its_visits(tmp_path):
    folder = tmp_path / "old"
    (folder / "photos").mkdir(parents=True)
    db = sqlite3.connect(folder / "skinscan.sqlite3")
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO clients (name, created) VALUES ('Old', 'x')")
    db.execute("INSERT INTO areas (client_id, name, created) VALUES (1, 'scar', 'x')")
    db.execute("INSERT INTO visits (area_id, taken, notes, created) VALUES (1, '2025-01-01', 'kept', 'x')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Store(folder) as store:
        assert store.schema_version == len(MIGRATIONS) == 2
        [visit] = store.visits(1)
        assert visit["notes"] == "kept" and visit["treatment"] == {}


def test_add_a_photo_to_a_visit_then_delete_photo_and_visit(record):
    store, _, area = record
    first = store.save_visit(area, "2026-10-05T10:00:00", [{"data": _png(2), "measurements": _analysis(5.0)}])
    second = store.save_visit(area, "2026-11-05T10:00:00", [{"data": _png(3), "measurements": _analysis(2.0)}])
    added = store.add_photo_to_visit(first, _png(4), consent="clinical+marketing", measurements=_analysis(4.0))
    visit = store.visit(first)
    assert [p["id"] for p in visit["photos"]][-1] == added
    assert visit["photos"][-1]["consent"] == "clinical+marketing"
    assert visit["photos"][-1]["measurements"][0]["result"]["contrast"]["delta_a"] == 4.0
    with pytest.raises(InputError):
        store.add_photo_to_visit(first, b"not a photo")
    with pytest.raises(InputError):
        store.add_photo_to_visit(9999, _png(5))
    assert len([p for p in store.photos_folder.iterdir() if p.is_file()]) == 3  # nothing left by the failures (the .staging folder aside)

    # A re-measure replaces the photo's measurements.
    store.update_photo(added, measurements=_analysis(3.5), consent="clinical")
    photo = store.visit(first)["photos"][-1]
    assert photo["consent"] == "clinical" and [m["result"]["contrast"]["delta_a"] for m in photo["measurements"]] == [3.5]

    added_file = photo["file"]
    store.delete_photo(added)
    assert [len(v["photos"]) for v in store.visits(area)] == [1, 1]
    assert not (store.photos_folder / added_file).exists()  # the data is erased, not only unlinked
    with pytest.raises(InputError, match="only photo"):
        store.delete_photo(store.visit(second)["photos"][0]["id"])

    second_file = store.visit(second)["photos"][0]["file"]
    store.delete_visit(second)
    assert [v["id"] for v in store.visits(area)] == [first]
    assert not (store.photos_folder / second_file).exists()
    assert store._connection.execute("SELECT COUNT(*) FROM measurements").fetchone()[0] == 1
    actions = [e["action"] for e in store.audit()]
    assert actions == ["add photo", "edit photo", "delete photo", "delete visit"]
    assert all("HYPERLINK" not in e["detail"] for e in store.audit())  # no personal data in the log
    assert store.check() == []


def test_a_file_shared_by_two_visits_stays_while_one_uses_it(record):
    store, _, area = record
    data = _png(6)
    first = store.save_visit(area, "2026-10-05", [{"data": data}])
    store.save_visit(area, "2026-10-06", [{"data": data}])
    file_name = store.visit(first)["photos"][0]["file"]
    store.delete_visit(first)
    assert (store.photos_folder / file_name).exists() and store.check() == []


def test_export_names_are_readable_unique_and_formulas_escaped(record):
    store, client, area = record
    scar = store.add_area(client, "scar/../../etc")
    data = _png(7)
    store.save_visit(area, "2026-10-05T10:00:00", [{"data": data, "measurements": _analysis(5.0)},
                                                   {"data": _png(8)}],
                     treatment={"procedure": "@SUM(1+1)"})
    store.save_visit(area, "2026-10-05T15:00:00", [{"data": data, "measurements": _analysis(-2.5)}])
    store.save_visit(scar, "2026-10-07T15:00:00", [{"data": data}])
    archive = zipfile.ZipFile(io.BytesIO(store.export_client(client)))
    photos = sorted(n for n in archive.namelist() if n.startswith("photos/"))
    assert len(photos) == len(set(photos)) == 4  # one photo in three visits: three entries
    prefix = "photos/_HYPERLINK__http___x__"
    assert photos == [f"{prefix}/left brow/2026-10-05-2/photo-1.png", f"{prefix}/left brow/2026-10-05/photo-1.png",
                      f"{prefix}/left brow/2026-10-05/photo-2.png", f"{prefix}/scar_.._.._etc/2026-10-07/photo-1.png"]
    assert all(part not in ("", ".", "..") for name in photos for part in name.split("/"))
    assert archive.read(photos[0]) == archive.read(photos[1])
    rows = list(csv.DictReader(io.StringIO(archive.read("measurements.csv").decode())))
    assert [r["zip_entry"] for r in rows] == [photos[1], photos[0]]
    assert rows[0]["procedure"] == "'@SUM(1+1)"
    assert rows[1]["delta_a"] == "-2.5"  # a negative number stays a number
    record_json = json.loads(archive.read("record.json"))
    assert record_json["client"]["name"] == "=HYPERLINK(\"http://x\")"  # JSON keeps the name as it is
    assert [e["action"] for e in store.audit()] == ["export"]


@pytest.mark.parametrize("cell, shown", [("=1+1", "'=1+1"), ("+31 6", "'+31 6"), ("-x", "'-x"), ("@A1", "'@A1"),
                                         ("\tx", "'\tx"), ("Anna", "Anna"), (-2.5, -2.5), (None, None)])
def test_csv_cells_that_would_run_as_formulas_are_escaped(cell, shown):
    assert csv_safe(cell) == shown
