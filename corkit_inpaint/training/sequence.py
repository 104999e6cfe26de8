"""Synthetic LASCO C2/C3 *sequences*: one corona observed at several times, seeded and reproducible.

`make_sequence` draws one scene with the components of `simulator` and
observes it at the requested offsets (minutes from the target frame at 0):

* the K+F corona, rays and stray light are the same at every time; streamers
  evolve by a smooth multiplicative field whose change grows with the time
  between frames (a random-phase sum of periods from 6 min to 6 h, so the
  change grows roughly as the square root of the lag; 0.05-0.5 % in 12 min),
  and the blob texture flows outward at 50-250 km/s;
* a CME (a third of the sequences, or forced with ``cme``) whose leading edge
  moves outward at 300 to 2000 km/s, expanding self-similarly;
* stars drift (C3 2.7, C2 12.6 px/h at full resolution, within 8 degrees of +x),
  a planet (15 %) and a sungrazing comet (8 %) move on their own;
* the whole sky shifts by a sub-pixel pointing jitter that CRPIX does not
  record (C3 0.001-0.01 px, C2 0.005-0.05 px, in a tenth of the sequences up
  to 0.3 px), and each frame's true exposure differs from EXPTIME by ~0.2 %;
* each frame has its own Poisson, read and compression noise and cosmic rays;
  the CCD's flat-field pattern (about 1 %) and hot pixels stay fixed;
* never-sent blocks are the same in every frame; telemetry losses (`loss_masks`)
  blank blocks of some neighbour frames, never of the target;
* a neighbour may have another exposure time (10 %) or polarizer (5 %: POLAR
  differs, brightness x0.3-0.6 with the K corona's polarization pattern).

Each component draws from its own generator (seed, component, and the frame's
offset for per-frame noise), so forcing a CME changes nothing else, and the
target frame's noise does not depend on which neighbours are asked for.

The amplitudes (``_TUNE``) are calibrated on a real C3 sequence (2012-08-31, 12-minute cadence;
``examples/calibrate_sequence.py``, ``docs/calibration_sequence.json``). For C3 only, the corona is
37 times brighter than `simulator`'s, with the real frames' gain (14.5 e/DN) and flat field, and the
real radial profile (version 3: `profile.c3_profile`; before, flat inside 10 Rsun). Version 4 adds
the F corona's equatorial band (`fcorona`), version 5 C2's pylon as deep as the real one's at the ring.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from astropy.io import fits
from scipy import ndimage

from ..blocks import blocks_to_mask
from . import simulator as sim
from .fcorona import equatorial_band
from .loss_masks import eligible_blocks, loss_mask
from .profile import c3_profile

__all__ = ["SEQUENCE_VERSION", "SEQUENCE_VERSIONS", "KM_PER_RSUN", "STAR_DRIFT_PX_PER_H", "SimSequence",
           "make_sequence"]

SEQUENCE_VERSION = "1"
#: "2": the pylons of `simulator` version 4 (C3's as wide and soft as the real one's, and C2's).
#: "3": version 2 with C3's radial profile drawn by `profile.c3_profile`, not flat inside 10 Rsun.
#: "4": version 3 with the F corona's equatorial band (`fcorona.equatorial_band`), both detectors.
#: "5": version 4 with `simulator` version 5's C2 pylon (deeper across the diffraction ring); C3 as version 4.
SEQUENCE_VERSIONS = ("1", "2", "3", "4", "5")
KM_PER_RSUN = 696_000.0
#: Star drift in full-resolution pixels per hour (the Sun's motion against the stars).
STAR_DRIFT_PX_PER_H = {"C2": 12.6, "C3": 2.7}
_BASE_TIME = datetime(2000, 9, 3, 2, 54, 11, 85000)     # the target frame's DATE-OBS, as make_frame's
_STREAMS = ("scene", "ccd", "stars", "events", "cme", "evolution", "frame", "never_sent", "profile", "band")
_PERIODS_MIN = np.array([6.0, 15.0, 40.0, 100.0, 250.0, 360.0])   # streamer evolution time scales
_EXPTIMES = {"C2": (25.1, 18.0, 60.0, 8.0), "C3": (18.0, 19.1, 30.0, 12.0)}
# Calibrated on the real C3 sequence of 2012-08-31 (docs/calibration_sequence.json).
_TUNE = {
    "streamer_change_12min": (0.0005, 0.005),   # log-uniform, std of the log change of streamers in 12 min
    "blob_speed_kms": (50.0, 250.0),            # outflow of the blob texture
    "gain_jitter": 0.0022,                      # std of true/recorded exposure, per frame
    "jitter_px": {"C2": (0.005, 0.05), "C3": (0.001, 0.01)},  # log-uniform per-sequence scale, full-res px
    "prnu": (0.008, 0.012),                     # static flat-field pattern, relative, full resolution
    "gain": {"C2": 20.0, "C3": 14.5},           # electrons per DN
    "compression": (0.0, 0.001),                # per-frame noise proportional to the stored signal
    "brightness": {"C2": 1.0, "C3": 37.0},      # corona and stray light, relative to make_frame's scene
    "c3_flat_rsun": 10.0,                       # C3's extra vignetting ~ (r / 10 Rsun)^alpha inside 10 Rsun
    "diffusion": 0.005,                         # share of a pixel's charge spread to each of its 4 neighbours
}


@dataclass(frozen=True, eq=False)
class SimSequence:
    """Frames of one simulated scene at several times.

    Attributes
    ----------
    frames : list of (numpy.ndarray, astropy.io.fits.Header)
        int32 DN images and their headers, one per offset, in the order of `offsets`.
    offsets : tuple of float
        Minutes relative to the target frame (offset 0).
    events : dict
        What was simulated: ``detector``, ``summed``, ``cme_speed_kms`` (None without a CME),
        ``cme_angle_deg`` (image angle from +x, counter-clockwise), ``cme_front_rsun`` (leading-edge
        height per frame, None before it emerges), ``exptime_changed`` and ``polar_changed`` (frame
        indices), ``star_drift_px_per_h`` and ``star_drift_angle_deg``, ``jitter_px`` (scene shift
        (dx, dy) per frame, full-resolution px), ``jitter_scale_px``, ``streamer_change_12min``,
        ``blob_speed_kms``, ``exptime`` and ``polar`` per frame, ``planet`` and ``comet`` (None, or their
        start, velocity and speed in full-resolution px and px/h), ``lost_blocks`` and ``loss_patterns``.
    """

    frames: list
    offsets: tuple
    events: dict


@dataclass
class _Static:
    """What does not change between frames."""

    sc: sim.Scene
    corona: sim.Corona
    stray: float
    vig: np.ndarray
    bias: float
    gain: float
    prnu: np.ndarray
    hot: np.ndarray
    stars: tuple          # y, x, flux, psf sigma
    version: str          # the sequence version (`SEQUENCE_VERSIONS`)


def _rng(seed: int, stream: str, offset: float | None = None) -> np.random.Generator:
    """The generator of one component (and of one frame, keyed by its offset) of sequence ``seed``."""
    key = [int(seed), 0x5E0, _STREAMS.index(stream)]
    if offset is not None:
        key.append(int(round(offset * 1000)) + 2 ** 40)
    return np.random.default_rng(np.random.SeedSequence(key))


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A draw uniform in log between ``lo`` and ``hi``."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _static(seed: int, detector: str | None, summed: bool | None, version: str) -> _Static:
    """The scene, corona, vignetting, CCD (bias, gain, flat field, hot pixels) and stars."""
    rng = _rng(seed, "scene")
    sc, alpha = sim.draw_scene(rng, detector, summed, True)
    sc.pylon = {"1": 3, "5": 5}.get(version, 4)       # the simulator version whose pylon it draws
    corona = sim.draw_corona(rng, sc, alpha)
    corona.base *= _TUNE["brightness"][sc.det]
    if int(version) >= 4:
        corona.base *= equatorial_band(_rng(seed, "band"), sc.r, sc.th, sc.det)
    stray = rng.uniform(0.02, 0.08) * sc.b0 * _TUNE["brightness"][sc.det]
    vig = sim.vignetting(rng, sc)
    if sc.det == "C3":      # the real C3 profile (versions 1-2: flat inside 10 Rsun, the inner field vignetted)
        vig *= (c3_profile(_rng(seed, "profile"), sc.r, sc.r_occ, alpha) if int(version) >= 3
                else np.clip(sc.r / _TUNE["c3_flat_rsun"], 0.0, 1.0) ** alpha)
    n, rc = sc.r.shape[0], _rng(seed, "ccd")
    bias = rc.uniform(380.0, 600.0)
    prnu = 1.0 + rc.uniform(*_TUNE["prnu"]) * rc.standard_normal((n, n))
    hot, nh = np.zeros((n, n)), rc.poisson(40)
    hot[rc.integers(0, n, nh), rc.integers(0, n, nh)] = 10 ** rc.uniform(0.7, 2.0, nh)   # DN/s
    rs = _rng(seed, "stars")
    sy, sx, flux = sim.draw_stars(rs, sc)
    stars = (sy + rs.uniform(-0.5, 0.5, sy.size), sx + rs.uniform(-0.5, 0.5, sx.size), flux, rs.uniform(0.7, 1.3))
    return _Static(sc, corona, stray, vig, bias, _TUNE["gain"][sc.det], prnu, hot, stars, version)


def _mover(y: float, x: float, speed: float, angle: float) -> dict:
    """A moving source's start (full-res px) and velocity (px/h)."""
    vy, vx = speed * np.sin(angle), speed * np.cos(angle)
    return {"y": float(y), "x": float(x), "vy": float(vy), "vx": float(vx), "speed_px_per_h": float(speed)}


