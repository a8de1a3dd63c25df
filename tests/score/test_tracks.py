"""Track classes: GM program families, name hints, precedence, the lead rule, and the user-facing parsers."""

from __future__ import annotations

import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.mapping import map_tracks, monophonic_share
from getmusic_cli.score.song import Note, SourceTrack
from getmusic_cli.score.tracks import (
    CHORDS,
    DEFAULT_PROGRAM,
    DEFAULT_VELOCITY,
    DROP,
    GM_PROGRAM_NAMES,
    INSTRUMENTS,
    name_class,
    parse_class,
    parse_class_list,
    parse_map_option,
    program_class,
)

TPB = 480


def melody(base: int, n: int = 16, step: int = TPB) -> list[Note]:
    """Monophonic line: one note per beat, slightly legato (overlaps the next note by a 64th)."""
    return [Note(i * step, (i + 1) * step + TPB // 16, base + (i % 5)) for i in range(n)]


def chords(base: int, n: int = 8) -> list[Note]:
    return [Note(i * 4 * TPB, (i + 1) * 4 * TPB, base + d) for i in range(n) for d in (0, 4, 7)]


def track(index: int, name: str = "", program: int = 0, notes=None, is_drum: bool = False) -> SourceTrack:
    return SourceTrack(index, name, program, is_drum, list(notes if notes is not None else melody(60)), None)


# ----- GM programs ---------------------------------------------------------------------------------------------


def test_every_program_has_a_name_and_a_class_or_a_drop():
    assert len(GM_PROGRAM_NAMES) == 128 and len(set(GM_PROGRAM_NAMES)) == 128
    dropped = [p for p in range(128) if program_class(p) is None]
    assert all(program_class(p) in INSTRUMENTS for p in range(128) if p not in dropped)
    # Dropped: timpani, agogo and the unpitched percussive programs, all sound effects.
    assert dropped == [47, 113, 115, 116, 117, 118, 119, *range(120, 128)]


@pytest.mark.parametrize(
    ("programs", "cls"),
    [
        (range(0, 8), "piano"),
        (range(8, 16), "piano"),
        (range(24, 32), "guitar"),
        (range(32, 40), "bass"),
        ((40, 41, 42, 44, 45), "strings"),
        (range(48, 56), "strings"),
        ((56, 57, 59, 60, 61, 62, 63), "strings"),
        (range(64, 72), "strings"),
        (range(72, 80), "lead"),  # pipes: flutes, recorders, ocarinas
        (range(80, 88), "lead"),
        (range(88, 104), "strings"),
        ((104, 105, 106, 107), "guitar"),
        ((22,), "lead"),
        ((43, 58), "bass"),  # contrabass, tuba
    ],
)
def test_program_families(programs, cls):
    assert {program_class(p) for p in programs} == {cls}


def test_the_original_programs_map_to_their_classes():
    for cls in ("lead", "bass", "guitar", "piano", "strings"):
        assert program_class(DEFAULT_PROGRAM[cls]) == cls


def test_program_out_of_range_is_a_user_error():
    with pytest.raises(GetMusicError):
        program_class(128)


# ----- name hints ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("Lead Vox", "lead"),
        ("Melody", "lead"),
        ("VOCALS", "lead"),
        ("Soprano", "lead"),
        ("Bass", "bass"),
        ("Fretless bass 2", "bass"),
        ("Double Bass", "bass"),
        ("Bass Drum", "drums"),
        ("Drum Kit", "drums"),
        ("Percussion", "drums"),
        ("hi-hat", "drums"),
        ("Rhythm Gtr", "guitar"),
        ("Lead Guitar", "guitar"),  # an instrument word beats the bare "lead"
        ("Electric Piano", "piano"),
        ("Keys", "piano"),
        ("Church Organ", "piano"),
        ("Violin I", "strings"),
        ("Cello", "strings"),
        ("Warm Pad", "strings"),
        ("Choir", "strings"),
        ("Voice Oohs", "strings"),
        ("Bassoon", "strings"),  # not a bass
        ("Alto Sax", "strings"),
        ("Lead", "lead"),
        ("Synth Solo", "lead"),
    ],
)
def test_name_hints(name, cls):
    assert name_class(name)[0] == cls


@pytest.mark.parametrize("name", ["", "Track 1", "My Song", "Kitchen", "Basic", "Tomorrow"])
def test_names_without_a_hint(name):
    assert name_class(name) is None


