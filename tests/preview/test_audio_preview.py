"""`getmusic render` and the WAV writer: length, level, sound of drums and programs, one-line errors."""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from getmusic_cli.inspect import song_seconds
from getmusic_cli.preview import audio
from getmusic_cli.score.midi_io import read_midi

pytest.importorskip("symusic", reason="the 'audio' extra is not installed")


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(samples × channels in -1..1, sample rate)."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return frames.reshape(-1, wav.getnchannels()).astype(np.float64) / 32768, wav.getframerate()


def centroid(signal: np.ndarray, rate: int) -> float:
    """Spectral centroid (Hz) of a mono signal: cymbals and hats are far brighter than a piano note."""
    spectrum = np.abs(np.fft.rfft(signal))
    return float((np.fft.rfftfreq(len(signal), 1 / rate) * spectrum).sum() / spectrum.sum())


def test_render_has_the_songs_length_and_a_full_unclipped_level(cli, tmp_path, make_band):
    src = make_band(tmp_path / "band.mid", bars=8, bpm=100)
    res = cli("render", src)
    assert res.exit_code == 0, res.stderr
    samples, rate = read_wav(tmp_path / "band.wav")
    song = read_midi(src)
    assert rate == audio.SAMPLE_RATE and samples.shape[1] == 2
    assert abs(len(samples) / rate - song_seconds(song, song.end_tick)) <= 1.0  # 8 bars at 100 BPM: 19.2 s
    assert np.sqrt((samples**2).mean()) > 0.02  # not silent
    peak = np.abs(samples).max()
    assert 0.85 < peak <= audio.PEAK + 1e-4  # normalised to -1 dBFS: loud, never clipped
    assert "band.wav" in res.stdout


def test_drums_on_channel_10_sound_like_drums_and_programs_are_respected(tmp_path, make_band):
    import miditoolkit

    def one_note(name: str, program: int, is_drum: bool, pitch: int) -> np.ndarray:
        midi = miditoolkit.MidiFile(ticks_per_beat=480)
        track = miditoolkit.Instrument(program=program, is_drum=is_drum, name="x")
        track.notes = [miditoolkit.Note(100, pitch, 0, 960)]
        midi.instruments = [track]
        midi.dump(str(tmp_path / f"{name}.mid"))
        audio.render_wav(tmp_path / f"{name}.mid", tmp_path / f"{name}.wav")
        samples, rate = read_wav(tmp_path / f"{name}.wav")
        return samples.mean(axis=1)

    hat, piano, violin = (
        one_note("hat", 0, True, 42),
        one_note("piano", 0, False, 42),
        one_note("violin", 40, False, 42),
    )
    rate = audio.SAMPLE_RATE
    assert centroid(hat, rate) > 2 * centroid(piano, rate)  # key 42 on channel 10 is a hi-hat, not a low F#
    n = min(len(piano), len(violin))
    assert np.abs(piano[:n] - violin[:n]).mean() > 0.01  # program 40 is not program 0


def test_a_changed_track_changes_the_sound(tmp_path, make_band):
    one = audio.render_wav(make_band(tmp_path / "a.mid"), tmp_path / "a.wav")
    other = audio.render_wav(make_band(tmp_path / "b.mid", bass_offset=5), tmp_path / "b.wav")
    a, b = read_wav(one)[0], read_wav(other)[0]
    n = min(len(a), len(b))
    assert np.sqrt(((a[:n] - b[:n]) ** 2).mean()) > 0.01


def test_existing_wav_is_kept_without_force(cli, tmp_path, make_band):
    src = make_band(tmp_path / "band.mid")
    (tmp_path / "band.wav").write_bytes(b"precious")
    res = cli("render", src)
    assert res.exit_code == 1 and "--force" in res.stderr
    assert (tmp_path / "band.wav").read_bytes() == b"precious"
    assert cli("render", src, "--force").exit_code == 0
    assert (tmp_path / "band.wav").read_bytes()[:4] == b"RIFF"


def test_bad_midi_is_one_line_and_writes_nothing(cli, tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\x40")
    res = cli("render", bad, "-o", tmp_path / "out.wav")
    assert res.exit_code == 1
    assert len(res.stderr.strip().splitlines()) == 1 and "truncated" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mid"]


def test_without_the_extra_render_says_how_to_install(cli, tmp_path, monkeypatch, make_band):
    src = make_band(tmp_path / "band.mid")
    monkeypatch.setitem(sys.modules, "symusic", None)  # makes `import symusic` raise ImportError
    res = cli("render", src)
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        "error: audio needs the 'audio' extra: pip install 'getmusic-cli[audio]'"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["band.mid"]


def test_without_a_soundfont_render_says_how_to_get_one(cli, tmp_path, monkeypatch, make_band):
    src = make_band(tmp_path / "band.mid")
    monkeypatch.delenv(audio.SOUNDFONT_ENV, raising=False)
    monkeypatch.setattr(audio, "PACKAGED_SOUNDFONT", ("pretty_midi", "missing.sf2"))
    res = cli("render", src)
    assert res.exit_code == 1
    [line] = res.stderr.strip().splitlines()
    assert "soundfont" in line and "pip install 'getmusic-cli[audio]'" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["band.mid"]


def test_a_file_that_is_not_a_soundfont_is_refused(cli, tmp_path, monkeypatch, make_band):
    src = make_band(tmp_path / "band.mid")
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    monkeypatch.setenv(audio.SOUNDFONT_ENV, str(fake))
    res = cli("render", src)
    assert res.exit_code == 1 and "not a SoundFont 2" in res.stderr
    assert not (tmp_path / "band.wav").exists()


def test_notes_that_hang_the_synthesizer_are_played_lower(tmp_path):
    import miditoolkit

    midi = miditoolkit.MidiFile(ticks_per_beat=480)
    for program, key in ((33, 107), (80, 107), (70, 101)):  # each alone hangs symusic 0.5.9 with TimGM6mb
        track = miditoolkit.Instrument(program=program, name=f"p{program}")
        track.notes = [miditoolkit.Note(100, key, 0, 960), miditoolkit.Note(100, 60, 960, 1920)]
        midi.instruments.append(track)
    midi.dump(str(tmp_path / "high.mid"))
    wav = audio.render_wav(tmp_path / "high.mid", tmp_path / "high.wav")  # the timeout guard fails it otherwise
    samples, rate = read_wav(wav)
    assert abs(len(samples) / rate - 2.0) < 0.1 and np.abs(samples[: rate // 2]).max() > 0.1


def test_a_synthesizer_that_does_not_finish_is_one_line(cli, tmp_path, monkeypatch, make_band):
    src = make_band(tmp_path / "band.mid")
    monkeypatch.setattr(audio, "TIMEOUT_BASE", 0.01)
    monkeypatch.setattr(audio, "TIMEOUT_PER_SECOND", 0.0)
    res = cli("render", src)
    assert res.exit_code == 1
    [line] = res.stderr.strip().splitlines()
    assert "did not finish" in line and "--soundfont" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["band.mid"]  # no WAV, no temporary file
