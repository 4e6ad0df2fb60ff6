"""upload: receive a cell object from the host over the console.

    upload NAME SIZE ADLER32            (then 2*SIZE hex digits, then ".")

The whole object is read before anything is decided, so the line stays in
step with the host even when the upload is refused; only an object with the
right length and checksum is kept (in the heap, under NAME) for `swap` or
`load` to use.  Whitespace between the digits is ignored.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import store8
from kernel_src.serial import get, ready, write, writeln, write_u64, newline
from kernel_src.task import wait_input
from kernel_src.shell import arg, arg_u64
from kernel_src.heap import alloc, free
from kernel_src.names import name_add_str
from kernel_src.archive import adler32
from kernel_src.params import MAX_UPLOAD, MAX_BLOBS

_name: Array[u64, 8] = [0] * 8      # params.MAX_BLOBS
_addr: Array[u64, 8] = [0] * 8      # params.MAX_BLOBS
_size: Array[u64, 8] = [0] * 8      # params.MAX_BLOBS


def _nibble(c: u8) -> u64:
    if c >= 48 and c <= 57:
        return u64(c - 48)
    if c >= 97 and c <= 102:
        return u64(c - 87)
    if c >= 65 and c <= 70:
        return u64(c - 55)
    return 16


def find(name: u64) -> u64:
    """Slot of the upload called name (a kept name handle), or MAX_BLOBS."""
    for b in range(MAX_BLOBS):
        if _addr[b] != 0 and _name[b] == name:
            return b
    return MAX_BLOBS


def blob_addr(b: u64) -> u64:
    """Where upload b's bytes are."""
    return _addr[b]


def blob_size(b: u64) -> u64:
    """How many bytes upload b has."""
    return _size[b]


@safe_interface
def discard(b: u64) -> None:
    """Free upload b."""
    if _addr[b] != 0:
        free(_addr[b])
        _addr[b] = 0


def _next() -> u8:
    # Sleep until the console has input rather than polling the UART: under
    # QEMU's TCG each poll takes the emulator's global lock, which starves
    # the thread that delivers our input.
    while not ready():
        wait_input()
    return get()


def _refuse(why: str) -> u64:
    write("refused: ")
    writeln(why)
    return 1


def main(arg_: u64) -> u64:
    """Receive one object (see the header for the protocol)."""
    name: str = arg(1)
    size: u64 = arg_u64(2)
    expected: u64 = arg_u64(3)
    fits: bool = size <= MAX_UPLOAD and len(name) > 0
    buf: u64 = 0
    if fits:
        buf = alloc(size + 1, 16)
    digits: u64 = 0
    bad: bool = False
    byte: u64 = 0
    while True:
        c: u8 = _next()
        if c == 46:                                  # "."
            break
        v: u64 = _nibble(c)
        if v == 16:
            if c != 13 and c != 10 and c != 32:
                bad = True
            continue
        byte = (byte << 4) | v
        if digits % 2 == 1:
            if buf != 0 and digits // 2 < size:
                store8(buf + digits // 2, u8(byte))
            byte = 0
        digits += 1
    if not fits:
        return _refuse("oversized upload (the limit is 1 MiB) or no name")
    if buf == 0:
        return _refuse("out of kernel heap")
    if bad or digits != 2 * size:
        free(buf)
        if bad:
            return _refuse("corrupt upload: a character that is not a hex digit")
        return _refuse("truncated upload: fewer bytes than announced")
    if u64(adler32(buf, size)) != expected:
        free(buf)
        return _refuse("corrupt upload: checksum mismatch")
    slot: u64 = find(name_add_str(name))
    if slot == MAX_BLOBS:
        for b in range(MAX_BLOBS):
            if _addr[b] == 0 and slot == MAX_BLOBS:
                slot = b
    else:
        discard(slot)
    if slot == MAX_BLOBS:
        free(buf)
        return _refuse("too many uploads waiting: swap or load them first")
    _name[slot] = name_add_str(name)
    _addr[slot] = buf
    _size[slot] = size
    write("uploaded ")
    write(name)
    write(" ")
    write_u64(size)
    newline()
    return 0
