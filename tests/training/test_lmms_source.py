"""LMMS project XML → notes of our classes: pattern positions, BB (drum) patterns looped where the song puts them."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import pytest

TRAINING = Path(__file__).resolve().parents[2] / "training"
sys.path.insert(0, str(TRAINING))

from corpus import lmms  # noqa: E402

PROJECT = """<?xml version="1.0"?>
<!DOCTYPE lmms-project>
<lmms-project version="1.0" type="song">
 <head bpm="120" timesig_numerator="4" timesig_denominator="4" masterpitch="0"/>
 <song>
  <trackcontainer type="song">
   <track type="1" name="Beat" muted="0">
    <bbtrack>
     <trackcontainer type="bbtrackcontainer">
      <track type="0" name="kick01.ogg" muted="0">
       <instrumenttrack basenote="57" pitch="0" usemasterpitch="1">
        <instrument name="audiofileprocessor"><audiofileprocessor src="drums/kick01.ogg"/></instrument>
       </instrumenttrack>
       <pattern pos="0" len="192" steps="16" type="0" muted="0">
        <note pos="0" len="-192" key="57" vol="100"/>
        <note pos="96" len="-192" key="57" vol="100"/>
       </pattern>
       <pattern pos="192" len="192" steps="16" type="0" muted="0"/>
      </track>
      <track type="0" name="Snare" muted="0">
       <instrumenttrack basenote="57">
        <instrument name="audiofileprocessor"><audiofileprocessor src="drumsynth/misc/x.ds"/></instrument>
       </instrumenttrack>
       <pattern pos="0" len="192" steps="16" type="0" muted="0">
        <note pos="48" len="-192" key="57" vol="100"/>
       </pattern>
       <pattern pos="192" len="192" steps="16" type="0" muted="0">
        <note pos="0" len="-192" key="57" vol="100"/>
       </pattern>
      </track>
      <track type="0" name="FX Zip" muted="0">
       <instrumenttrack basenote="57">
        <instrument name="audiofileprocessor"><audiofileprocessor src="effects/zip.ogg"/></instrument>
       </instrumenttrack>
       <pattern pos="0" len="192" steps="16" type="0" muted="0"><note pos="0" len="-192" key="57"/></pattern>
      </track>
     </trackcontainer>
    </bbtrack>
    <bbtco pos="384" len="384" muted="0"/>
   </track>
   <track type="1" name="Fill" muted="0"><bbtrack/><bbtco pos="0" len="192" muted="1"/></track>
   <track type="0" name="Bass" muted="0">
    <instrumenttrack basenote="57" pitch="0" usemasterpitch="1">
     <instrument name="tripleoscillator"/>
    </instrumenttrack>
    <pattern pos="192" len="192" steps="16" type="1" muted="0">
     <note pos="0" len="48" key="33" vol="100"/>
     <note pos="200" len="48" key="35" vol="100"/>
    </pattern>
   </track>
   <track type="0" name="Default preset" muted="0">
    <instrumenttrack basenote="57">
     <instrument name="zynaddsubfx"/>
    </instrumenttrack>
    <pattern pos="0" steps="16" type="1" muted="0">
     <note pos="24" len="24" key="60" vol="50"/>
     <note pos="48" len="24" key="62" vol="100"/>
    </pattern>
   </track>
   <track type="0" name="Muted Pad" muted="1">
    <instrumenttrack basenote="57"><instrument name="zynaddsubfx"/></instrumenttrack>
    <pattern pos="0" len="192" type="1" muted="0"><note pos="0" len="192" key="60"/></pattern>
   </track>
  </trackcontainer>
 </song>
