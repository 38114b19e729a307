"""The client record: transactions, crash safety, metadata stripping, export and erasure."""

import io
import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import time
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from skinscan import InputError, load_photo
from skinscan.store import Store, default_data_folder, jpeg_primary_segments, strip_photo

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
REPOSITORY = Path(__file__).resolve().parents[1]


def _stored_files(folder):
    """Photo files in a data folder's photos/ (the staging folder and anything else not counted)."""
    return sorted(p.name for p in (Path(folder) / "photos").iterdir() if p.is_file() and not p.name.startswith("."))


def _staging_files(folder):
    staging = Path(folder) / "photos" / ".staging"
    return sorted(p.name for p in staging.rglob("*") if p.is_file() and p.suffix != ".lock") if staging.exists() else []


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
        names = _stored_files(tmp_path)
        assert list((tmp_path / "photos" / ".staging").iterdir()) == []  # a store holds staging only while saving
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
        assert store.visits(area) == [] and _stored_files(tmp_path) == [] and _staging_files(tmp_path) == []


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
        assert len(_stored_files(tmp_path)) == 1  # the kept client's photo only
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
from skinscan.store import Store
store = Store(sys.argv[1])
area = store.add_area(store.add_client("Pause Test"), "area")
phase = sys.argv[2]
original_transaction, original_place = Store._transaction, Store._place_photos

def pause():
    print("paused", flush=True); time.sleep(60)

@contextmanager
def pausing(self, place=()):
    if phase == "files-staged":
        pause()
    with original_transaction(self, place) as db:
        yield db
        if phase == "inside-transaction":
            pause()

def placing_then_pausing(self, staged):
    placed = original_place(self, staged)
    if phase == "files-placed":
        pause()
    return placed

Store._transaction, Store._place_photos = pausing, placing_then_pausing
photos = []
for seed in range(3):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(buffer, "JPEG")
    photos.append({"data": buffer.getvalue()})
store.save_visit(area, "2026-10-05", photos)
"""


@pytest.mark.parametrize("phase", ["files-staged", "inside-transaction", "files-placed"])
def test_sigkill_at_the_worst_moments(tmp_path, phase):
    """Killed with the photos staged, inside the transaction after the rows are written, or after the
    files were moved into photos/ but before the commit: no half visit and no orphan file once the
    store is opened again."""
    folder = tmp_path / "store"
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    writer = subprocess.Popen([sys.executable, "-c", PAUSING_WRITER, str(folder), phase],
                              stdout=subprocess.PIPE, text=True, env=environment)
    assert writer.stdout.readline().strip() == "paused"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    left = _stored_files(folder) if phase == "files-placed" else _staging_files(folder)
    assert len(left) == 3  # the killed save left its files behind
    with Store(folder) as store:
        assert store.check() == []
        assert _stored_files(folder) == [] and _staging_files(folder) == []
        area = store.areas(store.clients()[0]["id"])[0]["id"]
        assert store.visits(area) == []


def test_a_prefilled_data_folder_is_left_alone(tmp_path):
    """A data folder whose photos/ already holds other files (hidden ones, a NAS's @eaDir, a file
    named like a stored photo but not one) opens, saves, erases and cleans up without touching them."""
    photos = tmp_path / "photos"
    (photos / "@eaDir").mkdir(parents=True)
    foreign = {
        photos / "holiday.jpg": _jpeg_with_gps(10),
        photos / ".hidden": b"keep me",
        photos / "@eaDir" / "thumb.jpg": b"nas thumbnail",
        photos / ("ab" * 32 + ".jpg"): b"named like a stored photo, but its content has another hash",
    }
    for path, content in foreign.items():
        path.write_bytes(content)
    with Store(tmp_path) as store:
        client = store.add_client("Prefilled")
        store.save_visit(store.add_area(client, "arm"), "2026-10-01", [{"data": _jpeg_with_gps(11)}])
        store.erase_client(client)
        assert store.remove_orphan_files() == 0 and store.check() == []
    with Store(tmp_path):
        pass
    assert all(path.read_bytes() == content for path, content in foreign.items())


def test_opening_a_store_keeps_another_writers_staged_photos(tmp_path):
    """A store that opens (and cleans up) while another has staged but not yet committed a photo."""
    with Store(tmp_path) as writer:
        area = writer.add_area(writer.add_client("Staging"), "arm")
        with writer._staged() as staged:
            staged.append(writer._stage_photo(_jpeg_with_gps(12)))
            with Store(tmp_path) as other:  # its cleanup runs now
                assert other.remove_orphan_files() == 0
            assert staged[0].path.exists()
            with writer._transaction(place=staged) as db:
                visit = db.execute("INSERT INTO visits (area_id, taken, created) VALUES (?, '2026-10-01', '')",
                                   (area,)).lastrowid
                db.execute("INSERT INTO photos (visit_id, file, consent, width, height, created) "
                           "VALUES (?, ?, 'clinical', 80, 60, '')", (visit, staged[0].name))
        assert writer.check() == [] and _staging_files(tmp_path) == []


CONCURRENT_WRITER = r"""
import sys, io, time, numpy as np
from PIL import Image
from skinscan.store import Store
folder, seed, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = np.random.default_rng(seed)
with Store(folder) as store:
    area = store.add_area(store.add_client(f"Writer {seed}"), "area")