def _events(seed: int, st: _Static, offsets: tuple, cme: bool | None) -> dict:
    """Everything drawn once per sequence that is not the static scene."""
    rng, sc, n = _rng(seed, "events"), st.sc, st.sc.r.shape[0]
    ev = {"detector": sc.det, "summed": bool(sc.summed)}
    ev["star_drift_px_per_h"] = STAR_DRIFT_PX_PER_H[sc.det] * rng.uniform(0.95, 1.05)
    ev["star_drift_angle_deg"] = rng.uniform(-8.0, 8.0)
    lo, hi = _TUNE["jitter_px"][sc.det]      # and now and then a pointing disturbance, up to 0.3 px
    ev["jitter_scale_px"] = _loguniform(rng, lo, hi) if rng.random() >= 0.1 else _loguniform(rng, hi, 0.3)
    ev["streamer_change_12min"] = _loguniform(rng, *_TUNE["streamer_change_12min"])
    ev["blob_speed_kms"] = rng.uniform(*_TUNE["blob_speed_kms"])
    ev["crota_rate_deg_per_min"] = rng.normal(0.0, 1e-4)
    neighbours = [k for k, t in enumerate(offsets) if t != 0.0]
    exptimes = [sc.exptime] * len(offsets)
    ev["exptime_changed"], ev["polar_changed"], ev["polar"] = [], [], ["Clear"] * len(offsets)
    if neighbours and rng.random() < 0.10:
        k = int(rng.choice(neighbours))
        other = [e for e in _EXPTIMES[sc.det] if e != sc.exptime]
        exptimes[k] = sc.exptime + rng.uniform(0.3, 1.6) if rng.random() < 0.5 else float(rng.choice(other))
        ev["exptime_changed"] = [k]
    ev["exptime"] = [float(e) for e in exptimes]
    if neighbours and rng.random() < 0.05:
        k = int(rng.choice(neighbours))
        ev["polar_changed"], ev["polar"][k] = [k], str(rng.choice(["+60 Deg", "0 Deg", "-60 Deg"]))
        ev["polar_factor"] = (rng.uniform(0.3, 0.6), rng.uniform(0.3, 0.6), rng.uniform(-np.pi, np.pi))
    ev["planet"] = ev["comet"] = None
    if rng.random() < 0.15:     # a planet, either way along the ecliptic, saturated with a bleed column
        angle = np.deg2rad(rng.uniform(-25, 25)) + np.pi * (rng.random() < 0.3)
        speed = STAR_DRIFT_PX_PER_H[sc.det] * rng.uniform(0.3, 4.0)
        ev["planet"] = _mover(*rng.uniform(100, n - 100, 2), speed, angle) | {"bleed": int(rng.integers(10, 80))}
    if rng.random() < 0.08:     # a sungrazing comet falling toward the Sun, its tail pointing away
        y, x = rng.uniform(100, n - 100, 2)
        angle = np.arctan2(sc.cy - y, sc.cx - x) + rng.uniform(-0.3, 0.3)
        speed = rng.uniform(50.0, 400.0) * 3600.0 / (KM_PER_RSUN / sc.rs)
        ev["comet"] = _mover(y, x, speed, angle) | {"flux": 10 ** rng.uniform(2.0, 3.7),
                                                    "tail_px": rng.uniform(0.3, 2.0) * sc.rs}
    _draw_cme(seed, st, ev, cme)
    return ev


