"""The trainer on CPU with the debug config: exact resume after a signal, learning, bundle, bad runs."""

from __future__ import annotations

import json
import signal
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from songs import write_corpus

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub.bundle import load_bundle
from getmusic_cli.train.checkpoint import CHECKPOINT_NAME
from getmusic_cli.train.trainer import TrainOptions, train


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("songs")
    write_corpus(folder, n=8, bars=8)
    return folder


def options(corpus: Path, run: Path, **kw) -> TrainOptions:
    base = dict(
        config="debug",
        steps=6,
        batch_size=4,
        length=64,
        device="cpu",
        seed=3,
        eval_every=100,
        save_every=100,
        log_every=1,
        valid_batches=2,
        workers=0,
    )
    base.update(kw)
    return TrainOptions(data_dir=corpus, run_dir=run, **base)


def test_resume_after_a_signal_matches_an_uninterrupted_run(corpus, tmp_path):
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN when started in the background
    full = train(options(corpus, tmp_path / "full"))
    assert full.step == 6 and not full.interrupted

    def interrupt(step: int) -> None:
        if step == 3:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C does: handled, checkpoint, stop

    cut = train(options(corpus, tmp_path / "cut", on_step=interrupt))
    assert cut.interrupted and cut.step == 3 and cut.bundle is None
    assert (tmp_path / "cut" / CHECKPOINT_NAME).is_file()
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored

    resumed = train(options(corpus, tmp_path / "cut", resume=True))
    assert resumed.step == 6 and not resumed.interrupted
    a, b = full.network.state_dict(), resumed.network.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    for k, v in full.ema.shadow.items():
        assert torch.equal(v, resumed.ema.shadow[k]), k
    # The bundles (EMA weights) are identical too and load as models.
    fa, fb = load_bundle(full.bundle), load_bundle(resumed.bundle)
    assert fa.config.classes == fb.config.classes
    assert (Path(full.bundle) / "model.safetensors").read_bytes() == (
        Path(resumed.bundle) / "model.safetensors"
    ).read_bytes()
    steps = [
        json.loads(line)["step"]
        for line in (tmp_path / "cut" / "log.jsonl").read_text().splitlines()
        if json.loads(line)["split"] == "train"
    ]
    assert steps == [1, 2, 3, 4, 5, 6]  # the log continues where it stopped


def test_a_run_killed_between_checkpoints_logs_each_step_once_after_resume(corpus, tmp_path):
    def crash(step: int) -> None:
        if step == 3:
            raise RuntimeError("killed")  # as a kill would: no checkpoint at step 3, the last is step 2

    with pytest.raises(RuntimeError):
        train(options(corpus, tmp_path / "run", save_every=2, on_step=crash))
    log = tmp_path / "run" / "log.jsonl"
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [1, 2, 3]

    train(options(corpus, tmp_path / "run", save_every=2, resume=True))
    steps = [json.loads(line)["step"] for line in log.read_text().splitlines() if json.loads(line)["split"] == "train"]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_tiny_run_learns_and_writes_a_usable_bundle(corpus, tmp_path):
    result = train(
        options(corpus, tmp_path / "run", steps=30, eval_every=10, batch_size=8, length=32, lr=3e-3, log_every=10)
    )
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    valid = [r["loss"] for r in log if r["split"] == "valid"]
    assert len(valid) == 3
    assert valid[-1] < 0.8 * valid[0], valid
    train_rows = [r for r in log if r["split"] == "train"]
    assert all(r["cells_per_s"] > 0 and r["lr"] > 0 for r in train_rows)
    bundle = load_bundle(result.bundle)
    assert bundle.config.vocab_size == bundle.vocab.size == result.data.vocab.size
    assert bundle.config.classes == result.data.classes and "lead" in bundle.config.classes
    assert bundle.config.train_length == 32 and bundle.config.chord_lag == 0


def test_bad_runs_are_one_line_errors_and_overwrite_nothing(corpus, tmp_path):
    run = tmp_path / "run"
    train(options(corpus, run, steps=2))
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    with pytest.raises(GetMusicError, match="already holds a training run"):
        train(options(corpus, run, steps=2, config="small"))
    with pytest.raises(GetMusicError, match="trained with --config debug"):
        train(options(corpus, run, steps=4, config="small", resume=True))
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == before
    with pytest.raises(GetMusicError, match="nothing to resume"):
        train(options(corpus, tmp_path / "fresh", resume=True))
    (run / CHECKPOINT_NAME).write_bytes(b"garbage")
    with pytest.raises(GetMusicError, match="corrupted"):
        train(options(corpus, run, steps=4, resume=True))
    with pytest.raises(GetMusicError, match="unknown --config"):
        train(options(corpus, tmp_path / "x", config="huge"))
    with pytest.raises(GetMusicError, match="--drop-conditions"):
        train(replace(options(corpus, tmp_path / "x"), drop_conditions=1.0))
    with pytest.raises(GetMusicError, match="--bar-spans"):
        train(replace(options(corpus, tmp_path / "x"), bar_spans=1.5))


