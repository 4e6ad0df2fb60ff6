"""The public face of theseus_nb: what __all__ promises exists and is ours,
nothing public is missing from it, and every error has the one root."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import theseus_nb
from theseus_nb import TheseusError

#: What a notebook user meets, by the issue that defined the face.
FACE = {"Kernel", "Image", "SectionGraph", "LiveKernel", "SwapReport", "TaskList", "Dashboard",
        "CellSource", "CellError", "SwapError", "TheseusError"}


@pytest.mark.parametrize("name", theseus_nb.__all__)
def test_every_name_in_all_is_a_class_of_this_project(name: str) -> None:
    value = getattr(theseus_nb, name)
    assert isinstance(value, type), f"{name} is a {type(value).__name__}"
    assert value.__module__.startswith("theseus_nb."), f"{name} comes from {value.__module__}"


def test_the_face_holds_what_users_meet_and_no_pipeline_internals() -> None:
    assert FACE <= set(theseus_nb.__all__)
    for internal in ("compile_object", "parse_object", "CellObject"):
        assert internal not in theseus_nb.__all__
        assert not hasattr(theseus_nb, internal), f"{internal} is still on the face"


def test_public_classes_are_in_all() -> None:
    public = {name for name, value in vars(theseus_nb).items()
              if not name.startswith("_") and isinstance(value, type)}
    assert public <= set(theseus_nb.__all__)


def _all_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(theseus_nb.__path__, "theseus_nb.")
            if m.name not in ("theseus_nb.__main__",)]


def test_every_error_of_the_package_derives_from_the_root() -> None:
    errors = []
    for name in _all_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, BaseException)
                    and value.__module__ == name):
                errors.append(value)
    assert len(errors) >= 10  # CellError, BuildError, LinkError, ... and the guest errors
    strays = [e.__qualname__ for e in errors if not issubclass(e, TheseusError)]
    assert not strays, f"errors without the root TheseusError: {strays}"
