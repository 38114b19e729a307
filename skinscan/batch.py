"""Measure a whole archive: one task per photo over the same pipeline functions, serially or on Dask.

A batch is a list of :class:`BatchItem` (from a folder, recursively, or a CSV manifest). Each item is
measured by :func:`measure_item` (``pipeline.analyze`` when it has a box or mask, ``pipeline.compare``
against the first photo of its client and area when there is one, ``pipeline.calibrate`` otherwise),
anywhere: in this process, in local worker processes (``dask.distributed.LocalCluster``) or on an
existing Dask cluster. The driver writes one JSON per photo as results arrive (so an interrupted run
resumes where it stopped: a photo whose JSON holds the same input hash is not measured again), then
one table, a row per photo, as CSV and Parquet. A photo that cannot be measured is a row with the
one-line reason, never a stop. With a record store, each photo is also imported into the record
(client and area from the manifest or the folders, the date from EXIF) with the same measurement
records the app saves.
"""

import csv
import hashlib
import json
import math
import os
import sys
import time
import warnings
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

from .errors import InputError

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif", ".mpo")
"""File name endings a folder batch picks up (case-insensitive)."""

MANIFEST_COLUMNS = ("photo", "roi", "mask", "reference_roi", "chart", "client", "area", "date")
"""Columns a CSV manifest may have; only ``photo`` is required. Boxes are ``X,Y,W,H`` in pixels,
paths are relative to the manifest's folder, ``date`` is ISO 8601 (``2026-10-05`` or
``2026-10-05T10:30``)."""

RESULT_FORMAT = 4
"""Version of what a per-photo JSON holds and how it was measured; part of the input hash, so a change
re-measures. 2: a follow-up whose baseline reference is hidden is compared on shared skin, black ink has
no hue drift, a reference far from the area is warned about. 3: a chosen reference patch inside the
area's box is warned about; a patch the follow-up does not show falls back to the shared skin. 4: the
records keep the chosen patch and whether the area was given as a mask (``measured_on_outline``: the app
compares later visits over it)."""

WORKER_FAILED = "worker failed"
"""How a row starts whose worker died (memory, crash): such photos are measured again on a re-run."""

ROW_HEAD = ("photo", "status", "error", "kind", "client", "area", "date", "taken", "baseline", "seconds")
"""The first columns of the results table; the flattened measurement follows."""


@dataclass(frozen=True)
class BatchItem:
    """One photo to measure and what to measure on it.

    Attributes
    ----------
    photo : str
        Path of the photo file.
    key : str
        Its name in the results (path relative to the batch's folder or manifest).
    roi, reference_roi : tuple of int (x, y, w, h) or None
    mask : str or None
        Path of a mask image (non-zero inside the treated area).
    chart : str
    client, area : str or None
    date : str or None
        ISO date given by the manifest (else the photo's EXIF date is used).
    baseline : BatchItem or None
        The first photo of the same client and area: the item is compared with it.
    """

    photo: str
    key: str
    roi: tuple | None = None
    mask: str | None = None
    reference_roi: tuple | None = None
    chart: str = "classic24"
    client: str | None = None
    area: str | None = None
    date: str | None = None
    baseline: "BatchItem | None" = None

    @property
    def measurable_area(self):
        """True when the item says where the treated area is (box or mask)."""
        return self.roi is not None or self.mask is not None


# --- input --------------------------------------------------------------------------------------------

