"""Named, cited constants: reference colours, chart geometry and the thresholds the verdicts use.

Everything numeric that a measurement or a verdict depends on lives here, once, with its source.
"""

import numpy as np

#: X-Rite ColorChecker Classic, formulation after November 2014: CIE L*a*b* (D50, 2 degree observer,
#: M0), chart order (row by row from "dark skin" to "black"). Source: X-Rite's published reference data,
#: also in colour-science as ``CCS_COLOURCHECKERS['ColorChecker24 - After November 2014']``.
COLORCHECKER_2014_LAB_D50 = np.array(
    [
        (37.54, 14.37, 14.92),  # 1 dark skin
        (64.66, 19.27, 17.50),  # 2 light skin
        (49.32, -3.82, -22.54),  # 3 blue sky
        (43.46, -12.74, 22.72),  # 4 foliage
        (54.94, 9.61, -24.79),  # 5 blue flower
        (70.48, -32.26, -0.37),  # 6 bluish green
        (62.73, 35.83, 56.50),  # 7 orange
        (39.43, 10.75, -45.17),  # 8 purplish blue
        (50.57, 48.64, 16.67),  # 9 moderate red
        (30.10, 22.54, -20.87),  # 10 purple
        (71.77, -24.13, 58.19),  # 11 yellow green
        (71.51, 18.24, 67.37),  # 12 orange yellow
        (28.37, 15.42, -49.80),  # 13 blue
        (54.38, -39.72, 32.27),  # 14 green
        (42.43, 51.05, 28.62),  # 15 red
        (81.80, 2.67, 80.41),  # 16 yellow
        (50.63, 51.28, -14.12),  # 17 magenta
        (49.57, -29.71, -28.32),  # 18 cyan
        (95.19, -1.03, 2.93),  # 19 white
        (81.29, -0.57, 0.44),  # 20 neutral 8
        (66.89, -0.75, -0.06),  # 21 neutral 6.5
        (50.76, -0.13, 0.14),  # 22 neutral 5
        (35.63, -0.46, -0.48),  # 23 neutral 3.5
        (20.64, 0.07, -0.46),  # 24 black
    ],
    dtype=np.float64,
)

COLORCHECKER_PATCH_NAMES = (
    "dark skin", "light skin", "blue sky", "foliage", "blue flower", "bluish green",
    "orange", "purplish blue", "moderate red", "purple", "yellow green", "orange yellow",
    "blue", "green", "red", "yellow", "magenta", "cyan",
    "white", "neutral 8", "neutral 6.5", "neutral 5", "neutral 3.5", "black",
)

#: Chart layout: 4 rows of 6 patches; the last row holds the six neutrals, white first.
CHART_ROWS = 4
CHART_COLUMNS = 6
NEUTRAL_PATCH_INDICES = tuple(range(18, 24))

#: Patch side as a fraction of the patch pitch (centre-to-centre distance). Measured on the real
#: Classic photos in ``shared/real_cards`` (patch about 65 px at a 74 px pitch).
PATCH_FRACTION_OF_PITCH = 0.88

#: Patch pitch in millimetres per chart, for the photo's scale. The Classic's patches are 1.5 in
#: (38.1 mm) squares (X-Rite); the pitch follows from PATCH_FRACTION_OF_PITCH. The Mini (108 x 63.5 mm
#: card) and the Passport's Classic page are nominal values scaled from the card sizes X-Rite
#: publishes; measure your own card with a ruler if mm^2 areas matter to the last few percent.
PATCH_PITCH_MM = {
    "classic24": 38.1 / PATCH_FRACTION_OF_PITCH,
    "mini24": 108.0 / 6.44,
    "passport24": 16.0,
}
CHART_TYPES = tuple(PATCH_PITCH_MM)

#: Bradford cone response matrix (Lam 1985; Hunt, Measuring Colour, 4th ed., eq. 7.6).
BRADFORD_MATRIX = np.array(
    [
        [0.8951, 0.2664, -0.1614],
        [-0.7502, 1.7135, 0.0367],
        [0.0389, -0.0685, 1.0296],
    ]
)

#: Linear sRGB (D65) to CIE XYZ (IEC 61966-2-1:1999).
LINEAR_SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)

# --- capture-quality thresholds --------------------------------------------------------------------

