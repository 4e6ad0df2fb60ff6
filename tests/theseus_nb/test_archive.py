"""Tests of theseus_nb.archive: the boot archive format."""

from __future__ import annotations

import pytest

from theseus_nb.archive import ArchiveEntry, ArchiveError, pack_archive, unpack_archive


def test_round_trip_and_alignment():
    entries = [ArchiveEntry("serial", b"x" * 5), ArchiveEntry("shell", b"yz" * 40, True)]
    data = pack_archive(entries)
    assert unpack_archive(data) == entries
    assert data.index(b"yz") % 16 == 0


def test_corruption_is_detected():
    data = bytearray(pack_archive([ArchiveEntry("serial", b"hello world")]))
    data[-1] ^= 0xFF
    with pytest.raises(ArchiveError, match="serial"):
        unpack_archive(bytes(data))


def test_long_names_are_refused():
    with pytest.raises(ArchiveError, match="longer than"):
        pack_archive([ArchiveEntry("n" * 40, b"")])
