"""The host JIT: exported functions run natively; every trap kind comes back as a WasmTrap
naming it, and the instance stays usable afterwards."""

from __future__ import annotations

import math

import pytest

from theseus_nb.wasm import (Global, LinkError, Memory, WasmTrap, instantiate)
from theseus_nb.wasm.module import Limits

PROGRAM = """
(module
  (type $ii (func (param i32) (result i32)))
  (memory (export "mem") 1 3)
  (table 3 funcref)
  (elem (i32.const 0) $double $neg)
  (global $count (export "count") (mut i64) (i64.const 0))
  (func $double (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func $neg (param i64) (result i64) (i64.sub (i64.const 0) (local.get 0)))
  (func (export "fib") (param i64) (result i64)
    (global.set $count (i64.add (global.get $count) (i64.const 1)))
    (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
      (then (local.get 0))
      (else (i64.add (call 2 (i64.sub (local.get 0) (i64.const 1)))
                     (call 2 (i64.sub (local.get 0) (i64.const 2)))))))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "rem") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0)))
  (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func (export "sat") (param f64) (result i32) (i32.trunc_sat_f64_s (local.get 0)))
  (func (export "boom") unreachable)
  (func $deep (export "deep") (param i32) (result i32)
    (i32.add (call $deep (local.get 0)) (i32.const 1)))
  (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "sum") (param i32) (result i32) (local i32)
    (block (loop
      (br_if 1 (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br 0)))
    (local.get 1))
  (func (export "pick") (param i32) (result i32)
    (block (block (block (br_table 0 1 2 (local.get 0)))
      (return (i32.const 10))) (return (i32.const 11))) (i32.const 12))
  (func (export "fmin") (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1)))
)
"""


@pytest.fixture(scope="module")
def inst(request):
    from theseus_nb.wasm import wat_to_wasm
    return instantiate(wat_to_wasm(PROGRAM))


def test_functions_compute(inst) -> None:
    assert inst.fib(20) == 6765
    assert inst.count.value > 0                       # an exported mutable global
    assert inst.sum(100) == 5050
    assert [inst.pick(i) for i in range(4)] == [10, 11, 12, 12]
    assert inst.swap(7, -5) == (-5, 7)                # multi-value
    assert inst.indirect(0, 21) == 42
    assert inst.sat(1e20) == 2**31 - 1 and inst.sat(float("nan")) == 0
    assert inst.fmin(-0.0, 0.0) == 0.0 and math.copysign(1, inst.fmin(-0.0, 0.0)) == -1
    assert inst.rem(-2**31, -1) == 0


@pytest.mark.parametrize("call, kind", [
    (lambda i: i.div(1, 0), "integer divide by zero"),
    (lambda i: i.div(-2**31, -1), "integer overflow"),
    (lambda i: i.store(65533, 1), "out of bounds memory access"),
    (lambda i: i.load(-1), "out of bounds memory access"),
    (lambda i: i.indirect(1, 5), "indirect call type mismatch"),
    (lambda i: i.indirect(2, 5), "uninitialized element"),
    (lambda i: i.indirect(3, 5), "undefined element"),
    (lambda i: i.trunc(float("nan")), "invalid conversion to integer"),
    (lambda i: i.trunc(3e9), "integer overflow"),
    (lambda i: i.boom(), "unreachable"),
    (lambda i: i.deep(0), "call stack exhausted"),
])
def test_each_trap_is_named_and_the_instance_goes_on(inst, call, kind) -> None:
    with pytest.raises(WasmTrap) as e:
        call(inst)
    assert e.value.kind == kind
    assert inst.div(9, 3) == 3


def test_an_offset_cannot_wrap_the_address_around(wat) -> None:
    # index + offset is computed in 64 bits: 0xFFFFFFFF + 0xFFFFFFFF must not land at 0xFFFFFFFE
    # of a 4 GiB space, nor wrap to a small address
    inst = instantiate(wat('(module (memory 1) (func (export "f") (param i32) (result i32) '
                           '(i32.load offset=4294967295 (local.get 0))))'))
    for index in (1, 0xFFFFFFFF, 0x80000000):
        with pytest.raises(WasmTrap, match="out of bounds memory access"):
            inst.f(index)


