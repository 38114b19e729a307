"""An area's visits over time: every photo of every visit (edit, delete), the trend, a before/after pair
chosen by the practitioner (side by side and as a wipe, colour-corrected), landmarks when automatic
alignment fails, and the PDF report and ZIP export built only when asked for."""

from datetime import datetime

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from skinscan import InputError, calibrate, color, compare, constants, load_photo, register, visuals
from skinscan.demo import comparison_record, measurement_records
from skinscan.pipeline import align_photos
from skinscan.report import (
    BY_POINTS, NONE_SAVED, NOT_ALIGNED, NOT_COMPARED, OTHER_FIRST_VISIT, apart_legend, area_report, by_points_caption,
    contrast_line_rows, delta_a_line_name, elapsed_text, elapsed_unit, fade_line_shown, hue_drift_shown, late_redness,
    late_redness_alert, no_card_caption, other_skin_caption, pair_contrasts, redness_resolved_shown, shown_number,
    shows_fade_by_default,
    trend_caption, trend_rows, unaligned_first_visit_reason,
)
from skinscan.store import CONSENT_CHOICES, TREATMENT_FIELDS, comparison_outcome, download_name, treatment_text

from app_pages.common import (
    SIDE_BY_SIDE_CANVAS_WIDTH, alignment_refusal, area_choice, area_inputs, area_keywords, drawn_shapes,
    forget_built, open_store, plain, refusal_reason, show_comparison_notes, show_definitions, without_cli_flags,
)

#: A visit's status in the table besides NOT_ALIGNED and NOT_COMPARED (skinscan.report): the first visit, and
#: a visit whose saved comparison with it was verified.
BASELINE, ALIGNED = "baseline", constants.ALIGNED
CONSENT_LABELS = {"clinical": "Clinical record only", "clinical+marketing": "Clinical record and marketing"}


def timeline_page():
    st.header("Timeline")
    store = open_store()
    client, area = area_choice(store, "timeline")
    if area is None:
        return
    visits = store.visits(area["id"])
    if not visits:
        st.info("No visits for this area yet.")
        return
    message = st.session_state.pop("timeline_message", None)
    if message:
        st.success(message)
    rows = visit_rows(visits)
    procedures = [visit["treatment"].get("procedure") for visit in visits]
    fade_first = shows_fade_by_default(area["name"], procedures)
    if rows:
        unit = elapsed_unit([row["days"] for row in rows])[1]
        # The fade % column is widened only when it holds a status ("not compared"): else it pushed spread %
        # and hue drift out of sight (walk).
        statuses = any(row["status"] in (NOT_ALIGNED, NOT_COMPARED) for row in rows)
        st.dataframe([_shown(row, delta_a_line_name(rows), unit) for row in rows], hide_index=True,
                     column_config={"fade %": st.column_config.TextColumn("fade %", width="medium")} if statuses
                     else None)
        _status_notes(rows)
        _several_photos_note(visits, rows)
        without_card = no_card_caption(rows)
        if without_card:
            st.caption(plain(without_card))
        _trend(rows, fade_first)
    _visits_section(store, visits, {row["photo_id"] for row in rows if row["status"] == ALIGNED})
    pair = _pair_section(store, visits, rows) if len(rows) >= 2 else None
    show_definitions()
    _report_and_export(store, client, area, visits, rows, pair, fade_first)
    if pair is not None:
        _fill_pair(store, visits, pair)


# --- the numbers -----------------------------------------------------------------------------------


COLUMNS = (
    ("taken", "visit", None), ("days", "since first visit", None), ("delta_a", "Δa* redness", "{:+.1f}"),
    ("delta_l", "ΔL*", "{:+.1f}"), ("delta_e00", "ΔE00", "{:.1f}"), ("pigmentation", "blend", None),
    ("fade_percent", "fade %", "{:.0f}"), ("redness_resolution_percent", "redness resolved %", "{:.0f}"),
    ("area_change_percent", "spread %", "{:+.0f}"), ("hue_shift_deg", "hue drift °", "{:+.0f}"),
    ("quality", "capture", None),
)


def _shown(row, delta_a_heading=COLUMNS[2][1], unit="days"):
    """A visit's numbers as the table shows them: rounded as measured, with plain headings (the Δa*
    column's named as the chart names its line, :func:`delta_a_line_name`), its time since the first
    visit in the series' ``unit`` (:func:`skinscan.report.elapsed_unit`); a visit that could not be
    aligned with the first, or was not compared with it, says so instead of change numbers."""
    shown = {
        (delta_a_heading if key == "delta_a" else heading):
            (shown_number(row[key], pattern) if pattern else
             elapsed_text(row[key], unit) if key == "days" else row[key])
        for key, heading, pattern in COLUMNS
    }
    if row["status"] in (NOT_ALIGNED, NOT_COMPARED):
        shown["fade %"] = row["status"]
    if row.get("by_points"):
        shown["visit"] = f"{row['taken']} ({BY_POINTS})"
    return shown


