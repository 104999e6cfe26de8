"""One-line error reports shared by the subcommands."""

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