def test_memory_is_shared_with_python_and_grows(inst) -> None:
    inst.store(16, 0x01020304)
    assert inst.mem.read(16, 4) == b"\x04\x03\x02\x01"
    assert inst.grow(1) == 1 and inst.mem.pages == 2
    inst.store(65536 + 8, 5)                          # the new page is reachable
    assert inst.grow(5) == -1                         # past the maximum of 3
    with pytest.raises(Exception, match="outside the memory"):
        inst.mem.read(3 * 65536, 1)


def test_imports_from_python_and_from_another_instance(wat) -> None:
    seen = []
    lib = instantiate(wat('(module (memory (export "m") 1) '
                          '(func (export "inc") (param i32) (result i32) '
                          '(i32.add (local.get 0) (i32.const 1))))'))
    app = instantiate(wat('''(module
        (import "env" "log" (func $log (param i32)))
        (import "lib" "inc" (func $inc (param i32) (result i32)))
        (import "lib" "m" (memory 1))
        (import "env" "g" (global $g i32))
        (func (export "run") (result i32)
          (call $log (global.get $g))
          (i32.store8 (i32.const 3) (i32.const 9))
          (call $inc (global.get $g))))'''),
        {"env": {"log": seen.append, "g": Global("i32", False, 41)}, "lib": lib.exports})
    assert app.run() == 42 and seen == [41]
    assert lib.m.read(3, 1) == b"\x09"                # the same memory


def test_a_python_exception_in_an_import_ends_the_call(wat) -> None:
    def fail(x: int) -> None:
        raise ValueError("no")

    app = instantiate(wat('(module (import "env" "f" (func $f (param i32))) '
                          '(func (export "run") (result i32) (call $f (i32.const 1)) '
                          '(i32.const 7)))'), {"env": {"f": fail}})
    with pytest.raises(WasmTrap, match="host function failed") as e:
        app.run()
    assert isinstance(e.value.__cause__, ValueError)


@pytest.mark.parametrize("imports, words", [
    ({}, "unknown import env.f"),
    ({"env": {"f": Global("i32", False)}}, "incompatible import type for env.f"),
])
def test_a_missing_or_wrong_import_is_refused(wat, imports, words) -> None:
    with pytest.raises(LinkError, match=words):
        instantiate(wat('(module (import "env" "f" (func $f)))'), imports)


def test_a_segment_that_does_not_fit(wat) -> None:
    mod = wat('(module (memory 1) (data (i32.const 65535) "ab"))')
    with pytest.raises(LinkError, match="data segment does not fit"):
        instantiate(mod, semantics="1.0")
    with pytest.raises(WasmTrap, match="out of bounds memory access"):
        instantiate(mod)
    small = Memory(Limits(1, 1))
    with pytest.raises(LinkError, match="memory limits"):
        instantiate(wat('(module (import "m" "mem" (memory 2)))'), {"m": {"mem": small}})


def test_the_product_never_imports_the_bench_peer() -> None:
    import ast
    from pathlib import Path

    import theseus_nb

    for path in Path(theseus_nb.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "wasmtime" for n in names), path


