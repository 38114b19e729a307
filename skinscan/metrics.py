"""Region statistics and the named metrics of a treated area against its reference skin.

Every number here has its formula and source in its docstring; the constants it uses live in
:mod:`skinscan.constants`.
"""

from dataclasses import dataclass

import numpy as np

from . import color, constants

#: Pixels whose colours are correlated by demosaicing and JPEG: a region of n full-resolution pixels
#: counts as n / CORRELATED_PIXELS independent samples in the standard errors below (a region read on
#: a sub-grid of step s counts min(n, n s² / CORRELATED_PIXELS)).
CORRELATED_PIXELS = 16.0


@dataclass(frozen=True)
class RegionMeasurement:
    """Colour statistics of one region (treated area or reference skin).

    Attributes
    ----------
    pixels : int
        Pixels in the region (the area), hair and glare included.
    measured_pixels : int
        Valid pixels the statistics are taken over (on the sub-grid, when the region is large).
    area_mm2 : float or None
        pixels / px_per_mm², at the card's scale (the card should lie beside the area, at the same
        distance); None without a card.
    lab : numpy.ndarray, shape (3,)
        Per-channel medians of CIE L*a*b* (D65) of the colour-corrected pixels.
    lab_iqr : numpy.ndarray, shape (3,)
        Interquartile ranges of L*, a*, b*.
    ita_deg : float
        ITA° of the median colour (:func:`color.ita_degrees`).
    erythema_index : float
        Median over pixels of 100·log10(R/G) of corrected linear RGB (:func:`color.erythema_index`).
    erythema_iqr : float
    camera_srgb : numpy.ndarray, shape (3,)
        Median uncorrected colour (for the calibration jackknife).
    """

    pixels: int
    measured_pixels: int
    area_mm2: float | None
    lab: np.ndarray
    lab_iqr: np.ndarray
    ita_deg: float
    erythema_index: float
    erythema_iqr: float
    camera_srgb: np.ndarray
    sample_step: int = 1

    @property
    def ita_category(self):
        """Skin-tone category of the ITA° (Chardon 1991, Del Bino 2006)."""
        return color.ita_category(self.ita_deg)

    def to_dict(self, with_area, with_spread=False):
        """The contract's region object (``treated`` with area, ``reference`` with its spread).

        ``with_spread`` adds ``measured_pixels`` (the pixels the medians were taken over, on the
        sub-grid) and ``lab_iqr`` (interquartile ranges of L*, a*, b*).
        """
        out = {"pixels": int(self.pixels)}
        if with_area:
            out["area_mm2"] = None if self.area_mm2 is None else round(float(self.area_mm2), 2)
        out.update(
            {
                "lab": [round(float(v), 3) for v in self.lab],
                "ita_deg": round(float(self.ita_deg), 2),
                "erythema_index": round(float(self.erythema_index), 3),
            }
        )
        if with_spread:
            out["measured_pixels"] = int(self.measured_pixels)
            out["lab_iqr"] = [round(float(v), 3) for v in self.lab_iqr]
        return out


def measure_region(lab_pixels, linear_pixels, camera_srgb_pixels, px_per_mm=None, area_pixels=None, sample_step=1):
    """Medians and spreads of a region.

    Parameters
    ----------
    lab_pixels : numpy.ndarray, shape (n, 3)
        Corrected L*a*b* of the region's valid pixels.
    linear_pixels : numpy.ndarray, shape (n, 3)
        Corrected linear sRGB of the same pixels.
    camera_srgb_pixels : numpy.ndarray, shape (n, 3)
        The same pixels as read from the photo.
    px_per_mm : float, optional
    area_pixels : int, optional
        Pixels of the whole region at full resolution (hair and glare included).
    sample_step : int
        The pixels were read on a sub-grid of this step (1 = every pixel).

    Returns
    -------
    RegionMeasurement
    """
    lab_pixels = np.asarray(lab_pixels, dtype=np.float64)
    if len(lab_pixels) == 0:
        raise ValueError("a region with no valid pixels cannot be measured")
    q25, median, q75 = np.percentile(lab_pixels, [25, 50, 75], axis=0)
    erythema = color.erythema_index(linear_pixels)
    e25, e50, e75 = np.percentile(erythema, [25, 50, 75])
    pixels = int(area_pixels) if area_pixels is not None else len(lab_pixels)
    area = None if not px_per_mm else pixels / px_per_mm**2
    return RegionMeasurement(
        pixels=pixels,
        measured_pixels=len(lab_pixels),
        area_mm2=area,
        lab=median,
        lab_iqr=q75 - q25,
        ita_deg=float(color.ita_degrees(median)),
        erythema_index=float(e50),
        erythema_iqr=float(e75 - e25),
        camera_srgb=np.median(np.asarray(camera_srgb_pixels, dtype=np.float64), axis=0),
        sample_step=int(sample_step),
    )


