"""Compare frame-to-frame changes of a real LASCO C3 sequence with simulated ones (issue: sequence simulator).

The real sequence (``../shared/data/real/c3_seq_20120831`` beside the checkout, or ``--real DIR``, e.g.
``tests/data/c3_seq`` with 3 of its frames; 8 level-0.5 C3 frames at 12-minute cadence, a quiet corona before a
CME) is used for
calibration only, never for training. Simulated sequences are C3, unsummed,
without a CME (the real one has none) or telemetry loss, at offsets -24, -12,
0, 12 and 24 minutes.

Statistics, for every pair of frames 12 and 24 minutes apart (same polarizer), on
32x32 blocks with at least 3/4 of their pixels good, per radial zone (4-8, 8-16
and 16-28 Rsun; Sun centre CRPIX1/2 - 1, 17.1 px per Rsun at full resolution),
in DN/s = (DN - OFFSET) / EXPTIME:

``frame_log_ratio``
    The frame-wide median over blocks of log(block mean b / block mean a):
    brightness changes EXPTIME does not account for (RMS over pairs).
``shift_px``
    The sub-pixel shift between the two frames (least squares on the smoothed
    image's gradient, 4.5-14 Rsun), full-resolution pixels.

and per zone:

``rate_dn_s``
    The median block mean (DN/s), for context: the noise regime depends on it.
``zone_log_ratio``
    |median of the log ratio in the zone minus the frame-wide median|.
``log_ratio_spread``
    1.4826 x MAD over the zone's blocks of the log ratio minus the frame-wide
    median: how unevenly the corona brightens or dims from block to block.
    It includes noise, so it depends on the brightness.
``log_ratio_excess``
    The spread with the noise's share (the median over blocks of
    ``sigma_d / sqrt(n) / mean``) taken out in quadrature: the relative
    block-to-block evolution itself, independent of the brightness.
``rms_vs_frame_noise``
    RMS over a block of ``d = a - g b``, ``g`` the ratio of the two frames' means in
    the ring of 8 blocks around it, divided by ``hypot(sigma_a, g sigma_b)``, the
    frames' own Immerkaer noise (`corkit_inpaint.stretch.noise_sigma`). Below 1
    when part of a frame's pixel-scale noise is common to both frames (the CCD's
    flat-field pattern), above 1 when the scene changes.
``rms_vs_diff_noise``
    The same RMS divided by ``sigma_d``, the Immerkaer sigma of ``d`` itself: 1 for
    white noise, above 1 for structure that changed between frames (evolution,
    motion, pointing jitter).
``structure_excess``
    ``sqrt(RMS^2 - sigma_d^2) / mean``: that change relative to the signal.
``static_pattern``
    ``sqrt((sigma_a^2 + g^2 sigma_b^2 - sigma_d^2) / 2) / mean``: the pixel-scale
    pattern both frames share, relative to the signal (the flat field).

Block statistics are medians over the zone's blocks.
Pixels more than 6 local MADs off their 3x3 median in either frame (stars,
cosmic rays) and their neighbours are left out of every block statistic.
Real pairs: median over pairs; simulated: median over all pairs of all seeds,
with the 16th-84th percentile over sequences.

Usage::

    python examples/calibrate_sequence.py [--seeds 16] [--out docs/calibration_sequence.json]
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy import ndimage

from corkit_inpaint.stretch import noise_sigma
from corkit_inpaint.training.sequence import SEQUENCE_VERSION, make_sequence

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "c3_seq_20120831"
OUT = Path(__file__).resolve().parents[1] / "docs" / "calibration_sequence.json"
B = 32
RSUN_PX = 17.1
ZONES = ((4, 8), (8, 16), (16, 28))
LAGS = (12, 24)
ZONE_STATS = ("rate_dn_s", "zone_log_ratio", "log_ratio_spread", "log_ratio_excess", "rms_vs_frame_noise",
              "rms_vs_diff_noise", "structure_excess", "static_pattern")


def prepare(img: np.ndarray, hdr) -> dict:
    """Rate, validity, outlier-free pixels and block radii of a frame."""
    img = np.asarray(img, dtype=np.float64)
    valid = (img > 0) & (img < 65000)
    rate = (img - hdr["OFFSET"]) / hdr["EXPTIME"]
    res = rate - ndimage.median_filter(rate, 3)
    nb = img.shape[0] // B
    mad = np.median(np.abs(res).reshape(nb, B, nb, B).transpose(0, 2, 1, 3).reshape(nb, nb, -1), axis=2)
    bad = (np.abs(res) > 6.0 * 1.4826 * np.kron(mad, np.ones((B, B)))) | ~valid
    s = hdr.get("LEBXSUM", 1)
    cx, cy = hdr["CRPIX1"] - 1, hdr["CRPIX2"] - 1
    bc = (np.arange(nb) + 0.5) * B - 0.5
    rblk = np.hypot(bc[None, :] - cx, bc[:, None] - cy) / (RSUN_PX / s)
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    return {"rate": rate, "valid": valid, "good": ~ndimage.binary_dilation(bad), "rblk": rblk,
            "r": np.hypot(xx - cx, yy - cy) / (RSUN_PX / s), "summed": s}


def shift_px(a: dict, b: dict) -> float:
    """Magnitude of the sub-pixel shift of ``a`` relative to ``b`` (full-resolution pixels)."""
    v = a["valid"] & b["valid"]
    sm = [ndimage.gaussian_filter(np.where(v, f["rate"], 0.0), 1.5) for f in (a, b)]
    w = np.maximum(ndimage.gaussian_filter(v.astype(float), 1.5), 1e-6)
    sa, sb = sm[0] / w, sm[1] / w
    m = ndimage.binary_erosion(v, iterations=6) & (a["r"] > 4.5) & (a["r"] < 14)
    mean = 0.5 * (sa + sb)
    gy, gx = np.gradient(mean)
    k = np.median(sa[m]) / np.median(sb[m])
    A = np.stack([gx[m], gy[m], np.ones(m.sum()), mean[m]], 1)
    sol = np.linalg.lstsq(A, (sa - k * sb)[m], rcond=None)[0]
    return float(np.hypot(sol[0], sol[1]) * a["summed"])


def _blocks(a: dict, b: dict, sel: np.ndarray) -> dict:
    """Per block of ``sel`` (with a valid ring of 8 blocks): the quantities the zone statistics use."""
    nb = sel.shape[0]
    good = a["valid"] & b["valid"] & a["good"] & b["good"]
    cols = {k: [] for k in ("L", "floor", "r1", "rd", "excess", "static", "rate")}
    for by, bx in zip(*np.nonzero(sel)):
        if by in (0, nb - 1) or bx in (0, nb - 1):
            continue
        ys, xs = slice((by - 1) * B, (by + 2) * B), slice((bx - 1) * B, (bx + 2) * B)
        ring = good[ys, xs].copy()
        ring[B:2 * B, B:2 * B] = False
        cs = (slice(by * B, (by + 1) * B), slice(bx * B, (bx + 1) * B))
        ca, cb, gm = a["rate"][cs], b["rate"][cs], good[cs]
        if ring.sum() < 0.5 * ring.size or gm.sum() < 0.75 * gm.size:
            continue
        ma, mb = ca[gm].mean(), cb[gm].mean()
        g = np.mean(a["rate"][ys, xs][ring]) / np.mean(b["rate"][ys, xs][ring])
        res = ca - g * cb
        rms = np.sqrt(np.mean(res[gm] ** 2))
        sa, sb, sd = noise_sigma(ca, gm), g * noise_sigma(cb, gm), noise_sigma(res, gm)
        if min(ma, mb, sd) <= 0:
            continue
        cols["L"].append(np.log(mb / ma))
        cols["floor"].append(sd / np.sqrt(gm.sum()) / ma)
        cols["r1"].append(rms / np.hypot(sa, sb))
        cols["rd"].append(rms / sd)
        cols["excess"].append(np.sqrt(max(rms ** 2 - sd ** 2, 0.0)) / ma)
        cols["static"].append(np.sqrt(max(0.5 * (sa ** 2 + sb ** 2 - sd ** 2), 0.0)) / ma)
        cols["rate"].append(ma)
    return {k: np.array(v) for k, v in cols.items()}


def pair_stats(a: dict, b: dict) -> dict:
    """The statistics of one pair of prepared frames."""
    R = a["rblk"]
    blocks = {z: _blocks(a, b, (R >= z[0]) & (R < z[1])) for z in ZONES}
    med = float(np.median(np.concatenate([blocks[z]["L"] for z in ZONES])))
    out = {"frame_log_ratio": med, "shift_px": shift_px(a, b)}
    for z in ZONES:
        k = blocks[z]
        d = k["L"] - med
        spread = float(1.4826 * np.median(np.abs(d - np.median(d))))
        floor = float(np.median(k["floor"]))
        out[f"{z[0]}-{z[1]}"] = {
            "rate_dn_s": float(np.median(k["rate"])), "zone_log_ratio": abs(float(np.median(d))),
            "log_ratio_spread": spread, "log_ratio_excess": float(np.sqrt(max(spread ** 2 - floor ** 2, 0.0))),
            "rms_vs_frame_noise": float(np.median(k["r1"])), "rms_vs_diff_noise": float(np.median(k["rd"])),
            "structure_excess": float(np.median(k["excess"])), "static_pattern": float(np.median(k["static"])),
            "blocks": int(k["L"].size)}
    return out


def sequence_pairs(frames: list, offsets) -> dict:
    """Pair statistics by lag (minutes) for one sequence of (image, header)."""
    prep = [prepare(img, hdr) for img, hdr in frames]
    out = {lag: [] for lag in LAGS}
    for i in range(len(frames)):
        for j in range(i + 1, len(frames)):
            lag = int(round(abs(offsets[j] - offsets[i])))
            same_polar = frames[i][1]["POLAR"] == frames[j][1]["POLAR"]
            if lag in out and abs(abs(offsets[j] - offsets[i]) - lag) < 1.0 and same_polar:
                out[lag].append(pair_stats(prep[i], prep[j]))
    return out


def _value(p: dict, zone: str | None, stat: str) -> float:
    return p[stat] if zone is None else p[zone][stat]


def summarise(groups: list[dict]) -> dict:
    """Medians over all pairs (and 16-84 % over groups, when there are several) by lag, zone and statistic."""
    res = {}
    keys = [(None, "frame_log_ratio"), (None, "shift_px")] + [(f"{a}-{b}", s) for a, b in ZONES for s in ZONE_STATS]
    for lag in LAGS:
        d = res[str(lag)] = {}
        for zone, stat in keys:
            agg = (lambda v: np.sqrt(np.mean(np.square(v)))) if stat == "frame_log_ratio" else np.median
            centre = float(agg([_value(p, zone, stat) for g in groups for p in g[lag]]))
            per = [agg([_value(p, zone, stat) for p in g[lag]]) for g in groups]
            d[f"{zone}/{stat}" if zone else stat] = {
                "value": centre, "p16": float(np.percentile(per, 16)), "p84": float(np.percentile(per, 84))}
    return res


def load_real(folder: Path = REAL) -> tuple[list, list]:
    frames, times = [], []
    for path in sorted(Path(folder).glob("*.fts")):
        with fits.open(path) as hl:
            frames.append((hl[0].data.astype(np.int32), hl[0].header.copy()))
        h = frames[-1][1]
        times.append(datetime.strptime(f"{h['DATE-OBS']} {h['TIME-OBS']}", "%Y/%m/%d %H:%M:%S.%f"))
    return frames, [(t - times[0]).total_seconds() / 60.0 for t in times]


def table(real: dict, sim: dict) -> str:
    lines = [f"{'statistic':42s}" + "".join(f"{'real ' + lag:>12s}{'sim ' + lag:>12s}{'sim 16-84%':>20s}"
                                            for lag in real)]
    for key in real[str(LAGS[0])]:
        row = f"{key:42s}"
        for lag in real:
            s = sim[lag][key]
            row += f"{real[lag][key]['value']:12.4f}{s['value']:12.4f}   [{s['p16']:7.4f},{s['p84']:7.4f}]"
        lines.append(row)
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--first-seed", type=int, default=7_000_000)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--real", type=Path, default=REAL, help=f"the real sequence's folder (default: {REAL})")
    args = ap.parse_args(argv)
    if len(list(Path(args.real).glob("*.fts"))) < 3:       # beside a fresh clone the default folder is not there
        ap.error(f"--real {args.real}: needs a folder of 3 or more consecutive level-0.5 C3 frames (*.fts), such as "
                 "tests/data/c3_seq")
    frames, offsets = load_real(args.real)
    real = summarise([sequence_pairs(frames, offsets)])
    offs = (-24.0, -12.0, 0.0, 12.0, 24.0)
    groups = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        seq = make_sequence(seed, offs, detector="C3", summed=False, cme=False, telemetry_loss=False)
        groups.append(sequence_pairs(seq.frames, offs))
    sim = summarise(groups)
    print(table(real, sim))
    result = {"real": {"frames": [h["FILENAME"] for _, h in frames], "stats": real},
              "simulated": {"sequence_version": SEQUENCE_VERSION, "seeds": [args.first_seed, args.seeds],
                            "offsets_min": offs, "detector": "C3", "summed": False, "cme": False, "stats": sim}}
    if args.out.exists():    # keep the record of earlier tunings
        old = json.loads(args.out.read_text())
        result = {k: v for k, v in old.items() if k not in ("real", "simulated")} | result
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
