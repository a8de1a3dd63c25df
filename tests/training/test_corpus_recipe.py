"""The corpus recipe's pure parts (training/corpus/): WAD lumps, Freedoom extraction, the voice → class rule, the
bar layout and the MIDI writer, checked through getmusic's own reader. No music21 and no network needed."""

from __future__ import annotations

import sys
from fractions import Fraction as F
from pathlib import Path

import pytest

TRAINING = Path(__file__).resolve().parents[2] / "training"
sys.path.insert(0, str(TRAINING))

from corpus import freedoom, simutrans  # noqa: E402
from corpus.debian import DebPackage  # noqa: E402
from corpus.voices import (  # noqa: E402
    Measure,
    TimeSig,
    Voice,
    VoiceNote,
    assign_classes,
    bar_layout,
    write_voices,
)
from corpus.wad import Lump, WadError, build_wad, read_lumps  # noqa: E402

from getmusic_cli.score.midi_io import read_midi  # noqa: E402

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def _tiny_smf(pitch: int) -> bytes:
    """A valid one-note type-0 Standard MIDI File."""
    track = bytes([0x00, 0x90, pitch, 0x40, 0x60, 0x80, pitch, 0x00, 0x00, 0xFF, 0x2F, 0x00])
    return (
        b"MThd"
        + (6).to_bytes(4, "big")
        + (0).to_bytes(2, "big")
        + (1).to_bytes(2, "big")
        + (96).to_bytes(2, "big")
        + b"MTrk"
        + len(track).to_bytes(4, "big")
        + track
    )


# ----- WAD ----------------------------------------------------------------------------------------------------


def test_wad_round_trip_and_lump_kinds():
    lumps = [Lump("D_RUNNIN", _tiny_smf(60)), Lump("D_OLD", b"MUS\x1a" + bytes(12)), Lump("MAP01", b"\x01\x02")]
    got = read_lumps(build_wad(lumps, b"IWAD"))
    assert [(lump.name, lump.kind) for lump in got] == [("D_RUNNIN", "midi"), ("D_OLD", "mus"), ("MAP01", "other")]
    assert got[0].data == lumps[0].data


@pytest.mark.parametrize("data", [b"", b"JUNKJUNKJUNK", build_wad([Lump("A", b"xyz")])[:-4]])
def test_wad_reader_refuses_bad_files(data):
    with pytest.raises(WadError):
        read_lumps(data)


def test_freedoom_extraction_dedupes_by_content_and_reports_mus(tmp_path):
    wads = tmp_path / freedoom.WAD_DIR
    wads.mkdir(parents=True)
    (wads / "freedoom1.wad").write_bytes(
        build_wad([Lump("D_E1M1", _tiny_smf(60)), Lump("D_E1M5", _tiny_smf(62)), Lump("D_E2M6", _tiny_smf(62))])
    )
    (wads / "freedoom2.wad").write_bytes(build_wad([Lump("D_RUNNIN", _tiny_smf(64)), Lump("D_MUS", b"MUS\x1a..")]))
    pkg = DebPackage("freedoom", "0", tmp_path / "x.deb", "0" * 64, tmp_path)
    found = freedoom.extract(pkg)
    assert [s.out_name for s in found.songs] == [
        "freedoom1-D_E1M1.mid",
        "freedoom1-D_E1M5.mid",
        "freedoom2-D_RUNNIN.mid",
    ]
    assert found.songs[1].duplicates == ["freedoom1.wad:D_E2M6"]
    assert found.skipped == [{"original": "freedoom2.wad:D_MUS", "reason": "MUS format (not Standard MIDI)"}]


def test_simutrans_songs_are_taken_as_they_are_with_their_licence(tmp_path):
    import hashlib

    import build_corpus

    pkg = DebPackage("simutrans-data", "0", tmp_path / "x.deb", "0" * 64, tmp_path)
    with pytest.raises(FileNotFoundError):
        simutrans.extract(pkg)
    music = tmp_path / simutrans.MUSIC_DIR
    music.mkdir(parents=True)
    for name, pitch in (("02-b.mid", 62), ("01-a.mid", 60)):
        (music / name).write_bytes(_tiny_smf(pitch))
    (music / "notes.txt").write_text("not music")
    copyright_file = tmp_path / simutrans.COPYRIGHT
    copyright_file.parent.mkdir(parents=True)
    copyright_file.write_text("Files: *\nLicense: Artistic-1.0\n")
    songs, text = simutrans.extract(pkg)
    assert [s.out_name for s in songs] == ["01-a.mid", "02-b.mid"]
    assert songs[0].original == f"simutrans-data:{simutrans.MUSIC_DIR}/01-a.mid"
    assert songs[0].data == _tiny_smf(60) and songs[0].sha256 == hashlib.sha256(_tiny_smf(60)).hexdigest()
    assert "Artistic-1.0" in text
    files = [{"licence": simutrans.LICENCE}, {"licence": "BSD-3-Clause"}]
    assert build_corpus.strongest_licence(files) == "Artistic-1.0"
    assert build_corpus.strongest_licence(files + [{"licence": "Artistic-2.0"}]) == "Artistic-2.0"


