"""A visit: upload, card check, treated area, numbers, consent, treatment details, save — nothing saved
without saying so; photos go into a new visit or are added to a saved one.

Every input that belongs to a photo (its box, outline, corners, choices) is keyed by the photo's
content (:func:`app_pages.common.state_key`). A photo that cannot be measured, has no box yet, has no
colour card read or a "retake" verdict is named before the save, and saved only when the practitioner
says so. A new visit dated before the area's first visit is said (saved, it becomes the first), and
confirmed when a photo of it could not be compared with that first visit; a photo the area's record
already holds is said. Each visit form saves once: after the save its button is replaced by "Saved".
"""

import json
import uuid
from datetime import datetime

import numpy as np
import streamlit as st

from skinscan import InputError, analyze, compare, constants, pipeline, register, segment
from skinscan import card as card_module
from skinscan.demo import measurement_records
from skinscan.store import TREATMENT_FIELDS, stored_file_name

from app_pages.common import (
    CHART_NAMES, DRAW_IT_YOURSELF, GIVE_LANDMARKS, alignment_refusal, area_choice, area_keywords, baseline_of,
    baseline_photo, box_to_outline, display_overlay, draw_box, drawn_outline_mask, drawn_shapes, for_reader,
    measured_outline, open_store, photo_key, plain, refusal_reason, session_calibration, show_comparison_notes,
    show_numbers, state_key, to_uint8, verdict_badge, visits_named, without_cli_flags,
)

#: How a photo left out for want of the "save anyway" tick ends its reason.
UNCONFIRMED = "; not confirmed"
#: Why a photo with no box or outline yet is left out.
NO_AREA_MARKED = "no treated area marked yet"
#: Below this share of the first visit's area (mapped) inside a later photo's box, the page says the box's
#: own numbers are of other skin.
FIRST_AREA_HELD = 0.5


def visit_page():
    st.header("New visit")
    store = open_store()
    client, area = area_choice(store, "visit")
    if area is None:
        return
    chart = st.radio("Colour card", constants.CHART_TYPES, horizontal=True, index=1, format_func=CHART_NAMES.get,
                     key="chart")
    target = _target_visit(store, area)
    uploads = st.file_uploader("Photos of this visit (JPEG, PNG, TIFF, WebP; HEIC with the extra)",
                               accept_multiple_files=True, key="uploads")
    if not uploads:
        st.caption("Photograph the area with the colour card beside it, in the same light.")
        return
    visits = store.visits(area["id"])
    baseline, previous = baseline_of(store, visits), earlier_areas(store, visits)
    photos = []
    for index, upload in enumerate(uploads):
        data = upload.getvalue()
        st.subheader(f"Photo {index + 1}: {plain(upload.name)}")
        same = next((p for p in photos if p["hash"] == photo_key(data)), None)
        if same is not None:  # its inputs are the other copy's (state belongs to the photo's content)
            st.warning(f"The same photo as {plain(same['name'])}: it is saved once.")
            continue
        try:
            photos.append(_measure_upload(upload.name, data, chart, baseline, previous))
        except InputError as error:
            # The file is named already: not again as "the uploaded file" (the reader's name for bytes).
            reason = str(error).removeprefix("the uploaded file: ")
            st.error(f"{plain(upload.name)} cannot be measured: {plain(reason)}")
            photos.append({"name": upload.name, "hash": photo_key(data), "item": None,
                           "left_out": f"cannot be measured: {reason}"})
    _save_section(store, area, chart, photos, target, visits)


# --- saving ------------------------------------------------------------------------------------------


def _visit_form(signature, visits):
    """This visit form's state: a token and, once saved, the visit's id and its photos' ids.

    The form is the area and the photos in it: after a save, changing either starts a new form (a new
    token); the same photos again stay saved, however often "Save visit" is clicked, as long as the
    record (``visits``: the area's visits now) still has the visit and at least one of the photos
    saved; once they are deleted (on the timeline) the form starts anew.
    """
    form = st.session_state.get("visit_form")
    saved = None if form is None else form["saved"]
    stored = {v["id"]: {p["id"] for p in v["photos"]} for v in visits}
    deleted = saved is not None and saved["visit_id"] is not None and (
        saved["visit_id"] not in stored or not stored[saved["visit_id"]] & set(saved["photo_ids"]))
    if form is None or deleted or (saved is not None and form["signature"] != signature):
        form = {"token": uuid.uuid4().hex, "signature": signature, "saved": None}
        st.session_state.visit_form = form
    form["signature"] = signature
    return form


