"""BuildProgress: the bar follows Kernel.build's progress callback."""

from __future__ import annotations

import pytest
import traitlets

from theseus_nb import Kernel
from theseus_nb.widgets import BuildProgress


def test_bar_follows_a_real_build(tmp_path):
    bar = BuildProgress()
    seen = []
    kernel = Kernel.default()
    kernel.build(tmp_path, progress=lambda d, t, c: (bar(d, t, c), seen.append(d)))
    total = len(kernel.nano_core) + len(kernel.cells)
    assert seen == list(range(1, total + 1))
    assert (bar.done, bar.total) == (total, total)
    assert bar.cell == kernel.cells[-1].name
    assert bar._bar.bar_style == "success"


def test_bad_counts_are_trait_errors():
    bar = BuildProgress()
    with pytest.raises(traitlets.TraitError, match="total must be at least 1"):
        bar(0, 0, "x")
    bar(1, 3, "a")
    with pytest.raises(traitlets.TraitError, match="done must be between 0 and total"):
        bar.done = 4


def test_fail_shows_the_reason():
    bar = BuildProgress()
    bar(1, 3, "a")
    bar.fail("link failed:\n  undefined symbol")
    assert bar._bar.bar_style == "danger"
    assert "link failed" in bar._label.value
