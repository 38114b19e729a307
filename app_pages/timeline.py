"""An area's visits over time: side by side, before/after, trends, report and export."""

from datetime import datetime

import numpy as np
import streamlit as st

import cv2
import plotly.graph_objects as go

from skinscan import color, constants, load_photo, register
from skinscan.metrics import redness_persists
from skinscan.report import area_report

from app_pages.common import area_choice, baseline_of, open_store, photo_key, show_definitions, to_uint8

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
    rows, pictures = _visit_rows(store, visits)
    st.dataframe([_shown(row) for row in rows], hide_index=True)
    late_red = [r for r in rows if redness_persists(r["days"] * 24, r["delta_a"], r["delta_a_uncertainty"])]
    if late_red:
        st.error(f"Redness persists beyond {constants.REDNESS_EXPECTED_WINDOW_HOURS:.0f} hours "
                 f"(Δa* {late_red[-1]['delta_a']:+.1f} on day {late_red[-1]['days']:.0f}): consider referring the client.")
    figure = go.Figure()
    figure.add_scatter(x=[r["days"] for r in rows], y=[r["delta_a"] for r in rows], name="Δa* (redness)", mode="lines+markers")
    figure.add_scatter(x=[r["days"] for r in rows], y=[r["delta_e00"] for r in rows], name="ΔE00 (contrast)", mode="lines+markers")
    figure.add_scatter(x=[r["days"] for r in rows], y=[r["fade_percent"] or 0 for r in rows], name="fade %",
                       mode="lines+markers", visible="legendonly")
    figure.add_scatter(x=[r["days"] for r in rows], y=[r["hue_shift_deg"] or 0 for r in rows], name="hue drift (°)",
                       mode="lines+markers", visible="legendonly")
    figure.update_layout(xaxis_title="days since first visit", height=320, margin=dict(l=10, r=10, t=10, b=10))
    st.plotly_chart(figure)
    if len(pictures) >= 2:
        st.subheader("Before and after")
        labels = [caption for caption, _ in pictures]
        chosen = st.selectbox("Compare the first visit with", labels[1:], index=len(labels) - 2, key="after_choice")
        after_index = labels.index(chosen)
        left, right = st.columns(2)
        left.image(pictures[0][1], caption=f"{labels[0]} (area measured outlined)")
        right.image(pictures[after_index][1], caption=chosen)
        aligned = _aligned_pair(store, visits, after_index)
        if aligned is not None:
            split = st.slider("Before ◀ ▶ After", 0, 100, 50, key="split")
            before, after = aligned
            cut = int(before.shape[1] * split / 100)
            blend = np.concatenate([before[:, :cut], after[:, cut:]], axis=1)
            st.image(blend, caption="Aligned on the skin: slide to wipe between the visits")
    show_definitions()
    st.subheader("Report and export")
    pdf = area_report(client["name"], area["name"], rows, pictures[:1] + pictures[-1:] if pictures else ())
    st.download_button("Download PDF report", pdf, file_name=f"skinscan-area-{area['id']}.pdf", mime="application/pdf",
                       key="pdf")
    st.download_button("Export this client (ZIP with CSV)", store.export_client(client["id"]),
                       file_name=f"skinscan-client-{client['id']}.zip", mime="application/zip", key="zip")


COLUMNS = (
    ("taken", "visit", None), ("days", "day", "{:.0f}"), ("delta_a", "Δa* redness", "{:+.1f}"),
    ("delta_l", "ΔL*", "{:+.1f}"), ("delta_e00", "ΔE00", "{:.1f}"), ("pigmentation", "blend", None),
    ("fade_percent", "fade %", "{:.0f}"), ("redness_resolution_percent", "redness resolved %", "{:.0f}"),
    ("hue_shift_deg", "hue drift °", "{:+.0f}"), ("quality", "capture", None),
)


def _shown(row):
    """A visit's numbers as the table shows them: rounded as measured, with plain headings."""
    return {
        heading: ("–" if row[key] is None else pattern.format(row[key]) if pattern else row[key])
        for key, heading, pattern in COLUMNS
    }


def _visit_rows(store, visits):
    rows, pictures = [], []
    first_taken = datetime.fromisoformat(visits[0]["taken"])
    for visit in visits:
        photo = visit["photos"][0]
        results = {m["kind"]: m["result"] for m in photo["measurements"]}
        analysis = results.get("analysis")
        if analysis is None:
            continue
        comparison = results.get("comparison", {})
        taken = datetime.fromisoformat(visit["taken"])
        rows.append({
            "taken": visit["taken"][:16].replace("T", " "),
            "days": round((taken - first_taken).total_seconds() / 86400, 2),
            "delta_l": analysis["contrast"]["delta_l"], "delta_a": analysis["contrast"]["delta_a"],
            "delta_a_uncertainty": analysis["uncertainty"]["delta_a"],
            "delta_b": analysis["contrast"]["delta_b"], "delta_e00": analysis["contrast"]["delta_e00"],
            "pigmentation": analysis["contrast"]["pigmentation"],
            "fade_percent": comparison.get("fade_percent"),
            "redness_resolution_percent": comparison.get("redness_resolution_percent"),
            "hue_shift_deg": comparison.get("hue_shift_deg"),
            "quality": analysis["quality"]["verdict"],
            "ita_deg": analysis["reference"]["ita_deg"],
            "ita_category": color.ita_category(analysis["reference"]["ita_deg"]),
        })
        thumbnails = st.session_state.setdefault("thumbnails", {})
        if photo["file"] not in thumbnails:
            picture = to_uint8(load_photo(store.photo_path(photo["file"]).read_bytes()).rgb)
            outline = [np.array(points, np.int32) for points in analysis.get("outline") or []]
            cv2.polylines(picture, outline, True, (40, 255, 80), max(1, picture.shape[1] // 500))
            thumbnails[photo["file"]] = picture
        pictures.append((f"{rows[-1]['taken']}", thumbnails[photo["file"]]))
    return rows, pictures


def _aligned_pair(store, visits, after_index):
    """The first and a later visit's photos, the later one warped onto the first (None if unaligned)."""
    import cv2

    baseline = baseline_of(store, visits)
    if baseline is None:
        return None
    data_b, roi = baseline
    photo_after = visits[after_index]["photos"][0]
    data_a = store.photo_path(photo_after["file"]).read_bytes()
    cache = st.session_state.setdefault("alignments", {})
    key = (photo_key(data_b), photo_key(data_a))
    if key not in cache:
        before, after = load_photo(data_b), load_photo(data_a)
        registration = register.align(before.rgb, after.rgb, roi)
        if not registration.ok:
            cache[key] = None
        else:
            warped = cv2.warpPerspective(after.rgb, np.linalg.inv(registration.homography), (before.width, before.height))
            cache[key] = (to_uint8(before.rgb), to_uint8(warped))
    return cache[key]




timeline_page()
