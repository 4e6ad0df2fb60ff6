"""Build: turn a cell's LLVM IR into an x86-64 ELF relocatable object.

Every function and global goes into a section of its own
(``.text.<cell>.<name>``, ``.data.<cell>.<name>``, ...), because sections are
the unit that the nano_core's loader places, links and later swaps. Objects
are cached by the hash of their IR and target settings, so an unchanged cell
is never compiled twice.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import llvmlite
import llvmlite.binding as llvm
from llvmlite import ir

from .errors import TheseusError

__all__ = [
    "KERNEL_TRIPLE",
    "KERNEL_FEATURES",
    "SSE_FEATURES",
    "BuildError",
    "compile_object",
    "kernel_target_machine",
    "module_asm",
    "assign_sections",
    "assign_sections_text",
    "section_name",
    "cache_dir",
    "store_cached",
    "kernel_ir",
    "kernel_asm",
]

#: Freestanding target: no OS, ELF objects.
KERNEL_TRIPLE = "x86_64-unknown-none-elf"

#: Kernel code never touches SSE/x87 state: interrupts and task switches then
#: need to save only the general-purpose registers.
KERNEL_FEATURES = "-mmx,-sse,-sse2,-sse3,-ssse3,-sse4.1,-sse4.2,-avx,-avx2,+soft-float"

#: A cell compiled with SSE (``CellSource(..., sse=True)``, or a ``.ll`` cell
#: whose first lines say ``; cell: sse2``): floats in xmm registers, for
#: code that needs them (wasm f32/f64): SSE up to 4.2, as the CPU model
#: (qemu_bridge.qemu.CPU_MODEL) has it, so rounding is one roundsd instead
#: of a libm call no kernel defines; kernel_src/fpu.py saves these registers
#: of every task on every switch.
#: The rest of the kernel stays on KERNEL_FEATURES, so interrupts and the
#: kernel's own code never touch them.
SSE_FEATURES = "-mmx,+sse,+sse2,+sse3,+ssse3,+sse4.1,+sse4.2,-avx,-avx2"

_init_lock = threading.Lock()
_initialised = False


class BuildError(TheseusError):
    """LLVM refused the IR of a cell (a compiler bug, or hand-written IR)."""


#: LLVM options for the kernel's code generation (process-wide: LLVM has no
#: per-function switch for these). Shrink-wrapping would move a function's
#: prologue off its fast path, so a fault there would find rbp still the
#: caller's and the backtrace would skip a frame (kernel_src/backtrace.py).
LLVM_OPTIONS = ("-enable-shrink-wrap=false",)


def _init_llvm() -> None:
    global _initialised
    with _init_lock:
        if not _initialised:
            llvm.initialize_all_targets()
            llvm.initialize_all_asmprinters()
            # Module-level asm (the boot stub) needs the asm parser too.
            llvm.initialize_native_asmparser()
            for option in LLVM_OPTIONS:
                llvm.set_option("theseus-nb", option)
            _initialised = True


@functools.lru_cache(maxsize=None)
def kernel_target_machine(opt: int = 2, sse: bool = False) -> llvm.TargetMachine:
    """Return the target machine used for every kernel cell, made once per
    level (``sse``: for a cell compiled with SSE2, see SSE_FEATURES).

    Static relocation model and the small code model: the whole kernel lives
    in the first gigabytes of an identity-mapped address space, so 32-bit
    absolute and PC-relative relocations always reach.
    """
    _init_llvm()
    target = llvm.Target.from_triple(KERNEL_TRIPLE)
    return target.create_target_machine(
        cpu="x86-64", features=SSE_FEATURES if sse else KERNEL_FEATURES, opt=opt,
        reloc="static", codemodel="small"
    )


def section_name(kind: str, cell: str, symbol: str) -> str:
    """Section name for a definition: ``.text.serial.write_str``.

    ``kind`` is ``text``, ``data``, ``rodata`` or ``bss``; the ``cell::``
    prefix of a mangled symbol is dropped because the cell is already named.
    """
    short = symbol.split("::", 1)[1] if symbol.startswith(cell + "::") else symbol
    return f".{kind}.{cell}.{short}"


def _is_zero(initializer: object) -> bool:
    # Zero-filled globals (the kernel's big tables) must go to .bss, or the
    # boot image carries hundreds of kilobytes of zeros.
    if initializer is None:
        return True
    value = getattr(initializer, "constant", initializer)
    if value is None or value is ir.Undefined:
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_zero(v) for v in value)
    if isinstance(value, (int, bool)):
        return not value
    return False


def assign_sections(module: ir.Module, cell: str) -> None:
    """Give every definition in ``module`` without a section its own one."""
    for value in module.global_values:
        if isinstance(value, ir.Function):
            if value.is_declaration:
                continue
            value.attributes.add("noredzone")
            value.attributes.add("nounwind")
            if ("::_" not in value.name and "::.str" not in value.name
                    and value.linkage not in ("internal", "private")):
                # A public function stays a real call: each call is then a
                # relocation, an edge of the section graph, and a place a
                # hot swap can redirect (LLVM would otherwise inline it).
                value.attributes.add("noinline")
            if not value.section:
                value.section = section_name("text", cell, value.name)
        elif isinstance(value, ir.GlobalVariable):
            if value.initializer is None and value.linkage == "external":
                continue  # a declaration of another cell's global
            if not value.section:
                if value.global_constant:
                    kind = "rodata"
                elif _is_zero(value.initializer):
                    kind = "bss"
                else:
                    kind = "data"
                value.section = section_name(kind, cell, value.name)


def module_asm(asm: str) -> str:
    """Wrap assembly source as the module-level asm of an IR module."""
    lines = []
    for line in asm.splitlines():
        escaped = line.replace("\\", "\\5C").replace('"', "\\22")
        lines.append(f'module asm "{escaped}"')
    return "\n".join(lines) + "\n"


def store_cached(path: Path, data: bytes) -> None:
    """Write a cache entry atomically: a concurrent build never reads half a file."""
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)


def cache_dir() -> Path:
    """Where compiled objects are kept (``$THESEUS_NB_CACHE`` or ~/.cache)."""
    root = os.environ.get("THESEUS_NB_CACHE") or Path.home() / ".cache" / "theseus-nb"
    path = Path(root) / "objects"
    path.mkdir(parents=True, exist_ok=True)
    return path


_DEFINE = re.compile(r'^(define [^@]*@("[^"]+"|[\w.$]+)\(.*\)[^{]*?)\s*\{\s*$')
_GLOBAL = re.compile(r'^@("[^"]+"|[\w.$]+) = (.*)$')


def assign_sections_text(text: str, cell: str) -> str:
    """``assign_sections`` for hand-written IR text (the nano_core's .ll files)."""
    out = []
    for line in text.splitlines():
        if "section" not in line:
            if m := _DEFINE.match(line):
                name = m.group(2).strip('"')
                line = f'{m.group(1)} noredzone nounwind section "{section_name("text", cell, name)}" {{'
            elif (m := _GLOBAL.match(line)) and any(
                    f" {word} " in f" {m.group(2)} " for word in ("global", "constant")):
                name, rest = m.group(1).strip('"'), m.group(2)
                if " constant " in f" {rest} ":
                    kind = "rodata"
                elif rest.endswith("zeroinitializer") or rest.endswith(" 0"):
                    kind = "bss"
                else:
                    kind = "data"
                line = f'{line}, section "{section_name(kind, cell, name)}"'
        out.append(line)
    return "\n".join(out) + "\n"


_LINKAGES = ("private", "internal", "available_externally", "linkonce", "weak", "common",
             "appending", "extern_weak", "linkonce_odr", "weak_odr", "external")
_PREEMPTION = re.compile(r"\b(dso_local|dso_preemptable)\b")
_GLOBAL_HEAD = re.compile(r'^(@(?:"[^"]+"|[\w.$]+) = )((?:\w+ )*?)(global|constant) ')


def _insert_after_linkage(rest: str) -> str:
    words = rest.split(" ")
    i = 0
    while i < len(words) and words[i] in _LINKAGES:
        i += 1
    return " ".join(words[:i] + ["dso_local"] + words[i:])


def mark_dso_local(text: str) -> str:
    """Mark every function and global ``dso_local``.

    LLVM 22 ignores the static relocation model when deciding whether a
    symbol may live in another shared object, and would reach undefined
    globals through a GOT.  Everything in this kernel is in one address
    space and linked by us, so nothing is preemptable.
    """
    out = []
    for line in text.splitlines():
        if not _PREEMPTION.search(line.split("(", 1)[0]):
            if line.startswith("@") and (m := _GLOBAL_HEAD.match(line)):
                line = m.group(1) + _insert_after_linkage(line[len(m.group(1)):])
            elif line.startswith(("define ", "declare ")):
                keyword, rest = line.split(" ", 1)
                line = f"{keyword} {_insert_after_linkage(rest)}"
        out.append(line)
    return "\n".join(out) + "\n"


#: LLVM's stack probes, as inline code: a function whose frame is larger than
#: a page touches each page of it in order, from the top down, so it cannot
#: step over the unmapped guard page under its stack into someone else's memory.
PROBE_STACK = '"probe-stack"="inline-asm"'

#: Every function keeps its frame pointer in rbp, so the kernel can walk a
#: faulting task's stack frame by frame (kernel_src/backtrace.py): each rbp
#: points at the caller's saved rbp, with the return address above it.
FRAME_POINTER = '"frame-pointer"="all"'

#: The string attributes every function definition gets.
FUNCTION_ATTRS = f"{PROBE_STACK} {FRAME_POINTER}"


def mark_probe_stack(text: str) -> str:
    """Give every function definition the ``probe-stack`` and
    ``frame-pointer`` attributes (FUNCTION_ATTRS).

    llvmlite's attribute set only knows LLVM's keyword attributes, so this
    works on the text; function attributes go before ``section``.
    """
    out = []
    for line in text.splitlines():
        if line.startswith("define ") and "probe-stack" not in line:
            if ' section "' in line:
                line = line.replace(' section "', f" {FUNCTION_ATTRS} section \"", 1)
            elif line.rstrip().endswith("{"):
                line = line.rstrip()[:-1].rstrip() + f" {FUNCTION_ATTRS} {{"
            else:
                line = f"{line} {FUNCTION_ATTRS}"
        out.append(line)
    return "\n".join(out) + "\n"


def _prepare_text(module: ir.Module | str, cell: str,
                  render: Callable[[ir.Module], str] = str) -> str:
    if isinstance(module, ir.Module):
        assign_sections(module, cell)
        text = render(module)
    else:
        text = assign_sections_text(module, cell)
    # Both targets are set here so that a cell's IR never depends on them.
    text = re.sub(r'^target (triple|datalayout) = ".*"\n', "", text, flags=re.M)
    text = mark_probe_stack(mark_dso_local(text))
    return f'target triple = "{KERNEL_TRIPLE}"\n' + text


@dataclass(frozen=True)
class CompiledObject:
    """An ELF object and whether it came from the cache."""

    data: bytes
    cached: bool
    key: str


def compile_object(module: ir.Module | str, cell: str, *, opt: int = 2,
                   use_cache: bool = True, extra_ir: str = "", sse: bool = False,
                   render: Callable[[ir.Module], str] = str) -> CompiledObject:
    """Compile IR (an ``ir.Module`` or IR text) of ``cell`` to an ELF object.

    ``extra_ir`` is appended to the module's text (module-level asm, such as
    the signature table); ``sse`` compiles with SSE_FEATURES instead of
    KERNEL_FEATURES; ``render`` turns an ``ir.Module`` into text once its
    sections are assigned (a wasm cell's adds what llvmlite.ir cannot say:
    ``theseus_nb.wasm.lower.ir_text``). Raises ``BuildError`` with LLVM's
    message when the IR does not verify.
    """
    text = _prepare_text(module, cell, render) + extra_ir
    features = SSE_FEATURES if sse else KERNEL_FEATURES
    key_src = "\0".join([text, features, str(opt), llvmlite.__version__, *LLVM_OPTIONS])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:32]
    path = cache_dir() / f"{cell}-{key}.o"
    if use_cache and path.exists():
        return CompiledObject(path.read_bytes(), True, key)
    parsed, machine = _parse_prepared(text, cell, opt, sse)
    data = machine.emit_object(parsed)
    store_cached(path, data)
    return CompiledObject(data, False, key)


