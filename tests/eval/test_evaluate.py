"""`evaluate` on the debug model: one input path with generate (no leak), windows that mean something, every
reference on the same windows, the held-out split rule, the CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import miditoolkit
import numpy as np
import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.eval.evaluate import (
    MAKE_ALL,
    REFERENCES,
    SYSTEM_MODEL,
    SYSTEM_RANDOM,
    SYSTEM_REAL,
    SYSTEM_RULE,
    SYSTEM_SHUFFLED,
    EvalOptions,
    evaluate,
    model_input,
    pick_files,
    prepare_song,
    window_metrics,
    window_starts,
)
from getmusic_cli.hub.resolve import resolve_model
from getmusic_cli.score.conditioning import CHORDS_KEPT, CHORDS_ORACLE
from getmusic_cli.score.midi_io import read_midi
from getmusic_cli.score.song import Note

sys.path.insert(0, str(Path(__file__).parents[1] / "train"))
from songs import write_corpus, write_song  # noqa: E402

ALL_SYSTEMS = {SYSTEM_MODEL, SYSTEM_RULE, SYSTEM_SHUFFLED, SYSTEM_RANDOM, SYSTEM_REAL}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("eval_songs")
    write_corpus(folder, n=8, bars=8)
    return folder


def _options(data_dir, **kw) -> EvalOptions:
    base = dict(model="debug", data_dir=data_dir, keep=["lead"], make=["bass"], n=4, steps=3, split="all")
    return EvalOptions(**(base | kw))


def test_every_system_on_the_same_windows(corpus):
    report = evaluate(_options(corpus, make=["bass", "drums"]))
    assert set(report.summary) == ALL_SYSTEMS and set(report.paired) == set(REFERENCES)
    windows = [(r["song"], r["first_bar"]) for r in report.per_window[SYSTEM_MODEL]]
    for system, rows in report.per_window.items():
        assert [(r["song"], r["first_bar"]) for r in rows] == windows, system
        for row in rows:
            for name in ("chord_accuracy", "pitch", "duration", "ioi", "bass.pitch", "drums.ioi"):
                assert row[name] is not None and 0.0 <= row[name] <= 1.0, (system, name, row)
    real = report.summary[SYSTEM_REAL]
    assert real["pitch"] == real["chord_accuracy"] == real["drums.repetition"] == 1.0  # the songs loop a rock beat
    assert real["drums.backbeat"] == 1.0 and real["drums.onset_tv"] == 0.0 and real["bass.density"] == 1.0
    # Same seed, same (debug) model: the model row and the random-model row agree, paired difference 0.
    assert report.per_window[SYSTEM_MODEL] == report.per_window[SYSTEM_RANDOM]
    assert report.paired[SYSTEM_RANDOM]["pitch"] == {"diff": 0.0, "se": 0.0}
    # The rule accompanist plays roots on the beat and a rock beat: these songs' drums exactly, on every window.
    rule = report.summary[SYSTEM_RULE]
    assert rule["drums.backbeat"] == 1.0 and rule["drums.repetition"] == 1.0 and rule["bass.below_e1"] == 0.0
    json.dumps(report.to_json())


def test_the_model_is_never_given_the_tracks_it_makes(tmp_path):
    # Two copies of one song that differ only in the real bass: what the model is given must be identical.
    path = write_song(tmp_path / "a.mid", seed=4, bars=8, classes=("lead", "bass", "piano", "drums"))
    midi = miditoolkit.MidiFile(str(path))
    bass = next(i for i in midi.instruments if i.name == "Bass")
    for k, note in enumerate(bass.notes):
        note.pitch = 30 + (note.pitch * 7 + k) % 20
    midi.dump(str(tmp_path / "b.mid"))
    bundle = resolve_model("debug")
    options = _options(tmp_path, keep=["lead", "piano"], make=["bass", "drums"])
    inputs = {}
    for name in ("a.mid", "b.mid"):
        case = prepare_song(read_midi(tmp_path / name), name, bundle, options)
        inputs[name] = model_input(case, bundle, CHORDS_KEPT)
    a, b = inputs["a.mid"], inputs["b.mid"]
    assert np.array_equal(a.task.tokens, b.task.tokens) and np.array_equal(a.task.condition, b.task.condition)
    assert a.chords == b.chords
    # The oracle setting (labelled so) is the one that hears the real bass.
    cases = [prepare_song(read_midi(tmp_path / n), n, bundle, options) for n in ("a.mid", "b.mid")]
    oracle = [model_input(c, bundle, CHORDS_ORACLE).chords for c in cases]
    assert oracle[0] != oracle[1]


def test_generate_and_evaluate_share_the_input(tmp_path):
    from getmusic_cli.pipeline import Generator, Options

    path = write_song(tmp_path / "s.mid", seed=2, bars=8, classes=("lead", "bass", "piano"))
    bundle = resolve_model("debug")
    case = prepare_song(read_midi(path), "s.mid", bundle, _options(tmp_path, make=["bass", "piano"]))
    given = model_input(case, bundle, CHORDS_KEPT)
    captured = {}
    gen = Generator(Options(model="debug", steps=2, seed=0))
    gen._sample = lambda task, score, progress, label: captured.setdefault("task", task) and [task.tokens]
    gen.generate(path, make=["bass", "piano"], keep=["lead"], outputs=[tmp_path / "out.mid"])
    assert np.array_equal(captured["task"].tokens, given.task.tokens)
    assert np.array_equal(captured["task"].condition, given.task.condition)


def test_a_window_counts_only_where_kept_and_made_classes_play(tmp_path):
    path = write_song(tmp_path / "s.mid", seed=1, bars=40, classes=("lead", "bass", "drums"))
    midi = miditoolkit.MidiFile(str(path))
    lead = next(i for i in midi.instruments if i.name == "Lead")
    lead.notes = [n for n in lead.notes if n.start >= 16 * 4 * 480]  # the lead enters at bar 17
    midi.dump(str(path))
    bundle = resolve_model("debug")
    case = prepare_song(read_midi(path), "s.mid", bundle, _options(tmp_path, windows=3))
    assert [w.start for w in case.windows] == [256]  # window 1 (bars 1-16) has no lead; bars 33-48 are not whole
    silent = prepare_song(read_midi(path), "s.mid", bundle, _options(tmp_path, windows=1))
    assert silent == "window 1 (bars 1-16): no lead to keep"


def test_a_perfect_generation_scores_one_and_nothing_scores_zero(corpus):
    bundle = resolve_model("debug")
    options = _options(corpus, make=["bass", "drums"])
    path = next(p for p in sorted(corpus.rglob("*.mid")) if {"bass", "drums"} <= set(read_midi(p).classes()))
    w = prepare_song(read_midi(path), path.name, bundle, options).windows[0]
    perfect = window_metrics(w.real, w)
    assert [perfect[m] for m in ("chord_accuracy", "pitch", "duration", "ioi")] == [1.0] * 4
    assert window_metrics({"bass": [], "drums": []}, w)["pitch"] == 0.0


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
    options = _options(long_songs, make=["bass", "strings"], n=2, steps=2, windows=5)
    report = evaluate(options)
    rows = report.per_window[SYSTEM_MODEL]
    # 50 bars of 4/4: windows of 16 bars start at bars 1, 17 and 33; one at bar 49 would not be whole.
    assert [r["first_bar"] for r in rows] == [1, 17, 33] * 2
    assert report.summary[SYSTEM_MODEL]["songs"] == 2 and report.summary[SYSTEM_MODEL]["windows"] == 6
    # A later window in place: the real tracks score 1 against themselves, a bar-shifted copy does not.
    later = prepare_song(read_midi(long_songs / "long1.mid"), "long1.mid", resolve_model("debug"), options).windows[1]
    assert later.real_chords and all(n.start >= 16 * 4 * 480 for n in later.real["bass"])
    assert window_metrics(later.real, later)["chord_accuracy"] == 1.0
    bar = 4 * 480
    shifted = {c: [Note(n.start + bar, n.end + bar, n.pitch, n.velocity) for n in ns] for c, ns in later.real.items()}
    assert window_metrics(shifted, later)["chord_accuracy"] < 0.5


def test_shuffled_reference_is_put_in_the_songs_key(tmp_path):
    # The same song in C and in D: each one's shuffled partner, moved into its key, is the song itself.
    path = write_song(tmp_path / "in_c.mid", seed=3, bars=8, classes=("lead", "bass", "strings"), key=0)
    midi = miditoolkit.MidiFile(str(path))
    for inst in midi.instruments:
        for note in inst.notes:
            note.pitch += 2
    midi.dump(str(tmp_path / "in_d.mid"))
    report = evaluate(_options(tmp_path, make=["bass", "strings"], n=2, steps=2))
    assert report.summary[SYSTEM_SHUFFLED]["pitch"] == pytest.approx(1.0)
    assert report.summary[SYSTEM_SHUFFLED]["chord_accuracy"] == pytest.approx(1.0)


def test_shuffled_reference_is_stable_across_seeds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("varied")
    for seed in range(8):
        write_song(folder / f"s{seed}.mid", seed=seed * 7 + 1, bars=8, classes=("lead", "bass", "strings"))
    summaries = [
        evaluate(_options(folder, make=["bass"], n=8, steps=2, seed=seed)).summary[SYSTEM_SHUFFLED]
        for seed in (0, 1, 2)
    ]
    for name in ("pitch", "chord_accuracy"):
        means = [s[name] for s in summaries]
        se = max(s["se"][name] for s in summaries)
        assert se > 0.0  # a real spread over songs, not a single draw
        assert max(means) - min(means) <= 2 * se, (name, means, se)


def test_make_all_takes_every_class_each_song_has(corpus):
    report = evaluate(_options(corpus, make=[MAKE_ALL], n=8, steps=2, references=False))
    made = {k.split(".")[0] for k in report.summary[SYSTEM_MODEL] if "." in k}
    assert {"bass", "drums", "piano", "strings", "guitar"} <= made


def test_held_out_songs_follow_the_training_split(corpus, tmp_path):
    from getmusic_cli.train.dataset import DataSettings, build_dataset

    data = build_dataset(corpus, tmp_path / "data", DataSettings(length=64, workers=0))
    valid = {e.rel for e in data.files if e.split == "valid"}
    assert valid and {f.rel for f in pick_files(corpus, "valid")} == valid
    assert len(pick_files(corpus, "all")) == len(data.files)


def test_nothing_to_compare_is_one_line(corpus):
    with pytest.raises(GetMusicError, match="no song under"):
        evaluate(_options(corpus, make=["guitar", "strings"], n=2, references=False))
    with pytest.raises(GetMusicError, match="both kept and made"):
        evaluate(_options(corpus, keep=["bass"], make=["bass"]))
    with pytest.raises(GetMusicError, match="--windows"):
        evaluate(_options(corpus, windows=0))


def test_cli_json_and_tables(cli, corpus):
    args = [
        "evaluate",
        "debug",
        corpus,
        "--keep",
        "lead",
        "--make",
        "bass,drums",
        "--n",
        "2",
        "--steps",
        "2",
        "--split",
    ]
    result = cli(*args, "all", "--json", "--drum-repeat", "1.5", "--kit-anchor", "0.5", "--onset-anchor", "0.25")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sampling"]["drum_repeat"] == 1.5 and report["sampling"]["steps"] == 2
    assert report["sampling"]["seed"] == 0 and report["sampling"]["pitch_top_p"] == 1.0
    assert report["sampling"]["drum_kit_anchor"] == 0.5 and report["sampling"]["drum_onset_anchor"] == 0.25
    assert report["make"] == ["bass", "drums"] and len(report["songs"]) == 2
    assert set(report["summary"]) == ALL_SYSTEMS and set(report["paired"]) == set(REFERENCES)
    assert report["chords"] == "kept" and "drums.backbeat" in report["summary"][SYSTEM_MODEL]
    table = cli(
        *args,
        "all",
        "--oracle-chords",
        "--windows",
        "2",
        "--temperature",
        "0.5",
        "--top-p",
        "0.9",
        "--drum-repeat",
        "2",
        "--kit-anchor",
        "1",
        "--onset-anchor",
        "1",
        "--continued",
    )
    assert table.exit_code == 0, table.stderr
    shown = (
        "ORACLE chords",
        "seed 0, 2 steps",
        "drum repeat 2",
        "kit anchor 1",
        "onset anchor 1",
        "continued as generate makes songs",
        "pitch OA",
        "accompanist",
        "backbeat",
        "±",
    )
    words = " ".join(table.stdout.split())  # the header wraps where the terminal ends
    for text in shown:
        assert text in words, text
    both = cli(*args, "all", "--oracle-chords", "--no-chords")
    assert both.exit_code != 0 and "cannot be used together" in both.stderr


def test_a_saved_report_prints_the_same_tables(cli, corpus, tmp_path, capsys):
    from getmusic_cli.eval import show

    args = ["evaluate", "debug", corpus, "--make", "bass", "--n", "2", "--steps", "2", "--split", "all", "--json"]
    saved = tmp_path / "report.json"
    saved.write_text(cli(*args).stdout)
    assert show.main([str(saved)]) == 0
    out = capsys.readouterr().out
    assert "rule accompanist" in out and "below E1" in out and "chords heard in the kept tracks" in out


def test_the_model_under_test_can_run_in_onnx_runtime(corpus, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("GETMUSIC_CACHE", str(tmp_path / "cache"))
    torch_rows = evaluate(_options(corpus, n=2, steps=2, references=False)).per_window[SYSTEM_MODEL]
    onnx_rows = evaluate(_options(corpus, n=2, steps=2, references=False, backend="onnx")).per_window[SYSTEM_MODEL]
    assert [(r["song"], r["first_bar"]) for r in onnx_rows] == [(r["song"], r["first_bar"]) for r in torch_rows]
    assert all(0.0 <= r["pitch"] <= 1.0 for r in onnx_rows)
    assert list((tmp_path / "cache").rglob("*.onnx"))  # the model really ran through an ONNX export


def test_continued_windows_score_what_generate_makes(long_songs, tmp_path):
    from getmusic_cli.eval.evaluate import _scored
    from getmusic_cli.pipeline import Generator, Options

    options = _options(long_songs, make=["bass"], n=1, steps=2, windows=3, continued=True, references=False)
    report = evaluate(options)
    rows = report.per_window[SYSTEM_MODEL]
    assert [r["first_bar"] for r in rows] == [1, 17, 33] and report.sampling["continued"] is True
    path = long_songs / rows[0]["song"]
    gen = Generator(Options(model="debug", steps=2, seed=0))
    made = {}
    sample = gen._sample
    gen._sample = lambda *a, **k: made.setdefault("tokens", sample(*a, **k))
    gen.generate(path, make=["bass"], keep=["lead"], outputs=[tmp_path / "made.mid"])
    bundle = resolve_model("debug")
    case = prepare_song(read_midi(path), path.name, bundle, options)
    prepared = model_input(case, bundle, CHORDS_KEPT)
    song = made["tokens"][0]
    assert rows == [_scored(w, prepared, song[:, w.start : w.start + w.columns], bundle.vocab) for w in case.windows]
    # Made on their own, the later windows are other notes.
    alone = evaluate(_options(long_songs, make=["bass"], n=1, steps=2, windows=3, references=False))
    assert alone.per_window[SYSTEM_MODEL][1:] != rows[1:]


def test_the_header_names_the_models_own_drum_settings():
    from getmusic_cli.eval.report import _drawn

    plain = {"seed": 0, "steps": 50, "temperature": 1.0, "top_p": 1.0, "drum_repeat": 3.0}
    shipped = plain | {"drum_anchor_song_only": True, "drum_anchor_continued_scale": 2.0}
    assert "anchors" not in _drawn(plain)  # reports older than the settings
    words = _drawn(shipped)
    for text in ("anchors aimed from the song alone", "anchors ×2 in continued windows"):
        assert text in words, text
