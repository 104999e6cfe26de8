"""``fill|level_1 --workers N``: the CLI's batch path, killed half way and resumed; usage errors; no distributed."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from test_batch_run import make_inputs, read_out

from corkit_inpaint.batch import MANIFEST_NAME

ENV = dict(os.environ, OMP_NUM_THREADS="1")


def _default_sigint():
    """A suite started in the background by a shell ignores SIGINT, and so would the command: give it Ctrl-C back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(*args, env=ENV, **kw):
    return subprocess.Popen([sys.executable, "-m", "corkit_inpaint", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint,
                            **kw)


def lines(outdir):
    p = outdir / MANIFEST_NAME
    return [json.loads(x) for x in p.read_text().splitlines()] if p.exists() else []


def done(outdir):
    try:
        return [r for r in lines(outdir) if r["status"] == "done"]
    except ValueError:                     # a line being written
        return []


def wait_done(p, out, n):
    t0 = time.monotonic()
    while len(done(out)) < n and p.poll() is None and time.monotonic() - t0 < 120:
        time.sleep(0.02)


def test_ctrl_c_on_a_terminal_ends_the_run_without_a_workers_traceback(tmp_path):
    """Battery s33: a terminal's Ctrl-C reaches the whole process group, and each worker printed a 31-line
    KeyboardInterrupt traceback before the client's one line. The workers now ignore SIGINT; the client stops them."""
    files = make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    p = cli("fill", *files, "--outdir", out, "--workers", 2, "--method", "pconv", start_new_session=True)
    wait_done(p, out, 1)
    os.killpg(p.pid, signal.SIGINT)                                 # as a terminal sends it: to the group
    so, se = p.communicate(timeout=120)
    assert p.returncode == 130 and "interrupted" in se, (so, se)
    assert "Traceback" not in se and "KeyboardInterrupt" not in se, se

def test_ctrl_c_then_sigkill_half_way_then_a_rerun_completes_the_rest(tmp_path):
    files = make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    args = ("fill", *files, "--outdir", out, "--workers", 2, "--method", "pconv")
    p = cli(*args)
    wait_done(p, out, 2)
    before = len(done(out))
    p.send_signal(signal.SIGINT)                                    # Ctrl-C
    so, se = p.communicate(timeout=120)
    assert p.returncode == 130 and "interrupted" in se, (before, len(done(out)), so, se)
    recs = lines(out)                        # compacted on the way out: one line per input it reached
    assert len(recs) == len({r["path"] for r in recs}) and 2 <= len(done(out)) < len(files)
    p = cli(*args, start_new_session=True)
    wait_done(p, out, len(done(out)) + 2)
    os.killpg(p.pid, signal.SIGKILL)         # the client, its scheduler, the nannies and the workers
    p.communicate()
    first = {r["path"] for r in done(out)}
    assert 4 <= len(first) < len(files), "the run ended before it could be killed half way"
    r = subprocess.run([sys.executable, "-m", "corkit_inpaint", *map(str, args)], env=ENV, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"{len(files) - len(first)} done, {len(first)} skipped, 0 failed" in r.stdout
    recs = lines(out)
    assert sorted(x["path"] for x in recs) == sorted(str(f.resolve()) for f in files)     # one line each
    assert {x["status"] for x in recs} == {"done"}
    for f in files:
        data, mask, hdr = read_out(out / f.name)
        assert mask.sum() > 0 and hdr["INPAINT"] == "pconv"
    # every output whole, nothing half-written under a real name (a killed write leaves a dot-temporary at most)
    assert sorted(x for x in os.listdir(out) if not x.startswith(".")) == sorted([f.name for f in files]
                                                                                  + [MANIFEST_NAME])


SCHEDULER = """
import time
from distributed import LocalCluster
if __name__ == "__main__":
    c = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                     scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    print(c.scheduler_address, flush=True)
    time.sleep(300)
"""


def test_a_killed_remote_scheduler_is_one_line_and_a_rerun_resumes(tmp_path):
    files = make_inputs(tmp_path / "in", n=8)
    out = tmp_path / "out"
    (tmp_path / "sched.py").write_text(SCHEDULER)
    sched = subprocess.Popen([sys.executable, str(tmp_path / "sched.py")], env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        address = sched.stdout.readline().strip()
        assert address.startswith("tcp://127.0.0.1:")
        p = cli("fill", *files, "--outdir", out, "--scheduler", address, "--method", "pconv")
        wait_done(p, out, 2)
    finally:
        os.killpg(sched.pid, signal.SIGKILL)
        sched.communicate()
    _, se = p.communicate(timeout=120)
    assert p.returncode == 2 and "Traceback" not in se
    assert [x for x in se.splitlines() if "error" in x.lower()] == [se.strip().splitlines()[-1]]
    assert "lost the dask scheduler" in se and "rerun to resume" in se
    first = len(done(out))
    assert 2 <= first < len(files)
    r = subprocess.run([sys.executable, "-m", "corkit_inpaint", "-q", "fill", *map(str, files), "--outdir", str(out),
                        "--workers", "2", "--method", "pconv"], env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(done(out)) == len(lines(out)) == len(files)


def test_corrupt_input_exit_code_and_one_line(tmp_path):
    files = make_inputs(tmp_path / "in", n=4, corrupt=2)
    out = tmp_path / "out"
    p = cli("fill", *files, "--outdir", out, "--workers", 2, "--method", "biharmonic", "--threads", 1)
    so, se = p.communicate(timeout=300)
    assert p.returncode == 1
    assert "3 done, 0 skipped, 1 failed of 4 files" in so
    errs = [x for x in se.splitlines() if x.startswith("corkit-inpaint: error:")]
    assert len(errs) == 1 and files[2].name in errs[0] and "truncated" in errs[0]


@pytest.mark.parametrize("args,msg", [
    (["-o", "x.fts", "--workers", "2"], "use --outdir"),
    (["--outdir", "o", "--workers", "0"], "--workers 0"),
    (["--outdir", "o", "--workers", "2", "--plot", "p.png"], "--plot is not available"),
    (["--outdir", "o", "--threads", "-2"], "--threads = '-2'"),
    (["--outdir", "o", "--precision", "float16"], "--precision float16 applies to a batch"),   # review s15: ignored
])
def test_usage_errors(tmp_path, args, msg):
    from helpers import REAL
    r = subprocess.run([sys.executable, "-m", "corkit_inpaint", "fill", str(REAL), *args], env=ENV, cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_without_distributed_one_line(tmp_path):
    from helpers import REAL
    (tmp_path / "shadow").mkdir()
    (tmp_path / "shadow" / "distributed.py").write_text("raise ImportError('no distributed here')\n")
    env = dict(ENV, PYTHONPATH=str(tmp_path / "shadow"))
    r = subprocess.run([sys.executable, "-m", "corkit_inpaint", "fill", str(REAL), "--outdir", str(tmp_path),
                        "--workers", "2"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert "need dask.distributed: pip install 'corkit-inpaint[batch]'" in r.stderr


def test_level_1_batch(tmp_path, calib):
    files = make_inputs(tmp_path / "in", n=2)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "corkit_inpaint", "level_1", *map(str, files), "-o", str(out),
                        "--calib-dir", str(calib), "--inpaint", "biharmonic", "--workers", "2"],
                       env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    recs = lines(out)
    assert [x["status"] for x in recs] == ["done", "done"] and all(x["command"] == "level_1" for x in recs)
    data, mask, hdr = read_out(recs[0]["output"])
    assert np.isfinite(data).any() and mask.any() and "level 1" in str(hdr["HISTORY"])


@pytest.mark.parametrize("where", ["outdir_is_a_file", "manifest_is_a_folder"])
def test_an_unusable_output_folder_is_one_line(tmp_path, where):
    from helpers import REAL
    out = tmp_path / "out"
    if where == "outdir_is_a_file":
        out.write_text("a file")
    else:
        (out / MANIFEST_NAME).mkdir(parents=True)
    r = subprocess.run([sys.executable, "-m", "corkit_inpaint", "fill", str(REAL), "--outdir", str(out),
                        "--workers", "1", "--method", "biharmonic"], env=ENV, capture_output=True, text=True,
                       timeout=300)
    errs = [x for x in r.stderr.splitlines() if "Traceback" in x or x.startswith("corkit-inpaint: error:")]
    assert r.returncode == 2 and len(errs) == 1 and errs[0].startswith("corkit-inpaint: error:"), r.stderr


def test_a_rerun_with_another_precision_redoes_the_files_it_changes(tmp_path):
    """``--precision`` is part of the recipe where it applies (a GPU batch); with ``--device cpu`` it changes
    nothing and the rerun skips. No CUDA here: the cuda fills fall back to the CPU; the recipe is what was asked."""
    files = make_inputs(tmp_path / "in", n=2)

    def run(out, *more):
        p = cli("fill", *files, "--outdir", out, "--workers", 1, *more)
        so, se = p.communicate(timeout=300)
        assert p.returncode == 0, se
        return so
    for device, redone in (("cuda", "2 done, 0 skipped"), ("cpu", "0 done, 2 skipped")):
        out = tmp_path / device
        assert "2 done, 0 skipped" in run(out, "--device", device)
        assert redone in run(out, "--device", device, "--precision", "bfloat16")
    assert "0 done, 2 skipped" in run(tmp_path / "cuda", "--device", "cuda", "--precision", "bfloat16")


@pytest.mark.parametrize("env,expect", [(None, 1), ("3", 3), ("0", 0), ("lots", None)])
def test_threads_default_to_the_environment_per_worker(tmp_path, monkeypatch, env, expect):
    """Without ``--threads``, ``$CORKIT_INPAINT_THREADS`` sets each worker's threads, as ``--help`` and the README
    say (the batch path used 1 whatever it said); a bad value is one usage line before any cluster starts."""
    import contextlib

    from helpers import REAL

    import corkit_inpaint.batch.run as batch_run
    from corkit_inpaint.cli import batch as cli_batch
    from corkit_inpaint.cli import main
    seen = {}

    @contextlib.contextmanager
    def client(args):
        seen["cluster"] = args.threads_n
        yield None

    def run_batch(client, files, outdir, **kw):
        seen["fills"] = kw["threads"]
        return batch_run.BatchSummary(total=1, done=1, manifest=tmp_path / MANIFEST_NAME)
    monkeypatch.setattr(cli_batch, "_client", client)
    monkeypatch.setattr(batch_run, "run_batch", run_batch)
    if env is None:
        monkeypatch.delenv("CORKIT_INPAINT_THREADS", raising=False)
    else:
        monkeypatch.setenv("CORKIT_INPAINT_THREADS", env)
    rc = main(["fill", str(REAL), "--outdir", str(tmp_path), "--workers", "2", "-q"])
    if expect is None:
        assert rc == 2 and seen == {}
    else:
        assert rc == 0 and seen == {"cluster": expect, "fills": expect}
