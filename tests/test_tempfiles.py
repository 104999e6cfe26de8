"""Temporary files beside their destination take the umask's permissions, not mkstemp's 0600."""

import contextlib
import os

import pytest

from corkit_inpaint.tempfiles import not_written, process_umask, temp_beside


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


SWEEP = '''
import json, os, sys
import numpy as np
from astropy.io import fits
from sigterm_sweep import sweep
from corkit_inpaint import outputs, tempfiles

folder = sys.argv[1]
hdul = fits.HDUList([fits.PrimaryHDU(np.zeros((4, 4), np.int16))])
returned = False


def left():
    names = sorted(os.listdir(folder))
    for name in names:
        os.unlink(os.path.join(folder, name))
    return names


def after_return(origin, frame, event, arg):      # the first event after temp_beside's return: inside
    global returned                               # write_atomic's try
    if returned:
        return True
    returned = event == "return" and frame is origin
    return False


print(json.dumps(sweep(lambda: outputs.write_atomic(hdul, os.path.join(folder, "out.fts")),
                       tempfiles.temp_beside.__code__, after_return, left)))
'''


def test_a_sigterm_anywhere_around_the_temporary_s_creation_leaves_nothing(tmp_path):
    """A SIGTERM at each point where Python can act on it, from `temp_beside`'s call until `write_atomic`'s
    ``try`` has begun (mkstemp has made the file, its mode is set, the name is handed back), leaves no
    temporary: the block removes what was made in it. Each point in a forked child, the signal raised there."""
    from sigterm_sweep import run_driver
    out = tmp_path / "out"
    out.mkdir()
    got = run_driver(SWEEP, str(out))
    assert got["exit"] == 0 and got["left"] == ["out.fts"]          # past the window: written, nothing else
    assert got["points"] > 20 and got["leftovers"] == [], got


WRITE_TEXT = '''
import json, os, sys
from sigterm_sweep import sweep
from corkit_inpaint import tempfiles

folder = sys.argv[1]
dst = os.path.join(folder, "config.json")


def left():
    names = sorted(n for n in os.listdir(folder) if n != "config.json")
    for name in names:
        os.unlink(os.path.join(folder, name))
    return names


def returned(origin, frame, event, arg):                  # write_through_temp has returned: entering and leaving
    return event == "return" and frame is origin            # its removed_on_sigterm block are in the window


print(json.dumps(sweep(lambda: tempfiles.write_text_atomic(dst, '{"a": 1}'), tempfiles.write_through_temp.__code__,
                       returned, left)))
'''


def test_a_sigterm_anywhere_in_write_through_temp_leaves_no_temporary(tmp_path):
    """A SIGTERM at each point from `write_through_temp`'s call to its return (each in a forked child,
    `sigterm_sweep`) ends the process and leaves nothing but the written file, if anything: the JSON and config
    writes (`write_text_atomic`) run in a `removed_on_sigterm` block of their own. The points include entering
    and leaving the block, where the handler is installed outside the body: there too the child dies of the
    signal (before, a `_Terminated` raised out of the ``with`` statement and the child exited 1)."""
    from sigterm_sweep import run_driver
    got = run_driver(WRITE_TEXT, str(tmp_path))
    assert got["exit"] == 0 and got["left"] == [] and (tmp_path / "config.json").read_text() == '{"a": 1}'
    assert got["points"] > 20 and got["leftovers"] == [], got


RETURNING_HANDLER = '''
import json, os, signal, sys
from sigterm_sweep import _profile
from corkit_inpaint import tempfiles

signal.signal(signal.SIGTERM, lambda signum, frame: None)   # a previous handler that returns


def block():
    try:
        with tempfiles.removed_on_sigterm("a test", RuntimeError("terminated")):
            pass
    except RuntimeError:
        pass


def returned(origin, frame, event, arg):
    return event == "return" and frame is origin


codes = []
for n in range(400):
    pid = os.fork()
    if pid == 0:
        sys.setprofile(_profile(n, block.__code__, returned))
        block()
        sys.setprofile(None)
        os._exit(3 if tempfiles._BLOCKS else 0)
    codes.append(os.WEXITSTATUS(os.waitpid(pid, 0)[1]))
print(json.dumps(codes))
'''


