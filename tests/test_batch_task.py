"""`corkit_inpaint.batch.task`: one file on a worker (run here in-process: it needs no scheduler)."""

import pytest
from helpers import sha

from corkit_inpaint.batch.task import BatchOptions, FileTask, one_line, process_file
from corkit_inpaint.exceptions import InputError

OPT = BatchOptions(method="biharmonic", batch="5ab1e" + "0" * 27)    # as a batch runs them: its outputs stamped


def test_done_then_skipped_only_while_its_recipe_and_output_hold(blanked_file, tmp_path):
    dst = tmp_path / "out.fts"
    r = process_file(FileTask(str(blanked_file), str(dst), replace=True), OPT)
    assert r["status"] == "done" and r["sha256"] == sha(blanked_file) and r["blocks"] > 0 and dst.exists()
    assert r["error"] is None and r["method"] == "biharmonic" and r["model_sha256"] is None
    assert r["output_sha256"] == sha(dst) and r["owns"] is True and len(r["recipe"]) == 64
    done = (r["recipe"], r["output_sha256"])
    again = process_file(FileTask(str(blanked_file), str(dst), done=done), OPT)
    assert again["status"] == "skipped"
    other = process_file(FileTask(str(blanked_file), str(dst), replace=True, done=done),
                         BatchOptions(method="biharmonic", refill=True))                  # other options
    assert other["status"] == "done" and other["recipe"] != r["recipe"]
    done = (r["recipe"], other["output_sha256"])                 # the output that run wrote (its HISTORY differs)
    nb = tmp_path / "nb.fts"
    nb.write_bytes(blanked_file.read_bytes())
    with_nb = process_file(FileTask(str(blanked_file), str(dst), (str(nb),), replace=True, done=done), OPT)
    assert with_nb["status"] == "done" and with_nb["recipe"] != r["recipe"]               # another neighbour
    nb.write_bytes(blanked_file.read_bytes()[:-2880] + bytes(2880))
    changed = process_file(FileTask(str(blanked_file), str(dst), (str(nb),), replace=True,
                                    done=(with_nb["recipe"], with_nb["output_sha256"])), OPT)
    assert changed["status"] == "done" and changed["recipe"] != with_nb["recipe"]         # its pixels changed
    r = process_file(FileTask(str(blanked_file), str(dst), replace=True), OPT)
    dst.write_bytes(dst.read_bytes()[:2880])                  # torn by somebody else: said, not skipped
    done = (r["recipe"], r["output_sha256"])
    torn = process_file(FileTask(str(blanked_file), str(dst), replace=True, done=done), OPT)
    assert torn["status"] == "failed" and "changed since this batch wrote it" in torn["error"]
    redo = process_file(FileTask(str(blanked_file), str(dst), replace=True, done=done, overwrite=True), OPT)
    assert redo["status"] == "done" and redo["output_sha256"] == sha(dst) and dst.stat().st_size > 2880


def test_a_fifo_input_is_a_failed_record_and_never_read(tmp_path):
    import os
    fifo = tmp_path / "in.fts"
    os.mkfifo(fifo)
    r = process_file(FileTask(str(fifo), str(tmp_path / "o.fts"), replace=True), OPT)     # would block if read
    assert r["status"] == "failed" and "not a regular file" in r["error"]


def test_the_network_s_full_sha256_is_recorded(blanked_file, tmp_path):
    from corkit_inpaint.network.weights import load_model
    r = process_file(FileTask(str(blanked_file), str(tmp_path / "o.fts")), BatchOptions())
    assert r["status"] == "done" and r["model_sha256"] == load_model(None, device="cpu").sha256


@pytest.mark.parametrize("make", ["missing", "not_fits"])
def test_a_bad_file_is_a_failed_record_never_an_exception(tmp_path, make):
    src = tmp_path / "bad.fts"
    if make == "not_fits":
        src.write_text("not a FITS file\n")
    r = process_file(FileTask(str(src), str(tmp_path / "o.fts")), OPT)
    assert r["status"] == "failed" and r["error"] and "\n" not in r["error"] and r["seconds"] >= 0
    assert not (tmp_path / "o.fts").exists()
    if make == "missing":               # said as a serial run says it (battery s33: the raw OSError's text)
        assert r["error"] == f"{src}: cannot be read (No such file or directory)"


def test_one_line():
    assert one_line(InputError("a.fts: bad\n  really")) == "a.fts: bad really"
    assert one_line(KeyError("k")) == "KeyError: 'k'" and one_line(RuntimeError()) == "RuntimeError"


