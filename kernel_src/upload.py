"""upload: receive a cell object from the host, through shared memory.

    upload                              -> "buffer ADDR SIZE"
    upload NAME SIZE ADLER32

The bytes do not travel on a serial line.  The guest's RAM is a file the
host maps too (qemu_bridge/qemu.py), so the host asks once where the
kernel's upload buffer is (plain `upload`), writes an object there, and
sends `upload NAME SIZE ADLER32` on its channel.  The kernel copies the
object out of the buffer before it checks it (the host may write the next
one at once), and keeps it, under NAME, in the heap for `swap` or `load`
only if its size and checksum are right; a refused upload changes nothing.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.serial import write, writeln, write_u64, newline
from kernel_src.shell import arg, argc, arg_u64
from kernel_src.command import hold, release
from kernel_src.heap import alloc, free
from kernel_src.names import name_add_str, mem_copy
from kernel_src.archive import adler32
from kernel_src.params import MAX_UPLOAD, MAX_BLOBS

_name: Array[u64, 8] = [0] * 8      # params.MAX_BLOBS
_addr: Array[u64, 8] = [0] * 8      # params.MAX_BLOBS
_size: Array[u64, 8] = [0] * 8      # params.MAX_BLOBS


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


_buffer: u64 = 0                    # where the host writes objects (MAX_UPLOAD bytes)


def buffer() -> u64:
    """The upload buffer's address (its physical address too: memory is
    identity-mapped), allocated at boot (by the nano_core) so uploads and
    refusals never change what the heap holds; 0 if the heap has no room."""
    global _buffer
    if _buffer == 0:
        _buffer = alloc(MAX_UPLOAD, 4096)
    return _buffer


def _refuse(why: str) -> u64:
    write("refused: ")
    writeln(why)
    return 1


def main(arg_: u64) -> u64:
    """Say where the buffer is, or take the object in it (see the header)."""
    shared: u64 = buffer()
    if shared == 0:
        return _refuse("out of kernel heap for the upload buffer")
    if argc() == 1:
        write("buffer ")
        write_u64(shared)
        write(" ")
        write_u64(MAX_UPLOAD)
        newline()
        return 0
    name: str = arg(1)
    size: u64 = arg_u64(2)
    expected: u64 = arg_u64(3)
    if argc() != 4 or len(name) == 0:
        return _refuse("usage: upload NAME SIZE ADLER32 (the object in the buffer)")
    if size > MAX_UPLOAD:
        return _refuse("oversized upload (the limit is 1 MiB)")
    if size == 0:
        return _refuse("truncated upload: no bytes")
    hold()
    buf: u64 = alloc(size + 8, 16)
    if buf == 0:
        release()
        return _refuse("out of kernel heap")
    mem_copy(buf, shared, size)
    if u64(adler32(buf, size)) != expected:
        free(buf)
        release()
        return _refuse("corrupt upload: checksum mismatch (bytes lost, or the size is wrong)")
    slot: u64 = find(name_add_str(name))
    if slot == MAX_BLOBS:
        for b in range(MAX_BLOBS):
            if _addr[b] == 0 and slot == MAX_BLOBS:
                slot = b
    else:
        discard(slot)
    if slot == MAX_BLOBS:
        free(buf)
        release()
        return _refuse("too many uploads waiting: swap or load them first")
    _name[slot] = name_add_str(name)
    _addr[slot] = buf
    _size[slot] = size
    release()
    write("uploaded ")
    write(name)
    write(" ")
    write_u64(size)
    newline()
    return 0
