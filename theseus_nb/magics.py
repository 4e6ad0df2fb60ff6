"""Magics: the IPython extension (``%load_ext theseus_nb``).

    %%cell NAME [--unsafe] [--isolated|--trusted]
                              compile a cell; show its sections, symbols and
                              relocations (or the error); swap it in if attached
    %%cell NAME --wasm / --c  the same for WAT text, or C compiled by clang to wasm32
                              (an unsafe cell loaded at run time is isolated
                              unless --trusted)
    %boot [--accel A] [--as VAR] build the default kernel plus the notebook's cells, boot it
    %attach [VAR] / %detach   choose the machine the other magics talk to
    %kernel COMMAND           run a shell command in the guest
    %tasks                    the guest's task table
    %faults                   the kernel's fault log: causes, backtraces, what recovery did
    %rollback NAME            swap cell NAME back to its previous version (LiveKernel.rollback)
    %history NAME             every version of cell NAME since boot
    %graph [CELL] [--depth N] [--sections] [--focus S] [--hide-core]
    %disasm CELL::FUNCTION [--ir|--opt|--asm]

Cells written with %%cell are kept in the notebook's registry and become
real cells of the image at the next %boot. A failed compile or a refused
swap is shown, not raised, so a teaching notebook can show its errors and
go on; ``TheseusMagics.last_error`` keeps the exception.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import HTML, display

from .compile import CellSource, compile_among, interfaces_of
from .display import html_table
from .errors import TheseusError
from .graph import SectionGraph
from .kernel import Kernel
from .live import LiveKernel
from .objects import CellObject
from .stages import STAGES, show_stage
from .swap_report import SwapReport

__all__ = ["TheseusMagics", "CellReport", "Disassembly", "load_magics"]


@dataclass
class CellReport:
    """What ``%%cell`` shows: the compiled cell's sections, public symbols and relocations."""

    name: str
    sections: list[tuple[str, str, int]]  # (qualified name, kind, size)
    symbols: list[str]  # public symbols the cell defines
    imports: list[str]  # symbols it needs from other cells
    relocations: list[tuple[str, int, str, str, int]]  # (section, offset, type, target, addend)
    swap: SwapReport | None = None  # when the cell went into a running machine
    action: str = ""  # "registered", "swapped" or "loaded"

    def _repr_html_(self) -> str:
        parts = [f"<b>cell {html.escape(self.name)}</b>: {len(self.sections)} sections, "
                 f"{len(self.symbols)} public symbols, {len(self.relocations)} relocations; "
                 f"{html.escape(self.action)}",
                 "<div style='display:flex;gap:16px;align-items:flex-start'>",
                 html_table(("section", "kind", "bytes"), self.sections, caption="sections"),
                 html_table(("public symbol",), [[s] for s in self.symbols], caption="defines"),
                 html_table(("in section", "offset", "type", "target", "addend"),
                            [(s, f"{o:#x}", t, g, a) for s, o, t, g, a in self.relocations],
                            caption="relocations"),
                 "</div>"]
        if self.swap is not None:
            parts.append(self.swap._repr_html_())
        return "".join(parts)

    def __repr__(self) -> str:
        return (f"<CellReport {self.name}: {len(self.sections)} sections, "
                f"{len(self.symbols)} symbols, {len(self.relocations)} relocations, {self.action}>")


@dataclass
class Disassembly:
    """One function at one compiler stage (IR, optimised IR or assembly)."""

    function: str
    stage: str
    text: str

    def _repr_html_(self) -> str:
        return (f"<b>{html.escape(self.function)}</b> <small>({html.escape(self.stage)})</small>"
                f"<pre style='font-size:12px'>{html.escape(self.text)}</pre>")

    def __repr__(self) -> str:
        return f"; {self.function} ({self.stage})\n{self.text}"


def _cell_report(name: str, obj: CellObject) -> CellReport:
    named = {i: obj.symbol_of(s) for i, s in obj.sections.items()}
    return CellReport(
        name,
        sections=[(named[i], s.kind, s.size) for i, s in obj.sections.items()],
        symbols=sorted(s.name for s in obj.defined if s.kind in ("func", "object")),
        imports=sorted({s.name for s in obj.undefined}),
        relocations=[(named[r.section], r.offset, r.type, r.symbol.name, r.addend)
                     for r in obj.relocations],
    )


