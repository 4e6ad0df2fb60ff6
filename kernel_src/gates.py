"""gates: isolated cells, and the only way out of them (calls through gates).

Design note.  A cell is loaded trusted (as every cell was before) or
*isolated*: its object carries a `.theseus.isolated` section, or it is the
new version of an isolated cell (a swap keeps a cell isolated).  An
isolated cell's code, constants and data, and the stacks of the tasks it
runs (ring.py), are user pages while one of its tasks runs, and only then
(user_pages.py), so no isolated cell ever sees another's.  Everything else
is always supervisor-only, so a store into another cell's global, a jump
into the kernel or a read of the kernel's tables faults in ring 3 and ends
just that task (fault.py).  Privileged instructions (cli, hlt, in/out with
IOPL 0) fault there too.

Calls out.  The loader (loader.py) resolves each reference of an isolated
cell to another cell's *function* to a stub of 16 bytes written into the
cell's own code region, after its sections:

    mov %rcx, %r10 ; mov $INDEX, %eax ; syscall ; ret

and records import INDEX here: the calling cell, the stub's address, the
callee's name and signature hash, and which argument registers hold a
str.  gate_entry.s moves to the task's kernel stack and calls resolve(),
which accepts the call only if INDEX is an import of the cell whose stub
made it (the return address after `syscall` must be that stub's), the
callee still exists with the signature it was imported with, and every
str argument lies wholly in the caller's own pages (its regions or the
task's user stack).  The signature of each import comes from the
object's `.theseus.isolated` lines, `NAME TEXT`, where TEXT is what the
compiler hashes after "FUNCTION:" (`str,u64->None`): it is believed only
because its SHA-256 equals the hash the callee's own (trusted) object
recorded.  Only scalars and str may cross (a struct or array argument is
a pointer the kernel cannot bound; a str result would point into kernel
memory): anything else is refused when the cell is loaded.  References to
another cell's data are refused at load too, and so are calls *into* an
isolated cell from any other cell (no upcalls: the kernel would have to
run the callee in ring 3 on the caller's behalf).  Each isolated cell's
first stub is its tasks' way out: an entry that returns lands there, and
it calls task::exit_current(value) through the gate.

Swaps.  The new version of an isolated cell is isolated, with stubs of its
own.  A task still inside the old version (retire.py keeps it) becomes a
task of the new version's record at the commit (user_pages.hand_over: its
pages are the new version's and the retired regions), and its calls
through the old stubs become the new record's imports (hand_over_imports();
marked old:
neither its way out nor found by a later load), so it goes on and ends as
a trusted cell's task would.  An old stub's slot is reused once its
retired region has been freed.  resolve() also insists that the calling
task belongs to the importing cell, and that the callee's cell is still
trusted (a swap may replace it by an isolated version).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8, load64, store8, store64, call_addr
from kernel_src.isolated_cells import is_isolated
from kernel_src.section_table import NONE, KIND_TEXT, all_sections
from kernel_src.user_pages import owns, in_retired
from kernel_src.namespace import (sym_alive, sym_name, sym_sig, sym_addr, sym_section, sym_find,
                                  sym_cell, symbol_address)
from kernel_src.sha256 import sha_begin, sha_byte, sha_end
from kernel_src.task_table import current, set_cause, add_cause_byte
from kernel_src import task_table
from kernel_src.ring import (init as ring_init, set_protection, smap_on, is_user_task,
                             user_stack_lo, user_stack_size, user_cell, set_map_fn)

STUB_BYTES: u64 = 16            # one stub; the loader reserves (imports + 1) of them
STUB_RETURN: u64 = 10           # where syscall returns in a stub: its user rip
MAX_IMPORTS: u64 = 1024         # gate imports of all isolated cells together
NO_IMPORT: u64 = 0xFFFFFFFFFFFFFFFF
CR4_SMEP: u64 = 0x100000        # bit 20
CR4_SMAP: u64 = 0x200000        # bit 21
CPUID_SMEP: u64 = 0x80          # CPUID.7.0:EBX bit 7
CPUID_SMAP: u64 = 0x100000      # bit 20
_ARG_FLAG: u64 = 6              # word of the argument block: call with user access

_imp_cell: Array[u64, 1024] = [0] * 1024              # MAX_IMPORTS: the importing cell + 1; 0: free
_imp_stub: Array[u64, 1024] = [0] * 1024              # MAX_IMPORTS
_imp_name: Array[u64, 1024] = [0] * 1024              # MAX_IMPORTS: the callee's name handle
_imp_sym: Array[u64, 1024] = [0] * 1024               # MAX_IMPORTS: its namespace entry, as last seen
_imp_sig: Array[u64, 1024] = [0] * 1024               # MAX_IMPORTS: its signature hash
_imp_strs: Array[u64, 1024] = [0] * 1024              # MAX_IMPORTS: bit r: register r holds a str's pointer
_imp_exit: Array[bool, 1024] = [False] * 1024         # MAX_IMPORTS: the way out, not a callee
_imp_old: Array[bool, 1024] = [False] * 1024          # MAX_IMPORTS: a stub of a retired version
_stub_at: Array[u64, 256] = [0] * 256                # params.MAX_CELLS: each cell's stub area
_stub_room: Array[u64, 256] = [0] * 256              # params.MAX_CELLS: stubs it has room for
_stubs_used: Array[u64, 256] = [0] * 256             # params.MAX_CELLS
_exit_fn: u64 = 0
_die_fn: u64 = 0
_why: str = ""
_calls: u64 = 0


def init(rsp0_at: u64) -> bool:
    """Turn syscall on (it enters gate_entry::entry), SMEP and SMAP where
    the CPU has them; rsp0_at: the TSS's rsp0.  False if a piece is missing."""
    entry: u64 = symbol_address("gate_entry::entry")
    msrs: u64 = symbol_address("gate_entry::set_msrs")
    features: u64 = symbol_address("gate_entry::cpu_features")
    cr4: u64 = symbol_address("gate_entry::set_cr4")
    global _exit_fn, _die_fn
    _exit_fn = symbol_address("task::exit_current")
    _die_fn = symbol_address("task::die_current")
    map_fn: u64 = symbol_address("user_pages::map_cell")
    if entry == 0 or msrs == 0 or features == 0 or cr4 == 0 or _exit_fn == 0 or _die_fn == 0 \
            or map_fn == 0 or not ring_init(rsp0_at):
        return False
    set_map_fn(map_fn)
    call_addr(msrs, entry)
    ebx: u64 = call_addr(features, 0)
    bits: u64 = 0
    if ebx & CPUID_SMEP != 0:
        bits |= CR4_SMEP
    if ebx & CPUID_SMAP != 0:
        bits |= CR4_SMAP
    if bits != 0:
        call_addr(cr4, bits)
    set_protection(bits & CR4_SMEP != 0, bits & CR4_SMAP != 0)
    return True


