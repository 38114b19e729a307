"""PDF report of a treated area: the visits' photos with the measured area drawn, the numbers with
their definitions, and the trend of redness, contrast and fade (reportlab + matplotlib)."""

import io
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import getSampleStyleSheet  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # noqa: E402

# PDF's standard Helvetica has no Greek: Δ would print as a box. DejaVu Sans ships with matplotlib.
_FONT_FOLDER = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
pdfmetrics.registerFont(TTFont("DejaVuSans", str(_FONT_FOLDER / "DejaVuSans.ttf")))
pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(_FONT_FOLDER / "DejaVuSans-Bold.ttf")))
pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold",
                              italic="DejaVuSans", boldItalic="DejaVuSans-Bold")

DEFINITIONS = (
    ("ΔL*, Δa*, Δb*", "treated area minus the surrounding skin, medians of CIE L*a*b* (D65) of the "
                      "colour-corrected photo; Δa* is the redness measure"),
    ("ΔE00", "CIEDE2000 colour difference between the area and its surrounding skin"),
    ("verdict", "even below 2.0 ΔE00 (skin acceptability threshold), else hypo (lighter) or hyper (darker)"),
    ("fade %", "100 × (1 − ΔE00 now / ΔE00 at the first visit), over the same skin"),
    ("redness resolved %", "100 × (1 − Δa* now / Δa* at the first visit); redness after needling should "
                           "settle within 48 hours"),
    ("ITA°", "individual typology angle atan2(L* − 50, b*) of the surrounding skin, with its skin-tone category"),
)


def _trend_png(rows):
    """A small chart of Δa*, ΔE00 and fade % against days since the first visit."""
    days = [row["days"] for row in rows]
    figure, axis = plt.subplots(figsize=(6.4, 2.6), dpi=150)
    axis.plot(days, [row["delta_a"] for row in rows], "o-", color="#c0392b", label="Δa* (redness)")
    axis.plot(days, [row["delta_e00"] for row in rows], "s-", color="#34495e", label="ΔE00 (contrast)")
    axis.axhline(2.0, color="#7f8c8d", linestyle=":", linewidth=1, label="2.0 (acceptability)")
    axis.set_xlabel("days since first visit")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    buffer.seek(0)
    return buffer


def _png(rgb_uint8, width_mm):
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    picture = PILImage.fromarray(rgb_uint8)
    picture.thumbnail((900, 900))
    picture.save(buffer, "PNG")
    buffer.seek(0)
    height_mm = width_mm * picture.height / picture.width
    return Image(buffer, width=width_mm * mm, height=height_mm * mm)


def area_report(client_name, area_name, rows, pictures=()):
    """Build the PDF.

    Parameters
    ----------
    client_name, area_name : str
    rows : sequence of dict
        One per visit, in date order: ``taken`` (datetime or ISO text), ``days``, ``delta_l``,
        ``delta_a``, ``delta_b``, ``delta_e00``, ``pigmentation``, ``fade_percent``,
        ``redness_resolution_percent``, ``quality``, ``ita_deg``, ``ita_category``.
    pictures : sequence of (caption, uint8 RGB array)
        Photos with the measured area drawn.

    Returns
    -------
    bytes
        The PDF.
    """
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = "DejaVuSans-Bold" if "Bold" in getattr(style, "fontName", "") else "DejaVuSans"
    story = [
        Paragraph(f"skinscan report — {area_name}", styles["Title"]),
        Paragraph(f"Client: {client_name} · made {datetime.now():%Y-%m-%d %H:%M}", styles["Normal"]),
        Spacer(1, 4 * mm),
    ]

    def shown(value, pattern="{:+.1f}"):
        return "–" if value is None else pattern.format(value)

    table = [["date", "ΔL*", "Δa*", "Δb*", "ΔE00", "verdict", "fade %", "redness resolved %", "quality"]]
    for row in rows:
        taken = row["taken"] if isinstance(row["taken"], str) else row["taken"].isoformat()
        table.append([
            taken[:16].replace("T", " "), shown(row["delta_l"]), shown(row["delta_a"]), shown(row["delta_b"]),
            shown(row["delta_e00"], "{:.1f}"), row["pigmentation"], shown(row.get("fade_percent"), "{:.0f}"),
            shown(row.get("redness_resolution_percent"), "{:.0f}"), row.get("quality", ""),
        ])
    grid = Table(table, repeatRows=1)
    grid.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), "DejaVuSans"),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#ecf0f1")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#bdc3c7")),
    ]))
    story += [grid, Spacer(1, 4 * mm)]
    if rows:
        first = rows[0]
        story.append(Paragraph(
            f"Surrounding skin at the first visit: ITA {first['ita_deg']:.0f}° ({first['ita_category']}).",
            styles["Normal"],
        ))
    if len(rows) >= 2:
        story += [Spacer(1, 3 * mm), Image(_trend_png(rows), width=160 * mm, height=65 * mm)]
    if pictures:
        cells = [[_png(picture, 80), Paragraph(caption, styles["Normal"])] for caption, picture in pictures]
        story += [Spacer(1, 3 * mm), Table(cells)]
    story += [Spacer(1, 4 * mm), Paragraph("Definitions", styles["Heading3"])]
    story += [Paragraph(f"<b>{name}</b>: {text}", styles["Normal"]) for name, text in DEFINITIONS]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=f"skinscan report — {area_name}").build(story)
    return buffer.getvalue()
