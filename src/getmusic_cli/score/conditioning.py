"""What the model is given when it makes tracks: the kept tracks, their chords and the task, built in one place.

``generate`` and ``evaluate`` both call :func:`generation_input`, so the scorecard measures exactly what users
get. Chords come from the kept tracks only (a made track cannot leak into its own condition; a lead kept alone
is heard by the melody recogniser), unless the caller asks for chords given as text, none, or (evaluation only,
labelled so) the oracle chords of the whole real song.
"""

from __future__ import annotations

from dataclasses import dataclass

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score import chords as chordlib
from getmusic_cli.score.codec import GETScore, encode, song_columns
from getmusic_cli.score.melody_chords import recognize_melody_chords
from getmusic_cli.score.song import Song
from getmusic_cli.score.task import Task, generation_task
from getmusic_cli.score.timeline import Timeline

CHORDS_KEPT = "kept"  # recognised from the kept tracks (the default, what generate does)
CHORDS_NONE = "none"  # no chord rows
CHORDS_ORACLE = "oracle"  # recognised from every track of the real song (the paper's chord-given setting)
CHORDS_GIVEN = "given"  # the user's chord text, one per bar, cycled
CHORD_MODES = (CHORDS_KEPT, CHORDS_NONE, CHORDS_ORACLE, CHORDS_GIVEN)


@dataclass
class GenerationInput:
    song: Song  # the kept tracks only
    timeline: Timeline
    score: GETScore  # the encoded kept tracks and chord rows
    task: Task  # tokens and condition flags for the sampler
    chords: list | None  # the chord per bar in the chord rows (song's own key), None when off


def only(song: Song, classes: list[str]) -> Song:
    """The song with just these classes (sources and notes); tempo and meter maps unchanged."""
    return Song(
        ticks_per_beat=song.ticks_per_beat,
        tempos=song.tempos,
        time_signatures=song.time_signatures,
        sources=[s for s in song.sources if s.instrument in classes],
        notes={c: n for c, n in song.notes.items() if c in classes},
        name=song.name,
    )


def pitched_notes(song: Song) -> list:
    return [n for c in song.classes() if c != "drums" for n in song.notes[c]]


def chord_rows(
    song: Song,
    timeline: Timeline,
    n_columns: int,
    lag: int,
    mode: str = CHORDS_KEPT,
    given: str | None = None,
) -> list | None:
    """The chord per bar for the chord rows: recognised from ``song``'s pitched tracks, given as text, or off.

    ``song`` is whatever the caller lets the chords be heard in: the kept tracks, or the whole song (oracle).
    """
    if mode not in CHORD_MODES:
        raise GetMusicError(f"chords must be one of {', '.join(CHORD_MODES)}, not {mode!r}")
    if mode == CHORDS_NONE:
        return None
    n_bars = timeline.n_bars(n_columns)
    if mode == CHORDS_GIVEN:
        chords = chordlib.parse_chords(given or "")
        if not chords:
            raise GetMusicError("chords need at least one chord, e.g. 'Am F C G'")
        return [chords[i % len(chords)] for i in range(n_bars)]
    return heard_chords(song, timeline, n_columns, lag)


def heard_chords(song: Song, timeline: Timeline, n_columns: int, lag: int = 0) -> list | None:
    """The chord per bar heard in ``song``'s pitched tracks; None when it has none (e.g. only drums kept).

    A lead heard alone goes to the melody recogniser: the template one, made for full textures, agrees with the
    whole piece's chords in about one bar of five from a lead alone (``melody_chords``).
    """
    pitched = pitched_notes(song)
    if not pitched:
        return None
    if [c for c in song.classes() if c != "drums"] == ["lead"]:
        return recognize_melody_chords(pitched, timeline, n_columns, lag=lag)
    return chordlib.recognize_chords(pitched, timeline, n_columns, lag=lag)


def generation_input(
    song: Song,
    keep: list[str],
    make: list[str],
    vocab,
    *,
    transpose: bool,
    chord_lag: int,
    chords: str = CHORDS_KEPT,
    given_chords: str | None = None,
) -> GenerationInput:
    """Encode the kept tracks of ``song`` with their chord rows and mask the made classes over the whole song.

    The made classes' real notes (if the song has them) never reach the model: they are removed before encoding
    and before chords are heard, except with ``chords=CHORDS_ORACLE``, the evaluation's explicit oracle setting.
    """
    timeline = Timeline(song.ticks_per_beat, song.time_signatures)
    kept = only(song, keep)
    # The whole song's length, so made tracks may go on where the kept ones have ended.
    length = song_columns(song, timeline)
    heard = song if chords == CHORDS_ORACLE else kept
    rows = chord_rows(heard, timeline, length, chord_lag, chords, given_chords)
    score, _ = encode(kept, vocab, chords=rows, transpose=transpose, length=length)
    task = generation_task(score.tokens, make, vocab.mask_id, vocab.empty_id)
    return GenerationInput(kept, timeline, score, task, rows)
