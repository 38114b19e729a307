"""A visit: upload, card check, treated area, numbers, consent, save."""

from datetime import datetime, time as day_time

import numpy as np
import streamlit as st

from skinscan import InputError, analyze, compare, constants
from skinscan import card as card_module
from skinscan.demo import measurement_records

from app_pages.common import (
    area_choice, baseline_of, display_overlay, draw_box, drawn_outline_mask, drawn_shapes, number, open_store, photo_key,
    session_calibration, set_if_changed, show_numbers, to_uint8, verdict_badge,
)

def visit_page():
    st.header("New visit")
    store = open_store()
    client, area = area_choice(store, "visit")
    if area is None:
        return
    chart = st.radio("Colour card", constants.CHART_TYPES, horizontal=True, index=1,
                     format_func={"classic24": "ColorChecker Classic", "mini24": "Classic Mini",
                                  "passport24": "Passport"}.get, key="chart")
    uploads = st.file_uploader("Photos of this visit (JPEG, PNG, TIFF, WebP; HEIC with the extra)",
                               accept_multiple_files=True, key="uploads")
    if not uploads:
        st.caption("Photograph the area with the colour card beside it, in the same light.")
        return
    visits = store.visits(area["id"])
    baseline = baseline_of(store, visits)
    to_save = []
    for index, upload in enumerate(uploads):
        data = upload.getvalue()
        st.subheader(f"Photo {index + 1}")
        try:
            result = _measure_upload(data, chart, index, baseline)
        except InputError as error:
            st.error(f"This photo cannot be measured: {error}")
            continue
        if result is not None:
            to_save.append(result)
    if not to_save:
        return
    photo = to_save[0]["analysis"].calibration.photo
    default_day = photo.taken.date() if photo.taken else datetime.now().date()
    taken_day = st.date_input("Visit date", value=default_day, key="visit_date",
                              help="From the photo's EXIF when it has one.")
    taken_time = photo.taken.time() if photo.taken else day_time(12, 0)
    if st.button("Save visit", type="primary", key="save_visit"):
        try:
            store.save_visit(area["id"], datetime.combine(taken_day, taken_time), [
                {"data": item["data"], "consent": item["consent"],
                 "measurements": measurement_records(item["analysis"], item["roi"], item["comparison"], chart)}
                for item in to_save
            ])
        except InputError as error:
            st.error(f"Not saved: {error}")
            return
        st.success(f"Visit saved to {area['name']}.")


