"""Song → GETScore → notes keeps every note's onset, pitch and class (16th grid, duration bucket); reductions
and drops are counted, never silent."""

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.codec import CodecReport, GETScore, decode, decode_chords, encode, song_columns
from getmusic_cli.score.durations import encode_duration
from getmusic_cli.score.keys import detect_key
from getmusic_cli.score.song import Note, Song, TimeSignature
from getmusic_cli.score.timeline import Timeline
from getmusic_cli.score.tracks import CHORDS, DEFAULT_VELOCITY, INSTRUMENTS, duration_row, pitch_row
from getmusic_cli.score.vocab import Vocabulary

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = [
    "multitrack.mid",
    "unnamed.mid",
    "type0.mid",
    "waltz_3_4.mid",
    "changes.mid",
    "hires_960.mid",
    "drums_only.mid",
    "real/bach_bwv253.mid",
    "real/freedoom_e1m7_16bars.mid",
    "real/freedoom_ddtbl2_16bars.mid",
]
ORIGINAL_DICT = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "original-vocab" / "dict.txt"


# ----- what a round trip must give back, computed here independently of the codec -----


def shift_of(song: Song, transpose: bool) -> int:
    pitched = [n for c in INSTRUMENTS if c != "drums" for n in song.notes.get(c, [])]
    return detect_key(pitched, song.ticks_per_beat).shift if transpose else 0


def by_column(notes, tl: Timeline) -> dict[int, list[Note]]:
    out: dict[int, list[Note]] = {}
    for n in notes:
        out.setdefault(tl.tick_to_column(n.start), []).append(n)
    return out


def expected_cells(song: Song, shift: int) -> dict[str, set]:
    """(onset column, pitch, duration code of the group's lowest kept note) of every note that must come back,
    for a vocabulary holding every group: all of them, except that a lead chord keeps only its top note."""
    tl = Timeline(song.ticks_per_beat, song.time_signatures)
    out = {}
    for name, notes in song.notes.items():
        cells = set()
        for col, group in by_column(notes, tl).items():
            if name == "lead":
                top = max(n.pitch for n in group)
                group = [n for n in group if n.pitch == top]
            low = min(group, key=lambda n: (n.pitch, n.end))
            code = max(1, encode_duration(tl.tick_to_column(low.end) - col))
            cells |= {(col, n.pitch, code) for n in group}
        if cells:
            out[name] = cells
    return out


def decoded_cells(notes_by_class, tl: Timeline) -> dict[str, set]:
    return {
        name: {
            (
                tl.tick_to_column(n.start),
                n.pitch,
                encode_duration(tl.tick_to_column(n.end) - tl.tick_to_column(n.start)),
            )
            for n in notes
        }
        for name, notes in notes_by_class.items()
        if notes
    }


def vocab_for(songs, transpose: bool) -> Vocabulary:
    """A vocabulary holding every note group of the songs (as encoded: transposed, drums +0)."""
    counts = {c: Counter() for c in INSTRUMENTS}
    for song in songs:
        tl = Timeline(song.ticks_per_beat, song.time_signatures)
        shift = shift_of(song, transpose)
        for name, notes in song.notes.items():
            offset = 0 if name == "drums" else shift
            for group in by_column(notes, tl).values():
                counts[name][tuple(sorted({n.pitch + offset for n in group}))] += 1
    return Vocabulary.build(counts, min_count=0)


def assert_report_adds_up(song: Song, report: CodecReport) -> None:
    for name in song.classes():
        r = report.classes[name]
        assert r.notes == len(song.notes[name])
        assert r.encoded + r.reduced + r.dropped == r.notes, name
        assert sum(r.reasons.values()) == r.dropped


def round_trip(song: Song, vocab: Vocabulary, transpose: bool):
    tl = Timeline(song.ticks_per_beat, song.time_signatures)
    score, report = encode(song, vocab, chords=None, transpose=transpose)
    assert score.tokens.dtype == np.int64 and score.tokens.shape == (14, song_columns(song, tl))
    assert score.pitch_shift == shift_of(song, transpose)
    assert_report_adds_up(song, report)
    return decoded_cells(decode(score, vocab, tl), tl), score, report


