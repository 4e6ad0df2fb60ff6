"""Isolated cells in real QEMU: ring 3, their own pages, calls out through gates.

An unsafe cell loaded isolated (kernel_src/gates.py) calls the `serial`
and `task` functions it imports and gets right answers; its store into
another cell's global, its `outb`, its `cli` and its jump into the kernel
each end only its task with the cause named, and the other cell's value is
unchanged; a str argument that points outside its pages is refused at the
gate; an isolated cell that uses another cell's data, and a cell that
calls into an isolated one, are refused at load with the symbol named; a
swap keeps a cell isolated; and the same unsafe cell loaded trusted still
does what it did before isolation existed (here: silently corrupts).
"""
from __future__ import annotations

import time

import pytest

from tests.guest_tasks import ended
from theseus_nb import Image, Kernel, LiveKernel, SwapError, build
from theseus_nb.signatures import function_hash

pytestmark = pytest.mark.qemu

#: A trusted, safe cell with a global the isolated cell will try to overwrite.
NEIGHBOUR = """
from theseus_nb.lang.prelude import *

value: u64 = 1234

def get(a: u64) -> u64:
    return value
"""

#: The buggy unsafe cell of the notebook, with one function per attack.
ISO = """
# cell: unsafe
# cell: isolated
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import store64, outb, cli, call_addr, make_str
from kernel_src.serial import write, write_u64, newline
from kernel_src.task import spawn, sleep

def calls(a: u64) -> u64:
    write("ring 3 says hello ")
    write_u64(a + 1)
    newline()
    sleep(1)
    return spawn("neighbour::get", 0)

def poke(addr: u64) -> u64:
    store64(addr, 0)
    return 0

def port(a: u64) -> u64:
    outb(0x80, 1)
    return 0

def nointr(a: u64) -> u64:
    cli()
    return 0

def jump(addr: u64) -> u64:
    return call_addr(addr, 0)

def bad_str(addr: u64) -> u64:
    write(make_str(addr, 16))
    return 0

def talk(a: u64) -> u64:
    print("isolated and printing", a)
    return a

def boom(a: u64) -> u64:
    table: Array[u64, 4] = [1, 2, 3, 4]
    return table[a]

def main(a: u64) -> u64:
    return 0

def pick_next(a: u64) -> u64:
    return a
"""

#: The same store, loaded trusted: it works, and silently corrupts.
RAW = """
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import store64

def poke(addr: u64) -> u64:
    store64(addr, 99)
    return 0
"""

#: An unsafe cell with no marker at all: loaded at run time, isolated by default.
PLAIN = """
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import store64

def poke(addr: u64) -> u64:
    store64(addr, 7)
    return 0
"""

#: A trusted library and a cell that calls it, for a swap that would isolate the library.
LIB = """
# cell: unsafe
from theseus_nb.lang.prelude import *

def twice(x: u64) -> u64:
    return x * 2
"""

USER = """
# cell: unsafe
from theseus_nb.lang.prelude import *
from cells.lib import twice

def main(a: u64) -> u64:
    return twice(21)
"""

#: A trusted cell with a stray pointer: SMAP and SMEP stop it at an isolated cell's pages.
STRAY = """
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64, call_addr

def peek(addr: u64) -> u64:
    return load64(addr)

def jump(addr: u64) -> u64:
    return call_addr(addr, 0)
"""

#: An isolated cell in assembly that makes its own syscall with any index it
#: likes (the task's argument), from an address that is no stub of its own.
FORGER = f"""
    .section .theseus.sigs,"",@progbits
    .ascii "forger::forge {function_hash("forge", ["u64"], "u64")}\\n"
    .section .theseus.isolated,"",@progbits
    .ascii "\\n"
    .section .text.forger.forge,"ax",@progbits
    .globl "forger::forge"
"forger::forge":
    movl %edi, %eax
    syscall
    ret
"""

