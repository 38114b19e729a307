"""The client record: transactions, crash safety, metadata stripping, export and erasure."""

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skinscan import InputError, load_photo
from skinscan.store import Store, default_data_folder, strip_photo

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"


def _jpeg_with_gps(seed=0, orientation=6):
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 30.0, 0.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def test_data_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SKINSCAN_DATA", str(tmp_path / "x"))
    assert default_data_folder() == tmp_path / "x"
    monkeypatch.delenv("SKINSCAN_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_folder() == tmp_path / "xdg" / "skinscan"


def test_stripping_removes_gps_and_keeps_pixels_and_orientation():
    original = _jpeg_with_gps()
    clean, extension = strip_photo(original)
    assert extension == "jpg"
    assert b"PhoneMaker" not in clean and dict(Image.open(io.BytesIO(clean)).getexif().get_ifd(0x8825)) == {}
    before, after = load_photo(original), load_photo(clean)
    assert after.exif_orientation == 6 and np.array_equal(before.rgb, after.rgb)


def test_save_and_read_a_visit_with_measurements(tmp_path):
    with Store(tmp_path) as store:
        assert store.schema_version == 2
        client = store.add_client("Anna Example")
        area = store.add_area(client, "left brow")
        visit = store.save_visit(area, datetime(2026, 10, 5, 10, 30), [
            {"data": _jpeg_with_gps(1), "consent": "clinical",
             "measurements": [{"kind": "analysis", "result": {"contrast": {"delta_a": 8.5}}}]},
            {"data": (SAMPLES / "needling_day0.jpg").read_bytes(), "consent": "clinical+marketing"},
        ])
        visits = store.visits(area)
        assert [v["id"] for v in visits] == [visit]
        assert [p["consent"] for p in visits[0]["photos"]] == ["clinical", "clinical+marketing"]
        assert visits[0]["photos"][0]["measurements"][0]["result"]["contrast"]["delta_a"] == 8.5
        # Files are named by content hash only, never by a person's name.
        names = [p.name for p in store.photos_folder.iterdir()]
        assert len(names) == 2 and all(len(n.split(".")[0]) == 64 for n in names)
        assert store.check() == []
        assert [c["name"] for c in store.clients("anna")] == ["Anna Example"]


def test_a_failed_save_leaves_nothing(tmp_path):
    with Store(tmp_path) as store:
        area = store.add_area(store.add_client("B"), "scar")
        with pytest.raises(InputError):
            store.save_visit(area, "2026-10-05", [{"data": _jpeg_with_gps(2)}, {"data": b"not a photo"}])
        with pytest.raises(InputError):
            store.save_visit(area, "2026-10-05", [{"data": _jpeg_with_gps(2), "consent": "everything"}])
        assert store.visits(area) == [] and list(store.photos_folder.iterdir()) == []


def test_names_cannot_make_paths(tmp_path):
    with Store(tmp_path) as store:
        client = store.add_client("../../etc/passwd")
        area = store.add_area(client, "/tmp/evil")
        store.save_visit(area, "2026-10-05", [{"data": _jpeg_with_gps(3)}])
        everything = [p.relative_to(tmp_path) for p in tmp_path.rglob("*")]
        assert all(".." not in str(p) and "evil" not in str(p) and "passwd" not in str(p) for p in everything)
        with pytest.raises(InputError):
            store.photo_path("../skinscan.sqlite3")


def test_export_and_erasure(tmp_path):
    with Store(tmp_path) as store:
        keep = store.add_client("Kept Client")
        store.save_visit(store.add_area(keep, "arm"), "2026-10-01", [{"data": _jpeg_with_gps(4)}])
        client = store.add_client("Erased Person")
        area = store.add_area(client, "cheek")
        store.save_visit(area, "2026-10-05", [{"data": _jpeg_with_gps(5), "measurements": [
            {"kind": "analysis", "result": {"contrast": {"delta_a": 3.0, "delta_e00": 2.5}, "treated": {"area_mm2": 40.0}}}]}])
        archive = zipfile.ZipFile(io.BytesIO(store.export_client(client)))
        names = archive.namelist()
        assert "record.json" in names and "measurements.csv" in names
        assert sum(n.startswith("photos/") for n in names) == 1
        record = json.loads(archive.read("record.json"))
        assert record["client"]["name"] == "Erased Person"
        assert "3.0" in archive.read("measurements.csv").decode()
        store.erase_client(client)
        assert [c["name"] for c in store.clients()] == ["Kept Client"]
        assert len(list(store.photos_folder.iterdir())) == 1  # the kept client's photo only
        log = store.audit()
        assert log[-1]["action"] == "erase" and "Erased" not in json.dumps(log)
        assert store.check() == []


WRITER = r"""
import sys, io, numpy as np
from PIL import Image
from skinscan.store import Store
store = Store(sys.argv[1])
clients = store.clients()
area = store.add_area(clients[0]["id"] if clients else store.add_client("Crash Test"), "area")
rng = np.random.default_rng(int(sys.argv[2]))
for visit in range(1000):
    photos = []
    for _ in range(3):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=95)
        photos.append({"data": buffer.getvalue(), "measurements": [{"kind": "analysis", "result": {"n": visit}}]})
    store.save_visit(area, "2026-10-05", photos)
    print("saved", flush=True)
"""


def test_sigkill_mid_save_leaves_the_store_whole(tmp_path):
    """Kill a writer (SIGKILL) at different moments while it saves visits of three photos each."""
    folder = tmp_path / "store"
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    saved = 0
    for attempt, delay in enumerate((0.05, 0.13, 0.21, 0.34, 0.08)):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(folder), str(attempt)],
                                  stdout=subprocess.PIPE, text=True, env=environment)
        assert writer.stdout.readline().strip() == "saved"  # one visit in, then kill mid-stream
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        saved += 1
    with Store(folder) as store:  # opening removes what a killed save left on disk
        assert store.check() == []
        visits = store.visits(store.areas(store.clients()[0]["id"])[0]["id"]) + [
            v for a in store.areas(store.clients()[0]["id"])[1:] for v in store.visits(a["id"])
        ]
        assert len(visits) >= saved
        assert all(len(v["photos"]) == 3 for v in visits)
        assert all(p["measurements"] for v in visits for p in v["photos"])


