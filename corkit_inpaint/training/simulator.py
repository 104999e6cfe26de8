"""Synthetic LASCO C2/C3 level-0.5 frames, seeded and reproducible.

A frame is built on the full-resolution 1024x1024 CCD grid in DN/s, turned
into DN with a noise model calibrated on the real C2 frame in the tests
(``tests/data/lasco_clear.fts``), summed 2x2 when asked (``LEBXSUM = 2``), and
stored as int32 like the NRL archive. See ``examples/calibrate_synthetic.py``
for the side-by-side comparison with the real frame.

Components: K+F corona (power-law radial profile), streamers with azimuthal
structure and fine radial rays, CME loops and fronts, stars and planets
(some saturated, with bleed), cosmic-ray hits, Poisson, read and
compression-like multiplicative noise, vignetting, the occulter with its
diffraction ring, the field stop, C3's pylon, and never-transmitted blocks.

The component functions (`draw_scene`, `draw_corona`, `draw_cme`,
`vignetting`, `draw_stars`, `cosmic_rays`, `zero_never_sent`, `frame_header`) are
shared with `corkit_inpaint.training.sequence`, which observes one scene at
several times; each draws from the generator it is given in a fixed order, so
`make_frame` stays the same for every seed and version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from scipy import ndimage

from ..blocks import BLOCK

__all__ = ["GENERATOR_VERSION", "VERSIONS", "SATURATION", "KINDS", "make_frame",
           # components, shared with `sequence`
           "Scene", "Corona", "Cme", "draw_scene", "polar_grid", "sample_polar", "draw_corona",
           "draw_cme", "cme_factor", "vignetting", "draw_stars", "cosmic_rays", "zero_never_sent", "frame_header"]

GENERATOR_VERSION = "3"
#: Versions ``make_frame`` can still draw, so that older recorded training runs can be remade.
#: "2" drew star fluxes uniformly in log from 10 to 3e4 DN/s (far more bright stars than
#: the real C2 frame has) and a wide, faint diffraction ring. "3" drew C3's pylon 30-40 px wide with
#: sharp edges and C2 without one; "4" draws both pylons as measured on the real frames (`pylon`).
VERSIONS = ("2", "3", "4")
SATURATION = 65532
#: The kinds of frame, (detector, 2x2-summed), in the order every set of simulated frames or sequences
#: (evaluation, the error tables' and the widening's fits) cycles through them.
KINDS = (("C2", False), ("C2", True), ("C3", False), ("C3", True))

_RSUN = {"C2": 80.7, "C3": 17.1}
_CENTRE = {"C2": (512.0, 506.0), "C3": (516.0, 532.0)}
_N = 1024          # full-resolution CCD side


def polar_grid(rng: np.random.Generator, *, n_th: int, n_r: int, s_th: float, s_r: float) -> np.ndarray:
    """A smooth random field on an (angle, log radius) grid, normalised to unit std."""
    g = rng.standard_normal((n_th, n_r))
    g = ndimage.gaussian_filter(g, (s_th, s_r), mode=("wrap", "nearest"))
    g /= g.std() + 1e-12
    return g


def sample_polar(grid: np.ndarray, r: np.ndarray, th: np.ndarray, rmax: float) -> np.ndarray:
    """Sample a `polar_grid` at radii ``r`` (solar radii, log-spaced from 1 to ``rmax``) and angles ``th``."""
    n_th, n_r = grid.shape
    ti = (th + np.pi) / (2 * np.pi) * n_th
    ri = np.log(np.clip(r, 1.0, rmax)) / np.log(rmax) * (n_r - 1)
    return ndimage.map_coordinates(grid, [ti, ri], order=1, mode="grid-wrap")


def frame_header(det: str, summed: bool, exptime: float, offset: float, cx: float, cy: float, seed: int,
                 shape: tuple[int, int], version: str) -> fits.Header:
    """A LASCO-like level-0.5 header; ``cx, cy`` are the Sun centre on the full-resolution grid (0-based)."""
    h = fits.Header()
    s = 2 if summed else 1
    cards = [
        ("FILENAME", f"synth_{seed:08d}.fts"), ("FILEORIG", f"synth_{seed:08d}.img"),
        ("DATE", "2026/11/22 00:00:00.000"), ("DATE-OBS", "2000/09/03"),
        ("TIME-OBS", "02:54:11.085"), ("TELESCOP", "SOHO"), ("INSTRUME", "LASCO"),
        ("DETECTOR", det), ("READPORT", "C"), ("SUMROW", 0), ("SUMCOL", 0),
        ("LEBXSUM", s), ("LEBYSUM", s), ("FILTER", "Orange" if det == "C2" else "Clear"),
        ("POLAR", "Clear"), ("EXPTIME", float(exptime)),
        ("OFFSET", float(offset) / (s * s), "bias of one CCD pixel: the summed frame holds it once in all"),
        ("MID_DATE", 51790), ("MID_TIME", 10463.6), ("OBT_TIME", 1.3466409e9),
        ("R1COL", 20), ("R1ROW", 1), ("R2COL", 1043), ("R2ROW", 1024),
        ("DATASAT", 0.0), ("CROTA1", 0.0), ("CROTA2", 0.0),
        ("CRPIX1", cx / s + 1.0), ("CRPIX2", cy / s + 1.0),
        ("CDELT1", (11.9 if det == "C2" else 56.0) * s), ("CDELT2", (11.9 if det == "C2" else 56.0) * s),
        ("CTYPE1", "SOLAR-X"), ("CTYPE2", "SOLAR-Y"), ("CUNIT1", "ARCSEC"), ("CUNIT2", "ARCSEC"),
        ("SYNTHGEN", version, "corkit_inpaint.synthetic version"),
        ("SYNTSEED", int(seed), "corkit_inpaint.synthetic seed"),
    ]
    for k, v, *c in cards:
        h[k] = (v, c[0]) if c else v
    h["HISTORY"] = f"corkit_inpaint.synthetic v{version} seed {seed}: simulated level 0.5"
    return h


@dataclass
class Scene:
    """The drawn geometry and exposure of a frame, shared by the component functions.

    Arrays are on the full-resolution grid: ``r`` (solar radii) and ``th``
    (position angle) about the Sun centre ``cx, cy``; ``rs`` is the solar radius
    in full-resolution pixels.
    """

    det: str
    summed: bool
    v3: bool
    rs: float
    cx: float
    cy: float
    r: np.ndarray = None       # radius in solar radii
    th: np.ndarray = None      # position angle
    xx: np.ndarray = None
    yy: np.ndarray = None
    r_occ: float = 0.0
    r_fs: float = 0.0
    b0: float = 0.0
    exptime: float = 0.0
    pylon: int = 3             # the generator version whose pylon `vignetting` draws


def draw_scene(rng: np.random.Generator, detector: str | None, summed: bool | None, v3: bool) -> tuple[Scene, float]:
    """Detector, summing, Sun centre and the detector's brightness and exposure; returns the scene and alpha."""
    det = detector or ("C2" if rng.random() < 0.5 else "C3")
    summed = bool(rng.random() < 0.5) if summed is None else summed
    rs = _RSUN[det]
    cx = _CENTRE[det][0] + rng.normal(0, 4)
    cy = _CENTRE[det][1] + rng.normal(0, 4)
    sc = Scene(det, summed, v3, rs, cx, cy)
    sc.yy, sc.xx = np.mgrid[0:_N, 0:_N].astype(np.float64)
    sc.r = np.hypot(sc.xx - cx, sc.yy - cy) / rs
    sc.th = np.arctan2(sc.yy - cy, sc.xx - cx)
    if det == "C2":
        sc.r_occ, sc.r_fs = 2.0 + rng.normal(0, 0.03), 6.3
        alpha = rng.uniform(0.8, 1.7)
        sc.b0 = rng.uniform(60, 220)                   # DN/s per pixel at 2.5 Rsun
        sc.exptime = float(rng.choice([25.1, 25.1, 18.0, 60.0, 8.0]))
    else:
        sc.r_occ, sc.r_fs = 3.7 + rng.normal(0, 0.05), 30.0
        alpha = rng.uniform(1.4, 2.4)
        sc.b0 = rng.uniform(8, 40)                     # DN/s per pixel at 5 Rsun
        sc.exptime = float(rng.choice([18.0, 19.1, 30.0, 12.0]))
    return sc, alpha


