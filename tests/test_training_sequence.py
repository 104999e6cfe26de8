"""`corkit_inpaint.training.sequence`: one simulated corona observed at several times."""

from datetime import datetime

import numpy as np
import pytest
from scipy import ndimage

from corkit_inpaint.blocks import find_missing_blocks, zero_blocks
from corkit_inpaint.training.sequence import KM_PER_RSUN, SEQUENCE_VERSION, SimSequence, make_sequence

RSUN_PX = {"C2": 80.7, "C3": 17.1}


def _rate(frame):
    img, hdr = frame
    return (img.astype(float) - hdr["OFFSET"]) / hdr["EXPTIME"], img > 0


def _time(hdr):
    return datetime.strptime(f"{hdr['DATE-OBS']} {hdr['TIME-OBS']}", "%Y/%m/%d %H:%M:%S.%f")


@pytest.fixture(scope="module")
def c3_summed():
    return make_sequence(5, (-24.0, -12.0, 0.0, 12.0), detector="C3", summed=True)


def test_reproducible_under_seed(c3_summed):
    again = make_sequence(5, (-24.0, -12.0, 0.0, 12.0), detector="C3", summed=True)
    assert isinstance(again, SimSequence) and again.offsets == (-24.0, -12.0, 0.0, 12.0)
    for (a, ha), (b, hb) in zip(c3_summed.frames, again.frames):
        assert a.dtype == np.int32 and np.array_equal(a, b) and ha.tostring() == hb.tostring()
    assert again.events == c3_summed.events
    other = make_sequence(6, (-24.0, -12.0, 0.0, 12.0), detector="C3", summed=True)
    assert not np.array_equal(other.frames[2][0], c3_summed.frames[2][0])


def test_headers_follow_the_offsets(c3_summed):
    hdrs = [h for _, h in c3_summed.frames]
    t0 = _time(hdrs[2])
    for t, h in zip(c3_summed.offsets, hdrs):
        assert (_time(h) - t0).total_seconds() == pytest.approx(60.0 * t, abs=1e-3)
        assert h["SYNTOFFS"] == t and h["SYNTSEQ"] == SEQUENCE_VERSION and h["DETECTOR"] == "C3"
        assert (h["CRPIX1"], h["CRPIX2"]) == (hdrs[2]["CRPIX1"], hdrs[2]["CRPIX2"])   # jitter is not recorded
        assert abs(h["CROTA1"] - hdrs[2]["CROTA1"]) < 0.02
        assert h["OFFSET"] == hdrs[2]["OFFSET"]
    assert len({h["FILENAME"] for h in hdrs}) == len(hdrs)
    assert all(abs(dx) <= 0.3 and abs(dy) <= 0.3 for dx, dy in c3_summed.events["jitter_px"])


def test_target_never_loses_blocks_neighbours_sometimes_do():
    lost_somewhere = False
    for seed in (0, 1, 2, 3):
        seq = make_sequence(seed, detector="C3", summed=True, cme=False)
        zs = [zero_blocks(img) for img, _ in seq.frames]
        target = seq.offsets.index(0.0)
        assert seq.events["lost_blocks"][target] == []
        assert find_missing_blocks(*seq.frames[target])[1] == []
        for k, lost in enumerate(seq.events["lost_blocks"]):
            if k != target:        # never-sent blocks are the same in every frame; losses come on top
                assert set(zip(*np.nonzero(zs[k] & ~zs[target]))) == set(lost)
                assert set(lost) <= set(find_missing_blocks(*seq.frames[k])[1])
                lost_somewhere |= bool(lost)
    assert lost_somewhere
    quiet = make_sequence(0, detector="C3", summed=True, telemetry_loss=False)
    assert all(lost == [] for lost in quiet.events["lost_blocks"])


def test_cme_front_moves_out_at_its_speed():
    """The leading edge, seen in the ratio to the same sequence without a CME, moves by v dt / (km per pixel)."""
    offs = (-12.0, 0.0, 12.0)
    seq = make_sequence(11, offs, detector="C3", summed=False, cme=True, telemetry_loss=False)
    none = make_sequence(11, offs, detector="C3", summed=False, cme=False, telemetry_loss=False)
    ev = seq.events
    assert none.events["cme_speed_kms"] is None and 300 <= ev["cme_speed_kms"] <= 2000
    hdr = seq.frames[0][1]
    cx, cy, rs = hdr["CRPIX1"] - 1, hdr["CRPIX2"] - 1, RSUN_PX["C3"]
    a = np.deg2rad(ev["cme_angle_deg"])
    radii = np.arange(5 * rs, 28 * rs, 0.5)
    edges = []
    for s, n in zip(seq.frames, none.frames):
        (rc, vc), (rn, vn) = _rate(s), _rate(n)
        ratio = ndimage.gaussian_filter(np.where(vc & vn & (rn > 0.5), rc / np.maximum(rn, 0.5), 1.0), 2.0)
        prof = ndimage.map_coordinates(ratio, [cy + radii * np.sin(a), cx + radii * np.cos(a)], order=1) - 1.0
        edges.append(radii[np.nonzero(prof > 0.5 * prof.max())[0].max()])     # outer half maximum
    step = ev["cme_speed_kms"] * 12 * 60 / (KM_PER_RSUN / rs)                # pixels per 12 minutes
    assert np.diff(edges) == pytest.approx([step, step], rel=0.15, abs=2.0)
    assert np.diff(ev["cme_front_rsun"]) * rs == pytest.approx([step, step], rel=1e-9)
    for e, h in zip(edges, ev["cme_front_rsun"]):
        assert e == pytest.approx(h * rs, abs=0.15 * h * rs)


