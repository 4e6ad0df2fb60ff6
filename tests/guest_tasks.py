"""Waiting for a guest task to end, for the tests that run tasks in real QEMU."""

from __future__ import annotations

import time

from theseus_nb import LiveKernel, TaskRecord


def ended(vm: LiveKernel, tid: int, timeout: float = 10.0, *, poll: float = 0.05,
          ask_timeout: float | None = None) -> TaskRecord:
    """Task ``tid``'s record once it has ended (exited or faulted), or as it is when
    ``timeout`` runs out, so that the caller's assert says which state it was left in.
    ``poll``: seconds between looks (each costs the guest a ``tasks`` command);
    ``ask_timeout``: the timeout of each look (None: the bridge's default)."""
    deadline = time.monotonic() + timeout
    while True:
        record = (vm.tasks() if ask_timeout is None else vm.tasks(timeout=ask_timeout)).by_id(tid)
        if not record.alive or time.monotonic() > deadline:
            return record
        time.sleep(poll)