def _status_notes(rows):
    """Under the table: what "not aligned" and "not compared" mean, and a warning when no later visit is
    aligned with the first one (a photo of other skin as the first visit leaves every visit unaligned)."""
    first, later = rows[0], rows[1:]
    statuses = {row["status"] for row in later}
    by_points = [row["taken"] for row in later if row.get("by_points")]
    if by_points:
        st.caption(plain(by_points_caption(by_points)))
    if NOT_ALIGNED in statuses:
        why = "; ".join(f"{row['taken']}: {row['status_reason']}" for row in later
                        if row["status"] == NOT_ALIGNED and row.get("status_reason"))
        st.caption(plain(f"{NOT_ALIGNED}: the photo could not be matched with visit 1's on the skin around the "
                         f"area{f' ({why})' if why else ''}, so no change is given; choose it as After below to "
                         "give matching points."))
    if NOT_COMPARED in statuses:
        why = "; ".join(f"{row['taken']}: {row['status_reason']}" for row in later if row["status"] == NOT_COMPARED)
        st.caption(plain(f"{NOT_COMPARED}: no comparison with visit 1 ({first['taken']}) holds, so no change is "
                         f"given ({why}); choose the pair below to compare them now."))
    if later and ALIGNED not in statuses:
        reason = unaligned_first_visit_reason(later)
        # A walk read this as blaming the first visit when one later photo was taken from another side:
        # matching points come first; deleting the first visit only when it is not of this area.
        st.warning(f"Visit 1 ({first['taken']}) is the first visit, but {reason}. A later visit taken from "
                   "another angle can still be compared from matching points (choose it as After below). If "
                   "visit 1 is not a photo of this area (or has the wrong date), delete it or correct its date: "
                   "every change is measured from the first visit.")


def _several_photos_note(visits, rows):
    """Say which photo a row's numbers are of, for the visits holding more than one photo (a walk added a
    second photo to a visit and saw only the first one's numbers in the table, with nothing saying so)."""
    shown = {row["photo_id"] for row in rows}
    named = []
    for number, visit in enumerate(visits, start=1):
        if len(visit["photos"]) > 1:
            index = next((i for i, photo in enumerate(visit["photos"], start=1) if photo["id"] in shown), None)
            if index is not None:
                named.append(f"visit {number} ({visit['taken'][:16].replace('T', ' ')}): photo {index} of "
                             f"{len(visit['photos'])}")
    if named:
        st.caption("A row shows one photo's numbers: " + "; ".join(named) + ". The others are under the visit "
                   "below; the before and after compares any two visits.")


def _measured_photo(visit):
    """The visit's first photo with an analysis, and its results by kind (None, {} when there is none)."""
    for photo in visit["photos"]:
        results = {m["kind"]: m["result"] for m in photo["measurements"]}
        if "analysis" in results:
            return photo, results
    return None, {}


def _saved_order(photo, kind):
    """(when the photo's ``kind`` measurement was saved, photo id): orders what was saved before what."""
    created = next((m.get("created") for m in photo["measurements"] if m["kind"] == kind), None)
    return created or "", photo["id"]


def comparison_status(photo, results, baseline_photo):
    """Whether a visit's saved comparison holds against the visit now first in the timeline, and why not.

    A saved comparison was made against the area's first visit *when it was saved*; a visit saved or
    re-dated since may be first now. The comparison counts only when it was made against ``baseline_photo``:
    its ``baseline_file`` says so when the record has it; else it was saved no earlier than the baseline's
    analysis (a baseline saved later cannot have been compared with). A comparison that was tried and
    failed is saved too (:func:`skinscan.demo.measurement_records`, ``aligned: false``): "not aligned" only
    when the alignment was refused (the photos could not be matched on the skin: perhaps other skin);
    any other failure (the area falls outside the follow-up photo, …) is "not compared".

    Returns
    -------
    status : str
        ``BASELINE`` (this is the first visit's photo), ``ALIGNED`` (a verified comparison with it),
        ``NOT_ALIGNED`` (compared with it and the alignment was refused), ``NOT_COMPARED`` (no comparison
        with it: made against another first visit, never tried, or failed for another reason).
    why : str or None
        For ``NOT_ALIGNED`` and ``NOT_COMPARED``, in words (:data:`skinscan.report.OTHER_FIRST_VISIT`,
        :data:`skinscan.report.NONE_SAVED`, or the saved reason of the failure, as the app words it:
        :func:`app_pages.common.refusal_reason`); else None.
    """
    if photo["id"] == baseline_photo["id"]:
        return BASELINE, None
    comparison = results.get("comparison")
    if not comparison:
        # Nothing was tried: no first visit measured in a box when it was saved, the first photo of a
        # `batch --import` series into an area with earlier visits. Photos saved before failed comparisons
        # were recorded (2026-11-26) read so too, even when their alignment was refused: "not compared" is
        # true of them, and neither status shows change numbers.
        return NOT_COMPARED, NONE_SAVED
    if comparison.get("baseline_file"):
        against_baseline = comparison["baseline_file"] == baseline_photo["file"]
    else:
        against_baseline = _saved_order(photo, "comparison") >= _saved_order(baseline_photo, "analysis")
    if not against_baseline:
        return NOT_COMPARED, OTHER_FIRST_VISIT
    outcome = comparison_outcome(comparison)
    if outcome == ALIGNED:
        return ALIGNED, None
    saved_reason = (comparison.get("registration") or {}).get("message") or comparison.get("error")
    if outcome == NOT_ALIGNED:
        return NOT_ALIGNED, refusal_reason(saved_reason or "")
    return NOT_COMPARED, refusal_reason(saved_reason) if saved_reason else "its comparison failed"


