"""`corkit_inpaint.training.loop`: the training loop, resumable checkpoints that never execute code."""

import json
import os
from dataclasses import replace

import numpy as np
import pytest
import torch

from corkit_inpaint.exceptions import WeightsError
from corkit_inpaint.network.weights import read_weights_file
from corkit_inpaint.training.config import TrainConfig
from corkit_inpaint.training.dataset import SAMPLE_KEYS, build_dataset
from corkit_inpaint.training.loop import load_checkpoint, train

TINY = TrainConfig(frames=1, steps=6, batch=2, widths=(8, 8, 8, 8), masks_per_frame=1, crops_per_window=1,
                   crop=32, threads=1, lr=2e-3, lr_final=1e-3)


def toy_data(n=4, c=32, seed=0):
    """A hand-made data set of ``n`` crops (no simulation)."""
    rng = np.random.default_rng(seed)
    valid = np.ones((n, c, c), dtype=bool)
    valid[:, 8:24, 8:24] = False
    truth = rng.standard_normal((n, c, c)).astype(np.float32)
    data = {"image": np.where(valid, truth, 0).astype(np.float32), "valid": valid,
            "guides": rng.standard_normal((n, 3, c, c)).astype(np.float32),
            "texture": 0.1 * rng.standard_normal((n, c, c)).astype(np.float32), "truth": truth,
            "hole": ~valid, "noise": np.full(n, 0.1, np.float32)}
    assert set(data) == set(SAMPLE_KEYS)
    return data


class Payload:
    """Unpickling this runs ``os.mkdir(marker)``: what a crafted checkpoint could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def crafted_checkpoint(folder, marker):
    folder.mkdir(parents=True, exist_ok=True)
    ck = folder / "checkpoint.pt"
    torch.save({"model": {}, "opt": {}, "sched": {}, "step": 0, "history": [], "wall": 0.0, "rng": {},
                "torch_rng": torch.get_rng_state(), "payload": Payload(marker)}, ck)
    return ck


def test_crafted_checkpoint_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "MARKER"
    ck = crafted_checkpoint(tmp_path / "run", marker)
    with pytest.raises(WeightsError, match="not a loadable checkpoint"):
        load_checkpoint(ck)
    assert not marker.exists()
    with pytest.raises(WeightsError, match="checkpoint.pt"):
        train(replace(TINY), tmp_path / "run", data=toy_data(), resume=True, progress=False)
    assert not marker.exists()
    # the file really is hostile: an unsafe load runs its code (so the checks above can fail)
    torch.load(ck, weights_only=False)
    assert marker.is_dir()


@pytest.mark.slow
def test_resume_false_never_reads_the_checkpoint(tmp_path):
    marker = tmp_path / "MARKER"
    crafted_checkpoint(tmp_path / "run", marker)
    path = train(replace(TINY, steps=1), tmp_path / "run", data=toy_data(), resume=False, progress=False)
    assert not marker.exists() and read_weights_file(path)["model_config"]["widths"] == [8, 8, 8, 8]
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 1       # replaced by a clean one


def test_other_files_are_not_checkpoints(tmp_path):
    f = tmp_path / "dict.pt"
    torch.save({"model": {}, "step": 3}, f)
    with pytest.raises(WeightsError, match="not a corkit-inpaint training checkpoint"):
        load_checkpoint(f)
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(WeightsError, match="not a loadable checkpoint"):
        load_checkpoint(tmp_path / "text.pt")


def test_bad_config_or_empty_data_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="crop = 8"):
        train(replace(TINY, crop=8), tmp_path / "a", data=toy_data(), progress=False)
    assert not (tmp_path / "a").exists()
    empty = {k: v[:0] for k, v in toy_data().items()}
    with pytest.raises(ValueError, match="empty"):
        train(replace(TINY), tmp_path / "b", data=empty, progress=False)
    assert not (tmp_path / "b" / "checkpoint.pt").exists()


def test_zero_steps_or_a_nan_rate_are_refused(tmp_path):
    """Review s15: steps = 0 wrote the random initial weights as a model; a NaN lr passed the bounds."""
    for bad, field in ((replace(TINY, steps=0), "steps"), (replace(TINY, lr=float("nan")), "lr")):
        with pytest.raises(ValueError, match=field):
            train(bad, tmp_path / field, data=toy_data(), resume=False, progress=False)
        assert not (tmp_path / field).exists()
    path = train(replace(TINY, steps=1), tmp_path / "one", data=toy_data(), resume=False, progress=False)
    assert read_weights_file(path)["model_config"]["widths"] == [8, 8, 8, 8]
    meta = json.loads((tmp_path / "one" / "config.json").read_text(),
                      parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    # what else decides the weights is recorded beside them
    from corkit_inpaint import __version__
    assert meta["complete"] is True and meta["versions"]["corkit-inpaint"] == __version__
    assert {"numpy", "scipy", "astropy", "scikit-image", "python"} <= set(meta["versions"])
    assert "source_commit" in meta


def test_a_run_is_resumed_only_with_the_settings_it_was_trained_with(tmp_path):
    """Review s15: a run resumed with another seed, thread count or step count recorded settings it did not have."""
    from corkit_inpaint.training.loop import check_run
    data = toy_data()
    train(replace(TINY), tmp_path, data=data, resume=False, progress=False, time_limit=0.0)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    for change in ({"seed": 5}, {"threads": 2}, {"steps": 9}, {"lr": 1e-2}):
        with pytest.raises(WeightsError, match=f"other settings \\({next(iter(change))} "):
            train(replace(TINY, **change), tmp_path, data=data, progress=False)
        with pytest.raises(WeightsError, match="other settings"):
            check_run(replace(TINY, **change), tmp_path)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before           # nothing was touched
    check_run(replace(TINY), tmp_path)                                    # the same settings: it resumes
    train(replace(TINY), tmp_path, data=data, progress=False)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == TINY.steps
    train(replace(TINY, seed=5), tmp_path, data=data, resume=False, progress=False)     # resume=False: anew


def test_a_parent_that_changed_is_refused(tmp_path):
    """Review s15: a run remade from its record started from whatever file had the parent's name."""
    import shutil
    data = toy_data()
    parent = tmp_path / "parent.pt"
    shutil.copyfile(train(replace(TINY, steps=1), tmp_path / "p1", data=data, resume=False, progress=False), parent)
    cfg = replace(TINY, steps=1, init=str(parent))
    train(cfg, tmp_path / "child", data=data, resume=False, progress=False)
    recorded = json.loads((tmp_path / "child" / "config.json").read_text())["config"]
    assert recorded["init_sha256"] and recorded["init"] == str(parent)
    shutil.copyfile(train(replace(TINY, steps=1, seed=9), tmp_path / "p2", data=data, resume=False,
                          progress=False), parent)                         # another file under the same name
    remade = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in recorded.items()})
    with pytest.raises(WeightsError, match="the parent changed"):
        train(remade, tmp_path / "remade", data=data, resume=False, progress=False)
    assert not (tmp_path / "remade" / "model.pt").exists()


