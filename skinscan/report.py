"""PDF report of a treated area: the visits' photos with the measured area drawn, the numbers with
their definitions, and the trend of redness, contrast and fade (reportlab + matplotlib)."""

import io
import os
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from reportlab import rl_config  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import getSampleStyleSheet  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.platypus import (  # noqa: E402
    Image, KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle,
)

from skinscan import constants  # noqa: E402
from skinscan.color import ita_text  # noqa: E402
from skinscan.errors import for_reader  # noqa: E402
from skinscan.metrics import redness_persists  # noqa: E402
from skinscan.pipeline import (  # noqa: E402
    NO_LONGER_STANDS_OUT_WARNING, OWN_REFERENCE_WARNING, SHARED_OWN_REFERENCE_WARNING,
)

# PDF's standard Helvetica has no Greek: Δ would print as a box. DejaVu Sans ships with matplotlib.
_FONT_FOLDER = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
pdfmetrics.registerFont(TTFont("DejaVuSans", str(_FONT_FOLDER / "DejaVuSans.ttf")))
pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(_FONT_FOLDER / "DejaVuSans-Bold.ttf")))
pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold",
                              italic="DejaVuSans", boldItalic="DejaVuSans-Bold")

DEFINITIONS = (
    ("ΔL*, Δa*, Δb*", "treated area minus the surrounding skin, medians of CIE L*a*b* (D65) of the "
                      "colour-corrected photo (as taken when it has no card); Δa* is the redness measure (above "
                      "0 redder than the skin, below 0 less red: for ink, Δa* rising towards 0 is the ink "
                      "fading, not redness)"),
    ("ΔE00", "CIEDE2000 colour difference between the area and its surrounding skin"),
    ("blend", "even below 2.0 ΔE00 (skin acceptability threshold), else hypo (lighter) or hyper (darker); "
                "a red area is even unless its ITA° moved by 10° or more (redness is not pigment)"),
    ("redness", "red when Δa* is at least 2.0, the erythema index 100·log10(R/G) rose and Δa* exceeds Δb*; "
                "else not red"),
    ("fade %", "100 × (1 − ΔE00 now / ΔE00 at the first visit), over the same skin"),
    ("redness resolved %", "100 × (1 − Δa* now / Δa* at the first visit), shown at most 100 (an area now less "
                           "red than its skin has no redness left); redness after needling should "
                           "settle within 48 hours"),
    ("spread %", "100 × (area found now / area found at the first visit − 1), both found in the same box "
                 "(the first visit's, placed on this photo) and set to the same scale: above 0 the area grew "
                 "(ink or pigment spreading or blurring), below 0 it shrank; not measured unless both photos "
                 "have a colour card"),
    ("hue drift °", "change of the area's hue angle atan2(b*, a*) since the first visit, in degrees (CIE 15): "
                    "a brow turning ash or blue-grey drifts one way, turning salmon or red the other; not given "
                    "for black or grey ink, which has no hue, nor unless both photos have a colour card"),
    ("ITA°", "individual typology angle atan2(L* − 50, b*) of the surrounding skin, with its skin-tone category"),
    ("not aligned", "the photo could not be matched with the first visit's on the skin around the area: no change "
                    "is given for it, and it may show other skin"),
    ("not compared", "no comparison with the first visit shown here is saved for the visit: it was compared with "
                     "another first visit, none was tried, or it failed for a reason other than alignment (such as "
                     "the area falling outside the photo); no change is given for it"),
)

#: A visit's ``status`` (its row in :func:`area_report`) when its photo could not be matched with the first
#: visit's, and when no comparison with it is saved (made against another first visit, never tried, or failed
#: for another reason than the alignment): no change numbers then.
NOT_ALIGNED = constants.NOT_ALIGNED
NOT_COMPARED = constants.NOT_COMPARED
#: Why a visit is :data:`NOT_COMPARED` (its row's ``status_reason``), besides the saved reason a comparison
#: failed: it was compared with another first visit, or no comparison is saved with it (none was tried: or
#: it was saved before failed comparisons were recorded, 2026-11-26).
OTHER_FIRST_VISIT = "compared with another first visit"
NONE_SAVED = "no comparison was saved with it"

#: Environment variable holding the practice's name, printed at the top of every report.
PRACTICE_NAME_SETTING = "SKINSCAN_PRACTICE_NAME"
#: Words in an area's name or a visit's procedure that make fade % the headline number (tattoo removal).
FADE_FIRST_WORDS = ("tattoo", "removal", "ink")


