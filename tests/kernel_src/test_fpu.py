"""SSE in tasks (kernel_src/fpu.py), seen from outside: a real kernel in real QEMU.

Each task owns its xmm registers and MXCSR across every switch (yields and
timer preemption alike); an SSE exception (#XM) or an SSE instruction with
CR0.TS set (#NM) ends its task faulted with the cause named, and the tasks
after it get clean registers.  The cell doing the work is LLVM IR compiled
with SSE2 (its `; cell: sse2` line), the way a wasm cell will be.
"""

from __future__ import annotations

import struct
import functools
from pathlib import Path

import pytest

import qemu_bridge
from tests.guest_tasks import ended
from theseus_nb import CellSource, Image, Kernel, LiveKernel, build
from theseus_nb.signatures import function_hash

pytestmark = pytest.mark.qemu

#: This project's machine runs KVM guests with the PVM module, which executes
#: the guest in KVM's instruction emulator; that emulator has no SSE
#: arithmetic and no ldmxcsr (the guest stops: "KVM internal error.
#: Suberror: 1 ... emulation failure"), so SSE tasks cannot run there.
PVM_HOST = Path("/sys/module/kvm_pvm").exists()
ACCEL = qemu_bridge.resolve_accel(qemu_bridge.accel_from_env())
NO_SSE_HERE = "KVM on a PVM host emulates the guest, and KVM's emulator has no SSE arithmetic"

ROUNDS = 400             # yields each `keep` task makes (every one a switch to the other)
SERIES_TERMS = 2_000_000  # terms of sum 1/k^2 a `series` task adds up


_ended = functools.partial(ended, timeout=60.0, poll=0.1)   # SSE tests boot slowly under KVM


def _keep_asm() -> str:
    # Sixteen xmm registers and MXCSR hold the task's own values (seed*16+i;
    # rounding control = seed & 3); after each yield all are compared with
    # what they must be.  The yield is a call into the kernel, which the
    # ABI lets clobber every xmm register: only the switch keeps them.
    fill = ["movq %r12, %rax", "shlq $$4, %rax"]
    check = ["movq %r12, %rax", "shlq $$4, %rax"]
    for i in range(16):
        fill += [f"movq %rax, %xmm{i}", "incq %rax"]
        check += [f"movq %xmm{i}, %rcx", "cmpq %rax, %rcx", "je 2f", "incq %r15", "2:", "incq %rax"]
    lines = (["movq %rsp, %rbx", "andq $$-16, %rsp", "subq $$16, %rsp",
              "movq %r12, %rax", "andq $$3, %rax", "shlq $$13, %rax", "orq $$0x1F80, %rax",
              "movl %eax, (%rsp)", "ldmxcsr (%rsp)", "xorl %r15d, %r15d", "movq %r14, %rdx"]
             + fill
             + ["1:", "pushq %rdx", "subq $$8, %rsp", "call *%r13", "addq $$8, %rsp", "popq %rdx"]
             + check
             + ["stmxcsr 4(%rsp)", "movl 4(%rsp), %ecx", "cmpl (%rsp), %ecx", "je 3f", "incq %r15",
                "3:", "decq %rdx", "jnz 1b", "movq %r15, %rax", "movq %rbx, %rsp"])
    return "; ".join(lines)


_CLOBBERS = ",".join(["~{rbx}", "~{rcx}", "~{rdx}", "~{rsi}", "~{rdi}", "~{r8}", "~{r9}", "~{r10}",
                      "~{r11}", "~{r15}"] + [f"~{{xmm{i}}}" for i in range(16)]
                     + ["~{memory}", "~{dirflag}", "~{fpsr}", "~{flags}"])

_FUNCTIONS = ("keep", "series", "divide_by_zero", "set_ts")

