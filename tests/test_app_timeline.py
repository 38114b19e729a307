"""The Timeline page (AppTest, no browser): exports built only when asked, one audit entry each; names
shown as text; edit and delete; before/after chosen by the user against the rendered truth; landmarks
when alignment fails; the PDF a client takes home; the wipe's HTML."""

import csv
import io
import json
import re
import shutil
from datetime import datetime, time
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader
from skimage.color import deltaE_ciede2000
from streamlit.testing.v1 import AppTest

from skinscan import register, report, visuals
from skinscan.report import NOT_ALIGNED, NOT_COMPARED, area_report
from skinscan.store import Store

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SAMPLES = ROOT / "sample_images"
TRUTH = json.loads((SAMPLES / "truth.json").read_text())
TATTOO, BROW = 2, 3  # indexes of the demo's tattoo and brow areas (skinscan.demo.DEMO_AREAS)
HOSTILE_NAME = '![x](http://127.0.0.1:9/p.png) <img src="/etc/hostname"/> x<y <b>'


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """The demo record, measured once per session; each test gets a copy."""
    from skinscan.demo import seed_demo

    folder = tmp_path_factory.mktemp("demo-record")
    with Store(folder) as store:
        seed_demo(store)
    return folder


@pytest.fixture
def demo(demo_template, data_folder):
    shutil.copytree(demo_template, data_folder)
    with Store(data_folder) as store:
        client = store.clients()[0]
        return {"client": client, "areas": store.areas(client["id"])}


def _timeline(area_id, client_id=None):
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["area_id"] = area_id
    if client_id is not None:
        at.session_state["client_id"] = client_id
    at.run()
    at.switch_page("app_pages/timeline.py").run()
    assert not at.exception, at.exception
    return at


def _true_delta_e00(name):
    truth = TRUTH[name]
    return float(deltaE_ciede2000(np.array(truth["treated_lab"]), np.array(truth["reference_lab"])))


def _captions(at):
    """The captions of the page's pictures."""
    return [str(image.caption) for element in at.get("image") for image in element.proto.imgs]


def _pdf_text(pdf):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_exports_are_built_only_when_asked_and_audited_once(demo, data_folder):
    at = _timeline(demo["areas"][TATTOO]["id"])
    assert at.header[0].value == "Timeline"
    assert not at.get("download_button")  # nothing is built on opening
    for _ in range(2):
        at.run()  # reruns (any widget change) build nothing either
    with Store(data_folder) as store:
        assert store.audit() == []
    at.button(key="prepare_pdf").click().run()
    at.button(key="prepare_zip").click().run()
    assert not at.exception
    assert len(at.get("download_button")) == 2
    at.run()
    at.run()
    with Store(data_folder) as store:
        assert [e["action"] for e in store.audit()] == ["report", "export"]


def test_the_pdf_has_before_and_after_on_page_one_with_the_practice_and_fade(demo, monkeypatch):
    monkeypatch.setenv("SKINSCAN_PRACTICE_NAME", "Ink & Light <Studio>")
    at = _timeline(demo["areas"][TATTOO]["id"])
    at.button(key="prepare_pdf").click().run()
    pdf = at.session_state["prepared"]
    pdf = next(value for key, value in pdf.items() if key[0] == "pdf")
    reader = PdfReader(io.BytesIO(pdf))
    first_page = reader.pages[0]
    assert len(first_page.images) == 2  # before and after, side by side
    text = first_page.extract_text()
    assert "Ink & Light <Studio>" in text and "Before:" in text and "After:" in text
    # Tattoo area: fade % leads, and it is the first-to-last fade the rendered truth gives.
    assert text.index("fade %") < text.index("redness resolved")
    fade = float(re.search(r"fade %\s*(-?\d+) %", text).group(1))
    expected = 100 * (1 - _true_delta_e00("tattoo_session4.jpg") / _true_delta_e00("tattoo_session1.jpg"))
    assert fade == pytest.approx(expected, abs=6)
    # Spread beside it: the tattoo's true area is the same at every session.
    assert re.search(r"spread\s*(0|[+-][1-5]) %", text), text
    # The ink is less red than the skin: its Δa* before -> after is not called redness.
    flat = " ".join(text.split())
    assert "not redness" in flat and "redness of the area compared" not in flat
    # The definitions are those of what the report shows: every visit aligned, no hue drift printed.
    definitions = " ".join(_pdf_text(pdf).split()).split("Definitions")[-1]
    assert "spread %:" in definitions and "fade %:" in definitions
    assert not any(name in definitions for name in ("not aligned:", "not compared:", "hue drift"))


def test_names_are_plain_text_in_the_page_the_pdf_and_the_csv(demo, data_folder):
    with Store(data_folder) as store:
        client = store.add_client(HOSTILE_NAME)
        area = store.add_area(client, "=HYPERLINK(\"http://x\") tattoo <b>")
        demo_visits = store.visits(demo["areas"][TATTOO]["id"])
        for visit in demo_visits[:2]:
            photo = visit["photos"][0]
            store.save_visit(area, visit["taken"], [{
                "data": store.photo_path(photo["file"]).read_bytes(),
                "measurements": [{"kind": m["kind"], "result": m["result"]} for m in photo["measurements"]],
            }], notes="**bold** <i>")
    at = _timeline(area, client)
    markdown = " ".join(e.value for e in at.markdown) + " ".join(e.label for e in at.expander)
    assert "![x]" not in markdown and "<b>" not in markdown  # escaped wherever Markdown is rendered
    at.button(key="prepare_pdf").click().run()
    at.button(key="prepare_zip").click().run()
    prepared = at.session_state["prepared"]
    text = _pdf_text(next(v for k, v in prepared.items() if k[0] == "pdf"))
    assert HOSTILE_NAME.replace(" ", "") in text.replace(" ", "").replace("\n", "")
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(next(v for k, v in prepared.items() if k[0] == "zip")))
    csv_text = archive.read("measurements.csv").decode()
    assert "'=HYPERLINK" in csv_text and not re.search(r"(^|,)=HYPERLINK", csv_text, re.M)


