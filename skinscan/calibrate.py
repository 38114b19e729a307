"""Colour correction fitted on the card: per-channel tone curves through the neutrals, then a
root-polynomial matrix in linear light, chosen against a plain 3x3 matrix by leave-one-out error.

The method
----------
1. Linearise. Each channel's tone curve is fitted through the six neutral patches: the decoded
   (sRGB EOTF) camera value of a grey maps to that grey's reference linear value, by a monotone cubic
   (PCHIP) in log-log space, extended as a power law beyond the darkest and brightest usable grey. This
   undoes the camera's tone curve and white balance together.
2. Fit a matrix from the linearised patch colours to the reference linear sRGB colours: the
   root-polynomial expansion of degree 2 (r, g, b, sqrt(rg), sqrt(gb), sqrt(rb); Finlayson, Mackiewicz
   & Hurlbert 2015), which, unlike ordinary polynomials, keeps exposure invariance; or a plain 3x3
   matrix. Least squares weighted by Y^-1/2 of the reference so that dark patches count about as
   much as they do perceptually.
3. Choose between the two by mean leave-one-out CIEDE2000 over the usable patches: each patch is
   predicted by a model fitted without it (the tone curve too, for a neutral). The reported residual
   is that leave-one-out error, which, unlike the fit's own loss, does not flatter a model with more
   terms.

References
----------
Finlayson, G. D., Mackiewicz, M., Hurlbert, A. (2015), Color correction using root-polynomial
regression, IEEE Trans. Image Process. 24(5), 1460-1470.
Fritsch, F. N., Carlson, R. E. (1980), Monotone piecewise cubic interpolation, SIAM J. Numer. Anal.
17(2), 238-246.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import color, constants

MODEL_ROOT_POLYNOMIAL = "root-polynomial-2"
MODEL_LINEAR = "linear-3x3"

# Log-log slopes of the tone curve's power-law extensions are kept in this range: a camera curve is
# never flat nor steeper than a squared response.
_EXTENSION_SLOPE_RANGE = (0.5, 2.0)
_LUT_SIZE = 4096
_EPSILON = 1e-6


@dataclass(frozen=True)
class ToneCurve:
    """Per-channel tone curve: decoded camera value -> reference linear value.

    Attributes
    ----------
    log_x : tuple of numpy.ndarray
        Per channel, log10 of the decoded camera values of the usable neutrals (ascending).
    log_y : tuple of numpy.ndarray
        Per channel, log10 of the neutrals' reference linear values.
    """

    log_x: tuple
    log_y: tuple

    def __call__(self, linear_camera):
        """Apply the curve to decoded camera values, shape (..., 3)."""
        linear_camera = np.asarray(linear_camera, dtype=np.float64)
        out = np.empty_like(linear_camera)
        for channel in range(3):
            out[..., channel] = _evaluate_log_curve(
                self.log_x[channel], self.log_y[channel], self._interpolators[channel], linear_camera[..., channel]
            )
        return out

    @cached_property
    def _interpolators(self):
        return tuple(MonotoneCubic(x, y) for x, y in zip(self.log_x, self.log_y))


class MonotoneCubic:
    """Monotone piecewise cubic Hermite interpolation (PCHIP; Fritsch & Carlson 1980).

    The slope at an inner knot is the weighted harmonic mean of the two secants beside it
    (Fritsch & Butland 1984), w1 = 2 h_k + h_(k-1), w2 = h_k + 2 h_(k-1):

        1 / d_k = (w1 / m_(k-1) + w2 / m_k) / (w1 + w2),

    and 0 where the secants differ in sign or either is 0, so the curve never overshoots the data;
    at the ends a one-sided three-point estimate, limited to keep the shape (Moler, Numerical
    Computing with MATLAB, 2004, section 3.6). Between knots, the cubic Hermite polynomial. The same
    rules as ``scipy.interpolate.PchipInterpolator``, without importing SciPy's interpolation package
    (most of the command's start-up time).

    Parameters
    ----------
    x : numpy.ndarray, shape (n,)
        Strictly increasing knots, n >= 2.
    y : numpy.ndarray, shape (n,)

    Examples
    --------
    >>> curve = MonotoneCubic(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 4.0]))
    >>> float(curve(np.array([1.0]))[0]), bool(np.all(np.diff(curve(np.linspace(0, 2, 50))) >= 0))
    (1.0, True)

    References
    ----------
    Fritsch, F. N., Carlson, R. E. (1980), Monotone piecewise cubic interpolation, SIAM J. Numer. Anal.
    17(2), 238-246. Fritsch, F. N., Butland, J. (1984), A method for constructing local monotone
    piecewise cubic interpolants, SIAM J. Sci. Stat. Comput. 5(2), 300-304.
    """

    def __init__(self, x, y):
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.slopes = self._slopes(self.x, self.y)

    @staticmethod
    def _end_slope(h0, h1, m0, m1):
        slope = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
        if np.sign(slope) != np.sign(m0):
            return 0.0
        if np.sign(m0) != np.sign(m1) and abs(slope) > 3.0 * abs(m0):
            return 3.0 * m0
        return slope

    @classmethod
    def _slopes(cls, x, y):
        h = np.diff(x)
        m = np.diff(y) / h
        if len(x) == 2:
            return np.array([m[0], m[0]])
        slopes = np.zeros_like(y)
        flat = (np.sign(m[1:]) != np.sign(m[:-1])) | (m[1:] == 0) | (m[:-1] == 0)
        w1, w2 = 2.0 * h[1:] + h[:-1], h[1:] + 2.0 * h[:-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            harmonic = (w1 / m[:-1] + w2 / m[1:]) / (w1 + w2)
            slopes[1:-1] = np.where(flat, 0.0, 1.0 / harmonic)
        slopes[0] = cls._end_slope(h[0], h[1], m[0], m[1])
        slopes[-1] = cls._end_slope(h[-1], h[-2], m[-1], m[-2])
        return slopes

    def __call__(self, values):
        """Evaluate at ``values`` (inside [x[0], x[-1]]; outside, the end cubics are extended)."""
        values = np.asarray(values, dtype=np.float64)
        k = np.clip(np.searchsorted(self.x, values, side="right") - 1, 0, len(self.x) - 2)
        x0, h = self.x[k], self.x[k + 1] - self.x[k]
        t = (values - x0) / h
        t2, t3 = t * t, t * t * t
        return (
            (2 * t3 - 3 * t2 + 1) * self.y[k]
            + (t3 - 2 * t2 + t) * h * self.slopes[k]
            + (-2 * t3 + 3 * t2) * self.y[k + 1]
            + (t3 - t2) * h * self.slopes[k + 1]
        )


def _evaluate_log_curve(log_x, log_y, interpolator, values):
    """PCHIP in log-log inside the knots, power-law extension outside, 0 at 0."""
    safe = np.maximum(values, _EPSILON)
    log_v = np.log10(safe)
    low_slope = np.clip(
        (log_y[1] - log_y[0]) / (log_x[1] - log_x[0]), *_EXTENSION_SLOPE_RANGE
    )
    high_slope = np.clip(
        (log_y[-1] - log_y[-2]) / (log_x[-1] - log_x[-2]), *_EXTENSION_SLOPE_RANGE
    )
    inside = interpolator(np.clip(log_v, log_x[0], log_x[-1]))
    result = np.where(
        log_v < log_x[0],
        log_y[0] + low_slope * (log_v - log_x[0]),
        np.where(log_v > log_x[-1], log_y[-1] + high_slope * (log_v - log_x[-1]), inside),
    )
    return np.where(values > 0, 10.0**result, 0.0)


def fit_tone_curve(neutral_camera_linear, neutral_reference_linear):
    """Fit per-channel tone curves through the neutral patches.

    Parameters
    ----------
    neutral_camera_linear : numpy.ndarray, shape (n, 3)
        Decoded (sRGB EOTF) camera values of n >= 3 usable neutral patches, any order.
    neutral_reference_linear : numpy.ndarray, shape (n, 3)
        Their reference linear sRGB values.

    Returns
    -------
    ToneCurve

    Raises
    ------
    ValueError
        Fewer than 3 neutrals with increasing values in every channel.
    """
    if len(neutral_camera_linear) < 3:
        raise ValueError("fewer than 3 neutral patches are usable")
    log_x, log_y = [], []
    for channel in range(3):
        x = np.maximum(neutral_camera_linear[:, channel], _EPSILON)
        y = np.maximum(neutral_reference_linear[:, channel], _EPSILON)
        order = np.argsort(y)
        x, y = x[order], y[order]
        keep = np.concatenate([[True], np.diff(x) > 1e-5])
        x, y = x[keep], y[keep]
        if len(x) < 3 or np.any(np.diff(x) <= 0):
            raise ValueError("the neutral patches do not brighten in order")
        log_x.append(np.log10(x))
        log_y.append(np.log10(y))
    return ToneCurve(tuple(log_x), tuple(log_y))


def root_polynomial_terms(linear_rgb):
    """Degree-2 root-polynomial expansion: r, g, b, sqrt(rg), sqrt(gb), sqrt(rb).

    Parameters
    ----------
    linear_rgb : numpy.ndarray, shape (..., 3)

    Returns
    -------
    numpy.ndarray, shape (..., 6)
    """
    rgb = np.maximum(np.asarray(linear_rgb, dtype=np.float64), 0.0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.stack([r, g, b, np.sqrt(r * g), np.sqrt(g * b), np.sqrt(r * b)], axis=-1)


def _model_terms(linear_rgb, model):
    if model == MODEL_ROOT_POLYNOMIAL:
        return root_polynomial_terms(linear_rgb)
    return np.asarray(linear_rgb, dtype=np.float64)


@dataclass(frozen=True)
class ColorCorrection:
    """A fitted correction: tone curve, then matrix.

    Attributes
    ----------
    model : str
        ``"root-polynomial-2"`` or ``"linear-3x3"``.
    tone_curve : ToneCurve
    matrix : numpy.ndarray
        (6, 3) or (3, 3): terms @ matrix = corrected linear sRGB.
    """

    model: str
    tone_curve: ToneCurve
    matrix: np.ndarray

    def to_linear(self, srgb):
        """Correct sRGB-encoded camera values; returns corrected *linear* sRGB (unclipped).

        Parameters
        ----------
        srgb : array_like, shape (..., 3)
            Camera values as read from the photo, sRGB-encoded 0..1.

        Returns
        -------
        numpy.ndarray, shape (..., 3), float64
        """
        linear_camera = color.srgb_to_linear(np.asarray(srgb, dtype=np.float64))
        return _model_terms(self.tone_curve(linear_camera), self.model) @ self.matrix

    def to_linear_image(self, srgb_image):
        """Correct many pixels fast: the tone curve through a lookup table, float32.

        Parameters
        ----------
        srgb_image : numpy.ndarray, shape (..., 3)
            uint8 (a 256-entry table, exact at every code), uint16, or float in 0..1 (a 4096-entry
            table).

        Returns
        -------
        numpy.ndarray, shape (..., 3), float32
            Corrected linear sRGB (unclipped). Within 1e-3 of :meth:`to_linear` for 8-bit photos.
        """
        image = np.asarray(srgb_image)
        if image.dtype == np.uint8:
            lut, index = self._tone_lut(256), image
        elif image.dtype == np.uint16:
            lut = self._tone_lut(_LUT_SIZE)
            index = ((image.astype(np.uint32) * (_LUT_SIZE - 1) + 32767) // 65535).astype(np.int32)
        else:
            lut = self._tone_lut(_LUT_SIZE)
            image = image.astype(np.float32, copy=False)
            index = np.clip(image * (_LUT_SIZE - 1) + 0.5, 0, _LUT_SIZE - 1).astype(np.int32)
        linear = np.empty(image.shape, dtype=np.float32)
        for channel in range(3):
            linear[..., channel] = lut[:, channel][index[..., channel]]
        return _model_terms(linear, self.model).astype(np.float32) @ self.matrix.astype(np.float32)

    def _tone_lut(self, size):
        grid = color.srgb_to_linear(np.linspace(0.0, 1.0, size))
        return self.tone_curve(np.repeat(grid[:, None], 3, axis=1)).astype(np.float32)

    def apply_to_image(self, srgb_image, band_pixels=1 << 20):
        """Correct a whole image cheaply through lookup tables, a band of rows at a time.

        Parameters
        ----------
        srgb_image : numpy.ndarray, shape (H, W, 3)
            uint8, uint16 or float in 0..1.
        band_pixels : int
            Pixels corrected at once (bounds the temporary arrays, whatever the photo's size).

        Returns
        -------
        numpy.ndarray, shape (H, W, 3), float32
            Corrected, sRGB-encoded, clipped to 0..1.
        """
        encode_lut = color.linear_to_srgb(np.linspace(0.0, 1.0, _LUT_SIZE, dtype=np.float32)).astype(np.float32)
        height, width = srgb_image.shape[:2]
        out = np.empty((height, width, 3), dtype=np.float32)
        rows = max(1, band_pixels // max(width, 1))
        for top in range(0, height, rows):
            corrected = self.to_linear_image(srgb_image[top : top + rows])
            encoded_index = np.clip(corrected * (_LUT_SIZE - 1) + 0.5, 0, _LUT_SIZE - 1).astype(np.int32)
            out[top : top + rows] = encode_lut[encoded_index]
        return out


@dataclass(frozen=True)
class CorrectionFit:
    """A correction with its honest error.

    Attributes
    ----------
    correction : ColorCorrection
    residual_de00 : numpy.ndarray, shape (24,)
        Per patch CIEDE2000 between the reference and the prediction of a model fitted without that
        patch (leave-one-out); for patches left out of the fit (unusable), the prediction error of the
        full model.
    usable : numpy.ndarray of bool, shape (24,)
        Patches the fit used.
    leave_one_out : tuple of ColorCorrection
        The corrections fitted with each usable patch left out (the residual's models; the
        jackknife uncertainties reuse them).
    """

    correction: ColorCorrection
    residual_de00: np.ndarray
    usable: np.ndarray
    leave_one_out: tuple = ()

    @property
    def mean_residual(self):
        """Mean leave-one-out CIEDE2000 over the usable patches."""
        return float(np.mean(self.residual_de00[self.usable]))

    @property
    def max_residual(self):
        """Largest leave-one-out CIEDE2000 over the usable patches."""
        return float(np.max(self.residual_de00[self.usable]))


def _neutral_mask():
    neutral = np.zeros(24, bool)
    neutral[list(constants.NEUTRAL_PATCH_INDICES)] = True
    return neutral


def _fit_tone(camera_linear, usable, reference_linear):
    greys = usable & _neutral_mask()
    return fit_tone_curve(camera_linear[greys], reference_linear[greys])


def _fit_matrix(toned, usable, model, reference_linear):
    """Weighted least squares from toned camera values to reference linear sRGB."""
    terms = _model_terms(toned[usable], model)
    target = reference_linear[usable]
    luminance = np.maximum(target @ constants.LINEAR_SRGB_TO_XYZ[1], 0.005)
    weight = luminance[:, None] ** -0.5
    matrix, *_ = np.linalg.lstsq(terms * weight, target * weight, rcond=None)
    return matrix


def _fit_once(camera_srgb, usable, model, reference_linear):
    camera_linear = color.srgb_to_linear(camera_srgb)
    tone = _fit_tone(camera_linear, usable, reference_linear)
    matrix = _fit_matrix(tone(camera_linear), usable, model, reference_linear)
    return ColorCorrection(model=model, tone_curve=tone, matrix=matrix)


def screen_outliers(camera_srgb, usable, reference_lab=None, floor_de00=10.0):
    """Drop patches that do not fit the chart (covered, misread), worst first.

    Parameters
    ----------
    camera_srgb : numpy.ndarray, shape (24, 3)
    usable : numpy.ndarray of bool, shape (24,)
    reference_lab : numpy.ndarray, shape (24, 3), optional
    floor_de00 : float
        A patch is an outlier when its in-sample CIEDE2000 under the 3x3 model exceeds this; the
        3x3 model leaves genuine patches of real cameras below about 7.

    Returns
    -------
    numpy.ndarray of bool, shape (24,)
        The usable patches that remain. Removal stops before the fit would be left with too few.

    Notes
    -----
    One patch at a time, because a few covered patches pull a joint fit towards themselves and hide
    among the others' errors.
    """
    camera_srgb = np.asarray(camera_srgb, dtype=np.float64)
    usable = np.asarray(usable, dtype=bool).copy()
    if reference_lab is None:
        reference_lab = color.chart_reference_lab_d65()
    reference_linear = color.lab_to_linear_srgb(reference_lab)
    while usable.sum() > constants.MIN_USABLE_PATCHES:
        try:
            correction = _fit_once(camera_srgb, usable, MODEL_LINEAR, reference_linear)
        except ValueError:
            break
        error = color.delta_e_ciede2000(
            color.linear_srgb_to_lab(correction.to_linear(camera_srgb)), reference_lab
        )
        error[~usable] = -1.0
        worst = int(np.argmax(error))
        if error[worst] <= floor_de00:
            break
        usable[worst] = False
    return usable


def fit_correction(camera_srgb, usable, reference_lab=None):
    """Fit the colour correction on the chart's patches and measure it by leave-one-out.

    Parameters
    ----------
    camera_srgb : numpy.ndarray, shape (24, 3)
        Patch colours read from the photo, sRGB-encoded 0..1, chart order.
    usable : numpy.ndarray of bool, shape (24,)
        Patches to fit on (not clipped, not covered).
    reference_lab : numpy.ndarray, shape (24, 3), optional
        Reference L*a*b* (D65); default: ColorChecker 2014 adapted to D65.

    Returns
    -------
    CorrectionFit
        The model (root-polynomial or 3x3) with the lower mean leave-one-out CIEDE2000.

    Raises
    ------
    ValueError
        Too few usable patches or neutrals to fit.
    """
    camera_srgb = np.asarray(camera_srgb, dtype=np.float64)
    usable = np.asarray(usable, dtype=bool).copy()
    if reference_lab is None:
        reference_lab = color.chart_reference_lab_d65()
    reference_linear = color.lab_to_linear_srgb(reference_lab)
    neutral_count = int(usable[list(constants.NEUTRAL_PATCH_INDICES)].sum())
    if usable.sum() < constants.MIN_USABLE_PATCHES or neutral_count < constants.MIN_USABLE_NEUTRALS:
        raise ValueError(
            f"only {int(usable.sum())} usable patches ({neutral_count} neutrals); need "
            f"{constants.MIN_USABLE_PATCHES} with {constants.MIN_USABLE_NEUTRALS} neutrals"
        )
    camera_linear = color.srgb_to_linear(camera_srgb)
    tone = _fit_tone(camera_linear, usable, reference_linear)
    toned = tone(camera_linear)
    # Leave-one-out: the tone curve changes only when the held-out patch is a neutral.
    held_out_tones = {}
    for index in np.flatnonzero(usable):
        held_out = usable.copy()
        held_out[index] = False
        if _neutral_mask()[index]:
            try:
                tone_without = _fit_tone(camera_linear, held_out, reference_linear)
                held_out_tones[index] = (tone_without, tone_without(camera_linear))
            except ValueError:  # too few neutrals left: keep the in-sample error for this patch
                continue
        else:
            held_out_tones[index] = (tone, toned)
    best = None
    for model in (MODEL_ROOT_POLYNOMIAL, MODEL_LINEAR):
        correction = ColorCorrection(model, tone, _fit_matrix(toned, usable, model, reference_linear))
        predicted = _model_terms(toned, model) @ correction.matrix
        corrections = []
        for index, (tone_without, toned_without) in held_out_tones.items():
            held_out = usable.copy()
            held_out[index] = False
            matrix = _fit_matrix(toned_without, held_out, model, reference_linear)
            predicted[index] = _model_terms(toned_without[index], model) @ matrix
            corrections.append(ColorCorrection(model, tone_without, matrix))
        residual = color.delta_e_ciede2000(color.linear_srgb_to_lab(predicted), reference_lab)
        fit = CorrectionFit(correction, residual, usable, tuple(corrections))
        if best is None or fit.mean_residual < best.mean_residual:
            best = fit
    if best is None:
        raise ValueError("the neutral patches do not brighten in order")
    return best
