"""`corkit_inpaint.threads`: one torch thread by default, set on purpose, restored after each fill."""

import pytest
import torch
from helpers import BLANK, blank

from corkit_inpaint import inpaint_array
from corkit_inpaint.exceptions import InputError
from corkit_inpaint.threads import (
    DEFAULT_THREADS,
    ENV_VAR,
    check_threads,
    default_threads,
    get_threads,
    max_threads,
    set_threads,
    torch_threads,
    using_threads,
)


@pytest.fixture(autouse=True)
def _reset(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    set_threads(None)
    yield
    set_threads(None)


def test_default_is_one_and_the_environment_overrides_it(monkeypatch):
    assert DEFAULT_THREADS == 1 == default_threads() == get_threads()
    monkeypatch.setenv(ENV_VAR, "3")
    assert get_threads() == 3
    monkeypatch.setenv(ENV_VAR, "many")
    with pytest.raises(InputError, match=ENV_VAR):
        get_threads()


@pytest.mark.parametrize("bad", [-1, 1.5, "x", True, None, "2.0", "²"])
def test_check_threads_refuses(bad):
    with pytest.raises(InputError, match="whole number"):
        check_threads(bad)


def test_a_thread_count_beyond_the_machine_is_refused_in_one_line(monkeypatch, tmp_path):
    """A million threads crashed OpenMP (a segfault, nothing said); now one line, also from the environment and CLI."""
    import subprocess
    import sys
    assert check_threads(max_threads()) == max_threads() >= 64
    for bad in (max_threads() + 1, 1_000_000, str(1_000_000)):
        with pytest.raises(InputError, match="per CPU core") as ei:
            check_threads(bad)
        assert "\n" not in str(ei.value)
    monkeypatch.setenv(ENV_VAR, "1000000")
    with pytest.raises(InputError, match=ENV_VAR):
        get_threads()
    r = subprocess.run([sys.executable, "-m", "corkit_inpaint", "fill", str(tmp_path / "x.fts"),
                        "-o", str(tmp_path / "y.fts"), "--threads", "1000000"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "per CPU core" in r.stderr


def test_precedence_call_then_process_then_default():
    set_threads(2)
    assert get_threads() == 2
    with using_threads(3):
        assert get_threads() == 3
        with using_threads(None):
            assert get_threads() == 3
    assert get_threads() == 2


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    with using_threads(other), torch_threads() as n:
        assert n == other == torch.get_num_threads()
    assert torch.get_num_threads() == before
    with using_threads(0), torch_threads() as n:         # 0: torch's own setting, untouched
        assert n == before


def test_a_fill_runs_with_the_asked_count_and_gives_the_same_result(real):
    from corkit_inpaint.network.weights import load_model
    data, header = real
    img = blank(data, BLANK)
    seen = []
    hook = load_model(None, device="cpu").register_forward_pre_hook(lambda *a: seen.append(torch.get_num_threads()))
    try:
        before = torch.get_num_threads()
        one = inpaint_array(img, header=header, device="cpu")
        two = inpaint_array(img, header=header, device="cpu", threads=2)
    finally:
        hook.remove()
    assert set(seen[:len(seen) // 2]) == {1} and set(seen[len(seen) // 2:]) == {2}
    assert torch.get_num_threads() == before and (one == two).all()
