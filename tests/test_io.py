"""Photo intake: formats phones and cameras give, and refusals of what is not a photo."""

import io as stdio
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from skinscan import InputError, load_photo
from skinscan.cli import run


def _marker_image():
    """8-bit RGB with distinct corners, so any wrong rotation or flip shows."""
    array = np.zeros((40, 60, 3), np.uint8)
    array[:10, :10] = (255, 0, 0)
    array[:10, -10:] = (0, 255, 0)
    array[-10:, :10] = (0, 0, 255)
    array[-10:, -10:] = (255, 255, 0)
    return array


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_jpeg_exif_orientation_matches_pillow(tmp_path, orientation):
    image = Image.fromarray(_marker_image())
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "oriented.jpg"
    image.save(path, quality=95, exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB")) / 255.0
    photo = load_photo(path)
    assert photo.exif_orientation == orientation
    assert photo.rgb.shape == expected.shape
    assert np.abs(photo.rgb - expected).max() < 1e-6


def test_png_16_bit_keeps_its_precision(tmp_path):
    array = np.full((8, 8, 3), 1000, np.uint16)
    array[..., 1] = 40000
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), array[..., ::-1])
    photo = load_photo(path)
    assert photo.bit_depth == 16
    assert np.allclose(photo.rgb[0, 0], [1000 / 65535, 40000 / 65535, 1000 / 65535], atol=1e-7)


def test_tiff_16_bit_and_webp(tmp_path):
    array = np.full((8, 8, 3), 12345, np.uint16)
    cv2.imwrite(str(tmp_path / "deep.tif"), array)
    assert load_photo(tmp_path / "deep.tif").bit_depth == 16
    assert np.isclose(load_photo(tmp_path / "deep.tif").rgb[0, 0, 0], 12345 / 65535)
    Image.fromarray(_marker_image()).save(tmp_path / "photo.webp", lossless=True)
    photo = load_photo(tmp_path / "photo.webp")
    assert photo.source_format == "WEBP" and np.allclose(photo.rgb[0, 0], [1, 0, 0])


def test_grey_alpha_and_cmyk_become_rgb(tmp_path):
    Image.fromarray(np.full((6, 6), 128, np.uint8), "L").save(tmp_path / "grey.png")
    grey = load_photo(tmp_path / "grey.png")
    assert grey.rgb.shape == (6, 6, 3) and np.allclose(grey.rgb, 128 / 255)
    rgba = np.zeros((6, 6, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    assert np.allclose(load_photo(tmp_path / "alpha.png").rgb[0, 0], [200 / 255, 0, 0])
    Image.new("CMYK", (6, 6), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=100)
    red = load_photo(tmp_path / "cmyk.jpg").rgb[3, 3]
    assert red[0] > 0.9 and red[1] < 0.1 and red[2] < 0.1


def test_clipped_fraction_is_measured():
    array = np.full((10, 10, 3), 100, np.uint8)
    array[:3, :, 1] = 255
    assert np.isclose(load_photo(array).clipped_fraction, 0.3)


def test_bytes_and_arrays_are_accepted():
    buffer = stdio.BytesIO()
    Image.fromarray(_marker_image()).save(buffer, "PNG")
    assert load_photo(buffer.getvalue()).rgb.shape == (40, 60, 3)
    assert load_photo(np.zeros((5, 5), np.float32)).rgb.shape == (5, 5, 3)


def _huge_png_header(width, height):
    """A PNG whose header claims a huge size (a decompression bomb), with valid CRCs."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(
        b"IEND", b""
    )


def _truncated_jpeg():
    buffer = stdio.BytesIO()
    Image.fromarray((np.random.default_rng(0).uniform(0, 255, (200, 200, 3))).astype(np.uint8)).save(
        buffer, "JPEG", quality=90
    )
    return buffer.getvalue()[:4000]


REFUSALS = {
    "empty": (b"", "empty"),
    "text": (b"name,visit\nAnna,1\n", "not an image"),
    "truncated": (_truncated_jpeg(), "truncated"),
    "bomb": (_huge_png_header(20000, 10000), "megapixel"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_raise_one_line(case):
    data, words = REFUSALS[case]
    with pytest.raises(InputError) as raised:
        load_photo(data)
    message = str(raised.value)
    assert words in message and "\n" not in message


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_cli_refuses_with_exit_2_and_one_line(tmp_path, capsys, case):
    path = tmp_path / f"{case}.jpg"
    path.write_bytes(REFUSALS[case][0])
    assert run(["calibrate", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and REFUSALS[case][1] in lines[0]


def test_missing_file_is_refused(tmp_path, capsys):
    assert run(["calibrate", str(tmp_path / "nope.jpg")]) == 2
    assert "no such file" in capsys.readouterr().err
