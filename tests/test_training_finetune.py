"""`corkit_inpaint.training.finetune`: start a model from a weights file, widening it for new guides."""

import pytest
import torch

from corkit_inpaint.network.registry import default_model_name, sha256sum
from corkit_inpaint.network.unet import PConvUNet
from corkit_inpaint.network.weights import WEIGHTS_FORMAT, load_model, resolve_weights
from corkit_inpaint.training.finetune import init_from


def save(model, path, state=None):
    torch.save({"format": WEIGHTS_FORMAT, "model_config": model.config,
                "state_dict": model.state_dict() if state is None else state}, path)
    return path


def test_fine_tune_init_adds_a_guide_channel(tmp_path):
    """A 2-guide model's weights start a 3-guide model: old slices copied, the new input channel zero."""
    torch.manual_seed(3)
    old = PConvUNet(widths=(8, 8, 8, 8), extra_channels=2)
    f = save(old, tmp_path / "old.pt")
    new = PConvUNet(widths=(8, 8, 8, 8), extra_channels=3)
    assert init_from(new, f) == sha256sum(f)
    so, sn = old.state_dict(), new.state_dict()
    widened = [k for k in so if so[k].shape != sn[k].shape]
    assert widened    # the first and last convolutions read the guides
    for k in so:
        if k in widened:
            assert torch.equal(sn[k][:, :so[k].shape[1]], so[k]) and not sn[k][:, so[k].shape[1]:].any()
        else:
            assert torch.equal(sn[k], so[k])
    # the new guide is ignored at first: changing it does not change the output
    x = torch.randn(1, 1, 32, 32)
    m = (torch.rand(1, 1, 32, 32) > 0.3).float()
    g = torch.randn(1, 3, 32, 32)
    g2 = g.clone()
    g2[:, 2] = torch.randn(32, 32)
    with torch.no_grad():
        assert torch.equal(new(x * m, m, g)[-1], new(x * m, m, g2)[-1])
    # a different architecture is refused with the tensor named, and the options that build the file's model
    with pytest.raises(ValueError, match=r"shape .*; its model was built with --widths 8 8 8 8 --extra-channels 2$"):
        init_from(PConvUNet(widths=(8, 8, 8, 16)), f)


def test_init_from_the_registry_name_copies_the_default_model():
    ref = load_model(None)
    model = PConvUNet(stages=ref.config["stages"], widths=tuple(ref.config["widths"]), ring=ref.config["ring"],
                      extra_channels=ref.config["extra_channels"])
    assert init_from(model, default_model_name()) == resolve_weights(None).sha256
    for k, v in ref.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k


def test_a_model_the_file_does_not_fit_is_told_the_options_that_would(tmp_path):
    """Battery s36: ``train --init pconv-lasco-nb3`` said only that a tensor's shape differed, not that
    ``--extra-channels 8`` (and the rest of that model's recipe) would fit it."""
    with pytest.raises(ValueError, match=r"^pconv-lasco-nb3: tensor 'nets.0.downs.0.conv.weight' has shape "
                                         r"\(32, 9, 5, 5\), this model \(32, 4, 5, 5\); its model was built with "
                                         r"--extra-channels 8 --base-guide 3 --step noise$"):
        init_from(PConvUNet(), "pconv-lasco-nb3")
    init_from(PConvUNet(extra_channels=8, base=3, step="noise"), "pconv-lasco-nb3")     # as it says: it fits


def test_a_tensor_this_model_lacks_is_refused(tmp_path):
    torch.manual_seed(4)
    m = PConvUNet(widths=(8, 8, 8))
    state = dict(m.state_dict())
    state["nets.0.extra.weight"] = torch.zeros(3)
    f = save(m, tmp_path / "extra.pt", state)
    with pytest.raises(ValueError, match="'nets.0.extra.weight' does not fit"):
        init_from(PConvUNet(widths=(8, 8, 8)), f)


def test_zero_heads_make_a_model_return_its_base_guide():
    import torch

    from corkit_inpaint.network.unet import PConvUNet
    from corkit_inpaint.training.finetune import init_from, zero_heads
    torch.manual_seed(0)
    m = PConvUNet(extra_channels=6, base=3)
    init_from(m, "pconv-lasco-v3")
    img, mask, guides = torch.randn(1, 1, 64, 64), torch.ones(1, 1, 64, 64), torch.randn(1, 6, 64, 64)
    mask[..., 16:48, 16:48] = 0
    before = m(img * mask, mask, guides)[-1]
    assert not torch.allclose(before[mask == 0], guides[:, 3:4][mask == 0])       # v3 corrects its base
    zero_heads(m)
    out = m(img * mask, mask, guides)[-1]
    assert torch.equal(out[mask == 0], guides[:, 3:4][mask == 0]) and torch.equal(out[mask == 1], img[mask == 1])


def test_a_spread_head_is_left_out_of_a_fine_tuning_start():
    """The head fitted one fill; a fine-tuned network gets the network's tensors and no head."""
    from corkit_inpaint.network.weights import read_weights_file
    model = PConvUNet(extra_channels=8, base=3, step="noise")
    assert init_from(model, "pconv-lasco-nb2-sigma") == resolve_weights("pconv-lasco-nb2-sigma").sha256
    base = read_weights_file(resolve_weights("pconv-lasco-nb2").path)["state_dict"]
    assert all(torch.equal(v, base[k]) for k, v in model.state_dict().items())
