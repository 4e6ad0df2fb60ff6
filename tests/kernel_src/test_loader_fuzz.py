"""The in-kernel loader under fuzzing: mutated cell objects sent straight to a real kernel.

The loader (kernel_src/loader.py, elf.py, object_check.py) reads objects that
come from outside, so no field of one may crash it: a checked panic or a
fault in the shell's task stops the whole machine. Here real objects of this
project (cells compiled under a fresh name) are mutated field by field (ELF
header, section headers, symbols, relocations, found with pyelftools) and
byte by byte, with a fixed seed, and each mutant goes through the bridge
(``upload`` then ``load``, not ``LiveKernel.load``, whose host-side parse
would refuse many of them first). After each one the kernel must answer
``echo``; a crash or a hang is recorded, the kernel rebooted, and the run
goes on. Every crash the fuzzer found is a named regression case below.

    THESEUS_NB_FUZZ=10000 python3 -m pytest -s tests/kernel_src/test_loader_fuzz.py

runs the long fuzz (that many mutants) and prints the refusals by reason and
the crash and hang counts.
"""

from __future__ import annotations

import io
import os
import random
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

import qemu_bridge

from theseus_nb import Image, LiveKernel

pytestmark = pytest.mark.qemu

SEED = 20250512
CI_MUTANTS = 300
LONG_RUN = int(os.environ.get("THESEUS_NB_FUZZ", "0") or 0)

#: Real cells of the project the mutants are made from (small, with text,
#: rodata, data and bss sections, calls into other cells and their own globals).
BASES = ("fib", "primes", "counter")
#: Each base is compiled as cell PREFIX + name. An accepted mutant stays
#: loaded (the kernel has no unload), so the next mutant of that base gets
#: the next prefix: same length, so the same layout, only the names differ.
PREFIX = b"fz0000_"
#: Accepted mutants a kernel takes before a fresh boot (its cell table is finite).
REBOOT_AFTER = 40


# ---- where the fields are -------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One integer field of an object: where it is, how wide, what it is."""

    name: str
    offset: int
    size: int


def _fields(data: bytes) -> dict[str, list[Field]]:
    """Every header, section-header, symbol and relocation field of ``data``, by kind."""
    elf = ELFFile(io.BytesIO(data))
    header = [Field(name, off, size) for name, off, size in (
        ("e_ident.class", 4, 1), ("e_ident.data", 5, 1), ("e_type", 16, 2),
        ("e_machine", 18, 2), ("e_version", 20, 4), ("e_entry", 24, 8), ("e_shoff", 40, 8),
        ("e_flags", 48, 4), ("e_ehsize", 52, 2), ("e_shentsize", 58, 2), ("e_shnum", 60, 2),
        ("e_shstrndx", 62, 2))]
    shoff = elf.header["e_shoff"]
    sections, symbols, relocations = [], [], []
    for i, sec in enumerate(elf.iter_sections()):
        at = shoff + i * 64
        for name, off, size in (("sh_name", 0, 4), ("sh_type", 4, 4), ("sh_flags", 8, 8),
                                ("sh_offset", 24, 8), ("sh_size", 32, 8), ("sh_link", 40, 4),
                                ("sh_info", 44, 4), ("sh_addralign", 48, 8),
                                ("sh_entsize", 56, 8)):
            sections.append(Field(f"{sec.name or '[0]'}.{name}", at + off, size))
        if isinstance(sec, SymbolTableSection):
            for k in range(sec.num_symbols()):
                st = sec["sh_offset"] + k * 24
                for name, off, size in (("st_name", 0, 4), ("st_info", 4, 1), ("st_other", 5, 1),
                                        ("st_shndx", 6, 2), ("st_value", 8, 8),
                                        ("st_size", 16, 8)):
                    symbols.append(Field(f"symbol {k}.{name}", st + off, size))
        if isinstance(sec, RelocationSection):
            for e in range(sec.num_relocations()):
                r = sec["sh_offset"] + e * 24
                for name, off, size in (("r_offset", 0, 8), ("r_type", 8, 4), ("r_sym", 12, 4),
                                        ("r_addend", 16, 8)):
                    relocations.append(Field(f"{sec.name} {e}.{name}", r + off, size))
    return {"header": header, "section": sections, "symbol": symbols, "relocation": relocations}


