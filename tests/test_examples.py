"""The user-facing examples run as a newcomer runs them, and say what their docstrings promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, outdir: Path) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1", CORKIT_INPAINT_OFFLINE="1", MPLBACKEND="Agg")
    res = subprocess.run([sys.executable, str(EXAMPLES / name), "--outdir", str(outdir), "--device", "cpu"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """``ran(name)``: the example's output folder and printed text, run once per module."""
    done = {}

    def get(name):
        if name not in done:
            outdir = tmp_path_factory.mktemp(name.removesuffix(".py"))
            done[name] = outdir, run_example(name, outdir)
        return done[name]
    return get


@pytest.mark.parametrize("name, written", [
    ("fill_real_c2.py", ["lasco_clear_filled.fts", "before_after.png"]),
    ("fill_c3_sequence.py", ["c3_seq_filled.fts", "c3_seq_alone.fts", "c3_seq_ratio.fts", "c3_sequence.png"]),
])
def test_example_runs_and_keeps_the_valid_pixels(ran, name, written):
    tmp_path, text = ran(name)
    assert "bit-identical" in text and ": yes" in text
    for f in written:
        assert (tmp_path / f).stat().st_size > 0, f
    holes = next(tmp_path.glob("*_holes.fts"))
    with fits.open(holes) as h0, fits.open(tmp_path / written[0]) as h1:
        mask = h1["INPMASK"].data.astype(bool)
        assert mask.any() and np.array_equal(h1[0].data[~mask], h0[0].data[~mask])
        assert (h1["INPSIGMA"].data[mask] > 0).all() and not h1["INPSIGMA"].data[~mask].any()


def test_the_c2_example_checks_each_holes_sum_against_region_sigma(ran):
    import re
    text = ran("fill_real_c2.py")[1]
    within, holes = map(int, re.search(r"sums: (\d+) of (\d+) holes", text).groups())
    assert holes == 6 and 1 <= within <= holes        # the 12 blocks make 6 holes; 4 within on this draw


def test_the_sequence_example_fills_from_both_neighbours_and_gains_on_the_frame_alone(ran):
    text = ran("fill_c3_sequence.py")[1]
    assert "from 2 neighbours: 32310943.fts (-12.0 min), 32310945.fts (+12.0 min)" in text
    rows = {line[:28].strip(): [float(v) for v in line[28:].split()[:3]] for line in text.splitlines()
            if line.startswith(("pconv-smooth,", "ratio,"))}
    nb, alone = rows["pconv-smooth, 2 neighbours"], rows["pconv-smooth, alone"]
    assert nb[0] < 0.5 * alone[0] and nb[1] < alone[1]       # the inner and mid field: the neighbours' gain