# ----- precedence ----------------------------------------------------------------------------------------------


def test_drum_channel_beats_name_and_program():
    [t] = map_tracks([track(0, "Bass", 33, is_drum=True)], ticks_per_beat=TPB)
    assert (t.instrument, t.reason) == ("drums", "drum channel")


def test_a_name_decides_only_where_the_program_says_nothing():
    [t] = map_tracks([track(0, "Lead Vox", 0, melody(70))], ticks_per_beat=TPB)
    assert t.instrument == "lead" and t.reason == "name 'Lead Vox' (program 0)"
    [t] = map_tracks([track(0, "Lead Vox", 33, melody(36))], ticks_per_beat=TPB)
    assert t.instrument == "bass" and t.reason.startswith("program 33")


def test_program_when_no_name_hint():
    tracks = map_tracks([track(0, "Track 1", 33, melody(36)), track(1, "", 27, chords(48))], ticks_per_beat=TPB)
    assert [t.instrument for t in tracks] == ["bass", "guitar"]
    assert tracks[0].reason == "program 33 Electric Bass (finger) (Bass family)"


def test_a_synth_lead_played_low_is_a_bass_line():
    low, high = track(0, "", 81, melody(36)), track(1, "", 81, melody(60))
    map_tracks([low, high], ticks_per_beat=TPB)
    assert (low.instrument, high.instrument) == ("bass", "lead")
    assert low.reason == "program 81 Lead 2 (sawtooth) (Synth Lead family), played low (mean pitch 38)"
    named = track(0, "Lead", 81, melody(36))  # program and register outrank the name
    assert map_tracks([named], ticks_per_beat=TPB)[0].instrument == "bass"


def test_sound_effects_are_dropped_with_a_reason():
    [t] = map_tracks([track(0, "Heli", 125)], ticks_per_beat=TPB)
    assert t.instrument is None
    assert t.reason.startswith("dropped: sound effects family") and "Helicopter" in t.reason


def test_override_beats_everything_and_can_drop():
    tracks = [track(0, "Drums", 0, is_drum=True), track(1, "Piano", 0, chords(60)), track(2, "FX", 125)]
    map_tracks(tracks, {"0": "bass", "piano": DROP, "fx": "strings"}, ticks_per_beat=TPB)
    assert [(t.instrument, t.reason) for t in tracks] == [
        ("bass", "override"),
        (None, "dropped: override"),
        ("strings", "override"),
    ]


def test_override_of_an_unknown_track_lists_the_tracks():
    with pytest.raises(GetMusicError, match=r"no track .* \(tracks: 0 'Piano', 1 'Acoustic Bass'\)"):
        map_tracks([track(0, "Piano"), track(1, "", 32)], {"Guitar": "bass"}, ticks_per_beat=TPB)
    with pytest.raises(GetMusicError):
        map_tracks([track(0, "Piano")], {"5": "bass"}, ticks_per_beat=TPB)


def test_override_by_name_matches_every_track_of_that_name():
    tracks = map_tracks([track(0, "Part"), track(1, "Part"), track(2, "Other")], {"PART": "guitar"}, ticks_per_beat=TPB)
    assert [t.instrument for t in tracks][:2] == ["guitar", "guitar"]


# ----- lead rule -----------------------------------------------------------------------------------------------


def test_monophonic_share():
    tol = TPB // 8
    assert monophonic_share(melody(60), tol) == 1.0  # legato overlap under the tolerance still counts as alone
    assert monophonic_share(chords(60), tol) == 0.0
    half = melody(60, 8) + [Note(8 * TPB + i * TPB, 9 * TPB + i * TPB, 60 + d) for i in range(4) for d in (0, 4)]
    assert monophonic_share(half, tol) == pytest.approx(8 / 16)
    assert monophonic_share([], tol) == 0.0
    doubled = melody(60) + [Note(n.start, n.end, n.pitch + 12) for n in melody(60)]
    assert monophonic_share(doubled, tol) == 1.0  # an octave-doubled line is still one line
    fifths = melody(60) + [Note(n.start, n.end, n.pitch + 7) for n in melody(60)]
    assert monophonic_share(fifths, tol) == 0.0


