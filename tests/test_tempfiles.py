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


def test_removed_on_sigterm_runs_the_cleanup_then_dies_of_the_signal(tmp_path):
    import subprocess
    import sys
    code = ("import os, shutil, signal, sys, tempfile\n"
            "from corkit_inpaint.tempfiles import removed_on_sigterm\n"
            f"d = tempfile.mkdtemp(dir={str(tmp_path)!r})\n"
            "with removed_on_sigterm('a test', RuntimeError('terminated')):\n"
            "    try:\n"
            "        open(os.path.join(d, 'copy.fts'), 'w').write('x')\n"
            "        os.kill(os.getpid(), signal.SIGTERM)\n"
            "        import time; time.sleep(30)\n"
            "    finally:\n"
            "        shutil.rmtree(d)\n"
            "sys.exit(3)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == -15, r.stderr                 # died of SIGTERM, as without the block
    assert list(tmp_path.iterdir()) == []                # after the finally clause ran
    assert "terminated during a test; its temporary files were removed" in r.stderr
