"""`corkit_inpaint.batch.run` on a real LocalCluster (2 worker processes, 127.0.0.1, no dashboard).

A dozen small simulated frames: every output right and equal to the serial
path, a rerun recomputes nothing, a corrupt input in the middle is reported
and the others done; and the default network with neighbours paired across
the whole batch on the real C3 sequence.
"""

import json
import os
import re
import time
import warnings

import numpy as np
import pytest
from astropy.io import fits
from helpers import blank, read_file, seq_files, sha, write

from corkit_inpaint import inpaint_fits
from corkit_inpaint.batch import MANIFEST_NAME, local_client, run_batch
from corkit_inpaint.batch.run import plan_tasks
from corkit_inpaint.batch.task import BatchOptions
from corkit_inpaint.pairing import neighbours_for

HOLES = [(8, 8), (5, 10), (12, 3), (9, 12)]


@pytest.fixture(scope="module")
def client():
    with local_client(2) as c:
        yield c


def make_inputs(folder, n=12, corrupt=None):
    """``n`` simulated 512x512 C2 frames with 4 blocks blanked; the one at index ``corrupt`` truncated."""
    from corkit_inpaint.training.simulator import make_frame
    folder.mkdir(exist_ok=True)
    files = []
    for k in range(n):
        img, hdr = make_frame(500 + k, detector="C2", summed=True)
        p = write(folder / f"c2_{k:02d}.fts", blank(img, HOLES), hdr)
        if k == corrupt:
            p.write_bytes(p.read_bytes()[:5000])
        files.append(p)
    return files


def records(outdir):
    return [json.loads(line) for line in (outdir / MANIFEST_NAME).read_text().splitlines()]