def _error_html(title: str, exc: BaseException) -> HTML:
    if hasattr(exc, "_repr_html_"):
        return HTML(exc._repr_html_())  # type: ignore[union-attr]
    return HTML("<div style='border-left:4px solid #c33;padding:4px 8px'>"
                f"<b>{html.escape(title)}</b><pre style='margin:4px 0;white-space:pre-wrap'>"
                f"{html.escape(str(exc))}</pre></div>")


def _extract_ir(text: str, symbol: str) -> str | None:
    match = re.search(r'^define [^\n]*@"?' + re.escape(symbol) + r'"?\(', text, re.M)
    if not match:
        return None
    end = text.find("\n}", match.start())
    return text[match.start(): end + 2 if end >= 0 else len(text)]


def _extract_asm(text: str, symbol: str) -> str | None:
    label = re.search(r'^"?' + re.escape(symbol) + r'"?:', text, re.M)
    if not label:
        return None
    end = text.find(".Lfunc_end", label.end())
    body = text[label.start(): end if end >= 0 else len(text)]
    return "\n".join(line for line in body.splitlines() if not line.lstrip().startswith(".cfi"))


@magics_class
class TheseusMagics(Magics):
    """The magics and their state: the notebook's cells and the attached machine."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        #: Cells defined with %%cell, by name: they join the image at the next %boot.
        self.cells: dict[str, CellSource] = {}
        #: The running kernel %kernel, %tasks, %graph and %%cell talk to (None: detached).
        self.machine: LiveKernel | None = None
        #: The exception behind the last error shown (None after a success).
        self.last_error: BaseException | None = None
        self._build_graph: SectionGraph | None = None

    # -- helpers ---------------------------------------------------------------

    def notebook_kernel(self) -> Kernel:
        """The default kernel with every notebook cell added (or replacing a file's cell)."""
        kernel = Kernel.default()
        for src in self.cells.values():
            kernel = kernel.with_cell(src.name, src)
        return kernel

    def _attached(self) -> LiveKernel | None:
        # The attached kernel while it runs; a stopped one compiles nothing.
        return self.machine if self.machine is not None and self.machine.alive else None

    def _sources(self) -> list[CellSource]:
        """The cells a new cell is compiled among: the running kernel's as they
        are now when attached, else the next %boot's."""
        live = self._attached()
        return list(live.sources.values()) if live else self.notebook_kernel().sources

    def _failed(self, title: str, exc: BaseException) -> None:
        # Every magic that fails shows why under its cell (never a traceback)
        # and keeps the error for the next cell to look at.
        self.last_error = exc
        display(_error_html(title, exc))

    def _need_machine(self) -> LiveKernel:
        if self.machine is None:
            raise _Usage("no machine attached: run %boot, or %attach VAR for a Machine you booted")
        if not self.machine.alive:
            raise _Usage(f"the attached machine has stopped (exit status "
                         f"{self.machine.exit_status}): %boot a new one")
        return self.machine

    def _source_of(self, cell: str) -> CellSource:
        found = next((s for s in self._sources() if s.name == cell), None)
        if found is None:
            raise _Usage(f"no cell {cell!r}: define it with %%cell {cell}, or see cells/")
        return found

    # -- %%cell ------------------------------------------------------------------

    @magic_arguments()
    @argument("name", help="the cell's name (its symbols are NAME::function)")
    @argument("--unsafe", action="store_true", help="allow the unsafe intrinsics")
    @argument("--wasm", action="store_true", help="the body is WebAssembly text (WAT)")
    @argument("--c", action="store_true", help="the body is C, compiled by clang to wasm32")
    @argument("--bounds", choices=["guard", "checks"], default="guard",
              help="a WebAssembly cell's memory: guard regions, or explicit checks")
    @argument("--isolated", action="store_true", help="run it in ring 3 behind gates")
    @argument("--trusted", action="store_true", help="load an unsafe cell trusted (ring 0)")
    @cell_magic
    def cell(self, line: str, body: str) -> Any:
        """Compile a cell; show its sections, symbols and relocations; swap it in if attached."""
        args = parse_argstring(self.cell, line)
        try:
            if args.isolated and args.trusted:
                raise _Usage("a cell is either --isolated or --trusted, not both")
            language = "wat" if args.wasm else "c" if args.c else "cell"
            # without --unsafe the cell's own header decides (its marker line)
            return self._cell(args.name, body, True if args.unsafe else None, language,
                              True if args.isolated else None, args.trusted, args.bounds)
        except Exception as exc:
            return self._failed(f"cell {args.name}", exc)

    def _cell(self, name: str, body: str, unsafe: bool | None, language: str = "cell",
              isolated: bool | None = None, trusted: bool = False,
              bounds: str = "guard") -> CellReport:
        # The editor's line 1 is the %%cell line: one empty line in front makes
        # every line number in an error the one the editor shows.
        body = "\n" + body
        if language == "wat":
            source = CellSource.wasm(name, body, bounds=bounds)
        elif language == "c":
            source = CellSource.c(name, body, bounds=bounds)
        else:
            source = CellSource.cell(name, body, unsafe=unsafe,
                                     isolated=False if trusted else isolated)
        live = self._attached()
        swap: SwapReport | None = None
        if live is None:
            obj = compile_among(self.notebook_kernel().sources, [source])[name]
            action = "registered: it joins the image at the next %boot"
        else:
            # Compiled once, by the live kernel, among the cells running now.
            # A cell the running kernel refuses is not registered either: the
            # registry only holds versions that compiled and went in.
            verb = live.swap if name in live.objects else live.load
            if language == "cell" and verb == live.load:
                swap = live.load(name, body, unsafe=source.unsafe, isolated=isolated,
                                 trusted=trusted)
            elif language == "cell":
                swap = live.swap(name, body, unsafe=source.unsafe)
            else:
                swap = (verb(name, wasm=body, bounds=bounds) if language == "wat"
                        else verb(name, c=body, bounds=bounds))
            action = ("swapped into" if verb == live.swap else "loaded into") + " the running kernel"
            obj = swap.objects[name]
            source = live.sources[name]
        report = _cell_report(name, obj)
        report.swap, report.action = swap, action
        self.cells[name] = source
        self._build_graph = None
        self.last_error = None
        return report

    # -- machines ------------------------------------------------------------------

    @magic_arguments()
    @argument("--kvm", action="store_true", help="use KVM instead of TCG (as --accel kvm)")
    @argument("--accel", choices=["tcg", "kvm", "auto"], default=None,
              help="tcg, kvm or auto (default: $THESEUS_NB_ACCEL, else tcg)")
    @argument("--as", dest="var", default="vm", help="variable to hold the Machine (vm)")
    @line_magic
    def boot(self, line: str) -> Any:
        """Build the default kernel plus the notebook's cells, boot it and attach to it.

        A machine already attached is shut down first: one notebook, one machine.
        """
        from .widgets.progress import BuildProgress

        args = parse_argstring(self.boot, line)
        if self.machine is not None and self.machine.alive:
            self.machine.shutdown()
        bar = BuildProgress()
        shown = display(bar, display_id=True)
        try:
            image = self.notebook_kernel().build(progress=bar)
            shown.update(bar)  # so the saved text form says the build finished
            machine = image.boot(kvm=args.kvm, accel=args.accel)
        except Exception as exc:
            bar.fail(str(exc))
            return self._failed("boot failed", exc)
        self.machine = machine
        self.shell.user_ns[args.var] = machine
        self.last_error = None
        return machine

    @line_magic
    def attach(self, line: str) -> Any:
        """``%attach [VAR]``: talk to the Machine in VAR (default: the one %boot made)."""
        var = line.strip()
        if var:
            if var not in self.shell.user_ns:
                display(_error_html("attach", _Usage(f"no variable {var!r}")))
                return None
            value = self.shell.user_ns[var]
            if not isinstance(value, LiveKernel):
                display(_error_html("attach", _Usage(
                    f"{var} is a {type(value).__name__}, not a running kernel: "
                    "attach to what image.boot() or %boot returned")))
                return None
            self.machine = value
        elif self.machine is None:
            found = [v for v in self.shell.user_ns.values() if isinstance(v, LiveKernel) and v.alive]
            if not found:
                display(_error_html("attach", _Usage("no running Machine in the notebook: %boot")))
                return None
            self.machine = found[-1]
        return self.machine

    @line_magic
    def detach(self, line: str) -> None:
        """Stop talking to the machine (it keeps running; %%cell only registers cells)."""
        self.machine = None

    @line_magic
    def kernel(self, line: str) -> Any:
        """``%kernel COMMAND``: run a shell command in the guest and print its output."""
        try:
            reply = self._need_machine().request(line.strip())
        except Exception as exc:
            return self._failed(f"%kernel {line.strip()}", exc)
        self.last_error = None
        print(reply.output)
        if reply.status:
            print(f"[status {reply.status}]")
        return None

    @line_magic
    def tasks(self, line: str) -> Any:
        """The guest's tasks as a table coloured by state."""
        try:
            table = self._need_machine().tasks()
        except Exception as exc:
            return self._failed("%tasks", exc)
        self.last_error = None
        return table

    @line_magic
    def faults(self, line: str) -> Any:
        """The kernel's fault log as a table coloured by what recovery did."""
        try:
            log = self._need_machine().faults()
        except Exception as exc:
            return self._failed("%faults", exc)
        self.last_error = None
        return log

    @line_magic
    def rollback(self, line: str) -> Any:
        """Swap a cell back to the version before its current one; the swap report."""
        name = line.strip()
        try:
            if not name or " " in name:
                raise _Usage(f"%rollback needs one cell name, as in %rollback counter; "
                             f"got {line.strip()!r}")
            live = self._need_machine()
            report = live.rollback(name)
        except Exception as exc:
            return self._failed(f"%rollback {name}", exc)
        # The registry follows: the next %boot builds the version running now.
        if name in self.cells and name in live.sources:
            self.cells[name] = live.sources[name]
            self._build_graph = None
        self.last_error = None
        return report

    @line_magic
    def history(self, line: str) -> Any:
        """Every version of a cell since boot: when, how, and its section changes."""
        name = line.strip()
        try:
            history = self._need_machine().history(name)
        except Exception as exc:
            return self._failed(f"%history {name}", exc)
        self.last_error = None
        return history

    # -- looking inside ----------------------------------------------------------

    @magic_arguments()
    @argument("cell", nargs="?", default=None, help="a cell (or cell::section to focus on)")
    @argument("--depth", type=int, default=1, help="dependency steps to follow around a focus")
    @argument("--sections", action="store_true", help="one node per section")
    @argument("--focus", default=None, help="a section (cell::name) and its neighbours")
    @argument("--hide-core", action="store_true", help="leave out the nano_core's cells")
    @line_magic
    def graph(self, line: str) -> Any:
        """The section graph: live from the attached machine, else of the next %boot's image."""
        args = parse_argstring(self.graph, line)
        try:
            graph = self._graph()
            self.last_error = None
            focus = args.focus or (args.cell if args.cell and "::" in args.cell else None)
            if focus:
                return graph.render("focus", focus=focus, depth=args.depth,
                                    hide_nano_core=args.hide_core)
            view = "sections" if args.sections or args.cell else "cells"
            return graph.render(view, cell=args.cell, hide_nano_core=args.hide_core)
        except Exception as exc:
            return self._failed("%graph", exc)

    def _graph(self) -> SectionGraph:
        live = self._attached()
        if live is not None:
            return live.graph()  # with the latest swap's changes marked
        if self._build_graph is None:
            self._build_graph = self.notebook_kernel().build().graph
        return self._build_graph

    @magic_arguments()
    @argument("function", help="CELL::FUNCTION")
    @argument("--ir", action="store_true", help="LLVM IR as the compiler emits it")
    @argument("--opt", action="store_true", help="IR after LLVM's -O2")
    @argument("--asm", action="store_true", help="x86-64 assembly (the default)")
    @line_magic
    def disasm(self, line: str) -> Any:
        """One function of a cell as IR, optimised IR or assembly."""
        args = parse_argstring(self.disasm, line)
        try:
            cell, sep, function = args.function.partition("::")
            if not sep or not function:
                raise _Usage(f"write the function as CELL::FUNCTION, not {args.function!r}")
            src = self._source_of(cell)
            if src.language != "cell":
                raise _Usage(f"cell {cell!r} is {src.language}, not the cell language")
            stage = "ir" if args.ir else "opt" if args.opt else "asm"
            text = show_stage(stage, src.text, cell, unsafe=src.unsafe,
                              interfaces=interfaces_of(self._sources()))
            body = (_extract_asm if stage == "asm" else _extract_ir)(text, args.function)
            if body is None:
                raise _Usage(f"no function {function!r} in cell {cell!r} at this stage "
                             "(it may have been inlined away: try --ir)")
        except Exception as exc:
            return self._failed("%disasm", exc)
        self.last_error = None
        return Disassembly(args.function, STAGES[stage], body)


class _Usage(TheseusError):
    """A magic used in a way it cannot work (the message says how to fix it)."""


def load_magics(ipython: Any) -> TheseusMagics:
    """Register the magics with ``ipython`` (called by ``%load_ext theseus_nb``)."""
    magics = TheseusMagics(ipython)
    ipython.register_magics(magics)
    return magics