def report_definitions(rows, pair_alignment_refused=False):
    """The DEFINITIONS the PDF prints: those of what it shows. Hue drift only when its column is printed
    (:func:`hue_drift_shown`); "not aligned" and "not compared" only when a visit (or, for "not aligned",
    the before/after pair) is so.

    Parameters
    ----------
    rows : sequence of dict
        As for :func:`area_report` (their ``status``, ``delta_a`` and ``hue_shift_deg``).
    pair_alignment_refused : bool
        The before/after pair could not be aligned (page 1 then says "not aligned").

    Returns
    -------
    list of (str, str)
        (name, definition) pairs, in DEFINITIONS' order.
    """
    statuses = {row.get("status") for row in rows}
    shown = {"hue drift °": hue_drift_shown(rows), "not aligned": NOT_ALIGNED in statuses or pair_alignment_refused,
             "not compared": NOT_COMPARED in statuses}
    return [(name, text) for name, text in DEFINITIONS if shown.get(name, True)]


def shows_fade_by_default(area_name, procedures=()):
    """True for tattoo (removal) areas, whose progress is told by fade %.

    Parameters
    ----------
    area_name : str
    procedures : sequence of str
        The visits' recorded procedures (treatment details).
    """
    text = " ".join([str(area_name), *(str(p) for p in procedures if p)]).lower()
    return any(word in text for word in FADE_FIRST_WORDS)


def plain(text):
    """Text for a reportlab Paragraph shown exactly as written: ``<``, ``>`` and ``&`` escaped, so a name
    such as ``<img src="/file"/>`` is printed, never interpreted as markup."""
    return escape(str(text))


def trend_rows(rows):
    """The visits a trend line may join (the first visit and those aligned with it), and the others.

    Parameters
    ----------
    rows : sequence of dict
        As for :func:`area_report`; a row without ``aligned`` counts as aligned.

    Returns
    -------
    aligned, apart : list of dict
        In the rows' order.
    """
    aligned = [row for row in rows if row.get("aligned", True)]
    return aligned, [row for row in rows if not row.get("aligned", True)]


#: Hue drift is shown without being asked for (chart line, report column) once a visit aligned with the
#: first drifted this many degrees: a brow turning ash or salmon is that area's story.
HUE_DRIFT_SHOWN_DEG = 10.0


def hue_drift_shown(rows):
    """Whether an area's hue drift is shown without being asked for: a pigment's (the first visit not
    redder than its skin, Δa* below constants.REDNESS_MIN_DELTA_A: for redness settling back, the hue
    moves with the redness, which its own numbers tell) that drifted by HUE_DRIFT_SHOWN_DEG or more at
    a visit aligned with the first.

    Parameters
    ----------
    rows : sequence of dict
        As for :func:`area_report`, the first visit first (``delta_a``, ``hue_shift_deg``).

    Returns
    -------
    bool

    Examples
    --------
    >>> brow = [{"delta_a": -2.0, "hue_shift_deg": None}, {"delta_a": -1.0, "hue_shift_deg": -78.0}]
    >>> hue_drift_shown(brow), hue_drift_shown(brow[:1] + [{"delta_a": -1.0, "hue_shift_deg": 3.0}])
    (True, False)
    >>> hue_drift_shown([{"delta_a": 9.0, "hue_shift_deg": None}, {"delta_a": 2.0, "hue_shift_deg": 13.0}])
    False
    """
    aligned = trend_rows(rows)[0]
    if not aligned or aligned[0]["delta_a"] >= constants.REDNESS_MIN_DELTA_A:
        return False
    return any(abs(row.get("hue_shift_deg") or 0.0) >= HUE_DRIFT_SHOWN_DEG for row in aligned)


def contrast_line_rows(rows):
    """Of the rows a trend line may join (:func:`trend_rows`), those whose own ΔE00 and Δa* may be joined
    to the first visit's: not those flagged ``other_skin`` (aligned, but the skin the first visit was
    measured against was hidden or thin, so the comparison measured both on other skin: their fade % is on
    shared skin, their own ΔE00 and Δa* are against other skin than the first visit's)."""
    return [row for row in rows if not row.get("other_skin")]


def fade_line_shown(rows, show_fade):
    """Whether a trend chart shows its fade % line: when fade leads for this area (``show_fade``), or when
    a visit is charted by its fade alone (``other_skin``: its ΔE00 and Δa* are left out of the lines,
    :func:`contrast_line_rows`), so that every aligned visit is on the chart."""
    return bool(show_fade) or any(row.get("other_skin") for row in trend_rows(rows)[0])


def other_skin_caption(rows):
    """The sentence under a trend chart naming the visits left out of its ΔE00 and Δa* lines (see
    :func:`contrast_line_rows`); empty when there are none."""
    other = [row for row in rows if row.get("other_skin")]
    if not other:
        return ""
    visits = ", ".join(_taken_text(row) for row in other)
    return (f"Visits measured against other skin around the area than the first (the first visit's was hidden "
            f"there, or too thin): {visits}. Their ΔE00 and Δa* are left out of the lines; their fade % compares "
            f"the same skin in both photos.")