def _draw_cme(seed: int, st: _Static, ev: dict, cme: bool | None) -> None:
    """The CME (or None) and its speed, into ``ev``."""
    rng = _rng(seed, "cme")
    c = sim.draw_cme(rng, st.sc, 1.0 / 3.0 if cme is None else float(bool(cme)))
    ev["cme"] = c
    ev["cme_speed_kms"] = None if c is None else _loguniform(rng, 300.0, 2000.0)
    ev["cme_angle_deg"] = None if c is None else float(np.rad2deg(c.thc))


def _cme_at(c: sim.Cme, speed_kms: float, t: float) -> sim.Cme | None:
    """The CME ``t`` minutes later: its leading edge ``rc + rho`` moves at ``speed_kms``, self-similarly."""
    k = c.rho / c.rc
    h = c.rc + c.rho + speed_kms * t * 60.0 / KM_PER_RSUN
    if h <= 1.0:
        return None
    return dataclasses.replace(c, rc=h / (1.0 + k), rho=k * h / (1.0 + k))


class _Evolution:
    """Streamer evolution: ``E(t) = c sum_j w_j F_j (sin(w_j t + phi_j) - sin(phi_j))`` on a coarse polar grid."""

    def __init__(self, seed: int, amp_12min: float):
        rng = _rng(seed, "evolution")
        self.fields = np.stack([sim.polar_grid(rng, n_th=180, n_r=48, s_th=rng.uniform(2.0, 6.0),
                                           s_r=rng.uniform(2.0, 5.0)) for _ in _PERIODS_MIN])
        self.omega = 2 * np.pi / _PERIODS_MIN
        self.phase = rng.uniform(-np.pi, np.pi, _PERIODS_MIN.size)
        w = np.sqrt(_PERIODS_MIN)                    # equal power per octave of 1/f^2: a random walk
        self.w = w * amp_12min / np.sqrt(np.sum(w ** 2 * (1 - np.cos(self.omega * 12.0))))

    def at(self, t: float, r: np.ndarray, th: np.ndarray) -> np.ndarray | float:
        """The log change of the streamers at ``t`` minutes (0 at the target)."""
        if t == 0.0:
            return 0.0
        c = self.w * (np.sin(self.omega * t + self.phase) - np.sin(self.phase))
        return sim.sample_polar(np.tensordot(c, self.fields, axes=1), r, th, sim.CORONA_RMAX)


