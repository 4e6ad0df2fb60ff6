"""swap_cells: replace cells of the running kernel by new versions (live evolution).

Design note.  This is what the section graph is for.  The new cells are
staged (placed and relocated against the live namespace) while the old ones
keep running.  Then every check is made before anything changes: each
public symbol of an old cell that another cell still uses must exist in the
new cell with the same signature hash; no new symbol may clash with another
cell's.  Globals with an unchanged name and type carry their value over.
Only then, with nothing left that can fail, the commit, with interrupts
off so that no task runs half-way through it: the old symbols leave the
namespace, the new ones enter, every recorded relocation that pointed into
an old section is rewritten to the new section (this is the
relocation-rewriting step of Theseus's live evolution), and the dependency
records follow.  A refusal at any step rolls the staging back and leaves
the kernel exactly as it was.

Old code that a task is still running (its saved instruction pointer, or a
return address on its stack, points into it) is not freed at once: it is
retired (retire.py), and freed when nothing can reach it any more.  Its
relocations that name public symbols are kept with it, and at this swap and
every later one, those that point at a swapped cell's symbol are rewritten
too (when the signature is unchanged), so a task looping in old code
reaches the new functions and the carried-over state at its next call; the
others keep the old version they point at alive.  Retired code never
reaches freed code, and a swap whose old cells would overflow the retired
tables is refused before the commit.

W^X holds throughout: a relocation inside code or read-only data is
patched by making exactly the page(s) it lies in writable, patching, and
mapping them as they were, all inside the commit, before interrupts are on.

Use: swap_begin(); swap_stage(old, ...) for each cell; swap_commit().  The
`swap` command (swap.py) is the shell's way in.  Refusals and the state
carried over are printed as they happen (the host reads them).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8
from kernel_src.params import MAX_SWAP
from kernel_src.serial import write, writeln, newline, put
from kernel_src.names import name_addr, name_len, name_write, mem_copy
from kernel_src.section_table import (NONE, reloc_alive, reloc_retarget, move_dep, KIND_TEXT,
                                      all_cells, all_relocs, all_sections)
from kernel_src import section_table
from kernel_src.namespace import (sym_find, sym_find_mem, sym_cell, sym_sig, sym_addr,
                                  sym_section, sym_name, sym_remove_cell)
from kernel_src.loader import (stage_begin, stage, stage_open, stage_names, stage_link, stage_export,
                               stage_rollback, stage_commit, staged_cell, reason, detail)
from kernel_src.placement import (exports, global_count, global_at, global_name_addr,
                                  global_name_len, global_addr, global_section, global_is_data,
                                  object_global)
from kernel_src.signatures import sig_in_object
from kernel_src.reloc import patch, width
from kernel_src.paging import PERM_RW, perm_of, protect, protect_user, is_user
from kernel_src.irq import irq_off, irq_restore
from kernel_src.ring import user_access_on, user_access_off
from kernel_src.isolated_cells import is_isolated
from kernel_src.gates import hand_over_imports, callee_swapped
from kernel_src.user_pages import hand_over
from kernel_src.retire import (room_for, rows_of, relocations_of, new_group, kept_relocation,
                               retire_relocation, retire_cell, reclaim, retired_reloc_count,
                               retired_reloc_alive, retarget_retired, retired_addend,
                               retired_place, retired_symbol, retired_target, retired_type)

_old: Array[u64, 8] = [0] * 8         # params.MAX_SWAP: the cells being replaced
_group: Array[u64, 8] = [0] * 8       # params.MAX_SWAP: the retired group each one becomes
_count: u64 = 0
_rewritten: u64 = 0
_in_old_code: u64 = 0
_freed: u64 = 0
_fresh: bool = False                  # reset every global (a reload), carry none


def refuse(why: str, what: u64) -> u64:
    """Roll the transaction back and say why: "refused: WHY 'WHAT'" (what 0: no name); 1."""
    stage_rollback()
    write("refused: ")
    write(why)
    if what != 0:
        write(" '")
        name_write(what)
        write("'")
    newline()
    return 1


def refuse_loader() -> u64:
    """Roll the transaction back and say the loader's reason; 1."""
    stage_rollback()
    write("refused: ")
    write(reason())
    if len(detail()) > 0:
        write(" '")
        write(detail())
        write("'")
    newline()
    return 1


def _patch_live(place: u64, rtype: u32, s: u64, a: i64) -> str:
    # A running cell's relocation: its page is writable only for the patch.
    # A user page (retired code of an isolated cell whose task runs now) is
    # supervisor-only for the patch (SMAP) and a user page again after it.
    # "" when done, else why not (reloc.patch).
    perm: u64 = perm_of(place)
    user: bool = is_user(place)
    if perm != PERM_RW or user:
        protect(place, width(rtype), PERM_RW)
    why: str = patch(place, rtype, s, a)
    if user:
        protect_user(place, width(rtype), perm)
    elif perm != PERM_RW:
        protect(place, width(rtype), perm)
    return why