# ----- songs written here -----


def random_song(seed: int) -> Song:
    """A few bars of every class at an arbitrary resolution and meter map, with off-grid onsets, chords in every
    pitched track (the lead's too), drum kits hits together and notes shorter than half a 16th."""
    rng = random.Random(seed)
    tpb = rng.choice([96, 120, 384, 480, 960])
    sigs = [TimeSignature(0, *rng.choice([(4, 4), (3, 4), (6, 8)]))]
    if rng.random() < 0.5:
        sigs.append(TimeSignature(rng.randrange(4, 12) * tpb, *rng.choice([(2, 4), (5, 4), (7, 8)])))
    tonic = rng.randrange(12)
    scale = [p for p in range(24, 108) if (p - tonic) % 12 in (0, 2, 4, 5, 7, 9, 11)]
    notes: dict[str, list[Note]] = {}
    for name in INSTRUMENTS:
        if rng.random() < 0.2:
            continue  # some classes absent
        out = []
        for _ in range(rng.randrange(5, 40)):
            start = rng.randrange(0, 24 * tpb) + rng.choice([0, 0, 0, tpb // 8])
            length = rng.choice([tpb // 10, tpb // 4, tpb // 2, tpb, 3 * tpb, 20 * tpb]) + rng.randrange(0, 30)
            size = 1 if name == "lead" and rng.random() < 0.8 else rng.randrange(1, 5)
            pool = range(35, 60) if name == "drums" else scale
            for pitch in rng.sample(list(pool), size):
                out.append(Note(start, start + max(1, length + rng.randrange(-5, 5)), pitch, rng.randrange(40, 127)))
        notes[name] = sorted(out, key=lambda n: (n.start, n.pitch))
    return Song(ticks_per_beat=tpb, time_signatures=sigs, notes=notes)


@pytest.mark.parametrize("transpose", [False, True])
def test_round_trip_over_written_songs(transpose):
    songs = [random_song(seed) for seed in range(12)]
    vocab = vocab_for(songs, transpose)
    for song in songs:
        got, score, report = round_trip(song, vocab, transpose)
        want = expected_cells(song, score.pitch_shift)
        assert got == want
        for name in song.classes():
            assert report.classes[name].dropped == 0
            if name != "lead":
                assert report.classes[name].reduced == 0
        for name in INSTRUMENTS:  # absent classes are [EMPTY] rows, present ones `<pad>` between their onsets
            rows = score.tokens[[pitch_row(name), duration_row(name)]]
            if name in song.classes():
                assert not (rows == vocab.empty_id).any() and (rows == vocab.pad_id).any()
            else:
                assert (rows == vocab.empty_id).all()


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("transpose", [False, True])
def test_round_trip_over_midi_fixtures(name, transpose):
    from getmusic_cli.score.midi_io import read_midi

    song = read_midi(DATA / name)
    vocab = vocab_for([song], transpose)  # every group of this song is in the vocabulary
    got, score, _ = round_trip(song, vocab, transpose)
    assert got == expected_cells(song, score.pitch_shift)


@pytest.mark.skipif(not ORIGINAL_DICT.exists(), reason="../shared/reference is not beside the checkout")
@pytest.mark.parametrize("name", ["multitrack.mid", "real/bach_bwv253.mid", "real/freedoom_e1m7_16bars.mid"])
def test_original_vocabulary_encodes_what_it_can_and_counts_the_rest(name):
    from getmusic_cli.score.midi_io import read_midi

    song = read_midi(DATA / name)
    vocab = Vocabulary.load(ORIGINAL_DICT)
    got, score, report = round_trip(song, vocab, transpose=True)
    want = expected_cells(song, score.pitch_shift)
    for cls in song.classes():
        # Every decoded note is a real note of the song (reduction only removes notes), and every group that
        # lost nothing comes back whole.
        assert {(c, p) for c, p, _ in got.get(cls, set())} <= {(c, p) for c, p, _ in want[cls]}
        lost = {(c, p) for c, p, _ in want[cls]} - {(c, p) for c, p, _ in got.get(cls, set())}
        assert len(lost) <= report.classes[cls].reduced + report.classes[cls].dropped
    assert sum(r.encoded for r in report.classes.values()) > 0.8 * sum(r.notes for r in report.classes.values())


# ----- the grid -----


def test_rows_specials_and_chords():
    vocab = Vocabulary.basic()
    tpb = 480
    song = Song(
        ticks_per_beat=tpb,
        notes={
            "lead": [Note(0, tpb, 72), Note(tpb, 2 * tpb, 74)],
            "drums": [Note(0, 120, 36), Note(0, 120, 42)],
        },
    )
    score, report = encode(song, vocab, chords=[(9, "m")], transpose=False)
    t = score.tokens
    assert t.shape == (14, 16) and score.bar_starts == [0] and score.pitch_shift == 0
    assert (t[pitch_row("bass")] == vocab.empty_id).all() and (t[duration_row("bass")] == vocab.empty_id).all()
    assert t[pitch_row("lead"), 0] == vocab.id("M72") and t[duration_row("lead"), 0] == vocab.duration_id(4)
    assert t[pitch_row("lead"), 4] == vocab.id("M74") and t[duration_row("lead"), 4] == vocab.duration_id(4)
    others = np.ones(16, bool)
    others[[0, 4]] = False
    assert (t[pitch_row("lead"), others] == vocab.pad_id).all() and (
        t[duration_row("lead"), others] == vocab.pad_id
    ).all()
    # Kick + hat is no token of the basic vocabulary: the drums keep the kick (low first), and say so.
    assert t[pitch_row("drums"), 0] == vocab.id("D164") and t[duration_row("drums"), 0] == vocab.duration_id(1)
    assert report.classes["drums"].reduced == 1 and report.classes["drums"].encoded == 1
    assert (t[pitch_row(CHORDS)] == vocab.chord_root_id(9)).all() and (
        t[duration_row(CHORDS)] == vocab.chord_kind_id("m")
    ).all()
    # No chords: [EMPTY] chord rows.
    bare, _ = encode(song, vocab, chords=None, transpose=False)
    assert (bare.tokens[12:] == vocab.empty_id).all()


def test_chord_rows_follow_bars_and_the_transposition():
    vocab = Vocabulary.basic()
    tpb = 96
    # E major material (shift -4); bars of 3/4; the second bar has no chord.
    piano = [Note(i * tpb, (i + 1) * tpb, p) for i, p in enumerate((64, 66, 68, 69, 71, 73, 75, 76, 64))]
    song = Song(ticks_per_beat=tpb, time_signatures=[TimeSignature(0, 3, 4)], notes={"piano": piano})
    chords = [(4, "null"), None, (11, "seven")]
    score, _ = encode(song, vocab, chords=chords, transpose=True)
    assert score.pitch_shift == -4 and score.bar_starts == [0, 12, 24]
    t = score.tokens
    assert (t[12, :12] == vocab.chord_root_id(0)).all() and (t[13, :12] == vocab.chord_kind_id("null")).all()
    assert (t[12:, 12:24] == vocab.pad_id).all()
    assert (t[12, 24:] == vocab.chord_root_id(7)).all() and (t[13, 24:] == vocab.chord_kind_id("seven")).all()
    assert decode_chords(score, vocab) == chords  # back in the song's own key


def test_lead_chord_reduces_to_its_top_note_and_transposition_is_undone():
    vocab = Vocabulary.basic()
    tpb = 96
    lead = [Note(0, 2 * tpb, 64), Note(0, tpb, 68), Note(tpb, 2 * tpb, 71)]
    piano = [Note(i * tpb, (i + 1) * tpb, p) for i, p in enumerate((64, 66, 68, 69, 71, 73, 75, 76))]
    song = Song(ticks_per_beat=tpb, notes={"lead": lead, "piano": piano})
    score, report = encode(song, vocab, transpose=True)
    assert score.pitch_shift == -4
    assert score.tokens[pitch_row("lead"), 0] == vocab.id("M64")  # 68 − 4: the top note ...
    assert score.tokens[duration_row("lead"), 0] == vocab.duration_id(4)  # ... with its own duration
    out = decode(score, vocab, Timeline(tpb))
    assert [(n.start, n.end, n.pitch) for n in out["lead"]] == [(0, tpb, 68), (tpb, 2 * tpb, 71)]
    assert [n.pitch for n in out["piano"]] == [n.pitch for n in piano]
    assert {n.velocity for n in out["piano"]} == {DEFAULT_VELOCITY["piano"]}
    assert report.classes["lead"].reduced == 1 and report.classes["lead"].encoded == 2
    assert any("1 reduced" in line for line in report.summary())


def test_out_of_vocabulary_groups_keep_the_largest_subset():
    counts = {
        "piano": Counter({(60, 64, 67): 9, (64, 67, 71): 9, (60, 67): 9}),
        "bass": Counter({(36, 48): 9}),
        "drums": Counter({(36, 42): 9}),
    }
    vocab = Vocabulary.build(counts, min_count=0)
    song = Song(
        ticks_per_beat=4,
        notes={
            # Cmaj7: no 4-note token; of the 3-note tokens P60 64 67 and P64 67 71 each keep one outer note: the higher.
            "piano": [Note(0, 4, p) for p in (60, 64, 67, 71)] + [Note(4, 8, p) for p in (60, 62, 67)],
            "bass": [Note(0, 4, p) for p in (36, 43, 48, 55)],  # only the pair B36 48 is a token
            "drums": [Note(0, 1, p) for p in (36, 42, 46)] + [Note(4, 5, p) for p in (38, 49)],
        },
    )
    score, report = encode(song, vocab, transpose=False)
    t = score.tokens
    assert vocab.token(int(t[pitch_row("piano"), 0])) == "P64 67 71"
    assert vocab.token(int(t[pitch_row("piano"), 4])) == "P60 67"  # (60, 62, 67) → the pair that is a token
    assert vocab.token(int(t[pitch_row("bass"), 0])) == "B36 48"
    assert vocab.token(int(t[pitch_row("drums"), 0])) == "D164 170"
    assert vocab.token(int(t[pitch_row("drums"), 4])) == "D166"  # snare + crash: no pair token, the low hit stays
    assert [report.classes[c].reduced for c in ("piano", "bass", "drums")] == [2, 2, 2]
    assert_report_adds_up(song, report)


def test_big_groups_reduce_without_blowing_up():
    vocab = Vocabulary.build({"piano": Counter({(48, 96): 1})}, min_count=0)
    song = Song(ticks_per_beat=4, notes={"piano": [Note(0, 4, p) for p in range(48, 97, 2)]})  # 25 notes
    score, report = encode(song, vocab, transpose=False)
    assert vocab.token(int(score.tokens[pitch_row("piano"), 0])) == "P48 96"
    assert report.classes["piano"].reduced == 23


def test_pitches_pushed_out_of_range_are_dropped_and_counted():
    vocab = Vocabulary.basic()
    tpb = 4
    # C minor (shift +9): the 123 goes to 132 and is lost; the rest stays.
    piano = [Note(i, i + 1, 60 + s) for i, s in enumerate((0, 2, 3, 5, 7, 8, 10, 0, 3, 7, 0, 0))]
    song = Song(ticks_per_beat=tpb, notes={"piano": piano, "strings": [Note(0, 4, 123), Note(0, 4, 60)]})
    score, report = encode(song, vocab, transpose=True)
    assert score.pitch_shift == 9
    r = report.classes["strings"]
    assert (r.encoded, r.dropped, r.reasons["pitch out of range after transposition"]) == (1, 1, 1)
    assert "dropped (pitch out of range after transposition: 1)" in " ".join(report.summary())
    assert [n.pitch for n in decode(score, vocab, Timeline(tpb), ["strings"])["strings"]] == [60]


def test_very_short_notes_become_sixteenths():
    vocab = Vocabulary.basic()
    song = Song(ticks_per_beat=480, notes={"bass": [Note(0, 50, 40), Note(480, 960, 43)]})
    score, report = encode(song, vocab, transpose=False)
    assert score.tokens[duration_row("bass"), 0] == vocab.duration_id(1)
    assert report.classes["bass"].lengthened == 1 and report.classes["bass"].encoded == 2
    assert "very short" in report.summary()[0]


def test_length_pads_with_empty_or_refuses():
    vocab = Vocabulary.basic()
    song = Song(
        ticks_per_beat=480,
        time_signatures=[TimeSignature(0, 3, 4)],
        notes={"piano": [Note(0, 480, 60), Note(7 * 480, 8 * 480, 62)]},
    )
    chords = [(0, "null"), (7, "null"), (0, "null")]
    score, _ = encode(song, vocab, chords=chords, transpose=False)
    assert score.bar_starts == [0, 12, 24] and score.tokens.shape == (14, 36)  # up to the end of the last bar
    wider, _ = encode(song, vocab, chords=chords, transpose=False, length=48)
    assert wider.tokens.shape == (14, 48) and np.array_equal(wider.tokens[:, :36], score.tokens)
    assert (wider.tokens[:, 36:] == vocab.empty_id).all()
    with pytest.raises(GetMusicError, match="36 columns"):
        encode(song, vocab, chords=chords, transpose=False, length=30)


def test_decode_reads_only_complete_cells():
    vocab = Vocabulary.basic()
    tokens = np.full((14, 16), vocab.empty_id, dtype=np.int64)
    p, d = pitch_row("guitar"), duration_row("guitar")
    tokens[[p, d]] = vocab.pad_id
    tokens[p, 0], tokens[d, 0] = vocab.id("G60"), vocab.duration_id(6)  # a note: 8 16ths
    tokens[p, 2], tokens[d, 2] = vocab.id("G62"), vocab.mask_id  # no duration: nothing
    tokens[p, 4], tokens[d, 4] = vocab.mask_id, vocab.duration_id(1)  # no pitch: nothing
    tokens[p, 6], tokens[d, 6] = vocab.id("G64"), vocab.empty_id
    tokens[p, 8], tokens[d, 8] = vocab.id("G67"), vocab.pad_id
    tokens[p, 10], tokens[d, 10] = vocab.id("M67"), vocab.duration_id(1)  # another track's token: nothing
    tokens[p, 12], tokens[d, 12] = vocab.id("G0"), vocab.duration_id(1)  # 0 + 2 is below 0 after the shift
    out = decode(GETScore(tokens, [0], pitch_shift=2), vocab, Timeline(480))
    assert [(n.start, n.end, n.pitch) for n in out["guitar"]] == [(0, 960, 58)]
    assert out["lead"] == [] and set(out) == set(INSTRUMENTS)
    assert set(decode(GETScore(tokens, [0], 0), vocab, Timeline(480), ["guitar"])) == {"guitar"}


def test_drums_are_never_transposed():
    vocab = Vocabulary.basic()
    piano = [Note(i * 4, i * 4 + 4, 62 + s) for i, s in enumerate((0, 2, 4, 5, 7, 9, 11, 0, 4, 7, 0))]  # D major
    song = Song(ticks_per_beat=4, notes={"piano": piano, "drums": [Note(0, 1, 36), Note(4, 5, 38)]})
    score, _ = encode(song, vocab, transpose=True)
    assert score.pitch_shift == -2
    assert [vocab.token(int(i)) for i in score.tokens[pitch_row("drums"), [0, 4]]] == ["D164", "D166"]
    assert [n.pitch for n in decode(score, vocab, Timeline(4), ["drums"])["drums"]] == [36, 38]
