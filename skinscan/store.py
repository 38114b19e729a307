"""The client record: clients -> treated areas -> visits -> photos and their measurements.

SQLite (WAL, foreign keys on, schema versioned by ``PRAGMA user_version`` with migrations) beside a
``photos/`` folder of metadata-stripped photos named by their content hash. Names and ids never become
paths: file names are hashes only.

How a photo gets in, so that no save loses one and no cleanup deletes one it should not:

1. *Staging* (outside any transaction; slow work: decode, strip, fsync). Each writer (one
   :class:`Store` object) owns ``photos/.staging/<uuid>/``, held by an exclusive ``flock`` on
   ``photos/.staging/<uuid>.lock`` (which also records the writer's pid) while it saves.
2. *Placing* (inside the SQLite write transaction, ``BEGIN IMMEDIATE``, right before ``COMMIT``):
   the staged file is renamed into ``photos/<sha256>.<ext>``. Only one writer holds the write lock
   at a time, so a file appears in ``photos/`` only while its row is being committed.
3. *Cleanup* (when a store opens, after erasure): staging folders whose lock no living writer holds
   are removed; in ``photos/`` itself, under the write lock (so no save is between placing and
   commit), a file is removed only if no row refers to it **and** its name is the SHA-256 of its own
   content, i.e. it is a file the store wrote. Other files and sub-folders (a NAS's ``@eaDir``, a
   user's own pictures) are never touched.
"""

import csv
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import time
import uuid
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

try:  # POSIX advisory locks tell a living writer's staging folder from an abandoned one
    import fcntl
except ImportError:  # pragma: no cover - Windows: the pid and the lease decide alone
    fcntl = None

import numpy as np
from PIL import Image

from . import constants
from .errors import InputError, without_cli_flags
from .io import load_photo

CONSENT_CHOICES = ("clinical", "clinical+marketing")

STAGING_FOLDER = ".staging"
"""Sub-folder of ``photos/`` where writers stage files before their transaction commits."""

STAGING_LEASE_SECONDS = 3600
"""A staging folder whose lock is free but whose recorded pid still runs (pid reuse, or a file system
without working ``flock``) is removed only when it is older than this."""

_STORED_NAME = re.compile(r"^([0-9a-f]{64})\.(jpg|png)$")

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


def treatment_text(treatment):
    """A visit's treatment details in one line, as the timeline and the PDF show them.

    Parameters
    ----------
    treatment : dict
        Cleaned details (:func:`clean_treatment`).

    Returns
    -------
    str
        "Label: value" pairs in TREATMENT_FIELDS order, numbers without a trailing .0, joined by "; "
        (empty when there are none).

    Examples
    --------
    >>> treatment_text({"procedure": "laser", "laser_wavelength_nm": 1064.0, "fluence_j_cm2": 3.5})
    'Procedure: laser; Laser wavelength (nm): 1064; Fluence (J/cm²): 3.5'
    """
    return "; ".join(f"{label}: {treatment[key]:g}" if isinstance(treatment[key], float)
                     else f"{label}: {treatment[key]}" for key, label, _ in TREATMENT_FIELDS if key in treatment)


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
    labels = {key: label for key, label, _ in TREATMENT_FIELDS}
    # A number's unit is its label's last parenthesis: "Fluence (J/cm²)".
    units = {key: label[label.rfind("(") + 1 : -1] if label.endswith(")") else None
             for key, label, _ in TREATMENT_FIELDS}
    cleaned = {}
    for key, value in (treatment or {}).items():
        if key not in kinds:
            raise InputError(f"unknown treatment detail {key!r} (known: {', '.join(kinds)})")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if kinds[key] is float:
            number = treatment_number(value, units[key])
            if number is None:
                raise InputError(f"{labels[key]} must be a number (e.g. 3.5 or 3,5; 1064, not 1,064), got {value!r}")
            if not np.isfinite(number) or number < 0:
                raise InputError(f"{labels[key]} must be a positive number, got {value!r}")
            value = number
        else:
            value = str(value).strip()
        cleaned[key] = value
    return cleaned


_NUMBER_WITH_UNIT = re.compile(r"\s*([+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?)\s*(\S.*?)?\s*")


