"""The KVM column of a benchmark's table: measured when a probe guest boots
under KVM here (qemu_bridge.kvm_usable), otherwise a line saying why not,
so the TCG figures are printed either way."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from qemu_bridge import kvm_usable

T = TypeVar("T")


def measure_under_kvm(measure: Callable[[], T], no_kvm: bool = False) -> T | None:
    """What ``measure()`` returns under KVM; None, after a line saying why,
    with --no-kvm, where KVM is not usable, or when the KVM run fails."""
    if no_kvm:
        print("(KVM not measured: --no-kvm)")
        return None
    usable, why = kvm_usable()
    if not usable:
        print(f"(KVM not measured: {why})")
        return None
    try:
        return measure()
    except Exception as exc:  # KVM listed but unusable: say so, keep TCG's figures
        print(f"(KVM run failed: {str(exc).splitlines()[0]})")
        return None
