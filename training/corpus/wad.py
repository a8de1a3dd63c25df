"""Reading the lump directory of a Doom WAD file (the container Freedoom ships its music in).

Layout (little-endian): a 12-byte header (4-byte id "IWAD"/"PWAD", int32 lump count, int32 directory offset),
then at the directory offset one 16-byte entry per lump (int32 offset, int32 size, 8-byte NUL-padded name).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER = struct.Struct("<4sii")
ENTRY = struct.Struct("<ii8s")
MIDI_MAGIC = b"MThd"
MUS_MAGIC = b"MUS\x1a"  # Doom's own music format (not MIDI)


class WadError(ValueError):
    pass


@dataclass(frozen=True)
class Lump:
    name: str
    data: bytes

    @property
    def kind(self) -> str:
        """'midi', 'mus' or 'other', from the lump's first bytes."""
        if self.data.startswith(MIDI_MAGIC):
            return "midi"
        if self.data.startswith(MUS_MAGIC):
            return "mus"
        return "other"


def read_lumps(data: bytes) -> list[Lump]:
    """Every lump of a WAD image, in directory order; WadError if the directory does not fit the file."""
    if len(data) < HEADER.size:
        raise WadError("file too short for a WAD header")
    ident, count, dir_offset = HEADER.unpack_from(data, 0)
    if ident not in (b"IWAD", b"PWAD"):
        raise WadError(f"not a WAD file (id {ident!r})")
    if count < 0 or dir_offset < HEADER.size or dir_offset + count * ENTRY.size > len(data):
        raise WadError("lump directory lies outside the file")
    lumps = []
    for i in range(count):
        offset, size, raw_name = ENTRY.unpack_from(data, dir_offset + i * ENTRY.size)
        if offset < 0 or size < 0 or offset + size > len(data):
            raise WadError(f"lump {i} lies outside the file")
        name = raw_name.split(b"\0", 1)[0].decode("ascii", "replace")
        lumps.append(Lump(name, data[offset : offset + size]))
    return lumps


def build_wad(lumps: list[Lump], ident: bytes = b"PWAD") -> bytes:
    """A WAD image holding `lumps` (used by tests to make small WADs)."""
    body = b"".join(lump.data for lump in lumps)
    directory = bytearray()
    offset = HEADER.size
    for lump in lumps:
        directory += ENTRY.pack(offset, len(lump.data), lump.name.encode("ascii")[:8])
        offset += len(lump.data)
    return HEADER.pack(ident, len(lumps), HEADER.size + len(body)) + body + bytes(directory)