def test_a_resumed_run_checks_the_init_sha256_pin(tmp_path):
    """Review: a resumed run ignored an --init-sha256 its parent did not have; a fresh run refuses it."""
    import hashlib
    data = toy_data()
    parent = train(replace(TINY, steps=1), tmp_path / "p", data=data, resume=False, progress=False)
    cfg = replace(TINY, init=str(parent))
    train(replace(cfg), tmp_path / "child", data=data, resume=False, progress=False, time_limit=0.0)
    before = (tmp_path / "child" / "checkpoint.pt").read_bytes()
    with pytest.raises(WeightsError, match="not the --init-sha256"):
        train(replace(cfg, init_sha256="0" * 64), tmp_path / "child", data=data, progress=False)
    assert (tmp_path / "child" / "checkpoint.pt").read_bytes() == before
    pin = hashlib.sha256(parent.read_bytes()).hexdigest()
    train(replace(cfg, init_sha256=pin), tmp_path / "child", data=data, progress=False)    # the right pin resumes
    assert load_checkpoint(tmp_path / "child" / "checkpoint.pt")["step"] == TINY.steps


def test_a_run_is_resumed_only_on_the_kind_of_device_it_was_trained_on(tmp_path):
    """Review: a run started with --device cuda and resumed without it (or the reverse) mixed two arithmetics and
    recorded the last session's device alone."""
    data = toy_data()
    train(replace(TINY), tmp_path, data=data, resume=False, progress=False, time_limit=0.0)
    ck = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ck["device"] == "cpu"
    ck["device"] = "cuda"                                   # as a run started on a GPU records it
    torch.save(ck, tmp_path / "checkpoint.pt")
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(WeightsError, match="other settings \\(device 'cuda' -> 'cpu'\\)"):
        train(replace(TINY), tmp_path, data=data, progress=False)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before


