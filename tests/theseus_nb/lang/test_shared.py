"""Structs, globals and typed constants shared across cells (issue 14, items 1 and 2): another
cell reads them (bounds-checked, the host JIT and CPython agreeing), writes are the owner's
alone, and a layout is part of the owner's interface and of .theseus.sigs."""
from __future__ import annotations

import sys
import types

import pytest

import cells
from theseus_nb.compile import _interface_text
from theseus_nb.lang import CellError, CellPanic, compile_cell, interface_of, jit
from theseus_nb.signatures import signature_lines

OWNER = '''"""A table of tasks that only this cell writes."""
from theseus_nb.lang.prelude import *

MAX: u64 = 4


@struct
class Task:
    state: u8
    ticks: u64
    regs: Array[u64, 2]


tasks: Array[Task, 4] = [Task() for _ in range(4)]
switches: u64 = 0
_secret: u64 = 42


def run(i: u64, s: u8) -> None:
    """The owner's way to change a task."""
    global switches
    tasks[i].state = s
    tasks[i].ticks += 10 * i + 1
    tasks[i].regs[1] = i + 100
    switches += 1
'''

READER = '''"""Reads the owner's table the way xv6's procdump reads p->pid."""
from theseus_nb.lang.prelude import *
from cells.shared_owner import Task, tasks, run, MAX
import cells.shared_owner


def total() -> u64:
    """Everything in the table, read three ways, and the owner's switch count."""
    s: u64 = 0
    for t in tasks:
        s += u64(t.state) + t.ticks + t.regs[1]
    for i in range(MAX):
        s += u64(tasks[i].state)
    for i, t in enumerate(cells.shared_owner.tasks):
        s += i * t.ticks
    return s * 1000 + cells.shared_owner.switches


def step(n: u64) -> u64:
    """Let the owner change n tasks, then read; a struct of the owner's type of our own."""
    for i in range(n):
        run(i, u8(i + 1))
    mine: Task = Task(u8(3), 4)
    mine.ticks += 1
    return total() + u64(mine.state) + mine.ticks


def state_of(i: u64) -> u8:
    """A read is bounds-checked as everywhere."""
    return tasks[i].state
'''


@pytest.fixture()
def in_cpython():
    """The two cells as modules of the `cells` package, as CPython imports them."""
    made = []
    for name, src in (("shared_owner", OWNER), ("shared_reader", READER)):
        mod = types.ModuleType(f"cells.{name}")
        sys.modules[mod.__name__] = mod
        setattr(cells, name, mod)
        made.append(mod)
        exec(compile(src, f"<{name}>", "exec", dont_inherit=True), mod.__dict__)
    yield made[1]
    for mod in made:
        del sys.modules[mod.__name__]
        delattr(cells, mod.__name__.split(".")[1])


def test_a_cell_reads_another_cells_struct_array_as_cpython_does(in_cpython: types.ModuleType) -> None:
    cell = jit(READER, name="shared_reader", others={"shared_owner": OWNER})
    for n in (0, 2, 4, 1):
        assert cell.step(n) == in_cpython.step(n)
    assert cell.total() == in_cpython.total() and cell.total() > 0
    assert cell.state_of(1) == in_cpython.state_of(1) == 2
    with pytest.raises(CellPanic, match=r"index out of bounds for Array\[shared_owner.Task, 4\]"):
        cell.state_of(4)
    with pytest.raises(IndexError):
        in_cpython.state_of(4)


def _refusal(body: str, imports: str = "from cells.shared_owner import Task, tasks, run\n") -> CellError:
    src = f"{imports}\n\ndef f(i: u64) -> None:\n{body}"
    with pytest.raises(CellError) as info:
        compile_cell(src, "intruder", filename="cells/intruder.py",
                     interfaces={"shared_owner": interface_of(OWNER, "shared_owner")})
    return info.value