def treatment_number(value, unit=None):
    """A treatment detail's number as typed: ``3.5``, ``3,5`` (a decimal comma), or followed by the
    field's own unit (``3,5 J/cm²``, ``3,5 J``, ``1064 nm``); None when it is not one number in that unit,
    or when a comma could be a thousands separator (``1,064``: 1064 or 1.064?).

    Parameters
    ----------
    value : str, float or int
    unit : str, optional
        The field's unit (``J/cm²``, ``nm``, ``mm``): typed after the number it is accepted as it is, with
        a plain 2 for ², or its part before "/" alone. Any other text after the number is refused (500 µm
        typed in a field in mm must not read as 500 mm).

    Returns
    -------
    float or None

    Examples
    --------
    >>> treatment_number("3,5 J", "J/cm²"), treatment_number(" 1064 nm", "nm"), treatment_number(0.25, "mm")
    (3.5, 1064.0, 0.25)
    >>> treatment_number("3 or 4", "mm"), treatment_number("500 µm", "mm"), treatment_number("1,064 nm", "nm")
    (None, None, None)
    >>> treatment_number("0,125", "mm"), treatment_number("1064", "nm")
    (0.125, 1064.0)
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = _NUMBER_WITH_UNIT.fullmatch(str(value))
    if match is None:
        return None
    def spelled(text):  # "J / cm²" and "j/cm2" are one unit
        return text.replace(" ", "").replace("²", "2").replace("³", "3").lower()

    typed = spelled(match.group(2) or "")
    accepted = {""}
    if unit:
        accepted |= {spelled(unit), spelled(unit).split("/")[0]}
    if typed not in accepted:
        return None
    number = match.group(1)
    if re.fullmatch(r"[+-]?[1-9]\d*,\d{3}", number):
        return None  # "1,064": a thousands comma or a decimal one? Not guessed (1064 nm read as 1.064 nm)
    return float(number.replace(",", "."))


def csv_safe(value):
    """A CSV cell that a spreadsheet shows as text, never runs as a formula.

    Text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with an
    apostrophe (OWASP, "CSV Injection"). Numbers are left as numbers.
    """
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def download_name(extension, *names):
    """A download's file name: a walk got "skinscan-area-6.pdf", an internal number.

    Parameters
    ----------
    extension : str
        Without the dot ("pdf", "zip").
    *names : str
        The client's name, then the area's: each made safe by :func:`path_part`, spaces as underscores.

    Returns
    -------
    str

    Examples
    --------
    >>> download_name("pdf", "Ana Ruiz", "left forearm"), download_name("zip", "<b>x</b>")
    ('skinscan-Ana_Ruiz-left_forearm.pdf', 'skinscan-_b_x__b_.zip')
    """
    parts = [path_part(name, "unnamed").replace(" ", "_") for name in names]
    return "-".join(["skinscan", *parts]) + f".{extension}"


def path_part(name, fallback):
    """A readable, safe ZIP path component from a name: letters, digits, spaces, ``-``, ``_`` and ``.``
    kept (other characters become ``_``), no leading dots, at most 60 characters."""
    kept = "".join(c if (c.isalnum() or c in " -_.") else "_" for c in str(name)).strip(" .")
    return kept[:60].strip(" .") or fallback


def _content_name(clean, extension):
    """The stored file's name: ``<sha256 of its content>.<extension>``."""
    return f"{hashlib.sha256(clean).hexdigest()}.{extension}"


