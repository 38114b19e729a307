"""The client record: clients -> treated areas -> visits -> photos and their measurements.

SQLite (WAL, foreign keys on, schema versioned by ``PRAGMA user_version`` with migrations) beside a
``photos/`` folder of metadata-stripped photos named by their content hash. Every save is one
transaction; photo files are written (temporary name, fsync, atomic rename) before the transaction
commits, and files that no committed row refers to (left by a crash between the two) are removed
whenever the store is opened. Names and ids never become paths: file names are hashes only.
"""

import csv
import hashlib
import io
import json
import os
import sqlite3
import zipfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import InputError
from .io import load_photo

CONSENT_CHOICES = ("clinical", "clinical+marketing")

MIGRATIONS = (
    # 1: the first schema.
    """
    CREATE TABLE clients (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        notes TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL
    );
    CREATE TABLE areas (
        id INTEGER PRIMARY KEY,
        client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE visits (
        id INTEGER PRIMARY KEY,
        area_id INTEGER NOT NULL REFERENCES areas(id) ON DELETE CASCADE,
        taken TEXT NOT NULL,
        notes TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL
    );
    CREATE TABLE photos (
        id INTEGER PRIMARY KEY,
        visit_id INTEGER NOT NULL REFERENCES visits(id) ON DELETE CASCADE,
        file TEXT NOT NULL,
        consent TEXT NOT NULL CHECK (consent IN ('clinical', 'clinical+marketing')),
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE measurements (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        result TEXT NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX areas_client ON areas(client_id);
    CREATE INDEX visits_area ON visits(area_id);
    CREATE INDEX photos_visit ON photos(visit_id);
    CREATE INDEX measurements_photo ON measurements(photo_id);
    """,
    # 2: treatment details per visit (JSON object; see TREATMENT_FIELDS).
    """
    ALTER TABLE visits ADD COLUMN treatment TEXT NOT NULL DEFAULT '{}'
    """,
)

#: Treatment details a visit may record: (key, label shown to the practitioner, type). Free text except
#: the numbers; every field is optional.
TREATMENT_FIELDS = (
    ("procedure", "Procedure", str),
    ("device", "Device", str),
    ("needle_depth_mm", "Needle depth (mm)", float),
    ("pigment_brand", "Pigment brand", str),
    ("pigment_colour", "Pigment colour", str),
    ("laser_wavelength_nm", "Laser wavelength (nm)", float),
    ("fluence_j_cm2", "Fluence (J/cm²)", float),
    ("details", "Other details", str),
)


def default_data_folder():
    """``$SKINSCAN_DATA`` when set, else ``$XDG_DATA_HOME/skinscan`` (``~/.local/share/skinscan``)."""
    if os.environ.get("SKINSCAN_DATA"):
        return Path(os.environ["SKINSCAN_DATA"])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "skinscan"


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _taken_text(taken):
    return taken.isoformat() if isinstance(taken, datetime) else str(taken)


def clean_treatment(treatment):
    """Validate treatment details: known keys only, numbers where a number is due, empty values dropped.

    Parameters
    ----------
    treatment : dict or None
        Keys from :data:`TREATMENT_FIELDS`.

    Returns
    -------
    dict
        JSON-ready.

    Raises
    ------
    InputError
        An unknown key or a value that is not a number where one is due.
    """
    kinds = {key: kind for key, _, kind in TREATMENT_FIELDS}
    cleaned = {}
    for key, value in (treatment or {}).items():
        if key not in kinds:
            raise InputError(f"unknown treatment detail {key!r} (known: {', '.join(kinds)})")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if kinds[key] is float:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InputError(f"treatment detail {key} must be a number, got {value!r}") from None
            if not np.isfinite(value) or value < 0:
                raise InputError(f"treatment detail {key} must be a positive number, got {value!r}")
        else:
            value = str(value).strip()
        cleaned[key] = value
    return cleaned


def csv_safe(value):
    """A CSV cell that a spreadsheet shows as text, never runs as a formula.

    Text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with an
    apostrophe (OWASP, "CSV Injection"). Numbers are left as numbers.
    """
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def path_part(name, fallback):
    """A readable, safe ZIP path component from a name: letters, digits, spaces, ``-``, ``_`` and ``.``
    kept (other characters become ``_``), no leading dots, at most 60 characters."""
    kept = "".join(c if (c.isalnum() or c in " -_.") else "_" for c in str(name)).strip(" .")
    return kept[:60].strip(" .") or fallback