def visit_rows(visits):
    """One row per measured visit, from the record (nothing is re-measured): its numbers (for a visit
    aligned with the first, those of the first visit's area compared on it; else its own), and the
    comparison with the area's first visit as saved.

    ``status`` and ``status_reason`` are :func:`comparison_status`'s; ``aligned`` is True for the first
    visit and the visits aligned with it; ``other_skin`` marks an aligned visit whose comparison measured
    the first visit again on other skin (the record's ``baseline_on_other_skin``;
    report.contrast_line_rows). The change numbers of the others are None (never those of another
    baseline).
    """
    rows = []
    first_taken = datetime.fromisoformat(visits[0]["taken"])
    baseline_photo = baseline_card = None
    for visit in visits:
        photo, results = _measured_photo(visit)
        if photo is None:
            continue
        baseline_photo = baseline_photo or photo
        analysis = results["analysis"]
        card_found = bool((analysis.get("card") or {}).get("found", True))
        baseline_card = card_found if baseline_card is None else baseline_card
        status, why = comparison_status(photo, results, baseline_photo)
        aligned = status in (BASELINE, ALIGNED)
        comparison = (results.get("comparison") or {}) if status == ALIGNED else {}
        # Aligned, but the first visit was measured again on other skin (its own reference was hidden
        # here, or thin: pipeline.shared_reference): this visit's own ΔE00 and Δa* are not on the first's skin.
        other_skin = bool(comparison.get("baseline_on_other_skin"))
        # Aligned from the points the practitioner clicked (register.from_landmarks): not verified by the
        # app, so said wherever its numbers are (a walk forced a 55 % fade on another side of an arm).
        by_points = (comparison.get("registration") or {}).get("method") == "landmarks"
        # An aligned visit shows the first visit's area as compared on it (what its fade % is computed
        # from), not the box drawn on this photo; records before 2026-11-26 have only the latter.
        contrast = comparison.get("followup_contrast") or analysis["contrast"]
        taken = datetime.fromisoformat(visit["taken"])
        rows.append({
            "visit_id": visit["id"], "photo_id": photo["id"], "file": photo["file"],
            "taken": visit["taken"][:16].replace("T", " "),
            "days": round((taken - first_taken).total_seconds() / 86400, 2),
            "delta_l": contrast["delta_l"], "delta_a": contrast["delta_a"],
            "delta_a_uncertainty": (analysis.get("uncertainty") or {}).get("delta_a", 0.0),
            "delta_b": contrast["delta_b"], "delta_e00": contrast["delta_e00"],
            "pigmentation": contrast["pigmentation"],
            "fade_percent": comparison.get("fade_percent"),
            "redness_resolution_percent": redness_resolved_shown(comparison.get("redness_resolution_percent")),
            # No spread or hue drift without a card in both photos (pipeline.SPREAD_WITHOUT_CARDS_WARNING;
            # records saved before 2026-11-27 kept them).
            "area_change_percent": comparison.get("area_change_percent") if card_found and baseline_card else None,
            "hue_shift_deg": comparison.get("hue_shift_deg") if card_found and baseline_card else None,
            "quality": analysis["quality"]["verdict"],
            "ita_deg": analysis["reference"]["ita_deg"],
            "ita_category": color.ita_category(analysis["reference"]["ita_deg"]),
            "aligned": aligned, "status": status, "status_reason": why, "other_skin": other_skin,
            "by_points": by_points,
            "card_found": card_found, "treatment": treatment_text(visit.get("treatment") or {}),
        })
    return rows


def _trend(rows, fade_first):
    late_red = late_redness(rows)
    if late_red:
        st.error(late_redness_alert(late_red))
    per_day, unit = elapsed_unit([r["days"] for r in rows])
    aligned, apart = trend_rows(rows)
    days = [r["days"] * per_day for r in aligned]
    same_skin = contrast_line_rows(aligned)
    same_days = [r["days"] * per_day for r in same_skin]
    figure = go.Figure()
    figure.add_scatter(x=same_days, y=[r["delta_a"] for r in same_skin], name=delta_a_line_name(aligned),
                       mode="lines+markers")
    figure.add_scatter(x=same_days, y=[r["delta_e00"] for r in same_skin], name="ΔE00 (contrast)", mode="lines+markers")
    # Percentages and degrees on their own (right) axis: not on the ΔE00 / Δa* scale.
    figure.add_scatter(x=days, y=[r["fade_percent"] for r in aligned], name="fade % (right axis)",
                       mode="lines+markers", yaxis="y2", line=dict(dash="dash"),
                       visible=True if fade_line_shown(rows, fade_first) else "legendonly")
    figure.add_scatter(x=days, y=[r["hue_shift_deg"] for r in aligned], name="hue drift ° (right axis)",
                       mode="lines+markers", yaxis="y2", line=dict(dash="dot"),
                       visible=True if hue_drift_shown(rows) else "legendonly")
    if apart:
        figure.add_scatter(x=[r["days"] * per_day for r in apart], y=[r["delta_e00"] for r in apart], mode="markers",
                           marker=dict(symbol="x-open", size=10, color="#7f8c8d"),
                           name=apart_legend(apart))
    # The right axis spans 0-100 % at least (a fade from 53 to 89 % must not fill it) and keeps its own
    # round ticks (overlaid, Plotly would sync them to the left axis's grid: "8.2, 25.8, 43.4").
    right = [v for r in aligned for v in (r["fade_percent"], r["hue_shift_deg"]) if v is not None]
    low, high = min([0.0, *right]), max([100.0, *right])
    # The time and ΔE00 / Δa* axes span their points with a margin (a single visit's points sat on the
    # chart's left edge and above its top: Plotly fits a lone point's axis to it).
    left = [v for r in same_skin for v in (r["delta_a"], r["delta_e00"]) if v is not None] + \
        [r["delta_e00"] for r in apart if r["delta_e00"] is not None]
    left_low, left_high = min([0.0, *left]), max([1.0, *left])
    latest = max([1.0, *days, *(r["days"] * per_day for r in apart)])
    figure.update_layout(xaxis=dict(title=f"{unit} since first visit", range=[-0.04 * latest, 1.04 * latest]),
                         yaxis=dict(title="ΔE00, Δa*", range=[left_low - 0.08 * (left_high - left_low),
                                                              left_high + 0.08 * (left_high - left_low)]),
                         yaxis2=dict(title="fade %, hue drift °", overlaying="y", side="right", showgrid=False,
                                     range=[low - 0.05 * (high - low), high + 0.05 * (high - low)],
                                     tickmode="auto", nticks=6),
                         legend=dict(orientation="h", yanchor="top", y=-0.25, x=0),
                         height=360, margin=dict(l=10, r=10, t=10, b=10))
    st.plotly_chart(figure)
    if apart:
        st.caption(trend_caption(apart))
    other_skin = other_skin_caption(rows)
    if other_skin:
        st.caption(other_skin)


