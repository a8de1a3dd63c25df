"""Hydrogen .h2song → drum notes: columns of pattern groups, 48 ticks per beat, kit pieces to GM keys by name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TRAINING = Path(__file__).resolve().parents[2] / "training"
sys.path.insert(0, str(TRAINING))

from corpus import hydrogen  # noqa: E402

SONG = """<?xml version="1.0" encoding="UTF-8"?>
<song>
 <bpm>110</bpm>
 <license>Unknown license</license>
 <instrumentList>
  <instrument><id>0</id><name>Kick</name><midiOutNote>36</midiOutNote></instrument>
  <instrument><id>1</id><name>Snare Rimshot</name><midiOutNote>37</midiOutNote></instrument>
  <instrument><id>2</id><name>Hat Closed</name><midiOutNote>38</midiOutNote></instrument>
  <instrument><id>3</id><name>Laser Zap</name><midiOutNote>39</midiOutNote></instrument>
 </instrumentList>
 <patternList>
  <pattern><name>beat</name><size>192</size><noteList>
   <note><position>0</position><velocity>1</velocity><instrument>0</instrument></note>
   <note><position>96</position><velocity>0.5</velocity><instrument>1</instrument></note>
  </noteList></pattern>
  <pattern><name>hats</name><size>144</size><noteList>
   <note><position>0</position><velocity>0.8</velocity><instrument>2</instrument></note>
   <note><position>48</position><velocity>0.8</velocity><instrument>3</instrument></note>
  </noteList></pattern>
 </patternList>
 <patternSequence>
  <group><patternID>beat</patternID><patternID>hats</patternID></group>
  <group><patternID>hats</patternID></group>
  <group><patternID>missing</patternID></group>
 </patternSequence>
</song>
"""


def test_parse_columns_keys_and_meters():
    song = hydrogen.parse(SONG)
    assert song.bpm == 110
    # Column 1 lasts 192 ticks (its longest pattern, 4/4); column 2 only the 144-tick hats pattern (3/4).
    assert song.bars == [(0, 4, 4), (192, 3, 4)]
    assert [(n.start, n.pitch, n.velocity) for n in song.notes] == [
        (0, 36, 127),
        (0, 42, 102),
        (96, 37, 64),
        (192, 42, 102),
    ]
    assert song.unmapped == ["Laser Zap"]


@pytest.mark.parametrize(
    "name, key",
    [
        ("Kick Long", 36),
        ("Hand Clap", 39),
        ("Hat Pedal", 44),
        ("Hat Semi-Open", 46),
        ("Open Hat", 46),
        ("Closed Hat", 42),
        ("Floor Tom", 41),
        ("Tom Hi", 50),
        ("Ride 2", 51),
        ("Bell", 53),
        ("Cowbell", 56),
        ("Cymbal", 49),
        ("Stick", 37),
        ("Snare 2", 38),
        ("Theremin", None),
    ],
)
def test_gm_keys_by_name(name, key):
    assert hydrogen.gm_key(name) == key