def test_edit_and_delete_a_visit_and_a_photo(demo, data_folder):
    area_id = demo["areas"][0]["id"]
    with Store(data_folder) as store:
        visits = store.visits(area_id)
        extra = store.add_photo_to_visit(visits[0]["id"], (SAMPLES / "card_check.jpg").read_bytes())
    at = _timeline(area_id)
    captions = [c for image in at.get("image") for c in image.captions]
    assert len([c for c in captions if c.startswith("Photo ")]) == 4  # every photo of every visit
    assert sum("colour-corrected on its card" in c for c in captions) == 3  # card_check.jpg has a card but no area
    assert [c.split(":")[0] for c in captions if not c.startswith("Photo ")] == ["Before", "After"]
    # Which photo the table's row is of, for the visit holding two.
    taken = visits[0]["taken"][:16].replace("T", " ")
    assert any(c.value.startswith(f"A row shows one photo's numbers: visit 1 ({taken}): photo 1 of 2.")
               for c in at.caption), [c.value for c in at.caption]
    # A photo, as a visit, is deleted only once confirmed (one stray click used to erase it).
    assert at.button(key=f"delete_photo_{extra}").disabled
    at.checkbox(key=f"confirm_delete_photo_{extra}").check().run()
    at.button(key=f"delete_photo_{extra}").click().run()
    assert not at.exception
    with Store(data_folder) as store:
        assert [len(v["photos"]) for v in store.visits(area_id)] == [1, 1, 1]
    first_photo = visits[0]["photos"][0]["id"]
    at.selectbox(key=f"consent_{first_photo}").set_value("clinical+marketing").run()
    with Store(data_folder) as store:
        assert store.visit(visits[0]["id"])["photos"][0]["consent"] == "clinical+marketing"
    # Treatment details through the visit's edit form.
    last = visits[-1]["id"]
    form_inputs = [t for t in at.text_input if t.label == "Needle depth (mm)"]
    form_inputs[-1].input("0.5")
    [t for t in at.text_input if t.label == "Procedure"][-1].input("microneedling")
    # The time too, not only the date (redness is followed in hours).
    [t for t in at.time_input if t.label == "Time"][-1].set_value(time(16, 45))
    [b for b in at.button if b.label == "Save changes"][-1].click().run()
    assert not at.exception
    with Store(data_folder) as store:
        assert store.visit(last)["treatment"] == {"procedure": "microneedling", "needle_depth_mm": 0.5}
        assert store.visit(last)["taken"][11:16] == "16:45" and store.visit(last)["taken"][:10] == visits[-1]["taken"][:10]
    assert any(c.value.startswith("Treatment — ") and "microneedling" in c.value and "0\\.5" in c.value
               for c in at.caption)
    # Deleting asks for a confirmation first.
    assert at.button(key=f"delete_visit_{last}").disabled
    at.checkbox(key=f"confirm_delete_{last}").check().run()
    at.button(key=f"delete_visit_{last}").click().run()
    assert not at.exception and any("deleted" in s.value for s in at.success)
    with Store(data_folder) as store:
        assert [v["id"] for v in store.visits(area_id)] == [v["id"] for v in visits[:2]]
        assert [e["action"] for e in store.audit()] == ["add photo", "delete photo", "edit photo", "edit visit",
                                                        "delete visit"]
        assert store.check() == []


def test_add_a_photo_to_a_saved_visit_from_the_timeline(demo, data_folder):
    area_id = demo["areas"][0]["id"]
    with Store(data_folder) as store:
        second = store.visits(area_id)[1]["id"]
    at = _timeline(area_id)
    at.button(key=f"add_photo_{second}").click().run()
    assert not at.exception and at.header[0].value == "New visit"
    assert at.radio(key="save_to").value == "saved" and at.session_state["saved_visit_choice"] == second


def test_the_user_chooses_the_baseline_and_the_visit_compared(demo, data_folder):
    area_id = demo["areas"][TATTOO]["id"]
    with Store(data_folder) as store:
        ids = [v["id"] for v in store.visits(area_id)]
    at = _timeline(area_id)
    # The after picture outlines the first visit's area mapped onto it (the saved comparison's), where the
    # numbers come from, not the after photo's own area.
    assert any(c.startswith("After: Visit 4") and "before's area mapped onto it outlined" in c for c in _captions(at))
    # Spread, against the truth: the tattoo's area is the same size at every session (truth.json's
    # true_area_px), so within ±5 %; shown without a sign at 0.
    spreads = list(at.dataframe[0].value["spread %"])
    assert spreads[0] == "–" and all(re.fullmatch(r"0|[+-][1-5]", v) for v in spreads[1:]), spreads
    assert len(at.selectbox(key="baseline_choice").options) == 3  # every visit but the last can be the baseline
    # Named by number as the visits' sections are (two visits on one day would otherwise read the same).
    assert [o.split(" — ")[0] for o in at.selectbox(key="baseline_choice").options] == ["Visit 1", "Visit 2", "Visit 3"]
    at.selectbox(key="baseline_choice").set_value(ids[1]).run()  # session 2
    at.selectbox(key="after_choice").set_value(ids[2]).run()  # session 3
    assert not at.exception
    fade = float(next(m.value for m in at.metric if m.label == "fade %"))
    expected = 100 * (1 - _true_delta_e00("tattoo_session3.jpg") / _true_delta_e00("tattoo_session2.jpg"))
    assert fade == pytest.approx(expected, abs=8)
    # Redness before -> after, not a bare change (a fading ink's Δa* rises towards 0 from below).
    before_after = next(m.value for m in at.metric if m.label == "Δa* before → after")
    before, after = (float(v) for v in before_after.split(" → "))
    assert before < after <= 0.0
    spread = next(m for m in at.metric if m.label == "spread %")
    assert re.fullmatch(r"0|[+-][1-5]", spread.value)
    # Ink is never redder than its skin: no redness to resolve, said where its number would be.
    resolved = next(m for m in at.metric if m.label == "redness resolved %")
    assert resolved.value == "–" and "no redness" in resolved.proto.help
    assert not any("no redness at baseline" in w.value for w in at.warning)
    assert at.get("iframe"), "the wipe is shown"
    # Compared now (visit 2 is not the first): the after picture follows once the numbers are in.
    assert any(c.startswith("After: Visit 3") and "before's area mapped onto it outlined" in c for c in _captions(at))


def test_the_comparison_warnings_are_shown_with_its_numbers(demo, data_folder):
    area_id = demo["areas"][TATTOO]["id"]
    with Store(data_folder) as store:
        visits = store.visits(area_id)
        first_file = visits[0]["photos"][0]["file"]
        # The last visit's comparison says it was made against the first visit's photo; the second's, against
        # another photo (saved later all the same: the recorded baseline decides, not the saving order).
        for visit, baseline_file, warnings in ((visits[-1], first_file, ["the follow-up photo has no colour card: "
                                                                         "the changes include light"]),
                                               (visits[1], "another-photo.jpg", [])):
            photo = visit["photos"][0]
            measurements = [{"kind": m["kind"], "result": m["result"]} for m in photo["measurements"]]
            for measurement in measurements:
                if measurement["kind"] == "comparison":
                    measurement["result"].update(warnings=warnings, baseline_file=baseline_file)
            store.update_photo(photo["id"], measurements=measurements)
    at = _timeline(area_id)
    assert [m for m in at.metric if m.label == "fade %"]
    # Shown as a sentence (capitalised), without the pipeline's lower-case start.
    assert any(re.sub(r"\\(.)", r"\1", w.value).startswith("The follow-up photo has no colour card: the changes include light")
               for w in at.warning)
    fades = list(at.dataframe[0].value["fade %"])
    assert fades[1] == NOT_COMPARED and re.fullmatch(r"\d+", fades[2]) and re.fullmatch(r"\d+", fades[3])