WRITES = {
    "a field": ("    tasks[i].state = 0\n", 5, 5, "'tasks[i].state' is part of 'tasks'"),
    "an element of a field": ("    tasks[i].regs[0] += 1\n", 5, 5, "'tasks[i].regs[0]' is part of 'tasks'"),
    "through a loop variable": ("    for t in tasks:\n        t.ticks = 0\n", 6, 9, "'t.ticks' is part of 'tasks'"),
    "through enumerate": ("    for k, t in enumerate(tasks):\n        t.regs[k % 2] = 0\n", 6, 9,
                          "'t.regs[k % 2]' is part of 'tasks'"),
    "a loop variable written before its loop": (
        "    t: Task = Task()\n    while i > 0:\n        t.state = 1\n        for t in tasks:\n"
        "            pass\n        i -= 1\n", 7, 9, "'t.state' is part of 'tasks'"),
    "by passing it on": ("    _zero(tasks[i])\n\n\ndef _zero(t: Task) -> None:\n    t.state = 0\n",
                         5, 11, "another cell may read it but not pass on by reference"),
    "in parallel": ("    a: u64 = 0\n    a, tasks[i].ticks = 1, 2\n", 6, 8, "'tasks[i].ticks' is part of 'tasks'"),
    "as a global": ("    global tasks\n", 5, 5, "'tasks' is part of 'tasks', a global that belongs to cell 'shared_owner'"),
    "through the module": ("    cells.shared_owner.tasks[i].state = 0\n", 5, 5,
                           "'cells.shared_owner.tasks[i].state' is part of 'tasks'"),
}


@pytest.mark.parametrize("case", WRITES)
def test_a_write_to_another_cells_global_is_refused(case: str) -> None:
    body, line, col, words = WRITES[case]
    e = _refusal(body, "from cells.shared_owner import Task, tasks, run\nimport cells.shared_owner\n")
    assert words in e.message, e.message
    assert "belongs to cell 'shared_owner'" in e.message
    assert "to change it, call a function of 'shared_owner' that does (or add one there)" in e.message
    assert (e.filename, e.line + 0, e.col) == ("cells/intruder.py", line + 1, col), str(e)
    assert str(e).splitlines()[2].strip() == "^"


def test_a_private_name_stays_private() -> None:
    e = _refusal("    pass\n", "from cells.shared_owner import _secret\n")
    assert "'_secret' is private to cell 'shared_owner'" in e.message and (e.line, e.col) == (1, 1)


def test_a_scalar_global_is_read_through_its_module() -> None:
    e = _refusal("    pass\n", "\nfrom cells.shared_owner import switches\n")
    assert "'switches' is a u64 global of cell 'shared_owner': 'from ... import' would copy it " \
           "once in Python" in e.message and (e.line, e.col) == (2, 1)


def test_a_public_global_of_another_cells_struct_is_refused() -> None:
    src = "from cells.shared_owner import Task\n\nmine: Array[Task, 2] = [Task() for _ in range(2)]\n"
    with pytest.raises(CellError) as info:
        compile_cell(src, "c", filename="c.py",
                     interfaces={"shared_owner": interface_of(OWNER, "shared_owner")})
    assert "public global 'mine' holds a shared_owner::Task, a struct of another cell" in info.value.message
    assert (info.value.line, info.value.col) == (3, 1)
    compile_cell(src.replace("mine", "_mine"), "c",
                 interfaces={"shared_owner": interface_of(OWNER, "shared_owner")})


def test_a_layout_is_part_of_the_interface_and_of_the_signature_table() -> None:
    grown = OWNER.replace("    ticks: u64\n", "    ticks: u64\n    prio: u8\n")
    before, after = interface_of(OWNER, "shared_owner"), interface_of(grown, "shared_owner")
    assert set(before.globals) == {"tasks", "switches"} and set(before.structs) == {"Task"}
    assert _interface_text(before) != _interface_text(after)  # so every reader is recompiled
    old = dict(line.split() for line in signature_lines("shared_owner", compile_cell(OWNER, "shared_owner")))
    new = dict(line.split() for line in signature_lines("shared_owner", compile_cell(grown, "shared_owner")))
    assert old["shared_owner::tasks"] != new["shared_owner::tasks"]
    assert old["shared_owner::switches"] == new["shared_owner::switches"]
    # the same LLVM type with fields renamed is another layout too: a reader reads by name
    renamed = OWNER.replace("state: u8", "mode: u8").replace("].state = s", "].mode = s")
    new = dict(line.split() for line in signature_lines("shared_owner", compile_cell(renamed, "shared_owner")))
    assert old["shared_owner::tasks"] != new["shared_owner::tasks"]


def test_reading_another_cells_global_is_a_relocation_to_it() -> None:
    ir = compile_cell(READER, "shared_reader",
                      interfaces={"shared_owner": interface_of(OWNER, "shared_owner")}).ir
    assert '@"shared_owner::tasks" = external global [4 x {i8, i64, [2 x i64]}]' in ir
    assert '@"shared_owner::switches" = external global i64' in ir