#: Colour-difference thresholds for skin (CIEDE2000). Perceptibility about 0.8-1.3 and acceptability
#: about 1.8-2.6 from fair to dark skin: Paravina et al., "Color difference thresholds of
#: maxillofacial skin replications", J Prosthodont 2019;28:e524-e531 (50:50% thresholds).
SKIN_PERCEPTIBILITY_DE00 = 1.0
SKIN_ACCEPTABILITY_DE00 = 2.0

#: Card residual (mean leave-one-out CIEDE2000 over usable patches) above which a capture is only
#: "usable", and above which it should be retaken. A residual at the acceptability threshold means the
#: correction alone could hide a visible difference.
RESIDUAL_USABLE_DE00 = 1.5
RESIDUAL_RETAKE_DE00 = SKIN_ACCEPTABILITY_DE00 * 1.5

#: A detection whose verified fit leaves a mean residual above this is not the chart (decoy grids,
#: wrong orientation, a card mostly covered): "no card found" is reported instead.
RESIDUAL_REJECT_DE00 = 8.0

#: Patch pitch on the photo, in pixels: below RETAKE the patches are too few pixels to read robustly
#: (JPEG blocks are 8 px), below USABLE the reading is noisier than it need be.
PITCH_RETAKE_PX = 12.0
PITCH_USABLE_PX = 24.0

#: An 8-bit channel at or above this value is treated as clipped (NOTES: any channel >= 250 of 255).
CLIPPED_LEVEL = 250.0 / 255.0

#: Minimum number of usable patches, of which at least this many neutrals (three points are the
#: fewest a tone curve can be fitted through), for a fit to be trusted.
MIN_USABLE_PATCHES = 12
MIN_USABLE_NEUTRALS = 3

#: Largest photo accepted, in pixels (decompression-bomb guard).
MAX_PHOTO_PIXELS = 100_000_000

#: Largest photo file read, in bytes: a 100 MP JPEG is about 50 MB, an uncompressed 16-bit TIFF of a
#: 24 MP camera about 150 MB. Larger files (and devices that never end, like /dev/zero) are refused.
MAX_PHOTO_FILE_BYTES = 300_000_000

#: Longest side over shortest side of a photo accepted. Phone panoramas stay within about 6:1; a
#: strip 64 x 8000 or 4000 x 4 cannot hold a card and skin around an area, and such shapes sent
#: OpenCV's card detector past 9 GB (issue 10). Refused from the header, before decoding.
MAX_PHOTO_ASPECT_RATIO = 10.0

#: Shortest side, in pixels, of a photo the pipeline measures: a 24-patch card needs about 12 px per
#: patch (PITCH_RETAKE_PX) and six patches across, i.e. about 64 px.
MIN_PHOTO_SIDE_PX = 64

#: Fewest file bytes per megapixel a header may claim. Baseline JPEG spends at least a few bits per
#: 8 x 8 block (a black 12 MP JPEG is 189 kB, about 16 kB per megapixel); 500 leaves room for
#: progressive and arithmetic coding. Lossless formats compress a uniform field much further (PNG
#: 3.5 kB, lossless WebP 44 bytes per megapixel), so other formats need only 20 bytes per megapixel.
#: A header claiming more is corrupt (a bit flip in the frame size) or a decompression bomb.
MIN_JPEG_BYTES_PER_MEGAPIXEL = 500
MIN_FILE_BYTES_PER_MEGAPIXEL = 20

# --- skin-colour metrics -----------------------------------------------------------------------------

#: Individual typology angle categories, lower bound of each in degrees, lightest first.
#: Chardon, Cretois & Hourseau (1991), Skin colour typology and suntanning pathways, Int J Cosmet Sci
#: 13:191-208; "dark" added by Del Bino et al. (2006), Pigment Cell Res 19:606-614.
ITA_CATEGORIES = (
    (55.0, "very light"),
    (41.0, "light"),
    (28.0, "intermediate"),
    (10.0, "tan"),
    (-30.0, "brown"),
    (-float("inf"), "dark"),
)

#: Pigmentation verdict: a treated area within this CIEDE2000 of its reference skin reads "even"
#: (the skin acceptability threshold above).
PIGMENTATION_EVEN_DE00 = SKIN_ACCEPTABILITY_DE00

