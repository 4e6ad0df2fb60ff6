"""The package keeps its shape: each module says what it is for and stays small."""
from __future__ import annotations

import ast
from pathlib import Path

import theseus_nb.lang as lang

PACKAGE = Path(lang.__file__).parent


def test_every_module_opens_with_a_docstring_and_stays_small() -> None:
    for path in PACKAGE.glob("*.py"):
        text = path.read_text()
        assert ast.get_docstring(ast.parse(text)), f"{path.name} needs an opening docstring"
        assert len(text.splitlines()) < 400, f"{path.name} is getting long: split it"


def test_public_functions_have_docstrings() -> None:
    for name in lang.__all__:
        obj = getattr(lang, name)
        assert obj.__doc__, name
