"""The seven GETScore tracks (original row order, two rows each), and how any MIDI track maps to a class."""

from __future__ import annotations

import re
from collections.abc import Iterable

from getmusic_cli.errors import GetMusicError

# Instrument classes as users name them, in the original GETScore row order; the chord track comes last.
INSTRUMENTS: tuple[str, ...] = ("lead", "bass", "drums", "guitar", "piano", "strings")
CHORDS = "chords"
TRACKS: tuple[str, ...] = INSTRUMENTS + (CHORDS,)
N_ROWS = 2 * len(TRACKS)  # 14

# Token prefix of each instrument's pitch tokens in the vocabulary (original dict.txt letters).
TOKEN_PREFIX: dict[str, str] = {
    "lead": "M",
    "bass": "B",
    "drums": "D",
    "guitar": "G",
    "piano": "P",
    "strings": "S",
}

# Drum pitches are stored +128 in tokens (D128..D255), as in the original vocabulary.
DRUM_PITCH_OFFSET = 128


def track_index(name: str) -> int:
    return TRACKS.index(name)


def pitch_row(name: str) -> int:
    return 2 * track_index(name)


def duration_row(name: str) -> int:
    return 2 * track_index(name) + 1


# How any MIDI track maps to one of the six classes (precedence, register, the lead rule) is score/mapping.py;
# this module holds the tables it uses: GM programs and families, their classes, and the name hints.

# Value of a `--map` override that removes a track from the song.
DROP = "drop"

# GM program (0-based) written for a generated class; drums go to channel 10 (the program is then irrelevant).
DEFAULT_PROGRAM: dict[str, int] = {"lead": 80, "bass": 32, "drums": 0, "guitar": 25, "piano": 0, "strings": 48}
# Velocity of generated notes (GETScore has no velocity), per class, as the original wrote them.
DEFAULT_VELOCITY: dict[str, int] = {"lead": 114, "bass": 98, "drums": 98, "guitar": 82, "piano": 98, "strings": 50}

# Names users may type for a class (besides the class names themselves).
CLASS_ALIASES: dict[str, str] = {
    "melody": "lead",
    "mel": "lead",
    "vocal": "lead",
    "vocals": "lead",
    "voice": "lead",
    "m": "lead",
    "l": "lead",
    "b": "bass",
    "drum": "drums",
    "kit": "drums",
    "percussion": "drums",
    "perc": "drums",
    "d": "drums",
    "guitars": "guitar",
    "gtr": "guitar",
    "g": "guitar",
    "keys": "piano",
    "p": "piano",
    "string": "strings",
    "pad": "strings",
    "pads": "strings",
    "s": "strings",
    "chord": CHORDS,
    "c": CHORDS,
}

# The 16 General MIDI program families, 8 programs each (0-based programs).
GM_FAMILIES: tuple[str, ...] = (
    "Piano",
    "Chromatic Percussion",
    "Organ",
    "Guitar",
    "Bass",
    "Strings",
    "Ensemble",
    "Brass",
    "Reed",
    "Pipe",
    "Synth Lead",
    "Synth Pad",
    "Synth Effects",
    "Ethnic",
    "Percussive",
    "Sound Effects",
)

