"""Tracker modules as General MIDI files of our six classes: which instrument is a drum, a bass or a voice.

A module's instruments are recorded sounds, and their names are mostly credits ("music from reg", "alexel") or
misleading ("bass:*" in Pingus is a bass drum), so the class of an instrument comes from how the module plays it
and how it sounds, never from its name. Each instrument's commonest note is rendered alone for one second
(openmpt.Module.render_note) and measured from its loudest frame (sound_features): how long it rings (to
-20 dB), its spectral flatness, how strongly it repeats a period (autocorrelation), and how its power splits
between below 150 Hz, 150-600 Hz, 600-3000 Hz and above.

1. Drums. An instrument whose cells sit on one note (DRUM_NOTE_SHARE of them on its commonest note, at most
   DRUM_MAX_NOTES different notes: trackers trigger a drum sample at one pitch) takes a GM key from its sound
   (drum_key): a short thump with most power below 150 Hz a kick (36); noise over a body in 150-600 Hz a snare
   (38); noise above 3 kHz a closed (42) or open (46) hat or a crash (49) by how long it rings; noise in the
   middle band a clap (39). A one-note tone (a tom, a pluck, one note of a voice sampled note by note) is left
   out: its kit piece cannot be told from its sound here.
2. Voices. Any other instrument (a noise played at several pitches, an effect, is left out) is a pitched voice.
   Its sounding pitch is the played note moved by the sample's own tuning, measured by harmonic sum over the
   rendered note's spectrum (tuning_candidates). A voice whose measured tuning (mod 12) differs from the one
   most of the module's notes agree on is left out rather than put out of key; an octave error is corrected by
   keeping each voice's median within E1-C7. A voice with BASS_SHARE of its notes below C3 is a bass (GM 33),
   one that rings through the rendered second a sustained voice (GM 48), the rest keyboard-like (GM 0).
   getmusic's own track mapping then reads these tracks as it reads any MIDI file (it picks the lead by
   register and melody), so a module is classed as a user's song is.
3. Time. Rows are read in the order the player reaches them (jumps and pattern breaks honoured), one grid step
   each. Trackers do not say how many rows make a beat (4 is the custom, but some write 8ths or 32nds), so the
   snares decide (rows_per_beat): of 2, 4 or 8 rows a beat at a tempo of 60-200 BPM, the one that puts most
   snares on beats 2 and 4; without such snares, 4 (8 where 4 would be faster than 200 BPM). A note lasts
   until the next note, note-off or cut in its channel, at most MAX_NOTE_BEATS; drum hits a grid step. Swing
   written as alternating speeds is straightened onto the grid. Meter: 4/4 throughout.

A module whose left-out instruments play more than MAX_LEFT_OUT of its notes is not used (`usable`).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from corpus.openmpt import NOTE_CUT, NOTE_FADE, NOTE_FIRST, NOTE_LAST, NOTE_OFF, Module, PlayedRow
from getmusic_cli.score.song import Note

TICKS_PER_BEAT = 96
RENDER_RATE = 22050
DRUM_NOTE_SHARE = 0.85
DRUM_MAX_NOTES = 3
DRUM_MAX_RING = 0.6  # seconds to -20 dB: a kick is shorter
NOISY = 0.2  # spectral flatness above which a sound is noise more than tone
PERIODIC = 0.5  # autocorrelation at its period above which a sound is a tone
SUSTAINED_RING = 0.95  # rings (above -20 dB) for nearly all of the rendered second
BASS_PITCH = 48  # C3
BASS_SHARE = 0.6
MIN_BPM, MAX_BPM = 60.0, 200.0
ROWS_PER_BEAT_CHOICES = (2, 4, 8)
SNARE_KEYS = (38, 39, 40)
MAX_NOTE_BEATS = 4
MIN_CELLS = 4  # instruments played fewer times are left out (stray hits, effects)
SEGMENT = 8192  # samples measured from the loudest frame (0.37 s)
LONG_SEGMENT = 16384  # for the pitch of a voice (0.74 s: 1.3 Hz a bin)
TUNING_CANDIDATES = 4
FUNDAMENTAL = 0.1  # a pitch's fundamental is heard when its peak reaches this share of the loudest
LOWEST_MEDIAN, HIGHEST_MEDIAN = 28, 96  # E1, C7: a voice's median sounding pitch


@dataclass(frozen=True)
class SoundFeatures:
    ring: float  # seconds from the loudest frame until the level falls 20 dB below it
    flatness: float  # spectral flatness: 0 (a pure tone) .. 1 (white noise)
    periodicity: float  # autocorrelation at the best period, 0..1
    bands: tuple[float, float, float, float]  # share of the power below 150 Hz, 150-600, 600-3000, above 3000

    @property
    def noisy(self) -> bool:
        """Noise more than tone: a flat spectrum, or no period that repeats."""
        return self.flatness >= NOISY or self.periodicity < PERIODIC


BAND_EDGES = (30.0, 150.0, 600.0, 3000.0)  # below 30 Hz is offset and rumble, left out


def sound_features(samples: np.ndarray, rate: int = RENDER_RATE) -> SoundFeatures | None:
    """What one rendered note sounds like, from its loudest frame on; None for silence."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size < SEGMENT or np.abs(x).max() < 1e-4:
        return None
    frame = 512
    frames = x[: x.size // frame * frame].reshape(-1, frame)
    level = np.sqrt((frames**2).mean(axis=1))
    peak = int(level.argmax())
    quiet = np.nonzero(level[peak:] < level[peak] * 0.1)[0]
    ring = (quiet[0] if quiet.size else level.size - peak) * frame / rate
    segment = x[peak * frame : peak * frame + SEGMENT]
    segment = np.pad(segment - segment.mean(), (0, SEGMENT - segment.size))
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(SEGMENT))) + 1e-12
    freqs = np.fft.rfftfreq(SEGMENT, 1 / rate)
    flatness = float(np.exp(np.log(spectrum).mean()) / spectrum.mean())
    power = np.where(freqs >= BAND_EDGES[0], spectrum**2, 0.0)
    edges = (*BAND_EDGES, rate)
    bands = tuple(float(power[(freqs >= a) & (freqs < b)].sum() / power.sum()) for a, b in zip(edges, edges[1:]))
    ac = np.correlate(segment, segment, "full")[SEGMENT - 1 :]
    ac = ac / (ac[0] + 1e-12)
    # The period: the highest autocorrelation after it first falls below zero (skips the lag-0 lobe).
    lo, hi = int(rate / 2000), int(rate / 25)
    below = np.nonzero(ac[lo:hi] < 0)[0]
    periodicity = float(ac[lo + below[0] : hi].max()) if below.size else 0.0
    return SoundFeatures(ring, flatness, periodicity, bands)