</lmms-project>
"""


def test_notes_land_on_ticks_and_classes():
    project = lmms.parse(PROJECT)
    assert (project.bpm, project.numerator, project.denominator) == (120, 4, 4)
    assert sorted(project.tracks) == ["bass", "drums", "lead"]
    # Bass: key 33 at base note 57 is MIDI 45 (A2); the note past the pattern's 192 ticks is not played.
    assert [(n.start, n.end, n.pitch) for n in project.tracks["bass"]] == [(192, 240, 45)]
    # A generic melodic preset (median C5, no chords) is lead; a pattern without `len` (LMMS 1.2) still plays.
    assert [(n.start, n.pitch, n.velocity) for n in project.tracks["lead"]] == [(24, 72, 45), (48, 74, 90)]
    assert project.end == 768
    classes = dict(project.assigned)
    assert classes["FX Zip [Beat]"].startswith("skipped")
    assert "Muted Pad" not in classes


def test_drum_pattern_repeats_where_the_song_places_it():
    project = lmms.parse(PROJECT)
    # The 1-bar beat loops twice over its 2-bar segment at tick 384; the muted "Fill" segment plays nothing.
    drums = [(n.start, n.end - n.start, n.pitch) for n in project.tracks["drums"]]
    assert drums == [
        (384, 12, 36),
        (432, 12, 38),
        (480, 12, 36),
        (576, 12, 36),
        (624, 12, 38),
        (672, 12, 36),
    ]


def test_mmpz_container():
    data = PROJECT.encode()
    packed = struct.pack(">I", len(data)) + zlib.compress(data)
    assert lmms.load_xml(packed) == PROJECT
    assert lmms.load_xml(data) == PROJECT


@pytest.mark.parametrize(
    "name, sample, cls",
    [
        ("Bass Slap 02", "instruments/bassslap02.ogg", "bass"),
        ("Default preset", "", None),
        ("bassdrum03.ogg", "drums/bassdrum03.ogg", "bass"),  # named_class alone; drums are decided before it
        ("FM Rhodes", "", "piano"),
        ("Soft Saw Pad", "", "strings"),
        ("guitar", "", "guitar"),
        ("Arp (Funky)", "", "lead"),
    ],
)
def test_named_class(name, sample, cls):
    if name.startswith("bassdrum"):
        assert lmms.named_class(name, sample) is None
    else:
        assert lmms.named_class(name, sample) == cls


@pytest.mark.parametrize(
    "names, key",
    [
        (("BD 03",), 36),
        (("hihat_opened02",), 46),
        (("Little C-HiHat",), 42),
        (("Loaded O-HiHat",), 46),
        (("Hat_o",), 46),
        (("JazzSnr",), 38),
        (("K_8bit",), 36),
        (("crash02",), 49),
        (("clap04",), 39),
        (("alien",), None),
    ],
)
def test_drum_keys(names, key):
    assert lmms.drum_key(*names) == key


COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2004 Someone
License: GPL-2+

Files: data/projects/demos/Saber-*
Copyright:
 Saber
License: BSD-2-clause

Files: data/projects/*/Skiessi/*
Copyright: Skiessi
License: CC-BY-SA-4
"""


def test_licence_per_file():
    stanzas = lmms.copyright_stanzas(COPYRIGHT)
    assert lmms.licence_of("data/projects/demos/Saber-FinalStep.mmpz", stanzas).spdx == "BSD-2-Clause"
    assert lmms.licence_of("data/projects/demos/Skiessi/Skiessi-C64.mmpz", stanzas).spdx == "CC-BY-SA-4.0"
    unclear = lmms.licence_of("data/projects/shorties/DirtyLove.mmpz", stanzas)
    assert unclear.spdx is None


def test_strongest_licence_counts_lmms_licences():
    import build_corpus

    assert "lmms" in build_corpus.ALL_SOURCES
    files = [{"licence": "Artistic-2.0"}, {"licence": "BSD-2-Clause"}]
    assert build_corpus.strongest_licence(files) == "Artistic-2.0"
    assert build_corpus.strongest_licence(files + [{"licence": "CC-BY-SA-3.0"}]) == "CC-BY-SA-3.0"
    assert build_corpus.strongest_licence(files + [{"licence": "GPL-2.0-or-later"}]) == "GPL-2.0-or-later"
