"""Colour conversions and colour-difference formulas over numpy arrays.

Conventions (see ARCHITECTURE.md): images are float RGB in 0..1, sRGB-encoded unless a name says
``linear``; CIE L*a*b* is relative to D65 (2 degree observer), as ``skimage.color.rgb2lab`` gives;
differences are CIEDE2000.
"""

import numpy as np
from skimage import color as skcolor

from . import constants


def srgb_to_linear(srgb):
    """Decode sRGB-encoded values to linear light (IEC 61966-2-1 transfer function).

    Parameters
    ----------
    srgb : array_like
        sRGB-encoded values, nominally 0..1 (values outside are extended symmetrically).

    Returns
    -------
    numpy.ndarray
        Linear values, same shape, float64 unless the input is float32.

    References
    ----------
    IEC 61966-2-1:1999, Multimedia systems and equipment - Colour measurement and management -
    Part 2-1: Default RGB colour space - sRGB.

    Examples
    --------
    >>> float(srgb_to_linear(0.5).round(4))
    0.214
    """
    srgb = np.asarray(srgb)
    if not np.issubdtype(srgb.dtype, np.floating):
        srgb = srgb.astype(np.float64)
    magnitude = np.abs(srgb)
    linear = np.where(magnitude <= 0.04045, magnitude / 12.92, ((magnitude + 0.055) / 1.055) ** 2.4)
    return np.sign(srgb) * linear


def linear_to_srgb(linear):
    """Encode linear light to sRGB (inverse of :func:`srgb_to_linear`).

    Parameters
    ----------
    linear : array_like
        Linear values, nominally 0..1.

    Returns
    -------
    numpy.ndarray
        sRGB-encoded values, same shape; not clipped.

    Examples
    --------
    >>> float(linear_to_srgb(0.214).round(3))
    0.5
    """
    linear = np.asarray(linear)
    if not np.issubdtype(linear.dtype, np.floating):
        linear = linear.astype(np.float64)
    magnitude = np.abs(linear)
    srgb = np.where(magnitude <= 0.0031308, magnitude * 12.92, 1.055 * magnitude ** (1 / 2.4) - 0.055)
    return np.sign(linear) * srgb


#: Lookup table decoding 8-bit sRGB codes to linear light.
SRGB_UINT8_TO_LINEAR = srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)


def linear_srgb_to_lab(linear_rgb):
    """Convert linear sRGB (D65) to CIE L*a*b* (D65, 2 degree), without clipping to the gamut.

    Parameters
    ----------
    linear_rgb : array_like, shape (..., 3)
        Linear-light sRGB values; out-of-gamut (negative or > 1) values are allowed.

    Returns
    -------
    numpy.ndarray, shape (..., 3)
        L* in 0..100, a*, b*.

    Notes
    -----
    XYZ = M_sRGB · rgb (IEC 61966-2-1), then CIE 1976 L*a*b* with the D65 white (CIE 15:2004). For
    in-gamut colours this equals ``skimage.color.rgb2lab`` of the sRGB-encoded values.

    Examples
    --------
    >>> [abs(float(v)) for v in linear_srgb_to_lab([1.0, 1.0, 1.0]).round(2)]
    [100.0, 0.0, 0.0]
    """
    linear_rgb = np.asarray(linear_rgb, dtype=np.float64)
    if linear_rgb.shape[-1] != 3:
        raise ValueError(f"expected RGB in the last axis, got shape {linear_rgb.shape}")
    xyz = linear_rgb @ constants.LINEAR_SRGB_TO_XYZ.T
    return skcolor.xyz2lab(xyz, illuminant="D65", observer="2")


def lab_to_linear_srgb(lab):
    """Convert CIE L*a*b* (D65, 2 degree) to linear sRGB, without clipping.

    Parameters
    ----------
    lab : array_like, shape (..., 3)

    Returns
    -------
    numpy.ndarray, shape (..., 3)
    """
    xyz = skcolor.lab2xyz(np.asarray(lab, dtype=np.float64), illuminant="D65", observer="2")
    return xyz @ np.linalg.inv(constants.LINEAR_SRGB_TO_XYZ).T


def lab_d50_to_lab_d65(lab_d50):
    """Adapt CIE L*a*b* values measured under D50 to D65 with the Bradford transform.

    Parameters
    ----------
    lab_d50 : array_like, shape (..., 3)

    Returns
    -------
    numpy.ndarray, shape (..., 3)

    References
    ----------
    Lam, K. M. (1985), Metamerism and colour constancy, PhD thesis, University of Bradford;
    Hunt, R. W. G., Pointer, M. R. (2011), Measuring Colour, 4th ed., section 7.6.
    """
    xyz_d50 = skcolor.lab2xyz(np.asarray(lab_d50, dtype=np.float64), illuminant="D50", observer="2")
    # The same white points skimage's L*a*b* conversions use, so that neutrals stay exactly neutral.
    cone_d50 = constants.BRADFORD_MATRIX @ skcolor.xyz_tristimulus_values(illuminant="D50", observer="2")
    cone_d65 = constants.BRADFORD_MATRIX @ skcolor.xyz_tristimulus_values(illuminant="D65", observer="2")
    adaptation = (
        np.linalg.inv(constants.BRADFORD_MATRIX)
        @ np.diag(cone_d65 / cone_d50)
        @ constants.BRADFORD_MATRIX
    )
    xyz_d65 = xyz_d50 @ adaptation.T
    return skcolor.xyz2lab(xyz_d65, illuminant="D65", observer="2")


