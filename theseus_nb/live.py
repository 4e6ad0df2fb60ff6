"""LiveKernel: a booted kernel as the host knows it, and live evolution from the host's side.

``image.boot()`` returns one. It holds the image that was booted, the QEMU
``Machine`` it runs on (qemu_bridge: text and bytes only), and the source
and object of every cell as they are *now*, including every cell loaded or
swapped since boot. That set is the one set of interfaces a new cell is
compiled against, so a cell loaded at run time can be imported by the next.

A swap is: compile the new source through the one compile path
(``compile.compile_among``), hand the objects to the kernel
(``Machine.upload`` each, then ``Machine.swap_uploaded``), then compare old and new
objects for the report and tell whoever subscribed (the widgets). Any
refusal leaves both the guest and this object as they were.

Every bridge error comes out as its theseus_nb class (``guest_errors``).
"""

from __future__ import annotations

import dataclasses
import html
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qemu_bridge import ConsoleBuffer, FaultLog, Machine, QemuConfig, Reply

from .compile import CellSource, compile_among
from .graph import SectionGraph
from .guest_errors import SwapError, guest_errors
from .fault_lines import with_call_lines
from .history import CellHistory
from .lang.marker import unsafe_marker_line
from .objects import CellObject, parse_object
from .swap_report import SwapReport, section_changes
from .tasks import TaskList, parse_tasks

if TYPE_CHECKING:  # only a type: image.py is the layer above, and boots into this one
    from .image import Image

__all__ = ["LiveKernel"]


