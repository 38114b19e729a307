"""A series in a real browser (Debian's chromium, Playwright, ``streamlit run``): the demo's tattoo area
(four visits), one visit deleted, the last re-measured over landmarks, a comparison chosen by the user,
the wipe moved with no message to the server, and the PDF checked for both photos.

Skipped outside CI when chromium or Playwright is missing (as tests/test_browser.py).
"""

import io
import json
import re
from pathlib import Path

from test_browser import _missing  # noqa: F401 - skips this module the same way when no browser

from test_browser import app_url, browser  # noqa: F401,E402 - the server and browser fixtures

from playwright.sync_api import expect  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRUTH = json.loads((ROOT / "sample_images" / "truth.json").read_text())


def _settle(page):
    """Wait until no script run is going on, twice in a row 0.6 s apart (a run starts a moment after the
    action that asked for it; a click during a run can be lost)."""
    app = page.locator('[data-testid="stApp"]')
    for _ in range(2):
        page.wait_for_timeout(600)
        expect(app).to_have_attribute("data-test-script-state", "notRunning")


def _choose_option(page, label, option):
    """Pick an option of a selectbox, again if a rerun closed the list before the click."""
    for _ in range(3):
        _settle(page)
        page.get_by_test_id("stSelectbox").filter(has_text=label).get_by_role("combobox").click()
        choice = page.get_by_role("option", name=option)
        try:
            choice.click(timeout=5_000)
        except Exception:  # noqa: BLE001 - the list closed under a rerun: open it again
            page.keyboard.press("Escape")
            continue
        _settle(page)
        return
    raise AssertionError(f"could not choose {option!r} in {label!r}")


def test_a_series_delete_remeasure_compare_wipe_and_pdf(app_url, browser):  # noqa: F811
    page = browser.new_page(accept_downloads=True)
    page.set_default_timeout(90_000)
    sent = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: sent.append(payload)))
    page.goto(app_url)
    expect(page.get_by_text("Demo client (sample photos)").first).to_be_visible()
    page.get_by_role("link", name="Timeline & report").click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    _choose_option(page, "Treated area", "Shoulder tattoo — removal")
    expect(page.get_by_test_id("stExpander").filter(has_text="Visit 4 —")).to_be_visible()

    # Delete visit 3: open it, then its edit popover; deleting needs the confirmation ticked.
    visit_3 = page.get_by_test_id("stExpander").filter(has_text="Visit 3 —")
    visit_3.get_by_text("Visit 3 —").click()
    _settle(page)
    visit_3.get_by_role("button", name="Edit or delete this visit").click()
    page.get_by_text("Yes, delete this visit and its photos").filter(visible=True).click()
    _settle(page)
    page.get_by_role("button", name="Delete visit").filter(visible=True).click()
    expect(page.get_by_text("Visit 3 deleted")).to_be_visible()
    expect(page.get_by_text("Visit 4 —")).to_have_count(0)

    # Re-measure the last visit over landmarks (the demo's sessions share one pose: the box corners match).
    _settle(page)
    page.get_by_text("The alignment looks wrong: give landmarks").click()
    _settle(page)
    x, y, w, h = TRUTH["tattoo_session1.jpg"]["roi"]
    typed = page.get_by_label(re.compile("Or type them"))
    typed.fill(",".join(str(v) for v in [x, y, x + w, y, x + w, y + h, x, y + h] * 2))
    typed.press("Enter")
    expect(page.get_by_text("mapped onto the after photo")).to_be_visible()
    _settle(page)
    page.get_by_role("button", name="Use these landmarks").click()
    expect(page.get_by_text("re-measured over the area the landmarks map")).to_be_visible()

    # The user compares the second visit with the last.
    _choose_option(page, "Before (baseline)", re.compile("2026-04-03"))
    expect(page.get_by_text("ΔE00 before → after")).to_be_visible()
    _settle(page)

    # The wipe moves in the browser: a drag across the photo sends nothing to the server.
    wipe = page.frame_locator("iframe").last
    before = wipe.locator("#before")
    expect(before).to_have_attribute("style", re.compile(r"inset\(0(px)? 50(\.0)?%"))
    frame = wipe.locator("#frame")
    frame.scroll_into_view_if_needed()
    box = frame.bounding_box()
    messages_before = len(sent)
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    expect(before).to_have_attribute("style", re.compile(r"inset\(0(px)? 8\d(\.\d+)?%"))
    page.wait_for_timeout(500)
    assert len(sent) == messages_before, "moving the wipe must not talk to the server"

    # The PDF, built when asked, holds both photos on its first page.
    page.get_by_role("button", name="Prepare PDF report").click()
    _settle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF report").click()
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert len(reader.pages[0].images) == 2
    text = reader.pages[0].extract_text()
    assert re.search(r"Before: Visit 2 \S 2026-04-03", text) and re.search(r"After: Visit 3 \S 2026-08-03", text), text
    assert "Shoulder tattoo" in text
    page.close()
