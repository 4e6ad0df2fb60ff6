"""fpu: each task's SSE and x87 registers, switched eagerly with the task.

Design note.  boot.s turns SSE on (CR4.OSFXSR, OSXMMEXCPT; CR0.EM off,
MP on, TS off), but the kernel's own cells are compiled without it, so the
registers xmm0-15, MXCSR and the x87 state belong to the tasks alone: only
cells compiled with SSE (build.SSE_FEATURES) touch them.  Each task slot
owns a 512-byte, 16-aligned FXSAVE area here.  The CPU's registers have
one owner, the task whose state they hold; when the switcher hands the CPU
to another task, switch_to() saves the owner's registers into its area and
loads the new task's at once (eagerly).  Lazy switching (set CR0.TS, move
the registers on the first #NM) would leave one task's registers in the
CPU while another runs, which is what the LazyFP attack (CVE-2018-3665)
reads speculatively; here no task ever runs with another's registers.

Which tasks pay.  A task cannot be known not to use SSE: any task may call
a function of a cell compiled with it.  So every task is switched, with two
exceptions that need no guess: the idle task runs only `sti; hlt` (kernel
code, no SSE), so switching to it leaves the owner's registers in place and
switching back to the owner moves nothing; and a switch to the task that
already owns the registers moves nothing.  A task that ends gives up the
ownership (forget()), so its slot's next task never sees its registers.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import addr_of, load64, store16, store32, store64, call_addr
from kernel_src.params import FX_AREA, MAX_TASKS
from kernel_src.namespace import symbol_address
from kernel_src.task_table import NO_TASK, IDLE, SHELL

FCW_INIT: u16 = 0x037F       # x87 control word after fninit: every exception masked
MXCSR_INIT: u32 = 0x1F80     # SSE after reset: every exception masked, round to nearest
MXCSR_FLAGS: u64 = 0x3F      # the six exception flags (invalid ... precision)

_areas: Array[u8, 524816] = [0] * 524816    # params.MAX_TASKS * params.FX_AREA + params.FX_AREA + 16
_base: u64 = 0               # 16-aligned start of the slots' areas in _areas
_clean: u64 = 0              # the area every task starts from (after the slots')
_save_fn: u64 = 0
_restore_fn: u64 = 0
_mxcsr_fn: u64 = 0
_cr0_fn: u64 = 0
_sse_on_fn: u64 = 0
_owner: u64 = 0xFFFFFFFFFFFFFFFF   # task_table.NO_TASK: the task whose state the CPU's registers hold
_saves: u64 = 0              # switches that moved the registers (switched())


def area(slot: u64) -> u64:
    """The FXSAVE area of a task slot (512 bytes, 16-aligned)."""
    return _base + slot * FX_AREA


def init() -> bool:
    """Build the clean state, give the shell (running now) its registers; False
    if the helpers in interrupts.s are missing from the namespace."""
    global _base, _clean, _save_fn, _restore_fn, _mxcsr_fn, _cr0_fn, _sse_on_fn, _owner
    _save_fn = symbol_address("interrupts::fx_save")
    _restore_fn = symbol_address("interrupts::fx_restore")
    _mxcsr_fn = symbol_address("interrupts::read_mxcsr")
    _cr0_fn = symbol_address("interrupts::read_cr0")
    _sse_on_fn = symbol_address("interrupts::sse_on")
    if _save_fn == 0 or _restore_fn == 0 or _mxcsr_fn == 0 or _cr0_fn == 0 or _sse_on_fn == 0:
        return False
    _base = (addr_of(_areas) + 15) & 0xFFFFFFFFFFFFFFF0
    _clean = area(MAX_TASKS)                   # one past the last slot's
    # The FXSAVE layout (Intel SDM vol. 1, 10.5.1): FCW at 0, MXCSR at 24;
    # the rest (tags, pointers, registers) is zero, which is the empty state.
    for w in range(64):
        store64(_clean + w * 8, 0)
    store16(_clean, FCW_INIT)
    store32(_clean + 24, MXCSR_INIT)
    fresh(SHELL)
    call_addr(_restore_fn, area(SHELL))        # whatever the BIOS left goes
    _owner = SHELL
    return True


def fresh(slot: u64) -> None:
    """A new task in slot starts from the clean state (interrupts off)."""
    global _owner
    if _owner == slot:
        _owner = NO_TASK       # the registers hold the state of the slot's last task
    dst: u64 = area(slot)
    for w in range(64):
        store64(dst + w * 8, load64(_clean + w * 8))


def forget(slot: u64) -> None:
    """slot's task ended: its registers are nobody's to save (interrupts off)."""
    global _owner
    if _owner == slot:
        _owner = NO_TASK


def switch_to(nxt: u64) -> None:
    """The CPU goes to task nxt: give it its registers (interrupts off)."""
    global _owner, _saves
    if nxt == _owner or nxt == IDLE or _restore_fn == 0:
        return
    if _owner != NO_TASK:
        call_addr(_save_fn, area(_owner))
    call_addr(_restore_fn, area(nxt))
    _owner = nxt
    _saves += 1


def switched() -> u64:
    """How many switches moved the SSE registers since boot."""
    return _saves


def mxcsr() -> u64:
    """MXCSR now: the running task's SSE control and exception flags."""
    if _mxcsr_fn == 0:
        return 0
    return call_addr(_mxcsr_fn, 0)


def cr0() -> u64:
    """CR0 now (fault.py names #NM from its TS and EM bits)."""
    if _cr0_fn == 0:
        return 0
    return call_addr(_cr0_fn, 0)


def recover() -> None:
    """After #NM or #XM: SSE usable again (CR0.EM, TS off) and the owner's
    registers back to the clean state; the task that faulted has ended, or
    is the shell whose command did (interrupts off)."""
    if _sse_on_fn == 0:
        return
    call_addr(_sse_on_fn, 0)
    call_addr(_restore_fn, _clean)
