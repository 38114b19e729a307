"""Photo intake: read what phones and cameras produce into float32 sRGB in 0..1.

One function, :func:`load_photo`, takes a path, bytes or an array and returns a :class:`Photo`: the
pixels with EXIF orientation applied and embedded ICC profiles (Display P3, Adobe RGB, CMYK) converted
to sRGB, plus the facts a measurement needs. Anything that is not a readable photo raises
:class:`~skinscan.errors.InputError` with one line saying why.
"""

import io
import os
import stat
import warnings
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

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

# We apply our own, lower limits from the header before decoding; Pillow's own check would only warn
# below 2x its limit.
Image.MAX_IMAGE_PIXELS = None

_SRGB_PROFILE = None


@dataclass(frozen=True, eq=False)
class Photo:
    """A photo as the pipeline measures it: decoded once, kept in its own integer type.

    Attributes
    ----------
    pixels : numpy.ndarray
        shape (height, width, 3), EXIF orientation applied, sRGB-encoded: uint8 or uint16 as decoded,
        or float32 in 0..1 for float sources. Convert only what is measured (:meth:`region`).
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
    name : str
        How the photo was given (a path, "the uploaded file", "the image array"): for messages only.
    """

    pixels: np.ndarray
    bit_depth: int
    source_format: str
    clipped_fraction: float
    exif_orientation: int = 1
    converted_from_profile: str | None = None
    taken: datetime | None = None
    name: str = "the photo"

    @property
    def shape(self):
        """(height, width, 3)."""
        return self.pixels.shape

    @property
    def width(self):
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self):
        """Height in pixels."""
        return int(self.pixels.shape[0])

    def region(self, crop=(slice(None), slice(None)), step=1):
        """Part of the photo as float32 sRGB in 0..1, read on a sub-grid.

        Parameters
        ----------
        crop : tuple of slice
            (rows, columns) of the photo.
        step : int
            Keep every ``step``-th pixel in each direction.

        Returns
        -------
        numpy.ndarray, shape (h, w, 3), float32
        """
        return to_unit_float(self.pixels[crop][::step, ::step])

    @cached_property
    def rgb(self):
        """The whole photo as float32 sRGB in 0..1 (made on first use; prefer :meth:`region`)."""
        return self.region()

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


def to_unit_float(pixels):
    """Integer or float pixels -> float32 in 0..1 (uint8 / 255, uint16 / 65535, float clipped).

    Parameters
    ----------
    pixels : numpy.ndarray
        uint8, uint16 or float.

    Returns
    -------
    numpy.ndarray, float32, same shape
    """
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / np.float32(255.0)
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / np.float32(65535.0)
    return np.clip(pixels, 0.0, 1.0).astype(np.float32, copy=False)


