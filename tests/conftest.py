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


@pytest.fixture
def server():
    """A loopback HTTP server (`weights_server.Server`) with routes a test sets."""
    from weights_server import serving
    with serving() as s:
        yield s


@pytest.fixture
def env(tmp_path, monkeypatch, server):
    """A test registry with one model served by ``server``, and an empty cache (`weights_server.make_env`)."""
    from weights_server import make_env
    return make_env(tmp_path, monkeypatch, server)
