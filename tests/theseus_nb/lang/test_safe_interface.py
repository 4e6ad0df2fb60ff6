"""Safe interfaces (issue 12, item 3), from the attacker's side: a safe cell may call a
public function of an unsafe cell only when its author marked it @safe_interface, and
none of the kernel's raw-address functions is so marked."""
from __future__ import annotations

import re

import pytest

from theseus_nb.compile import interfaces_of
from theseus_nb.kernel import Kernel
from theseus_nb.lang import CellError, compile_cell, interface_of, jit
from theseus_nb.lang.prelude import safe_interface

LIB = '''"""A library with one safe function and one that reads any address."""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64


@safe_interface
def double(x: u64) -> u64:
    """Safe whatever x is."""
    return x * 2


def peek(addr: u64) -> u64:
    """Reads any address: not a safe interface."""
    return load64(addr)
'''

USES_DOUBLE = "from cells.lib import double\n\n\ndef main(x: u64) -> u64:\n    return double(x) + 1\n"


@pytest.fixture(scope="module")
def kernel_interfaces() -> dict:
    """The interface of every cell of the default kernel, as a build sees them."""
    return interfaces_of(Kernel.default().sources)


# Each of these takes or returns a raw address; a safe cell that could call one could
# read or write any memory (the red team rewrote counter::_count with such an import).
RAW = [("reloc", "patch"), ("heap", "free"), ("heap", "alloc"), ("serial", "write_mem"),
       ("namespace", "sym_addr"), ("names", "name_addr"), ("names", "name_add"),
       ("names", "mem_equal"), ("archive", "entry_name_addr"), ("archive", "entry_name_len"),
       ("archive", "entry_data"), ("swap", "source_addr"), ("loader", "load_object"),
       ("frames", "free"), ("upload", "blob_addr")]


@pytest.mark.parametrize("cell,fname", RAW)
def test_a_safe_cell_importing_a_raw_address_function_is_refused(kernel_interfaces: dict,
                                                                 cell: str, fname: str) -> None:
    src = f"from theseus_nb.lang.prelude import *\nfrom kernel_src.{cell} import {fname}\n"
    with pytest.raises(CellError) as info:
        compile_cell(src, "evil", filename="cells/evil.py", interfaces=kernel_interfaces)
    e = info.value
    assert e.message.startswith(f"'{fname}' is a function of the unsafe cell '{cell}' that is "
                                "not marked @safe_interface, so a safe cell may not call it")
    assert (e.filename, e.line, e.col) == ("cells/evil.py", 2, 1)
    assert str(e).startswith("cells/evil.py:2:1: ")


def test_calling_it_through_the_module_is_refused_at_the_call(kernel_interfaces: dict) -> None:
    src = ("from theseus_nb.lang.prelude import *\nimport kernel_src.serial\n\n\n"
           "def main(a: u64) -> u64:\n    kernel_src.serial.write_mem(a, 8)\n    return 0\n")
    with pytest.raises(CellError) as info:
        compile_cell(src, "evil", filename="cells/evil.py", interfaces=kernel_interfaces)
    e = info.value
    assert "'write_mem' is a function of the unsafe cell 'serial'" in e.message
    assert (e.line, e.col) == (6, 5), str(e)


# The red team's exploit: find counter::_count by name and write 777778 into it.
EXPLOIT = '''from theseus_nb.lang.prelude import *
from kernel_src.names import name_add_str
from kernel_src.namespace import sym_find, sym_addr
from kernel_src.reloc import patch


def main(a: u64) -> u64:
    where: u64 = sym_addr(sym_find(name_add_str("counter::_count")))
    patch(where, u32(1), 777778, i64(0))
    return 0
'''


def test_the_old_exploit_no_longer_compiles(kernel_interfaces: dict) -> None:
    with pytest.raises(CellError) as info:
        compile_cell(EXPLOIT, "evil", filename="cells/evil.py", interfaces=kernel_interfaces)
    assert info.value.line == 3 and "'sym_find' is a function of the unsafe cell 'namespace'" \
        in info.value.message
    # and as an unsafe cell, which may, it compiles: the refusal is about safety alone
    compile_cell("# cell: unsafe\n" + EXPLOIT, "evil", interfaces=kernel_interfaces)


