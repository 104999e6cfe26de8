"""`corkit_inpaint.outputs`: never over an input or another file's output, exclusive placement, atomic writes."""

import gzip
import multiprocessing as mp
import os
import stat

import numpy as np
import pytest
from astropy.io import fits
from helpers import read_real, write

from corkit_inpaint.exceptions import InputError, OutputExistsError
from corkit_inpaint.outputs import check_output_path, output_clash, temp_head, write_atomic


def small_hdul(tag=""):
    h = fits.Header()
    h["WRITER"] = tag
    return fits.HDUList([fits.PrimaryHDU(np.arange(16, dtype=np.int16).reshape(4, 4), h)])


def test_output_is_never_the_input(tmp_path):
    data, header = read_real()
    src = write(tmp_path / "in.fts", data, header)
    with pytest.raises(InputError, match="is the input file"):
        check_output_path(src, overwrite=True, src=src)
    (tmp_path / "link.fts").symlink_to(src)
    with pytest.raises(InputError, match="is the input file"):
        check_output_path(tmp_path / "link.fts", overwrite=True, src=src)
    os.link(src, tmp_path / "hard.fts")
    with pytest.raises(InputError, match="is the input file"):
        write_atomic(small_hdul(), tmp_path / "hard.fts", overwrite=True, src=src)
    assert np.array_equal(fits.getdata(src), data)


def test_existing_output_refused_without_overwrite(tmp_path):
    write_atomic(small_hdul("a"), tmp_path / "o.fts")
    with pytest.raises(InputError, match="exists"):
        write_atomic(small_hdul("b"), tmp_path / "o.fts")
    write_atomic(small_hdul("c"), tmp_path / "o.fts", overwrite=True)
    assert fits.getheader(tmp_path / "o.fts")["WRITER"] == "c"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.fts"]        # no temporaries left


def test_an_overwrite_replaces_the_file_whole_and_never_writes_into_the_old_one(tmp_path):
    """Mutation s34: placing an overwrite by copying into the old file passed: a reader, or a kill during the
    copy, would see half a file, and a hard link to the old output (a backup) would be rewritten."""
    out, backup = tmp_path / "o.fts", tmp_path / "backup.fts"
    write_atomic(small_hdul("a"), out)
    os.link(out, backup)
    inode = os.stat(out).st_ino
    with open(out, "rb") as reader:                  # a reader of the old file, open across the overwrite
        write_atomic(small_hdul("c"), out, overwrite=True)
        assert fits.getheader(reader)["WRITER"] == "a"
    assert os.stat(out).st_ino != inode and fits.getheader(out)["WRITER"] == "c"
    assert fits.getheader(backup)["WRITER"] == "a"


def _writer(args):
    folder, k, n = args
    ok = []
    for i in range(n):
        try:
            write_atomic(small_hdul(f"p{k}"), os.path.join(folder, f"f{i:03d}.fts"))
            ok.append(i)
        except InputError:
            pass
    return k, ok


def test_concurrent_writers_never_write_one_output_twice(tmp_path):
    n = 60
    with mp.get_context("spawn").Pool(4) as pool:
        results = pool.map(_writer, [(str(tmp_path), k, n) for k in range(4)])
    successes = sum(len(ok) for _, ok in results)
    assert successes == n
    for k, ok in results:                      # each file holds the data of the process that reported it
        for i in ok:
            assert fits.getheader(tmp_path / f"f{i:03d}.fts")["WRITER"] == f"p{k}"
    assert len(list(tmp_path.iterdir())) == n


