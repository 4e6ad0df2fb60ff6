"""multiboot: what the boot loader tells us (memory map, boot archive).

The Multiboot information structure is read once at boot and copied into
small tables, so nothing later depends on where the loader left it.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from theseus_nb.lang.unsafe import load32, load64
from kernel_src.params import MAX_REGIONS

MAGIC: u64 = 0x2BADB002

_region_base: Array[u64, 32] = [0] * 32          # params.MAX_REGIONS
_region_len: Array[u64, 32] = [0] * 32           # params.MAX_REGIONS
_regions: u64 = 0
_module_start: u64 = 0
_module_end: u64 = 0


def init(magic: u64, info: u64) -> bool:
    """Read the memory map and the first module; False if not booted by Multiboot."""
    global _regions, _module_start, _module_end
    if magic != MAGIC:
        return False
    flags: u32 = load32(info)
    if flags & 0x08 != 0 and load32(info + 20) > 0:      # bit 3: modules
        mods: u64 = u64(load32(info + 24))
        _module_start = u64(load32(mods))
        _module_end = u64(load32(mods + 4))
    if flags & 0x40 != 0:                                 # bit 6: memory map
        entry: u64 = u64(load32(info + 48))
        end: u64 = entry + u64(load32(info + 44))
        while entry < end and _regions < MAX_REGIONS:
            if load32(entry + 20) == 1:                   # type 1: usable RAM
                _region_base[_regions] = load64(entry + 4)
                _region_len[_regions] = load64(entry + 12)
                _regions += 1
            entry += u64(load32(entry)) + 4
    return True


def module_start() -> u64:
    """Physical address of the boot archive (0 if there is none)."""
    return _module_start


def module_end() -> u64:
    """First address after the boot archive."""
    return _module_end


def region_count() -> u64:
    """Number of usable memory regions."""
    return _regions


def region_base(i: u64) -> u64:
    """Start of usable region i."""
    return _region_base[i]


def region_len(i: u64) -> u64:
    """Length in bytes of usable region i."""
    return _region_len[i]