# ---- which cells are isolated ----------------------------------------------

def section_isolated(s: u64) -> bool:
    """Does section s belong to an isolated cell?"""
    return s != NONE and is_isolated(all_sections[s].cell)


@safe_interface
def gate_calls() -> u64:
    """Gate calls accepted since boot."""
    return _calls


# ---- swaps -----------------------------------------------------------------------

def callee_swapped(old: u64) -> None:
    """Cell old is being replaced (a swap's commit, before its names leave
    the namespace): every gate import of one of its functions finds the
    callee again at its next call (resolve)."""
    for i in range(MAX_IMPORTS):
        if _imp_cell[i] != 0 and _imp_sym[i] != NONE and sym_cell(_imp_sym[i]) == old:
            _imp_sym[i] = NONE



def hand_over_imports(old: u64, new: u64) -> None:
    """Isolated cell old is replaced by new (a swap's commit, interrupts off):
    a task still inside the old version, a task of new from now on
    (user_pages.hand_over), calls out through the old version's stubs, so
    they are new's imports; but neither new's way out nor imports a later
    load of new could find."""
    for i in range(MAX_IMPORTS):
        if _imp_cell[i] == old + 1:
            _imp_cell[i] = new + 1
            _imp_old[i] = True


# ---- imports, made by the loader ---------------------------------------------

def reason() -> str:
    """Why the last add_import() refused."""
    return _why


def begin_cell(cell: u64, area: u64, room: u64) -> bool:
    """The loader starts cell's imports: its stubs go at area, room of them.
    Imports left from an earlier cell with this record index are dropped
    first.  Writes the exit stub; False if no import slot is left."""
    forget_cell(cell)
    _stub_at[cell] = area
    _stub_room[cell] = room
    _stubs_used[cell] = 0
    i: u64 = _new_import(cell)
    if i == NO_IMPORT:
        return False
    _imp_exit[i] = True
    a: u64 = _imp_stub[i]
    _put3(a, 0x48, 0x89, 0xC7)                   # mov %rax, %rdi: the entry's value
    _mov_eax(a + 3, i)
    _put3(a + 8, 0x0F, 0x05, 0x0F)               # syscall; ud2 (never returns)
    store8(a + 11, 0x0B)
    return True