def _failed_comparison(store, area_id, visit_index, error, registration=None):
    """A visit's comparison replaced by the record the New visit page saves when the comparison with the
    first visit fails (skinscan.demo.measurement_records with ``comparison_error``); its analysis kept."""
    visits = store.visits(area_id)
    photo = visits[visit_index]["photos"][0]
    store.update_photo(photo["id"], measurements=_analysis_and_failure(
        photo, error, visits[0]["photos"][0]["file"], registration))


def _analysis_and_failure(photo, error, baseline_file, registration=None):
    """A stored photo's analysis record and a failed comparison's (refused when ``registration`` is given)."""
    failure = {"aligned": False, "alignment_refused": registration is not None, "error": error,
               "baseline_file": baseline_file}
    if registration is not None:
        failure["registration"] = registration.to_dict()
    return [{"kind": m["kind"], "result": m["result"]} for m in photo["measurements"] if m["kind"] == "analysis"] \
        + [{"kind": "comparison", "result": failure}]


def test_a_visit_that_cannot_be_aligned_takes_landmarks(demo, data_folder, monkeypatch):
    area_id = demo["areas"][TATTOO]["id"]
    failed = register.Registration(False, "features", None, 0, float("nan"), "too few matches")
    with Store(data_folder) as store:  # saved when alignment failed: the refusal is in the record
        _failed_comparison(store, area_id, -1, register.alignment_advice(failed), failed)
        own = {m["kind"]: m["result"] for m in store.visits(area_id)[-1]["photos"][0]["measurements"]}["analysis"]
    monkeypatch.setattr(register, "match", lambda *a, **k: failed)
    at = _timeline(area_id)
    shown = at.dataframe[0].value
    assert shown["fade %"].iloc[-1] == NOT_ALIGNED
    assert any("Could not match these two photos on the skin around the area" in w.value for w in at.warning)
    assert not [m for m in at.metric if m.label == "fade %"]  # no numbers for an unaligned pair
    # The demo's sessions were photographed in one pose: the box corners are matching points.
    x, y, w, h = TRUTH["tattoo_session1.jpg"]["roi"]
    corners = [x, y, x + w, y, x + w, y + h, x, y + h]
    # Errors in the page's words (before / after), and a point off the photo is one (a walk typed 1e9).
    for typed, said in (("1,2,3", "give 3 or 4 points on the before photo, then as many on the after photo"),
                        (",".join(str(v) for v in corners + corners[:-1] + [1e9]), "outside the after photo")):
        at.text_input(key="landmarks_typed").input(typed).run()
        errors = [e.value.replace("\\", "") for e in at.error if "These points cannot be used" in e.value]
        assert len(errors) == 1 and said in errors[0], [e.value for e in at.error]
        assert not any(word in errors[0] for word in ("--", "baseline", "follow-up", "landmarks:"))
    at.text_input(key="landmarks_typed").input(",".join(str(v) for v in corners * 2)).run()
    assert any("mapped onto the after photo" in c for image in at.get("image") for c in image.captions)
    at.button(key="use_landmarks").click().run()
    assert not at.exception
    with Store(data_folder) as store:
        saved = {m["kind"]: m["result"] for m in store.visits(area_id)[-1]["photos"][0]["measurements"]}
        first_file = store.visits(area_id)[0]["photos"][0]["file"]
    assert saved["comparison"]["registration"]["method"] == "landmarks"
    assert saved["analysis"] == own  # the photo's own measurement (its box, its patch) is kept
    assert saved["comparison"]["baseline_file"] == first_file  # what it was compared with, for comparison_status
    expected = 100 * (1 - _true_delta_e00("tattoo_session4.jpg") / _true_delta_e00("tattoo_session1.jpg"))
    assert saved["comparison"]["fade_percent"] == pytest.approx(expected, abs=6)
    assert at.dataframe[0].value["fade %"].iloc[-1] == f"{saved['comparison']['fade_percent']:.0f}"
    # Aligned from the points clicked, which the app did not verify: said in the table, under it, in the
    # PDF and in the export (a walk forced a 55 % fade on another side of an arm that read as any other).
    visits_shown = list(at.dataframe[0].value["visit"])
    assert visits_shown[-1].endswith(f"({report.BY_POINTS})")
    assert not any(report.BY_POINTS in v for v in visits_shown[:-1])
    assert any(c.value.startswith(report.BY_POINTS.capitalize()) for c in at.caption)
    assert any(i.value.startswith(report.BY_POINTS.capitalize()) for i in at.info)  # the pair, too
    at.button(key="prepare_pdf").click().run()
    pdf = next(v for k, v in at.session_state["prepared"].items() if k[0] == "pdf")
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "by hand" in text and "points the practitioner clicked" in text and "your points" not in text
    import zipfile

    with Store(data_folder) as store:
        archive = zipfile.ZipFile(io.BytesIO(store.export_client(demo["client"]["id"])))
    compared = [r for r in csv.DictReader(io.StringIO(archive.read("measurements.csv").decode()))
                if r["kind"] == "comparison" and r["area"] == demo["areas"][TATTOO]["name"]]
    assert compared[-1]["aligned_by"] == "landmarks" and all(r["aligned_by"] != "landmarks" for r in compared[:-1])


def test_the_wipe_is_self_contained_and_opens_on_the_area():
    rng = np.random.default_rng(0)
    before = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    after = before[:, ::-1].copy()
    html, height = visuals.wipe_html(before, after, 0.3, "before <b>", "after")
    assert html.count("data:image/jpeg;base64,") == 2
    assert not re.search(r"(src|href)=\"(https?:)?//", html) and "http" not in html  # nothing fetched
    assert 'type="range"' in html and 'value="300"' in html and "inset(0 70.0% 0 0)" in html
    assert "before &lt;b&gt;" in html and height == round(300 * visuals.WIPE_WIDTH / 400) + 40
    # The view opens on the area: its box grown by its size each side, clipped to the picture.
    assert visuals.area_view([[[100, 100], [140, 100], [140, 120]]], (300, 400), 0.5) == (30, 40, 90, 70)


def test_warping_onto_the_baseline_undoes_a_known_shift():
    rng = np.random.default_rng(1)
    baseline = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    followup = np.zeros((240, 320, 3), np.uint8)
    followup[20:140, 30:190] = baseline  # the follow-up photo: the same skin, 30 px right, 20 px down
    shift = np.array([[1, 0, 30], [0, 1, 20], [0, 0, 1]], float)  # baseline px -> follow-up px
    # The follow-up shown at half size, the baseline at full size.
    small = followup[::2, ::2]
    warped = visuals.warp_onto_baseline(small, shift, 0.5, 1.0, baseline.shape)
    assert np.abs(warped[4:-4:2, 4:-4:2].astype(int) - baseline[4:-4:2, 4:-4:2]).mean() < 1.0