def test_init_fine_tunes_a_bundle_and_checks_its_vocabulary(corpus, tmp_path):
    first = train(options(corpus, tmp_path / "first", steps=2))
    tuned = train(replace(options(corpus, tmp_path / "tuned", steps=2, config=None), init=str(first.bundle)))
    assert tuned.data.vocab.tokens == first.data.vocab.tokens  # the model's vocabulary encodes the data
    assert load_bundle(tuned.bundle).config.hidden_size == load_bundle(first.bundle).config.hidden_size
    with pytest.raises(GetMusicError, match="--config and --init"):
        train(replace(options(corpus, tmp_path / "x", steps=2), init=str(first.bundle)))


def test_threads_are_what_was_asked_for(corpus, tmp_path):
    before = torch.get_num_threads()
    seen = []
    try:
        train(
            options(
                corpus, tmp_path / "run", steps=1, threads=1, on_step=lambda _: seen.append(torch.get_num_threads())
            )
        )
    finally:
        torch.set_num_threads(before)
    assert seen == [1]


def test_init_can_add_bar_positions_and_starts_from_the_given_model(corpus, tmp_path):
    from getmusic_cli.model.network import build_network
    from getmusic_cli.runtime.onnx_export import example_inputs

    first = train(options(corpus, tmp_path / "first", steps=2))
    config_file = first.bundle / "config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "licence": "MIT"}))
    run = replace(options(corpus, tmp_path / "tuned", steps=1, config=None), init=str(first.bundle), bar_positions=48)
    start = train(replace(run, lr=1e-12))  # one step at a negligible rate: the starting point
    before, after = load_bundle(first.bundle), load_bundle(start.bundle)
    assert before.config.bar_positions == 0 and after.config.bar_positions == 48
    assert before.config.licence == "MIT"
    old, new = build_network(before.config, before.weights_path), build_network(after.config, after.weights_path)
    tokens, t, condition = example_inputs(before.config, 1, 32)
    positions = torch.arange(32)[None] % 16
    with torch.inference_mode():
        assert torch.allclose(old(tokens, t, condition), new(tokens, t, condition, positions), atol=1e-4)
    with pytest.raises(ValueError, match="place in its bar"):
        new(tokens, t, condition)
    assert after.config.licence.startswith("unknown")  # the --init model's licence is not the data's
    with pytest.raises(GetMusicError, match="bar positions, not 16"):
        train(replace(run, run_dir=tmp_path / "x", init=str(start.bundle), bar_positions=16))


def test_the_weights_carry_the_strongest_licence_of_the_data(corpus, tmp_path):
    from getmusic_cli.train.trainer import data_licence

    assert data_licence(corpus).startswith("unknown")
    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_text(json.dumps({"strongest_licence": "GPL-2.0-or-later"}))
    assert data_licence(data).startswith("GPL-2.0-or-later")
    (data / "manifest.json").write_text("not json")
    assert data_licence(data).startswith("unknown")


def test_task_options_change_the_tasks_and_stay_deterministic(corpus, tmp_path):
    def train_losses(name, **kw):
        result = train(options(corpus, tmp_path / name, steps=3, **kw))
        rows = [json.loads(line) for line in (result.run_dir / "log.jsonl").read_text().splitlines()]
        return [r["loss"] for r in rows if r["split"] == "train"]

    plain = train_losses("plain")
    lead_only = train_losses("lead-only", drop_conditions=0.9, lead_chords=True)
    assert len(plain) == len(lead_only) == 3 and plain != lead_only
    assert train_losses("again", drop_conditions=0.9, lead_chords=True) == lead_only
    spans = train_losses("spans", bar_spans=1.0)
    assert len(spans) == 3 and spans != plain
    assert train_losses("spans-again", bar_spans=1.0) == spans


def test_extend_vocab_adds_the_data_s_note_groups_and_starts_from_the_given_model(corpus, tmp_path):
    from getmusic_cli.hub.bundle import debug_bundle

    start = debug_bundle()  # single notes only: every chord and drum group of the corpus is new to it
    run = replace(options(corpus, tmp_path / "grown", steps=1, config=None), init="debug", lr=1e-12)
    plain = train(replace(run, run_dir=tmp_path / "plain"))
    assert plain.data.vocab.tokens == start.vocab.tokens
    grown = train(replace(run, extend_vocab=True))
    bundle = load_bundle(grown.bundle)
    new = [t for t in bundle.vocab.tokens if start.vocab.get(t) is None]
    assert new and all(" " in t for t in new)  # composites only
    assert bundle.config.vocab_size == bundle.vocab.size == start.vocab.size + len(new)
    assert [t for t in bundle.vocab.tokens if start.vocab.get(t) is not None] == start.vocab.tokens
    # One step at a negligible rate: the old tokens' weights are the debug model's, under their new ids.
    from safetensors.torch import load_file

    from getmusic_cli.model.network import build_network

    before, after = build_network(start.config, None).state_dict(), load_file(str(bundle.weights_path))
    moved = torch.tensor([bundle.vocab.id(t) for t in start.vocab.tokens])
    assert torch.allclose(
        after["token_embedding.weight"][moved], before["token_embedding.weight"][: len(moved)], atol=1e-6
    )
    with pytest.raises(GetMusicError, match="give --init"):
        train(replace(options(corpus, tmp_path / "x", steps=1), extend_vocab=True))
