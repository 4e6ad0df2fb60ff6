"""The pipeline in one call: parse, check, lower.  compile_cell is the front door."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from llvmlite import ir

from .interface import CellInterface, interface_from_model
from .lower import lower_cell
from .parse import build_model
from .typecheck import check_cell


@dataclass
class CompiledCell:
    """A cell compiled to an untargeted LLVM module, with its interface and imports."""
    name: str
    module: ir.Module
    interface: CellInterface
    imports: list
    unsafe: bool
    #: every global of the cell, private ones too: name -> Type (for .theseus.sigs)
    globals: dict

    @property
    def ir(self) -> str:
        return str(self.module)

    def _repr_html_(self) -> str:
        fs = "".join(f"<li><code>{s.text}</code></li>" for s in self.interface.functions.values())
        return (f"<b>cell {self.name}</b>{' (unsafe)' if self.unsafe else ''}: "
                f"imports {', '.join(self.imports) or 'nothing'}<ul>{fs}</ul>")


def compile_cell(source: str, name: str, *, filename: str = "<cell>",
                 unsafe: Optional[bool] = None,
                 interfaces: Mapping[str, CellInterface] = {}, checks: bool = True,
                 stack_limit: str = "") -> CompiledCell:
    """Compile one cell's source to LLVM IR; raise CellError on the first error.

    unsafe: None (not said) takes it from the source: the cell is unsafe when its
    header has the comment line `# cell: unsafe` (see unsafe_marker_line).  True
    makes it unsafe with or without the marker.  False loads it as safe, and a
    source that carries the marker is then refused with a CellError at the marker.
    interfaces: the CellInterface of every cell this one imports (from interface_of).
    checks=False drops bounds and overflow checks; it exists for the benchmark only.
    stack_limit names an i64 global holding the lowest allowed stack address; every
    function then checks it on entry (the host JIT uses this; the kernel does not).
    """
    model = build_model(source, name, filename=filename, unsafe=unsafe, interfaces=dict(interfaces))
    interface = interface_from_model(model)  # also refuses public functions with a bad ABI
    checker, infos = check_cell(model, dict(interfaces))
    module = lower_cell(model, checker, infos, checks=checks, stack_limit=stack_limit)
    cells = []
    for cell, _, _ in model.imported.values():
        if cell not in cells:
            cells.append(cell)
    for cell, _ in model.modules.values():
        if cell not in cells:
            cells.append(cell)
    return CompiledCell(name, module, interface, cells, model.unsafe,
                        {n: g.ty for n, g in model.globals.items()})