end = time.monotonic() + seconds
while time.monotonic() < end:
    with Store(folder) as store:  # every open runs the cleanup while the other process saves
        photos = []
        for _ in range(2):
            buffer = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=95)
            photos.append({"data": buffer.getvalue()})
        photos.append({"data": photos[0]["data"]})  # the same photo twice in one visit
        store.save_visit(area, "2026-10-05", photos)
    print("saved", flush=True)
"""


def test_two_writers_at_once_lose_nothing(tmp_path):
    """Two processes open the store (running its cleanup) and save visits in a loop at the same time."""
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    writers = [subprocess.Popen([sys.executable, "-c", CONCURRENT_WRITER, str(tmp_path), str(seed), "4"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
               for seed in (1, 2)]
    outputs = [writer.communicate(timeout=120) for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0], [err[-2000:] for _, err in outputs]
    saved = [out.count("saved") for out, _ in outputs]
    assert min(saved) >= 2, saved
    with Store(tmp_path) as store:
        assert store.check() == []
        for client, count in zip(sorted(store.clients(), key=lambda c: c["name"]), saved):
            visits = store.visits(store.areas(client["id"])[0]["id"])
            assert len(visits) == count and all(len(v["photos"]) == 3 for v in visits)
            for visit in visits:
                assert all(store.photo_path(p["file"]).exists() for p in visit["photos"])
        assert len(_stored_files(tmp_path)) == 2 * sum(saved)


# --- what the stored file keeps of the original ----------------------------------------------------

def _segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _plain_jpeg(seed, size=(48, 64)):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (*size, 3), dtype=np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def _with_segments(jpeg, *segments):
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def _gps_exif(maker):
    exif = Image.Exif()
    exif[0x010F] = maker
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 30.0, 0.0)
    return _segment(0xE1, exif.tobytes())


def _multi_picture_files():
    """Files from current phones that carry metadata after the first image's end marker."""
    primary = _plain_jpeg(20)
    second = _with_segments(_plain_jpeg(21, (24, 32)), _gps_exif("SecondImageCam"))
    mpf = _segment(0xE2, b"MPF\x00II*\x00" + b"\x00" * 40)
    xmp = _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta hdrgm:Version='1.0' "
                         b"GPSLatitude='52,30N'/>")
    iso_gain_map = _segment(0xE2, b"urn:iso:std:iso:ts:21496:-1\x00\x00\x00")
    jfif_with_thumbnail = _segment(0xE0, b"JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x02\x01" + b"THUMBGPS" * 3)
    jfxx = _segment(0xE0, b"JFXX\x00\x13" + b"APP0-PAYLOAD-GPS")
    pillow_mpo = io.BytesIO()
    exif = Image.Exif()
    exif.get_ifd(0x8825)[1] = "N"
    exif[0x010F] = "PillowMPOCam"
    first = Image.open(io.BytesIO(_plain_jpeg(22)))
    first.save(pillow_mpo, "MPO", save_all=True, append_images=[Image.open(io.BytesIO(_plain_jpeg(23)))],
               exif=exif.tobytes())
    motion_trailer = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x20\xa9xyz+52.5000+013.4000/"
    return {
        "mpo": _with_segments(primary, mpf) + second,
        "ultra_hdr": _with_segments(primary, xmp, iso_gain_map, mpf) + second,
        "motion_photo": _with_segments(primary, xmp) + motion_trailer,
        "app0_payloads": _with_segments(primary, jfif_with_thumbnail, jfxx),
        "pillow_mpo": pillow_mpo.getvalue(),
    }