def _save_section(store, area, chart, photos, target, visits):
    st.divider()
    ready = [p for p in photos if p["item"] is not None and p["left_out"] is None]
    left_out = [p for p in photos if p not in ready]
    form = _visit_form((area["id"], target, tuple(p["hash"] for p in photos)), visits)
    if form["saved"] is not None:
        st.success(form["saved"]["message"])
        st.button("Saved", disabled=True, key="saved_visit", icon="✅")
        return
    # Photos waiting only for their "Save … anyway" tick are named by the line below when nothing else can
    # be saved (their doubts were said under each photo).
    waiting = [p for p in left_out if (p["left_out"] or "").endswith(UNCONFIRMED)]
    if left_out and (ready or len(waiting) < len(left_out)):
        st.warning("Not saved with this visit: " + "; ".join(f"{plain(p['name'])} ({plain(p['left_out'])})"
                                                               for p in left_out))
    if not ready:
        unconfirmed = [p["name"] for p in waiting]
        unmarked = [p for p in left_out if p["left_out"] == NO_AREA_MARKED]
        st.info("Nothing to save yet: " + (
            f"tick “Save … anyway” under {plain(' and '.join(unconfirmed))} to save it as it is."
            if unconfirmed else "mark the treated area on a photo." if unmarked or not left_out else
            "no photo could be measured (each one says why above)."))
        return
    repeated = _already_saved(ready, visits)
    for p, days in repeated:
        st.warning(f"{plain(p['name'])}: this photo is already saved in this area on {plain(' and '.join(days))}.")
    token = form["token"]
    # Saved again it would count as a new visit (the trend would step back to it): confirmed, not blocked.
    confirmed = not repeated or st.checkbox(
        f"Save {plain(' and '.join(p['name'] for p, _ in repeated))} again anyway", key=f"again_{token}")
    if target is None:
        photo = ready[0]["item"]["analysis"].calibration.photo
        default_day = photo.taken.date() if photo.taken else datetime.now().date()
        day_column, time_column = st.columns(2)
        taken_day = day_column.date_input("Visit date", value=default_day, key="visit_date",
                                          help="From the photo's EXIF when it has one.")
        # Redness is followed in hours: a photo without a time of its own is taken now unless told
        # otherwise (it was saved at noon, so two visits of one day read 0 h apart).
        default_time = photo.taken.time() if photo.taken else datetime.now().time().replace(second=0, microsecond=0)
        taken_time = time_column.time_input("Time", value=default_time, key="visit_time", step=60,
                                            help="From the photo's EXIF when it has one, else now: set it when "
                                                 "the photo was taken earlier.")
        notes, treatment = _treatment_inputs(token)
        confirmed = _before_first_visit(datetime.combine(taken_day, taken_time), ready, visits, token) and confirmed
    if left_out:
        names = ", ".join(p["name"] for p in left_out)
        confirmed = st.checkbox(f"Save the visit without {plain(names)}", key=f"without_{token}") and confirmed
    label = "Save visit" if target is None else "Add to the visit"
    if not st.button(label, type="primary", key="save_visit", disabled=not confirmed):
        return
    # A comparison (or a failed try: the timeline then says "not aligned" or "not compared") keeps the
    # stored file it was made against: the timeline shows it only while that photo is the area's first (a
    # photo dated earlier, saved later, becomes the first).
    first = baseline_photo(visits)
    records = []
    for p in ready:
        item = p["item"]
        tried = first is not None and (item["comparison"] is not None or item["comparison_error"] is not None)
        records.append((p, measurement_records(item["analysis"], item["roi"], item["comparison"], chart,
                                               baseline_file=first[0]["file"] if tried else None,
                                               comparison_error=item["comparison_error"],
                                               reference_roi=item.get("reference_roi"),
                                               measured_on_outline=item.get("measured_on_outline", False),
                                               whole_roi=item.get("whole_roi", False))))
    saved, photo_ids = [], []
    try:
        with st.spinner("Saving…"):
            # No Streamlit call between here and the final state: a rerun (a second click) can only
            # interrupt before the save starts or after the form is marked saved.
            form["saved"] = {"visit_id": None, "photo_ids": [], "message": "Saving…"}
            if target is None:
                visit_id = store.save_visit(
                    area["id"], datetime.combine(taken_day, taken_time),
                    [{"data": p["item"]["data"], "consent": p["item"]["consent"], "measurements": m} for p, m in records],
                    notes=notes, treatment=treatment,
                )
                saved = ready
                photo_ids = [p["id"] for v in store.visits(area["id"]) if v["id"] == visit_id for p in v["photos"]]
            else:
                visit_id = target
                for p, m in records:
                    photo_ids.append(store.add_photo_to_visit(target, p["item"]["data"], consent=p["item"]["consent"],
                                                              measurements=m))
                    saved.append(p)
            form["saved"] = {"visit_id": visit_id, "photo_ids": photo_ids,
                             "message": plain(_saved_message(area, target, saved, left_out))}
    except BaseException as error:  # noqa: BLE001 - the form's state must not say "Saving…" after a failure
        if form["saved"] is not None and form["saved"]["visit_id"] is None:
            # Photos already added to a saved visit stay added: the form says so and will not add them again.
            form["saved"] = None if not saved else {"visit_id": target, "photo_ids": photo_ids, "message": plain(
                _saved_message(area, target, saved, left_out) + f" Then stopped: {error}")}
        if not isinstance(error, InputError):
            raise
        if not saved:
            st.error(plain(f"Not saved: {error}"))
            return
    st.rerun()


