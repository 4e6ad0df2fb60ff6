"""timer: the PIT's channel 0 as the scheduler's clock, through the 8259 PIC.

The PIC is remapped so that IRQ 0-15 arrive on vectors 32-47, clear of the
CPU's exceptions (0-31); only IRQ 0 (the timer), IRQ 4 (COM1 input) are
unmasked, and IRQ 3 (COM2, the host's channel).  Every tick is one time slice: tick() counts it (the count is
clock.ticks()) and lets the task switcher run.  Input wakes the shell at once, so it can sleep while idle.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import outb, rdtsc
from kernel_src.params import TIMER_HZ
from kernel_src.serial import enable_interrupts as serial_interrupts
from kernel_src.clock import count_tick
from kernel_src.switcher import on_tick, preempt, input_arrived

PIT_HZ: u64 = 1193182

_irq_cycles: u64 = 0          # TSC cycles spent in tick(), for the benchmark
_spurious: u64 = 0


def init() -> None:
    """Remap the PIC, unmask the timer and the serial lines, and start the PIT at TIMER_HZ."""
    outb(0x20, 0x11)          # ICW1: initialise, ICW4 follows
    outb(0xA0, 0x11)
    outb(0x21, 0x20)          # ICW2: master on vectors 32-39
    outb(0xA1, 0x28)          #       slave on 40-47
    outb(0x21, 0x04)          # ICW3: slave on IRQ 2
    outb(0xA1, 0x02)
    outb(0x21, 0x01)          # ICW4: 8086 mode
    outb(0xA1, 0x01)
    outb(0x21, 0xE6)          # masks: only the timer, COM2 and COM1
    outb(0xA1, 0xFF)
    divisor: u64 = PIT_HZ // TIMER_HZ
    outb(0x43, 0x34)          # channel 0, lo/hi byte, rate generator
    outb(0x40, u8(divisor & 0xFF))
    outb(0x40, u8(divisor >> 8))
    serial_interrupts()       # both UARTs: interrupt when received data is waiting


def tick(frame: u64) -> u64:
    """The timer interrupt: count, acknowledge, then maybe switch tasks."""
    global _irq_cycles
    start: u64 = rdtsc()
    now: u64 = count_tick()
    outb(0x20, 0x20)          # EOI now: we may leave on another task's stack
    on_tick(now)
    resume: u64 = preempt(frame)
    _irq_cycles += rdtsc() - start
    return resume


def console(frame: u64) -> u64:
    """IRQ 4 or 3, a serial line has input (idt.py has queued it): acknowledge, wake whoever waits for it."""
    outb(0x20, 0x20)
    return input_arrived(frame)


def spurious(vector: u64) -> None:
    """Any other IRQ vector: masked ones only arrive as the PIC's spurious IRQ 7/15."""
    global _spurious
    _spurious += 1
    if vector == 47:
        outb(0x20, 0x20)      # a spurious IRQ 15 still needs the master's EOI


def irq_cycles() -> u64:
    """TSC cycles spent handling timer interrupts so far (switches included)."""
    return _irq_cycles


def hz() -> u64:
    """Timer interrupts per second."""
    return TIMER_HZ