def _parse_for_kernel(module: ir.Module | str, cell: str, opt: int,
                      sse: bool = False) -> tuple[llvm.ModuleRef, llvm.TargetMachine]:
    return _parse_prepared(_prepare_text(module, cell), cell, opt, sse)


def _parse_prepared(text: str, cell: str, opt: int,
                    sse: bool = False) -> tuple[llvm.ModuleRef, llvm.TargetMachine]:
    machine = kernel_target_machine(opt, sse)
    try:
        parsed = llvm.parse_assembly(text)
        parsed.verify()
    except RuntimeError as exc:
        raise BuildError(f"LLVM rejected the IR of cell {cell!r}: {exc}") from None
    parsed.data_layout = str(machine.target_data)
    if opt:
        _optimise(parsed, machine, opt)
    return parsed, machine


def kernel_ir(module: ir.Module | str, cell: str, opt: int = 2, sse: bool = False) -> str:
    """The IR of ``cell`` exactly as the kernel build compiles it (targeted,
    sections assigned, after LLVM's -O``opt`` pipeline)."""
    return str(_parse_for_kernel(module, cell, opt, sse)[0])


def kernel_asm(module: ir.Module | str, cell: str, opt: int = 2, sse: bool = False) -> str:
    """The x86-64 assembly (AT&T) of ``cell`` exactly as the kernel build emits it."""
    parsed, machine = _parse_for_kernel(module, cell, opt, sse)
    return machine.emit_assembly(parsed)


def _optimise(module: llvm.ModuleRef, machine: llvm.TargetMachine, level: int) -> None:
    pto = llvm.create_pipeline_tuning_options(speed_level=level)
    pb = llvm.create_pass_builder(machine, pto)
    pm = pb.getModulePassManager()
    pm.run(module, pb)
