"""theseus-nb: build, boot and take apart a Theseus-style OS from Jupyter.

The public face of the package: what a notebook user meets. Everything
else is importable from its own module (``theseus_nb.build``,
``theseus_nb.objects``, ...) but is an implementation detail.

    import theseus_nb as tnb
    image = tnb.Kernel.default().build()
    with image.boot() as vm:          # a LiveKernel
        print(vm.command("help"))
"""

from .errors import TheseusError
from .build import BuildError
from .compile import CellSource
from .graph import SectionGraph
from .guest_errors import (BootError, CommandStopped, GuestExited, GuestTimeout, MachineError,
                           ProtocolError, SwapError)
from .image import Image
from .kernel import Kernel
from .lang import CellError, CellPanic
from .link import LinkError
from .live import LiveKernel
from .objects import ObjectError
from .archive import ArchiveError
from .swap_report import SwapReport
from .tasks import TaskList, TaskRecord

__all__ = [
    "ArchiveError",
    "BootError",
    "BuildError",
    "CellError",
    "CellPanic",
    "CellSource",
    "Dashboard",
    "GuestExited",
    "GuestTimeout",
    "CommandStopped",
    "Image",
    "Kernel",
    "LinkError",
    "LiveKernel",
    "MachineError",
    "ObjectError",
    "ProtocolError",
    "SectionGraph",
    "SwapError",
    "SwapReport",
    "TaskList",
    "TaskRecord",
    "TheseusError",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The widgets pull in ipywidgets: imported only when asked for, so the
    # command line and the build stay quick to start.
    if name == "Dashboard":
        from .widgets import Dashboard

        return Dashboard
    raise AttributeError(f"module 'theseus_nb' has no attribute {name!r}")


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext theseus_nb``: register the magics (see theseus_nb.magics)."""
    from .magics import load_magics

    load_magics(ipython)