def stored_file_name(data, photo=None):
    """The name the store gives a photo file once saved (the same bytes are stored once, under this name).

    Parameters
    ----------
    data : bytes
        The photo file as the user gave it.
    photo : Photo, optional
        ``data`` already read by :func:`load_photo`.

    Returns
    -------
    str
        ``<sha256 of the file without its metadata (:func:`strip_photo`)>.<jpg|png>``.
    """
    return _content_name(*strip_photo(data, photo))


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
        The clean file and its extension. JPEG stays JPEG, losslessly, cut to its first image (an MPO's
        or Ultra HDR file's second image and a motion photo's video are dropped with their EXIF):
        every APPn and comment segment is dropped but the ICC profile and Adobe's colour-transform
        flag; when the photo was stored rotated (orientation 2..8), a minimal EXIF block with only the
        orientation tag is put back. Other formats are decoded with their orientation
        applied and written as PNG (16-bit when the source was).

    Raises
    ------
    InputError
        Not a readable photo.
    """
    if photo is None:
        photo = load_photo(data)  # validates, and tells orientation and depth
    if data[:2] == b"\xff\xd8":
        return _strip_jpeg(data, photo.exif_orientation), "jpg"  # odd orientations (0, -1, 9) are dropped
    if photo.bit_depth == 16:
        array = np.round(photo.rgb * 65535).astype(np.uint16)
        import cv2

        ok, encoded = cv2.imencode(".png", array[..., ::-1])
        return encoded.tobytes(), "png"
    buffer = io.BytesIO()
    Image.fromarray(np.round(photo.rgb * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue(), "png"


# Segments a decoder needs besides the frame, tables and scans: the ICC profile (APP2 "ICC_PROFILE")
# and Adobe's colour-transform flag (APP14 "Adobe", 12 bytes); every other APPn and COM is metadata.
_JFIF_MINIMAL = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
_STANDALONE_MARKERS = frozenset([0x01, *range(0xD0, 0xD8)])  # TEM, RST0..7: no length field


def jpeg_primary_segments(data):
    """Walk the segments of the first image in a JPEG file, up to and including its EOI.

    Multi-picture files (MPO, Ultra HDR gain maps, Motion Photo video trailers) append more data
    after the first image's end-of-image marker; this walk stops there. Entropy-coded scan data is
    skipped by its markers (a ``0xFF`` in scan data is followed by a stuffed ``0x00`` or is a
    restart marker), so every scan of a progressive JPEG is visited.

    Parameters
    ----------
    data : bytes
        A JPEG file (starting with SOI, ``FF D8``).

    Yields
    ------
    (int, int, int, int)
        ``(marker, start, payload_start, end)``: the marker byte, where the segment starts (its
        ``FF``), where its payload starts (after the length field), and where it ends; for SOS the
        end includes the scan data that follows the header.

    Raises
    ------
    InputError
        The structure is damaged (a segment runs past the end, a marker is missing).

    References
    ----------
    ITU-T T.81 (JPEG), Annex B; CIPA DC-007 (Multi-Picture Format).
    """
    size = len(data)
    position = 2
    while position < size:
        if data[position] != 0xFF:
            raise InputError("the JPEG's structure is damaged")
        while position + 1 < size and data[position + 1] == 0xFF:  # fill bytes before a marker
            position += 1
        if position + 1 >= size:
            return
        marker = data[position + 1]
        if marker == 0xD9:
            yield marker, position, position + 2, position + 2
            return
        if marker in _STANDALONE_MARKERS:
            yield marker, position, position + 2, position + 2
            position += 2
            continue
        if position + 4 > size:
            raise InputError("the JPEG's structure is damaged")
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        end = position + 2 + length
        if length < 2 or end > size:
            raise InputError("the JPEG's structure is damaged")
        if marker == 0xDA:
            end = _end_of_scan(data, end)
        yield marker, position, position + 4, end
        position = end


def _end_of_scan(data, position):
    """Index of the first marker after entropy-coded data starting at ``position`` (len(data) if none)."""
    size = len(data)
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= size:
            return size
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            position += 2  # stuffed byte or restart marker: still scan data
        elif following == 0xFF:
            position += 1  # fill byte
        else:
            return position


def _strip_jpeg(data, orientation):
    """The first image of a JPEG with only what decoding needs: no APPn but ICC/Adobe, no comments."""
    has_jfif = False
    kept = bytearray()
    ended = False
    for marker, start, payload, end in jpeg_primary_segments(data):
        body = data[payload:end]
        if marker == 0xE0:
            has_jfif = has_jfif or body.startswith(b"JFIF\x00")
        elif marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00"):
            kept += data[start:end]
        elif marker == 0xEE and body.startswith(b"Adobe") and len(body) >= 12:
            kept += b"\xff\xee\x00\x0e" + body[:12]  # version, flags, transform; nothing after
        elif 0xE0 <= marker <= 0xEF or marker == 0xFE:
            pass  # EXIF/GPS/XMP (APP1), MPF (APP2), IPTC (APP13), gain-map metadata, comments
        else:
            kept += data[start:end]
            ended = marker == 0xD9
    if not ended:
        kept += b"\xff\xd9"
    head = bytearray(b"\xff\xd8")
    if has_jfif:
        head += _JFIF_MINIMAL  # JFIF tells decoders the components are YCbCr; no density, no thumbnail
    if 2 <= orientation <= 8:
        head += _orientation_only_exif(orientation)
    return bytes(head + kept)


def _orientation_only_exif(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()  # b"Exif\0\0" + a TIFF block holding the one tag
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def _fsync_folder(folder):
    """Make renames into ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _is_stored_photo(path):
    """True when ``path`` is named ``<sha256 of its content>.<jpg|png>``: a file the store wrote."""
    match = _STORED_NAME.match(path.name)
    if match is None:
        return False
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return False
    return digest.hexdigest() == match.group(1)


