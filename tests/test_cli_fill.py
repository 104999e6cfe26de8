"""The fill command: outputs, exit codes, and every bad input (clear error, no output, input untouched)."""

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from helpers import LEVEL1, REAL, blank, read_real, sha, write

from corkit_inpaint.cli import main


def run_cli(*args, preexec=None):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "corkit_inpaint", *map(str, args)],
                          capture_output=True, text=True, env=env, preexec_fn=preexec, timeout=300)


def bad_inputs(tmp: Path) -> dict[str, Path]:
    data, header = read_real()
    raw = REAL.read_bytes()
    files = {}
    files["not_fits"] = tmp / "notes.fts"
    files["not_fits"].write_text("this is not a FITS file\n")
    files["truncated"] = tmp / "truncated.fts"
    files["truncated"].write_bytes(raw[: len(raw) // 2])
    files["header_only"] = tmp / "header_only.fts"
    files["header_only"].write_bytes(raw[: 2880 * 3])
    files["no_image"] = tmp / "table.fts"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(
        [fits.Column(name="a", format="E", array=np.arange(3.0))])]).writeto(files["no_image"])
    files["cube"] = write(tmp / "cube.fts", np.ones((2, 64, 64), np.int32), None)
    nan = blank(data, [(3, 4)]).astype(np.float32)
    nan[10, 10] = np.nan
    files["nan"] = write(tmp / "nan.fts", nan, header)
    inf = data.astype(np.float64)
    inf[5, 5] = np.inf
    files["inf"] = write(tmp / "inf.fts", inf, header)
    files["all_zero"] = write(tmp / "zero.fts", np.zeros_like(data), header)
    files["level1"] = tmp / "level1.fts"
    files["level1"].write_bytes(LEVEL1.read_bytes())
    return files


REASONS = {"not_fits": "not a FITS file", "truncated": "truncated", "header_only": "truncated",
           "no_image": "no image HDU", "cube": "2-D", "nan": "NaN or inf", "inf": "NaN or inf",
           "all_zero": "all zero", "level1": "already level 1"}


@pytest.mark.parametrize("case", sorted(REASONS))
def test_bad_input(case, tmp_path):
    src = bad_inputs(tmp_path)[case]
    before = sha(src)
    out = tmp_path / "out" / "x.fts"
    out.parent.mkdir()
    r = run_cli("fill", src, "-o", out)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert str(src) in lines[0] and REASONS[case] in lines[0]
    assert not out.exists() and list(out.parent.iterdir()) == []
    assert sha(src) == before


