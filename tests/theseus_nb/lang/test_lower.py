"""Stage 3: the IR follows the ABI: mangling, rt::panic, cross-cell symbols, unsafe intrinsics."""
from __future__ import annotations

import llvmlite.binding as llvm
import pytest

from theseus_nb.lang import compile_cell, interface_of, show_asm, show_optimized_ir
from theseus_nb.lang.jit import init_llvm

SERIAL = "def write_str(s: str) -> None:\n    pass\n\ndef write_u64(n: u64) -> None:\n    pass\n"

UNSAFE_SERIAL = '''\
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import outb, inb, hlt, cli, sti, pause, rdtsc, load64, store8, addr_of, call_addr

PORT = 0x3F8
scratch: Array[u8, 16] = [0] * 16


def _ready() -> bool:
    return inb(PORT + 5) & 0x20 != 0


def write_byte(b: u8) -> None:
    while not _ready():
        pause()
    outb(PORT, b)


def write_str(s: str) -> None:
    for i in range(len(s)):
        write_byte(ord(s[i]))


def poke(addr: u64, v: u8) -> u64:
    store8(addr, v)
    return load64(addr) + rdtsc() + addr_of(scratch) + addr_of(write_byte)


def idle() -> None:
    cli()
    sti()
    hlt()


def trampoline(f: u64, x: u64) -> u64:
    return call_addr(f, x)
'''


def verified(module: object) -> llvm.ModuleRef:
    init_llvm()
    mod = llvm.parse_assembly(str(module))
    mod.verify()
    return mod


def test_symbols_are_mangled_and_private_names_stay_external() -> None:
    cc = compile_cell("count: u64 = 0\ndef _h() -> u64:\n    return 1\n"
                      "def f() -> u64:\n    return _h() + count\n", "demo")
    text = str(cc.module)
    assert '@"demo::f"' in text and '@"demo::_h"' in text and '@"demo::count"' in text
    mod = verified(cc.module)
    assert mod.get_function("demo::_h").linkage == llvm.Linkage.external
    assert mod.get_global_variable("demo::count").linkage == llvm.Linkage.external
    assert " ptr" in text and "i64*" not in text  # opaque pointers only


def test_strings_are_constant_globals_and_panics_call_rt_panic() -> None:
    cc = compile_cell("def f(i: u64) -> u8:\n    s = \"hey\"\n    return ord(s[i])\n", "d")
    text = str(cc.module)
    assert '@"d::.str.' in text and 'c"hey"' in text
    assert 'declare void @"rt::panic"({ptr, i64}' in text and "noreturn" in text
    mod = verified(cc.module)
    strs = [g for g in mod.global_variables if g.name.startswith("d::.str.")]
    assert strs and all(g.is_global_constant() if hasattr(g, "is_global_constant") else True for g in strs)


def test_cross_cell_calls_are_undefined_symbols() -> None:
    ifaces = {"serial": interface_of(SERIAL, "serial")}
    src = ("from cells.serial import write_str\nimport kernel_src.serial\n"
           "def hello() -> None:\n    write_str(\"hi\")\n    kernel_src.serial.write_u64(7)\n")
    cc = compile_cell(src, "hello", interfaces=ifaces)
    assert cc.imports == ["serial"]
    mod = verified(cc.module)
    for name in ("serial::write_str", "serial::write_u64"):
        assert mod.get_function(name).is_declaration


def test_unsafe_cell_compiles_to_a_verified_kernel_module() -> None:
    cc = compile_cell(UNSAFE_SERIAL, "serial")
    assert cc.unsafe
    verified(cc.module)
    asm = show_asm(UNSAFE_SERIAL, "serial", unsafe=True)
    assert "outb\t%al, %dx" in asm and "inb\t%dx, %al" in asm and "rdtsc" in asm and "hlt" in asm
    assert "xmm" not in asm  # no SSE in kernel code
    assert "serial::write_byte" in show_optimized_ir(UNSAFE_SERIAL, "serial", unsafe=True)


@pytest.mark.xfail(strict=True, reason="lang/inspect.py (being moved) passes unsafe=False when "
                   "not told, which compile_cell now refuses for a marked cell; its show_* "
                   "functions should default to unsafe=None, as compile_cell does")
def test_show_functions_take_unsafe_from_the_marker_when_not_told() -> None:
    assert "hlt" in show_asm(UNSAFE_SERIAL, "serial")


def test_unsafe_flag_allows_intrinsics_without_the_marker() -> None:
    src = "from theseus_nb.lang.unsafe import hlt\ndef idle() -> None:\n    hlt()\n"
    assert compile_cell(src, "idle", unsafe=True).unsafe


def test_a_cell_named_rt_can_define_panic() -> None:
    src = ("# cell: unsafe\nfrom theseus_nb.lang.unsafe import hlt\n"
           "def panic(msg: str, where: str, line: u64) -> None:\n"
           "    while True:\n        hlt()\n")
    mod = verified(compile_cell(src, "rt", unsafe=True).module)
    assert not mod.get_function("rt::panic").is_declaration


def test_fnref_values_are_function_addresses() -> None:
    src = ("def worker(x: u64) -> u64:\n    return x * 2\n"
           "def _spawn(entry: fnref, arg: u64) -> u64:\n    return entry(arg)\n"
           "def start(arg: u64) -> u64:\n    return _spawn(worker, arg)\n")
    verified(compile_cell(src, "tasks").module)


def test_raw_memory_access_is_volatile() -> None:
    src = ("# cell: unsafe\nfrom theseus_nb.lang.unsafe import load32, store32\n"
           "def wait(a: u64) -> None:\n    while load32(a) & 1 == 0:\n        pass\n    store32(a, 5)\n")
    text = str(compile_cell(src, "dev").module)
    assert "load volatile i32" in text and "store volatile i32" in text
    verified(compile_cell(src, "dev").module)


def test_kernel_functions_have_no_red_zone() -> None:
    text = str(compile_cell("def f() -> None:\n    pass\n", "k").module)
    assert "noredzone" in text