#: An isolated cell that reads another cell's global: refused at load.
GREEDY = """
# cell: unsafe
from theseus_nb.lang.prelude import *
import cells.neighbour

def steal(a: u64) -> u64:
    return cells.neighbour.value
"""

#: A trusted cell that calls into the isolated one: refused at load.
CALLER = """
# cell: unsafe
from theseus_nb.lang.prelude import *
from cells.iso import poke

def main(a: u64) -> u64:
    return poke(a)
"""


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The default kernel with the neighbour cell, built once."""
    kernel = Kernel.default().with_cell("neighbour", NEIGHBOUR)
    return kernel.build(tmp_path_factory.mktemp("isolation-kernel"))


@pytest.fixture()
def vm(image: Image):
    """A fresh boot with the isolated cell loaded at run time."""
    with image.boot() as m:
        m.load("iso", ISO)
        yield m


def _value_address(vm: LiveKernel) -> int:
    for line in vm.command("sections neighbour").splitlines():
        words = line.split()
        if words[0] == "data":
            return int(words[1], 16)
    raise AssertionError("neighbour has no data section")


def _neighbour_value(vm: LiveKernel) -> int:
    return ended(vm, vm.spawn("neighbour::get")).value


def test_an_isolated_task_calls_serial_and_task_and_gets_right_answers(vm: LiveKernel) -> None:
    mark = vm.console.mark()
    record = ended(vm, vm.spawn("iso::calls", 41))
    assert (record.state, record.cause) == ("exited", "")
    spawned = vm.tasks().by_id(record.value)        # task.spawn's answer: a real task id
    assert spawned.name == "neighbour::get"
    assert "ring 3 says hello 42" in vm.console.since(mark)


def test_the_live_graph_and_cells_mark_the_isolated_cell_and_its_gate_edges(vm: LiveKernel) -> None:
    rows = {line.split()[0]: line.split()[1] for line in vm.command("cells").splitlines()[1:]}
    assert (rows["iso"], rows["neighbour"], rows["serial"]) == ("isolated", "loaded", "nano_core")
    graph = vm.graph()
    assert graph.isolated == {"iso"}
    assert graph.is_gate("iso::calls", "serial::write")
    assert not graph.is_gate("shell::run", "serial::write")
    # The kernel's graph of the isolated cell is the one the host predicts from its object.
    predicted = vm.compile("iso")
    assert predicted.isolated and {d for d in graph.dependencies("iso::calls")} >= \
        {"serial::write", "task::spawn", "task::sleep"}
    assert 'arrowhead=empty' in graph.render(view="sections", cell="iso").source


def test_print_and_checked_panics_work_through_gates(vm: LiveKernel) -> None:
    mark = vm.console.mark()
    assert ended(vm, vm.spawn("iso::talk", 7)).value == 7
    assert "isolated and printing 7" in vm.console.since(mark)
    record = ended(vm, vm.spawn("iso::boom", 9))    # rt::panic, called through a gate
    assert (record.state, record.cause) == \
        ("faulted", "panic: index out of bounds for Array[u64, 4] in iso::boom line 41")


@pytest.mark.parametrize("fn, cause", [
    ("port", "privileged instruction in iso::port"),
    ("nointr", "privileged instruction in iso::nointr"),
])
def test_privileged_instructions_end_only_the_task(vm: LiveKernel, fn: str, cause: str) -> None:
    record = ended(vm, vm.spawn(f"iso::{fn}"))
    assert (record.state, record.cause) == ("faulted", cause)
    assert _neighbour_value(vm) == 1234


def test_a_store_into_another_cells_global_faults_and_the_value_is_intact(vm: LiveKernel) -> None:
    addr = _value_address(vm)
    record = ended(vm, vm.spawn("iso::poke", addr))
    assert (record.state, record.cause) == \
        ("faulted", f"access outside the cell's pages at {addr:#x} in iso::poke")
    assert _neighbour_value(vm) == 1234


def test_a_jump_to_a_kernel_address_faults(vm: LiveKernel) -> None:
    addr = _value_address(vm) & ~0xFFF
    code = next(int(l.split()[1], 16) for l in vm.command("sections neighbour").splitlines()
                if l.split()[0] == "text")
    record = ended(vm, vm.spawn("iso::jump", code))
    assert record.state == "faulted"
    assert record.cause.startswith(f"access outside the cell's pages at {code:#x}")
    assert addr and _neighbour_value(vm) == 1234


def test_a_str_argument_outside_the_callers_pages_is_refused(vm: LiveKernel) -> None:
    record = ended(vm, vm.spawn("iso::bad_str", _value_address(vm)))
    assert (record.state, record.cause) == \
        ("faulted", "gate refused: a str argument lies outside the calling cell's pages")


@pytest.mark.parametrize("index", [0, 1, 2, 1023, 1 << 31])
def test_a_forged_gate_call_is_refused(vm: LiveKernel, index: int) -> None:
    # Indexes 0.. are real imports (iso's among them), but the call does not
    # come from the stub of that import: refused, whatever the index.
    vm.load("forger", data=build.compile_object(build.module_asm(FORGER), "forger").data)
    kinds = {line.split()[0]: line.split()[1] for line in vm.command("cells").splitlines()[1:]}
    assert kinds["forger"] == "isolated"                  # the object's section says so
    record = ended(vm, vm.spawn("forger::forge", index))
    assert (record.state, record.cause) == ("faulted", "gate refused: not an import of the calling cell")
    assert vm.command("echo still here") == "still here"


def test_an_isolated_cell_using_another_cells_data_is_refused_at_load(vm: LiveKernel) -> None:
    with pytest.raises(SwapError, match="an isolated cell may not use another cell's data.*neighbour::value"):
        vm.load("greedy", GREEDY, isolated=True)


#: An isolated cell that reaches for the kernel's raw-address functions through gates.
RAW_REACH = """
# cell: unsafe
# cell: isolated
from kernel_src.FROM import NAME


