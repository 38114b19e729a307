"""Hostile inputs for the ``skinscan`` command, and a runner that holds it to its contract.

Every case is a command line (files written into a folder first). The contract: the command ends in a
correct result (exit 0, stdout one strict JSON object: no NaN or Infinity) or in a refusal (exit 2,
exactly one line on stderr, nothing on stdout), within ``TIMEOUT_S`` seconds and ``MEMORY_LIMIT_MB`` of
resident memory. A Python traceback, an "internal error" (exit 1), a timeout or more memory fails it.
Some cases also say which of the two they must end in (a photo that is fine must be measured; a
decompression bomb must be refused), so that refusing everything cannot pass.

Classes (from issue 10): tiny, 1 x N and N x 1 images in every format; single-frame and animated GIFs;
bit-flipped and truncated JPEGs; headers that claim a huge size (JPEG, GIF, PNG, BMP, TIFF); extreme
shapes (64 x 8000, 10000 x 1, 4000 x 4, 960 x 1); float TIFF and PFM with NaN and infinity; odd EXIF
orientations; special paths (a folder, a FIFO, /dev/zero, a missing file); NaN, infinity and 1e400 in
``--roi``, ``--reference-roi``, ``--corners``, ``--landmarks``; hostile masks; ``--out`` onto a file.

Run all of it (``--isolated``: each case in a fresh ``skinscan`` process, as a user runs it)::

    .venv/bin/python tests/hostile.py --full [--isolated] --jobs 2

By default cases run in two long-lived worker processes that call ``skinscan.cli.run`` (a case costs
its own work, not an interpreter start), each case under the same timeout and memory watch (the
worker's peak resident memory is reset before every case). The CI part (``tests/test_hostile.py``)
runs the core set that way plus a few cases in fresh processes; ``SKINSCAN_HOSTILE_FULL=1`` adds the
full set.
"""

import argparse
import contextlib
import io
import json
import os
import select
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BASE_PHOTO = ROOT / "sample_images" / "needling_day0.jpg"
#: The treated-area box of BASE_PHOTO (sample_images/truth.json), at its full 960 x 720 size.
BASE_ROI = (435, 309, 322, 215)
#: The base photo is used at half size: small cases keep the CI part fast.
BASE_SCALE = 0.5

TIMEOUT_S = 10.0
MEMORY_LIMIT_MB = 2048.0
#: How long a worker may take to import the pipeline (a loaded CI machine is slow to start Python).
WORKER_START_TIMEOUT_S = 120.0

OK, REFUSED, EITHER = "ok", "refused", "either"


@dataclass(frozen=True)
class Case:
    """One command line and what it must end in.

    Attributes
    ----------
    name : str
    argv : tuple of str
        Arguments after ``skinscan``.
    expect : str
        "ok" (exit 0), "refused" (exit 2) or "either".
    """

    name: str
    argv: tuple
    expect: str = EITHER


@dataclass(frozen=True)
class Outcome:
    """What a case did.

    Attributes
    ----------
    case : Case
    exit_code : int or None
        None when the run was killed (timeout or memory).
    stdout, stderr : str
    seconds : float
    peak_rss_mb : float
        Peak resident memory during the case.
    killed : str or None
        "timeout" or "memory" when the watch killed it.
    cpu_seconds : float
        CPU time of the case (in-process runs only; all threads): its cost whatever else the machine does.
    """

    case: Case
    exit_code: object
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float
    killed: object = None
    cpu_seconds: float = 0.0

    def problem(self):
        """Why the outcome breaks the contract, in one line, or None."""
        if self.killed == "timeout":
            return f"ran past {TIMEOUT_S:.0f} s"
        if self.killed == "memory":
            return f"went past {MEMORY_LIMIT_MB:.0f} MB"
        if "Traceback" in self.stderr:
            return "traceback: " + self.stderr.strip().splitlines()[-1][:200]
        if self.seconds > TIMEOUT_S:
            return f"took {self.seconds:.1f} s"
        if self.peak_rss_mb > MEMORY_LIMIT_MB:
            return f"peaked at {self.peak_rss_mb:.0f} MB"
        if self.exit_code == 0:
            if self.case.expect == REFUSED:
                return "measured what must be refused"
            if "--json" in self.case.argv:
                try:
                    parsed = json.loads(self.stdout, parse_constant=_reject_constant)
                except ValueError as error:
                    return f"stdout is not strict JSON ({error})"
                if not isinstance(parsed, dict):
                    return "stdout is not one JSON object"
            return None
        if self.exit_code == 2:
            if self.case.expect == OK:
                return "refused what must be measured: " + self.stderr.strip()[:200]
            lines = self.stderr.strip().splitlines()
            if len(lines) != 1 or not lines[0].startswith("skinscan: "):
                return f"refusal is not one 'skinscan: ...' line: {self.stderr.strip()[:200]!r}"
            if self.stdout.strip():
                return "a refusal printed on stdout"
            return None
        return f"exit {self.exit_code}: {self.stderr.strip()[:200]}"


