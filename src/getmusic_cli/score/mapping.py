"""Which of the six classes each MIDI track plays, read as a musician reads a track list.

Every track gets a class, or is dropped with a reason the user sees (`getmusic inspect`), in this order:

1. A user override (`--map NAME_OR_INDEX=class`, or `=drop`) wins.
2. The drum channel (MIDI channel 10) is drums; a track on any other channel is never drums, whatever its name.
3. The General MIDI program decides (tracks.FAMILY_CLASS and tracks.PROGRAM_EXCEPTIONS): the program and the
   channel outrank name words. Only a track on program 0, the default of a file that never sets one, takes its
   class from a word in its name (tracks.NAME_HINTS: "Bass", "Strings", "Melody", "Overdrive Gt" ...).
4. Register moves a class:
   - a bass line: a piano, strings or lead track, mostly monophonic (BASS_LINE_MONOPHONY), with at least
     BASS_LINE_SHARE of its notes below C3 (BASS_LINE_PITCH) is bass ("Piano" playing the bass, a synth lead
     or a string section doubling the bass an octave down);
   - a bass sound played high: a bass-program track with a mean pitch of C4 (HIGH_BASS_PITCH) or more is a
     melodic voice (strings), and so a lead candidate.
5. A track that is lead by its program (synth leads, flutes, harmonica) stays lead only if it plays a tune (see
   below; chords are allowed for synth leads, whose patches are made for harmonised melodies) or its name says
   lead/melody; else strings.
6. The lead rule. A track carries the tune when it is
   - not bass-register: mean pitch at least G3 (LEAD_MIN_PITCH);
   - monophonic or nearly so: at least LEAD_MONOPHONY of its notes start alone (octave doublings count as one);
   - not sparse: at least LEAD_MIN_NOTES notes, in at least LEAD_MIN_BARS of the song's bars, with at least
     LEAD_NOTES_PER_BAR notes in the bars it plays (a line of whole notes is a pad);
   - a line that moves: at least LEAD_MIN_PITCHES different pitches.
   A guitar, piano or strings track whose name says lead/solo/melody/theme (camelCase split: "PianoMelody") and
   that carries the tune (the bar share not required) becomes lead, the best of such tracks only. If no track is
   lead by then, the best candidate is, by score = mean pitch + LEAD_BAR_WEIGHT x share of bars played
   + LEAD_MELODY_BONUS for a melody instrument (tracks.MELODY_PROGRAMS: flute, sax, trumpet, music box, violin,
   synth voice ...). A candidate that doubles the chosen lead (most of its notes at the lead's onsets and pitch
   classes) is lead as well.
Several tracks of one class stay separate tracks; the model sees their notes together (score/assign.py puts
generated notes back into them).

A "bar" here is four beats from the song's first note: the shares need no meter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.tracks import DROP, display_name, name_class, name_words, program_class, program_reason

# Register (MIDI pitches).
BASS_LINE_PITCH = 48  # C3
BASS_LINE_SHARE = 0.9
BASS_LINE_MONOPHONY = 0.8
HIGH_BASS_PITCH = 60  # C4
LOW_LEAD_PITCH = 48  # C3: a lead-program track lower than this on average plays a bass line
LEAD_MIN_PITCH = 55  # G3

# The lead rule.
LEAD_MONOPHONY = 0.6
LEAD_MIN_NOTES = 16
LEAD_MIN_BARS = 0.15
LEAD_NOTES_PER_BAR = 1.5
LEAD_MIN_PITCHES = 3
LEAD_BAR_WEIGHT = 24.0  # semitones for a track that plays in every bar
LEAD_MELODY_BONUS = 12.0  # semitones
LEAD_DOUBLING = 0.8  # share of a track's notes at the lead's onsets and pitch classes that makes it a doubling

# Programs (0-based) of instruments that usually play the tune.
MELODY_PROGRAMS = frozenset(
    [*range(8, 15)]  # celesta, glockenspiel, music box, vibraphone, marimba, xylophone, tubular bells
    + [22, 40, 54, 56, 59, 110, 111]  # harmonica, violin, synth voice, trumpet, muted trumpet, fiddle, shanai
    + [*range(64, 88)]  # reeds, pipes, synth leads
)
# Classes the lead rule may take a track from.
_LEAD_SOURCES = ("strings", "guitar", "piano")
_SYNTH_LEADS = range(80, 88)
_LEAD_WORDS = re.compile(r"\b(lead|solo|melody|melodie|theme)\b")


@dataclass(frozen=True)
class Profile:
    """What the mapping looks at in a track's notes."""

    notes: int
    mean_pitch: float
    low_share: float  # share of notes below BASS_LINE_PITCH
    monophony: float  # share of notes that start alone (monophonic_share)
    bar_share: float  # share of the song's bars in which a note starts
    notes_per_bar: float  # notes per bar played
    pitches: int  # distinct pitches