GUARDED = """(module (memory 1 3)
  (func (export "st") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "ld") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "probe") (param i32) (drop (i32.load8_u (local.get 0))))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""


def test_guard_regions_turn_a_fault_into_the_trap(wat) -> None:
    inst = instantiate(wat(GUARDED), bounds="guard")
    inst.st(100, 7)
    assert inst.ld(100) == 7
    for call in (lambda: inst.st(65534, 1), lambda: inst.ld(70000), lambda: inst.ld(-1),
                 lambda: inst.probe(65536)):            # a dropped load still traps
        with pytest.raises(WasmTrap, match="out of bounds memory access"):
            call()
    assert inst.grow(1) == 1                            # the next page is mapped now
    inst.st(70000, 5)
    assert inst.ld(70000) == 5
    with pytest.raises(WasmTrap):
        inst.ld(2 * 65536)
    assert inst.grow(5) == -1


DEAD_LOADS = """(module (memory 1)
  (func $get (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "unread") (param i32) (local i32)
    (local.set 1 (i32.load (local.get 0))))                  ;; stored in a local never read
  (func (export "inlined") (param i32) (drop (call $get (local.get 0))))
  (func (export "sunk") (param i32 i32) (result i32) (local i32)
    (local.set 2 (i32.load (local.get 0)))                   ;; used on one path only
    (if (result i32) (local.get 1) (then (local.get 2)) (else (i32.const 0)))))"""


@pytest.mark.parametrize("bounds", ["checks", "guard"])
def test_a_load_whose_value_dies_still_traps(wat, bounds) -> None:
    # With guard regions the access is the check: LLVM must not delete or sink it.
    inst = instantiate(wat(DEAD_LOADS), bounds=bounds)
    for call in (lambda: inst.unread(65536), lambda: inst.inlined(65533),
                 lambda: inst.sunk(70000, 0)):
        with pytest.raises(WasmTrap, match="out of bounds memory access"):
            call()
    inst.unread(65532)
    assert inst.sunk(8, 0) == 0


def test_a_guarded_memory_made_in_python_traps_when_imported(wat) -> None:
    # Memory() is guarded by default, as instantiate is: its faults must become traps
    mem = Memory(Limits(1, 2))
    inst = instantiate(wat('(module (import "m" "mem" (memory 1)) (func (export "ld") '
                           '(param i32) (result i32) (i32.load (local.get 0))))'),
                       {"m": {"mem": mem}})
    with pytest.raises(WasmTrap, match="out of bounds memory access"):
        inst.ld(65536)


def test_guarded_and_checked_memories_do_not_mix(wat) -> None:
    for made, importer in (("guard", "checks"), ("checks", "guard")):
        lib = instantiate(wat('(module (memory (export "m") 1))'), bounds=made)
        with pytest.raises(LinkError, match="do not mix"):
            instantiate(wat('(module (import "l" "m" (memory 1)))'), {"l": lib.exports},
                        bounds=importer)


def test_bulk_memory(wat) -> None:
    inst = instantiate(wat("""(module (memory (export "mem") 1) (data "abc")
      (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
      (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
      (func (export "init") (param i32 i32 i32) (memory.init 0 (local.get 0) (local.get 1) (local.get 2)))
      (func (export "drop") (data.drop 0)))"""))
    inst.fill(10, 7, 3)
    inst.init(20, 1, 2)
    inst.copy(21, 20, 2)                                  # overlapping: a memmove
    assert inst.mem.read(10, 3) == b"\x07" * 3 and inst.mem.read(20, 3) == b"bbc"
    with pytest.raises(WasmTrap, match="out of bounds memory access"):
        inst.fill(65535, 1, 2)
    with pytest.raises(WasmTrap, match="out of bounds memory access"):
        inst.copy(0, 65000, 1000)
    inst.drop()
    with pytest.raises(WasmTrap, match="out of bounds memory access"):
        inst.init(0, 0, 1)                                # a dropped segment has no bytes


RECURSIVE = """(module
  (func $fib (export "fib") (param i64) (result i64)
    (if (result i64) (i64.lt_u (local.get 0) (i64.const 2)) (then (local.get 0))
      (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                     (call $fib (i64.sub (local.get 0) (i64.const 2)))))))
  (func $down (export "down") (param i32) (result i32)    ;; divides by zero at the bottom
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.div_u (i32.const 1) (local.get 0)))
      (else (call $down (i32.sub (local.get 0) (i32.const 1))))))
  (func $runaway (export "runaway") (call $runaway)))"""


def test_a_self_recursive_function_is_unrolled_and_keeps_its_traps(wat) -> None:
    from theseus_nb.wasm.abi import Names
    from theseus_nb.wasm.decode import decode
    from theseus_nb.wasm.lower import lower

    names = Names(func=lambda i: f"f{i}", glob=lambda i: f"g{i}", memory="m", table="t",
                  init="init", trap="trap", memory_grow="grow", data=lambda i: f"d{i}")
    ir_names = {f.name for f in lower(decode(wat(RECURSIVE)), names).functions}
    assert {"f0.rec1", "f0.rec2", "f0.rec3", "f1.rec1", "f2.rec1"} <= ir_names
    inst = instantiate(wat(RECURSIVE))
    assert [inst.fib(n) for n in range(12)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89]
    assert inst.fib(25) == 75025
    for depth in (0, 1, 2, 3, 4, 7):     # the trap at every level of the unrolled copies
        with pytest.raises(WasmTrap, match="integer divide by zero"):
            inst.down(depth)
    with pytest.raises(WasmTrap, match="call stack exhausted"):
        inst.runaway()
