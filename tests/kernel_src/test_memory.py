"""The hardware backs the language: page permissions, guarded stacks, stack probes.

Real kernels in real QEMU.  A safe cell that recurses without end, or
keeps a 64 KiB array on a 16 KiB stack, ends its task with "stack
overflow" and the kernel goes on; a command that does the same ends only
the command; an unsafe cell's stray store into code, jump into data or
null load ends its task with the cause named; the nano_core's own image
is mapped by kind; and a task can be given the stack it needs.
"""

from __future__ import annotations

import re

import pytest

from tests.guest_tasks import ended
from theseus_nb import Image, Kernel, LiveKernel, build

pytestmark = pytest.mark.qemu

#: A safe cell (no "# cell: unsafe"): everything here is bounds-checked,
#: yet recursion can still run off the end of a stack.
DEEP = """
from theseus_nb.lang.prelude import *


def recurse(n: u64) -> u64:
    frame: Array[u64, 64] = [0] * 64
    frame[n % 64] = n
    return recurse(n + 1) + frame[(n + 1) % 64]


def depth(n: u64) -> u64:
    # Returns n, n frames deep: the frame is read after the call, at an
    # index only the call's result gives, so it must stay on the stack.
    frame: Array[u64, 64] = [0] * 64
    frame[n % 64] = n
    if n == 0:
        return 0
    r: u64 = depth(n - 1)
    return r + frame[(r + 1) % 64] - n + 1


def big(n: u64) -> u64:
    frame: Array[u64, 8192] = [0] * 8192          # 64 KiB: four times the default stack
    frame[n % 8192] = n + 1
    return frame[(n * 7) % 8192]


def main(a: u64) -> u64:
    return recurse(0)
"""

#: An unsafe cell: what the language no longer vouches for, the pages do.
UNSAFE = """
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64, store64, addr_of, call_addr

_code: Array[u8, 4] = [0xC3, 0xC3, 0xC3, 0xC3]      # "ret": code, in a data array


def own_text(arg: u64) -> u64:
    store64(addr_of(own_text), 0)
    return 0


def jump_data(arg: u64) -> u64:
    return call_addr(addr_of(_code), 0)


def null_load(arg: u64) -> u64:
    return load64(8)


def poke(addr: u64) -> u64:
    store64(addr, 0)
    return 0


def peek(addr: u64) -> u64:
    return load64(addr) & 1


def jump(addr: u64) -> u64:
    return call_addr(addr, 0)
"""

