"""Temporary files beside their destination take the umask's permissions, not mkstemp's 0600."""

import os

import pytest

from corkit_inpaint.tempfiles import process_umask, temp_beside


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o007, 0o660)])
def test_temp_beside_mode_and_name(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        assert process_umask() == umask
        p = temp_beside(tmp_path, ".out.fts.", ".tmp")
    finally:
        os.umask(old)
    assert p.parent == tmp_path and p.name.startswith(".out.fts.") and p.name.endswith(".tmp")
    assert p.stat().st_size == 0 and p.stat().st_mode & 0o777 == mode
