"""The app's pages and flows, driven by Streamlit's AppTest (no browser)."""

import io
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from skinscan.store import Store

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SAMPLES = ROOT / "sample_images"
TRUTH = json.loads((SAMPLES / "truth.json").read_text())


def _start():
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    return at


def test_starts_on_the_demo_client(data_folder):
    at = _start()
    assert at.header[0].value == "Clients"
    assert any("Demo client" in e.label for e in at.expander)
    with Store(data_folder) as store:
        demo = store.clients()[0]
        assert len(store.areas(demo["id"])) == 4


def test_create_a_client_and_an_area(data_folder):
    at = _start()
    [t for t in at.text_input if t.label == "Name"][0].input("Maria Test")
    [b for b in at.button if b.label == "Create client"][0].click().run()
    assert not at.exception
    with Store(data_folder) as store:
        assert "Maria Test" in [c["name"] for c in store.clients()]


def test_a_visit_from_upload_to_save(data_folder):
    at = _start()
    at.switch_page("app_pages/visit.py").run()
    at.selectbox(key="visit_area").select_index(0).run()  # the demo cheek (needling)
    at.radio(key="chart").set_value("mini24").run()
    data = (SAMPLES / "needling_day1.jpg").read_bytes()
    at.file_uploader(key="uploads").upload("IMG_0001.jpg", data, "image/jpeg").run()
    assert not at.exception
    x, y, w, h = TRUTH["needling_day0.jpg"]["roi"]
    for key, value in (("x0", x), ("y0", y), ("w0", w), ("h0", h)):
        at.number_input(key=key).set_value(value).run()
    assert not at.exception
    assert any("good" in m.value for m in at.markdown)
    labels = [m.label for m in at.metric]
    assert "Δa* (redness)" in labels
    delta_a = float(next(m.value for m in at.metric if m.label == "Δa* (redness)"))
    assert delta_a == pytest.approx(TRUTH["needling_day1.jpg"]["delta_a"], abs=1.5)
    at.radio(key="consent0").set_value("clinical+marketing").run()
    at.button(key="save_visit").click().run()
    assert not at.exception and any("saved" in s.value for s in at.success)
    with Store(data_folder) as store:
        area = store.areas(store.clients()[0]["id"])[0]
        visits = store.visits(area["id"])
        new = max(visits, key=lambda v: v["id"])
        assert len(visits) == 4 and new["taken"].startswith("2026-10-06")  # the date came from EXIF
        assert new["photos"][0]["consent"] == "clinical+marketing"
        assert new["photos"][0]["measurements"][0]["result"]["roi"] == [x, y, w, h]
        assert [m["kind"] for m in new["photos"][0]["measurements"]] == ["analysis", "comparison"]
        # The outline of the area measured is kept, in photo pixels, inside the box it was found in.
        outline = new["photos"][0]["measurements"][0]["result"]["outline"]
        points = [point for polygon in outline for point in polygon]
        assert len(points) >= 8
        assert all(x <= px <= x + w and y <= py <= y + h for px, py in points)


def test_outline_mode_without_a_drawing_asks_for_one(data_folder):
    at = _start()
    at.switch_page("app_pages/visit.py").run()
    at.file_uploader(key="uploads").upload("scar.jpg", (SAMPLES / "scar_session1.jpg").read_bytes(), "image/jpeg").run()
    at.radio(key="mode0").set_value("outline").run()
    assert not at.exception
    assert any("click the first point again" in i.value for i in at.info)
    assert not [b for b in at.button if b.label == "Save visit"]


def test_bad_uploads_get_a_message_not_a_traceback(data_folder):
    at = _start()
    at.switch_page("app_pages/visit.py").run()
    at.file_uploader(key="uploads").upload("broken.jpg", b"\xff\xd8\xff\xe0 not really", "image/jpeg").run()
    assert not at.exception
    assert any("cannot be measured" in e.value for e in at.error)


def test_photo_without_a_card_asks_for_corners(data_folder):
    import numpy as np
    from PIL import Image

    at = _start()
    at.switch_page("app_pages/visit.py").run()
    skin = np.full((300, 400, 3), (200, 150, 130), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(skin).save(buffer, "PNG")
    at.file_uploader(key="uploads").upload("skin.png", buffer.getvalue(), "image/png").run()
    assert not at.exception
    assert any("No colour card found" in w.value for w in at.warning)
    assert at.number_input(key="cx0_0") is not None


def test_timeline_report_and_export(data_folder):
    from pypdf import PdfReader

    at = _start()
    at.switch_page("app_pages/timeline.py").run()
    assert not at.exception
    assert at.header[0].value == "Timeline"
    assert not at.get("download_button")  # built only when asked for
    at.button(key="prepare_pdf").click().run()
    at.button(key="prepare_zip").click().run()
    buttons = at.get("download_button")
    assert len(buttons) == 2
    with Store(data_folder) as store:
        client = store.clients()[0]
        area = store.areas(client["id"])[0]
        first = store.visits(area["id"])[0]["photos"][0]["measurements"][0]["result"]
    from skinscan.report import area_report

    # The page builds the report from the stored numbers: check that content directly.
    rows = [{"taken": "2026-10-05T10:30", "days": 0.0, **{k: first["contrast"][k] for k in
             ("delta_l", "delta_a", "delta_b", "delta_e00", "pigmentation")}, "quality": "good",
             "ita_deg": first["reference"]["ita_deg"], "ita_category": "light"}]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(area_report("Demo client", area["name"], rows))).pages)
    assert "Demo client" in text and f"{first['contrast']['delta_a']:+.1f}" in text


def test_network_address_requires_a_password(data_folder, monkeypatch):
    from streamlit import config

    monkeypatch.delenv("SKINSCAN_PASSWORD", raising=False)
    config.set_option("server.address", "0.0.0.0")
    try:
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert any("SKINSCAN_PASSWORD" in e.value for e in at.error)
        monkeypatch.setenv("SKINSCAN_PASSWORD", "s3cret")
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert [t.label for t in at.text_input] == ["Password"] and not at.header
        at.text_input[0].input("wrong").run()
        assert not at.header
        at.text_input[0].input("s3cret").run()
        assert at.header[0].value == "Clients"
    finally:
        config.set_option("server.address", "127.0.0.1")