def _before_first_visit(taken, ready, visits, token):
    """Say when a new visit dated ``taken`` would come before the area's first visit; returns whether it
    may be saved (False until confirmed when a photo could not be compared with that first visit).

    Saved, such a visit becomes the area's first (:meth:`skinscan.store.Store.visits` orders by the
    stored ``taken`` text, then id; the new visit's text is compared the same way) and every later
    visit is compared with its photo. A photo of other skin (its comparison with the current first
    visit failed: the page's own ``comparison_error``, nothing measured again) would leave every
    later visit "not compared", so the practitioner ticks a box before saving it.
    """
    if not visits or taken.isoformat() >= visits[0]["taken"]:
        return True
    first = visits[0]["taken"]
    when = first[:16].replace("T", " ") if first[:10] == taken.date().isoformat() else first[:10]
    these = "this photo becomes" if len(ready) == 1 else "these photos become"
    st.warning(f"This date is before the area's first visit ({plain(when)}): saved, {these} the first visit "
               "and later visits are compared with it.")
    unmatched = [p["name"] for p in ready if p["item"]["comparison_error"] is not None]
    if not unmatched:
        return True
    return st.checkbox(
        f"Make it the first visit although {plain(', '.join(unmatched))} could not be compared with the current "
        "first visit (later visits may then not be compared at all)", key=f"before_first_{token}")


def _already_saved(ready, visits):
    """The photos about to be saved that this area's record already holds: ``[(entry, [days])]``.

    A photo is the same when the store would give it the same file name (the SHA-256 of the file
    without its metadata, :func:`skinscan.store.stored_file_name`): a photo uploaded again straight
    from the camera (with its EXIF) is found as well as one exported from the record. The name is
    worked out once per photo and session.
    """
    days_by_file = {}
    for visit in visits:
        for photo in visit["photos"]:
            days = days_by_file.setdefault(photo["file"], [])
            if visit["taken"][:10] not in days:
                days.append(visit["taken"][:10])
    found = []
    for p in ready:
        name = _stored_name(p["item"]["data"], p["item"]["analysis"].calibration.photo)
        if name in days_by_file:
            found.append((p, days_by_file[name]))
    return found


def _stored_name(data, photo):
    """The file name the store gives (or gave) this photo (:func:`skinscan.store.stored_file_name`), worked
    out once per photo and session."""
    names = st.session_state.setdefault("stored_names", {})
    digest = photo_key(data)
    if digest not in names:
        names[digest] = stored_file_name(data, photo)
    return names[digest]


def _saved_message(area, target, saved, left_out):
    """What was saved where, and what was not (plain text)."""
    names = ", ".join(p["name"] for p in saved)
    what = "Visit saved to" if target is None else "Photos added to the visit of"
    message = f"{what} {area['name']}: {len(saved)} photo{'s' if len(saved) > 1 else ''} ({names})."
    if left_out:
        message += " Not saved: " + "; ".join(f"{p['name']} ({p['left_out']})" for p in left_out) + "."
    return message


def _target_visit(store, area):
    """Where the photos go: a new visit (None) or a saved visit of this area (its id).

    Another page may open this one on a saved visit by setting ``st.session_state.visit_target``.
    """
    visits = store.visits(area["id"])
    by_id = {v["id"]: v for v in visits}
    wanted = st.session_state.pop("visit_target", None)
    if wanted in by_id:
        st.session_state.save_to = "saved"
        st.session_state.saved_visit_choice = wanted
    if not visits:
        return None
    choice = st.radio("Save the photos as", ("new", "saved"), horizontal=True, key="save_to",
                      format_func={"new": "a new visit", "saved": "more photos of a saved visit"}.get)
    if choice == "new":
        return None
    ids = [v["id"] for v in reversed(visits)]  # the latest first
    if st.session_state.get("saved_visit_choice") not in by_id:
        st.session_state.pop("saved_visit_choice", None)
    return st.selectbox(
        "Saved visit", ids, key="saved_visit_choice",
        format_func=lambda i: f"{by_id[i]['taken'][:16].replace('T', ' ')} ({len(by_id[i]['photos'])} photo"
                              f"{'s' if len(by_id[i]['photos']) != 1 else ''})",
    )


def _treatment_inputs(token):
    """Notes and treatment details of a new visit (fields of :data:`skinscan.store.TREATMENT_FIELDS`);
    returns ``(notes, treatment dict)`` with the empty fields left out."""
    treatment = {}
    with st.expander("Treatment details and notes", expanded=False):
        columns = st.columns(2)
        for index, (key, label, kind) in enumerate(TREATMENT_FIELDS):
            column = columns[index % 2]
            if kind is float:
                value = column.number_input(label, min_value=0.0, value=None, step=0.1, format="%g",
                                            key=f"treatment_{key}_{token}", placeholder="–")
            else:
                value = column.text_input(label, key=f"treatment_{key}_{token}").strip() or None
            if value is not None:
                treatment[key] = value
        notes = st.text_area("Notes", key=f"notes_{token}")
    return notes.strip(), treatment