def items_from_folder(folder, roi=None, chart="classic24", client_area_from_folders=False):
    """Every photo under a folder (recursively, hidden folders skipped), in path order.

    Parameters
    ----------
    folder : str or os.PathLike
    roi : tuple (x, y, w, h), optional
        One box for every photo (else photos are only calibrated, unless a manifest gives boxes).
    chart : str
    client_area_from_folders : bool
        ``folder/<client>/<area>/.../photo``: take client and area from the first two folder levels
        (photos less deep get none), and the date from the photo's EXIF (:func:`exif_date`).

    Returns
    -------
    list of BatchItem
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    items = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or path.suffix.lower() not in PHOTO_SUFFIXES:
            continue
        if not path.is_file():
            continue
        client = area = date = None
        if client_area_from_folders and len(relative.parts) >= 3:
            client, area, date = relative.parts[0], relative.parts[1], exif_date(path)
        items.append(BatchItem(photo=str(path), key=relative.as_posix(), roi=roi, chart=chart,
                               client=client, area=area, date=date))
    return with_baselines(items)


def exif_date(path):
    """When a photo was taken according to its EXIF (DateTimeOriginal, else DateTime), ISO; or None.

    Reads the file's header only (no decoding).
    """
    from PIL import Image

    from .io import _exif_datetime

    try:
        with Image.open(path) as image:
            exif = image.getexif()
            taken = _exif_datetime(exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132))
    except Exception:  # noqa: BLE001 - no date is not an error; the photo's own task reports bad files
        return None
    return None if taken is None else taken.isoformat()


def items_from_manifest(manifest, chart="classic24"):
    """Items from a CSV manifest (columns :data:`MANIFEST_COLUMNS`, a header row first).

    Raises
    ------
    InputError
        No ``photo`` column, an unknown column, a box that is not ``X,Y,W,H``, a date that is not ISO.
    """
    from .segment import parse_box

    manifest = Path(manifest)
    try:
        with open(manifest, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
            header = rows and list(rows[0].keys())
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{manifest}: cannot read the manifest ({error})") from None
    if not rows:
        raise InputError(f"{manifest}: the manifest has no rows")
    unknown = [column for column in header if column not in MANIFEST_COLUMNS]
    if "photo" not in header or unknown:
        raise InputError(f"{manifest}: columns must be among {', '.join(MANIFEST_COLUMNS)} with 'photo' "
                         f"(unknown: {', '.join(map(str, unknown)) or 'none'})")
    base = manifest.parent
    items = []
    for line, row in enumerate(rows, start=2):
        def cell(name):
            value = (row.get(name) or "").strip()
            return value or None

        where = f"{manifest} line {line}"
        if cell("photo") is None:
            raise InputError(f"{where}: no photo")
        photo = base / cell("photo")
        date = cell("date")
        if date is not None:
            try:
                date = datetime.fromisoformat(date).isoformat()
            except ValueError:
                raise InputError(f"{where}: date {date!r} is not like 2026-10-05 or 2026-10-05T10:30") from None
        items.append(BatchItem(
            photo=str(photo), key=cell("photo"),
            roi=parse_box(cell("roi"), f"{where}: roi") if cell("roi") else None,
            mask=str(base / cell("mask")) if cell("mask") else None,
            reference_roi=parse_box(cell("reference_roi"), f"{where}: reference_roi") if cell("reference_roi") else None,
            chart=cell("chart") or chart, client=cell("client"), area=cell("area"), date=date,
        ))
    return with_baselines(items)


def with_baselines(items):
    """Give every photo of a client and area, after the first by date, that first photo as baseline.

    Only photos with a box or mask take part, and only when the baseline has one (boxes are in the
    baseline's coordinates). Order by the manifest date when given, else by key.
    """
    groups = {}
    for item in items:
        if item.client is not None and item.area is not None and item.measurable_area:
            groups.setdefault((item.client, item.area), []).append(item)
    baseline_of = {}
    for members in groups.values():
        members = sorted(members, key=lambda item: (item.date or "", item.key))
        for member in members[1:]:
            baseline_of[member.key] = members[0]
    return [replace(item, baseline=baseline_of.get(item.key)) for item in items]


def input_hash(item):
    """SHA-256 over everything a result depends on: the files' bytes and the measuring parameters.

    Returns
    -------
    str
        Hex digest; a file that cannot be read counts by its name (the error row is then remade).
    """
    digest = hashlib.sha256(f"skinscan-batch {RESULT_FORMAT}".encode())
    for current in (item, item.baseline) if item.baseline is not None else (item,):
        parameters = {k: v for k, v in asdict(current).items() if k not in ("photo", "key", "baseline", "mask")}
        digest.update(json.dumps(parameters, sort_keys=True).encode())
        for path in (current.photo, current.mask):
            if path is None:
                digest.update(b"-")
                continue
            try:
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
            except OSError:
                digest.update(f"unreadable {path}".encode())
    return digest.hexdigest()


# --- one photo ----------------------------------------------------------------------------------------

def measure_item(item):
    """Measure one photo with the pipeline; never raises.

    Parameters
    ----------
    item : BatchItem

    Returns
    -------
    dict
        ``{"kind": "analysis" | "comparison" | "calibration" | None, "error": str | None,
        "result": the command's ``to_dict()`` (``skinscan analyze|compare|calibrate --json``) or None,
        "records": what the record store keeps for it (as the app saves it; a comparison with the first
        photo that was tried and failed is kept as such, :func:`skinscan.demo.measurement_records`),
        "taken": EXIF date or None, "warnings": [str], "seconds": float}``.
    """
    from . import pipeline
    from .demo import measurement_records
    from .io import load_mask

    start = time.perf_counter()
    reset_random_state()
    outcome = {"kind": None, "error": None, "result": None, "records": [], "taken": None, "warnings": []}
    try:
        analysis = comparison = comparison_error = None
        if item.baseline is not None:
            base = item.baseline
            try:
                comparison = pipeline.compare(
                    base.photo, item.photo, roi=base.roi, mask=load_mask(base.mask) if base.mask else None,
                    reference_roi=base.reference_roi, chart=base.chart,
                )
                analysis = comparison.followup
            except InputError as error:  # e.g. the views differ: measure the photo on its own
                outcome["warnings"].append(f"not compared with {base.key}: {error}")
                comparison_error = error  # the record says it was tried, and why it failed
        if analysis is None and item.measurable_area:
            analysis = pipeline.analyze(
                item.photo, roi=item.roi, mask=load_mask(item.mask) if item.mask else None,
                reference_roi=item.reference_roi, chart=item.chart,
            )
        if comparison is not None:
            outcome.update(kind="comparison", result=comparison.to_dict(),
                           records=measurement_records(analysis, None, comparison, item.chart))
        elif analysis is not None:
            outcome.update(kind="analysis", result=analysis.to_dict(),
                           records=measurement_records(analysis, item.roi, None, item.chart,
                                                       comparison_error=comparison_error,
                                                       reference_roi=item.reference_roi,
                                                       measured_on_outline=item.mask is not None))
        else:
            calibration = pipeline.calibrate(item.photo, chart=item.chart)
            outcome.update(kind="calibration", result=calibration.to_dict())
        photo = (analysis.calibration if analysis is not None else calibration).photo
        outcome["taken"] = None if photo.taken is None else photo.taken.isoformat()
    except InputError as error:
        outcome["error"] = str(error)
    except Exception as error:  # noqa: BLE001 - a batch never stops on one photo; the row says why
        outcome["error"] = f"internal error: {type(error).__name__}: {error}".splitlines()[0]
    outcome["seconds"] = round(time.perf_counter() - start, 3)
    return _finite(outcome)


def reset_random_state():
    """Put OpenCV's and the C library's random generators in their start state before a photo's task.

    Registration's robust fits draw from OpenCV's per-thread ``theRNG()``, and FLANN matching (used
    by registration until 2026-11-26) from the process-wide C ``rand()``. Left as they were, a
    comparison depended on what the process (or the worker's thread) had measured before it (seen:
    42 vs 43 inliers, 0.237 vs 0.263 px for the same pair), and a worker did not give the serial result. After this, every task starts from the
    same state whatever ran before it in its process or thread: ``cv::RNG`` at a new thread's state
    (``setRNGSeed(-1)``), ``srand(1)``. (A one-off ``skinscan compare`` can still differ from the batch
    in the last inlier or so, if anything before registration draws from these generators.)
    Where the C library cannot be reached, only OpenCV's generator is reset.
    """
    import cv2

    cv2.setRNGSeed(-1)
    try:
        import ctypes

        ctypes.CDLL(None).srand(1)
    except Exception:  # noqa: BLE001 - no C library handle (e.g. Windows)
        pass


def _finite(value):
    """Non-finite floats (NaN, ±inf) -> None, so that JSON stays strict."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


# --- rows ---------------------------------------------------------------------------------------------

_LAB_PARTS = ("l", "a", "b")
_LONG_LISTS = ("corners", "patches", "patch_rgb", "per_patch", "outline")


def flatten_result(kind, result):
    """A measurement's ``to_dict()`` as one flat row: nested keys joined with ``_``.

    For a comparison the row holds the follow-up's analysis and the comparison's own numbers
    (``registration_*``, ``fade_percent``, ...). ``lab`` triples become ``*_lab_l``, ``*_lab_a``,
    ``*_lab_b``; lists of words are joined with ``"; "``; long lists (corners, patch centres and
    colours, per-patch residuals, outlines) stay in the per-photo JSON only.

    Parameters
    ----------
    kind : str or None
    result : dict or None

    Returns
    -------
    dict
    """
    if not result:
        return {}
    if kind == "comparison":
        main = result["followup"]
        extra = {key: value for key, value in result.items() if key not in ("baseline", "followup")}
    else:
        main, extra = result, {}
    row = {}
    _flatten_into(row, "", main)
    _flatten_into(row, "", extra)
    return row


def _flatten_into(row, prefix, value):
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{prefix}_{key}" if prefix else str(key)
            if key in _LONG_LISTS:
                continue
            _flatten_into(row, name, item)
    elif isinstance(value, list):
        if prefix.endswith("lab") and len(value) == 3:
            for part, item in zip(_LAB_PARTS, value):
                row[f"{prefix}_{part}"] = item
        elif all(isinstance(item, str) for item in value):
            row[prefix] = "; ".join(value)
        # other lists: in the JSON only
    else:
        row[prefix] = value


def result_row(item, outcome):
    """The table row of one photo: :data:`ROW_HEAD` then the flattened measurement."""
    row = {
        "photo": item.key, "status": "error" if outcome["error"] else "ok", "error": outcome["error"],
        "kind": outcome["kind"], "client": item.client, "area": item.area, "date": item.date,
        "taken": outcome.get("taken"), "baseline": item.baseline.key if item.baseline is not None else None,
        "seconds": outcome.get("seconds"),
    }
    measured = flatten_result(outcome["kind"], outcome["result"])
    if outcome.get("warnings"):
        measured["warnings"] = "; ".join(filter(None, [*outcome["warnings"], measured.get("warnings")]))
    row.update(measured)
    return row


def write_tables(rows, folder):
    """Write ``results.csv`` and ``results.parquet``: one row per photo, columns in first-seen order.

    A column holds one type: booleans, integers, or floats (integers and floats mixed); anything else
    is text. Empty cells are empty in CSV and null in Parquet.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    columns = list(ROW_HEAD)
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    csv_path, parquet_path = folder / "results.csv", folder / "results.parquet"
    with open(csv_path.with_suffix(".csv.part"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(csv_path.with_suffix(".csv.part"), csv_path)
    arrays = {name: _column_array(pa, [row.get(name) for row in rows]) for name in columns}
    pq.write_table(pa.table(arrays), parquet_path.with_suffix(".parquet.part"))
    os.replace(parquet_path.with_suffix(".parquet.part"), parquet_path)
    return csv_path, parquet_path


def _column_array(pa, values):
    present = [value for value in values if value is not None]
    if present and all(isinstance(value, bool) for value in present):
        return pa.array(values, pa.bool_())
    if present and all(isinstance(value, int) and not isinstance(value, bool) for value in present):
        return pa.array(values, pa.int64())
    if present and all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in present):
        return pa.array([None if value is None else float(value) for value in values], pa.float64())
    return pa.array([None if value is None else str(value) for value in values], pa.string())


# --- running ------------------------------------------------------------------------------------------

class Progress:
    """Progress on a stream (stderr): done/total, photos per second this run, errors, time left.

    Rewrites one line on a terminal; elsewhere prints a line at most every ``every`` seconds.
    """

    def __init__(self, total, skipped=0, stream=None, every=5.0):
        self.total, self.done, self.errors = total, skipped, 0
        self.skipped = skipped
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self.start = time.perf_counter()
        self._last = -math.inf
        self._terminal = hasattr(self.stream, "isatty") and self.stream.isatty()

    def line(self):
        """The progress text."""
        elapsed = time.perf_counter() - self.start
        measured = self.done - self.skipped
        rate = measured / elapsed if elapsed > 0 and measured else 0.0
        left = (self.total - self.done) / rate if rate else None
        percent = 100.0 * self.done / self.total if self.total else 100.0
        parts = [f"batch: {self.done}/{self.total} photos ({percent:.0f} %)"]
        if self.skipped:
            parts.append(f"{self.skipped} already done")
        parts.append(f"{rate:.2f} photos/s")
        if self.errors:
            parts.append(f"{self.errors} error{'s' if self.errors != 1 else ''}")
        if left is not None and self.done < self.total:
            parts.append(f"about {_duration(left)} left")
        return ", ".join(parts)

    def update(self, error=False):
        """Count one more photo done."""
        self.done += 1
        self.errors += bool(error)
        now = time.perf_counter()
        if self._terminal:
            self.stream.write("\r" + self.line() + "\x1b[K")
            self.stream.flush()
        elif now - self._last >= self.every or self.done == self.total:
            print(self.line(), file=self.stream, flush=True)
            self._last = now

    def finish(self):
        """End the progress line (on a terminal)."""
        if self._terminal:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def json_path(folder, item):
    """Where an item's JSON goes: ``json/<key>.json`` (a flat hashed name when the key leaves the tree)."""
    key = Path(item.key)
    if key.is_absolute() or ".." in key.parts:
        key = Path(f"{hashlib.sha256(item.key.encode()).hexdigest()[:16]}-{key.name}")
    return Path(folder) / "json" / f"{key.as_posix()}.json"


def _done_before(path, digest):
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    outcome = saved.get("outcome") if isinstance(saved, dict) else None
    if not isinstance(outcome, dict) or saved.get("input_hash") != digest or "row" not in saved \
            or str(outcome.get("error")).startswith(WORKER_FAILED):
        return None  # changed since, or lost to a worker that died: measure again
    return saved


def _write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(data, indent=1, allow_nan=False), encoding="utf-8")
    os.replace(part, path)