def test_report_prints_names_and_markup_as_written():
    rows = [{"taken": "2026-10-05T10:00", "days": 0.0, "delta_l": -5.0, "delta_a": 3.0, "delta_b": 1.0,
             "delta_e00": 8.0, "pigmentation": "hyper", "quality": "good", "ita_deg": 40.0, "ita_category": "light"}]
    pdf = area_report(HOSTILE_NAME, "brow <b>bold</b>", rows, practice_name="")
    text = _pdf_text(pdf).replace("\n", "")
    assert "brow <b>bold</b>" in text and 'x<y' in text and '<img src="/etc/hostname"/>' in text


def test_the_pdf_calls_a_skin_tone_read_without_a_card_indicative():
    row = {"taken": "2026-10-05T10:00", "days": 0.0, "delta_l": -5.0, "delta_a": 3.0, "delta_b": 1.0,
           "delta_e00": 8.0, "pigmentation": "hyper", "quality": "good", "ita_deg": 8.0, "ita_category": "brown"}
    with_card = " ".join(_pdf_text(area_report("Client", "forearm", [row])).split())
    without = " ".join(_pdf_text(area_report("Client", "forearm", [{**row, "card_found": False}])).split())
    assert "ITA 8° (brown)." in with_card and "indicative" not in with_card
    assert "ITA 8° (brown, no colour card: indicative only" in without


def test_the_pdf_is_made_when_no_visit_has_a_fade():
    """Fade shown (a tattoo) but undefined at every visit (the area did not stand out at the first): the
    chart's right axis had nothing to span and the PDF failed with a TypeError (a review)."""
    row = {"taken": "2026-10-05T10:00", "days": 0.0, "delta_l": -1.0, "delta_a": 0.8, "delta_b": 0.5,
           "delta_e00": 1.5, "pigmentation": "even", "quality": "good", "ita_deg": 40.0, "ita_category": "light",
           "fade_percent": None}
    pdf = area_report("Client", "tattoo forearm", [row, {**row, "taken": "2026-11-05T10:00", "days": 31.0}],
                      show_fade=True)
    assert pdf.startswith(b"%PDF") and "tattoo forearm" in _pdf_text(pdf)


def test_page_one_gives_the_comparisons_notes():
    """A walk found the PDF's page 1 without the comparison's warnings the screen gave (a thin reference,
    no card) nor why a cell is "–": they are printed under its numbers, as sentences, without CLI words."""
    from skinscan.pipeline import NO_BASELINE_REDNESS_WARNING, SPREAD_WITHOUT_CARDS_WARNING, THIN_REFERENCE_WARNING

    row = {"taken": "2026-10-05T10:00", "days": 0.0, "delta_l": -20.0, "delta_a": 0.8, "delta_b": 0.5,
           "delta_e00": 25.0, "pigmentation": "hyper", "quality": "good", "ita_deg": 40.0, "ita_category": "light",
           "fade_percent": None}
    later = {**row, "taken": "2026-11-05T10:00", "days": 31.0, "fade_percent": 10.0}
    picture = np.full((60, 80, 3), 128, np.uint8)
    warnings = [THIN_REFERENCE_WARNING["ring"], SPREAD_WITHOUT_CARDS_WARNING, NO_BASELINE_REDNESS_WARNING]
    pdf = area_report("Client", "tattoo forearm", [row, later], show_fade=True,
                      before_after=(("before", picture, row), ("after", picture, later)),
                      comparison={"fade_percent": 10.0, "warnings": warnings})
    first_page = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "Notes on this comparison:" in first_page
    for warning in warnings:
        assert " ".join(report.pair_notes({"warnings": [warning]})[0].split()) in first_page
    assert first_page.count("The before photo's reference skin is thin") == 1 and "--" not in first_page
    assert not any(word in first_page for word in ("baseline", "follow-up", "redness resolution"))
    # A hidden reference (in the follow-up's warnings) and a pair aligned by hand are said too.
    from skinscan.pipeline import SHARED_OWN_REFERENCE_WARNING

    notes = report.pair_notes({"warnings": [], "followup_warnings": [SHARED_OWN_REFERENCE_WARNING, "other"],
                               "registration": {"method": "landmarks"}})
    assert len(notes) == 2 and notes[0].startswith("Aligned by hand") and "hidden or out of frame" in notes[1]
    assert report.pair_notes({"registration": {"method": "features"}}) == []
    without = " ".join(PdfReader(io.BytesIO(area_report(
        "Client", "tattoo forearm", [row, later], show_fade=True,
        before_after=(("before", picture, row), ("after", picture, later)), comparison={"fade_percent": 10.0},
    ))).pages[0].extract_text().split())
    assert "Notes on this comparison" not in without


def test_page_one_names_the_latest_redness_resolved_when_fade_is_not_defined():
    """A first visit red (Δa* 2.5) but under 2 ΔE00: fade is not defined, redness resolved is; page 1 of a
    refused pair still names the latest visit's number (a review found the sentence gone)."""
    rows = [{"taken": "2026-10-05T10:00", "aligned": True},
            {"taken": "2026-10-06T10:00", "aligned": True, "fade_percent": None, "redness_resolution_percent": 60.0}]
    text = " ".join(paragraph.text for paragraph in report._pair_refused(rows, "too few skin features", True, True))
    assert "is 2026-10-06 10:00: redness resolved 60 %" in text


def test_the_pdf_lists_each_visits_treatment_as_written():
    """The procedure, wavelength, fluence and notes were in the ZIP only (walk)."""
    row = {"taken": "2026-10-05T10:00", "days": 0.0, "delta_l": -5.0, "delta_a": 3.0, "delta_b": 1.0,
           "delta_e00": 8.0, "pigmentation": "hyper", "quality": "good", "ita_deg": 40.0, "ita_category": "light"}
    rows = [{**row, "treatment": "Procedure: Q-switch <b>laser</b>; Laser wavelength (nm): 1064"},
            {**row, "taken": "2026-11-05T10:00", "days": 31.0, "treatment": ""}]
    text = " ".join(_pdf_text(area_report("Client", "forearm", rows)).split())
    assert "Treatments: 2026-10-05 10:00 — Procedure: Q-switch <b>laser</b>; Laser wavelength (nm): 1064" in text
    assert "2026-11-05 10:00 —" not in text  # a visit without details is not listed
    assert "Treatments" not in " ".join(_pdf_text(area_report("Client", "forearm", [row])).split())


