"""What a saved notebook may hold: no machine-specific paths or process ids,
no raw object reprs where a picture or a summary belongs.

``scrub`` is applied when the notebook tests save executed notebooks back
(THESEUS_NB_SAVE_NOTEBOOKS=1); ``problems`` is what the checks look for in
the notebooks as checked in.
"""

from __future__ import annotations

import re

from nbformat import NotebookNode

#: (pattern, replacement): what differs from one run or machine to the next.
MACHINE_SPECIFIC = [
    (re.compile(r"/tmp/theseus-nb-[\w]+"), "<build folder>"),
    (re.compile(r"\bpid([ =])\d+"), r"pid\1<pid>"),
]

#: What a notebook as opened must never show instead of a picture or a summary.
RAW_REPRS = [
    (re.compile(r"<graphviz\.\w+\.\w+ at 0x[0-9a-f]+>"), "a graphviz object's repr (no picture)"),
    (re.compile(r"\b\w+\(children=\("), "a widget's constructor repr (no summary)"),
    (re.compile(r"<\w+ object at 0x[0-9a-f]+>"), "a bare object repr"),
]

#: Where outputs keep their text.
_TEXT_KEYS = ("text/plain", "text/html")


def _texts(nb: NotebookNode):
    """(container, key) of every text an output holds."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                yield output, "text"
            for key in _TEXT_KEYS:
                if key in output.get("data", {}):
                    yield output["data"], key


def _join(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def scrub(nb: NotebookNode) -> NotebookNode:
    """Replace machine-specific text in ``nb``'s outputs; drop execution timestamps."""
    for holder, key in _texts(nb):
        text = _join(holder[key])
        for pattern, replacement in MACHINE_SPECIFIC:
            text = pattern.sub(replacement, text)
        holder[key] = text
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    return nb


def problems(nb: NotebookNode) -> list[str]:
    """Sentences naming what ``nb`` should not hold, by cell."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            texts = [_join(output["text"])] if "text" in output else []
            texts += [_join(output.get("data", {})[k]) for k in _TEXT_KEYS
                      if k in output.get("data", {})]
            for text in texts:
                for pattern, _ in MACHINE_SPECIFIC:
                    for match in pattern.finditer(text):
                        if "<" not in match.group(0):
                            found.append(f"cell {index}: machine-specific {match.group(0)!r}")
                for pattern, what in RAW_REPRS:
                    if pattern.search(text):
                        found.append(f"cell {index}: {what}: {pattern.search(text).group(0)!r}")
    return found
