"""paging: the page tables: one identity-mapped address space, with permissions.

Design note.  The kernel and every cell share one address space in which
each address maps to itself, as boot.s set it up, but each 4 KiB page has
permissions where they matter: code read-execute, read-only data
read-only and not executable, everything else read-write and not
executable; page 0 and the page under every stack are not mapped at all,
so a null access or a stack overflow faults instead of corrupting memory.
Memory is mapped with 2 MiB pages until a range inside one needs other
permissions; then that page is split into 512 pages of 4 KiB (a page table
from the frame allocator), which is never merged back.  The first 4 GiB
are mapped (RAM and the devices' holes alike); nothing above.
EFER.NXE makes bit 63 of an entry mean no-execute; CR0.WP makes ring 0
obey read-only pages too.  Every change is made with interrupts off and
followed by invlpg of the page it changed, so no stale translation lets
an old permission through.
A page may also be a *user* page (bit 2 at every level): only an isolated
cell's own code, constants, data and its tasks' user stacks are
(gates.py); every other page is supervisor-only, so ring 3 faults on it.
The upper levels all carry the user bit, so the leaf entry alone decides.
Above MAPPED_END nothing is mapped unless map_page() puts a frame there
(a WebAssembly memory's live pages, wasm_memory.py): those pages are
read-write, not executable and supervisor-only, and their tables are
built on the way down when first needed (and kept: a memory that shrinks
back leaves its empty page tables for the next one).
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load64, store64, call_addr
from kernel_src.frames import alloc as frame_alloc
from kernel_src.namespace import symbol_address
from kernel_src.irq import irq_off, irq_restore

PAGE: u64 = 4096
HUGE: u64 = 0x200000                    # a 2 MiB page: one page-directory entry
MAPPED_END: u64 = 0x100000000           # 4 GiB: four page directories
HIGH_END: u64 = 0x800000000000          # 128 TiB: the lower half of the 48-bit address space
PERM_RO: u64 = 0                        # read only, not executable (rodata)
PERM_RW: u64 = 1                        # read-write, not executable (data, heap, stacks)
PERM_RX: u64 = 2                        # read and execute (code)
NOT_MAPPED: u64 = 3                     # what perm_of() says of a page that faults on any access

_PRESENT: u64 = 0x1
_WRITABLE: u64 = 0x2
_USER: u64 = 0x4                        # ring 3 may use the page (at every level on the way)
_HUGE: u64 = 0x80                       # in a page-directory entry: maps 2 MiB itself
_NO_EXEC: u64 = 0x8000000000000000      # bit 63 (with EFER.NXE)
_ADDR: u64 = 0x000FFFFFFFFFF000         # the frame address bits of an entry
_PAGE_MASK: u64 = 0xFFFFFFFFFFFFF000
_HUGE_MASK: u64 = 0xFFFFFFFFFFE00000

_pml4: u64 = 0
_pdpt: u64 = 0
_pd: Array[u64, 4] = [0] * 4            # one page directory per GiB
_on: bool = False
_invlpg_fn: u64 = 0
table_frames: u64 = 0                  # frames holding page tables
split_pages: u64 = 0                         # 2 MiB pages split into 4 KiB ones


def _bits(perm: u64) -> u64:
    if perm == PERM_RX:
        return _PRESENT
    if perm == PERM_RW:
        return _PRESENT | _WRITABLE | _NO_EXEC
    return _PRESENT | _NO_EXEC


def _flush(p: u64) -> None:
    if _on:
        call_addr(_invlpg_fn, p)


def _leaf(p: u64) -> u64:
    # Address of the 4 KiB entry that maps page p, splitting its 2 MiB page
    # first if it has none; 0 above MAPPED_END or when no frame is left.
    global table_frames, split_pages
    if p >= MAPPED_END:
        return 0
    pde_at: u64 = _pd[p >> 30] + ((p >> 21) & 511) * 8
    pde: u64 = load64(pde_at)
    if pde & _HUGE != 0:
        pt: u64 = frame_alloc()
        if pt == 0:
            return 0
        base: u64 = p & _HUGE_MASK
        keep: u64 = pde & (_PRESENT | _WRITABLE | _NO_EXEC)
        for k in range(512):
            store64(pt + k * 8, (base + k * PAGE) | keep)
        store64(pde_at, pt | _PRESENT | _WRITABLE | _USER)   # the leaf entries decide
        _flush(base)
        table_frames += 1
        split_pages += 1
        pde = pt
    return (pde & _ADDR) + ((p >> 12) & 511) * 8


def _set(addr: u64, size: u64, entry_bits: u64, present: bool) -> bool:
    p: u64 = addr & _PAGE_MASK
    end: u64 = (addr + size + PAGE - 1) & _PAGE_MASK
    flags: u64 = irq_off()
    while p < end:
        e: u64 = _leaf(p)
        if e == 0:
            irq_restore(flags)
            return False
        if present:
            store64(e, p | entry_bits)
        else:
            store64(e, p)                        # not present; the address kept for reading
        _flush(p)
        p += PAGE
    irq_restore(flags)
    return True


def init() -> bool:
    """Build the kernel's own page tables, map the nano_core's image by kind
    (boot.s's boot_layout says where each kind starts), unmap page 0 and
    the boot stack's guard page, and switch to them; False (paging stays
    as boot.s left it) if the symbols or the frames are missing."""
    global _pml4, _pdpt, _on, _invlpg_fn, table_frames
    layout: u64 = symbol_address("boot_layout")
    load_cr3: u64 = symbol_address("mmu::load_cr3")
    enable: u64 = symbol_address("mmu::enable_nx_wp")
    _invlpg_fn = symbol_address("mmu::invlpg")
    if layout == 0 or load_cr3 == 0 or enable == 0 or _invlpg_fn == 0:
        return False
    _pml4 = frame_alloc()
    _pdpt = frame_alloc()
    for j in range(4):
        _pd[j] = frame_alloc()
        if _pd[j] == 0:
            return False
    if _pml4 == 0 or _pdpt == 0:
        return False
    table_frames = 6
    for j in range(4):
        for i in range(512):
            store64(_pd[j] + i * 8, ((j * 512 + i) * HUGE) | _PRESENT | _WRITABLE | _HUGE | _NO_EXEC)
        store64(_pdpt + j * 8, _pd[j] | _PRESENT | _WRITABLE | _USER)
    store64(_pml4, _pdpt | _PRESENT | _WRITABLE | _USER)
    # The new tables are not in use yet: the image's code must be executable
    # in them before CR3 points at them.
    text: u64 = load64(layout)
    rodata: u64 = load64(layout + 8)
    data: u64 = load64(layout + 16)
    ok: bool = _set(0, PAGE, 0, False) and _set(text, rodata - text, _bits(PERM_RX), True) \
        and _set(rodata, data - rodata, _bits(PERM_RO), True) \
        and _set(load64(layout + 32), PAGE, 0, False)
    if not ok:
        return False
    call_addr(enable, 0)                          # NXE before any entry with bit 63 is used
    call_addr(load_cr3, _pml4)
    _on = True
    return True


def on() -> bool:
    """Are the kernel's page tables in use (init() succeeded)?"""
    return _on


