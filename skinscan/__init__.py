"""skinscan: colour-calibrated skin measurements from treatment photos with a colour card.

Public API: :func:`load_photo`, :func:`calibrate`.
"""

from .errors import InputError
from .io import load_photo
from .pipeline import calibrate

__all__ = ["InputError", "calibrate", "load_photo"]
