"""The simulator is reproducible, and a tiny CPU training run lowers the loss."""

import json

import numpy as np
import torch

from corkit_inpaint.synthetic import GENERATOR_VERSION, make_frame
from corkit_inpaint.train import TrainConfig, build_dataset, train
from corkit_inpaint.weights import read_weights_file


def test_generator_reproducible_under_seed():
    a, ha = make_frame(123)
    b, hb = make_frame(123)
    c, _ = make_frame(124, detector=ha["DETECTOR"], summed=a.shape[0] == 512)
    assert np.array_equal(a, b) and ha == hb
    assert not np.array_equal(a, c)
    assert ha["SYNTHGEN"] == GENERATOR_VERSION and ha["SYNTSEED"] == 123


def test_generator_realistic_ranges():
    for det in ("C2", "C3"):
        img, hdr = make_frame(7, detector=det, summed=False)
        assert img.dtype == np.int32 and img.shape == (1024, 1024)
        valid = img[img > 0]
        assert valid.max() <= 65532 and np.any(valid == 65532)            # saturated sources exist
        assert np.percentile(valid, 1) > 0.5 * hdr["OFFSET"]              # bias present
        assert np.any(img == 0)                                           # never-sent blocks
        # about four decades between the brightest corona and the faint field
        rate = (valid.astype(float) - hdr["OFFSET"]) / hdr["EXPTIME"]
        assert np.percentile(rate, 99) / max(np.percentile(rate, 5), 1e-3) > 10


def test_tiny_training_lowers_loss(tmp_path):
    cfg = TrainConfig(frames=2, steps=40, batch=4, widths=(8, 12, 16, 16), lr=3e-3, lr_final=3e-3,
                      masks_per_frame=2, crops_per_window=1, w_noise=0.0, teacher_prob=0.0)
    data = build_dataset(cfg, progress=False)
    assert len(data["noise"]) >= 4
    torch.manual_seed(0)
    path = train(cfg, tmp_path, data=data, resume=False, progress=False, checkpoint_every=1000)
    meta = json.loads((tmp_path / "config.json").read_text())
    hist = np.array(torch.load(tmp_path / "checkpoint.pt", weights_only=False)["history"])
    first, last = hist[:8, 2].mean(), hist[-8:, 2].mean()        # hole L1
    assert last < first, (first, last)
    blob = read_weights_file(path)                                # the output loads without code execution
    assert blob["model_config"]["widths"] == [8, 12, 16, 16]
    assert meta["config"]["seed"] == cfg.seed and meta["steps_done"] == 40
