"""`corkit_inpaint.batch.task`: one file on a worker (run here in-process: it needs no scheduler)."""

import pytest
from helpers import sha

from corkit_inpaint.batch.task import BatchOptions, FileTask, one_line, process_file
from corkit_inpaint.exceptions import InputError

OPT = BatchOptions(method="biharmonic")


def test_done_then_skipped_when_the_input_is_unchanged(blanked_file, tmp_path):
    dst = tmp_path / "out.fts"
    r = process_file(FileTask(str(blanked_file), str(dst), replace=True), OPT)
    assert r["status"] == "done" and r["sha256"] == sha(blanked_file) and r["blocks"] > 0 and dst.exists()
    assert r["error"] is None and r["method"] == "biharmonic" and r["model_sha256"] is None
    again = process_file(FileTask(str(blanked_file), str(dst), done_sha256=r["sha256"]), OPT)
    assert again["status"] == "skipped"
    stale = process_file(FileTask(str(blanked_file), str(dst), replace=True, done_sha256="0" * 64), OPT)
    assert stale["status"] == "done"


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


def test_one_line():
    assert one_line(InputError("a.fts: bad\n  really")) == "a.fts: bad really"
    assert one_line(KeyError("k")) == "KeyError: 'k'" and one_line(RuntimeError()) == "RuntimeError"