def no_card_caption(rows):
    """The sentence naming the visits measured without a colour card.

    Parameters
    ----------
    rows : sequence of dict
        As for :func:`area_report`; ``card_found`` False marks a visit measured without a card (a row
        without it counts as measured with one).

    Returns
    -------
    str
        Empty when every visit had a card.
    """
    without = [row for row in rows if row.get("card_found", True) is False]
    if not without:
        return ""
    visits = ", ".join(_taken_text(row) for row in without)
    return (f"Measured without a colour card: {visits}. Their colours are as the camera took them, not "
            f"corrected on a card, so any change of light between visits shows in their numbers.")


def _photos_caption(before_row, after_row, compared=False):
    """Under page 1's before and after photos: how their colours were corrected, which had no card, and
    what is outlined (``compared``: the before's area on both, mapped onto the after photo, as the app's
    after picture shows once the pair is compared)."""
    missing = [name for name, row in (("before", before_row), ("after", after_row))
               if (row or {}).get("card_found", True) is False]
    outlined = ("The before's area is outlined in green on both, placed on the after photo by the alignment: "
                "the numbers below are measured there." if compared else "The area measured is outlined in green.")
    if not missing:
        return f"Colour-corrected on the card in each photo. {outlined}"
    if len(missing) == 2:
        return ("Neither photo had a colour card: their colours are as the camera took them, so a change of light "
                f"shows as change. {outlined}")
    return (f"The {missing[0]} photo had no colour card: its colours are as the camera took them, so a change of "
            f"light shows as change. {outlined}")


def _taken_text(row):
    taken = row["taken"] if isinstance(row["taken"], str) else row["taken"].isoformat()
    return taken[:16].replace("T", " ")


def apart_statuses(apart):
    """How the visits plotted apart (see :func:`trend_rows`) stand with the first visit, in words.

    Returns
    -------
    str
        ``"not aligned"`` (:data:`NOT_ALIGNED`: the photo could not be matched, it may show other skin),
        ``"not compared"`` (:data:`NOT_COMPARED`: no comparison with the first visit is saved) or
        ``"not aligned or not compared"`` when both are present; a row without ``status`` counts as
        not aligned.
    """
    statuses = _statuses(apart)
    return " or ".join(status for status in (NOT_ALIGNED, NOT_COMPARED) if status in statuses)


def _statuses(rows):
    """The statuses of some rows, a row without ``status`` counting as :data:`NOT_ALIGNED`."""
    return {row.get("status") or NOT_ALIGNED for row in rows}


def apart_legend(apart):
    """The trend chart's legend entry for the ΔE00 marks of the visits plotted apart: "other skin?" only
    when one of them could not be aligned (a visit merely not compared is no sign of other skin)."""
    doubt = " (other skin?)" if NOT_ALIGNED in _statuses(apart) else ""
    return f"ΔE00 of visits {apart_statuses(apart)} with visit 1{doubt}"


def trend_caption(apart):
    """The sentence under a trend chart that names the visits plotted apart (see :func:`trend_rows`)."""
    visits = ", ".join(f"{_taken_text(row)} ({row.get('status') or NOT_ALIGNED})" for row in apart)
    doubt = "; it may be of other skin" if NOT_ALIGNED in _statuses(apart) else ""
    return (f"✕ Visits {apart_statuses(apart)} with the first visit, left out of the lines: {visits}. Only their own ΔE00 "
            f"is marked{doubt}.")


def unaligned_first_visit_reason(later):
    """Why the first visit may not belong to the area, when no later visit is aligned with it: which
    statuses the later visits have, in words for the warning under the timeline's table.

    Parameters
    ----------
    later : sequence of dict
        The rows after the first (:func:`area_report`), none of them aligned with it; a
        :data:`NOT_COMPARED` row's ``status_reason`` says why (missing: :data:`OTHER_FIRST_VISIT`).

    Returns
    -------
    str
        A clause: the later visits were all compared with another first visit (the first visit was saved
        after them), none was compared with it (:data:`NOT_COMPARED` for other reasons too), none could be
        aligned (:data:`NOT_ALIGNED`), or how many are each when both are present.
    """
    statuses = [row.get("status") or NOT_ALIGNED for row in later]
    if set(statuses) == {NOT_COMPARED}:
        if all(row.get("status_reason", OTHER_FIRST_VISIT) == OTHER_FIRST_VISIT for row in later):
            return "it was saved after the later visits, which were compared with another first visit"
        return "no later visit was compared with it"
    if set(statuses) == {NOT_ALIGNED}:
        return "no later visit could be aligned with it"
    return (f"no later visit is aligned with it: {statuses.count(NOT_ALIGNED)} {NOT_ALIGNED} (could not be "
            f"matched with it), {statuses.count(NOT_COMPARED)} {NOT_COMPARED} (no comparison with it saved)")