def _collapse_octaves(notes: Sequence, tolerance: int) -> list:
    """Octave doublings (same onset, same pitch class) reduced to the top note: a doubled line is one line."""
    ordered = sorted(notes, key=lambda n: (n.start, -n.pitch))
    kept: list = []
    group_start, group_classes = None, set()
    for note in ordered:
        if group_start is None or note.start - group_start > tolerance:
            group_start, group_classes = note.start, set()
        if note.pitch % 12 in group_classes:
            continue
        group_classes.add(note.pitch % 12)
        kept.append(note)
    return kept


def monophonic_share(notes: Sequence, tolerance: int) -> float:
    """Share of notes that start while no other note of the same track is sounding (chords count as polyphony,
    octave doublings do not; overlaps up to `tolerance` ticks count as legato)."""
    if not notes:
        return 0.0
    ordered = sorted(_collapse_octaves(notes, tolerance), key=lambda n: (n.start, n.pitch))
    alone = 0
    latest_end = -1  # end of the longest-lasting earlier note
    for i, note in enumerate(ordered):
        overlaps_before = latest_end > note.start + tolerance
        overlaps_after = i + 1 < len(ordered) and ordered[i + 1].start < note.start + tolerance
        simultaneous = i > 0 and ordered[i - 1].start > note.start - tolerance
        if not (overlaps_before or overlaps_after or simultaneous):
            alone += 1
        latest_end = max(latest_end, note.end)
    return alone / len(ordered)