def _stamps(img: np.ndarray, ys, xs, flux, sigma) -> None:
    """Add Gaussian point sources at sub-pixel positions (in place, flux conserved inside the image)."""
    ys, xs, flux = np.atleast_1d(ys), np.atleast_1d(xs), np.atleast_1d(flux)
    sigma = np.broadcast_to(sigma, ys.shape)
    half = int(np.ceil(4 * sigma.max())) if ys.size else 0
    d = np.arange(-half, half + 1)
    iy, ix = np.rint(ys).astype(int), np.rint(xs).astype(int)
    gy = np.exp(-0.5 * ((iy[:, None] + d - ys[:, None]) / sigma[:, None]) ** 2)
    gx = np.exp(-0.5 * ((ix[:, None] + d - xs[:, None]) / sigma[:, None]) ** 2)
    gy /= gy.sum(1, keepdims=True)
    gx /= gx.sum(1, keepdims=True)
    vals = flux[:, None, None] * gy[:, :, None] * gx[:, None, :]
    Y = np.broadcast_to(iy[:, None, None] + d[None, :, None], vals.shape)
    X = np.broadcast_to(ix[:, None, None] + d[None, None, :], vals.shape)
    n = img.shape[0]
    keep = (Y >= 0) & (Y < n) & (X >= 0) & (X < n)
    np.add.at(img, (Y[keep], X[keep]), vals[keep])


