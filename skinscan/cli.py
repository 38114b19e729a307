"""The ``skinscan`` command. Prints ``to_dict()`` as JSON with ``--json``; exit 2 and one line on
stderr for bad input; exit 1 and one line ("internal error: ...") for anything unexpected, never a
traceback.

The pipeline is imported only when a command runs, so ``skinscan --help`` costs no OpenCV or SciPy.
Each subcommand is a function in ``COMMANDS`` that takes the parsed arguments and returns the exit code.
"""

import argparse
import json
import math
import os
import sys
import warnings
from contextlib import contextmanager
from datetime import datetime

from .errors import InputError


class _ChartNames:
    """The ``--chart`` choices, read from :mod:`skinscan.constants` only when argparse needs them (the
    constants bring numpy in; ``skinscan --help`` does without)."""

    def __contains__(self, name):
        return name in self._names()

    def __iter__(self):
        return iter(self._names())

    @staticmethod
    def _names():
        from .constants import CHART_TYPES

        return CHART_TYPES


CHART_TYPES = _ChartNames()
# A metavar keeps argparse from listing the choices while the parser is built.
_CHART_OPTION = {"choices": CHART_TYPES, "default": "classic24", "metavar": "CHART",
                 "help": "which card, sets the scale: %(choices)s (default %(default)s)"}


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="skinscan", description="Colour-calibrated skin measurements from photos with a colour card."
    )
    parser.add_argument("--data", help="data folder of the client record (default: $SKINSCAN_DATA or ~/.local/share/skinscan)")
    commands = parser.add_subparsers(dest="command", required=True)
    calibrate = commands.add_parser("calibrate", help="find the colour card and fit the colour correction")
    calibrate.add_argument("photo", help="photo file (JPEG, PNG, TIFF, WebP; HEIC with the extra)")
    calibrate.add_argument(
        "--corners", help="X1,Y1,...,X4,Y4: the outer corners of the card's patch area, any order"
    )
    calibrate.add_argument("--chart", **_CHART_OPTION)
    calibrate.add_argument("--json", action="store_true", help="print the result as one JSON object")
    calibrate.add_argument("--out", help="folder to write corrected.png and card.png into")

    analyze = commands.add_parser("analyze", help="measure a treated area against the skin around it")
    analyze.add_argument("photo", help="photo file")
    analyze.add_argument("--roi", help="X,Y,W,H: a loose box around the treated area (pixels)")
    analyze.add_argument("--mask", help="image of the photo's size, non-zero inside the treated area")
    analyze.add_argument("--whole-roi", action="store_true", help="the whole --roi box is the treated area")
    analyze.add_argument("--reference-roi", help="X,Y,W,H: untreated skin to compare with (default: a ring around)")
    analyze.add_argument("--corners", help="X1,Y1,...,X4,Y4: card patch-area corners when detection fails")
    analyze.add_argument("--chart", **_CHART_OPTION)
    analyze.add_argument("--json", action="store_true", help="print the result as one JSON object")
    analyze.add_argument("--out", help="folder to write mask.png, reference.png, overlay.png, corrected.png into")

    compare = commands.add_parser("compare", help="measure a follow-up over the same skin as its baseline")
    compare.add_argument("baseline", help="baseline photo")
    compare.add_argument("followup", help="follow-up photo")
    compare.add_argument("--roi", help="X,Y,W,H in the baseline: a loose box around the treated area")
    compare.add_argument("--mask", help="baseline-sized image, non-zero inside the treated area")
    compare.add_argument("--whole-roi", action="store_true", help="the whole --roi box is the treated area")
    compare.add_argument("--reference-roi", help="X,Y,W,H in the baseline: untreated skin to compare with")
    compare.add_argument(
        "--landmarks",
        help="when alignment fails: 3 or 4 baseline points then the same points in the follow-up, X,Y,...",
    )
    compare.add_argument("--chart", **_CHART_OPTION)
    compare.add_argument("--json", action="store_true", help="print the result as one JSON object")
    compare.add_argument("--out", help="folder for baseline_overlay.png, followup_overlay.png and followup_mask.png "
                         "(the baseline's area mapped into the follow-up)")

    series = commands.add_parser("timeline", help="a series of photos of one area, in date order")
    series.add_argument("photos", nargs="+", help="photos of the same area (two or more)")
    series.add_argument("--roi", help="X,Y,W,H in the first photo by date: a loose box around the area")
    series.add_argument("--mask", help="image the size of the first photo, non-zero inside the area")
    series.add_argument("--reference-roi", help="X,Y,W,H in the first photo: untreated skin to compare with")
    series.add_argument("--dates", help="when each photo was taken, in the order given: YYYY-MM-DD[THH:MM],...")
    series.add_argument("--chart", **_CHART_OPTION)
    output = series.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the series as one JSON object")
    output.add_argument("--csv", action="store_true", help="print the series as CSV, one row per photo")

    _add_batch_parser(commands)

    clients = commands.add_parser("clients", help="list the clients in the record")
    clients.add_argument("--search", default="", help="part of a name")
    clients.add_argument("--json", action="store_true")
    export = commands.add_parser("export", help="a client's record as a ZIP (photos, measurements.csv, record.json)")
    export.add_argument("client_id", type=int)
    export.add_argument("zip", help="file to write")
    erase = commands.add_parser("erase", help="delete a client and everything held about them")
    erase.add_argument("client_id", type=int)
    erase.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    return parser