def _is_old(c: u64) -> bool:
    for j in range(_count):
        if _old[j] == c:
            return True
    return False


def _old_index(c: u64) -> u64:
    for j in range(_count):
        if _old[j] == c:
            return j
    return NONE


def _check_users() -> u64:
    # Every relocation into an old cell from a cell that stays must find
    # its symbol, with the same signature, in the new version.
    for r in range(section_table.n_relocs):
        if not reloc_alive(r):
            continue
        j: u64 = _old_index(all_sections[all_relocs[r].target].cell)
        if j == NONE or _is_old(all_sections[all_relocs[r].section].cell):
            continue
        sym: u64 = all_relocs[r].symbol
        if is_isolated(staged_cell(j)):
            # An isolated cell takes no calls from other cells (no upcall gate).
            write("refused: the new version is isolated, and '")
            name_write(all_sections[all_relocs[r].section].name)
            writeln("' calls into it")
            stage_rollback()
            return 1
        if not stage_open(j):
            return refuse_loader()
        if sym == 0 or not exports(name_addr(sym), name_len(sym)):
            write("refused: the new version removes '")
            name_write(sym)
            write("', which '")
            name_write(all_sections[all_relocs[r].section].name)
            writeln("' still uses")
            stage_rollback()
            return 1
        old_sig: u64 = sym_sig(sym_find(sym))
        if old_sig != 0 and sig_in_object(name_addr(sym), name_len(sym)) != old_sig:
            code: bool = all_sections[all_relocs[r].target].kind == KIND_TEXT
            if code:
                write("refused: the new version changes the signature of '")
            else:
                write("refused: the new version changes the type or layout of '")
            name_write(sym)
            write("', which '")
            name_write(all_sections[all_relocs[r].section].name)
            if code:
                write("' still calls with the old one; swap every cell that calls it")
            else:
                write("' still reads with the old one; swap every cell that reads it")
            write(" in the same transaction:")
            _write_users(sym)
            newline()
            stage_rollback()
            return 1
    return 0


def _write_users(sym: u64) -> None:
    # " cell1 cell2 ...": each cell that stays and has a relocation to sym, once.
    seen: Array[u64, 16] = [NONE] * 16
    n: u64 = 0
    for r in range(section_table.n_relocs):
        if not reloc_alive(r) or all_relocs[r].symbol != sym:
            continue
        c: u64 = all_sections[all_relocs[r].section].cell
        if _is_old(c) or _old_index(all_sections[all_relocs[r].target].cell) == NONE:
            continue
        known: bool = False
        for k in range(n):
            if seen[k] == c:
                known = True
        if not known and n < 16:
            seen[n] = c
            n += 1
            write(" ")
            name_write(all_cells[c].name)


def _check_clashes() -> u64:
    for j in range(_count):
        if not stage_open(j):
            return refuse_loader()
        for k in range(1, global_count()):
            if global_at(k):
                s: u64 = sym_find_mem(global_name_addr(k), global_name_len(k))
                if s != NONE and not _is_old(sym_cell(s)) and sym_cell(s) != staged_cell(j):
                    write("refused: the new version defines '")
                    name_write(sym_name(s))
                    writeln("', which another cell already defines")
                    stage_rollback()
                    return 1
    return 0


def _carry_state() -> None:
    # A global keeps its value when its name and type (signature) are
    # unchanged; anything else starts from its initializer.  A fresh swap
    # (recovery's reload: corrupted state is what it clears) carries nothing.
    for j in range(_count):
        stage_open(j)
        # An isolated cell's data are user pages, which SMAP keeps the kernel
        # out of unless it asks (stac); a trusted cell's never are, and stac is
        # left out for them (an emulating KVM cannot even run it).
        isolated: bool = is_isolated(_old[j])
        for k in range(1, global_count()):
            if global_at(k) and global_is_data(k):
                a: u64 = global_name_addr(k)
                n: u64 = global_name_len(k)
                s: u64 = sym_find_mem(a, n)
                size: u64 = all_sections[global_section(k)].size
                if not _fresh and s != NONE and sym_cell(s) == _old[j] \
                        and sym_sig(s) == sig_in_object(a, n) and all_sections[sym_section(s)].size == size:
                    src: u64 = sym_addr(s)
                    dst: u64 = global_addr(k)
                    if isolated:
                        user_access_on()
                    mem_copy(dst, src, size)
                    if isolated:
                        user_access_off()
                    write("carried ")
                else:
                    write("reset ")
                for i in range(n):
                    put(load8(a + i))
                newline()