#: How a visit aligned from the practitioner's matching points is marked: in the timeline's table (the
#: practitioner's words) and in the PDF (the client's). register.from_landmarks: the app did not verify
#: that alignment.
BY_POINTS = "aligned by your points"
BY_HAND = "aligned by hand"


def by_points_caption(taken, for_client=False):
    """The sentence under a table naming the visits aligned from matching points.

    Parameters
    ----------
    taken : sequence of str
        The visits' dates.
    for_client : bool
        Worded for the PDF (the client's): "aligned by hand", the practitioner's points; else for the
        practitioner on the timeline: "aligned by your points".

    Returns
    -------
    str
    """
    mark = BY_HAND if for_client else BY_POINTS
    clicked = "points the practitioner clicked" if for_client else "the points clicked"
    them = ("This visit was", "its numbers are") if len(taken) == 1 else ("These visits were", "their numbers are")
    return (f"{mark.capitalize()}: {', '.join(str(t) for t in taken)}. {them[0]} matched with the first visit from "
            f"{clicked}, not verified by the app: {them[1]} only as right as those points.")


def late_redness(rows):
    """The last visit aligned with the first one whose redness persists past the expected window, or None.

    Only the first visit and those aligned with it count (:func:`trend_rows`): a visit not aligned or not
    compared with the first may be of other skin, and its days since the first visit mean nothing for
    this area's healing. The test is :func:`skinscan.metrics.redness_persists` on ``days`` × 24 hours,
    ``delta_a`` and ``delta_a_uncertainty`` (0 when absent).

    Parameters
    ----------
    rows : sequence of dict
        As for :func:`area_report`.

    Returns
    -------
    dict or None
        The row, to name its day and Δa* in the alert "consider referring the client".
    """
    late = [row for row in trend_rows(rows)[0]
            if redness_persists(row["days"] * 24, row["delta_a"], row.get("delta_a_uncertainty") or 0.0)]
    return late[-1] if late else None


def late_redness_alert(row):
    """The alert for :func:`late_redness`'s row: its Δa* and when it was taken (in hours, as the window is,
    within HOURS_SERIES_MAX_DAYS of the first visit: "day 2" would read as inside a 48-hour window), and the
    advice to refer the client unless the redness is ink (constants.REFER_UNLESS_INK)."""
    when = elapsed_text(row["days"], elapsed_unit([row["days"]])[1])
    when = f", {when} after the first visit" if when.endswith(" h") else f" on {when}"
    return (f"Redness persists beyond {constants.REDNESS_EXPECTED_WINDOW_HOURS:.0f} hours "
            f"(Δa* {row['delta_a']:+.1f}{when}): {constants.REFER_UNLESS_INK}.")


REDNESS_LINE = "Δa* (redness)"
RED_GREEN_LINE = "Δa* (red–green vs skin)"


def delta_a_name(delta_a):
    """How to name a Δa* (a*_area − a*_skin, CIE 1976 L*a*b*) whose area measured ``delta_a``.

    Returns
    -------
    str
        :data:`REDNESS_LINE` when the area is redder than its skin (Δa* at least
        constants.REDNESS_MIN_DELTA_A: a fresh procedure, a wound, a red pigment) or ``delta_a`` is
        None; else :data:`RED_GREEN_LINE`: for ink or a pale area no redder than its skin, Δa* rising
        towards 0 is its colour fading into the skin's, which "redness" would show as redness going up.
    """
    return REDNESS_LINE if delta_a is None or delta_a >= constants.REDNESS_MIN_DELTA_A else RED_GREEN_LINE


def delta_a_line_name(rows):
    """The name of a trend chart's or table's Δa*: :func:`delta_a_name` of the first visit's (``rows``
    as for :func:`area_report`, the first visit first)."""
    return delta_a_name(rows[0].get("delta_a") if rows else None)


#: A series whose visits all lie within this many days of the first is told in hours (redness after
#: needling should settle within hours to two days; "day 0, day 0, day 1" would hide it).
HOURS_SERIES_MAX_DAYS = 3.0


def elapsed_unit(days):
    """How a series' time since its first visit is told: in hours when every visit lies within
    HOURS_SERIES_MAX_DAYS of the first, else in days.

    Parameters
    ----------
    days : sequence of float
        Days since the first visit, one per visit.

    Returns
    -------
    (float, str)
        Units per day (24 or 1) and the unit's name ("hours" or "days").

    Examples
    --------
    >>> elapsed_unit([0, 0.25, 1.0, 2.0]), elapsed_unit([0, 59, 120])
    ((24.0, 'hours'), (1.0, 'days'))
    """
    return (24.0, "hours") if max(days, default=0.0) <= HOURS_SERIES_MAX_DAYS else (1.0, "days")


