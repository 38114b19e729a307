"""What the app's pages share: the record, session caches, the safety gate, showing numbers and names."""

import hashlib
import os
import re
import signal
import sys

import numpy as np
import streamlit as st

from skinscan import calibrate
from skinscan import segment
from skinscan.color import ita_text
from skinscan.card import to_uint8
from skinscan.errors import InputError, for_reader, without_cli_flags  # noqa: F401 - the pages import them from here
from skinscan.demo import seed_demo
from skinscan.store import Store, default_data_folder

from app_pages.gate import PASSWORD_VARIABLE, SignInGuard, is_network_address, refusal

CHART_NAMES = {"classic24": "ColorChecker Classic", "mini24": "Classic Mini", "passport24": "Passport"}
DARK_SKIN_ITA = 10.0  # below: tan/brown/dark categories where needling risks post-inflammatory pigment change
#: After a skin-tone category read without a colour card: exposure and white balance move ITA° by tens of
#: degrees (one client's forearm read −26°, −24°, 8° and 36° in four card-less photos, real 10_1 to 10_4).
UNCALIBRATED_TONE = ", no colour card: indicative only"


# --- showing what people typed -----------------------------------------------------------------------

_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\\[-`{-~])")  # every ASCII punctuation character
_WORD_JOINER = "\u2060"  # invisible; breaks GFM's bare-URL and e-mail autolinks
_AUTOLINK_START = re.compile(r"(?i)(://|www\.|@)")


def plain(text):
    """Text to put into Markdown (``st.markdown``, messages, expander and button labels) so that it shows
    exactly as typed: every ASCII punctuation character backslash-escaped (CommonMark lets any of them
    be escaped), line breaks as spaces, and an invisible word joiner (U+2060) after the first character
    of ``://``, ``www.`` and ``@`` so GitHub-flavoured Markdown does not turn an address into a link. A client called
    ``![x](http://host/p.png)`` then shows those characters instead of making the browser fetch an
    image; ``*``, ``_``, ``:red[...]``, ``$...$`` and ``<b>`` stay literal too.

    Not for widgets that show options as plain text (``st.selectbox`` options): pass the raw name there.
    """
    flat = " ".join(str(text).split())
    unlinked = _AUTOLINK_START.sub(lambda found: found.group(1)[0] + _WORD_JOINER + found.group(1)[1:], flat)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", unlinked)


def client_label(client):
    """A client as the selectors show them: the name with the record number and the day they were
    added, so two clients with the same name can be told apart (plain text; wrap in :func:`plain` for
    Markdown)."""
    return f"{client['name']} (#{client['id']}, added {str(client.get('created', ''))[:10]})"


# --- the record --------------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Preparing the record…")
def _prepare_record(folder):
    """Once per app process: clean what interrupted saves left, and put in the demo client if empty
    (from the measurements shipped with the sample photos, so the first start is quick)."""
    with Store(folder) as store:
        seed_demo(store)
    return True


def open_store():
    """A connection to the record for this script run (SQLite connections stay in their thread).

    A data folder that cannot be used (a file, no permission, a damaged or newer record) is said in
    one line on the page, which then stops; nothing in the folder is touched.
    """
    folder = str(default_data_folder())
    try:
        _prepare_record(folder)
        return Store(folder, remove_orphans=False)
    except InputError as problem:
        st.error(f"The record cannot be opened: {problem}")
        st.stop()


# --- safety ------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _sign_in_guard():
    """One guard per server process: failed attempts count across sessions (a reload does not reset)."""
    return SignInGuard()


def _stop_server(reason):
    """Refuse to serve: say why on the server's console and stop the Streamlit server.

    The server stops as on Ctrl-C (SIGTERM to this process, which ``streamlit run`` handles by shutting
    down); under AppTest (no real server) nothing is stopped.
    """
    from streamlit import runtime
    from streamlit.runtime import Runtime

    print(f"skinscan: {reason}", file=sys.stderr, flush=True)
    if runtime.exists() and type(runtime.get_instance()) is Runtime:  # AppTest: a MagicMock(spec=Runtime)
        os.kill(os.getpid(), signal.SIGTERM)


def require_password_when_networked():
    """On a network address, ask for SKINSCAN_PASSWORD; without one set, stop the server.

    Failed attempts are limited per client address (:class:`app_pages.gate.SignInGuard`); the
    comparison takes constant time.
    """
    address = st.get_option("server.address")
    if not is_network_address(address):
        return
    reason = refusal(address, os.environ)
    if reason:
        st.error(f"skinscan is stopping — {reason}.")
        _stop_server(reason)
        st.stop()
    if st.session_state.get("signed_in"):
        return
    guard = _sign_in_guard()
    address = st.context.ip_address
    who = address if isinstance(address, str) else "unknown"  # the browser's address (None when unknown)
    wait = guard.wait_s(who)
    if wait > 0:
        st.error(f"Too many wrong passwords: try again in {wait:.0f} s.")
        st.stop()
    given = st.text_input("Password", type="password", key="password")
    if given:
        outcome = guard.check(who, given, os.environ[PASSWORD_VARIABLE])
        if outcome == "ok":
            st.session_state.signed_in = True
            del st.session_state["password"]
            st.rerun()
        elif outcome == "locked":
            st.error(f"Too many wrong passwords: try again in {guard.wait_s(who):.0f} s.")
        else:
            st.error("Wrong password.")
    st.stop()


# --- helpers -----------------------------------------------------------------------------------------


def photo_key(data):
    return hashlib.sha256(data).hexdigest()


def session_calibration(data, chart, corners=None):
    """Calibrate a photo once per session (never shared across sessions: client photos)."""
    cache = st.session_state.setdefault("calibrations", {})
    key = (photo_key(data), chart, None if corners is None else tuple(np.round(corners, 1).ravel()))
    if key not in cache:
        cache[key] = calibrate(data, corners=corners, chart=chart)
    return cache[key]


def draw_box(rgb_uint8, box, colour=(255, 220, 0)):
    import cv2

    canvas = rgb_uint8.copy()
    x, y, w, h = (int(v) for v in box)
    cv2.rectangle(canvas, (x, y), (x + w, y + h), colour, max(1, canvas.shape[1] // 400))
    return canvas


def verdict_badge(quality):
    icon = {"good": "✅", "usable": "⚠️", "retake": "⛔"}[quality.verdict]
    reasons = "; ".join(quality.reasons)
    return f"{icon} Capture quality: **{quality.verdict}**" + (f" — {reasons}" if reasons else "")


def show_definitions():
    """The definitions of the numbers, shown as written (``Δb*``, ``L*a*b*`` are not Markdown)."""
    from skinscan.report import DEFINITIONS  # here: the report module loads matplotlib (~1 s at start)

    with st.expander("What the numbers mean"):
        for name, text in DEFINITIONS:
            st.markdown(f"**{plain(name)}** — {plain(text)}")


def forget_built():
    """Drop what the timeline built from the record (pictures, prepared PDF/ZIP, compared pairs): after an
    edit, a rename or an erasure (a new record may take an erased one's id)."""
    for key in ("timeline_pictures", "prepared", "pairs"):
        st.session_state.pop(key, None)


def show_comparison_notes(warnings):
    """A comparison's warnings as the app shows them: "no redness at baseline" not at all (the redness
    resolved metric's help says it), "no longer stands out" (redness gone, ink faded: often the result
    hoped for) and "spread not measured without cards" (the no-card warning says why) as information,
    the others as warnings.

    Parameters
    ----------
    warnings : iterable of str
        As the pipeline words them (:attr:`skinscan.pipeline.Comparison.warnings`).
    """
    from skinscan.pipeline import NO_BASELINE_REDNESS_WARNING, NO_LONGER_STANDS_OUT_WARNING, SPREAD_WITHOUT_CARDS_WARNING

    for warning in warnings:
        if warning in (NO_LONGER_STANDS_OUT_WARNING, SPREAD_WITHOUT_CARDS_WARNING):
            st.info(plain(for_reader(warning)))
        elif not warning.startswith(NO_BASELINE_REDNESS_WARNING.split(" (")[0]):  # also as older records word it
            st.warning(plain(for_reader(warning)))


def show_numbers(analysis, said_elsewhere=()):
    """A measured photo's numbers, their caption and its warnings (but those in ``said_elsewhere``, which the
    page says in its own words), then the definitions."""
    contrast, treated, reference = analysis.contrast, analysis.treated, analysis.reference
    u = analysis.uncertainty
    columns = st.columns(5)
    # matplotlib and reportlab: loaded once a photo is measured
    from skinscan.report import DEFINITIONS, delta_a_name, shown_number

    # A walk read a bare "± 0.5" as the tooltip of each number, and "redness: not red" as Blend's.
    columns[0].metric(delta_a_name(contrast.delta_a), shown_number(contrast.delta_a),
                      help=f"area minus surrounding skin; uncertainty ± {u['delta_a']:.1f}")
    columns[1].metric("ΔL* (lightness)", shown_number(contrast.delta_l),
                      help=f"area minus surrounding skin (above 0: lighter); uncertainty ± {u['delta_l']:.1f}")
    columns[2].metric("ΔE00 (contrast)", f"{contrast.delta_e00:.1f}",
                      help=f"colour difference from the surrounding skin; uncertainty ± {u['delta_e00']:.1f}")
    columns[3].metric("Blend", contrast.pigmentation,
                      help=f"{dict(DEFINITIONS)['blend']}. Redness: {contrast.redness}")
    # The unit in the label: "3036 mm²" was cut to "3036 m…" in a fifth of the page.
    # The card's size sets the scale: a Mini is about half a Classic across, so a wrong choice of card
    # quarters or quadruples the area. Said with the number.
    columns[4].metric("Area (mm²)", shown_number(treated.area_mm2, "{:.0f}"),
                      help=(f"at the scale of the card chosen, a {CHART_NAMES.get(analysis.calibration.reading.chart)}: "
                            "choose the card in the photo for a true area")
                      if treated.area_mm2 is not None else "not given: no colour card to scale it")
    st.caption(
        f"Redness: {contrast.redness} (ΔITA {shown_number(contrast.delta_ita_deg, '{:+.0f}')}°, Δ erythema index "
        f"{shown_number(contrast.delta_erythema_index)}). "
        f"Surrounding skin: ITA {ita_text(reference.ita_deg)} ({reference.ita_category}"
        f"{'' if analysis.calibration.found else UNCALIBRATED_TONE}); "
        f"erythema index {treated.erythema_index:.1f} in the area vs {reference.erythema_index:.1f} around it."
    )
    if reference.ita_deg < DARK_SKIN_ITA:
        st.info(
            ("Darker skin (ITA below 10°): " if analysis.calibration.found else
             "The skin reads darker here (ITA below 10°), but without a colour card the camera's exposure and white "
             "balance set that reading: judge the skin tone yourself. On darker skin, ")
            + ("needling and laser carry a higher risk of post-inflammatory hyper- or hypopigmentation. Consider a "
               "test patch and document the baseline carefully.")
        )
    for warning in analysis.warnings:
        if warning not in said_elsewhere:
            st.warning(plain(for_reader(warning)))
    show_definitions()


def area_choice(store, key):
    """Select a client and one of their areas; returns (client, area) dicts or (None, None).

    Clients are listed with their record number and the day they were added (:func:`client_label`):
    two clients with the same name look different. The choice is kept for the session and in the page's
    address, so that a reload opens the same client and area (:func:`_remembered`).
    """
    clients = store.clients()
    if not clients:
        st.info("No clients yet: add one on the Clients page.")
        return None, None
    by_id = {c["id"]: c for c in clients}
    ids = list(by_id)
    remembered = _remembered("client_id", by_id)
    client_id = st.selectbox("Client", ids, index=ids.index(remembered) if remembered is not None else 0,
                             format_func=lambda i: client_label(by_id[i]), key=f"{key}_client")
    _remember("client_id", client_id)
    areas = store.areas(client_id)
    if not areas:
        st.info("This client has no treated area yet: add one on the Clients page.")
        st.query_params.pop("area_id", None)
        return by_id[client_id], None
    area_by_id = {a["id"]: a for a in areas}
    area_ids = list(area_by_id)
    remembered = _remembered("area_id", area_by_id)
    area_id = st.selectbox("Treated area", area_ids, index=area_ids.index(remembered) if remembered is not None else 0,
                           format_func=lambda i: area_by_id[i]["name"], key=f"{key}_area")
    _remember("area_id", area_id)
    return by_id[client_id], area_by_id[area_id]


def _remembered(name, valid):
    """The client or area (``name``: "client_id", "area_id") chosen last, when still in ``valid``: this
    session's, else the one in the page's address. A reload starts a new session: a walk saw the pages
    fall back to the first client's first area without a word, where the next photo could be saved."""
    if st.session_state.get(name) in valid:
        return st.session_state[name]
    try:
        value = int(st.query_params.get(name, ""))
    except ValueError:
        return None
    return value if value in valid else None


def _remember(name, value):
    """Keep the chosen client or area for this session and in the page's address (:func:`_remembered`)."""
    st.session_state[name] = value
    if st.query_params.get(name) != str(value):
        st.query_params[name] = str(value)


# --- shared by pages --------------------------------------------------------------------------

_CLI_ADVICE = re.compile(r"^could not align the follow-up on the skin around the area \((?P<reason>.*); "
                         r"confidence [0-9.]+\): retake it.*$")


def refusal_reason(refusal):
    """Why an alignment (or a measurement) was refused, in the words the app shows practitioners.

    Parameters
    ----------
    refusal : register.Registration, dict, Exception or str
        A refused registration (its ``message``), its stored ``to_dict()`` (``"message"``), the error a
        comparison raised (a :class:`skinscan.register.AlignmentError` gives its registration's
        message) or a message.

    Returns
    -------
    str
        The reason alone: without the CLI's alignment advice (the raw confidence, "retake it", and
        ``--landmarks``: the app says what to do in its own words) and without a parenthesised flag such as
        "(--roi)"; a flag that is part of a sentence ("--corners takes eight numbers…") stays, as the
        rest of the text does; plain text, no final full stop.
    """
    registration = getattr(refusal, "registration", None)
    if registration is not None and getattr(registration, "message", ""):
        refusal = registration
    if isinstance(refusal, dict):
        refusal = refusal.get("message") or ""
    elif not isinstance(refusal, (str, Exception)):
        refusal = getattr(refusal, "message", "") or ""
    text = " ".join(str(refusal).split())
    advice = _CLI_ADVICE.match(text)
    if advice:
        text = advice.group("reason")
    return without_cli_flags(text).rstrip(".") or "the alignment was not verified"


#: What to do when the previous visit's area could not be placed: a photo of other skin (another area,
#: another client) is as likely as one framed otherwise (a walk saved another tattoo's photo in an area).
DRAW_IT_YOURSELF = ("Draw the box yourself; if this photo shows another area or another client, save it "
                    "there instead.")
#: What to do when a photo could not be compared with the first visit: matching points, once it is saved.
GIVE_LANDMARKS = ("Once it is saved, the Timeline can compare it from matching points you click on the two "
                  "photos (choose it as After there).")


def alignment_refusal(refusal, could_not="place the previous visit's area on this photo", then=DRAW_IT_YOURSELF):
    """One plain sentence for a refused alignment: what could not be done, why, and what to do.

    ``"Could not {could_not}: {reason}. {then}"`` with the reason from :func:`refusal_reason`; plain
    text (wrap in :func:`plain` for Markdown). The visit page shows one such message per failure; the
    timeline can say a visit was not aligned in the same words.
    """
    return f"Could not {could_not}: {refusal_reason(refusal)}. {then}".strip()


def visits_named(numbers):
    """Visit numbers in words, in order: "visit 5", "visits 5 and 6", "visits 5, 6 and 7"."""
    names = [str(n) for n in sorted(numbers)]
    if len(names) == 1:
        return f"visit {names[0]}"
    return f"visits {', '.join(names[:-1])} and {names[-1]}"


def baseline_photo(visits):
    """The photo new photos are compared with: the first one, in the area's first visits, measured in a
    box (its stored record, with its ``file``), and that box; None when there is none yet."""
    for visit in visits:
        for photo in visit["photos"]:
            for measurement in photo["measurements"]:
                if measurement["kind"] == "analysis" and measurement["result"].get("roi"):
                    return photo, tuple(measurement["result"]["roi"])
    return None


def chosen_reference(analysis_result):
    """The patch of untreated skin a saved analysis was compared with.

    Parameters
    ----------
    analysis_result : dict
        A stored analysis record's ``result`` (:func:`skinscan.demo.measurement_records`).

    Returns
    -------
    tuple (x, y, w, h) or None
        None for the automatic ring (and for records saved before patches were kept); later visits are
        compared against the same patch, mapped onto them.
    """
    chosen = analysis_result.get("reference_roi")
    return tuple(chosen) if chosen else None


def measured_outline(analysis_result):
    """The outline a saved analysis was measured on, when the practitioner clicked the area's exact
    outline rather than drawing a loose box.

    Parameters
    ----------
    analysis_result : dict
        A stored analysis record's ``result`` (:func:`skinscan.demo.measurement_records`).

    Returns
    -------
    list or None
        Its ``outline`` (polygons of [x, y] photo pixels) when it was ``measured_on_outline``; None for an
        area found in a box (records saved before the flag was kept count as boxes). Later visits are
        compared over this outline, not over an area found afresh in its bounds.
    """
    outline = analysis_result.get("outline") or []
    if analysis_result.get("measured_on_outline") and any(len(polygon) >= 3 for polygon in outline):
        return outline
    return None  # a box's area, or an outline too thin to fill (then its bounds, the roi, are used)


def outline_mask(outline, shape):
    """The mask (True inside) of a record's outline polygons on a photo of ``shape``."""
    import cv2

    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.asarray(p, np.int32) for p in outline or [] if len(p) >= 3], 1)
    return mask.astype(bool)


def area_inputs(analysis_result):
    """What a saved analysis was measured with, to measure its area again (``compare``'s keywords).

    Parameters
    ----------
    analysis_result : dict
        A stored analysis record's ``result`` (:func:`skinscan.demo.measurement_records`).

    Returns
    -------
    inputs : dict
        ``roi`` (and ``whole_roi`` when the whole box was marked as treated) when its area was found in
        a box; without ``roi`` when it was measured on a clicked outline (:func:`measured_outline`) or
        has no box, then the caller passes ``outline`` as the ``mask`` (:func:`outline_mask`); and
        ``reference_roi``, the patch of untreated skin it was compared with, when one was chosen.
    outline : list or None
        The record's outline polygons.
    """
    patch = chosen_reference(analysis_result)
    chosen = {} if patch is None else {"reference_roi": patch}
    if analysis_result.get("roi") and measured_outline(analysis_result) is None:
        whole = {"whole_roi": True} if analysis_result.get("whole_roi") else {}
        return {"roi": tuple(analysis_result["roi"]), **whole, **chosen}, analysis_result.get("outline")
    return chosen, analysis_result.get("outline")


def area_keywords(inputs, outline, shape):
    """``compare``'s keywords for a saved area (:func:`area_inputs`): as they are when it has its box, else
    with its outline as the ``mask`` on a photo of ``shape``."""
    return inputs if "roi" in inputs else {**inputs, "mask": outline_mask(outline, shape)}


def baseline_of(store, visits):
    """The area's first visit, to compare new photos with (:func:`baseline_photo`): its photo's bytes,
    its box, and what its area was measured with (:func:`area_inputs`: the box, the whole box or the
    clicked outline, and the chosen reference patch)."""
    found = baseline_photo(visits)
    if found is None:
        return None
    analysis = next(m["result"] for m in found[0]["measurements"] if m["kind"] == "analysis")
    return store.photo_path(found[0]["file"]).read_bytes(), found[1], area_inputs(analysis)


DISPLAY_LONG_SIDE = 1280


#: The first visit's area mapped onto a later photo (where the numbers against the first visit come from).
FIRST_VISIT_AREA_COLOUR = (255, 60, 255)
#: The skin the first visit's area was compared with on a later photo (orange).
FIRST_VISIT_REFERENCE_COLOUR = (255, 150, 0)


def display_overlay(analysis, box, first_visit_area=None, first_visit_reference=None):
    """The colour-corrected photo at display size with the found area, the compared skin and the box.

    Correcting and drawing on a copy at most DISPLAY_LONG_SIDE wide keeps a re-measure quick on a
    12-megapixel photo.

    Parameters
    ----------
    analysis : skinscan.pipeline.Analysis
    box : sequence of 4 numbers
        The box drawn (x, y, w, h, photo pixels), outlined in SHOWN_BOX_COLOUR.
    first_visit_area : numpy.ndarray of bool, optional
        Photo-sized: the first visit's area mapped onto this photo
        (:meth:`skinscan.pipeline.Comparison.followup_mask`), outlined in FIRST_VISIT_AREA_COLOUR.
    first_visit_reference : numpy.ndarray of bool, optional
        Photo-sized: the skin that area was compared with on this photo (the comparison's follow-up
        reference), outlined in FIRST_VISIT_REFERENCE_COLOUR (its warnings say "check it on the overlay":
        a walk found only this photo's own reference drawn).

    Returns
    -------
    numpy.ndarray, uint8 RGB
    """
    import cv2

    calibration = analysis.calibration
    rgb = calibration.photo.rgb
    scale = min(1.0, DISPLAY_LONG_SIDE / max(rgb.shape[:2]))
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    corrected = calibration.fit.correction.apply_to_image(small) if calibration.found else small

    def shrink(mask):
        return cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool) if scale < 1 else mask

    overlay = segment.draw_regions(corrected, shrink(analysis.full_mask("treated")), shrink(analysis.full_mask("reference")))
    for mask, colour in ((first_visit_reference, FIRST_VISIT_REFERENCE_COLOUR),
                         (first_visit_area, FIRST_VISIT_AREA_COLOUR)):
        if mask is None:
            continue
        contours, _ = cv2.findContours(shrink(mask).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(overlay, contours, -1, colour, max(2, overlay.shape[1] // 300), lineType=cv2.LINE_AA)
    return draw_box(overlay, [round(v * scale) for v in box], SHOWN_BOX_COLOUR)


def state_key(photo_hash, name):
    """The Session State key of one photo's input (its box, corners, choices): state belongs to the
    photo (by content), so a new photo never inherits the values typed or drawn for the previous one."""
    return f"{name}@{photo_hash[:16]}"


CANVAS_WIDTH = 640
#: Two canvases side by side (the timeline's matching points): each fits half the page. At 640 px a walk
#: found the right ~28 % of both photos hidden behind a scroll bar in a 1400 px window.
SIDE_BY_SIDE_CANVAS_WIDTH = 400


def _canvas_objects(photo, key, mode, shown_box=None, width=CANVAS_WIDTH):
    """Draw on the photo (streamlit-drawable-canvas); returns (Fabric objects, canvas px per photo px).

    ``shown_box`` (x, y, w, h photo pixels), when given, is outlined on the photo under the drawing
    (part of the background, not a drawn object: the box the page holds, typed or suggested). Empty
    when the canvas is not available (it needs the browser front end; AppTest drives the typed inputs
    instead). ``width``: the canvas's width in screen pixels.
    """
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception:  # noqa: BLE001 - the component cannot register outside a running server
        return [], 1.0
    background, scale = canvas_background(photo, shown_box, width)
    try:
        result = st_canvas(
            fill_color="rgba(255, 220, 0, 0.15)", stroke_width=2, stroke_color="#ffdc00",
            background_image=background, drawing_mode=mode, width=width, height=background.height,
            point_display_radius=4, key=key,
        )
    except Exception:  # noqa: BLE001 - no front end (bare mode): fall back to the typed inputs
        return [], scale
    return (result.json_data or {}).get("objects", []), scale


#: The outline of the box the page holds (typed or suggested) on the drawing canvas's photo.
SHOWN_BOX_COLOUR = (0, 229, 255)


def box_to_outline(typed, suggested, inputs_kept):
    """The box the canvas outlines before this run settles the inputs: the four typed numbers when all
    are there; else the suggestion when the inputs were never set (it is about to fill them); else none
    (inputs emptied by hand stay empty)."""
    if None not in typed:
        return tuple(typed)
    return tuple(suggested) if suggested is not None and not inputs_kept else None


def canvas_background(photo, shown_box=None, width=CANVAS_WIDTH):
    """The photo as the drawing canvas shows it (``width`` wide), ``shown_box`` (x, y, w, h photo
    pixels) outlined in SHOWN_BOX_COLOUR; returns (PIL image, canvas px per photo px)."""
    from PIL import Image

    scale = width / photo.width
    background = Image.fromarray(to_uint8(photo.pixels)).resize((width, max(1, round(photo.height * scale))))
    if shown_box is not None:
        outlined = draw_box(np.asarray(background), [round(float(v) * scale) for v in shown_box], SHOWN_BOX_COLOUR)
        background = Image.fromarray(outlined)
    return background, scale


def drawn_shapes(photo, key, mode, shown_box=None, width=CANVAS_WIDTH):
    """Boxes ("rect") or clicked points ("point") drawn on the photo, in photo pixels: [(x, y, w, h)];
    ``shown_box`` is outlined on the photo, on a canvas ``width`` wide (:func:`_canvas_objects`)."""
    objects, scale = _canvas_objects(photo, key, mode, shown_box, width)
    shapes = []
    for shape in objects:
        left, top = float(shape.get("left", 0)), float(shape.get("top", 0))
        w = float(shape.get("width", 0)) * float(shape.get("scaleX", 1))
        h = float(shape.get("height", 0)) * float(shape.get("scaleY", 1))
        if mode == "point":
            # A point is drawn as a small circle: its centre is the click.
            shapes.append(((left + w / 2) / scale, (top + h / 2) / scale, 0.0, 0.0))
        elif w > 2 and h > 2:
            shapes.append((left / scale, top / scale, w / scale, h / scale))
    return shapes


def drawn_outline_mask(photo, key):
    """The last closed outline (polygon) drawn on the photo as a photo-sized mask, or None."""
    import cv2

    objects, scale = _canvas_objects(photo, key, "polygon")
    polygons = [o["points"] for o in objects if o.get("type", "").lower() == "polygon" and len(o.get("points", [])) >= 3]
    if not polygons:
        return None
    points = np.array([[p["x"], p["y"]] for p in polygons[-1]], float) / scale
    mask = np.zeros((photo.height, photo.width), np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)
