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
from .objects import CellObject, ObjectError, parse_object

__all__ = [
    "ArchiveError",
    "BuildError",
    "CellObject",
    "CellSource",
    "Image",
    "Kernel",
    "LinkError",
    "ObjectError",
    "compile_object",
    "parse_object",
]

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext theseus_nb``: register the magics (see theseus_nb.magics)."""
    from .magics import load_magics

    load_magics(ipython)