def elapsed_text(days, unit):
    """A visit's time since the first, in the series' ``unit`` (:func:`elapsed_unit`): "6 h" or "day 62".

    Parameters
    ----------
    days : float
        Days since the first visit.
    unit : str
        "hours" or "days".

    Returns
    -------
    str

    Examples
    --------
    >>> elapsed_text(0.25, "hours"), elapsed_text(61.6, "days")
    ('6 h', 'day 62')
    """
    return f"{days * 24:.0f} h" if unit == "hours" else f"day {days:.0f}"


def _trend_png(rows, show_fade=False):
    """A small chart of Δa*, ΔE00 (and fade %, and hue drift when :func:`hue_drift_shown`, on their own
    axis) against time since the first visit (in hours or days, :func:`elapsed_unit`); the visits not
    aligned with the first are left out of the lines, their ΔE00 marked apart (grey ✕)."""
    per_day, unit = elapsed_unit([row["days"] for row in rows])
    show_hue = hue_drift_shown(rows)
    rows, apart = trend_rows(rows)
    days = [row["days"] * per_day for row in rows]
    figure, axis = plt.subplots(figsize=(6.4, 3.0), dpi=150)
    same_skin = contrast_line_rows(rows)
    same_days = [row["days"] * per_day for row in same_skin]
    axis.plot(same_days, [row["delta_a"] for row in same_skin], "o-", color="#c0392b", label=delta_a_line_name(rows))
    axis.plot(same_days, [row["delta_e00"] for row in same_skin], "s-", color="#34495e", label="ΔE00 (contrast)")
    if apart:
        axis.plot([row["days"] * per_day for row in apart], [row["delta_e00"] for row in apart], "x",
                  color="#7f8c8d", markersize=8, label=f"ΔE00, {apart_statuses(apart)}")
    axis.axhline(2.0, color="#7f8c8d", linestyle=":", linewidth=1, label="2.0 (acceptability)")
    axis.set_xlabel(f"{unit} since first visit")
    axis.set_ylabel("ΔE00, Δa*")
    axis.grid(alpha=0.3)
    handles, labels = axis.get_legend_handles_labels()
    if show_fade or show_hue:
        # Percentages and degrees on the right axis, from 0 to 100 at least.
        right_axis = axis.twinx()
        candidates = ((("fade_percent", "^--", "#16a085", "fade %"), show_fade),
                      (("hue_shift_deg", "v:", "#8e44ad", "hue drift °"), show_hue))
        series = [series for series, shown in candidates if shown]
        plotted = []
        for key, marker, colour, name in series:
            points = [(d, row[key]) for d, row in zip(days, rows) if row.get(key) is not None]
            right_axis.plot([d for d, _ in points], [v for _, v in points], marker, color=colour, label=name)
            plotted += [v for _, v in points]
        right_axis.set_ylabel(", ".join(name for *_, name in series))
        right_axis.set_ylim(min([-10, *plotted]), max([105, *plotted]))  # none plotted: every fade undefined
        more_handles, more_labels = right_axis.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    axis.legend(handles, labels, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    buffer.seek(0)
    return buffer


def _png(rgb_uint8, width_mm):
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    picture = PILImage.fromarray(rgb_uint8)
    picture.thumbnail((900, 900))
    picture.save(buffer, "PNG")
    buffer.seek(0)
    height_mm = width_mm * picture.height / picture.width
    return Image(buffer, width=width_mm * mm, height=height_mm * mm)


def redness_resolved_shown(percent):
    """A redness resolution as the page and the report show it: at most 100.

    ``redness_resolution_percent`` = 100 · (1 − Δa*_followup / Δa*_baseline) passes 100 when the area,
    redder than its skin at the first visit, now reads less red than it (Δa* +6.0 -> −1.6 gives 127 %):
    all of the redness is gone, which is 100 % resolved. The record, the JSON and the CSV export keep the
    figure as computed.

    Parameters
    ----------
    percent : float or None

    Returns
    -------
    float or None

    Examples
    --------
    >>> redness_resolved_shown(126.7), redness_resolved_shown(-25.0), redness_resolved_shown(None)
    (100.0, -25.0, None)
    """
    return None if percent is None else min(float(percent), 100.0)


def shown_number(value, pattern="{:+.1f}"):
    """A number as the page and the report show it: ``pattern`` applied, "–" for None, and a value that
    rounds to zero shown without a sign ("0", never "-0" or "+0").

    Parameters
    ----------
    value : float or None
    pattern : str
        A format string with one field, e.g. ``"{:.0f} %"``.

    Returns
    -------
    str

    Examples
    --------
    >>> shown_number(-0.3, "{:.0f} %"), shown_number(0.04), shown_number(-2.26), shown_number(None)
    ('0 %', '0.0', '-2.3', '–')
    """
    if value is None:
        return "–"
    text = pattern.format(value)
    if not any(digit in "123456789" for digit in text):
        text = pattern.format(0.0).replace("+", "", 1)
    return text



def _grid(cells, header=True):
    grid = Table(cells, repeatRows=1 if header else 0)
    grid.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), "DejaVuSans"),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#bdc3c7")),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        *([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#ecf0f1"))] if header else []),
    ]))
    return grid