@pytest.fixture
def refused_alignment(monkeypatch):
    """Every automatic alignment refused as the matcher refuses a photo of other skin (a brow photo saved on
    the tattoo area is refused by the real matcher too; this keeps each test within ~2 s)."""
    refused = register.Registration(False, "features", None, 3, float("nan"), "the photos share too few skin features")
    monkeypatch.setattr(register, "match", lambda *a, **k: refused)


def _brow_photo_on_the_tattoo(data_folder, demo, taken):
    """The demo's second brow photo saved as a visit of the tattoo area, as the New visit page saves a
    photo whose alignment with the first visit was refused (its analysis and the refusal). Returns the
    tattoo area's id."""
    area_id = demo["areas"][TATTOO]["id"]
    refused = register.Registration(False, "features", None, 3, float("nan"), "the photos share too few skin features")
    with Store(data_folder) as store:
        brow = store.visits(demo["areas"][BROW]["id"])[1]["photos"][0]
        first_file = store.visits(area_id)[0]["photos"][0]["file"]
        store.save_visit(area_id, taken, [{
            "data": store.photo_path(brow["file"]).read_bytes(),
            "measurements": _analysis_and_failure(brow, register.alignment_advice(refused), first_file, refused),
        }])
    return area_id


def _no_cli_wording(at):
    for text in [w.value for w in at.warning] + [c.value for c in at.caption]:
        assert "landmarks)" not in text and "confidence" not in text and "retake" not in text, text


def test_a_visit_saved_as_the_new_first_one_never_mixes_baselines(demo, data_folder, refused_alignment):
    """Issue 9: a brow photo saved on the tattoo area dated before its first visit becomes visit 1; the
    tattoo visits' comparisons were made against the old first visit and must not be shown against it."""
    area_id = _brow_photo_on_the_tattoo(data_folder, demo, "2025-06-20T09:00:00")
    at = _timeline(area_id)
    assert list(at.dataframe[0].value["fade %"]) == ["–"] + [NOT_COMPARED] * 4
    assert any("Visit 1 (2025-06-20 09:00) is the first visit" in w.value for w in at.warning)
    # The pair (brow -> last tattoo visit) is compared now, refused, and shows no numbers at all.
    shown = ("fade %", "ΔE00 before → after", "Δa* change", "Δa* before → after")
    assert not [m for m in at.metric if m.label in shown]
    assert any(w.value.startswith("No before → after change\\. Could not match these two photos") for w in at.warning)
    _no_cli_wording(at)


def test_a_visit_that_cannot_be_aligned_is_not_shown_as_progress(demo, data_folder, refused_alignment):
    """Issue 9: the brow photo saved on the tattoo area as its latest visit: the table, the chart and the
    PDF's page 1 say it could not be aligned, and present no before -> after change for it."""
    area_id = _brow_photo_on_the_tattoo(data_folder, demo, "2026-11-26T10:00:00")
    at = _timeline(area_id)
    fades = list(at.dataframe[0].value["fade %"])
    assert fades[0] == "–" and all(re.fullmatch(r"-?\d+", f) for f in fades[1:4]) and fades[4] == NOT_ALIGNED
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert all(len(t["x"]) == 4 for t in traces if t["mode"] == "lines+markers")  # the brow is left out of the lines
    # The ink is less red than the skin (Δa* < 0 at the first visit): its Δa* line is not called redness.
    assert report.RED_GREEN_LINE in [t["name"] for t in traces] and report.REDNESS_LINE not in [t["name"] for t in traces]
    apart = [t for t in traces if t["mode"] == "markers"]
    assert len(apart) == 1 and len(apart[0]["x"]) == 1 and "not aligned" in apart[0]["name"]
    assert any("left out of the lines: 2026-11-26 10:00" in c.value for c in at.caption)
    # The note under the table says why, per visit, as it does for visits not compared.
    note = next(c.value for c in at.caption if c.value.startswith(NOT_ALIGNED))
    assert "(2026-11-26 10:00: the photos share too few skin features)" in note.replace("\\", "")
    _no_cli_wording(at)
    at.button(key="prepare_pdf").click().run()
    pdf = next(v for k, v in at.session_state["prepared"].items() if k[0] == "pdf")
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    first_page = " ".join(pages[0].split())
    assert "could not be aligned on the skin around the area (the photos share too few skin features), so" in first_page
    assert "ΔE00 before →" not in first_page and "Δa* before →" not in first_page and "fade %" not in first_page
    fade = at.dataframe[0].value["fade %"].iloc[3]
    assert f"aligned with the first visit (2026-02-03 11:00) is 2026-08-03 11:00: fade {fade} %" in first_page
    rest = " ".join(" ".join(pages[1:]).split())
    assert "blend" in rest and "verdict" not in rest and "2026-11-26 10:00" in rest and NOT_ALIGNED in rest
    assert "left out of the lines: 2026-11-26 10:00 (not aligned)" in rest


def test_the_csv_says_which_comparisons_failed_and_why(demo, data_folder):
    """A failed comparison has no numbers: its CSV row says it was not aligned or not compared, and why,
    instead of a row of empty cells."""
    import zipfile

    area_id = demo["areas"][TATTOO]["id"]
    outside = "the treated area falls (partly) outside the follow-up photo"
    refused = register.Registration(False, "features", None, 3, float("nan"), "the photos share too few skin features")
    with Store(data_folder) as store:
        _failed_comparison(store, area_id, -1, outside)
        _failed_comparison(store, area_id, -2, register.alignment_advice(refused), refused)
        archive = zipfile.ZipFile(io.BytesIO(store.export_client(demo["client"]["id"])))
    rows = [r for r in csv.DictReader(io.StringIO(archive.read("measurements.csv").decode()))
            if r["kind"] == "comparison" and r["area"] == demo["areas"][TATTOO]["name"]]
    assert [r["comparison_status"] for r in rows] == ["aligned", NOT_ALIGNED, NOT_COMPARED]
    assert rows[2]["comparison_error"] == outside and rows[2]["fade_percent"] == ""
    assert "too few skin features" in rows[1]["comparison_error"] and rows[0]["comparison_error"] == ""
    assert "--landmarks" not in rows[1]["comparison_error"]  # the CLI's advice is not the practitioner's
    assert rows[0]["fade_percent"] != ""
    # An aligned comparison gives the follow-up's contrast as compared, and with which photo.
    with Store(data_folder) as store:
        visits = store.visits(area_id)
    compared = next(m["result"] for m in visits[1]["photos"][0]["measurements"] if m["kind"] == "comparison")
    assert float(rows[0]["delta_e00"]) == compared["followup_contrast"]["delta_e00"]
    first_file = visits[0]["photos"][0]["file"]
    # The demo's comparisons were saved without naming their baseline (the timeline infers it from the
    # order things were saved in): the cell stays empty rather than guessing.
    assert [r["compared_with_file"] for r in rows] == ["", first_file, first_file]


