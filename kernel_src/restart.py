"""restart: restartable tasks and Theseus's fault-recovery ladder, run from the shell's task.

Design note.  spawn_restartable() starts a task as spawn does and marks it
restartable with a budget of `most` plain restarts.  When it faults, the
fault handler logs the fault, ends the task RESTARTING (same slot, same id)
and wakes the shell; the shell, between two commands, calls run_pending()
(the nano_core gives it this function's address at boot).  Recovery runs in
the shell's task because a step may be a swap, and swaps must not run in
an interrupt handler nor beside another swap: the shell is where every
`swap` and `load` runs, one at a time.  For each task waiting, one rung of
the ladder, each rung logged as the action of its fault:

1. restarted   while the task has had fewer than `most` restarts, start it
               again: same id, same entry (looked up again by name) and
               argument, a fresh stack;
2. reloaded    its budget used up, reload its cell from the object it runs
               now (versions.py) as a swap that carries no global (every
               global back at its initializer, which is what clears a
               corrupted state), then start it again;
3. rolled_back if it faults again and the cell was swapped before, swap the
               cell back to the version before its last swap (state carried,
               as any swap), then start it again;
4. gave_up     otherwise (or if it faults after the rollback) the task ends
               FAULTED for good, and the console says so.
A step that cannot be done (the swap is refused, no stack is left) is
"failed" and the task ends faulted, with the console saying why.  Every
step but a plain restart is said on the console too (a plain restart is
only in the log: the fault's own line says the task faulted).  Each swap
is the ordinary transaction of swap_cells.py: every user relinked, old code
a task still runs retired, a refusal leaves the kernel as it was.

The threshold is per task, and counts the faults of that task: a cell is
reloaded when one of its restartable tasks has faulted `most + 1` times.
A reload or rollback is of the whole cell: its other tasks go on (in the
old code, retired, until their next call into the cell) and see the
cell's globals as the swap left them.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import MAX_RESTARTS
from kernel_src.serial import write, writeln, write_u64, newline
from kernel_src.names import name_add_str, name_addr, name_len, name_write
from kernel_src.section_table import NONE, find_cell, all_cells
from kernel_src.task_table import (task_name, task_cell, slot_of, tasks, RESTARTING, NO_VALUE,
                                   FAULTED)
from kernel_src import task_table
from kernel_src.task import spawn_trusted, spawn_error, respawn, finish
from kernel_src.restart_table import (make_restartable, pending, take_pending, count_restart,
                                      set_step, step, max_restarts, stack_bytes, forget, restarts,
                                      PLAIN, RELOADED as STEP_RELOADED,
                                      ROLLED_BACK as STEP_ROLLED_BACK)
from kernel_src.fault_log import (set_action, action_name, RESTARTED, RELOADED, ROLLED_BACK,
                                  GAVE_UP, FAILED)
from kernel_src.versions import (current_object, previous_object, found_addr, found_size,
                                 note_rollback)
from kernel_src.swap_cells import swap_begin, swap_stage, swap_fresh, swap_commit, refuse, refuse_loader
from kernel_src.irq import irq_off, irq_restore

_error: str = ""


def spawn_restartable(spec: str, arg: u64, stack: u64, most: u64) -> u64:
    """Start CELL::FUNCTION(arg) as spawn_trusted() does (any loaded cell's
    function: the caller is trusted, as the shell's spawn is), restarted after a
    fault up to `most` times before recovery escalates (see the header);
    its id, or 0 (restart_error() says why)."""
    global _error
    if most > MAX_RESTARTS:
        _error = "too many restarts asked for (the most is 1000)"
        return 0
    # Interrupts stay off from the spawn to the mark: a task that faulted
    # at once would otherwise end before it was restartable.
    flags: u64 = irq_off()
    id: u64 = spawn_trusted(spec, arg, stack)
    if id == 0:
        irq_restore(flags)
        _error = spawn_error()
        return 0
    slot: u64 = slot_of(id)
    make_restartable(slot, id, most, tasks[slot].stack_hi - tasks[slot].stack_lo)
    irq_restore(flags)
    return id


@safe_interface
def restart_error() -> str:
    """Why the last spawn_restartable() failed."""
    return _error


def swap_to(cell: u64, addr: u64, size: u64, fresh: bool) -> bool:
    """One swap transaction of cell (a kept name) to the object at addr
    (fresh: no global carried); False, with the refusal printed, if refused."""
    swap_begin()
    old: u64 = find_cell(cell)
    if old == NONE:
        return refuse("no loaded cell is called", cell) == 0
    if all_cells[old].core:
        return refuse("the nano_core is linked by the host and cannot be reloaded:", cell) == 0
    if not swap_stage(old, name_addr(cell), name_len(cell), addr, size):
        return refuse_loader() == 0
    if fresh:
        swap_fresh()
    return swap_commit() == 0


def _reload(cell: u64) -> bool:
    # The cell's current object again, every global reset.
    if not current_object(cell):
        write("recovery: the kernel keeps no object of cell ")
        name_write(cell)
        newline()
        return False
    return swap_to(cell, found_addr(), found_size(), True)


def roll_back(cell: u64) -> bool:
    """Swap cell (a kept name) to the object it ran before its last swap,
    state carried as in any swap; False if there is none or the swap was
    refused (the refusal is printed)."""
    if not previous_object(cell):
        return False
    if not swap_to(cell, found_addr(), found_size(), False):
        return False
    note_rollback(cell)
    return True


def _give_up(slot: u64, seq: u64, action: u8) -> None:
    # The task ends faulted for good.
    set_action(seq, action)
    flags: u64 = irq_off()
    forget(slot)
    finish(slot, FAULTED, NO_VALUE)       # joiners wake: the task has ended for good
    irq_restore(flags)
    write("recovery: gave up on task ")
    write_u64(tasks[slot].id)
    write(" (")
    write(task_name(slot))
    write(") after ")
    write_u64(restarts(slot))
    writeln(" restarts")


def _recover(slot: u64) -> None:
    # One rung of the ladder for the task in slot (see the header).
    flags: u64 = irq_off()
    seq: u64 = take_pending(slot)
    irq_restore(flags)
    action: u8 = RESTARTED
    cell: u64 = name_add_str(task_cell(slot))
    n: u64 = restarts(slot) + 1          # the restart this would be
    if n > max_restarts(slot):
        if step(slot) == PLAIN:
            action = RELOADED
            set_step(slot, STEP_RELOADED)
            if not _reload(cell):
                _give_up(slot, seq, FAILED)
                return
        elif step(slot) == STEP_RELOADED and previous_object(cell):
            action = ROLLED_BACK
            set_step(slot, STEP_ROLLED_BACK)
            if not roll_back(cell):
                _give_up(slot, seq, FAILED)
                return
        else:
            _give_up(slot, seq, GAVE_UP)
            return
    # Interrupts stay off until the restart is counted: the task, runnable
    # again, may fault at once, and its next fault must see this restart.
    flags = irq_off()
    if not respawn(slot, stack_bytes(slot)):
        irq_restore(flags)
        write("recovery: cannot start task again: ")
        writeln(spawn_error())
        _give_up(slot, seq, FAILED)
        return
    count_restart(slot)
    set_action(seq, action)
    irq_restore(flags)
    if action == RESTARTED:
        return                  # the common case stays quiet: `faults` has it, and the
                                # console's bytes are most of a restart's time under TCG
    write("recovery: task ")
    write_u64(tasks[slot].id)
    write(" (")
    write(task_name(slot))
    write(") ")
    write(action_name(action))
    write(", restart ")
    write_u64(n)
    newline()


def run_pending(arg: u64) -> u64:
    """Recover every restartable task that waits (the shell calls this, in
    its own task, when it has no line to run); how many were handled."""
    done: u64 = 0
    for slot in range(task_table.high_slot):
        if pending(slot) != 0:
            if tasks[slot].state == RESTARTING:
                _recover(slot)
            else:
                take_pending(slot)       # it ended some other way meanwhile
            done += 1
    return done