def load_photo(source, max_pixels=constants.MAX_PHOTO_PIXELS):
    """Read a photo from a path, bytes or an RGB array.

    Parameters
    ----------
    source : str, os.PathLike, bytes, numpy.ndarray or Photo
        A file path, the file's bytes, or an array (H, W, 3) or (H, W): uint8, uint16 or float in 0..1.
    max_pixels : int, optional
        Largest accepted size in pixels (default 100 megapixels): a guard against decompression bombs.

    Returns
    -------
    Photo

    Raises
    ------
    InputError
        Not a regular file; empty, truncated, corrupt or non-image files; images over ``max_pixels``,
        longer than MAX_PHOTO_ASPECT_RATIO times their width (or the reverse), or whose header claims
        far more pixels than the file could hold; NaN or infinite pixel values.

    Notes
    -----
    Size, shape and the file's bytes per pixel are checked from the header, before anything is
    decoded: what cannot be a photo of skin costs neither time nor memory.
    """
    if isinstance(source, Photo):
        return source
    if isinstance(source, np.ndarray):
        return _photo_from_array(source, max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "the uploaded file"
    elif isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        data = _read_file(name)
    else:
        raise InputError(f"cannot read a photo from a {type(source).__name__}")
    return _photo_from_bytes(data, name, max_pixels)


def _read_file(name):
    """The bytes of a regular file of at most MAX_PHOTO_FILE_BYTES (never a FIFO, device or folder)."""
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if name == "":
        raise InputError("no photo file given (an empty path)")
    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as error:
        raise InputError(f"{name}: cannot be read ({error.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{name}: is a folder, not a photo")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{name}: not a regular file (a device, pipe or socket), not a photo")
    if info.st_size > constants.MAX_PHOTO_FILE_BYTES:
        raise InputError(
            f"{name}: {info.st_size / 1e6:.0f} MB is over the {constants.MAX_PHOTO_FILE_BYTES / 1e6:.0f} MB limit for a photo"
        )
    try:
        with open(name, "rb") as handle:
            return handle.read(constants.MAX_PHOTO_FILE_BYTES + 1)
    except OSError as error:
        raise InputError(f"{name}: cannot be read ({error.strerror})") from None


def check_dimensions(width, height, name="the image", max_pixels=constants.MAX_PHOTO_PIXELS, file_bytes=None,
                     source_format=None):
    """Refuse sizes that cannot be a photo of skin, before anything is decoded.

    Parameters
    ----------
    width, height : int
        As the header (or array) says.
    name : str
        For the message.
    max_pixels : int
    file_bytes : int, optional
        Size of the compressed file: a header that claims far more pixels than these bytes could
        encode is corrupt (MIN_JPEG_BYTES_PER_MEGAPIXEL, MIN_FILE_BYTES_PER_MEGAPIXEL).
    source_format : str, optional

    Raises
    ------
    InputError
        No pixels; over ``max_pixels``; a side more than MAX_PHOTO_ASPECT_RATIO times the other;
        too few bytes for the pixels claimed.
    """
    if width <= 0 or height <= 0:
        raise InputError(f"{name}: the image has no pixels")
    pixels = width * height
    if pixels > max_pixels:
        raise InputError(
            f"{name}: {width}x{height} is {pixels / 1e6:.0f} megapixels, over the {max_pixels / 1e6:.0f} megapixel limit"
        )
    if max(width, height) > constants.MAX_PHOTO_ASPECT_RATIO * min(width, height):
        raise InputError(
            f"{name}: {width}x{height} pixels is too long and thin for a photo of skin "
            f"(sides over {constants.MAX_PHOTO_ASPECT_RATIO:.0f}:1)"
        )
    if file_bytes is not None:
        per_megapixel = (
            constants.MIN_JPEG_BYTES_PER_MEGAPIXEL if source_format in ("JPEG", "MPO")
            else constants.MIN_FILE_BYTES_PER_MEGAPIXEL
        )
        if file_bytes < per_megapixel * pixels / 1e6:
            raise InputError(
                f"{name}: the header claims {width}x{height} pixels but the file has only {file_bytes} bytes: "
                "it is corrupt"
            )


def require_measurable(photo):
    """Refuse a photo too small to measure anything on (under MIN_PHOTO_SIDE_PX on a side).

    Parameters
    ----------
    photo : Photo

    Returns
    -------
    Photo
        The same photo.

    Raises
    ------
    InputError
    """
    if min(photo.width, photo.height) < constants.MIN_PHOTO_SIDE_PX:
        raise InputError(
            f"{photo.name}: {photo.width}x{photo.height} pixels is too small to measure "
            f"(at least {constants.MIN_PHOTO_SIDE_PX} on each side)"
        )
    return photo


def _photo_from_bytes(data, name, max_pixels):
    if len(data) == 0:
        raise InputError(f"{name}: the file is empty")
    if len(data) > constants.MAX_PHOTO_FILE_BYTES:
        raise InputError(f"{name}: over the {constants.MAX_PHOTO_FILE_BYTES / 1e6:.0f} MB limit for a photo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            source_format = image.format or "unknown"
    except UnidentifiedImageError:
        looks_heif = data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc")
        hint = " (HEIC needs the optional extra: pip install 'skinscan[heic]')" if looks_heif else ""
        raise InputError(f"{name}: not an image skinscan can read{hint}") from None
    except Exception as error:  # noqa: BLE001 - any decoder failure is bad input
        raise InputError(f"{name}: not a readable image ({_one_line(error)})") from None
    check_dimensions(width, height, name, max_pixels, len(data), source_format)
    try:
        exif = image.getexif()
        orientation = int(exif.get(0x0112, 1) or 1)
        taken = _exif_datetime(exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132))
    except Exception:  # noqa: BLE001 - a broken EXIF block does not make a broken photo
        orientation, taken = 1, None
    if orientation not in _ORIENTATIONS:
        orientation = 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pixels, bit_depth, profile_name = _decode(image, data, source_format)
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{name}: not enough memory to decode {width}x{height} pixels") from None
    except Exception as error:  # noqa: BLE001 - truncated or corrupt data
        detail = "truncated" if "truncated" in str(error) else f"corrupt ({_one_line(error)})"
        raise InputError(f"{name}: the image data is {detail}") from None
    if pixels is None:
        raise InputError(f"{name}: the image data is truncated or corrupt")
    if pixels.shape[1] != width or pixels.shape[0] != height:
        raise InputError(f"{name}: the image data does not match its header ({width}x{height})")
    pixels = apply_exif_orientation(pixels, orientation)
    return _finish(pixels, bit_depth, source_format, orientation, profile_name, taken, name)


def _one_line(error):
    return " ".join(str(error).split())[:200] or type(error).__name__


def _decode(image, data, source_format):
    """Decode once into uint8/uint16/float32 pixels: (pixels, bit depth, converted profile name).

    Plain sRGB (or untagged) JPEGs are decoded by OpenCV straight into RGB (the fastest decoder
    here; it returns None for truncated data); 16-bit PNG and TIFF by OpenCV too (Pillow reduces
    16-bit RGB to 8 bits); everything else, including CMYK and ICC-tagged photos, by Pillow.
    """
    buffer = np.frombuffer(data, np.uint8)
    if source_format in ("JPEG", "MPO") and image.mode in ("RGB", "L") and not _needs_profile_conversion(image):
        flags = cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION
        return cv2.imdecode(buffer, flags), 8, None
    if _is_16_bit(image, data, source_format):
        decoded = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
        if decoded is not None and decoded.dtype == np.uint16:
            if decoded.ndim == 3 and decoded.shape[2] == 4:
                decoded = cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGB)
            elif decoded.ndim == 3:
                decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
            return decoded, 16, None
    image.load()
    return _pillow_pixels(image)


