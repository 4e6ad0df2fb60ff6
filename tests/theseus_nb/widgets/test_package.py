"""The widgets package: __all__ is honest, every synced trait says what it is for."""

from __future__ import annotations

import ipywidgets as w

import theseus_nb.widgets as widgets


def test_all_is_exactly_the_public_widgets():
    assert sorted(widgets.__all__) == sorted(
        name for name, value in vars(widgets).items()
        if isinstance(value, type) and issubclass(value, w.Widget))


def test_every_own_trait_has_help():
    for name in widgets.__all__:
        cls = getattr(widgets, name)
        inherited = set(w.VBox.class_traits())
        for trait_name, trait in cls.class_traits().items():
            if trait_name not in inherited:
                assert trait.help, f"{name}.{trait_name} has no help="