# --- one photo ---------------------------------------------------------------------------------------


def _measure_upload(name, data, chart, baseline, previous):
    """Read the card, place the box, measure, compare with the first visit; returns the photo's entry
    ``{"name", "hash", "item", "left_out"}`` (``item`` None when it is not measured; ``left_out`` the
    reason it would not be saved, None when it will be)."""
    digest = photo_key(data)
    entry = {"name": name, "hash": digest, "item": None, "left_out": None}
    with st.spinner("Reading the colour card…"):
        calibration = session_calibration(data, chart)
    photo = calibration.photo
    if not calibration.found:
        calibration = _corners_from_user(data, chart, calibration, digest)
    st.markdown(verdict_badge(calibration.quality))
    if calibration.found:
        st.image(card_module.draw_reading(photo.rgb, calibration.reading), caption="Colour card as read (patch numbers)",
                 width=480)
    comparison, baseline_registration, not_compared, comparison_error = _comparison(baseline, data, chart, calibration)
    outline_mode = st.radio(
        "Mark the treated area with", ("box", "outline"), horizontal=True, key=state_key(digest, "mode"),
        format_func={"box": "a loose box (the area is found inside it)",
                     "outline": "its exact outline (click around it, close on the first point)"}.get,
    )
    outline, whole = None, False
    if outline_mode == "outline":
        outline = drawn_outline_mask(photo, state_key(digest, "outline_canvas"))
        if outline is None:
            st.info("Click around the treated area on the photo; click the first point again to close the outline.")
            entry["left_out"] = NO_AREA_MARKED
            return entry
        rows, columns = np.flatnonzero(outline.any(axis=1)), np.flatnonzero(outline.any(axis=0))
        box = (int(columns[0]), int(rows[0]), int(columns[-1] - columns[0] + 1), int(rows[-1] - rows[0] + 1))
    else:
        placement, number, unaligned = _placement(previous, baseline, baseline_registration, calibration, chart,
                                                  digest)
        if placement is not None and placement.box is None:
            if not_compared is not None and baseline_registration is not None \
                    and placement.refusal == baseline_registration.message:
                # The first visit was tried last, with the comparison's own alignment: one failure, one message.
                st.warning(plain(alignment_refusal(
                    placement.refusal, "place the previous visit's area on this photo, nor compare it with "
                    "the first visit", f"{DRAW_IT_YOURSELF} {GIVE_LANDMARKS}")))
                not_compared = None
            else:
                st.warning(plain(alignment_refusal(placement.refusal)))
        for warning in placement.warnings if placement is not None else ():
            st.warning(f"Placing visit {number}'s area: {plain(without_cli_flags(warning))}.")
        note = None
        if placement is not None and placement.box is not None:
            if any(n == number and path.name == _stored_name(data, photo) for n, path, _ in previous):
                # This very photo is visit N's (shown again once saved, or uploaded again): nothing was aligned.
                note = (f"The box is the one visit {number} was measured with (this same photo): drag or type to "
                        "change it.")
            else:
                note = (f"The box starts where visit {number}'s area lies on this photo (found by aligning the two "
                        "photos on the skin around it, verified"
                        + (f"; {visits_named(unaligned)} could not be aligned" if unaligned else "")
                        + "): check it, drag or type to change it.")
        box, whole = _box_inputs(photo, digest, None if placement is None else placement.box, note)
        if box is None:
            st.info("Drag a loose box around the treated area on the photo, or type all four numbers.")
            entry["left_out"] = NO_AREA_MARKED
            return entry
    reference_box = _reference_inputs(photo, digest)
    try:
        if outline is not None:
            analysis = analyze(None, mask=outline, reference_roi=reference_box, calibration=calibration)
        else:
            analysis = analyze(None, roi=box, reference_roi=reference_box, whole_roi=whole, calibration=calibration)
    except InputError as error:
        st.image(draw_box(to_uint8(photo.pixels), box), width=640)
        st.error(f"{plain(name)} cannot be measured with this box: {plain(error)}")
        entry["left_out"] = f"cannot be measured: {error}"
        return entry
    corrected = calibration.found
    caption = ("Colour-corrected" if corrected else "NOT colour-corrected (no colour card read)") + \
        ": found area (green), skin compared with (blue)" + \
        ("" if comparison is None else ", the first visit's area placed on this photo (magenta) and the skin it "
         "was compared with (orange)")
    # The first visit's area on this photo (full size): built once, drawn here and weighed against the box below.
    first_area = None if comparison is None else comparison.followup_mask()
    first_reference = None if comparison is None else comparison.followup.full_mask("reference")
    st.image(display_overlay(analysis, box, first_area, first_reference), caption=caption, width=640)
    if not_compared is not None:
        # Matching points help only when the alignment was refused (not when the area falls off the photo).
        then = GIVE_LANDMARKS if isinstance(comparison_error, register.AlignmentError) else ""
        st.warning(plain(alignment_refusal(not_compared, "compare this photo with the first visit", then)))
    if comparison is not None:
        # First: what is saved for the timeline and the report (a walk read the box's own figures, shown
        # large, as the visit's result).
        _show_against_first_visit(comparison)
        # The comparison's own warnings, and those of this photo measured over the first visit's area
        # that its own box's measurement (below) does not give.
        over_first_area = [w for w in comparison.followup.warnings if w not in analysis.warnings]
        show_comparison_notes((*comparison.warnings, *over_first_area))
        st.markdown("**The box drawn, on its own** (the area found in it, green, against the skin around it, "
                    "blue)")
        x, y, w, h = (int(round(v)) for v in box)
        held = first_area[max(0, y):y + h, max(0, x):x + w].sum() / max(first_area.sum(), 1)
        if held < FIRST_AREA_HELD:
            # A box dragged elsewhere (a walk: on plain skin, or half over the tattoo's edge) measures other skin.
            st.info(f"The box drawn holds {100 * held:.0f} % of the first visit's area (magenta): its own numbers "
                    "below are of other skin; the numbers against the first visit above are measured on that area.")
    # Without a card the page asks below to confirm the photo, saying why: the card's own warning is not repeated.
    show_numbers(analysis, said_elsewhere=() if calibration.found else calibration.warnings)
    consent = st.radio("Consent for this photo", ("clinical", "clinical+marketing"), key=state_key(digest, "consent"),
                       format_func={"clinical": "Clinical record only",
                                    "clinical+marketing": "Clinical record and marketing"}.get, horizontal=True)
    entry["item"] = {"data": data, "analysis": analysis, "roi": box, "reference_roi": reference_box,
                     "measured_on_outline": outline is not None, "whole_roi": whole,
                     "comparison": comparison, "comparison_error": comparison_error, "consent": consent}
    doubts = []
    if not corrected:
        doubts.append("no colour card was read: its colours are not corrected and not comparable between visits")
    if calibration.quality.verdict == "retake":
        doubts.append("its capture quality is 'retake'")
    if doubts:
        st.warning(f"{plain(name)}: " + "; ".join(doubts) + ".")
        if not st.checkbox(f"Save {plain(name)} anyway", key=state_key(digest, "accept")):
            entry["left_out"] = " and ".join(doubts) + UNCONFIRMED
    return entry