#: Spawns tasks that sleep until killed, as many as it is asked for or can.
MANY = """
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg_u64
from kernel_src.serial import write, write_u64, newline
from kernel_src.task import spawn, spawn_error, kill, sleep

_ids: Array[u64, 1024] = [0] * 1024


def parked(n: u64) -> u64:
    sleep(0xFFFFFFFFFFFF)
    return 0


def main(a: u64) -> u64:
    want: u64 = arg_u64(1)
    n: u64 = 0
    while n < want:
        id: u64 = spawn("many::parked", 0)
        if id == 0:
            break
        _ids[n] = id
        n += 1
    write("spawned ")
    write_u64(n)
    newline()
    if n < want:
        write("refused: ")
        write(spawn_error())
        newline()
    for i in range(n):
        kill(_ids[i])
    return 0
"""


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The default kernel with the deep, bad and many cells, built once."""
    kernel = Kernel.default().with_cell("deep", DEEP).with_cell("bad", UNSAFE, unsafe=True)
    return kernel.with_cell("many", MANY).build(tmp_path_factory.mktemp("memory-kernel"))


@pytest.fixture()
def vm(image: Image):
    """A fresh boot of that kernel for each test."""
    with image.boot() as m:
        yield m


def _mem(vm: LiveKernel) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in vm.command("mem").splitlines())}


def _section(vm: LiveKernel, cell: str, kind: str, least: int = 8) -> int:
    """The address of a section of this kind of cell of at least `least`
    bytes (from the `sections` command)."""
    for line in vm.command(f"sections {cell}").splitlines():
        words = line.split()
        if words[0] == kind and int(words[2]) >= least:
            return int(words[1], 16)
    raise AssertionError(f"{cell} has no {kind} section of {least} bytes or more")


def test_recursion_without_a_base_case_is_a_stack_overflow(vm: LiveKernel) -> None:
    vm.tasks()
    before = _mem(vm)
    record = ended(vm, vm.spawn("deep::recurse"))
    assert (record.state, record.cause) == ("faulted", "stack overflow in deep::recurse")
    assert vm.command("echo still here") == "still here"
    vm.tasks()                                       # the shell has reaped the stack by now
    after = _mem(vm)
    assert after["heap_allocs"] == before["heap_allocs"]
    assert after["heap_requested"] == before["heap_requested"]
    assert after["page_blocks"] == before["page_blocks"]


def test_a_64_KiB_frame_is_caught_by_the_stack_probes(vm: LiveKernel) -> None:
    record = ended(vm, vm.spawn("deep::big", 5))
    assert (record.state, record.cause) == ("faulted", "stack overflow in deep::big")
    assert vm.command("echo still here") == "still here"


def test_every_function_probes_a_frame_larger_than_a_page() -> None:
    # What the QEMU test above relies on: the compiler's probe loop, which
    # moves rsp one page at a time and touches each page.
    from theseus_nb import lang

    compiled = lang.compile_cell(DEEP, "deep")
    asm = build.kernel_asm(compiled.module, "deep")
    big = asm.split('"deep::big":', 1)[1].split(".Lfunc_end", 1)[0]
    assert re.search(r"subq\s+\$4096, %rsp", big)
    assert re.search(r"movq\s+\$0, \(%rsp\)", big)
    recurse = asm.split('"deep::recurse":', 1)[1].split(".Lfunc_end", 1)[0]
    assert "$4096" not in recurse                    # a small frame needs no probe


def test_a_command_that_overflows_its_stack_ends_only_the_command(vm: LiveKernel) -> None:
    vm.tasks()
    before = _mem(vm)
    reply = vm.request("deep")
    assert reply.status == 255
    assert reply.output.strip() == "faulted: stack overflow in deep::recurse"
    assert vm.command("echo still here") == "still here"
    after = _mem(vm)
    assert after["heap_allocs"] == before["heap_allocs"]
    assert [t.state for t in vm.tasks()] == ["running", "runnable"]


@pytest.mark.parametrize("function, cause", [
    ("bad::own_text", r"write to read-only memory at 0x[0-9a-f]+ in bad::own_text"),
    ("bad::jump_data", r"execute of non-executable memory at 0x[0-9a-f]+ in bad::_code"),
    ("bad::null_load", r"null pointer access in bad::null_load"),
])
def test_an_unsafe_cell_that_strays_ends_its_task(vm: LiveKernel, function: str, cause: str) -> None:
    record = ended(vm, vm.spawn(function))
    assert record.state == "faulted"
    assert re.fullmatch(cause, record.cause), record.cause
    assert vm.command("echo still here") == "still here"


def test_the_nano_core_is_mapped_by_kind(vm: LiveKernel) -> None:
    text, rodata = _section(vm, "serial", "text"), _section(vm, "loader", "rodata")
    data = _section(vm, "section_table", "bss")
    for function, addr, cause in [
        ("poke", text, "write to read-only memory"),
        ("poke", rodata, "write to read-only memory"),
        ("jump", rodata, "execute of non-executable memory"),
        ("jump", data, "execute of non-executable memory"),
    ]:
        record = ended(vm, vm.spawn(f"bad::{function}", addr))
        assert record.cause.startswith(f"{cause} at {addr:#x} in "), (function, hex(addr), record)
    for addr in (text, rodata, data):                 # and all of them can be read
        record = ended(vm, vm.spawn("bad::peek", addr))
        assert (record.state, record.cause) == ("exited", "")


def test_a_swapped_cell_is_mapped_like_a_loaded_one(vm: LiveKernel) -> None:
    vm.swap("bad", UNSAFE.replace("0xC3, 0xC3, 0xC3, 0xC3", "0xC3, 0xC3, 0xC3, 0x90"), unsafe=True)
    for function, cause in [("bad::own_text", "write to read-only memory"),
                            ("bad::jump_data", "execute of non-executable memory")]:
        record = ended(vm, vm.spawn(function))
        assert record.cause.startswith(cause), record


def test_a_task_can_be_given_the_stack_it_needs(vm: LiveKernel) -> None:
    # 1000 frames of over half a KiB: far more than 16 KiB, far less than 1 MiB.
    small = ended(vm, vm.machine.spawn("deep::depth", 1000))
    assert (small.state, small.cause) == ("faulted", "stack overflow in deep::depth")
    large = ended(vm, vm.spawn("deep::depth", 1000, stack=1 << 20))
    assert (large.state, large.value) == ("exited", 1000)
    refused = vm.request("spawn deep::depth 1 0x7fffffffffff")
    assert refused.status == 1 and "stack too large" in refused.output


def test_a_thousand_guarded_tasks(vm: LiveKernel) -> None:
    vm.tasks()
    before = _mem(vm)
    answer = vm.command("many 1000", timeout=60)
    assert answer.splitlines()[0] == "spawned 1000", answer
    vm.tasks()
    after = _mem(vm)
    assert after["heap_allocs"] == before["heap_allocs"]
    assert after["page_blocks"] == before["page_blocks"]
    record = ended(vm, vm.spawn("deep::recurse"))   # and the guards still guard
    assert record.cause == "stack overflow in deep::recurse"


def test_mem_reports_what_page_rounding_costs(vm: LiveKernel) -> None:
    mem = _mem(vm)
    rows = vm.command("cells").splitlines()[1:]
    cells = sum(row.split()[1] == "loaded" for row in rows)   # not the nano_core's, linked by the host
    assert mem["page_blocks"] >= cells                # each loaded cell has a code region
    assert 0 < mem["page_rounding"] < mem["page_blocks"] * 4096
    assert mem["page_tables"] >= 6 + 1                # PML4, PDPT, four directories, a split
    assert mem["page_tables"] == 6 + mem["pages_split"]


def test_a_hundred_swaps_under_w_x_leak_no_memory_and_no_page_tables(vm: LiveKernel) -> None:
    # Every swap places the new version in fresh regions, maps them, patches
    # the running callers' code through a writable window and frees the old
    # regions: none of it may leak heap blocks or page tables.
    source = "from theseus_nb.lang.prelude import *\n\ndef main(a: u64) -> u64:\n    return VERSION\n"
    vm.load("hot", source.replace("VERSION", "0"))
    for i in range(1, 11):                            # the heap settles where it places them
        vm.swap("hot", source.replace("VERSION", str(i)))
    before = _mem(vm)
    for i in range(11, 101):
        vm.swap("hot", source.replace("VERSION", str(i)))
    assert vm.request("hot").status == 100
    after = _mem(vm)
    for key in ("heap_allocs", "heap_requested", "page_blocks", "retired"):
        assert after[key] == before[key], key
    # A page table is split off once per 2 MiB page and never again: at most
    # one for each 2 MiB of the heap, however many swaps there are.
    assert after["pages_split"] <= before["pages_split"] + after["heap_size"] // (2 << 20)
    record = ended(vm, vm.spawn("bad::poke", _section(vm, "hot", "text", least=1)))
    assert record.cause.startswith("write to read-only memory")