def test_lead_rule_takes_the_highest_mostly_monophonic_track():
    tracks = [
        track(0, "", 0, chords(72)),  # high but chordal
        track(1, "", 56, melody(63)),  # trumpet, monophonic
        track(2, "", 65, melody(74)),  # alto sax, monophonic and higher: the lead
        track(3, "", 33, melody(40)),  # bass line: never the lead
    ]
    map_tracks(tracks, ticks_per_beat=TPB)
    assert [t.instrument for t in tracks] == ["piano", "strings", "lead", "bass"]
    assert tracks[2].reason.startswith("lead rule: carries the tune, mean pitch 76, in 50% of bars")
    assert "else strings: program 65 Alto Sax" in tracks[2].reason


def test_lead_rule_prefers_a_track_named_lead_that_carries_a_tune():
    tracks = [
        track(0, "Rhythm Guitar", 29, chords(52)),
        track(1, "Lead Guitar", 29, melody(55)),
        track(2, "", 48, melody(84)),  # higher, but not named
    ]
    map_tracks(tracks, ticks_per_beat=TPB)
    assert [t.instrument for t in tracks] == ["guitar", "lead", "strings"]
    assert tracks[1].reason.startswith("lead rule: named lead/solo/melody, mean pitch 57")
    assert tracks[1].reason.endswith("(else guitar: program 29 Overdriven Guitar (Guitar family))")
    chordal = [track(0, "Lead Guitar", 29, chords(55)), track(1, "", 48, melody(70))]
    assert [t.instrument for t in map_tracks(chordal, ticks_per_beat=TPB)] == ["guitar", "lead"]


def test_lead_rule_not_used_when_a_track_claims_lead():
    tracks = map_tracks([track(0, "Vocal", 0, melody(60)), track(1, "", 48, melody(84))], ticks_per_beat=TPB)
    assert [t.instrument for t in tracks] == ["lead", "strings"]


def test_lead_rule_ignores_short_bass_drum_and_overridden_tracks():
    tracks = [
        track(0, "", 73, melody(90, n=4)),  # too few notes
        track(1, "", 33, melody(50)),
        track(2, "", 0, melody(80), is_drum=True),
        track(3, "Flute", 73, melody(85)),  # overridden to strings: stays there
        track(4, "", 0, melody(70)),  # piano melody: the only candidate left
    ]
    map_tracks(tracks, {"3": "strings"}, ticks_per_beat=TPB)
    assert [t.instrument for t in tracks] == ["strings", "bass", "drums", "strings", "lead"]
    assert map_tracks([track(0, "", 0, chords(60))], ticks_per_beat=TPB)[0].instrument == "piano"


# ----- parsers and defaults ------------------------------------------------------------------------------------


def test_parse_class_and_aliases():
    assert [parse_class(x) for x in ("lead", "Melody", " vocals ", "drum", "string", "KEYS", "gtr")] == [
        "lead",
        "lead",
        "lead",
        "drums",
        "strings",
        "piano",
        "guitar",
    ]
    assert parse_class("chord", allow_chords=True) == CHORDS
    with pytest.raises(GetMusicError, match="unknown track class 'chords'"):
        parse_class("chords")
    with pytest.raises(GetMusicError, match="unknown track class 'kazoo'"):
        parse_class("kazoo")


def test_parse_class_list_is_in_row_order_without_duplicates():
    assert parse_class_list("drums, bass,melody bass") == ["lead", "bass", "drums"]
    assert parse_class_list("chords,piano", allow_chords=True) == ["piano", "chords"]
    for bad in ("", " , ", "bass,kazoo"):
        with pytest.raises(GetMusicError):
            parse_class_list(bad)


def test_parse_map_option():
    assert parse_map_option(["Lead Vox=melody", "2 = Bass", "A=B=drop", "fx=none"]) == {
        "Lead Vox": "lead",
        "2": "bass",
        "A=B": DROP,
        "fx": DROP,
    }
    for bad in (["Lead Vox"], ["=bass"], ["Piano="], ["Piano=kazoo"]):
        with pytest.raises(GetMusicError):
            parse_map_option(bad)


def test_defaults_for_generated_tracks():
    assert DEFAULT_PROGRAM == {"lead": 80, "bass": 32, "drums": 0, "guitar": 25, "piano": 0, "strings": 48}
    assert [DEFAULT_VELOCITY[c] for c in INSTRUMENTS] == [114, 98, 98, 82, 98, 50]


