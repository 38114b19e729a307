"""The app's pages and flows, driven by Streamlit's AppTest (no browser)."""

import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from skinscan.store import Store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # app_pages, as `streamlit run app.py` sees it
APP = str(ROOT / "app.py")
SAMPLES = ROOT / "sample_images"
TRUTH = json.loads((SAMPLES / "truth.json").read_text())

from app_pages.common import CANVAS_WIDTH, plain, state_key  # noqa: E402


@pytest.fixture(autouse=True)
def local_address():
    """The app as it starts from the repository (config.toml): listening on 127.0.0.1."""
    from streamlit import config

    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", "127.0.0.1")


def _start():
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    return at


def _key(data, name):
    """The Session State key of a photo's input, as the visit page names it."""
    return state_key(hashlib.sha256(data).hexdigest(), name)


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def _new_area(data_folder, client="Ana Test", area="left brow"):
    """A client with one area and no visits yet (the demo is seeded first by the app's start)."""
    with Store(data_folder) as store:
        client_id = store.add_client(client)
        return client_id, store.add_area(client_id, area)


def _visit_page_on(at, client_id, area_id):
    at.session_state["client_id"] = client_id
    at.session_state["area_id"] = area_id
    at.switch_page("app_pages/visit.py").run()
    assert not at.exception
    return at


def _draw_box(at, data, box, photo_width=960):
    """Draw a box on a photo's canvas, as the browser would report it (canvas pixels)."""
    scale = CANVAS_WIDTH / photo_width
    x, y, w, h = box
    at.session_state[_key(data, "box_canvas")] = {"drawing": {"raw": {"objects": [
        {"type": "rect", "left": x * scale, "top": y * scale, "width": w * scale, "height": h * scale}]},
        "data": None}, "backgroundFit": None}
    return at.run()


def _typed_box(at, data):
    return tuple(at.number_input(key=_key(data, name)).value for name in ("x", "y", "w", "h"))


def _visit_count(data_folder, area_id):
    with Store(data_folder) as store:
        return len(store.visits(area_id))


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
    for name, value in (("x", x), ("y", y), ("w", w), ("h", h)):
        at.number_input(key=_key(data, name)).set_value(value).run()
    assert not at.exception
    assert any("good" in m.value for m in at.markdown)
    labels = [m.label for m in at.metric]
    assert "Δa* (redness)" in labels
    delta_a = float(next(m.value for m in at.metric if m.label == "Δa* (redness)"))
    assert delta_a == pytest.approx(TRUTH["needling_day1.jpg"]["delta_a"], abs=1.5)
    at.radio(key=_key(data, "consent")).set_value("clinical+marketing").run()
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
    data = (SAMPLES / "scar_session1.jpg").read_bytes()
    at.file_uploader(key="uploads").upload("scar.jpg", data, "image/jpeg").run()
    at.radio(key=_key(data, "mode")).set_value("outline").run()
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
    at = _start()
    at.switch_page("app_pages/visit.py").run()
    data = _png(np.full((300, 400, 3), (200, 150, 130), np.uint8))
    at.file_uploader(key="uploads").upload("skin.png", data, "image/png").run()
    assert not at.exception
    assert any("No colour card found" in w.value for w in at.warning)
    assert at.number_input(key=_key(data, "cx0")).value is None


def test_timeline_report_and_export(data_folder):
    from pypdf import PdfReader

    at = _start()
    at.switch_page("app_pages/timeline.py").run()
    assert not at.exception
    assert at.header[0].value == "Timeline"
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