def forget_cell(cell: u64) -> None:
    """Drop every import of cell record `cell` (a refused load, a reused record)."""
    for i in range(MAX_IMPORTS):
        if _imp_cell[i] == cell + 1:
            _imp_cell[i] = 0


def _put3(a: u64, b0: u8, b1: u8, b2: u8) -> None:
    store8(a, b0)
    store8(a + 1, b1)
    store8(a + 2, b2)


def _mov_eax(a: u64, v: u64) -> None:
    store8(a, 0xB8)                              # mov $imm32, %eax
    for k in range(4):
        store8(a + 1 + k, u8((v >> (k * 8)) & 0xFF))


def _new_import(cell: u64) -> u64:
    global _why
    if _stubs_used[cell] >= _stub_room[cell]:
        _why = "more imports than stubs were reserved"
        return NO_IMPORT
    for i in range(MAX_IMPORTS):
        if _imp_cell[i] != 0 and _imp_old[i] and not in_retired(_imp_stub[i]):
            _imp_cell[i] = 0                     # its retired version has been freed
        if _imp_cell[i] == 0:
            _imp_cell[i] = cell + 1
            _imp_stub[i] = _stub_at[cell] + _stubs_used[cell] * STUB_BYTES
            _imp_exit[i] = False
            _imp_old[i] = False
            _imp_strs[i] = 0
            _imp_name[i] = 0
            for k in range(STUB_BYTES):
                store8(_imp_stub[i] + k, 0xCC)   # int3 between stubs
            _stubs_used[cell] += 1
            return i
    _why = "gate import table full"
    return NO_IMPORT


def find_import(cell: u64, name: u64) -> u64:
    """The stub of cell's import of the function named by handle `name` (0: none yet)."""
    for i in range(MAX_IMPORTS):
        if _imp_cell[i] == cell + 1 and not _imp_exit[i] and not _imp_old[i] and _imp_name[i] == name:
            return _imp_stub[i]
    return 0


def exit_stub(cell: u64) -> u64:
    """Address of cell's exit stub (where its tasks' entries return), or 0."""
    for i in range(MAX_IMPORTS):
        if _imp_cell[i] == cell + 1 and _imp_exit[i] and not _imp_old[i]:
            return _imp_stub[i]
    return 0


def _is_scalar(a: u64, n: u64) -> bool:
    # u8 ... u64, i8 ... i64, bool: one register each.
    if n == 4 and load8(a) == 98 and load8(a + 1) == 111 and load8(a + 2) == 111 \
            and load8(a + 3) == 108:
        return True
    if n < 2 or n > 3 or (load8(a) != 117 and load8(a) != 105):
        return False
    for k in range(1, n):
        if load8(a + k) < 48 or load8(a + k) > 57:
            return False
    return True


def _is_word(a: u64, n: u64, w: str) -> bool:
    if n != u64(len(w)):
        return False
    for k in range(n):
        if load8(a + k) != u8(ord(w[k])):
            return False
    return True


