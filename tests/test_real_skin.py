"""Real photos of skin without a card (../shared/real_skin): a representative subset of the wounds
(expert masks) and tattoos (hand-drawn boxes), every sixth wound and tenth tattoo, so the suite stays fast. The full
evaluation with the issue's figures is bench/eval_real_skin.py.
"""

import os

import numpy as np
import pytest

import real_skin

EVERY = 6
EVERY_TATTOO = 10

pytestmark = pytest.mark.skipif(
    not real_skin.REAL_SKIN.exists() and not os.environ.get("CI"),
    reason=f"{real_skin.REAL_SKIN} not available (shared real photos sit beside the repository)",
)


@pytest.fixture(scope="module")
def wounds():
    return [real_skin.read_wound(name) for name in real_skin.wound_names()[::EVERY]]


@pytest.fixture(scope="module")
def tattoos():
    return [r for name in real_skin.tattoo_names()[::EVERY_TATTOO] for r in real_skin.read_tattoo(name)]


def test_wound_areas_match_the_expert_masks(wounds):
    measured = [r for r in wounds if r.refused is None]
    assert len(wounds) >= 10 and len(measured) == len(wounds), [r.refused for r in wounds]
    dice = [r.dice for r in measured]
    box = [r.box_dice for r in measured]
    # The bar (median Dice >= 0.75) on this subset; returning the box scores about 0.5.
    assert np.median(dice) >= 0.75, np.round(dice, 3)
    assert np.median(dice) > np.median(box) + 0.2


def test_wound_reference_is_skin_not_padding_nor_wound(wounds):
    measured = [r for r in wounds if r.refused is None]
    assert all(r.reference_on_padding == 0 for r in measured)
    # Where the found area misses part of a wound, the ring can touch the expert's outline: a few
    # per cent of the reference over the subset at most.
    on_wound = sum(r.reference_on_truth for r in measured) / sum(r.reference_pixels for r in measured)
    assert on_wound <= 0.05, on_wound


def test_ink_reads_darker_than_the_skin_inside_its_box(tattoos):
    measured = [r for r in tattoos if r.refused is None]
    assert len(measured) >= len(tattoos) - 1 and len(measured) >= 10
    darker = np.mean([r.delta_l < 0 for r in measured])
    # A guard at today's level on this subset; the 90 % over all 84 boxes is measured by
    # bench/eval_real_skin.py (92 % there on 2026-11-26, no refusal, from 89 % and one refusal before
    # lines within a lesion stopped being taken for hair and ink stopped being taken for skin).
    assert darker >= 0.75, {r.name: round(r.delta_l, 1) for r in measured}
    assert min(r.inside_box for r in measured) >= 0.85
    assert all(r.reference_on_padding == 0 for r in measured)


def test_a_reference_taken_far_from_the_area_is_flagged():
    """10_3: a forearm sleeve over the whole box; the skin next to the ink is hidden, the ring widens onto
    the hand and the other leg, and the analysis says so. 4_1: a chest tattoo with skin all round: no
    such warning."""
    from skinscan import analyze

    def far_warnings(name):
        photo, boxes = real_skin.tattoo(name)
        return [w for w in analyze(photo, roi=boxes[0]).warnings if w.startswith("the reference skin had to be taken far")]

    assert len(far_warnings("10_3")) == 1
    assert far_warnings("4_1") == []


def test_a_wall_floor_or_clothing_beside_the_limb_is_not_the_reference():
    """Photos where the lightest skin-coloured surface in the box's border band is not skin: a white
    wall beside a chest (66_1, its second box), a foot against clothing and a sheet (wound 0135), and
    in front of a wall (wound 0428). Those surfaces read a* 0-5 here, the skin beside them 18-22; the
    reference used to be the wall or the clothing (a* -0.5 to 5)."""
    from skinscan import analyze

    photo, boxes = real_skin.tattoo("66_1")
    references = {"66_1#1": analyze(photo, roi=boxes[1]).reference.lab}
    for name in ("0135", "0428"):
        photo, _, box = real_skin.wound(name)
        references[name] = analyze(photo, roi=box).reference.lab
    assert all(lab[1] >= 12 for lab in references.values()), {k: np.round(v, 1) for k, v in references.items()}