def _point_sources(st: _Static, ev: dict, t: float, jit: tuple[float, float]) -> np.ndarray:
    """Stars, planet and comet at ``t`` minutes, shifted by the jitter, in DN/s before vignetting."""
    pts = np.zeros_like(st.vig)
    h, a = t / 60.0, np.deg2rad(ev["star_drift_angle_deg"])
    sy, sx, flux, sig = st.stars
    v = ev["star_drift_px_per_h"]
    _stamps(pts, sy + v * np.sin(a) * h + jit[1], sx + v * np.cos(a) * h + jit[0], flux, sig)
    if ev["planet"] is not None:
        p = ev["planet"]
        _stamps(pts, p["y"] + p["vy"] * h + jit[1], p["x"] + p["vx"] * h + jit[0], 3e6, 1.5)
    if ev["comet"] is not None:
        c = ev["comet"]
        y, x = c["y"] + c["vy"] * h + jit[1], c["x"] + c["vx"] * h + jit[0]
        u = np.array([y - st.sc.cy, x - st.sc.cx]) / np.hypot(y - st.sc.cy, x - st.sc.cx)   # anti-sunward
        s = np.linspace(0.0, 1.0, 12)
        _stamps(pts, y + u[0] * s * c["tail_px"], x + u[1] * s * c["tail_px"],
                c["flux"] * np.r_[1.0, 0.4 * np.exp(-3 * s[1:])], 1.0 + 2.0 * s)
    return pts


def _rate(st: _Static, ev: dict, evo: _Evolution, t: float, jit: tuple[float, float], k: int) -> np.ndarray:
    """The frame's noiseless full-resolution DN/s at ``t`` minutes."""
    sc, cor = st.sc, st.corona
    stream = cor.stream * np.exp(evo.at(t, sc.r, sc.th))
    blobs = cor.blobs
    if t != 0.0 and cor.a_blobs > 0:
        dr = ev["blob_speed_kms"] * t * 60.0 / KM_PER_RSUN
        blobs = sim.sample_polar(cor.blob_grid, np.maximum(sc.r - dr, 0.0), sc.th, sim.CORONA_RMAX)
    img = cor.image(stream, blobs)
    c = None if ev["cme"] is None else _cme_at(ev["cme"], ev["cme_speed_kms"], t)
    if c is not None:
        img *= sim.cme_factor(c, sc)
    if k in ev["polar_changed"]:     # the K corona's tangential polarization seen through a polarizer
        f0, q, phi = ev["polar_factor"]
        img *= f0 * (1.0 - q * stream / (1.0 + stream) * np.cos(2 * (sc.th - phi)))
    img = ndimage.shift(img, (jit[1], jit[0]), order=3, mode="nearest")
    img += st.stray * (ev["polar_factor"][0] if k in ev["polar_changed"] else 1.0)
    pts = _point_sources(st, ev, t, jit)
    img += pts * (ev["polar_factor"][0] if k in ev["polar_changed"] else 1.0)
    return img * st.vig


