"""Errors: the one root every theseus_nb error derives from.

``except theseus_nb.TheseusError`` catches whatever the host side raises:
a bad cell (``CellError``), LLVM refusing IR (``BuildError``), a bad object
or archive, a link error, and everything a running machine can do wrong
(``MachineError`` and its children, see ``guest_errors``). This module
imports nothing, so every layer, the cell language included, may use it.
"""

from __future__ import annotations

__all__ = ["TheseusError"]


class TheseusError(Exception):
    """Base of every error theseus_nb raises; the message says what to do about it."""
