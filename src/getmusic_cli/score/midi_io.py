"""MIDI file <-> Song, with mido (score/smf.py does the events). The only module that reads or writes MIDI files.

Reading checks the file before parsing it (header, chunk lengths, resolution) so that every bad file becomes one
GetMusicError line, and turns whatever mido still raises into one line as well. A file with only drums
reads fine (generating pitched tracks from drums is a legitimate request); commands that need pitched notes call
`require_pitched(song)`.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from getmusic_cli.errors import GetMusicError, first_line, os_reason, printable
from getmusic_cli.files import check_output, write_atomically
from getmusic_cli.score import smf
from getmusic_cli.score.limits import Limits, check_file_size, check_length
from getmusic_cli.score.mapping import map_tracks
from getmusic_cli.score.song import MidiEvent, Note, Song, SourceTrack, TempoChange, TimeSignature
from getmusic_cli.score.tracks import INSTRUMENTS, display_name

# Resolutions (ticks per quarter note) outside this range are corrupt files (or SMPTE time, which we do not read).
MAX_TICKS_PER_BEAT = 30000
# Tempi outside this range (beats per minute) are corrupt files.
MIN_BPM, MAX_BPM = 1.0, 1000.0
DEFAULT_BPM = 120.0


@dataclass
class OutTrack:
    """One track to write: notes in the song's ticks, plus the non-note events it brings from the input."""

    name: str
    program: int
    is_drum: bool
    notes: list[Note]
    channel: int | None = None  # None: a free channel is picked (assign_channels)
    events: list[MidiEvent] = field(default_factory=list)


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
                chunks.append(_without_bad_key_signatures(data[pos : pos + 8 + length]))
        pos += 8 + length
    if found < n_tracks:
        raise GetMusicError(f"{name}: truncated MIDI file ({found} of {n_tracks} tracks present)")
    header = b"MThd" + struct.pack(">IHHH", 6, fmt, len(chunks), division)
    return fmt, header + b"".join(chunks)