# --- pictures --------------------------------------------------------------------------------------


def _picture(store, photo):
    """A stored photo colour-corrected on its card at display size, with its measured area outlined.

    Returns (uint8 picture, picture px per photo px, corrected?). Kept in this session only (client
    photos are never cached across sessions).
    """
    cache = st.session_state.setdefault("timeline_pictures", {})
    if photo["file"] not in cache:
        results = {m["kind"]: m["result"] for m in photo["measurements"]}
        analysis = results.get("analysis") or {}
        data = store.photo_path(photo["file"]).read_bytes()
        card = analysis.get("card") or {}
        correction, rgb = None, None
        if card.get("found") and card.get("corners"):
            try:
                calibration = calibrate(data, corners=np.asarray(card["corners"], float),
                                        chart=analysis.get("chart") or card.get("chart") or "classic24")
                rgb = calibration.photo.rgb
                correction = calibration.fit.correction if calibration.found else None
            except InputError:
                correction = None
        if rgb is None:
            rgb = load_photo(data).rgb
        picture, scale = visuals.corrected_picture(rgb, correction)
        cache[photo["file"]] = (visuals.draw_outline(picture, analysis.get("outline"), scale), picture, scale,
                                correction is not None)
    outlined, _, scale, corrected = cache[photo["file"]]
    return outlined, scale, corrected


def _visits_section(store, visits, compared_photos=frozenset()):
    """Every visit with its photos. A photo in ``compared_photos`` (the one whose table row shows its
    comparison with the first visit) is outlined, and its notes said, as measured over the first visit's
    area placed on it (the comparison's ``followup_outline`` and ``followup_warnings``), which the row's
    numbers come from; any other photo, as its own box was measured."""
    st.subheader("Visits and their photos")
    for number, visit in enumerate(visits, start=1):
        procedure = visit["treatment"].get("procedure")
        title = f"Visit {number} — {visit['taken'][:16].replace('T', ' ')} — {len(visit['photos'])} photo(s)"
        with st.expander(plain(title + (f" — {procedure}" if procedure else "")), expanded=number == len(visits)):
            columns = st.columns(min(len(visit["photos"]), 3))
            for index, photo in enumerate(visit["photos"]):
                compared = photo["id"] in compared_photos
                kept = {m["kind"]: m["result"] for m in photo["measurements"]}
                comparison = kept.get("comparison") if compared else None
                picture, mapped = _after_view(store, photo, comparison)
                corrected = _picture(store, photo)[2]
                column = columns[index % len(columns)]
                column.image(picture, caption=f"Photo {index + 1}: " + (
                    "colour-corrected on its card, " if corrected else "not colour-corrected (no card was read), ")
                    + ("the first visit's area placed on it outlined (its numbers)" if mapped
                       else "area measured outlined"))
                said = _saved_warnings(photo, compared)
                if said:
                    column.caption("Noted when measured: " + plain("; ".join(said)))
                consent = column.selectbox("Consent", CONSENT_CHOICES, index=CONSENT_CHOICES.index(photo["consent"]),
                                           format_func=CONSENT_LABELS.get, key=f"consent_{photo['id']}")
                if consent != photo["consent"]:
                    store.update_photo(photo["id"], consent=consent)
                    _changed(f"Consent of photo {index + 1} of visit {number} changed.")
                if len(visit["photos"]) > 1:
                    # As a visit is: a clinical photo is erased for good only once confirmed.
                    confirm = column.checkbox("Yes, delete this photo", key=f"confirm_delete_photo_{photo['id']}")
                    if column.button("Delete this photo", key=f"delete_photo_{photo['id']}", disabled=not confirm):
                        store.delete_photo(photo["id"])
                        _changed(f"Photo {index + 1} of visit {number} deleted: its file and numbers are erased.")
            details = treatment_text(visit["treatment"])
            if details:
                st.caption("Treatment — " + plain(details))
            if visit["notes"]:
                st.caption("Notes: " + plain(visit["notes"]))
            if st.button("Add a photo to this visit", key=f"add_photo_{visit['id']}"):
                st.session_state.visit_target = visit["id"]  # the New visit page opens on this saved visit
                st.switch_page("app_pages/visit.py")
            _edit_visit(store, visit, number)


def _correction_words(corrected, outlined="area measured outlined"):
    """How a before/after picture's colours were made, and what it outlines, for its caption."""
    return ("colour-corrected, " if corrected else "not colour-corrected (no card was read), ") + outlined