def test_no_marked_kernel_function_takes_or_returns_an_address(kernel_interfaces: dict) -> None:
    marked = {(c, f) for c, i in kernel_interfaces.items() if i.unsafe
              for f, sig in i.functions.items() if sig.safe_interface}
    assert marked, "the kernel marks the functions its safe cells use"
    assert not marked & set(RAW)
    # a parameter or a function named for an address would be one
    addressy = re.compile(r"addr|base|place|ptr|_at$|^at$|^p$")
    for cell, fname in marked:
        sig = kernel_interfaces[cell].functions[fname]
        assert not addressy.search(fname), (cell, fname)
        assert not any(addressy.search(p) for p, _ in sig.params), (cell, sig.text)


def test_every_safe_cell_of_the_kernel_compiles_against_the_marks() -> None:
    kernel = Kernel.default()
    interfaces = interfaces_of(kernel.sources)
    safe = [s for s in kernel.sources if s.language == "cell" and not interfaces[s.name].unsafe]
    assert len(safe) > 20
    for s in safe:
        compile_cell(s.text, s.name, filename=s.filename, interfaces=interfaces)


def test_a_safe_cell_calls_a_marked_function_on_the_host_jit_and_in_cpython() -> None:
    app = jit(USES_DOUBLE, name="app", others={"lib": LIB})
    assert app.main(20) == 41
    namespace: dict = {}
    exec(LIB, namespace)  # the prelude's @safe_interface changes nothing in CPython
    assert namespace["double"](20) + 1 == 41 and safe_interface(len) is len


def test_an_unmarked_function_of_an_unsafe_cell_is_refused_on_the_jit_too() -> None:
    src = "from cells.lib import peek\n\n\ndef main(x: u64) -> u64:\n    return peek(x)\n"
    with pytest.raises(CellError) as info:
        jit(src, name="app", others={"lib": LIB})
    assert info.value.message.startswith("'peek' is a function of the unsafe cell 'lib'")
    # an unsafe caller may
    assert jit("# cell: unsafe\n" + src.replace("peek(x)", "x"), name="app2",
               others={"lib": LIB}).main(3) == 3


def test_a_cell_loaded_as_unsafe_without_the_marker_guards_its_functions_too() -> None:
    lib = LIB.replace("# cell: unsafe\n", "")
    ifaces = {"lib": interface_of(lib, "lib", unsafe=True)}
    with pytest.raises(CellError, match="'peek' is a function of the unsafe cell 'lib'"):
        compile_cell("from cells.lib import peek\n", "app", interfaces=ifaces)
    compile_cell(USES_DOUBLE, "app", interfaces=ifaces)


def test_the_mark_is_part_of_the_signature() -> None:
    marked = interface_of(LIB, "lib").functions["double"]
    dropped = interface_of(LIB.replace("@safe_interface\n", ""), "lib").functions["double"]
    assert marked.text == "@safe_interface double(x: u64) -> u64"
    assert dropped.text == "double(x: u64) -> u64"
    assert marked.signature_hash != dropped.signature_hash


MISUSE = {
    "in a safe cell": ("@safe_interface\ndef f() -> None:\n    pass\n", 1,
                       "this cell is safe, so all its public functions are"),
    "on a private function": ("# cell: unsafe\n@safe_interface\ndef _f() -> None:\n    pass\n", 2,
                              "'_f' is private"),
    "another decorator": ("# cell: unsafe\n@staticmethod\ndef f() -> None:\n    pass\n", 2,
                          "the only function decorator is @safe_interface"),
    "twice": ("# cell: unsafe\n@safe_interface\n@safe_interface\ndef f() -> None:\n    pass\n", 3,
              "the only function decorator is @safe_interface, once"),
}


@pytest.mark.parametrize("case", MISUSE)
def test_a_misused_mark_is_refused(case: str) -> None:
    src, line, words = MISUSE[case]
    with pytest.raises(CellError) as info:
        compile_cell(src, "c", filename="c.py")
    assert words in info.value.message and (info.value.line, info.value.col) == (line, 2)
