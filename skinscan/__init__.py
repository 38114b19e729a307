"""skinscan: colour-calibrated skin measurements from treatment photos with a colour card.

Public API: :func:`load_photo`, :func:`calibrate`, :func:`analyze`.
"""

from .errors import InputError
from .io import load_photo
from .pipeline import analyze, calibrate

__all__ = ["InputError", "analyze", "calibrate", "load_photo"]