def test_a_visit_not_compared_is_not_called_unaligned(demo, data_folder, monkeypatch):
    """A photo saved after the first visit with no comparison (none was tried) and one whose comparison
    failed for another reason than the alignment were both called "not aligned (other skin?)"; they were
    not compared. The pair compared now, failing so, says why instead of asking for matching points."""
    area_id = demo["areas"][TATTOO]["id"]
    outside = "the treated area falls (partly) outside the follow-up photo"
    with Store(data_folder) as store:
        second = store.visits(area_id)[1]["photos"][0]
        store.update_photo(second["id"], measurements=[{"kind": m["kind"], "result": m["result"]}
                                                       for m in second["measurements"] if m["kind"] == "analysis"])
        _failed_comparison(store, area_id, -1, outside)
    far = register.Registration(True, "features", np.array([[1.0, 0, 1e5], [0, 1, 1e5], [0, 0, 1]]), 40, 0.5,
                                confidence=0.9)
    monkeypatch.setattr(register, "match", lambda *a, **k: far)  # verified, but the area lands off the photo
    at = _timeline(area_id)
    fades = list(at.dataframe[0].value["fade %"])
    assert fades[1] == fades[3] == NOT_COMPARED and re.fullmatch(r"\d+", fades[2])
    notes = " ".join(re.sub(r"\\(.)", r"\1", c.value) for c in at.caption)
    assert report.NONE_SAVED in notes and outside in notes and "other skin" not in notes
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert [t["name"] for t in traces if t["mode"] == "markers"] == ["ΔE00 of visits not compared with visit 1"]
    refusals = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning if w.value.startswith("No before")]
    assert refusals == [f"No before → after change. Could not compare these two photos: {outside}."]
    assert "landmarks_typed" not in [t.key for t in at.text_input]
    assert at.toggle(key="landmarks_wanted").value is False  # offered, not forced: the alignment was verified
    _no_cli_wording(at)


def _row(taken, days, delta_a, status=None):
    """A table row as :func:`area_report` takes it; ``status`` NOT_ALIGNED / NOT_COMPARED leaves it apart."""
    row = {"taken": taken, "days": days, "delta_l": -4.0, "delta_a": delta_a, "delta_b": 1.0, "delta_e00": 6.0,
           "pigmentation": "hyper", "quality": "good", "ita_deg": 40.0, "ita_category": "light",
           "fade_percent": None if status else 10.0, "redness_resolution_percent": None, "aligned": status is None}
    return {**row, "status": status} if status else row


def test_late_redness_counts_only_visits_aligned_with_the_first():
    """A visit of other skin (not aligned / not compared) 5 days on with Δa* 8 raises no referral alert."""
    first, healed = _row("2026-10-05T10:00", 0.0, 6.0), _row("2026-10-08T10:00", 3.0, 1.0)
    for status in (NOT_ALIGNED, NOT_COMPARED):
        assert report.late_redness([first, healed, _row("2026-10-10T10:00", 5.0, 8.0, status)]) is None
    still_red = _row("2026-10-10T10:00", 5.0, 8.0)
    assert report.late_redness([first, healed, still_red]) is still_red
    assert report.late_redness_alert(still_red) == ("Redness persists beyond 48 hours (Δa* +8.0 on day 5): "
                                                    "unless it is red ink or pigment in the area, consider "
                                                    "referring the client.")
    # Within three days it is told in hours, as the 48-hour window is (2.4 days would read "day 2").
    assert report.late_redness_alert(_row("2026-10-07T19:36", 2.4, 8.0)) == (
        "Redness persists beyond 48 hours (Δa* +8.0, 58 h after the first visit): unless it is red ink or pigment "
        "in the area, consider referring the client.")


@pytest.fixture(scope="module")
def refused_pair_pdf():
    """A report whose before/after pair was refused for a reason other than alignment, its second visit not
    compared with the first, built with reportlab's ASCII85 setting on as a caller may have left it."""
    from reportlab import rl_config

    rows = [_row("2026-10-05T10:00", 0.0, 3.0), _row("2026-10-08T10:00", 3.0, 1.0, NOT_COMPARED),
            _row("2026-11-05T10:00", 31.0, 1.0)]
    picture = np.full((40, 60, 3), 128, np.uint8)
    before_after = (("before", picture, rows[0]), ("after", picture, rows[2]))
    saved, rl_config.useA85 = rl_config.useA85, 1
    try:
        pdf = area_report("client", "brow", rows, before_after=before_after, practice_name="",
                          pair_refusal="the treated area falls (partly) outside the follow-up photo")
        return pdf, rl_config.useA85
    finally:
        rl_config.useA85 = saved


def test_a_pair_refused_for_another_reason_is_not_called_unaligned(refused_pair_pdf):
    pdf, _ = refused_pair_pdf
    first_page = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "These two photos could not be compared (the treated area falls (partly) outside the follow-up photo)" \
        in first_page and "aligned on the skin" not in first_page


def test_the_pdf_streams_are_binary_without_changing_reportlabs_setting(refused_pair_pdf):
    pdf, setting_after = refused_pair_pdf
    assert b"ASCII85" not in pdf and setting_after == 1


def test_visits_not_compared_are_labelled_neutrally(refused_pair_pdf):
    apart = [_row("2026-10-08T10:00", 3.0, 1.0, NOT_COMPARED)]
    assert report.apart_legend(apart) == "ΔE00 of visits not compared with visit 1"
    assert report.trend_caption(apart) == ("✕ Visits not compared with the first visit, left out of the lines: "
                                           "2026-10-08 10:00 (not compared). Only their own ΔE00 is marked.")
    text = " ".join(_pdf_text(refused_pair_pdf[0]).split())
    assert "Visits not compared with the first visit, left out of the lines: 2026-10-08 10:00" in text
    assert "other skin" not in text.split("Definitions")[0]
    assert "not compared:" in text.split("Definitions")[-1] and "not aligned:" not in text.split("Definitions")[-1]
    both = apart + [_row("2026-10-09T10:00", 4.0, 1.0, NOT_ALIGNED)]
    assert report.apart_legend(both) == "ΔE00 of visits not aligned or not compared with visit 1 (other skin?)"
    assert report.unaligned_first_visit_reason(both) == (
        "no later visit is aligned with it: 1 not aligned (could not be matched with it), 1 not compared "
        "(no comparison with it saved)")
    assert report.unaligned_first_visit_reason(apart).startswith("it was saved after the later visits")
    never = [{**apart[0], "status_reason": report.NONE_SAVED}]
    assert report.unaligned_first_visit_reason(never) == "no later visit was compared with it"


