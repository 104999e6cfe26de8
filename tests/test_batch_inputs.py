"""`run_batch` never writes over an input of the run -- a file, a pool file, a given neighbour -- even with
``overwrite``: it raises `BatchError` before anything is written (no manifest, inputs unchanged).
"""

import os
import shutil

import pytest
from helpers import C3_SEQ, sha

from corkit_inpaint.batch import MANIFEST_NAME, local_client, run_batch
from corkit_inpaint.exceptions import BatchError
from corkit_inpaint.outputs import input_clash


@pytest.fixture(scope="module")
def client():
    with local_client(1) as c:
        yield c


@pytest.fixture
def tree(tmp_path):
    """Real C3 frames: ``a/x.fts`` and ``b/x.fts`` share a name (different frames), ``c/y.fts`` a third."""
    for folder, name, src in (("a", "x.fts", C3_SEQ[1]), ("b", "x.fts", C3_SEQ[0]), ("c", "y.fts", C3_SEQ[2])):
        (tmp_path / folder).mkdir()
        shutil.copyfile(src, tmp_path / folder / name)
    return tmp_path


def snapshot(root):
    return {str(p.relative_to(root)): sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


def test_pool_file_as_output_is_refused_before_anything_is_written(client, tree):
    before = snapshot(tree)
    with pytest.raises(BatchError, match="is the input file"):
        run_batch(client, [tree / "a" / "x.fts", tree / "c" / "y.fts"], tree / "b", method="ratio",
                  pool=[tree / "b" / "x.fts"], overwrite=True)
    assert snapshot(tree) == before and not (tree / "b" / MANIFEST_NAME).exists()


def test_another_input_or_a_given_neighbour_as_output_is_refused(client, tree):
    before = snapshot(tree)
    a, b, c = tree / "a" / "x.fts", tree / "b" / "x.fts", tree / "c" / "y.fts"
    with pytest.raises(BatchError, match="is the input file"):
        run_batch(client, [a, b], tree / "b", method="ratio", neighbours="none", overwrite=True)
    os.link(b, tree / "c" / "x.fts")                       # c/x.fts: a hard link to the neighbour b/x.fts
    with pytest.raises(BatchError, match=r"or a link to it"):
        run_batch(client, [a], tree / "c", method="ratio", neighbours={a: [b]}, overwrite=True)
    assert {k: v for k, v in snapshot(tree).items() if k != "c/x.fts"} == before
    assert not any((tree / d / MANIFEST_NAME).exists() for d in "abc")
    assert sha(c) == before["c/y.fts"]


def test_input_clash_links_and_absent_files(tmp_path):
    src = tmp_path / "src.fts"
    src.write_bytes(b"x")
    os.symlink(src, tmp_path / "soft.fts")
    assert "or a link to it" in input_clash([tmp_path / "soft.fts"], [src])
    assert "is the input file" in input_clash([tmp_path / "sub" / ".." / "src.fts"], [src])
    assert input_clash([tmp_path / "gone.fts"], [tmp_path / "." / "gone.fts"])      # neither exists: same path
    assert input_clash([tmp_path / "other.fts"], [src, tmp_path / "gone.fts"]) == ""
