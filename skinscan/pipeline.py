"""The method, end to end. The CLI and the app call these functions and nothing else.

``calibrate``: photo -> card (detected, or from four corners) -> verified colour correction.
"""

from dataclasses import dataclass

import numpy as np

from . import card, color, quality
from .errors import InputError
from .io import Photo, load_photo


@dataclass(frozen=True)
class Calibration:
    """A photo with its card and colour correction.

    Attributes
    ----------
    photo : Photo
    reading : card.CardReading or None
        None when no card was found (or the corners given held no readable chart).
    fit : calibrate.CorrectionFit or None
    quality : quality.QualityVerdict
    warnings : tuple of str
    """

    photo: Photo
    reading: object
    fit: object
    quality: quality.QualityVerdict
    warnings: tuple

    @property
    def found(self):
        """True when a verified card calibrates the photo."""
        return self.fit is not None

    def corrected_linear(self, srgb_pixels):
        """Colour-corrected linear sRGB of some pixels (uncorrected, decoded, when there is no card).

        Parameters
        ----------
        srgb_pixels : numpy.ndarray, shape (..., 3)
            Pixels of ``photo.rgb``.

        Returns
        -------
        numpy.ndarray, shape (..., 3)
        """
        if self.fit is None:
            return color.srgb_to_linear(np.asarray(srgb_pixels, dtype=np.float64))
        return self.fit.correction.to_linear(srgb_pixels)

    def corrected_image(self):
        """The whole photo colour-corrected, sRGB-encoded float32 (the photo itself without a card)."""
        if self.fit is None:
            return self.photo.rgb
        return self.fit.correction.apply_to_image(self.photo.rgb)

    def card_dict(self):
        """The ``card`` object of the CLI contract."""
        if not self.found:
            return {
                "found": False, "chart": None, "corners": None, "patches": None,
                "patch_rgb": None, "residual_de00": None, "px_per_mm": None,
            }
        reading, fit = self.reading, self.fit
        return {
            "found": True,
            "chart": reading.chart,
            "corners": _rounded(reading.corners, 2),
            "patches": _rounded(reading.centres, 2),
            "patch_rgb": _rounded(reading.patch_srgb, 5),
            "residual_de00": {
                "mean": round(fit.mean_residual, 3),
                "max": round(fit.max_residual, 3),
                "per_patch": _rounded(fit.residual_de00, 3),
            },
            "px_per_mm": round(float(reading.px_per_mm), 4),
        }

    def to_dict(self):
        """The JSON of ``skinscan calibrate --json``."""
        return {
            "card": self.card_dict(),
            "quality": {**self.quality.to_dict(), "photo": self.photo.facts()},
            "warnings": list(self.warnings),
        }


def _rounded(array, digits):
    return np.round(np.asarray(array, dtype=np.float64), digits).tolist()


def calibrate(photo, corners=None, chart="classic24"):
    """Find the colour card in a photo and fit the colour correction on it.

    Parameters
    ----------
    photo : str, os.PathLike, bytes, numpy.ndarray or Photo
        The photo (see :func:`skinscan.io.load_photo`).
    corners : array_like, shape (4, 2), optional
        The four outer corners of the card's patch area, any order, when detection fails.
    chart : str
        "classic24" (default), "mini24" or "passport24": sets the scale (``px_per_mm``).

    Returns
    -------
    Calibration

    Raises
    ------
    InputError
        Unreadable photo, corners outside it, unknown chart.
    """
    photo = load_photo(photo)
    warnings = []
    if corners is not None:
        reading = card.reading_from_corners(photo.rgb, corners, chart=chart, method="manual")
        fit = card.verify(reading)
        if fit is None:
            reading = None
            warnings.append("no chart could be read inside the corners given: colours are not calibrated")
        else:
            reading = card.with_usable(reading, fit.usable)
    else:
        if chart not in card.constants.PATCH_PITCH_MM:
            raise InputError(f"unknown chart {chart!r}")
        reading, fit = card.detect(photo.rgb, chart=chart)
        if reading is None:
            warnings.append("no colour card found: measurements are not colour-calibrated")
    verdict = quality.card_quality(reading, fit, photo.clipped_fraction)
    return Calibration(photo, reading, fit, verdict, tuple(warnings))