def midi_of(note: int) -> int:
    """The MIDI pitch a module note plays with an instrument at its default tuning (C-5 = 61 -> 60)."""
    return note - NOTE_FIRST


def _peak(spectrum: np.ndarray, freqs: np.ndarray, f: float) -> float:
    """The spectrum's largest magnitude within a quarter semitone of f."""
    near = spectrum[(freqs >= f * 2 ** (-1 / 48)) & (freqs <= f * 2 ** (1 / 48))]
    return float(near.max()) if near.size else 0.0


def tuning_candidates(samples: np.ndarray, note: int, rate: int = RENDER_RATE) -> list[int]:
    """Semitone offsets from the note's nominal pitch, best first, by harmonic sum over the spectrum.

    Each candidate pitch scores the spectrum's peaks at its first eight harmonics (weighted 1/sqrt(h)). A
    candidate an octave (or two) below the real pitch scores nearly as well, from every other harmonic, so a
    candidate whose own fundamental is missing from the spectrum (under FUNDAMENTAL of the loudest peak) is moved
    up by octaves until it is not. The best few are returned: the module's other voices settle the choice.
    """
    x = np.asarray(samples, dtype=np.float64)[:LONG_SEGMENT]
    x = np.pad(x - x.mean(), (0, LONG_SEGMENT - x.size))
    spectrum = np.abs(np.fft.rfft(x * np.hanning(LONG_SEGMENT)))
    freqs = np.fft.rfftfreq(LONG_SEGMENT, 1 / rate)
    loudest = float(spectrum.max())

    def f0(offset: int) -> float:
        return 440.0 * 2 ** ((midi_of(note) + offset - 69) / 12)

    scores = {}
    for offset in range(-48, 25):
        if not 25.0 <= f0(offset) <= 4000.0:
            continue
        harmonics = [h for h in range(1, 9) if h * f0(offset) * 2 ** (1 / 48) < rate / 2]
        scores[offset] = sum(_peak(spectrum, freqs, h * f0(offset)) / math.sqrt(h) for h in harmonics)
    best: list[int] = []
    for offset in sorted(scores, key=lambda k: -scores[k]):
        while _peak(spectrum, freqs, f0(offset)) < FUNDAMENTAL * loudest and offset + 12 in scores:
            offset += 12
        if offset not in best:
            best.append(offset)
        if len(best) == TUNING_CANDIDATES:
            break
    return best