def profile(notes: Sequence, ticks_per_beat: int, song_start: int, song_bars: int) -> Profile:
    bar = 4 * ticks_per_beat
    played = {(n.start - song_start) // bar for n in notes}
    pitches = [n.pitch for n in notes]
    return Profile(
        notes=len(notes),
        mean_pitch=sum(pitches) / len(pitches),
        low_share=sum(p < BASS_LINE_PITCH for p in pitches) / len(pitches),
        monophony=monophonic_share(notes, max(1, ticks_per_beat // 8)),
        bar_share=len(played) / max(1, song_bars),
        notes_per_bar=len(notes) / max(1, len(played)),
        pitches=len(set(pitches)),
    )


def carries_tune(p: Profile, *, need_bars: bool = True, need_monophony: bool = True) -> bool:
    """The lead rule's test (module docstring, step 6)."""
    return (
        p.mean_pitch >= LEAD_MIN_PITCH
        and (p.monophony >= LEAD_MONOPHONY or not need_monophony)
        and p.notes >= LEAD_MIN_NOTES
        and (p.bar_share >= LEAD_MIN_BARS or not need_bars)
        and p.notes_per_bar >= LEAD_NOTES_PER_BAR
        and p.pitches >= LEAD_MIN_PITCHES
    )


def classify(track, p: Profile, override: str | None = None) -> tuple[str | None, str]:
    """(class or None, reason) for one SourceTrack, before the lead rule (steps 1-5)."""
    if override is not None:
        return (None, "dropped: override") if override == DROP else (override, "override")
    if track.is_drum:
        return "drums", "drum channel"
    hint = name_class(track.name) if track.program == 0 else None
    if hint is not None and hint[0] != "drums":
        cls, reason = hint[0], f"name {track.name!r} (program 0)"
    else:
        cls, reason = program_class(track.program), program_reason(track.program)
    if cls is None:
        return cls, reason
    low_line = p.low_share >= BASS_LINE_SHARE and p.monophony >= BASS_LINE_MONOPHONY
    if cls in ("piano", "strings") and low_line:
        return "bass", f"{reason}, plays a bass line ({p.low_share:.0%} of notes below C3)"
    if cls == "lead":
        if p.mean_pitch < LOW_LEAD_PITCH:  # synth-lead sounds are often used for bass lines
            return "bass", f"{reason}, played low (mean pitch {p.mean_pitch:.0f})"
        named = _LEAD_WORDS.search(name_words(track.name))
        if not named and not carries_tune(p, need_bars=False, need_monophony=track.program not in _SYNTH_LEADS):
            return "strings", f"{reason}, but plays no tune (a part, not the melody)"
    if cls == "bass" and p.mean_pitch >= HIGH_BASS_PITCH:
        return "strings", f"{reason}, played high (mean pitch {p.mean_pitch:.0f}): a melodic voice"
    return cls, reason


def _lead_score(track, p: Profile) -> float:
    return p.mean_pitch + LEAD_BAR_WEIGHT * p.bar_share + (LEAD_MELODY_BONUS if track.program in MELODY_PROGRAMS else 0)


def _doubles(notes: Sequence, lead_notes: Sequence, tolerance: int) -> bool:
    onsets = {(n.start // tolerance, n.pitch % 12) for n in lead_notes}
    shared = sum((n.start // tolerance, n.pitch % 12) in onsets for n in notes)
    return shared >= LEAD_DOUBLING * len(notes)


def choose_leads(
    tracks: Sequence, profiles: Sequence[Profile], ticks_per_beat: int, fixed: Iterable[int] = ()
) -> list[tuple[int, str]]:
    """(position, why) of the tracks the lead rule moves to lead (step 6); `fixed` positions are never moved."""
    fixed = set(fixed)
    pool = [i for i, t in enumerate(tracks) if i not in fixed and t.instrument in _LEAD_SOURCES]
    named = [
        i for i in pool if _LEAD_WORDS.search(name_words(tracks[i].name)) and carries_tune(profiles[i], need_bars=False)
    ]
    chosen: list[tuple[int, str]] = []
    if named:
        best = max(named, key=lambda i: (_lead_score(tracks[i], profiles[i]), -i))
        chosen.append((best, "named lead/solo/melody"))
    elif not any(t.instrument == "lead" for t in tracks):
        tunes = [i for i in pool if carries_tune(profiles[i])]
        if tunes:
            best = max(tunes, key=lambda i: (_lead_score(tracks[i], profiles[i]), -i))
            chosen.append((best, "carries the tune"))
    if chosen:
        lead = tracks[chosen[0][0]]
        tolerance = max(1, ticks_per_beat // 8)
        for i in pool:
            if i != chosen[0][0] and carries_tune(profiles[i], need_bars=False):
                if _doubles(tracks[i].notes, lead.notes, tolerance):
                    chosen.append((i, f"doubles {display_name(lead)!r}"))
    return chosen


def _match_overrides(tracks: Sequence, overrides: dict[str, str]) -> dict[int, str]:
    """Track position -> override class; a key is a 0-based index (digits) or a name (case-insensitive)."""
    matched: dict[int, str] = {}
    for key, cls in overrides.items():
        hits: list[int] = []
        if key.isdigit():
            hits = [i for i, t in enumerate(tracks) if t.index == int(key)]
        else:
            wanted = key.casefold()
            hits = [
                i
                for i, t in enumerate(tracks)
                if t.name.strip().casefold() == wanted or display_name(t).casefold() == wanted
            ]
        if not hits:
            listing = ", ".join(f"{t.index} {display_name(t)!r}" for t in tracks)
            raise GetMusicError(f"map {key}={cls}: no track with that name or index (tracks: {listing})")
        for i in hits:
            matched[i] = cls
    return matched


def map_tracks(tracks: Sequence, overrides: dict[str, str] | None = None, *, ticks_per_beat: int = 480):
    """Set `instrument` and `reason` on every SourceTrack (in place) and return the same list (module docstring)."""
    fixed = _match_overrides(tracks, overrides or {})
    notes = [n for t in tracks for n in t.notes]
    song_start = min((n.start for n in notes), default=0)
    song_end = max((n.end for n in notes), default=0)
    song_bars = max(1, -(-(song_end - song_start) // (4 * ticks_per_beat)))
    profiles = [profile(t.notes, ticks_per_beat, song_start, song_bars) for t in tracks]
    for i, track in enumerate(tracks):
        track.instrument, track.reason = classify(track, profiles[i], fixed.get(i))
    for i, why in choose_leads(tracks, profiles, ticks_per_beat, fixed):
        track, p = tracks[i], profiles[i]
        track.reason = (
            f"lead rule: {why}, mean pitch {p.mean_pitch:.0f}, in {p.bar_share:.0%} of bars "
            f"(else {track.instrument}: {track.reason})"
        )
        track.instrument = "lead"
    return tracks
