"""The demo client: the bundled sample visits, measured and saved into an empty record.

The measurements ship with the photos (``sample_images/demo_record.json``), so an app's first start
only copies them into the record. After a change to the analysis, regenerate that file with
``python -m skinscan.demo``; ``tests/test_demo.py`` checks it still equals what the pipeline gives.
"""

import hashlib
import json
import sys
from pathlib import Path

from . import pipeline, register

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
RECORD_NAME = "demo_record.json"

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


def comparison_record(comparison):
    """A comparison as the record keeps it: ``compare --json`` without the two photos' analyses (each
    photo's own record holds its analysis), plus ``baseline_contrast``: the baseline's contrast that
    ``fade_percent`` and ``redness_resolution_percent`` were computed from. It differs from the first
    visit's own record when the baseline was measured again on the skin it shares with the follow-up
    (:func:`skinscan.pipeline.shared_reference`; ``baseline_on_other_skin`` is then True); a "before ->
    after" shown next to the fade reads it, with ``followup_contrast`` (the follow-up's, as compared).
    ``followup_warnings``: what the follow-up's measurement over the mapped area warned about (its
    reference skin thin, uneven or far, its card), which the photo's own analysis may not.
    ``followup_outline``: the baseline's area mapped into the follow-up, outlined in follow-up photo pixels
    as :func:`area_outline` gives it (``followup_mask.png`` of ``compare --out``): where the follow-up's
    numbers come from, which its own analysis's outline (its own box) need not be.
    """
    data = comparison.to_dict()
    data["baseline_contrast"] = data.pop("baseline")["contrast"]
    data["baseline_on_other_skin"] = comparison.baseline.reference_source == "shared"
    followup = data.pop("followup")
    data["followup_contrast"] = followup["contrast"]
    data["followup_warnings"] = followup["warnings"]
    data["followup_outline"] = area_outline(comparison.followup)
    return data


def measurement_records(analysis, roi, comparison=None, chart="classic24", baseline_file=None, comparison_error=None,
                        reference_roi=None, measured_on_outline=False, whole_roi=False):
    """What the record keeps about a measured photo: the inputs, the outline of the area measured and
    the results, as JSON-ready dicts.

    ``baseline_file`` (the stored file of the photo the comparison was made against) is kept with the
    comparison when given: the timeline then shows the comparison only while that photo is the area's
    first visit (without it, it infers that from the order things were saved in).

    ``comparison_error`` (the :class:`skinscan.errors.InputError` a comparison with the first visit
    raised, when one was tried and failed) is kept as a comparison record without numbers:
    ``{"aligned": False, "alignment_refused": bool, "registration": {...} (when the error carries the
    refused registration), "error": one-line reason, "baseline_file": ...}``. ``alignment_refused`` is
    True for a :class:`skinscan.register.AlignmentError` (the photos could not be matched on the skin:
    perhaps other skin), False for any other reason (e.g. the area falls outside the follow-up photo), so
    the timeline can say "not aligned" or "not compared" truthfully. Ignored when ``comparison`` is given.

    ``reference_roi`` (the patch of untreated skin the practitioner chose, when one was) is kept with the
    analysis: later visits are compared against the same patch, mapped onto them.

    ``measured_on_outline`` (the practitioner clicked the area's exact outline instead of a loose box;
    ``roi`` is then that outline's bounds) is kept as ``"measured_on_outline": true``: later visits are
    compared over that outline (the record's ``outline``), not over an area found afresh in its bounds.
    ``whole_roi`` (the whole box marked as treated) is kept as ``"whole_roi": true``: later visits are
    compared over the whole box too.
    """
    marked = {} if reference_roi is None else {"reference_roi": [int(v) for v in reference_roi]}
    if measured_on_outline:
        marked["measured_on_outline"] = True
    if whole_roi:
        marked["whole_roi"] = True
    records = [{"kind": "analysis", "result": {"roi": list(roi) if roi is not None else None, "chart": chart,
                                               **marked, "outline": area_outline(analysis), **analysis.to_dict()}}]
    if comparison is not None:
        data = comparison_record(comparison)
    elif comparison_error is not None:
        registration = getattr(comparison_error, "registration", None)
        data = {"aligned": False, "alignment_refused": isinstance(comparison_error, register.AlignmentError),
                "error": " ".join(str(comparison_error).split())}
        if registration is not None:
            data["registration"] = registration.to_dict()
    else:
        return records
    if baseline_file is not None:
        data["baseline_file"] = str(baseline_file)
    records.append({"kind": "comparison", "result": data})
    return records