def pair_contrasts(comparison, before_row, after_row):
    """The before and after numbers of a compared pair: the contrasts its fade was computed from
    (``baseline_contrast``, ``followup_contrast``) where the saved comparison keeps them, else the two
    visits' own rows. Returns the two rows with those keys replaced."""
    comparison = comparison or {}
    return ({**before_row, **(comparison.get("baseline_contrast") or {})},
            {**after_row, **(comparison.get("followup_contrast") or {})})


#: A comparison's own words for its two photos, and the report's (the PDF is the client's to read).
_REPORT_WORDS = (("the baseline's", "the before photo's"), ("the baseline", "the before photo"),
                 ("the follow-up's", "the after photo's"), ("the follow-up", "the after photo"),
                 ("at baseline", "in the before photo"), ("redness resolution", "redness resolved"))


def pair_notes(comparison):
    """The before/after comparison's notes as PDF page 1 prints them under its numbers.

    Parameters
    ----------
    comparison : dict or None
        The pair's comparison record (:func:`skinscan.demo.comparison_record`): its ``warnings``, its
        ``followup_warnings`` and its ``registration``.

    Returns
    -------
    list of str
        Sentences (:func:`skinscan.errors.for_reader`, with "before photo" and "after photo" for the
        baseline and the follow-up): that the pair was aligned by hand (:data:`BY_HAND`); what its
        numbers were measured against (a thin or hidden reference, no colour card); why a cell is "–"
        (no redness at the first visit, no spread without cards). The spread's own "no longer stands
        out" is said beside it instead. A walk found the PDF without any of them, while the screen gave
        them all.
    """
    comparison = comparison or {}
    notes = []
    if (comparison.get("registration") or {}).get("method") == "landmarks":
        notes.append(f"{BY_HAND.capitalize()}: the after photo was matched with the before photo from points the "
                     "practitioner clicked, not verified by the app")
    hidden = (OWN_REFERENCE_WARNING, SHARED_OWN_REFERENCE_WARNING)
    warnings = [*comparison.get("warnings", ()),
                *(warning for warning in comparison.get("followup_warnings", ()) if warning in hidden)]
    for warning in warnings:
        if warning == NO_LONGER_STANDS_OUT_WARNING:
            continue
        text = for_reader(warning)
        for said, written in _REPORT_WORDS:
            text = text.replace(said, written).replace(said.capitalize(), written.capitalize())
        notes.append(text)
    return notes


def _pair_numbers(comparison, before_row, after_row, show_fade):
    """The before/after numbers with one-line definitions, fade % first for tattoo areas
    (:func:`pair_contrasts`)."""
    comparison = comparison or {}
    before_row, after_row = pair_contrasts(comparison, before_row, after_row)
    lines = [
        ("fade %", shown_number(comparison.get("fade_percent"), "{:.0f} %"),
         "how much of the contrast with the surrounding skin is gone (100 % = none left)"),
        ("redness resolved", shown_number(redness_resolved_shown(comparison.get("redness_resolution_percent")),
                                          "{:.0f} %"),
         "how much of the redness (Δa*) is gone since the before photo"),
        ("spread", shown_number(comparison.get("area_change_percent"), "{:+.0f} %")
         + (" (the area no longer stands out)" if NO_LONGER_STANDS_OUT_WARNING in comparison.get("warnings", ())
            else ""),
         "change of the area's size since the before photo: above 0 it grew (ink or pigment spreading or "
         "blurring), below 0 it shrank"),
        ("ΔE00 before → after",
         " → ".join(shown_number(row.get("delta_e00"), "{:.1f}") for row in (before_row, after_row)),
         "colour difference from the surrounding skin; about 1 is just noticeable, 2.0 is a common "
         "acceptability threshold"),
        ("Δa* before → after", f"{shown_number(before_row.get('delta_a'))} → {shown_number(after_row.get('delta_a'))}",
         "redness of the area compared with the skin around it"
         if delta_a_name(before_row.get("delta_a")) == REDNESS_LINE
         else "red–green difference of the area from the skin around it: below 0 less red (ink, a pale "
              "scar); towards 0 its colour fading into the skin's, not redness"),
    ]
    if not show_fade:
        lines = lines[1:] + lines[:1]
    return [[name, value, Paragraph(plain(text), _styles()["Small"])] for name, value, text in lines]


def _styles():
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = "DejaVuSans-Bold" if "Bold" in getattr(style, "fontName", "") else "DejaVuSans"
    styles.add(styles["Normal"].clone("Small", fontSize=7.5, leading=9))
    return styles