# ----- the failures reported in issue 14, one by one -----------------------------------------------------------


def bars_of(line: list[Note], n_bars: int) -> list[Note]:
    """A one-bar phrase repeated over `n_bars` bars of 4/4."""
    return [Note(n.start + b * 4 * TPB, n.end + b * 4 * TPB, n.pitch) for b in range(n_bars) for n in line]


def band(*extra: SourceTrack, n_bars: int = 16) -> list[SourceTrack]:
    """Drums, a bass line and rhythm-guitar chords over `n_bars` bars, plus the given tracks."""
    kit = track(0, "Kit", 0, bars_of([Note(i * TPB, i * TPB + 60, 36) for i in range(4)], n_bars), is_drum=True)
    bass = track(1, "Bass", 33, bars_of(melody(36, n=4), n_bars))
    rhythm = track(2, "Rhythm", 29, bars_of(chords(52, n=1), n_bars))
    return [kit, bass, rhythm, *extra]


def classes(tracks) -> list[str | None]:
    return [t.instrument for t in map_tracks(tracks, ticks_per_beat=TPB)]


@pytest.mark.parametrize("program", [61, 48])  # Brass Section, String Ensemble 1
def test_a_pitched_track_named_drums_on_a_melodic_channel_is_not_drums(program):
    section = track(3, "Drums", program, bars_of(chords(60, n=1), 16))
    assert classes(band(section))[3] == "strings"
    assert "program" in section.reason and "name" not in section.reason


def test_guitar_effect_words_are_guitar():
    assert classes(band(track(3, "Chorus Gt", 27, bars_of(chords(60, n=1), 16))))[3] == "guitar"
    for name in ("Chorus Gt", "Overdrive", "Clean", "Dist 2"):
        assert name_class(name)[0] == "guitar", name
    assert name_class("Choir")[0] == "strings"


def test_slap_bass_named_piano_is_bass_and_a_piano_playing_the_bass_line_is_bass():
    assert classes(band(track(3, "Piano", 36, bars_of(melody(38, n=4), 16))))[3] == "bass"
    low_piano = track(3, "Piano", 0, bars_of(melody(35, n=4), 16))  # every note below C3
    assert classes([low_piano, track(4, "Keys", 0, bars_of(chords(60, n=1), 16))]) == ["bass", "piano"]
    assert "plays a bass line" in low_piano.reason


def test_a_synth_bass_program_played_high_is_not_bass_and_may_lead():
    high = track(3, "Synth Bass", 38, bars_of([Note(i * TPB, (i + 1) * TPB, 76 + i) for i in range(4)], 16))
    assert classes(band(high))[3] == "lead"
    assert "played high" in high.reason


@pytest.mark.parametrize(("program", "name"), [(73, "Flute"), (10, "Music Box")])
def test_a_flute_or_music_box_melody_is_the_lead(program, name):
    tune = track(3, name, program, bars_of(melody(72, n=4), 12), is_drum=False)
    pad = track(4, "Pad", 89, bars_of(chords(76, n=1), 16))  # higher, but a pad of chords
    slow = track(5, "", 48, [Note(b * 4 * TPB, (b + 1) * 4 * TPB, 84 + b % 3) for b in range(16)])  # whole notes
    assert classes(band(tune, pad, slow))[3:] == ["lead", "strings", "strings"]


def test_an_orchestra_hit_or_a_short_string_part_is_never_the_lead():
    hit = track(3, "", 55, [Note(b * 8 * 4 * TPB, b * 8 * 4 * TPB + TPB, 84) for b in range(8)])  # 8 notes, 61 bars
    strings_28 = track(4, "", 48, melody(80, n=28))  # 28 notes at the start of 61 bars
    piano_tune = track(5, "", 0, bars_of(melody(60, n=4), 61))
    assert classes(band(hit, strings_28, piano_tune, n_bars=61))[3:] == ["strings", "strings", "lead"]


def test_the_lead_rule_never_takes_a_bass_register_track():
    bass_guitar = track(3, "", 33, bars_of(melody(35, n=4), 16))  # electric bass, mean pitch 37
    low_strings = track(4, "", 48, bars_of(melody(36, n=4), 16))  # strings, mean pitch 38
    got = classes(band(bass_guitar, low_strings))
    assert got[3:] == ["bass", "bass"] and "lead" not in got