def test_visits_without_a_card_are_named_in_the_page_and_the_pdf(demo, data_folder):
    """A photo measured without a colour card has its colours as taken: the PDF must not call it
    colour-corrected, and the timeline and the PDF name it (a walk found a no-card visit shown as if
    corrected once saved)."""
    area_id = demo["areas"][TATTOO]["id"]
    with Store(data_folder) as store:
        last = store.visits(area_id)[-1]
        photo = last["photos"][0]
        measurements = [{"kind": m["kind"], "result": m["result"]} for m in photo["measurements"]]
        for m in measurements:
            if m["kind"] == "analysis":
                m["result"]["card"] = {**m["result"]["card"], "found": False}
        store.update_photo(photo["id"], measurements=measurements)
    at = _timeline(area_id)
    taken = last["taken"][:16].replace("T", " ")
    notes = [re.sub(r"\\(.)", r"\1", c.value) for c in at.caption]
    assert any(n.startswith(f"Measured without a colour card: {taken}.") for n in notes), notes
    captions = [c for image in at.get("image") for c in image.captions]
    after = [c for c in captions if c.startswith("After:")]
    assert len(after) == 1 and "not colour-corrected" in after[0], captions
    at.button(key="prepare_pdf").click().run()
    pdf = next(v for k, v in at.session_state["prepared"].items() if k[0] == "pdf")
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]
    assert "The after photo had no colour card" in pages[0] and "Colour-corrected on the card in each" not in pages[0]
    assert f"Measured without a colour card: {taken}." in " ".join(pages[1:])


OWN_BOX_ONLY = "the area does not stand out from the skin around it: the whole box was measured"


def test_a_visits_saved_warnings_are_shown_with_its_photo(demo, data_folder):
    """What the analysis warned about when the photo was measured (here: its reference skin taken far
    from the area) is still said on the timeline, in the app's words (a walk found it lost once saved)."""
    area_id = demo["areas"][TATTOO]["id"]
    far = ("the reference skin had to be taken far from the area (too little skin right around it): it may be "
           "other skin, lit or toned otherwise; check it on the overlay or choose a patch of untreated skin "
           "(--reference-roi)")
    thin = "the reference skin is thin (120 pixels): check it on the overlay or choose a patch (--reference-roi)"
    with Store(data_folder) as store:
        photo = store.visits(area_id)[-1]["photos"][0]
        measurements = [{"kind": m["kind"], "result": m["result"]} for m in photo["measurements"]]
        for m in measurements:
            if m["kind"] == "analysis":  # its own box: on plain skin, say
                m["result"]["warnings"] = [*m["result"].get("warnings", []), far, OWN_BOX_ONLY]
            else:  # measured over the first visit's area (the row's numbers): thin there, and far again
                m["result"]["followup_warnings"] = [thin, far]
        store.update_photo(photo["id"], measurements=measurements)
    at = _timeline(area_id)
    said = [re.sub(r"\\(.)", r"\1", c.value) for c in at.caption if c.value.startswith("Noted when measured")]
    assert len(said) == 1 and "the reference skin had to be taken far from the area" in said[0]
    assert "--reference-roi" not in said[0]
    assert said[0].count("taken far") == 1 and "the reference skin is thin (120 pixels)" in said[0]
    # The row's numbers are the first visit's area measured on this photo: what its own box's measurement
    # said is not said under it (a walk read "does not stand out" under a visible tattoo), and that area
    # is what its picture outlines.
    assert OWN_BOX_ONLY not in said[0]
    first, *_, last = [c for c in _captions(at) if c.startswith("Photo 1:")]  # the visits' photos, in order
    assert last.startswith("Photo 1: colour-corrected on its card, the first visit's area placed on it outlined")
    assert first == "Photo 1: colour-corrected on its card, area measured outlined"  # the first visit: its own


def test_the_timeline_compares_with_the_first_visits_chosen_patch():
    """The timeline's comparisons take the first visit's chosen patch with its box, or with its outline
    (then the mask is added to the patch, not put in its place)."""
    from app_pages.common import area_inputs as _area_inputs

    saved = {"roi": [10, 20, 30, 40], "reference_roi": [100, 20, 30, 30], "outline": [[[1, 2], [3, 4], [5, 6]]]}
    assert _area_inputs(saved) == ({"roi": (10, 20, 30, 40), "reference_roi": (100, 20, 30, 30)}, saved["outline"])
    outlined = {"roi": None, "reference_roi": [100, 20, 30, 30], "outline": saved["outline"]}
    assert _area_inputs(outlined) == ({"reference_roi": (100, 20, 30, 30)}, saved["outline"])
    assert _area_inputs({"roi": [10, 20, 30, 40]}) == ({"roi": (10, 20, 30, 40)}, None)
    # Measured on a clicked outline (its roi is the outline's bounds): compared over the outline.
    clicked = {**saved, "measured_on_outline": True}
    assert _area_inputs(clicked) == ({"reference_roi": (100, 20, 30, 30)}, saved["outline"])
    # ... unless the outline is too thin to fill (no polygon of 3 points): then its bounds, the box.
    thin = {**clicked, "outline": [[[1, 2], [3, 4]]]}
    assert _area_inputs(thin)[0]["roi"] == (10, 20, 30, 40)
    # The whole box marked as treated: compared over the whole box.
    assert _area_inputs({**saved, "whole_roi": True})[0] == {"roi": (10, 20, 30, 40), "whole_roi": True,
                                                             "reference_roi": (100, 20, 30, 30)}


def test_a_series_within_days_is_told_in_hours(demo):
    """Redness after needling settles within hours to two days: the cheek's three daily photos read 0, 24 and
    48 hours (their capture times in truth.json), in the table and on the chart's axis; percentages and
    degrees are on the chart's right axis, not on the ΔE00 scale."""
    at = _timeline(demo["areas"][0]["id"])
    taken = [datetime.strptime(TRUTH[name]["taken"], "%Y:%m:%d %H:%M:%S")
             for name in ("needling_day0.jpg", "needling_day1.jpg", "needling_day2.jpg")]
    hours = [round((t - taken[0]).total_seconds() / 3600) for t in taken]
    assert list(at.dataframe[0].value["since first visit"]) == [f"{h} h" for h in hours]
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert chart["layout"]["xaxis"]["title"]["text"] == "hours since first visit"
    lines = [t for t in chart["data"] if t["mode"] == "lines+markers"]
    assert all(t["x"] == hours for t in lines)
    on_right = {t["name"] for t in lines if t.get("yaxis") == "y2"}
    assert on_right == {"fade % (right axis)", "hue drift ° (right axis)"}
    low, high = chart["layout"]["yaxis2"]["range"]
    assert low <= 0 and high >= 100  # a fade axis, not a zoom on the values
    # Every point inside the chart, with a margin (a walk saw a single visit's points on its edges).
    x_low, x_high = chart["layout"]["xaxis"]["range"]
    y_low, y_high = chart["layout"]["yaxis"]["range"]
    left = [y for t in lines if t.get("yaxis") != "y2" for y in t["y"]]
    assert x_low < 0 and x_high > max(hours) and y_low < min(0, *left) and y_high > max(left)
    # The before and after are named in the same hours.
    assert [o.split("(")[-1] for o in at.selectbox(key="baseline_choice").options] == [f"{h} h)" for h in hours[:2]]
    # Redness gone by the last photo: its area no longer stands out, said as information, not as an alert.
    assert any("no longer stands out" in i.value for i in at.info)
    assert not any("no longer stands out" in w.value for w in at.warning)