def test_a_checkpoint_from_before_a_setting_existed_resumes_with_its_old_value(tmp_path):
    """A checkpoint of 0.1.11 has no ``alone_share`` (every run of that release had 0.12, the default), one of
    0.1.14 no ``pylon_masks`` (0)."""
    data = toy_data()
    train(replace(TINY), tmp_path, data=data, resume=False, progress=False, time_limit=0.0)
    ck = load_checkpoint(tmp_path / "checkpoint.pt")
    del ck["config"]["alone_share"], ck["config"]["pylon_masks"]      # as 0.1.11 wrote it
    torch.save(ck, tmp_path / "checkpoint.pt")
    with pytest.raises(WeightsError, match="other settings \\(alone_share 0.12 -> 0.5\\)"):
        train(replace(TINY, alone_share=0.5), tmp_path, data=data, progress=False)
    with pytest.raises(WeightsError, match="other settings \\(pylon_masks 0.0 -> 0.5\\)"):
        train(replace(TINY, pylon_masks=0.5), tmp_path, data=data, progress=False)
    train(replace(TINY), tmp_path, data=data, progress=False)    # the value it had: it resumes
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == TINY.steps


def test_an_out_holding_weights_that_are_no_run_of_its_own_is_refused(tmp_path):
    """Review: --out pointing at a folder with a hand-copied model.pt (or a spread run's) replaced it silently."""
    from corkit_inpaint.exceptions import InputError
    mine = tmp_path / "model.pt"
    mine.write_bytes(b"somebody's weights")
    with pytest.raises(InputError, match="no checkpoint.pt of a training run"):
        train(replace(TINY), tmp_path, data=toy_data(), progress=False)
    assert mine.read_bytes() == b"somebody's weights" and not (tmp_path / "checkpoint.pt").exists()
    train(replace(TINY), tmp_path, data=toy_data(), resume=False, progress=False)      # --restart: replaced
    assert mine.read_bytes() != b"somebody's weights"


def test_every_config_that_passes_check_trains(tmp_path):
    cfg = replace(TINY, lr=0.0, steps=1)
    try:
        cfg.check()
    except ValueError:
        return                                                    # refused up front: fine too
    path = train(cfg, tmp_path, data=toy_data(), resume=False, progress=False)
    assert read_weights_file(path)["model_config"]["widths"] == [8, 8, 8, 8]


@pytest.mark.slow
def test_tiny_training_lowers_loss(tmp_path):
    cfg = TrainConfig(frames=2, steps=40, batch=4, widths=(8, 12, 16, 16), lr=3e-3, lr_final=3e-3,
                      masks_per_frame=2, crops_per_window=1, w_noise=0.0, teacher_prob=0.0, threads=1)
    data = build_dataset(cfg, progress=False)
    assert len(data["noise"]) >= 4
    torch.manual_seed(0)
    path = train(cfg, tmp_path, data=data, resume=False, progress=False, checkpoint_every=1000)
    meta = json.loads((tmp_path / "config.json").read_text())
    hist = np.array(load_checkpoint(tmp_path / "checkpoint.pt")["history"])
    first, last = hist[:8, 2].mean(), hist[-8:, 2].mean()        # hole L1
    assert last < first, (first, last)
    blob = read_weights_file(path)                                # the output loads without code execution
    assert blob["model_config"]["widths"] == [8, 12, 16, 16]
    assert meta["config"]["seed"] == cfg.seed and meta["steps_done"] == 40


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_weights(tmp_path):
    data = build_dataset(TINY, progress=False)
    straight = train(replace(TINY), tmp_path / "a", data=data, resume=False, progress=False)
    # stopped by the time limit after its first step, then resumed from the checkpoint
    train(replace(TINY), tmp_path / "b", data=data, resume=False, progress=False, time_limit=0.0)
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["step"] == 1
    resumed = train(replace(TINY), tmp_path / "b", data=data, resume=True, progress=False)
    a, b = read_weights_file(straight)["state_dict"], read_weights_file(resumed)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ha = load_checkpoint(tmp_path / "a" / "checkpoint.pt")["history"]
    hb = load_checkpoint(tmp_path / "b" / "checkpoint.pt")["history"]
    assert ha == hb and len(ha) == TINY.steps
    # and resume=False starts over: the same run again, not a continuation
    again = train(replace(TINY), tmp_path / "b", data=data, resume=False, progress=False)
    b2 = read_weights_file(again)["state_dict"]
    assert all(torch.equal(a[k], b2[k]) for k in a)


