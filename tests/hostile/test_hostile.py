"""No input breaks the tool: every hostile or fuzzed file gives a result or one clean error line, in bounded time
and memory (each case runs in a worker with a time limit and an address-space limit)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from fuzz_harness import Harness
from hostile_midi import hostile_files, mutants, seed_files

# Hang and memory LIMITS per case (not timing assertions): far above what any case needs.
TIME_LIMIT_S = 60.0
MEMORY_MB = 3072
FUZZ_CASES = 300
FUZZ_GENERATE_CASES = 40
SKIP_IN_GENERATE = {"hundred_thousand_notes.mid"}  # read-bound like inspect; generate adds nothing but time


@pytest.fixture(scope="module")
def harness():
    with Harness(time_limit=TIME_LIMIT_S, memory_mb=MEMORY_MB) as h:
        yield h


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("hostile")
    paths = []
    for name, data in hostile_files():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


def bad(outcomes) -> list:
    return [o for o in outcomes if o.kind not in ("ok", "refused")]


def test_the_corpus_is_large_and_varied(corpus):
    assert len(corpus) >= 40
    assert len({p.read_bytes() for p in corpus}) == len(corpus)


def test_inspect_survives_every_hostile_file(harness, corpus):
    outcomes = {p.name: harness.run(p.name, ["inspect", str(p)]) for p in corpus}
    assert bad(outcomes.values()) == []
    # Spot checks that the suite tells good from bad at all.
    assert outcomes["valid.mid"].kind == "ok" and outcomes["rmid_valid.rmi"].kind == "ok"
    assert outcomes["two_thousand_tracks.mid"].kind == "ok"
    for name in ("far_future_note.mid", "note_10000_bars.mid", "one_tick_far_note.mid", "tempo_far_future.mid"):
        assert outcomes[name].kind == "refused" and "bars" in outcomes[name].detail, name
    # A key signature that names no key is left out and the song read; one cut short is refused.
    assert outcomes["key_sig_sf_100.mid"].kind == "ok" and outcomes["key_sig_mode_5.mid"].kind == "ok"
    assert outcomes["key_sig_short.mid"].kind == "refused"


def test_generate_survives_every_hostile_file(harness, corpus, tmp_path):
    out = tmp_path / "out.mid"
    outcomes = []
    for p in corpus:
        if p.name in SKIP_IN_GENERATE:
            continue
        args = ["generate", str(p), "--make", "drums", "--model", "debug", "--steps", "2", "-o", str(out), "--force"]
        outcomes.append(harness.run(p.name, args))
    assert bad(outcomes) == []
    kinds = Counter(o.kind for o in outcomes)
    assert kinds["ok"] >= 10 and kinds["refused"] >= 30
    assert not list(tmp_path.glob(".*.tmp"))


def test_seeded_mutations_give_a_result_or_one_line(harness, tmp_path):
    outcomes = []
    for i, (name, data) in enumerate(mutants(seed_files(), FUZZ_CASES, seed=14)):
        path = tmp_path / name
        path.write_bytes(data)
        outcomes.append(harness.run(name, ["inspect", str(path)]))
        if i < FUZZ_GENERATE_CASES:
            out = str(tmp_path / "out.mid")
            args = ["generate", str(path), "--make", "bass", "--model", "debug", "--steps", "2", "-o", out, "--force"]
            outcomes.append(harness.run(name, args))
        path.unlink()
    assert bad(outcomes) == []
    assert {o.kind for o in outcomes} == {"ok", "refused"}  # the mutants are neither all broken nor all fine


def test_the_harness_sees_tracebacks_and_hangs():
    from fuzz_harness import classify

    assert classify({"code": 1, "stderr": "", "traceback": "Traceback ...\nIndexError"})[0] == "traceback"
    assert classify({"code": 1, "stderr": "error: x: list index out of range\n", "traceback": ""})[0] == "leak"
    assert classify({"code": 1, "stderr": "error: a\nerror: b\n", "traceback": ""})[0] == "messy"
    assert classify({"code": 1, "stderr": "error: x.mid: empty file\n", "traceback": ""})[0] == "refused"
    with Harness(time_limit=2.0, memory_mb=MEMORY_MB) as h:
        # `getmusic --help` answers at once; a case the worker never answers is a hang, and the next case runs.
        assert h.run("help", ["--help"]).kind == "ok"
        h.proc.stdin.write("not json\n")  # kills the worker's loop: its next answer never comes
        h.proc.stdin.flush()
        assert h.run("after", ["--help"]).kind in ("hang", "crash")
        assert h.run("again", ["--help"]).kind == "ok" and h.restarts == 1