def _serial(items):
    for item in items:
        yield item, measure_item(item)


def _on_dask(items, client):
    from dask.distributed import as_completed

    futures = client.map(measure_item, items, pure=False)
    item_of = {future.key: item for future, item in zip(futures, items)}
    for future in as_completed(futures):
        item = item_of[future.key]
        try:
            outcome = future.result()
        except Exception as error:  # noqa: BLE001 - a worker died (memory, crash): that photo's row says so
            outcome = {"kind": None, "error": f"{WORKER_FAILED}: {type(error).__name__}: {error}".splitlines()[0],
                       "result": None, "records": [], "taken": None, "warnings": [], "seconds": None}
        future.release()
        yield item, outcome


def local_cluster(workers=None):
    """A ``dask.distributed`` client on local worker processes (one thread each).

    Parameters
    ----------
    workers : int, optional
        Default: the number of CPUs.

    Returns
    -------
    dask.distributed.Client
        Close it (it closes its cluster) when done.
    """
    import logging

    from dask.distributed import Client, LocalCluster

    with warnings.catch_warnings():  # with the dashboard off, another cluster on :8787 only moves a health port
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster)


def run_batch(items, out, client=None, store=None, progress=None):
    """Measure every item and write the results; returns the rows.

    Parameters
    ----------
    items : sequence of BatchItem
    out : str or os.PathLike
        Output folder: ``results.csv``, ``results.parquet``, ``json/<photo>.json``.
    client : dask.distributed.Client or callable, optional
        Where to run the photos' tasks: a client, or a function that makes one (called only when
        there is something to measure); None runs them here, one after the other.
    store : skinscan.store.Store, optional
        Import every readable photo, with its measurements, into this record (see :func:`import_photo`).
    progress : Progress or False, optional
        Default: progress on stderr.

    Returns
    -------
    list of dict
        One row per item, in the items' order.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"{out}: cannot make the output folder ({error.strerror})") from None
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise InputError("two photos in the batch have the same name")
    saved, todo, digests = {}, [], {}
    for item in items:
        digests[item.key] = input_hash(item)
        previous = _done_before(json_path(out, item), digests[item.key])
        if previous is not None:
            saved[item.key] = previous
        else:
            todo.append(item)
    if progress is None:
        progress = Progress(len(items), skipped=len(saved))
    baseline_files = {}  # stored file names of the series' first photos (import_photo)
    if store is not None:  # measured by an earlier run that did not import them
        for item in items:
            data = saved.get(item.key)
            if data is not None and data.get("imported") is None:
                data["imported"] = import_photo(store, item, data["outcome"], baseline_files)
                _write_json(json_path(out, item), data)
    if client is not None and todo and callable(client) and not hasattr(client, "submit"):
        client = client()
    runner = _serial(todo) if client is None or not todo else _on_dask(todo, client)
    for item, outcome in runner:
        data = {"photo": item.key, "input_hash": digests[item.key], "row": result_row(item, outcome),
                "outcome": outcome}
        if store is not None:
            data["imported"] = import_photo(store, item, outcome, baseline_files)
        _write_json(json_path(out, item), data)
        saved[item.key] = data
        if progress:
            progress.update(error=outcome["error"] is not None)
    if progress:
        progress.finish()
    rows = [saved[item.key]["row"] for item in items]
    write_tables(rows, out)
    return rows


# --- into the record ----------------------------------------------------------------------------------

IMPORT_NOTE = "imported by skinscan batch"


def import_photo(store, item, outcome, baseline_files=None):
    """Save a measured photo into the record: its client and area (made when missing), on the visit of
    that day (made when missing), with the measurement records the app saves.

    A comparison keeps the stored file of the photo it was made against (``baseline_file``, the
    series' first photo, :func:`store.stored_file_name`): the timeline then shows it only while that
    photo is the area's first visit (an area with earlier visits keeps them first). ``baseline_files``
    caches those names per baseline photo across a run.

    The date is the manifest's, else the photo's EXIF date, else the file's modification time. A photo
    without client and area, or that could not be read, is not imported.

    Returns
    -------
    dict or None
        ``{"client_id", "area_id", "visit_id", "photo_id"}``, or None when not imported.
    """
    if item.client is None or item.area is None:
        return None
    try:
        data = Path(item.photo).read_bytes()
    except OSError:
        return None
    if outcome.get("kind") is None:  # nothing was measured: import it only if it is a photo at all
        from .io import load_photo

        try:
            load_photo(data)
        except InputError:
            return None
    taken = item.date or outcome.get("taken")
    if taken is None:
        taken = datetime.fromtimestamp(os.path.getmtime(item.photo)).isoformat(timespec="seconds")
    client_id = next((c["id"] for c in store.clients(item.client) if c["name"] == item.client), None)
    if client_id is None:
        client_id = store.add_client(item.client)
    area_id = next((a["id"] for a in store.areas(client_id) if a["name"] == item.area), None)
    if area_id is None:
        area_id = store.add_area(client_id, item.area)
    day = str(taken)[:10]
    visit_id = next((v["id"] for v in store.visits(area_id) if str(v["taken"])[:10] == day), None)
    records = outcome.get("records") or []
    if item.baseline is not None and any(record["kind"] == "comparison" for record in records):
        from .store import stored_file_name

        baseline_files = {} if baseline_files is None else baseline_files
        if item.baseline.key not in baseline_files:
            try:
                baseline_files[item.baseline.key] = stored_file_name(Path(item.baseline.photo).read_bytes())
            except (OSError, InputError):
                baseline_files[item.baseline.key] = None
        records = [{**record, "result": {**record["result"], "baseline_file": baseline_files[item.baseline.key]}}
                   if record["kind"] == "comparison" and baseline_files[item.baseline.key] else record
                   for record in records]
    try:
        if visit_id is None:
            visit_id = store.save_visit(area_id, taken, [{"data": data, "measurements": records}], notes=IMPORT_NOTE)
            photo_id = store.visit(visit_id)["photos"][-1]["id"]
        else:
            photo_id = store.add_photo_to_visit(visit_id, data, measurements=records)
    except InputError:
        return None
    return {"client_id": client_id, "area_id": area_id, "visit_id": visit_id, "photo_id": photo_id}
