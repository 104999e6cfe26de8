"""`corkit_inpaint.batch.manifest`: one line per input, a torn last line ignored, one run per folder."""

import json
import os

import pytest

from corkit_inpaint.batch.manifest import FIELDS, MANIFEST_NAME, Manifest, input_key
from corkit_inpaint.exceptions import BatchError


def rec(path, status="done", **kw):
    return {"path": str(path), "status": status, "output": f"{path}.out", **kw}


def test_last_record_of_each_input_wins_and_compaction_keeps_one_line_each(tmp_path):
    with Manifest(tmp_path) as m:
        m.append(rec("/a", "running"))
        m.append(rec("/b", "running"))
        m.append(rec("/a", "done", sha256="1" * 64))
        assert len(m.path.read_text().splitlines()) == 3
    lines = [json.loads(x) for x in (tmp_path / MANIFEST_NAME).read_text().splitlines()]
    assert [(x["path"], x["status"]) for x in lines] == [("/a", "done"), ("/b", "running")]
    assert all(list(x) == list(FIELDS) for x in lines)
    assert Manifest(tmp_path).read()["/a"]["sha256"] == "1" * 64


def test_a_torn_last_line_is_ignored_and_dropped_before_appending(tmp_path, caplog):
    p = tmp_path / MANIFEST_NAME
    p.write_text(json.dumps(rec("/a")) + "\n" + '{"path": "/b", "sta')      # killed mid-write
    assert list(Manifest(tmp_path).read()) == ["/a"] and "a run killed while writing" in caplog.text
    with Manifest(tmp_path) as m:
        m.append(rec("/c"))
    assert list(Manifest(tmp_path).read()) == ["/a", "/c"]
    assert len(p.read_text().splitlines()) == 2


def test_compaction_leaves_no_temporary_and_the_old_file_until_the_new_one_is_whole(tmp_path):
    m = Manifest(tmp_path)
    m.compact([rec("/a")])
    m.compact([rec("/a"), rec("/b")])
    assert sorted(os.listdir(tmp_path)) == [MANIFEST_NAME]
    assert list(m.read()) == ["/a", "/b"]


def test_one_run_per_folder(tmp_path):
    with Manifest(tmp_path), pytest.raises(BatchError, match="another batch run"):
        with Manifest(tmp_path):
            pass
    with Manifest(tmp_path):                     # released
        pass


def test_append_needs_the_context(tmp_path):
    with pytest.raises(BatchError, match="not open"):
        Manifest(tmp_path).append(rec("/a"))


def test_input_key_is_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert input_key("x.fts") == str(tmp_path / "x.fts")


COMPACT = '''
import json, os, sys
from sigterm_sweep import sweep
from corkit_inpaint.batch.manifest import MANIFEST_NAME, Manifest

folder = sys.argv[1]
m = Manifest(folder)
m.compact([{"path": "/a", "status": "done"}, {"path": "/b", "status": "running"}])


def left():
    names = sorted(n for n in os.listdir(folder) if n != MANIFEST_NAME)
    for name in names:
        os.unlink(os.path.join(folder, name))
    return names


def returned(origin, frame, event, arg):                  # Manifest.compact has returned: entering and leaving
    return event == "return" and frame is origin            # its removed_on_sigterm block are in the window


print(json.dumps(sweep(m.compact, Manifest.compact.__code__, returned, left)))
'''


def test_a_sigterm_anywhere_in_compaction_leaves_no_temporary(tmp_path):
    """A SIGTERM at each point from `Manifest.compact`'s call to its return (each in a forked child,
    `sigterm_sweep`) ends the process and leaves the manifest, old or new, and nothing else."""
    from sigterm_sweep import run_driver
    got = run_driver(COMPACT, str(tmp_path))
    assert got["exit"] == 0 and got["left"] == [] and list(Manifest(tmp_path).read()) == ["/a", "/b"]
    assert got["points"] > 20 and got["leftovers"] == [], got


def test_the_batch_id_is_made_once_per_manifest_and_kept_by_every_rerun(tmp_path):
    """Every record carries the id, so compaction keeps it; a manifest without one (an earlier release's, or
    one edited by hand) gets a new one."""
    with Manifest(tmp_path) as m:
        first = m.batch
        m.append(rec("/a", "running", batch="ignored: the manifest's id is written"))
    assert len(first) == 32 and int(first, 16) >= 0
    with Manifest(tmp_path) as m:
        assert m.batch == first
        m.append(rec("/b"))
    assert {r["batch"] for r in Manifest(tmp_path).read().values()} == {first}
    old = tmp_path / "old"
    old.mkdir()
    (old / MANIFEST_NAME).write_text(json.dumps(rec("/a")) + "\n" + json.dumps(rec("/b", batch="../x")) + "\n")
    with Manifest(old) as m:
        assert len(m.batch) == 32 and m.batch != first