def _pair_refused(rows, pair_refusal, show_fade, alignment_refused):
    """Page 1 when the before/after photos were not compared: why, and the latest visit that was."""
    styles = _styles()
    reason = f" ({pair_refusal})" if pair_refusal else ""
    failed = "could not be aligned on the skin around the area" if alignment_refused else "could not be compared"
    story = [Paragraph(plain(f"These two photos {failed}{reason}, so this report gives no before → after change "
                             "for them."), styles["Normal"])]
    # A visit with a fade or a redness resolved (fade is not defined when the first visit did not stand out).
    aligned = [row for row in rows[1:] if row.get("aligned", True)
               and (row.get("fade_percent") is not None or row.get("redness_resolution_percent") is not None)]
    if aligned:
        latest = aligned[-1]
        resolved = latest.get("redness_resolution_percent")
        number = (f"fade {latest['fade_percent']:.0f} %"
                  if latest.get("fade_percent") is not None and (show_fade or resolved is None)
                  else f"redness resolved {redness_resolved_shown(resolved):.0f} %")
        story.append(Paragraph(plain(f"The latest visit aligned with the first visit ({_taken_text(rows[0])}) is "
                                     f"{_taken_text(latest)}: {number}; every visit is in the table below."),
                               styles["Normal"]))
    return story


