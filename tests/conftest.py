"""Shared fixtures: a temporary data folder for every test, the real card photos, rendered scenes."""

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))  # the scene renderer

REAL_CARDS = TESTS.parent.parent / "shared" / "real_cards"


@pytest.fixture(autouse=True)
def data_folder(tmp_path, monkeypatch):
    """Every test writes records into its own temporary folder, never the user's."""
    folder = tmp_path / "skinscan-data"
    monkeypatch.setenv("SKINSCAN_DATA", str(folder))
    return folder


@pytest.fixture
def real_card():
    """Path of a real photo in shared/real_cards (skipped outside a checkout with shared/ beside it)."""

    def path(name):
        candidate = REAL_CARDS / name
        if not candidate.exists():
            if os.environ.get("CI"):
                pytest.fail(f"{candidate} is missing in CI")
            pytest.skip(f"{candidate} not available")
        return candidate

    return path