class LiveKernel:
    """A running kernel: its machine, its cells as they are now, and hot swap."""

    def __init__(self, image: "Image", machine: Machine) -> None:
        """Wrap a machine that booted ``image``; use ``image.boot()`` instead."""
        #: The image this kernel booted from.
        self.image = image
        #: The QEMU guest (qemu_bridge.Machine): commands, queries, uploads.
        self.machine = machine
        #: The source of every cell as it is now (a cell swapped in as an object has none).
        self.sources: dict[str, CellSource] = {s.name: s for s in image.sources}
        #: The object of every cell as it is now.
        self.objects: dict[str, CellObject] = {o.cell: o for o in image.nano_core + image.cells}
        #: The report of the latest swap or load (None before the first).
        self.last_swap: SwapReport | None = None
        #: Every version of every swappable cell since boot (see history()).
        self.histories: dict[str, CellHistory] = {}
        by_name = {s.name: s for s in image.sources}
        for obj in image.cells:
            self.histories[obj.cell] = CellHistory(obj.cell)
            self.histories[obj.cell].add("boot", obj, by_name.get(obj.cell), None)
        self._listeners: list[Callable[[SwapReport], None]] = []
        self._recovery_on = False       # a restartable task was spawned: follow its rollbacks
        self._faults_read = 0           # fault records before this one are settled

    @classmethod
    def boot(cls, image: "Image", config: QemuConfig, *, boot_timeout: float = 10.0,
             **kwargs: Any) -> "LiveKernel":
        """Start QEMU on ``config`` (the files of ``image``) and wait for the prompt."""
        with guest_errors():
            machine = Machine.start(config, boot_timeout=boot_timeout, **kwargs)
        return cls(image, machine)

    # --- commands and queries (each one exchange on the serial line) ---------

    def command(self, text: str, timeout: float = 5.0) -> str:
        """Run one shell command; return exactly what it printed (see Machine.command)."""
        with guest_errors():
            return self.machine.command(text, timeout)

    def request(self, text: str, timeout: float = 5.0) -> Reply:
        """Run one shell command; return its status and output as a ``Reply``."""
        with guest_errors():
            return self.machine.request(text, timeout)

    def tasks(self, timeout: float = 5.0) -> TaskList:
        """The kernel's task table, one TaskRecord a task (renders as a table)."""
        with guest_errors():
            return parse_tasks(self.machine.query("tasks", timeout))

    def graph(self, timeout: float = 30.0) -> SectionGraph:
        """The live section-dependency graph, as the kernel's loader recorded it,
        with the sections the latest swap changed marked."""
        with guest_errors():
            graph = SectionGraph.from_dump(self.machine.query("graph", timeout))
        if self.last_swap is not None:
            graph.changed = self.last_swap.changed & set(graph.sections)
        return graph

    def spawn(self, name: str, arg: int | None = None, timeout: float = 5.0, *,
              stack: int | None = None, restart: str | None = None,
              max_restarts: int = 3) -> int:
        """Start ``"cell::function"`` as a task with ``arg`` on a guarded stack of
        ``stack`` bytes (the kernel's default, 16 KiB, if None); return its id.
        ``restart="on-fault"``: restarted after a fault up to ``max_restarts``
        times, then its cell is reloaded, rolled back, and the task given up
        (``Machine.spawn``; each step is in ``faults()``)."""
        with guest_errors():
            tid = self.machine.spawn(name, arg, timeout, stack=stack, restart=restart,
                                     max_restarts=max_restarts)
        self._recovery_on = self._recovery_on or restart is not None
        return tid

    def faults(self, since: int = 0, timeout: float = 5.0) -> FaultLog:
        """The kernel's fault log: each fault with its task, cause, backtrace
        and what recovery did (records numbered after ``since``). The host
        adds the line of each caller frame it can tell for certain from the
        cells' objects and sources (``fault_lines``)."""
        with guest_errors():
            log = self.machine.faults(since, timeout)
        if since <= self._faults_read:          # a log with no gap after what was read
            self._follow(log)
        texts = {name: src.text for name, src in self.sources.items() if src.language == "cell"}
        return FaultLog(with_call_lines(r, self.objects, texts) for r in log)

    def _follow_recovery(self) -> None:
        # The kernel's recovery may have rolled a cell back on its own
        # (kernel_src/restart.py): read the log first, so that a swap is
        # compiled against, and a history shows, what runs now.
        if self._recovery_on:
            with guest_errors():
                self._follow(self.machine.faults(self._faults_read))

    def _follow(self, log: FaultLog) -> None:
        # A record "pending" may still become "rolled_back": it is read again.
        for record in log:
            if record.seq <= self._faults_read:
                continue
            if record.action == "pending":
                return
            self._faults_read = record.seq
            history = self.histories.get(record.cell)
            target = history.rollback_target() if history else None
            if record.action == "rolled_back" and history is not None and target is not None:
                history.add("recovery rollback", target.object, target.source, target.previous)
                self.objects[record.cell] = target.object
                if target.source is not None:
                    self.sources[record.cell] = target.source
                else:
                    self.sources.pop(record.cell, None)

    def kill(self, task_id: int, timeout: float = 5.0) -> None:
        """End task ``task_id`` now."""
        with guest_errors():
            self.machine.kill(task_id, timeout)

    # --- live evolution ---------------------------------------------------

    def compile(self, name: str, source: str | None = None, *,
                unsafe: bool | None = None) -> CellObject:
        """The object cell ``name`` would get from ``source`` (None: its current
        source), compiled against the cells running now. Nothing is sent."""
        return compile_among(self.sources.values(), [self._source(name, source, unsafe)])[name]

    def swap(self, name: str, source: str | None = None, *, data: bytes | None = None,
             wasm: bytes | str | None = None, c: str | None = None, bounds: str = "guard",
             unsafe: bool | None = None, timeout: float = 30.0) -> SwapReport:
        """Replace cell ``name`` in the running kernel with new ``source``
        (cell-language text), an already compiled object ``data``, or (neither)
        its current source compiled again.

        ``unsafe``: None takes it from the cell's header (a ``# cell: unsafe``
        comment line); False insists on a safe cell, and a marked one is
        refused with a CellError at the marker.

        ``wasm`` (a module's bytes, or WAT text) or ``c`` (C source) make it a
        WebAssembly cell instead; ``bounds`` says how its accesses are kept in its
        memory: "guard" (guard regions) or "checks" (explicit bounds checks).

        Raises ``CellError`` when the source does not compile and SwapError
        when the kernel refuses; in both cases the guest is exactly as it was.
        """
        return self.swap_many({name: _given(name, source, data, wasm, c, bounds)}, unsafe=unsafe,
                              timeout=timeout)

    def swap_many(self, cells: dict[str, str | bytes | CellSource | None], *,
                  unsafe: bool | None = None,
                  timeout: float = 30.0) -> SwapReport:
        """Swap several cells as one transaction (all or nothing); each is
        compiled against the others' new versions."""
        missing = [n for n in cells if n not in self.objects]
        if missing:
            raise SwapError(f"no cell {', '.join(map(repr, missing))} in the running kernel "
                            "to swap: add a new cell with load()")
        return self._evolve("swap", cells, unsafe, timeout)

    def load(self, name: str, source: str | None = None, *, data: bytes | None = None,
             wasm: bytes | str | None = None, c: str | None = None, bounds: str = "guard",
             unsafe: bool | None = None, isolated: bool | None = None, trusted: bool = False,
             timeout: float = 30.0) -> SwapReport:
        """Add a new cell to the running kernel (same arguments as ``swap``);
        cells loaded later may import it.

        ``isolated=True`` loads it isolated: ring 3, its own pages, calls out
        through gates (kernel_src/gates.py). None: as its header says (a
        ``# cell: isolated`` line), except that an unsafe cell is isolated
        unless ``trusted=True`` (the language cannot vouch for it). An
        isolated cell's functions run only as tasks: not as shell commands,
        a policy, nor callees of other cells."""
        if name in self.objects:
            raise SwapError(f"the running kernel already has a cell {name!r}: use swap()")
        if isolated and trusted:
            raise SwapError(f"cell {name!r} cannot be both isolated and trusted: pass one")
        return self._evolve("load", {name: _given(name, source, data, wasm, c, bounds)}, unsafe,
                            timeout, isolated, trusted)

    def history(self, name: str) -> CellHistory:
        """Every version cell ``name`` has run since boot, oldest first, with
        the time each went in and its section changes (renders as a table)."""
        self._follow_recovery()
        if name not in self.histories:
            raise SwapError(f"no cell {name!r} in the running kernel has a history: "
                            f"the swappable cells are {', '.join(sorted(self.histories))}")
        return self.histories[name]

    def rollback(self, name: str, timeout: float = 30.0) -> SwapReport:
        """Swap cell ``name`` back to the version it ran before its current one,
        through an ordinary swap (state carried as in any swap), and report it.

        SwapError, with the guest unchanged, when there is nothing to roll
        back to, or when the kernel refuses the swap: a cell swapped in
        later uses something the old version does not have (the reason
        names both)."""
        history = self.history(name)
        target = history.rollback_target()
        if target is None:
            raise SwapError(f"nothing to roll back: cell {name!r} runs version "
                            f"{history.current.number} ({history.current.verb}), which replaced "
                            "no earlier version")
        start = time.perf_counter()
        with guest_errors():
            reply = self.machine.upload(name, target.object.data, timeout)
            if not reply.ok:
                raise SwapError(f"upload of {name!r} refused: {reply.output.strip()}",
                                self.transcript)
            uploaded = time.perf_counter()
            figures = self.machine.rollback(name, timeout, uploaded=True)
        done = time.perf_counter()
        report = SwapReport(cells=[name], verb="rollback", objects={name: target.object})
        report.take_kernel_figures(figures)
        version = history.add("rollback", target.object, target.source, target.previous)
        report.sections_added = list(version.sections_added)
        report.sections_removed = list(version.sections_removed)
        report.sections_changed = list(version.sections_changed)
        self.objects[name] = target.object
        if target.source is not None:
            self.sources[name] = target.source
        else:
            self.sources.pop(name, None)
        return self._went_in(report, start, start, uploaded, done)

    def _went_in(self, report: SwapReport, start: float, upload_start: float, uploaded: float,
                 done: float) -> SwapReport:
        # Every swap, load and rollback that went in ends here: its figures are
        # filled in, it is the latest, and every view that subscribed hears of it.
        report.upload_s = uploaded - upload_start
        report.swap_s = done - uploaded
        report.total_s = done - start
        self.last_swap = report
        for listener in list(self._listeners):
            listener(report)
        return report

    def subscribe(self, listener: Callable[[SwapReport], None]) -> Callable[[], None]:
        """Call ``listener(report)`` after every swap or load that went in;
        returns a function that ends the subscription."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _source(self, name: str, source: str | None, unsafe: bool | None,
                isolated: bool | None = None, trusted: bool = False) -> CellSource:
        if source is not None:
            src = CellSource.cell(name, source, unsafe=unsafe,
                                  isolated=False if trusted else isolated)
            old = self.sources.get(name)
            if isolated is None and not trusted and not src.is_isolated:
                if old is not None:
                    # A swap keeps the cell's kind (the kernel keeps it isolated too).
                    src = dataclasses.replace(src, isolated=old.is_isolated)
                elif _is_unsafe(src):
                    # A new unsafe cell: the language cannot vouch for it, the hardware does.
                    src = dataclasses.replace(src, isolated=True)
            return src
        current = self.sources.get(name)
        if current is None:
            raise SwapError(f"the running kernel has no source for cell {name!r} to compile "
                            "again: pass its new source")
        return current

    def _evolve(self, verb: str, cells: dict[str, str | bytes | CellSource | None],
                unsafe: bool | None, timeout: float, isolated: bool | None = None,
                trusted: bool = False) -> SwapReport:
        start = time.perf_counter()
        self._follow_recovery()
        given = {n: parse_object(v, n) for n, v in cells.items() if isinstance(v, bytes)}
        new = [v if isinstance(v, CellSource) else self._source(n, v, unsafe, isolated, trusted)
               for n, v in cells.items() if not isinstance(v, bytes)]
        compiled = compile_among(self.sources.values(), new)
        objects = {n: given[n] if n in given else compiled[n] for n in cells}
        compiled_at = time.perf_counter()
        with guest_errors():
            upload_start = time.perf_counter()
            for name, obj in objects.items():
                reply = self.machine.upload(name, obj.data, timeout)
                if not reply.ok:
                    raise SwapError(f"upload of {name!r} refused: {reply.output.strip()}",
                                    self.transcript)
            uploaded = time.perf_counter()
            figures = self.machine.swap_uploaded(list(objects), load=verb == "load",
                                                 timeout=timeout)
        done = time.perf_counter()
        report = SwapReport(cells=list(objects), verb=verb, objects=objects)
        report.take_kernel_figures(figures)
        sources = {src.name: src for src in new}
        for name, obj in objects.items():
            added, removed, changed = section_changes(self.objects.get(name), obj)
            report.sections_added += added
            report.sections_removed += removed
            report.sections_changed += changed
            self.objects[name] = obj
            history = self.histories.setdefault(name, CellHistory(name))
            history.add(verb, obj, sources.get(name),
                        len(history) - 1 if history and verb == "swap" else None)
        for src in new:
            self.sources[src.name] = src
        for name in given:
            self.sources.pop(name, None)  # an object alone says nothing of its source
        report.compile_s = compiled_at - start
        return self._went_in(report, start, upload_start, uploaded, done)

    def isolated_cells(self) -> set[str]:
        """Names of the cells loaded isolated (as the host loaded them)."""
        return {n for n, s in self.sources.items() if s.is_isolated}

    # --- life cycle and state ---------------------------------------------

    def halt(self, status: int = 0, timeout: float = 5.0) -> int:
        """Run the guest's ``halt N``; return QEMU's exit status, (N << 1) | 1."""
        with guest_errors():
            return self.machine.halt(status, timeout)

    def shutdown(self, timeout: float = 3.0) -> None:
        """Halt the guest cleanly (killing QEMU if it does not stop); idempotent.

        Returns nothing, so a notebook's last line stays quiet; QEMU's exit
        status is ``exit_status`` afterwards.
        """
        self.machine.shutdown(timeout)

    def __enter__(self) -> "LiveKernel":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.shutdown()

    @property
    def transcript(self) -> str:
        """Both lines as one session: the console, and each request with its reply."""
        return self.machine.transcript

    @property
    def console(self) -> ConsoleBuffer:
        """What the kernel and its tasks printed on the console, live
        (``.text``, ``.lines()``, ``.wait_for(pattern)``, ``.mark()``)."""
        return self.machine.console

    @property
    def alive(self) -> bool:
        """True while QEMU is running."""
        return self.machine.alive

    @property
    def exit_status(self) -> int | None:
        """QEMU's exit status once it has stopped."""
        return self.machine.exit_status

    @property
    def pid(self) -> int:
        """QEMU's process id."""
        return self.machine.pid

    def __repr__(self) -> str:
        state = "running" if self.alive else f"exited {self.exit_status}"
        return f"<LiveKernel pid={self.pid} {state}, {len(self.objects)} cells>"

    def _repr_html_(self) -> str:
        swap = (f"; last {self.last_swap.verb}: {html.escape(', '.join(self.last_swap.cells))}"
                if self.last_swap else "")
        return (f"<div><b>theseus-nb kernel</b>, {len(self.objects)} cells{swap}</div>"
                + self.machine._repr_html_())


def _given(name: str, source: str | None, data: bytes | None, wasm: bytes | str | None,
           c: str | None, bounds: str = "guard") -> str | bytes | CellSource | None:
    # what swap()/load() were handed: cell-language text, an object, or a wasm/C cell
    if wasm is not None:
        return CellSource.wasm(name, wasm, bounds=bounds)
    if c is not None:
        return CellSource.c(name, c, bounds=bounds)
    return source if data is None else data


def _is_unsafe(src: CellSource) -> bool:
    # Unsafe by its flag or by its header's marker.
    if src.unsafe is not None:
        return src.unsafe
    return unsafe_marker_line(src.text) is not None