def redness_verdict(delta_a, delta_b, delta_erythema_index):
    """``red`` when the area is redder than its skin, else ``not red``.

    Parameters
    ----------
    delta_a, delta_b : float
        a*(treated) − a*(reference), b*(treated) − b*(reference).
    delta_erythema_index : float
        Erythema index (treated) − erythema index (reference) (:func:`color.erythema_index`).

    Returns
    -------
    str

    Notes
    -----
    Red when Δa* ≥ :data:`constants.REDNESS_DELTA_A` (2.0 a* units, about the acceptability threshold
    of a skin colour difference), the erythema index rose (> 0: R/G up in linear light, Diffey et al.
    1984, Br J Dermatol 111:663-672) and the change is mostly towards red (Δa* > Δb*: a yellow-brown
    tan or ink raises b* more than a*). a* tracks erythema (Clarys et al. 2000, Skin Res Technol 6,
    230-238); both lose sensitivity on dark skin.

    Examples
    --------
    >>> redness_verdict(8.0, 1.0, 6.0), redness_verdict(1.0, 0.5, 1.0), redness_verdict(3.0, 6.0, 2.0)
    ('red', 'not red', 'not red')
    """
    red = delta_a >= constants.REDNESS_DELTA_A and delta_erythema_index > 0 and delta_a > delta_b
    return "red" if red else "not red"


def pigmentation_verdict(delta_e00, delta_l, red=False, delta_ita=None):
    """``even`` below the acceptability threshold, else ``hypo`` (lighter) or ``hyper`` (darker).

    Parameters
    ----------
    delta_e00 : float
        CIEDE2000 between the treated area and its reference skin.
    delta_l : float
        L*(treated) − L*(reference).
    red : bool
        The area reads ``red`` (:func:`redness_verdict`).
    delta_ita : float, optional
        ITA°(treated) − ITA°(reference).

    Returns
    -------
    str

    Notes
    -----
    Threshold: :data:`constants.PIGMENTATION_EVEN_DE00` = 2.0 CIEDE2000, the 50:50 acceptability
    threshold for skin colour differences (Paravina et al. 2019, see constants). Above it, the sign of
    ΔL* decides: a lighter area is hypopigmented, a darker one hyperpigmented. A red area differs by
    its redness, not its pigment: it reads ``even`` unless its ITA° moved by at least
    :data:`constants.PIGMENTATION_RED_DELTA_ITA_DEG` (10°, half an ITA skin-tone category), when the
    sign of ΔL* decides again.

    Examples
    --------
    >>> pigmentation_verdict(5.0, 4.0), pigmentation_verdict(5.0, -4.0), pigmentation_verdict(1.5, 1.0)
    ('hypo', 'hyper', 'even')
    >>> pigmentation_verdict(6.8, -2.8, red=True, delta_ita=-7.0), pigmentation_verdict(9.0, -9.0, red=True, delta_ita=-15.0)
    ('even', 'hyper')
    """
    if delta_e00 < constants.PIGMENTATION_EVEN_DE00:
        return "even"
    if red and (delta_ita is None or abs(delta_ita) < constants.PIGMENTATION_RED_DELTA_ITA_DEG):
        return "even"
    return "hypo" if delta_l > 0 else "hyper"


@dataclass(frozen=True)
class Contrast:
    """Treated area against reference skin: ``delta_*`` = treated − reference.

    delta_l, delta_a, delta_b are differences of the regions' median L*, a*, b*; delta_e00 is the
    CIEDE2000 (Sharma et al. 2005) between the two median colours; delta_ita_deg the difference of
    their ITA° (:func:`color.ita_degrees`); delta_erythema_index the difference of the regions'
    median erythema index (:func:`color.erythema_index`). Δa* is the redness measure: erythema raises
    a* (Clarys et al. 2000, Skin Res. Technol. 6, 230-238). ``redness`` is :func:`redness_verdict`,
    ``pigmentation`` :func:`pigmentation_verdict` (a red area is not called hyperpigmented).
    """

    delta_l: float
    delta_a: float
    delta_b: float
    delta_e00: float
    pigmentation: str
    redness: str = "not red"
    delta_ita_deg: float = 0.0
    delta_erythema_index: float = 0.0

    def to_dict(self):
        """The contract's ``contrast`` object."""
        return {
            "delta_l": round(self.delta_l, 3),
            "delta_a": round(self.delta_a, 3),
            "delta_b": round(self.delta_b, 3),
            "delta_e00": round(self.delta_e00, 3),
            "pigmentation": self.pigmentation,
            "redness": self.redness,
            "delta_ita_deg": round(self.delta_ita_deg, 2),
            "delta_erythema_index": round(self.delta_erythema_index, 3),
        }


