"""training/default/judging_reports.sh: the four reports judge.py reads, from one command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from songs import write_song  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[2] / "training/default/judging_reports.sh"


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ if env is None else env)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env)


def test_both_tasks_and_seeds_are_written_with_the_extra_arguments(tmp_path):
    data = tmp_path / "songs"
    data.mkdir()
    for seed in range(2):
        write_song(data / f"song{seed}.mid", seed=seed, bars=8)
    out = _run("debug", str(data), str(tmp_path / "v0"), "--continued", "--steps", "2")
    assert out.returncode == 0, out.stderr
    written = sorted(p.name for p in tmp_path.glob("v0-*"))
    assert written == ["v0-t1-s0.json", "v0-t1-s1.json", "v0-t2-s0.json", "v0-t2-s1.json"]
    for name in written:
        report = json.loads((tmp_path / name).read_text())
        assert report["sampling"]["continued"] is True and report["sampling"]["steps"] == 2
        assert report["sampling"]["seed"] == int(name[-6])
        assert {row["song"] for row in report["per_window"]["model"]} == {"song0.mid", "song1.mid"}
        assert report["make"] == (["bass", "drums"] if "-t1-" in name else ["drums"])


def test_too_few_arguments_print_the_usage():
    out = _run("debug")
    assert out.returncode == 2 and "Usage" in out.stderr


def test_seeds_come_from_the_environment(tmp_path):
    data = tmp_path / "songs"
    data.mkdir()
    write_song(data / "song.mid", seed=0, bars=8)
    env = {**os.environ, "SEEDS": "3"}
    out = _run("debug", str(data), str(tmp_path / "v0"), "--steps", "2", env=env)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.glob("v0-*")) == ["v0-t1-s3.json", "v0-t2-s3.json"]
    assert json.loads((tmp_path / "v0-t1-s3.json").read_text())["sampling"]["seed"] == 3