@pytest.mark.parametrize("kind", ["mpo", "ultra_hdr", "motion_photo", "app0_payloads", "pillow_mpo"])
def test_stored_file_holds_the_primary_image_and_no_metadata(kind):
    original = _multi_picture_files()[kind]
    clean, extension = strip_photo(original)
    assert extension == "jpg"
    for secret in (b"GPS", b"SecondImageCam", b"PillowMPOCam", b"MPF", b"+52.5000", b"hdrgm", b"21496", b"JFXX",
                   b"ftyp", b"THUMB"):
        assert secret not in clean, secret
    assert clean.count(b"\xff\xd8") == 1 and clean.endswith(b"\xff\xd9")  # one image, nothing after it
    markers = [marker for marker, *_ in jpeg_primary_segments(clean)]
    assert markers[-1] == 0xD9 and not any(0xE1 <= m <= 0xEF for m in markers)
    assert np.array_equal(load_photo(original).rgb, load_photo(clean).rgb)  # the primary image, losslessly
    assert len(Image.open(io.BytesIO(clean)).getexif()) == 0


def test_progressive_jpeg_with_icc_profile_keeps_every_scan_and_the_profile():
    image = Image.fromarray(np.random.default_rng(5).integers(0, 255, (64, 80, 3), dtype=np.uint8))
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", progressive=True, icc_profile=profile, exif=_gps_exif("Cam")[4:])
    original = buffer.getvalue()
    clean, _ = strip_photo(original)
    assert sum(m == 0xDA for m, *_ in jpeg_primary_segments(clean)) > 1
    assert Image.open(io.BytesIO(clean)).info.get("icc_profile") == profile and b"GPS" not in clean
    assert np.array_equal(load_photo(original).rgb, load_photo(clean).rgb)


def _orientation_exif(value, tiff_type):
    """An EXIF APP1 whose orientation tag has any value and TIFF type (8 = SSHORT, 9 = SLONG)."""
    packed = struct.pack({3: "<H", 4: "<I", 8: "<h", 9: "<i"}[tiff_type], value).ljust(4, b"\x00")
    tiff = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHI", 0x0112, tiff_type, 1) + packed + b"\x00" * 4
    return _segment(0xE1, b"Exif\x00\x00" + tiff)


@pytest.mark.parametrize("value,tiff_type", [(-1, 8), (-7, 9), (0, 3), (9, 3), (70000, 4)])
def test_odd_exif_orientations_are_ignored_not_fatal(tmp_path, value, tiff_type):
    original = _with_segments(_plain_jpeg(30), _orientation_exif(value, tiff_type))
    with Store(tmp_path) as store:
        area = store.add_area(store.add_client("Orientation"), "arm")
        visit = store.save_visit(area, "2026-10-01", [{"data": original}])
        stored = store.photo_path(store.visits(area)[0]["photos"][0]["file"]).read_bytes()
        assert visit and 0x0112 not in Image.open(io.BytesIO(stored)).getexif()
        assert np.array_equal(load_photo(original).rgb, load_photo(stored).rgb)


# --- a data folder that cannot be used ---------------------------------------------------------------

