"""A Standard MIDI File as parts with all their events, read and written with mido.

miditoolkit keeps notes, pitch bends, control changes, markers, lyrics and key signatures, but drops channel and
poly aftertouch, SysEx, most meta events and every channel number, and splits a track wherever its program
changes. A kept track must come back whole, so both ends of the pipeline work on mido messages here:

- A **part** is one (track, channel) pair that plays notes. Its events are every non-note message of that
  channel in that track (program changes, control changes, pitch bends, aftertouch, poly pressure), plus the
  track's own meta and SysEx events (on the track's first part), each kept as the exact bytes of the file.
  Channel messages for a channel that has no notes in their own track (a set-up track of program changes and
  volumes, say) join the first part that plays on that channel.
- **Song events** are what belongs to the whole song: markers, cue points, lyrics, key signatures, copyright,
  SMPTE offset, sequence numbers, everything in tracks without notes (the conductor track's name and text,
  a GM-reset SysEx), and channel messages of channels that play no notes at all. They go to the first track
  of the written file. Tempo and time-signature events are read into the song's tempo and meter maps instead
  (the reader validates them) and written back from those.
- Notes pair note-ons and note-offs per (channel, pitch) first-in first-out, as miditoolkit does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from getmusic_cli.score.song import MidiEvent, Note

# Meta events that describe the song rather than one instrument; they survive whatever happens to their track.
SONG_META = frozenset(
    {"key_signature", "marker", "cue_marker", "lyrics", "copyright", "smpte_offset", "sequence_number"}
)
# Meta events read into Song.tempos / Song.time_signatures and written back from them.
MAP_META = frozenset({"set_tempo", "time_signature"})
CHANNEL_MESSAGES = frozenset({"control_change", "pitchwheel", "program_change", "aftertouch", "polytouch"})
DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0


@dataclass
class Part:
    """One (track, channel) of the file that plays notes."""

    track: int
    channel: int
    name: str  # the track's name exactly as stored ('' if none)
    program: int  # GM program in force at the part's first note (0 if never set)
    notes: list[Note] = field(default_factory=list)  # in the order they close, zero-length ones included
    events: list[MidiEvent] = field(default_factory=list)  # by tick, in file order within a tick


@dataclass
class _Scan:
    """What one pass over the tracks collects before events are attached to parts."""

    parts: dict[tuple[int, int], Part] = field(default_factory=dict)  # insertion order = order of first note
    channel_events: dict[tuple[int, int], list[tuple[int, int, int, bytes]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    track_events: dict[int, list[tuple[int, int, int, bytes]]] = field(default_factory=lambda: defaultdict(list))
    song_events: list[tuple[int, int, int, bytes]] = field(default_factory=list)
    # (tick, track, position, channel, program) of every program change, for parts that inherit a program
    programs: list[tuple[int, int, int, int, int]] = field(default_factory=list)


def message_bytes(message) -> bytes:
    """The bytes a message has in a file (meta: FF type length data; SysEx: F0 ... F7)."""
    return bytes(message.bytes())


def message_from_bytes(data: bytes, time: int = 0):
    """The mido message for stored bytes, with a delta time."""
    import mido

    if data[0] == 0xFF:
        return mido.MetaMessage.from_bytes(data).copy(time=time)
    return mido.Message.from_bytes(data, time=time)


def _scan(midi) -> _Scan:
    scan = _Scan()
    for t, track in enumerate(midi.tracks):
        tick = 0
        open_notes: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        program_here: dict[int, int] = {}
        name = ""
        named = False
        for pos, msg in enumerate(track):
            tick += msg.time
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                key = (t, msg.channel)
                if key not in scan.parts:
                    scan.parts[key] = Part(t, msg.channel, name, program_here.get(msg.channel, -1))
                open_notes[(msg.channel, msg.note)].append((tick, msg.velocity))
            elif kind in ("note_on", "note_off"):
                waiting = open_notes.get((msg.channel, msg.note))
                if waiting:
                    start, velocity = waiting.pop(0)
                    scan.parts[(t, msg.channel)].notes.append(Note(start, tick, msg.note, velocity))
            elif kind in CHANNEL_MESSAGES:
                if kind == "program_change":
                    program_here[msg.channel] = msg.program
                    scan.programs.append((tick, t, pos, msg.channel, msg.program))
                scan.channel_events[(t, msg.channel)].append((tick, t, pos, message_bytes(msg)))
            elif kind == "end_of_track" or kind in MAP_META:
                continue
            elif kind == "track_name" and not named:
                name, named = msg.name, True
                scan.track_events[t].append((tick, t, pos, message_bytes(msg)))
            elif kind in SONG_META:
                scan.song_events.append((tick, t, pos, message_bytes(msg)))
            else:  # other meta (text, instrument name, port, ...) and SysEx
                scan.track_events[t].append((tick, t, pos, message_bytes(msg)))
        for part in scan.parts.values():
            if part.track == t and not part.name:
                part.name = name
    return scan


def _inherited_program(scan: _Scan, part: Part) -> int:
    """Program of a part that set none before its first note: the last one any track set on its channel."""
    first = min((n.start for n in part.notes), default=0)
    earlier = [p for p in scan.programs if p[3] == part.channel and p[0] <= first]
    return max(earlier)[4] if earlier else 0


def read_parts(midi) -> tuple[list[Part], list[MidiEvent]]:
    """Parts (in the order of their first note) and song events of a parsed mido.MidiFile.

    In a type-0 file the one track's meta and SysEx events (its name is the song's title) are song events.
    """
    scan = _scan(midi)
    if midi.type == 0:
        for events in scan.track_events.values():
            scan.song_events.extend(events)
        scan.track_events.clear()
    parts = list(scan.parts.values())
    for part in parts:
        if part.program < 0:
            part.program = _inherited_program(scan, part)
    first_of_track: dict[int, Part] = {}
    first_on_channel: dict[int, Part] = {}
    for part in parts:
        first_of_track.setdefault(part.track, part)
        first_on_channel.setdefault(part.channel, part)
    gathered: dict[int, list[tuple[int, int, int, bytes]]] = defaultdict(list)  # id(part) -> events
    song = list(scan.song_events)
    for (t, channel), events in scan.channel_events.items():
        owner = scan.parts.get((t, channel)) or first_on_channel.get(channel)
        (gathered[id(owner)] if owner else song).extend(events)
    for t, events in scan.track_events.items():
        owner = first_of_track.get(t)
        if owner is None:
            song.extend(events)
            continue
        gathered[id(owner)].extend(events)
        for other in parts:  # every part of a track carries the track's name
            if other.track == t and other is not owner:
                gathered[id(other)].extend(e for e in events if e[3][:2] == b"\xff\x03")
    for part in parts:
        part.events = [MidiEvent(tick, data) for tick, _, _, data in sorted(gathered[id(part)])]
    return parts, [MidiEvent(tick, data) for tick, _, _, data in sorted(song)]


# ----- writing ----------------------------------------------------------------------------------------------------


def _rank(data: bytes) -> int:
    """Order at one tick: every other event first (in its own order), then note-offs, then note-ons."""
    return {0x80: 1, 0x90: 2}.get(data[0] & 0xF0, 0) if data[0] < 0xF0 else 0


def event_channel(data: bytes) -> int | None:
    """Channel (0-15) of a channel message, None for meta and SysEx."""
    return data[0] & 0x0F if data[0] < 0xF0 else None


def _track(events: list[MidiEvent], end: int):
    """A mido track from absolute-tick events (stable within one tick), ending at `end` or the last event."""
    import mido

    ordered = sorted(events, key=lambda e: (e.tick, _rank(e.data)))
    track = mido.MidiTrack()
    now = 0
    for event in ordered:
        track.append(message_from_bytes(event.data, time=event.tick - now))
        now = event.tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    return track


def note_events(notes: list[Note], channel: int) -> list[MidiEvent]:
    on, off = 0x90 | channel, 0x80 | channel
    events = []
    for n in sorted(notes, key=lambda n: (n.start, n.pitch)):
        events.append(MidiEvent(n.start, bytes((on, n.pitch, n.velocity))))
        events.append(MidiEvent(n.end, bytes((off, n.pitch, 0))))
    return events


def build_file(ticks_per_beat: int, conductor: list[MidiEvent], tracks: list[list[MidiEvent]], end: int = 0):
    """A type-1 mido.MidiFile: the conductor track first, then one track per event list."""
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=int(ticks_per_beat))
    midi.tracks.append(_track(conductor, end))
    for events in tracks:
        midi.tracks.append(_track(events, 0))
    return midi