def protect(addr: u64, size: u64, perm: u64) -> bool:
    """Map the pages of [addr, addr + size) with perm (PERM_RO, PERM_RW or
    PERM_RX); False if a page is above MAPPED_END or no frame is left for a
    page table.  Does nothing before init()."""
    if not _on:
        return True
    return _set(addr, size, _bits(perm), True)


def protect_user(addr: u64, size: u64, perm: u64) -> bool:
    """Like protect(), but the pages become user pages: ring 3 may use them
    with perm (an isolated cell's regions and its tasks' stacks).  protect()
    makes them supervisor-only again."""
    if not _on:
        return True
    return _set(addr, size, _bits(perm) | _USER, True)


def _table_under(entry_at: u64, make: bool) -> u64:
    # The table an upper-level entry points at; with make, a new zeroed one
    # if it has none.  0: absent (or no frame left).
    global table_frames
    e: u64 = load64(entry_at)
    if e & _PRESENT != 0:
        return e & _ADDR
    if not make:
        return 0
    t: u64 = frame_alloc()
    if t == 0:
        return 0
    store64(entry_at, t | _PRESENT | _WRITABLE)
    table_frames += 1
    return t


def _high_leaf(p: u64, make: bool) -> u64:
    # Address of the 4 KiB entry of page p (MAPPED_END <= p < HIGH_END), walking
    # PML4 -> PDPT -> PD -> PT; 0 if a level is absent and make is False.
    pdpt: u64 = _table_under(_pml4 + ((p >> 39) & 511) * 8, make)
    if pdpt == 0:
        return 0
    pd: u64 = _table_under(pdpt + ((p >> 30) & 511) * 8, make)
    if pd == 0:
        return 0
    pt: u64 = _table_under(pd + ((p >> 21) & 511) * 8, make)
    if pt == 0:
        return 0
    return pt + ((p >> 12) & 511) * 8