def _add_batch_parser(commands):
    batch = commands.add_parser(
        "batch", help="measure a folder or a CSV manifest of photos (resumable; local processes or Dask)")
    batch.add_argument("source", help="a folder (searched recursively) or a CSV manifest with columns "
                                      "photo,roi,mask,reference_roi,chart,client,area,date")
    batch.add_argument("--out", required=True, help="folder for results.csv, results.parquet and json/")
    batch.add_argument("--roi", help="X,Y,W,H: one box for every photo of a folder (else only the card is read)")
    batch.add_argument("--chart", **{**_CHART_OPTION, "help": "which card, where not given: %(choices)s"})
    where = batch.add_mutually_exclusive_group()
    where.add_argument("--serial", action="store_true", help="measure here, one photo after the other")
    where.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (tcp://host:8786); "
                                                              "its workers must see the photos' paths")
    batch.add_argument("--workers", type=int, help="local worker processes (default: one per CPU)")
    batch.add_argument("--import", dest="import_", action="store_true",
                       help="also save every photo into the record: client and area from the manifest or "
                            "from the folders (SOURCE/client/area/photo), date from EXIF")
    batch.add_argument("--json", action="store_true", help="print a summary as one JSON object")


def _batch_command(args):
    """``skinscan batch``: measure every photo, write the tables, print a summary."""
    from . import batch
    from .segment import parse_box

    roi = parse_box(args.roi, "--roi") if args.roi else None
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers takes a number of processes, 1 or more")
    if os.path.isdir(args.source):
        items = batch.items_from_folder(args.source, roi=roi, chart=args.chart, client_area_from_folders=args.import_)
    elif os.path.isfile(args.source) and args.source.lower().endswith(".csv"):
        items = batch.items_from_manifest(args.source, chart=args.chart)
    else:
        raise InputError(f"{args.source}: neither a folder nor a .csv manifest")
    if not items:
        raise InputError(f"{args.source}: no photos found")
    clients = []  # made only when some photo needs measuring (a resumed, finished batch starts none)

    def connect():
        if args.scheduler:
            from dask.distributed import Client

            try:
                clients.append(Client(args.scheduler, timeout="10s"))
            except (OSError, TimeoutError, ValueError) as error:
                raise InputError(f"--scheduler {args.scheduler}: cannot reach a Dask scheduler ({error})") from None
        else:
            clients.append(batch.local_cluster(args.workers))
        return clients[-1]

    store = None
    try:
        if args.import_:
            from .store import Store

            store = Store(args.data)
        rows = batch.run_batch(items, args.out, client=None if args.serial else connect, store=store)
    finally:
        for client in clients:
            cluster = None if args.scheduler else client.cluster
            client.close()
            if cluster is not None:
                cluster.close()
        if store is not None:
            store.close()
    errors = sum(row["status"] == "error" for row in rows)
    summary = {"photos": len(rows), "ok": len(rows) - errors, "errors": errors,
               "csv": os.path.join(args.out, "results.csv"), "parquet": os.path.join(args.out, "results.parquet")}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['photos']} photos: {summary['ok']} measured, {errors} with errors -> "
              f"{summary['csv']}, {summary['parquet']}")
    return 0


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _ArgumentError(message)