def _corners_from_user(data, chart, calibration, digest):
    """No card found: the card's four corners clicked on the photo or typed; the calibration they give."""
    photo = calibration.photo
    st.warning("No colour card found. Click the four outer corners of its patch area on the photo "
               "(any order), or type them.")
    keys = [(state_key(digest, f"cx{c}"), state_key(digest, f"cy{c}")) for c in range(4)]
    points = drawn_shapes(photo, state_key(digest, "corners_canvas"), "point")
    if len(points) >= 4:
        clicked = tuple((int(px), int(py)) for px, py, _, _ in points[-4:])
        if st.session_state.get(state_key(digest, "corners_drawn")) != clicked:
            st.session_state[state_key(digest, "corners_drawn")] = clicked
            for (key_x, key_y), (px, py) in zip(keys, clicked):
                st.session_state[key_x], st.session_state[key_y] = px, py
    columns = st.columns(4)
    corners = []
    for corner, (key_x, key_y) in enumerate(keys):
        x = _number(columns[corner], f"corner {corner + 1} x", key_x, 0, photo.width - 1)
        y = _number(columns[corner], f"corner {corner + 1} y", key_y, 0, photo.height - 1)
        corners.append((x, y))
    if None in (v for c in corners for v in c) or len(set(corners)) < 4:
        return calibration
    try:
        given = session_calibration(data, chart, np.array(corners, float))
    except InputError as error:
        st.error(plain(for_reader(str(error))))
        return calibration
    if not given.found:
        # Said, not left to the unchanged "no colour card found" above: the corners were tried.
        st.error(f"No {CHART_NAMES.get(chart, chart)} could be read inside the four corners given: check that they "
                 "are the outer corners of the card's patch area and that the chart chosen is this card; the photo "
                 "is measured without colour correction until then.")
    return given


def _number(container, label, key, low, high):
    """An integer input that starts empty (None) and whose value may be set from a drawing."""
    if st.session_state.get(key) is not None:
        st.session_state[key] = int(min(max(st.session_state[key], low), high))
    value = container.number_input(label, int(low), int(high), value=None, key=key, step=1, placeholder="–")
    return None if value is None else int(value)