GM_PROGRAM_NAMES: tuple[str, ...] = (
    # Piano
    "Acoustic Grand Piano",
    "Bright Acoustic Piano",
    "Electric Grand Piano",
    "Honky-tonk Piano",
    "Electric Piano 1",
    "Electric Piano 2",
    "Harpsichord",
    "Clavinet",
    # Chromatic Percussion
    "Celesta",
    "Glockenspiel",
    "Music Box",
    "Vibraphone",
    "Marimba",
    "Xylophone",
    "Tubular Bells",
    "Dulcimer",
    # Organ
    "Drawbar Organ",
    "Percussive Organ",
    "Rock Organ",
    "Church Organ",
    "Reed Organ",
    "Accordion",
    "Harmonica",
    "Tango Accordion",
    # Guitar
    "Acoustic Guitar (nylon)",
    "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)",
    "Electric Guitar (clean)",
    "Electric Guitar (muted)",
    "Overdriven Guitar",
    "Distortion Guitar",
    "Guitar Harmonics",
    # Bass
    "Acoustic Bass",
    "Electric Bass (finger)",
    "Electric Bass (pick)",
    "Fretless Bass",
    "Slap Bass 1",
    "Slap Bass 2",
    "Synth Bass 1",
    "Synth Bass 2",
    # Strings
    "Violin",
    "Viola",
    "Cello",
    "Contrabass",
    "Tremolo Strings",
    "Pizzicato Strings",
    "Orchestral Harp",
    "Timpani",
    # Ensemble
    "String Ensemble 1",
    "String Ensemble 2",
    "Synth Strings 1",
    "Synth Strings 2",
    "Choir Aahs",
    "Voice Oohs",
    "Synth Voice",
    "Orchestra Hit",
    # Brass
    "Trumpet",
    "Trombone",
    "Tuba",
    "Muted Trumpet",
    "French Horn",
    "Brass Section",
    "Synth Brass 1",
    "Synth Brass 2",
    # Reed
    "Soprano Sax",
    "Alto Sax",
    "Tenor Sax",
    "Baritone Sax",
    "Oboe",
    "English Horn",
    "Bassoon",
    "Clarinet",
    # Pipe
    "Piccolo",
    "Flute",
    "Recorder",
    "Pan Flute",
    "Blown Bottle",
    "Shakuhachi",
    "Whistle",
    "Ocarina",
    # Synth Lead
    "Lead 1 (square)",
    "Lead 2 (sawtooth)",
    "Lead 3 (calliope)",
    "Lead 4 (chiff)",
    "Lead 5 (charang)",
    "Lead 6 (voice)",
    "Lead 7 (fifths)",
    "Lead 8 (bass + lead)",
    # Synth Pad
    "Pad 1 (new age)",
    "Pad 2 (warm)",
    "Pad 3 (polysynth)",
    "Pad 4 (choir)",
    "Pad 5 (bowed)",
    "Pad 6 (metallic)",
    "Pad 7 (halo)",
    "Pad 8 (sweep)",
    # Synth Effects
    "FX 1 (rain)",
    "FX 2 (soundtrack)",
    "FX 3 (crystal)",
    "FX 4 (atmosphere)",
    "FX 5 (brightness)",
    "FX 6 (goblins)",
    "FX 7 (echoes)",
    "FX 8 (sci-fi)",
    # Ethnic
    "Sitar",
    "Banjo",
    "Shamisen",
    "Koto",
    "Kalimba",
    "Bagpipe",
    "Fiddle",
    "Shanai",
    # Percussive
    "Tinkle Bell",
    "Agogo",
    "Steel Drums",
    "Woodblock",
    "Taiko Drum",
    "Melodic Tom",
    "Synth Drum",
    "Reverse Cymbal",
    # Sound Effects
    "Guitar Fret Noise",
    "Breath Noise",
    "Seashore",
    "Bird Tweet",
    "Telephone Ring",
    "Helicopter",
    "Applause",
    "Gunshot",
)

# Class of each GM family; None = dropped. "strings" is the sustained/ensemble class of GETScore (its program is
# String Ensemble 1), so it also takes reeds, brass, pads and choirs; one of them may still become the lead
# through the lead rule.
FAMILY_CLASS: tuple[str | None, ...] = (
    "piano",  # Piano
    "piano",  # Chromatic Percussion: pitched, struck, keyboard-like
    "piano",  # Organ
    "guitar",  # Guitar
    "bass",  # Bass
    "strings",  # Strings
    "strings",  # Ensemble (string ensembles, choirs)
    "strings",  # Brass
    "strings",  # Reed
    "lead",  # Pipe: flutes, recorders, ocarinas play tunes (mapping.py sends chordal or idle ones to strings)
    "lead",  # Synth Lead: the original's lead program (80) lives here
    "strings",  # Synth Pad
    "strings",  # Synth Effects: pitched, pad-like
    "guitar",  # Ethnic (plucked ones; the exceptions below fix the rest)
    None,  # Percussive: mostly unpitched sounds on a melodic channel (pitched ones are exceptions below)
    None,  # Sound Effects: noises, not notes
)

# Programs whose role differs from their family's.
PROGRAM_EXCEPTIONS: dict[int, str | None] = {
    22: "lead",  # Harmonica: a melody instrument
    43: "bass",  # Contrabass
    46: "piano",  # Orchestral Harp: arpeggios and chords rather than sustained lines
    47: None,  # Timpani: pitched drums, neither a bass line nor GM drum keys
    58: "bass",  # Tuba
    108: "piano",  # Kalimba
    109: "strings",  # Bagpipe
    110: "strings",  # Fiddle
    111: "strings",  # Shanai
    112: "piano",  # Tinkle Bell
    114: "piano",  # Steel Drums: pitched
}

# Why a family (or program) is dropped, as the user reads it.
_DROP_REASONS: dict[int, str] = {47: "timpani (pitched drums)"}


