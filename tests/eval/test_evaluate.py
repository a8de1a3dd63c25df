"""`evaluate` on the debug model: metrics in [0, 1], both references, the held-out split rule, the CLI."""

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
)
from getmusic_cli.hub.resolve import resolve_model
from getmusic_cli.score.midi_io import read_midi

sys.path.insert(0, str(Path(__file__).parents[1] / "train"))
from songs import write_corpus  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("eval_songs")
    write_corpus(folder, n=8, bars=8)
    return folder


def test_debug_model_with_both_references(corpus):
    report = evaluate(EvalOptions(model="debug", data_dir=corpus, keep=["lead"], make=["bass"], n=4, steps=3,
                                  split="all"))
    assert len(report.songs) == 4
    assert set(report.summary) == {SYSTEM_MODEL, SYSTEM_SHUFFLED, SYSTEM_RANDOM}
    for system, rows in report.per_song.items():
        assert len(rows) == 4, system
        for row in rows:
            for name in ("chord_accuracy", "pitch", "duration", "ioi"):
                assert row[name] is not None and 0.0 <= row[name] <= 1.0, (system, name, row)
    # The shuffled real bass lines of these songs share their rhythm exactly (same writer): full IOI overlap.
    assert report.summary[SYSTEM_SHUFFLED]["ioi"] == pytest.approx(1.0)
    # Same seed, same (debug) model: the model row and the random-model row agree.
    assert report.per_song[SYSTEM_MODEL] == report.per_song[SYSTEM_RANDOM]
    json.dumps(report.to_json())


def test_a_perfect_generation_scores_one(corpus):
    bundle = resolve_model("debug")
    options = EvalOptions(model="debug", data_dir=corpus, keep=["lead"], make=["bass", "drums"])
    path = next(p for p in sorted(corpus.rglob("*.mid")) if {"bass", "drums"} <= set(read_midi(p).classes()))
    song = prepare_song(read_midi(path), path.name, bundle, options)
    assert not isinstance(song, str)
    assert song_metrics(song.real, song, options.make) == {"chord_accuracy": 1.0, "pitch": 1.0, "duration": 1.0,
                                                           "ioi": 1.0}
    assert song_metrics({}, song, options.make)["pitch"] == 0.0  # nothing generated: no overlap


def test_held_out_songs_follow_the_training_split(corpus, tmp_path):
    from getmusic_cli.train.dataset import DataSettings, build_dataset

    data = build_dataset(corpus, tmp_path / "data", DataSettings(length=64, workers=0))
    valid = {e.rel for e in data.files if e.split == "valid"}
    assert valid and {f.rel for f in pick_files(corpus, "valid")} == valid
    assert len(pick_files(corpus, "all")) == len(data.files)


def test_nothing_to_compare_is_one_line(corpus):
    with pytest.raises(GetMusicError, match="no song under"):
        evaluate(EvalOptions(model="debug", data_dir=corpus, keep=["lead"], make=["guitar", "strings"], n=2,
                             split="all", references=False))
    with pytest.raises(GetMusicError, match="both kept and made"):
        evaluate(EvalOptions(model="debug", data_dir=corpus, keep=["bass"], make=["bass"]))


def test_cli_json(cli, corpus):
    result = cli("evaluate", "debug", corpus, "--keep", "lead", "--make", "bass,piano", "--n", "2", "--steps", "2",
                 "--split", "all", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["make"] == ["bass", "piano"] and len(report["songs"]) == 2
    assert set(report["summary"]) == {SYSTEM_MODEL, SYSTEM_SHUFFLED, SYSTEM_RANDOM}
    table = cli("evaluate", "debug", corpus, "--make", "bass", "--n", "2", "--steps", "2", "--no-references")
    assert table.exit_code == 0 and "pitch OA" in table.stdout