def test_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(small_hdul(), tmp_path / "m.fts")
        assert (tmp_path / "m.fts").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        write_atomic(small_hdul(), tmp_path / "n.fts")
        assert (tmp_path / "n.fts").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_gz_name_gets_gzip_content(tmp_path):
    write_atomic(small_hdul("z"), tmp_path / "o.fts.gz")
    raw = (tmp_path / "o.fts.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw)[:6] == b"SIMPLE"


def test_failed_write_leaves_nothing(tmp_path):
    class Broken(fits.HDUList):
        def writeto(self, *a, **k):
            raise OSError(28, "No space left on device")

    with pytest.raises(InputError, match="No space left"):
        write_atomic(Broken([fits.PrimaryHDU()]), tmp_path / "o.fts")
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_is_not_a_regular_file_is_never_replaced(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for overwrite in (False, True):
        with pytest.raises(InputError, match="not a regular file"):
            check_output_path(fifo, overwrite=overwrite)
        with pytest.raises(InputError, match="not a regular file"):
            write_atomic(small_hdul(), fifo, overwrite=overwrite)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]           # no temporary file left


def _writer_is(name):
    """A replace check: an existing output may be replaced when its WRITER is ``name``."""
    return lambda p: "" if fits.getheader(p).get("WRITER") == name else f"{p}: exists and is not {name}'s"


def test_a_replace_check_decides_over_an_existing_output_and_an_empty_path_is_taken_exclusively(tmp_path):
    dst = tmp_path / "o.fts"
    write_atomic(small_hdul("me"), dst, replace_check=_writer_is("me"))          # empty: written
    write_atomic(small_hdul("me"), dst, replace_check=_writer_is("me"))          # its own: replaced
    dst.unlink()
    write_atomic(small_hdul("other"), dst)
    for call in (check_output_path, lambda d, **k: write_atomic(small_hdul("me"), d, **k)):
        with pytest.raises(OutputExistsError, match="exists and is not me's"):
            call(dst, overwrite=False, replace_check=_writer_is("me"))
    write_atomic(small_hdul("me"), dst, overwrite=True, replace_check=_writer_is("me"))   # overwrite: any
    assert fits.getheader(dst)["WRITER"] == "me" and [p.name for p in tmp_path.iterdir()] == ["o.fts"]


def test_a_file_written_at_the_output_while_it_is_being_written_is_not_replaced(tmp_path):
    """The output path is empty when the write starts; another process places a file there before this one
    is placed: it is asked about (and kept) with a replace check, and kept by the exclusive placement without."""
    class Racing(fits.HDUList):
        def writeto(self, *a, **k):
            small_hdul("other").writeto(dst)
            super().writeto(*a, **k)

    dst = tmp_path / "o.fts"
    for check in (_writer_is("me"), None):
        with pytest.raises(OutputExistsError, match="is not me's" if check else "by another process meanwhile"):
            write_atomic(Racing([fits.PrimaryHDU()]), dst, replace_check=check)
        assert fits.getheader(dst)["WRITER"] == "other" and [p.name for p in tmp_path.iterdir()] == ["o.fts"]
        dst.unlink()


def test_two_inputs_with_one_output_are_named():
    assert output_clash([("d1/a.fts", "out/a.fts"), ("d2/b.fts", "out/b.fts")]) == ""
    assert output_clash([("d1/a.fts", "out/a.fts"), ("d1/a.fts", "out/a.fts")]) == ""      # the same file twice
    why = output_clash([("d1/a.fts", "out/a.fts"), ("d2/a.fts", "out/./a.fts")])
    assert "out/./a.fts: would be the output of both d1/a.fts and d2/a.fts" in why


def test_placing_a_vanished_temporary_claims_nothing(tmp_path, monkeypatch):
    """A temporary swept away before it is placed (another run's cleanup) leaves no empty output behind."""
    import errno

    from corkit_inpaint.outputs import _place
    from corkit_inpaint.tempfiles import temp_beside
    tmp = temp_beside(tmp_path, ".a.fts.", ".tmp")
    tmp.unlink()
    with pytest.raises(FileNotFoundError):
        _place(tmp, tmp_path / "a.fts", False)
    assert list(tmp_path.iterdir()) == []

    def no_links(src, dst):         # a file system without hard links (FAT, some network mounts)
        raise OSError(errno.EPERM, "hard links not supported")
    monkeypatch.setattr(os, "link", no_links)
    with pytest.raises(FileNotFoundError):
        _place(tmp, tmp_path / "a.fts", False)
    assert list(tmp_path.iterdir()) == []             # the exclusive claim was taken back
    good = temp_beside(tmp_path, ".b.fts.", ".tmp")
    good.write_bytes(b"data")
    _place(good, tmp_path / "b.fts", False)
    assert [p.name for p in tmp_path.iterdir()] == ["b.fts"] and (tmp_path / "b.fts").read_bytes() == b"data"


@pytest.mark.parametrize("suffix,magic", [(".fts.gz", b"\x1f\x8b"), (".fts.bz2", b"BZh"),
                                          (".fts.xz", b"\xfd7zXZ\x00"), (".fts.fz", b"SIMPLE")])
def test_an_output_is_compressed_as_its_name_says(tmp_path, suffix, magic):
    """.bz2 and .xz held plain FITS (review s13b, N2); .fz is tile-compressed, int64 included (N7)."""
    a = np.arange(64 * 64, dtype=np.int64).reshape(64, 64) * 3_000_000_000
    hdul = fits.HDUList([fits.PrimaryHDU(a), fits.ImageHDU(np.ones((64, 64), np.uint8), name="INPMASK")])
    dst = write_atomic(hdul, tmp_path / f"o{suffix}")
    assert dst.read_bytes().startswith(magic) and os.listdir(tmp_path) == [dst.name]
    with fits.open(dst) as h:
        img = h[1] if suffix == ".fts.fz" else h[0]
        assert np.array_equal(img.data, a) and img.data.dtype.kind == "i" and img.data.dtype.itemsize == 8
        if suffix == ".fts.fz":
            assert type(h[1]).__name__ == "CompImageHDU" and h[1].compression_type == "GZIP_2"


def _caught_writing(folder):
    """A process writing ``folder/out.fts.gz`` (`write_atomic`), once its temporary is there."""
    import subprocess
    import sys
    import time
    code = ("import numpy as np\n"
            "from astropy.io import fits\n"
            "from corkit_inpaint.outputs import write_atomic\n"
            "data = np.random.default_rng(0).standard_normal((3000, 3000))\n"
            "print('ready', flush=True)\n"
            f"write_atomic(fits.HDUList([fits.PrimaryHDU(data)]), {str(folder / 'out.fts.gz')!r})\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while not list(folder.glob(".out.fts.gz.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.001)
    return p


def test_sigterm_while_writing_leaves_no_temporary(tmp_path):
    """A batch system's time limit (SIGTERM) during a write: the process dies of it and removes its temporary."""
    p = _caught_writing(tmp_path)
    p.send_signal(15)
    err = p.communicate(timeout=60)[1]
    assert p.returncode == -15, err
    assert list(tmp_path.iterdir()) == [], err                  # neither a temporary nor a half-written output
    assert "terminated during a write; its temporary files were removed" in err


@pytest.mark.parametrize("name", ["a" * 250 + ".fts", "é" * 124 + ".fts.gz"])
def test_an_output_named_near_the_file_name_limit_is_written(tmp_path, name):
    """Battery: names of 227-255 bytes failed with "File name too long": the temporary added 29 characters."""
    dst = tmp_path / name
    write_atomic(fits.HDUList([fits.PrimaryHDU(np.arange(4, dtype=np.int16).reshape(2, 2))]), dst)
    assert [p.name for p in tmp_path.iterdir()] == [name]
    head = temp_head(name)
    assert len(head.encode()) + len("12345678.tmp.gz") <= 255 and head.endswith(".corkit-inpaint-")
    assert temp_head("out.fts") == ".out.fts.corkit-inpaint-"


def test_a_sigkilled_write_leaves_a_temporary_that_only_remove_stale_temps_takes(tmp_path):
    """SIGKILL (an out-of-memory killer, ``kill -9``) leaves the temporary; `remove_stale_temps` removes it, as
    old as its default age, and nothing else: not another output's, not a user's file of the same shape."""
    import signal
    import time

    from corkit_inpaint.outputs import remove_stale_temps
    p = _caught_writing(tmp_path)
    time.sleep(0.5)                     # well past its lock, well before the end of its write (seconds)
    assert remove_stale_temps([tmp_path / "out.fts.gz"], min_age=0.0) == 0      # alive: it holds its lock
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    left = list(tmp_path.glob(".out.fts.gz.corkit-inpaint-*.tmp"))
    assert len(left) == 1 and not (tmp_path / "out.fts.gz").exists()
    others = [tmp_path / ".other.fts.corkit-inpaint-ab12_x9z.tmp", tmp_path / ".out.fts.gz.backup01.tmp",
              tmp_path / ".out.fts.gz.corkit-inpaint-toolong99.tmp"]
    for q in others:
        q.write_bytes(b"keep")
        os.utime(q, (1e9, 1e9))
    assert remove_stale_temps([tmp_path / "out.fts.gz"]) == 0 and left[0].exists()    # written a moment ago
    os.utime(left[0], (time.time() - 61, time.time() - 61))
    assert remove_stale_temps([tmp_path / "out.fts.gz", tmp_path / "absent" / "x.fts"]) == 1
    assert sorted(q.name for q in tmp_path.iterdir()) == sorted(q.name for q in others)


def test_a_live_write_s_temporary_is_never_taken_and_an_output_is_never_taken_for_one(tmp_path):
    """Review: with no age rule (as a batch rerun had) a remover could take a temporary in the moment between
    its creation and its writer's lock, and every write failed. A remover running against 150 writes now
    takes nothing, and an output whose own name looks like a temporary is not taken for one either."""
    import subprocess
    import sys

    from corkit_inpaint.batch.run import RERUN_STALE_AFTER
    from corkit_inpaint.outputs import remove_stale_temps
    code = ("import numpy as np\n"
            "from astropy.io import fits\n"
            "from corkit_inpaint.outputs import write_atomic\n"
            "h = fits.HDUList([fits.PrimaryHDU(np.zeros((64, 64), np.float32))])\n"
            "for i in range(150):\n"
            f"    write_atomic(h, {str(tmp_path / 'out.fts')!r}, overwrite=True)\n"
            "print('done', flush=True)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    removed = 0
    while p.poll() is None:
        removed += remove_stale_temps([tmp_path / "out.fts"], min_age=RERUN_STALE_AFTER)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0 and out.strip() == "done" and removed == 0, err
    twin = tmp_path / ".k.fts.corkit-inpaint-abcdefgh.tmp"         # an output of the run, named as a temporary
    twin.write_bytes(b"an output")
    os.utime(twin, (1e9, 1e9))
    assert remove_stale_temps([tmp_path / "k.fts", twin]) == 0 and twin.exists()
    assert remove_stale_temps([tmp_path / "k.fts"], keep=[twin]) == 0 and twin.exists()
    assert remove_stale_temps([tmp_path / "k.fts"]) == 1 and not twin.exists()         # not named: taken


def test_an_input_named_like_a_temporary_is_never_taken_for_one(tmp_path, monkeypatch):
    """Hostile battery h1: ``fill .a.fts.corkit-inpaint-abcdefgh.tmp -o a.fts`` (a killed write's leftover read
    back, or any file of that name) deleted its input before reading it ("no such file"), and ``evaluate --json``
    would take an input named like the JSON's temporary: the scans kept the run's outputs, not its inputs."""
    import json
    import shutil

    from helpers import REAL, sha

    from corkit_inpaint.abandoned import inputs_kept
    from corkit_inpaint.cli import main
    from corkit_inpaint.outputs import remove_stale_temps
    from corkit_inpaint.tempfiles import write_text_atomic
    monkeypatch.chdir(tmp_path)
    old = (1e9, 1e9)
    src = tmp_path / ".a.fts.corkit-inpaint-abcdefgh.tmp"
    shutil.copyfile(REAL, src)
    os.utime(src, old)
    want = sha(src)
    assert main(["-q", "fill", src.name, "-o", "a.fts", "--method", "biharmonic"]) == 0
    assert sha(src) == want and (tmp_path / "a.fts").exists()
    js = tmp_path / ".e.json.corkit-inpaint-abcdefgh.tmp"
    shutil.copyfile(REAL, js)
    os.utime(js, old)
    assert main(["-q", "evaluate", js.name, "--methods", "biharmonic", "--repeats", "1", "--json", "e.json"]) == 0
    assert sha(js) == want and json.loads((tmp_path / "e.json").read_text())["run"]["files"][0]["sha256"] == want
    # kept as a file, whatever path or link names it; and only while it is an input
    (tmp_path / "sub").mkdir()
    link = tmp_path / "sub" / "hard.fts"
    os.link(src, link)
    assert remove_stale_temps([tmp_path / "a.fts"], keep=[link]) == 0 and src.exists()
    with inputs_kept([tmp_path / "sub" / ".." / src.name]):
        write_text_atomic(tmp_path / "a.fts", "x")
        assert src.exists()
    assert remove_stale_temps([tmp_path / "a.fts"]) == 1 and not src.exists() and link.exists()


def test_a_path_naming_a_folder_is_refused_without_naming_an_option(tmp_path):
    # the API, `evaluate --json` and level 1 reach this too: none of them has the CLI's --outdir
    with pytest.raises(InputError) as ei:
        check_output_path(f"{tmp_path}/", overwrite=True)
    assert str(ei.value) == f"{tmp_path}/: names a folder; give a file name"


def test_an_empty_output_path_or_a_file_for_its_folder_is_said_so(tmp_path):
    """Battery s36: ``""`` was the current folder ("is a folder"), and a file in the output folder's place was
    said not to exist."""
    with pytest.raises(InputError, match="^an empty output path: give a file name$"):
        check_output_path("", overwrite=False)
    (tmp_path / "f.fts").write_bytes(b"x")
    with pytest.raises(InputError, match="output folder .*f.fts is not a folder$"):
        check_output_path(tmp_path / "f.fts" / "out.json", overwrite=False)
