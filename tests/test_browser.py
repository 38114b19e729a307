"""End to end in a real browser: Debian's chromium driven by Playwright against ``streamlit run``.

Outside CI the tests are skipped (with the reason) when chromium or Playwright is missing; in CI
(``CI`` set, where ``.ci/run`` installs chromium) they must run.
"""

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images"
TRUTH = json.loads((SAMPLES / "truth.json").read_text())
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]


def _missing():
    if not os.path.exists(CHROMIUM):
        return "chromium is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


if _missing():
    if os.environ.get("CI"):
        raise RuntimeError(f"browser tests must run in CI: {_missing()}")
    pytest.skip(_missing(), allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

expect.set_options(timeout=90_000)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_app(port, address, environment, stderr=subprocess.DEVNULL):
    """Start ``streamlit run app.py`` headless on ``address:port``; return the process and its local URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.headless", "true", "--server.address", address],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=stderr, text=True,
    )
    return server, f"http://127.0.0.1:{port}"


def _wait_until_healthy(url, server, seconds=60):
    """True once the server answers its health check, False after ``seconds`` or when ``server`` (the
    process started for ``url``) has exited: then another process answers on that port (the suite runs
    in two processes, each picking free ports)."""
    deadline = time.time() + seconds
    while time.time() < deadline and server.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            return server.poll() is None
        except OSError:
            time.sleep(0.5)
    return False


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    port = _free_port()
    data = tmp_path_factory.mktemp("browser-data")
    environment = {**os.environ, "SKINSCAN_DATA": str(data)}
    server, url = _start_app(port, "127.0.0.1", environment)
    if not _wait_until_healthy(url, server):
        # Once more on another port: another process may have taken this one between probe and bind.
        server.kill()
        server, url = _start_app(_free_port(), "127.0.0.1", environment)
        if not _wait_until_healthy(url, server):
            server.kill()
            pytest.fail("streamlit did not start within 60 s")
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def _settle(page):
    """Wait until the app has finished running the script: a click made while a run is still going may
    be lost when that run's results arrive. (Streamlit marks the app's root with its script state.)"""
    page.wait_for_timeout(300)
    expect(page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')).to_have_count(1)


def _choose(page, text):
    """Click a radio option, again if a rerun swallowed the click."""
    option = page.get_by_text(text)
    for _ in range(3):
        _settle(page)
        option.click()
        _settle(page)
        if page.get_by_role("radio", name=re.compile(re.escape(text))).is_checked():
            return
    raise AssertionError(f"could not choose {text!r}")


def _set_number(page, label, value):
    field = page.get_by_label(label, exact=True).first
    _settle(page)
    field.fill(str(value))
    field.press("Enter")
    _settle(page)


def test_a_visit_end_to_end_and_the_pdf_report(app_url, browser, tmp_path):
    page = browser.new_page(accept_downloads=True)
    page.set_default_timeout(90_000)
    page.goto(app_url)
    expect(page.get_by_text("Demo client (sample photos)")).to_be_visible()

    page.get_by_role("link", name="New visit").click()
    expect(page.get_by_role("heading", name="New visit")).to_be_visible()
    _choose(page, "Classic Mini")
    page.locator("input[type=file]").set_input_files(str(SAMPLES / "needling_day1.jpg"))
    expect(page.get_by_text("Capture quality")).to_be_visible()
    x, y, w, h = TRUTH["needling_day0.jpg"]["roi"]
    # Drag the box on the photo: the typed inputs follow (the canvas shows the photo 640 px wide).
    canvas = page.locator("canvas.upper-canvas").first
    expect(canvas).to_be_visible()
    _settle(page)
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    frame = canvas.bounding_box()
    scale = frame["width"] / 960
    page.mouse.move(frame["x"] + x * scale, frame["y"] + y * scale)
    page.mouse.down()
    page.mouse.move(frame["x"] + (x + w) * scale, frame["y"] + (y + h) * scale, steps=10)
    page.mouse.up()
    expect(page.get_by_label("x", exact=True).first).to_have_value(re.compile(rf"^{x // 10}\d$"))
    for label, value in (("x", x), ("y", y), ("width", w), ("height", h)):
        _set_number(page, label, value)
    expect(page.get_by_text("Δa* (redness)")).to_be_visible()
    expect(page.get_by_text("Colour card as read (patch numbers)")).to_be_visible()
    page.screenshot(path=str(tmp_path / "visit.png"), full_page=True)
    _settle(page)
    # The demo record holds this photo already: saving it again is confirmed.
    page.get_by_text("Save needling_day1.jpg again anyway").click()
    _settle(page)
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_text("Visit saved")).to_be_visible()

    page.get_by_role("link", name="Timeline & report").click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.get_by_text("Before and after")).to_be_visible()
    _settle(page)
    page.get_by_role("button", name="Prepare PDF report").click()
    _settle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF report").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Demo client (sample photos)" in text and "Cheek" in text
    first_delta_a = f"{TRUTH['needling_day0.jpg']['delta_a']:+.0f}"[:2]  # the sign and first digit
    assert "Δa*" in text and first_delta_a in text
    page.close()


def test_the_typed_box_is_outlined_on_the_photo(app_url, browser):
    """A box typed in pixels (or suggested) shows on the photo under the canvas, in cyan, where the
    numbers put it (a walk found it shown only as numbers)."""
    from PIL import Image

    page = browser.new_page()
    page.set_default_timeout(90_000)
    page.goto(app_url)
    page.get_by_role("link", name="New visit").click()
    expect(page.get_by_role("heading", name="New visit")).to_be_visible()
    _choose(page, "Classic Mini")
    page.locator("input[type=file]").set_input_files(str(SAMPLES / "needling_day1.jpg"))
    expect(page.get_by_text("Capture quality")).to_be_visible()
    x, y, w, h = 300, 250, 240, 180
    for label, value in (("x", x), ("y", y), ("width", w), ("height", h)):
        _set_number(page, label, value)
    _settle(page)
    canvas = page.locator("canvas.upper-canvas").first
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    shot = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")).astype(int)
    rows, columns = np.nonzero(np.abs(shot - [0, 229, 255]).sum(axis=2) < 60)
    pixel = shot.shape[1] / 960  # screenshot px per photo px (the sample photos are 960 px wide)
    assert len(rows) > 100, "no outline"
    assert abs(columns.min() - x * pixel) < 4 and abs(columns.max() - (x + w) * pixel) < 4
    assert abs(rows.min() - y * pixel) < 4 and abs(rows.max() - (y + h) * pixel) < 4
    # A box dragged elsewhere replaces it: the old outline goes (the new one lies under the drawn box).
    frame = canvas.bounding_box()

    def drag_and_wait():
        """Drag the new box; wait up to 20 s for its numbers, then up to 10 s for the canvas to outline it
        alone. Returns the last canvas picture and the cyan pixels left where the old box was, or
        (None, None) when the drag did not set the numbers."""
        page.mouse.move(frame["x"] + 100 * pixel, frame["y"] + 80 * pixel)
        page.mouse.down()
        page.mouse.move(frame["x"] + 250 * pixel, frame["y"] + 200 * pixel, steps=10)
        page.mouse.up()
        try:
            expect(page.get_by_label("x", exact=True).first).to_have_value(re.compile(r"^(9\d|10\d)$"),
                                                                           timeout=20_000)
        except AssertionError:
            return None, None
        _settle(page)
        for _ in range(20):
            page.wait_for_timeout(500)
            shot = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")).astype(int)
            old_box = shot[int(y * pixel) - 3 : int((y + h) * pixel) + 4, int(x * pixel) - 3 : int((x + w) * pixel) + 4]
            left = int((np.abs(old_box - [0, 229, 255]).sum(axis=2) < 60).sum())
            if left == 0 and (np.abs(shot - [0, 229, 255]).sum(axis=2) < 60).sum() > 100:
                break
        return shot, left

    # Seen in full parallel suite runs (2026-11-27), never alone: the old box stays outlined after the drag,
    # or the drag sets no numbers at all (twice in three runs of one fresh clone). Said, and the drag tried
    # again, up to three times (the note to the team has it).
    for attempt in range(1, 4):
        shot, left = drag_and_wait()
        if shot is not None and left == 0:
            break
        typed = [page.get_by_label(name, exact=True).first.input_value() for name in ("x", "y", "width", "height")]
        what = "set no numbers" if shot is None else "left the old box outlined"
        warnings.warn(f"drag {attempt} {what} (inputs then {typed}); dragged again")
    assert shot is not None, "no drag set the box's numbers"
    assert left == 0, "the old box is still outlined"
    # The box dragged is the one outlined in cyan, and the drawing itself (yellow) does not stay on the photo
    # (a walk saw every box dragged before stay drawn, the numbers following only the last).
    rows, columns = np.nonzero(np.abs(shot - [0, 229, 255]).sum(axis=2) < 60)
    assert len(rows) > 100 and abs(columns.min() - 100 * pixel) < 6 and abs(rows.min() - 80 * pixel) < 6
    assert (np.abs(shot - [255, 220, 0]).sum(axis=2) < 60).sum() < 20, "the drawing stays on the photo"
    page.close()


def test_outline_the_area_by_clicking_around_it(app_url, browser):
    page = browser.new_page()
    page.goto(app_url)
    page.get_by_role("link", name="New visit").click()
    _choose(page, "Classic Mini")
    page.locator("input[type=file]").set_input_files(str(SAMPLES / "scar_session1.jpg"))
    expect(page.get_by_text("Capture quality")).to_be_visible()
    _choose(page, "its exact outline")
    expect(page.get_by_text("click the first point again")).to_be_visible()
    canvas = page.locator("canvas.upper-canvas").first
    _settle(page)
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    frame = canvas.bounding_box()
    scale = frame["width"] / 960
    # The scar of the demo: an ellipse at (0.6, 0.6) of the 960 x 720 photo, radii 0.11 and 0.035 of
    # the width, turned 20 degrees (sample_images/make_samples.py). Click just inside it, then close.
    import math

    centre_x, centre_y, a, b, turn = 576.0, 432.0, 0.9 * 105.6, 0.9 * 33.6, math.radians(20)
    corners = [
        (centre_x + a * math.cos(t) * math.cos(turn) - b * math.sin(t) * math.sin(turn),
         centre_y + a * math.cos(t) * math.sin(turn) + b * math.sin(t) * math.cos(turn))
        for t in (math.radians(d) for d in range(0, 360, 60))
    ]
    corners.append(corners[0])
    for cx, cy in corners:
        page.mouse.click(frame["x"] + cx * scale, frame["y"] + cy * scale)
        page.wait_for_timeout(250)
    _settle(page)
    expect(page.get_by_text("Δa* (red–green vs skin)")).to_be_visible()  # the scar is less red than its skin
    expect(page.get_by_text("hypo", exact=True)).to_be_visible()  # a lighter scar, measured over the outline
    page.close()


def test_names_show_as_typed_and_fetch_nothing(app_url, browser):
    """Issue 11: a client called ![x](http://host/p.png) made every browser opening the list fetch it."""
    page = browser.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(app_url)
    expect(page.get_by_text("Demo client (sample photos)")).to_be_visible()
    name = "![x](http://127.0.0.9:9/p.png) **Eve** <b>x</b>"
    _settle(page)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Create client").click()
    _settle(page)
    summary = page.locator('[data-testid="stExpander"] summary', has_text="Eve")
    expect(summary).to_have_count(1)
    shown = summary.locator('[data-testid="stMarkdownContainer"]').inner_text().replace("\u2060", "")
    assert shown.strip().startswith(name)
    assert summary.locator("img, strong, b, a").count() == 0
    assert not [url for url in requested if "127.0.0.9" in url]
    page.close()


def test_a_network_address_without_a_password_stops_the_server(tmp_path, browser):
    """Issue 11: on 0.0.0.0 with no SKINSCAN_PASSWORD the app kept listening and served an error page."""
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if k != "SKINSCAN_PASSWORD"}
    environment["SKINSCAN_DATA"] = str(tmp_path / "data")
    server, url = _start_app(port, "0.0.0.0", environment, stderr=subprocess.PIPE)
    try:
        assert _wait_until_healthy(url, server)
        page = browser.new_page()
        page.goto(url)
        server.wait(timeout=60)  # the first page view runs the gate, which stops the server
        assert "SKINSCAN_PASSWORD" in server.stderr.read()
        expect(page.get_by_text("Demo client")).to_have_count(0)
        page.close()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