def area_report(client_name, area_name, rows, pictures=(), before_after=None, comparison=None,
                practice_name=None, show_fade=None, pair_refusal=None, pair_alignment_refused=False):
    """Build the PDF a client can take home.

    Page 1: the practice's name, before and after side by side with the area outlined, the numbers of
    that pair with their definitions. Then every visit's numbers, the trend chart and the definitions of
    what the report shows (:func:`report_definitions`).
    Every name is printed as plain text (reportlab markup in a name is escaped, never interpreted).

    Parameters
    ----------
    client_name, area_name : str
    rows : sequence of dict
        One per visit, in date order: ``taken`` (datetime or ISO text), ``days``, ``delta_l``,
        ``delta_a``, ``delta_b``, ``delta_e00``, ``pigmentation``, ``fade_percent``,
        ``redness_resolution_percent``, ``quality``, ``ita_deg``, ``ita_category``; optionally
        ``area_change_percent`` (spread), ``hue_shift_deg`` (a column when :func:`hue_drift_shown`),
        ``aligned`` (False: not aligned with the first visit) and ``status`` (:data:`NOT_ALIGNED`,
        :data:`NOT_COMPARED`), shown instead of its fade %; ``by_points`` (aligned from the
        practitioner's matching points: marked, :data:`BY_HAND`).
    pictures : sequence of (caption, uint8 RGB array)
        Photos with the measured area drawn; without ``before_after`` the first and the last are the
        before/after pair.
    before_after : tuple of two (caption, uint8 RGB array, row), optional
        The pair chosen by the practitioner (colour-corrected, area outlined) with their table rows.
    comparison : dict, optional
        The pair's comparison (``fade_percent``, ``redness_resolution_percent``, ...; with
        ``followup_outline`` the caption says the after photo outlines the before's area mapped, as the
        app draws it; its notes, :func:`pair_notes`, are printed under the numbers). Without it page 1
        gives no before → after change: it says the photos could not be compared (``pair_refusal`` says
        why) and names the latest visit aligned with the first.
    practice_name : str, optional
        Default: the ``SKINSCAN_PRACTICE_NAME`` environment variable.
    show_fade : bool, optional
        Lead with fade % (and chart it); default: :func:`shows_fade_by_default` of the area.
    pair_refusal : str, optional
        Why the before/after photos could not be compared, in plain words.
    pair_alignment_refused : bool
        The comparison was refused because the photos could not be aligned on the skin (a
        :class:`skinscan.register.AlignmentError`): page 1 says "could not be aligned on the skin around
        the area" instead of "could not be compared".

    Returns
    -------
    bytes
        The PDF.
    """
    styles = _styles()
    practice_name = os.environ.get(PRACTICE_NAME_SETTING, "") if practice_name is None else practice_name
    show_fade = shows_fade_by_default(area_name) if show_fade is None else show_fade
    if before_after is None and len(pictures) >= 2:
        before_after = ((*pictures[0], rows[0] if rows else {}), (*pictures[-1], rows[-1] if rows else {}))
    story = []
    if practice_name.strip():
        story.append(Paragraph(plain(practice_name), styles["Heading2"]))
    story += [
        Paragraph(f"Treatment progress — {plain(area_name)}", styles["Title"]),
        Paragraph(f"Client: {plain(client_name)} · made {datetime.now():%Y-%m-%d %H:%M}", styles["Normal"]),
        Spacer(1, 4 * mm),
    ]
    if before_after is not None:
        (before_caption, before_picture, before_row), (after_caption, after_picture, after_row) = before_after
        photos = Table([
            [_png(before_picture, 85), _png(after_picture, 85)],
            [Paragraph(f"Before: {plain(before_caption)}", styles["Small"]),
             Paragraph(f"After: {plain(after_caption)}", styles["Small"])],
        ])
        caption = _photos_caption(before_row, after_row, "followup_outline" in (comparison or {}))
        story += [KeepTogether([photos, Paragraph(caption, styles["Small"])]),
                  Spacer(1, 3 * mm)]
        if comparison is None:
            story += _pair_refused(rows, pair_refusal, show_fade, pair_alignment_refused)
        else:
            story.append(_grid(_pair_numbers(comparison, before_row or {}, after_row or {}, show_fade), header=False))
            notes = pair_notes(comparison)
            if notes:
                story.append(Paragraph("Notes on this comparison:<br/>" + "<br/>".join(plain(n) for n in notes),
                                       styles["Small"]))
        story.append(PageBreak())
    hue = hue_drift_shown(rows)
    unit = elapsed_unit([row["days"] for row in rows])[1]
    # Two-line headings: twelve columns fit the page's width.
    table = [["date", "since\nfirst visit", "ΔL*", "Δa*", "Δb*", "ΔE00", "blend", "fade %", "redness\nresolved %",
              "spread %", *(["hue\ndrift °"] if hue else []), "quality"]]
    for row in rows:
        fade = shown_number(row.get("fade_percent"), "{:.0f}")
        if not row.get("aligned", True):
            fade = row.get("status") or NOT_ALIGNED
        taken = _taken_text(row).replace(" ", "\n") + ("\nby hand" if row.get("by_points") else "")
        table.append([
            taken, elapsed_text(row["days"], unit), shown_number(row["delta_l"]),
            shown_number(row["delta_a"]), shown_number(row["delta_b"]), shown_number(row["delta_e00"], "{:.1f}"),
            row["pigmentation"], fade,
            shown_number(redness_resolved_shown(row.get("redness_resolution_percent")), "{:.0f}"),
            shown_number(row.get("area_change_percent"), "{:+.0f}"),
            *([shown_number(row.get("hue_shift_deg"), "{:+.0f}")] if hue else []), row.get("quality", ""),
        ])
    story += [Paragraph("Every visit", styles["Heading3"]), _grid(table), Spacer(1, 4 * mm)]
    by_points = [_taken_text(row) for row in rows if row.get("by_points")]
    if by_points:
        story += [Paragraph(plain(by_points_caption(by_points, for_client=True)), styles["Small"]), Spacer(1, 3 * mm)]
    treated = [row for row in rows if row.get("treatment")]
    if treated:
        # What was done at each visit, for whoever reads the report next (a walk found it only in the ZIP).
        story.append(Paragraph("Treatments:<br/>" + "<br/>".join(
            f"{plain(_taken_text(row))} — {plain(row['treatment'])}" for row in treated), styles["Small"]))
        story.append(Spacer(1, 3 * mm))
    if rows:
        first = rows[0]
        story.append(Paragraph(
            f"Surrounding skin at the first visit: ITA {ita_text(first['ita_deg'])} ({plain(first['ita_category'])}"
            + (", no colour card: indicative only, as the camera's exposure and white balance set it"
               if first.get("card_found", True) is False else "") + ").",
            styles["Normal"],
        ))
    if len(rows) >= 2:
        story += [Spacer(1, 3 * mm),
                  Image(_trend_png(rows, fade_line_shown(rows, show_fade)), width=160 * mm, height=75 * mm)]
        apart = trend_rows(rows)[1]
        if apart:
            story.append(Paragraph(plain(trend_caption(apart)), styles["Small"]))
        other_skin = other_skin_caption(rows)
        if other_skin:
            story.append(Paragraph(plain(other_skin), styles["Small"]))
    without_card = no_card_caption(rows)
    if without_card:
        story.append(Paragraph(plain(without_card), styles["Small"]))
    if pictures and before_after is None:
        cells = [[_png(picture, 80), Paragraph(plain(caption), styles["Normal"])] for caption, picture in pictures]
        story += [Spacer(1, 3 * mm), Table(cells)]
    story += [Spacer(1, 4 * mm), Paragraph("Definitions", styles["Heading3"])]
    story += [Paragraph(f"<b>{plain(name)}</b>: {plain(text)}", styles["Normal"])
              for name, text in report_definitions(rows, pair_alignment_refused)]
    buffer = io.BytesIO()
    # Streams written binary (Flate only), not also ASCII85-encoded: without reportlab's optional C
    # accelerator (the rl_accel package) the pure-Python encoder took 1.2 of 1.8 s of a two-photo report
    # here, and binary streams are 20 % smaller. PDF readers take either. Set for this build only:
    # reportlab's setting is global, and other PDFs made in this process keep theirs.
    use_a85 = rl_config.useA85
    rl_config.useA85 = 0
    try:
        SimpleDocTemplate(buffer, pagesize=A4, title=f"skinscan report — {area_name}").build(story)
    finally:
        rl_config.useA85 = use_a85
    return buffer.getvalue()
