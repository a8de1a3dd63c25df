"""The track mapping against a musician's labels on 66 real songs (tests/data/labelled, see its README)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from getmusic_cli.score.midi_io import read_midi

LABELLED = Path(__file__).resolve().parents[1] / "data" / "labelled"
GOAL = 0.95


def load_labels() -> dict[str, dict[int, dict[str, str]]]:
    labels: dict[str, dict[int, dict[str, str]]] = {}
    with open(LABELLED / "labels.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            labels.setdefault(row["song"], {})[int(row["index"])] = row
    return labels


def test_the_labelled_set_is_real_and_complete():
    labels = load_labels()
    assert len(labels) >= 60 and sum(len(v) for v in labels.values()) >= 500
    assert {r["label"] for song in labels.values() for r in song.values()} == {
        "lead", "bass", "drums", "guitar", "piano", "strings", "drop"
    }  # fmt: skip
    assert sorted(p.stem for p in LABELLED.glob("*.mid")) == sorted(labels)


def test_per_track_accuracy_reaches_the_goal():
    labels = load_labels()
    right, wrong, confusion = 0, [], Counter()
    for song, rows in sorted(labels.items()):
        sources = read_midi(LABELLED / f"{song}.mid").sources
        assert sorted(s.index for s in sources) == sorted(rows), song  # the labels describe these very tracks
        for source in sources:
            row = rows[source.index]
            assert (source.channel + 1, source.program) == (int(row["channel"]), int(row["program"])), song
            got = source.instrument or "drop"
            if got == row["label"]:
                right += 1
            else:
                wrong.append(f"{song} {source.index} {row['name']!r}: labelled {row['label']}, mapped {got}")
                confusion[(row["label"], got)] += 1
    total = right + len(wrong)
    print(f"\nmapping accuracy: {right}/{total} = {right / total:.1%}; disagreements:")
    print("\n".join(wrong))
    print("labelled -> mapped:", dict(confusion.most_common()))
    assert right / total >= GOAL