def _summary_calibrate(result):
    lines = []
    card_info = result.card_dict()
    if card_info["found"]:
        residual = card_info["residual_de00"]
        lines.append(
            f"card: {card_info['chart']} found ({result.reading.method}), "
            f"{result.quality.details['usable_patches']} of 24 patches used, "
            f"residual {residual['mean']:.2f} mean / {residual['max']:.2f} max CIEDE2000 (leave-one-out), "
            f"{card_info['px_per_mm']:.2f} px/mm"
        )
    else:
        lines.append("card: not found")
    reasons = "; ".join(result.quality.reasons)
    lines.append(f"quality: {result.quality.verdict}" + (f" ({reasons})" if reasons else ""))
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def _summary_analyze(result):
    treated, reference, contrast = result.treated, result.reference, result.contrast
    u = result.uncertainty
    area = f", {treated.area_mm2:.1f} mm²" if treated.area_mm2 is not None else ""
    lines = [
        f"treated area: {treated.pixels} px{area}; L*a*b* {treated.lab[0]:.1f} {treated.lab[1]:.1f} {treated.lab[2]:.1f}; "
        f"ITA {treated.ita_deg:.1f}° ({treated.ita_category}); erythema index {treated.erythema_index:.1f}",
        f"reference skin: L*a*b* {reference.lab[0]:.1f} {reference.lab[1]:.1f} {reference.lab[2]:.1f}; "
        f"ITA {reference.ita_deg:.1f}° ({reference.ita_category}); erythema index {reference.erythema_index:.1f}",
        f"contrast: ΔL* {contrast.delta_l:+.1f} ± {u['delta_l']:.1f}, Δa* {contrast.delta_a:+.1f} ± {u['delta_a']:.1f}, "
        f"Δb* {contrast.delta_b:+.1f} ± {u['delta_b']:.1f}, ΔE00 {contrast.delta_e00:.1f} ± {u['delta_e00']:.1f} "
        f"-> {contrast.pigmentation}, {contrast.redness}",
    ]
    quality = result.calibration.quality
    reasons = "; ".join(quality.reasons)
    lines.append(f"quality: {quality.verdict}" + (f" ({reasons})" if reasons else ""))
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def _write_analyze_images(result, out):
    from . import segment
    from .io import save_png

    corrected = result.calibration.corrected_image()
    treated, reference = result.full_mask("treated"), result.full_mask("reference")
    save_png(os.path.join(out, "corrected.png"), corrected)
    save_png(os.path.join(out, "mask.png"), treated.astype("uint8") * 255)
    save_png(os.path.join(out, "reference.png"), reference.astype("uint8") * 255)
    save_png(os.path.join(out, "overlay.png"), segment.draw_regions(corrected, treated, reference))


def _summary_compare(result):
    data = result.to_dict()

    def shown(value, unit=""):
        return "n/a" if value is None else f"{value:+.1f}{unit}"

    registration = result.registration
    lines = [
        f"alignment: {registration.method}, {registration.inliers} matches, residual {registration.residual_px:.2f} px, "
        f"confidence {registration.confidence:.2f}",
        f"baseline: ΔE00 {result.baseline.contrast.delta_e00:.1f}, Δa* {result.baseline.contrast.delta_a:+.1f}",
        f"follow-up: ΔE00 {result.followup.contrast.delta_e00:.1f}, Δa* {result.followup.contrast.delta_a:+.1f}",
        f"fade {shown(data['fade_percent'], ' %')}, redness resolved {shown(data['redness_resolution_percent'], ' %')}, "
        f"hue shift {shown(data['hue_shift_deg'], '°')}, area change {shown(data['area_change_percent'], ' %')}",
    ]
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def _write_compare_images(result, out):
    from . import segment
    from .io import save_png

    for name, analysis in (("baseline", result.baseline), ("followup", result.followup)):
        corrected = analysis.calibration.corrected_image()
        overlay = segment.draw_regions(corrected, analysis.full_mask("treated"), analysis.full_mask("reference"))
        save_png(os.path.join(out, f"{name}_overlay.png"), overlay)
    save_png(os.path.join(out, "followup_mask.png"), result.followup_mask().astype("uint8") * 255)


