"""Photo intake: read what phones and cameras produce into float32 sRGB in 0..1.

One function, :func:`load_photo`, takes a path, bytes or an array and returns a :class:`Photo`: the
pixels with EXIF orientation applied and embedded ICC profiles (Display P3, Adobe RGB, CMYK) converted
to sRGB, plus the facts a measurement needs. Anything that is not a readable photo raises
:class:`~skinscan.errors.InputError` with one line saying why.
"""

import dataclasses
import io
import os
import warnings
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from . import constants
from .errors import InputError

try:  # HEIC/HEIF: optional extra (pillow-heif wheels are GPL)
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the optional extra
    HEIF_SUPPORTED = False

# We apply our own, lower limit before decoding; Pillow's own check would only warn below 2x its limit.
Image.MAX_IMAGE_PIXELS = None

_SRGB_PROFILE = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Photo:
    """A photo as the pipeline measures it.

    Attributes
    ----------
    rgb : numpy.ndarray
        float32, shape (height, width, 3), sRGB-encoded, 0..1, EXIF orientation applied.
    bit_depth : int
        Bits per channel of the source (8 or 16; 32 for float sources).
    source_format : str
        "JPEG", "PNG", "TIFF", "WEBP", "HEIF", ... or "array".
    clipped_fraction : float
        Fraction of pixels with any channel at the source's maximum code (already clipped on capture).
    exif_orientation : int
        The EXIF orientation tag that was applied (1 = none).
    converted_from_profile : str or None
        Description of the embedded ICC profile converted to sRGB, if any.
    taken : datetime.datetime or None
        When the photo was taken (EXIF DateTimeOriginal, else DateTime), if the file says.
    """

    rgb: np.ndarray
    bit_depth: int
    source_format: str
    clipped_fraction: float
    exif_orientation: int = 1
    converted_from_profile: str | None = None
    taken: datetime | None = None

    @property
    def width(self):
        """Width in pixels."""
        return int(self.rgb.shape[1])

    @property
    def height(self):
        """Height in pixels."""
        return int(self.rgb.shape[0])

    def facts(self):
        """The photo's facts (not its pixels) as a JSON-ready dict."""
        return {
            "width": self.width,
            "height": self.height,
            "bit_depth": self.bit_depth,
            "format": self.source_format,
            "clipped_fraction": round(float(self.clipped_fraction), 5),
            "exif_orientation": self.exif_orientation,
            "converted_from_profile": self.converted_from_profile,
            "taken": None if self.taken is None else self.taken.isoformat(),
        }


def load_photo(source, max_pixels=constants.MAX_PHOTO_PIXELS):
    """Read a photo from a path, bytes or an RGB array.

    Parameters
    ----------
    source : str, os.PathLike, bytes or numpy.ndarray
        A file path, the file's bytes, or an array (H, W, 3) or (H, W): uint8, uint16 or float in 0..1.
    max_pixels : int, optional
        Largest accepted size in pixels (default 100 megapixels): a guard against decompression bombs.

    Returns
    -------
    Photo

    Raises
    ------
    InputError
        Empty, truncated, corrupt or non-image files, and images over ``max_pixels``.
    """
    if isinstance(source, Photo):
        return source
    if isinstance(source, np.ndarray):
        return _photo_from_array(source, max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "the uploaded file"
    elif isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        try:
            with open(name, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise InputError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{name}: is a folder, not a photo") from None
        except OSError as error:
            raise InputError(f"{name}: cannot be read ({error.strerror})") from None
    else:
        raise InputError(f"cannot read a photo from a {type(source).__name__}")
    return _photo_from_bytes(data, name, max_pixels)


def _photo_from_bytes(data, name, max_pixels):
    if len(data) == 0:
        raise InputError(f"{name}: the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        looks_heif = data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc")
        hint = " (HEIC needs the optional extra: pip install 'skinscan[heic]')" if looks_heif else ""
        raise InputError(f"{name}: not an image skinscan can read{hint}") from None
    except Exception as error:  # noqa: BLE001 - any decoder failure is bad input
        raise InputError(f"{name}: not a readable image ({error})") from None
    width, height = image.size
    if width * height > max_pixels:
        raise InputError(
            f"{name}: {width}x{height} is {width * height / 1e6:.0f} megapixels, over the "
            f"{max_pixels / 1e6:.0f} megapixel limit"
        )
    if width == 0 or height == 0:
        raise InputError(f"{name}: the image has no pixels")
    source_format = image.format or "unknown"
    try:
        exif = image.getexif()
        orientation = int(exif.get(0x0112, 1) or 1)
        taken = _exif_datetime(exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132))
    except Exception:  # noqa: BLE001 - a broken EXIF block does not make a broken photo
        orientation, taken = 1, None
    try:
        image.load()
    except Exception as error:  # noqa: BLE001 - truncated or corrupt data
        detail = "truncated" if "truncated" in str(error) else f"corrupt ({error})"
        raise InputError(f"{name}: the image data is {detail}") from None

    pixels, bit_depth = None, 8
    if source_format in ("PNG", "TIFF"):
        pixels, bit_depth = _decode_high_bit_depth(data)
    profile_name = None
    if pixels is None:
        pixels, bit_depth, profile_name = _pillow_pixels(image)
    pixels = apply_exif_orientation(pixels, orientation)
    return dataclasses.replace(_finish(pixels, bit_depth, source_format, orientation, profile_name), taken=taken)


def _exif_datetime(value):
    """EXIF ``YYYY:MM:DD HH:MM:SS`` -> datetime, or None."""
    if not value:
        return None
    try:
        return datetime.strptime(str(value).strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _decode_high_bit_depth(data):
    """Decode 16-bit PNG/TIFF with OpenCV (Pillow reduces 16-bit RGB to 8 bits); None if 8-bit."""
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.dtype != np.uint16:
        return None, 8
    if decoded.ndim == 3 and decoded.shape[2] == 4:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGB)
    elif decoded.ndim == 3:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return decoded, 16


def _pillow_pixels(image):
    """Pixels of a Pillow image as an integer or float array of RGB (or grey), sRGB."""
    profile_name = None
    icc = image.info.get("icc_profile")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(image, dtype=np.uint16), 16, None
    if image.mode == "I":
        values = np.asarray(image, dtype=np.int64)
        return np.clip(values, 0, 65535).astype(np.uint16), 16, None
    if image.mode == "F":
        return np.asarray(image, dtype=np.float32), 32, None
    if icc:
        try:
            source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            description = ImageCms.getProfileDescription(source_profile).strip()
            if "srgb" not in description.lower():
                if image.mode not in ("RGB", "CMYK", "L"):
                    image = image.convert("RGB")
                image = ImageCms.profileToProfile(image, source_profile, _SRGB_PROFILE, outputMode="RGB")
                profile_name = description
        except Exception:  # noqa: BLE001 - an unusable profile: fall back to treating data as sRGB
            profile_name = None
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image), 8, profile_name


