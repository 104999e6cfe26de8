"""One-line error reports shared by the subcommands."""

import pytest

from corkit_inpaint.cli import build_parser
from corkit_inpaint.cli.common import err, file_err


def test_errors_are_one_line(capsys):
    err("two\nlines")
    file_err("a.fts", ValueError("a.fts: bad"))
    file_err("b.fts", OSError("denied"))
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["corkit-inpaint: error: two lines", "corkit-inpaint: error: a.fts: bad",
                     "corkit-inpaint: error: b.fts: denied"]


def test_every_option_of_every_subcommand_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert p.description, name
        for a in p._actions:
            assert a.help, f"{name} {a.option_strings or a.dest}"


@pytest.mark.parametrize("command", [["fill", "-o", "out.fts", "--method", "biharmonic"],
                                     ["level_1", "-o", "lvl1"],
                                     ["evaluate", "--methods", "biharmonic", "--repeats", "1"]])
def test_a_bad_threads_variable_is_one_usage_line_before_any_file_is_read(tmp_path, monkeypatch, capsys, command):
    """A bad ``$CORKIT_INPAINT_THREADS`` stopped a serial fill file by file (exit 1, one error per file); it is
    now one usage line (exit 2), as a bad ``--threads`` is, and nothing is written."""
    from helpers import REAL

    from corkit_inpaint.cli import main
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CORKIT_INPAINT_THREADS", "lots")
    rc = main([command[0], str(REAL), *command[1:], "-q"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "CORKIT_INPAINT_THREADS" in lines[0], lines
    assert list(tmp_path.iterdir()) == []
    if command[0] == "fill":              # a good value fills
        monkeypatch.setenv("CORKIT_INPAINT_THREADS", "1")
        assert main([command[0], str(REAL), *command[1:], "-q"]) == 0 and (tmp_path / "out.fts").is_file()