def test_a_block_ended_by_a_returning_handler_is_forgotten():
    """Under a SIGTERM handler that returns, a SIGTERM anywhere in a `removed_on_sigterm` block (entering it,
    its body, leaving it; each point in a forked child) raises the block's error, and the block is forgotten:
    before, one that ended while being entered stayed the innermost block for good, and later temporaries made
    outside any block were recorded in it."""
    from sigterm_sweep import run_driver
    r = run_driver(RETURNING_HANDLER)
    assert len(r) == 400 and set(r) == {0}, [n for n, c in enumerate(r) if c]


def test_ctrl_c_before_the_caller_s_clean_up_leaves_no_temporary(tmp_path):
    """Review: a KeyboardInterrupt between `temp_beside`'s return and its caller's ``try`` left a 0-byte temporary."""
    from corkit_inpaint.tempfiles import removed_on_sigterm
    with pytest.raises(KeyboardInterrupt), removed_on_sigterm("a test", RuntimeError("terminated")):
        made = temp_beside(tmp_path, ".out.fts.", ".tmp")
        assert made.exists()
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_hang_up_during_a_fill_leaves_no_temporary(tmp_path):
    """Review: SIGHUP (a closed terminal) left a half-written output temporary; it now ends the run as SIGTERM."""
    import shutil
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    src = tmp_path / "in.fts"
    shutil.copy(Path(__file__).parent / "data" / "c2_22104858.fts", src)
    out = tmp_path / "out"
    out.mkdir()
    p = subprocess.Popen([sys.executable, "-m", "corkit_inpaint", "-q", "fill", str(src), "-o", str(out / "x.fts"),
                          "--method", "biharmonic"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(out.iterdir()) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.0005)
    caught = [q.name for q in out.iterdir() if q.name.endswith(".tmp")]
    p.send_signal(signal.SIGHUP)
    _, stderr = p.communicate(timeout=120)
    names = [q.name for q in out.iterdir()]
    assert not [n for n in names if n.endswith(".tmp")], (names, p.returncode, stderr)
    if caught:                                           # it hung up while writing: it died as of SIGTERM
        assert names in ([], ["x.fts"]) and p.returncode in (-signal.SIGTERM, 0), (names, p.returncode, stderr)


def _holder(path):
    """A process that holds ``path`` as a live writer does (`held`) until it is killed."""
    import subprocess
    import sys
    code = ("import sys, time\n"
            "from corkit_inpaint.tempfiles import held\n"
            f"with held({str(path)!r}):\n"
            "    print('ready', flush=True)\n"
            "    time.sleep(600)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def test_a_held_temporary_is_kept_until_its_writer_is_killed(tmp_path):
    """SIGKILL cannot be caught: the kernel releases the dead writer's lock, and only then is its temporary
    taken for abandoned."""
    import signal

    from corkit_inpaint.tempfiles import held, remove_if_abandoned
    tmp = tmp_path / ".out.fts.corkit-inpaint-abcd1234.tmp"
    tmp.write_bytes(b"half a file")
    os.utime(tmp, (1e9, 1e9))                         # old: only the lock tells it is alive
    p = _holder(tmp)
    try:
        assert not remove_if_abandoned(tmp, 0.0) and tmp.exists()
        with pytest.raises(BlockingIOError):             # nor does another writer take it as its own
            with held(tmp):
                pass
    finally:
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=60)
    assert remove_if_abandoned(tmp, 0.0) and not tmp.exists()
    with pytest.raises(FileNotFoundError):              # taken while its writer stalled: it does not write on
        with held(tmp):
            pass


def test_a_fresh_temporary_a_link_and_a_folder_are_not_taken_for_abandoned(tmp_path):
    from corkit_inpaint.tempfiles import remove_if_abandoned
    fresh, old = tmp_path / "fresh.tmp", tmp_path / "old.tmp"
    fresh.write_bytes(b"x")
    old.write_bytes(b"y")
    os.utime(old, (1e9, 1e9))
    (tmp_path / "link.tmp").symlink_to(old)
    (tmp_path / "dir.tmp").mkdir()
    os.utime(tmp_path / "dir.tmp", (1e9, 1e9))
    os.mkfifo(tmp_path / "fifo.tmp")                   # never opened: only a regular file is
    os.utime(tmp_path / "fifo.tmp", (1e9, 1e9))
    assert not remove_if_abandoned(tmp_path / "fifo.tmp", 0.0) and (tmp_path / "fifo.tmp").exists()
    assert not remove_if_abandoned(fresh, 60.0) and fresh.exists()      # its writer may be about to lock it
    assert not remove_if_abandoned(tmp_path / "link.tmp", 0.0) and old.exists()
    assert not remove_if_abandoned(tmp_path / "dir.tmp", 0.0) and (tmp_path / "dir.tmp").is_dir()
    assert not remove_if_abandoned(tmp_path / "absent.tmp", 0.0)
    assert remove_if_abandoned(old, 60.0) and not old.exists() and (tmp_path / "link.tmp").is_symlink()


def test_write_through_temp_fsyncs_before_the_rename_and_a_later_write_removes_a_killed_ones_temporary(
        tmp_path, monkeypatch):
    """`write_text_atomic` did not fsync its temporary before the rename (a power cut could leave an empty
    config.json), and a SIGKILL between the write and the rename left a ``.config.json.<8 chars>.tmp`` that no
    later run removed. The temporary is now named as the FITS writer's (``corkit-inpaint-``) and held while
    written; a later write to the same path removes a killed one's (unheld, unwritten for a minute), and nothing
    else."""
    import subprocess
    import sys
    import time

    from corkit_inpaint import tempfiles
    dst = tmp_path / "config.json"
    code = ("import os, signal, sys\n"
            "from corkit_inpaint.tempfiles import write_through_temp\n"
            "def write(tmp):\n"
            "    tmp.write_text('{\"half\": 1}')\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            f"write_through_temp({str(dst)!r}, write)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == -9, r.stderr
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(".config.json.corkit-inpaint-") and left.name.endswith(".tmp")
    fresh = tmp_path / ".config.json.corkit-inpaint-abcd1234.tmp"       # a live writer's, by its age
    others = [tmp_path / ".config.json.abcd1234.tmp", tmp_path / ".other.json.corkit-inpaint-abcd1234.tmp",
              tmp_path / ".config.json.corkit-inpaint-abcd1234.tmp.bak"]
    for p in [fresh, *others]:
        p.write_text("not ours to remove")
    old = time.time() - 120
    for p in [left, *others]:
        os.utime(p, (old, old))
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        with contextlib.suppress(OSError):
            synced.append((os.readlink(f"/proc/self/fd/{fd}"), dst.exists()))
        real_fsync(fd)
    monkeypatch.setattr(tempfiles.os, "fsync", fsync)
    tempfiles.write_text_atomic(dst, '{"a": 1}')
    assert dst.read_text() == '{"a": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in [dst, fresh, *others])
    if os.path.exists("/proc/self/fd"):
        assert any(".config.json.corkit-inpaint-" in name and not placed for name, placed in synced), synced


def test_a_name_near_the_file_systems_limit_is_written(tmp_path):
    """Review s28: the temporary's tag made a 240-byte name's temporary too long ("File name too long")."""
    from corkit_inpaint.tempfiles import write_text_atomic
    path = tmp_path / ("a" * 235 + ".json")
    write_text_atomic(path, "{}")
    assert path.read_text() == "{}" and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_full_disk_is_said_in_errno_s_words_when_astropy_wrapped_them(tmp_path):
    """Battery s37: astropy re-raises a full disk's error as "Not enough space on disk: requested 7340032,
    available 0. ..." (the temporary had taken the rest) without errno's words; they are found in its context.
    astropy's own wrapper is run (its message names the space only where the folder is short of it)."""
    from astropy.io import fits
    from astropy.io.fits.util import _free_space_check
    try:
        with _free_space_check([fits.PrimaryHDU()], dirname=str(tmp_path)):
            raise OSError(28, "No space left on device")
    except OSError as wrapped:
        assert not wrapped.strerror and wrapped.__context__.errno == 28
        assert str(not_written("out.fts", wrapped)) == "out.fts: could not be written (No space left on device)"
    try:            # an unrelated error raised while handling an OSError keeps its own words (review s37)
        try:
            raise OSError(28, "No space left on device")
        except OSError:
            raise ValueError("bad\nlines")  # noqa: B904
    except ValueError as other:
        assert str(not_written("o.fts", other)) == "o.fts: could not be written (bad)"