@dataclass
class Corona:
    """The layers of the K+F corona: ``base * (1 + stream) * exp(a_rays * rays + a_blobs * blobs)``.

    ``blobs`` is `sample_polar` of ``blob_grid`` at the scene's radii (``rmax`` `CORONA_RMAX`).
    """

    base: np.ndarray
    stream: np.ndarray
    rays: np.ndarray
    blobs: np.ndarray
    blob_grid: np.ndarray
    a_rays: float
    a_blobs: float

    def image(self, stream: np.ndarray | None = None, blobs: np.ndarray | None = None) -> np.ndarray:
        """The corona in DN/s, optionally with other streamer and blob layers."""
        stream = self.stream if stream is None else stream
        blobs = self.blobs if blobs is None else blobs
        tex = self.a_rays * self.rays + self.a_blobs * blobs
        return self.base * (1.0 + stream) * np.exp(tex)


CORONA_RMAX = 40.0


def draw_corona(rng: np.random.Generator, sc: Scene, alpha: float) -> Corona:
    """K+F corona: power-law radial profile, streamers (slightly non-radial), fine rays and blobs."""
    r, th = sc.r, sc.th
    r_ref = 2.5 if sc.det == "C2" else 5.0
    rr = np.maximum(r, 0.5)
    base = sc.b0 * (rr / r_ref) ** (-alpha)
    stream = np.zeros_like(r)
    for _ in range(rng.integers(2, 7)):
        th0 = rng.uniform(-np.pi, np.pi)
        tilt = rng.normal(0, 0.08)
        w = rng.uniform(0.04, 0.3)
        a = rng.uniform(0.2, 1.5) * np.exp(-rng.uniform(0, 0.3) * (rr - sc.r_occ))
        d = np.angle(np.exp(1j * (th - th0 - tilt * np.log(rr / sc.r_occ))))
        stream += a * np.exp(-0.5 * (d / w) ** 2)
    rmax = CORONA_RMAX
    rays = sample_polar(polar_grid(rng, n_th=1440, n_r=256, s_th=rng.uniform(1.0, 3.0), s_r=rng.uniform(4.0, 12.0)),
                        r, th, rmax)
    blob_grid = polar_grid(rng, n_th=1440, n_r=256, s_th=rng.uniform(3.0, 8.0), s_r=rng.uniform(3.0, 8.0))
    blobs = sample_polar(blob_grid, r, th, rmax)
    return Corona(base, stream, rays, blobs, blob_grid, rng.uniform(0.002, 0.012), rng.uniform(0.0, 0.006))