def _saved_warnings(photo, compared=False):
    """The warnings a photo's saved measurements came with, each once, in the app's words (without the
    CLI's flags).

    Parameters
    ----------
    photo : dict
        A stored photo with its ``measurements``.
    compared : bool
        Its row's numbers come from its comparison with the first visit.

    Returns
    -------
    list of str
        Compared: its comparison's ``followup_warnings`` (measured over the first visit's area, as the
        row's numbers were: its card, its reference skin there), when the record keeps that area's
        outline (``followup_outline``, which its picture then draws); what its own
        box's measurement said (e.g. "does not stand out" for a box drawn on plain skin) is then not
        about those numbers. Else its analysis's warnings (its card, its reference skin, its area), then
        those of any comparison.
    """
    said = []
    kept = {m["kind"]: m["result"] for m in photo["measurements"]}
    # As its picture (_after_view): records before the outline was kept show the box's own area and notes.
    only_comparison = compared and bool((kept.get("comparison") or {}).get("followup_outline"))
    for measurement in photo["measurements"]:
        result = measurement["result"]
        if only_comparison and measurement["kind"] == "analysis":
            continue
        found = result.get("warnings") if measurement["kind"] == "analysis" else result.get("followup_warnings")
        for warning in map(without_cli_flags, found or []):
            if warning not in said:
                said.append(warning)
    return said


def _edit_visit(store, visit, number):
    with st.popover("Edit or delete this visit"):
        with st.form(f"edit_visit_{visit['id']}"):
            taken = datetime.fromisoformat(visit["taken"])
            day = st.date_input("Date", value=taken.date())
            # Redness is followed in hours: the time is edited as the date is.
            time_of_day = st.time_input("Time", value=taken.time().replace(second=0, microsecond=0), step=60)
            notes = st.text_area("Notes", value=visit["notes"])
            treatment = {key: st.text_input(label, value=_shown_detail(visit["treatment"].get(key, "")))
                         for key, label, _ in TREATMENT_FIELDS}
            if st.form_submit_button("Save changes"):
                try:
                    kept = taken.time() if time_of_day == taken.time().replace(second=0, microsecond=0) else time_of_day
                    store.update_visit(visit["id"], taken=datetime.combine(day, kept), notes=notes,
                                       treatment=treatment)
                except InputError as error:
                    st.error(f"Not saved: {error}")
                else:
                    # A new date can move it: say where it now stands (and when it became the first).
                    order = [v["id"] for v in store.visits(visit["area_id"])]
                    now = order.index(visit["id"]) + 1
                    _changed(f"Visit {number} changed." if now == number else
                             f"Visit {number} changed: it is now visit {now}"
                             + (", the first, which the others are compared with." if now == 1 else "."))
        confirm = st.checkbox("Yes, delete this visit and its photos", key=f"confirm_delete_{visit['id']}")
        if st.button("Delete visit", key=f"delete_visit_{visit['id']}", disabled=not confirm):
            store.delete_visit(visit["id"])
            _changed(f"Visit {number} deleted: its photos and numbers are erased (the audit log keeps that it was).")


def _shown_detail(value):
    """A treatment detail as the form shows it: numbers without a trailing ``.0`` (1064, not 1064.0), and
    never rounded (a form saved for its notes must not change a fluence of 2.1234567)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _changed(message):
    """After an edit: drop what was built from the old record, say what happened, show the new record."""
    forget_built()
    st.session_state["timeline_message"] = message
    st.rerun()


# --- before and after ------------------------------------------------------------------------------


def _area_keywords(analysis_result, data):
    """``compare``'s keywords for the area a stored photo (``data``) was measured on; the photo is read
    only for an outline's mask."""
    inputs, outline = area_inputs(analysis_result)
    shape = None if "roi" in inputs else load_photo(data).rgb.shape
    return area_keywords(inputs, outline, shape)


def _compare_pair(store, before_photo, after_photo, landmarks=None):
    """Compare two stored photos (the before's area, mapped onto the after): cached in the session.

    Returns a dict: ``comparison`` (its to_dict without the two analyses), ``homography`` (before px ->
    after px), or ``error`` (why it could not be compared).
    """
    cache = st.session_state.setdefault("pairs", {})
    key = (before_photo["file"], after_photo["file"], None if landmarks is None else
           tuple(np.round(np.concatenate(landmarks).ravel(), 1)))
    if key not in cache:
        before = {m["kind"]: m["result"] for m in before_photo["measurements"]}["analysis"]
        data_before = store.photo_path(before_photo["file"]).read_bytes()
        data_after = store.photo_path(after_photo["file"]).read_bytes()
        area = _area_keywords(before, data_before)
        try:
            with st.spinner("Aligning the two visits on the skin…"):
                comparison = compare(data_before, data_after, chart=before.get("chart") or "classic24",
                                     landmarks=landmarks, **area)
            result = comparison_record(comparison)
            cache[key] = {"comparison": result, "homography": comparison.registration.homography,
                          "before_delta_e00": comparison.baseline.contrast.delta_e00,
                          "after_delta_e00": comparison.followup.contrast.delta_e00}
        except InputError as error:
            refused = isinstance(error, register.AlignmentError)
            cache[key] = {"error": _pair_refusal(error, refused), "reason": refusal_reason(error),
                          "alignment_refused": refused}
    return cache[key]


def _pair_refusal(error, alignment_refused):
    """Why two photos gave no before → after change, worded by the error's kind: matching points are the
    advice only when the alignment was refused; any other failure (the area falls outside the after photo,
    …) is said as it is."""
    if alignment_refused:
        return alignment_refusal(error, "match these two photos on the skin around the area",
                                 "If both show this area, give 3–4 matching points.")
    return alignment_refusal(error, "compare these two photos", "")