#: The SSE cell: `keep` (registers across yields), `series` (a long double
#: computation, preempted by the timer), and two that fault on purpose.
SSEWORK_IR = f"""; cell: sse2
@"ssework::zero" = global double 0.0
@"ssework::sink" = global double 0.0
@"ssework::arrived" = global i64 0

declare void @"task::yield_now"()

; keep(seed | partners << 32): first wait (yielding) until that many keepers
; have arrived, so that they run side by side, then keep the registers.
define i64 @"ssework::keep"(i64 %arg) nounwind noredzone {{
entry:
  %seed = and i64 %arg, 4294967295
  %partners = lshr i64 %arg, 32
  %ignored = atomicrmw add ptr @"ssework::arrived", i64 1 seq_cst
  br label %wait
wait:
  %here = load volatile i64, ptr @"ssework::arrived"
  %all = icmp uge i64 %here, %partners
  br i1 %all, label %work, label %again
again:
  call void @"task::yield_now"()
  br label %wait
work:
  %bad = call i64 asm sideeffect "{_keep_asm()}", "={{rax}},{{r12}},{{r13}},{{r14}},{_CLOBBERS}"(i64 %seed, ptr @"task::yield_now", i64 {ROUNDS})
  ret i64 %bad
}}

define i64 @"ssework::series"(i64 %n) nounwind noredzone {{
entry:
  br label %loop
loop:
  %k = phi i64 [1, %entry], [%k1, %loop]
  %s = phi double [0.0, %entry], [%s1, %loop]
  %kf = uitofp i64 %k to double
  %sq = fmul double %kf, %kf
  %t = fdiv double 1.0, %sq
  %s1 = fadd double %s, %t
  %k1 = add i64 %k, 1
  %more = icmp ule i64 %k1, %n
  br i1 %more, label %loop, label %done
done:
  %bits = bitcast double %s1 to i64
  ret i64 %bits
}}

define i64 @"ssework::divide_by_zero"(i64 %n) nounwind noredzone {{
entry:
  call void asm sideeffect "subq $$8, %rsp; movl $$0x1D80, (%rsp); ldmxcsr (%rsp); addq $$8, %rsp", "~{{memory}}"()
  %z = load volatile double, ptr @"ssework::zero"
  %q = fdiv double 1.0, %z
  store volatile double %q, ptr @"ssework::sink"
  ret i64 0
}}

define i64 @"ssework::set_ts"(i64 %n) nounwind noredzone {{
entry:
  call void asm sideeffect "movq %cr0, %rax; orq $$8, %rax; movq %rax, %cr0", "~{{rax}}"()
  %z = load volatile double, ptr @"ssework::zero"
  %q = fadd double %z, 1.0
  store volatile double %q, ptr @"ssework::sink"
  ret i64 0
}}
""" + build.module_asm(
    '.section .theseus.sigs,"",@progbits\n' + "".join(
        f'.ascii "ssework::{name} {function_hash(name, ["u64"], "u64")}\\n"\n' for name in _FUNCTIONS)
    + ".text")


def series(n: int) -> int:
    """sum of 1/k^2 for k = 1..n in IEEE doubles, in order, as its 64 bits."""
    s = 0.0
    for k in range(1, n + 1):
        s += 1.0 / (float(k) * float(k))
    return struct.unpack("<q", struct.pack("<d", s))[0]


@pytest.fixture(scope="module")
def sse_image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    kernel = Kernel.default()
    kernel = Kernel(kernel.nano_core, kernel.cells + [CellSource("ssework", SSEWORK_IR, "ir")])
    return kernel.build(tmp_path_factory.mktemp("sse-kernel"))


@pytest.fixture()
def vm(sse_image: Image):
    with sse_image.boot() as m:
        yield m


@pytest.mark.skipif(ACCEL == "kvm" and PVM_HOST, reason=NO_SSE_HERE)
def test_tasks_keep_their_own_sse_registers_across_switches(vm: LiveKernel) -> None:
    # Two yielding tasks, each with its own pattern and rounding mode, and two
    # long double computations preempted by the timer, all at once.
    keepers = [vm.spawn("ssework::keep", seed | 2 << 32) for seed in (0x1111, 0x2222)]
    sums = {vm.spawn("ssework::series", n): n for n in (SERIES_TERMS, SERIES_TERMS + 12345)}
    for tid in keepers:
        record = _ended(vm, tid)
        assert (record.state, record.value, record.cause) == ("exited", 0, "")
        assert record.switches > ROUNDS // 2          # (almost) every yield switched
    for tid, n in sums.items():
        record = _ended(vm, tid)
        assert record.state == "exited"
        assert record.value == series(n) & 0xFFFFFFFFFFFFFFFF


@pytest.mark.skipif(ACCEL == "tcg", reason="QEMU's TCG never raises #XM (its SSE ignores "
                                          "MXCSR's exception masks); run with THESEUS_NB_ACCEL=kvm")
@pytest.mark.skipif(ACCEL == "kvm" and PVM_HOST, reason=NO_SSE_HERE)
def test_an_unmasked_sse_exception_ends_only_its_task(vm: LiveKernel) -> None:
    tid = vm.spawn("ssework::divide_by_zero")
    record = _ended(vm, tid)
    assert record.state == "faulted"
    assert record.cause.startswith("SIMD floating-point error (divide by zero) at 0x")
    assert record.cause.endswith(" in ssework::divide_by_zero")
    # The next task starts from the clean MXCSR (all masked): no #XM for it.
    after = _ended(vm, vm.spawn("ssework::series", 1000))
    assert (after.state, after.value) == ("exited", series(1000))
    assert vm.command("echo ok") == "ok"


@pytest.mark.skipif(ACCEL == "kvm" and PVM_HOST, reason=NO_SSE_HERE)
def test_sse_with_cr0_ts_set_ends_only_its_task(vm: LiveKernel) -> None:
    tid = vm.spawn("ssework::set_ts")
    record = _ended(vm, tid)
    assert record.state == "faulted"
    assert record.cause.startswith("device not available (x87/SSE used with CR0.TS set) at 0x")
    assert record.cause.endswith(" in ssework::set_ts")
    # TS is off again: the next SSE task runs.
    after = _ended(vm, vm.spawn("ssework::keep", 7))
    assert (after.state, after.value) == ("exited", 0)
