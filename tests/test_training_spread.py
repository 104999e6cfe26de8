"""`corkit_inpaint.training.spread`: the spread head trained on a frozen network, and its Laplace loss."""

import json

import numpy as np
import pytest
import torch

from corkit_inpaint.network.unet import PConvUNet
from corkit_inpaint.network.weights import WEIGHTS_FORMAT, load_model, read_weights_file
from corkit_inpaint.training.config import TrainConfig
from corkit_inpaint.training.losses.laplace import laplace_nll
from corkit_inpaint.training.spread import main, train_spread


def test_laplace_nll_is_least_at_the_mean_absolute_miss_over_the_hole():
    g = torch.Generator().manual_seed(0)
    truth = torch.randn(1, 1, 16, 16, generator=g) * 0.3
    pred = torch.zeros_like(truth)
    hole = torch.zeros_like(truth)
    hole[..., 4:12, 4:12] = 1
    truth_out = truth.clone()
    truth_out[hole == 0] = 1e6                       # pixels outside the hole do not count
    best = float(truth.abs()[hole > 0].mean())
    bs = np.exp(np.linspace(np.log(best) - 1, np.log(best) + 1, 41))
    losses = [float(laplace_nll(pred, torch.full_like(truth, float(np.log(b))), truth_out, hole)) for b in bs]
    assert abs(bs[int(np.argmin(losses))] / best - 1) < 0.03


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    torch.manual_seed(0)
    net = PConvUNet(widths=(8, 8, 8, 8), extra_channels=8, base=3, step="noise")
    path = tmp_path_factory.mktemp("base") / "tiny-nb.pt"
    torch.save({"format": WEIGHTS_FORMAT, "model_config": net.config, "state_dict": net.state_dict()}, path)
    return path


def cfg(**kw):
    return TrainConfig(**{**dict(frames=3, first_frame_seed=8_000_000, steps=4, batch=4, lr=1e-3, lr_final=1e-4,
                                 threads=1, sequences=True, extra_channels=8, base_guide=3, step="noise"), **kw})


def test_only_the_head_learns_and_its_calibration_is_recorded(base, tmp_path):
    path = train_spread(cfg(), tmp_path / "run", init=str(base), width=4, single=2, held_out=0.3, progress=False)
    blob = read_weights_file(path)
    before = read_weights_file(base)["state_dict"]
    assert blob["model_config"]["sigma_head"] == 4
    for k, v in blob["state_dict"].items():         # the fill's tensors are the init's, bit for bit
        if k.startswith("spread_head."):
            continue
        assert torch.equal(v, before[k]), k
    assert torch.count_nonzero(blob["state_dict"]["spread_head.body.4.weight"]) > 0   # the head moved off zero
    meta = json.loads((tmp_path / "run" / "config.json").read_text())
    assert meta["init_sha256"] == __import__("hashlib").sha256(base.read_bytes()).hexdigest()
    assert meta["laplace_to_q68"] > 0 and meta["held_out_samples"] > 0 and meta["config"]["steps"] == 4
    assert meta["single_frames"] == 2 and meta["single_first_seed"] == 8_500_000
    # after the fold the held-out share within the half-width is the 68.27% it was calibrated to
    assert abs(meta["held_out_share_within_1sigma"] - 0.6827) < 0.01
    assert load_model(path).spread_head is not None


def test_the_same_seed_gives_the_same_head(base, tmp_path):
    a = train_spread(cfg(), tmp_path / "a", init=str(base), width=4, held_out=0.3, progress=False)
    b = train_spread(cfg(), tmp_path / "b", init=str(base), width=4, held_out=0.3, progress=False)
    assert a.read_bytes() == b.read_bytes()


def test_the_record_names_the_code_that_made_the_head(base, tmp_path):
    """Battery 27c: a spread head's config.json named torch's version but not this package's, numpy's, scipy's
    (the simulator's) or the source commit, which a training run's and a soup's record give."""
    from corkit_inpaint import __version__
    train_spread(cfg(steps=1), tmp_path / "a", init=str(base), width=4, held_out=0.3, progress=False)
    meta = json.loads((tmp_path / "a" / "config.json").read_text())
    assert meta["versions"]["corkit-inpaint"] == __version__ and meta["versions"]["torch"] == torch.__version__
    assert {"python", "numpy", "scipy", "astropy", "scikit-image"} <= set(meta["versions"])
    assert "source_commit" in meta


def test_a_network_with_a_head_is_refused_as_init(base, tmp_path):
    first = train_spread(cfg(steps=1), tmp_path / "a", init=str(base), width=4, held_out=0.3, progress=False)
    with pytest.raises(ValueError, match="already has a spread head"):
        train_spread(cfg(steps=1), tmp_path / "b", init=str(first), width=4, progress=False)


def test_command_line(base, tmp_path, capsys):
    assert main(["--out", str(tmp_path / "cli"), "--init", str(base), "--frames", "3", "--steps", "2",
                 "--width", "4", "--held-out", "0.3", "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "cli" / "model.pt")


def test_the_command_line_refuses_bad_input_in_one_line(tmp_path, capsys):
    """Review s15: an unknown --init ended in a traceback."""
    from corkit_inpaint.training.spread import main
    assert main(["--out", str(tmp_path / "h"), "--init", "NOPE", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "unknown model 'NOPE'" in err and err.count("\n") == 1
    assert main(["--out", str(tmp_path / "h"), "--steps", "0", "--quiet"]) == 1
    assert "steps = 0" in capsys.readouterr().err and not (tmp_path / "h").exists()


def test_an_out_that_cannot_serve_is_one_line_and_the_network_is_kept(base, tmp_path, capsys):
    """Review: --out a file or a link to nothing was a FileExistsError traceback; --out the folder of --init's
    model.pt trained and replaced the network it started from."""
    import shutil
    (tmp_path / "file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    (tmp_path / "net").mkdir()
    shutil.copy(base, tmp_path / "net" / "model.pt")
    small = ["--frames", "3", "--steps", "2", "--width", "4", "--held-out", "0.3", "--single", "0", "--quiet"]
    for out, init, why in ((tmp_path / "file", base, "is a file"), (tmp_path / "link", base, "link to nothing"),
                           (tmp_path / "net", tmp_path / "net" / "model.pt", "another --out")):
        assert main(["--out", str(out), "--init", str(init), *small]) == 1
        err = capsys.readouterr().err
        assert why in err and err.count("\n") == 1 and "Traceback" not in err
    assert (tmp_path / "net" / "model.pt").read_bytes() == base.read_bytes()
    assert sorted(p.name for p in (tmp_path / "net").iterdir()) == ["model.pt"]
