"""`corkit_inpaint.cli.train`: the ``train`` command's exit codes, options and a tiny run."""

import argparse
import json
import os
from pathlib import Path

import pytest
import torch

from corkit_inpaint.cli import build_parser, main
from corkit_inpaint.network.weights import read_weights_file

TINY = ["--frames", "1", "--steps", "2", "--batch", "2", "--widths", "8", "8", "8", "8", "--crop", "32",
        "--masks-per-frame", "1", "--crops-per-window", "1", "--threads", "1"]


def subparser(name):
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def test_out_of_bounds_values_are_usage_errors(tmp_path, capsys):
    for args, field in ((["--crop", "8"], "crop"), (["--teacher-prob", "1.5"], "teacher_prob"),
                        (["--widths", "8", "0"], "widths"), (["--frames", "0"], "frames"),
                        # battery s36: these ran (1e11 frames until killed) or failed in numpy's or torch's words
                        (["--frames", "100000000000"], "frames"), (["--seed", "-1"], "seed"),
                        (["--seed", "99999999999999999999999"], "seed"),
                        (["--first-frame-seed", str(2 ** 63)], "first_frame_seed")):
        assert main(["train", "--out", str(tmp_path / "run"), *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("corkit-inpaint: error: train: ") and field in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()                        # refused before anything is done


def test_missing_vgg_file_is_a_usage_error(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "run"), "--vgg", str(tmp_path / "nope.pth")]) == 2
    assert "--vgg" in capsys.readouterr().err and not (tmp_path / "run").exists()


@pytest.mark.parametrize("args", [[], ["--out", "x", "--crop", "wide"], ["--out", "x", "--no-such-option"],
                                  ["--out", "x", "--generator-version", "1"]])
def test_bad_command_lines_exit_2(args, capsys):
    with pytest.raises(SystemExit) as ei:
        main(["train", *args])
    err = capsys.readouterr().err
    assert ei.value.code == 2 and err.count("\n") == 1 and err.startswith("corkit-inpaint")
    assert err.rstrip().endswith(" --help')")


def test_every_option_has_help():
    p = subparser("train")
    for a in p._actions:
        assert a.help and a.help.strip(), a.dest
    opts = {s for a in p._actions for s in a.option_strings}
    assert {"--out", "--workers", "--device", "--time-limit", "--restart", "--crop", "--widths"} <= opts
    assert "--init-sha256" in opts                       # a parent pinned by its bytes


@pytest.mark.slow
def test_a_tiny_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["-q", "train", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == str(out / "model.pt")
    blob = read_weights_file(printed)
    assert blob["model_config"]["widths"] == [8, 8, 8, 8]
    meta = json.loads((out / "config.json").read_text())
    assert meta["config"]["crop"] == 32 and meta["config"]["steps"] == 2 and meta["steps_done"] == 2
    # run again with more steps: refused (its schedule would differ from the record's); --restart starts over
    assert main(["-q", "train", "--out", str(out), *TINY, "--steps", "3"]) == 1
    err = capsys.readouterr().err
    assert "other settings (steps 2 -> 3)" in err and err.count("\n") == 1
    assert main(["-q", "train", "--out", str(out), *TINY, "--steps", "3", "--restart"]) == 0
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ck["step"] == 3 and len(ck["history"]) == 3
    assert json.loads((out / "config.json").read_text())["steps_done"] == 3


def test_a_run_stopped_by_the_time_limit_exits_3_and_goes_on_when_rerun(tmp_path, capsys):
    """Review s15: it exited 0 with a final-looking model, and the training scripts packaged and built on it."""
    out = tmp_path / "run"
    assert main(["-q", "train", "--out", str(out), *TINY, "--time-limit", "1e-9"]) == 3
    assert "stopped by --time-limit at step 1 of 2" in capsys.readouterr().err
    meta = json.loads((out / "config.json").read_text())
    assert meta["steps_done"] == 1 and meta["complete"] is False
    assert main(["-q", "train", "--out", str(out), *TINY]) == 0
    assert json.loads((out / "config.json").read_text())["complete"] is True
    assert main(["-q", "train", "--out", str(out), *TINY, "--time-limit", "1e-9", "--restart"]) == 3
    assert "run the same command without --restart again" in capsys.readouterr().err


@pytest.mark.parametrize("extra, why, code", [
    (["--steps", "0"], "steps = 0", 2), (["--lr", "nan"], "lr = nan", 2), (["--workers", "-2"], "--workers -2", 2),
    (["--time-limit", "-1"], "--time-limit -1", 2), (["--init", "NOPE"], "NOPE", 1),
    (["--device", "bogus"], "--device bogus", 1), (["--crop", "5000"], "no training crop", 1),
    (["--device", "mps"], "--device mps", 1),                   # known to torch, not built in here
    (["--workers", "100000"], "--workers 100000: give 1 to", 2),   # battery s36: all started at once
])
def test_bad_inputs_are_one_line_before_the_data_are_simulated(tmp_path, capsys, extra, why, code):
    """Review s15: most of these ended in a traceback, after the whole data set was simulated."""
    assert main(["-q", "train", "--out", str(tmp_path / "run"), *TINY, *extra]) == code
    err = capsys.readouterr().err
    assert why in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "run" / "model.pt").exists()


