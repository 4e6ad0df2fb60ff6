"""WebAssembly cells in the kernel, in real QEMU: a C program prints through WASI, exports
run as tasks and agree with the host JIT, traps fault only their task, a wasm cell is
swapped under a running task, and a module the kernel cannot serve is refused."""

from __future__ import annotations

import pytest

import qemu_bridge
from tests.guest_tasks import ended
from tests.kernel_src.test_fpu import NO_SSE_HERE, PVM_HOST
from theseus_nb import CellSource, Kernel, LiveKernel
from theseus_nb.wasm import instantiate, wat_to_wasm
from theseus_nb.wasm.kernel_cell import KernelCellError

pytestmark = pytest.mark.qemu

#: a cell that uses floats, or C that pulls in wasi-libc's printf, is compiled with SSE:
#: it cannot run under a KVM that emulates the guest (test_fpu.py says why)
NO_SSE = qemu_bridge.resolve_accel(qemu_bridge.accel_from_env()) == "kvm" and PVM_HOST
needs_sse = pytest.mark.skipif(NO_SSE, reason=NO_SSE_HERE)

HELLO_C = """#include <stdio.h>
int main(void) {
    puts("hello from C through fd_write");
    return 0;
}
"""

#: the traps each fault their own task; $narrow in the table has the wrong type for "ind"
WSQ = """(module
  (import "theseus" "print_u64" (func $print (param i64)))
  (memory 1)
  (type $ll (func (param i64) (result i64)))
  (table 3 funcref)
  (elem (i32.const 0) $sq $narrow)
  (func $sq (export "sq") (param i64) (result i64) (i64.mul (local.get 0) (local.get 0)))
  (func $narrow (param i32) (result i32) (local.get 0))
  (func (export "collatz") (param i64) (result i64) (local $steps i64)
    (block $done (loop $l
      (br_if $done (i64.le_u (local.get 0) (i64.const 1)))
      (local.set 0 (if (result i64) (i64.eqz (i64.rem_u (local.get 0) (i64.const 2)))
        (then (i64.div_u (local.get 0) (i64.const 2)))
        (else (i64.add (i64.mul (local.get 0) (i64.const 3)) (i64.const 1)))))
      (local.set $steps (i64.add (local.get $steps) (i64.const 1)))
      (br $l)))
    (local.get $steps))
  (func (export "div") (param i64) (result i64) (i64.div_u (i64.const 100) (local.get 0)))
  (func (export "oob") (param i64) (result i64)
    (i64.store (i32.wrap_i64 (local.get 0)) (i64.const 1)) (i64.const 0))
  (func (export "ind") (param i64) (result i64)
    (call_indirect (type $ll) (i64.const 5) (i32.wrap_i64 (local.get 0))))
  (func (export "inc32") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "main") (param i64) (result i64) (call $print (i64.const 4242)) (i64.const 0)))
"""

COUNTER = """(module
  (import "theseus" "sleep" (func $sleep (param i64)))
  (import "theseus" "print_u64" (func $print (param i64)))
  (global $count (mut i64) (i64.const 0))
  (func $step (param i64) (result i64) (i64.add (local.get 0) (i64.const 1)))
  (func (export "run") (param i64) (result i64)
    (loop $forever
      (global.set $count (call $step (global.get $count)))
      (call $sleep (i64.const 1))
      (br $forever))
    (i64.const 0))
  (func (export "main") (param i64) (result i64) (call $print (global.get $count)) (i64.const 0)))
"""

#: the same counter, reaching its step through the table (call_indirect)
TABLE_COUNTER = COUNTER.replace(
    "(func $step",
    "(type $ll (func (param i64) (result i64)))\n"
    "  (table 1 funcref) (elem (i32.const 0) $step)\n"
    "  (func $step").replace("(call $step (global.get $count))",
                             "(call_indirect (type $ll) (global.get $count) (i32.const 0))")