def _area_arguments(args):
    """--roi, --mask and --reference-roi, parsed, as keyword arguments of the pipeline."""
    from . import segment
    from .io import load_mask

    return {
        "roi": segment.parse_box(args.roi, "--roi") if args.roi else None,
        "mask": load_mask(args.mask) if args.mask else None,
        "reference_roi": segment.parse_box(args.reference_roi, "--reference-roi") if args.reference_roi else None,
    }


@contextmanager
def _replacing_file(path):
    """A handle on a temporary file beside ``path`` that replaces it only when the block succeeds.

    Raises
    ------
    InputError
        The folder is missing or cannot be written, or ``path`` is a folder.
    """
    import tempfile

    path = os.path.abspath(path)
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder; give a file name to write")
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise InputError(f"{folder}: the folder is missing")
    try:
        handle = tempfile.NamedTemporaryFile("wb", dir=folder, prefix=".skinscan-", suffix=".part", delete=False)
    except OSError as error:
        raise InputError(f"{folder}: cannot write there ({error.strerror})") from None
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except OSError as error:
        raise InputError(f"{path}: could not be written ({error.strerror})") from None
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)


def _record_command(args):
    from .store import Store

    with Store(args.data) as store:
        if args.command == "clients":
            found = store.clients(args.search)
            if args.json:
                print(json.dumps({"clients": found}))
            else:
                for client in found:
                    print(f"{client['id']:>5}  {client['name']}")
        elif args.command == "export":
            with _replacing_file(args.zip) as handle:  # checked and opened before the export is logged
                data = store.export_client(args.client_id)
                handle.write(data)
            print(f"wrote {args.zip} ({len(data) / 1e6:.1f} MB)")
        else:
            if not args.yes:
                raise InputError("erasing a client cannot be undone: add --yes to confirm")
            store.erase_client(args.client_id)
            print(f"client {args.client_id} erased")
    return 0


def _parse_dates(text):
    dates = []
    for part in text.split(","):
        try:
            dates.append(datetime.fromisoformat(part.strip()))
        except ValueError:
            raise InputError(f"--dates: {part.strip()!r} is not a date like 2026-10-05 or 2026-10-05T10:30") from None
    return dates


def _summary_timeline(result):
    lines = []
    for visit in result.visits:
        row = visit.row()
        extra = ""
        if not visit.aligned:
            lines.append(f"{row['taken']} (+{row['hours_since_first']:.0f} h): not aligned with the first photo "
                         f"({row['alignment_message']}): no numbers")
            continue
        if visit.error:
            lines.append(f"{row['taken']} (+{row['hours_since_first']:.0f} h): not measured ({visit.error}): no numbers")
            continue
        if visit.comparison is not None:
            resolved = row["redness_resolution_percent"]
            fade = row["fade_percent"]
            extra = (f", fade {fade:+.0f} %" if fade is not None else "") + (
                f", redness resolved {resolved:+.0f} %" if resolved is not None else "")
        flag = "  <- redness persists" if visit.persistent_redness else ""
        lines.append(f"{row['taken']} (+{row['hours_since_first']:.0f} h): Δa* {row['delta_a']:+.1f}, "
                     f"ΔE00 {row['delta_e00']:.1f}{extra}{flag}")
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def _write_calibrate_images(result, out):
    from . import card
    from .io import save_png

    save_png(os.path.join(out, "corrected.png"), result.corrected_image())
    if result.reading is not None:
        save_png(os.path.join(out, "card.png"), card.draw_reading(result.photo.pixels, result.reading))
    else:
        save_png(os.path.join(out, "card.png"), card.to_uint8(result.photo.pixels))