def _to_dn(rng: np.random.Generator, st: _Static, rate: np.ndarray, exptime: float, bleed) -> np.ndarray:
    """DN: flat field, hot pixels, Poisson and read noise, cosmic rays, summing, compression noise, bias."""
    true_exp = exptime * np.exp(rng.normal(0.0, _TUNE["gain_jitter"]))
    e = np.clip(rate * true_exp, 0, None) * st.prnu + st.hot * true_exp
    dn = rng.poisson(e * st.gain) / st.gain
    eps = _TUNE["diffusion"]
    dn = ndimage.convolve(dn, np.array([[0, eps, 0], [eps, 1 - 4 * eps, eps], [0, eps, 0]]), mode="nearest")
    dn += rng.normal(0, 1.5, dn.shape)
    sim.cosmic_rays(rng, dn, exptime)
    n = dn.shape[0]
    if st.sc.summed:
        dn = dn.reshape(n // 2, 2, n // 2, 2).sum(axis=(1, 3))
    dn += rng.normal(0, 1, dn.shape) * rng.uniform(*_TUNE["compression"]) * np.clip(dn, 0, None)
    if bleed is not None:
        s = 2 if st.sc.summed else 1
        by, bx, ln = int(round(bleed[0])) // s, int(round(bleed[1])) // s, bleed[2] // s
        dn[max(by - ln, 0):by + ln, max(bx - 1, 0):bx + 2] = sim.SATURATION
    return np.clip(np.rint(dn + st.bias), 1, sim.SATURATION).astype(np.int32)


def _header(seed: int, st: _Static, ev: dict, k: int, t: float, shape) -> fits.Header:
    """`simulator.frame_header` with the frame's name, time, exposure, polarizer and roll."""
    sc, exptime = st.sc, ev["exptime"][k]
    h = sim.frame_header(sc.det, sc.summed, exptime, st.bias, sc.cx, sc.cy, seed, shape, str(sc.pylon))
    obs = _BASE_TIME + timedelta(minutes=t)
    mid = obs + timedelta(seconds=exptime / 2)
    h["FILENAME"], h["FILEORIG"] = f"synth_{seed:08d}_{k}.fts", f"synth_{seed:08d}_{k}.img"
    h["DATE-OBS"], h["TIME-OBS"] = obs.strftime("%Y/%m/%d"), obs.strftime("%H:%M:%S.%f")[:12]
    h["MID_DATE"] = 51790 + (mid.date() - _BASE_TIME.date()).days
    h["MID_TIME"] = round(mid.hour * 3600 + mid.minute * 60 + mid.second + mid.microsecond * 1e-6, 3)
    h["OBT_TIME"] = 1.3466409e9 + 60.0 * t
    h["POLAR"] = ev["polar"][k]
    h["CROTA1"] = h["CROTA2"] = round(ev["crota_rate_deg_per_min"] * t, 6)
    h["SYNTSEQ"] = (st.version, "corkit_inpaint sequence version")
    h["SYNTOFFS"] = (float(t), "minutes from the target frame")
    h["HISTORY"] = f"corkit_inpaint sequence v{st.version} seed {seed}: frame {k} at {t:+.3f} min"
    return h


def _frame(seed: int, st: _Static, ev: dict, evo: _Evolution, k: int, t: float, telemetry_loss: bool):
    """Frame ``k`` at ``t`` minutes: image, header, jitter, loss pattern and lost blocks."""
    rng = _rng(seed, "frame", t)
    jit = tuple(float(v) for v in np.clip(rng.normal(0.0, ev["jitter_scale_px"], 2), -0.3, 0.3))
    rate = _rate(st, ev, evo, t, jit, k)
    p = ev["planet"]
    bleed = None if p is None else (p["y"] + p["vy"] * t / 60.0, p["x"] + p["vx"] * t / 60.0, p["bleed"])
    out = _to_dn(rng, st, rate, ev["exptime"][k], bleed)
    sim.zero_never_sent(_rng(seed, "never_sent"), st.sc, out)
    hdr = _header(seed, st, ev, k, t, out.shape)
    pattern, lost = None, []
    if telemetry_loss and t != 0.0 and rng.random() < 0.3:
        pattern, lost = loss_mask(rng, eligible_blocks(out, hdr))
        out[blocks_to_mask(out.shape, lost)] = 0
    return out, hdr, jit, pattern, lost


def make_sequence(seed: int, offsets=(-12.0, 0.0, 12.0), *, detector: str | None = None,
                  summed: bool | None = None, cme: bool | None = None, telemetry_loss: bool = True,
                  version: str = SEQUENCE_VERSION) -> SimSequence:
    """Simulate one corona observed at several times.

    Parameters
    ----------
    seed : int
        Seed of everything random; equal seeds (and arguments) give identical sequences.
    offsets : sequence of float, optional
        Minutes from the target frame; must hold 0 exactly once.
    detector : {"C2", "C3"}, optional
    summed : bool, optional
        2x2 on-board summing (512x512 frames). Both drawn at random when None.
    cme : bool, optional
        Force a CME (True) or none (False); a third of the sequences have one when None.
    telemetry_loss : bool, optional
        Blank telemetry-loss blocks in some neighbour frames (never in the target).
    version : str, optional
        Sequence generator version (one of `SEQUENCE_VERSIONS`).

    Returns
    -------
    SimSequence
    """
    if str(version) not in SEQUENCE_VERSIONS:
        raise ValueError(f"unknown sequence version {version!r}; known: {', '.join(SEQUENCE_VERSIONS)}")
    offsets = tuple(float(t) for t in offsets)
    if offsets.count(0.0) != 1 or len(set(offsets)) != len(offsets) or not np.all(np.isfinite(offsets)):
        raise ValueError(f"offsets must be distinct, finite and hold 0 once; got {offsets}")
    st = _static(seed, detector, summed, str(version))
    ev = _events(seed, st, offsets, cme)
    evo = _Evolution(seed, ev["streamer_change_12min"])
    res = [_frame(seed, st, ev, evo, k, t, telemetry_loss) for k, t in enumerate(offsets)]
    c = ev.pop("cme")
    fronts = [None if c is None else _cme_at(c, ev["cme_speed_kms"], t) for t in offsets]
    ev["cme_front_rsun"] = [None if f is None else float(f.rc + f.rho) for f in fronts]
    ev["jitter_px"], ev["loss_patterns"], ev["lost_blocks"] = ([r[i] for r in res] for i in (2, 3, 4))
    return SimSequence([(r[0], r[1]) for r in res], offsets, ev)
