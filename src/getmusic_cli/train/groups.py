"""Note groups of a song: what the vocabulary is built from (no torch, no vocabulary needed).

A group is the set of distinct pitches one class starts at the same 16th-note column, after the song is
moved to C major / A minor (drums are never transposed), which is exactly what one pitch token encodes.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from getmusic_cli.score.keys import detect_key
from getmusic_cli.score.song import Song
from getmusic_cli.score.timeline import Timeline
from getmusic_cli.score.tracks import INSTRUMENTS


def song_bars(song: Song) -> int:
    from getmusic_cli.score.codec import song_columns

    timeline = Timeline(song.ticks_per_beat, song.time_signatures)
    return timeline.n_bars(song_columns(song, timeline))


def count_groups(song: Song, transpose: bool = True) -> dict[str, Counter]:
    """{class: Counter({(pitch, ...): occurrences})}, pitches ascending, as the codec would group them."""
    timeline = Timeline(song.ticks_per_beat, song.time_signatures)
    pitched = [n for c in INSTRUMENTS if c != "drums" for n in song.notes.get(c, [])]
    shift = detect_key(pitched, song.ticks_per_beat).shift if transpose else 0
    counts: dict[str, Counter] = {}
    for cls, notes in song.notes.items():
        offset = 0 if cls == "drums" else shift
        by_column: dict[int, set[int]] = defaultdict(set)
        for n in notes:
            pitch = n.pitch + offset
            if 0 <= pitch <= 127:
                by_column[timeline.tick_to_column(n.start)].add(pitch)
        counts[cls] = Counter(tuple(sorted(group)) for group in by_column.values())
    return counts
