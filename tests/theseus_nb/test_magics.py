"""The IPython extension: %%cell, %boot, %kernel, %graph, %disasm, %tasks in a real IPython shell."""

from __future__ import annotations

import graphviz
import pytest
from IPython.testing import globalipapp

from theseus_nb.lang import CellError
from theseus_nb.magics import CellReport, Disassembly

COUNTER = """
count: u64 = 0

def tick(n: u64) -> u64:
    return n + 1

def main(arg: u64) -> u64:
    global count
    count = tick(count)
    return 0
"""


@pytest.fixture(scope="module")
def ip():
    shell = globalipapp.get_ipython()  # one shell per process, shared by the test files
    shell.run_line_magic("load_ext", "theseus_nb")
    yield shell
    magics = shell.magics_manager.registry["TheseusMagics"]
    if magics.machine is not None:
        magics.machine.shutdown()
    magics.cells.clear()
    magics.machine = None


@pytest.fixture()
def magics(ip):
    return ip.magics_manager.registry["TheseusMagics"]


def test_cell_shows_sections_symbols_and_relocations(ip, magics):
    report = ip.run_cell_magic("cell", "counter", COUNTER)
    assert isinstance(report, CellReport)
    assert ("counter::count", "bss", 8) in report.sections
    assert any(s[:2] == ("counter::tick", "text") for s in report.sections)
    assert "counter::tick" in report.symbols and "counter::main" in report.symbols
    targets = {(section, target) for section, _, _, target, _ in report.relocations}
    assert ("counter::main", "counter::count") in targets  # the global it updates
    assert ("counter::tick", "rt::panic") in targets  # overflow check: another cell's symbol
    assert "rt::panic" in report.imports
    html = report._repr_html_()
    assert "relocations" in html and "counter::main" in html
    assert "counter" in magics.cells and magics.last_error is None


def test_a_bad_cell_shows_its_error_and_is_not_registered(ip, magics):
    assert ip.run_cell_magic("cell", "broken", "def f(n: u64) -> u64:\n    return n + x\n") is None
    assert isinstance(magics.last_error, CellError)
    # line 1 in the editor is "%%cell broken": the error is on the editor's line 3
    assert (magics.last_error.line, magics.last_error.col) == (3, 16)
    assert "broken" not in magics.cells


def test_disasm_every_stage(ip, magics):
    ip.run_cell_magic("cell", "counter", COUNTER)
    asm = ip.run_line_magic("disasm", "counter::tick")
    assert isinstance(asm, Disassembly) and asm.stage == "x86-64 assembly"
    assert "ret" in asm.text and "counter::main" not in asm.text
    ir = ip.run_line_magic("disasm", "counter::tick --ir")
    assert ir.text.startswith("define") and '@"counter::tick"' in ir.text
    assert "define" in ip.run_line_magic("disasm", "mathutil::fib --opt").text
    assert ip.run_line_magic("disasm", "counter::nothing") is None
    assert "no function 'nothing'" in str(magics.last_error)
    assert ip.run_line_magic("disasm", "tick") is None
    assert "CELL::FUNCTION" in str(magics.last_error)


def test_graph_before_boot_is_the_next_images(ip, magics):
    ip.run_cell_magic("cell", "counter", COUNTER)
    dot = ip.run_line_magic("graph", "counter")
    assert isinstance(dot, graphviz.Digraph) and "counter" in dot.source
    focus = ip.run_line_magic("graph", "--focus counter::tick --depth 2")
    assert "counter::tick" in focus.source
    assert ip.run_line_magic("graph", "--focus counter::nope") is None
    assert magics.last_error is not None


def test_cell_is_isolated_or_trusted_never_both(ip, magics):
    assert ip.run_cell_magic("cell", "both --isolated --trusted", COUNTER) is None
    assert "either --isolated or --trusted" in str(magics.last_error)
    assert ip.run_cell_magic("cell", "counter2 --isolated", COUNTER) is not None, magics.last_error
    assert magics.cells["counter2"].is_isolated            # detached: isolated at the next %boot


def test_machine_magics_need_a_machine(ip, magics):
    magics.machine = None
    ip.run_line_magic("kernel", "help")
    assert "no machine attached" in str(magics.last_error)