def _show_against_first_visit(comparison):
    """The numbers against the first visit that the timeline and the report will show for this photo.

    Metrics: fade %, redness resolved % (with why it is not given when the first visit showed no
    redness), ΔE00 and Δa* before → after over the first visit's area placed on this photo (not the
    box drawn here), spread %; and a note when the first visit was measured again on the skin both
    photos show (its own reference skin is hidden here, or thin).

    Parameters
    ----------
    comparison : skinscan.pipeline.Comparison
    """
    # matplotlib and reportlab: loaded once a photo is measured
    from skinscan.report import redness_resolved_shown, shown_number

    before, after = comparison.baseline.contrast, comparison.followup.contrast
    resolved = redness_resolved_shown(comparison.redness_resolution_percent)
    st.markdown("**Against the first visit** (its area placed on this photo, magenta: what the timeline and the "
                "report use)")
    # Two rows: the percentages, then the before -> after pairs in wide columns (in one row of five,
    # "-10.9 → -2.1" was cut to "-10.9 → …").
    percentages, pairs = st.columns(3), st.columns(2)
    columns = [*percentages[:2], *pairs, percentages[2]]
    columns[0].metric("fade %", shown_number(comparison.fade_percent, "{:.0f}"),
                      help="how much of the first visit's contrast with the skin is gone (100 % = none left)")
    columns[1].metric("redness resolved %", shown_number(resolved, "{:.0f}"), help=(
        "how much of the first visit's redness (Δa*) is gone" if resolved is not None else
        f"not defined: the first visit showed no redness (Δa* below {constants.REDNESS_MIN_DELTA_A})"))
    columns[2].metric("ΔE00 before → after", f"{before.delta_e00:.1f} → {after.delta_e00:.1f}")
    columns[3].metric("Δa* before → after", f"{shown_number(before.delta_a)} → {shown_number(after.delta_a)}")
    columns[4].metric("spread %", shown_number(comparison.area_change_percent, "{:+.0f}"),
                      help="change of the area's size since the first visit: above 0 it grew, below 0 it shrank")
    if comparison.baseline.reference_source == "shared":
        thin = any(pipeline.THIN_REFERENCE_WARNING[how] in comparison.warnings for how in ("shared", "shared thin"))
        st.caption("The first visit was measured again on the skin both photos show (its own reference skin is "
                   + ("thin: little skin around the area)." if thin else "hidden in this photo)."))


def _box_inputs(photo, digest, suggested=None, note=None):
    """The treated box of this photo: dragged on it or typed; starts empty, or at ``suggested``.

    A new drawing sets all four numbers at once (typed edits then stand until the next drawing). The
    suggestion (an earlier visit's area placed on this photo, or None) follows the placement: when it
    changes (another area chosen, the card given by hand) while the box still is the suggestion the
    page last put there, the box becomes the new suggestion, or empty when there is none; a box the
    practitioner drew or typed stays. Inputs Streamlit dropped while hidden (the outline chosen for a
    while) get back the box they held (kept outside the widgets), else the suggestion; inputs emptied by
    hand stay empty. ``note`` says where a suggested box comes from; it is shown while the box is the
    suggestion. Returns ``(box or None, whole box treated)``.
    """
    st.markdown("**Treated area** — drag a loose box around it on the photo, or type it in pixels "
                "(x, y from the top-left corner); the box measured is outlined in cyan")
    keys = [state_key(digest, name) for name in ("x", "y", "w", "h")]
    drawn_key, suggested_key = state_key(digest, "box_drawn"), state_key(digest, "box_suggested")
    kept_key = state_key(digest, "box_kept")  # not a widget's key: Streamlit keeps it while the inputs are hidden
    if kept_key in st.session_state and not any(key in st.session_state for key in keys):
        for key, value in zip(keys, st.session_state[kept_key]):
            st.session_state[key] = value
    typed = tuple(st.session_state.get(key) for key in keys)
    # The photo shows the box held so far (typed, or the suggestion about to fill empty inputs).
    shown = box_to_outline(typed, suggested, any(key in st.session_state for key in keys))
    # Each drawing gets a fresh canvas once it is taken: the box it set is then the cyan outline, alone
    # (a walk saw every box dragged before stay drawn on the photo, the numbers following only the last).
    drawings_key = state_key(digest, "box_canvas_drawings")
    drawings = st.session_state.get(drawings_key, 0)
    rectangles = drawn_shapes(photo, state_key(digest, f"box_canvas_{drawings}"), "rect", shown_box=shown)
    if rectangles:
        drawn = tuple(int(round(v)) for v in rectangles[-1])
        if st.session_state.get(drawn_key) != drawn:
            st.session_state[drawn_key] = drawn
            for key, value in zip(keys, drawn):
                st.session_state[key] = value
            st.session_state[drawings_key] = drawings + 1
    elif suggested_key not in st.session_state or st.session_state[suggested_key] != suggested:
        # The box the page last suggested (none yet: the empty box) is replaced while it is untouched.
        last = st.session_state.get(suggested_key) or (None,) * 4
        # ... but not a box drawn (a box drawn, then suggested as it is once saved, stays when that goes).
        if typed == tuple(last) and typed != st.session_state.get(drawn_key):
            for key, value in zip(keys, suggested or (None,) * 4):
                st.session_state[key] = value
        st.session_state[suggested_key] = suggested
    elif suggested is not None and not any(key in st.session_state for key in keys):
        # Inputs never shown with a box of their own (none kept): the suggestion. Four inputs emptied by
        # hand are still in Session State (None) and stay empty.
        for key, value in zip(keys, suggested):
            st.session_state[key] = value
    if suggested is not None and note and tuple(st.session_state.get(key) for key in keys) == tuple(suggested):
        st.caption(note)
    columns = st.columns(5)
    width, height = photo.width, photo.height
    values = [
        _number(columns[0], "x", keys[0], 0, width - 2), _number(columns[1], "y", keys[1], 0, height - 2),
        _number(columns[2], "width", keys[2], 2, width), _number(columns[3], "height", keys[3], 2, height),
    ]
    whole = columns[4].checkbox("whole box is treated", key=state_key(digest, "whole"))
    st.session_state[kept_key] = tuple(values)
    held = tuple(values) if None not in values else None
    outlined_key = state_key(digest, "box_outlined")
    if held != shown and st.session_state.get(outlined_key, ()) != held:
        # A new drawing or a new suggestion settled the box after the photo was drawn: draw it again
        # (once per box, so that a box the canvas cannot show never loops).
        st.session_state[outlined_key] = held
        st.rerun()
    if None in values:
        return None, whole
    return tuple(values), whole