def _section_ranges(data: bytes) -> list[tuple[str, int, int]]:
    """(name, offset, size) of every section with bytes in the object."""
    elf = ELFFile(io.BytesIO(data))
    return [(s.name, s["sh_offset"], s["sh_size"]) for s in elf.iter_sections()
            if s["sh_type"] != "SHT_NOBITS" and s["sh_size"] > 0]


# ---- mutations -------------------------------------------------------------

def _interesting(old: int, size: int, length: int, rng: random.Random) -> int:
    """A value for a field of ``size`` bytes that once held ``old``: the edges
    of the field's range, of the object's length, and near the old value."""
    top = (1 << (8 * size)) - 1
    pool = [0, 1, 2, 8, 24, 64, 0x7F, 0x80, 0xFF, top, top - 1, top >> 1, (top >> 1) + 1,
            (old + 1) & top, (old - 1) & top, old ^ (1 << rng.randrange(8 * size)),
            length, length - 1, length + 1, rng.randrange(top + 1),
            (old + rng.randrange(1, 4096)) & top]
    return rng.choice(pool) & top


@dataclass(frozen=True)
class Layout:
    """Where the fields and section contents of a pristine base object are.

    Mutations use the base's layout even on an already mutated copy (which
    pyelftools may no longer parse)."""

    fields: dict[str, list[Field]]
    contents: list[tuple[str, int, int]]
    sections: int
    shoff: int

    @classmethod
    def of(cls, data: bytes) -> "Layout":
        """The layout of ``data``."""
        elf = ELFFile(io.BytesIO(data))
        return cls(_fields(data), _section_ranges(data), elf.num_sections(), elf.header["e_shoff"])


Mutation = Callable[[bytes, Layout, random.Random], tuple[str, bytes]]


def _field_mutation(kind: str) -> Mutation:
    def mutate(data: bytes, layout: Layout, rng: random.Random) -> tuple[str, bytes]:
        f = rng.choice(layout.fields[kind])
        if f.offset + f.size > len(data):
            return f"{f.name} (cut off)", data
        old = int.from_bytes(data[f.offset:f.offset + f.size], "little")
        value = _interesting(old, f.size, len(data), rng)
        out = bytearray(data)
        out[f.offset:f.offset + f.size] = value.to_bytes(f.size, "little")
        return f"{f.name} = {value:#x}", bytes(out)
    return mutate


def _byte_flip(data: bytes, layout: Layout, rng: random.Random) -> tuple[str, bytes]:
    out = bytearray(data)
    at = rng.randrange(len(data))
    flip = rng.randrange(1, 256)
    out[at] ^= flip
    return f"byte {at:#x} ^= {flip:#x}", bytes(out)


def _section_byte(data: bytes, layout: Layout, rng: random.Random) -> tuple[str, bytes]:
    # A byte inside one section's contents: string tables, the signature
    # table, the symbol table, relocation tables, code.
    name, offset, size = rng.choice(layout.contents)
    out = bytearray(data)
    at = offset + rng.randrange(size)
    if at >= len(data):
        return f"{name} (cut off)", data
    out[at] = rng.randrange(256)
    return f"{name} byte {at - offset} = {out[at]:#x}", bytes(out)


def _nobits(data: bytes, layout: Layout, rng: random.Random) -> tuple[str, bytes]:
    # A section with contents turned into a bss-type one: the format then
    # gives its offset no meaning, but the loader must still not follow it.
    i = rng.randrange(1, layout.sections)
    at = layout.shoff + i * 64
    if at + 32 > len(data):
        return f"section {i} (cut off)", data
    out = bytearray(data)
    struct.pack_into("<I", out, at + 4, 8)
    offset = rng.choice([0, len(data), 0x7FFFFFFFFFFFFFFF,
                         0xFFFFFFFFFFFFFFFF - rng.randrange(4096)])
    struct.pack_into("<Q", out, at + 24, offset)
    return f"section {i} made NOBITS at offset {offset:#x}", bytes(out)