def _pid_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_tree(folder):
    """Remove a staging folder; returns how many files were in it."""
    count = sum(1 for path in folder.rglob("*") if not path.is_dir()) if folder.is_dir() else 0
    shutil.rmtree(folder, ignore_errors=True)
    return count


@dataclass(frozen=True)
class StagedPhoto:
    """A stripped photo written to its writer's staging folder, waiting for its row to commit.

    Attributes
    ----------
    name : str
        The file name it will have in ``photos/``: SHA-256 of its content and extension.
    path : pathlib.Path
        Where it waits.
    width, height : int
        Pixels, orientation applied.
    """

    name: str
    path: Path
    width: int
    height: int


class Store:
    """The record store in one data folder.

    Any number of stores (threads, the app, the CLI, batch workers) may be open on one folder at once.

    Parameters
    ----------
    folder : str or os.PathLike, optional
        Default: :func:`default_data_folder`.
    remove_orphans : bool
        Remove what interrupted saves left behind (:meth:`remove_orphan_files`) on opening; safe while
        other stores are saving.
    check_same_thread : bool
        As for :func:`sqlite3.connect`.

    Raises
    ------
    InputError
        The folder is a file or cannot be written, the database is damaged or not a database, or it
        was written by a newer skinscan (higher schema version).
    """

    def __init__(self, folder=None, remove_orphans=True, check_same_thread=True):
        self.folder = Path(folder) if folder is not None else default_data_folder()
        self.photos_folder = self.folder / "photos"
        self.database_path = self.folder / "skinscan.sqlite3"
        self._staging = None  # (folder, lock file handle), made on the first save
        self._connection = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not os.access(self.folder, os.W_OK | os.X_OK):
                raise PermissionError
            self._connection = sqlite3.connect(
                self.database_path, timeout=30, isolation_level=None, check_same_thread=check_same_thread
            )
            self._connection.row_factory = sqlite3.Row
            self._check_schema_version()  # before anything writes: a damaged or newer database stays as it is
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA foreign_keys=ON")
            self._connection.execute("PRAGMA synchronous=FULL")
            self._migrate()
            self.photos_folder.mkdir(exist_ok=True)
            if not os.access(self.photos_folder, os.W_OK | os.X_OK):
                raise PermissionError
        except (FileExistsError, NotADirectoryError):
            self.close()
            raise InputError(f"{self.folder}: the data folder (or a part of its path) is a file, not a folder") from None
        except PermissionError:
            self.close()
            raise InputError(f"{self.folder}: the data folder cannot be written (no permission)") from None
        except sqlite3.DatabaseError as error:
            self.close()
            raise InputError(f"{self.database_path}: not a usable skinscan database ({error})") from None
        except OSError as error:
            self.close()
            raise InputError(f"{self.folder}: the data folder cannot be used ({error.strerror or error})") from None
        except InputError:
            self.close()
            raise
        if remove_orphans:
            self.remove_orphan_files()

    # --- plumbing -------------------------------------------------------------------------------------

    def close(self):
        """Close the database connection (and give up a staging folder, if one is held)."""
        self._release_staging()
        if self._connection is not None:
            self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def schema_version(self):
        """The schema version (number of migrations applied)."""
        return self._connection.execute("PRAGMA user_version").fetchone()[0]

    def _check_schema_version(self):
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise InputError(
                f"{self.database_path} was written by a newer skinscan (schema {version}; this version "
                f"reads up to {len(MIGRATIONS)}): update skinscan to open it"
            )

    def _migrate(self):
        for number, script in enumerate(MIGRATIONS, start=1):
            if self.schema_version >= number:
                continue
            with self._transaction() as db:
                if self.schema_version >= number:
                    continue  # another process migrated while this one waited for the write lock
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def _transaction(self, place=()):
        """One write transaction (``BEGIN IMMEDIATE``: the only writer until it ends).

        Parameters
        ----------
        place : sequence of StagedPhoto
            Photos to move into ``photos/`` right before the commit, so that a photo file appears
            only together with the rows that refer to it. If anything fails, the files placed here
            are removed again (still under the write lock) and the transaction is rolled back.
        """
        self._connection.execute("BEGIN IMMEDIATE")
        placed = []
        try:
            yield self._connection
            placed = self._place_photos(place)
            self._connection.execute("COMMIT")
        except BaseException:
            for path in placed:
                path.unlink(missing_ok=True)
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            raise

    def _place_photos(self, staged_photos):
        """Rename staged files into ``photos/`` (call only inside a write transaction).

        Returns
        -------
        list of pathlib.Path
            The files this call created (a photo already there, the same content, is left as is).
        """
        placed = []
        for staged in staged_photos:
            target = self.photos_folder / staged.name
            if target.exists() or target in placed:
                continue
            os.replace(staged.path, target)
            placed.append(target)
        if placed:
            _fsync_folder(self.photos_folder)
        return placed

    def _staging_folder(self):
        """This store's own staging folder, created and locked on first use."""
        if self._staging is not None:
            return self._staging[0]
        root = self.photos_folder / STAGING_FOLDER
        root.mkdir(exist_ok=True)
        while True:
            token = uuid.uuid4().hex
            lock = open(root / f"{token}.lock", "a+")
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:  # a cleaner may have removed the file between open and flock: start again then
                same = os.path.samestat(os.stat(lock.name), os.fstat(lock.fileno()))
            except FileNotFoundError:
                same = False
            if same:
                break
            lock.close()
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        folder = root / token
        folder.mkdir()
        self._staging = (folder, lock)
        return folder

    def _release_staging(self):
        """Remove this store's staging folder and its lock file, then release the lock."""
        if self._staging is not None:
            folder, lock = self._staging
            self._staging = None
            shutil.rmtree(folder, ignore_errors=True)
            Path(lock.name).unlink(missing_ok=True)
            lock.close()  # releases the flock

    def _stage_photo(self, data, photo=None):
        """Decode, validate and strip a photo and write it, fsynced, to this store's staging folder.

        Any writer that adds a photo calls this first (outside the transaction), then passes the result
        to ``_transaction(place=[...])`` with the rows that refer to ``staged.name``; wrap both in
        :meth:`_staged` so what is not placed is removed.

        Parameters
        ----------
        data : bytes
            The photo file as the user gave it.
        photo : Photo, optional
            ``data`` already read by :func:`load_photo`.

        Returns
        -------
        StagedPhoto

        Raises
        ------
        InputError
            Not a readable photo.
        """
        loaded = photo if photo is not None else load_photo(data)  # each photo is decoded once, here
        clean, extension = strip_photo(data, loaded)
        name = _content_name(clean, extension)
        path = self._staging_folder() / name
        with open(path, "wb") as handle:
            handle.write(clean)
            handle.flush()
            os.fsync(handle.fileno())
        return StagedPhoto(name=name, path=path, width=loaded.width, height=loaded.height)

    @contextmanager
    def _staged(self):
        """Collect staged photos; on leaving, remove any that were not placed (failure or duplicate)
        and give up the staging folder (a store holds one only while it saves).

        Yields
        ------
        list
            Append :class:`StagedPhoto` objects to it.
        """
        staged = []
        try:
            yield staged
        finally:
            for photo in staged:
                photo.path.unlink(missing_ok=True)
            self._release_staging()

    def _referenced_files(self):
        return {row[0] for row in self._connection.execute("SELECT DISTINCT file FROM photos")}

    def remove_orphan_files(self):
        """Remove what interrupted saves left: abandoned staging folders and unreferenced stored photos.

        A staging folder is removed only when no living writer holds its lock. A file in ``photos/``
        is removed only when no row refers to it and its name is the SHA-256 of its content (a file
        the store wrote), and only under the write lock, so no save is between placing it and its
        commit. Anything else in the data folder is left alone.

        Returns
        -------
        int
            Files removed.
        """
        removed = self._remove_abandoned_staging()
        with self._transaction() as db:
            referenced = {row[0] for row in db.execute("SELECT DISTINCT file FROM photos")}
            for path in self._stored_files():
                if path.name not in referenced and _is_stored_photo(path):
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def _stored_files(self):
        """Files in ``photos/`` named like the store names photos (sub-folders are not looked into)."""
        with os.scandir(self.photos_folder) as entries:
            return [Path(entry.path) for entry in entries
                    if _STORED_NAME.match(entry.name) and entry.is_file(follow_symlinks=False)]

    def _remove_abandoned_staging(self):
        root = self.photos_folder / STAGING_FOLDER
        if not root.is_dir():
            return 0
        own = self._staging[0].name if self._staging is not None else None
        removed = 0
        now = time.time()
        for entry in root.iterdir():
            token = entry.name.removesuffix(".lock")
            if token == own or not re.fullmatch(r"[0-9a-f]{32}", token):
                continue
            folder, lock_path = root / token, root / f"{token}.lock"
            if entry == folder and lock_path.exists():
                continue  # judged through its lock file
            try:
                age = now - entry.stat().st_mtime
                if entry == folder:  # a folder whose lock file is gone: a cleanup was interrupted
                    if age > STAGING_LEASE_SECONDS:
                        removed += _remove_tree(folder)
                    continue
                with open(lock_path, "r+") as lock:
                    if fcntl is not None:
                        try:
                            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        except BlockingIOError:
                            continue  # a living writer
                    pid = lock.read().strip()
                    if pid.isdigit() and _pid_running(int(pid)) and age < STAGING_LEASE_SECONDS:
                        continue  # lock free but its writer may live (no flock here, or pid reused)
                    removed += _remove_tree(folder)
                    lock_path.unlink(missing_ok=True)
            except FileNotFoundError:
                continue  # another cleaner got there first
        return removed

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

    def _require_area(self, area_id):
        """InputError when there is no treated area with this id."""
        if self._connection.execute("SELECT 1 FROM areas WHERE id = ?", (int(area_id),)).fetchone() is None:
            raise InputError(f"no treated area with id {area_id}")

    def rename_area(self, area_id, name):
        """Rename a treated area (a typo, "left brow" that is the right one); the audit log keeps that it was,
        not the names."""
        name = (name or "").strip()
        if not name:
            raise InputError("a treated area needs a name")
        self._require_area(area_id)
        with self._transaction() as db:
            db.execute("UPDATE areas SET name = ? WHERE id = ?", (name, int(area_id)))
            self._log(db, "rename area", f"area #{int(area_id)} renamed")

    def delete_area(self, area_id):
        """Erase a treated area with its visits, photos and measurements (an area made by mistake); the
        photo files go when nothing else uses them. The audit log keeps counts, no personal data."""
        self._require_area(area_id)
        visits = self.visits(area_id)
        files = [photo["file"] for visit in visits for photo in visit["photos"]]
        with self._transaction() as db:
            db.execute("DELETE FROM areas WHERE id = ?", (int(area_id),))
            self._log(db, "delete area", f"area #{int(area_id)} deleted with {len(visits)} visits, {len(files)} photos")
        self._remove_unreferenced(files)

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
        self._require_area(area_id)
        with self._staged() as staged:
            for photo in photos:
                staged.append(self._stage_photo(photo["data"]))
            with self._transaction(place=staged) as db:
                visit_id = db.execute(
                    "INSERT INTO visits (area_id, taken, notes, treatment, created) VALUES (?, ?, ?, ?, ?)",
                    (int(area_id), _taken_text(taken), notes, treatment_text, _now()),
                ).lastrowid
                for photo, stored in zip(photos, staged):
                    _insert_photo(db, visit_id, stored, photo.get("consent", "clinical"), photo.get("measurements", ()))
        return visit_id

    def _remove_unreferenced(self, names):
        """Delete those of these photo files that no committed row refers to (any more).

        Under the write lock, so that no save can take up the same file (same content) meanwhile.
        """
        with self._transaction():
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
        with self._staged() as staged:
            staged.append(self._stage_photo(data))
            with self._transaction(place=staged) as db:
                photo_id = _insert_photo(db, int(visit_id), staged[0], consent, measurements)
                self._log(db, "add photo", f"photo #{photo_id} added to visit #{int(visit_id)}")
        return photo_id

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
        name (``zip_entry``) beside its stored file name; a comparison's row gives the follow-up's contrast
        as compared, says whether it was aligned, not aligned or not compared with which photo, and why it
        failed (``comparison_status``, ``comparison_error``, ``compared_with_file``: a failed comparison
        has no numbers). CSV text cells that a spreadsheet would run as
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
                try:
                    archive.write(self.photo_path(file_name), entry)
                except FileNotFoundError:
                    raise InputError(
                        f"photo file {file_name} ({entry}) is missing from the data folder: nothing was exported"
                    ) from None
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
        referenced = self._referenced_files()
        stray = [p for p in self._stored_files() if p.name not in referenced and _is_stored_photo(p)]
        if stray:
            problems.append(f"{len(stray)} stored photo files are not in the record")
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