def _reject_constant(name):
    raise ValueError(f"{name} in the output")


# --- files ------------------------------------------------------------------------------------------


def _base_photo():
    """The base photo (a sample with a card and a treated area) at BASE_SCALE, as uint8 RGB, and its box."""
    image = Image.open(BASE_PHOTO).convert("RGB")
    size = (round(image.width * BASE_SCALE), round(image.height * BASE_SCALE))
    roi = tuple(round(v * BASE_SCALE) for v in BASE_ROI)
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS)), roi


def _encode(array, fmt, **params):
    buffer = io.BytesIO()
    image = array if isinstance(array, Image.Image) else Image.fromarray(array)
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _skin(width, height, seed=0):
    """A plain skin-coloured image with a darker blob in the middle and some noise."""
    rng = np.random.default_rng(seed)
    array = np.empty((height, width, 3), np.float32)
    array[:] = (200, 150, 130)
    ys, xs = np.ogrid[:height, :width]
    blob = ((xs - width / 2) / max(width / 6, 1)) ** 2 + ((ys - height / 2) / max(height / 6, 1)) ** 2 < 1
    array[blob] = (150, 95, 85)
    array += rng.normal(0, 3, array.shape)
    return np.clip(array, 0, 255).astype(np.uint8)


def _centre_box(width, height):
    """A box around the middle half of a width x height image (at least 1 x 1)."""
    return (width // 4, height // 4, max(1, width // 2), max(1, height // 2))


def _box_text(box):
    return ",".join(str(v) for v in box)


def _jpeg_with_size(data, width, height):
    """The JPEG ``data`` with its frame header (SOF) claiming width x height."""
    data = bytearray(data)
    index = 2
    while index < len(data) - 9:
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[index + 5 : index + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        index += 2 + length
    raise ValueError("no SOF marker")


def _gif_with_screen(width, height):
    """A tiny GIF whose logical screen claims width x height (one 4 x 4 frame)."""
    data = bytearray(_encode(Image.new("P", (4, 4), 1), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def _png_with_size(width, height):
    """A PNG whose header claims width x height, with valid CRCs and almost no data."""

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(
        b"IEND", b""
    )


def _bmp_with_size(width, height):
    data = bytearray(_encode(_skin(8, 8), "BMP"))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def _tiff_with_size(width, height):
    """A small TIFF whose ImageWidth/ImageLength tags are rewritten."""
    data = bytearray(_encode(_skin(8, 8), "TIFF"))
    count = struct.unpack("<H", data[8:10])[0] if data[:2] == b"II" else 0
    for entry in range(count):
        offset = 10 + 12 * entry
        tag, kind = struct.unpack("<HH", data[offset : offset + 4])
        value = width if tag == 256 else height if tag == 257 else None
        if value is not None:
            if kind == 3:
                data[offset + 8 : offset + 10] = struct.pack("<H", min(value, 65535))
            else:
                data[offset + 8 : offset + 12] = struct.pack("<I", value)
    return bytes(data)


def _pfm(array):
    """A colour PFM (little-endian) of a float32 (H, W, 3) array."""
    height, width = array.shape[:2]
    header = f"PF\n{width} {height}\n-1.0\n".encode()
    return header + np.ascontiguousarray(array[::-1], dtype="<f4").tobytes()


def _float_tiff(values):
    return _encode(Image.fromarray(values.astype(np.float32), "F"), "TIFF")


def _with_orientation(array, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = bytearray(_encode(array, "JPEG", quality=90, exif=exif))
    return bytes(data)


def _with_raw_orientation(array, raw_value):
    """A JPEG whose EXIF orientation tag holds ``raw_value`` as a signed short (e.g. -1)."""
    data = bytearray(_with_orientation(array, 1))
    needle = b"\x12\x01\x03\x00\x01\x00\x00\x00\x01\x00"  # tag 0x0112, SHORT, count 1, value 1 (little-endian)
    at = data.find(needle)
    if at < 0:
        return bytes(data)
    data[at + 8 : at + 10] = struct.pack("<h", raw_value)
    return bytes(data)


def _bit_flips(data, count, rng, first=0, last=None):
    data = bytearray(data)
    last = len(data) if last is None else last
    for _ in range(count):
        position = int(rng.integers(first, last))
        data[position] ^= 1 << int(rng.integers(0, 8))
    return bytes(data)


def _scan_start(jpeg):
    at = jpeg.find(b"\xff\xda")
    return at if at > 0 else 600


def build_cases(folder, full=False):
    """Write the hostile files into ``folder`` and return the cases.

    Parameters
    ----------
    folder : pathlib.Path
    full : bool
        The full set (about 900 cases) instead of the core set (a few hundred) the CI runs.

    Returns
    -------
    list of Case
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(10)
    base, roi = _base_photo()
    base_path = folder / "base.jpg"
    base_jpeg = _encode(base, "JPEG", quality=90)
    base_path.write_bytes(base_jpeg)
    good = str(base_path)
    cases = []

    def write(name, data):
        path = folder / name
        path.write_bytes(data)
        return str(path)

    def photo_cases(name, path, width, height, expect_calibrate=EITHER, expect_analyze=EITHER, compare=False):
        box = _box_text(roi if (width, height) == base.shape[1::-1] else _centre_box(width, height))
        if full or expect_analyze == REFUSED:  # the core set runs only analyze (which calibrates) on photos
            cases.append(Case(f"{name}/calibrate", ("calibrate", path, "--json"), expect_calibrate))
        cases.append(Case(f"{name}/analyze", ("analyze", path, "--roi", box, "--json"), expect_analyze))
        if compare or full:
            cases.append(Case(f"{name}/compare-as-followup", ("compare", good, path, "--roi", _box_text(roi), "--json")))
            cases.append(Case(f"{name}/compare-as-baseline", ("compare", path, good, "--roi", box, "--json")))

    # The base photo itself must be measured, in every format that keeps it.
    photo_cases("base-jpeg", good, *base.shape[1::-1], OK, OK)
    cases.append(Case("base/compare-itself", ("compare", good, good, "--roi", _box_text(roi), "--json"), OK))
    cases.append(Case("base/analyze-text", ("analyze", good, "--roi", _box_text(roi)), OK))
    for fmt, suffix, params in (("PNG", "png", {}), ("TIFF", "tif", {}), ("WEBP", "webp", {"lossless": True}), ("BMP", "bmp", {})):
        photo_cases(f"base-{suffix}", write(f"base.{suffix}", _encode(base, fmt, **params)), *base.shape[1::-1], OK, OK)

    # Tiny, thin and small images in every format.
    sizes = [(1, 1), (1, 7), (7, 1), (2, 2), (3, 200), (200, 3), (16, 16), (63, 63), (64, 64), (65, 90), (64, 300)]
    formats = [("PNG", "png", {}), ("JPEG", "jpg", {"quality": 90}), ("GIF", "gif", {}), ("BMP", "bmp", {}),
               ("TIFF", "tif", {}), ("WEBP", "webp", {})]
    for width, height in sizes:
        for fmt, suffix, params in formats if full or (width, height) in ((1, 1), (1, 7), (7, 1), (64, 64), (3, 200)) else formats[:2]:
            small = _skin(width, height, seed=width * 1000 + height)
            too_small = min(width, height) < 64
            path = write(f"size-{width}x{height}.{suffix}", _encode(small, fmt, **params))
            photo_cases(f"size-{width}x{height}-{suffix}", path, width, height,
                        REFUSED if too_small else EITHER, REFUSED if too_small else EITHER,
                        compare=(width, height) in ((1, 1), (7, 1), (64, 64)))

    # Extreme shapes (real pixels): refused before any detector runs.
    for width, height in [(64, 8000), (8000, 64), (10000, 1), (1, 10000), (4000, 4), (4, 4000), (960, 1), (1, 960)]:
        path = write(f"shape-{width}x{height}.png", _encode(_skin(width, height), "PNG"))
        photo_cases(f"shape-{width}x{height}", path, width, height, REFUSED, REFUSED, compare=True)
    path = write("shape-64x8000.jpg", _encode(_skin(64, 8000), "JPEG", quality=85))
    photo_cases("shape-64x8000-jpeg", path, 64, 8000, REFUSED, REFUSED)

    # Headers that claim a huge (or absurd) size over a few bytes of data.
    claims = [(65000, 1500), (1500, 65000), (65535, 65535), (20000, 10000), (9000, 9000), (4000, 3000)]
    for width, height in claims:
        photo_cases(f"claim-jpeg-{width}x{height}", write(f"claim-{width}x{height}.jpg", _jpeg_with_size(_encode(_skin(16, 16), "JPEG"), width, height)),
                    width, height, REFUSED, REFUSED)
        photo_cases(f"claim-png-{width}x{height}", write(f"claim-{width}x{height}.png", _png_with_size(width, height)),
                    width, height, REFUSED, REFUSED)
    for width, height in [(10000, 9999), (65535, 65535), (4000, 3000)]:
        photo_cases(f"claim-gif-{width}x{height}", write(f"claim-{width}x{height}.gif", _gif_with_screen(width, height)),
                    width, height, REFUSED, REFUSED)
    for width, height in [(30000, 30000), (-4000, 3000), (4000, -3000), (0, 100)]:
        photo_cases(f"claim-bmp-{width}x{height}", write(f"claim-bmp-{width}x{height}.bmp", _bmp_with_size(width, height)),
                    abs(width), abs(height), REFUSED, REFUSED)
    for width, height in [(30000, 30000), (100000, 3), (0, 0)]:
        photo_cases(f"claim-tiff-{width}x{height}", write(f"claim-tiff-{width}x{height}.tif", _tiff_with_size(width, height)),
                    width or 1, height or 1, REFUSED, REFUSED)
    # The real 12 MP JPEG the header-size guard must still let through is covered by the speed tests.

    # Bit flips: in the headers (before the scan) and in the compressed data.
    flips = 150 if full else 16
    start = _scan_start(base_jpeg)
    for index in range(flips):
        in_header = index % 2 == 0
        data = _bit_flips(base_jpeg, 1 + index % 3, rng, first=2 if in_header else start,
                          last=start if in_header else len(base_jpeg) - 2)
        path = write(f"flip-{index:03d}.jpg", data)
        photo_cases(f"flip-{index:03d}", path, *base.shape[1::-1], compare=index < (flips if full else 2))
    # Truncated files.
    for fraction in (0.0005, 0.01, 0.1, 0.5, 0.9, 0.999):
        cut = max(2, int(len(base_jpeg) * fraction))
        photo_cases(f"truncated-{fraction}", write(f"truncated-{fraction}.jpg", base_jpeg[:cut]), *base.shape[1::-1])
    base_png = _encode(base, "PNG")
    photo_cases("truncated-png", write("truncated.png", base_png[: len(base_png) // 2]), *base.shape[1::-1], REFUSED, REFUSED)

    # GIFs: single frame, animated; palette, grey, alpha, 1-bit, 16-bit and float modes.
    single = Image.fromarray(base).quantize(64)
    photo_cases("gif-single-frame", write("single.gif", _encode(single, "GIF")), *base.shape[1::-1])
    frames = [Image.fromarray(base).quantize(64), Image.fromarray(base[::-1].copy()).quantize(64)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    photo_cases("gif-animated", write("animated.gif", buffer.getvalue()), *base.shape[1::-1])
    pil_base = Image.fromarray(base)
    for mode in ("L", "LA", "P", "1", "RGBA", "I", "I;16"):
        converted = pil_base.convert("L").convert("I;16") if mode == "I;16" else pil_base.convert(mode)
        fmt, suffix = ("TIFF", "tif") if mode == "I" else ("PNG", "png")
        photo_cases(f"mode-{mode}", write(f"mode-{mode.replace(';', '')}.{suffix}", _encode(converted, fmt)), *base.shape[1::-1])
    photo_cases("cmyk-jpeg", write("cmyk.jpg", _encode(pil_base.convert("CMYK"), "JPEG", quality=90)), *base.shape[1::-1], OK, OK)
    deep = (base.astype(np.uint16) * 257)[..., ::-1]
    import cv2  # the test environment has it; only for writing 16-bit and PFM files

    ok, encoded = cv2.imencode(".png", deep)
    photo_cases("png-16-bit", write("deep.png", encoded.tobytes()), *base.shape[1::-1], OK, OK)

    # Float pixels with NaN and infinity (float TIFF, PFM).
    grey = base.mean(axis=2).astype(np.float32) / 255.0
    for name, value in (("nan", np.nan), ("inf", np.inf), ("-inf", -np.inf), ("huge", 3e38)):
        spoiled = grey.copy()
        spoiled[::7, ::5] = value
        photo_cases(f"float-tiff-{name}", write(f"float-{name}.tif", _float_tiff(spoiled)), *base.shape[1::-1])
        colour = base.astype(np.float32) / 255.0
        colour[::9, ::4] = value
        photo_cases(f"pfm-{name}", write(f"pfm-{name}.pfm", _pfm(colour)), *base.shape[1::-1])
    photo_cases("float-tiff-all-nan", write("float-all-nan.tif", _float_tiff(np.full(grey.shape, np.nan))), *base.shape[1::-1])
    photo_cases("pfm-clean", write("clean.pfm", _pfm(base.astype(np.float32) / 255.0)), *base.shape[1::-1])

    # EXIF orientation: every legal value, and values no camera writes.
    for orientation in (1, 3, 6, 8) if not full else range(1, 9):
        photo_cases(f"exif-{orientation}", write(f"exif-{orientation}.jpg", _with_orientation(base, orientation)),
                    *(base.shape[1::-1] if orientation < 5 else base.shape[:2]), OK, EITHER)
    for raw in (-1, 0, 9, 255, 32767):
        photo_cases(f"exif-raw-{raw}", write(f"exif-raw-{raw}.jpg", _with_raw_orientation(base, raw)), *base.shape[1::-1])

    # Not images at all.
    for name, data in {
        "empty.jpg": b"",
        "text.jpg": b"name,visit\nAnna,1\n",
        "html.png": b"<html><body>not a photo</body></html>",
        "pdf.jpg": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        "zip.jpg": b"PK\x03\x04" + bytes(60),
        "svg.png": b'<svg xmlns="http://www.w3.org/2000/svg" width="4000" height="3000"/>',
        "soi-only.jpg": b"\xff\xd8",
        "heic-like.heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64),
        "random.jpg": rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "jpeg-magic-random.jpg": b"\xff\xd8\xff\xe0" + rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(),
    }.items():
        photo_cases(f"garbage-{name}", write(name, data), 100, 100, REFUSED, REFUSED)

    # Special paths.
    specials = {"folder": str(folder), "missing": str(folder / "missing.jpg"), "dev-null": "/dev/null",
                "dev-zero": "/dev/zero", "dev-urandom": "/dev/urandom", "proc-self": "/proc/self/status",
                "empty-name": "", "dash": "-"}
    fifo = folder / "photo.fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    specials["fifo"] = str(fifo)
    loop = folder / "loop.jpg"
    if not loop.is_symlink():
        loop.symlink_to(loop)
    specials["symlink-loop"] = str(loop)
    odd = folder / "spaces and ünïcödé ✓.jpg"
    odd.write_bytes(base_jpeg)
    for name, path in specials.items():
        photo_cases(f"path-{name}", path, 100, 100, REFUSED, REFUSED, compare=name in ("dev-zero", "fifo"))
    photo_cases("path-unicode", str(odd), *base.shape[1::-1], OK, OK)

    # Hostile numbers in the boxes and corners. Values that are not finite numbers must be refused;
    # the others only where they make the box or the corners impossible.
    not_finite = ["nan", "inf", "-inf", "1e400", "-1e400", "nan(0x1)", "infinity", "NaN", "0x10", ""]
    numbers = not_finite + ["1e308", "1e30", "-5", "0", "1_0"]
    x, y, w, h = roi
    for value in numbers if full else ["nan", "inf", "-inf", "1e400", "", "1e308", "-5", "0"]:
        for position in range(4) if full else (0, 2):
            box = [str(v) for v in roi]
            box[position] = value
            # x or y of 0 is a box at the edge; of -5, a box that runs off it (clipped, with a warning).
            expect = EITHER if value == "1_0" or (value in ("0", "-5") and position < 2) else REFUSED
            cases.append(Case(f"roi-{value}-at-{position}", ("analyze", good, "--roi", ",".join(box), "--json"), expect))
            cases.append(Case(f"reference-roi-{value}-at-{position}",
                              ("analyze", good, "--roi", _box_text(roi), "--reference-roi", ",".join(box), "--json"), expect))
        expect = EITHER if value in ("0", "1_0", "-5") else REFUSED
        cases.append(Case(f"compare-roi-{value}", ("compare", good, good, "--roi", f"{value},{y},{w},{h}", "--json"), expect))
        corners = f"{value},10,200,10,200,150,10,150"
        expect = REFUSED if value in not_finite else EITHER
        cases.append(Case(f"corners-{value}", ("calibrate", good, "--corners", corners, "--json"), expect))
        cases.append(Case(f"analyze-corners-{value}", ("analyze", good, "--roi", _box_text(roi), "--corners", corners, "--json"), expect))
        landmarks = ",".join([value] + ["10", "200", "10", "200", "150"] * 2 + ["150"])
        cases.append(Case(f"landmarks-{value}", ("compare", good, good, "--roi", _box_text(roi), "--landmarks", landmarks, "--json"), expect))
    floats = ",".join(f"{v + 0.4:.1f}" for v in roi)
    for text in ("1,2,3", "a,b,c,d", ",,,", "1,2,3,4,5", "10,10,-5,-5", "-5,-5,10,10", "0,0,0,0",
                 f"0,0,{base.shape[1] * 100},{base.shape[0] * 100}", "1,1,2,2", f"{base.shape[1] - 1},{base.shape[0] - 1},1,1",
                 "1e9,1e9,10,10", floats):
        # A quarter of "-5,-5,10,10" lies inside the photo: clipped to a 5x5 corner, measured or refused.
        expect = OK if text == floats else EITHER if text == "-5,-5,10,10" else REFUSED
        cases.append(Case(f"roi-text-{text}", ("analyze", good, "--roi", text, "--json"), expect))
        cases.append(Case(f"reference-roi-text-{text}", ("analyze", good, "--roi", _box_text(roi), "--reference-roi", text, "--json"),
                          EITHER if expect in (OK, EITHER) else REFUSED))
    for corners in ("1,1,1,1,1,1,1,1", "0,0,100,0,200,0,300,0", "0,0,479,359,0,359,479,0", "1e30,0,0,1e30,1e30,1e30,0,0",
                    "-10,-10,100,-10,100,100,-10,100", "10,10,20,10,20,20,10,20", "1,2,3,4,5,6,7", "0,0,479,0,479,359,0,359"):
        cases.append(Case(f"corners-text-{corners}", ("calibrate", good, "--corners", corners, "--json")))
        cases.append(Case(f"analyze-corners-text-{corners}", ("analyze", good, "--roi", _box_text(roi), "--corners", corners, "--json")))
    for landmarks in ("1,1,1,1,1,1,1,1,1,1,1,1", "0,0,10,0,20,0,0,0,10,0,20,0", "0,0,1e30,0,0,1e30,0,0,1e30,0,0,1e30", "1,2,3"):
        cases.append(Case(f"landmarks-text-{landmarks}", ("compare", good, good, "--roi", _box_text(roi), "--landmarks", landmarks, "--json")))

    # Hostile masks.
    height, width = base.shape[:2]
    empty = np.zeros((height, width), np.uint8)
    whole = np.full((height, width), 255, np.uint8)
    one = empty.copy()
    one[height // 2, width // 2] = 255
    masks = {"empty": (empty, REFUSED), "whole": (whole, EITHER), "one-pixel": (one, REFUSED),
             "wrong-size": (np.full((height // 2, width), 255, np.uint8), REFUSED), "tiny": (np.full((1, 1), 255, np.uint8), REFUSED)}
    for name, (array, expect) in masks.items():
        path = write(f"mask-{name}.png", _encode(array, "PNG"))
        cases.append(Case(f"mask-{name}", ("analyze", good, "--mask", path, "--json"), expect))
    for name in ("flip-000.jpg", "garbage-text", "missing"):
        path = str(folder / name) if name != "garbage-text" else str(folder / "text.jpg")
        cases.append(Case(f"mask-file-{name}", ("analyze", good, "--mask", path, "--json")))
    cases.append(Case("mask-is-folder", ("analyze", good, "--mask", str(folder), "--json"), REFUSED))
    cases.append(Case("mask-is-dev-zero", ("analyze", good, "--mask", "/dev/zero", "--json"), REFUSED))

    # Where the results go.
    blocker = folder / "not-a-folder.txt"
    blocker.write_text("a file the user keeps")
    cases.append(Case("out-onto-file", ("analyze", good, "--roi", _box_text(roi), "--json", "--out", str(blocker)), REFUSED))
    cases.append(Case("out-under-file", ("calibrate", good, "--json", "--out", str(blocker / "sub")), REFUSED))
    cases.append(Case("out-in-proc", ("calibrate", good, "--json", "--out", "/proc/skinscan-out"), REFUSED))
    cases.append(Case("out-new-folder", ("analyze", good, "--roi", _box_text(roi), "--json", "--out", str(folder / "out" / "deep")), OK))

    # Timelines and arguments.
    cases.append(Case("timeline-one-photo", ("timeline", good, "--roi", _box_text(roi), "--json"), REFUSED))
    cases.append(Case("timeline-bad-dates", ("timeline", good, good, "--roi", _box_text(roi), "--dates", "nan,inf", "--json"), REFUSED))
    cases.append(Case("timeline-tiny", ("timeline", good, str(folder / "size-1x1.png"), "--roi", _box_text(roi),
                                        "--dates", "2026-01-01,2026-01-02", "--json"), REFUSED))
    cases.append(Case("unknown-chart", ("calibrate", good, "--chart", "classic48"), REFUSED))
    cases.append(Case("no-command", (), REFUSED))
    cases.append(Case("unknown-option", ("analyze", good, "--bogus"), REFUSED))
    return cases


# --- running ----------------------------------------------------------------------------------------


def _peak_rss_mb(pid):
    """VmHWM (peak resident set) of a process, MB; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _current_rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _reset_peak_rss():
    """Reset this process's VmHWM so the next reading is the next case's own peak (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def worker():
    """Read cases (JSON argv lists) on stdin, run each in this process, write outcomes on stdout."""
    from skinscan import cli

    # Outcomes go on a copy of the original stdout; native code writing to fd 1 cannot corrupt them.
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    # One compare before the first case: what the libraries load or build on first use (lazy
    # submodules, OpenCV's detectors) is start-up, not the first case's time.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        cli.run(["compare", str(BASE_PHOTO), str(BASE_PHOTO), "--roi", _box_text(BASE_ROI), "--json"])
    protocol.write("ready\n")
    protocol.flush()
    for line in sys.stdin:
        argv = json.loads(line)
        _reset_peak_rss()
        out, err = io.StringIO(), io.StringIO()
        start, cpu_start = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.run(argv)
            except BaseException:  # noqa: BLE001 - what escapes run() is exactly what the harness looks for
                import traceback

                traceback.print_exc(file=err)
                code = 1
        seconds = time.perf_counter() - start
        result = {"exit": code, "out": out.getvalue(), "err": err.getvalue(), "seconds": seconds,
                  "cpu_s": time.process_time() - cpu_start, "peak_rss_mb": _peak_rss_mb(os.getpid())}
        protocol.write(json.dumps(result) + "\n")
        protocol.flush()


class _Worker:
    """A long-lived worker process and the watch over its current case."""

    def __init__(self, environment):
        self.environment = environment
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=self.environment, text=True, bufsize=1, cwd=str(ROOT),
        )
        # The worker says "ready" once it has imported the pipeline: start-up is not a case's time.
        ready, _, _ = select.select([self.process.stdout], [], [], WORKER_START_TIMEOUT_S)
        if not ready or self.process.stdout.readline().strip() != "ready":
            self.process.kill()
            raise RuntimeError("the hostile-case worker did not start")

    def run(self, case):
        if self.process is None or self.process.poll() is not None:
            self.start()
        start = time.perf_counter()
        self.process.stdin.write(json.dumps(list(case.argv)) + "\n")
        self.process.stdin.flush()
        peak = 0.0
        while True:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.05)
            if ready:
                line = self.process.stdout.readline()
                if not line:  # the worker died (a crash in native code)
                    self.process = None
                    return Outcome(case, -1, "", "worker died", time.perf_counter() - start, peak)
                result = json.loads(line)
                return Outcome(case, result["exit"], result["out"], result["err"], result["seconds"],
                               max(peak, result["peak_rss_mb"]), cpu_seconds=result["cpu_s"])
            elapsed = time.perf_counter() - start
            peak = max(peak, _current_rss_mb(self.process.pid))
            killed = "timeout" if elapsed > TIMEOUT_S else "memory" if peak > MEMORY_LIMIT_MB else None
            if killed:
                self.process.kill()
                self.process.wait()
                self.process = None
                return Outcome(case, None, "", "", elapsed, peak, killed)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=10)


def _isolated(case, environment):
    """One case in a fresh ``skinscan`` process under the watch."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "skinscan.cli", *case.argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=environment, cwd=str(ROOT))
    peak, killed = 0.0, None
    while process.poll() is None:
        peak = max(peak, _current_rss_mb(process.pid))
        elapsed = time.perf_counter() - start
        killed = "timeout" if elapsed > TIMEOUT_S else "memory" if peak > MEMORY_LIMIT_MB else None
        if killed:
            process.kill()
            break
        time.sleep(0.02)
    stdout, stderr = process.communicate()
    return Outcome(case, None if killed else process.returncode, stdout.decode(errors="replace"),
                   stderr.decode(errors="replace"), time.perf_counter() - start, peak, killed)


def run_cases(cases, jobs=2, isolated=False, data_folder=None):
    """Run cases, ``jobs`` at a time.

    Parameters
    ----------
    cases : list of Case
    jobs : int
    isolated : bool
        Each case in a fresh process (the full run) instead of long-lived workers.
    data_folder : str, optional
        SKINSCAN_DATA for the runs (a temporary folder by default).

    Returns
    -------
    list of Outcome, in the order of ``cases``
    """
    import tempfile
    import threading

    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as scratch:
        environment["SKINSCAN_DATA"] = data_folder or scratch
        outcomes = [None] * len(cases)
        queue = list(enumerate(cases))
        lock = threading.Lock()

        def drain():
            runner = None if isolated else _Worker(environment)
            try:
                while True:
                    with lock:
                        if not queue:
                            return
                        index, case = queue.pop(0)
                    outcomes[index] = _isolated(case, environment) if isolated else runner.run(case)
            finally:
                if runner is not None:
                    runner.stop()

        threads = [threading.Thread(target=drain) for _ in range(max(1, jobs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return outcomes


def summary(outcomes):
    """Counts of the outcomes: cases, refusals, results, problems by kind, peak memory, slowest case."""
    problems = [(o.case.name, o.problem()) for o in outcomes if o.problem()]
    return {
        "cases": len(outcomes),
        "ok": sum(o.exit_code == 0 for o in outcomes),
        "refused": sum(o.exit_code == 2 for o in outcomes),
        "tracebacks": sum("Traceback" in o.stderr or o.exit_code == 1 for o in outcomes),
        "timeouts": sum(o.killed == "timeout" for o in outcomes),
        "over_memory": sum(o.killed == "memory" or o.peak_rss_mb > MEMORY_LIMIT_MB for o in outcomes),
        "peak_rss_mb": round(max((o.peak_rss_mb for o in outcomes), default=0.0), 1),
        "slowest_s": round(max((o.seconds for o in outcomes), default=0.0), 2),
        "total_case_s": round(sum(o.seconds for o in outcomes), 1),
        "total_cpu_s": round(sum(o.cpu_seconds for o in outcomes), 1),
        "slowest_case": max(outcomes, key=lambda o: o.seconds).case.name if outcomes else None,
        "problems": problems,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full set (about 1,500 cases) instead of the core set")
    parser.add_argument("--isolated", action="store_true", help="each case in a fresh `skinscan` process")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--folder", help="where to write the hostile files (default: a temporary folder)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        cases = build_cases(Path(args.folder or scratch) / "files", full=args.full)
        started = time.perf_counter()
        outcomes = run_cases(cases, jobs=args.jobs, isolated=args.isolated)
        result = summary(outcomes)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    for name, problem in result.pop("problems"):
        print(f"FAIL {name}: {problem}")
    for outcome in sorted(outcomes, key=lambda o: -o.seconds)[:15]:
        print(f"slow: {outcome.seconds:6.2f} s (cpu {outcome.cpu_seconds:5.2f} s)  exit {outcome.exit_code}  {outcome.case.name}")
    print(json.dumps(result))
    return 1 if any(o.problem() for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