def _reference_inputs(photo, digest):
    """A chosen patch of untreated skin to compare with (x, y, w, h), or None for the automatic ring."""
    if not st.checkbox("Compare with a chosen patch of untreated skin", key=state_key(digest, "ref"),
                       help="For this photo's own numbers. A later visit is compared with the first visit on "
                            "the first visit's patch (or the skin around its area), mapped onto it."):
        return None
    columns = st.columns(4)
    limits = (("ref x", 0, photo.width - 2), ("ref y", 0, photo.height - 2), ("ref w", 2, photo.width),
              ("ref h", 2, photo.height))
    values = [_number(columns[i], label, state_key(digest, label), low, high)
              for i, (label, low, high) in enumerate(limits)]
    if None in values:
        st.info("Type all four numbers of the skin patch to compare with.")
        return None
    return tuple(values)


def _comparison(baseline, data, chart, calibration):
    """This photo measured over the first visit's area, and the registration it stands on.

    Returns ``(comparison, registration, not_compared, error)``: ``(None, None, None, None)`` without a
    first visit or when this photo is the first visit's; when it cannot be compared, the comparison is
    None, the registration the refused alignment (None when the failure was not the alignment's),
    ``not_compared`` why (the refused registration or the error's message; the caller says it once,
    :func:`app_pages.common.alignment_refusal`) and ``error`` the error raised (kept in the record:
    :func:`skinscan.demo.measurement_records`).
    """
    if baseline is None:
        return None, None, None, None
    comparisons = st.session_state.setdefault("comparisons", {})
    data_before, _, (inputs, outline) = baseline
    if _stored_name(data, calibration.photo).split(".")[0] == photo_key(data_before):
        # The first visit's own photo (shown again once saved, or uploaded again; the store keeps it without
        # its metadata, named by the digest of what it keeps): nothing to compare.
        return None, None, None, None
    key = (photo_key(data_before), photo_key(data), json.dumps([inputs, outline]), chart, _card_key(calibration))
    if key not in comparisons:
        try:
            baseline_calibration = session_calibration(data_before, chart)
            # Over what the first visit was measured with: the area found in its box, the whole box, or the
            # outline the practitioner clicked.
            area = area_keywords(inputs, outline, baseline_calibration.photo.rgb.shape)
            with st.spinner("Aligning with the first visit…"):
                comparisons[key] = compare(data_before, data, chart=chart, baseline_calibration=baseline_calibration,
                                           followup_calibration=calibration, **area)
        except register.AlignmentError as error:  # a copy without the traceback (and its frames' photos)
            comparisons[key] = register.AlignmentError(str(error), error.registration)
        except InputError as error:
            comparisons[key] = InputError(str(error))
    result = comparisons[key]
    if isinstance(result, InputError):
        registration = getattr(result, "registration", None)
        why = registration if registration is not None and registration.message else str(result)
        return None, registration, why, result
    return result, result.registration, None, None


def _card_key(calibration):
    """The card a calibration read, as a cache key: its corners rounded to 0.1 px (None without a card)."""
    return tuple(np.round(calibration.reading.corners, 1).ravel()) if calibration.found else None