def _truncate(data: bytes, layout: Layout, rng: random.Random) -> tuple[str, bytes]:
    n = rng.randrange(len(data))
    return f"truncated to {n} bytes", data[:n]


MUTATIONS: list[tuple[Mutation, int]] = [
    (_field_mutation("header"), 2), (_field_mutation("section"), 6),
    (_field_mutation("symbol"), 5), (_field_mutation("relocation"), 5),
    (_byte_flip, 3), (_section_byte, 4), (_nobits, 1), (_truncate, 1),
]


def mutants(bases: dict[str, bytes], count: int, seed: int) -> list[tuple[str, str, bytes]]:
    """``count`` mutants (base, description, bytes) of the ``bases``, from ``seed``."""
    rng = random.Random(seed)
    kinds = [m for m, weight in MUTATIONS for _ in range(weight)]
    layouts = {name: Layout.of(data) for name, data in bases.items()}
    out = []
    for _ in range(count):
        base = rng.choice(sorted(bases))
        data = bases[base]
        descriptions = []
        for _ in range(rng.choice([1, 1, 1, 2])):      # sometimes two at once
            what, data = rng.choice(kinds)(data, layouts[base], rng)
            descriptions.append(what)
        out.append((base, "; ".join(descriptions), data))
    return out


# ---- sending them ------------------------------------------------------------

def _renamed(data: bytes, k: int) -> bytes:
    """``data`` with every name of its cell under prefix number ``k`` (same length)."""
    return data.replace(PREFIX, b"fz%04d_" % k)


def reason_of(error: qemu_bridge.SwapError) -> str:
    """The kernel's refusal reason, without the name it was about."""
    text = str(error).split("refused by the kernel: ", 1)[1].split("\n", 1)[0]
    text = text.removeprefix("refused: ")
    return text.split(" '", 1)[0].strip()


@dataclass
class FuzzRun:
    """A fuzzing session against one kernel image: rebooting as needed, and its tally."""

    image: Image
    vm: LiveKernel | None = None
    refusals: Counter = field(default_factory=Counter)
    accepted: int = 0
    crashes: list[tuple[str, str, str]] = field(default_factory=list)
    hangs: list[tuple[str, str, str]] = field(default_factory=list)
    broken: list[tuple[str, str, str]] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    _prefix: int = 1
    _since_boot: int = 0
    _heap: tuple[int, int] | None = None

    def boot(self) -> LiveKernel:
        """A fresh kernel (the old one, if any, is shut down)."""
        if self.vm is not None:
            self.vm.shutdown()
        self.vm = self.image.boot()
        self._since_boot = 0
        self._heap = heap(self.vm)
        return self.vm

    def send(self, base: str, what: str, data: bytes) -> str:
        """Upload and load one mutant; "accepted", "refused: REASON", "crash" or "hang"."""
        vm = self.vm or self.boot()
        name = f"fz{self._prefix:04d}_{base}"
        try:
            sent = vm.machine.upload(name, _renamed(data, self._prefix))
            if not sent.ok:
                # Uploads only check length and checksum: a refusal here means
                # earlier refused loads left their uploads behind.
                self.leaks.append(f"{base}: {what}: upload refused: {sent.output.strip()}")
                self.boot()
                return "upload refused"
            try:
                vm.machine.swap_uploaded([name], load=True)
            except qemu_bridge.SwapError as refused:
                reason = reason_of(refused)
                self.refusals[reason] += 1
                outcome = "refused: " + reason
            else:
                self.accepted += 1
                self._prefix += 1
                self._since_boot += 1
                outcome = "accepted"
            assert vm.command("echo alive", timeout=5.0) == "alive"
            # A refusal leaves nothing behind (its upload included); an
            # acceptance keeps the cell, so it sets the new baseline.
            now = heap(vm)
            if outcome != "accepted" and now != self._heap:
                self.leaks.append(f"{base}: {what}: heap {self._heap} -> {now}")
            self._heap = now
        except qemu_bridge.GuestTimeout:
            self.hangs.append((base, what, vm.transcript[-600:]))
            self.boot()
            return "hang"
        except qemu_bridge.GuestExited:
            self.crashes.append((base, what, vm.transcript[-600:]))
            self.boot()
            return "crash"
        except (qemu_bridge.ProtocolError, AssertionError):
            # The kernel answered, but not in its protocol (a name from the
            # object printed raw), or echo came back wrong.
            self.broken.append((base, what, vm.transcript[-600:]))
            self.boot()
            return "broken reply"
        if self._since_boot >= REBOOT_AFTER:
            self.boot()
        return outcome

    def summary(self) -> str:
        """Refusals by reason, acceptances, crashes and hangs, as lines of text."""
        lines = [f"{n:6d}  refused: {reason}" for reason, n in self.refusals.most_common()]
        lines.append(f"{sum(self.refusals.values()):6d}  refused in all")
        lines.append(f"{self.accepted:6d}  accepted")
        lines.append(f"{len(self.crashes):6d}  kernel crashes")
        lines.append(f"{len(self.hangs):6d}  hangs")
        lines.append(f"{len(self.broken):6d}  broken replies")
        lines.append(f"{len(self.leaks):6d}  leaks")
        lines += [f"  leak: {leak}" for leak in self.leaks]
        for base, what, tail in self.crashes + self.hangs + self.broken:
            lines.append(f"  {base}: {what}\n    " + tail.strip().replace("\n", "\n    "))
        return "\n".join(lines)


