"""The fault log and its backtraces (kernel_src/fault_log.py, backtrace.py), in a real kernel in real QEMU.

A fault three calls deep shows all three frames, innermost first, the
panicking one with its source line; a CPU exception is walked from the
faulting instruction; a faulting command is logged too; `faults SINCE`
leaves out what a reader has seen; a kernel panic's report on the console
carries the same backtrace.
"""

from __future__ import annotations

import time

import pytest

from theseus_nb import BootError, CellSource, Image, Kernel, LiveKernel, build
from theseus_nb.kernel import repo_root
from theseus_nb.signatures import function_hash

pytestmark = pytest.mark.qemu

#: Three calls deep, by panic and by CPU exception; a command that faults.
DEEP = """
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64


def bottom(arg: u64) -> u64:
    return 100 // arg


def middle(arg: u64) -> u64:
    return bottom(arg) + 1


def top(arg: u64) -> u64:
    return middle(arg) + 1


def touch(arg: u64) -> u64:
    return load64(0x10000000000 + arg)      # 1 TiB: not mapped


def reach(arg: u64) -> u64:
    return touch(arg) + 1


def main(arg: u64) -> u64:
    return reach(8) + 1             # not a tail call: main keeps its frame
"""


#: Frame pointers the walk must not follow: one far outside any stack, one
#: that points at itself (a loop), one just below the task's stack.
BAD_RBP_IR = """
define i64 @"badrbp::unmapped"(i64 %n) nounwind noredzone {
entry:
  call void asm sideeffect "movabsq $$0x10000000000, %rbp; ud2", "~{memory}"()
  ret i64 0
}
define i64 @"badrbp::loop"(i64 %n) nounwind noredzone {
entry:
  call void asm sideeffect "subq $$16, %rsp; movq %rsp, %rbp; movq %rbp, (%rsp); ud2", "~{memory}"()
  ret i64 0
}
""" + build.module_asm(  # spawn checks a task's signature: IR lists it itself
    '.section .theseus.sigs,"",@progbits\n' + "".join(
        f'.ascii "badrbp::{name} {function_hash(name, ["u64"], "u64")}\\n"\n'
        for name in ("unmapped", "loop")) + ".text")