def delta_e_ciede2000(lab_1, lab_2):
    """CIEDE2000 colour difference (k_L = k_C = k_H = 1).

    Parameters
    ----------
    lab_1, lab_2 : array_like, shape (..., 3)
        CIE L*a*b* values, same illuminant.

    Returns
    -------
    numpy.ndarray, shape (...)

    References
    ----------
    Sharma, G., Wu, W., Dalal, E. N. (2005), The CIEDE2000 color-difference formula: implementation
    notes, supplementary test data, and mathematical observations, Color Res. Appl. 30(1), 21-30.
    Computed by ``skimage.color.deltaE_ciede2000``.
    """
    return skcolor.deltaE_ciede2000(np.asarray(lab_1, float), np.asarray(lab_2, float), channel_axis=-1)


def chart_reference_lab_d65():
    """Reference L*a*b* (D65) of the 24 ColorChecker patches, 2014 formulation, Bradford-adapted.

    Returns
    -------
    numpy.ndarray, shape (24, 3)
    """
    return lab_d50_to_lab_d65(constants.COLORCHECKER_2014_LAB_D50)


def chart_reference_linear_srgb():
    """Reference linear sRGB of the 24 ColorChecker patches (cyan falls slightly outside sRGB).

    Returns
    -------
    numpy.ndarray, shape (24, 3)
    """
    return lab_to_linear_srgb(chart_reference_lab_d65())


def ita_degrees(lab):
    """Individual typology angle, ITA° = atan2(L* − 50, b*) · 180/π.

    Parameters
    ----------
    lab : array_like, shape (..., 3)
        CIE L*a*b* (D65).

    Returns
    -------
    numpy.ndarray or float
        Degrees; higher is lighter skin (categories in :data:`constants.ITA_CATEGORIES`).

    References
    ----------
    Chardon, A., Cretois, I., Hourseau, C. (1991), Skin colour typology and suntanning pathways,
    Int. J. Cosmet. Sci. 13, 191-208.

    Examples
    --------
    >>> round(float(ita_degrees([60.0, 12.0, 15.0])), 1)
    33.7
    """
    lab = np.asarray(lab, dtype=np.float64)
    return np.degrees(np.arctan2(lab[..., 0] - 50.0, lab[..., 2]))


def ita_category(ita):
    """Skin-tone category name of an ITA° value (very light, light, intermediate, tan, brown, dark).

    Examples
    --------
    >>> ita_category(33.7)
    'intermediate'
    """
    for lower_bound, name in constants.ITA_CATEGORIES:
        if ita > lower_bound:
            return name
    return constants.ITA_CATEGORIES[-1][1]


def ita_text(ita):
    """An ITA° as shown beside its category: whole degrees, or one decimal when whole degrees would put it
    on a category's bound (41.3° "light" and 40.6° "intermediate" both read "41°" otherwise).

    Parameters
    ----------
    ita : float

    Returns
    -------
    str

    Examples
    --------
    >>> ita_text(33.7), ita_text(41.3), ita_text(40.6), ita_text(-30.2)
    ('34°', '41.3°', '40.6°', '-30.2°')
    """
    whole = round(ita)
    on_a_bound = whole in {bound for bound, _ in constants.ITA_CATEGORIES}
    return f"{ita:.1f}°" if on_a_bound else f"{whole:.0f}°"


def erythema_index(linear_rgb):
    """Erythema index EI = 100 · log10(R / G) of calibrated linear RGB.

    Parameters
    ----------
    linear_rgb : array_like, shape (..., 3)
        Colour-corrected linear sRGB.

    Returns
    -------
    numpy.ndarray
        Higher is redder. Haemoglobin absorbs green far more than red, so R/G rises with blood.

    References
    ----------
    Diffey, B. L., Oliver, R. J., Farr, P. M. (1984), A portable instrument for quantifying erythema
    induced by ultraviolet radiation, Br. J. Dermatol. 111, 663-672 (the reflectance form
    100·log10(R_red / R_green)); applied to calibrated camera RGB as in Yamamoto et al. (2008),
    Skin Res. Technol. 14, 26-34.

    Examples
    --------
    >>> float(erythema_index([0.4, 0.2, 0.15]).round(2))
    30.1
    """
    rgb = np.maximum(np.asarray(linear_rgb, dtype=np.float64), 1e-6)
    return 100.0 * np.log10(rgb[..., 0] / rgb[..., 1])


def hue_angle_degrees(lab):
    """CIE hue angle h_ab = atan2(b*, a*) in degrees, 0..360.

    Examples
    --------
    >>> float(hue_angle_degrees([50.0, 0.0, 10.0]))
    90.0
    """
    lab = np.asarray(lab, dtype=np.float64)
    return np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360.0
