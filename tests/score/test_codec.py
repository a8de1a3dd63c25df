"""Song → GETScore → notes keeps every note's onset, pitch and class (16th grid, duration bucket)."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from getmusic_cli.score.codec import decode, encode, song_columns
from getmusic_cli.score.durations import decode_duration, encode_duration
from getmusic_cli.score.midi_io import read_midi
from getmusic_cli.score.song import Note, Song, TimeSignature
from getmusic_cli.score.timeline import Timeline
from getmusic_cli.score.tracks import INSTRUMENTS, duration_row, pitch_row
from getmusic_cli.score.vocab import Vocabulary

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = ["multitrack.mid", "type0.mid", "waltz_3_4.mid", "changes.mid", "hires_960.mid",
            "real/bach_bwv253.mid", "real/freedoom_e1m7_16bars.mid", "real/freedoom_ddtbl2_16bars.mid"]


def groups(song: Song, timeline: Timeline, shift: int = 0) -> dict[str, set]:
    """(class, onset column, pitch, duration code of the group's lowest note) for every note."""
    out = {}
    for name, notes in song.notes.items():
        by_col: dict[int, list[Note]] = {}
        for n in notes:
            by_col.setdefault(timeline.tick_to_column(n.start), []).append(n)
        cells = set()
        for col, group in by_col.items():
            low = min(group, key=lambda n: n.pitch)
            code = max(1, encode_duration(timeline.tick_to_column(low.end) - col))
            cells |= {(col, n.pitch, code) for n in group}
        out[name] = cells
    return out


def decoded_groups(notes_by_class, timeline):
    return {
        name: {(timeline.tick_to_column(n.start), n.pitch,
                encode_duration(timeline.tick_to_column(n.end) - timeline.tick_to_column(n.start))) for n in notes}
        for name, notes in notes_by_class.items() if notes
    }


def vocab_for(songs) -> Vocabulary:
    counts = {c: Counter() for c in INSTRUMENTS}
    for song in songs:
        tl = Timeline(song.ticks_per_beat, song.time_signatures)
        for name, notes in song.notes.items():
            cols = Counter()
            by_col = {}
            for n in notes:
                by_col.setdefault(tl.tick_to_column(n.start), set()).add(n.pitch)
            for pitches in by_col.values():
                counts[name][tuple(sorted(pitches))] += 1
    return Vocabulary.build(counts, min_count=0)


@pytest.mark.parametrize("name", FIXTURES)
def test_round_trip_over_fixtures(name):
    song = read_midi(DATA / name)
    vocab = vocab_for([song])  # every group of this song is in the vocabulary
    tl = Timeline(song.ticks_per_beat, song.time_signatures)
    score, report = encode(song, vocab, chords=None, transpose=False)
    assert score.tokens.shape == (14, song_columns(song, tl))
    got = decoded_groups(decode(score, vocab, tl), tl)
    want = groups(song, tl)
    for cls in song.classes():
        assert got.get(cls, set()) <= want[cls]
        if cls != "lead":  # the lead alone is monophonic: its chords are reduced to the top note
            assert got.get(cls, set()) == want[cls], cls
            assert report.classes[cls].reduced == 0
        else:
            assert len(want[cls] - got[cls]) <= report.classes[cls].reduced


def test_rows_and_specials():
    vocab = Vocabulary.basic()
    tpb = 480
    song = Song(ticks_per_beat=tpb, notes={
        "lead": [Note(0, tpb, 72), Note(tpb, 2 * tpb, 74)],
        "drums": [Note(0, 120, 36), Note(0, 120, 42)],
    })
    score, report = encode(song, vocab, chords=[(9, "m")], transpose=False)
    t = score.tokens
    assert t.shape == (14, 16)
    assert (t[pitch_row("bass")] == vocab.empty_id).all()  # absent class
    assert t[pitch_row("lead"), 0] == vocab.id("M72") and t[duration_row("lead"), 0] == vocab.duration_id(4)
    assert t[pitch_row("lead"), 1] == vocab.pad_id and t[pitch_row("lead"), 4] == vocab.id("M74")
    # Drums: the kick+hat composite is not in the basic vocabulary: reduced to one hit, counted.
    assert t[pitch_row("drums"), 0] in (vocab.id("D164"), vocab.id("D170"))
    assert report.classes["drums"].reduced == 1 and report.classes["drums"].lengthened == 0
    # Chord rows: A minor on every column of bar 1.
    assert (t[12] == vocab.chord_root_id(9)).all() and (t[13] == vocab.chord_kind_id("m")).all()


def test_lead_reduces_to_top_note_and_transposition_is_undone():
    vocab = Vocabulary.basic()
    tpb = 96
    # E major material: the codec moves it to C major and back.
    lead = [Note(0, tpb, 64), Note(0, tpb, 68), Note(tpb, 2 * tpb, 71)]
    piano = [Note(i * tpb, (i + 1) * tpb, p) for i, p in enumerate((64, 66, 68, 69, 71, 73, 75, 76))]
    song = Song(ticks_per_beat=tpb, notes={"lead": lead, "piano": piano})
    score, report = encode(song, vocab, transpose=True)
    assert score.pitch_shift == -4
    assert score.tokens[pitch_row("lead"), 0] == vocab.id("M64")  # 68 - 4: the top note
    tl = Timeline(tpb, [])
    out = decode(score, vocab, tl)
    assert [n.pitch for n in out["lead"]] == [68, 71]
    assert [n.pitch for n in out["piano"]] == [n.pitch for n in piano]
    assert report.classes["lead"].reduced == 1


def test_three_four_bars_and_length():
    vocab = Vocabulary.basic()
    song = Song(ticks_per_beat=480, time_signatures=[TimeSignature(0, 3, 4)],
                notes={"piano": [Note(0, 480, 60), Note(7 * 480, 8 * 480, 62)]})
    score, _ = encode(song, vocab, chords=[(0, "null"), (7, "null"), (0, "null")], transpose=False)
    assert score.bar_starts == [0, 12, 24]
    assert score.tokens.shape[1] == 36
    assert score.tokens[12, 11] == vocab.chord_root_id(0) and score.tokens[12, 12] == vocab.chord_root_id(7)
    wider, _ = encode(song, vocab, chords=[(0, "null"), (7, "null"), (0, "null")], transpose=False, length=48)
    assert wider.tokens.shape[1] == 48 and np.array_equal(wider.tokens[:, :36], score.tokens)
    assert (wider.tokens[:, 36:] == vocab.empty_id).all()