@dataclass(frozen=True)
class Cme:
    """A CME loop: a front of radius ``rho`` (solar radii) about a centre ``rc`` out at angle ``thc``.

    ``thick`` is the front's width as a fraction of ``rho``; ``a_front`` and
    ``a_core`` its and the core's relative brightening.
    """

    thc: float
    rc: float
    rho: float
    thick: float
    a_front: float
    a_core: float


def draw_cme(rng: np.random.Generator, sc: Scene, p: float = 0.35) -> Cme | None:
    """With probability ``p`` a CME; None otherwise (one draw from ``rng`` then)."""
    if rng.random() >= p:
        return None
    thc = rng.uniform(-np.pi, np.pi)
    rc = rng.uniform(sc.r_occ + 0.5, (6.0 if sc.det == "C2" else 20.0))
    rho = rng.uniform(0.2, 0.5) * rc
    return Cme(thc, rc, rho, rng.uniform(0.04, 0.12), rng.uniform(0.3, 2.0), rng.uniform(0, 0.8))


def cme_factor(c: Cme, sc: Scene) -> np.ndarray:
    """The CME's multiplicative brightening: a bright loop/front with a fainter core."""
    ccx, ccy = c.rc * np.cos(c.thc), c.rc * np.sin(c.thc)
    px, py = (sc.xx - sc.cx) / sc.rs, (sc.yy - sc.cy) / sc.rs
    dist = np.hypot(px - ccx, py - ccy)
    thick = c.thick * c.rho
    front = np.exp(-0.5 * ((dist - c.rho) / thick) ** 2)
    core = np.exp(-0.5 * (dist / (0.4 * c.rho)) ** 2)
    inside = np.clip(sc.r / (c.rc - 0.3 * c.rho), 0, 1)   # loop legs fade toward the Sun
    return 1.0 + c.a_front * front * inside + c.a_core * core


