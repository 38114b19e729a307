"""The demo client: the bundled sample visits, measured and saved into an empty record."""

import json
from pathlib import Path

from . import pipeline

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"

#: (area name, photo files in visit order)
DEMO_AREAS = (
    ("Cheek — microneedling redness", ("needling_day0.jpg", "needling_day1.jpg", "needling_day2.jpg")),
    ("Forearm scar — skin needling", ("scar_session1.jpg", "scar_session2.jpg", "scar_session3.jpg")),
    ("Shoulder tattoo — removal", ("tattoo_session1.jpg", "tattoo_session2.jpg", "tattoo_session3.jpg",
                                   "tattoo_session4.jpg")),
    ("Left brow — permanent makeup", ("brow_year0.jpg", "brow_year1.jpg", "brow_year2.jpg")),
)
DEMO_CLIENT = "Demo client (sample photos)"


def area_outline(analysis, tolerance_px=1.5):
    """The treated area's outline(s) in photo pixels, simplified: [[[x, y], ...], ...] (JSON-ready)."""
    import cv2

    contours, _ = cv2.findContours(analysis.treated_mask.astype("uint8"), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    offset = analysis.work.offset
    return [
        (cv2.approxPolyDP(contour, tolerance_px, True).reshape(-1, 2) + offset).astype(int).tolist()
        for contour in contours if len(contour) >= 3
    ]


def measurement_records(analysis, roi, comparison=None, chart="classic24"):
    """What the record keeps about a measured photo: the inputs, the outline of the area measured and
    the results, as JSON-ready dicts."""
    records = [{"kind": "analysis", "result": {"roi": list(roi) if roi is not None else None, "chart": chart,
                                               "outline": area_outline(analysis), **analysis.to_dict()}}]
    if comparison is not None:
        data = comparison.to_dict()
        data.pop("baseline", None)
        data.pop("followup", None)
        records.append({"kind": "comparison", "result": data})
    return records


def seed_demo(store, samples=SAMPLES, progress=None):
    """Fill an empty record with the demo client; does nothing when there are clients already.

    Parameters
    ----------
    store : skinscan.store.Store
    samples : pathlib.Path
    progress : callable, optional
        Called with a fraction 0..1 as photos are measured.

    Returns
    -------
    int or None
        The demo client's id, or None when the record was not empty.
    """
    if store.clients():
        return None
    truth = json.loads((samples / "truth.json").read_text())
    client = store.add_client(DEMO_CLIENT, notes="Rendered photos with known true values (sample_images/truth.json).")
    total = sum(len(files) for _, files in DEMO_AREAS)
    done = 0
    for area_name, files in DEMO_AREAS:
        area = store.add_area(client, area_name)
        first = files[0]
        roi = tuple(truth[first]["roi"])
        chart = truth[first]["chart"]
        base_analysis = pipeline.analyze(samples / first, roi=roi, chart=chart)
        for name in files:
            data = (samples / name).read_bytes()
            if name == first:
                analysis, comparison = base_analysis, None
            else:
                comparison = pipeline.compare(None, data, roi=roi, chart=chart, baseline_analysis=base_analysis)
                analysis = comparison.followup
            taken = analysis.calibration.photo.taken
            store.save_visit(area, taken, [{
                "data": data, "consent": "clinical",
                "measurements": measurement_records(analysis, roi if name == first else None, comparison, chart),
            }])
            done += 1
            if progress is not None:
                progress(done / total)
    return client