def _newer_schema(folder):
    folder.mkdir()
    with sqlite3.connect(folder / "skinscan.sqlite3") as db:
        db.execute("PRAGMA user_version = 99")


@pytest.mark.parametrize("case,message", [
    ("file", "is a file"), ("corrupt", "not a usable skinscan database"), ("newer", "newer skinscan"),
    ("system", "cannot be written"),
])
def test_unusable_data_folders_are_one_line_errors(tmp_path, case, message):
    folder = tmp_path / "data"
    if case == "file":
        folder.write_text("not a folder")
    elif case == "corrupt":
        folder.mkdir()
        (folder / "skinscan.sqlite3").write_bytes(b"this is not a database, " * 100)
    elif case == "newer":
        _newer_schema(folder)
    else:
        folder = Path("/sys/kernel/skinscan-data")  # cannot be created, even by root
        if not Path("/sys/kernel").is_dir():
            pytest.skip("needs Linux /sys")
    before = sorted((p.name, p.stat().st_size) for p in folder.parent.rglob("*")) if case != "system" else None
    with pytest.raises(InputError, match=message) as error:
        Store(folder)
    assert "\n" not in str(error.value)
    if before is not None:
        assert sorted((p.name, p.stat().st_size) for p in folder.parent.rglob("*")) == before  # nothing changed


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write a read-only folder")
def test_read_only_data_folder_is_a_one_line_error(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data").chmod(0o500)
    try:
        with pytest.raises(InputError, match="cannot be written"):
            Store(tmp_path / "data")
    finally:
        (tmp_path / "data").chmod(0o700)


def test_cli_data_and_export_errors_are_one_line(tmp_path, capsys):
    from skinscan.cli import run

    (tmp_path / "a-file").write_text("x")
    assert run(["--data", str(tmp_path / "a-file"), "clients"]) == 2
    assert "is a file" in capsys.readouterr().err
    _newer_schema(tmp_path / "newer")
    assert run(["--data", str(tmp_path / "newer"), "clients"]) == 2
    err = capsys.readouterr().err
    assert "newer skinscan" in err and err.count("\n") == 1

    data = tmp_path / "data"
    with Store(data) as store:
        client = store.add_client("Export Errors")
        store.save_visit(store.add_area(client, "arm"), "2026-10-01", [{"data": _jpeg_with_gps(40)}])
        photo_file = store.photo_path(store.visits(store.areas(client)[0]["id"])[0]["photos"][0]["file"])
    assert run(["--data", str(data), "export", str(client), str(tmp_path / "missing" / "out.zip")]) == 2
    assert "missing" in capsys.readouterr().err
    assert run(["--data", str(data), "export", str(client), str(tmp_path)]) == 2  # a folder, not a file
    assert "folder" in capsys.readouterr().err
    photo_file.rename(tmp_path / "moved.jpg")
    assert run(["--data", str(data), "export", str(client), str(tmp_path / "out.zip")]) == 2
    assert "is missing" in capsys.readouterr().err and not (tmp_path / "out.zip").exists()
    with Store(data) as store:
        assert [entry["action"] for entry in store.audit()] == []  # no export happened, none is logged
    (tmp_path / "moved.jpg").rename(photo_file)
    (tmp_path / "out.zip").write_bytes(b"old")
    assert run(["--data", str(data), "export", str(client), str(tmp_path / "out.zip")]) == 0
    assert zipfile.is_zipfile(tmp_path / "out.zip")
    with Store(data) as store:
        assert [entry["action"] for entry in store.audit()] == ["export"]


def test_cli_out_onto_an_existing_file_is_a_one_line_error(tmp_path, capsys):
    from skinscan.cli import run

    (tmp_path / "taken").write_text("a file the user keeps")
    code = run(["analyze", str(SAMPLES / "needling_day0.jpg"), "--roi", "435,309,322,215", "--out", str(tmp_path / "taken")])
    assert code == 2 and "not a folder" in capsys.readouterr().err
    assert (tmp_path / "taken").read_text() == "a file the user keeps"


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