def _output_folder(path):
    """Make sure ``--out`` is a folder we can write into (before any work is done); return it.

    Raises
    ------
    InputError
        A file of that name exists (it is left alone), or the folder cannot be made or written.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise InputError(f"--out {path}: exists and is not a folder (nothing was overwritten)")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise InputError(f"--out {path}: cannot create the folder ({error.strerror or error})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"--out {path}: the folder cannot be written")
    return path


def _corners(args):
    from . import card

    return card.parse_corners(args.corners) if args.corners else None


def _calibrate_command(args):
    from . import pipeline

    result = pipeline.calibrate(args.photo, corners=_corners(args), chart=args.chart)
    if args.out:
        _write_calibrate_images(result, args.out)
    return _emit(args, result, _summary_calibrate)


def _analyze_command(args):
    from . import pipeline

    result = pipeline.analyze(
        args.photo, **_area_arguments(args), whole_roi=args.whole_roi, corners=_corners(args), chart=args.chart
    )
    if args.out:
        _write_analyze_images(result, args.out)
    return _emit(args, result, _summary_analyze)


def _compare_command(args):
    from . import pipeline, register

    result = pipeline.compare(
        args.baseline,
        args.followup,
        **_area_arguments(args),
        whole_roi=args.whole_roi,
        landmarks=register.parse_landmarks(args.landmarks) if args.landmarks else None,
        chart=args.chart,
    )
    if args.out:
        _write_compare_images(result, args.out)
    return _emit(args, result, _summary_compare)


def _timeline_command(args):
    from . import pipeline

    result = pipeline.timeline(
        args.photos,
        **_area_arguments(args),
        dates=_parse_dates(args.dates) if args.dates else None,
        chart=args.chart,
    )
    if args.csv:
        sys.stdout.write(result.to_csv())
        return 0
    return _emit(args, result, _summary_timeline)


#: Subcommand name -> function(args) -> exit code.
COMMANDS = {
    "calibrate": _calibrate_command,
    "analyze": _analyze_command,
    "compare": _compare_command,
    "timeline": _timeline_command,
    "batch": _batch_command,
    "clients": _record_command,
    "export": _record_command,
    "erase": _record_command,
}


def json_safe(value):
    """A JSON-ready copy of ``value`` with NaN and infinities as None and numpy scalars as Python ones.

    Parameters
    ----------
    value : dict, list, tuple, float, int, str, bool, None or numpy scalar

    Returns
    -------
    object
        Serialisable with ``json.dumps(..., allow_nan=False)`` (strict JSON: RFC 8259 has no NaN).
    """
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars and 0-d arrays
        return json_safe(value.item())
    if hasattr(value, "tolist"):
        return json_safe(value.tolist())
    return value


def _emit(args, result, summary):
    if args.json:
        print(json.dumps(json_safe(result.to_dict()), allow_nan=False))
    else:
        print(summary(result))
    return 0


def _build_cli_parser():
    parser = _build_parser()
    parser.__class__ = _Parser
    for action in parser._subparsers._group_actions:  # subcommand parsers report errors the same way
        for sub in action.choices.values():
            sub.__class__ = _Parser
    return parser


def _one_line(error):
    return " ".join(str(error).split())[:300]


def _run_command(args):
    """Run one parsed command: bad input -> one line and 2; anything unexpected -> one line and 1."""
    try:
        with warnings.catch_warnings():
            # Library warnings (numpy overflow on a hostile number, a decoder's notice) are not for the
            # user: the result or the one-line refusal says what happened.
            warnings.simplefilter("ignore")
            if getattr(args, "out", None):
                _output_folder(args.out)  # before any work: a bad --out is known at once
            return COMMANDS[args.command](args)
    except InputError as error:
        print(f"skinscan: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("skinscan: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("skinscan: internal error: out of memory", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the last resort: one line, never a traceback
        print(f"skinscan: internal error: {type(error).__name__}: {_one_line(error)}", file=sys.stderr)
        return 1


def run(argv):
    """Run the command line; returns the exit code."""
    parser = _build_cli_parser()
    try:
        args = parser.parse_args(argv)
    except _ArgumentError as error:
        print(f"skinscan: {_one_line(error)}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help, --version
        return done.code if isinstance(done.code, int) else 0
    return _run_command(args)


def _quiet_native_stderr():
    """Send what C libraries write to the process's stderr (libjpeg's "Corrupt JPEG data: …",
    OpenCV's warnings) to /dev/null, keeping Python's ``sys.stderr`` on the real one, so a bad file
    ends in the one line this command prints and nothing else."""
    try:
        sys.stderr.flush()
        real_stderr = os.dup(2)
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        sys.stderr = os.fdopen(real_stderr, "w", buffering=1, encoding="utf-8", errors="replace")
    except OSError:  # no stderr to redirect (closed descriptor): leave it as it is
        pass


def main():
    """Console entry point."""
    _quiet_native_stderr()
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