PAUSING_WRITER = r"""
import sys, io, time, numpy as np
from contextlib import contextmanager
from PIL import Image
from skinscan import store as store_module
from skinscan.store import Store
store = Store(sys.argv[1])
area = store.add_area(store.add_client("Pause Test"), "area")
phase = sys.argv[2]
original = Store._transaction

@contextmanager
def pausing(self):
    if phase == "files-written":
        print("paused", flush=True); time.sleep(60)
    with original(self) as db:
        yield db
        if phase == "inside-transaction":
            print("paused", flush=True); time.sleep(60)

Store._transaction = pausing
photos = []
for seed in range(3):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(buffer, "JPEG")
    photos.append({"data": buffer.getvalue()})
store.save_visit(area, "2026-10-05", photos)
"""


@pytest.mark.parametrize("phase", ["files-written", "inside-transaction"])
def test_sigkill_at_the_worst_moments(tmp_path, phase):
    """Killed after the photo files are on disk but before the commit, or inside the transaction
    after the visit row is written: no half visit and no orphan file once the store is opened."""
    folder = tmp_path / "store"
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    writer = subprocess.Popen([sys.executable, "-c", PAUSING_WRITER, str(folder), phase],
                              stdout=subprocess.PIPE, text=True, env=environment)
    assert writer.stdout.readline().strip() == "paused"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert len(list((folder / "photos").iterdir())) == 3  # the killed save left its files behind
    with Store(folder) as store:
        assert store.check() == []
        assert list(store.photos_folder.iterdir()) == []
        area = store.areas(store.clients()[0]["id"])[0]["id"]
        assert store.visits(area) == []


def test_cli_record_commands(tmp_path, capsys):
    from skinscan.cli import run

    with Store(tmp_path) as store:
        client = store.add_client("Cli Client")
        store.save_visit(store.add_area(client, "arm"), "2026-10-01", [{"data": _jpeg_with_gps(7)}])
    assert run(["--data", str(tmp_path), "clients", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["clients"][0]["name"] == "Cli Client"
    assert run(["--data", str(tmp_path), "export", str(client), str(tmp_path / "out.zip")]) == 0
    assert zipfile.is_zipfile(tmp_path / "out.zip")
    assert run(["--data", str(tmp_path), "erase", str(client)]) == 2  # needs --yes
    assert "--yes" in capsys.readouterr().err
    assert run(["--data", str(tmp_path), "erase", str(client), "--yes"]) == 0
    assert run(["--data", str(tmp_path), "export", "999", str(tmp_path / "x.zip")]) == 2
