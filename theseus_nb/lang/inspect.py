"""Every compiler stage one call away: IR, optimized IR, and x86-64 assembly for the kernel target.

The kernel target has no SSE (interrupts do not save it), no red zone, static
relocation and the kernel code model, matching what theseus_nb.build produces.
"""
from __future__ import annotations

import llvmlite.binding as llvm

from .compile import compile_cell
from .jit import init_llvm, optimize

KERNEL_TRIPLE = "x86_64-unknown-none-elf"
KERNEL_FEATURES = "-sse,-sse2,-sse3,-ssse3,-sse4.1,-sse4.2,-avx,-avx2,-mmx,+soft-float"


def kernel_target_machine(opt: int = 2) -> llvm.TargetMachine:
    """The TargetMachine used to show kernel assembly (no SSE, static, kernel code model)."""
    init_llvm()
    target = llvm.Target.from_triple(KERNEL_TRIPLE)
    return target.create_target_machine(cpu="x86-64", features=KERNEL_FEATURES, opt=opt,
                                        reloc="static", codemodel="kernel")


def _parsed(source: str, name: str, unsafe: bool, interfaces: dict) -> llvm.ModuleRef:
    cc = compile_cell(source, name, unsafe=unsafe, interfaces=interfaces)
    mod = llvm.parse_assembly(str(cc.module))
    mod.triple = KERNEL_TRIPLE
    tm = kernel_target_machine()
    mod.data_layout = str(tm.target_data)
    for fn in mod.functions:
        if not fn.is_declaration:
            fn.add_function_attribute("noredzone")
    mod.verify()
    return mod


def show_ir(source: str, name: str = "cell", *, unsafe: bool = False, interfaces: dict = {}) -> str:
    """The cell's LLVM IR exactly as the compiler emits it (untargeted)."""
    return str(compile_cell(source, name, unsafe=unsafe, interfaces=interfaces).module)


def show_optimized_ir(source: str, name: str = "cell", *, unsafe: bool = False,
                      interfaces: dict = {}, level: int = 2) -> str:
    """The IR after LLVM's -O2 pipeline for the kernel target."""
    mod = _parsed(source, name, unsafe, interfaces)
    optimize(mod, kernel_target_machine(), level)
    return str(mod)


def show_asm(source: str, name: str = "cell", *, unsafe: bool = False, interfaces: dict = {},
             level: int = 2) -> str:
    """x86-64 assembly (AT&T) for the kernel target after -O2."""
    mod = _parsed(source, name, unsafe, interfaces)
    tm = kernel_target_machine()
    optimize(mod, tm, level)
    return tm.emit_assembly(mod)
