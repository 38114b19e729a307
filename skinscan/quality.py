"""Capture-quality verdict: good, usable or retake, with the reasons a practitioner can act on."""

from dataclasses import dataclass

import numpy as np

from . import constants

GOOD, USABLE, RETAKE = "good", "usable", "retake"
_RANK = {GOOD: 0, USABLE: 1, RETAKE: 2}


@dataclass(frozen=True)
class QualityVerdict:
    """The verdict and why.

    Attributes
    ----------
    verdict : str
        "good", "usable" or "retake".
    reasons : tuple of str
        One short sentence per problem found (empty when good).
    details : dict
        The figures behind the verdict.
    """

    verdict: str
    reasons: tuple
    details: dict

    def to_dict(self):
        """JSON-ready dict: verdict, reasons, then the figures."""
        return {"verdict": self.verdict, "reasons": list(self.reasons), **self.details}


def card_quality(reading, fit, photo_clipped_fraction=0.0):
    """Judge a capture by its card.

    Parameters
    ----------
    reading : card.CardReading or None
    fit : calibrate.CorrectionFit or None
    photo_clipped_fraction : float
        Fraction of the photo's pixels already clipped in the file.

    Returns
    -------
    QualityVerdict

    Notes
    -----
    Rules, each raising the verdict to at least the level given (thresholds in
    :mod:`skinscan.constants`):

    - no verified card: retake;
    - patch pitch under PITCH_RETAKE_PX: retake; under PITCH_USABLE_PX: usable;
    - mean leave-one-out residual over RESIDUAL_RETAKE_DE00: retake; over RESIDUAL_USABLE_DE00: usable;
    - any clipped patch, or fewer than 20 usable patches: usable;
    - more than 2 % of the photo clipped: usable.
    """
    verdict, reasons = GOOD, []

    def raise_to(level, reason):
        nonlocal verdict
        if _RANK[level] > _RANK[verdict]:
            verdict = level
        reasons.append(reason)

    details = {"photo_clipped_fraction": round(float(photo_clipped_fraction), 4)}
    if reading is None or fit is None:
        raise_to(RETAKE, "no colour card found: the colours are not calibrated")
    else:
        usable = np.asarray(fit.usable)
        details.update(
            {
                "card_pitch_px": round(float(reading.pitch_px), 1),
                "usable_patches": int(usable.sum()),
                "unused_patches": [int(i) + 1 for i in np.flatnonzero(~usable)],
                "clipped_patches": [int(i) + 1 for i in np.flatnonzero(reading.clipped)],
                "correction_model": fit.correction.model,
                "card_detection": reading.method,
            }
        )
        if reading.pitch_px < constants.PITCH_RETAKE_PX:
            raise_to(RETAKE, f"card too small in the photo (patches {reading.pitch_px:.0f} px apart; "
                             f"move closer so they are at least {constants.PITCH_USABLE_PX:.0f})")
        elif reading.pitch_px < constants.PITCH_USABLE_PX:
            raise_to(USABLE, f"card small in the photo (patches {reading.pitch_px:.0f} px apart)")
        if fit.mean_residual > constants.RESIDUAL_RETAKE_DE00:
            raise_to(RETAKE, f"high card residual ({fit.mean_residual:.1f} CIEDE2000): light uneven, "
                             "card covered or glare on it")
        elif fit.mean_residual > constants.RESIDUAL_USABLE_DE00:
            raise_to(USABLE, f"card residual {fit.mean_residual:.1f} CIEDE2000")
        if reading.clipped.any():
            numbers = ", ".join(str(n) for n in details["clipped_patches"])
            raise_to(USABLE, f"clipped (overexposed) patches: {numbers}")
        if usable.sum() < 20:
            raise_to(USABLE, f"only {int(usable.sum())} of 24 patches usable (covered, shadowed or clipped)")
    if photo_clipped_fraction > 0.02:
        raise_to(USABLE, f"{100 * photo_clipped_fraction:.0f}% of the photo is clipped (overexposed)")
    return QualityVerdict(verdict, tuple(reasons), details)