def drum_key(sound: SoundFeatures) -> int | None:
    """The GM drum key a drum sample sounds like; None where its sound says no kit piece clearly."""
    low, low_mid, mid, high = sound.bands
    if low >= 0.6 and sound.ring < DRUM_MAX_RING:
        return 36  # bass drum: a short thump
    if not sound.noisy:
        return None  # a short tone: a tom, a pluck or one note of a multi-sampled voice; not told apart here
    if low_mid >= 0.12 and high >= 0.2:
        return 38  # snare: noise over a body
    if high >= 0.6:
        if sound.ring >= 0.5:
            return 49  # crash
        return 46 if sound.ring >= 0.3 else 42  # open, closed hi-hat
    if mid >= 0.5:
        return 39  # hand clap, shaker-like noise in the middle band
    return None


@dataclass
class Usage:
    """How a module plays one instrument."""

    cells: int = 0
    notes: Counter = field(default_factory=Counter)  # module note -> cells

    @property
    def commonest(self) -> int:
        return self.notes.most_common(1)[0][0]

    @property
    def one_note(self) -> bool:
        top = self.notes.most_common(1)[0][1]
        return top >= DRUM_NOTE_SHARE * self.cells and len(self.notes) <= DRUM_MAX_NOTES


@dataclass(frozen=True)
class Role:
    """What an instrument becomes: a GM drum key, or a pitched track's program and tuning."""

    drum_key: int | None = None
    program: int = 0
    offset: int = 0  # semitones added to midi_of(note)


@dataclass(frozen=True)
class Heard:
    """One instrument as measured: how it is played, how its commonest note sounds, its tuning candidates."""

    usage: Usage
    sound: SoundFeatures | None
    tunings: tuple[int, ...] = ()


def pitched_program(sounding: list[int], sound: SoundFeatures) -> tuple[int, str]:
    low = sum(p < BASS_PITCH for p in sounding) / len(sounding)
    if low >= BASS_SHARE:
        return 33, f"bass ({low:.0%} of its notes below C3)"
    if sound.ring >= SUSTAINED_RING:
        return 48, "sustained voice"
    return 0, "decaying voice"


def module_pitch_class(heard: dict[int, Heard]) -> int | None:
    """The tuning (mod 12) most of the module's voices agree on, weighted by how often each is played."""
    votes: Counter = Counter()
    for h in heard.values():
        if h.tunings:
            votes[h.tunings[0] % 12] += h.usage.cells
    return votes.most_common(1)[0][0] if votes else None


