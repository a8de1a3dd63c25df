"""Building the training data from MIDI folders: vocabulary from the data, windows, split, reuse, skips."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from songs import write_corpus, write_song

from getmusic_cli.errors import GetMusicError
from getmusic_cli.train.dataset import DataSettings, build_dataset, open_dataset
from getmusic_cli.train.windows import WINDOW_ROWS, lead_chord_rows, split_bar_positions

FIXTURES = Path(__file__).parents[1] / "data"
BAD = [
    "no_notes.mid",
    "absurd_tempo.mid",
    "absurd_resolution.mid",
    "truncated.mid",
    "corrupt.mid",
    "not_midi.mid",
    "empty.mid",
]


def settings(**kw) -> DataSettings:
    return DataSettings(length=kw.pop("length", 64), workers=kw.pop("workers", 0), **kw)


def test_empty_folder_and_unusable_folder_are_one_line_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(GetMusicError, match="no MIDI files"):
        build_dataset(tmp_path / "empty", tmp_path / "out", settings())
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in BAD:
        shutil.copy(FIXTURES / name, bad / name)
    with pytest.raises(GetMusicError, match="no usable MIDI file") as err:
        build_dataset(bad, tmp_path / "out2", settings())
    assert "unreadable" in str(err.value)
    with pytest.raises(GetMusicError, match="does not exist"):
        build_dataset(tmp_path / "nowhere", tmp_path / "out3", settings())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder, n=10, bars=8)
    # Fixtures of the repo: good ones and every kind of bad one.
    for name in ["multitrack.mid", "waltz_3_4.mid", "drums_only.mid", *BAD]:
        shutil.copy(FIXTURES / name, folder / name)
    shutil.copy(folder / "b" / "song000.MIDI", folder / "copy_of_song0.mid")  # duplicate content
    write_song(folder / "short.mid", seed=3, bars=1)
    write_song(folder / "solo.mid", seed=4, bars=8, classes=("lead",))  # one track, chords from it: 2 tracks
    (folder / "notes.txt").write_text("not a MIDI file, ignored by suffix")
    return folder


def test_build_lists_skips_and_packs_windows(corpus, tmp_path):
    data = build_dataset(corpus, tmp_path / "data", settings())
    reasons = {e.rel: e.reason for e in data.files}
    assert "notes.txt" not in reasons
    assert "b/song000.MIDI" in reasons and reasons["b/song000.MIDI"] == ""  # upper-case suffix, nested folder
    assert reasons["copy_of_song0.mid"].startswith("duplicate of")
    assert reasons["short.mid"].startswith("too short")
    for name in BAD:
        assert reasons[name], name
    assert all(reasons[f"{name}"].startswith("unreadable") for name in ["corrupt.mid", "not_midi.mid", "empty.mid"])
    # Good files are used and every window is a 14 x L grid (+ the bar-position row) with at least two
    # non-empty tracks.
    assert len(data.train) > 0 and len(data.valid) > 0
    windows, positions = split_bar_positions(data.train.get(range(len(data.train))))
    assert windows.shape[1:] == (14, 64)
    assert positions.min() == 0 and positions.max() < 16  # the corpus is in 4/4 and 3/4
    vocab = data.vocab
    non_empty = (windows[:, 0::2, :] != vocab.empty_id).any(axis=2).sum(axis=1)
    assert (non_empty >= 2).all()
    assert windows.max() < vocab.size - 2 + 1  # real tokens or [EMPTY], never [MASK]
    assert {"lead", "bass", "drums", "piano", "strings"} <= set(data.classes)
    # Vocabulary from the data: composite piano groups of the corpus (block chords) are tokens.
    assert any(
        len(vocab.parse_pitch_token(vocab.token(i))[1]) > 1 for i in range(len(vocab)) if vocab.token(i).startswith("P")
    )
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert {f["rel"] for f in manifest["files"]} == set(reasons)
    # Split by piece: a file's windows are all in one split.
    assert {e.split for e in data.files if e.windows} <= {"train", "valid"}


def test_second_run_reuses_and_change_reencodes_only_that_file(corpus, tmp_path):
    out = tmp_path / "data"
    first = build_dataset(corpus, out, settings())
    assert not first.reused
    shards = sorted(out.glob("*-00000.npy"))
    stamps = {p: p.stat().st_mtime_ns for p in shards}
    again = build_dataset(corpus, out, settings())
    assert again.reused
    assert {p: p.stat().st_mtime_ns for p in shards} == stamps  # nothing rewritten
    assert len(again.train) == len(first.train)

    changed = tmp_path / "changed"
    shutil.copytree(corpus, changed)
    write_song(changed / "a" / "song001.mid", seed=101, bars=12)
    cache = out / "cache"
    before = {p.name for p in cache.iterdir()}
    # With the vocabulary fixed (as on --resume or --init) only the changed file is read and encoded again.
    third = build_dataset(changed, out, settings(), vocab=first.vocab)
    assert not third.reused
    new = {p.name for p in cache.iterdir()} - before
    assert len({name.split(".")[0] for name in new}) == 1
    assert len(new) == 4  # .read.json, .notes.npz, encoded windows .npy + .json
    # Deriving the vocabulary again re-reads nothing (counts are cached) but re-encodes if it changed.
    before = {p.name for p in cache.iterdir()}
    build_dataset(changed, out, settings())
    assert not [n for n in set(p.name for p in cache.iterdir()) - before if n.endswith((".read.json", ".npz"))]
    reopened = open_dataset(out)
    assert len(reopened.train) > 0 and reopened.train.get([0]).shape == (1, WINDOW_ROWS, 64)


def test_process_pool_gives_the_same_data(corpus, tmp_path):
    serial = build_dataset(corpus, tmp_path / "s", settings(workers=0))
    pooled = build_dataset(corpus, tmp_path / "p", settings(workers=2))
    assert [e.reason for e in serial.files] == [e.reason for e in pooled.files]
    assert np.array_equal(serial.train.get(range(len(serial.train))), pooled.train.get(range(len(pooled.train))))


def test_a_stuck_file_times_out_instead_of_hanging():
    import time

    from getmusic_cli.train.dataset import _guarded

    started = time.monotonic()
    assert _guarded(0.2, time.sleep, 5) == {"reason": "timed out after 0.2 s"}
    assert time.monotonic() - started < 3


def test_windows_carry_the_chords_heard_in_the_lead_alone(tmp_path):
    import miditoolkit

    # The lead arpeggiates C major over an A in the bass and A minor in the strings: the whole song sounds
    # A minor, the lead alone C major, which is what generate hears when only the lead is kept.
    midi = miditoolkit.MidiFile(ticks_per_beat=480)
    parts = {"lead": (80, [72, 76, 79, 76]), "bass": (33, [45] * 4), "strings": (48, [57, 60, 64, 60])}
    for name, (program, pitches) in parts.items():
        track = miditoolkit.Instrument(program=program, name=name)
        for bar in range(8):
            for beat, pitch in enumerate(pitches):
                start = (bar * 4 + beat) * 480
                track.notes.append(miditoolkit.Note(90, pitch, start, start + 470))
        midi.instruments.append(track)
    (tmp_path / "songs").mkdir()
    midi.dump(str(tmp_path / "songs" / "arpeggio.mid"))
    data = build_dataset(tmp_path / "songs", tmp_path / "data", settings(length=32))
    split = data.train if len(data.train) else data.valid
    windows = split.get(range(len(split)))
    grid, _ = split_bar_positions(windows)
    lead = lead_chord_rows(windows)
    vocab = data.vocab
    assert set(np.unique(grid[:, 12])) == {vocab.chord_root_id(9)}  # A, heard in every track
    assert set(np.unique(lead[:, 0])) == {vocab.chord_root_id(0)}  # C, heard in the lead
    assert set(np.unique(lead[:, 1])) == {vocab.chord_kind_id("null")}  # major