@pytest.mark.qemu
def test_boot_swap_load_and_detach(ip, magics, capsys):
    ip.run_cell_magic("cell", "counter", COUNTER)
    vm = ip.run_line_magic("boot", "")
    assert vm is not None and vm.alive, magics.last_error
    assert ip.user_ns["vm"] is vm and magics.machine is vm
    capsys.readouterr()
    ip.run_line_magic("kernel", "echo from the notebook")
    assert "from the notebook" in capsys.readouterr().out
    # the notebook's cell is a real cell of the image: a shell command
    assert vm.request("counter").ok
    # redefining it swaps it into the running kernel
    report = ip.run_cell_magic("cell", "counter", COUNTER.replace("n + 1", "n + 2"))
    assert report.action.startswith("swapped") and report.swap is not None
    assert "counter::tick" in report.swap.sections_changed
    assert "swap report" in report._repr_html_()
    # %history lists both versions; %rollback undoes the swap, once
    assert [v.verb for v in ip.run_line_magic("history", "counter")] == ["boot", "swap"]
    undo = ip.run_line_magic("rollback", "counter")
    assert undo is not None and undo.verb == "rollback", magics.last_error
    assert "n + 1" in magics.cells["counter"].text      # the next %boot builds what runs now
    assert ip.run_line_magic("rollback", "counter") is None
    assert "nothing to roll back" in str(magics.last_error)
    assert ip.run_line_magic("rollback", "") is None
    assert "%rollback needs one cell name" in str(magics.last_error)
    assert ip.run_line_magic("faults", "") == []
    assert magics.last_error is None
    # a swap the kernel refuses is shown, not raised, and not registered
    from theseus_nb import SwapError
    from theseus_nb.kernel import repo_root
    mathutil = (repo_root() / "cells" / "mathutil.py").read_text()
    without_fib = mathutil.replace("def fib(", "def fib_renamed(")
    assert ip.run_cell_magic("cell", "mathutil", without_fib) is None
    assert isinstance(magics.last_error, SwapError)
    assert "mathutil::fib" in str(magics.last_error) and "mathutil" not in magics.cells
    assert vm.command("fib 10") == "55"
    live = ip.run_line_magic("graph", "--focus counter::tick")
    assert "counter::tick" in live.source and "#d9480f" in live.source  # changed by the swap
    # a new cell is loaded
    report = ip.run_cell_magic("cell", "hello", "from kernel_src.serial import write\n"
                                                "def main(arg: u64) -> u64:\n"
                                                "    write('hi from hello')\n    return 0\n")
    assert report is not None, magics.last_error
    assert report.action.startswith("loaded")
    assert vm.command("hello") == "hi from hello"
    # an unsafe cell loaded at run time is isolated unless --trusted
    poker = ("# cell: unsafe\nfrom theseus_nb.lang.prelude import *\n"
             "from theseus_nb.lang.unsafe import store64\n"
             "def poke(a: u64) -> u64:\n    store64(a, 0)\n    return 0\n")
    assert ip.run_cell_magic("cell", "poker", poker) is not None, magics.last_error
    assert magics.cells["poker"].is_isolated and "poker" in vm.isolated_cells()
    assert ip.run_cell_magic("cell", "poker2 --trusted", poker) is not None, magics.last_error
    assert not magics.cells["poker2"].is_isolated and "poker2" not in vm.isolated_cells()
    tasks = ip.run_line_magic("tasks", "")
    assert tasks is not None, magics.last_error
    assert "<table" in tasks._repr_html_() and tasks.by_id(0).name == "shell::run"
    ip.run_line_magic("detach", "")
    assert magics.machine is None and vm.alive
    assert ip.run_line_magic("attach", "vm") is vm
    vm.shutdown()
    ip.run_line_magic("kernel", "help")
    assert "stopped" in str(magics.last_error)


WAT_CELL = """(module
  (import "theseus" "print_u64" (func $print (param i64)))
  (func $twice (param i64) (result i64) (i64.mul (local.get 0) (i64.const 2)))
  (func (export "main") (param i64) (result i64) (call $print (call $twice (i64.const 21)))
    (i64.const 0)))
"""


def test_a_wasm_cell_and_a_c_cell(ip, magics):
    report = ip.run_cell_magic("cell", "wtwice --wasm", WAT_CELL)
    assert isinstance(report, CellReport), magics.last_error
    names = {s[0] for s in report.sections}
    assert {"wtwice::main", "wtwice::func1", "wtwice::import.theseus.print_u64"} <= names
    targets = {(section, target) for section, _, _, target, _ in report.relocations}
    assert ("wtwice::import.theseus.print_u64", "wasm_rt::print_u64") in targets  # an edge
    report = ip.run_cell_magic("cell", "csum --c", "int sum(int n) { int s = 0; "
                                                   "for (int i = 0; i < n; i++) s += i; return s; }")
    assert isinstance(report, CellReport), magics.last_error
    assert "csum::sum" in report.symbols


def test_a_bad_wasm_or_c_cell_names_the_editor_line(ip, magics):
    from theseus_nb.wasm import WatError
    from theseus_nb.wasm.clang import CError

    assert ip.run_cell_magic("cell", "wbad --wasm", "(module\n  (func (result i32)\n"
                                                    "    i64.const 1))") is None
    assert isinstance(magics.last_error, WatError) and magics.last_error.line == 4
    assert ip.run_cell_magic("cell", "cbad --c", "int f(void) {\n  return y;\n}\n") is None
    assert isinstance(magics.last_error, CError) and magics.last_error.line == 3
    assert "wbad" not in magics.cells and "cbad" not in magics.cells
