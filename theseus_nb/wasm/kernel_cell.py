"""A wasm module as a kernel cell: the IR that ``theseus_nb.compile`` builds into an object.

Symbols: every function is ``CELL::EXPORT`` (or ``CELL::funcN`` without an
export); an exported ``(i32) -> i32`` function keeps ``CELL::funcN`` and gets
a ``CELL::EXPORT`` task entry taking and returning u64, so that every
``(i64) -> i64`` or ``(i32) -> i32`` export can be spawned. An import is a
small thunk, ``CELL::import.MODULE.NAME``, that calls the kernel function of
``wasm_rt`` with the instance's memory struct first and every argument widened
to u64 (so the import is an edge to that kernel section in the graph).
The memory struct and the table are in the cell's own data. The loader sets the
instance up when it loads the cell (``CELL::.wasm_instantiate``: the memory, in a
guard region or from the heap, then globals and segments, with interrupts off) and
refuses the load if that fails; an exported function's first call runs the start
function (``CELL::.wasm_setup``; it also instantiates a cell that a recovery reload
has reset). The start function waits for that first call because it is the module's
own code: it may print, sleep or trap, which a load must not do.

A module that uses f32/f64 is compiled with SSE (build.SSE_FEATURES, up to
SSE4.2 as the CPU model has it, so floor/ceil/trunc/nearest are one roundsd
and need no libm): every task's SSE registers are saved on every switch
(kernel_src/fpu.py), while the rest of the kernel stays SSE-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvmlite import ir

from .abi import ENTRY_T, I32, I64, MEMORY_T, PAGE, PTR, TABLE_T, Names, signature_hash
from .decode import decode
from .errors import WasmError
from .lower import lower
from .module import FuncType, Module
from .validate import validate

__all__ = ["KernelCell", "kernel_cell", "KERNEL_IMPORTS", "KernelCellError"]

STR_T = ir.LiteralStructType([PTR, I64])   # the cell language's str: {ptr, len}
#: the function the loader calls when the cell is loaded (kernel_src/loader.py): i64 (),
#: 0 once the instance is set up, else one of the codes below (and the load is refused)
INSTANTIATE = ".wasm_instantiate"
NO_MEMORY = 3          # after abi.INIT_ELEM_FIT (1) and INIT_DATA_FIT (2): no memory left
NO_MEMORY_TRAP = 10    # wasm_rt.kind_name(10): the trap when the first call finds that
_V = FuncType
#: (module, name) -> (wasm type, wasm_rt function, does it return a value)
KERNEL_IMPORTS: dict[tuple[str, str], tuple[FuncType, str, bool]] = {
    ("theseus", "print"): (_V(("i32", "i32"), ("i32",)), "print_str", True),
    ("theseus", "print_u64"): (_V(("i64",), ()), "print_u64", False),
    ("theseus", "ticks"): (_V((), ("i64",)), "ticks", True),
    ("theseus", "cycles"): (_V((), ("i64",)), "cycles", True),
    ("theseus", "sleep"): (_V(("i64",), ()), "sleep", False),
    ("theseus", "yield"): (_V((), ()), "yield_", False),
    ("theseus", "spawn"): (_V(("i32", "i32", "i64"), ("i64",)), "spawn", True),
    ("theseus", "channel"): (_V(("i64",), ("i64",)), "channel", True),
    ("theseus", "send"): (_V(("i64", "i64"), ()), "send", False),
    ("theseus", "recv"): (_V(("i64",), ("i64",)), "recv", True),
    ("wasi_snapshot_preview1", "fd_write"): (_V(("i32",) * 4, ("i32",)), "fd_write", True),
    ("wasi_snapshot_preview1", "proc_exit"): (_V(("i32",), ()), "proc_exit", False),
    ("wasi_snapshot_preview1", "args_sizes_get"): (_V(("i32",) * 2, ("i32",)), "args_sizes_get",
                                                   True),
    ("wasi_snapshot_preview1", "args_get"): (_V(("i32",) * 2, ("i32",)), "args_get", True),
    ("wasi_snapshot_preview1", "environ_sizes_get"): (_V(("i32",) * 2, ("i32",)),
                                                      "environ_sizes_get", True),
    ("wasi_snapshot_preview1", "environ_get"): (_V(("i32",) * 2, ("i32",)), "environ_get", True),
    ("wasi_snapshot_preview1", "clock_time_get"): (_V(("i32", "i64", "i32"), ("i32",)),
                                                   "clock_time_get", True),
    ("wasi_snapshot_preview1", "fd_close"): (_V(("i32",), ("i32",)), "fd_close", True),
    ("wasi_snapshot_preview1", "fd_fdstat_get"): (_V(("i32",) * 2, ("i32",)), "fd_fdstat_get",
                                                  True),
    ("wasi_snapshot_preview1", "fd_seek"): (_V(("i32", "i64", "i32", "i32"), ("i32",)),
                                            "fd_seek", True),
}


class KernelCellError(WasmError):
    """A valid module that cannot become a kernel cell (an import the kernel does not
    provide, a table or memory import, ...)."""


@dataclass
class KernelCell:
    """The IR of a wasm cell (``build.compile_object`` gives it its sections), and what the
    kernel may call by name."""

    module: ir.Module
    #: export name -> wasm type, for every exported function
    exports: dict[str, FuncType]
    #: globals a hot swap must not carry over (the table: it points at functions)
    fresh: list
    #: the names of the task entries (u64 -> u64): spawnable exports, and ``main`` for a
    #: WASI program (it runs ``_start``)
    tasks: list[str]
    #: it uses f32/f64: compile it with SSE
    floats: bool = False
    #: "guard" or "checks" (kernel_cell's argument)
    bounds: str = "guard"
    #: the globals that say where the instance's memory is and whether it is set up
    instance: tuple = ()


def _uses_floats(m: Module) -> bool:
    types = {t for ft in m.types for t in ft.params + ft.results}
    types |= {g.type for g in m.globals} | {t for f in m.funcs for t in f.locals}
    if types & {"f32", "f64"}:
        return True
    return any(i.op.startswith(("f32.", "f64.")) or "_f32" in i.op or "_f64" in i.op
               for f in m.funcs for i in f.body)


BOUNDS = ("guard", "checks")


def kernel_cell(cell: str, wasm: bytes, bounds: str = "guard") -> KernelCell:
    """Translate a module into the IR of kernel cell ``cell``; refuse what the kernel cannot
    run with a KernelCellError naming it (imports by module and name).

    ``bounds``: how no access leaves the instance's memory. "guard" (the default, the
    faster: bench/bench_wasm.py): the memory has an 8 GiB slot of its own with only its
    live pages mapped, and the page fault of an access past them is the trap
    (kernel_src/wasm_memory.py); "checks": every access is compared with the memory's
    size first, and the memory is a heap block."""
    if bounds not in BOUNDS:
        raise ValueError(f"bounds must be one of {BOUNDS}, not {bounds!r}")
    m = decode(wasm)
    validate(m)
    for imp in m.imports:
        if imp.kind != "func":
            raise KernelCellError(f"cell {cell!r} imports {imp.kind} {imp.module}.{imp.name}: "
                                  "a kernel cell may import only functions")
        known = KERNEL_IMPORTS.get((imp.module, imp.name))
        if known is None:
            raise KernelCellError(f"cell {cell!r} imports {imp.module}.{imp.name}, which the "
                                  "kernel does not provide (it provides: " +
                                  ", ".join(f"{a}.{b}" for a, b in KERNEL_IMPORTS) + ")")
        if m.types[imp.desc] != known[0]:  # type: ignore[index]
            raise KernelCellError(f"cell {cell!r} imports {imp.module}.{imp.name} as "
                                  f"{m.types[imp.desc]}, but the kernel's is {known[0]}")  # type: ignore[index]
    nimp = m.num_imported_funcs
    ftypes = m.func_types
    export_of = {}
    for e in m.exports:
        if e.kind == "func" and e.index >= nimp:
            export_of.setdefault(e.index, e.name)
    spawn_i32 = {i for i, n in export_of.items() if ftypes[i] == FuncType(("i32",), ("i32",))}

    def func_name(i: int) -> str:
        if i < nimp:
            imp = m.imports[i]
            return f"{cell}::import.{imp.module}.{imp.name}"
        if i in export_of and i not in spawn_i32:
            return f"{cell}::{export_of[i]}"
        return f"{cell}::func{i}"

    names = Names(func=func_name, glob=lambda i: f"{cell}::global{i}",
                  memory=f"{cell}::.memory", table=f"{cell}::.table", init=f"{cell}::.wasm_init",
                  trap=f"{cell}::.wasm_trap",
                  memory_grow="wasm_rt::memory_grow_guard" if bounds == "guard" else
                  "wasm_rt::memory_grow", bounds=bounds,
                  data=lambda i: f"{cell}::.data{i}", define_memory=True,
                  ready=f"{cell}::.wasm_ready", setup=f"{cell}::.wasm_setup", semantics="1.0")
    mod = lower(m, names, triple="x86_64-unknown-none-elf")
    _runtime_glue(mod, m, cell, names, func_name, spawn_i32, export_of, bounds)
    exports = {e.name: ftypes[e.index] for e in m.exports if e.kind == "func"}
    tasks = [n for n, ft in exports.items()
             if ft in (FuncType(("i64",), ("i64",)), FuncType(("i32",), ("i32",)))]
    if exports.get("_start") == FuncType((), ()) and "main" not in exports:
        tasks.append("main")
    return KernelCell(mod, exports, [f"{cell}::.table", f"{cell}::.table_entries"], tasks,
                      floats=_uses_floats(m), bounds=bounds,
                      instance=(names.memory, names.ready, f"{cell}::.wasm_made"))


def _runtime_glue(mod: ir.Module, m: Module, cell: str, names: Names, func_name,
                  spawn_i32: set, export_of: dict, bounds: str) -> None:
    """What ties the lowered functions to wasm_rt: thunks, trap, setup, memory and table."""
    g = mod.globals
    i8 = ir.IntType(8)
    # memory and table structs (defined zeroed by the lowering): give them their contents
    if m.memories:
        lim = m.memories[0]
        g[names.memory].initializer = ir.Constant(MEMORY_T, [
            ir.Constant(PTR, None), ir.Constant(I64, 0),
            ir.Constant(I64, 65536 if lim.max is None else lim.max)])
    if m.tables:
        n = m.tables[0].min
        arr = ir.ArrayType(ENTRY_T, max(n, 1))
        entries = ir.GlobalVariable(mod, arr, f"{cell}::.table_entries")
        # Written here, not only by init: a hot swap keeps the memory and the globals of the
        # running instance, but the table must point at the new version's functions, so it
        # is in the object (relocations to the functions) and never carried over.
        slots: list = [ir.Constant(ENTRY_T, None)] * max(n, 1)
        for e in m.elems:
            if e.mode == "active" and e.offset_expr and e.offset_expr[0].op == "i32.const":
                base_ix = e.offset_expr[0].imm & 0xFFFFFFFF  # type: ignore[operator]
                for k, fi in enumerate(e.funcs):
                    if fi is not None and base_ix + k < n:
                        slots[base_ix + k] = ir.Constant(ENTRY_T, [
                            ir.Constant(I64, signature_hash(m.func_types[fi])),
                            g[func_name(fi)].bitcast(PTR)])
        entries.initializer = ir.Constant(arr, slots)
        g[names.table].initializer = ir.Constant(TABLE_T, [entries.bitcast(PTR),
                                                           ir.Constant(I64, n)])
    # the function names a trap reports, by function index (-1: the set-up)
    strings = []
    for i in range(len(m.func_types)):
        strings.append(_string(mod, f"{cell}::.name{i}", func_name(i)))
    setup_name = _string(mod, f"{cell}::.name_setup", f"{cell}::(instantiation)")
    kernel_trap = ir.Function(mod, ir.FunctionType(ir.VoidType(), [I64, STR_T]), "wasm_rt::trap")
    trap = g[names.trap]
    b = ir.IRBuilder(trap.append_basic_block("entry"))
    table = ir.ArrayType(STR_T, len(strings) + 1)
    where_tab = ir.GlobalVariable(mod, table, f"{cell}::.names")
    where_tab.initializer = ir.Constant(table, strings + [setup_name])
    where_tab.global_constant = True
    idx = b.select(b.icmp_signed("<", trap.args[1], ir.Constant(I32, 0)),
                   ir.Constant(I32, len(strings)), trap.args[1])
    where = b.load(b.gep(where_tab, [ir.Constant(I32, 0), idx]))
    b.call(kernel_trap, [b.zext(trap.args[0], I64), where])
    b.unreachable()
    # import thunks
    memptr = g.get(names.memory)
    for i, imp in enumerate(m.imported("func")):
        ft, kfn, returns = KERNEL_IMPORTS[(imp.module, imp.name)]
        target = ir.Function(mod, ir.FunctionType(I64 if returns else ir.VoidType(),
                                                  [I64] * (1 + len(ft.params))), f"wasm_rt::{kfn}")
        thunk = g[func_name(i)]
        thunk.linkage = ""
        b = ir.IRBuilder(thunk.append_basic_block("entry"))
        mem = b.ptrtoint(memptr, I64) if memptr is not None else ir.Constant(I64, 0)
        args = [mem] + [a if a.type == I64 else b.zext(a, I64) for a in thunk.args]
        r = b.call(target, args)
        if ft.results:
            b.ret(b.trunc(r, I32) if ft.results[0] == "i32" else r)
        else:
            b.ret_void()
    _instantiation(mod, m, cell, names, bounds, trap, func_name(m.start) if m.start is not None
                   else None)
    # a WASI program's _start as CELL::main(u64) -> u64: a shell command, or a task
    start = next((e for e in m.exports if e.name == "_start" and e.kind == "func"), None)
    if start is not None and m.func_types[start.index] == FuncType((), ()):
        w = ir.Function(mod, ir.FunctionType(I64, [I64]), f"{cell}::main")
        b = ir.IRBuilder(w.append_basic_block("entry"))
        b.call(g[func_name(start.index)], [])
        b.ret(ir.Constant(I64, 0))
    # task entries for (i32) -> i32 exports: u64 in, u64 out
    for i in sorted(spawn_i32):
        w = ir.Function(mod, ir.FunctionType(I64, [I64]), f"{cell}::{export_of[i]}")
        b = ir.IRBuilder(w.append_basic_block("entry"))
        r = b.call(g[func_name(i)], [b.trunc(w.args[0], I32)])
        b.ret(b.zext(r, I64))


def _instantiation(mod: ir.Module, m: Module, cell: str, names: Names, bounds: str,
                   trap: ir.Function, start: str | None) -> None:
    """CELL::.wasm_instantiate, which the loader calls, and CELL::.wasm_setup, which an
    export's first call makes."""
    g = mod.globals
    i8 = ir.IntType(8)
    memptr = g.get(names.memory)
    # instantiation: memory, then globals and segments, once (the loader calls it when the
    # cell is loaded, and refuses the load when it fails: kernel_src/loader.py)
    made = ir.GlobalVariable(mod, i8, f"{cell}::.wasm_made")
    made.initializer = ir.Constant(i8, 0)
    inst = ir.Function(mod, ir.FunctionType(I64, []), f"{cell}::{INSTANTIATE}")
    b = ir.IRBuilder(inst.append_basic_block("entry"))
    irq_off = ir.Function(mod, ir.FunctionType(I64, []), "irq::irq_off")
    irq_restore = ir.Function(mod, ir.FunctionType(ir.VoidType(), [I64]), "irq::irq_restore")
    flags = b.call(irq_off, [])          # interrupts off, so two tasks cannot race
    status = b.alloca(I64)
    b.store(ir.Constant(I64, 0), status)

    def init_globals_and_segments() -> None:
        code = b.call(g[names.init], [])
        b.store(b.zext(code, I64), status)   # INIT_ELEM_FIT / INIT_DATA_FIT, or 0
        with b.if_then(b.icmp_unsigned("==", code, ir.Constant(I32, 0))):
            b.store(ir.Constant(i8, 1), made)

    with b.if_then(b.icmp_unsigned("==", b.load(made), ir.Constant(i8, 0))):
        if not m.memories:
            init_globals_and_segments()
        else:
            nbytes = m.memories[0].min * PAGE
            if bounds == "guard":
                reserve = ir.Function(mod, ir.FunctionType(I64, [STR_T, I64]),
                                      "wasm_memory::reserve")
                base = b.call(reserve, [_string(mod, f"{cell}::.name_cell", cell),
                                        ir.Constant(I64, nbytes)])
            else:
                alloc = ir.Function(mod, ir.FunctionType(I64, [I64]), "wasm_rt::memory_alloc")
                base = b.call(alloc, [ir.Constant(I64, nbytes)])
            with b.if_else(b.icmp_unsigned("==", base, ir.Constant(I64, 0))) as (none, some):
                with none:
                    b.store(ir.Constant(I64, NO_MEMORY), status)
                with some:
                    zero = ir.Constant(I32, 0)
                    b.store(b.inttoptr(base, PTR), b.gep(memptr, [zero, zero]))
                    b.store(ir.Constant(I64, nbytes), b.gep(memptr, [zero, ir.Constant(I32, 1)]))
                    init_globals_and_segments()
    b.call(irq_restore, [flags])
    b.ret(b.load(status))
    # the first call of an export: instantiate if the loader has not, then the start function
    setup = g[names.setup]
    b = ir.IRBuilder(setup.append_basic_block("entry"))
    code = b.call(inst, [])
    with b.if_then(b.icmp_unsigned("!=", code, ir.Constant(I64, 0)), likely=False):
        b.call(trap, [b.select(b.icmp_unsigned("==", code, ir.Constant(I64, NO_MEMORY)),
                               ir.Constant(I32, NO_MEMORY_TRAP), ir.Constant(I32, 4)),
                      ir.Constant(I32, -1)])
        b.unreachable()
    if start is not None:
        flags = b.call(irq_off, [])     # one task wins the first call: it runs start
        first = b.icmp_unsigned("==", b.load(g[names.ready]), ir.Constant(i8, 0))
        b.store(ir.Constant(i8, 1), g[names.ready])
        b.call(irq_restore, [flags])
        with b.if_then(first):
            # after ready is set, so the start function may call the module's exports
            b.call(g[start], [])
    else:
        b.store(ir.Constant(i8, 1), g[names.ready])
    b.ret_void()


def _string(mod: ir.Module, sym: str, text: str) -> ir.Constant:
    data = text.encode()
    arr = ir.ArrayType(ir.IntType(8), len(data))
    gv = ir.GlobalVariable(mod, arr, sym)
    gv.initializer = ir.Constant(arr, bytearray(data))
    gv.global_constant = True
    return ir.Constant(STR_T, [gv.bitcast(PTR), ir.Constant(I64, len(data))])
