"""All the package's errors derive from one base and keep the built-in types callers catch."""

import pytest

import corkit_inpaint as ci
from corkit_inpaint import exceptions as E


@pytest.mark.parametrize("cls,builtin", [(E.InputError, ValueError), (E.MethodError, ValueError),
                                         (E.WeightsError, RuntimeError), (E.CalibrationError, RuntimeError)])
def test_hierarchy(cls, builtin):
    assert issubclass(cls, E.CorkitInpaintError) and issubclass(cls, builtin)
    assert getattr(ci, cls.__name__) is cls


def test_api_errors_are_package_errors():
    with pytest.raises(E.CorkitInpaintError):
        ci.inpaint_array([[1.0, 2.0]], method="nope")


def test_first_line_of_a_foreign_error():
    assert E.first_line(ValueError("  bad value\nmore detail\n")) == "bad value"
    assert E.first_line(KeyError()) == "KeyError" and E.first_line(RuntimeError("   ")) == "RuntimeError"


def test_shown_and_naming_escape_control_characters_only():
    from corkit_inpaint.exceptions import naming, shown
    assert shown("c2/22104858 ü é.fts") == "c2/22104858 ü é.fts"
    assert shown("a\x1b[31m\x07\x7f\x85\ud8ff\u2028\n\t.fts") == "a\\x1b[31m\\x07\\x7f\\x85\\ud8ff\\u2028\\n\\t.fts"
    assert shown("a\n\tb\x1b", spaces=False) == "a\n\tb\\x1b"
    assert naming("/x/a.fts", "bad") == "/x/a.fts: bad"
    assert naming("/x/a\n.fts", "/x/a\n.fts is bad\x1b") == "/x/a\\n.fts is bad\\x1b"
    assert naming("/x/a\x07.fts", "bad\nline") == "/x/a\\x07.fts: bad\nline"
