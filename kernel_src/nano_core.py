"""nano_core: the boot sequence, one step a line (the rest is in cells).

boot.s enters main() in long mode with the Multiboot magic and information
and the end of the kernel image.  Everything not needed to load cells is a
cell in the boot archive, loaded here section by section.

Layers.  A nano_core cell imports only from cells of lower layers, so the
dependencies go one way (tests/kernel_src/test_import_order.py reads this
table and checks every `from kernel_src.X import` against it):

    0  params frame: limits; the layout of a saved interrupt frame
    1  serial clock multiboot: the console, time and ticks, what the boot loader said
    2  names frames elf reloc section_table task_table sha256: tables and formats; hashing
    3  namespace archive signatures object_check: lookups by name; is an object well-formed
    4  irq symfile call_by_name: interrupts off (irq finds its helper by name); the host's symbol file; calls by name
    5  heap switcher: the kernel heap; who runs next
    6  placement retire task timer: placing sections; old code; a task's life; the clock interrupt
    7  loader fault shell sync: loading cells; faults end tasks; the shell; channels
    8  boot_cells idt swap_cells upload: loading at boot; interrupt dispatch; hot swap; uploads
    9  nano_core rt swap: this checklist; the panic handler; the swap command
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import sti
from kernel_src.serial import init as serial_init, writeln, write, write_u64, newline
from kernel_src.clock import init as clock_init
from kernel_src.multiboot import init as multiboot_init, module_start, module_end
from kernel_src.frames import init as frames_init
from kernel_src.heap import init as heap_init
from kernel_src.boot_cells import load_all
from kernel_src.namespace import symbol_address
from kernel_src.idt import init as idt_init
from kernel_src.fault import init as fault_init
from kernel_src.task import init as tasks_init
from kernel_src.timer import init as timer_init
from kernel_src.shell import run


def main(magic: u64, info: u64, kernel_end: u64) -> None:
    """Bring the kernel up, then run the shell."""
    serial_init()                                  # COM1: we can talk
    clock_init()                                   # TSC rate, measured with the PIT
    if not multiboot_init(magic, info):
        panic("not started by a Multiboot loader")
    reserved: u64 = kernel_end                     # the image and the boot archive
    if module_end() > reserved:
        reserved = module_end()
    if not frames_init(reserved):
        panic("no usable memory above the kernel")
    if not heap_init():
        panic("not enough memory for the kernel heap")
    load_all(module_start(), module_end() - module_start())   # every other cell
    # The interrupt stubs are found through the namespace, which the host's
    # symbol file fills: without a boot archive the shell runs alone.
    if idt_init() and tasks_init():                # interrupts (IDT, TSS); the shell is task 0
        fault_init(symbol_address("interrupts::read_cr2"))   # exceptions end tasks
        timer_init()                               # timer: PIT at TIMER_HZ, preemption
        sti()
    else:
        writeln("no interrupt stubs in the namespace: tasks are off")
    writeln("theseus-nb nano_core ready")
    run()                                          # the shell, as task 0
