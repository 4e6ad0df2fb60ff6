"""WebAssembly memories in guard regions (kernel_src/wasm_memory.py), attacked from the
module's side in real QEMU: every access past the live pages traps (the last byte, the
farthest a 32-bit index plus offset reaches, a load whose value is never used), a grow
maps fresh zeroed pages in place, a cell keeps its slot across swaps, and a kernel whose
slots are all taken refuses the next module at load with the reason."""

from __future__ import annotations

import pytest

from tests.guest_tasks import ended
from theseus_nb import LiveKernel
from theseus_nb.errors import TheseusError

pytestmark = pytest.mark.qemu

#: every export is a task entry (i64) -> i64
GUARDED = """(module (memory 1 3)
  (func (export "st") (param i64) (result i64)
    (i64.store (i32.wrap_i64 (local.get 0)) (i64.const 7)) (i64.const 0))
  (func (export "ld") (param i64) (result i64) (i64.load (i32.wrap_i64 (local.get 0))))
  (func (export "far") (param i64) (result i64)                  ;; 8 GiB - 2 past the base
    (i64.load offset=0xFFFFFFFF (i32.const -1)))
  (func (export "probe") (param i64) (result i64)
    (drop (i32.load8_u (i32.wrap_i64 (local.get 0)))) (i64.const 0))
  (func (export "unread") (param i64) (result i64) (local i32)
    (local.set 1 (i32.load (i32.wrap_i64 (local.get 0)))) (i64.const 0))
  (func (export "grow") (param i64) (result i64)
    (i64.extend_i32_u (memory.grow (i32.wrap_i64 (local.get 0))))))
"""

TINY = '(module (memory 1) (func (export "main") (param i64) (result i64) (i64.const 5)))'


def _run(vm: LiveKernel, fn: str, arg: int) -> tuple:
    rec = ended(vm, vm.spawn(fn, arg))
    return rec.state, rec.value if rec.state == "exited" else rec.cause


def _mem(vm: LiveKernel) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in vm.command("mem").splitlines())}


@pytest.fixture(scope="module")
def vm(kernel_image):
    live = kernel_image.boot()
    yield live
    live.shutdown()


def test_every_access_past_the_live_pages_traps(vm: LiveKernel) -> None:
    before = _mem(vm)
    vm.load("wguard", wasm=GUARDED)
    assert _mem(vm)["wasm_slots"] == before["wasm_slots"] + 1
    assert _run(vm, "wguard::st", 65528) == ("exited", 0)     # the last 8 bytes
    assert _run(vm, "wguard::ld", 65528) == ("exited", 7)
    for fn, arg in (("st", 65529), ("ld", 65536), ("far", 0), ("probe", 65536),
                    ("unread", 65533)):
        assert _run(vm, f"wguard::{fn}", arg) == (
            "faulted", f"wasm trap: out of bounds memory access in wguard::{fn}"), fn
    assert vm.command("echo still here") == "still here"


def test_a_grow_maps_zeroed_pages_in_place(vm: LiveKernel) -> None:
    if "wguard" not in vm.objects:
        vm.load("wguard", wasm=GUARDED)
    frames = _mem(vm)["wasm_frames"]
    assert _run(vm, "wguard::grow", 1) == ("exited", 1)       # it had one page
    assert _mem(vm)["wasm_frames"] == frames + 16                         # 64 KiB of 4 KiB
    assert _run(vm, "wguard::ld", 65536) == ("exited", 0)     # fresh and zeroed
    assert _run(vm, "wguard::st", 131064) == ("exited", 0)
    assert _run(vm, "wguard::ld", 131064) == ("exited", 7)
    assert _run(vm, "wguard::ld", 131072)[0] == "faulted"
    assert _run(vm, "wguard::grow", 5) == ("exited", 0xFFFFFFFF)   # -1: max is 3
    assert _mem(vm)["wasm_frames"] == frames + 16


