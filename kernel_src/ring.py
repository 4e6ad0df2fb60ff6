"""ring: what the CPU must know of a task that runs in ring 3.

A task whose entry is an isolated cell's function (gates.py) has two
stacks: its user stack (user pages, above an unmapped guard, where its
own code runs) and a kernel stack (supervisor pages), where the CPU puts
an interrupt's frame when it arrives in ring 3 (the TSS's rsp0) and
where a gate call runs (gate_entry::kernel_rsp).  Before a ring-3 task
runs, the pages of its cell (and its cell's tasks' user stacks) become the
only user pages (user_pages.map_cell), so one isolated cell never sees
another's.  The task table records
the kernel stack, because the task's saved frame lives there (the
switcher, reap and the swap's stack walk read it); this cell records the
user stack beside it, per slot.  enter(slot), called by the switcher on
every switch, points rsp0 at the task's kernel stack top.

Where a ring-3 task's own code will go on (user_rip, user_rsp: what the
swap's scan for tasks inside old code reads, retire.py) is in one of two
places on its kernel stack: interrupted in ring 3, the CPU's frame at the
very top (its cs has RPL 3); inside a gate call, gate_entry.s's argument
block at the very top, whose word 6 (a flag, 0 or 1) lies where that
frame's cs would.

It also holds the one switch for SMAP: when it is on, the kernel reads or
writes a user page only between user_access_on() and user_access_off()
(stac/clac), which are no-ops while it is off (the instructions would
fault on a CPU without SMAP).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64, store64, call_addr
from kernel_src.frame import FRAME_WORDS, FRAME_CS, FRAME_RIP, FRAME_RSP
from kernel_src.namespace import symbol_address
from kernel_src.task_table import tasks

_kstack_top: Array[u64, 1024] = [0] * 1024   # params.MAX_TASKS: 0: a ring-0 task
_ustack_lo: Array[u64, 1024] = [0] * 1024    # params.MAX_TASKS: lowest byte of its user stack
_ustack_size: Array[u64, 1024] = [0] * 1024  # params.MAX_TASKS
_ucell: Array[u64, 1024] = [0] * 1024        # params.MAX_TASKS: the isolated cell it runs
_map_fn: u64 = 0                             # user_pages::map_cell(slot), set by gates.init
_rsp0_at: u64 = 0                            # the TSS's rsp0 (idt.init says where)
_gate_rsp_at: u64 = 0                        # gate_entry::kernel_rsp
_smap: bool = False
_smep: bool = False
_on_fn: u64 = 0
_off_fn: u64 = 0
GATE_BLOCK_WORDS: u64 = 10                   # gate_entry.s's argument block, at the kernel stack top
GATE_USER_RIP: u64 = 8                       # its words: the user rip (after the stub's syscall)
GATE_USER_RSP: u64 = 9                       # the user rsp


def init(rsp0_at: u64) -> bool:
    """Remember where the TSS keeps rsp0; False if gate_entry is missing."""
    global _rsp0_at, _gate_rsp_at, _on_fn, _off_fn
    _rsp0_at = rsp0_at
    _gate_rsp_at = symbol_address("gate_entry::kernel_rsp")
    _on_fn = symbol_address("gate_entry::user_access_on")
    _off_fn = symbol_address("gate_entry::user_access_off")
    return _gate_rsp_at != 0 and _on_fn != 0 and _off_fn != 0


def set_protection(smep: bool, smap: bool) -> None:
    """Which of SMEP and SMAP the kernel turned on (gates.init)."""
    global _smep, _smap
    _smep = smep
    _smap = smap


@safe_interface
def smap_on() -> bool:
    """Is SMAP on (the kernel cannot touch user pages unasked)?"""
    return _smap


@safe_interface
def smep_on() -> bool:
    """Is SMEP on (the kernel cannot execute user pages)?"""
    return _smep


def user_access_on() -> None:
    """From now on the kernel may touch user pages (stac, with SMAP on)."""
    if _smap:
        call_addr(_on_fn, 0)


def user_access_off() -> None:
    """SMAP protects again (clac)."""
    if _smap:
        call_addr(_off_fn, 0)


def set_user_task(slot: u64, kstack_top: u64, ustack_lo: u64, ustack_size: u64, cell: u64) -> None:
    """slot runs cell's code in ring 3 on the user stack [ustack_lo,
    +ustack_size), with its kernel stack ending at kstack_top (kstack_top 0:
    a ring-0 task)."""
    _kstack_top[slot] = kstack_top
    _ustack_lo[slot] = ustack_lo
    _ustack_size[slot] = ustack_size
    _ucell[slot] = cell


def user_cell(slot: u64) -> u64:
    """The isolated cell whose code ring-3 task slot runs."""
    return _ucell[slot]


def set_user_cell(slot: u64, cell: u64) -> None:
    """Ring-3 task slot's cell is now record `cell` (a swap replaced its cell:
    the task may still run the old version, which is retired)."""
    _ucell[slot] = cell


def _user_word(slot: u64, frame_word: u64, block_word: u64) -> u64:
    # A word of where slot's ring-3 code resumes: the CPU's frame when it was
    # interrupted in ring 3, else the gate call's block (see the header).
    top: u64 = _kstack_top[slot]
    frame: u64 = top - FRAME_WORDS * 8
    if tasks[slot].rsp == frame and load64(frame + FRAME_CS * 8) & 3 == 3:
        return load64(frame + frame_word * 8)
    return load64(top - GATE_BLOCK_WORDS * 8 + block_word * 8)


def user_rip(slot: u64) -> u64:
    """Where ring-3 task slot (not running, or in a gate call) goes on in its own code."""
    return _user_word(slot, FRAME_RIP, GATE_USER_RIP)


def user_rsp(slot: u64) -> u64:
    """Its user stack pointer there (as the task left it: check it against the user stack)."""
    return _user_word(slot, FRAME_RSP, GATE_USER_RSP)


def set_map_fn(fn: u64) -> None:
    """enter() calls fn(slot) before a ring-3 task runs (user_pages::map_cell: only
    the running isolated cell's pages are user pages)."""
    global _map_fn
    _map_fn = fn


def is_user_task(slot: u64) -> bool:
    """Does slot run in ring 3?"""
    return _kstack_top[slot] != 0


def user_stack_lo(slot: u64) -> u64:
    """Lowest byte of slot's user stack (0: none)."""
    return _ustack_lo[slot]


def user_stack_size(slot: u64) -> u64:
    """Bytes of slot's user stack."""
    return _ustack_size[slot]


def enter(slot: u64) -> None:
    """slot runs next: an interrupt in ring 3 and a gate call land on its kernel stack."""
    top: u64 = _kstack_top[slot]
    if top != 0 and _rsp0_at != 0:
        store64(_rsp0_at, top)
        store64(_gate_rsp_at, top)
        if _map_fn != 0:
            call_addr(_map_fn, slot)
