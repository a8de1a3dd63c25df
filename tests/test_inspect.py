"""`getmusic inspect` through the real entry point, on the committed fixtures (tests/data/make_fixtures.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"

# The analysis (timeline, key, chords, codec) comes from the score modules; until they exist only the refusals run.
_ANALYSIS = ("timeline", "keys", "chords", "codec", "vocab")
needs_analysis = pytest.mark.skipif(
    not all(importlib.util.find_spec(f"getmusic_cli.score.{m}") for m in _ANALYSIS),
    reason="score analysis modules not written yet",
)


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Rich wraps tables at the terminal width; a wide console keeps every reason on one line."""
    from getmusic_cli import cli

    monkeypatch.setattr(cli.console, "_width", 200)


@needs_analysis
def test_multitrack_table(cli):
    result = cli("inspect", DATA / "multitrack.mid")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "multitrack.mid: 8 bars (0:16), 480 ticks per beat" in out
    assert "time signature: 4/4" in out and "tempo: 120 BPM" in out
    for name, cls, why in [
        ("Melody", "lead", "program 73 Flute"),  # the program outranks the name
        ("Bass", "bass", "program 33 Electric"),
        ("Drums", "drums", "drum channel"),
        ("Rhythm Gtr", "guitar", "program 27 Electric"),
        ("Helicopter", "dropped", "dropped: sound effects family"),
    ]:
        row = next(line for line in out.splitlines() if f" {name} " in line and why in line)
        assert f" {cls} " in row
    assert "key: C major" in out
    assert "classes (codec: " in out
    lead_row = next(line for line in out.splitlines() if line.startswith("│ lead ") and "│ 0 " in line)
    assert lead_row.split("│")[3].strip() == "32"  # notes of the lead class
    chords = next(line for line in out.splitlines() if "bars   1-8" in line)
    assert [c.strip() for c in chords.split("|")[1:]] == ["C", "Am", "F", "G"] * 2
    assert result.stderr == ""


@needs_analysis
def test_codec_report_per_class_with_the_basic_vocabulary():
    from getmusic_cli.inspect import analyse
    from getmusic_cli.score.vocab import Vocabulary

    result = analyse(DATA / "multitrack.mid", vocab=Vocabulary.basic())
    counts = {c: (r.notes, r.encoded, r.reduced, r.dropped) for c, r in result.report.classes.items()}
    # Single pitches only: every held triad keeps one note; the monophonic lead and bass lose nothing.
    assert counts == {
        "lead": (32, 32, 0, 0),
        "bass": (16, 16, 0, 0),
        "drums": (64, 32, 32, 0),
        "guitar": (24, 8, 16, 0),
        "piano": (24, 8, 16, 0),
        "strings": (24, 8, 16, 0),
    }
    assert result.n_bars == 8 and result.n_columns == 128
    assert result.key.name == "C major" and len(result.chords) == 8


@needs_analysis
def test_model_option_picks_the_vocabulary(cli):
    result = cli("inspect", DATA / "waltz_3_4.mid", "--model", "debug")
    assert result.exit_code == 0, result.stderr
    assert "classes (codec: vocabulary of model 'debug')" in result.stdout


@needs_analysis
def test_override_is_shown(cli):
    result = cli("inspect", DATA / "multitrack.mid", "--map", "Rhythm Gtr=piano", "--map", "6=strings")
    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "override" in line]
    assert len(rows) == 2
    assert any("Rhythm Gtr" in r and " piano " in r for r in rows)
    assert any("Helicopter" in r and " strings " in r for r in rows)


@needs_analysis
def test_meter_and_tempo_changes_are_listed_with_their_bars(cli):
    result = cli("inspect", DATA / "changes.mid")
    assert result.exit_code == 0, result.stderr
    assert "4/4 (bar 1), 3/4 (bar 3), 6/8 (bar 5), 4/4 (bar 7)" in result.stdout
    assert "BPM 120 (bar 1), 90 (bar 3), 140 (bar 6)" in result.stdout
    assert "changes.mid: 8 bars" in result.stdout


@needs_analysis
def test_waltz_bars_follow_three_four(cli):
    result = cli("inspect", DATA / "waltz_3_4.mid")
    assert result.exit_code == 0, result.stderr
    assert "waltz_3_4.mid: 8 bars" in result.stdout and "time signature: 3/4" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no_notes.mid"], "no notes"),
        (["drums_only.mid"], "only drums"),
        (["absurd_tempo.mid"], "absurd tempo"),
        (["absurd_resolution.mid"], "absurd resolution"),
        (["truncated.mid"], "truncated"),
        (["corrupt.mid"], "corrupt MIDI data"),
        (["not_midi.mid"], "not a MIDI file"),
        (["empty.mid"], "empty file"),
        (["missing.mid"], "no such file"),
        (["multitrack.mid", "--map", "Bass=kazoo"], "unknown track class"),
        (["multitrack.mid", "--map", "Tuba=bass"], "no track with that name or index"),
        (["multitrack.mid", "--map", "Bass"], "expected 'TRACK_NAME_OR_INDEX=class'"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(cli, args, message):
    result = cli("inspect", DATA / args[0], *args[1:])
    assert result.exit_code != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr


def test_bad_input_through_a_real_process():
    proc = subprocess.run(
        [sys.executable, "-m", "getmusic_cli", "inspect", str(DATA / "truncated.mid")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["error: truncated.mid: truncated MIDI file (31 bytes missing)"]


@needs_analysis
def test_plot_writes_a_png(cli, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "roll.png"
    result = cli("inspect", DATA / "multitrack.mid", "--plot", out)
    assert result.exit_code == 0, result.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert [p.name for p in tmp_path.iterdir()] == ["roll.png"]


@needs_analysis
def test_plot_without_matplotlib_says_how_to_install(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    result = cli("inspect", DATA / "multitrack.mid", "--plot", tmp_path / "roll.png")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["error: --plot needs matplotlib: pip install 'getmusic-cli[plot]'"]


# ----- a real song (tests/data/real, see its README) --------------------------------------------------------------


@needs_analysis
def test_real_multitrack_song(cli):
    result = cli("inspect", DATA / "real" / "freedoom_e1m7_16bars.mid")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "freedoom_e1m7_16bars.mid: 16 bars" in out and "96 ticks per beat" in out
    assert "dropped: timpani" in out and "dropped: percussive family" in out
    chord_rows = [line for line in out.splitlines() if line.strip().startswith("bars ")]
    chords = [c.strip() for line in chord_rows for c in line.split("|")[1:]]
    assert len(chords) == 16 and sum(c != "N.C." for c in chords) >= 12