def _photo_from_array(array, max_pixels):
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise InputError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
    if array.shape[0] * array.shape[1] == 0:
        raise InputError("the image has no pixels")
    if array.shape[0] * array.shape[1] > max_pixels:
        raise InputError(f"the image is over the {max_pixels / 1e6:.0f} megapixel limit")
    if array.dtype == np.uint8:
        bit_depth = 8
    elif array.dtype == np.uint16:
        bit_depth = 16
    elif np.issubdtype(array.dtype, np.floating):
        bit_depth = 32
        if not np.all(np.isfinite(array)):
            raise InputError("the image array holds NaN or infinite values")
    else:
        raise InputError(f"unsupported image array type {array.dtype}")
    return _finish(array, bit_depth, "array", 1, None)


def _finish(pixels, bit_depth, source_format, orientation, profile_name):
    """Scale to float32 0..1, make three channels, measure clipping."""
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[..., :3]
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    if pixels.dtype == np.uint8:
        maximum = 255.0
    elif pixels.dtype == np.uint16:
        maximum = 65535.0
    else:
        maximum = 1.0
    clipped = np.any(pixels >= maximum, axis=2)
    rgb = np.ascontiguousarray(pixels, dtype=np.float32)
    if maximum != 1.0:
        rgb /= np.float32(maximum)
    np.clip(rgb, 0.0, 1.0, out=rgb)
    return Photo(
        rgb=rgb,
        bit_depth=bit_depth,
        source_format=source_format,
        clipped_fraction=float(clipped.mean()),
        exif_orientation=orientation,
        converted_from_profile=profile_name,
    )


def apply_exif_orientation(pixels, orientation):
    """Turn an array as stored into the array as the photo should be seen.

    Parameters
    ----------
    pixels : numpy.ndarray, shape (H, W[, C])
    orientation : int
        EXIF tag 0x0112: 1 normal, 2 mirrored, 3 rotated 180, 4 flipped, 5 transposed, 6 rotated 90
        clockwise to view, 7 transverse, 8 rotated 90 counter-clockwise to view.

    Returns
    -------
    numpy.ndarray
    """
    operations = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.swapaxes(a, 0, 1)[::-1],
    }
    return np.ascontiguousarray(operations.get(orientation, operations[1])(pixels))


def save_png(path, rgb):
    """Write float RGB 0..1 (or uint8) as an 8-bit sRGB PNG without metadata.

    Parameters
    ----------
    path : str or os.PathLike
    rgb : numpy.ndarray, shape (H, W, 3) or (H, W)
    """
    array = np.asarray(rgb)
    if array.dtype != np.uint8:
        array = np.clip(np.round(array * 255.0), 0, 255).astype(np.uint8)
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(os.fspath(path), array):
        raise InputError(f"{os.fspath(path)}: could not write the image")


def load_mask(source):
    """Read a mask image: any non-zero pixel is inside.

    Parameters
    ----------
    source : str, os.PathLike or bytes

    Returns
    -------
    numpy.ndarray of bool, shape (H, W)
        Orientation applied as for photos.
    """
    photo = load_photo(source)
    return np.any(photo.rgb > 0.5 / 255.0, axis=2)
