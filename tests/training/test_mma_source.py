"""The mma band source of the corpus recipe: groove catalogue, groove choice, MMA chart, track mapping and plan.
Rendering needs Debian's mma unpacked (the recipe's cache); that one test is skipped without it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TRAINING = Path(__file__).resolve().parents[2] / "training"
sys.path.insert(0, str(TRAINING))

from corpus import mma_band, mma_grooves  # noqa: E402
from corpus.mma_grooves import Groove  # noqa: E402

from getmusic_cli.score.midi_io import read_midi  # noqa: E402
from getmusic_cli.score.song import Note, Song, SourceTrack, TempoChange, TimeSignature  # noqa: E402

STYLE = """
// a style file
Time 3
Timesig 4 4            // stale: the waltz below is a 3-beat bar
Begin Drum-Kick
 Tone KickDrum1
End
Begin Bass
 Voice FingeredBass
End
DefGroove WaltzOne   The basic waltz.
DefGroove WaltzIntro An intro.
DefGroove WaltzEnd   An ending.
DefGroove WaltzFill  A fill.
Time 4/4
DefGroove FourFour   Now in four.
Time 6
Timesig 6 8
DefGroove SixEight   Six eighths played as quarters.
"""


def test_parse_style_meters_and_skips():
    grooves = mma_grooves.parse_style(STYLE, "stdlib/softrock")
    assert [(g.name, g.meter) for g in grooves] == [("WaltzOne", (3, 4)), ("FourFour", (4, 4)), ("SixEight", (6, 4))]
    assert {g.genre for g in grooves} == {"rock"} and grooves[0].label == "stdlib/softrock:WaltzOne"


def test_styles_without_bass_or_drums_give_no_groove():
    drums_only = "Begin Drum-Kick\n Tone KickDrum1\nEnd\nDefGroove Beat\n"
    bass_only = "Begin Bass\n Voice FingeredBass\nEnd\nDefGroove Line\n"
    assert mma_grooves.parse_style(drums_only, "zoom/rock") == []
    assert mma_grooves.parse_style(bass_only, "stdlib/rock") == []


@pytest.mark.parametrize(
    "stem, genre",
    [
        ("slowblues", "blues"),
        ("jazzrock", "jazz"),
        ("rockballad", "ballad"),
        ("8beatpop1", "pop"),
        ("bossanova", "latin"),
        ("softrock", "rock"),
        ("bigband", "jazz"),
        ("arpeggio44", "other"),
    ],
)
def test_genre_of(stem, genre):
    assert mma_grooves.genre_of(stem) == genre


def _catalog():
    out = []
    for genre in ("rock", "funk", "latin", "jazz"):
        out += [Groove(f"{genre.title()}{i}", f"stdlib/{genre}", genre, (4, 4)) for i in range(3)]
    out.append(Groove("Waltz", "stdlib/waltz", "waltz", (3, 4)))
    return out


def test_choice_is_deterministic_fits_the_meter_and_spreads_genres():
    grooves = _catalog()
    picks = [mma_grooves.choose(grooves, (4, 4), "song-a:0", v) for v in range(4)]
    assert picks == [mma_grooves.choose(grooves, (4, 4), "song-a:0", v) for v in range(4)]
    assert len({g.genre for g in picks}) == 4  # four renders of one segment: four genres
    assert mma_grooves.choose(grooves, (3, 4), "x", 0).name == "Waltz"
    assert mma_grooves.choose(grooves, (2, 2), "x", 0).meter == (4, 4)  # cut time plays four-beat grooves
    assert mma_grooves.choose(grooves, (5, 4), "x", 0) is None


def test_chart_spells_chords_for_mma():
    seg = mma_band.Segment(0, 3, (4, 4), 0, 3 * 1920, ((0, "null"), (9, "m7"), (11, "dim")))
    text = mma_band.chart(seg, Groove("Rock1", "stdlib/rock", "rock", (4, 4)), 96.4, 7)
    assert text.splitlines()[1:] == [
        "RndSeed 7",
        "Tempo 96",
        "Use stdlib/rock",
        "Groove Rock1",
        "1 C",
        "2 Am7",
        "3 Bmb5",
    ]


def test_plan_gives_several_grooves_to_short_songs_and_spreads_long_ones():
    assert mma_band.plan(0) == []
    assert mma_band.plan(1) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert mma_band.plan(3) == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    assert mma_band.plan(30) == [(s, 0) for s in (0, 4, 8, 12, 17, 21, 25, 29)]


def _track(index, name, program, notes, is_drum=False):
    return SourceTrack(index, name, program, is_drum, notes, None)


def test_band_tracks_map_classes_and_lift_low_bass():
    tpb = 192
    rendered = Song(
        tpb,
        sources=[
            _track(0, "Drum", 0, [Note(0, 48, 36)], is_drum=True),
            _track(1, "Bass", 33, [Note(0, 192, 16), Note(192, 384, 40), Note(4 * 192, 5 * 192, 40)]),
            _track(2, "Chord", 25, [Note(0, 192, 60)]),
            _track(3, "Arpeggio", 80, [Note(0, 96, 72)]),  # a synth lead by program: strings here
            _track(4, "Chord-Organ", 17, [Note(0, 192, 64)]),
            _track(5, "Fx", 122, [Note(0, 192, 64)]),  # seashore: no class
        ],
    )
    tracks, info = mma_band.band_tracks(rendered, n_ticks=4 * 480)
    by_name = {t.name: t for t in tracks}
    assert list(by_name) == ["bass", "drums", "guitar", "piano", "strings"]
    assert [n.pitch for n in by_name["bass"].notes] == [28, 40]  # 16 lifted two octaves; the note past the end cut
    assert by_name["bass"].notes[0].end == 480  # 192 ticks per beat rescaled to 480
    assert by_name["strings"].program == 48 and by_name["piano"].program == 17 and by_name["drums"].is_drum
    assert info == {"bass_lifted": 1, "dropped_tracks": ["Fx"]}


def _mma_root() -> Path | None:
    cache = Path.home() / ".cache" / "getmusic" / "corpus-build" / "unpacked"
    found = sorted(cache.glob("mma-*/usr/bin/mma"))
    return found[-1].parents[2] if found else None


@pytest.mark.skipif(_mma_root() is None, reason="Debian mma not unpacked in the recipe cache (run the mma source once)")
def test_render_a_chorale_like_melody(tmp_path):
    root = _mma_root()
    tpb = 480
    melody = [Note(i * tpb, (i + 1) * tpb, p) for i, p in enumerate([67, 69, 71, 72, 74, 72, 71, 69] * 2)]
    bass = [Note(b * 4 * tpb, (b + 1) * 4 * tpb, p) for b, p in enumerate([43, 48, 38, 43])]
    song = Song(
        tpb,
        tempos=[TempoChange(0, 90.0)],
        time_signatures=[TimeSignature(0, 4, 4)],
        sources=[_track(0, "lead", 80, melody), _track(1, "bass", 33, bass)],
        notes={"lead": melody, "bass": bass},
    )
    song.sources[0].instrument, song.sources[1].instrument = "lead", "bass"
    [seg] = mma_band.segments(song)
    assert (seg.n_bars, seg.meter) == (4, (4, 4))
    groove = Groove("SoftRock", "stdlib/softrock", "rock", (4, 4))
    info = mma_band.make_band_song(root, song, seg, groove, 1, tmp_path / "band.mid")
    again = mma_band.make_band_song(root, song, seg, groove, 1, tmp_path / "again.mid")
    assert (tmp_path / "band.mid").read_bytes() == (tmp_path / "again.mid").read_bytes() and info == again
    out = read_midi(tmp_path / "band.mid")
    assert {"lead", "bass", "drums"} <= set(out.classes())
    assert [n.pitch for n in out.notes["lead"]] == [n.pitch for n in melody]
    assert all(n.pitch >= 28 for n in out.notes["bass"]) and max(n.end for n in out.notes["bass"]) <= 4 * 4 * tpb