def contrast(treated, reference):
    """Contrast of a treated region against its reference (see :class:`Contrast`)."""
    delta = treated.lab - reference.lab
    delta_e00 = float(color.delta_e_ciede2000(treated.lab, reference.lab))
    delta_ita = float(treated.ita_deg - reference.ita_deg)
    delta_erythema = float(treated.erythema_index - reference.erythema_index)
    redness = redness_verdict(float(delta[1]), float(delta[2]), delta_erythema)
    return Contrast(
        delta_l=float(delta[0]),
        delta_a=float(delta[1]),
        delta_b=float(delta[2]),
        delta_e00=delta_e00,
        pigmentation=pigmentation_verdict(delta_e00, float(delta[0]), redness == "red", delta_ita),
        redness=redness,
        delta_ita_deg=delta_ita,
        delta_erythema_index=delta_erythema,
    )


def _headline(treated_lab, reference_lab, treated_linear, reference_linear):
    delta = treated_lab - reference_lab
    return {
        "treated_l": treated_lab[0], "treated_a": treated_lab[1], "treated_b": treated_lab[2],
        "reference_l": reference_lab[0], "reference_a": reference_lab[1], "reference_b": reference_lab[2],
        "treated_ita_deg": float(color.ita_degrees(treated_lab)),
        "reference_ita_deg": float(color.ita_degrees(reference_lab)),
        "treated_erythema_index": float(color.erythema_index(treated_linear)),
        "reference_erythema_index": float(color.erythema_index(reference_linear)),
        "delta_l": delta[0], "delta_a": delta[1], "delta_b": delta[2],
        "delta_e00": float(color.delta_e_ciede2000(treated_lab, reference_lab)),
    }


def _standard_error_of_median(iqr, region):
    """SE of a median ≈ 1.2533 σ / sqrt(n_eff), σ = IQR / 1.349 (see CORRELATED_PIXELS for n_eff)."""
    sampled = region.measured_pixels
    effective = min(sampled, sampled * region.sample_step**2 / CORRELATED_PIXELS)
    return 1.2533 * (np.asarray(iqr) / 1.349) / np.sqrt(max(effective, 1.0))


def uncertainty(treated, reference, leave_one_out=()):
    """One-standard-deviation uncertainty of each headline number.

    Parameters
    ----------
    treated, reference : RegionMeasurement
    leave_one_out : sequence of calibrate.ColorCorrection
        The card's corrections with each patch left out; empty without a card.

    Returns
    -------
    dict
        name -> uncertainty (same units as the number). ``calibration_included`` says whether the
        card's part is in (it is not without a card: the numbers are then uncorrected).

    Notes
    -----
    u = sqrt(u_sampling² + u_calibration²).

    - Sampling: standard error of each median from the region's interquartile range
      (:func:`_standard_error_of_median`); differences add the two regions' in quadrature; ΔE00 takes
      the quadrature sum of its three differences' (an upper bound near zero); ITA° by first-order
      propagation through atan2.
    - Calibration: the jackknife over the card's patches (Efron & Stein 1981, Ann. Stat. 9, 586-596):
      each number recomputed from the regions' median camera colours under every leave-one-out
      correction; u² = (n−1)/n · Σ(θ_i − θ̄)². This is the card residual expressed in the number's own
      units, and it largely cancels in differences between regions of one photo, as it should.
    """
    se_t = _standard_error_of_median(treated.lab_iqr, treated)
    se_r = _standard_error_of_median(reference.lab_iqr, reference)
    se_delta = np.hypot(se_t, se_r)

    def ita_se(lab, se):
        lightness, b = lab[0] - 50.0, lab[2]
        return float(np.degrees(np.hypot(b * se[0], lightness * se[2]) / max(lightness**2 + b**2, 1e-9)))

    sampling = {
        "treated_l": se_t[0], "treated_a": se_t[1], "treated_b": se_t[2],
        "reference_l": se_r[0], "reference_a": se_r[1], "reference_b": se_r[2],
        "treated_ita_deg": ita_se(treated.lab, se_t), "reference_ita_deg": ita_se(reference.lab, se_r),
        "treated_erythema_index": float(_standard_error_of_median(treated.erythema_iqr, treated)),
        "reference_erythema_index": float(_standard_error_of_median(reference.erythema_iqr, reference)),
        "delta_l": se_delta[0], "delta_a": se_delta[1], "delta_b": se_delta[2],
        "delta_e00": float(np.linalg.norm(se_delta)),
    }
    calibration = dict.fromkeys(sampling, 0.0)
    if len(leave_one_out) >= 2:
        samples = []
        for correction in leave_one_out:
            linear = correction.to_linear(np.stack([treated.camera_srgb, reference.camera_srgb]))
            lab = color.linear_srgb_to_lab(linear)
            samples.append(_headline(lab[0], lab[1], linear[0], linear[1]))
        count = len(samples)
        for name in calibration:
            values = np.array([sample[name] for sample in samples], dtype=np.float64)
            calibration[name] = float(np.sqrt((count - 1) / count * np.sum((values - values.mean()) ** 2)))
    result = {name: round(float(np.hypot(sampling[name], calibration[name])), 3) for name in sampling}
    result["calibration_included"] = len(leave_one_out) >= 2
    return result