def test_a_failed_record_claims_only_an_output_that_is_there(tmp_path):
    dst = tmp_path / "o.fts"
    gone = process_file(FileTask(str(tmp_path / "missing.fts"), str(dst), replace=True), OPT)
    assert gone["status"] == "failed" and gone["owns"] is False              # a file put there later is not ours
    dst.write_bytes(b"an output this batch wrote earlier")
    kept = process_file(FileTask(str(tmp_path / "missing.fts"), str(dst), replace=True), OPT)
    assert kept["status"] == "failed" and kept["owns"] is True               # one failed attempt keeps the claim
    foreign = process_file(FileTask(str(tmp_path / "missing.fts"), str(dst), replace=False), OPT)
    assert foreign["owns"] is False


def test_an_output_changed_since_the_batch_wrote_it_is_not_replaced(blanked_file, tmp_path):
    dst = tmp_path / "out.fts"
    r = process_file(FileTask(str(blanked_file), str(dst), replace=True), OPT)
    dst.write_bytes(dst.read_bytes() + b"edited by hand")
    task = FileTask(str(blanked_file), str(dst), replace=True, done=(r["recipe"], r["output_sha256"]))
    kept = process_file(task, OPT)
    assert kept["status"] == "failed" and "changed since this batch wrote it" in kept["error"]
    assert dst.read_bytes().endswith(b"edited by hand") and kept["owns"] is False
    forced = process_file(FileTask(task.src, task.output, replace=True, done=task.done, overwrite=True), OPT)
    assert forced["status"] == "done" and not dst.read_bytes().endswith(b"edited by hand")


def test_the_default_model_is_part_of_the_recipe(monkeypatch, tmp_path):
    import json

    from corkit_inpaint.batch.task import recipe
    from corkit_inpaint.network.registry import PACKAGE_DIR
    task = FileTask("a.fts", "b.fts")
    before = recipe(task, BatchOptions(), "0" * 64)
    reg = json.loads((PACKAGE_DIR / "registry.json").read_text())
    reg["default"] = next(n for n in reg["models"] if n != reg["default"])
    (tmp_path / "r.json").write_text(json.dumps(reg))
    monkeypatch.setenv("CORKIT_INPAINT_REGISTRY", str(tmp_path / "r.json"))
    assert recipe(task, BatchOptions(), "0" * 64) != before


def test_a_level1_recipe_changes_with_the_calibration_files(tmp_path, calib):
    import shutil

    from corkit_inpaint.batch.task import recipe
    mine = tmp_path / "calib"
    shutil.copytree(calib, mine)
    task = FileTask(str(tmp_path / "a.fts"), str(tmp_path / "out" / "a.fits"))
    opt = BatchOptions(command="level_1", method="biharmonic", calib_dir=str(mine))
    before = recipe(task, opt, "0" * 64)
    assert recipe(task, opt, "0" * 64) == before
    ramp = mine / "C3ramp.fts"
    ramp.write_bytes(ramp.read_bytes() + b"\0" * 2880)          # an updated calibration file
    assert recipe(task, opt, "0" * 64) != before
    after = recipe(task, opt, "0" * 64)
    (mine / "data").mkdir(exist_ok=True)
    (mine / "data" / "SO_AT_ROL_20250101_V01.DAT").write_text("another date's roll")
    assert recipe(task, opt, "0" * 64) == after                  # a file no level 1 of this kind opens
    fill = BatchOptions(command="fill", method="biharmonic", calib_dir=str(mine))
    assert recipe(task, fill, "0" * 64) == recipe(task, fill, "0" * 64)


def test_recipe_hashes_the_weights_file_a_fill_would_load(env, tmp_path, monkeypatch):
    """A bare registry name that is also a file in the working folder is loaded as that file
    (`resolve_weights`), so the recipe records that file's sha256, not the registry's: a changed file redoes."""
    from corkit_inpaint.batch.task import recipe
    task = FileTask(str(tmp_path / "a.fts"), str(tmp_path / "out.fts"), replace=True)
    monkeypatch.chdir(tmp_path)
    opt = BatchOptions(command="fill", method="pconv", weights="tiny")
    by_name = recipe(task, opt, "0" * 64)
    (tmp_path / "tiny").write_bytes(b"one model")
    first = recipe(task, opt, "0" * 64)
    (tmp_path / "tiny").write_bytes(b"another model")
    assert len({by_name, first, recipe(task, opt, "0" * 64)}) == 3


def test_recipe_of_the_default_model_ignores_a_file_named_like_it(tmp_path, monkeypatch):
    """weights=None loads the default model from the package, whatever the working folder holds."""
    from corkit_inpaint.batch.task import recipe
    from corkit_inpaint.network.registry import default_model_name
    task = FileTask(str(tmp_path / "a.fts"), str(tmp_path / "out.fts"), replace=True)
    monkeypatch.chdir(tmp_path)
    opt = BatchOptions(command="fill", method="pconv")
    before = recipe(task, opt, "0" * 64)
    (tmp_path / default_model_name()).write_bytes(b"an unrelated file")
    assert recipe(task, opt, "0" * 64) == before