def plan_roles(heard: dict[int, Heard]) -> tuple[dict[int, Role], dict[int, str]]:
    """Each instrument's role (module docstring) and, for every instrument, why."""
    roles: dict[int, Role] = {}
    why: dict[int, str] = {}
    voices = {}
    for number, h in heard.items():
        sound = h.sound
        if sound is None or h.usage.cells < MIN_CELLS:
            why[number] = "left out: silent or played under 4 times"
        elif h.usage.one_note:
            key = drum_key(sound)
            if key is None:
                why[number] = "left out: one note, but no kit piece by its sound"
            else:
                roles[number] = Role(drum_key=key)
                bands = ", ".join(f"{b:.2f}" for b in sound.bands)
                why[number] = f"drum GM {key} (rings {sound.ring:.2f} s, power by band {bands})"
        elif sound.flatness >= NOISY and sound.periodicity < PERIODIC:
            why[number] = "left out: a noise played at several pitches (an effect)"
        else:
            voices[number] = h
    pitch_class = module_pitch_class(voices)
    for number, h in voices.items():
        offset = next((t for t in h.tunings if t % 12 == pitch_class), None)
        if offset is None:
            measured = f" ({h.tunings[0]:+d})" if h.tunings else ""
            why[number] = f"left out: its tuning{measured} disagrees with the other voices'"
            continue
        sounding = sorted(midi_of(n) + offset for n, k in h.usage.notes.items() for _ in range(k))
        median = sounding[len(sounding) // 2]
        # A harmonic read as the fundamental (or the reverse) puts a voice octaves off: bring it into range.
        while median < LOWEST_MEDIAN:
            offset, median = offset + 12, median + 12
        while median > HIGHEST_MEDIAN:
            offset, median = offset - 12, median - 12
        sounding = [midi_of(n) + offset for n, k in h.usage.notes.items() for _ in range(k)]
        program, kind = pitched_program(sounding, h.sound)
        roles[number] = Role(program=program, offset=offset)
        why[number] = f"{kind}, GM program {program}, tuning {offset:+d}"
    return roles, why


def rows_per_beat(row_seconds: float, snare_rows: list[int]) -> int:
    """How many rows make a beat: the choice (of 2, 4, 8, at a tempo of MIN_BPM-MAX_BPM) that puts most of the
    snares on beats 2 and 4, when one puts at least half of them there; else 4, or 8 when 4 is too fast."""

    def backbeat(rows: int) -> float:
        return sum(r % rows == 0 and (r // rows) % 2 == 1 for r in snare_rows) / len(snare_rows)

    plausible = [r for r in ROWS_PER_BEAT_CHOICES if MIN_BPM <= 60.0 / (r * row_seconds) <= MAX_BPM]
    if snare_rows and plausible:
        best = max(plausible, key=lambda r: (backbeat(r), r == 4))
        if backbeat(best) >= 0.5:
            return best
    return 4 if 60.0 / (4 * row_seconds) <= MAX_BPM else 8


@dataclass(frozen=True)
class Hit:
    """One note of one instrument in played-row units."""

    instrument: int
    note: int
    start: int  # played-row index
    end: int


def hits_of(module: Module, rows: list[PlayedRow]) -> list[Hit]:
    """The notes each channel plays, row by played row; a note ends at the channel's next note, off or cut."""
    hits: list[Hit] = []
    sounding: dict[int, tuple[int, int, int]] = {}  # channel -> (instrument, note, start)
    instrument_of: dict[int, int] = {}
    for index, played in enumerate(rows):
        for channel in range(module.channels):
            note, instrument = module.cell(played.pattern, played.row, channel)
            if instrument:
                instrument_of[channel] = instrument
            ends = note in (NOTE_OFF, NOTE_CUT, NOTE_FADE) or NOTE_FIRST <= note <= NOTE_LAST
            if ends and channel in sounding:
                ins, pitch, start = sounding.pop(channel)
                hits.append(Hit(ins, pitch, start, index))
            if NOTE_FIRST <= note <= NOTE_LAST and channel in instrument_of:
                sounding[channel] = (instrument_of[channel], note, index)
    for ins, pitch, start in sounding.values():
        hits.append(Hit(ins, pitch, start, len(rows)))
    return sorted(hits, key=lambda h: (h.start, h.instrument, h.note))


@dataclass
class Converted:
    bpm: float
    tracks: dict[str, tuple[int, bool, list[Note]]]  # track name -> (program, is_drum, notes)
    roles: list[str]  # "instrument name: role" lines for the manifest
    end: int  # ticks
    left_out: float  # share of the played notes whose instrument has no role


def convert(module: Module) -> Converted:
    """A module as GM tracks: one drum track, one track per pitched instrument (module docstring)."""
    rows = module.played_rows()
    if len(rows) < 2:
        raise ValueError("the module plays no rows")
    hits = hits_of(module, rows)
    usage: dict[int, Usage] = {}
    for hit in hits:
        u = usage.setdefault(hit.instrument, Usage())
        u.cells += 1
        u.notes[hit.note] += 1
    heard = {}
    for number, u in sorted(usage.items()):
        sound, tunings = None, ()
        if u.cells >= MIN_CELLS:
            samples = module.render_note(number, u.commonest, rate=RENDER_RATE)
            sound = sound_features(samples)
            if sound is not None and not u.one_note:
                tunings = tuple(tuning_candidates(samples, u.commonest))
        heard[number] = Heard(u, sound, tunings)
    roles, why = plan_roles(heard)
    lines = [f"{n} {module.instrument_name(n)!r}: {why[n]}" for n in sorted(why)]
    row_seconds = statistics.median(b.seconds - a.seconds for a, b in zip(rows, rows[1:]))
    snare_rows = [h.start for h in hits if h.instrument in roles and roles[h.instrument].drum_key in SNARE_KEYS]
    per_beat = rows_per_beat(row_seconds, snare_rows)
    step = TICKS_PER_BEAT // per_beat
    bpm = 60.0 / (per_beat * row_seconds)
    max_len = MAX_NOTE_BEATS * TICKS_PER_BEAT
    tracks: dict[str, tuple[int, bool, list[Note]]] = {}
    for hit in hits:
        role = roles.get(hit.instrument)
        if role is None:
            continue
        start = hit.start * step
        end = start + min(max((hit.end - hit.start) * step, step), max_len)
        if role.drum_key is not None:
            tracks.setdefault("drums", (0, True, []))[2].append(Note(start, start + step, role.drum_key))
            continue
        pitch = midi_of(hit.note) + role.offset
        if 0 <= pitch <= 127:
            name = f"instrument {hit.instrument}"
            tracks.setdefault(name, (role.program, False, []))[2].append(Note(start, end, pitch))
    left_out = sum(u.cells for n, u in usage.items() if n not in roles) / max(1, len(hits))
    return Converted(bpm, tracks, lines, len(rows) * step, left_out)


# The Debian packages read, where their modules are, and their licence (debian/copyright, `Files: *` or the
# package-wide licence). tecnoballz-data (GPL-3.0-or-later) is not read: its weights would have to carry GPL-3.
@dataclass(frozen=True)
class TrackerPackage:
    name: str
    music_dir: str
    licence: str


PACKAGES = (
    TrackerPackage("heroes-sound-tracks", "usr/share/games/heroes/mod", "GPL-2.0-or-later"),
    TrackerPackage("pekka-kana-2-data", "usr/share/games/pekka-kana-2/data/music", "BSD-2-Clause"),
    TrackerPackage("pingus-data", "usr/share/games/pingus/data/music", "GPL-2.0-or-later"),
)
MODULE_SUFFIXES = (".mod", ".xm", ".s3m", ".it")
# Modules left out whatever they sound like, with the reason the manifest gives.
EXCLUDED = {
    "gd-matth.it": "its own text says its author is unknown ('dunno who tracked it')",
}
# libopenmpt and the libraries it loads, from Debian (BSD-3-Clause; LGPL-2.1 and BSD for the codecs).
LIBRARY_PACKAGES = ("libopenmpt0", "libogg0", "libvorbis0a", "libvorbisfile3", "libmpg123-0")
MAX_LEFT_OUT = 0.3  # a module whose unclassed instruments play more of its notes than this is left out


def usable(converted: Converted) -> str | None:
    """Why a converted module is not a training song, or None when it is."""
    if converted.left_out > MAX_LEFT_OUT:
        return f"{converted.left_out:.0%} of its notes are on instruments not told apart by sound"
    if len(converted.tracks) < 2:
        return "fewer than two tracks"
    return None
