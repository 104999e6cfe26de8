"""A batch replaces only the outputs it wrote: each carries its manifest's ``INPBATCH`` stamp.

On a real LocalCluster (2 worker processes) with blanked copies of the real C2
frame: a file that another process writes at a planned output while the batch
runs, or that is put where a killed batch had recorded ``running``, is left as
it is and its input failed; the rerun after a kill mid-write still replaces the
batch's own output (``fill``, ``.fz`` and ``level_1``).
"""

import os

import pytest
from astropy.io import fits
from helpers import BLANK, blank, read_real, sha, write

from corkit_inpaint import inpaint_fits
from corkit_inpaint.batch import Manifest, local_client, run_batch
from corkit_inpaint.batch.run import BatchSummary, _spread, plan_tasks
from corkit_inpaint.batch.stamp import stamp_of
from corkit_inpaint.batch.task import BatchOptions
from corkit_inpaint.level1 import output_name
from corkit_inpaint.outputs import tile_compressed

OPT = BatchOptions(method="biharmonic")


@pytest.fixture(scope="module")
def client():
    with local_client(2) as c:
        yield c


def real_inputs(folder, names, blocks=BLANK, suffix=".fts"):
    """Copies of the real C2 frame with ``blocks`` blanked, one per name (tile-compressed for ``.fts.fz``)."""
    folder.mkdir(parents=True, exist_ok=True)
    data, header = read_real()
    out = []
    for name in names:
        p = folder / f"{name}{suffix}"
        if suffix.endswith(".fz"):
            tile_compressed(fits.HDUList([fits.PrimaryHDU(blank(data, blocks), header)])).writeto(p, overwrite=True)
        else:
            write(p, blank(data, blocks), header)
        out.append(p)
    return out


def test_a_file_written_at_a_planned_output_while_the_batch_runs_is_not_replaced(client, tmp_path):
    files = real_inputs(tmp_path / "in", ["a", "b", "c"])
    other = real_inputs(tmp_path / "other", ["a"], blocks=BLANK[:3])[0]      # another file of the same name
    out = tmp_path / "out"
    out.mkdir()
    with Manifest(out) as manifest:
        tasks, _ = plan_tasks(files, out, {}, manifest.read(), OPT)
        assert all(t.replace for t in tasks)                                 # all absent when planned
        inpaint_fits(other, out / "a.fts", method="biharmonic")              # a serial fill meanwhile
        foreign = sha(out / "a.fts")
        summary = BatchSummary(total=3)
        _spread(client, tasks, OPT, manifest, summary, progress=False)
    assert (summary.done, summary.failed) == (2, 1) and sha(out / "a.fts") == foreign
    path, why = summary.failures[0]
    assert path == str(files[0]) and "\n" not in why
    assert "exists and is not this batch's output" in why and str(out / "a.fts") in why
    batch = Manifest(out).read()[str(files[1])]["batch"]
    assert stamp_of(out / "a.fts") is None
    assert stamp_of(out / "b.fts") == stamp_of(out / "c.fts") == batch
    rec = Manifest(out).read()[str(files[0])]
    assert rec["status"] == "failed" and rec["owns"] is False and rec["batch"] == batch
    s = run_batch(client, files, out, method="biharmonic", neighbours="none")     # a rerun leaves it too
    assert (s.done, s.skipped, s.failed) == (0, 2, 1) and sha(out / "a.fts") == foreign


def test_a_file_put_where_a_killed_batch_had_a_file_running_is_not_replaced(client, tmp_path):
    files = real_inputs(tmp_path / "in", ["a", "b"])
    other = real_inputs(tmp_path / "other", ["a"], blocks=BLANK[:3])[0]
    out = tmp_path / "out"
    out.mkdir()
    with Manifest(out) as manifest:      # the killed run had marked a.fts running, owning its absent output
        manifest.append({"path": str(files[0]), "output": str(out / "a.fts"), "status": "running",
                         "command": "fill", "method": "biharmonic", "owns": True})
    inpaint_fits(other, out / "a.fts", method="biharmonic")                  # then somebody's file went there
    foreign = sha(out / "a.fts")
    s = run_batch(client, files, out, method="biharmonic", neighbours="none")
    assert (s.done, s.failed) == (1, 1) and s.failures[0][0] == str(files[0])
    assert "exists and is not this batch's output" in s.failures[0][1]
    assert sha(out / "a.fts") == foreign and stamp_of(out / "b.fts") == Manifest(out).read()[str(files[1])]["batch"]