def _pair_section(store, visits, rows):
    """Choose the before and after visits; show them side by side. The numbers and the wipe go into the
    returned ``slot``, filled by :func:`_fill_pair` at the end of the run (aligning takes a second: the
    rest of the page is usable meanwhile)."""
    st.subheader("Before and after")
    # Numbered as the visits' sections are: two visits on one day (and time) stay apart.
    numbers = {visit["id"]: number for number, visit in enumerate(visits, start=1)}
    unit = elapsed_unit([row["days"] for row in rows])[1]  # as the table tells it: "(24 h)" or "(day 62)"
    labels = {row["visit_id"]: f"Visit {numbers[row['visit_id']]} — {row['taken']} "
                               f"({elapsed_text(row['days'], unit)})" for row in rows}
    ids = [row["visit_id"] for row in rows]
    left, right = st.columns(2)
    before_id = left.selectbox("Before (baseline)", ids[:-1], format_func=labels.get, key="baseline_choice")
    later = ids[ids.index(before_id) + 1:]
    after_id = right.selectbox("After", later, index=len(later) - 1, format_func=labels.get, key="after_choice")
    by_id = {visit["id"]: visit for visit in visits}
    before_photo, _ = _measured_photo(by_id[before_id])
    after_photo, after_results = _measured_photo(by_id[after_id])
    before_picture, _, before_corrected = _picture(store, before_photo)
    after_picture, _, _ = _picture(store, after_photo)
    left.image(before_picture, caption=f"Before: {labels[before_id]}, {_correction_words(before_corrected)}")
    landmarks = st.session_state.get("landmarks", {}).get((before_photo["file"], after_photo["file"]))
    stored = None
    if landmarks is None and before_id == ids[0] and _row(rows, after_id)["status"] == ALIGNED:
        saved = after_results["comparison"]
        before, after = pair_contrasts(saved, _row(rows, before_id), _row(rows, after_id))
        stored = {"comparison": saved, "before_delta_e00": before["delta_e00"], "after_delta_e00": after["delta_e00"]}
    pair = {"before": (labels[before_id], before_picture, _row(rows, before_id)),
            "after": (labels[after_id], after_picture, _row(rows, after_id)),
            "photos": (before_photo, after_photo), "landmarks": landmarks, "stored": stored,
            "key": (before_photo["file"], after_photo["file"], landmarks is not None), "after_slot": right.empty(),
            "before_is_first": before_id == ids[0]}
    _show_after(store, pair, None if stored is None else stored["comparison"])
    pair["slot"] = st.container()
    return pair


def _after_view(store, after_photo, comparison):
    """The after picture of a before → after pair, and whether it shows the before's area mapped.

    With a comparison that keeps ``followup_outline`` (the before's area mapped onto the after photo, where
    the pair's numbers come from), that outline is drawn; otherwise (no comparison yet, not aligned, a
    record saved before the outline was kept) the after photo's own measured area.

    Returns
    -------
    (numpy.ndarray, bool)
        The uint8 picture, and True when the outline drawn is the before's area mapped.
    """
    outlined, scale, _ = _picture(store, after_photo)
    mapped = (comparison or {}).get("followup_outline")
    if not mapped:
        return outlined, False
    return visuals.draw_outline(st.session_state["timeline_pictures"][after_photo["file"]][1], mapped, scale), True


def _show_after(store, pair, comparison):
    """Show (or show again, once the pair is compared) the after picture in its place, captioned with which
    area it outlines; ``pair["after"]`` then holds that picture (the PDF's)."""
    label, _, row = pair["after"]
    picture, mapped = _after_view(store, pair["photos"][1], comparison)
    pair["after"] = (label, picture, row)
    corrected = _picture(store, pair["photos"][1])[2]
    pair["after_slot"].image(picture, caption=f"After: {label}, " + (
        _correction_words(corrected, "the before's area mapped onto it outlined (where the numbers come from)")
        if mapped else _correction_words(corrected, "its own measured area outlined")))


def pair_comparison(store, pair):
    """The chosen pair's comparison: as saved when the before is the area's first visit, else measured
    now (once per session)."""
    return pair["stored"] or _compare_pair(store, *pair["photos"], pair["landmarks"])


def _fill_pair(store, visits, pair):
    before_photo, after_photo = pair["photos"]
    with pair["slot"]:
        numbers = pair_comparison(store, pair)
        if "error" in numbers:
            st.warning(plain(f"No before → after change. {numbers['error']}"))
            if numbers["alignment_refused"] or st.toggle("The alignment looks wrong: give landmarks",
                                                         key="landmarks_wanted"):
                _landmarks(store, visits, before_photo, after_photo)
            return
        comparison = numbers["comparison"]
        _show_after(store, pair, comparison)
        fade = comparison.get("fade_percent")
        resolved = redness_resolved_shown(comparison.get("redness_resolution_percent"))
        hue = comparison.get("hue_shift_deg")
        # Two rows: the percentages, then the before -> after pairs in wide columns (in one row of five or
        # six, "38.4 → 9.5" was cut to "38.4 …").
        percentages, pairs = st.columns(4), st.columns(2)
        columns = [*percentages[:2], pairs[0], pairs[1], percentages[2], percentages[3]]
        columns[0].metric("fade %", shown_number(fade, "{:.0f}"), help=(
            "since the first visit" if pair["before_is_first"] else
            f"since {pair['before'][0].split(' — ')[0]} (the before), not since the first visit as in the table")
            + ": how much of its contrast with the skin is gone (100 % = none left)")
        columns[1].metric("redness resolved %", shown_number(resolved, "{:.0f}"),
                          help=None if resolved is not None else
                          f"not defined: the before showed no redness (Δa* below {constants.REDNESS_MIN_DELTA_A})")
        columns[2].metric("ΔE00 before → after", f"{numbers['before_delta_e00']:.1f} → {numbers['after_delta_e00']:.1f}")
        columns[4].metric("spread %", shown_number(comparison.get("area_change_percent"), "{:+.0f}"),
                          help="change of the area's size since the before photo: above 0 it grew (spreading, "
                               "blurring), below 0 it shrank")
        if hue is not None:
            columns[5].metric("hue drift °", shown_number(hue, "{:+.0f}"),
                              help="change of the area's hue since the before photo (a brow turning ash or salmon)")
        if "baseline_contrast" not in comparison or "followup_contrast" not in comparison:  # records before 2026-11-26
            columns[3].metric("Δa* change", f"{comparison['delta_a_change']:+.1f}")
        else:
            # Before -> after rather than a change: a fading ink's Δa* rises towards 0 from below (less
            # red than the skin), which a bare "+9.5" would read as redness going up.
            before, after = comparison["baseline_contrast"], comparison["followup_contrast"]
            columns[3].metric("Δa* before → after",
                              f"{shown_number(before['delta_a'])} → {shown_number(after['delta_a'])}",
                              help="redness of the area against the skin around it; below 0: less red than the "
                                   "skin (ink, a pale scar)")
        show_comparison_notes(comparison.get("warnings", []))
        if (comparison.get("registration") or {}).get("method") == "landmarks":
            st.info(plain(f"{BY_POINTS.capitalize()}: these photos were matched from the points clicked, not "
                          "verified by the app: the numbers above are only as right as those points."))
        homography = numbers.get("homography")
        if homography is None:
            homography = _display_alignment(store, before_photo, after_photo)
        if homography is None:
            st.info("The wipe is not shown: the photos could not be matched at display size (the numbers above "
                    "come from the full photos).")
        else:
            _wipe(before_photo, after_photo, homography, pair["before"][0], pair["after"][0])
        if st.toggle("The alignment looks wrong: give landmarks", key="landmarks_wanted"):
            _landmarks(store, visits, before_photo, after_photo)