def _insert_photo(db, visit_id, staged, consent, measurements):
    """Insert a photo row (and its measurements) for a :class:`StagedPhoto`; returns the row id."""
    photo_id = db.execute(
        "INSERT INTO photos (visit_id, file, consent, width, height, created) VALUES (?, ?, ?, ?, ?, ?)",
        (visit_id, staged.name, consent, staged.width, staged.height, _now()),
    ).lastrowid
    _insert_measurements(db, photo_id, measurements)
    return photo_id


CSV_FIELDS = ("area", "visit_id", "taken", "zip_entry", "photo_file", "consent", "kind", "procedure", "delta_l",
              "delta_a", "delta_b", "delta_e00", "pigmentation", "treated_area_mm2", "fade_percent",
              "redness_resolution_percent", "hue_shift_deg", "quality", "comparison_status", "comparison_error",
              "compared_with_file", "aligned_by")


def comparison_outcome(result):
    """A saved comparison's outcome with the photo it was compared with.

    Parameters
    ----------
    result : dict
        A comparison record's ``result`` (:func:`skinscan.demo.measurement_records`).

    Returns
    -------
    str
        constants.ALIGNED (it has numbers), constants.NOT_ALIGNED (the alignment was refused: perhaps
        other skin) or constants.NOT_COMPARED (it failed for another reason). A record without
        ``aligned`` or ``alignment_refused`` (saved before failures were recorded) is read from its
        registration's ``ok``.
    """
    registration = result.get("registration") or {}
    if registration.get("ok", True) and result.get("aligned", True):
        return constants.ALIGNED
    refused = result.get("alignment_refused", registration.get("ok") is False)
    return constants.NOT_ALIGNED if refused else constants.NOT_COMPARED


def _csv_row(area, visit, photo, measurement):
    result = measurement["result"]
    # A comparison keeps the follow-up's contrast as compared (``followup_contrast``; older records kept
    # the follow-up's whole analysis).
    contrast = (result.get("contrast") or result.get("followup_contrast")
                or result.get("followup", {}).get("contrast", {}))
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
        # The outcome with the photo in compared_with_file (empty for a record saved without it).
        "comparison_status": comparison_outcome(result) if measurement["kind"] == "comparison" else None,
        "comparison_error": without_cli_flags(result["error"]) if result.get("error") else None,
        "compared_with_file": result.get("baseline_file") if measurement["kind"] == "comparison" else None,
        # "landmarks" (the practitioner's matching points, not verified by the app), "features" or "texture".
        "aligned_by": (result.get("registration") or {}).get("method")
        if measurement["kind"] == "comparison" and comparison_outcome(result) == constants.ALIGNED else None,
    }