def add_import(cell: u64, name: u64, sig: u64, s: u64, fn_at: u64, fn_len: u64, text_at: u64,
               text_len: u64) -> u64:
    """cell imports the function named by handle `name`, whose recorded
    signature hash is sig: namespace entry s (NONE: a new definition of a
    swap, not in the namespace yet; the first call finds it).  fn_len bytes
    at fn_at are its short name, text_len bytes at text_at the signature
    TEXT the cell was compiled against (what the compiler hashes after
    "NAME:").  The stub's address, or 0 (then reason() says why)."""
    global _why
    if sig == 0:
        _why = "the function has no recorded signature, so the gate cannot check its arguments"
        return 0
    sha_begin()
    for k in range(fn_len):
        sha_byte(load8(fn_at + k))
    sha_byte(58)
    for k2 in range(text_len):
        sha_byte(load8(text_at + k2))
    if sha_end() != sig:
        _why = "the signature the cell was compiled against is not the function's"
        return 0
    # Registers: scalars take one, a str two (pointer, length); six at most.
    strs: u64 = 0
    reg: u64 = 0
    p: u64 = 0
    start: u64 = 0
    while p <= text_len:
        c: u8 = 0
        if p < text_len:
            c = load8(text_at + p)
        if c == 44 or c == 45 or p == text_len:            # ',' or '-' of "->"
            n: u64 = p - start
            if n > 0:
                if _is_word(text_at + start, n, "str"):
                    strs |= u64(1) << reg
                    reg += 2
                elif _is_scalar(text_at + start, n):
                    reg += 1
                else:
                    _why = "it takes an argument other than a scalar or a str, which a gate cannot check"
                    return 0
            if c == 45:
                break
            start = p + 1
        p += 1
    if reg > 6:
        _why = "it takes more arguments than six registers hold"
        return 0
    r: u64 = p + 2                                         # after "->"
    e: u64 = r
    while e < text_len and load8(text_at + e) != 64:       # up to "@unsafe"
        e += 1
    if not (_is_word(text_at + r, e - r, "None") or _is_scalar(text_at + r, e - r)):
        _why = "it returns something other than a scalar, which would point into kernel memory"
        return 0
    if e < text_len:
        # "@unsafe": a function of an unsafe cell not marked @safe_interface
        # (it may take a raw address). An isolated cell gets what a safe
        # cell gets, and no more: the gate cannot check what an address means.
        _why = ("it is not a safe interface (an unsafe cell's function not marked "
                "@safe_interface may take a raw address)")
        return 0
    i: u64 = _new_import(cell)
    if i == NO_IMPORT:
        return 0
    _imp_name[i] = name
    _imp_sym[i] = s
    _imp_sig[i] = sig
    _imp_strs[i] = strs
    a: u64 = _imp_stub[i]
    _put3(a, 0x49, 0x89, 0xCA)                   # mov %rcx, %r10: syscall takes rcx
    _mov_eax(a + 3, i)
    _put3(a + 8, 0x0F, 0x05, 0xC3)               # syscall; ret
    return a


# ---- a gate call (gate_entry.s) ------------------------------------------------

def _own(cell: u64, p: u64, n: u64) -> bool:
    # Does [p, p + n) lie wholly in the cell's own pages (its current
    # version's or a retired one its tasks may use) or the task's user stack?
    lo: u64 = user_stack_lo(current())
    size: u64 = user_stack_size(current())
    if size > 0 and p >= lo and n <= size and p - lo <= size - n:
        return True
    return owns(cell, p, n)


def _refuse(why: str) -> u64:
    # The cause of the task that made the call; 0 tells gate_entry.s to end it.
    set_cause(current(), "gate refused: ")
    for k in range(len(why)):
        add_cause_byte(current(), u8(ord(why[k])))
    return 0


def resolve(index: u64, block: u64, user_rip: u64) -> u64:
    """The function a gate call with import `index` may call, its arguments
    in the block gate_entry.s saved; 0 (the cause written) if refused."""
    global _calls
    if index >= MAX_IMPORTS or _imp_cell[index] == 0 or not is_user_task(current()) \
            or _imp_stub[index] + STUB_RETURN != user_rip or not is_isolated(_imp_cell[index] - 1) \
            or user_cell(current()) != _imp_cell[index] - 1:
        return _refuse("not an import of the calling cell")
    cell: u64 = _imp_cell[index] - 1
    if _imp_exit[index]:
        _calls += 1
        return _exit_fn
    s: u64 = _imp_sym[index]
    if s == NONE or not (sym_alive(s) and sym_name(s) == _imp_name[index]
                         and sym_sig(s) == _imp_sig[index]):
        # A swap replaced the callee (callee_swapped()): find it again, with
        # the same signature, in a cell that is still trusted (a swap may
        # replace a cell by an isolated version, whose code the kernel would
        # then run in ring 0: no upcall gate, as at load).
        s = sym_find(_imp_name[index])
        if s == NONE or sym_sig(s) != _imp_sig[index] or all_sections[sym_section(s)].kind != KIND_TEXT:
            return _refuse("the imported function is gone or changed its signature")
        if section_isolated(sym_section(s)):
            return _refuse("the imported function's cell is isolated now")
        _imp_sym[index] = s
    strs: u64 = _imp_strs[index]
    if strs != 0:
        for r in range(5):
            if strs & (u64(1) << r) != 0:
                if not _own(cell, load64(block + r * 8), load64(block + (r + 1) * 8)):
                    return _refuse("a str argument lies outside the calling cell's pages")
        if smap_on():
            store64(block + _ARG_FLAG * 8, 1)
    _calls += 1
    return sym_addr(s)


def refuse(block: u64) -> None:
    """A refused gate call (block: its saved arguments, unused): the task
    ends faulted, with the cause resolve() wrote."""
    call_addr(_die_fn, 0)
