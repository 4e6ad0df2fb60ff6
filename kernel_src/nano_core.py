"""nano_core: the boot sequence, one step a line (the rest is in cells).

boot.s enters main() in long mode with the Multiboot magic and information
and the end of the kernel image.  Everything not needed to load cells is a
cell in the boot archive, loaded here section by section.  The nano_core's
own records come first (load_core), because the page tables are built
from what they say of the image, and every cell after them is loaded
with its permissions in force.

Layers.  A nano_core cell imports only from cells of lower layers, so the
dependencies go one way (tests/kernel_src/test_import_order.py reads this
table and checks every `from kernel_src.X import` against it):

    0  params frame: limits; the layout of a saved interrupt frame
    1  serial clock multiboot boot_steps: the console, time and ticks, what the boot loader said; the TSC at each boot step
    2  names frames elf reloc section_table task_table sha256: tables and formats; hashing
    3  namespace archive signatures object_check backtrace restart_table isolated_cells: lookups
       by name; is an object well-formed; the frames that led to a fault; which tasks are
       restartable; which cells are isolated
    4  irq symfile call_by_name fpu fault_log ring: interrupts off (irq finds its helper by name);
       the host's symbol file; calls by name; tasks' SSE registers; every fault, its backtrace
       and what was done; ring-3 tasks' stacks
    5  paging switcher console: the page tables; who runs next; print()'s critical section
    6  heap timer wasm_memory user_pages: the kernel heap (and whole pages for paging); the clock
       interrupt; WebAssembly memories in guard regions; which isolated cell's pages are user
       pages now
    7  stacks placement retire gates: guarded stacks; sections placed by permission; old code;
       isolated cells and their gates
    8  task loader command versions: a task's life; loading cells; running a shell command; the
       current and previous object of each swapped cell
    9  fault shell sync boot_cells swap_cells: faults; the shell; channels; loading at boot; hot swap
    10 idt upload wasm_rt restart: interrupt dispatch; receiving objects; what WebAssembly cells
       call; restartable tasks and recovery
    11 nano_core rt swap: this checklist; the panic handler; the swap command
    12 rollback: the rollback command (it uses swap's way of finding objects)
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import sti, addr_of
from kernel_src.serial import init as serial_init, writeln, write, write_u64, newline
from kernel_src.clock import init as clock_init
from kernel_src.multiboot import init as multiboot_init, module_start, module_end
from kernel_src.frames import init as frames_init
from kernel_src.boot_cells import load_core, load_all
from kernel_src.paging import init as paging_init
from kernel_src.heap import init as heap_init
from kernel_src.namespace import symbol_address
from kernel_src.idt import init as idt_init
from kernel_src.fault import init as fault_init
from kernel_src.task import init as tasks_init
from kernel_src.timer import init as timer_init
from kernel_src.shell import run, set_recovery
from kernel_src.restart import run_pending
from kernel_src.upload import buffer as upload_buffer
from kernel_src.boot_steps import mark


def main(magic: u64, info: u64, kernel_end: u64) -> None:
    """Bring the kernel up, then run the shell (mark(N): the TSC after step N, see `bootsteps`)."""
    serial_init()                                  # COM1: we can talk
    mark(0)
    clock_init()                                   # TSC rate, measured with the PIT
    mark(1)
    if not multiboot_init(magic, info):
        panic("not started by a Multiboot loader")
    reserved: u64 = kernel_end                     # the image and the boot archive
    if module_end() > reserved:
        reserved = module_end()
    if not frames_init(reserved):
        panic("no usable memory above the kernel")
    mark(2)
    archive: bool = load_core(module_start(), module_end() - module_start())   # the nano_core's own symbols
    mark(3)
    if archive and not paging_init():              # W^X for the image, page 0 and guards unmapped
        panic("cannot build the kernel's page tables")
    mark(4)
    if not heap_init():
        panic("not enough memory for the kernel heap")
    mark(5)
    load_all()                                     # every other cell, each mapped by kind
    upload_buffer()                                # where the host puts objects (1 MiB, from the heap)
    mark(6)
    # The interrupt stubs are found through the namespace, which the host's
    # symbol file fills: without a boot archive the shell runs alone.
    if idt_init() and tasks_init():                # interrupts (IDT, TSS); the shell is task 0
        mark(7)
        fault_init(symbol_address("interrupts::read_cr2"))   # exceptions end tasks
        timer_init()                               # timer: PIT at TIMER_HZ, preemption
        set_recovery(addr_of(run_pending))         # the shell restarts faulted restartable tasks
        sti()
        mark(8)
    else:
        writeln("no interrupt stubs in the namespace: tasks are off")
    writeln("theseus-nb nano_core ready")
    run()                                          # the shell, as task 0