def _rewrite() -> u64:
    # Point every relocation into an old section at the new one, by symbol.
    rewritten: u64 = 0
    for r in range(section_table.n_relocs):
        if not reloc_alive(r):
            continue
        if not _is_old(all_sections[all_relocs[r].target].cell) or _is_old(all_sections[all_relocs[r].section].cell):
            continue
        s: u64 = sym_find(all_relocs[r].symbol)
        place: u64 = all_sections[all_relocs[r].section].addr + all_relocs[r].offset
        _patch_live(place, all_relocs[r].rtype, sym_addr(s), all_relocs[r].addend)
        move_dep(all_relocs[r].section, all_relocs[r].target, sym_section(s))
        reloc_retarget(r, sym_section(s))
        rewritten += 1
    return rewritten


def _check_room() -> u64:
    # The old cells go to the retired tables: refuse now if they would not fit.
    rows: u64 = 0
    relocs: u64 = 0
    for j in range(_count):
        rows += rows_of(_old[j])
        relocs += relocations_of(_old[j])
    if room_for(rows, relocs, _count):
        return 0
    writeln("refused: too many retired sections still in use: end the tasks still running "
            "old versions of swapped cells (ps shows them; kill ID), then swap again")
    stage_rollback()
    return 1


def _keep_old_relocations() -> None:
    # Before the names change: each old cell's relocations to public symbols
    # go to its retired group, with the address they point at now.
    for j in range(_count):
        _group[j] = new_group()
        for r in range(section_table.n_relocs):
            if kept_relocation(r, _old[j]):
                s: u64 = sym_find(all_relocs[r].symbol)
                target: u64 = all_sections[all_relocs[r].target].addr
                if s != NONE:
                    target = sym_addr(s)
                retire_relocation(r, _group[j], target)


def _redirect_retired() -> u64:
    # Every kept relocation of retired code (older versions and the cells
    # retiring now) that points at the current version of a symbol of a
    # swapped cell now reaches the new version, when it has the symbol with
    # the same signature; otherwise it keeps pointing at the old one, which
    # retire.py then keeps alive.  Before the old names go.
    n: u64 = 0
    for k in range(retired_reloc_count()):
        if not retired_reloc_alive(k):
            continue
        sym: u64 = retired_symbol[k]
        old: u64 = sym_find(sym)
        if old == NONE or sym_addr(old) != retired_target[k] or sym_sig(old) == 0:
            continue
        j: u64 = _old_index(sym_cell(old))
        if j == NONE or not stage_open(j):
            continue
        g: u64 = object_global(name_addr(sym), name_len(sym))
        if g != 0 and sig_in_object(name_addr(sym), name_len(sym)) == sym_sig(old):
            if len(_patch_live(retired_place[k], retired_type[k], global_addr(g),
                               retired_addend[k])) == 0:
                retarget_retired(k, global_addr(g))
                n += 1
    return n


def swap_begin() -> None:
    """Start a swap transaction (one that carries state, unless swap_fresh())."""
    global _count, _fresh
    _count = 0
    _fresh = False
    stage_begin()


def swap_fresh() -> None:
    """This transaction carries no global over: every global of the new
    versions starts from its initializer (recovery reloading a cell)."""
    global _fresh
    _fresh = True


def swap_stage(old: u64, name_at: u64, name_n: u64, base: u64, size: u64) -> bool:
    """Stage the object at base as the new version of cell old (named by the
    name_n bytes at name_at); False if the loader refused it (reason() says why)."""
    global _count
    if _count >= MAX_SWAP:
        return False
    _old[_count] = old
    _count += 1
    return stage(name_at, name_n, base, size) != NONE


def swap_commit() -> u64:
    """Link the staged cells, check them, and commit (see the design note);
    0 when swapped, else 1 with the refusal printed and nothing changed."""
    global _rewritten, _in_old_code, _freed
    for j in range(_count):
        if not stage_names(j):
            return refuse_loader()
    for j in range(_count):
        if not stage_link(j, True):
            return refuse_loader()
    if _check_users() != 0 or _check_clashes() != 0 or _check_room() != 0:
        return 1
    # The commit: nothing below can fail, and no task runs until it is done.
    flags: u64 = irq_off()
    _carry_state()
    _keep_old_relocations()
    _in_old_code = _redirect_retired()
    for j in range(_count):
        callee_swapped(_old[j])
        sym_remove_cell(_old[j])
    for j in range(_count):
        stage_export(j)
    _rewritten = _rewrite()
    for j in range(_count):
        if is_isolated(_old[j]):
            # A task inside the old version goes on as a task of the new one.
            hand_over(_old[j], staged_cell(j))
            hand_over_imports(_old[j], staged_cell(j))
        retire_cell(_old[j], _group[j])
    stage_commit()
    irq_restore(flags)
    _freed = reclaim()
    return 0


def rewritten() -> u64:
    """Relocations of remaining cells the last swap rewrote."""
    return _rewritten


def retired_rewritten() -> u64:
    """Relocations inside retired old code the last swap rewrote."""
    return _in_old_code


def freed() -> u64:
    """Retired sections the last swap could free at once."""
    return _freed