def read_out(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as h:
            return np.array(h[0].data), np.array(h["INPMASK"].data), h[0].header.copy()


def untimed(card):
    """A header card with the time of day of a corkit-inpaint HISTORY line left out (a batch runs later)."""
    return (card.keyword, re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", "<time>", str(card.value)))


def test_dozen_files_right_and_same_as_serial_then_rerun_skips(client, tmp_path):
    files = make_inputs(tmp_path / "in")
    before = [sha(f) for f in files]
    out = tmp_path / "out"
    s = run_batch(client, files, out, method="biharmonic")
    assert (s.total, s.done, s.skipped, s.failed) == (12, 12, 0, 0) and s.frames_per_second > 0
    serial = tmp_path / "serial"
    serial.mkdir()
    for f in files:
        inpaint_fits(f, serial / f.name, method="biharmonic")
        data, mask, hdr = read_out(out / f.name)
        ref, ref_mask, ref_hdr = read_out(serial / f.name)
        orig, _ = read_file(f)
        assert mask.sum() > 0 and np.array_equal(mask, ref_mask) and np.array_equal(data, ref)
        assert np.array_equal(data[mask == 0], orig[mask == 0])          # valid pixels bit-identical
        assert hdr["INPAINT"] == "biharmonic" and hdr["INPNBLK"] == ref_hdr["INPNBLK"] > 0
        # the headers too, but for the batch's stamp and the time in HISTORY
        assert hdr.pop("INPBATCH") == records(out)[0]["batch"] and "INPBATCH" not in ref_hdr
        assert [untimed(c) for c in hdr.cards] == [untimed(c) for c in ref_hdr.cards]
    recs = records(out)
    assert len(recs) == 12 and {r["status"] for r in recs} == {"done"}
    assert {r["path"] for r in recs} == {str(f.resolve()) for f in files}
    assert all(r["sha256"] == sha(f) for r, f in zip(sorted(recs, key=lambda r: r["path"]), sorted(files)))
    assert all(r["method"] == "biharmonic" and r["model_sha256"] is None and r["seconds"] > 0 for r in recs)
    stamps = {f.name: (out / f.name).stat().st_mtime_ns for f in files}
    again = run_batch(client, files, out, method="biharmonic")
    assert (again.done, again.skipped, again.failed) == (0, 12, 0)
    assert stamps == {f.name: (out / f.name).stat().st_mtime_ns for f in files}   # nothing rewritten
    assert records(out) == recs and [sha(f) for f in files] == before


def test_changed_input_is_redone_and_its_own_output_replaced(client, tmp_path):
    files = make_inputs(tmp_path / "in", n=3)
    out = tmp_path / "out"
    run_batch(client, files, out, method="biharmonic")
    img, hdr = read_file(files[1])
    write(files[1], blank(img, [(6, 6)]), hdr)                            # another block missing now
    s = run_batch(client, files, out, method="biharmonic")
    assert (s.done, s.skipped, s.failed) == (1, 2, 0)
    assert read_out(out / files[1].name)[1][6 * 32, 6 * 32] == 1
    assert len(records(out)) == 3


def test_corrupt_input_in_the_middle_is_reported_and_the_others_done(client, tmp_path):
    files = make_inputs(tmp_path / "in", corrupt=6)
    out = tmp_path / "out"
    s = run_batch(client, files, out, method="biharmonic")
    assert (s.done, s.failed) == (11, 1)
    assert s.failures[0][0] == str(files[6].resolve()) and "truncated" in s.failures[0][1]
    assert not (out / files[6].name).exists() and all((out / f.name).exists() for f in files if f != files[6])
    bad = [r for r in records(out) if r["status"] == "failed"]
    assert len(bad) == 1 and "truncated" in bad[0]["error"] and bad[0]["sha256"] == sha(files[6])
    again = run_batch(client, files, out, method="biharmonic")        # a failure is retried, the rest skipped
    assert (again.done, again.skipped, again.failed) == (0, 11, 1)


def test_existing_output_is_not_the_batch_s_to_replace(client, tmp_path):
    files = make_inputs(tmp_path / "in", n=2)
    out = tmp_path / "out"
    out.mkdir()
    (out / files[0].name).write_bytes(b"somebody's file")
    s = run_batch(client, files, out, method="biharmonic")
    assert (s.done, s.failed) == (1, 1) and "exists" in s.failures[0][1]
    assert (out / files[0].name).read_bytes() == b"somebody's file"


def test_plan_owns_only_what_the_manifest_or_absence_gives(tmp_path):
    a, b, c = (tmp_path / n for n in ("a.fts", "b.fts", "c.fts"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "b.fts").write_bytes(b"x")
    (tmp_path / "out" / "c.fts").write_bytes(b"x")
    recs = {str(c): {"path": str(c), "output": str(tmp_path / "out" / "c.fts"), "status": "running"}}
    tasks, clashes = plan_tasks([a, b, c], tmp_path / "out", {}, recs, BatchOptions(method="biharmonic"))
    assert [t.replace for t in tasks] == [True, False, True] and not clashes      # a manifest of before 0.1.2
    for status, owns, mine in (("running", False, False), ("running", True, True), ("failed", False, False),
                               ("failed", True, True)):   # whether the task that marked it owned the output
        recs[str(c)].update(status=status, owns=owns)
        tasks, _ = plan_tasks([a, b, c], tmp_path / "out", {}, recs, BatchOptions(method="biharmonic"))
        assert [t.replace for t in tasks] == [True, False, mine]
    tasks, clashes = plan_tasks([a, tmp_path / "sub" / "a.fts"], tmp_path / "out", {}, {}, BatchOptions())
    assert len(tasks) == 1 and "also the output of" in clashes[0]["error"]


def test_a_rerun_removes_what_killed_workers_left_and_nothing_else(client, tmp_path):
    files = make_inputs(tmp_path / "in", n=2)
    out = tmp_path / "out"
    out.mkdir()
    stale = [out / f".{files[0].name}.corkit-inpaint-ab12_x9z.tmp",
             out / f".{files[1].name}.corkit-inpaint-q0w9e8r7.tmp.gz"]
    keep = [out / f".{files[0].name}.tmp", out / "notes.tmp", out / ".other.fts.corkit-inpaint-ab12_x9z.tmp",
            out / f".{files[0].name}.backup01.tmp"]                     # a user's file of the same shape
    for p in stale + keep:
        p.write_bytes(b"half a file")
        os.utime(p, (time.time() - 10, time.time() - 10))             # a batch takes them 5 s unwritten
    s = run_batch(client, files, out, method="biharmonic")
    assert s.done == 2 and not any(p.exists() for p in stale) and all(p.exists() for p in keep)



def test_a_temporary_too_young_at_the_start_is_removed_at_the_end(client, tmp_path):
    """Battery s33: a run started straight after a kill -9 kept the killed writer's temporary (younger than
    RERUN_STALE_AFTER when it looked); the next run removed it."""
    from corkit_inpaint.abandoned import held
    from corkit_inpaint.batch.run import RERUN_STALE_AFTER
    files = make_inputs(tmp_path / "in", n=2)
    out = tmp_path / "out"
    out.mkdir()
    young = out / f".{files[0].name}.corkit-inpaint-ab12_x9z.tmp"
    young.write_bytes(b"half a file")           # just written, its writer gone: no lock held on it
    assert RERUN_STALE_AFTER >= 1.0
    s = run_batch(client, files, out, method="biharmonic")
    assert s.done == 2 and not young.exists()
    held_one = out / f".{files[1].name}.corkit-inpaint-cd34_y8w.tmp"     # a writer still at work: kept
    held_one.write_bytes(b"being written")
    with held(held_one):
        run_batch(client, files, out, method="biharmonic", overwrite=True)
    assert held_one.exists()

def test_default_network_with_neighbours_paired_over_the_whole_batch(client, tmp_path):
    paths, _, _ = seq_files(tmp_path)
    out = tmp_path / "out"
    s = run_batch(client, paths, out)                                    # pconv, the default model
    assert (s.done, s.failed) == (3, 0)
    pairs = neighbours_for(paths, "auto")
    assert [len(pairs[p]) for p in paths] == [1, 2, 1]
    for p in paths:
        ref = inpaint_fits(p, neighbours=pairs[p], device="cpu")
        data, mask, hdr = read_out(out / p.name)
        assert np.array_equal(data, ref[0].data) and np.array_equal(mask, ref["INPMASK"].data)
        assert hdr["INPNNB"] == len(pairs[p]) and hdr["INPAINT"] == "pconv-smooth"
    recs = records(out)
    from corkit_inpaint.network.weights import load_model
    assert {r["model_sha256"] for r in recs} == {load_model(None, device="cpu").sha256}
    model_id = lambda: id(load_model(None, device="cpu"))              # noqa: E731
    assert client.run(model_id) == client.run(model_id)                  # one model per worker, kept


def test_a_mapped_neighbour_beyond_max_gap_is_left_out_unless_the_gap_allows_it(client, tmp_path):
    """The batch passes its max_gap to every fill: another day's frame given in a mapping is read only with
    ``max_gap=None``; a bad max_gap is refused before anything is written."""
    from helpers import C3_FULL
    paths, _, _ = seq_files(tmp_path)
    mapping = {str(paths[1]): [str(C3_FULL)]}
    for gap, want in ((60.0, 0), (None, 1)):
        out = tmp_path / f"out_{gap}"
        s = run_batch(client, [paths[1]], out, method="ratio", neighbours=mapping, max_gap=gap)
        assert (s.done, s.failed) == (1, 0)
        assert read_out(out / paths[1].name)[2]["INPNNB"] == want
    with pytest.raises(ValueError, match="max_gap = -1"):
        run_batch(client, [paths[1]], tmp_path / "bad", method="ratio", neighbours=mapping, max_gap=-1)
    assert not (tmp_path / "bad").exists()


def test_a_redone_file_is_marked_running_before_its_output_is_replaced(client, tmp_path):
    """A file recorded done whose input changed is checked, marked running, then redone: a run killed while
    the worker replaces the output leaves a record that owns it, so the rerun finishes it (review s16)."""
    from corkit_inpaint.batch import Manifest
    from corkit_inpaint.batch.run import BatchSummary, _spread
    files = make_inputs(tmp_path / "in", n=2)
    out = tmp_path / "out"
    run_batch(client, files, out, method="biharmonic")
    img, hdr = read_file(files[0])
    write(files[0], blank(img, [(6, 6)]), hdr)
    opt = BatchOptions(method="biharmonic")
    with Manifest(out) as manifest:                # the appended lines, before the run's end compacts them
        tasks, _ = plan_tasks([f.resolve() for f in files], out, {}, manifest.read(), opt)
        assert all(t.done is not None and t.replace for t in tasks)
        summary = BatchSummary(total=2)
        _spread(client, tasks, opt, manifest, summary, progress=False)
        lines = [json.loads(x) for x in manifest.path.read_text().splitlines()][2:]
    assert (summary.done, summary.skipped, summary.failed) == (1, 1, 0)
    assert [(r["path"], r["status"], r["owns"]) for r in lines] == [(str(files[0].resolve()), "running", True),
                                                                    (str(files[0].resolve()), "done", True)]
    # the scheduler keeps no finished task whose worker's death would make dask run it again (it forgets a
    # released future asynchronously: a busy machine saw 1 still there, once in a full suite)
    for _ in range(50):
        if client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0:
            break
        time.sleep(0.1)
    assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0


def test_a_file_given_twice_through_a_link_is_done_once_and_two_files_of_one_name_are_refused(client, tmp_path,
                                                                                               caplog):
    from corkit_inpaint.exceptions import BatchError
    files = make_inputs(tmp_path / "in", n=1)
    (tmp_path / "lnk").mkdir()
    (tmp_path / "lnk" / files[0].name).symlink_to(files[0])
    with caplog.at_level("INFO", logger="corkit_inpaint.outputs"):
        s = run_batch(client, [files[0], tmp_path / "lnk" / files[0].name], tmp_path / "out", method="biharmonic")
    assert (s.total, s.done, s.failed) == (1, 1, 0)
    msg = f"{tmp_path}/lnk/{files[0].name}: the same file as {files[0]}, so taken once, under that name"
    assert caplog.messages.count(msg) == 1
    # a link listed before the file it points to: the file's own name is kept (battery s33: the output was named
    # after the link, and the file itself had no output under its name, told at INFO only)
    (tmp_path / "lnk" / "alias.fts").symlink_to(files[0])
    caplog.clear()
    s = run_batch(client, [tmp_path / "lnk" / "alias.fts", files[0]], tmp_path / "out3", method="biharmonic")
    assert (s.total, s.done) == (1, 1) and (tmp_path / "out3" / files[0].name).is_file()
    assert not (tmp_path / "out3" / "alias.fts").exists()
    assert any(r.levelname == "WARNING" and "alias.fts: the same file as" in r.getMessage() for r in caplog.records)
    other = make_inputs(tmp_path / "in2", n=1)
    with pytest.raises(BatchError, match="would be the output of both"):
        run_batch(client, [files[0], other[0]], tmp_path / "out2", method="biharmonic")
    assert not (tmp_path / "out2").exists()


def test_a_rerun_at_another_precision_redoes_the_files_only_where_it_applies(tmp_path):
    """The network's precision is part of the recipe where it changes the output: off the CPU, with the GPU
    workers' batcher (`--precision`). On the CPU, always float32, a rerun at another precision skips. There is
    no CUDA here: the ``cuda`` fills fall back to the CPU, but the recipe is what was asked of the device."""
    from corkit_inpaint.batch.cluster import enable_gpu_batching
    files = make_inputs(tmp_path / "in", n=2)
    cpu, gpu = tmp_path / "cpu", tmp_path / "gpu"
    counts = lambda s: (s.done, s.skipped, s.failed)                    # noqa: E731
    with local_client(1, gpu_frames=2) as c:                            # float32, the default
        assert counts(run_batch(c, files, cpu, device="cpu")) == (2, 0, 0)
        assert counts(run_batch(c, files, gpu, device="cuda")) == (2, 0, 0)
        first = {r["path"]: r["recipe"] for r in records(gpu)}
        enable_gpu_batching(c, precision="float16")
        assert counts(run_batch(c, files, cpu, device="cpu")) == (0, 2, 0)       # the CPU is float32 anyway
        assert counts(run_batch(c, files, gpu, device="cuda")) == (2, 0, 0)      # redone at float16
        assert all(r["recipe"] != first[r["path"]] for r in records(gpu))
        assert counts(run_batch(c, files, gpu, device="cuda")) == (0, 2, 0)      # and then done
        enable_gpu_batching(c, precision="float32")
        assert counts(run_batch(c, files, gpu, device="cuda")) == (2, 0, 0)      # back to float32: redone
        assert {r["path"]: r["recipe"] for r in records(gpu)} == first


def test_a_worker_s_warning_is_said_by_the_client_naming_its_file_and_kept_in_the_manifest(client, tmp_path, caplog):
    """Soak 27: a warning a worker logged ("1 all-zero block inside the field left as it is", 24 of 304 files)
    reached no one in a --workers run, and the manifest did not keep it."""
    from helpers import C3_FULL
    data, hdr = read_file(C3_FULL)
    src = write(tmp_path / "c3.fts", blank(data, [(10, 10), (12, 20)]), hdr)     # (10, 10): nothing sent around
    quiet = write(tmp_path / "c3_quiet.fts", blank(data, [(12, 20)]), hdr)
    with caplog.at_level("WARNING", logger="corkit_inpaint"):
        summary = run_batch(client, [src, quiet], tmp_path / "out", neighbours="none", progress=False)
    assert summary.done == 2
    said = [r.getMessage() for r in caplog.records if "all-zero block" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(str(src))
    recs = {r["path"]: r for r in records(tmp_path / "out") if r["status"] == "done"}
    assert any("all-zero block" in w for w in recs[str(src)]["warnings"])
    assert recs[str(quiet)]["warnings"] is None


def test_a_rerun_with_the_calibration_folder_written_otherwise_skips(client, tmp_path, calib, monkeypatch):
    """Battery s35: ``--calib-dir cal``, ``./cal`` and an absolute path made three recipes, so each rerun redid
    every file; the folder is now recorded as an absolute path."""
    import shutil
    files = make_inputs(tmp_path / "in", n=2)
    shutil.copytree(calib, tmp_path / "cal")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "l1"
    counts = lambda s: (s.done, s.skipped, s.failed)                    # noqa: E731
    assert counts(run_batch(client, files, out, command="level_1", method="biharmonic", calib_dir="cal")) == (2, 0, 0)
    for spelled in ("./cal", tmp_path / "cal", "in/../cal"):
        assert counts(run_batch(client, files, out, command="level_1", method="biharmonic",
                                calib_dir=spelled)) == (0, 2, 0), spelled


def test_a_batch_of_another_command_into_the_folder_is_refused(client, tmp_path, calib):
    """Battery s35: a level_1 batch into a fill batch's folder replaced the fill records (one per input), and the
    next fill rerun failed every file with 'exists (use --overwrite)'."""
    from corkit_inpaint.exceptions import BatchError
    files = make_inputs(tmp_path / "in", n=2)
    out = tmp_path / "out"
    counts = lambda s: (s.done, s.skipped, s.failed)                    # noqa: E731
    assert counts(run_batch(client, files, out, method="biharmonic")) == (2, 0, 0)
    before = (out / MANIFEST_NAME).read_bytes()
    with pytest.raises(BatchError, match="its manifest records a 'fill' batch; give this 'level_1' batch another"):
        run_batch(client, files, out, command="level_1", method="biharmonic", calib_dir=calib)
    assert (out / MANIFEST_NAME).read_bytes() == before and not list(out.glob("*.fits"))
    assert counts(run_batch(client, files, out, method="biharmonic")) == (0, 2, 0)


def test_a_folder_moved_with_its_manifest_is_still_the_batch_s(client, tmp_path):
    """Battery s35: records named their outputs by absolute path, so after the folder was moved every output
    was 'exists', not the batch's, and the rerun failed every file. Now it skips them, and redoes one whose
    input changed, replacing the batch's own output."""
    files = make_inputs(tmp_path / "in", n=2)
    counts = lambda s: (s.done, s.skipped, s.failed)                    # noqa: E731
    assert counts(run_batch(client, files, tmp_path / "a", method="biharmonic")) == (2, 0, 0)
    (tmp_path / "a").rename(tmp_path / "b")
    out = tmp_path / "b"
    before = {p.name: p.read_bytes() for p in out.glob("*.fts")}
    assert counts(run_batch(client, files, out, method="biharmonic")) == (0, 2, 0)
    assert {p.name: p.read_bytes() for p in out.glob("*.fts")} == before
    img, hdr = fits.getdata(files[0], header=True)
    write(files[0], img + 1.0, hdr)
    assert counts(run_batch(client, files, out, method="biharmonic")) == (1, 1, 0)
    assert read_out(out / files[0].name)[2]["INPBATCH"] == records(out)[0]["batch"]
    assert {r["output"] for r in records(out)} == {str(out / f.name) for f in files}


def test_a_manifest_copied_alone_keeps_naming_its_own_folder(client, tmp_path):
    """Review s36: with every record read as a file of the manifest's folder, a manifest copied alone into a
    folder holding a user's file of the same name claimed it ('changed since this batch wrote it'). While the
    folder its records name is there, they keep naming it: the user's file is not the batch's."""
    import shutil
    files = make_inputs(tmp_path / "in", n=1)
    counts = lambda s: (s.done, s.skipped, s.failed)                    # noqa: E731
    assert counts(run_batch(client, files, tmp_path / "a", method="biharmonic")) == (1, 0, 0)
    (tmp_path / "c").mkdir()
    shutil.copy(tmp_path / "a" / MANIFEST_NAME, tmp_path / "c" / MANIFEST_NAME)
    (tmp_path / "c" / files[0].name).write_bytes(b"the user's own file")
    summary = run_batch(client, files, tmp_path / "c", method="biharmonic")
    assert counts(summary) == (0, 0, 1) and summary.failures[0][1].endswith("exists (use overwrite / --overwrite)")
    assert (tmp_path / "c" / files[0].name).read_bytes() == b"the user's own file"


def test_a_folder_copied_with_its_manifest_is_resumed_in_the_copy(client, tmp_path):
    """Review s36 (second): with records rebased only where their folder was gone, a copy of the whole folder
    (``cp -r a b``) failed every file in b as 'exists'; a file here stamped with the record's batch is the
    batch's, so the copy resumes, and the original too."""
    import shutil
    files = make_inputs(tmp_path / "in", n=2)
    counts = lambda s: (s.done, s.skipped, s.failed)                    # noqa: E731
    assert counts(run_batch(client, files, tmp_path / "a", method="biharmonic")) == (2, 0, 0)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert counts(run_batch(client, files, tmp_path / "b", method="biharmonic")) == (0, 2, 0)
    assert counts(run_batch(client, files, tmp_path / "a", method="biharmonic")) == (0, 2, 0)
    assert {r["output"] for r in records(tmp_path / "b")} == {str(tmp_path / "b" / f.name) for f in files}
