"""Pictures for people: colour-corrected photos at display size with the measured area outlined, a
follow-up warped onto its baseline, and the before/after wipe as self-contained HTML.

Pure functions over numpy arrays (uint8 RGB pictures, float32 sRGB photos in 0..1); nothing here
measures. The wipe is plain HTML and JavaScript with both pictures inlined as data URIs: it moves in the
browser with no server round trip and loads nothing from the network.
"""

import base64
import io

import cv2
import numpy as np
from PIL import Image

#: Outline colour of the measured area (RGB), as in the app's overlays.
OUTLINE_COLOUR = (40, 255, 80)
#: Long side of pictures shown on a page or put in a report, pixels.
DISPLAY_LONG_SIDE = 960
#: Width of the wipe, CSS pixels (the pictures are scaled to it).
WIPE_WIDTH = 720


def display_scale(shape, long_side=DISPLAY_LONG_SIDE):
    """Factor that brings an image of this shape to at most ``long_side`` pixels (never enlarges)."""
    return min(1.0, long_side / max(shape[:2]))


def to_uint8(rgb):
    """float 0..1 RGB -> uint8 RGB, rounded."""
    return np.clip(np.asarray(rgb, np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)


def corrected_picture(rgb, correction=None, long_side=DISPLAY_LONG_SIDE):
    """A photo colour-corrected at display size.

    The photo is first shrunk (area averaging), then corrected: the correction is per pixel, so this
    equals shrinking the corrected photo, at a fraction of the cost on a 12-megapixel frame.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3), float in 0..1
        The photo as stored (sRGB-encoded camera values).
    correction : skinscan.calibrate.ColorCorrection, optional
        The card's correction; None shows the photo as taken.
    long_side : int

    Returns
    -------
    picture : numpy.ndarray, uint8, shape (h, w, 3)
    scale : float
        Picture pixels per photo pixel.
    """
    scale = display_scale(rgb.shape, long_side)
    small = rgb
    if scale < 1:
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        small = cv2.resize(np.asarray(rgb, np.float32), size, interpolation=cv2.INTER_AREA)
    if correction is not None:
        small = correction.apply_to_image(small)
    return to_uint8(small), scale


def draw_outline(picture, outline, scale=1.0, colour=OUTLINE_COLOUR):
    """A copy of a picture with the measured area's outline drawn.

    Parameters
    ----------
    picture : numpy.ndarray, uint8 RGB
    outline : sequence of polygons
        Each ``[[x, y], ...]`` in photo pixels (as the record keeps them).
    scale : float
        Picture pixels per photo pixel.
    """
    drawn = picture.copy()
    polygons = [np.round(np.asarray(points, np.float64) * scale).astype(np.int32)
                for points in (outline or []) if len(points) >= 2]
    if polygons:
        cv2.polylines(drawn, polygons, True, colour, max(2, picture.shape[1] // 300), lineType=cv2.LINE_AA)
    return drawn


def warp_onto_baseline(followup_picture, homography, followup_scale, baseline_scale, baseline_shape):
    """A follow-up picture warped into its baseline picture's frame.

    Parameters
    ----------
    followup_picture : numpy.ndarray
        The follow-up at ``followup_scale`` picture px per photo px.
    homography : numpy.ndarray, shape (3, 3)
        Baseline photo px -> follow-up photo px (``skinscan.register.Registration.homography``).
    followup_scale, baseline_scale : float
    baseline_shape : tuple
        Shape of the baseline picture.

    Returns
    -------
    numpy.ndarray
        Same size as the baseline picture; black where the follow-up has no pixels.
    """
    to_followup = np.diag([followup_scale, followup_scale, 1.0]) @ np.asarray(homography, np.float64) \
        @ np.diag([1 / baseline_scale, 1 / baseline_scale, 1.0])
    size = (baseline_shape[1], baseline_shape[0])
    return cv2.warpPerspective(followup_picture, to_followup, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)


def area_view(outline, shape, scale=1.0, margin=1.0):
    """The part of a picture to open on: the area's bounding box grown by ``margin`` times its size on
    every side, clipped to the picture.

    Parameters
    ----------
    outline : sequence of polygons in photo pixels, or None
    shape : tuple
        The picture's shape.
    scale : float
        Picture pixels per photo pixel.
    margin : float

    Returns
    -------
    (x0, y0, x1, y1) : tuple of int
        The whole picture when there is no outline.
    """
    height, width = shape[:2]
    points = [p for polygon in (outline or []) for p in polygon]
    if not points:
        return 0, 0, width, height
    points = np.asarray(points, np.float64) * scale
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    grow_x, grow_y = max(x1 - x0, 8) * margin, max(y1 - y0, 8) * margin
    return (int(max(0, x0 - grow_x)), int(max(0, y0 - grow_y)),
            int(min(width, np.ceil(x1 + grow_x))), int(min(height, np.ceil(y1 + grow_y))))


def data_uri(picture, quality=88):
    """A uint8 RGB picture as a ``data:image/jpeg;base64,...`` URI."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def wipe_html(before, after, start=0.5, before_label="before", after_label="after", width=WIPE_WIDTH):
    """A before/after wipe: the "before" picture over the "after" one, cut where a slider says.

    Parameters
    ----------
    before, after : numpy.ndarray, uint8 RGB, same shape
        The baseline and the follow-up warped onto it.
    start : float
        Where the cut starts, 0 (all after) .. 1 (all before): put it on the area.
    before_label, after_label : str
        Shown as text (HTML-escaped).
    width : int
        CSS pixels.

    Returns
    -------
    html : str
        Self-contained: both pictures inline, no external script, style or font.
    height : int
        CSS pixels the HTML needs (for ``streamlit.components.v1.html``).
    """
    import html

    if before.shape != after.shape:
        raise ValueError(f"before {before.shape} and after {after.shape} differ in size")
    scale = width / before.shape[1]
    size = (width, max(1, round(before.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    before_small = cv2.resize(before, size, interpolation=interpolation)
    after_small = cv2.resize(after, size, interpolation=interpolation)
    percent = round(100 * min(max(float(start), 0.0), 1.0), 1)
    labels = (html.escape(before_label), html.escape(after_label))
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body{{margin:0;font:13px sans-serif;color:#333}}
#frame{{position:relative;width:{size[0]}px;height:{size[1]}px;cursor:ew-resize;user-select:none;touch-action:none}}
#frame img{{position:absolute;top:0;left:0;width:{size[0]}px;height:{size[1]}px;pointer-events:none}}
#cut{{position:absolute;top:0;bottom:0;width:2px;margin-left:-1px;background:#fff;box-shadow:0 0 3px #000}}
.tag{{position:absolute;top:6px;padding:1px 6px;background:rgba(0,0,0,.55);color:#fff;border-radius:3px}}
#wipe{{width:{size[0]}px;margin:6px 0 0 0}}
</style></head><body>
<div id="frame"><img id="after" alt="after" src="{data_uri(after_small)}">
<img id="before" alt="before" src="{data_uri(before_small)}" style="clip-path:inset(0 {100 - percent}% 0 0)">
<div id="cut" style="left:{percent}%"></div>
<span class="tag" style="left:6px">{labels[0]}</span><span class="tag" style="right:6px">{labels[1]}</span></div>
<input id="wipe" type="range" min="0" max="1000" value="{round(percent * 10)}" aria-label="Before / after wipe">
<script>
const wipe = document.getElementById("wipe"), before = document.getElementById("before"),
      cut = document.getElementById("cut"), frame = document.getElementById("frame");
function show() {{
  const p = wipe.value / 10;
  before.style.clipPath = "inset(0 " + (100 - p) + "% 0 0)";
  cut.style.left = p + "%";
}}
wipe.addEventListener("input", show);
function drag(event) {{
  if (event.buttons !== 1 && event.type !== "pointerdown") return;
  const box = frame.getBoundingClientRect();
  wipe.value = Math.round(1000 * Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1));
  show();
}}
frame.addEventListener("pointerdown", drag);
frame.addEventListener("pointermove", drag);
</script></body></html>"""
    return page, size[1] + 40