def test_an_out_that_is_a_file_or_a_parent_that_is_not_weights_is_one_line(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["-q", "train", "--out", str(f), *TINY]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err and f.read_text() == "x"
    assert main(["-q", "train", "--out", str(tmp_path / "run"), *TINY, "--init", str(f)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_sequences_flag_and_its_channel_check(tmp_path, capsys):
    from corkit_inpaint.cli.train import config_from_args
    p = subparser("train")
    cfg = config_from_args(p.parse_args(["--out", "x", "--sequences", "--extra-channels", "6", "--base-guide", "3"]))
    assert cfg.sequences is True and cfg.extra_channels == 6 and cfg.base_guide == 3
    assert config_from_args(p.parse_args(["--out", "x"])).sequences is False
    assert main(["train", "--out", str(tmp_path / "run"), "--sequences"]) == 2      # needs 6 guides
    assert "extra_channels" in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_an_out_that_cannot_be_a_folder_is_one_line_before_the_data(tmp_path, capsys):
    """Review: a dangling link or a path under a file as --out ended in a traceback, after the data were simulated."""
    (tmp_path / "file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    for out, why in ((tmp_path / "link", "is a link to nothing"), (tmp_path / "file" / "run", "is a file")):
        assert main(["-q", "train", "--out", str(out), *TINY]) == 1
        err = capsys.readouterr().err
        assert why in err and err.count("\n") == 1 and "Traceback" not in err
    assert (tmp_path / "file").read_text() == "x" and not (tmp_path / "nowhere").exists()


def test_an_init_file_the_run_would_overwrite_is_refused(tmp_path, capsys):
    """Review: --init runs/a/model.pt --out runs/a trained and replaced the parent it started from."""
    from corkit_inpaint.network.unet import PConvUNet
    from corkit_inpaint.network.weights import WEIGHTS_FORMAT
    run = tmp_path / "run"
    run.mkdir()
    net = PConvUNet(widths=(8, 8, 8, 8), extra_channels=3)           # a parent TINY could start from
    torch.save({"format": WEIGHTS_FORMAT, "model_config": net.config, "state_dict": net.state_dict()},
               run / "model.pt")
    before = (run / "model.pt").read_bytes()
    assert main(["-q", "train", "--out", str(run), *TINY, "--init", str(run / "model.pt")]) == 1
    err = capsys.readouterr().err
    assert "--init" in err and "another --out" in err and err.count("\n") == 1
    assert (run / "model.pt").read_bytes() == before and sorted(p.name for p in run.iterdir()) == ["model.pt"]


def test_a_run_whose_loss_is_not_finite_fails_and_writes_no_weights(tmp_path, capsys):
    """Review: --lr 1e30 trained to NaN weights, exited 0 and wrote a config.json holding NaN (not JSON)."""
    out = tmp_path / "run"
    assert main(["-q", "train", "--out", str(out), *TINY, "--lr", "1e30", "--lr-final", "1e30", "--steps", "4"]) == 1
    err = capsys.readouterr().err
    assert "the training diverged" in err and err.count("\n") == 1
    assert not (out / "model.pt").exists() and not (out / "config.json").exists()


def test_alone_share_needs_sequences(tmp_path, capsys):
    """--alone-share without --sequences did nothing, silently: single simulated frames have no neighbours."""
    assert main(["train", "--out", str(tmp_path / "run"), "--alone-share", "0.5"]) == 2
    assert "needs --sequences" in capsys.readouterr().err and not (tmp_path / "run").exists()


def _unwritable_out(tmp_path):
    """An --out folder that cannot be made or written in: under a read-only folder, or (root writes anywhere)
    under /proc, where no folder can be made, not even by root."""
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro / "run"
    if not Path("/proc/self").is_dir():
        pytest.skip("running as root without /proc: no folder here refuses root")
    return Path("/proc/corkit-inpaint-test/run")


def test_an_out_that_cannot_be_written_is_refused_before_the_data(tmp_path, capsys, monkeypatch):
    """Battery: an --out that could not be made or written in was found out after the data were simulated and
    the network trained, by a torch.save traceback (or a late one-line refusal)."""
    from corkit_inpaint.training import loop

    def simulated(*a, **k):
        raise AssertionError("the data were built for an --out that cannot be written")
    monkeypatch.setattr(loop, "build_dataset", simulated)
    out = _unwritable_out(tmp_path)
    code = main(["-q", "train", "--out", str(out), *TINY])
    if out.parent.parent == tmp_path:
        out.parent.chmod(0o755)
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("corkit-inpaint: error: --out ")
    assert "cannot be made a folder or written in" in err and not out.exists()


def test_the_writability_check_leaves_no_folder_behind(tmp_path):
    """The check makes the folder to try a file in it, then removes what it made: a run refused later (here:
    a check_run alone) leaves nothing."""
    from corkit_inpaint.training.config import TrainConfig
    from corkit_inpaint.training.loop import check_run
    check_run(TrainConfig(frames=1, steps=1, batch=2, widths=(8, 8, 8, 8), crop=32, threads=1),
              tmp_path / "new" / "run")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_out_is_a_usage_error(tmp_path, capsys, monkeypatch):
    """Battery s36: ``--out ""`` trained into the current folder and exited 0."""
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "train", "--out", "", *TINY]) == 2
    assert capsys.readouterr().err == "corkit-inpaint: error: --out: give a folder name\n"
    assert not any(tmp_path.iterdir())


def test_a_checkpoint_or_vgg_file_that_is_a_pickle_is_refused_without_torch_s_advice(tmp_path, capsys):
    """Battery s36: the refusal quoted torch's advice to load with weights_only=False (running the file's code)."""
    import pickle
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(argparse.Namespace(x=1)))
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(evil.read_bytes())
    for extra in (["--vgg", str(evil)], []):
        assert main(["-q", "train", "--out", str(out), *TINY, *extra]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "weights_only=False" not in err and "weights_only" not in err, err
        assert "corkit-inpaint never runs a file's code to load it" in err


def test_an_empty_or_folder_vgg_or_init_is_a_usage_error(tmp_path, capsys):
    """Battery s36: ``--vgg ""`` and ``--init ""`` were taken for none in silence; a folder given as --vgg was
    'no such file'."""
    for extra, said in ((["--vgg", ""], "--vgg: give a file"), (["--init", " "], "--init: give a file"),
                        (["--vgg", str(tmp_path)], f"--vgg {tmp_path}: is a folder")):
        assert main(["-q", "train", "--out", str(tmp_path / "run"), *TINY, *extra]) == 2
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()
