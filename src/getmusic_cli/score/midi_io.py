"""MIDI file <-> Song, with miditoolkit. The only module that reads or writes MIDI files.

Reading checks the file before parsing it (header, chunk lengths, resolution) so that every bad file becomes one
GetMusicError line, and turns whatever miditoolkit/mido still raise into one line as well. A file with only drums
reads fine (generating pitched tracks from drums is a legitimate request); commands that need pitched notes call
`require_pitched(song)`.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from getmusic_cli.errors import GetMusicError, first_line, os_reason, printable
from getmusic_cli.files import check_output, write_atomically
from getmusic_cli.score.limits import Limits, check_file_size, check_length
from getmusic_cli.score.song import Note, Song, SourceTrack, TempoChange, TimeSignature
from getmusic_cli.score.tracks import INSTRUMENTS, display_name, map_tracks

# Resolutions (ticks per quarter note) outside this range are corrupt files (or SMPTE time, which we do not read).
MAX_TICKS_PER_BEAT = 30000
# Tempi outside this range (beats per minute) are corrupt files.
MIN_BPM, MAX_BPM = 1.0, 1000.0
DEFAULT_BPM = 120.0


@dataclass
class OutTrack:
    """One track to write: notes in the song's ticks."""

    name: str
    program: int
    is_drum: bool
    notes: list[Note]


# ----- reading ----------------------------------------------------------------------------------------------------


def _clean_container(path: Path, data: bytes) -> tuple[int, bytes]:
    """Validate the Standard MIDI File framing; return (MIDI type, bytes mido can parse). One-line errors.

    Unwraps RIFF-RMID files, and leaves out chunks mido would choke on although the music is fine: empty track
    chunks and chunks of unknown type.
    """
    name = printable(path.name)
    if not data:
        raise GetMusicError(f"{name}: empty file (0 bytes)")
    if data[:4] == b"RIFF" and data[8:12] == b"RMID" and b"MThd" in data:
        data = data[data.index(b"MThd") :]
    if data[:4] != b"MThd":
        raise GetMusicError(f"{name}: not a MIDI file (no 'MThd' header)")
    if len(data) < 14:
        raise GetMusicError(f"{name}: truncated MIDI file (header cut short)")
    header_len, fmt, n_tracks, division = struct.unpack(">IHHH", data[4:14])
    if fmt not in (0, 1):
        raise GetMusicError(f"{name}: MIDI type {fmt} is not supported (only types 0 and 1)")
    if division & 0x8000:
        raise GetMusicError(f"{name}: SMPTE time division is not supported (need ticks per beat)")
    if division == 0 or division > MAX_TICKS_PER_BEAT:
        raise GetMusicError(
            f"{name}: absurd resolution of {division} ticks per beat (expected 1..{MAX_TICKS_PER_BEAT})"
        )
    pos = 8 + header_len
    chunks: list[bytes] = []
    found = 0
    while pos < len(data) and found < n_tracks:
        if len(data) - pos < 8:
            raise GetMusicError(f"{name}: truncated MIDI file (chunk header cut short)")
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        if pos + 8 + length > len(data):
            missing = pos + 8 + length - len(data)
            raise GetMusicError(f"{name}: truncated MIDI file ({missing} bytes missing)")
        if kind == b"MTrk":
            found += 1
            if length:
                chunks.append(data[pos : pos + 8 + length])
        pos += 8 + length
    if found < n_tracks:
        raise GetMusicError(f"{name}: truncated MIDI file ({found} of {n_tracks} tracks present)")
    header = b"MThd" + struct.pack(">IHHH", 6, fmt, len(chunks), division)
    return fmt, header + b"".join(chunks)


