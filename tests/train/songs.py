"""Small deterministic pop-like songs written with miditoolkit, for dataset, trainer and evaluate tests."""

from __future__ import annotations

import random
from pathlib import Path

import miditoolkit

TPB = 480
PROGRESSIONS = [
    [(0, "maj"), (9, "min"), (5, "maj"), (7, "maj")],  # C Am F G
    [(9, "min"), (5, "maj"), (0, "maj"), (7, "maj")],  # Am F C G
    [(2, "min"), (7, "maj"), (0, "maj"), (0, "maj")],  # Dm G C C
]
TRIADS = {"maj": (0, 4, 7), "min": (0, 3, 7)}


def write_song(
    path: Path,
    seed: int = 0,
    bars: int = 8,
    classes: tuple[str, ...] = ("lead", "bass", "piano", "drums"),
    key: int | None = None,
) -> Path:
    """A song in a random key: lead on the chord tones, bass roots, piano block chords, a rock beat, pads."""
    rng = random.Random(seed)
    key = rng.randrange(12) if key is None else key
    prog = PROGRESSIONS[seed % len(PROGRESSIONS)]
    midi = miditoolkit.MidiFile(ticks_per_beat=TPB)
    bar = 4 * TPB
    inst = {
        "lead": miditoolkit.Instrument(program=80, name="Lead"),
        "bass": miditoolkit.Instrument(program=33, name="Bass"),
        "piano": miditoolkit.Instrument(program=0, name="Piano"),
        "strings": miditoolkit.Instrument(program=48, name="Strings"),
        "guitar": miditoolkit.Instrument(program=25, name="Guitar"),
        "drums": miditoolkit.Instrument(program=0, is_drum=True, name="Drums"),
    }
    for b in range(bars):
        root, kind = prog[b % len(prog)]
        tones = [(key + root + i) % 12 for i in TRIADS[kind]]
        t0 = b * bar
        for step in range(8):  # eighth notes in the lead
            if rng.random() < 0.8:
                pitch = 60 + rng.choice(tones)
                inst["lead"].notes.append(
                    miditoolkit.Note(100, pitch + 12 * rng.randrange(2), t0 + step * 240, t0 + step * 240 + 240)
                )
        inst["bass"].notes.append(miditoolkit.Note(90, 36 + tones[0], t0, t0 + bar // 2))
        inst["bass"].notes.append(miditoolkit.Note(90, 36 + tones[rng.randrange(3)], t0 + bar // 2, t0 + bar))
        for p in tones:
            inst["piano"].notes.append(miditoolkit.Note(70, 60 + p, t0, t0 + bar // 2))
            inst["strings"].notes.append(miditoolkit.Note(60, 48 + p, t0, t0 + bar))
        for beat in range(4):
            inst["guitar"].notes.append(
                miditoolkit.Note(70, 52 + tones[beat % 3], t0 + beat * TPB, t0 + beat * TPB + 200)
            )
            inst["drums"].notes.append(
                miditoolkit.Note(100, 36 if beat % 2 == 0 else 38, t0 + beat * TPB, t0 + beat * TPB + 60)
            )
            inst["drums"].notes.append(miditoolkit.Note(80, 42, t0 + beat * TPB, t0 + beat * TPB + 60))
    midi.instruments = [inst[c] for c in classes]
    midi.tempo_changes = [miditoolkit.TempoChange(110.0, 0)]
    midi.time_signature_changes = [miditoolkit.TimeSignature(4, 4, 0)]
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.dump(str(path))
    return path


def write_corpus(folder: Path, n: int = 8, bars: int = 8, start_seed: int = 0) -> list[Path]:
    """``n`` songs in nested folders (both .mid and .MIDI suffixes) with varied instrumentation."""
    choices = [
        ("lead", "bass", "piano", "drums"),
        ("lead", "bass", "strings", "drums"),
        ("lead", "guitar", "bass"),
        ("lead", "piano", "strings", "bass", "drums"),
    ]
    paths = []
    for i in range(n):
        seed = start_seed + i
        sub = folder / ("a" if i % 2 else "b") / (f"song{seed:03d}.mid" if i % 3 else f"song{seed:03d}.MIDI")
        paths.append(write_song(sub, seed=seed, bars=bars, classes=choices[i % len(choices)]))
    return paths