def run(arg: u64) -> u64:
    \"\"\"Hand the kernel a raw address.\"\"\"
    NAME(CALL)
    return 0
"""


@pytest.mark.parametrize("module, name, call", [
    ("heap", "free", "arg"),
    ("serial", "write_mem", "arg, 8"),
])
def test_an_isolated_cell_may_not_gate_into_a_raw_address_function(vm: LiveKernel, module: str,
                                                                   name: str, call: str) -> None:
    source = RAW_REACH.replace("FROM", module).replace("NAME", name).replace("CALL", call)
    with pytest.raises(SwapError, match="it is not a safe interface"):
        vm.load(f"raw{name.replace('_', '')}", source, isolated=True)
    assert vm.command("echo still here") == "still here"


def test_a_call_into_an_isolated_cell_is_refused_at_load_naming_the_caller(vm: LiveKernel) -> None:
    with pytest.raises(SwapError, match="calls into an isolated cell are refused.*caller::main"):
        vm.load("caller", CALLER, trusted=True)


#: A second isolated cell with a global of its own, for the first to attack.
OTHER = """
# cell: unsafe
# cell: isolated
from theseus_nb.lang.prelude import *

secret: u64 = 77

def get(a: u64) -> u64:
    return secret
"""


def test_one_isolated_cell_cannot_touch_anothers_pages(vm: LiveKernel) -> None:
    vm.load("other", OTHER)
    assert ended(vm, vm.spawn("other::get")).value == 77        # its pages were user pages
    secret = next(int(l.split()[1], 16) for l in vm.command("sections other").splitlines()
                  if l.split()[0] == "data")
    record = ended(vm, vm.spawn("iso::poke", secret))
    assert (record.state, record.cause) == \
        ("faulted", f"access outside the cell's pages at {secret:#x} in iso::poke")
    assert ended(vm, vm.spawn("other::get")).value == 77        # intact, and usable again


def test_a_swap_keeps_an_isolated_cell_isolated(vm: LiveKernel) -> None:
    # The new version has no marker and is swapped as is: the kernel keeps it isolated.
    vm.swap("iso", ISO.replace("# cell: isolated\n", ""))
    addr = _value_address(vm)
    record = ended(vm, vm.spawn("iso::poke", addr))
    assert record.cause == f"access outside the cell's pages at {addr:#x} in iso::poke"
    assert ended(vm, vm.spawn("iso::calls", 1)).state == "exited"   # gates rebuilt
    assert _neighbour_value(vm) == 1234


def test_an_unsafe_cell_loaded_at_run_time_is_isolated_unless_trusted(vm: LiveKernel) -> None:
    vm.load("plain", PLAIN)
    assert "plain" in vm.isolated_cells()
    addr = _value_address(vm)
    record = ended(vm, vm.spawn("plain::poke", addr))
    assert record.cause == f"access outside the cell's pages at {addr:#x} in plain::poke"
    assert _neighbour_value(vm) == 1234


def test_an_isolated_cell_does_not_run_as_the_policy(vm: LiveKernel) -> None:
    # (As a command it runs in ring 3: tests/kernel_src/test_isolated_command.py.)
    assert "the cell is isolated: its code runs only as a task" in vm.command("sched iso")
    assert vm.command("echo still here") == "still here"


def test_a_swap_that_would_isolate_a_called_cell_is_refused(vm: LiveKernel) -> None:
    vm.load("lib", LIB, trusted=True)
    vm.load("user", USER, trusted=True)
    assert vm.command("user") == "" and vm.request("user").status == 42
    with pytest.raises(SwapError, match="the new version is isolated, and 'user::main' calls into it"):
        vm.swap("lib", "# cell: isolated\n" + LIB)
    assert vm.request("user").status == 42
    assert "lib" not in vm.isolated_cells()


def test_smap_and_smep_stop_the_kernel_at_an_isolated_cells_pages(vm: LiveKernel) -> None:
    vm.load("stray", STRAY, trusted=True)
    # iso's pages are user pages while its tasks run, and until another
    # isolated cell's task runs: run one, so they are now.
    assert ended(vm, vm.spawn("iso::talk", 1)).state == "exited"
    words = {l.split()[0]: int(l.split()[1], 16) for l in vm.command("sections iso").splitlines()}
    code = words["text"]
    record = ended(vm, vm.spawn("stray::peek", code))
    assert (record.state, record.cause) == \
        ("faulted", f"kernel access to an isolated cell's page at {code:#x} (SMAP) in stray::peek")
    record = ended(vm, vm.spawn("stray::jump", code))
    assert record.state == "faulted"
    assert record.cause.startswith(f"kernel execute of an isolated cell's code at {code:#x} (SMEP)")


def test_a_trusted_unsafe_cell_works_as_before_and_corrupts_silently(vm: LiveKernel) -> None:
    vm.load("raw", RAW, trusted=True)
    record = ended(vm, vm.spawn("raw::poke", _value_address(vm)))
    assert (record.state, record.cause) == ("exited", "")
    assert _neighbour_value(vm) == 99


def test_a_boot_archive_cell_named_in_kernel_isolated_boots_isolated(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    base = Kernel.default().with_cell("neighbour", NEIGHBOUR).with_cell("plain", PLAIN)
    kernel = Kernel(base.nano_core, base.cells, isolated={"plain"})
    with kernel.build(tmp_path_factory.mktemp("isolated-at-boot")).boot() as vm:
        assert "plain" in vm.isolated_cells()
        addr = _value_address(vm)
        record = ended(vm, vm.spawn("plain::poke", addr))
        assert record.cause == f"access outside the cell's pages at {addr:#x} in plain::poke"
        assert _neighbour_value(vm) == 1234