def vignetting(rng: np.random.Generator, sc: Scene) -> np.ndarray:
    """Occulter ramp (with C2's diffraction ring), field stop, and the pylon (C3's only before version 4)."""
    r, th = sc.r, sc.th
    ramp = np.clip((r - sc.r_occ) / 0.25, 0, 1) ** 2
    floor = rng.uniform(0.08, 0.2) if sc.det == "C2" else 0.03      # scattered light behind the occulter
    vig = floor + (1 - floor) * ramp
    if sc.det == "C2":
        # diffraction ring just outside the occulter: on the real frame it peaks ~0.1 Rsun
        # out, is ~0.2 Rsun wide (FWHM) and more than 4x the corona beside it, saturated in arcs
        if sc.v3:
            vig *= 1.0 + rng.uniform(1.5, 4.5) * np.exp(-0.5 * ((r - sc.r_occ - rng.uniform(0.08, 0.15))
                                                              / rng.uniform(0.06, 0.10)) ** 2)
        else:
            vig *= 1.0 + rng.uniform(0.8, 1.6) * np.exp(-0.5 * ((r - sc.r_occ - 0.15) / 0.12) ** 2)
        vig *= 0.35 + 0.65 / (1.0 + np.exp((r - sc.r_fs) / 0.4))
    else:
        vig *= 1.0 / (1.0 + np.exp((r - sc.r_fs) / 0.3))
    if sc.pylon >= 4:
        return vig * pylon(rng, sc)
    if sc.det == "C3":
        # pylon toward the lower left, widening outward, nearly opaque
        dp = np.angle(np.exp(1j * (th - (-3 * np.pi / 4 + rng.normal(0, 0.02)))))
        half = (0.8 + 0.02 * r) / np.maximum(r, 1e-3)
        pyl = 0.5 * (1.0 - np.tanh(0.5 * (np.abs(dp) - half) / (0.15 / np.maximum(r, 1.0))))
        vig *= 1.0 - 0.92 * pyl * (r > 1.0)
    return vig