@pytest.mark.parametrize("command,suffix", [("fill", ".fts"), ("fill", ".fts.fz"), ("level_1", ".fts")])
def test_the_rerun_after_a_kill_mid_write_replaces_the_batch_s_own_output(client, tmp_path, calib, command,
                                                                          suffix):
    """A redo killed while its worker wrote leaves a ``running`` record that owns the output (no output sha256
    any more): the rerun finds the batch's stamp on the output and replaces it, and removes the temporary."""
    src = real_inputs(tmp_path / "in", ["a"], suffix=suffix)[0]
    out = tmp_path / "out"
    kw = dict(command=command, method="biharmonic", neighbours="none", calib_dir=calib)
    assert run_batch(client, [src], out, **kw).done == 1
    dst = out / (src.name if command == "fill" else output_name(src))
    batch = Manifest(out).read()[str(src)]["batch"]
    assert len(batch) == 32 and stamp_of(dst) == batch
    first = sha(dst)
    real_inputs(tmp_path / "in", ["a"], blocks=BLANK[:4], suffix=suffix)    # the input changed: redone
    with Manifest(out) as manifest:
        manifest.append({"path": str(src), "output": str(dst), "status": "running", "command": command,
                         "method": "biharmonic", "owns": True})
    tmp = out / f".{dst.name}.corkit-inpaint-k1ll3d00.tmp"
    tmp.write_bytes(b"half a file")
    os.utime(tmp, (1e9, 1e9))
    s = run_batch(client, [src], out, **kw)
    assert (s.done, s.failed) == (1, 0) and sha(dst) != first and stamp_of(dst) == batch and not tmp.exists()
    assert Manifest(out).read()[str(src)]["batch"] == batch                  # kept across reruns


@pytest.mark.parametrize("last", ["running", "failed"])
def test_an_unstamped_output_of_an_earlier_release_survives_an_interrupted_redo(client, tmp_path, last):
    """An earlier release's batch wrote a.fts (no stamp; its ``done`` record has the file's sha256). The first
    run after an upgrade redoes it; that redo is killed (``running``) or fails (``failed``). Those records
    carry the done record's sha256, so the next rerun still knows the unstamped file for the batch's own and
    replaces it (before, it was refused for good: "carries no INPBATCH")."""
    src = real_inputs(tmp_path / "in", ["a"])[0]
    out = tmp_path / "out"
    out.mkdir()
    inpaint_fits(src, out / "a.fts", method="biharmonic")                   # as the earlier release wrote it
    old = sha(out / "a.fts")
    with Manifest(out) as manifest:          # its record (no batch id), then the interrupted redo's
        manifest.append({"path": str(src), "output": str(out / "a.fts"), "status": "done", "command": "fill",
                         "method": "biharmonic", "owns": True, "recipe": "0" * 64, "output_sha256": old})
        manifest.append({"path": str(src), "output": str(out / "a.fts"), "status": last, "command": "fill",
                         "method": "biharmonic", "owns": True, "output_sha256": old,
                         **({"error": "worker lost the file: KilledWorker"} if last == "failed" else {})})
    s = run_batch(client, [src], out, method="biharmonic", neighbours="none")
    assert (s.done, s.failed) == (1, 0), s.failures
    assert sha(out / "a.fts") != old and stamp_of(out / "a.fts") == Manifest(out).read()[str(src)]["batch"]
    assert fits.getheader(out / "a.fts").comments["INPBATCH"] == "id of the batch that wrote this"   # whole


@pytest.mark.parametrize("suffix", [".fts", ".fts.gz", ".fts.bz2", ".fts.xz", ".fts.fz"])
def test_the_stamp_is_found_in_every_output_form_and_only_it_or_the_recorded_file_is_the_batch_s(tmp_path, suffix):
    from corkit_inpaint.batch.stamp import not_this_batch, stamp
    from corkit_inpaint.outputs import write_atomic
    data, header = read_real()
    mine, other = "a" * 32, "b" * 32
    dst = write_atomic(stamp(fits.HDUList([fits.PrimaryHDU(data, header)]), mine), tmp_path / f"o{suffix}")
    assert stamp_of(dst) == mine and not_this_batch(dst, batch=mine) == ""
    why = not_this_batch(dst, batch=other)
    assert f"{dst}: exists and is not this batch's output (its INPBATCH is '{mine}', another batch's)" in why
    assert not_this_batch(dst, batch=other, written=sha(dst)) == ""                 # the file a done record names
    junk = tmp_path / "junk.fts"
    junk.write_bytes(b"not FITS")
    why = not_this_batch(junk, batch=mine)
    assert "its header cannot be read" in why and "\n" not in why
