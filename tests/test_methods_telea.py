"""`corkit_inpaint.methods.telea`: OpenCV's Telea fill, and a clear error without OpenCV."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import BLANK, blank, read_real

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame
from corkit_inpaint.methods.telea import TELEA


def test_fill_keeps_valid_pixels_and_is_close():
    pytest.importorskip("cv2")
    data, header = read_real()
    mask = blocks_to_mask(data.shape, BLANK)
    frame = Frame.build(blank(data, BLANK), mask, header)
    res = TELEA.fill(frame)
    assert np.array_equal(res.filled, mask) and res.provenance.method == "telea"
    assert np.array_equal(res.values[~mask], frame.image[~mask])
    truth = data[mask].astype(float)
    assert np.all(np.isfinite(res.values)) and np.median(np.abs(res.values[mask] - truth) / truth) < 0.05


def test_flat_field_survives_the_16_bit_quantisation():
    """A window of constant context: the quantisation span is degenerate, the fill is that constant."""
    pytest.importorskip("cv2")
    img = np.full((96, 96), 1234.0)
    mask = np.zeros(img.shape, dtype=bool)
    mask[32:64, 32:64] = True
    frame = Frame.build(np.where(mask, 0, img), mask)
    np.testing.assert_allclose(TELEA.fill(frame).values[mask], 1234.0, rtol=1e-9)


def test_without_opencv_a_one_line_method_error():
    code = textwrap.dedent("""
        import sys
        sys.modules["cv2"] = None                    # import cv2 -> ImportError
        import numpy as np
        import corkit_inpaint as ci
        img = np.full((64, 64), 100.0)
        mask = np.zeros((64, 64), bool)
        mask[16:48, 16:48] = True
        try:
            ci.inpaint_array(img, mask, method="telea")
        except ci.MethodError as exc:
            print(str(exc))
            sys.exit(3)
        sys.exit(0)
    """)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 3, p.stderr
    msg = p.stdout.strip()
    assert "\n" not in msg and "needs OpenCV" in msg and "opencv-python-headless" in msg and "telea" in msg
