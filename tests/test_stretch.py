"""`corkit_inpaint.stretch`: the asinh value space with its exact inverse, and Immerkaer's noise estimate."""

import numpy as np
import pytest

from corkit_inpaint.stretch import Stretch, noise_sigma


def test_noise_sigma_of_white_noise():
    rng = np.random.default_rng(0)
    for sigma in (0.5, 3.0, 40.0):
        img = 1000.0 + sigma * rng.standard_normal((300, 300))
        assert noise_sigma(img) == pytest.approx(sigma, rel=0.03)


def test_noise_sigma_ignores_smooth_structure_and_invalid_pixels():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:256, 0:256].astype(float)
    plane = 5.0 + 0.3 * xx - 0.7 * yy                        # the Laplacian of a plane is 0
    assert noise_sigma(plane) == pytest.approx(0.0, abs=1e-9)
    img = plane + 2.0 * rng.standard_normal(plane.shape)
    valid = np.ones(img.shape, dtype=bool)
    valid[100:140, 100:140] = False
    spoiled = img.copy()
    spoiled[100:140, 100:140] = 1e6 * rng.random((40, 40))   # garbage where not valid
    assert noise_sigma(spoiled, valid) == pytest.approx(noise_sigma(img, valid))
    assert noise_sigma(spoiled, valid) == pytest.approx(2.0, rel=0.05)
    assert noise_sigma(spoiled) > 1000
    # nothing usable: a checkerboard mask leaves no full 3x3 neighbourhood
    assert noise_sigma(img, (xx + yy) % 2 == 0) == 0.0


def test_forward_inverse_and_rate():
    st = Stretch(bias=500.0, exptime=20.0, softening=0.5)
    x = np.array([500.0, 510.0, 400.0, 1e5, 5e6])
    s = st.forward(x)
    np.testing.assert_allclose(s, np.arcsinh((x - 500.0) / 10.0), rtol=1e-15)
    np.testing.assert_allclose(st.inverse(s), x, rtol=1e-12)
    assert s[0] == 0 and s[2] < 0                            # the bias maps to 0, below it negative
    np.testing.assert_allclose(st.to_rate(x), (x - 500.0) / 20.0)
    # linear below the knee, logarithmic above it
    assert st.forward(500.0 + 0.01 * 10.0) == pytest.approx(0.01, rel=1e-4)
    assert st.forward(500.0 + 2e4 * 10.0) - st.forward(500.0 + 1e4 * 10.0) == pytest.approx(np.log(2), rel=1e-6)


def test_from_image_puts_the_knee_at_the_noise():
    rng = np.random.default_rng(2)
    rate = 200.0 + 4.0 * rng.standard_normal((200, 200))
    bias, exptime = 300.0, 25.0
    img = rate * exptime + bias
    valid = np.ones(img.shape, dtype=bool)
    st = Stretch.from_image(img, valid, bias=bias, exptime=exptime)
    assert (st.bias, st.exptime) == (bias, exptime)
    assert st.softening == pytest.approx(noise_sigma(rate, valid)) == pytest.approx(4.0, rel=0.05)
    rate = (img - bias) / exptime
    assert Stretch.from_rate(rate, valid, bias=bias, exptime=exptime) == st           # the same choice
    assert Stretch.from_rate(rate, valid, bias=bias, exptime=exptime, noise=7.0).softening == 7.0
    # noiseless data: the knee falls to a thousandth of the typical rate, never to zero
    flat = Stretch.from_image(np.full((50, 50), bias + 10.0 * exptime), np.ones((50, 50), bool),
                              bias=bias, exptime=exptime)
    assert flat.softening == pytest.approx(1e-2)
    nothing = Stretch.from_image(np.zeros((8, 8)), np.zeros((8, 8), bool))
    assert nothing.softening > 0 and np.isfinite(nothing.forward(np.ones(2))).all()
