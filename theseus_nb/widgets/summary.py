"""Summary: what a widget says about itself where it cannot be drawn.

A notebook opened before it is run (or untrusted, or saved without widget
state) cannot show a live widget; JupyterLab shows the output's text
instead, which for an ipywidget is its constructor repr cut at 110
characters (``Dashboard(children=(HBox(...``). Every widget here says in a
few plain lines what it shows and what it last saw.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Summarised"]


class Summarised:
    """Mixin for an ipywidget: ``summary()`` becomes its repr and its text form."""

    def summary(self) -> str:
        """A few lines saying what the widget shows (each widget defines it)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.summary()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if bundle is not None:
            bundle["text/plain"] = self.summary()  # whole, not cut at 110 characters
        return bundle