def map_page(virt: u64, frame: u64) -> bool:
    """Map the 4 KiB page at virt (MAPPED_END <= virt < HIGH_END) to frame,
    read-write and not executable, for ring 0 only; False before init(), for
    an address outside that range, or when no frame is left for a table."""
    if not _on or virt < MAPPED_END or virt >= HIGH_END:
        return False
    flags: u64 = irq_off()
    e: u64 = _high_leaf(virt & _PAGE_MASK, True)
    if e != 0:
        store64(e, (frame & _ADDR) | _bits(PERM_RW))
        _flush(virt)
    irq_restore(flags)
    return e != 0


def unmap_page(virt: u64) -> u64:
    """Unmap the page at virt (one map_page() mapped); the frame it had, or 0."""
    if not _on or virt < MAPPED_END or virt >= HIGH_END:
        return 0
    flags: u64 = irq_off()
    e: u64 = _high_leaf(virt & _PAGE_MASK, False)
    frame: u64 = 0
    if e != 0 and load64(e) & _PRESENT != 0:
        frame = load64(e) & _ADDR
        store64(e, 0)
        _flush(virt)
    irq_restore(flags)
    return frame


def is_user(addr: u64) -> bool:
    """Is the page holding addr mapped as a user page?"""
    if not _on or addr >= MAPPED_END:
        return False
    e: u64 = load64(_pd[addr >> 30] + ((addr >> 21) & 511) * 8)
    if e & _HUGE == 0:
        e = load64((e & _ADDR) + ((addr >> 12) & 511) * 8)
    return e & (_PRESENT | _USER) == (_PRESENT | _USER)


def unmap(addr: u64, size: u64) -> bool:
    """Unmap the pages of [addr, addr + size): any access to them faults."""
    if not _on:
        return True
    return _set(addr, size, 0, False)


def perm_of(addr: u64) -> u64:
    """How the page holding addr is mapped: PERM_RO, PERM_RW, PERM_RX or NOT_MAPPED."""
    if not _on:
        return PERM_RW
    e: u64 = 0
    if addr >= MAPPED_END:
        if addr >= HIGH_END:
            return NOT_MAPPED
        at: u64 = _high_leaf(addr & _PAGE_MASK, False)
        if at == 0:
            return NOT_MAPPED
        e = load64(at)
    else:
        e = load64(_pd[addr >> 30] + ((addr >> 21) & 511) * 8)
        if e & _HUGE == 0:
            e = load64((e & _ADDR) + ((addr >> 12) & 511) * 8)
    if e & _PRESENT == 0:
        return NOT_MAPPED
    if e & _NO_EXEC == 0:
        return PERM_RX
    if e & _WRITABLE != 0:
        return PERM_RW
    return PERM_RO