def pylon(rng: np.random.Generator, sc: Scene) -> np.ndarray:
    """Transmission of the occulter's pylon (generator version 4), both detectors.

    Measured on the real level-0.5 frames (C3 2010-01-05 and 2012-08-31, C2
    2000-09-03 and 2001-10-23) by ``examples/calibrate_pylon.py``: a bar toward the
    lower left (-135 deg in the stored image) whose shadow is Gaussian across it.
    C3: 96-99% deep at every radius, 1-sigma 2.1 Rsun at 5 Rsun widening to 3.4
    from 10 Rsun out, its axis 0.4 Rsun off the Sun centre. C2: 55-65% deep at
    2.6 Rsun and 35-45% beyond 3.5 Rsun, 1-sigma 0.6 Rsun at 2.6 widening to 1.9.
    Each frame draws its depth, width (x0.8-1.25) and axis. Version 5 deepens
    C2's toward the occulter by ``0.45 exp(-(r - r_occ) / 0.2 Rsun)``, at most
    97% deep: where it crosses the diffraction ring the real frames' pylon leaves
    8-16% of the light at 2.1 Rsun, 18-28% at 2.2 and 30-42% at 2.3-2.4, and
    version 4's 35-45%.
    """
    r, th = sc.r, sc.th
    thp = -0.75 * np.pi + np.deg2rad(rng.normal(0.0, 0.5))
    scale = rng.uniform(0.8, 1.25)
    if sc.det == "C3":
        d0, depth = rng.normal(0.4, 0.1), rng.uniform(0.96, 0.99)
        width = np.clip(0.9 + 0.25 * r, 2.0, 3.4) * scale
    else:
        d0, depth = rng.normal(0.1, 0.1), rng.uniform(0.35, 0.45) + 0.2 * np.clip(3.5 - r, 0.0, 1.0)
        if sc.pylon >= 5:   # deeper where it crosses the diffraction ring (no draw: the stream is version 4's)
            depth = np.minimum(depth + 0.45 * np.exp(-np.clip(r - sc.r_occ, 0.0, None) / 0.2), 0.97)
        width = np.clip(0.5 + 0.35 * (r - 2.2), 0.5, 1.9) * scale
    along, across = r * np.cos(th - thp), r * np.sin(th - thp) - d0
    return 1.0 - depth * np.exp(-0.5 * (across / width) ** 2) * np.clip(along, 0.0, 1.0)