def demo_visits(samples=SAMPLES, progress=None):
    """Measure the demo series with the pipeline: each area's first photo in the box of
    ``truth.json``, each later photo compared with it.

    Parameters
    ----------
    samples : pathlib.Path
    progress : callable, optional
        Called with a fraction 0..1 as photos are measured.

    Returns
    -------
    list of dict
        ``{"area": name, "visits": [{"file", "sha256", "taken", "measurements"}, ...]}`` per area,
        JSON-ready (``measurements`` as :func:`measurement_records` gives them).
    """
    import cv2

    # OpenCV's RANSAC draws from the calling thread's random generator, whose state depends on what ran
    # before: start from the state OpenCV starts with (seed 0 gives it), so the record is reproducible.
    cv2.setRNGSeed(0)
    truth = json.loads((samples / "truth.json").read_text())
    total = sum(len(files) for _, files in DEMO_AREAS)
    done = 0
    areas = []
    for area_name, files in DEMO_AREAS:
        first = files[0]
        roi = tuple(truth[first]["roi"])
        chart = truth[first]["chart"]
        base_analysis = pipeline.analyze(samples / first, roi=roi, chart=chart)
        visits = []
        for name in files:
            data = (samples / name).read_bytes()
            if name == first:
                analysis, comparison = base_analysis, None
            else:
                comparison = pipeline.compare(None, data, roi=roi, chart=chart, baseline_analysis=base_analysis)
                analysis = comparison.followup
            taken = analysis.calibration.photo.taken
            visits.append({
                "file": name, "sha256": hashlib.sha256(data).hexdigest(),
                "taken": taken.isoformat() if taken is not None else None,
                "measurements": measurement_records(analysis, roi if name == first else None, comparison, chart),
            })
            done += 1
            if progress is not None:
                progress(done / total)
        areas.append({"area": area_name, "visits": visits})
    return areas


def shipped_visits(samples=SAMPLES):
    """The demo measurements shipped beside the photos, or None when missing or made from other photos
    (a sample photo's SHA-256 differs)."""
    path = samples / RECORD_NAME
    if not path.exists():
        return None
    areas = json.loads(path.read_text())["areas"]
    for area in areas:
        for visit in area["visits"]:
            photo = samples / visit["file"]
            if not photo.exists() or hashlib.sha256(photo.read_bytes()).hexdigest() != visit["sha256"]:
                return None
    return areas


def seed_demo(store, samples=SAMPLES, progress=None):
    """Fill an empty record with the demo client; does nothing when there are clients already.

    The shipped measurements (:func:`shipped_visits`) are used when they match the photos; otherwise
    the photos are measured (:func:`demo_visits`, tens of seconds).

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
    areas = shipped_visits(samples) or demo_visits(samples, progress)
    client = store.add_client(DEMO_CLIENT, notes="Rendered photos with known true values (sample_images/truth.json).")
    for area in areas:
        area_id = store.add_area(client, area["area"])
        for visit in area["visits"]:
            store.save_visit(area_id, visit["taken"], [{
                "data": (samples / visit["file"]).read_bytes(), "consent": "clinical",
                "measurements": visit["measurements"],
            }])
    return client


def write_record(samples=SAMPLES):
    """Measure the demo series and write ``demo_record.json`` beside the photos; returns its path."""
    path = samples / RECORD_NAME
    record = {
        "made_by": "python -m skinscan.demo (skinscan.demo.demo_visits)",
        "areas": demo_visits(samples),
    }
    path.write_text(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    return path


if __name__ == "__main__":
    print(write_record(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES))
