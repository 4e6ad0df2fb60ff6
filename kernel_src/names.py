"""names: one pool for every name the kernel keeps (cells, sections, symbols).

A name is a handle: (offset << 16) | length into the pool.  Names are
copied in when a cell is loaded, so a cell's object can be freed later.
Kept names are interned (one copy of each distinct name, found through a
hash index), so swapping a cell a hundred times does not grow the pool.
The kernel's memory helpers live here too (mem_equal, mem_copy): names is
low enough (layer 2) for every cell that compares or copies bytes.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load8, load64, store8, store64, addr_of, make_str
from kernel_src.params import NAME_POOL, NAME_INDEX
from kernel_src.serial import write_mem

_pool: Array[u8, 262144] = [0] * 262144                               # params.NAME_POOL
_used: u64 = 0
_index: Array[u64, 16384] = [0] * 16384   # params.NAME_INDEX: handle + 1 of each kept name; 0 = empty


def _find_kept(addr: u64, n: u64) -> u64:
    # Slot of the kept name equal to the n bytes at addr, or of the empty
    # slot where it would go.
    slot: u64 = hash_mem(addr, n) & (NAME_INDEX - 1)
    while _index[slot] != 0 and not name_equals_mem(_index[slot] - 1, addr, n):
        slot = (slot + 1) & (NAME_INDEX - 1)
    return slot


def name_add(addr: u64, n: u64) -> u64:
    """The kept name equal to the n bytes at addr, copied in if new (0 if full)."""
    global _used
    slot: u64 = _find_kept(addr, n)
    if _index[slot] != 0:
        return _index[slot] - 1
    if n > 0xFFFF or _used + n > NAME_POOL:
        return 0
    start: u64 = _used
    for i in range(n):
        _pool[start + i] = load8(addr + i)
    _used += n
    _index[slot] = ((start << 16) | n) + 1
    return (start << 16) | n


@safe_interface
def name_add_str(s: str) -> u64:
    """The kept name equal to s (copied in if new; 0 if the pool is full)."""
    name_begin()
    if not name_append_str(s):
        return 0
    return name_keep(name_end())


def name_keep(h: u64) -> u64:
    """Intern h, the name just built with name_begin/append/end: returns the
    equal kept name if there is one (and gives back h's bytes), else h."""
    global _used
    slot: u64 = _find_kept(name_addr(h), name_len(h))
    if _index[slot] != 0:
        if (h >> 16) + name_len(h) == _used:
            _used = h >> 16
        return _index[slot] - 1
    _index[slot] = h + 1
    return h


@safe_interface
def name_len(h: u64) -> u64:
    """Length of the name in bytes."""
    return h & 0xFFFF


def name_addr(h: u64) -> u64:
    """Where the name's bytes are."""
    return addr_of(_pool) + (h >> 16)


def name_valid(h: u64) -> bool:
    """Is h a handle whose bytes lie inside the used part of the pool?

    A safe cell may pass any u64 as a handle; the functions it may call
    check it with this before they read the bytes."""
    return (h >> 16) <= _used and name_len(h) <= _used - (h >> 16)


@safe_interface
def name_text(h: u64) -> str:
    """The name as a string (valid as long as the kernel runs); "" if h is not a name."""
    if not name_valid(h):
        return ""
    return make_str(name_addr(h), name_len(h))


def mem_ends_with(addr: u64, n: u64, s: str) -> bool:
    """Do the n bytes at addr end with s (and have more bytes than s before it)?"""
    k: u64 = len(s)
    if n <= k:
        return False
    for i in range(k):
        if load8(addr + n - k + i) != u8(ord(s[i])):
            return False
    return True


def mem_equal(a: u64, b: u64, n: u64) -> bool:
    """Are the n bytes at a and at b the same?"""
    for i in range(n):
        if load8(a + i) != load8(b + i):
            return False
    return True


def mem_copy(to: u64, src: u64, n: u64) -> None:
    """Copy the n bytes at src to `to` (the two must not overlap): eight bytes
    at a time, then the last n % 8 one by one, so that no byte past either
    end is read or written (an object's copy may end anywhere in a block)."""
    words: u64 = n // 8
    for i in range(words):
        store64(to + i * 8, load64(src + i * 8))
    for k in range(words * 8, n):
        store8(to + k, load8(src + k))


def name_equals_mem(h: u64, addr: u64, n: u64) -> bool:
    """Is the name equal to the n bytes at addr?"""
    return name_len(h) == n and mem_equal(name_addr(h), addr, n)


@safe_interface
def name_equals(h: u64, s: str) -> bool:
    """Is the name equal to s?"""
    if name_len(h) != u64(len(s)):
        return False
    start: u64 = h >> 16
    for i in range(name_len(h)):
        if _pool[start + i] != u8(ord(s[i])):
            return False
    return True


def hash_of(h: u64) -> u64:
    """FNV-1a of the name, for the namespace's hash table."""
    return hash_mem(name_addr(h), name_len(h))


def hash_mem(addr: u64, n: u64) -> u64:
    """FNV-1a of n bytes at addr."""
    x: u64 = 0xCBF29CE484222325
    for i in range(n):
        x = wrapping_mul(x ^ u64(load8(addr + i)), 0x100000001B3, u64)
    return x


def name_write(h: u64) -> None:
    """Print the name."""
    write_mem(name_addr(h), name_len(h))


@safe_interface
def names_used() -> u64:
    """Bytes of the pool in use."""
    return _used


# Building a name from parts ("cell" + "::" + "symbol"): begin, append, end.
_building: u64 = 0
_mark: u64 = 0


def name_begin() -> None:
    """Start a name built from parts."""
    global _building
    _building = _used


def name_append_mem(addr: u64, n: u64) -> bool:
    """Append n bytes at addr to the name being built; False if the pool is full."""
    global _used
    if _used + n > NAME_POOL:
        return False
    for i in range(n):
        _pool[_used + i] = load8(addr + i)
    _used += n
    return True


def name_append_byte(c: u8) -> bool:
    """Append one byte to the name being built."""
    global _used
    if _used + 1 > NAME_POOL:
        return False
    _pool[_used] = c
    _used += 1
    return True


def name_append_str(s: str) -> bool:
    """Append a string to the name being built."""
    global _used
    n: u64 = u64(len(s))
    if _used + n > NAME_POOL:
        return False
    for i in range(n):
        _pool[_used + i] = u8(ord(s[i]))
    _used += n
    return True


def name_end() -> u64:
    """Finish the name being built and return its handle (a temporary one:
    name_keep() it to keep it, or names_rewind() to drop it)."""
    return (_building << 16) | (_used - _building)


def names_mark() -> None:
    """Remember the pool's fill level, before building a temporary name."""
    global _mark
    _mark = _used


def names_rewind() -> None:
    """Forget temporary names built since names_mark() (never kept ones)."""
    global _used
    _used = _mark