def draw_stars(rng: np.random.Generator, sc: Scene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Star rows, columns (full-resolution pixels) and fluxes (DN/s)."""
    nstar = rng.poisson((60 if sc.det == "C2" else 300) if sc.v3 else (40 if sc.det == "C2" else 200))
    sy_, sx_ = rng.integers(0, _N, nstar), rng.integers(0, _N, nstar)
    if sc.v3:   # star counts rise ~2.5x per magnitude: N(>F) ~ 1/F from 10 DN/s, capped at 3e4 DN/s
        flux = np.minimum(10.0 / (1.0 - rng.random(nstar)), 3e4)
    else:
        flux = 10 ** rng.uniform(1.0, 4.5, nstar)
    return sy_, sx_, flux


def _point_sources(rng, sc: Scene, img: np.ndarray, vig: np.ndarray):
    """Stars (some saturated) and sometimes a planet (in place); returns the planet's bleed or None."""
    pts = np.zeros_like(img)
    sy_, sx_, flux = draw_stars(rng, sc)
    np.add.at(pts, (sy_, sx_), flux)
    img += ndimage.gaussian_filter(pts, rng.uniform(0.7, 1.3)) * vig
    if rng.random() < 0.15:
        py_, px_ = rng.integers(100, _N - 100, 2)
        img[py_ - 2:py_ + 3, px_ - 2:px_ + 3] += 1e5
        return (py_, px_, int(rng.integers(10, 80)))
    return None


def cosmic_rays(rng: np.random.Generator, dn: np.ndarray, exptime: float) -> None:
    """Add cosmic-ray hits (1 to 3 pixels, 30 to 5000 DN) to a full-resolution DN image, in place."""
    ncr = int(rng.integers(50, 400) * exptime / 20.0)
    cy_, cx_ = rng.integers(0, _N - 2, ncr), rng.integers(0, _N - 2, ncr)
    amp = 10 ** rng.uniform(2.0, 3.7, ncr)
    for dy, dx in ((0, 0), (0, 1), (1, 0)):
        keep = rng.random(ncr) < (1.0 if dy == dx == 0 else 0.4)
        np.add.at(dn, (cy_[keep] + dy, cx_[keep] + dx), amp[keep] * rng.uniform(0.3, 1, keep.sum()))


def _to_dn(rng, sc: Scene, img: np.ndarray, bleed) -> tuple[np.ndarray, float]:
    """DN with Poisson and read noise, cosmic rays, bias, summing, compression noise, saturation."""
    gain = 20.0
    dn = rng.poisson(np.clip(img * sc.exptime, 0, None) * gain) / gain
    dn += rng.normal(0, 1.5, dn.shape)
    cosmic_rays(rng, dn, sc.exptime)
    offset = rng.uniform(380.0, 600.0)
    if sc.summed:
        dn = dn.reshape(_N // 2, 2, _N // 2, 2).sum(axis=(1, 3))
    # compression noise of the stored image: proportional to the stored signal
    # (calibrated on the real C2 frame: sigma ~ 0.0045 x DN above bias)
    dn += rng.normal(0, 1, dn.shape) * rng.uniform(0.0035, 0.005) * np.clip(dn, 0, None)
    if bleed is not None:
        s = 2 if sc.summed else 1
        by, bx, ln = bleed[0] // s, bleed[1] // s, bleed[2] // s
        dn[max(by - ln, 0):by + ln, max(bx - 1, 0):bx + 2] = SATURATION
    return np.clip(np.rint(dn + offset), 1, SATURATION).astype(np.int32), offset


def zero_never_sent(rng: np.random.Generator, sc: Scene, out: np.ndarray) -> None:
    """Zero the blocks never transmitted: behind the occulter, and (C3) most outside the field stop."""
    ccx_s, ccy_s = (sc.cx / 2, sc.cy / 2) if sc.summed else (sc.cx, sc.cy)
    nb = out.shape[0] // BLOCK
    bc = (np.arange(nb) + 0.5) * BLOCK - 0.5
    brx = np.hypot(bc[None, :] - ccx_s, bc[:, None] - ccy_s) / (sc.rs / (2 if sc.summed else 1))
    drop = brx < (1.25 if sc.det == "C2" else 2.5)
    if sc.det == "C3":
        drop |= (brx > sc.r_fs + 2.5) & (rng.random(brx.shape) < 0.7)
    for by, bx in zip(*np.nonzero(drop)):
        out[by * BLOCK:(by + 1) * BLOCK, bx * BLOCK:(bx + 1) * BLOCK] = 0


def make_frame(seed: int, *, detector: str | None = None, summed: bool | None = None,
               never_sent: bool = True, version: str = GENERATOR_VERSION) -> tuple[np.ndarray, fits.Header]:
    """Simulate one LASCO level-0.5 frame.

    Parameters
    ----------
    seed : int
        Seed of everything random in the frame; equal seeds give identical frames.
    detector : {"C2", "C3"}, optional
        Drawn at random when None.
    summed : bool, optional
        2x2 on-board summing (a 512x512 frame). Drawn at random when None.
    never_sent : bool, optional
        Zero the blocks the instrument never transmits (behind the occulter,
        outside the field stop).
    version : str, optional
        Generator version (one of `VERSIONS`); the newest by default. A given
        seed and version always give the same frame.

    Returns
    -------
    image : numpy.ndarray
        int32 DN, 1024x1024 or 512x512.
    header : astropy.io.fits.Header
        A LASCO-like level-0.5 header with every keyword corkit's level_1 reads.
    """
    if str(version) not in VERSIONS:
        raise ValueError(f"unknown generator version {version!r}; known: {', '.join(VERSIONS)}")
    rng = np.random.default_rng(seed)
    sc, alpha = draw_scene(rng, detector, summed, int(version) >= 3)
    sc.pylon = max(int(version), 3)
    img = draw_corona(rng, sc, alpha).image()
    cme = draw_cme(rng, sc)
    if cme is not None:
        img *= cme_factor(cme, sc)
    img += rng.uniform(0.02, 0.08) * sc.b0          # stray light
    vig = vignetting(rng, sc)
    img *= vig
    bleed = _point_sources(rng, sc, img, vig)
    out, offset = _to_dn(rng, sc, img, bleed)
    if never_sent:
        zero_never_sent(rng, sc, out)
    return out, frame_header(sc.det, sc.summed, sc.exptime, offset, sc.cx, sc.cy, seed, out.shape, str(version))
