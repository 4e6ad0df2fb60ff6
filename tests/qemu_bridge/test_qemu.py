"""QemuConfig's command line and finding the QEMU binary (no QEMU started)."""

from __future__ import annotations

import pkgutil
import subprocess
from pathlib import Path

import pytest

import qemu_bridge
from qemu_bridge import BridgeError, QemuConfig
from qemu_bridge.qemu import find_qemu


def test_default_argv_boots_tcg_on_serial_stdio() -> None:
    argv = QemuConfig(Path("/k/kernel.bin")).argv()
    assert argv[:3] == ["qemu-system-x86_64", "-kernel", "/k/kernel.bin"]
    assert "-initrd" not in argv
    for flag, value in [("-m", "128M"), ("-display", "none"), ("-serial", "chardev:console"),
                        ("-chardev", "stdio,id=console,signal=off"),  # Ctrl-C is the guest's
                        ("-monitor", "none"),
                        ("-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")]:
        assert argv[argv.index(flag) + 1] == value
    assert "-no-reboot" in argv
    assert "-enable-kvm" not in argv


def test_archive_memory_kvm_and_extra_args() -> None:
    config = QemuConfig("/k/kernel.bin", "/k/cells.img", memory="256M", kvm=True,
                        extra_args=["-smp", "2"])
    argv = config.argv("/usr/bin/qemu")
    assert argv[0] == "/usr/bin/qemu"
    assert argv[argv.index("-initrd") + 1] == "/k/cells.img"
    assert argv[argv.index("-m") + 1] == "256M"
    assert config.accel == "kvm"                     # kvm=True is the old spelling
    assert argv[argv.index("-accel") + 1] == "kvm"
    assert argv[-2:] == ["-smp", "2"]
    assert isinstance(config.kernel, Path) and isinstance(config.archive, Path)


@pytest.mark.parametrize("accel", ["tcg", "kvm"])
def test_the_accelerator_and_the_cpu_model_are_explicit(accel: str) -> None:
    argv = QemuConfig("/k/kernel.bin", accel=accel).argv()
    assert argv[argv.index("-accel") + 1] == accel
    # One CPU under both accelerators: qemu64 plus SSSE3/SSE4.x and SMEP/SMAP.
    assert argv[argv.index("-cpu") + 1] == qemu_bridge.qemu.CPU_MODEL
    assert {"+ssse3", "+sse4.1", "+smep", "+smap"} <= set(qemu_bridge.qemu.CPU_MODEL.split(","))
    assert "host" not in argv and "-enable-kvm" not in argv


def test_an_unknown_accelerator_is_a_clear_error() -> None:
    with pytest.raises(BridgeError, match="unknown accelerator 'hvf': use one of tcg, kvm, auto"):
        QemuConfig("/k/kernel.bin", accel="hvf")


def test_the_accelerator_variable_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(qemu_bridge.qemu.ACCEL_ENV, raising=False)
    assert qemu_bridge.accel_from_env() == "tcg"
    monkeypatch.setenv(qemu_bridge.qemu.ACCEL_ENV, " KVM ")
    assert qemu_bridge.accel_from_env() == "kvm"
    monkeypatch.setenv(qemu_bridge.qemu.ACCEL_ENV, "fast")
    with pytest.raises(BridgeError, match="THESEUS_NB_ACCEL='fast' is not an accelerator"):
        qemu_bridge.accel_from_env()


def test_auto_is_kvm_exactly_when_the_probe_boots_under_it() -> None:
    usable, why = qemu_bridge.kvm_usable()
    assert usable == (why == "")
    assert qemu_bridge.resolve_accel("auto") == ("kvm" if usable else "tcg")
    assert QemuConfig("/k/kernel.bin", accel="auto").accelerator in ("tcg", "kvm")


def test_extra_args_are_not_shared_between_configs() -> None:
    a, b = QemuConfig(Path("a")), QemuConfig(Path("b"))
    a.extra_args.append("-s")
    assert b.extra_args == []


def test_missing_qemu_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(BridgeError, match="apt-get install qemu-system-x86"):
        find_qemu()


def test_missing_kernel_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BridgeError, match="does not exist"):
        qemu_bridge.Machine.start(tmp_path / "no-such-kernel.bin")


def test_all_is_honest() -> None:
    public = {name for name in dir(qemu_bridge) if not name.startswith("_")}
    # Submodules are importable but are not the public face.
    public -= {module.name for module in pkgutil.iter_modules(qemu_bridge.__path__)}
    assert public == set(qemu_bridge.__all__)
    for name in qemu_bridge.__all__:
        assert getattr(qemu_bridge, name).__module__.startswith("qemu_bridge.")


@pytest.mark.qemu
def test_the_kvm_probe_kernel_boots_and_exits_under_tcg(tmp_path: Path) -> None:
    # The probe image kvm_usable() boots is a real Multiboot kernel: under TCG
    # it leaves through isa-debug-exit at once (status (0 << 1) | 1).
    kernel = tmp_path / "probe.bin"
    kernel.write_bytes(qemu_bridge.qemu._probe_kernel())
    done = subprocess.run(QemuConfig(kernel, accel="tcg").argv(find_qemu()),
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert done.returncode == 1, done.stderr
