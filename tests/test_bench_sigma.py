"""``benchmarks/bench_sigma.py``: its baseline, ``pconv-smooth`` with no sigma step, still fills."""

import sys
from pathlib import Path

import numpy as np
from helpers import C3_SEQ, read_file

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def test_the_baseline_fills_with_no_sigma():
    """Review h5: `NoSigma._sigma` kept an older signature of `PConvFill._sigma` (7 arguments, not 8 with
    ``limit``), so every fill by `NO_SIGMA` raised TypeError and the benchmark stopped (as in f87e330)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_sigma
    finally:
        sys.path.remove(str(BENCHMARKS))
    data, hdr = read_file(C3_SEQ[1])
    mask = blocks_to_mask(data.shape, [(8, 16), (12, 22)])
    frame = Frame.build(np.where(mask, 0.0, data.astype(np.float64)), mask, hdr)
    res = bench_sigma.NO_SIGMA.fill(frame, device="cpu")
    assert res.sigma is None and np.array_equal(res.filled, mask)
