"""QemuConfig's command line and finding the QEMU binary (no QEMU started)."""

from __future__ import annotations

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
    assert argv[argv.index("-enable-kvm") + 1:argv.index("-enable-kvm") + 3] == ["-cpu", "host"]
    assert argv[-2:] == ["-smp", "2"]
    assert isinstance(config.kernel, Path) and isinstance(config.archive, Path)


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
    public -= {"errors", "qemu", "console", "console_buffer", "machine", "protocol", "evolution",
               "session", "host_channel", "guest_ram", "faults"}
    assert public == set(qemu_bridge.__all__)
    for name in qemu_bridge.__all__:
        assert getattr(qemu_bridge, name).__module__.startswith("qemu_bridge.")
