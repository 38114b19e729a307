"""skinscan: colour-calibrated skin measurements from treatment photos with a colour card.

Public API: :func:`load_photo`, :func:`calibrate`, :func:`analyze`, :func:`compare`, :func:`timeline`.

The names are imported on first use (PEP 562), so ``import skinscan`` and ``skinscan --help`` do not
pay for OpenCV, SciPy and scikit-image until something is measured.
"""

import importlib
import sys
import types

from .errors import InputError

_LAZY = {
    "load_photo": "skinscan.io",
    "analyze": "skinscan.pipeline",
    "calibrate": "skinscan.pipeline",
    "compare": "skinscan.pipeline",
    "timeline": "skinscan.pipeline",
}

__all__ = ["InputError", "analyze", "calibrate", "compare", "load_photo", "timeline"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'skinscan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """``skinscan.calibrate`` is the API function, never the submodule of the same name.

    Importing a submodule binds it as an attribute of its package; the ``skinscan.calibrate`` module
    would then shadow the ``calibrate`` function. The module stays reachable as
    ``sys.modules["skinscan.calibrate"]`` and by ``from skinscan.calibrate import ...``.
    """

    def __setattr__(self, name, value):
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
