"""serial: the two serial lines, the console (COM1) and the host's channel (COM2).

COM1 is the console: what people type, and what the kernel and every task
print.  COM2 carries the host's framed requests and the replies to them,
and nothing else: while the shell serves a request from the host, what
the shell's task prints goes to COM2 (counted and checksummed for the
trailer, see shell.py); what any other task prints goes to COM1, even in
the middle of that request.  task_table.set_current() tells route() who
runs, so a task cannot choose the host's line.

Input.  Once interrupts are on, the UARTs interrupt when a byte arrives
and receive() moves the bytes into a ring per line (RX_RING bytes), from
where the shell reads them; a Ctrl-C byte (3) is not queued but reported,
so the interrupt handler can stop a runaway command.  Before that (early
boot, or a kernel with no tasks), ready() and get() poll the UART.
Output lines end in CR LF, as a terminal expects.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import inb, outb, load8
from kernel_src.params import COM1, COM2, RX_RING

CONSOLE: u64 = 0              # the lines, as receive/ready/get name them
HOST: u64 = 1
CTRL_C: u8 = 3


def _program(port: u16) -> None:
    outb(port + 1, 0x00)   # no UART interrupts yet (the timer cell turns them on)
    outb(port + 3, 0x80)   # DLAB: the next two bytes are the divisor
    outb(port + 0, 0x01)   # 115200 / 1
    outb(port + 1, 0x00)
    outb(port + 3, 0x03)   # 8 bits, no parity, one stop bit
    outb(port + 2, 0xC7)   # FIFOs on and cleared, interrupt at 14 bytes
    outb(port + 4, 0x0B)   # DTR, RTS, OUT2 (OUT2 lets the UART's interrupt reach the PIC)


def init() -> None:
    """Program both UARTs: 115200 baud, 8N1, FIFOs on."""
    _program(COM1)
    _program(COM2)


# Where put() writes, and the framing of a reply to the host: its bytes are
# counted and checksummed so the host can check it got every one.  CR is
# left out of the count because the host's side normalises line ends.
_out: u16 = 0x3F8             # params.COM1
_to_host: bool = False        # the shell speaks to the host (from frame_begin to reply_done)
_counting: bool = False       # ... and is inside the reply's counted output
_count: u64 = 0
_sum_a: u64 = 1
_sum_b: u64 = 0


def route(shell_runs: bool) -> None:
    """The switcher chose a task: while the shell serves the host, its output
    goes to COM2; everything else, always, to COM1."""
    global _out
    if _to_host and shell_runs:
        _out = COM2
    else:
        _out = COM1


def to_console() -> None:
    """From now on print on the console whoever runs (a kernel panic's report)."""
    global _out, _to_host, _counting
    _to_host = False
    _counting = False
    _out = COM1


@safe_interface
def put(c: u8) -> None:
    """Send one byte on the running task's line, waiting until the transmitter can take it."""
    global _count, _sum_a, _sum_b
    port: u16 = _out
    if _counting and port == COM2 and c != 13:
        _count += 1
        _sum_a = (_sum_a + u64(c)) % 65521
        _sum_b = (_sum_b + _sum_a) % 65521
    while inb(port + 5) & 0x20 == 0:
        pass
    outb(port, c)


def frame_begin() -> None:
    """The shell starts a reply to the host: its output goes to COM2, counted."""
    global _to_host, _counting, _out, _count, _sum_a, _sum_b
    _to_host = True
    _counting = True
    _out = COM2
    _count = 0
    _sum_a = 1
    _sum_b = 0


def frame_end() -> None:
    """The reply's output is over: frame_count() and frame_checksum() hold
    the result; what the shell prints now (the trailer) still goes to the host."""
    global _counting
    _counting = False


def reply_done() -> None:
    """The trailer is sent: the shell prints on the console again."""
    global _to_host, _out
    _to_host = False
    _out = COM1


def frame_count() -> u64:
    """Bytes of the reply (CR excluded) since frame_begin()."""
    return _count


def frame_checksum() -> u64:
    """Adler-32 of those bytes."""
    return (_sum_b << 16) | _sum_a


# --- input -------------------------------------------------------------

_ring: Array[u8, 2048] = [0] * 2048   # params.RX_RING * 2: the console's ring, then the host's
_head: Array[u64, 2] = [0] * 2        # next byte to read, per line (counts, not indices)
_tail: Array[u64, 2] = [0] * 2        # next byte to write
_throttled: Array[bool, 2] = [False] * 2
_rings: bool = False                  # the interrupt fills the rings


def _port(line: u64) -> u16:
    if line == HOST:
        return COM2
    return COM1


def enable_interrupts() -> None:
    """From now on input arrives by interrupt, into the rings (timer.init calls this)."""
    global _rings
    _rings = True
    outb(COM1 + 1, 0x01)      # interrupt when received data is waiting
    outb(COM2 + 1, 0x01)


def receive(line: u64) -> bool:
    """In the UART interrupt: move what line's UART holds into its ring.
    True if a Ctrl-C came (it is not queued).  When the ring is full the
    UART keeps the rest and its interrupt is off until the shell reads."""
    stop: bool = False
    port: u16 = _port(line)
    while inb(port + 5) & 0x01 != 0:
        if _tail[line] - _head[line] == RX_RING:
            _throttled[line] = True
            outb(port + 1, 0x00)
            return stop
        c: u8 = inb(port)
        if c == CTRL_C:
            stop = True
        else:
            _ring[line * RX_RING + _tail[line] % RX_RING] = c
            _tail[line] += 1
    return stop


def ready_on(line: u64) -> bool:
    """True when a received byte is waiting on line (CONSOLE or HOST)."""
    if not _rings:
        return inb(_port(line) + 5) & 0x01 != 0
    return _tail[line] != _head[line]


def get_from(line: u64) -> u8:
    """Wait for and return one received byte of line."""
    while not ready_on(line):
        pass
    if not _rings:
        return inb(_port(line))
    c: u8 = _ring[line * RX_RING + _head[line] % RX_RING]
    _head[line] += 1
    if _throttled[line]:
        # The ring has room again: the UART may interrupt (at once, if it holds bytes).
        _throttled[line] = False
        outb(_port(line) + 1, 0x01)
    return c


def ready() -> bool:
    """True when a received byte is waiting on either line."""
    return ready_on(CONSOLE) or ready_on(HOST)


# --- printing ----------------------------------------------------------

@safe_interface
def write(s: str) -> None:
    """Print a string as it is."""
    for i in range(len(s)):
        put(u8(ord(s[i])))


def writeln(s: str) -> None:
    """Print a string and end the line."""
    write(s)
    put(13)
    put(10)


@safe_interface
def newline() -> None:
    """End the line."""
    put(13)
    put(10)


def write_mem(addr: u64, n: u64) -> None:
    """Print n bytes of memory at addr (names kept in the kernel's tables)."""
    for i in range(n):
        put(load8(addr + i))


@safe_interface
def write_u64(v: u64) -> None:
    """Print v in decimal."""
    digits: Array[u8, 20] = [0] * 20
    n: u64 = 0
    while True:
        digits[n] = u8(v % 10) + 48
        n += 1
        v = v // 10
        if v == 0:
            break
    while n > 0:
        n -= 1
        put(digits[n])


@safe_interface
def write_hex(v: u64) -> None:
    """Print v in hexadecimal with a 0x prefix."""
    write("0x")
    started: bool = False
    shift: u64 = 64
    while shift > 0:
        shift -= 4
        nibble: u8 = u8((v >> shift) & 0xF)
        if nibble != 0 or started or shift == 0:
            started = True
            if nibble < 10:
                put(nibble + 48)
            else:
                put(nibble + 87)
