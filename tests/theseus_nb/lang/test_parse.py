"""Stage 1: imports_of, interface_of and the module-level rules."""
from __future__ import annotations

from theseus_nb.lang import CellInterface, imports_of, interface_of
from theseus_nb.lang.types import BOOL, STR, U8, U64

SRC = '''\
# cell: unsafe
from theseus_nb.lang.prelude import *
from cells.serial import write_str
import kernel_src.frame_alloc
from cells.serial import write_u64
import cells.timer
from kernel_src import clock, serial

RUNNING = 2
LIMIT: u8 = 10
GREETING = "hi"
count: u64 = 0


@struct
class Task:
    state: u8


def spawn(name: str, prio: u8) -> bool:
    return True


def _helper(t: Task) -> None:
    pass


def tick(n: u64) -> u64:
    return n + 1
'''


def test_imports_of_lists_cells_in_order() -> None:
    assert imports_of(SRC) == ["serial", "frame_alloc", "timer", "clock"]
    assert imports_of("from theseus_nb.lang.prelude import *\n") == []


def test_interface_has_public_functions_and_constants() -> None:
    i = interface_of(SRC, "sched")
    assert isinstance(i, CellInterface) and i.name == "sched"
    assert list(i.functions) == ["spawn", "tick"]
    spawn = i.functions["spawn"]
    assert spawn.params == (("name", STR), ("prio", U8)) and spawn.ret == BOOL
    assert spawn.text == "spawn(name: str, prio: u8) -> bool"
    assert i.functions["tick"].ret == U64
    assert i.constants["RUNNING"] == (None, 2)
    assert i.constants["LIMIT"] == (U8, 10)
    assert i.constants["GREETING"] == (STR, "hi")
    assert "_helper" in i.private and "_helper" not in i.functions


def test_signature_hash_is_stable_and_tracks_the_signature() -> None:
    a = interface_of("def f(x: u64) -> u64:\n    return x\n", "c").functions["f"]
    b = interface_of("def f(y: u64) -> u64:\n    return y + 1\n", "c").functions["f"]
    c = interface_of("def f(x: u32) -> u64:\n    return u64(x)\n", "c").functions["f"]
    assert a.signature_hash == b.signature_hash  # names and bodies do not matter
    assert a.signature_hash != c.signature_hash
    assert len(a.signature_hash) == 16


def test_interface_ignores_bodies_so_cycles_are_fine() -> None:
    # the body calls a cell that does not exist yet: only compile_cell cares
    i = interface_of("from cells.b import g\ndef f() -> u64:\n    return g()\n", "a")
    assert list(i.functions) == ["f"]
