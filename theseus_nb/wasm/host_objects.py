"""The things an instance exports or imports on the host: memories, tables, globals, functions.

Each owns the bytes that lowered code reaches by address (``abi``'s structs),
so any instance that imports it shares the very same memory, table or global.
"""

from __future__ import annotations

import ctypes
import mmap
import struct
from typing import Any, Callable, Optional

from .abi import PAGE
from .errors import WasmError
from .module import FuncType, Limits

__all__ = ["Memory", "Table", "Global", "Function", "to_bits", "from_bits"]

_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)  # Linux's value; Python 3.11 lacks it
MAX_PAGES = 65536


def to_bits(t: str, value: Any) -> int:
    """A Python number as the raw bits of a wasm value of type ``t``."""
    if t in ("i32", "i64"):
        if not isinstance(value, int):
            raise TypeError(f"a {t} argument must be an int, not {type(value).__name__}")
        return value & ((1 << (32 if t == "i32" else 64)) - 1)
    if not isinstance(value, (int, float)):
        raise TypeError(f"a {t} argument must be a float, not {type(value).__name__}")
    if t == "f32":
        return struct.unpack("<I", struct.pack("<f", value))[0]
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def from_bits(t: str, bits: int) -> Any:
    """The raw bits of a wasm value as a Python int (signed) or float."""
    if t == "i32":
        bits &= 0xFFFFFFFF
        return bits - (1 << 32) if bits >> 31 else bits
    if t == "i64":
        return bits - (1 << 64) if bits >> 63 else bits
    if t == "f32":
        return struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0]
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


#: what a guarded memory reserves: any 32-bit index plus any 32-bit offset plus 8 bytes
GUARD_RESERVE = (2 << 32) + PAGE
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


class Memory:
    """A linear memory. Its whole maximum is reserved up front (4 GiB when it has no maximum,
    without committing it), so a grow never moves it: the base stays put. ``guard=True``
    reserves GUARD_RESERVE bytes with only the live pages accessible (bounds="guard")."""

    def __init__(self, limits: Limits, guard: bool = True) -> None:
        self.limits, self.guard = limits, guard
        self._runtime_slot: Any = None      # (runtime, index) of its entry in the guard table
        self.max_pages = MAX_PAGES if limits.max is None else limits.max
        size = GUARD_RESERVE if guard else max(self.max_pages, 1) * PAGE
        self._map = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
                              | _MAP_NORESERVE)
        self._anchor = ctypes.c_char.from_buffer(self._map)
        base = ctypes.addressof(self._anchor)
        live = limits.min * PAGE
        # Python maps it read-write; everything past the live pages is then taken away
        if guard and _libc.mprotect(base + live, size - live, 0) != 0:
            raise WasmError(f"cannot protect the guard region of a memory "
                            f"(errno {ctypes.get_errno()})")
        self.struct = (ctypes.c_uint64 * 3)(base, limits.min * PAGE, self.max_pages)
        self.address = ctypes.addressof(self.struct)
        self.reserved = (base, base + size)

    def __del__(self) -> None:
        # the reservation goes with the object: a fault there is no longer a wasm trap
        if self._runtime_slot is not None:
            runtime, k = self._runtime_slot
            runtime.guards[2 * k] = runtime.guards[2 * k + 1] = 0

    @property
    def pages(self) -> int:
        """The current size in 64 KiB pages."""
        return self.struct[1] // PAGE

    def read(self, addr: int, n: int) -> bytes:
        """``n`` bytes at wasm address ``addr`` (bounds-checked)."""
        if addr < 0 or addr + n > self.struct[1]:
            raise WasmError(f"read of {n} bytes at {addr} is outside the memory "
                            f"({self.struct[1]} bytes)")
        return self._map[addr:addr + n]

    def write(self, addr: int, data: bytes) -> None:
        """Write bytes at wasm address ``addr`` (bounds-checked)."""
        if addr < 0 or addr + len(data) > self.struct[1]:
            raise WasmError(f"write of {len(data)} bytes at {addr} is outside the memory "
                            f"({self.struct[1]} bytes)")
        self._map[addr:addr + len(data)] = data


class Table:
    """A funcref table of fixed size (the MVP has no table.grow): entries of
    (signature hash, function address), zero meaning uninitialised."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.size = limits.min
        self.entries = (ctypes.c_uint64 * (2 * max(limits.min, 1)))()
        self.struct = (ctypes.c_uint64 * 2)(ctypes.addressof(self.entries), limits.min)
        self.address = ctypes.addressof(self.struct)


class Global:
    """A global: its type, mutability, and 8 bytes of storage (or those of an instance)."""

    def __init__(self, type: str, mutable: bool, value: Any = 0, *,
                 address: Optional[int] = None, owner: Any = None) -> None:
        self.type, self.mutable, self._owner = type, mutable, owner
        if address is None:
            self._cell = ctypes.c_uint64(to_bits(type, value))
            address = ctypes.addressof(self._cell)
        self.address = address

    @property
    def bits(self) -> int:
        size = 4 if self.type in ("i32", "f32") else 8
        raw = ctypes.string_at(self.address, size)
        return int.from_bytes(raw, "little")

    @property
    def value(self) -> Any:
        """The global's current value as a Python number."""
        return from_bits(self.type, self.bits)


class Function:
    """An exported function: call it with Python numbers; ``call_bits`` takes and returns raw
    bits (what the spec runner needs to compare NaNs exactly)."""

    def __init__(self, type: FuncType, address: int, name: str,
                 invoke: Optional[Callable[[list], list]] = None, owner: Any = None) -> None:
        self.type, self.address, self.name = type, address, name
        self._invoke, self._owner = invoke, owner

    def call_bits(self, *bits: int) -> list[int]:
        """Call with raw argument bits; return the raw result bits."""
        if self._invoke is None:
            raise WasmError(f"{self.name} is a host function: call it from Python directly")
        if len(bits) != len(self.type.params):
            raise TypeError(f"{self.name}() takes {len(self.type.params)} arguments, "
                            f"{len(bits)} given")
        return self._invoke(list(bits))

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.type.params):
            raise TypeError(f"{self.name}() takes {len(self.type.params)} arguments, "
                            f"{len(args)} given")
        out = self.call_bits(*(to_bits(t, a) for t, a in zip(self.type.params, args)))
        values = [from_bits(t, v) for t, v in zip(self.type.results, out)]
        if not values:
            return None
        return values[0] if len(values) == 1 else tuple(values)

    def __repr__(self) -> str:
        return f"<wasm function {self.name} {self.type}>"