def test_a_manifest_that_is_a_link_or_not_this_tool_s_is_refused_and_left_as_it_is(tmp_path):
    """Battery: a manifest linked to a FITS file was read as a run's torn lines ("unreadable lines ... a run
    killed while writing") and then replaced by an empty one."""
    from helpers import REAL
    before = REAL.read_bytes()
    (tmp_path / MANIFEST_NAME).symlink_to(REAL)
    with pytest.raises(BatchError, match="is a link or not a regular file"):
        with Manifest(tmp_path):
            pass
    assert (tmp_path / MANIFEST_NAME).is_symlink() and REAL.read_bytes() == before
    other = tmp_path / "other"
    other.mkdir()
    text = "SIMPLE  =                    T\nBITPIX  =                   16\n"      # lines, none a record
    (other / MANIFEST_NAME).write_text(text)
    with pytest.raises(BatchError, match="none of its lines is a batch record"):
        with Manifest(other):
            pass
    assert (other / MANIFEST_NAME).read_text() == text
    m = Manifest(other)                                  # the refused runs released the folder's lock
    m._take_lock()
    m._release()


def test_a_lock_that_is_a_link_is_refused_and_its_target_not_made(tmp_path):
    """Battery s35: a symbolic link planted at the manifest's lock made the batch create an empty file at its
    target, anywhere the runner may write."""
    victim = tmp_path / "victim"
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / f".{MANIFEST_NAME}.lock").symlink_to(victim)
    with pytest.raises(BatchError, match="cannot be the batch's lock file .*it is a symbolic link"):
        with Manifest(folder):
            pass
    assert not victim.exists() and not (folder / MANIFEST_NAME).exists()


def test_an_append_cut_short_is_cut_back_and_a_line_cut_short_before_is_skipped(tmp_path, caplog):
    """Review: ``append`` ignored how many bytes ``os.write`` wrote, so a full disk left part of a line that the
    next record ran into (and the refusal of unreadable lines then refused the tool's own manifest)."""
    import subprocess
    import sys
    with Manifest(tmp_path) as m:
        m.append(rec("/a"))
    size = (tmp_path / MANIFEST_NAME).stat().st_size
    code = ("import resource, sys\n"
            "from corkit_inpaint.batch.manifest import Manifest\n"
            "from corkit_inpaint.exceptions import BatchError\n"
            f"m = Manifest({str(tmp_path)!r})\n"
            "m.__enter__()\n"
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({size} + 40, resource.RLIM_INFINITY))\n"
            "try:\n"
            "    try:\n"
            "        m.append({'path': '/b' * 100, 'status': 'running'})\n"
            "    finally:\n"
            "        resource.setrlimit(resource.RLIMIT_FSIZE, (10, resource.RLIM_INFINITY))\n"
            "        m.__exit__(*sys.exc_info())\n"       # its compaction fails too: the append's error stays
            "except BatchError as exc:\n"
            "    print(exc)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "could not append a record" in r.stdout, (r.stdout, r.stderr)
    assert (tmp_path / MANIFEST_NAME).stat().st_size == size               # nothing of the cut line is left
    # a manifest an earlier release left with a line cut short in the middle is read, that line skipped
    p = tmp_path / MANIFEST_NAME
    p.write_text(json.dumps(rec("/a")) + "\n" + '{"path": "/b", "sta' + json.dumps(rec("/c")) + "\n"
                 + json.dumps(rec("/d")) + "\n")
    assert list(Manifest(tmp_path).read()) == ["/a", "/d"] and "line 2 is unreadable" in caplog.text


def test_a_manifest_of_one_torn_line_or_with_a_torn_first_line_is_read(tmp_path, caplog):
    """Review: a manifest whose only line is torn (killed on its first append) or whose first line is cut short
    is this tool's own: it is read, those lines skipped, not refused."""
    p = tmp_path / MANIFEST_NAME
    p.write_text('{"path": "/a", "sta')
    assert Manifest(tmp_path).read() == {} and "a run killed while writing" in caplog.text
    p.write_text('{"path": "/a", "sta' + json.dumps(rec("/b")) + "\n" + json.dumps(rec("/c")) + "\n")
    with Manifest(tmp_path) as m:
        m.append(rec("/d"))
    assert list(Manifest(tmp_path).read()) == ["/c", "/d"] and "line 1 is unreadable" in caplog.text


def test_a_line_nested_too_deeply_to_parse_is_skipped_not_a_traceback(tmp_path, caplog):
    """Hostile-input battery 2: a hand-edited line nested deeper than the JSON parser goes (``[[[...]]]``)
    raised RecursionError out of `Manifest.read`, and a batch rerun into the folder ended in a traceback."""
    p = tmp_path / MANIFEST_NAME
    deep = "[" * 100000 + "]" * 100000
    p.write_text(json.dumps(rec("/a")) + "\n" + deep + "\n" + json.dumps(rec("/b")) + "\n")
    assert list(Manifest(tmp_path).read()) == ["/a", "/b"] and "line 2 is unreadable" in caplog.text
    p.write_text(deep + "\n" + '{"path": ' + deep + "}\n")
    with pytest.raises(BatchError, match="none of its lines is a batch record"):
        Manifest(tmp_path).read()
    assert p.read_text().startswith("[[[")                                  # refused, left as it is
