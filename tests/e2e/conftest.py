"""Fixtures shared by every e2e test. Keep this file small: helpers used by one test
file belong in that file or in a helpers_<topic>.py module beside it."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The racert checkout under test."""
    return REPO_ROOT
