"""skinscan: colour-calibrated skin measurements from treatment photos with a colour card.

Public API: :func:`load_photo`, :func:`calibrate`, :func:`analyze`, :func:`compare`, :func:`timeline`.
"""

from .errors import InputError
from .io import load_photo
from .pipeline import analyze, calibrate, compare, timeline

__all__ = ["InputError", "analyze", "calibrate", "compare", "load_photo", "timeline"]