def _display_alignment(store, before_photo, after_photo):
    """Before photo px -> after photo px, found on the display pictures (for the wipe only; the numbers
    come from the record). None when the texture cannot be matched."""
    cache = st.session_state.setdefault("display_alignments", {})
    key = (before_photo["file"], after_photo["file"])
    if key not in cache:
        pictures = st.session_state["timeline_pictures"]
        _, before, before_scale, _ = pictures[before_photo["file"]]
        _, after, after_scale, _ = pictures[after_photo["file"]]
        analysis = {m["kind"]: m["result"] for m in before_photo["measurements"]}["analysis"]
        box = tuple(analysis["roi"]) if analysis.get("roi") else _outline_box(analysis.get("outline"))
        box = tuple(int(round(v * before_scale)) for v in box)
        with st.spinner("Aligning the two visits on the skin…"):
            registration = align_photos(before / np.float32(255), after / np.float32(255), box)
        cache[key] = None
        if registration.ok:
            cache[key] = np.diag([1 / after_scale, 1 / after_scale, 1.0]) @ registration.homography \
                @ np.diag([before_scale, before_scale, 1.0])
    return cache[key]


def _row(rows, visit_id):
    return next(row for row in rows if row["visit_id"] == visit_id)


def _wipe(before_photo, after_photo, homography, before_label, after_label):
    """The wipe: the after photo warped onto the before one, cut by a slider that moves in the browser."""
    cache = st.session_state["timeline_pictures"]
    _, before, before_scale, _ = cache[before_photo["file"]]
    _, after, after_scale, _ = cache[after_photo["file"]]
    outline = {m["kind"]: m["result"] for m in before_photo["measurements"]}["analysis"].get("outline")
    warped = visuals.warp_onto_baseline(after, homography, after_scale, before_scale, before.shape)
    x0, y0, x1, y1 = visuals.area_view(outline, before.shape, before_scale)
    before_view = visuals.draw_outline(before, outline, before_scale)[y0:y1, x0:x1]
    after_view = visuals.draw_outline(warped, outline, before_scale)[y0:y1, x0:x1]
    html, height = visuals.wipe_html(before_view, after_view, 0.5, f"before {before_label}", f"after {after_label}")
    st.caption("Aligned on the skin: drag across the photo or move the slider to wipe between the visits.")
    st.iframe(html, height=height)


def _outline_box(outline):
    """(x, y, w, h) around an outline's points (photo pixels); a 1-pixel box without points."""
    points = np.asarray([p for polygon in outline or [] for p in polygon], float).reshape(-1, 2)
    if not len(points):
        return (0, 0, 1, 1)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return (int(x0), int(y0), int(x1 - x0) + 1, int(y1 - y0) + 1)


