"""looper: a demo task that never yields (spawn looper::run): preemption must still let others run."""
from theseus_nb.lang.prelude import *

_spins: u64 = 0


def run(arg: u64) -> u64:
    """Spin forever."""
    global _spins
    while True:
        _spins = wrapping_add(_spins, 1, u64)
    return 0
