"""The public face of theseus_nb: every name in __all__ exists, and nothing
public is missing from it."""

from __future__ import annotations

import theseus_nb


def test_all_names_exist() -> None:
    for name in theseus_nb.__all__:
        assert getattr(theseus_nb, name) is not None


def test_public_classes_are_in_all() -> None:
    public = {name for name, value in vars(theseus_nb).items()
              if not name.startswith("_") and isinstance(value, type)}
    assert public <= set(theseus_nb.__all__)