def test_a_cell_keeps_its_slot_across_swaps(vm: LiveKernel) -> None:
    vm.load("wkeep", wasm=GUARDED)
    assert _run(vm, "wkeep::st", 8) == ("exited", 0)
    slots = _mem(vm)["wasm_slots"]
    vm.swap("wkeep", wasm=GUARDED.replace("(i64.const 7)", "(i64.const 9)"))
    assert _run(vm, "wkeep::ld", 8) == ("exited", 7)          # the memory went on
    # to explicit checks and back: each change of scheme is a fresh instance, in the same slot
    vm.swap("wkeep", wasm=GUARDED, bounds="checks")
    assert _run(vm, "wkeep::ld", 8) == ("exited", 0)
    assert _run(vm, "wkeep::ld", 65536) == (
        "faulted", "wasm trap: out of bounds memory access in wkeep::ld")
    vm.swap("wkeep", wasm=GUARDED)
    assert _run(vm, "wkeep::ld", 8) == ("exited", 0)
    assert _mem(vm)["wasm_slots"] == slots


def test_a_segment_that_does_not_fit_is_refused_at_load(vm: LiveKernel) -> None:
    bad = '(module (memory 1) (data (i32.const 65535) "ab"))'
    for bounds in ("guard", "checks"):
        with pytest.raises(TheseusError, match="a data or element segment of the WebAssembly "
                                               "module does not fit its memory or table"):
            vm.load("wbadseg", wasm=bad, bounds=bounds)
        assert "wbadseg" not in vm.command("cells")


def test_when_every_slot_is_taken_the_next_module_is_refused(kernel_image) -> None:
    live = kernel_image.boot()
    try:
        free = 64 - {k: int(v) for k, v in (line.split() for line in
                                            live.command("mem").splitlines())}["wasm_slots"]
        for i in range(free):
            live.load(f"wtiny{i}", wasm=TINY)
        with pytest.raises(TheseusError, match=r"no memory for the WebAssembly instance "
                                               r"\(every guard-region slot or frame is taken\)"):
            live.load("wonemore", wasm=TINY)
        assert "wonemore" not in live.command("cells")
        live.load("wchecked", wasm=TINY, bounds="checks")    # a heap memory needs no slot
        assert live.command("wchecked") == "" and live.command("echo ok") == "ok"
    finally:
        live.shutdown()


#: each start counts itself in linear memory, then traps: explicitly (a division by zero)
#: or through the guard region (a store past the memory)
RECOVERING = """(module (memory 1)
  (func $count (i64.store (i32.const 0) (i64.add (i64.load (i32.const 0)) (i64.const 1))))
  (func (export "div") (param i64) (result i64) (call $count) (i64.div_u (i64.const 1) (local.get 0)))
  (func (export "oob") (param i64) (result i64) (call $count)
    (i64.store (i32.const 70000) (i64.const 1)) (i64.const 0))
  (func (export "starts") (param i64) (result i64) (i64.load (i32.const 0))))
"""


@pytest.mark.parametrize("fn, kind", [("div", "integer divide by zero"),
                                      ("oob", "out of bounds memory access")])
def test_a_restartable_wasm_task_climbs_the_ladder_and_its_reload_is_fresh(
        vm: LiveKernel, wait_until, fn: str, kind: str) -> None:
    cell = f"wrec{fn}"
    vm.load(cell, wasm=RECOVERING)
    slots = _mem(vm)["wasm_slots"]
    tid = vm.spawn(f"{cell}::{fn}", 0, restart="on-fault", max_restarts=2)
    assert wait_until(lambda: [r.action for r in vm.faults() if r.task == tid][-1:] == ["gave_up"],
                      timeout=30)
    mine = [r for r in vm.faults() if r.task == tid]
    assert [r.action for r in mine] == ["restarted", "restarted", "reloaded", "gave_up"]
    assert all(r.cause == f"wasm trap: {kind} in {cell}::{fn}" for r in mine)
    assert mine[0].backtrace[0] == f"{cell}::{fn}"          # the trap's own frames left out
    # the reload made a new instance in the same slot: one start counted since, not four
    assert _run(vm, f"{cell}::starts", 0) == ("exited", 1)
    assert _mem(vm)["wasm_slots"] == slots
    assert vm.command("echo ok") == "ok"