def _parse(path: Path, data: bytes):
    import io

    import miditoolkit

    try:
        return miditoolkit.MidiFile(file=io.BytesIO(data))
    except GetMusicError:
        raise
    except MemoryError:
        raise GetMusicError(
            f"{printable(path.name)}: corrupt MIDI data (it asks for more memory than there is)"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any parser failure on bad bytes is the file's fault: one line
        raise GetMusicError(f"{printable(path.name)}: corrupt MIDI data{_parser_detail(exc)}") from None


def _parser_detail(exc: Exception) -> str:
    """' (what the parser said)' when mido itself explains the problem; nothing for Python's own internals
    ('list index out of range', 'max() arg is an empty sequence') that would only confuse a musician."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    raised_by_parser = bool(frames) and f"{os.sep}mido{os.sep}" in frames[-1]
    internal = isinstance(exc, (IndexError, KeyError, TypeError, AttributeError, ZeroDivisionError, RecursionError))
    text = first_line(exc)
    if not raised_by_parser or internal or not text or "()" in text:
        return ""
    return f" ({text})"


def _tempos(path: Path, midi) -> list[TempoChange]:
    by_tick: dict[int, float] = {}
    for change in sorted(midi.tempo_changes, key=lambda c: int(c.time)):
        bpm = float(change.tempo)
        if not MIN_BPM <= bpm <= MAX_BPM:
            raise GetMusicError(
                f"{printable(path.name)}: absurd tempo of {bpm:g} BPM at tick {int(change.time)} "
                f"(expected {MIN_BPM:g}..{MAX_BPM:g})"
            )
        by_tick[int(change.time)] = bpm  # the last one at a tick wins
    tempos: list[TempoChange] = []
    for tick, bpm in sorted(by_tick.items()):
        if not tempos or tempos[-1].bpm != bpm:
            tempos.append(TempoChange(tick, bpm))
    if not tempos or tempos[0].tick > 0:
        tempos.insert(0, TempoChange(0, DEFAULT_BPM))
    return tempos


def _time_signatures(path: Path, midi) -> list[TimeSignature]:
    by_tick: dict[int, tuple[int, int]] = {}
    for ts in sorted(midi.time_signature_changes, key=lambda t: int(t.time)):
        num, den = int(ts.numerator), int(ts.denominator)
        if not 1 <= num <= 64 or den not in (1, 2, 4, 8, 16, 32, 64):
            den_text = str(den) if den <= 1024 else f"2^{den.bit_length() - 1}"
            raise GetMusicError(
                f"{printable(path.name)}: absurd time signature {num}/{den_text} at tick {int(ts.time)}"
            )
        by_tick[int(ts.time)] = (num, den)
    signatures: list[TimeSignature] = []
    for tick, (num, den) in sorted(by_tick.items()):
        # A restatement of the current meter is not a change (it would start a spurious bar).
        if not signatures or (signatures[-1].numerator, signatures[-1].denominator) != (num, den):
            signatures.append(TimeSignature(tick, num, den))
    if not signatures or signatures[0].tick > 0:
        signatures.insert(0, TimeSignature(0, 4, 4))  # the MIDI default
    return signatures


def _sources(midi, midi_type: int) -> tuple[list[SourceTrack], dict[int, int]]:
    """Tracks with notes (miditoolkit already splits by track, channel and program) and zero-length note counts."""
    sources: list[SourceTrack] = []
    zero_length: dict[int, int] = {}
    for index, inst in enumerate(midi.instruments):
        notes = [Note(int(n.start), int(n.end), int(n.pitch), int(n.velocity)) for n in inst.notes]
        kept = [n for n in notes if n.end > n.start]
        if len(kept) < len(notes):
            zero_length[index] = len(notes) - len(kept)
        # In a type-0 file every channel carries the single track's name, usually the song title: not a hint.
        name = "" if midi_type == 0 else str(inst.name or "").strip()
        if kept:
            sources.append(SourceTrack(index, name, int(inst.program), bool(inst.is_drum), kept, None))
    return sources, zero_length


def _name_channels(sources: list[SourceTrack]) -> None:
    """Type 0: name each channel's part after what it plays ('Acoustic Bass', 'Drums', 'Violin 2', ...).

    Done after mapping: these names come from the program, so they must not count as name hints.
    """
    seen: dict[str, int] = {}
    for s in sources:
        base = display_name(s)
        seen[base] = seen.get(base, 0) + 1
        s.name = base if seen[base] == 1 else f"{base} {seen[base]}"


def read_midi(path: str | Path, overrides: dict[str, str] | None = None, limits: Limits | None = None) -> Song:
    """Read a type 0/1 MIDI file into a Song: original tracks mapped to classes (`overrides`: see tracks.map_tracks).

    Zero-length notes are ignored (and counted in the track's reason). Raises GetMusicError with one line for a
    missing, empty, non-MIDI, truncated or corrupt file, absurd resolution/tempo/meter, no notes, no note left
    in any class, or a song longer than ``limits`` (default: ``Limits.from_env()``).
    """
    path = Path(path)
    limits = limits or Limits.from_env()
    try:
        if path.is_dir():
            raise GetMusicError(f"{printable(path)}: is a directory, not a MIDI file")
        if not path.is_file():
            raise GetMusicError(f"{printable(path)}: no such file")
        check_file_size(printable(path.name), path.stat().st_size, limits)
        data = path.read_bytes()
    except OSError as exc:
        raise GetMusicError(f"{printable(path)}: cannot read ({os_reason(exc)})") from None
    midi_type, data = _clean_container(path, data)
    midi = _parse(path, data)
    tpb = int(midi.ticks_per_beat)
    tempos = _tempos(path, midi)
    signatures = _time_signatures(path, midi)
    sources, zero_length = _sources(midi, midi_type)
    # Meter and tempo events count too: the timeline walks up to them (inspect names their bars).
    end_tick = max([n.end for s in sources for n in s.notes] + [t.tick for t in tempos] + [t.tick for t in signatures])
    check_length(printable(path.name), tpb, tempos, signatures, end_tick, limits)
    if not sources:
        raise GetMusicError(f"{printable(path.name)}: no notes in this MIDI file")
    map_tracks(sources, overrides, ticks_per_beat=tpb)
    if midi_type == 0:
        _name_channels(sources)
    for s in sources:
        if s.index in zero_length:
            s.reason += f"; {zero_length[s.index]} zero-length notes ignored"
    notes: dict[str, list[Note]] = {}
    for cls in INSTRUMENTS:
        merged = [n for s in sources if s.instrument == cls for n in s.notes]
        if merged:
            notes[cls] = sorted(merged, key=lambda n: (n.start, n.pitch, n.end, n.velocity))
    if not notes:
        dropped = "; ".join(f"{s.index} {display_name(s)!r}: {s.reason}" for s in sources)
        raise GetMusicError(
            f"{printable(path.name)}: every track was dropped ({dropped}); map one with --map NAME=class"
        )
    return Song(
        ticks_per_beat=tpb, tempos=tempos, time_signatures=signatures, sources=sources, notes=notes, name=path.stem
    )


def require_pitched(song: Song, path: str | Path | None = None) -> None:
    """GetMusicError if the song has no pitched notes (only drums): key and chords cannot be heard in it."""
    if song.classes() and all(c == "drums" for c in song.classes()):
        where = f"{Path(path).name}: " if path is not None else ""
        raise GetMusicError(f"{where}only drums: no pitched notes to detect a key and chords from")


# ----- writing ----------------------------------------------------------------------------------------------------


def write_midi(
    path: str | Path,
    *,
    ticks_per_beat: int,
    tempos: list[TempoChange],
    time_signatures: list[TimeSignature],
    tracks: list[OutTrack],
    overwrite: bool = True,
) -> Path:
    """Write a type-1 MIDI file atomically (temporary file in the same folder, then rename). Returns the path.

    Without ``overwrite`` a file that exists by the time of the rename is left alone (GetMusicError)."""
    import miditoolkit

    path = Path(path)
    midi = miditoolkit.MidiFile(ticks_per_beat=int(ticks_per_beat))
    midi.tempo_changes = [miditoolkit.TempoChange(float(t.bpm), int(t.tick)) for t in tempos]
    midi.time_signature_changes = [
        miditoolkit.TimeSignature(int(ts.numerator), int(ts.denominator), int(ts.tick)) for ts in time_signatures
    ]
    for track in tracks:
        inst = miditoolkit.Instrument(program=int(track.program), is_drum=bool(track.is_drum), name=track.name)
        inst.notes = [
            miditoolkit.Note(int(n.velocity), int(n.pitch), int(n.start), int(n.end))
            for n in sorted(track.notes, key=lambda n: (n.start, n.pitch))
        ]
        midi.instruments.append(inst)
    check_output(path, overwrite=True)
    return write_atomically(path, lambda handle: midi.dump(file=handle), overwrite=overwrite)