def percent_reduction(baseline, followup, minimum=0.5):
    """100 · (1 − followup / baseline): how much of a baseline difference has gone.

    Used for ``fade_percent`` (of ΔE00: 100 % = the area now matches its skin, 0 % = unchanged,
    negative = more contrast than before) and ``redness_resolution_percent`` (of Δa*). The definitions
    are those of the compare contract (ARCHITECTURE.md).

    Parameters
    ----------
    baseline, followup : float
    minimum : float
        A baseline smaller than this (in its own units) has nothing to resolve: None is returned.

    Returns
    -------
    float or None

    Examples
    --------
    >>> percent_reduction(10.0, 2.5)
    75.0
    >>> percent_reduction(0.2, 0.1) is None
    True
    """
    if baseline is None or followup is None or baseline < minimum:
        return None
    return 100.0 * (1.0 - followup / baseline)


def hue_shift_degrees(baseline_lab, followup_lab, min_chroma=constants.HUE_MIN_CHROMA):
    """Change of CIE hue angle h_ab (followup − baseline), wrapped to (−180, 180] degrees.

    A permanent-makeup brow turning ash or blue-grey shows a hue shift away from the warm browns
    (h_ab about 50-70°); turning salmon or red, towards 30-40°. A near-neutral colour has no stable
    hue: None when the baseline's chroma C*ab = sqrt(a*² + b*²) is under ``min_chroma``
    (:data:`constants.HUE_MIN_CHROMA`; black or grey ink has no hue to drift from). A follow-up that
    turned grey keeps its shift, uncertain by about 1/C*ab radians: read it with the chroma (CIE
    15:2004 for h_ab and C*ab).

    Examples
    --------
    >>> hue_shift_degrees([40, 10, 10], [40, 10, -10])
    -90.0
    >>> hue_shift_degrees([30, 1, -1], [32, 10, -10]) is None
    True
    """
    if np.hypot(*np.asarray(baseline_lab, float)[1:3]) < min_chroma:
        return None
    shift = color.hue_angle_degrees(followup_lab) - color.hue_angle_degrees(baseline_lab)
    return float((shift + 180.0) % 360.0 - 180.0) if shift != -180.0 else 180.0


def redness_persists(hours, delta_a, delta_a_uncertainty=0.0):
    """Redness still there when it should have settled: a reason to refer the client.

    True when more than REDNESS_EXPECTED_WINDOW_HOURS (48 h) have passed since the first photo and
    Δa* − u(Δa*) still exceeds REDNESS_PERSISTENT_DELTA_A (2.0); see :mod:`skinscan.constants`.

    Examples
    --------
    >>> redness_persists(72, 4.6, 0.2), redness_persists(24, 4.6, 0.2), redness_persists(72, 2.1, 0.2)
    (True, False, False)
    """
    return bool(
        hours > constants.REDNESS_EXPECTED_WINDOW_HOURS
        and delta_a - delta_a_uncertainty > constants.REDNESS_PERSISTENT_DELTA_A
    )