def _measure_upload(data, chart, index, baseline):
    with st.spinner("Reading the colour card…"):
        calibration = session_calibration(data, chart)
    photo = calibration.photo
    height, width = photo.height, photo.width
    if not calibration.found:
        st.warning("No colour card found. Click the four outer corners of its patch area on the photo "
                   "(any order), or type them.")
        points = drawn_shapes(photo, f"corners_canvas{index}", "point")
        if len(points) >= 4:
            for corner, (px, py, _, _) in enumerate(points[-4:]):
                set_if_changed(f"cx{index}_{corner}", int(px))
                set_if_changed(f"cy{index}_{corner}", int(py))
        columns = st.columns(4)
        corners = []
        for corner in range(4):
            x = number(columns[corner], f"corner {corner + 1} x", f"cx{index}_{corner}", 0, width - 1, 0)
            y = number(columns[corner], f"corner {corner + 1} y", f"cy{index}_{corner}", 0, height - 1, 0)
            corners.append((x, y))
        if len({c for c in corners}) == 4:
            try:
                calibration = session_calibration(data, chart, np.array(corners, float))
            except InputError as error:
                st.error(str(error))
    st.markdown(verdict_badge(calibration.quality))
    if calibration.found:
        st.image(card_module.draw_reading(photo.rgb, calibration.reading), caption="Colour card as read (patch numbers)",
                 width=480)
    outline_mode = st.radio(
        "Mark the treated area with", ("box", "outline"), horizontal=True, key=f"mode{index}",
        format_func={"box": "a loose box (the area is found inside it)",
                     "outline": "its exact outline (click around it, close on the first point)"}.get,
    )
    outline = None
    whole = False
    if outline_mode == "outline":
        outline = drawn_outline_mask(photo, f"outline_canvas{index}")
        if outline is None:
            st.info("Click around the treated area on the photo; click the first point again to close the outline.")
            return None
        rows, columns_ = np.flatnonzero(outline.any(axis=1)), np.flatnonzero(outline.any(axis=0))
        box = (int(columns_[0]), int(rows[0]), int(columns_[-1] - columns_[0] + 1), int(rows[-1] - rows[0] + 1))
    else:
        st.markdown("**Treated area** — drag a loose box around it on the photo, or type it in pixels "
                    "(x, y from the top-left corner)")
        rectangles = drawn_shapes(photo, f"box_canvas{index}", "rect")
        if rectangles:
            bx, by, bw, bh = rectangles[-1]
            for key, value in ((f"x{index}", bx), (f"y{index}", by), (f"w{index}", bw), (f"h{index}", bh)):
                set_if_changed(key, int(round(value)))
        columns = st.columns(5)
        x = number(columns[0], "x", f"x{index}", 0, width - 2, width // 3)
        y = number(columns[1], "y", f"y{index}", 0, height - 2, height // 3)
        w = number(columns[2], "width", f"w{index}", 2, width, width // 3)
        h = number(columns[3], "height", f"h{index}", 2, height, height // 3)
        whole = columns[4].checkbox("whole box is treated", key=f"whole{index}")
        box = (int(x), int(y), int(w), int(h))
    reference_box = None
    if st.checkbox("Compare with a chosen patch of untreated skin", key=f"ref{index}"):
        columns = st.columns(4)
        reference_box = tuple(int(columns[i].number_input(label, 0, limit, default, key=f"r{label}{index}"))
                              for i, (label, limit, default) in enumerate(
                                  [("ref x", width - 2, 0), ("ref y", height - 2, 0), ("ref w", width, width // 6),
                                   ("ref h", height, height // 6)]))
    try:
        if outline is not None:
            analysis = analyze(None, mask=outline, reference_roi=reference_box, calibration=calibration)
        else:
            analysis = analyze(None, roi=box, reference_roi=reference_box, whole_roi=whole, calibration=calibration)
    except InputError as error:
        st.image(draw_box(to_uint8(photo.rgb), box), width=640)
        st.error(str(error))
        return None
    st.image(display_overlay(analysis, box), caption="Colour-corrected: found area (green), skin compared with (blue)",
             width=640)
    show_numbers(analysis)
    comparison = None
    if baseline is not None:
        try:
            comparisons = st.session_state.setdefault("comparisons", {})
            key = (photo_key(baseline[0]), photo_key(data), baseline[1], chart)
            if key not in comparisons:
                with st.spinner("Aligning with the first visit…"):
                    comparisons[key] = compare(baseline[0], data, roi=baseline[1], chart=chart,
                                               followup_calibration=calibration)
            comparison = comparisons[key]
            fade = comparison.fade_percent
            st.caption(f"Against the first visit: fade {'–' if fade is None else f'{fade:.0f} %'}, "
                       f"Δa* change {comparison.followup.contrast.delta_a - comparison.baseline.contrast.delta_a:+.1f}")
        except InputError as error:
            st.caption(f"Not compared with the first visit: {error}")
    consent = st.radio("Consent for this photo", ("clinical", "clinical+marketing"), key=f"consent{index}",
                       format_func={"clinical": "Clinical record only",
                                    "clinical+marketing": "Clinical record and marketing"}.get, horizontal=True)
    return {"data": data, "analysis": analysis, "roi": box, "comparison": comparison, "consent": consent}



visit_page()
