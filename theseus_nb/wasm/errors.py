"""What can go wrong with a WebAssembly module, from bytes to a running call.

Every class derives from ``WasmError`` (itself a ``TheseusError``). Errors
about the bytes name the byte offset in the module; a trap names its kind
with the spec's own words ("integer divide by zero"), so a test or a user
can match on ``trap.kind``.
"""

from __future__ import annotations

from ..errors import TheseusError

__all__ = ["WasmError", "MalformedError", "InvalidError", "WatError", "LinkError",
           "WasmTrap", "TRAP_KINDS"]


class WasmError(TheseusError):
    """Base of every WebAssembly error."""


class _AtOffset(WasmError):
    """An error about the module's bytes, at ``offset`` (counted from the module's first byte)."""

    what = "error"

    def __init__(self, message: str, offset: int) -> None:
        self.message, self.offset = message, offset
        super().__init__(f"wasm {self.what} at byte offset {offset} (0x{offset:x}): {message}")


class MalformedError(_AtOffset):
    """The bytes are not a WebAssembly binary (bad magic, a LEB128 running off, a section
    that does not end where its size says...)."""

    what = "binary malformed"


class InvalidError(_AtOffset):
    """The binary decodes but breaks a validation rule (a type mismatch on the operand
    stack, an index past the end of its space, ...)."""

    what = "module invalid"


class WatError(WasmError):
    """wat2wasm refused WAT text; ``line`` is the line of the text it names (0 if none)."""

    def __init__(self, message: str, line: int = 0, source_line: str = "") -> None:
        self.message, self.line, self.source_line = message, line, source_line
        text = f"WAT line {line}: {message}" if line else f"WAT: {message}"
        super().__init__(text + (f"\n    {source_line}" if source_line else ""))


class LinkError(WasmError):
    """Instantiation could not satisfy an import, or a segment does not fit."""


#: The trap kinds, by the number the lowered code passes to its trap function.
TRAP_KINDS = (
    "unreachable",
    "integer divide by zero",
    "integer overflow",
    "invalid conversion to integer",
    "out of bounds memory access",
    "undefined element",
    "uninitialized element",
    "indirect call type mismatch",
    "call stack exhausted",
    "out of bounds table access",
    "host function failed",
)


class WasmTrap(WasmError):
    """A running module trapped: ``kind`` is one of TRAP_KINDS, ``function`` the one it was in
    (when known). The instance stays usable: nothing is unwound, its memory keeps its state."""

    def __init__(self, kind: str, function: str = "") -> None:
        self.kind, self.function = kind, function
        super().__init__(f"wasm trap: {kind}" + (f" in {function}" if function else ""))
