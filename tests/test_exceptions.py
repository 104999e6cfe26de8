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
