"""A visit: upload, card check, treated area, numbers, consent, save."""

from datetime import datetime, time as day_time

import numpy as np
import streamlit as st

from app_pages.common import *  # noqa: F401,F403 - the pages' shared toolkit

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
    calibration = session_calibration(data, chart)
    photo = calibration.photo
    if not calibration.found:
        st.warning("No colour card found. Give the four outer corners of its patch area (pixels), any order.")
        height, width = photo.height, photo.width
        columns = st.columns(4)
        corners = []
        for corner in range(4):
            x = columns[corner].number_input(f"corner {corner + 1} x", 0, width - 1, 0, key=f"cx{index}_{corner}")
            y = columns[corner].number_input(f"corner {corner + 1} y", 0, height - 1, 0, key=f"cy{index}_{corner}")
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
    height, width = photo.height, photo.width
    st.markdown("**Treated area** — a loose box around it, in pixels (x, y from the top-left corner)")
    columns = st.columns(5)
    x = columns[0].number_input("x", 0, width - 2, width // 3, key=f"x{index}")
    y = columns[1].number_input("y", 0, height - 2, height // 3, key=f"y{index}")
    w = columns[2].number_input("width", 2, width, width // 3, key=f"w{index}")
    h = columns[3].number_input("height", 2, height, height // 3, key=f"h{index}")
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