def gm_family(program: int) -> str:
    return GM_FAMILIES[program // 8]


def gm_name(program: int) -> str:
    return GM_PROGRAM_NAMES[program]


def program_class(program: int) -> str | None:
    """Class of a melodic-channel GM program (0..127), or None if such tracks are dropped."""
    if not 0 <= program <= 127:
        raise GetMusicError(f"MIDI program {program} is outside 0..127")
    if program in PROGRAM_EXCEPTIONS:
        return PROGRAM_EXCEPTIONS[program]
    return FAMILY_CLASS[program // 8]


def program_reason(program: int) -> str:
    """Why a program maps where it does, as `inspect` shows it (or why it is dropped)."""
    text = f"program {program} {gm_name(program)} ({gm_family(program)} family)"
    if program_class(program) is None:
        why = _DROP_REASONS.get(program, f"{gm_family(program).lower()} family")
        return f"dropped: {why}; program {program} {gm_name(program)}"
    return text


# Name hints: (pattern, class), tried in this order on the track's words (lower case, camelCase and underscores
# split: "PianoMelody" reads "piano melody"); the first match wins. They decide only where the program says
# nothing (program 0, the default of a file that never sets one): the program family and the channel outrank them.
# Guitar words come first so that "Chorus Gt" or "Overdrive" is a guitar; drums before bass so "Bass Drum" is a
# drum; choir/pad words before "voice" so "Voice Oohs" is a pad; instrument words before the bare "lead"/"solo" so
# that "Lead Guitar" stays a guitar (the lead rule may still pick it).
NAME_HINTS: tuple[tuple[str, str], ...] = (
    (
        r"\b(guitars?|gtrs?|gt|banjo|ukulele|uke|mandolin|sitar|overdrive|overdriven|distortion|dist|clean|crunch)\b",
        "guitar",
    ),
    (r"\b(drums?|drumkit|kit|perc\w*|kick|snare|hi-?hats?|cymbals?|toms?|808)\b", "drums"),
    (r"\bbass(?!oon)|contrabass(?!oon)", "bass"),
    (r"\b(choir|aahs?|oohs?|pads?)\b", "strings"),
    (r"\b(vocals?|voices?|vox|singer|sing|melody|melodie|soprano)\b", "lead"),
    (
        r"\b(pianos?|pno|keys|keyboards?|kbd|organ|rhodes|e-?piano|clav\w*|harpsichord|cembalo|celesta|marimba|"
        r"vibes|vibraphone|xylophone|glockenspiel)\b",
        "piano",
    ),
    (
        r"\b(strings?|violins?|violas?|cellos?|violoncellos?|fiddle|orchestra|ensemble|brass|horns?|trumpets?|"
        r"trombones?|sax\w*|flutes?|piccolo|clarinets?|oboes?|bassoons?|contrabassoons?|recorder|winds?|alto|tenor)\b",
        "strings",
    ),
    (r"\b(lead|solo|theme)\b", "lead"),
)
_COMPILED_HINTS = tuple((re.compile(p), c) for p, c in NAME_HINTS)


def name_words(name: str) -> str:
    """A track name as words: lower case, camelCase and underscores split ("PianoMelody" -> "piano melody")."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").lower()


def name_class(name: str) -> tuple[str, str] | None:
    """(class, matched word) for a track name that hints at a class, else None."""
    words = name_words(name)
    for pattern, cls in _COMPILED_HINTS:
        match = pattern.search(words)
        if match:
            return cls, match.group(0)
    return None


def parse_class(name: str, *, allow_chords: bool = False) -> str:
    """Canonical class name for a user-typed name or alias (case-insensitive); GetMusicError if unknown."""
    key = name.strip().lower()
    cls = key if key in TRACKS else CLASS_ALIASES.get(key)
    if cls is None or (cls == CHORDS and not allow_chords):
        choices = ", ".join(INSTRUMENTS + ((CHORDS,) if allow_chords else ()))
        raise GetMusicError(f"unknown track class {name.strip()!r} (choose from {choices})")
    return cls


def parse_class_list(text: str, *, allow_chords: bool = False) -> list[str]:
    """'bass, drums' -> ['bass', 'drums'] in row order, duplicates removed; GetMusicError if empty or unknown."""
    parts = [p for p in re.split(r"[,\s]+", text or "") if p]
    if not parts:
        raise GetMusicError("empty track list (give classes like 'bass,drums')")
    chosen = {parse_class(p, allow_chords=allow_chords) for p in parts}
    return [t for t in TRACKS if t in chosen]


def parse_map_option(items: Iterable[str]) -> dict[str, str]:
    """`--map` values 'NAME_OR_INDEX=class' (or '=drop') -> {key: class}; GetMusicError for bad syntax or class."""
    mapping: dict[str, str] = {}
    for item in items:
        key, sep, value = item.rpartition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise GetMusicError(f"--map {item!r}: expected 'TRACK_NAME_OR_INDEX=class', e.g. 'Lead Vox=lead'")
        value = value.strip().lower()
        mapping[key] = DROP if value in (DROP, "none", "ignore", "skip") else parse_class(value)
    return mapping


def display_name(track) -> str:
    """The track's name, or what it plays when it has none."""
    if track.name:
        return track.name
    return "Drums" if track.is_drum else gm_name(track.program)