def _peaks(rate, valid, far):
    """Sub-pixel centroids of bright, unsaturated point sources where ``far`` (the faint outer corona)."""
    hp = rate - ndimage.median_filter(rate, 7)
    pk = (hp == ndimage.maximum_filter(hp, 9)) & (hp > 15) & (hp < 3000) & valid & far
    pk[:12], pk[-12:], pk[:, :12], pk[:, -12:] = False, False, False, False
    out = []
    for y, x in zip(*np.nonzero(pk)):
        c = np.clip(hp[y - 2:y + 3, x - 2:x + 3], 0, None)
        gy, gx = np.mgrid[-2:3, -2:3]
        out.append((y + (c * gy).sum() / c.sum(), x + (c * gx).sum() / c.sum()))
    return np.array(out)


def test_stars_drift_along_the_ecliptic():
    offs = (-60.0, 0.0, 60.0)
    seq = make_sequence(21, offs, detector="C3", summed=False, cme=False, telemetry_loss=False)
    ev = seq.events
    hdr = seq.frames[0][1]
    yy, xx = np.mgrid[:1024, :1024]
    far = np.hypot(xx - hdr["CRPIX1"] + 1, yy - hdr["CRPIX2"] + 1) > 12 * RSUN_PX["C3"]
    a, b = _peaks(*_rate(seq.frames[0]), far), _peaks(*_rate(seq.frames[2]), far)
    moves = []
    for y, x in a:                        # nearest peak in the later frame, leaving out hot pixels (static)
        d = b - (y, x)
        j = np.argmin(np.hypot(*d.T))
        if 2 < np.hypot(*d[j]) < 10:
            moves.append(d[j][::-1])      # (dx, dy)
    expect = 2 * ev["star_drift_px_per_h"] * np.array([np.cos(np.deg2rad(ev["star_drift_angle_deg"])),
                                                       np.sin(np.deg2rad(ev["star_drift_angle_deg"]))])
    assert 2.5 < ev["star_drift_px_per_h"] < 2.9 and abs(expect[1]) < abs(expect[0])   # mostly horizontal
    assert len(moves) > 10
    assert np.median(moves, axis=0) == pytest.approx(expect, abs=0.3)


def test_exposure_change_is_in_the_header():
    seq = make_sequence(8, detector="C2", summed=False, cme=False, telemetry_loss=False)   # seed 8 changes it
    assert seq.events["exptime_changed"] == [2]
    exps = [h["EXPTIME"] for _, h in seq.frames]
    assert exps[0] == exps[1] != exps[2] and exps == seq.events["exptime"]
    r1, v1 = _rate(seq.frames[1])
    r2, v2 = _rate(seq.frames[2])
    ok = v1 & v2 & (r1 > 20)
    assert np.median(r2[ok] / r1[ok]) == pytest.approx(1.0, abs=0.03)    # DN/s stays, DN follows EXPTIME
    assert seq.frames[1][0].shape == (1024, 1024)


def test_polarizer_change_dims_one_neighbour():
    seq = make_sequence(14, detector="C2", summed=True, cme=False, telemetry_loss=False)   # seed 14 changes it
    assert seq.events["polar_changed"] == [0]
    assert [h["POLAR"] for _, h in seq.frames] == ["+60 Deg", "Clear", "Clear"]
    r0, v0 = _rate(seq.frames[0])
    r1, v1 = _rate(seq.frames[1])
    ok = v0 & v1 & (r1 > 20)
    ratio = r0[ok] / r1[ok]
    assert 0.3 < np.median(ratio) < 0.6 and np.std(ratio) > 0.01           # dimmer, with structure
    assert seq.frames[0][0].shape == (512, 512)


@pytest.mark.parametrize("det,summed", [("C2", True), ("C3", False)])
def test_shapes_and_geometry(det, summed):
    seq = make_sequence(31, (-12.0, 0.0), detector=det, summed=summed, cme=False, telemetry_loss=False)
    n = 512 if summed else 1024
    for img, hdr in seq.frames:
        assert img.shape == (n, n) and img.dtype == np.int32 and hdr["DETECTOR"] == det
        assert hdr["LEBXSUM"] == hdr["LEBYSUM"] == (2 if summed else 1)
        assert img[int(round(hdr["CRPIX2"] - 1)), int(round(hdr["CRPIX1"] - 1))] == 0   # behind the occulter
        assert img.max() <= 65532 and np.percentile(img[img > 0], 1) > 0.5 * hdr["OFFSET"]
    assert seq.events["detector"] == det and seq.events["summed"] == summed
    zs = [zero_blocks(img) for img, _ in seq.frames]
    assert zs[0].any() and np.array_equal(zs[0], zs[1])          # the same never-sent blocks in every frame


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="offsets"):
        make_sequence(1, (-12.0, 12.0))
    with pytest.raises(ValueError, match="offsets"):
        make_sequence(1, (0.0, 0.0))
    with pytest.raises(ValueError, match="sequence version"):
        make_sequence(1, version="0")


def test_version_5_is_version_4_with_the_c2_pylon_of_simulator_version_5():
    """C3's frames are version 4's bit for bit (no draw was added); C2's record pylon version 5 and differ."""
    c3 = [make_sequence(17, (-12.0, 0.0), detector="C3", summed=True, version=v) for v in ("4", "5")]
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(c3[0].frames, c3[1].frames))
    assert c3[1].frames[1][1]["SYNTSEQ"] == "5"
    c2 = [make_sequence(17, (0.0,), detector="C2", summed=True, version=v).frames[0] for v in ("4", "5")]
    assert (c2[0][1]["SYNTHGEN"], c2[1][1]["SYNTHGEN"]) == ("4", "5")
    assert not np.array_equal(c2[0][0], c2[1][0])
