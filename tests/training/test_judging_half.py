"""training/default/judging_half.py: songs go to the judging or the training half by content hash alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mido

from getmusic_cli.train.sources import file_sha256

SCRIPT = Path(__file__).resolve().parents[2] / "training/default/judging_half.py"


def _song(path: Path, pitch: int) -> None:
    track = mido.MidiTrack(
        [mido.Message("note_on", note=pitch, velocity=90), mido.Message("note_off", note=pitch, time=480)]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    mido.MidiFile(tracks=[track]).save(path)


def test_each_song_lands_in_the_half_its_hash_names(tmp_path):
    songs = tmp_path / "songs"
    for pitch in range(40, 52):
        _song(songs / ("a" if pitch % 2 else "b") / f"song{pitch}.mid", pitch)
    run = [sys.executable, str(SCRIPT), str(songs), str(tmp_path / "judge"), str(tmp_path / "train")]
    subprocess.run(run, check=True, capture_output=True)
    judged = sorted(p.relative_to(tmp_path / "judge") for p in (tmp_path / "judge").rglob("*.mid"))
    trained = sorted(p.relative_to(tmp_path / "train") for p in (tmp_path / "train").rglob("*.mid"))
    expected = sorted(p.relative_to(songs) for p in songs.rglob("*.mid") if int(file_sha256(p)[:12], 16) / 2**48 < 0.5)
    assert judged == expected and 0 < len(judged) < 12  # twelve songs: both halves hold some
    assert sorted(judged + trained) == sorted(p.relative_to(songs) for p in songs.rglob("*.mid"))
    again = subprocess.run(run, check=True, capture_output=True, text=True)  # a second run changes nothing
    assert "songs to judge on" in again.stdout
    assert sorted(p.relative_to(tmp_path / "judge") for p in (tmp_path / "judge").rglob("*.mid")) == judged
