"""`evaluate` on the debug model: metrics in [0, 1], both references, windows, the held-out split rule, the CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.eval.evaluate import (
    SYSTEM_MODEL,
    SYSTEM_RANDOM,
    SYSTEM_SHUFFLED,
    EvalOptions,
    evaluate,
    pick_files,
    prepare_song,
    song_metrics,
    window_starts,
)
from getmusic_cli.hub.resolve import resolve_model
from getmusic_cli.score.midi_io import read_midi

sys.path.insert(0, str(Path(__file__).parents[1] / "train"))
from songs import write_corpus, write_song  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("eval_songs")
    write_corpus(folder, n=8, bars=8)
    return folder


def test_debug_model_with_both_references(corpus):
    report = evaluate(
        EvalOptions(model="debug", data_dir=corpus, keep=["lead"], make=["bass"], n=4, steps=3, split="all")
    )
    assert len(report.songs) == 4
    assert set(report.summary) == {SYSTEM_MODEL, SYSTEM_SHUFFLED, SYSTEM_RANDOM}
    for system, rows in report.per_window.items():
        assert len(rows) == 4, system
        for row in rows:
            for name in ("chord_accuracy", "pitch", "duration", "ioi"):
                assert row[name] is not None and 0.0 <= row[name] <= 1.0, (system, name, row)
    # The shuffled real bass lines of these songs share their rhythm exactly (same writer): full IOI overlap.
    assert report.summary[SYSTEM_SHUFFLED]["ioi"] == pytest.approx(1.0)
    # Same seed, same (debug) model: the model row and the random-model row agree.
    assert report.per_window[SYSTEM_MODEL] == report.per_window[SYSTEM_RANDOM]
    assert report.paired[SYSTEM_RANDOM]["pitch"] == {"diff": 0.0, "se": 0.0}
    assert report.summary[SYSTEM_MODEL]["songs"] == report.summary[SYSTEM_MODEL]["windows"] == 4
    json.dumps(report.to_json())


def test_a_perfect_generation_scores_one(corpus):
    bundle = resolve_model("debug")
    options = EvalOptions(model="debug", data_dir=corpus, keep=["lead"], make=["bass", "drums"])
    path = next(p for p in sorted(corpus.rglob("*.mid")) if {"bass", "drums"} <= set(read_midi(p).classes()))
    windows = prepare_song(read_midi(path), path.name, 0, bundle, options)
    assert not isinstance(windows, str) and len(windows) == 1
    song = windows[0]
    assert song_metrics(song.real, song, options.make) == {
        "chord_accuracy": 1.0,
        "pitch": 1.0,
        "duration": 1.0,
        "ioi": 1.0,
    }
    assert song_metrics({}, song, options.make)["pitch"] == 0.0  # nothing generated: no overlap


def test_window_starts_follow_bar_lines():
    bars_3_4 = list(range(0, 100, 12))
    # Each window starts at the last bar line the previous one reaches: a bar cut at a window's end is whole next.
    assert window_starts(bars_3_4, 100, 32, 10) == [0, 24, 48]  # a window at 72 would not be whole
    assert window_starts(bars_3_4, 104, 32, 10) == [0, 24, 48, 72]
    assert window_starts(bars_3_4, 100, 32, 2) == [0, 24]
    assert window_starts(bars_3_4, 30, 256, 3) == [0]


@pytest.fixture(scope="module")
def long_songs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("long_songs")
    for seed in (1, 2):
        write_song(folder / f"long{seed}.mid", seed=seed, bars=50, classes=("lead", "bass", "strings"))
    return folder


def test_windows_one_after_another(long_songs):
    options = EvalOptions(
        model="debug",
        data_dir=long_songs,
        keep=["lead"],
        make=["bass", "strings"],
        n=2,
        steps=2,
        split="all",
        windows=5,
    )
    report = evaluate(options)
    rows = report.per_window[SYSTEM_MODEL]
    # 50 bars of 4/4: windows of 16 bars start at bars 1, 17 and 33; one at bar 49 would not be whole.
    assert [r["first_bar"] for r in rows] == [1, 17, 33] * 2
    assert report.summary[SYSTEM_MODEL]["songs"] == 2 and report.summary[SYSTEM_MODEL]["windows"] == 6
    assert set(report.paired) == {SYSTEM_SHUFFLED, SYSTEM_RANDOM}
    # A later window decoded in place: the real tracks score 1 against themselves, a bar-shifted copy does not.
    bundle = resolve_model("debug")
    windows = prepare_song(read_midi(long_songs / "long1.mid"), "long1.mid", 0, bundle, options)
    later = windows[1]
    assert later.real_chords and all(n.start >= 16 * 4 * 480 for n in later.real["bass"])
    assert song_metrics(later.real, later, options.make) == {
        "chord_accuracy": 1.0,
        "pitch": 1.0,
        "duration": 1.0,
        "ioi": 1.0,
    }
    from getmusic_cli.score.song import Note

    bar = 4 * 480
    shifted = {
        c: [Note(n.start + bar, n.end + bar, n.pitch, n.velocity) for n in notes] for c, notes in later.real.items()
    }
    assert song_metrics(shifted, later, options.make)["chord_accuracy"] < 0.5


def test_shuffled_reference_is_put_in_the_songs_key(tmp_path):
    # The same song in C and in D: each one's shuffled partner, moved into its key, is the song itself.
    import miditoolkit

    midi = miditoolkit.MidiFile(
        str(write_song(tmp_path / "in_c.mid", seed=3, bars=8, classes=("lead", "bass", "strings"), key=0))
    )
    for inst in midi.instruments:
        for note in inst.notes:
            note.pitch += 2
    midi.dump(str(tmp_path / "in_d.mid"))
    report = evaluate(
        EvalOptions(
            model="debug", data_dir=tmp_path, keep=["lead"], make=["bass", "strings"], n=2, steps=2, split="all"
        )
    )
    assert report.summary[SYSTEM_SHUFFLED]["pitch"] == pytest.approx(1.0)
    assert report.summary[SYSTEM_SHUFFLED]["chord_accuracy"] == pytest.approx(1.0)


def test_held_out_songs_follow_the_training_split(corpus, tmp_path):
    from getmusic_cli.train.dataset import DataSettings, build_dataset

    data = build_dataset(corpus, tmp_path / "data", DataSettings(length=64, workers=0))
    valid = {e.rel for e in data.files if e.split == "valid"}
    assert valid and {f.rel for f in pick_files(corpus, "valid")} == valid
    assert len(pick_files(corpus, "all")) == len(data.files)


def test_nothing_to_compare_is_one_line(corpus):
    with pytest.raises(GetMusicError, match="no song under"):
        evaluate(
            EvalOptions(
                model="debug",
                data_dir=corpus,
                keep=["lead"],
                make=["guitar", "strings"],
                n=2,
                split="all",
                references=False,
            )
        )
    with pytest.raises(GetMusicError, match="both kept and made"):
        evaluate(EvalOptions(model="debug", data_dir=corpus, keep=["bass"], make=["bass"]))
    with pytest.raises(GetMusicError, match="--windows"):
        evaluate(EvalOptions(model="debug", data_dir=corpus, keep=["lead"], make=["bass"], windows=0))


def test_cli_json(cli, corpus):
    result = cli(
        "evaluate",
        "debug",
        corpus,
        "--keep",
        "lead",
        "--make",
        "bass,piano",
        "--n",
        "2",
        "--steps",
        "2",
        "--split",
        "all",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["make"] == ["bass", "piano"] and len(report["songs"]) == 2
    assert set(report["summary"]) == {SYSTEM_MODEL, SYSTEM_SHUFFLED, SYSTEM_RANDOM}
    table = cli(
        "evaluate",
        "debug",
        corpus,
        "--make",
        "bass",
        "--n",
        "2",
        "--steps",
        "2",
        "--no-references",
        "--windows",
        "2",
        "--temperature",
        "0.5",
        "--top-p",
        "0.9",
    )
    assert table.exit_code == 0 and "pitch OA" in table.stdout and "±" in table.stdout
