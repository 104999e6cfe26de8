"""``fill`` never writes over an input of the run -- a file to fill, a pool file, a link to one -- even with
``--overwrite``: the run is refused up front (one line, exit 2), nothing is written, every input is unchanged.
"""

import os
import shutil
import subprocess
import sys

import pytest
from helpers import C3_SEQ, sha

ENV = dict(os.environ, OMP_NUM_THREADS="1")


def fill(*args, cwd):
    return subprocess.run([sys.executable, "-m", "corkit_inpaint", "fill", *map(str, args)], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def tree(tmp_path):
    """Real C3 frames: ``a/x.fts`` and ``b/x.fts`` share a name (different frames), ``c/y.fts`` a third."""
    for folder, name, src in (("a", "x.fts", C3_SEQ[1]), ("b", "x.fts", C3_SEQ[0]), ("c", "y.fts", C3_SEQ[2])):
        (tmp_path / folder).mkdir()
        shutil.copyfile(src, tmp_path / folder / name)
    os.link(tmp_path / "c" / "y.fts", tmp_path / "hard.fts")
    os.symlink(tmp_path / "b" / "x.fts", tmp_path / "soft.fts")
    return tmp_path


def snapshot(root):
    return {str(p.relative_to(root)): sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


CASES = {
    "pool file as output": ["a/x.fts", "c/y.fts", "--neighbour-pool", "b/x.fts", "--outdir", "b"],
    "another file to fill": ["a/x.fts", "b/x.fts", "--outdir", "b", "--neighbours", "none"],
    "hard link to a pool file": ["a/x.fts", "--neighbour-pool", "c/y.fts", "-o", "hard.fts"],
    "symbolic link to a pool file": ["a/x.fts", "--neighbour-pool", "b/x.fts", "-o", "soft.fts"],
    "batch: pool file as output": ["a/x.fts", "c/y.fts", "--neighbour-pool", "b/x.fts", "--outdir", "b",
                                   "--workers", "1"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_over_an_input_is_refused_up_front(tree, case):
    before = snapshot(tree)
    r = fill(*CASES[case], "--overwrite", "--method", "ratio", cwd=tree)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("corkit-inpaint: error: ") and "is the input file" in lines[0]
    assert "Traceback" not in r.stderr
    assert snapshot(tree) == before                  # every input unchanged, nothing written (no manifest)
    assert os.path.islink(tree / "soft.fts")


def test_a_run_beside_its_inputs_still_writes(tree):
    """Control: the same files, written to a folder that holds no input, are filled."""
    (tree / "out").mkdir()
    before = snapshot(tree)
    r = fill("a/x.fts", "c/y.fts", "--neighbour-pool", "b/x.fts", "--outdir", "out", "--overwrite",
             "--method", "ratio", cwd=tree)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tree / "out").iterdir()) == ["x.fts", "y.fts"]
    assert {k: v for k, v in snapshot(tree).items() if not k.startswith("out")} == before