def heap(vm: LiveKernel) -> tuple[int, int]:
    """Live heap allocations and the bytes they asked for (exact, for leak checks)."""
    mem = dict(line.split() for line in vm.command("mem").splitlines())
    return int(mem["heap_allocs"]), int(mem["heap_requested"])


@pytest.fixture(scope="module")
def bases(kernel_image: Image) -> dict[str, bytes]:
    """The real objects the mutants are made from, compiled among the default kernel's cells."""
    with kernel_image.boot() as vm:
        return {name: vm.compile(PREFIX.decode() + name,
                                 next(s for s in kernel_image.sources if s.name == name).text).data
                for name in BASES}


def _fuzz(image: Image, bases: dict[str, bytes], count: int, seed: int) -> FuzzRun:
    run = FuzzRun(image)
    try:
        for base, what, data in mutants(bases, count, seed):
            run.send(base, what, data)
        if run.vm is not None:
            run.vm.command("echo done")
    finally:
        if run.vm is not None:
            run.vm.shutdown()
    return run


def test_fuzzed_objects_never_crash_the_kernel(kernel_image: Image, bases: dict[str, bytes],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    run = _fuzz(kernel_image, bases, CI_MUTANTS, SEED)
    with capsys.disabled():
        print(f"\nloader fuzz, {CI_MUTANTS} mutants, seed {SEED}:\n{run.summary()}")
    assert not run.crashes and not run.hangs and not run.broken, run.summary()
    assert not run.leaks, run.summary()
    # The mutants reach deep into the loader: most are refused, for many reasons.
    assert len(run.refusals) >= 10 and run.accepted > 0


@pytest.mark.skipif(not LONG_RUN, reason="set THESEUS_NB_FUZZ=N to fuzz N mutants")
def test_long_fuzz(kernel_image: Image, bases: dict[str, bytes],
                   capsys: pytest.CaptureFixture[str]) -> None:
    run = _fuzz(kernel_image, bases, LONG_RUN, SEED + 1)
    with capsys.disabled():
        print(f"\nloader fuzz, {LONG_RUN} mutants, seed {SEED + 1}:\n{run.summary()}")
    assert not run.crashes and not run.hangs and not run.broken and not run.leaks, run.summary()


# ---- every crash the fuzzer found, as a named case -------------------------------

def _section(data: bytes, name: str) -> tuple[int, int]:
    """(header offset, contents offset) of section ``name``."""
    elf = ELFFile(io.BytesIO(data))
    for i, sec in enumerate(elf.iter_sections()):
        if sec.name == name:
            return elf.header["e_shoff"] + i * 64, sec["sh_offset"]
    raise AssertionError(f"no section {name}")


def _symbol(data: bytes, name: str) -> int:
    """Offset of the symbol-table entry of ``name``."""
    symtab = ELFFile(io.BytesIO(data)).get_section_by_name(".symtab")
    for k, sym in enumerate(symtab.iter_symbols()):
        if sym.name == name:
            return symtab["sh_offset"] + k * 24
    raise AssertionError(f"no symbol {name}")


def _first_relocation(data: bytes) -> int:
    """Offset of the first entry of the first relocation table."""
    elf = ELFFile(io.BytesIO(data))
    return next(s for s in elf.iter_sections() if isinstance(s, RelocationSection))["sh_offset"]


def _patched(data: bytes, at: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, at, value)
    return bytes(out)


def _nobits_at(data: bytes, name: str, offset: int) -> bytes:
    header, _ = _section(data, name)
    return _patched(_patched(data, header + 4, "<I", 8), header + 24, "<Q", offset)


def _sigs_digit(data: bytes, value: int) -> bytes:
    # The first hash digit of the first line: "fz0000_counter::step HEX16".
    _, contents = _section(data, ".theseus.sigs")
    return _patched(data, contents + data[contents:].index(b" ") + 1, "<B", value)


def _undefined_name_byte(data: bytes) -> bytes:
    # A byte of "rt::panic", which counter imports, made unprintable: the
    # refusal names the symbol, and must still be a clean reply.
    at = data.index(b"rt::panic\0") + 2
    return _patched(data, at, "<B", 0xB7)


#: name -> (make the mutant from counter's object, the reason the kernel must give).
#: Each crashed the kernel before it was fixed (kernel panic or fault in the
#: loader) or garbled its reply.
REGRESSIONS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    # signatures::_hex: integer overflow in - (u8)
    "signature_digit_below_zero": (lambda d: _sigs_digit(d, 0x1F), "a hash is not hex"),
    # signatures::_hex: integer overflow in << (u64)
    "signature_digit_past_f": (lambda d: _sigs_digit(d, ord("z")), "a hash is not hex"),
    # general protection fault in signatures::sig_in_object
    "signature_table_made_bss": (lambda d: _nobits_at(d, ".theseus.sigs", 0x7FFFFFFFFFFFFFFF),
                                 "malformed signature table (.theseus.sigs): it has no contents"),
    # elf::string_len reading through a string table with a huge offset
    "string_table_made_bss": (lambda d: _nobits_at(d, ".strtab", 0xFFFFFFFFFFFFFFF0),
                              "a string or symbol table has no contents"),
    # reloc::patch: integer overflow in + (i64)
    "addend_near_2_63": (lambda d: _patched(d, _first_relocation(d) + 16, "<Q", 0x7FFFFFFFFFFFFFFF),
                         "relocation addend out of range"),
    # placement: integer overflow in + (u64) placing a bss section of 2^64 - 1 bytes
    "bss_of_2_64_bytes": (lambda d: _patched(d, _section(d, ".bss.fz0000_counter._count")[0] + 32,
                                             "<Q", 0xFFFFFFFFFFFFFFFF),
                          "a section is larger than params.MAX_SECTION_BYTES"),
    # loader::_export: integer overflow in + (u64) of a symbol value near 2^64
    "symbol_value_near_2_64": (lambda d: _patched(d, _symbol(d, "fz0000_counter::run") + 8, "<Q",
                                                  0xFFFFFFFFFFFFFFF8),
                               "a symbol lies outside its section"),
    # the refusal printed the name's raw byte: ProtocolError on the host
    "unprintable_name_in_a_refusal": (_undefined_name_byte, "unresolved symbol 'rt?:panic'"),
}


@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_a_mutant_that_crashed_the_kernel_is_refused(kernel_image: Image, bases: dict[str, bytes],
                                                     case: str) -> None:
    make, reason = REGRESSIONS[case]
    data = make(bases["counter"])
    with kernel_image.boot() as vm:
        before = heap(vm)
        assert vm.machine.upload("fz0000_counter", data).ok
        with pytest.raises(qemu_bridge.SwapError) as refused:
            vm.machine.swap_uploaded(["fz0000_counter"], load=True)
        assert reason in str(refused.value)
        assert vm.command("echo alive") == "alive"
        assert heap(vm) == before                       # the upload went with the refusal
        # and the object, unmutated, loads: the case was refused for its mutation
        assert vm.machine.upload("fz0000_counter", bases["counter"]).ok
        vm.machine.swap_uploaded(["fz0000_counter"], load=True)