def earlier_areas(store, visits):
    """Each saved visit's measured photo and its area, the latest visit first.

    Returns a list of ``(visit number, photo path, (x, y, w, h))`` (visits numbered from 1 in date
    order, as the timeline numbers them); a visit without a measured photo is left out. The box is
    the one drawn at that visit (``roi``) or, for a visit measured over the first visit's area (no box
    of its own), the bounds of the outline the record keeps, grown by ``LOOSE_BOX_GROWTH`` of its size
    on each side (a loose box, as a practitioner draws one).
    """
    areas = []
    for number, visit in reversed(list(enumerate(visits, start=1))):
        area = _visit_area(store, visit)
        if area is not None:
            areas.append((number, *area))
    return areas


def _visit_area(store, visit):
    """A visit's first measured photo and its area: ``(photo path, (x, y, w, h))`` or None."""
    for photo in visit["photos"]:
        for measurement in photo["measurements"]:
            result = measurement["result"]
            if measurement["kind"] != "analysis":
                continue
            # A clicked outline's roi is its tight bounds: the loose box around it is suggested instead.
            box = result.get("roi") if measured_outline(result) is None else None
            if not box and result.get("outline"):
                points = np.array([point for polygon in result["outline"] for point in polygon], float)
                (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
                grown = segment.grown_box((x0, y0, x1 - x0, y1 - y0), LOOSE_BOX_GROWTH,
                                          (photo["height"], photo["width"]))
                box = tuple(round(v) for v in grown)
            if box:
                return store.photo_path(photo["file"]), tuple(int(v) for v in box)
    return None


LOOSE_BOX_GROWTH = 0.25


#: How place_area's messages name the two photos ("the area runs off the new photo").
PLACEMENT_NAMES = ("earlier visit's photo", "new photo")
#: Visits after the first tried for the box, the latest first (each an alignment, ~1 s on 12 MP photos).
LATER_VISITS_TRIED = 2


def _placement(earlier, baseline, baseline_registration, calibration, chart, digest):
    """Where an earlier visit's area lies on this photo: ``(placement, visit number, numbers of the visits
    tried that could not be aligned)``, or ``(None, None, [])`` without an earlier visit.

    The visits are tried the latest first (:func:`earlier_areas`), at most ``LATER_VISITS_TRIED`` of
    those after the first, then the first: one photo saved on the wrong area (a visit that cannot be
    aligned) does not keep the next right one from its box, and a photo of another scene does not
    wait for an alignment with every visit of a long series.
    Each try aligns the two photos on the skin around the area and verifies the alignment
    (:func:`skinscan.pipeline.align_photos`, cards masked out and their scales compared), as the
    comparison and the timeline do; for the first visit the comparison's own alignment is used,
    accepted or refused. The placement (:class:`skinscan.pipeline.AreaPlacement`) is the first one
    placed, else the last refusal (the first visit's). Each try is cached per earlier photo, area,
    this photo, chart and this photo's card, so a rerun aligns (and reads) nothing again.
    """
    placement = number = None
    unaligned = []
    tried = earlier[:-1][:LATER_VISITS_TRIED] + earlier[-1:]  # the first visit's comparison is there already
    for number, path, box in tried:
        placement = _place_from(path, box, baseline, baseline_registration, calibration, chart, digest)
        if placement.box is not None:
            break
        unaligned.append(number)
    return placement, number, unaligned


def _place_from(path, box, baseline, baseline_registration, calibration, chart, digest):
    """One earlier visit's area (its stored photo ``path`` and ``box``) placed on this photo."""
    photo = calibration.photo
    earlier_key = path.stem  # stored photos are named by the SHA-256 of their content (photo_key)
    known = baseline_registration if baseline is not None and (photo_key(baseline[0]), baseline[1]) == (
        earlier_key, box) else None
    placements = st.session_state.setdefault("placements", {})
    # The key holds what the first visit's registration depends on (its photo, box, this photo, chart, card;
    # its comparison's key adds the patch and the outline, which do not move the registration): a cached
    # placement from it stays right.
    key = (earlier_key, box, digest, chart, _card_key(calibration))
    if key in placements:
        return placements[key]
    try:
        data = path.read_bytes()
        before = session_calibration(data, chart)
        registration = known
        if before.photo.shape == photo.shape and np.array_equal(before.photo.pixels, photo.pixels):
            # The earlier visit's own photo (as after its save; stored without metadata): its own box.
            registration = register.Registration(True, "same photo", np.eye(3), 0, 0.0, confidence=1.0)
        if registration is None:
            with st.spinner("Placing the box where an earlier visit's area lies…"):
                registration = pipeline.align_photos(before.photo, photo, box, baseline_calibration=before,
                                                     followup_calibration=calibration)
        placement = pipeline.place_area(registration, box, before.photo.shape, photo.shape, PLACEMENT_NAMES)
    except (InputError, OSError) as error:
        placement = pipeline.AreaPlacement(None, refusal_reason(error), ())
    placements[key] = placement
    return placement


visit_page()