def test_existing_output_and_unwritable_folder(blanked_file, tmp_path):
    before = sha(blanked_file)
    existing = tmp_path / "exists.fts"
    existing.write_bytes(b"keep me")
    r = run_cli("fill", blanked_file, "-o", existing)
    assert r.returncode == 1 and "exists" in r.stderr and existing.read_bytes() == b"keep me"
    r = run_cli("fill", blanked_file, "--outdir", existing)              # a file, not a folder: up front
    assert r.returncode == 2 and "cannot be made a folder" in r.stderr and "Traceback" not in r.stderr
    assert existing.read_bytes() == b"keep me"
    # a folder that is not there yet is made, as the batch path and level_1 make theirs (it failed every file)
    r = run_cli("fill", blanked_file, "--outdir", tmp_path / "new" / "sub", "--method", "biharmonic")
    assert r.returncode == 0 and (tmp_path / "new" / "sub" / blanked_file.name).is_file()
    r = run_cli("fill", blanked_file, "--outdir", blanked_file.parent)    # would overwrite the input
    assert r.returncode == 2 and "is the input file" in r.stderr          # refused up front
    assert sha(blanked_file) == before


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_output_where_no_file_can_be_made_is_one_line(blanked_file, capsys):
    """Battery s35: a folder where the temporary could not be made printed errno's raw line, naming the
    temporary ('[Errno 2] No such file or directory: '/proc/.out.fts.corkit-inpaint-....tmp''); /proc takes
    no new file, as a read-only folder would not (this machine's tests run as root)."""
    assert main(["fill", str(blanked_file), "-o", "/proc/out.fts", "--method", "biharmonic"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"corkit-inpaint: error: {blanked_file}: /proc/out.fts: could not be written "
                   f"(No such file or directory)"]
    # the same for a picture (review s36: its own temporary's raw line)
    out = blanked_file.parent / "out.fts"
    assert main(["fill", str(blanked_file), "-o", str(out), "--plot", "/proc/p.png", "--method", "biharmonic"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"corkit-inpaint: error: {blanked_file}: /proc/p.png: could not be written "
                   f"(No such file or directory)"]


def test_no_output_or_picture_over_the_weights_file(blanked_file, tmp_path):
    """Battery s32: ``-o`` or ``--plot`` naming the ``--weights`` file wrote over it (with --overwrite)."""
    weights = tmp_path / "w.png"                        # a weights file, whatever its name
    weights.write_bytes(b"weights")
    for extra in (["-o", weights], ["--outdir", tmp_path / "out", "--plot", weights]):
        r = run_cli("fill", blanked_file, *extra, "--weights", weights, "--overwrite")
        assert r.returncode == 2 and "input file" in r.stderr and "Traceback" not in r.stderr
    assert weights.read_bytes() == b"weights"


def test_full_disk_leaves_nothing(blanked_file, tmp_path):
    """A real write failure: the file-size limit stops the output half way (EFBIG)."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    out_dir = tmp_path / "o"
    out_dir.mkdir()
    before = sha(blanked_file)
    r = run_cli("fill", blanked_file, "--outdir", out_dir, "--method", "biharmonic", preexec=limit)
    assert r.returncode == 1 and "could not be written" in r.stderr, r.stderr
    assert list(out_dir.iterdir()) == []
    assert sha(blanked_file) == before


def test_several_files_one_failing(blanked_file, tmp_path):
    bad = tmp_path / "bad.fts"
    bad.write_text("nope")
    second = tmp_path / "second.fts"
    second.write_bytes(blanked_file.read_bytes())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    r = run_cli("fill", blanked_file, bad, second, "--outdir", out_dir, "--method", "biharmonic",
                "--plot", tmp_path / "p.png")
    assert r.returncode == 1
    assert "bad.fts" in r.stderr and "blanked.fts" not in r.stderr
    # under the progress bar the error is a line of its own, not the tail of the bar's line
    lines = [ln.split("\r")[-1] for ln in r.stderr.splitlines() if "bad.fts" in ln]
    assert len(lines) == 1 and lines[0].startswith("corkit-inpaint: error: ")
    assert sorted(p.name for p in out_dir.iterdir()) == ["blanked.fts", "second.fts"]
    assert (tmp_path / "p_blanked.png").stat().st_size > 1000


def test_success_and_usage_errors(blanked_file, tmp_path):
    out = tmp_path / "ok.fts"
    assert main(["-q", "fill", str(blanked_file), "-o", str(out), "--device", "cpu",
                 "--plot", str(tmp_path / "ok.png")]) == 0
    with fits.open(out) as h:
        assert h[0].header["INPNBLK"] == 10 and h["INPMASK"].data.sum() == 10240
    assert (tmp_path / "ok.png").stat().st_size > 1000
    assert run_cli("fill", blanked_file).returncode == 2                       # no -o/--outdir
    assert run_cli("fill", blanked_file, REAL, "-o", out).returncode == 2       # two SRCs (one given twice is one)
    # argparse's own errors are one line too, saying where the usage is (battery s34: 9 lines of usage first)
    for args, said in ((("frobnicate",), "corkit-inpaint: error: argument COMMAND: invalid choice: 'frobnicate'"),
                       (("fill", blanked_file, "-o", tmp_path / "no.fts", "--max-gap"),
                        "corkit-inpaint fill: error: argument"),
                       (("weights", "list", "--nope"), "corkit-inpaint: error: unrecognized arguments: --nope")):
        r = run_cli(*args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith(said), r.stderr
        assert r.stderr.rstrip().endswith("--help')") and not (tmp_path / "no.fts").exists()
    r = run_cli("fill", blanked_file, "-o", f"{tmp_path}/newdir/")              # a folder, not a file name
    assert r.returncode == 2 and "names a folder" in r.stderr and not (tmp_path / "newdir").exists()
    assert run_cli("fill", blanked_file, "-o", "").returncode == 2
    r = run_cli("--help")
    assert r.returncode == 0 and "fill" in r.stdout


def test_folder_as_input_and_summary_line(blanked_file, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    r = run_cli("fill", tmp_path, blanked_file, "--outdir", out, "--method", "biharmonic")
    assert r.returncode == 1 and "is a folder" in r.stderr and "no such file" not in r.stderr
    assert r.stdout.strip().splitlines()[-1] == \
        "corkit-inpaint fill: 1 of 2 files written, 10 blocks filled, 1 failed"
    assert run_cli("-q", "fill", blanked_file, "-o", tmp_path / "q.fts", "--method", "biharmonic").stdout == ""


def test_telea_is_offered_by_fill(blanked_file, tmp_path):
    r = run_cli("fill", blanked_file, "-o", tmp_path / "t.fts", "--method", "telea")
    try:
        import cv2  # noqa: F401
    except ImportError:
        assert r.returncode == 1 and "needs OpenCV" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    else:
        assert r.returncode == 0, r.stderr
        assert fits.getheader(tmp_path / "t.fts")["INPAINT"] == "telea"


def test_gz_input_gives_gz_output(blanked_file, tmp_path):
    import gzip
    src = tmp_path / "in" / "frame.fts.gz"
    src.parent.mkdir()
    src.write_bytes(gzip.compress(blanked_file.read_bytes()))
    out = tmp_path / "out"
    out.mkdir()
    r = run_cli("fill", src, "--outdir", out, "--method", "biharmonic")
    assert r.returncode == 0, r.stderr
    raw = (out / "frame.fts.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b"                                # the name says gzip, so does the content
    with fits.open(out / "frame.fts.gz") as h:
        assert h[0].header["INPNBLK"] == 10
    with gzip.GzipFile(out / "frame.fts.gz") as g:             # the gzip header names the output, not a temporary
        g.read(1)
        assert g.name.endswith("frame.fts.gz")
    fname = raw[10:raw.index(b"\0", 10)] if raw[3] & 8 else b""
    assert fname == b"frame.fts"


def test_fz_input_gives_a_losslessly_tile_compressed_output(blanked_file, tmp_path):
    """A .fz name holds what fpack would write (it was an uncompressed file under that name: review s13, D9)."""
    from corkit_inpaint.outputs import tile_compressed
    with fits.open(blanked_file) as h:                # the real header has tabs: tile_compressed makes them spaces
        data = np.array(h[0].data)
        tile_compressed(fits.HDUList([fits.PrimaryHDU(data, h[0].header)])).writeto(src := tmp_path / "frame.fts.fz")
    (tmp_path / "in").mkdir()
    src = src.rename(tmp_path / "in" / "frame.fts.fz")
    out = tmp_path / "out"
    out.mkdir()
    r = run_cli("fill", src, "--outdir", out, "--method", "biharmonic")
    assert r.returncode == 0, r.stderr
    with fits.open(out / "frame.fts.fz") as h:
        assert [type(x).__name__ for x in h] == ["PrimaryHDU", "CompImageHDU", "CompImageHDU", "CompImageHDU"]
        img, mask, sigma = h[1].data, h["INPMASK"].data.astype(bool), h["INPSIGMA"].data
        assert h[1].header["INPNBLK"] == 10 and img.dtype.newbyteorder("=") == data.dtype.newbyteorder("=")
        assert np.array_equal(img[~mask], data[~mask]) and (sigma[mask] > 0).all() and (sigma[~mask] == 0).all()
    r = run_cli("fill", src, "-o", tmp_path / "plain.fts", "--method", "biharmonic")
    with fits.open(tmp_path / "plain.fts") as p, fits.open(out / "frame.fts.fz") as c:
        assert np.array_equal(p[0].data, c[1].data) and np.array_equal(p["INPSIGMA"].data, c["INPSIGMA"].data)


def test_usage_limits_and_a_missing_input_are_named(blanked_file, tmp_path):
    """--max-pixels 0 was taken (then every file failed); a missing SRC beside an existing -o said 'exists'."""
    r = run_cli("fill", blanked_file, "-o", tmp_path / "o.fts", "--max-pixels", "0")
    assert r.returncode == 2 and "--max-pixels 0" in r.stderr and not (tmp_path / "o.fts").exists()
    existing = write(tmp_path / "there.fts", np.ones((8, 8), np.int16), None)
    r = run_cli("fill", tmp_path / "nope.fts", "-o", existing)
    assert r.returncode == 1 and "nope.fts: no such file" in r.stderr and "exists" not in r.stderr
    r = run_cli("fill", blanked_file, "-o", tmp_path / "v.fts", "--method", "biharmonic", "-v")   # -v after it
    assert r.returncode == 0 and "INFO:" in r.stderr and "DEBUG:" not in r.stderr
    from corkit_inpaint.cli import parse_args
    args = parse_args(["-v", "fill", str(blanked_file), "-o", "x.fts", "-v", "-q"])          # counted together
    assert args.verbose == 2 and args.quiet and parse_args(["fill", "a.fts", "-o", "x.fts"]).verbose == 0


def test_refill_needs_the_option_and_keeps_the_old_mask(blanked_file, tmp_path):
    first = tmp_path / "first.fts"
    assert run_cli("fill", blanked_file, "-o", first, "--method", "biharmonic").returncode == 0
    r = run_cli("fill", first, "-o", tmp_path / "again.fts")
    assert r.returncode == 1 and "already filled" in r.stderr and "--refill" in r.stderr
    data = fits.getdata(first)
    more = tmp_path / "more.fts"
    write(more, blank(data, [(6, 2)]), fits.getheader(first))
    with fits.open(first) as h:                       # keep the INPMASK extension beside the new hole
        fits.HDUList([fits.PrimaryHDU(blank(data, [(6, 2)]), h[0].header), h["INPMASK"].copy()]).writeto(
            more, overwrite=True, output_verify="ignore")
        old = h["INPMASK"].data.astype(bool)
    r = run_cli("fill", more, "-o", tmp_path / "refilled.fts", "--method", "biharmonic", "--refill")
    assert r.returncode == 0, r.stderr
    with fits.open(tmp_path / "refilled.fts") as h:
        new = h["INPMASK"].data.astype(bool)
        assert np.all(new[old]) and new.sum() == old.sum() + 1024 and h[0].header["INPNBLK"] == 11


def test_a_malformed_file_does_not_stop_the_batch(blanked_file, tmp_path):
    raw = bytearray(blanked_file.read_bytes())
    i = raw.index(b"NAXIS1  =")
    raw[i:i + 80] = b"COMMENT".ljust(80)                  # the header loses NAXIS1 (a KeyError before)
    bad = tmp_path / "nonaxis1.fts"
    bad.write_bytes(bytes(raw))
    out = tmp_path / "o"
    out.mkdir()
    r = run_cli("fill", bad, blanked_file, "--outdir", out, "--method", "biharmonic")
    assert r.returncode == 1 and "Traceback" not in r.stderr and "NAXIS1" in r.stderr
    assert (out / "blanked.fts").exists() and not (out / "nonaxis1.fts").exists()


def test_fill_pairs_each_file_with_its_neighbours(tmp_path):
    from helpers import seq_files
    (tmp_path / "in").mkdir()
    files, _, _ = seq_files(tmp_path / "in")
    shas = [sha(p) for p in files]
    out = tmp_path / "out"
    out.mkdir()
    assert main(["-q", "fill", *map(str, files), "--outdir", str(out), "--method", "ratio"]) == 0
    nnb = [fits.getheader(out / p.name)["INPNNB"] for p in files]
    assert nnb == [1, 2, 1]
    assert fits.getheader(out / files[0].name)["INPNB1"] == files[1].name
    assert [sha(p) for p in files] == shas
    assert main(["-q", "fill", *map(str, files), "--outdir", str(out), "--method", "ratio", "--overwrite",
                 "--neighbours", "none"]) == 0
    assert [fits.getheader(out / p.name)["INPNNB"] for p in files] == [0, 0, 0]
    # one file, its neighbours from a pool that is only read
    one = tmp_path / "one.fts"
    assert main(["-q", "fill", str(files[1]), "-o", str(one), "--method", "ratio",
                 "--neighbour-pool", str(files[0]), str(files[2])]) == 0
    assert fits.getheader(one)["INPNNB"] == 2 and [sha(p) for p in files] == shas
    assert main(["-q", "fill", str(files[1]), "-o", str(tmp_path / "x.fts"), "--max-gap", "-1"]) == 2
    assert main(["-q", "fill", str(files[1]), "-o", str(tmp_path / "x.fts"), "--max-gap", "5",
                 "--method", "ratio", "--neighbour-pool", str(files[0])]) == 0
    assert fits.getheader(tmp_path / "x.fts")["INPNNB"] == 0


def test_plot_never_overwrites_an_output_or_an_existing_file(blanked_file, tmp_path):
    odd = tmp_path / "res.png"                             # a FITS output given a picture's name
    r = run_cli("fill", blanked_file, "-o", odd, "--method", "biharmonic", "--plot", odd)
    assert r.returncode == 2 and "also a FITS output" in r.stderr and not odd.exists()
    out = tmp_path / "res.fts"
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"keep me")
    r = run_cli("fill", blanked_file, "-o", out, "--method", "biharmonic", "--plot", victim)
    assert r.returncode == 2 and "exists" in r.stderr and victim.read_bytes() == b"keep me" and not out.exists()
    r = run_cli("fill", blanked_file, "-o", out, "--method", "biharmonic", "--plot", victim, "--overwrite")
    assert r.returncode == 0 and victim.read_bytes()[:4] == b"\x89PNG" and out.exists()


def test_two_inputs_with_one_name_are_refused_before_any_fill(blanked_file, tmp_path):
    for d in ("d1", "d2"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "a.fts").write_bytes(blanked_file.read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    r = run_cli("fill", tmp_path / "d1" / "a.fts", tmp_path / "d2" / "a.fts", "--outdir", out,
                "--method", "biharmonic", "--overwrite")
    assert r.returncode == 2 and "would be the output of both" in r.stderr
    assert list(out.iterdir()) == []


def test_a_file_given_twice_is_filled_once(blanked_file, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    r = run_cli("fill", blanked_file, blanked_file.parent / "." / blanked_file.name, "--outdir", out,
                "--method", "biharmonic")
    assert r.returncode == 0 and "1 of 1 files written" in r.stdout
    assert [p.name for p in out.iterdir()] == ["blanked.fts"]
    import os
    os.link(blanked_file, tmp_path / "hard.fts")                # a hard link is the same file too
    out2 = tmp_path / "out2"
    out2.mkdir()
    r = run_cli("-v", "fill", blanked_file, tmp_path / "hard.fts", "--outdir", out2, "--method", "biharmonic")
    assert r.returncode == 0 and "1 of 1 files written" in r.stdout
    assert [p.name for p in out2.iterdir()] == ["blanked.fts"]
    # it was dropped silently, even at -v: the user is told which file stood for it
    assert f"WARNING: {tmp_path}/hard.fts: the same file as {blanked_file}, so taken once, under that name" in r.stderr


def test_a_neighbour_pool_entry_that_is_not_a_file_is_a_usage_error(blanked_file, tmp_path):
    for bad in (tmp_path / "missing.fts", tmp_path):
        r = run_cli("fill", blanked_file, "-o", tmp_path / "o.fts", "--neighbour-pool", bad)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "neighbour pool" in r.stderr
        assert not (tmp_path / "o.fts").exists()


def test_a_fill_removes_what_a_killed_fill_left_beside_its_output(blanked_file, tmp_path):
    """SIGKILL leaves a write's temporary (no handler runs); the next ``fill`` to that output removes it, once it
    has gone unwritten for a minute and no live writer holds it, and leaves a user's file of that shape."""
    out = tmp_path / "ok.fts"
    left = tmp_path / ".ok.fts.corkit-inpaint-k1ll3d_9.tmp"
    mine = tmp_path / ".ok.fts.corkit-inpaint-notes.tmp"
    for q in (left, mine):
        q.write_bytes(b"half a file")
        os.utime(q, (1e9, 1e9))
    assert main(["-q", "fill", str(blanked_file), "-o", str(out), "--method", "biharmonic"]) == 0
    assert sorted(q.name for q in tmp_path.iterdir() if q.parent == tmp_path and q.name.startswith(".ok")) \
        == [mine.name] and fits.getheader(out)["INPNBLK"] == 10


def test_a_file_that_cannot_be_read_is_named_so_not_corrupt(blanked_file, tmp_path):
    """Battery: a file without read permission was reported, as a file to fill and as a --neighbour-pool file,
    as 'not a FITS file, or truncated (PermissionError: ...)'."""
    from test_read import unreadable_files
    src = unreadable_files(tmp_path)[-1]
    r = run_cli("fill", src, "-o", tmp_path / "x.fts", "--method", "biharmonic")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and f"{src}: cannot be read (" in lines[0], r.stderr
    assert "not a FITS" not in r.stderr and not (tmp_path / "x.fts").exists()
    r = run_cli("fill", blanked_file, "-o", tmp_path / "y.fts", "--method", "biharmonic", "--neighbour-pool", src)
    assert r.returncode == 0 and f"{src}: cannot be read (" in r.stderr and "not a FITS" not in r.stderr, r.stderr


def test_a_plot_in_the_outdir_the_run_makes_is_accepted(blanked_file, tmp_path):
    """Battery: ``--outdir NEW/ --plot NEW/x.png`` was refused ("folder NEW does not exist"), although the run
    makes --outdir before it fills a file; a folder the run does not make is still refused, and nothing made."""
    second = tmp_path / "second.fts"
    second.write_bytes(blanked_file.read_bytes())
    new = tmp_path / "new"
    assert main(["-q", "fill", str(blanked_file), str(second), "--outdir", f"{new}/", "--method", "biharmonic",
                 "--plot", str(new / "x.png")]) == 0
    assert sorted(p.name for p in new.iterdir()) == ["blanked.fts", "second.fts", "x_blanked.png", "x_second.png"]
    assert (new / "x_second.png").read_bytes()[:4] == b"\x89PNG"
    other = tmp_path / "other"
    assert main(["-q", "fill", str(blanked_file), "--outdir", str(other), "--method", "biharmonic",
                 "--plot", str(other / "sub" / "x.png")]) == 2 and not other.exists()


def test_a_warning_in_a_run_over_many_files_names_its_file_on_a_line_of_its_own(tmp_path):
    """A fill's warning ("1 all-zero block inside the field left as it is") did not say which of a run's files it
    was about, and was written onto the progress bar's line (each failure's line is under the bar already)."""
    from helpers import C3_SEQ, read_file
    srcs = []
    for k, blocks in ((0, [(20, 20)]), (1, [(6, 6), (20, 21)]), (2, [(21, 20)])):   # (6, 6): no signal around it
        data, header = read_file(C3_SEQ[k])
        srcs.append(write(tmp_path / f"in{k}.fts", blank(data, blocks), header))
    r = subprocess.run([sys.executable, "-m", "corkit_inpaint", "fill", *map(str, srcs), "--outdir",
                        str(tmp_path / "out"), "--method", "biharmonic", "--neighbours", "none"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.replace("\r", "\n").splitlines()
    warned = [ln for ln in lines if "all-zero block" in ln]
    assert warned == [f"WARNING: {srcs[1]}: 1 all-zero block inside the field left as it is, not filled: no signal "
                      "around it (the dark C3 pylon, or a loss with nothing sent around it)"]


def test_control_characters_in_file_names_are_shown_escaped_on_the_terminal(tmp_path):
    """A file name holding ESC and BEL reached the terminal raw in WARNING and error lines (a name could colour or
    clear the terminal, or ring it); the weights registry showed its names escaped. Ordinary names are unchanged."""
    data, header = read_real()
    header["DETECTOR"] = "XX"             # a warning in the fill of this file
    src = write(tmp_path / "b\x1b[31mred\x07.fts", blank(data, [(3, 4)]), header)
    gone = tmp_path / "miss\x1bing.fts"
    r = run_cli("fill", src, gone, "--outdir", tmp_path / "out", "--method", "biharmonic", "--neighbours", "none")
    assert r.returncode == 1
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    assert f"WARNING: {tmp_path}/b\\x1b[31mred\\x07.fts: DETECTOR='XX' is not C2 or C3" in r.stderr
    assert f"error: {tmp_path}/miss\\x1bing.fts: " in r.stderr


def test_unknown_weights_are_a_usage_error_even_with_nothing_to_fill(tmp_path, capsys):
    """Newcomer s34: ``--weights`` with a slip on a frame without holes wrote the output and exited 0: the model
    is loaded only for a fill, so the slip showed only on a later frame with holes."""
    from helpers import C2_FULL
    for weights, why in (("nosuch", "unknown model 'nosuch'"), (str(tmp_path / "no.pt"), "no such file"),
                         (str(tmp_path), "is a folder")):
        assert main(["-q", "fill", str(C2_FULL), "-o", str(tmp_path / "out.fts"), "--weights", weights]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"--weights {weights}: {why}" in err
        assert main(["-q", "level_1", str(C2_FULL), "-o", str(tmp_path / "l1"), "--weights", weights]) == 2
        assert f"--weights {weights}: {why}" in capsys.readouterr().err
    assert not (tmp_path / "out.fts").exists() and not (tmp_path / "l1").exists()


def test_an_empty_file_name_is_a_usage_error(tmp_path, capsys):
    """Battery s34: ``fill ""`` read the current folder and said ``.: is a folder``, exit 1."""
    for cmd in (["fill", "", "-o", str(tmp_path / "x.fts")], ["level_1", "", "-o", str(tmp_path / "l1")]):
        with pytest.raises(SystemExit) as exc:
            main(["-q", *cmd])
        assert exc.value.code == 2 and "argument SRC: an empty file name" in capsys.readouterr().err


def test_an_empty_weights_option_is_a_usage_error(blanked_file, tmp_path, capsys):
    """``--weights ''`` filled with the default model, silently."""
    assert main(["-q", "fill", str(blanked_file), "-o", str(tmp_path / "out.fts"), "--weights", ""]) == 2
    assert capsys.readouterr().err.strip() == ("corkit-inpaint: error: --weights: empty; give a model name or a "
                                               "weights file, or leave it out for the default model")
    assert not (tmp_path / "out.fts").exists()


def _refilled_nothing_new(blanked_file, tmp_path, values):
    """A file `fill` wrote, its provenance counts then set to ``values``: a refill fills nothing new, so its output
    keeps them (the earlier fill's keywords stay)."""
    first = tmp_path / "first.fts"
    assert main(["-q", "fill", str(blanked_file), "-o", str(first), "--method", "biharmonic"]) == 0
    with fits.open(first) as h:
        hdul = fits.HDUList([x.copy() for x in h])
    hdul[0].header.update(values)
    hostile = tmp_path / "hostile.fts"
    hdul.writeto(hostile, output_verify="ignore")
    return hostile


@pytest.mark.parametrize("values", [{"INPNBLK": "abc", "INPNPIX": "many"}, {"INPNBLK": -3, "INPNNB": 1.5}])
def test_a_refill_of_a_file_with_hostile_counts_is_written_and_said_so(blanked_file, tmp_path, capsys, values):
    """Hostile battery h1: INPNBLK = 'abc' in a filled file, refilled with nothing new to fill: the output was
    written, then the run said "invalid literal for int() with base 10: 'abc'", counted it failed and exited 1
    (and with -v, logging printed a traceback for INPNPIX = 'many')."""
    hostile = _refilled_nothing_new(blanked_file, tmp_path, values)
    out = tmp_path / "again.fts"
    capsys.readouterr()
    assert main(["-v", "fill", str(hostile), "-o", str(out), "--refill", "--method", "biharmonic"]) == 0
    captured = capsys.readouterr()
    assert "1 of 1 files written, 0 blocks filled" in captured.out and "Traceback" not in captured.err
    assert "Logging error" not in captured.err and out.exists()


def test_a_batch_task_with_hostile_counts_is_done(blanked_file, tmp_path):
    """The batch worker read INPNBLK with int() too: a written output recorded as failed."""
    from corkit_inpaint.batch.task import BatchOptions, FileTask, process_file
    hostile = _refilled_nothing_new(blanked_file, tmp_path, {"INPNBLK": "abc"})
    r = process_file(FileTask(str(hostile), str(tmp_path / "o.fts"), replace=True),
                     BatchOptions(method="biharmonic", refill=True))
    assert r["status"] == "done" and r["blocks"] == 0 and r["error"] is None


def test_no_progress_bar_is_written_to_a_log_file(blanked_file, tmp_path):
    """Battery s33: with stderr a file (a batch system's log) the bar wrote about 1.5 updates per file: some
    100 MB over an archive. Only a terminal gets one; the summary line stays."""
    second = tmp_path / "second.fts"
    second.write_bytes(blanked_file.read_bytes())
    r = run_cli("fill", blanked_file, second, "--outdir", tmp_path / "out", "--method", "biharmonic")
    assert r.returncode == 0 and "2 of 2 files written" in r.stdout
    assert "filling" not in r.stderr and "%|" not in r.stderr


@pytest.mark.parametrize("stream", ["stderr", "stdout"])
@pytest.mark.parametrize("how", ["full", "closed"])
def test_a_closed_or_full_stderr_or_stdout_stops_nothing(tmp_path, stream, how):
    """Battery s37: ``fill nope1 a nope2 b --outdir X 2>&1 | head -n1`` ended at the second error line (its write
    failed), so b was never filled; a closed or full stdout gave the summary's traceback, after every file was
    written, and exit 1. Review s37: a stream closed at start (``2>&-``, ``>&-``) is None in Python: the progress
    bar ended the run before any file was filled, and the summary's flush gave a traceback."""
    data, header = read_real()
    srcs = [write(tmp_path / f"in{k}.fts", blank(data, [(5, 5 + k)]), header) for k in range(2)]
    files = [tmp_path / "nope1.fts", srcs[0], tmp_path / "nope2.fts", srcs[1]] if stream == "stderr" else srcs
    fd = 2 if stream == "stderr" else 1
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with open("/dev/full", "w") as full:
        # the stream under test is /dev/full, or closed in the child; the other is read
        streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, stream: full if how == "full" else None}
        r = subprocess.run([sys.executable, "-m", "corkit_inpaint", "fill", *map(str, files), "--outdir",
                            str(tmp_path / "out"), "--method", "biharmonic", "--neighbours", "none"], env=env,
                           timeout=120, text=True, preexec_fn=(lambda: os.close(fd)) if how == "closed" else None,
                           **streams)
    assert r.returncode == (1 if stream == "stderr" else 0), r
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["in0.fts", "in1.fts"]
    if stream == "stderr":
        assert r.stdout == "corkit-inpaint fill: 2 of 4 files written, 2 blocks filled, 2 failed\n"
    else:
        assert r.stderr == ""


def test_an_outdir_name_too_long_is_one_line(blanked_file, tmp_path, capsys):
    """Review s37: the dangling-link test of a failed --outdir raised the same error again: a traceback."""
    assert main(["-q", "fill", str(blanked_file), "--outdir", str(tmp_path / ("x" * 300)), "--method",
                 "biharmonic"]) == 2
    assert capsys.readouterr().err == (f"corkit-inpaint: error: --outdir {tmp_path / ('x' * 300)}: cannot be made a "
                                       "folder (File name too long)\n")


def test_a_classical_fill_with_the_default_device_does_not_import_torch(blanked_file, tmp_path):
    """Review s37: checking ``--device auto`` imported torch (about 1 s) for every run, a biharmonic fill too."""
    code = (f"import sys; from corkit_inpaint.cli import main; "
            f"rc = main(['-q', 'fill', {str(blanked_file)!r}, '-o', {str(tmp_path / 'o.fts')!r}, '--method', "
            f"'biharmonic']); print(rc, 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.stdout.split() == ["0", "False"], r


def test_slips_in_the_output_options_are_usage_errors_that_say_so(blanked_file, tmp_path, capsys):
    """Battery s37: ``-o ' '`` was a file's failure (exit 1) where ``-o ''`` was a usage error; a file given twice
    with ``-o`` was refused as two SRCs; a dangling link as ``--outdir`` "cannot be made a folder (File exists)";
    two pictures that would collide did not say it was about ``--plot``."""
    link = tmp_path / "gone"
    link.symlink_to(tmp_path / "nowhere")
    twin = tmp_path / "blanked.fits"
    twin.write_bytes(blanked_file.read_bytes())
    for args, said in ((["-o", "  "], "-o/--output and --outdir need a non-empty path"),
                       (["--outdir", " "], "-o/--output and --outdir need a non-empty path"),
                       (["--outdir", str(link)], f"--outdir {link}: cannot be made a folder (a link to nothing)"),
                       ([str(twin), "--outdir", str(tmp_path / "o"), "--plot", str(tmp_path / "pic.png")],
                        f"--plot {tmp_path / 'pic_blanked.png'}: would be the output of both")):
        assert main(["-q", "fill", str(blanked_file), *args, "--method", "biharmonic", "--neighbours", "none"]) == 2
        assert capsys.readouterr().err.startswith(f"corkit-inpaint: error: {said}")
    out = tmp_path / "once.fts"
    assert main(["-q", "fill", str(blanked_file), str(blanked_file), "-o", str(out), "--method", "biharmonic"]) == 0
    assert out.exists()