def _varlen(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of the variable-length quantity at pos; IndexError past the end."""
    value = 0
    while True:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos


def _encode_varlen(value: int) -> bytes:
    out = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        out.append(0x80 | (value & 0x7F))
    return bytes(reversed(out))


def _without_bad_key_signatures(chunk: bytes) -> bytes:
    """The MTrk chunk without key-signature events that name no key (a mode of 255, say, which some sequencers
    write), their delta times carried to the next event: the parser would reject the whole file for a
    meaningless event. A chunk it cannot walk is returned as it is, for the parser to judge."""
    if b"\xff\x59\x02" not in chunk:
        return chunk
    body, pos, out, carried, status, dropped = chunk[8:], 0, bytearray(), 0, None, False
    try:
        while pos < len(body):
            delta, at = _varlen(body, pos)
            first = body[at]
            if first == 0xFF:
                length, data_at = _varlen(body, at + 2)
                end = data_at + length
                if body[at + 1] == 0x59 and length == 2:
                    sharps, mode = body[data_at] - 256 * (body[data_at] > 127), body[data_at + 1]
                    if not (-7 <= sharps <= 7 and mode in (0, 1)):
                        carried += delta
                        dropped = True
                        pos = end
                        continue
            elif first in (0xF0, 0xF7):
                length, data_at = _varlen(body, at + 1)
                end, status = data_at + length, first  # the parser keeps SysEx as the running status
            elif first >= 0x80 or status is not None:
                status = first if first >= 0x80 else status
                if status >= 0xF0:
                    return chunk
                end = at + (first >= 0x80) + (1 if 0xC0 <= status < 0xE0 else 2)
            else:
                return chunk  # running status before any status byte
            out += _encode_varlen(delta + carried) + body[at:end]
            carried, pos = 0, end
    except IndexError:
        return chunk
    return chunk[:4] + struct.pack(">I", len(out)) + bytes(out) if dropped else chunk


def _parse(path: Path, data: bytes):
    import io

    import mido

    try:
        return mido.MidiFile(file=io.BytesIO(data))
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


def _meta(midi, kind: str) -> list[tuple[int, object]]:
    """(tick, message) of every meta event of one kind in any track, by tick (file order within a tick)."""
    found = []
    for t, track in enumerate(midi.tracks):
        tick = 0
        for pos, msg in enumerate(track):
            tick += msg.time
            if msg.type == kind:
                found.append((tick, t, pos, msg))
    return [(tick, msg) for tick, _, _, msg in sorted(found, key=lambda f: f[:3])]


def _tempos(path: Path, midi) -> list[TempoChange]:
    import mido

    by_tick: dict[int, float] = {}
    for tick, msg in _meta(midi, "set_tempo"):
        bpm = float(mido.tempo2bpm(msg.tempo)) if msg.tempo > 0 else 0.0
        if not MIN_BPM <= bpm <= MAX_BPM:
            raise GetMusicError(
                f"{printable(path.name)}: absurd tempo of {bpm:g} BPM at tick {tick} "
                f"(expected {MIN_BPM:g}..{MAX_BPM:g})"
            )
        by_tick[tick] = bpm  # the last one at a tick wins
    tempos: list[TempoChange] = []
    for tick, bpm in sorted(by_tick.items()):
        if not tempos or tempos[-1].bpm != bpm:
            tempos.append(TempoChange(tick, bpm))
    if not tempos or tempos[0].tick > 0:
        tempos.insert(0, TempoChange(0, DEFAULT_BPM))
    return tempos


def _time_signatures(path: Path, midi) -> list[TimeSignature]:
    by_tick: dict[int, tuple[int, int]] = {}
    for tick, ts in _meta(midi, "time_signature"):
        num, den = int(ts.numerator), int(ts.denominator)
        if not 1 <= num <= 64 or den not in (1, 2, 4, 8, 16, 32, 64):
            den_text = str(den) if den <= 1024 else f"2^{den.bit_length() - 1}"
            raise GetMusicError(f"{printable(path.name)}: absurd time signature {num}/{den_text} at tick {tick}")
        by_tick[tick] = (num, den)
    signatures: list[TimeSignature] = []
    for tick, (num, den) in sorted(by_tick.items()):
        # A restatement of the current meter is not a change (it would start a spurious bar).
        if not signatures or (signatures[-1].numerator, signatures[-1].denominator) != (num, den):
            signatures.append(TimeSignature(tick, num, den))
    if not signatures or signatures[0].tick > 0:
        signatures.insert(0, TimeSignature(0, 4, 4))  # the MIDI default
    return signatures


def _sources(parts: list[smf.Part], midi_type: int) -> tuple[list[SourceTrack], dict[int, int]]:
    """Tracks with notes, one per (track, channel), with all their events; and zero-length note counts."""
    sources: list[SourceTrack] = []
    zero_length: dict[int, int] = {}
    for index, part in enumerate(parts):
        kept = [n for n in part.notes if n.end > n.start]
        if len(kept) < len(part.notes):
            zero_length[index] = len(part.notes) - len(kept)
        # In a type-0 file the single track's name is usually the song title: not a hint.
        name = "" if midi_type == 0 else part.name.strip()
        if kept:
            is_drum = part.channel == smf.DRUM_CHANNEL
            sources.append(
                SourceTrack(index, name, part.program, is_drum, kept, None, channel=part.channel, events=part.events)
            )
    return sources, zero_length


def _end_of_file(midi) -> int:
    return max((sum(msg.time for msg in track) for track in midi.tracks), default=0)


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
    parts, song_events = smf.read_parts(midi)
    sources, zero_length = _sources(parts, midi_type)
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
            f"{printable(path.name)}: every track was dropped ({dropped})",
            cli_hint="map one with --map NAME=class",
        )
    return Song(
        ticks_per_beat=tpb,
        tempos=tempos,
        time_signatures=signatures,
        sources=sources,
        notes=notes,
        name=path.stem,
        events=song_events,
        end_of_file=_end_of_file(midi),
    )


def require_pitched(song: Song, path: str | Path | None = None) -> None:
    """GetMusicError if the song has no pitched notes (only drums): key and chords cannot be heard in it."""
    if song.classes() and all(c == "drums" for c in song.classes()):
        where = f"{Path(path).name}: " if path is not None else ""
        raise GetMusicError(f"{where}only drums: no pitched notes to detect a key and chords from")


# ----- writing ----------------------------------------------------------------------------------------------------


def assign_channels(tracks: list[OutTrack], song_events: list[MidiEvent] = ()) -> list[str]:
    """Give every track without a channel a free one (in place); return one line per track that had to share.

    Drums go to channel 10. A pitched track takes the lowest channel (never 10) that no other track plays on,
    preferring channels the song's own set-up events do not address. When all 15 are taken it shares the channel
    of the track with the fewest notes, and the returned line says so.
    """
    used: dict[int, OutTrack] = {t.channel: t for t in tracks if t.channel is not None}
    addressed = {c for e in song_events if (c := smf.event_channel(e.data)) is not None}
    warnings: list[str] = []
    for track in tracks:
        if track.channel is not None:
            continue
        if track.is_drum:
            track.channel = smf.DRUM_CHANNEL
            other = used.get(smf.DRUM_CHANNEL)
            if other is not None and not other.is_drum:
                warnings.append(f"{track.name} shares MIDI channel 10 with {other.name} (drums must play there)")
        else:
            pitched = [c for c in range(16) if c != smf.DRUM_CHANNEL]
            free = [c for c in pitched if c not in used]
            if free:
                track.channel = min(free, key=lambda c: (c in addressed, c))
            else:
                sharer = min((t for t in tracks if t.channel in pitched), key=lambda t: len(t.notes))
                track.channel = sharer.channel
                warnings.append(
                    f"no free MIDI channel: {track.name} shares channel {track.channel + 1} with {sharer.name}"
                )
        used.setdefault(track.channel, track)
    return warnings


def _track_events(track: OutTrack) -> list[MidiEvent]:
    """The track's own events, with a name and program added when it brings none, and its notes."""
    channel = track.channel
    added = []
    if track.name and not any(e.data[:2] == b"\xff\x03" for e in track.events):
        added.append(MidiEvent(0, smf.message_bytes(_meta_message("track_name", name=track.name))))
    if not any(e.data[0] == 0xC0 | channel for e in track.events):
        added.append(MidiEvent(0, bytes((0xC0 | channel, int(track.program)))))
    return added + list(track.events) + smf.note_events(track.notes, channel)


def _meta_message(kind: str, **fields):
    import mido

    return mido.MetaMessage(kind, **fields)


def _conductor(
    tempos: list[TempoChange], time_signatures: list[TimeSignature], events: list[MidiEvent], taken: set[int]
) -> list[MidiEvent]:
    """Tempo and meter maps and the song's events; set-up messages for channels that made tracks took are left
    out (a volume of 0 or another program meant for an unused channel must not silence or change a new track)."""
    import mido

    out = [
        MidiEvent(t.tick, smf.message_bytes(_meta_message("set_tempo", tempo=mido.bpm2tempo(t.bpm)))) for t in tempos
    ]
    out += [
        MidiEvent(
            ts.tick,
            smf.message_bytes(_meta_message("time_signature", numerator=ts.numerator, denominator=ts.denominator)),
        )
        for ts in time_signatures
    ]
    out += [e for e in events if smf.event_channel(e.data) not in taken]
    return out


def write_midi(
    path: str | Path,
    *,
    ticks_per_beat: int,
    tempos: list[TempoChange],
    time_signatures: list[TimeSignature],
    tracks: list[OutTrack],
    events: list[MidiEvent] = (),
    end_of_file: int = 0,
    overwrite: bool = True,
) -> Path:
    """Write a type-1 MIDI file atomically (temporary file in the same folder, then rename). Returns the path.

    The first track holds the tempo and meter maps and the song's `events`; each OutTrack follows with its events
    and notes on its channel (assign_channels picks one for tracks without). `end_of_file` keeps trailing silence.
    Without ``overwrite`` a file that exists by the time of the rename is left alone (GetMusicError).
    """
    path = Path(path)
    assign_channels(tracks, list(events))
    # Song events only address channels on which the input plays no note, so any track here on one is new.
    taken = {t.channel for t in tracks}
    conductor = _conductor(tempos, time_signatures, list(events), taken)
    midi = smf.build_file(ticks_per_beat, conductor, [_track_events(t) for t in tracks], end=end_of_file)
    check_output(path, overwrite=True)
    return write_atomically(path, lambda handle: midi.save(file=handle), overwrite=overwrite)