def _needs_profile_conversion(image):
    icc = image.info.get("icc_profile")
    if not icc:
        return False
    try:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except Exception:  # noqa: BLE001 - an unusable profile is ignored (data treated as sRGB)
        return False
    return "srgb" not in description.lower()


def _is_16_bit(image, data, source_format):
    """True for PNG and TIFF files with 16 bits per channel (read from the header)."""
    if source_format == "PNG":
        return len(data) > 24 and data[24] == 16
    if source_format == "TIFF":
        try:
            bits = image.tag_v2.get(258, 8)
        except Exception:  # noqa: BLE001
            return False
        bits = bits if isinstance(bits, tuple) else (bits,)
        return 16 in bits
    return False


def _exif_datetime(value):
    """EXIF ``YYYY:MM:DD HH:MM:SS`` -> datetime, or None."""
    if not value:
        return None
    try:
        return datetime.strptime(str(value).strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _srgb_profile():
    global _SRGB_PROFILE
    if _SRGB_PROFILE is None:
        _SRGB_PROFILE = ImageCms.createProfile("sRGB")
    return _SRGB_PROFILE


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
                image = ImageCms.profileToProfile(image, source_profile, _srgb_profile(), outputMode="RGB")
                profile_name = description
        except Exception:  # noqa: BLE001 - an unusable profile: fall back to treating data as sRGB
            profile_name = None
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image), 8, profile_name


def _photo_from_array(array, max_pixels):
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise InputError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
    check_dimensions(array.shape[1], array.shape[0], "the image array", max_pixels)
    if array.dtype == np.uint8:
        bit_depth = 8
    elif array.dtype == np.uint16:
        bit_depth = 16
    elif np.issubdtype(array.dtype, np.floating):
        bit_depth = 32
    else:
        raise InputError(f"unsupported image array type {array.dtype}")
    # A copy: the photo must not change when the caller reuses its array.
    return _finish(np.array(array, copy=True), bit_depth, "array", 1, None, None, "the image array")


def _finish(pixels, bit_depth, source_format, orientation, profile_name, taken, name):
    """Three channels in the decoded type (float sources: float32, checked finite), and clipping."""
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[..., :3]
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    if pixels.dtype not in (np.uint8, np.uint16):
        pixels = pixels.astype(np.float32, copy=False)
        finite = np.isfinite(pixels)
        if not finite.all():
            share = 1.0 - finite.mean()
            raise InputError(f"{name}: {100 * share:.2g}% of the pixel values are NaN or infinite: not a photo")
        pixels = np.clip(pixels, 0.0, 1.0)
    pixels = np.ascontiguousarray(pixels)
    return Photo(
        pixels=pixels,
        bit_depth=bit_depth,
        source_format=source_format,
        clipped_fraction=clipped_fraction(pixels),
        exif_orientation=orientation,
        converted_from_profile=profile_name,
        taken=taken,
        name=name,
    )


def clipped_fraction(pixels):
    """Fraction of pixels with any channel at the type's maximum (255, 65535 or 1.0).

    Parameters
    ----------
    pixels : numpy.ndarray, shape (H, W, 3)

    Returns
    -------
    float
    """
    if pixels.dtype in (np.uint8, np.uint16):
        below = np.iinfo(pixels.dtype).max - 1
        unclipped = cv2.countNonZero(cv2.inRange(pixels, (0, 0, 0), (below, below, below)))
        return 1.0 - unclipped / float(pixels.shape[0] * pixels.shape[1])
    return float(np.any(pixels >= 1.0, axis=2).mean())


#: EXIF orientation -> the operation that shows the stored array as it should be seen.
_ORIENTATIONS = {
    1: lambda a: a,
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: lambda a: cv2.transpose(a),
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.rotate(cv2.transpose(a), cv2.ROTATE_180),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def apply_exif_orientation(pixels, orientation):
    """Turn an array as stored into the array as the photo should be seen.

    Parameters
    ----------
    pixels : numpy.ndarray, shape (H, W[, C])
        uint8, uint16 or float32.
    orientation : int
        EXIF tag 0x0112: 1 normal, 2 mirrored, 3 rotated 180, 4 flipped, 5 transposed, 6 rotated 90
        clockwise to view, 7 transverse, 8 rotated 90 counter-clockwise to view. Any other value
        (cameras and editors write 0, 9, negative numbers) is treated as 1.

    Returns
    -------
    numpy.ndarray
    """
    return np.ascontiguousarray(_ORIENTATIONS.get(orientation, _ORIENTATIONS[1])(pixels))


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
    if photo.pixels.dtype in (np.uint8, np.uint16):
        return np.any(photo.pixels > 0, axis=2)
    return np.any(photo.pixels > 0.5 / 255.0, axis=2)