#: main spawns worker as a task and waits for its answer on a channel
CHANNELS = """(module
  (import "theseus" "spawn" (func $spawn (param i32 i32 i64) (result i64)))
  (import "theseus" "channel" (func $channel (param i64) (result i64)))
  (import "theseus" "send" (func $send (param i64 i64)))
  (import "theseus" "recv" (func $recv (param i64) (result i64)))
  (import "theseus" "print_u64" (func $print (param i64)))
  (memory 1)
  (data (i32.const 16) "wchan::worker")
  (func (export "worker") (param i64) (result i64)
    (call $send (call $channel (i64.const 77)) (i64.mul (local.get 0) (local.get 0)))
    (i64.const 0))
  (func (export "main") (param i64) (result i64)
    (drop (call $spawn (i32.const 16) (i32.const 13) (i64.const 12)))
    (call $print (call $recv (call $channel (i64.const 77))))
    (i64.const 0)))
"""

#: attacks on wasm_rt: pointers outside the module's memory, a grow that moves the memory
PROBE = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "theseus" "print" (func $print (param i32 i32) (result i32)))
  (memory 1 4)
  (data (i32.const 0) "\\10\\00\\00\\00\\02\\00\\00\\00")   ;; one iovec: 2 bytes at 16
  (data (i32.const 16) "ok")
  (func (export "iov_outside") (param i64) (result i64)     ;; the iovec array is past the end
    (i64.extend_i32_u (call $fd_write (i32.const 1) (i32.const 65532) (i32.const 1) (i32.const 8))))
  (func (export "bytes_outside") (param i64) (result i64)   ;; the iovec points past the end
    (i32.store (i32.const 32) (i32.const 65535))
    (i32.store (i32.const 36) (i32.const 100))
    (i64.extend_i32_u (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 8))))
  (func (export "print_outside") (param i64) (result i64)
    (i64.extend_i32_u (call $print (i32.const 65000) (i32.const 1000))))
  (func (export "bad_fd") (param i64) (result i64)
    (i64.extend_i32_u (call $fd_write (i32.const 9) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "grow") (param i64) (result i64) (local $old i32)
    (i64.store (i32.const 64) (i64.const 0x1234))
    (local.set $old (memory.grow (i32.const 2)))
    (i64.store (i32.const 196600) (i64.const 5))             ;; in the new third page
    (if (i32.ne (memory.grow (i32.const 2)) (i32.const -1)) (then unreachable))  ;; max is 4
    (i64.add (i64.load (i32.const 64))
             (i64.add (i64.load (i32.const 196600))
                      (i64.mul (i64.extend_i32_u (local.get $old)) (i64.const 1000000)))))
  (func (export "main") (param i64) (result i64)
    (i64.extend_i32_u (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


@pytest.fixture(scope="module", params=["guard", "checks"])
def bounds(request) -> str:
    """Every test runs with guard regions and again with explicit bounds checks."""
    return request.param


@pytest.fixture(scope="module")
def wasm_vm(tmp_path_factory, bounds: str):
    base = Kernel.default()
    cells = [] if NO_SSE else [CellSource.c("hello", HELLO_C, bounds=bounds)]
    cells += [CellSource.wasm("wsq", WSQ, bounds=bounds),
             CellSource.wasm("wcount", wat_to_wasm(COUNTER), bounds=bounds),
             CellSource.wasm("wchan", CHANNELS, bounds=bounds),
             CellSource.wasm("wtab", TABLE_COUNTER, bounds=bounds),
             CellSource.wasm("wprobe", PROBE, bounds=bounds)]
    image = Kernel(base.nano_core, base.cells + cells).build(tmp_path_factory.mktemp("wasm"))
    live = image.boot()
    yield live
    live.shutdown()


@needs_sse
def test_a_c_program_prints_through_fd_write(wasm_vm: LiveKernel) -> None:
    assert wasm_vm.command("hello") == "hello from C through fd_write"
    assert wasm_vm.command("wsq") == "4242"          # a WAT cell's main, through theseus.print_u64


@needs_sse
def test_printf_with_floats_runs_in_the_kernel(wasm_vm: LiveKernel) -> None:
    # printf pulls in wasi-libc's float formatting: the cell is compiled with SSE
    wasm_vm.load("cprintf", c='#include <stdio.h>\nint main(void) { printf("%d squared is %d, '
                              'pi is about %.3f\\n", 12, 144, 3.14159); return 0; }\n')
    assert wasm_vm.command("cprintf", timeout=20) == "12 squared is 144, pi is about 3.142"


def test_a_wasm_cell_spawns_a_task_and_hears_from_it_on_a_channel(wasm_vm: LiveKernel) -> None:
    assert wasm_vm.command("wchan") == "144"


def test_a_c_program_s_exit_status(wasm_vm: LiveKernel) -> None:
    wasm_vm.load("cexit", c="int main(void) { return 3; }\n")   # _start calls proc_exit(3)
    rec = ended(wasm_vm, wasm_vm.spawn("cexit::main", 0))
    assert (rec.state, rec.value) == ("exited", 3)
    reply = wasm_vm.request("cexit")                 # as a command: only the command ends
    assert (reply.status, reply.output) == (255, "faulted: exit 3")
    assert wasm_vm.command("echo ok") == "ok"


def test_tasks_return_what_the_host_jit_returns(wasm_vm: LiveKernel) -> None:
    host = instantiate(wat_to_wasm(WSQ), {"theseus": {"print_u64": lambda v: None}})
    for fn, arg, expect in (("collatz", 27, host.collatz(27)), ("sq", 12, host.sq(12)),
                            ("inc32", 41, host.inc32(41))):
        rec = ended(wasm_vm, wasm_vm.spawn(f"wsq::{fn}", arg))
        assert (rec.state, rec.value) == ("exited", expect)
    assert host.collatz(27) == 111


@pytest.mark.parametrize("fn, arg, kind", [
    ("oob", 65536 - 4, "out of bounds memory access"),
    ("div", 0, "integer divide by zero"),
    ("ind", 1, "indirect call type mismatch"),
    ("ind", 2, "uninitialized element"),
])
def test_a_trap_faults_its_task_and_the_kernel_answers(wasm_vm: LiveKernel,
                                                      fn: str, arg: int, kind: str) -> None:
    rec = ended(wasm_vm, wasm_vm.spawn(f"wsq::{fn}", arg))
    assert rec.state == "faulted"
    assert rec.cause == f"wasm trap: {kind} in wsq::{fn}"
    assert wasm_vm.command("echo still here") == "still here"
    rec = ended(wasm_vm, wasm_vm.spawn("wsq::sq", 3))   # the cell goes on
    assert rec.value == 9


@pytest.mark.parametrize("fn, errno", [("iov_outside", 21), ("bytes_outside", 21),
                                       ("print_outside", 21), ("bad_fd", 8)])
def test_the_kernel_refuses_pointers_outside_the_module_memory(wasm_vm: LiveKernel,
                                                               fn: str, errno: int) -> None:
    rec = ended(wasm_vm, wasm_vm.spawn(f"wprobe::{fn}", 0))
    assert (rec.state, rec.value) == ("exited", errno)       # EFAULT / EBADF, nothing printed
    assert wasm_vm.command("wprobe") == "ok"                 # the well-formed call works


def test_memory_grow_keeps_the_memory_s_bytes(wasm_vm: LiveKernel) -> None:
    # with checks the memory moves to a larger heap block; in a guard region it grows in place
    rec = ended(wasm_vm, wasm_vm.spawn("wprobe::grow", 0))
    assert (rec.state, rec.value) == ("exited", 1 * 1000000 + 5 + 0x1234)


def test_a_trap_in_a_shell_command_ends_only_the_command(wasm_vm: LiveKernel, bounds) -> None:
    reply = wasm_vm.request("wsq 0")   # main(0) is fine; the shell passes no argument anyway
    assert reply.ok and reply.output == "4242"
    wasm_vm.load("wdiv", wasm='(module (func (export "main") (param i64) (result i64) '
                              '(i64.div_u (i64.const 1) (local.get 0))))', bounds=bounds)
    reply = wasm_vm.request("wdiv")
    assert (reply.status, reply.output) == (255, "faulted: wasm trap: integer divide by zero "
                                                 "in wdiv::main")
    assert wasm_vm.command("echo ok") == "ok"


def test_a_wasm_cell_is_swapped_under_its_running_task(wasm_vm: LiveKernel, wait_until,
                                                      bounds) -> None:
    task = wasm_vm.spawn("wcount::run", 0)
    assert wait_until(lambda: int(wasm_vm.command("wcount")) >= 3)
    report = wasm_vm.swap("wcount", wasm=COUNTER.replace("(i64.const 1)))\n  (func (export",
                                                         "(i64.const 1000)))\n  (func (export"),
                          bounds=bounds)
    assert report.old_code_rewritten >= 1                      # run() is the old code
    before = int(wasm_vm.command("wcount"))
    assert wait_until(lambda: int(wasm_vm.command("wcount")) >= before + 2000)
    assert int(wasm_vm.command("wcount")) % 1000 == before % 1000   # the new step, same count
    assert next(t for t in wasm_vm.tasks() if t.id == task).state in ("running", "runnable",
                                                                      "sleeping")
    wasm_vm.kill(task)


def test_a_swap_gives_the_table_the_new_functions(wasm_vm: LiveKernel, wait_until,
                                                  bounds) -> None:
    task = wasm_vm.spawn("wtab::run", 0)
    assert wait_until(lambda: int(wasm_vm.command("wtab")) >= 3)
    report = wasm_vm.swap("wtab", wasm=TABLE_COUNTER.replace(
        "(i64.const 1)))\n  (func (export", "(i64.const 1000)))\n  (func (export"),
        bounds=bounds)
    assert "wtab::global0" in report.state_carried              # the count goes on...
    assert "wtab::.table_entries" not in report.state_carried   # ...the table is the new one
    before = int(wasm_vm.command("wtab"))
    assert wait_until(lambda: int(wasm_vm.command("wtab")) >= before + 2000)
    assert int(wasm_vm.command("wtab")) % 1000 == before % 1000
    wasm_vm.kill(task)


def test_an_unknown_import_is_refused_and_nothing_is_loaded(wasm_vm: LiveKernel) -> None:
    bad = '(module (import "env" "launch_missiles" (func (param i32))))'
    with pytest.raises(KernelCellError, match="imports env.launch_missiles, which the kernel "
                                              "does not provide"):
        wasm_vm.load("wbad", wasm=bad)
    assert "wbad" not in wasm_vm.command("cells")


#: f64 arithmetic, rounding and a conversion that traps: a cell compiled with SSE
FLOATS = """(module
  (func $area (param i64) (result f64)
    (f64.mul (f64.const 3.14159) (f64.mul (f64.convert_i64_u (local.get 0))
                                          (f64.convert_i64_u (local.get 0)))))
  (func (export "area") (param i64) (result i64)
    (i64.trunc_f64_u (f64.floor (call $area (local.get 0)))))
  (func (export "root") (param i64) (result i64)
    (i64.trunc_f64_u (f64.nearest (f64.mul (f64.sqrt (f64.convert_i64_u (local.get 0)))
                                           (f64.const 1000)))))
  (func (export "huge") (param i64) (result i64)
    (i64.trunc_f64_s (f64.mul (f64.convert_i64_u (local.get 0)) (f64.const 1e300)))))
"""


@needs_sse
def test_a_float_cell_runs_in_tasks_as_on_the_host(wasm_vm: LiveKernel) -> None:
    host = instantiate(wat_to_wasm(FLOATS))
    wasm_vm.load("wfloat", wasm=FLOATS)
    for fn, arg in (("area", 12), ("root", 2), ("root", 1234567)):
        rec = ended(wasm_vm, wasm_vm.spawn(f"wfloat::{fn}", arg))
        assert (rec.state, rec.value) == ("exited", getattr(host, fn)(arg)), fn
    assert host.area(12) == 452 and host.root(2) == 1414
    rec = ended(wasm_vm, wasm_vm.spawn("wfloat::huge", 7))
    assert rec.state == "faulted" and "wasm trap: integer overflow in wfloat::huge" in rec.cause
    assert wasm_vm.command("echo ok") == "ok"


def test_a_runaway_recursion_hits_its_stack_guard_and_the_kernel_goes_on(
        wasm_vm: LiveKernel, bounds) -> None:
    # the kernel counts no call depth: every task's stack sits on an unmapped guard page,
    # and every function larger than a page probes its frame (skip-stack-guard-page.wast)
    wasm_vm.load("wrun", wasm="""(module
      (func $down (export "down") (param i64) (result i64)
        (i64.add (call $down (i64.add (local.get 0) (i64.const 1))) (i64.const 1))))""",
                 bounds=bounds)
    rec = ended(wasm_vm, wasm_vm.spawn("wrun::down", 0))
    assert (rec.state, rec.cause) == ("faulted", "stack overflow in wrun::down")
    assert wasm_vm.command("echo ok") == "ok"