def strip_photo(data, photo=None):
    """A copy of a photo file with every piece of metadata removed (EXIF, GPS, XMP, IPTC, comments).

    Parameters
    ----------
    data : bytes
    photo : Photo, optional
        ``data`` already read by :func:`load_photo` (it is not decoded again).

    Returns
    -------
    bytes, str
        The clean file and its extension. JPEG stays JPEG, losslessly: metadata segments are dropped
        and, when the photo was stored rotated, a minimal EXIF block with only the orientation tag is
        put back (the ICC profile, in APP2, is kept). Other formats are decoded with their orientation
        applied and written as PNG (16-bit when the source was).

    Raises
    ------
    InputError
        Not a readable photo.
    """
    if photo is None:
        photo = load_photo(data)  # validates, and tells orientation and depth
    if data[:2] == b"\xff\xd8":
        return _strip_jpeg(data, photo.exif_orientation), "jpg"
    if photo.bit_depth == 16:
        array = np.round(photo.rgb * 65535).astype(np.uint16)
        import cv2

        ok, encoded = cv2.imencode(".png", array[..., ::-1])
        return encoded.tobytes(), "png"
    buffer = io.BytesIO()
    Image.fromarray(np.round(photo.rgb * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue(), "png"


def _strip_jpeg(data, orientation):
    keep_app = {0xE0, 0xE2, 0xEE}  # JFIF, ICC profile, Adobe (colour transform)
    out = bytearray(b"\xff\xd8")
    position = 2
    while position < len(data):
        if data[position] != 0xFF:
            raise InputError("the JPEG's structure is damaged")
        marker = data[position + 1]
        if marker == 0xD9:
            out += data[position : position + 2]
            break
        if marker == 0xDA or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[position:]  # scan data to the end
            break
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        segment = data[position : position + 2 + length]
        if marker == 0xE0 and len(out) == 2 and orientation != 1:
            out += segment
            out += _orientation_only_exif(orientation)
        elif (0xE0 <= marker <= 0xEF and marker not in keep_app) or marker == 0xFE:
            pass  # APPn metadata (EXIF/GPS in APP1, XMP, IPTC in APP13, ...) and comments
        else:
            out += segment
        position += 2 + length
    if orientation != 1 and b"Exif\x00\x00" not in out[:4096]:
        out = out[:2] + _orientation_only_exif(orientation) + out[2:]
    return bytes(out)


def _orientation_only_exif(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()  # b"Exif\0\0" + a TIFF block holding the one tag
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


class Store:
    """The record store in one data folder.

    Parameters
    ----------
    folder : str or os.PathLike, optional
        Default: :func:`default_data_folder`.
    remove_orphans : bool
        Remove files left by interrupted saves (do this once when a program starts, not while another
        connection may be saving).
    check_same_thread : bool
        As for :func:`sqlite3.connect`.
    """

    def __init__(self, folder=None, remove_orphans=True, check_same_thread=True):
        self.folder = Path(folder) if folder is not None else default_data_folder()
        self.photos_folder = self.folder / "photos"
        self.photos_folder.mkdir(parents=True, exist_ok=True)
        self.database_path = self.folder / "skinscan.sqlite3"
        self._connection = sqlite3.connect(
            self.database_path, timeout=30, isolation_level=None, check_same_thread=check_same_thread
        )
        self._connection.row_factory = sqlite3.Row
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA foreign_keys=ON")
        self._connection.execute("PRAGMA synchronous=FULL")
        self._migrate()
        if remove_orphans:
            self.remove_orphan_files()

    # --- plumbing -------------------------------------------------------------------------------------

    def close(self):
        """Close the database connection."""
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def schema_version(self):
        """The schema version (number of migrations applied)."""
        return self._connection.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self):
        version = self.schema_version
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._transaction() as db:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def _transaction(self):
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield self._connection
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def _referenced_files(self):
        return {row[0] for row in self._connection.execute("SELECT DISTINCT file FROM photos")}

    def remove_orphan_files(self):
        """Delete photo files no committed row refers to (and temporary files of interrupted saves).

        Returns
        -------
        int
            Files removed.
        """
        referenced = self._referenced_files()
        removed = 0
        for path in self.photos_folder.iterdir():
            if path.name not in referenced:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _write_photo(self, data, photo):
        """Write a stripped photo under its content hash; returns (file name, was it new)."""
        clean, extension = strip_photo(data, photo)
        name = f"{hashlib.sha256(clean).hexdigest()}.{extension}"
        target = self.photos_folder / name
        if target.exists():
            return name, False
        temporary = self.photos_folder / f".{name}.{os.getpid()}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(clean)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        return name, True

    # --- clients and areas ----------------------------------------------------------------------------

    def add_client(self, name, notes=""):
        """Create a client; returns its id."""
        name = (name or "").strip()
        if not name:
            raise InputError("a client needs a name")
        with self._transaction() as db:
            return db.execute("INSERT INTO clients (name, notes, created) VALUES (?, ?, ?)", (name, notes, _now())).lastrowid

    def clients(self, search=""):
        """Clients whose name contains ``search`` (case-insensitive), as dicts, by name."""
        rows = self._connection.execute(
            "SELECT id, name, notes, created FROM clients WHERE name LIKE ? ORDER BY name COLLATE NOCASE, id",
            (f"%{search.strip()}%",),
        )
        return [dict(row) for row in rows]

    def client(self, client_id):
        """One client as a dict; InputError when there is none."""
        row = self._connection.execute("SELECT id, name, notes, created FROM clients WHERE id = ?", (int(client_id),)).fetchone()
        if row is None:
            raise InputError(f"no client with id {client_id}")
        return dict(row)

    def add_area(self, client_id, name):
        """Create a treated area ("left brow", "forearm scar") for a client; returns its id."""
        self.client(client_id)
        name = (name or "").strip()
        if not name:
            raise InputError("a treated area needs a name")
        with self._transaction() as db:
            return db.execute(
                "INSERT INTO areas (client_id, name, created) VALUES (?, ?, ?)", (int(client_id), name, _now())
            ).lastrowid

    def areas(self, client_id):
        """A client's treated areas, as dicts."""
        rows = self._connection.execute(
            "SELECT id, client_id, name, created FROM areas WHERE client_id = ? ORDER BY id", (int(client_id),)
        )
        return [dict(row) for row in rows]

    # --- visits ---------------------------------------------------------------------------------------

    def save_visit(self, area_id, taken, photos, notes="", treatment=None):
        """Save a visit with its photos and their measurements, all or nothing.

        Parameters
        ----------
        area_id : int
        taken : datetime.datetime or str
            When the photos were taken.
        photos : sequence of dict
            Each ``{"data": bytes, "consent": "clinical" | "clinical+marketing",
            "measurements": [{"kind": str, "result": dict}, ...]}``.
        notes : str
        treatment : dict, optional
            Treatment details (keys of :data:`TREATMENT_FIELDS`).

        Returns
        -------
        int
            The visit's id.

        Raises
        ------
        InputError
            Unknown area, no photos, a photo that is not one, an unknown consent choice.
        """
        if not photos:
            raise InputError("a visit needs at least one photo")
        treatment_text = json.dumps(clean_treatment(treatment))
        for photo in photos:
            _check_consent(photo.get("consent", "clinical"))
        if self._connection.execute("SELECT 1 FROM areas WHERE id = ?", (int(area_id),)).fetchone() is None:
            raise InputError(f"no treated area with id {area_id}")
        written = []
        try:
            stored = [self._store_photo_file(photo["data"], written) for photo in photos]
            with self._transaction() as db:
                visit_id = db.execute(
                    "INSERT INTO visits (area_id, taken, notes, treatment, created) VALUES (?, ?, ?, ?, ?)",
                    (int(area_id), _taken_text(taken), notes, treatment_text, _now()),
                ).lastrowid
                for photo, file_facts in zip(photos, stored):
                    _insert_photo(db, visit_id, file_facts, photo.get("consent", "clinical"), photo.get("measurements", ()))
            return visit_id
        except BaseException:
            self._remove_unreferenced(written)
            raise

    def _store_photo_file(self, data, written):
        """Decode a photo once, write its stripped file; returns (file name, width, height) and adds the
        name to ``written`` when the file is new (so a failed save can take it back)."""
        loaded = load_photo(data)
        name, new = self._write_photo(data, loaded)
        if new:
            written.append(name)
        return name, loaded.width, loaded.height

    def _remove_unreferenced(self, names):
        """Delete those of these photo files that no committed row refers to (any more)."""
        referenced = self._referenced_files()
        for name in names:
            if name not in referenced:
                (self.photos_folder / name).unlink(missing_ok=True)

    def _log(self, db, action, detail):
        db.execute("INSERT INTO audit (at, action, detail) VALUES (?, ?, ?)", (_now(), action, detail))

    def visit(self, visit_id):
        """One visit as :meth:`visits` gives it; InputError when there is none."""
        row = self._connection.execute(
            "SELECT id, area_id, taken, notes, treatment, created FROM visits WHERE id = ?", (int(visit_id),)
        ).fetchone()
        if row is None:
            raise InputError(f"no visit with id {visit_id}")
        return self._visit_record(row)

    def update_visit(self, visit_id, taken=None, notes=None, treatment=None):
        """Change a visit's date, notes or treatment details (what is None stays as it was).

        The audit log records which fields changed (not their values: they may be personal).
        """
        current = self.visit(visit_id)
        changes = {}
        if taken is not None:
            changes["taken"] = _taken_text(taken)
        if notes is not None:
            changes["notes"] = str(notes)
        if treatment is not None:
            changes["treatment"] = json.dumps(clean_treatment(treatment))
        changes = {k: v for k, v in changes.items()
                   if v != (json.dumps(current[k]) if k == "treatment" else current[k])}
        if not changes:
            return
        with self._transaction() as db:
            db.execute(f"UPDATE visits SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                       (*changes.values(), int(visit_id)))
            self._log(db, "edit visit", f"visit #{int(visit_id)}: {', '.join(changes)} changed")

    def add_photo_to_visit(self, visit_id, data, consent="clinical", measurements=()):
        """Add a photo (with its measurements) to a saved visit; returns the photo's id.

        Parameters
        ----------
        visit_id : int
        data : bytes
            The photo file as uploaded (it is stored stripped of metadata).
        consent : str
            One of :data:`CONSENT_CHOICES`.
        measurements : sequence of dict
            ``{"kind": str, "result": dict}`` as for :meth:`save_visit`
            (e.g. ``skinscan.demo.measurement_records(analysis, roi, comparison, chart)``).
        """
        _check_consent(consent)
        self.visit(visit_id)
        written = []
        try:
            file_facts = self._store_photo_file(data, written)
            with self._transaction() as db:
                photo_id = _insert_photo(db, int(visit_id), file_facts, consent, measurements)
                self._log(db, "add photo", f"photo #{photo_id} added to visit #{int(visit_id)}")
            return photo_id
        except BaseException:
            self._remove_unreferenced(written)
            raise

    def update_photo(self, photo_id, consent=None, measurements=None):
        """Change a photo's consent, or replace its measurements (a re-measure); None leaves it."""
        row = self._connection.execute("SELECT visit_id FROM photos WHERE id = ?", (int(photo_id),)).fetchone()
        if row is None:
            raise InputError(f"no photo with id {photo_id}")
        if consent is not None:
            _check_consent(consent)
        changed = []
        with self._transaction() as db:
            if consent is not None:
                db.execute("UPDATE photos SET consent = ? WHERE id = ?", (consent, int(photo_id)))
                changed.append("consent")
            if measurements is not None:
                db.execute("DELETE FROM measurements WHERE photo_id = ?", (int(photo_id),))
                _insert_measurements(db, int(photo_id), measurements)
                changed.append("measurements")
            if changed:
                self._log(db, "edit photo", f"photo #{int(photo_id)}: {', '.join(changed)} changed")

    def delete_visit(self, visit_id):
        """Erase a visit with its photos and measurements; the photo files go when nothing else uses them.

        The audit log keeps that a visit was deleted, with counts and no personal data.
        """
        visit = self.visit(visit_id)
        files = [photo["file"] for photo in visit["photos"]]
        with self._transaction() as db:
            db.execute("DELETE FROM visits WHERE id = ?", (int(visit_id),))
            self._log(db, "delete visit", f"visit #{int(visit_id)} of area #{visit['area_id']} deleted "
                                          f"with {len(files)} photos")
        self._remove_unreferenced(files)

    def delete_photo(self, photo_id):
        """Erase one photo with its measurements (and its file when nothing else uses it).

        A visit's last photo cannot be deleted on its own (a visit holds at least one photo): delete the
        visit instead.
        """
        row = self._connection.execute("SELECT visit_id, file FROM photos WHERE id = ?", (int(photo_id),)).fetchone()
        if row is None:
            raise InputError(f"no photo with id {photo_id}")
        others = self._connection.execute(
            "SELECT COUNT(*) FROM photos WHERE visit_id = ? AND id != ?", (row["visit_id"], int(photo_id))
        ).fetchone()[0]
        if not others:
            raise InputError("this is the visit's only photo: delete the visit instead")
        with self._transaction() as db:
            db.execute("DELETE FROM photos WHERE id = ?", (int(photo_id),))
            self._log(db, "delete photo", f"photo #{int(photo_id)} of visit #{row['visit_id']} deleted")
        self._remove_unreferenced([row["file"]])

    def visits(self, area_id):
        """An area's visits in date order, each with its treatment details (dict), its photos and their
        measurements."""
        return [
            self._visit_record(visit) for visit in self._connection.execute(
                "SELECT id, area_id, taken, notes, treatment, created FROM visits WHERE area_id = ? ORDER BY taken, id",
                (int(area_id),),
            )
        ]

    def _visit_record(self, visit):
        record = dict(visit)
        record["treatment"] = json.loads(record["treatment"] or "{}")
        record["photos"] = []
        for photo in self._connection.execute(
            "SELECT id, file, consent, width, height FROM photos WHERE visit_id = ? ORDER BY id", (visit["id"],)
        ):
            entry = dict(photo)
            entry["measurements"] = [
                {"kind": m["kind"], "result": json.loads(m["result"]), "created": m["created"]}
                for m in self._connection.execute(
                    "SELECT kind, result, created FROM measurements WHERE photo_id = ? ORDER BY id", (photo["id"],)
                )
            ]
            record["photos"].append(entry)
        return record

    def photo_path(self, file_name):
        """Path of a stored photo file (the name must be one the store gave)."""
        if "/" in file_name or "\\" in file_name or file_name.startswith("."):
            raise InputError("not a stored photo name")
        return self.photos_folder / file_name

    # --- export and erasure ---------------------------------------------------------------------------

    def export_client(self, client_id):
        """Everything held about a client as a ZIP: record.json, measurements.csv, photos/.

        Photos are named ``photos/<client>/<area>/<visit date>/photo-<n>.<ext>`` (n counts the visit's
        photos from 1; a second visit on the same day gets ``<date>-2``), so every entry is unique even
        when one photo file belongs to two visits. ``record.json`` and the CSV give each photo's entry
        name (``zip_entry``) beside its stored file name. CSV text cells that a spreadsheet would run as
        a formula are escaped (:func:`csv_safe`). One audit entry records the export.

        Returns
        -------
        bytes
        """
        client = self.client(client_id)
        client_part = path_part(client["name"], f"client-{int(client_id)}")
        areas, rows, entries, used = [], [], [], set()
        for area in self.areas(client_id):
            area = dict(area)
            area["visits"] = self.visits(area["id"])
            areas.append(area)
            area_part = path_part(area["name"], f"area-{area['id']}")
            if f"{client_part}/{area_part}" in used:
                area_part = f"{area_part}-{area['id']}"
            used.add(f"{client_part}/{area_part}")
            for visit in area["visits"]:
                folder = f"photos/{client_part}/{area_part}/{path_part(visit['taken'][:10], 'undated')}"
                suffix = 1
                while (folder if suffix == 1 else f"{folder}-{suffix}") in used:
                    suffix += 1
                folder = folder if suffix == 1 else f"{folder}-{suffix}"
                used.add(folder)
                for number, photo in enumerate(visit["photos"], start=1):
                    photo["zip_entry"] = f"{folder}/photo-{number}.{photo['file'].rsplit('.', 1)[-1]}"
                    entries.append((photo["file"], photo["zip_entry"]))
                    for measurement in photo["measurements"]:
                        rows.append(_csv_row(area, visit, photo, measurement))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("record.json", json.dumps({"client": client, "areas": areas}, indent=2))
            text = io.StringIO()
            writer = csv.DictWriter(text, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows({key: csv_safe(value) for key, value in row.items()} for row in rows)
            archive.writestr("measurements.csv", text.getvalue())
            for file_name, entry in entries:
                archive.write(self.photo_path(file_name), entry)
        with self._transaction() as db:
            self._log(db, "export", f"client #{int(client_id)}")
        return buffer.getvalue()

    def log_report(self, area_id):
        """Record in the audit log that a PDF report of an area was made (no personal data)."""
        with self._transaction() as db:
            self._log(db, "report", f"area #{int(area_id)}")

    def erase_client(self, client_id):
        """Delete a client with all areas, visits, photos and measurements (right to erasure).

        An audit entry records that a client was erased, with counts and no personal data.
        """
        self.client(client_id)
        counts = self._connection.execute(
            """SELECT COUNT(DISTINCT v.id), COUNT(DISTINCT p.id) FROM areas a
               LEFT JOIN visits v ON v.area_id = a.id LEFT JOIN photos p ON p.visit_id = v.id
               WHERE a.client_id = ?""",
            (int(client_id),),
        ).fetchone()
        with self._transaction() as db:
            db.execute("DELETE FROM clients WHERE id = ?", (int(client_id),))
            self._log(db, "erase", f"a client was erased: {counts[0]} visits, {counts[1]} photos")
        self.remove_orphan_files()

    def audit(self):
        """The audit log, oldest first."""
        return [dict(row) for row in self._connection.execute("SELECT at, action, detail FROM audit ORDER BY id")]

    def check(self):
        """Integrity problems, as sentences (empty when the store is whole)."""
        problems = []
        if self._connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append("the database fails SQLite's integrity check")
        if self._connection.execute("PRAGMA foreign_key_check").fetchall():
            problems.append("rows refer to missing rows")
        for (name,) in self._connection.execute("SELECT DISTINCT file FROM photos"):
            if not (self.photos_folder / name).exists():
                problems.append(f"photo file {name} is missing")
        empty = self._connection.execute(
            "SELECT COUNT(*) FROM visits v WHERE NOT EXISTS (SELECT 1 FROM photos p WHERE p.visit_id = v.id)"
        ).fetchone()[0]
        if empty:
            problems.append(f"{empty} visits have no photos")
        stray = set(p.name for p in self.photos_folder.iterdir()) - self._referenced_files()
        if stray:
            problems.append(f"{len(stray)} files are not in the record")
        return problems


def _check_consent(consent):
    if consent not in CONSENT_CHOICES:
        raise InputError(f"consent must be one of {', '.join(CONSENT_CHOICES)}")


def _insert_measurements(db, photo_id, measurements):
    for measurement in measurements:
        db.execute(
            "INSERT INTO measurements (photo_id, kind, result, created) VALUES (?, ?, ?, ?)",
            (photo_id, measurement["kind"], json.dumps(measurement["result"]), _now()),
        )


def _insert_photo(db, visit_id, file_facts, consent, measurements):
    name, width, height = file_facts
    photo_id = db.execute(
        "INSERT INTO photos (visit_id, file, consent, width, height, created) VALUES (?, ?, ?, ?, ?, ?)",
        (visit_id, name, consent, width, height, _now()),
    ).lastrowid
    _insert_measurements(db, photo_id, measurements)
    return photo_id


CSV_FIELDS = ("area", "visit_id", "taken", "zip_entry", "photo_file", "consent", "kind", "procedure", "delta_l",
              "delta_a", "delta_b", "delta_e00", "pigmentation", "treated_area_mm2", "fade_percent",
              "redness_resolution_percent", "hue_shift_deg", "quality")


def _csv_row(area, visit, photo, measurement):
    result = measurement["result"]
    contrast = result.get("contrast") or result.get("followup", {}).get("contrast", {})
    treated = result.get("treated") or result.get("followup", {}).get("treated", {})
    quality = (result.get("quality") or result.get("followup", {}).get("quality", {})).get("verdict")
    return {
        "area": area["name"], "visit_id": visit["id"], "taken": visit["taken"], "zip_entry": photo.get("zip_entry"),
        "photo_file": photo["file"], "consent": photo["consent"], "kind": measurement["kind"],
        "procedure": visit.get("treatment", {}).get("procedure"),
        "delta_l": contrast.get("delta_l"), "delta_a": contrast.get("delta_a"), "delta_b": contrast.get("delta_b"),
        "delta_e00": contrast.get("delta_e00"), "pigmentation": contrast.get("pigmentation"),
        "treated_area_mm2": treated.get("area_mm2"), "fade_percent": result.get("fade_percent"),
        "redness_resolution_percent": result.get("redness_resolution_percent"),
        "hue_shift_deg": result.get("hue_shift_deg"), "quality": quality,
    }
