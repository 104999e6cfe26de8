"""Shared fixtures: the real C2 frame, a blanked copy of it on disk."""

from __future__ import annotations

import pytest
from helpers import BLANK, blank, read_real, write


@pytest.fixture
def real():
    return read_real()


@pytest.fixture
def blanked_file(tmp_path):
    data, header = read_real()
    return write(tmp_path / "blanked.fts", blank(data, BLANK), header)


@pytest.fixture(scope="session")
def calib(tmp_path_factory):
    """Stand-in corkit calibration files (roll 5 deg, so corkit rotates)."""
    from corkit_inpaint.testing import write_standin_calibration
    return write_standin_calibration(tmp_path_factory.mktemp("calib"), roll=5.0)