def test_a_brow_that_drifts_in_hue_shows_it(demo):
    """The brow turns from brown to ash: hue drift is shown without being asked for, on the chart, beside
    the pair's numbers and in the report, and it is the rendered truth's (truth.json's treated L*a*b*)."""
    hue = {name: np.degrees(np.arctan2(TRUTH[name]["treated_lab"][2], TRUTH[name]["treated_lab"][1]))
           for name in ("brow_year0.jpg", "brow_year2.jpg")}
    true_drift = (hue["brow_year2.jpg"] - hue["brow_year0.jpg"] + 180) % 360 - 180  # about −79°
    at = _timeline(demo["areas"][BROW]["id"])
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    hue_line, = [t for t in chart["data"] if t["name"] == "hue drift ° (right axis)"]
    assert hue_line.get("visible", True) is True
    drift = int(next(m for m in at.metric if m.label == "hue drift °").value)  # visit 1 -> 3, the default pair
    assert drift == pytest.approx(true_drift, abs=8)
    at.button(key="prepare_pdf").click().run()
    pdf = next(value for key, value in at.session_state["prepared"].items() if key[0] == "pdf")
    table, definitions = " ".join(_pdf_text(pdf).split()).split("Definitions")
    assert "hue drift °:" in definitions and "drift °" in table and f" {drift:+d} " in table


def test_the_reports_table_fits_the_page(monkeypatch):
    """Every column (the hue drift column too, a visit not compared in the fade column) within A4's frame."""
    from reportlab.lib.pagesizes import A4

    grids = []
    original = report._grid
    monkeypatch.setattr(report, "_grid", lambda cells, header=True: grids.append(original(cells, header)) or grids[-1])
    rows = [_row("2026-10-05T10:00", 0.0, -3.0), _row("2027-10-05T10:00", 365.0, -1.0, NOT_COMPARED),
            _row("2028-10-05T10:00", 731.0, -1.0)]  # a pigment (less red than its skin) drifting in hue
    for row, hue in zip(rows, (None, -7.0, -78.0)):
        row.update(hue_shift_deg=hue, area_change_percent=None if hue is None else 1.0)
    area_report("client", "brow", rows, practice_name="")
    frame = A4[0] - 2 * 72  # SimpleDocTemplate's default margins
    assert len(grids[-1]._cellvalues[0]) == 12 and all(grid.wrap(frame, A4[1])[0] <= frame for grid in grids)


def test_redness_resolved_is_shown_at_most_100_in_the_report(monkeypatch):
    """Δa* +6.0 -> −1.6 computes 127 % (a walk read "redness resolved 128 %" in a client's PDF): all of the
    redness is gone, shown as 100; a rise of redness stays negative."""
    grids = []
    original = report._grid
    monkeypatch.setattr(report, "_grid", lambda cells, header=True: grids.append(original(cells, header)) or grids[-1])
    rows = [_row("2026-10-05T10:00", 0.0, 6.0), _row("2026-10-06T10:00", 1.0, -1.6), _row("2026-10-07T10:00", 2.0, 7.5)]
    rows[1]["redness_resolution_percent"], rows[2]["redness_resolution_percent"] = 126.7, -25.0
    area_report("client", "cheek", rows, practice_name="")
    table = next(grid._cellvalues for grid in grids if grid._cellvalues[0][0] == "date")
    column = table[0].index("redness\nresolved %")
    assert [cells[column] for cells in table[1:]] == ["–", "100", "-25"]


def _synthetic_visit(visit_id, taken, file, card_found, comparison=None):
    """A visit as the store returns it: one photo, its analysis (and comparison) records."""
    analysis = {"contrast": {"delta_l": -10.0, "delta_a": -3.0, "delta_b": -4.0, "delta_e00": 12.0,
                             "pigmentation": "hyper"},
                "uncertainty": {"delta_a": 0.2}, "quality": {"verdict": "good" if card_found else "retake"},
                "reference": {"ita_deg": 40.0}, "card": {"found": card_found}}
    measurements = [{"kind": "analysis", "result": analysis}]
    if comparison is not None:
        measurements.append({"kind": "comparison", "result": comparison})
    return {"id": visit_id, "taken": taken, "photos": [{"id": visit_id, "file": file, "measurements": measurements}]}


def test_a_saved_spread_or_hue_drift_without_cards_is_not_shown():
    """Records saved before 2026-11-27 kept a spread and a hue drift measured without a card in both photos
    (−79 % to +374 % and up to 22° on unchanged tattoos): the timeline's rows leave them out, as a comparison
    now does; with cards they stay."""
    from app_pages.timeline import visit_rows

    comparison = {"baseline_file": "first.jpg", "registration": {"ok": True, "confidence": 0.9, "message": ""},
                  "fade_percent": 3.0, "redness_resolution_percent": None, "area_change_percent": 120.0,
                  "hue_shift_deg": 22.0}
    for card_found, shown in ((False, None), (True, 120.0)):
        rows = visit_rows([_synthetic_visit(1, "2026-10-01T10:00:00", "first.jpg", card_found),
                           _synthetic_visit(2, "2026-11-01T10:00:00", "later.jpg", card_found, comparison)])
        assert rows[1]["status"] != NOT_COMPARED and rows[1]["fade_percent"] == 3.0
        assert rows[1]["area_change_percent"] == shown
        assert rows[1]["hue_shift_deg"] == (22.0 if card_found else None)


def test_a_visit_moved_before_the_first_is_said_to_be_the_first_now(demo, data_folder):
    """A walk moved visit 3 before visit 1 and read "Visit 3 changed.": the message now says where it stands."""
    area_id = demo["areas"][0]["id"]
    with Store(data_folder) as store:
        visits = store.visits(area_id)
    last = visits[-1]["id"]
    at = _timeline(area_id)
    first_day = datetime.fromisoformat(visits[0]["taken"]).date()
    [d for d in at.date_input if d.label == "Date"][-1].set_value(first_day.replace(year=first_day.year - 1))
    [b for b in at.button if b.label == "Save changes"][-1].click().run()
    assert not at.exception
    assert any(s.value == f"Visit {len(visits)} changed: it is now visit 1, the first, which the others are compared "
                          "with." for s in at.success), [s.value for s in at.success]
    with Store(data_folder) as store:
        assert store.visits(area_id)[0]["id"] == last