def _landmarks(store, visits, before_photo, after_photo):
    """3-4 matching points clicked (or typed) on both photos; the mapped outline shown before it is used."""
    st.markdown("Click the same 3 or 4 points (freckles, hair roots, tattoo corners) **in the same order** on "
                "both photos, or type them below.")
    before = load_photo(store.photo_path(before_photo["file"]).read_bytes())
    after = load_photo(store.photo_path(after_photo["file"]).read_bytes())
    left, right = st.columns(2)
    with left:
        st.caption("Before")
        clicked_before = [(x, y) for x, y, _, _ in drawn_shapes(before, "landmarks_before", "point",
                                                               width=SIDE_BY_SIDE_CANVAS_WIDTH)]
    with right:
        st.caption("After")
        clicked_after = [(x, y) for x, y, _, _ in drawn_shapes(after, "landmarks_after", "point",
                                                             width=SIDE_BY_SIDE_CANVAS_WIDTH)]
    typed = st.text_input("Or type them: x1,y1,… on the before photo, then as many on the after photo "
                          "(photo pixels)", key="landmarks_typed")
    try:
        if typed.strip():
            points = register.parse_landmarks(typed)
        elif len(clicked_before) >= 3 and len(clicked_before) == len(clicked_after):
            points = (np.array(clicked_before[:4]), np.array(clicked_after[:4]))
        else:
            st.caption(f"{len(clicked_before)} point(s) on the before photo, {len(clicked_after)} on the after photo.")
            return
        analysis = {m["kind"]: m["result"] for m in before_photo["measurements"]}["analysis"]
        outline = analysis.get("outline") or []
        box = tuple(analysis["roi"]) if analysis.get("roi") else _outline_box(outline)
        for which, photo, group in (("before", before, points[0]), ("after", after, points[1])):
            group = np.asarray(group, float)
            if np.any(group < 0) or np.any(group[:, 0] > photo.width) or np.any(group[:, 1] > photo.height):
                raise InputError(f"a point lies outside the {which} photo ({photo.width} × {photo.height} pixels)")
        registration = register.from_landmarks(points[0], points[1], box)
    except InputError as error:
        st.error(plain("These points cannot be used: " + _points_problem(error)))
        return
    mapped = [registration.map_points(polygon).tolist() for polygon in outline if len(polygon) >= 3]
    picture, scale = visuals.corrected_picture(after.rgb)
    st.image(visuals.draw_outline(picture, mapped, scale),
             caption="The before photo's area mapped onto the after photo by these landmarks: check it")
    if st.button("Use these landmarks", key="use_landmarks"):
        st.session_state.setdefault("landmarks", {})[(before_photo["file"], after_photo["file"])] = points
        st.session_state.pop("prepared", None)
        first_photo, _ = _measured_photo(visits[0])
        if first_photo["id"] == before_photo["id"]:
            _save_landmark_comparison(store, before_photo, after_photo, points)
        st.rerun()


def _points_problem(error):
    """A landmark error in the page's words (before / after photos), not the CLI's (--landmarks, baseline,
    follow-up): a walk read "landmarks: the three points lie on a line" and "baseline points" here."""
    text = str(error).replace("--landmarks takes 3 or 4 baseline points then as many follow-up points",
                              "give 3 or 4 points on the before photo, then as many on the after photo")
    return (text.replace("--landmarks takes", "give").replace("landmarks: ", "")
            .replace("(baseline then follow-up)", "(on the before photo, then on the after photo)"))


def _save_landmark_comparison(store, before_photo, after_photo, points):
    """The after photo re-measured over the first visit's area mapped by the landmarks: its comparison
    record replaced (its own analysis record, with its box and chosen patch, kept)."""
    before = {m["kind"]: m["result"] for m in before_photo["measurements"]}["analysis"]
    data_before = store.photo_path(before_photo["file"]).read_bytes()
    area = _area_keywords(before, data_before)
    chart = before.get("chart") or "classic24"
    try:
        comparison = compare(data_before, store.photo_path(after_photo["file"]).read_bytes(), chart=chart,
                             landmarks=points, **area)
    except InputError as error:
        st.error(plain(f"Not saved: {refusal_reason(error)}."))
        return
    records = measurement_records(comparison.followup, None, comparison, chart, baseline_file=before_photo["file"])
    # The photo's own measurement (its box, its chosen patch, its outline) stays; only the comparison is new.
    own = [m for m in after_photo["measurements"] if m["kind"] == "analysis"]
    if own:
        records = [{"kind": "analysis", "result": own[0]["result"]},
                   *(m for m in records if m["kind"] == "comparison")]
    store.update_photo(after_photo["id"], measurements=records)
    st.session_state.pop("timeline_pictures", None)
    st.session_state["timeline_message"] = "The after visit was re-measured over the area the landmarks map."


# --- report and export -----------------------------------------------------------------------------


def _report_and_export(store, client, area, visits, rows, pair, fade_first):
    st.subheader("Report and export")
    prepared = st.session_state.setdefault("prepared", {})
    record_key = tuple((v["id"], tuple(p["id"] for p in v["photos"])) for v in visits)
    pdf_key = ("pdf", area["id"], record_key, None if pair is None else pair["key"])
    zip_key = ("zip", client["id"], record_key)
    left, right = st.columns(2)
    if left.button("Prepare PDF report", key="prepare_pdf"):
        with st.spinner("Making the PDF…"):
            numbers = {} if pair is None else pair_comparison(store, pair)
            before_after = None
            if pair is not None:
                # The after photo outlines the before's area mapped onto it, once compared (as on the page).
                label, _, row = pair["after"]
                after_picture, _ = _after_view(store, pair["photos"][1], numbers.get("comparison"))
                before_after = (pair["before"], (label, after_picture, row))
            pictures = [] if pair is not None else [
                (visit["taken"][:16].replace("T", " "), _picture(store, visit["photos"][0])[0]) for visit in visits[:1]]
            prepared[pdf_key] = area_report(client["name"], area["name"], rows, pictures, before_after=before_after,
                                            comparison=numbers.get("comparison"), show_fade=fade_first,
                                            pair_refusal=numbers.get("reason") or numbers.get("error"),
                                            pair_alignment_refused=numbers.get("alignment_refused", False))
            store.log_report(area["id"])
    if pdf_key in prepared:
        left.download_button("Download PDF report", prepared[pdf_key],
                             file_name=download_name("pdf", client["name"], area["name"]),
                             mime="application/pdf", key="pdf", on_click="ignore")
    if right.button("Prepare ZIP export of this client", key="prepare_zip"):
        with st.spinner("Collecting the client's record…"):
            prepared[zip_key] = store.export_client(client["id"])
    if zip_key in prepared:
        right.download_button("Download ZIP (photos, CSV, record)", prepared[zip_key],
                              file_name=download_name("zip", client["name"]), mime="application/zip", key="zip",
                              on_click="ignore")


timeline_page()
