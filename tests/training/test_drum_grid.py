"""training/default/drum_grid.py: a drum part as text, bar by bar on the file's own meters."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import miditoolkit

SCRIPT = Path(__file__).resolve().parents[2] / "training/default/drum_grid.py"
spec = importlib.util.spec_from_file_location("drum_grid", SCRIPT)
drum_grid = importlib.util.module_from_spec(spec)
spec.loader.exec_module(drum_grid)

TPB = 480


def _song(path: Path) -> Path:
    """Bar 1 in 4/4: kick on 1 and 3, snare on 2 and 4, hat on every 8th. Bar 2 in 3/4: a kick on 1 and a
    snare on the last 16th. A piano note that must not show."""
    midi = miditoolkit.MidiFile(ticks_per_beat=TPB)
    midi.time_signature_changes = [
        miditoolkit.TimeSignature(4, 4, 0),
        miditoolkit.TimeSignature(3, 4, 4 * TPB),
    ]
    drums = miditoolkit.Instrument(program=0, is_drum=True, name="drums")
    for beat in (0, 2):
        drums.notes.append(miditoolkit.Note(100, 36, beat * TPB, beat * TPB + 60))
    for beat in (1, 3):
        drums.notes.append(miditoolkit.Note(100, 38, beat * TPB, beat * TPB + 60))
    for eighth in range(8):
        drums.notes.append(miditoolkit.Note(80, 42, eighth * TPB // 2, eighth * TPB // 2 + 60))
    bar2 = 4 * TPB
    drums.notes.append(miditoolkit.Note(100, 36, bar2, bar2 + 60))
    drums.notes.append(miditoolkit.Note(100, 38, bar2 + 11 * TPB // 4, bar2 + 12 * TPB // 4))
    piano = miditoolkit.Instrument(program=0, name="piano")
    piano.notes.append(miditoolkit.Note(90, 60, 0, TPB))
    midi.instruments = [drums, piano]
    midi.dump(str(path))
    return path


def test_each_key_is_a_line_and_each_bar_has_its_meters_cells(tmp_path):
    lines = drum_grid.grid(str(_song(tmp_path / "song.mid")), 1, 2)
    assert lines == [
        "   kick 36 x...:...x...:... | x...:...:...",
        "  snare 38 :...x...:...x... | :...:...:..x",
        "       hat x.x.x.x.x.x.x.x. | :...:...:...",
    ]
    assert drum_grid.grid(str(tmp_path / "song.mid"), 2, 2)[0] == "   kick 36 x...:...:..."
    assert drum_grid.grid(str(tmp_path / "song.mid"), 3, 3) == []  # after the song: nothing plays


def test_the_command_prints_each_file(tmp_path):
    path = _song(tmp_path / "song.mid")
    out = subprocess.run([sys.executable, str(SCRIPT), str(path), "2", "2"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str(path), "   kick 36 x...:...:...", "  snare 38 :...:...:..x"]
