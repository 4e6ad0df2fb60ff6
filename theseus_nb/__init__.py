"""theseus-nb: build, boot and take apart a Theseus-style OS from Jupyter.

The public face of the package; everything else is an implementation detail.

    import theseus_nb as tnb
    image = tnb.Kernel.default().build()
    with image.boot() as vm:
        print(vm.command("help"))
"""

from .archive import ArchiveError
from .build import BuildError, compile_object
from .image import Image
from .kernel import CellSource, Kernel
from .link import LinkError
from .graph import SectionGraph
from .objects import CellObject, ObjectError, parse_object

__all__ = [
    "ArchiveError",
    "BuildError",
    "CellObject",
    "CellSource",
    "Dashboard",
    "Image",
    "Kernel",
    "LinkError",
    "ObjectError",
    "SectionGraph",
    "compile_object",
    "parse_object",
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
