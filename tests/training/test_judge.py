"""training/default/judge.py: a change against a reference, paired by song over windows and seeds."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "training/default/judge.py"
spec = importlib.util.spec_from_file_location("judge", SCRIPT)
judge = importlib.util.module_from_spec(spec)
spec.loader.exec_module(judge)


def _report(path: Path, kit: dict[str, list[float]], backbeat: float) -> Path:
    """One report: per song, one model window per kit TV given, each with the backbeat share BACKBEAT."""
    model, real = [], []
    for song, values in kit.items():
        for bar, value in enumerate(values):
            model.append({"song": song, "first_bar": 1 + 16 * bar, "drums.kit_tv": value, "drums.backbeat": backbeat})
            real.append({"song": song, "first_bar": 1 + 16 * bar, "drums.backbeat": 0.5})
    path.write_text(json.dumps({"per_window": {"model": model, "real parts": real}}))
    return path


def test_songs_are_paired_over_their_windows_and_seeds(tmp_path):
    a0 = _report(tmp_path / "a0.json", {"x": [0.6, 0.4], "y": [0.4], "z": [0.3]}, backbeat=0.9)
    a1 = _report(tmp_path / "a1.json", {"x": [0.5], "y": [0.4], "z": [0.3]}, backbeat=0.9)
    b = _report(tmp_path / "b.json", {"x": [0.4], "y": [0.35], "z": [0.2], "only-b": [0.0]}, backbeat=0.6)
    rows = {line: rest for line, *rest in judge.compare(judge.song_lines([a0, a1]), judge.song_lines([b]))}
    mean_a, mean_b, diff, se, songs = rows["drums.kit_tv"]
    assert songs == 3  # a song of one side only is not paired
    assert mean_a == pytest.approx(0.4) and mean_b == pytest.approx(0.95 / 3)
    assert diff == pytest.approx(-0.25 / 3) and se == pytest.approx(0.05 / 3**0.5 / 3**0.5)
    # The backbeat is read as its distance from the real part's in the same window.
    assert rows["drums backbeat distance"][:3] == pytest.approx((0.4, 0.1, -0.3))
    out = subprocess.run(
        [sys.executable, str(SCRIPT), f"{a0}+{a1}", str(b)], check=True, capture_output=True, text=True
    ).stdout
    assert "drums.kit_tv" in out and "*" in out.splitlines()[0]  # the backbeat moved by far more than 2 SE