@pytest.mark.parametrize("arch", ["pconv-fourier", "fourier-vae"])
def test_fourier_variants_train_and_record_their_architecture(tmp_path, arch):
    """Each variant trains with the same loop; the VAE's history carries its KL term, and the KL is scored."""
    path = train(replace(TINY, arch=arch), tmp_path, data=toy_data(), resume=False, progress=False)
    blob = read_weights_file(path)
    assert blob["model_config"]["arch"] == arch
    assert any(".fattn." in k for k in blob["state_dict"]) and any(".fskips." in k for k in blob["state_dict"])
    assert any(k.startswith("latent.") for k in blob["state_dict"]) == (arch == "fourier-vae")
    hist = load_checkpoint(tmp_path / "checkpoint.pt")["history"]
    assert all(len(h) == (7 if arch == "fourier-vae" else 6) for h in hist)
    if arch == "fourier-vae":
        assert all(h[6] >= 0 for h in hist) and any(h[6] > 0 for h in hist)
    meta = json.loads((tmp_path / "config.json").read_text())
    assert meta["config"]["arch"] == arch and meta["model_config"]["arch"] == arch


def test_a_run_started_with_a_vgg_file_is_not_resumed_without_it(tmp_path):
    """Review s15: the VGG file was compared by its bytes only when given again, so leaving it out passed."""
    from corkit_inpaint.training.losses.perceptual import vgg19_layers
    vgg = tmp_path / "vgg.pth"
    torch.save({f"features.{k}": v for k, v in vgg19_layers().state_dict().items()}, vgg)
    data = toy_data()
    with_vgg = replace(TINY, vgg=str(vgg))
    train(with_vgg, tmp_path / "run", data=data, resume=False, progress=False, time_limit=0.0)
    with pytest.raises(WeightsError, match="other settings \\(vgg "):
        train(replace(TINY), tmp_path / "run", data=data, progress=False)
    train(with_vgg, tmp_path / "run", data=data, progress=False)               # with it: it goes on
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == TINY.steps


def test_a_failed_or_terminated_save_leaves_no_temporary(tmp_path, monkeypatch):
    """Review: a write that failed (or a SIGTERM) in torch.save left .model.pt.tmp beside the output for good."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from corkit_inpaint.training import loop
    out = tmp_path / "model.pt"
    out.write_bytes(b"the last good file")

    def half_then_fail(obj, f):
        Path(f).write_bytes(b"half")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(loop.torch, "save", half_then_fail)
    with pytest.raises(WeightsError, match="No space left on device"):      # one line, not a traceback
        loop.save_torch({"x": 1}, out)
    assert out.read_bytes() == b"the last good file" and sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]
    # a SIGTERM while torch.save writes: the process dies of it, and the temporary goes with it
    code = ("import os, signal, time, torch; from pathlib import Path; from corkit_inpaint.training import loop\n"
            "def slow(obj, f):\n    Path(f).write_bytes(b'half'); os.kill(os.getpid(), signal.SIGTERM); time.sleep(5)\n"
            f"torch.save = slow\nloop.save_torch({{'x': 1}}, Path({str(out)!r}))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert r.returncode == -signal.SIGTERM
    assert out.read_bytes() == b"the last good file" and sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_a_write_torch_refuses_is_a_one_line_weights_error(tmp_path):
    """Battery: torch.save's RuntimeError (here: the folder is a file) reached the command line as a traceback."""
    from corkit_inpaint.training.loop import save_torch
    (tmp_path / "file").write_text("keep")
    with pytest.raises(WeightsError, match=r"model\.pt: could not be written \(") as ei:
        save_torch({"x": torch.zeros(2)}, tmp_path / "file" / "model.pt")
    assert "\n" not in str(ei.value) and (tmp_path / "file").read_text() == "keep"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_run_on_cuda_resumes_with_its_random_state(tmp_path):
    """Battery 27c (by reading; no GPU was lent to check it): a checkpoint is read onto --device, so a CUDA run's
    CPU random state came back as a CUDA tensor and torch.set_rng_state refused it (TypeError: every resume of
    train_default.sh's stages with --device cuda); and the CUDA generator that teacher forcing draws from was not
    saved, so a resumed run drew the first steps' forcing again."""
    data = toy_data()
    cfg = replace(TINY, teacher_prob=0.5)
    train(replace(cfg), tmp_path, data=data, resume=False, progress=False, device="cuda", time_limit=0.0)
    ck = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ck["step"] == 1 and "cuda_rng" in ck
    train(replace(cfg), tmp_path, data=data, progress=False, device="cuda")
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == cfg.steps
    assert torch.equal(torch.cuda.get_rng_state().cpu(), load_checkpoint(tmp_path / "checkpoint.pt")["cuda_rng"].cpu())