# ----- voice rule ---------------------------------------------------------------------------------------------


def _voice(name: str, pitches: list[int], start: F = F(0)) -> Voice:
    return Voice(name, [VoiceNote(start + i, F(1), p) for i, p in enumerate(pitches)])


def test_voice_rule_top_lead_lowest_bass_inner_strings_in_any_score_order():
    voices = [
        _voice("Tenor", [55, 57]),
        _voice("Bass", [43, 45]),
        _voice("Soprano", [72, 74]),
        _voice("Empty", []),
        _voice("Alto", [64, 65]),
        _voice("Timpani", [38, 43]),
    ]
    assert assign_classes(voices, "vocal") == ["strings", "bass", "lead", None, "strings", None]


def test_voice_rule_small_scores_and_keyboard_works():
    assert assign_classes([_voice("Solo", [70])], "instrumental") == ["lead"]
    assert assign_classes([_voice("Hi", [70]), _voice("Lo", [40])], "instrumental") == ["lead", "bass"]
    assert assign_classes([_voice("RH", [70]), _voice("LH", [40]), _voice("x", [])], "keyboard") == [
        "piano",
        "piano",
        None,
    ]


# ----- bar layout ---------------------------------------------------------------------------------------------


def test_bar_layout_pads_a_pickup_and_merges_a_bar_split_at_a_repeat():
    measures = [
        Measure(F(0), F(1), 4, 4, F(3)),
        Measure(F(1), F(4), 4, 4),
        Measure(F(5), F(3), 4, 4, F(1)),
        Measure(F(8), F(1), 4, 4),
        Measure(F(9), F(4), 4, 4),
        Measure(F(13), F(3), 4, 4),
    ]
    shift, sigs = bar_layout(measures)
    assert shift == 3
    assert sigs == [TimeSig(F(0), 4, 4)]  # 3 + 1 beats make one bar; the short last bar keeps 4/4


def test_bar_layout_gives_an_odd_measure_its_own_signature_so_later_bars_stay_aligned():
    measures = [
        Measure(F(0), F(3), 3, 4),
        Measure(F(3), F(2), 3, 4),
        Measure(F(5), F(3), 3, 4),
        Measure(F(8), F(3), 3, 4),
    ]
    shift, sigs = bar_layout(measures)
    assert shift == 0
    assert sigs == [TimeSig(F(0), 3, 4), TimeSig(F(3), 2, 4), TimeSig(F(5), 3, 4)]


# ----- writer, read back by getmusic --------------------------------------------------------------------------


def test_written_chorale_reads_back_with_the_intended_classes(tmp_path):
    voices = [
        _voice("Soprano", [72, 74, 76], F(0)),
        _voice("Alto", [64, 65, 67], F(0)),
        _voice("Tenor", [55, 57, 59], F(0)),
        _voice("Bass", [43, 45, 47], F(0)),
    ]
    classes = assign_classes(voices, "vocal")
    path = tmp_path / "chorale.mid"
    shift, sigs = bar_layout([Measure(F(0), F(1), 4, 4, F(3)), Measure(F(1), F(4), 4, 4)])
    written = write_voices(path, voices, classes, "vocal", shift=shift, time_signatures=sigs, bpm=80)
    assert written == 12
    song = read_midi(path)
    assert [(s.name, s.program, s.instrument) for s in song.sources] == [
        ("lead", 85, "lead"),
        ("strings", 52, "strings"),
        ("strings", 52, "strings"),
        ("bass", 32, "bass"),
    ]
    assert [n.pitch for n in song.notes["lead"]] == [72, 74, 76]
    assert song.notes["lead"][0].start == 3 * song.ticks_per_beat  # the pickup now ends the first full bar
    assert [(t.numerator, t.denominator) for t in song.time_signatures] == [(4, 4)]


def test_programs_alone_give_the_same_classes(tmp_path):
    """Track names are the first hint; the GM programs must agree, for tools that drop names."""
    from corpus.voices import PROGRAMS

    from getmusic_cli.score.tracks import program_class

    for ensemble, table in PROGRAMS.items():
        for cls, program in table.items():
            assert program_class(program) == cls, (ensemble, cls, program)