def _line(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    kernel = Kernel.default().with_cell("deep", DEEP, unsafe=True)
    kernel = Kernel(kernel.nano_core, kernel.cells + [CellSource("badrbp", BAD_RBP_IR, "ir")])
    return kernel.build(tmp_path_factory.mktemp("fault-log-kernel"))


@pytest.fixture()
def vm(image: Image):
    with image.boot() as m:
        yield m


def _fault_of(m: LiveKernel, tid: int, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = [r for r in m.faults() if r.task == tid]
        if mine:
            return mine[-1]
        time.sleep(0.05)
    raise AssertionError(f"task {tid} never faulted")


def test_a_panic_three_calls_deep_shows_all_three_frames(vm: LiveKernel) -> None:
    mark = vm.machine.console.mark()
    tid = vm.spawn("deep::top", 0)
    record = _fault_of(vm, tid)
    line = _line(DEEP, "100 // arg")
    assert record.cause == f"panic: division by zero in deep::bottom line {line}"
    assert record.backtrace == ["deep::bottom", "deep::middle", "deep::top"]
    # The panicking frame's line is the kernel's; the callers' lines the host
    # finds from each call's relocation and the source (fault_lines.py).
    assert [f.line for f in record.frames] == [line, _line(DEEP, "return bottom(arg)"),
                                               _line(DEEP, "return middle(arg)")]
    assert [f.line for f in vm.machine.faults()[-1].frames] == [line, None, None]
    assert all(f.offset > 0 for f in record.frames)
    assert (record.action, record.spec) == ("ended", "deep::top")
    # The console report carries the same frames.
    vm.machine.console.wait_for(r"deep::top\+0x[0-9a-f]+\n", since=mark)
    report = vm.machine.console.since(mark)
    assert f"task {tid} (deep::top) faulted: panic: division by zero" in report
    assert [str(f) for f in vm.machine.faults()[-1].frames] == [
        l.strip()[3:] for l in report.splitlines() if l.startswith("  at ")]


def test_a_cpu_exception_is_walked_from_the_faulting_instruction(vm: LiveKernel) -> None:
    tid = vm.spawn("deep::reach", 0)
    record = _fault_of(vm, tid)
    assert record.cause == "page fault at 0x10000000000 (not mapped) in deep::touch"
    assert record.backtrace == ["deep::touch", "deep::reach"]
    # No panic, so no line from the kernel; the caller's line from the host.
    assert [f.line for f in record.frames] == [None, _line(DEEP, "return touch(arg)")]


@pytest.mark.parametrize("function", ["unmapped", "loop"])
def test_a_corrupt_frame_chain_ends_the_walk_not_the_kernel(vm: LiveKernel, function: str) -> None:
    tid = vm.spawn(f"badrbp::{function}", 0)
    record = _fault_of(vm, tid)
    assert record.cause.startswith("invalid opcode at 0x")
    assert record.backtrace[0] == f"badrbp::{function}"
    # outside the stack: not followed at all; a loop: followed once, then it stops
    assert len(record.backtrace) == (1 if function == "unmapped" else 2), record.backtrace
    assert vm.command("echo still here") == "still here"


def test_a_faulting_command_is_logged_and_since_leaves_out_what_was_seen(vm: LiveKernel) -> None:
    first = _fault_of(vm, vm.spawn("deep::top", 0))
    reply = vm.request("deep")
    assert reply.status == 255 and "page fault at 0x10000000008" in reply.output
    log = vm.faults()
    assert [r.seq for r in log] == [first.seq, first.seq + 1]
    command = log[-1]
    assert command.spec == "shell::run" and command.action == "ended"
    assert command.backtrace == ["deep::touch", "deep::reach", "deep::main"]
    assert vm.faults(since=first.seq) == [command]
    assert vm.faults(since=command.seq) == []


def test_the_log_keeps_its_last_records(vm: LiveKernel) -> None:
    for _ in range(70):                                     # params.FAULT_LOG is 64
        vm.request("deep")
    log = vm.faults()
    assert len(log) == 64 and [r.seq for r in log] == list(range(7, 71))


#: A nano_core that panics three calls deep before the shell starts: the
#: panic cannot be contained, and its report must say how it got there.
PANIC_MAIN_EXTRA = '''

def crash_bottom(n: u64) -> u64:
    """Panic on purpose (tests/kernel_src/test_fault_log.py)."""
    if n > 0:
        panic("nano_core: on purpose")
    return n


def crash_middle(n: u64) -> u64:
    """Public, so not inlined: a frame of its own."""
    return crash_bottom(n) + 1


def crash_top(n: u64) -> u64:
    """Panic three calls deep."""
    return crash_middle(n) + 1
'''


#: The same three calls, ending in a CPU exception instead of a panic.
FAULT_MAIN_EXTRA = PANIC_MAIN_EXTRA.replace(
    '        panic("nano_core: on purpose")', "        return load64(0x10000000000 + n)")


def _crashing_image(tmp_path_factory: pytest.TempPathFactory, extra: str, folder: str) -> Image:
    # A nano_core that calls crash_top(1) just before the shell would start.
    default = Kernel.default()
    text = (repo_root() / "kernel_src" / "nano_core.py").read_text()
    text = text.replace("    run()                                          # the shell, as task 0",
                        "    crash_top(1)\n    run()") + extra
    text = text.replace("from theseus_nb.lang.unsafe import sti, addr_of",
                        "from theseus_nb.lang.unsafe import sti, addr_of, load64")
    assert "crash_top(1)" in text and "addr_of, load64" in text
    core = [CellSource("nano_core", text, "cell", "nano_core.py") if s.name == "nano_core" else s
            for s in default.nano_core]
    return Kernel(core, default.cells).build(tmp_path_factory.mktemp(folder))


@pytest.fixture(scope="module")
def panicking_image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    return _crashing_image(tmp_path_factory, PANIC_MAIN_EXTRA, "panicking-kernel")


@pytest.fixture(scope="module")
def faulting_image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    return _crashing_image(tmp_path_factory, FAULT_MAIN_EXTRA, "faulting-kernel")


def _frames(transcript: str) -> list[str]:
    return [l.strip()[3:].split("+")[0] for l in transcript.splitlines() if l.startswith("  at ")]


def test_a_kernel_panic_prints_its_backtrace(panicking_image: Image) -> None:
    with pytest.raises(BootError) as caught:
        panicking_image.boot(boot_timeout=5.0)
    transcript = caught.value.transcript
    assert "!! kernel panic in nano_core::crash_bottom line" in transcript
    assert _frames(transcript)[:4] == ["nano_core::crash_bottom", "nano_core::crash_middle",
                                       "nano_core::crash_top", "nano_core::main"]


def test_a_kernel_fault_prints_its_backtrace(faulting_image: Image) -> None:
    with pytest.raises(BootError) as caught:
        faulting_image.boot(boot_timeout=5.0)
    transcript = caught.value.transcript
    assert "!! kernel fault: page fault (vector 14)" in transcript
    assert "in nano_core::crash_bottom" in transcript
    assert _frames(transcript)[:4] == ["nano_core::crash_bottom", "nano_core::crash_middle",
                                       "nano_core::crash_top", "nano_core::main"]