#: Redness after needling should settle within this many hours; longer is a reason to refer.
REDNESS_EXPECTED_WINDOW_HOURS = 48.0
#: The referral advice of a late redness: Δa* cannot tell red ink or red pigment in the area from
#: inflammation (a walk saw a red-ink tattoo raise "consider referring the client" at every visit).
REFER_UNLESS_INK = "unless it is red ink or pigment in the area, consider referring the client"

#: Redness counts as persisting when the treated area is still this many a* units redder than its
#: reference skin, beyond its uncertainty, at a visit more than REDNESS_EXPECTED_WINDOW_HOURS after
#: the first photo. A pure a* difference of 2 is about 1.5-2 CIEDE2000 on skin tones, i.e. at the
#: acceptability threshold above: redness a client can still see.
REDNESS_PERSISTENT_DELTA_A = 2.0

#: Redness verdict: the treated area is "red" when a* exceeds its reference skin's by this much (with
#: the erythema index up and Δa* > Δb*). The same 2.0 a* units as REDNESS_PERSISTENT_DELTA_A: about
#: the acceptability threshold of a skin colour difference (Paravina et al. 2019, above).
REDNESS_DELTA_A = 2.0

#: Hue drift (:func:`skinscan.metrics.hue_shift_degrees`) is reported only when the area's chroma C*ab
#: at the baseline is at least this. With an a*, b* uncertainty of about 1 unit (medians over a few
#: hundred pixels and the card's fit), the hue angle is uncertain by about 1/C radians: 19° at C* = 3,
#: as large as the drifts it should show (a warm brown brow, h_ab 50-70°, turning salmon, 30-40°).
#: Black and grey inks (C* about 1-3) then have no hue drift rather than a number of ±120° (the skin's
#: hue showing through as they fade); a brow that turned grey still shows its drift from brown.
HUE_MIN_CHROMA = 3.0

#: A saved comparison's outcome with the photo it was compared with, in the words the timeline, the
#: report and the exported CSV use (:func:`skinscan.store.comparison_outcome`).
ALIGNED, NOT_ALIGNED, NOT_COMPARED = "aligned", "not aligned", "not compared"

#: Δa* (area minus skin, a* units) below which an area is not called red: a baseline with less has
#: no redness to resolve (redness resolution is not defined), and its Δa* is named a red–green
#: difference, not redness (report.delta_a_name). The redness verdict's own bound, REDNESS_DELTA_A:
#: it was half a just-noticeable a* difference (0.5; ΔE*ab 1, Mahy, Van Eycken & Oosterlinck 1994),
#: and a walk saw "redness resolved −374 %" from a first visit at Δa* +1.0 (a ratio to a baseline
#: near 0), on a visit the verdict did not call red.
REDNESS_MIN_DELTA_A = REDNESS_DELTA_A

#: A red area is "even" in pigmentation unless its ITA° moved by at least this much: half the width of
#: an ITA skin-tone category (Chardon 1991, above: categories 13-18° wide). Redness alone moves ITA° a
#: few degrees (a* does not enter ITA; the slight darkening of erythema does).
PIGMENTATION_RED_DELTA_ITA_DEG = 10.0

# --- registration (aligning a follow-up photo to its baseline) ---------------------------------------

#: Below this confidence (0..1, :func:`skinscan.register.verify`) an automatic alignment is refused and
#: no number is computed from it. Set on the shared real pairs (shared/real_skin/tattoo/pairs.json,
#: bench/eval_real_pairs.py on 2026-11-26): unrelated views reached at most 0.38 (10_1 -> 10_3), the
#: same view re-photographed at least 0.50 (10_3 -> 10_4) and 0.57 (24_1 -> 24_2): thin margins on
#: both sides. Left at 0.5: accepting a wrong alignment gives wrong numbers, refusing a right one
#: asks the practitioner for landmarks.
MIN_REGISTRATION_CONFIDENCE = 0.5
#: Plausible linear scale of a follow-up against its baseline: a practitioner re-photographs an area
#: from roughly the same distance; 0.4-2.5 allows a follow-up taken 2.5 times closer or further.
REGISTRATION_SCALE_RANGE = (0.4, 2.5)
#: Largest ratio of the mapping's two principal stretches at the area (a tilt of about 56 degrees
#: foreshortens one axis by 1/cos = 1.8): beyond it the "same skin" is another side of the limb.
REGISTRATION_MAX_ANISOTROPY = 1.8
