"""training/default/bar_readings.py bar: the issue's bar read line by line from a scorecard report."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "training/default/bar_readings.py"
spec = importlib.util.spec_from_file_location("bar_readings", SCRIPT)
bar_readings = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bar_readings)


def _report(model_pitch: list[float], onsets: float, bass: dict | None = None) -> dict:
    """Four songs; the model's pitch overlap per song as given, the rule's 0.3; duration and IOI won clearly."""
    rows = {"model": [], "rule accompanist": []}
    for song, pitch in enumerate(model_pitch):
        rows["model"].append(
            {"song": f"s{song}", "first_bar": 1, "pitch": pitch, "duration": 0.6 + song / 100, "ioi": 0.5}
        )
        rows["rule accompanist"].append(
            {"song": f"s{song}", "first_bar": 1, "pitch": 0.3, "duration": 0.3, "ioi": 0.3 - song / 100}
        )
    model = {"drums.onset_tv": onsets, "drums.backbeat": 0.2, "drums.repetition": 0.7} | (bass or {})
    real = {"drums.backbeat": 0.5, "drums.repetition": 0.72}
    return {"per_window": rows, "summary": {"model": model, "real parts": real}}


def test_each_line_of_the_bar_is_read_from_the_report():
    lines = {
        line: (reading, met) for line, reading, met in bar_readings.bar_lines(_report([0.3, 0.31, 0.29, 0.3], 0.15))
    }
    assert lines["model − rule (SE)"][1] is False  # pitch is level: 2 of 3 won
    assert lines["drums: onset TV"] == ("0.150", True)
    assert lines["drums: backbeat share ÷ real"] == ("0.40", False)
    assert lines["drums: repetition, real − model"] == ("+0.020", True)
    assert not any(line.startswith("bass") for line in lines)  # a report without a made bass


def test_a_task_with_a_bass_reads_its_register_and_density():
    bass = {"bass.below_e1": 0.02, "bass.density": 1.1}
    won = _report([0.5, 0.52, 0.49, 0.51], 0.2, bass)
    lines = {line: (reading, met) for line, reading, met in bar_readings.bar_lines(won)}
    assert lines["model − rule (SE)"][1] is True  # 3 of 3 won
    assert lines["drums: onset TV"][1] is False
    assert lines["bass: notes below E1"] == ("2.0%", False)
    assert lines["bass: notes ÷ real"] == ("1.10", True)
